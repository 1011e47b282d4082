/* global_avgpool_f32.h — mean over H and W of binary32 activations, NCHW, for Torch2Chip compat
 * graphs only. See ops/README.md "global_avgpool_f32". */
#ifndef T2C_GLOBAL_AVGPOOL_F32_H
#define T2C_GLOBAL_AVGPOOL_F32_H

#include "t2c_op.h"

/* y[n,c,0,0] = (float)sum / (float)(H·W) in binary32, where sum is the binary64 sum of
 * x[n,c,h,w] in row-major (h, w) order starting from +0.0, each addition rounded to nearest-even
 * binary64. x [N,C,H,W] float32, y [N,C,1,1] float32 as set by prepare. Always T2C_OK. */
t2c_status t2c_global_avgpool_f32_ref(const t2c_tensor *x, t2c_tensor *y, t2c_error *err);

#endif /* T2C_GLOBAL_AVGPOOL_F32_H */
