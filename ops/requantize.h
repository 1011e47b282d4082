/* requantize.h — integer rescaling with rounding and saturation, see ops/README.md "requantize". */
#ifndef T2C_REQUANTIZE_H
#define T2C_REQUANTIZE_H

#include "t2c_op.h"

typedef struct t2c_requantize_params {
    /* Each array has 1 value (all elements) or C values (one per index along `axis`). */
    const int64_t *multiplier, *shift, *offset;
    int64_t n_multiplier, n_shift, n_offset;
    int axis;           /* used only when some array has C > 1 values */
    int64_t zero_point; /* within the output dtype's range */
    int64_t lo, hi;     /* lo <= hi, within the output dtype's range */
    t2c_rounding rounding;
} t2c_requantize_params;

/* Index c's parameters along `axis` (an array of one value serves every index). */
static inline int64_t t2c_rq_multiplier(const t2c_requantize_params *p, int64_t c)
{
    return p->multiplier[p->n_multiplier > 1 ? c : 0];
}
static inline int64_t t2c_rq_shift(const t2c_requantize_params *p, int64_t c)
{
    return p->shift[p->n_shift > 1 ? c : 0];
}
static inline int64_t t2c_rq_offset(const t2c_requantize_params *p, int64_t c)
{
    return p->offset[p->n_offset > 1 ? c : 0];
}

/* 1 when every parameter is a single value or one per channel along axis 1 (NCHW): the form a
 * conv kernel's fused requantize epilogue takes. */
static inline int t2c_rq_per_nchw_channel(const t2c_requantize_params *p)
{
    return !(p->n_multiplier > 1 || p->n_shift > 1 || p->n_offset > 1) || p->axis == 1;
}

/* Check x (int8/int16/int32), y's preset dtype (int4/uint4/int8/uint8/int16/int32) and every
 * value range of p (|multiplier| < 2^31, shift 0..62, |offset| < 2^62; tflite: multiplier >= 0,
 * offset 0); set y's rank and dims to x's. */
t2c_status t2c_requantize_infer(const t2c_requantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                                t2c_error *err);

/* y = clamp(scale_round(x, multiplier[c], offset[c], shift[c], rounding) + zero_point, lo, hi).
 * Always T2C_OK for arguments that passed t2c_requantize_infer. */
t2c_status t2c_requantize_ref(const t2c_requantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                              t2c_error *err);

#endif /* T2C_REQUANTIZE_H */
