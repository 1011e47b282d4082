/* mul.h — integer elementwise product with broadcasting (ops/README.md "mul"). */
#ifndef T2C_MUL_H
#define T2C_MUL_H

#include "t2c_op.h"

typedef struct t2c_mul_params {
    int64_t a_zero_point, b_zero_point; /* in a's / b's dtype range */
    int64_t multiplier;                 /* |m| < 2^31; tflite: 0 <= m < 2^31 */
    int shift;                          /* 0..62 */
    int64_t out_zero_point;             /* in the output range */
    t2c_rounding rounding;
    int64_t lo, hi;                     /* output clamp */
} t2c_mul_params;

/* y = clamp(scale_round((a - a_zp)·(b - b_zp), multiplier, 0, shift, rounding) + out_zp, lo, hi)
 * with a, b broadcast to y's dims. prepare() guarantees |(a - a_zp)·(b - b_zp)| < 2^31. */
t2c_status t2c_mul_ref(const t2c_mul_params *p, const t2c_tensor *a, const t2c_tensor *b, t2c_tensor *y,
                       t2c_error *err);

#endif /* T2C_MUL_H */
