/* matmul.h — integer batched matrix product of two activations, see ops/README.md "matmul". */
#ifndef T2C_MATMUL_H
#define T2C_MATMUL_H

#include "t2c_op.h"

typedef struct t2c_matmul_params {
    int64_t a_zero_point, b_zero_point; /* within a's / b's dtype range */
    int transpose_b;                    /* 0: b is [B..., K, N]; 1: b is [B..., N, K] */
    int acc_bits;                       /* 2..32 */
    t2c_overflow overflow;
} t2c_matmul_params;

/* Check a [B..., M, K] and b against p and set y's dtype (int32), rank and dims [B..., M, N]. */
t2c_status t2c_matmul_infer(const t2c_matmul_params *p, const t2c_tensor *a, const t2c_tensor *b,
                            t2c_tensor *y, t2c_error *err);

/* The reference kernel (arguments as checked by t2c_matmul_infer, values within their dtype
 * ranges). T2C_ERR_OVERFLOW names the batch index, m and n. */
t2c_status t2c_matmul_ref(const t2c_matmul_params *p, const t2c_tensor *a, const t2c_tensor *b,
                          t2c_tensor *y, t2c_error *err);

#endif /* T2C_MATMUL_H */
