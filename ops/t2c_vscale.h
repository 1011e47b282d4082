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

/* AVX-512 F/BW/VL/DQ on this CPU, and T2C_MAX_ISA allows AVX-512 (t2c_simd_max_isa). */
static inline int t2c_avx512_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           t2c_simd_max_isa() >= T2C_SIMD_AVX512VNNI;
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
 *   half_even  u = t + h; (u >> s) & ~1 if u's low s bits are 0, else u >> s
 *              -- r < h: q; r = h: q + 1 made even (of q, q + 1); r > h: q + 1
 *   half_up    (t + h) >> s                 -- +1 when r >= h
 *   half_away  (t + h - [t < 0]) >> s       -- r >= h for t >= 0, r > h for t < 0
 *   floor      t >> s
 * (arithmetic shifts; no intermediate overflows under the condition; t + h is v*m + bh with
 * bh = b + h precomputed). tflite, s = 0 and large offsets take t2c_v_scale_round. */
typedef struct t2c_vrow {
    __m512i m, b, s, bh, lowm; /* bh = b + 2^(s-1) (fast path), lowm = 2^s - 1 */
    t2c_rounding mode;
    int general;
} t2c_vrow;

static inline int t2c_vrow_general(int64_t s, int64_t b, t2c_rounding mode)
{
    const int64_t lim = (int64_t)1 << 61;
    return mode == T2C_ROUND_TFLITE || s == 0 || b >= lim || b <= -lim;
}

/* b + h, wrapping (only used on the fast path, where |b| < 2^61 and it is exact) */
static inline int64_t t2c_vrow_bh(int64_t b, int64_t h) { return (int64_t)((uint64_t)b + (uint64_t)h); }

static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vrow_init(t2c_vrow *r, int64_t m, int64_t s, int64_t b, t2c_rounding mode)
{
    r->m = _mm512_set1_epi64(m), r->b = _mm512_set1_epi64(b), r->s = _mm512_set1_epi64(s);
    const int64_t h = s > 0 ? (int64_t)1 << (s - 1) : 0;
    r->bh = _mm512_set1_epi64(t2c_vrow_bh(b, h)), r->lowm = _mm512_set1_epi64(2 * h - 1);
    r->mode = mode;
    r->general = t2c_vrow_general(s, b, mode);
}

/* scale_round of eight int64 lanes holding int32 values. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i t2c_vrow_round(const t2c_vrow *r, __m512i v)
{
    if (r->general)
        return t2c_v_scale_round(v, r->m, r->b, r->s, r->mode);
    const __m512i vm = _mm512_mul_epi32(v, r->m);
    switch (r->mode) {
    case T2C_ROUND_HALF_EVEN: {
        const __m512i u = _mm512_add_epi64(vm, r->bh), q = _mm512_srav_epi64(u, r->s);
        return _mm512_mask_and_epi64(q, _mm512_testn_epi64_mask(u, r->lowm), q, _mm512_set1_epi64(~(int64_t)1));
    }
    case T2C_ROUND_HALF_UP: return _mm512_srav_epi64(_mm512_add_epi64(vm, r->bh), r->s);
    case T2C_ROUND_HALF_AWAY: {
        const __m512i t = _mm512_add_epi64(vm, r->b);
        return _mm512_srav_epi64(_mm512_add_epi64(_mm512_add_epi64(vm, r->bh), _mm512_srai_epi64(t, 63)), r->s);
    }
    default: return _mm512_srav_epi64(_mm512_add_epi64(vm, r->b), r->s); /* FLOOR */
    }
}

/* The requantize recipe for one channel: clamp(clamp(scale_round(v), -2^62, 2^62) + zp, lo, hi),
 * computed as clamp(scale_round(v), lo - zp, hi - zp) + zp — the same integers, since lo - zp and
 * hi - zp lie well inside +-2^62 and the clamped value fits int32.
 * narrow: the fast rounding (not general) of any int32 v provably fits int32 — |v*m + b| <=
 * 2^31|m| + |b| and the rounded quotient is at most (that >> s) + 1 in magnitude — and lo - zp,
 * hi - zp fit int32; then the lanes are merged to int32 first and clamped there (same integers). */
typedef struct t2c_vreq {
    t2c_vrow r;
    __m512i lo, hi;     /* int64 lanes: lo - zp, hi - zp */
    __m512i lo32, hi32; /* the same as int32 lanes (narrow) */
    __m512i zp;         /* int32 lanes */
    int narrow;
} t2c_vreq;

static inline int t2c_vreq_narrow(int64_t m, int64_t s, int64_t b, int64_t zp, int64_t lo, int64_t hi,
                                  t2c_rounding mode)
{
    if (t2c_vrow_general(s, b, mode) || s < 0 || s > 62)
        return 0;
    const unsigned __int128 t = ((unsigned __int128)(m < 0 ? -(uint64_t)m : (uint64_t)m) << 31) +
                                (b < 0 ? -(uint64_t)b : (uint64_t)b);
    return (t >> s) + 1 < ((unsigned __int128)1 << 31) && lo - zp >= INT32_MIN && lo - zp <= INT32_MAX &&
           hi - zp >= INT32_MIN && hi - zp <= INT32_MAX;
}

/* Per-row constants of the fused epilogue, computed once (t2c_gemm_requant.rows). */
#define T2C_VREQ_ROW 8
static inline void t2c_vreq_row_pack(int64_t *d, int64_t m, int64_t s, int64_t b, int64_t zp, int64_t lo,
                                     int64_t hi, t2c_rounding mode)
{
    const int64_t h = s > 0 ? (int64_t)1 << (s - 1) : 0;
    d[0] = m, d[1] = b, d[2] = s, d[3] = t2c_vrow_bh(b, h), d[4] = 2 * h - 1, d[5] = lo - zp, d[6] = hi - zp;
    d[7] = t2c_vrow_general(s, b, mode) | t2c_vreq_narrow(m, s, b, zp, lo, hi, mode) << 1;
}

static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vreq_init(t2c_vreq *q, int64_t m, int64_t s, int64_t b, int64_t zp, int64_t lo, int64_t hi, t2c_rounding mode)
{
    t2c_vrow_init(&q->r, m, s, b, mode);
    q->lo = _mm512_set1_epi64(lo - zp), q->hi = _mm512_set1_epi64(hi - zp), q->zp = _mm512_set1_epi32((int32_t)zp);
    q->narrow = t2c_vreq_narrow(m, s, b, zp, lo, hi, mode);
    q->lo32 = _mm512_set1_epi32((int32_t)(q->narrow ? lo - zp : 0));
    q->hi32 = _mm512_set1_epi32((int32_t)(q->narrow ? hi - zp : 0));
}

/* Requantize 16 int32 values; the results as 16 int32 lanes. The even lanes are worked in place
 * (vpmuldq and the rounding use the low 32 bits of each 64-bit lane), the odd ones shifted down;
 * both are clamped in int64 (or, narrow, merged and clamped in int32). */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i t2c_vreq_apply16(const t2c_vreq *q, __m512i v)
{
    __m512i e = t2c_vrow_round(&q->r, v);
    __m512i o = t2c_vrow_round(&q->r, _mm512_srli_epi64(v, 32));
    if (q->narrow) {
        const __m512i y = _mm512_mask_blend_epi32((__mmask16)0xAAAA, e, _mm512_slli_epi64(o, 32));
        return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(y, q->lo32), q->hi32), q->zp);
    }
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

/* The fused epilogue's parameters of row i (t2c_gemm_requant): from the precomputed rows when
 * given (broadcast loads), else from mult/shift/offset. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vreq_init_row(t2c_vreq *q, const t2c_gemm_requant *rq, int64_t i)
{
    if (!rq->rows) {
        t2c_vreq_init(q, rq->mult[i], rq->shift[i], rq->offset[i], rq->zero_point, rq->lo, rq->hi,
                      (t2c_rounding)rq->rounding);
        return;
    }
    const int64_t *d = rq->rows + i * T2C_VREQ_ROW;
    q->r.m = _mm512_set1_epi64(d[0]), q->r.b = _mm512_set1_epi64(d[1]), q->r.s = _mm512_set1_epi64(d[2]);
    q->r.bh = _mm512_set1_epi64(d[3]), q->r.lowm = _mm512_set1_epi64(d[4]);
    q->r.mode = (t2c_rounding)rq->rounding;
    q->r.general = (int)(d[7] & 1);
    q->narrow = (int)(d[7] >> 1 & 1);
    q->lo = _mm512_set1_epi64(d[5]), q->hi = _mm512_set1_epi64(d[6]);
    q->lo32 = _mm512_set1_epi32((int32_t)d[5]), q->hi32 = _mm512_set1_epi32((int32_t)d[6]);
    q->zp = _mm512_set1_epi32((int32_t)rq->zero_point);
}

/* Channel-per-column parameters (transposed tiles): per 16 columns, for the 8 even then the 8 odd
 * columns, 8 values each of m, b, s, b + h, 2h - 1 (columns past n: m = 0, b = 0, s = 1, harmless). */
#define T2C_VREQ_COLS 80
static inline void t2c_vreq_cols_pack(int64_t *d, const int64_t *m, const int64_t *s, const int64_t *b, int64_t n)
{
    for (int l = 0; l < 16; l++) {
        int64_t *e = d + (l & 1) * 40 + (l >> 1);
        const int64_t mm = l < n ? m[l] : 0, bb = l < n ? b[l] : 0, ss = l < n ? s[l] : 1;
        const int64_t h = ss > 0 ? (int64_t)1 << (ss - 1) : 0;
        e[0] = mm, e[8] = bb, e[16] = ss, e[24] = t2c_vrow_bh(bb, h), e[32] = 2 * h - 1;
    }
}

/* The even- and odd-column requantizers of column vector j of a transposed tile. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
t2c_vreq_init_cols(t2c_vreq *qe, t2c_vreq *qo, const t2c_gemm_requant *rq, int j)
{
    for (int h = 0; h < 2; h++) {
        t2c_vreq *q = h ? qo : qe;
        const int64_t *d = rq->cols + j * T2C_VREQ_COLS + h * 40;
        q->r.m = _mm512_loadu_si512((const void *)d), q->r.b = _mm512_loadu_si512((const void *)(d + 8));
        q->r.s = _mm512_loadu_si512((const void *)(d + 16)), q->r.bh = _mm512_loadu_si512((const void *)(d + 24));
        q->r.lowm = _mm512_loadu_si512((const void *)(d + 32));
        q->r.mode = (t2c_rounding)rq->rounding;
        q->r.general = rq->cols_general;
        q->narrow = rq->cols_narrow;
        q->lo = _mm512_set1_epi64(rq->lo - rq->zero_point), q->hi = _mm512_set1_epi64(rq->hi - rq->zero_point);
        q->lo32 = _mm512_set1_epi32((int32_t)(rq->cols_narrow ? rq->lo - rq->zero_point : 0));
        q->hi32 = _mm512_set1_epi32((int32_t)(rq->cols_narrow ? rq->hi - rq->zero_point : 0));
        q->zp = _mm512_set1_epi32((int32_t)rq->zero_point);
    }
}

/* t2c_vreq_apply16 with separate parameters for the even (qe) and odd (qo) lanes. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i
t2c_vreq_apply16_2(const t2c_vreq *qe, const t2c_vreq *qo, __m512i v)
{
    __m512i e = t2c_vrow_round(&qe->r, v);
    __m512i o = t2c_vrow_round(&qo->r, _mm512_srli_epi64(v, 32));
    if (qe->narrow) {
        const __m512i y = _mm512_mask_blend_epi32((__mmask16)0xAAAA, e, _mm512_slli_epi64(o, 32));
        return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(y, qe->lo32), qe->hi32), qe->zp);
    }
    e = _mm512_min_epi64(_mm512_max_epi64(e, qe->lo), qe->hi);
    o = _mm512_min_epi64(_mm512_max_epi64(o, qe->lo), qe->hi);
    return _mm512_add_epi32(_mm512_mask_blend_epi32((__mmask16)0xAAAA, e, _mm512_slli_epi64(o, 32)), qe->zp);
}

#endif /* T2C_VSCALE_H */
