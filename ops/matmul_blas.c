/* matmul_blas.c — matmul (4/8/16-bit inputs) on OpenBLAS SGEMM/DGEMM, exact by K-chunking
 * (t2c_blas_exact.h); int16 operands take DGEMM (one product can exceed 2^24). Both operands
 * are centred and converted per item: (batch, column chunk, row chunk). */
#include <stdlib.h>

#include "matmul.h"
#include "t2c_blas_exact.h"
#include "t2c_exec.h"
#include "t2c_kernels.h"

typedef struct matmul_blas {
    t2c_blas_plan plan;
    int64_t batches, M, K, N;
    int transpose_b, ka, kb; /* element kinds: 0 int8, 1 uint8, 2 int16 */
    int64_t azp, bzp;
    int wrap_bits;
    int64_t rows, nr, cols, nc;
    size_t esize, per_thread;
} matmul_blas;

static int kind(t2c_dtype d) { return d == T2C_INT16 ? 2 : (d == T2C_UINT4 || d == T2C_UINT8) ? 1 : 0; }

static int matmul_blas_ok(const t2c_node *node, int *wrap_bits, t2c_blas_plan *plan)
{
    const t2c_matmul_params *p = node->params;
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    const int64_t K = a->dims[a->rank - 1], M = a->dims[a->rank - 2];
    const int64_t N = p->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    if (K > INT32_MAX / 2 || M > INT32_MAX / 2 || N > INT32_MAX / 2)
        return 0;
    const int64_t max_prod = t2c_max_abs_diff(a->dtype, p->a_zero_point) * t2c_max_abs_diff(b->dtype, p->b_zero_point);
    return t2c_acc_fast_ok(0, K, max_prod, p->acc_bits, p->overflow, wrap_bits) &&
           t2c_blas_plan_for(max_prod, K, plan);
}

static int matmul_blas_supports(const t2c_node *node)
{
    int wrap;
    t2c_blas_plan plan;
    return matmul_blas_ok(node, &wrap, &plan);
}

static t2c_status matmul_blas_prepare(t2c_node *node, void **state, t2c_error *err)
{
    const t2c_matmul_params *p = node->params;
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    matmul_blas *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    t2c_blas_init();
    matmul_blas_ok(node, &s->wrap_bits, &s->plan);
    s->M = a->dims[a->rank - 2], s->K = a->dims[a->rank - 1];
    s->transpose_b = p->transpose_b;
    s->N = p->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    s->batches = t2c_tensor_numel(a) / (s->M * s->K);
    s->ka = kind(a->dtype), s->kb = kind(b->dtype);
    s->azp = p->a_zero_point, s->bzp = p->b_zero_point;
    s->esize = s->plan.dbl ? sizeof(double) : sizeof(float);
    const int T = t2c_exec_threads(node->exec);
    int64_t rows = (int64_t)(256 * 1024 / (s->esize * (size_t)s->K));
    rows = rows < 1 ? 1 : rows > 256 ? 256 : rows;
    rows = rows > s->M ? s->M : rows;
    int64_t cols = (int64_t)(512 * 1024 / (s->esize * (size_t)s->K));
    cols = cols < 16 ? 16 : cols;
    cols = cols > s->N ? s->N : cols;
    s->rows = rows, s->nr = (s->M + rows - 1) / rows;
    s->cols = cols, s->nc = (s->N + cols - 1) / cols;
    if (T > 1 && s->batches * s->nr * s->nc < 8 * (int64_t)T) {
        int64_t nc = (8 * (int64_t)T + s->batches * s->nr - 1) / (s->batches * s->nr);
        nc = nc > s->N ? s->N : nc;
        if (nc > s->nc)
            s->cols = (s->N + nc - 1) / nc, s->nc = (s->N + s->cols - 1) / s->cols;
    }
    s->per_thread = t2c_align64(s->esize * (size_t)(s->rows * s->K)) +
                    t2c_align64(s->esize * (size_t)(s->K * s->cols)) +
                    t2c_align64(s->esize * (size_t)(s->rows * s->cols));
    *state = s;
    return T2C_OK;
}

static size_t matmul_blas_scratch(const t2c_node *node, const void *state)
{
    const matmul_blas *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

static inline int32_t load_kind(const void *p, int64_t i, int k)
{
    return k == 0 ? ((const int8_t *)p)[i] : k == 1 ? ((const uint8_t *)p)[i] : ((const int16_t *)p)[i];
}

static inline void store_f(void *dst, int64_t i, int dbl, int32_t v)
{
    if (dbl)
        ((double *)dst)[i] = (double)v;
    else
        ((float *)dst)[i] = (float)v;
}

typedef struct matmul_blas_job {
    const matmul_blas *s;
    const void *a, *b;
    int32_t *y;
    uint8_t *scratch;
} matmul_blas_job;

static void matmul_blas_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const matmul_blas_job *j = ctx;
    const matmul_blas *s = j->s;
    uint8_t *abuf = j->scratch + (size_t)thread * s->per_thread;
    uint8_t *bbuf = abuf + t2c_align64(s->esize * (size_t)(s->rows * s->K));
    uint8_t *cbuf = bbuf + t2c_align64(s->esize * (size_t)(s->K * s->cols));
    const int dbl = s->plan.dbl;
    int64_t packed_b = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t ri = it % s->nr, bc = it / s->nr, ci = bc % s->nc, t = bc / s->nc;
        const int64_t c0 = ci * s->cols, cn = s->N - c0 < s->cols ? s->N - c0 : s->cols;
        if (bc != packed_b) {
            /* B chunk as [K][cn] (columns c0..c0+cn) */
            for (int64_t k = 0; k < s->K; k++)
                for (int64_t c = 0; c < cn; c++) {
                    const int64_t src = t * s->K * s->N + (s->transpose_b ? (c0 + c) * s->K + k : k * s->N + c0 + c);
                    store_f(bbuf, k * cn + c, dbl, load_kind(j->b, src, s->kb) - (int32_t)s->bzp);
                }
            packed_b = bc;
        }
        const int64_t r0 = ri * s->rows, rn = s->M - r0 < s->rows ? s->M - r0 : s->rows;
        for (int64_t i = 0; i < rn * s->K; i++)
            store_f(abuf, i, dbl, load_kind(j->a, (t * s->M + r0) * s->K + i, s->ka) - (int32_t)s->azp);
        t2c_blas_gemm_i32(&s->plan, rn, cn, s->K, abuf, s->K, bbuf, cn, 0, cbuf, j->y + (t * s->M + r0) * s->N + c0,
                          s->N, NULL, NULL, s->wrap_bits);
    }
}

static t2c_status matmul_blas_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const matmul_blas *s = state;
    matmul_blas_job j = {s, node->inputs[0]->data, node->inputs[1]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->batches * s->M * s->N * s->K), s->batches * s->nc * s->nr, matmul_blas_items, &j);
    return T2C_OK;
}

const t2c_kernel_variant t2c_matmul_blas = {
    .backend = "blas",
    .name = "matmul.blas",
    .supports = matmul_blas_supports,
    .prepare = matmul_blas_prepare,
    .scratch_size = matmul_blas_scratch,
    .run = matmul_blas_run,
    .release = NULL,
};
