/* avgpool2d.h — 2-D average pooling, NCHW (ops/README.md "avgpool2d"). */
#ifndef T2C_AVGPOOL2D_H
#define T2C_AVGPOOL2D_H

#include "t2c_op.h"

typedef struct t2c_avgpool2d_params {
    int64_t kernel[2];     /* KH, KW >= 1 */
    int64_t strides[2];    /* >= 1 */
    int64_t pads[4];       /* top, left, bottom, right; each < its kernel dim */
    int count_include_pad; /* 0 or 1 */
    int64_t x_zero_point;  /* in the input dtype's range; the value of a counted padded position */
    t2c_rounding rounding;
    int has_multiplier;    /* 1: y = scale_round(sum, multiplier, 0, shift); 0: round_div(sum, n) */
    int64_t multiplier;    /* |m| < 2^31; tflite: 0 <= m < 2^31 */
    int shift;             /* 0..62 */
} t2c_avgpool2d_params;

/* y[n,c,oh,ow] = clamp(round_div(sum, n) or scale_round(sum, multiplier, 0, shift), range(dtype)).
 * x is [N, C, H, W] int4/uint4/int8/uint8, y is [N, C, Ho, Wo] of the same dtype, as set by
 * prepare (which also checks that windows never lack elements and that |sum| fits). */
t2c_status t2c_avgpool2d_ref(const t2c_avgpool2d_params *p, const t2c_tensor *x, t2c_tensor *y,
                             t2c_error *err);

#endif /* T2C_AVGPOOL2D_H */
