/* t2c_blas_exact.h — integer GEMM computed exactly with OpenBLAS SGEMM/DGEMM (issue 7).
 *
 * Exactness argument. Operands are integers a, b with |a| <= A, |b| <= B (zero points already
 * subtracted), converted exactly to binary32 (|a|, |b| <= 2^16 < 2^24). Split K into chunks of
 * kc terms with kc*A*B <= 2^24. Whatever order, blocking, vectorisation or FMA use the library
 * picks, every intermediate value it forms is the sum of a subset of one chunk's products (or a
 * single product), an integer of magnitude <= kc*A*B <= 2^24, and binary32 represents every
 * integer of magnitude <= 2^24 exactly; an operation whose exact result is representable returns
 * it unchanged, so by induction the chunk result is the exact integer. Each chunk result is
 * converted to int32 exactly and the chunks are added in int32 modulo 2^32 (exact for the final
 * value as in t2c_gemm.h). With alpha = 1, beta = 0. binary64 (DGEMM) is the same argument with
 * 2^53; it is used when a binary32 chunk would be shorter than T2C_BLAS_MIN_CHUNK (int16 inputs).
 */
#ifndef T2C_BLAS_EXACT_H
#define T2C_BLAS_EXACT_H

#include <stdint.h>

#include "t2c_op.h"

#define T2C_BLAS_MIN_CHUNK 64

typedef struct t2c_blas_plan {
    int dbl;     /* 1: binary64 (DGEMM), 0: binary32 (SGEMM) */
    int64_t kc;  /* chunk length, >= 1 */
} t2c_blas_plan;

/* The chunking for products bounded by max_prod (>= 0); 0 if even binary64 cannot hold one
 * product exactly (max_prod > 2^53) — never the case for int16 operands. */
int t2c_blas_plan_for(int64_t max_prod, int64_t K, t2c_blas_plan *plan);

/* The plan of a weighted op (conv2d, linear) with depth K: 0 unless the weight (and bias, may be
 * NULL) are constants and the op's accumulator bound proves the int32 sum (t2c_acc_fast_ok, which
 * sets wrap_bits). The chunk bound uses the actual weights' largest |w - w_zp|: larger chunks,
 * same argument. */
int t2c_blas_plan_weighted(const t2c_tensor *x, int64_t x_zp, const t2c_tensor *w, int64_t w_zp,
                           const t2c_tensor *bias, int64_t K, int acc_bits, t2c_overflow overflow, int *wrap_bits,
                           t2c_blas_plan *plan);

/* Single-threaded OpenBLAS (the variants thread themselves); idempotent. */
void t2c_blas_init(void);

/* Y[m][n] = wrap( row_init[m] + col_init[n] + sum_k A[m][k] * B(k, n) ) for m < M, n < N.
 * A: float/double row-major, element (m, k) at A[m*lda + k]. B(k, n) = B[k*ldb + n], or
 * B[n*ldb + k] when trans_b. cbuf: M*N elements of the plan's type. Inits may be NULL (0).
 * wrap_bits as in t2c_gemm_tile. */
void t2c_blas_gemm_i32(const t2c_blas_plan *plan, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                       const void *B, int64_t ldb, int trans_b, void *cbuf, int32_t *Y, int64_t ldy,
                       const int32_t *row_init, const int32_t *col_init, int wrap_bits);

#endif /* T2C_BLAS_EXACT_H */
