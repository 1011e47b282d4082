/* maxpool2d_f32.h — 2-D max pooling on binary32 activations, NCHW, for Torch2Chip compat graphs
 * only. See ops/README.md "maxpool2d_f32". */
#ifndef T2C_MAXPOOL2D_F32_H
#define T2C_MAXPOOL2D_F32_H

#include "t2c_op.h"

typedef struct t2c_maxpool2d_f32_params {
    int64_t kernel[2];    /* KH, KW >= 1 */
    int64_t strides[2];   /* >= 1 */
    int64_t pads[4];      /* top, left, bottom, right; each < its kernel dim */
    int64_t dilations[2]; /* >= 1 */
} t2c_maxpool2d_f32_params;

/* y[n,c,oh,ow]: the window's positions inside the input scanned in row-major order (kh, kw),
 * m = the first, then m = v whenever v > m or v is NaN (as PyTorch: NaN propagates, the first of
 * equal values such as -0.0 and +0.0 wins). x [N,C,H,W] float32, y [N,C,Ho,Wo] float32 as set
 * by prepare, which guarantees every window holds at least one input element. T2C_OK. */
t2c_status t2c_maxpool2d_f32_ref(const t2c_maxpool2d_f32_params *p, const t2c_tensor *x, t2c_tensor *y,
                                 t2c_error *err);

#endif /* T2C_MAXPOOL2D_F32_H */
