/* layernorm.h — integer layer normalisation over the last axis, I-BERT's recipe
 * (ops/README.md "layernorm"). */
#ifndef T2C_LAYERNORM_H
#define T2C_LAYERNORM_H

#include "t2c_op.h"

typedef struct t2c_layernorm_params {
    int shift;              /* 0..31: (x - mean) >> shift before squaring */
    int64_t eps;            /* 0 <= eps < 2^62, added to the variance sum */
    int out_shift;          /* 0..62 */
    int64_t out_zero_point; /* in the output range */
    int64_t lo, hi;         /* output clamp */
    t2c_rounding rounding;  /* not tflite */
} t2c_layernorm_params;

/* floor(sqrt(v)) for 0 <= v < 2^64: binary digit-by-digit square root, at most 32 iterations. */
uint64_t t2c_isqrt64(uint64_t v);

/* x [.., C] -> y; gamma [C] (int8/int16/int32), beta [C] (int32/int64, NULL = 0).
 * Fails (T2C_ERR_INVALID_ARG) if a beta value has |beta| >= 2^62. */
t2c_status t2c_layernorm_ref(const t2c_layernorm_params *p, const t2c_tensor *x, const t2c_tensor *gamma,
                             const t2c_tensor *beta, t2c_tensor *y, t2c_error *err);

#endif /* T2C_LAYERNORM_H */
