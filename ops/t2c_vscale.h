/* t2c_vscale.h — t2c_scale_round (ops/t2c_int.h) on eight int64 lanes with AVX-512F, for the
 * requantize and add SIMD variants. Same recipe, lane by lane, for the same legal ranges:
 *   half_even/half_up/half_away/floor: round_shift(v*m + b, s) with v*m + b exact in int64
 *     (|v| < 2^31, |m| < 2^31: vpmuldq is the exact signed 32x32->64 product);
 *   tflite: x = (int32)(v << L) wrapped, SRDHM(x, m) with its nudge and truncating division,
 *     then RDBPOT by R, L = max(0, 31 - s), R = max(0, s - 31); m >= 0, b = 0.
 * Include only from files compiled for x86-64; the functions carry their own target attribute. */
#ifndef T2C_VSCALE_H
#define T2C_VSCALE_H

#include <immintrin.h>
#include <stdint.h>

#include "t2c_gemm.h"
#include "t2c_int.h"

#define T2C_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

static inline int t2c_avx512_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

/* v: int64 lanes holding int32 values (sign-extended); m, b, s: per-lane parameters. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i
t2c_v_scale_round(__m512i v, __m512i m, __m512i b, __m512i s, t2c_rounding mode)
{
    const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
    if (mode == T2C_ROUND_TFLITE) {
        const __m512i c31 = _mm512_set1_epi64(31);
        const __m512i L = _mm512_max_epi64(_mm512_sub_epi64(c31, s), zero);
        const __m512i R = _mm512_max_epi64(_mm512_sub_epi64(s, c31), zero);
        __m512i x = _mm512_sllv_epi64(v, L);
        x = _mm512_srai_epi64(_mm512_slli_epi64(x, 32), 32); /* wrap to int32 */
        const __m512i ab = _mm512_mul_epi32(x, m);           /* m >= 0 here: no INT32_MIN^2 case */
        const __mmask8 neg = _mm512_cmplt_epi64_mask(ab, zero);
        const __m512i nudge = _mm512_mask_blend_epi64(neg, _mm512_set1_epi64((int64_t)1 << 30),
                                                      _mm512_set1_epi64(1 - ((int64_t)1 << 30)));
        __m512i u = _mm512_add_epi64(ab, nudge);
        /* truncating division by 2^31: negative values round up */
        u = _mm512_mask_add_epi64(u, _mm512_cmplt_epi64_mask(u, zero), u, _mm512_set1_epi64(((int64_t)1 << 31) - 1));
        const __m512i t = _mm512_srai_epi64(u, 31);
        /* RDBPOT(t, R): (t >> R) + ((t & mask) > (mask >> 1) + (t < 0)) */
        const __m512i mask = _mm512_sub_epi64(_mm512_sllv_epi64(one, R), one);
        __m512i thr = _mm512_srli_epi64(mask, 1);
        thr = _mm512_mask_add_epi64(thr, _mm512_cmplt_epi64_mask(t, zero), thr, one);
        const __m512i q = _mm512_srav_epi64(t, R);
        const __mmask8 up = _mm512_cmpgt_epi64_mask(_mm512_and_si512(t, mask), thr);
        return _mm512_mask_add_epi64(q, up, q, one);
    }
    const __m512i t = _mm512_add_epi64(_mm512_mul_epi32(v, m), b);
    const __m512i q = _mm512_srav_epi64(t, s);
    if (mode == T2C_ROUND_FLOOR)
        return q;
    const __m512i p2 = _mm512_sllv_epi64(one, s);
    const __m512i r = _mm512_and_si512(t, _mm512_sub_epi64(p2, one)); /* t - q*2^s, in [0, 2^s) */
    const __m512i h = _mm512_srli_epi64(p2, 1);
    const __mmask8 nz = _mm512_cmpneq_epi64_mask(s, zero); /* s = 0: no rounding */
    const __mmask8 gt = _mm512_mask_cmpgt_epi64_mask(nz, r, h);
    const __mmask8 tie = _mm512_mask_cmpeq_epi64_mask(nz, r, h);
    __mmask8 inc;
    if (mode == T2C_ROUND_HALF_EVEN)
        inc = gt | _mm512_mask_test_epi64_mask(tie, q, one);
    else if (mode == T2C_ROUND_HALF_UP)
        inc = gt | tie;
    else /* HALF_AWAY */
        inc = gt | _mm512_mask_cmpge_epi64_mask(tie, t, zero);
    return _mm512_mask_add_epi64(q, inc, q, one);
}

/* Store 8 int64 lanes (already within the dtype's range) as the dtype's memory type at element
 * i of dst. i may be a little below 0 when the low lanes are masked off (segment stores): the
 * address is formed as an integer and masked lanes are never accessed. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_v_store(void *dst, int64_t i, __m512i v, __mmask8 k, int esize)
{
    /* narrow in registers, then a masked store: the memory forms of vpmov* are slow (microcoded
     * on Zen), and GCC folds the pair back into one unless the asm hides the register */
    void *p = (void *)((uintptr_t)dst + (uintptr_t)(i * esize));
    if (esize == 1) {
        __m128i b = _mm512_cvtepi64_epi8(v);
        __asm__("" : "+x"(b));
        _mm_mask_storeu_epi8(p, k, b);
    } else if (esize == 2) {
        __m128i w = _mm512_cvtepi64_epi16(v);
        __asm__("" : "+x"(w));
        _mm_mask_storeu_epi16(p, k, w);
    } else {
        __m256i d = _mm512_cvtepi64_epi32(v);
        __asm__("" : "+x"(d));
        _mm256_mask_storeu_epi32(p, k, d);
    }
}

/* One channel's scale_round(v, m, b, s) as vectors, with cheaper exact recipes where they
 * apply: s >= 1 and |v*m| + |b| + 2^(s-1) < 2^63 (true for |v| <= 2^31, |m| < 2^31, |b| < 2^61).
 * With t = v*m + b, q = floor(t / 2^s), r = t - q*2^s, h = 2^(s-1):
 *   half_even  (t + h - 1 + (q & 1)) >> s   -- +1 exactly when r > h, or r = h with q odd
 *   half_up    (t + h) >> s                 -- +1 when r >= h
 *   half_away  (t + h - [t < 0]) >> s       -- r >= h for t >= 0, r > h for t < 0
 *   floor      t >> s
 * (arithmetic shifts; no intermediate overflows under the condition). tflite, s = 0 and large
 * offsets take t2c_v_scale_round. */
typedef struct t2c_vrow {
    __m512i m, b, s, h, hm1;
    t2c_rounding mode;
    int general;
} t2c_vrow;

static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vrow_init(t2c_vrow *r, int64_t m, int64_t s, int64_t b, t2c_rounding mode)
{
    const int64_t lim = (int64_t)1 << 61;
    r->m = _mm512_set1_epi64(m), r->b = _mm512_set1_epi64(b), r->s = _mm512_set1_epi64(s);
    const int64_t h = s > 0 ? (int64_t)1 << (s - 1) : 0;
    r->h = _mm512_set1_epi64(h), r->hm1 = _mm512_set1_epi64(h - 1);
    r->mode = mode;
    r->general = mode == T2C_ROUND_TFLITE || s == 0 || b >= lim || b <= -lim;
}

/* scale_round of eight int64 lanes holding int32 values. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i t2c_vrow_round(const t2c_vrow *r, __m512i v)
{
    if (r->general)
        return t2c_v_scale_round(v, r->m, r->b, r->s, r->mode);
    const __m512i t = _mm512_add_epi64(_mm512_mul_epi32(v, r->m), r->b);
    switch (r->mode) {
    case T2C_ROUND_HALF_EVEN: {
        const __m512i odd = _mm512_and_si512(_mm512_srav_epi64(t, r->s), _mm512_set1_epi64(1));
        return _mm512_srav_epi64(_mm512_add_epi64(_mm512_add_epi64(t, r->hm1), odd), r->s);
    }
    case T2C_ROUND_HALF_UP: return _mm512_srav_epi64(_mm512_add_epi64(t, r->h), r->s);
    case T2C_ROUND_HALF_AWAY:
        return _mm512_srav_epi64(_mm512_add_epi64(_mm512_add_epi64(t, r->h), _mm512_srai_epi64(t, 63)), r->s);
    default: return _mm512_srav_epi64(t, r->s); /* FLOOR */
    }
}

/* The requantize recipe for one channel: clamp(clamp(scale_round(v), -2^62, 2^62) + zp, lo, hi),
 * computed as clamp(scale_round(v), lo - zp, hi - zp) + zp — the same integers, since lo - zp and
 * hi - zp lie well inside +-2^62 and the clamped value fits int32. */
typedef struct t2c_vreq {
    t2c_vrow r;
    __m512i lo, hi; /* int64 lanes: lo - zp, hi - zp */
    __m512i zp;     /* int32 lanes */
} t2c_vreq;

static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vreq_init(t2c_vreq *q, int64_t m, int64_t s, int64_t b, int64_t zp, int64_t lo, int64_t hi, t2c_rounding mode)
{
    t2c_vrow_init(&q->r, m, s, b, mode);
    q->lo = _mm512_set1_epi64(lo - zp), q->hi = _mm512_set1_epi64(hi - zp), q->zp = _mm512_set1_epi32((int32_t)zp);
}

/* Requantize 16 int32 values; the results as 16 int32 lanes. The even lanes are worked in place
 * (vpmuldq and the rounding use the low 32 bits of each 64-bit lane), the odd ones shifted down;
 * both are clamped in int64 and merged back. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i t2c_vreq_apply16(const t2c_vreq *q, __m512i v)
{
    __m512i e = t2c_vrow_round(&q->r, v);
    __m512i o = t2c_vrow_round(&q->r, _mm512_srli_epi64(v, 32));
    e = _mm512_min_epi64(_mm512_max_epi64(e, q->lo), q->hi);
    o = _mm512_min_epi64(_mm512_max_epi64(o, q->lo), q->hi);
    return _mm512_add_epi32(_mm512_mask_blend_epi32((__mmask16)0xAAAA, e, _mm512_slli_epi64(o, 32)), q->zp);
}

/* Store the lanes of `mask` of 16 int32 values (within the dtype's range) at element idx of dst,
 * esize bytes each; idx may be a little below 0 when the low lanes are masked off. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_v_store16(void *dst, int64_t idx, __m512i v, __mmask16 mask, int esize)
{
    void *p = (void *)((uintptr_t)dst + (uintptr_t)(idx * esize));
    if (esize == 1) {
        __m128i b = _mm512_cvtepi32_epi8(v);
        __asm__("" : "+x"(b)); /* see t2c_v_store */
        _mm_mask_storeu_epi8(p, mask, b);
    } else if (esize == 2) {
        __m256i w = _mm512_cvtepi32_epi16(v);
        __asm__("" : "+x"(w));
        _mm256_mask_storeu_epi16(p, mask, w);
    } else {
        _mm512_mask_storeu_epi32(p, mask, v);
    }
}

/* Requantize 16 int32 values and store the lanes of `mask` at out[idx..] (esize bytes each). */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vreq_store16(const t2c_vreq *q, __m512i v, void *out, int64_t idx, __mmask16 mask, int esize)
{
    t2c_v_store16(out, idx, t2c_vreq_apply16(q, v), mask, esize);
}

/* The fused epilogue's parameters of row i (t2c_gemm_requant). */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vreq_init_row(t2c_vreq *q, const t2c_gemm_requant *rq, int64_t i)
{
    t2c_vreq_init(q, rq->mult[i], rq->shift[i], rq->offset[i], rq->zero_point, rq->lo, rq->hi,
                  (t2c_rounding)rq->rounding);
}

#endif /* T2C_VSCALE_H */
