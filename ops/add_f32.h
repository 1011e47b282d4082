/* add_f32.h — elementwise binary32 addition with optional ReLU, for Torch2Chip compat graphs only
 * (its residual adds run on float activations). See ops/README.md "add_f32". */
#ifndef T2C_ADD_F32_H
#define T2C_ADD_F32_H

#include "t2c_op.h"

typedef struct t2c_add_f32_params {
    int relu; /* 0 or 1 */
} t2c_add_f32_params;

/* Check a, b (float32, equal shapes); set y (float32, the same shape). */
t2c_status t2c_add_f32_infer(const t2c_add_f32_params *p, const t2c_tensor *a, const t2c_tensor *b,
                             t2c_tensor *y, t2c_error *err);

/* y = a + b rounded to nearest-even binary32, then relu (w < 0 ? +0.0 : w) if asked. T2C_OK. */
t2c_status t2c_add_f32_ref(const t2c_add_f32_params *p, const t2c_tensor *a, const t2c_tensor *b,
                           t2c_tensor *y, t2c_error *err);

#endif /* T2C_ADD_F32_H */
