/* quantize.h — float32 -> integer at the model boundary, see ops/README.md "quantize". */
#ifndef T2C_QUANTIZE_H
#define T2C_QUANTIZE_H

#include "t2c_op.h"

typedef struct t2c_quantize_params {
    double scale;       /* (float)scale must be a positive finite binary32 with a finite inverse */
    int64_t zero_point; /* within the output dtype's range */
    int64_t lo, hi;     /* lo <= hi, within the output dtype's range */
} t2c_quantize_params;

/* Check x (float32) and y's preset dtype (int4/uint4/int8/uint8/int16) against p; set y's
 * rank and dims to x's. */
t2c_status t2c_quantize_infer(const t2c_quantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                              t2c_error *err);

/* y = clamp(nearbyint(x * (1.0f / (float)scale)) + zero_point, lo, hi), NaN -> zero_point (not
 * clamped); binary32 arithmetic, default (nearest-even) rounding mode. Always T2C_OK. */
t2c_status t2c_quantize_ref(const t2c_quantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                            t2c_error *err);

#endif /* T2C_QUANTIZE_H */
