/* add.h — residual add with per-input rescaling (ops/README.md "add"). */
#ifndef T2C_ADD_H
#define T2C_ADD_H

#include "t2c_op.h"

typedef struct t2c_add_params {
    int64_t a_zero_point, b_zero_point; /* in the range of a's / b's dtype */
    int left_shift;                     /* 0..30 */
    int64_t a_multiplier, b_multiplier, out_multiplier; /* |m| < 2^31; tflite: 0 <= m < 2^31 */
    int a_shift, b_shift, out_shift;    /* 0..62 */
    int64_t out_zero_point;             /* in the output dtype's range */
    t2c_rounding rounding;
    int64_t lo, hi;                     /* output clamp, lo <= hi, within the output range */
} t2c_add_params;

/* y = clamp(scale_round(a2 + b2, out_multiplier, 0, out_shift) + out_zero_point, lo, hi),
 * elementwise; a, b, y have the same shape. Parameters and dtypes as checked by
 * t2c_op_add.prepare (which guarantees every scale_round argument is in its legal range). */
t2c_status t2c_add_ref(const t2c_add_params *p, const t2c_tensor *a, const t2c_tensor *b,
                       t2c_tensor *y, t2c_error *err);

#endif /* T2C_ADD_H */
