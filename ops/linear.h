/* linear.h — integer fully connected layer, see ops/README.md "linear". */
#ifndef T2C_LINEAR_H
#define T2C_LINEAR_H

#include "t2c_op.h"

typedef struct t2c_linear_params {
    int64_t x_zero_point, w_zero_point; /* within x's / w's dtype range */
    int acc_bits;                       /* 2..32 */
    t2c_overflow overflow;
} t2c_linear_params;

/* Check x [N, ..., K], w [M, K], optional bias [M] against p and set y's dtype (int32),
 * rank and dims [N, ..., M]. */
t2c_status t2c_linear_infer(const t2c_linear_params *p, const t2c_tensor *x, const t2c_tensor *w,
                            const t2c_tensor *bias, t2c_tensor *y, t2c_error *err);

/* The reference kernel (arguments as checked by t2c_linear_infer, values within their dtype
 * ranges; bias may be NULL). T2C_ERR_OVERFLOW names the row and output feature. */
t2c_status t2c_linear_ref(const t2c_linear_params *p, const t2c_tensor *x, const t2c_tensor *w,
                          const t2c_tensor *bias, t2c_tensor *y, t2c_error *err);

#endif /* T2C_LINEAR_H */
