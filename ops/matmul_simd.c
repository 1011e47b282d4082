/* matmul_simd.c — matmul of two 4/8-bit activations as an exact int8 GEMM (t2c_gemm.h core).
 *
 *   C[m][n] = sum_k A[m][k] * B[k][n],  A = a as int8 (uint8 shifted by -128: za = a_zp - 128),
 *   B = b as uint8 (int8 shifted by +128: zb = b_zp + 128), both packed at run time.
 *   y = sum_k (A - za)(B - zb) = C + [-zb*sum_k A[m] + K*za*zb] + [-za*sum_k B[n]]   (mod 2^32)
 * int16 inputs are left to the reference / blas variants. Work items are (batch, column chunk,
 * row chunk); each packs its own operands.
 */
#include <stdlib.h>
#include <string.h>

#include "matmul.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"

typedef struct matmul_simd {
    t2c_simd_isa isa;
    int64_t batches, M, K, N;
    int transpose_b, a_unsigned, b_signed;
    int64_t za, zb;
    int wrap_bits;
    size_t a_block, b_block;
    int64_t mrows, nr, cblk, nc;
    size_t a_bytes, b_bytes, per_thread;
} matmul_simd;

static int is_8bit(t2c_dtype d) { return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8; }

static int matmul_simd_ok(const t2c_node *node, t2c_simd_isa isa, int *wrap_bits)
{
    if (!t2c_simd_supported(isa))
        return 0;
    const t2c_matmul_params *p = node->params;
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    if (!is_8bit(a->dtype) || !is_8bit(b->dtype))
        return 0;
    const int64_t max_prod = t2c_max_abs_diff(a->dtype, p->a_zero_point) * t2c_max_abs_diff(b->dtype, p->b_zero_point);
    return t2c_acc_fast_ok(0, a->dims[a->rank - 1], max_prod, p->acc_bits, p->overflow, wrap_bits);
}

static t2c_status matmul_simd_prepare(t2c_node *node, void **state, t2c_error *err, t2c_simd_isa isa)
{
    const t2c_matmul_params *p = node->params;
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    matmul_simd *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    s->isa = isa;
    matmul_simd_ok(node, isa, &s->wrap_bits);
    s->M = a->dims[a->rank - 2], s->K = a->dims[a->rank - 1];
    s->transpose_b = p->transpose_b;
    s->N = p->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    s->batches = t2c_tensor_numel(a) / (s->M * s->K);
    s->a_unsigned = a->dtype == T2C_UINT8 || a->dtype == T2C_UINT4;
    s->b_signed = b->dtype == T2C_INT8 || b->dtype == T2C_INT4;
    s->za = p->a_zero_point - (s->a_unsigned ? 128 : 0);
    s->zb = p->b_zero_point + (s->b_signed ? 128 : 0);
    s->a_block = t2c_gemm_a_block_bytes(isa, s->K);
    s->b_block = t2c_gemm_b_block_bytes(s->K);

    const int T = t2c_exec_threads(node->exec);
    const int64_t mb = t2c_gemm_mblocks(s->M), nb = t2c_gemm_nblocks(s->N);
    int64_t rb = (int64_t)(256 * 1024 / s->a_block);
    rb = rb < 1 ? 1 : rb > 16 ? 16 : rb;
    rb = rb > mb ? mb : rb;
    int64_t cb = (int64_t)(512 * 1024 / s->b_block);
    cb = cb < 2 ? 2 : cb;
    cb = cb > nb ? nb : cb;
    s->mrows = rb * T2C_GEMM_MR, s->nr = (s->M + s->mrows - 1) / s->mrows;
    s->cblk = cb, s->nc = (nb + cb - 1) / cb;
    if (T > 1 && s->batches * s->nr * s->nc < 8 * (int64_t)T) {
        const int64_t have = s->batches * s->nr;
        int64_t nc = (8 * (int64_t)T + have - 1) / have;
        nc = nc > nb ? nb : nc;
        if (nc > s->nc) {
            s->cblk = (nb + nc - 1) / nc;
            s->nc = (nb + s->cblk - 1) / s->cblk;
        }
    }
    const size_t cols = (size_t)s->cblk * T2C_GEMM_NB;
    s->a_bytes = t2c_align64(s->a_block * (size_t)(s->mrows / T2C_GEMM_MR));
    s->b_bytes = t2c_align64(s->b_block * (size_t)s->cblk);
    s->per_thread = s->a_bytes + s->b_bytes + t2c_align64(4 * (size_t)s->mrows) + 2 * t2c_align64(4 * cols);
    *state = s;
    return T2C_OK;
}

static size_t matmul_simd_scratch(const t2c_node *node, const void *state)
{
    const matmul_simd *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

typedef struct matmul_job {
    const matmul_simd *s;
    const uint8_t *a, *b;
    int32_t *y;
    uint8_t *scratch;
} matmul_job;

/* Pack columns [n0, n0 + L) of B (batch t) and their sums as col_add = -za * sum. */
static void pack_b_cols(const matmul_simd *s, const uint8_t *b, int64_t n0, int64_t L, uint8_t *panel,
                        int32_t *csum, int32_t *cadd)
{
    const int64_t k4n = t2c_gemm_k4(s->K);
    memset(csum, 0, sizeof(int32_t) * (size_t)L);
    if (!s->transpose_b) {
        for (int64_t k4 = 0; k4 < k4n; k4++) {
            const uint8_t *rp[4];
            for (int q = 0; q < 4; q++) {
                const int64_t k = 4 * k4 + q;
                rp[q] = k < s->K ? b + k * s->N + n0 : NULL;
            }
            t2c_gemm_pack_b4(rp, L, s->b_signed, panel, k4, s->b_block);
            t2c_gemm_col_sums4(rp, L, s->b_signed, csum);
        }
    } else {
        const uint8_t f = s->b_signed ? 0x80 : 0;
        memset(panel, 0, s->b_block * (size_t)t2c_gemm_nblocks(L));
        for (int64_t c = 0; c < L; c++) {
            const uint8_t *src = b + (n0 + c) * s->K;
            uint8_t *blk = panel + (size_t)(c / T2C_GEMM_NB) * s->b_block + (size_t)(c % T2C_GEMM_NB) * 4;
            int32_t sum = 0;
            for (int64_t k = 0; k < s->K; k++) {
                const uint8_t v = src[k] ^ f;
                blk[(size_t)(k / 4) * 64 + (size_t)(k % 4)] = v;
                sum += v;
            }
            csum[c] = sum;
        }
    }
    for (int64_t c = 0; c < L; c++)
        cadd[c] = (int32_t)(uint32_t)(uint64_t)(-s->za * csum[c]);
}

static void matmul_simd_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const matmul_job *j = ctx;
    const matmul_simd *s = j->s;
    const size_t cols = (size_t)s->cblk * T2C_GEMM_NB;
    uint8_t *apack = j->scratch + (size_t)thread * s->per_thread;
    uint8_t *bpack = apack + s->a_bytes;
    int32_t *row_add = (int32_t *)(bpack + s->b_bytes);
    int32_t *csum = (int32_t *)((uint8_t *)row_add + t2c_align64(4 * (size_t)s->mrows));
    int32_t *cadd = (int32_t *)((uint8_t *)csum + t2c_align64(4 * cols));
    int64_t packed_b = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t ri = it % s->nr, bc = it / s->nr, ci = bc % s->nc, t = bc / s->nc;
        const int64_t c0 = ci * s->cblk * T2C_GEMM_NB;
        const int64_t cn = s->N - c0 < s->cblk * T2C_GEMM_NB ? s->N - c0 : s->cblk * T2C_GEMM_NB;
        if (bc != packed_b) {
            pack_b_cols(s, j->b + t * s->K * s->N, c0, cn, bpack, csum, cadd);
            packed_b = bc;
        }
        const int64_t r0 = ri * s->mrows, rn = s->M - r0 < s->mrows ? s->M - r0 : s->mrows;
        t2c_gemm_pack_a(s->isa, j->a + (t * s->M + r0) * s->K, s->K, s->a_unsigned, rn, s->K, apack, row_add);
        for (int64_t r = 0; r < rn; r++)
            row_add[r] = (int32_t)(uint32_t)(uint64_t)(-s->zb * row_add[r] + s->K * s->za * s->zb);
        t2c_gemm_tile tile = {
            .a = apack,
            .b = bpack,
            .K = s->K,
            .m = rn,
            .n = cn,
            .c = j->y + (t * s->M + r0) * s->N + c0,
            .ldc = s->N,
            .row_add = row_add,
            .col_add = cadd,
            .wrap_bits = s->wrap_bits,
        };
        t2c_gemm_tile_run(s->isa, &tile);
    }
}

static t2c_status matmul_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const matmul_simd *s = state;
    matmul_job j = {s, node->inputs[0]->data, node->inputs[1]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->batches * s->M * s->N * s->K), s->batches * s->nc * s->nr, matmul_simd_items, &j);
    return T2C_OK;
}

#define MATMUL_SIMD_VARIANT(ISA, SUFFIX)                                                                \
    static int matmul_simd_supports_##SUFFIX(const t2c_node *node)                                      \
    {                                                                                                   \
        int wrap;                                                                                       \
        return matmul_simd_ok(node, ISA, &wrap);                                                        \
    }                                                                                                   \
    static t2c_status matmul_simd_prepare_##SUFFIX(t2c_node *node, void **state, t2c_error *err)        \
    {                                                                                                   \
        return matmul_simd_prepare(node, state, err, ISA);                                              \
    }                                                                                                   \
    const t2c_kernel_variant t2c_matmul_simd_##SUFFIX = {                                               \
        .backend = "simd",                                                                              \
        .name = "matmul.simd-" #SUFFIX,                                                                 \
        .supports = matmul_simd_supports_##SUFFIX,                                                      \
        .prepare = matmul_simd_prepare_##SUFFIX,                                                        \
        .scratch_size = matmul_simd_scratch,                                                            \
        .run = matmul_simd_run,                                                                         \
        .release = NULL,                                                                                \
    };
MATMUL_SIMD_VARIANT(T2C_SIMD_AVX512VNNI, avx512vnni)
MATMUL_SIMD_VARIANT(T2C_SIMD_AVXVNNI, avxvnni)
MATMUL_SIMD_VARIANT(T2C_SIMD_AVX2, avx2)
