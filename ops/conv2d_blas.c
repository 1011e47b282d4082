/* conv2d_blas.c — conv2d as im2col + OpenBLAS SGEMM/DGEMM, exact by K-chunking
 * (argument in t2c_blas_exact.h). Operands are the centred integers (w - w_zp) and (x - x_zp),
 * padded positions 0, so the chunk sums are the recipe's partial sums; bias is added in int32.
 * Items (image, group, pixel chunk, row chunk) go to threads as in conv2d_simd.c.
 */
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "t2c_blas_exact.h"
#include "t2c_exec.h"
#include "t2c_im2col.h"
#include "t2c_kernels.h"

#define BLAS_PANEL_BYTES (512 * 1024)

typedef struct conv_blas {
    t2c_im2col geo;
    t2c_blas_plan plan;
    int64_t N, Cout, G, cout_g, K, P;
    int x_signed;
    int64_t xzp;
    int wrap_bits;
    void *wf;             /* centred weights [Cout][K], float or double */
    const int32_t *bias;  /* NULL = 0 */
    int64_t pcols, np, mrows, nm;
    size_t esize, per_thread;
} conv_blas;

static int conv_blas_ok(const t2c_node *node, int *wrap_bits, t2c_blas_plan *plan)
{
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1], *y = node->outputs[0];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    const int64_t K = w->dims[1] * w->dims[2] * w->dims[3], P = y->dims[2] * y->dims[3];
    if (K > INT32_MAX / 2 || P > INT32_MAX / 2 || w->dims[0] > INT32_MAX / 2)
        return 0; /* BLAS takes int dimensions */
    return t2c_blas_plan_weighted(x, p->x_zero_point, w, p->w_zero_point, b, K, p->acc_bits, p->overflow, wrap_bits,
                                  plan);
}

static int conv_blas_supports(const t2c_node *node)
{
    int wrap;
    t2c_blas_plan plan;
    return conv_blas_ok(node, &wrap, &plan);
}

static void conv_blas_release(void *state)
{
    conv_blas *s = state;
    if (s)
        free(s->wf);
    free(s);
}

static t2c_status conv_blas_prepare(t2c_node *node, void **state, t2c_error *err)
{
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1], *y = node->outputs[0];
    const t2c_tensor *bias = node->n_inputs > 2 ? node->inputs[2] : NULL;
    conv_blas *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    t2c_blas_init();
    conv_blas_ok(node, &s->wrap_bits, &s->plan);
    t2c_im2col_init(&s->geo, p, x, w, y);
    s->N = x->dims[0], s->Cout = w->dims[0], s->G = p->group, s->cout_g = s->Cout / s->G;
    s->K = w->dims[1] * w->dims[2] * w->dims[3], s->P = y->dims[2] * y->dims[3];
    s->x_signed = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->xzp = p->x_zero_point;
    s->bias = bias ? bias->data : NULL;
    s->esize = s->plan.dbl ? sizeof(double) : sizeof(float);
    s->wf = malloc(s->esize * (size_t)(s->Cout * s->K));
    if (!s->wf) {
        conv_blas_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory converting weights");
    }
    const int8_t *wd = w->data;
    for (int64_t i = 0; i < s->Cout * s->K; i++) {
        const int64_t v = wd[i] - p->w_zero_point;
        if (s->plan.dbl)
            ((double *)s->wf)[i] = (double)v;
        else
            ((float *)s->wf)[i] = (float)v;
    }
    const int T = t2c_exec_threads(node->exec);
    int64_t pcols = (int64_t)(BLAS_PANEL_BYTES / (s->esize * (size_t)s->K));
    pcols = pcols < 16 ? 16 : pcols;
    pcols = pcols > s->P ? s->P : pcols;
    int64_t np = (s->P + pcols - 1) / pcols, nm = 1;
    const int64_t NG = s->N * s->G, want = 8 * (int64_t)T;
    if (T > 1 && NG * np < want) {
        const int64_t need = (want + NG - 1) / NG;
        np = need > np ? (need < (s->P + 15) / 16 ? need : (s->P + 15) / 16) : np;
        if (NG * np < want) {
            const int64_t need_m = (want + NG * np - 1) / (NG * np);
            nm = need_m < s->cout_g ? need_m : s->cout_g;
        }
    }
    s->pcols = (s->P + np - 1) / np, s->np = (s->P + s->pcols - 1) / s->pcols;
    s->mrows = (s->cout_g + nm - 1) / nm, s->nm = (s->cout_g + s->mrows - 1) / s->mrows;
    s->per_thread = t2c_align64(s->esize * (size_t)(s->K * s->pcols)) +
                    t2c_align64(s->esize * (size_t)(s->mrows * s->pcols)) + t2c_align64((size_t)s->pcols);
    *state = s;
    return T2C_OK;
}

static size_t conv_blas_scratch(const t2c_node *node, const void *state)
{
    const conv_blas *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

typedef struct conv_blas_job {
    const conv_blas *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *scratch;
} conv_blas_job;

static void conv_blas_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const conv_blas_job *j = ctx;
    const conv_blas *s = j->s;
    uint8_t *xb = j->scratch + (size_t)thread * s->per_thread;
    uint8_t *cbuf = xb + t2c_align64(s->esize * (size_t)(s->K * s->pcols));
    uint8_t *row = cbuf + t2c_align64(s->esize * (size_t)(s->mrows * s->pcols));
    int64_t packed = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t mi = it % s->nm, chunk = it / s->nm;
        const int64_t pi = chunk % s->np, g = (chunk / s->np) % s->G, n = chunk / s->np / s->G;
        const int64_t p0 = pi * s->pcols, L = s->P - p0 < s->pcols ? s->P - p0 : s->pcols;
        if (chunk != packed) {
            for (int64_t k = 0; k < s->K; k++) {
                const uint8_t *r = t2c_im2col_row(&s->geo, j->x, n, g, k, p0, L, row);
                float *of = (float *)xb + k * L;
                double *od = (double *)xb + k * L;
                for (int64_t i = 0; i < L; i++) {
                    const int32_t v = (s->x_signed ? (int32_t)(int8_t)r[i] : (int32_t)r[i]) - (int32_t)s->xzp;
                    if (s->plan.dbl)
                        od[i] = (double)v;
                    else
                        of[i] = (float)v;
                }
            }
            packed = chunk;
        }
        const int64_t m0 = mi * s->mrows, mn = s->cout_g - m0 < s->mrows ? s->cout_g - m0 : s->mrows;
        const int64_t co0 = g * s->cout_g + m0;
        t2c_blas_gemm_i32(&s->plan, mn, L, s->K, (const uint8_t *)s->wf + s->esize * (size_t)(co0 * s->K), s->K,
                          xb, L, 0, cbuf, j->y + (n * s->Cout + co0) * s->P + p0, s->P,
                          s->bias ? s->bias + co0 : NULL, NULL, s->wrap_bits);
    }
}

static t2c_status conv_blas_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const conv_blas *s = state;
    conv_blas_job j = {s, node->inputs[0]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->N * s->Cout * s->P * s->K), s->N * s->G * s->np * s->nm, conv_blas_items, &j);
    return T2C_OK;
}

const t2c_kernel_variant t2c_conv2d_blas = {
    .backend = "blas",
    .name = "conv2d.blas",
    .supports = conv_blas_supports,
    .prepare = conv_blas_prepare,
    .scratch_size = conv_blas_scratch,
    .run = conv_blas_run,
    .release = conv_blas_release,
};
