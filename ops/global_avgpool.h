/* global_avgpool.h — mean over H and W, NCHW (ops/README.md "global_avgpool"). */
#ifndef T2C_GLOBAL_AVGPOOL_H
#define T2C_GLOBAL_AVGPOOL_H

#include "t2c_op.h"

typedef struct t2c_global_avgpool_params {
    t2c_rounding rounding;
    int has_multiplier; /* 1: y = scale_round(sum, multiplier, 0, shift); 0: round_div(sum, H*W) */
    int64_t multiplier; /* |m| < 2^31; tflite: 0 <= m < 2^31 */
    int shift;          /* 0..62 */
} t2c_global_avgpool_params;

/* y[n,c,0,0] = clamp(round_div(sum, H*W) or scale_round(sum, multiplier, 0, shift), range(dtype))
 * with sum = Σ_{h,w} x[n,c,h,w]. x is [N, C, H, W] int4/uint4/int8/uint8/int16, y is [N, C, 1, 1]. */
t2c_status t2c_global_avgpool_ref(const t2c_global_avgpool_params *p, const t2c_tensor *x,
                                  t2c_tensor *y, t2c_error *err);

#endif /* T2C_GLOBAL_AVGPOOL_H */
