/* maxpool2d.h — 2-D max pooling, NCHW (ops/README.md "maxpool2d"). */
#ifndef T2C_MAXPOOL2D_H
#define T2C_MAXPOOL2D_H

#include "t2c_op.h"

typedef struct t2c_maxpool2d_params {
    int64_t kernel[2];    /* KH, KW >= 1 */
    int64_t strides[2];   /* >= 1 */
    int64_t pads[4];      /* top, left, bottom, right; each < its kernel dim */
    int64_t dilations[2]; /* >= 1 */
} t2c_maxpool2d_params;

/* y[n,c,oh,ow] = max of x over the window positions inside the input (padding never wins).
 * x is [N, C, H, W], y is [N, C, Ho, Wo] of the same dtype, as set by prepare, which also
 * guarantees every window holds at least one input element. */
t2c_status t2c_maxpool2d_ref(const t2c_maxpool2d_params *p, const t2c_tensor *x, t2c_tensor *y,
                             t2c_error *err);

#endif /* T2C_MAXPOOL2D_H */
