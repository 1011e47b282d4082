/* t2c_int.h — the integer arithmetic every kernel is defined with.
 *
 * Each helper states its exact recipe and legal range. These are the building blocks of
 * the op recipes in ops/README.md; an RTL datapath that implements the same recipe
 * produces the same integers. No floating point here.
 */
#ifndef T2C_INT_H
#define T2C_INT_H

#include <stdint.h>

/* Plain exact-integer loops compiled also for wider vector units, chosen at load time by the
 * CPU (GCC function multi-versioning). Integer sums that cannot overflow are exact in any order,
 * so every clone returns the same integers; elsewhere (other compilers, non-x86) one version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define T2C_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define T2C_CLONES
#endif

typedef enum t2c_rounding {
    T2C_ROUND_HALF_EVEN = 0, /* ties to the even quotient */
    T2C_ROUND_HALF_UP = 1,   /* ties toward +infinity: floor((v + 2^(s-1)) / 2^s) */
    T2C_ROUND_HALF_AWAY = 2, /* ties away from zero */
    T2C_ROUND_FLOOR = 3,     /* arithmetic shift right, toward -infinity */
    T2C_ROUND_TFLITE = 4,    /* TFLite: SaturatingRoundingDoublingHighMul + RoundingDivideByPOT */
    T2C_ROUNDING_COUNT
} t2c_rounding;

/* Attribute spelling of each mode, indexed by t2c_rounding. */
extern const char *const t2c_rounding_names[T2C_ROUNDING_COUNT];

static inline int64_t t2c_clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* round(v / 2^s) for 0 <= s <= 62, any int64 v, in one of the first four modes.
 * Recipe: q = floor(v / 2^s) (arithmetic shift), r = v - q*2^s in [0, 2^s),
 * h = 2^(s-1). r < h: q. r > h: q+1. r == h (a tie): HALF_EVEN q + (q odd),
 * HALF_UP q+1, HALF_AWAY q+1 if v >= 0 else q. FLOOR: always q. s == 0: v.
 * TFLITE here means HALF_AWAY (its RoundingDivideByPOT rounds ties away from zero).
 * Never overflows: |q| <= |v|/2^s + 1. */
static inline int64_t t2c_round_shift(int64_t v, int s, t2c_rounding mode)
{
    if (s <= 0)
        return v;
    int64_t q = v >> s; /* gcc/clang: arithmetic shift on signed (documented implementation-defined, relied on) */
    int64_t r = v - (int64_t)((uint64_t)q << s);
    if (mode == T2C_ROUND_FLOOR)
        return q;
    int64_t h = (int64_t)1 << (s - 1);
    if (r < h)
        return q;
    if (r > h)
        return q + 1;
    switch (mode) {
    case T2C_ROUND_HALF_EVEN: return q + (q & 1);
    case T2C_ROUND_HALF_UP: return q + 1;
    default: return v >= 0 ? q + 1 : q; /* HALF_AWAY, TFLITE */
    }
}

/* round(num / den) for den > 0, same tie rules as t2c_round_shift (FLOOR = floor division).
 * Used by average pooling's exact division. */
static inline int64_t t2c_round_div(int64_t num, int64_t den, t2c_rounding mode)
{
    int64_t q = num / den, r = num % den; /* C: q truncates toward zero, r has num's sign */
    if (r < 0) { q -= 1; r += den; }     /* now q = floor(num/den), 0 <= r < den */
    if (mode == T2C_ROUND_FLOOR)
        return q;
    /* compare r with den/2 without division: 2r vs den */
    int64_t twice = 2 * r; /* r < den <= 2^62 in practice (pool counts) */
    if (twice < den)
        return q;
    if (twice > den)
        return q + 1;
    switch (mode) {
    case T2C_ROUND_HALF_EVEN: return q + (q & 1);
    case T2C_ROUND_HALF_UP: return q + 1;
    default: return num >= 0 ? q + 1 : q;
    }
}

/* TFLite's SaturatingRoundingDoublingHighMul (gemmlowp): round(a*b / 2^31) with ties toward
 * +infinity (the negative nudge is 1 - 2^30, so -1.5 gives -1), saturating the single overflow
 * case a == b == INT32_MIN to INT32_MAX.
 * Recipe: ab = (int64)a*b; nudge = ab >= 0 ? 2^30 : 1 - 2^30; result = trunc((ab+nudge)/2^31). */
static inline int32_t t2c_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* TFLite's RoundingDivideByPOT: x / 2^e rounded half away from zero, 0 <= e <= 31.
 * Recipe: mask = 2^e - 1; rem = x & mask; threshold = (mask >> 1) + (x < 0);
 * result = (x >> e) + (rem > threshold). */
static inline int32_t t2c_rdbpot(int32_t x, int e)
{
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    int32_t rem = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (rem > threshold ? 1 : 0);
}

/* Requantization scaling: round(v * m / 2^s) as defined for each mode.
 *  - HALF_EVEN/HALF_UP/HALF_AWAY/FLOOR: t2c_round_shift(v*m + b, s), with v*m + b computed
 *    exactly in int64. Legal: |v| < 2^31, |m| < 2^31, |b| < 2^62, 0 <= s <= 62.
 *  - TFLITE (b must be 0, v must be an int32, 0 <= m < 2^31, 0 <= s <= 62):
 *    L = max(0, 31 - s), R = max(0, s - 31);
 *    x = (int32)(v * 2^L) (wraps mod 2^32 like TFLite's int32 multiply);
 *    result = t2c_rdbpot(t2c_srdhm(x, m), R).  Same scale m * 2^-s as the other modes. */
static inline int64_t t2c_scale_round(int64_t v, int64_t m, int64_t b, int s, t2c_rounding mode)
{
    if (mode == T2C_ROUND_TFLITE) {
        int left = s < 31 ? 31 - s : 0;
        int right = s > 31 ? s - 31 : 0;
        int32_t x = (int32_t)(uint32_t)((uint64_t)v << left);
        return t2c_rdbpot(t2c_srdhm(x, (int32_t)m), right);
    }
    return t2c_round_shift(v * m + b, s, mode);
}

/* Accumulator of a chosen width (2..64 bits) with an overflow policy. */
typedef enum t2c_overflow {
    T2C_OVERFLOW_ERROR = 0,    /* any out-of-range partial sum fails the op */
    T2C_OVERFLOW_WRAP = 1,     /* two's complement wrap to `bits` after every addition */
    T2C_OVERFLOW_SATURATE = 2, /* clamp to [-2^(bits-1), 2^(bits-1)-1] after every addition */
    T2C_OVERFLOW_COUNT
} t2c_overflow;

extern const char *const t2c_overflow_names[T2C_OVERFLOW_COUNT];

/* Wrap v to a signed `bits`-wide two's complement value (2 <= bits <= 64). */
static inline int64_t t2c_wrap_bits(int64_t v, int bits)
{
    if (bits >= 64)
        return v;
    uint64_t m = ((uint64_t)1 << bits) - 1;
    uint64_t u = (uint64_t)v & m;
    if (u >> (bits - 1))
        u |= ~m;
    return (int64_t)u;
}

/* One accumulation step acc + p under (bits, policy). Returns 0, or -1 when policy is ERROR
 * and the result leaves the range (acc is then left unchanged). |acc|,|p| < 2^62. */
static inline int t2c_acc_add(int64_t *acc, int64_t p, int bits, t2c_overflow policy)
{
    int64_t s = *acc + p;
    if (bits >= 64) { *acc = s; return 0; }
    int64_t hi = ((int64_t)1 << (bits - 1)) - 1, lo = -hi - 1;
    if (s >= lo && s <= hi) { *acc = s; return 0; }
    switch (policy) {
    case T2C_OVERFLOW_WRAP: *acc = t2c_wrap_bits(s, bits); return 0;
    case T2C_OVERFLOW_SATURATE: *acc = s < lo ? lo : hi; return 0;
    default: return -1;
    }
}

#endif /* T2C_INT_H */
