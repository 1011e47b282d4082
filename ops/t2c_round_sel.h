/* t2c_round_sel.h — t2c_scale_round (ops/t2c_int.h) written with selects instead of early
 * returns, so that loops of it vectorize and do not mispredict. The same integers for every
 * legal input (tests/test_requantize.c compares the two on edges and random values). */
#ifndef T2C_ROUND_SEL_H
#define T2C_ROUND_SEL_H

#include "t2c_int.h"

/* t2c_round_shift for 0 <= s <= 62: q = floor(v / 2^s), r = v - q*2^s in [0, 2^s); add 1 when
 * r > 2^(s-1), or on a tie (r == 2^(s-1)) by the mode's rule; FLOOR never adds. Comparing 2r
 * with 2^s (2r < 2^63) also covers s == 0 (r = 0 < 1: v). */
static inline int64_t t2c_round_shift_sel(int64_t v, int s, t2c_rounding mode)
{
    const int64_t q = v >> s; /* arithmetic shift, as in t2c_round_shift */
    const int64_t r = v - (int64_t)((uint64_t)q << s);
    const int64_t twice = 2 * r, one = (int64_t)1 << s;
    const int64_t tie_up = mode == T2C_ROUND_HALF_EVEN ? (q & 1)
                           : mode == T2C_ROUND_HALF_UP ? 1
                                                       : (v >= 0); /* HALF_AWAY, TFLITE */
    const int64_t up = (twice > one) | ((twice == one) & tie_up);
    return mode == T2C_ROUND_FLOOR ? q : q + up;
}

/* t2c_scale_round with the first four modes through t2c_round_shift_sel. */
static inline int64_t t2c_scale_round_sel(int64_t v, int64_t m, int64_t b, int s, t2c_rounding mode)
{
    if (mode == T2C_ROUND_TFLITE)
        return t2c_scale_round(v, m, b, s, mode);
    return t2c_round_shift_sel(v * m + b, s, mode);
}

#endif /* T2C_ROUND_SEL_H */
