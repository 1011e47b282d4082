/* linear_simd.c — linear as an exact int8 GEMM (t2c_gemm.h core), AVX-512 VNNI / AVX-VNNI / AVX2.
 *
 * Outputs are contiguous along the output features, so the vector dimension is the feature:
 *   C[r][o] = sum_k A[r][k] * B[k][o],  A = x (as int8: uint8 inputs shifted by -128, za = x_zp - 128,
 *   else za = x_zp),  B = W^T as uint8 (shifted by +128, zb = w_zp + 128).
 *   y[r][o] = sum_k (A - za)(B - zb) + bias[o]
 *           = C + [-zb*sum_k A[r] + K*za*zb] (per row, at run time) + [bias[o] - za*sum_k B[o]]
 *                                                                   (per feature, from the weights)
 * all modulo 2^32, exact as argued in t2c_gemm.h / t2c_acc_fast_ok.
 * Work items are (row chunk, feature chunk); each packs its own rows, so items are independent.
 */
#include <stdlib.h>
#include <string.h>

#include "linear.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"

typedef struct linear_simd {
    t2c_simd_isa isa;
    int64_t R, K, M;          /* rows, depth, output features */
    int x_unsigned;
    int64_t za, zb;
    int wrap_bits;
    uint8_t *b;               /* packed W^T, nblocks(M) blocks */
    size_t b_block, a_block;
    int32_t *col_add;         /* M */
    int64_t mrows, nr;        /* rows per item (multiple of MR), row chunks */
    int64_t cblk, nc;         /* feature blocks per item, feature chunks */
    size_t per_thread;
} linear_simd;

static int linear_simd_ok(const t2c_node *node, t2c_simd_isa isa, int *wrap_bits)
{
    if (!t2c_simd_supported(isa))
        return 0;
    const t2c_linear_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    if (!w->is_const || !w->data || (b && (!b->is_const || !b->data)))
        return 0;
    const int64_t max_prod = t2c_max_abs_diff(x->dtype, p->x_zero_point) * t2c_max_abs_diff(w->dtype, p->w_zero_point);
    return t2c_acc_fast_ok(t2c_max_abs_i32(b), w->dims[1], max_prod, p->acc_bits, p->overflow, wrap_bits);
}

static void linear_simd_release(void *state)
{
    linear_simd *s = state;
    if (!s)
        return;
    free(s->b);
    free(s->col_add);
    free(s);
}

static t2c_status linear_simd_prepare(t2c_node *node, void **state, t2c_error *err, t2c_simd_isa isa)
{
    const t2c_linear_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *bias = node->n_inputs > 2 ? node->inputs[2] : NULL;
    linear_simd *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    s->isa = isa;
    linear_simd_ok(node, isa, &s->wrap_bits);
    s->M = w->dims[0], s->K = w->dims[1], s->R = t2c_tensor_numel(x) / s->K;
    s->x_unsigned = x->dtype == T2C_UINT8 || x->dtype == T2C_UINT4;
    s->za = p->x_zero_point - (s->x_unsigned ? 128 : 0);
    s->zb = p->w_zero_point + 128;
    s->b_block = t2c_gemm_b_block_bytes(s->K);
    s->a_block = t2c_gemm_a_block_bytes(isa, s->K);
    const int64_t nb = t2c_gemm_nblocks(s->M);
    s->b = aligned_alloc(64, t2c_align64(s->b_block * (size_t)nb));
    s->col_add = malloc(sizeof(int32_t) * (size_t)s->M);
    if (!s->b || !s->col_add) {
        linear_simd_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory packing weights");
    }
    memset(s->b, 0, s->b_block * (size_t)nb);
    const int8_t *wd = w->data;
    const int32_t *bd = bias ? bias->data : NULL;
    for (int64_t o = 0; o < s->M; o++) {
        uint8_t *blk = s->b + (size_t)(o / T2C_GEMM_NB) * s->b_block + (size_t)(o % T2C_GEMM_NB) * 4;
        int64_t sum = 0;
        for (int64_t k = 0; k < s->K; k++) {
            const uint8_t v = (uint8_t)((uint8_t)wd[o * s->K + k] ^ 0x80);
            blk[(size_t)(k / 4) * 64 + (size_t)(k % 4)] = v;
            sum += v;
        }
        const int64_t v = (bd ? bd[o] : 0) - s->za * sum;
        s->col_add[o] = (int32_t)(uint32_t)(uint64_t)v;
    }

    /* plan: rows per item bounded so the packed rows stay small; features split for threads */
    const int T = t2c_exec_threads(node->exec);
    const int64_t mb = t2c_gemm_mblocks(s->R);
    int64_t rows_blocks = (int64_t)(256 * 1024 / s->a_block);
    rows_blocks = rows_blocks < 1 ? 1 : rows_blocks > 16 ? 16 : rows_blocks;
    rows_blocks = rows_blocks > mb ? mb : rows_blocks;
    s->mrows = rows_blocks * T2C_GEMM_MR;
    s->nr = (s->R + s->mrows - 1) / s->mrows;
    int64_t nc = 1;
    if (T > 1 && s->nr < 8 * (int64_t)T) {
        const int64_t need = (8 * (int64_t)T + s->nr - 1) / s->nr;
        nc = need < nb ? need : nb;
    }
    s->cblk = (nb + nc - 1) / nc;
    s->nc = (nb + s->cblk - 1) / s->cblk;
    s->per_thread = t2c_align64(s->a_block * (size_t)rows_blocks) + t2c_align64(sizeof(int32_t) * (size_t)s->mrows);
    *state = s;
    return T2C_OK;
}

static size_t linear_simd_scratch(const t2c_node *node, const void *state)
{
    const linear_simd *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

typedef struct linear_job {
    const linear_simd *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *scratch;
} linear_job;

static void linear_simd_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const linear_job *j = ctx;
    const linear_simd *s = j->s;
    uint8_t *a = j->scratch + (size_t)thread * s->per_thread;
    int32_t *row_add = (int32_t *)(a + t2c_align64(s->a_block * (size_t)(s->mrows / T2C_GEMM_MR)));
    int64_t packed = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t ri = it / s->nc, ci = it % s->nc;
        const int64_t r0 = ri * s->mrows, rn = s->R - r0 < s->mrows ? s->R - r0 : s->mrows;
        if (ri != packed) {
            t2c_gemm_pack_a(s->isa, j->x + r0 * s->K, s->K, s->x_unsigned, rn, s->K, a, row_add);
            for (int64_t r = 0; r < rn; r++)
                row_add[r] = (int32_t)(uint32_t)(uint64_t)(-s->zb * row_add[r] + s->K * s->za * s->zb);
            packed = ri;
        }
        const int64_t c0 = ci * s->cblk * T2C_GEMM_NB;
        const int64_t cn = s->M - c0 < s->cblk * T2C_GEMM_NB ? s->M - c0 : s->cblk * T2C_GEMM_NB;
        t2c_gemm_tile t = {
            .a = a,
            .b = s->b + (size_t)(c0 / T2C_GEMM_NB) * s->b_block,
            .K = s->K,
            .m = rn,
            .n = cn,
            .c = j->y + r0 * s->M + c0,
            .ldc = s->M,
            .row_add = row_add,
            .col_add = s->col_add + c0,
            .wrap_bits = s->wrap_bits,
        };
        t2c_gemm_tile_run(s->isa, &t);
    }
}

static t2c_status linear_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const linear_simd *s = state;
    linear_job j = {s, node->inputs[0]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->R * s->M * s->K), s->nr * s->nc, linear_simd_items, &j);
    return T2C_OK;
}

#define LINEAR_SIMD_VARIANT(ISA, SUFFIX)                                                                \
    static int linear_simd_supports_##SUFFIX(const t2c_node *node)                                      \
    {                                                                                                   \
        int wrap;                                                                                       \
        return linear_simd_ok(node, ISA, &wrap);                                                        \
    }                                                                                                   \
    static t2c_status linear_simd_prepare_##SUFFIX(t2c_node *node, void **state, t2c_error *err)        \
    {                                                                                                   \
        return linear_simd_prepare(node, state, err, ISA);                                              \
    }                                                                                                   \
    const t2c_kernel_variant t2c_linear_simd_##SUFFIX = {                                               \
        .backend = "simd",                                                                              \
        .name = "linear.simd-" #SUFFIX,                                                                 \
        .supports = linear_simd_supports_##SUFFIX,                                                      \
        .prepare = linear_simd_prepare_##SUFFIX,                                                        \
        .scratch_size = linear_simd_scratch,                                                            \
        .run = linear_simd_run,                                                                         \
        .release = linear_simd_release,                                                                 \
    };
LINEAR_SIMD_VARIANT(T2C_SIMD_AVX512VNNI, avx512vnni)
LINEAR_SIMD_VARIANT(T2C_SIMD_AVXVNNI, avxvnni)
LINEAR_SIMD_VARIANT(T2C_SIMD_AVX2, avx2)
