/* linear_blas.c — linear on OpenBLAS SGEMM/DGEMM, exact by K-chunking (t2c_blas_exact.h):
 * y[r][o] = bias[o] + sum_k (x[r][k] - x_zp) * (w[o][k] - w_zp), with x converted per row chunk
 * and the centred weights converted once. Items are (row chunk, feature chunk). */
#include <stdlib.h>

#include "linear.h"
#include "t2c_blas_exact.h"
#include "t2c_exec.h"
#include "t2c_kernels.h"

typedef struct linear_blas {
    t2c_blas_plan plan;
    int64_t R, K, M;
    int x_signed;
    int64_t xzp;
    int wrap_bits;
    void *wf;             /* [M][K] centred weights */
    const int32_t *bias;
    int64_t rows, nr, cols, nc;
    size_t esize, per_thread;
} linear_blas;

static int linear_blas_ok(const t2c_node *node, int *wrap_bits, t2c_blas_plan *plan)
{
    const t2c_linear_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    const int64_t K = w->dims[1], M = w->dims[0], R = t2c_tensor_numel(x) / K;
    if (K > INT32_MAX / 2 || M > INT32_MAX / 2 || R > INT32_MAX / 2)
        return 0; /* BLAS takes int dimensions */
    return t2c_blas_plan_weighted(x, p->x_zero_point, w, p->w_zero_point, b, K, p->acc_bits, p->overflow, wrap_bits,
                                  plan);
}

static int linear_blas_supports(const t2c_node *node)
{
    int wrap;
    t2c_blas_plan plan;
    return linear_blas_ok(node, &wrap, &plan);
}

static void linear_blas_release(void *state)
{
    linear_blas *s = state;
    if (s)
        free(s->wf);
    free(s);
}

static t2c_status linear_blas_prepare(t2c_node *node, void **state, t2c_error *err)
{
    const t2c_linear_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *bias = node->n_inputs > 2 ? node->inputs[2] : NULL;
    linear_blas *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    t2c_blas_init();
    linear_blas_ok(node, &s->wrap_bits, &s->plan);
    s->M = w->dims[0], s->K = w->dims[1], s->R = t2c_tensor_numel(x) / s->K;
    s->x_signed = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->xzp = p->x_zero_point;
    s->bias = bias ? bias->data : NULL;
    s->esize = s->plan.dbl ? sizeof(double) : sizeof(float);
    s->wf = malloc(s->esize * (size_t)(s->M * s->K));
    if (!s->wf) {
        linear_blas_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory converting weights");
    }
    const int8_t *wd = w->data;
    for (int64_t i = 0; i < s->M * s->K; i++) {
        const int64_t v = wd[i] - p->w_zero_point;
        if (s->plan.dbl)
            ((double *)s->wf)[i] = (double)v;
        else
            ((float *)s->wf)[i] = (float)v;
    }
    const int T = t2c_exec_threads(node->exec);
    int64_t rows = (int64_t)(256 * 1024 / (s->esize * (size_t)s->K));
    rows = rows < 1 ? 1 : rows > 256 ? 256 : rows;
    rows = rows > s->R ? s->R : rows;
    s->rows = rows, s->nr = (s->R + rows - 1) / rows;
    int64_t nc = 1;
    if (T > 1 && s->nr < 8 * (int64_t)T) {
        nc = (8 * (int64_t)T + s->nr - 1) / s->nr;
        const int64_t max_nc = (s->M + 15) / 16;
        nc = nc > max_nc ? max_nc : nc;
    }
    s->cols = (s->M + nc - 1) / nc, s->nc = (s->M + s->cols - 1) / s->cols;
    s->per_thread = t2c_align64(s->esize * (size_t)(rows * s->K)) + t2c_align64(s->esize * (size_t)(rows * s->cols));
    *state = s;
    return T2C_OK;
}

static size_t linear_blas_scratch(const t2c_node *node, const void *state)
{
    const linear_blas *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

typedef struct linear_blas_job {
    const linear_blas *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *scratch;
} linear_blas_job;

static void linear_blas_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const linear_blas_job *j = ctx;
    const linear_blas *s = j->s;
    uint8_t *xb = j->scratch + (size_t)thread * s->per_thread;
    uint8_t *cbuf = xb + t2c_align64(s->esize * (size_t)(s->rows * s->K));
    int64_t converted = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t ri = it / s->nc, ci = it % s->nc;
        const int64_t r0 = ri * s->rows, rn = s->R - r0 < s->rows ? s->R - r0 : s->rows;
        if (ri != converted) {
            const uint8_t *src = j->x + r0 * s->K;
            for (int64_t i = 0; i < rn * s->K; i++) {
                const int32_t v = (s->x_signed ? (int32_t)(int8_t)src[i] : (int32_t)src[i]) - (int32_t)s->xzp;
                if (s->plan.dbl)
                    ((double *)xb)[i] = (double)v;
                else
                    ((float *)xb)[i] = (float)v;
            }
            converted = ri;
        }
        const int64_t c0 = ci * s->cols, cn = s->M - c0 < s->cols ? s->M - c0 : s->cols;
        t2c_blas_gemm_i32(&s->plan, rn, cn, s->K, xb, s->K, (const uint8_t *)s->wf + s->esize * (size_t)(c0 * s->K),
                          s->K, 1, cbuf, j->y + r0 * s->M + c0, s->M, NULL, s->bias ? s->bias + c0 : NULL,
                          s->wrap_bits);
    }
}

static t2c_status linear_blas_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const linear_blas *s = state;
    linear_blas_job j = {s, node->inputs[0]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->R * s->M * s->K), s->nr * s->nc, linear_blas_items, &j);
    return T2C_OK;
}

const t2c_kernel_variant t2c_linear_blas = {
    .backend = "blas",
    .name = "linear.blas",
    .supports = linear_blas_supports,
    .prepare = linear_blas_prepare,
    .scratch_size = linear_blas_scratch,
    .run = linear_blas_run,
    .release = linear_blas_release,
};
