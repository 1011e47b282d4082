/* conv2d_f32.h — float32 2-D convolution with integer weights, for Torch2Chip compat graphs only
 * (a float image times integer weights at the stem; integer activations plus a float bias).
 * See ops/README.md "conv2d_f32". */
#ifndef T2C_CONV2D_F32_H
#define T2C_CONV2D_F32_H

#include "conv2d.h"

/* Only the window: there are no zero points (padding is 0) and no accumulator policy. */
typedef t2c_conv_window t2c_conv2d_f32_params;

/* Check x [N,Cin,H,W] (float32, int4, uint4, int8 or uint8), w [Cout,Cin/group,KH,KW] (int4 or
 * int8) and the optional bias [Cout] (float32) against p; set y's dtype (float32) and dims
 * [N,Cout,Ho,Wo]. */
t2c_status t2c_conv2d_f32_infer(const t2c_conv2d_f32_params *p, const t2c_tensor *x,
                                const t2c_tensor *w, const t2c_tensor *bias, t2c_tensor *y,
                                t2c_error *err);

/* Bytes of scratch the kernel needs: one binary64 accumulator per output position of a plane. */
size_t t2c_conv2d_f32_scratch(const t2c_tensor *y);

/* The recipe: binary64 accumulation in the conv2d order, one rounding to binary32 at the end.
 * Arguments must have passed t2c_conv2d_f32_infer; scratch holds t2c_conv2d_f32_scratch(y)
 * bytes. bias may be NULL. Always T2C_OK. */
t2c_status t2c_conv2d_f32_ref(const t2c_conv2d_f32_params *p, const t2c_tensor *x,
                              const t2c_tensor *w, const t2c_tensor *bias, t2c_tensor *y,
                              void *scratch, t2c_error *err);

#endif /* T2C_CONV2D_F32_H */
