/* blas_exact.c — exact integer GEMM on OpenBLAS; the argument is in t2c_blas_exact.h. */
#include <cblas.h>
#include <pthread.h>

#include "t2c_blas_exact.h"
#include "t2c_kernels.h"

int t2c_blas_plan_for(int64_t max_prod, int64_t K, t2c_blas_plan *plan)
{
    const int64_t f32 = (int64_t)1 << 24, f64 = (int64_t)1 << 53;
    if (max_prod <= 0) {
        plan->dbl = 0, plan->kc = K;
        return 1;
    }
    if (max_prod > f64)
        return 0;
    int64_t kc = f32 / max_prod;
    plan->dbl = !(kc >= T2C_BLAS_MIN_CHUNK || kc >= K);
    if (plan->dbl)
        kc = f64 / max_prod;
    /* equal chunks (a shorter chunk still satisfies the bound): no tiny last GEMM */
    const int64_t n = (K + kc - 1) / kc;
    plan->kc = (K + n - 1) / n;
    return 1;
}

int t2c_blas_plan_weighted(const t2c_tensor *x, int64_t x_zp, const t2c_tensor *w, int64_t w_zp,
                           const t2c_tensor *bias, int64_t K, int acc_bits, t2c_overflow overflow, int *wrap_bits,
                           t2c_blas_plan *plan)
{
    if (!w->is_const || !w->data || (bias && (!bias->is_const || !bias->data)))
        return 0;
    const int64_t max_x = t2c_max_abs_diff(x->dtype, x_zp);
    if (!t2c_acc_fast_ok(t2c_max_abs_i32(bias), K, max_x * t2c_max_abs_diff(w->dtype, w_zp), acc_bits, overflow,
                         wrap_bits))
        return 0;
    int64_t max_w = 0;
    const int8_t *wd = w->data;
    for (int64_t i = 0, n = t2c_tensor_numel(w); i < n; i++) {
        const int64_t d = wd[i] - w_zp;
        max_w = (d < 0 ? -d : d) > max_w ? (d < 0 ? -d : d) : max_w;
    }
    return t2c_blas_plan_for(max_x * max_w, K, plan);
}

static void blas_init_once(void) { openblas_set_num_threads(1); }

void t2c_blas_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_init_once);
}

void t2c_blas_gemm_i32(const t2c_blas_plan *plan, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                       const void *B, int64_t ldb, int trans_b, void *cbuf, int32_t *Y, int64_t ldy,
                       const int32_t *row_init, const int32_t *col_init, int wrap_bits)
{
    const enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    for (int64_t k0 = 0; k0 < K; k0 += plan->kc) {
        const int64_t kn = K - k0 < plan->kc ? K - k0 : plan->kc;
        const int64_t boff = trans_b ? k0 : k0 * ldb;
        if (plan->dbl)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, (int)M, (int)N, (int)kn, 1.0, (const double *)A + k0,
                        (int)lda, (const double *)B + boff, (int)ldb, 0.0, cbuf, (int)N);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, (int)M, (int)N, (int)kn, 1.0f, (const float *)A + k0,
                        (int)lda, (const float *)B + boff, (int)ldb, 0.0f, cbuf, (int)N);
        for (int64_t m = 0; m < M; m++) {
            uint32_t *y = (uint32_t *)(Y + m * ldy);
            const float *cf = (const float *)cbuf + m * N;
            const double *cd = (const double *)cbuf + m * N;
            const uint32_t r0 = row_init ? (uint32_t)row_init[m] : 0;
            for (int64_t n = 0; n < N; n++) {
                /* chunk values are exact integers with |v| <= 2^24 (2^53 for binary64: the
                 * conversion to int64 is exact, then reduced mod 2^32) */
                const uint32_t v = plan->dbl ? (uint32_t)(uint64_t)(int64_t)cd[n] : (uint32_t)(int32_t)cf[n];
                if (k0 == 0)
                    y[n] = r0 + (col_init ? (uint32_t)col_init[n] : 0) + v;
                else
                    y[n] += v;
            }
        }
    }
    if (wrap_bits < 32)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                const uint32_t u = (uint32_t)Y[m * ldy + n] << (32 - wrap_bits);
                Y[m * ldy + n] = (int32_t)u >> (32 - wrap_bits);
            }
}
