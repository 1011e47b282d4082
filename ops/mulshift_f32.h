/* mulshift_f32.h — Torch2Chip's MulShift in binary32: y = ((float)x * scale[c] + bias[c]) * 2^-shift,
 * optional ReLU. Torch2Chip compat graphs only. See ops/README.md "mulshift_f32". */
#ifndef T2C_MULSHIFT_F32_H
#define T2C_MULSHIFT_F32_H

#include "t2c_op.h"

typedef struct t2c_mulshift_f32_params {
    const double *scale, *bias; /* n_scale / n_bias values (1 or C), each exactly a finite binary32 */
    int64_t n_scale, n_bias;
    int shift;                  /* 0..126: 2^-shift is a normal binary32 */
    int relu;                   /* 0 or 1 */
    int axis;                   /* channel axis, 0..rank-1 */
} t2c_mulshift_f32_params;

/* Check x (int32 or float32) and the attribute arrays against p; set y (float32, x's shape). */
t2c_status t2c_mulshift_f32_infer(const t2c_mulshift_f32_params *p, const t2c_tensor *x, t2c_tensor *y,
                                  t2c_error *err);

/* The recipe, element by element, in binary32 with round-to-nearest-even and no fused
 * multiply-add. Arguments must have passed t2c_mulshift_f32_infer. Always T2C_OK. */
t2c_status t2c_mulshift_f32_ref(const t2c_mulshift_f32_params *p, const t2c_tensor *x, t2c_tensor *y,
                                t2c_error *err);

#endif /* T2C_MULSHIFT_F32_H */
