/* conv2d_dw_simd.c — depthwise conv2d (one input channel per group) with AVX-512 VNNI vpdpwssd,
 * horizontal stride 1 or 2, any vertical stride, dilation and padding.
 *
 * With w' = w - w_zero_point (|w'| <= 255) and x the raw input (sign- or zero-extended),
 *   y = sum_t w'_t (x_t - zb) + bias = sum_t w'_t x_t + [bias - zb * sum_t w'_t],
 * computed in int16 x int16 -> int32 pairs (vpdpwssd: |x w'| <= 255*255, a pair fits int32) and
 * accumulated modulo 2^32, exact under t2c_acc_fast_ok (t2c_gemm.h). Padded positions hold the
 * zero point, so they add w'_t*zb, which the bracket cancels.
 *
 * Per input channel the plane is widened once to int16 in a buffer bordered by the zero point,
 * its rows stored by phase of the vertical stride sh (row r at (r % sh)*Hs + r / sh), pitch Wp
 * (even for sw = 2). Outputs are computed on a "virtual" grid q = oh*G + ow with G = Wp / sw:
 * output q reads plane element sw*q + off(tap), one contiguous run over all rows. Taps of a
 * kernel row at columns c, c+1 (dilation 1) share one int16 pair; an odd tap pairs with weight
 * 0. sw = 2: 16 grid outputs per vpdpwssd, lane i reading the pair at 2(q0+i) + off. sw = 1:
 * even and odd outputs in two vectors (pairs at q0 + 2i + off and q0 + 1 + 2i + off), merged
 * by one permute each. The grid columns ow >= Wo are computed and dropped: a fused requantize to
 * bytes runs on the accumulators in registers (float64 where proved exact, see dw_f64)
 * into a byte grid whose valid columns are copied out row by row; otherwise the int32 grid's
 * valid lanes are compressed out in order (requantized with t2c_vscale.h when fused).
 * Items are (image, output channel); each output is written by exactly one thread.
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "requantize.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"
#include "t2c_vscale.h"

#define TDW __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

typedef struct dw_simd {
    int64_t N, C, Cout, mult, H, W, Ho, Wo, KH, KW, sh, sw, top, left;
    int64_t Hs, Wp, G, Q, Qr;  /* rows per phase, plane pitch, grid pitch, grid size (rounded) */
    int npairs;                /* int16 pairs per output channel */
    int x_signed, wrap_bits;
    int16_t pad;
    int32_t *wp;               /* per output channel: npairs words of two int16 weights */
    int32_t *cadd;             /* per output channel: bias - zb * sum w' */
    int64_t *poff;             /* per pair: offset in the plane (int16 elements) */
    uint16_t *vmask;           /* per 16 grid outputs: the valid ones (q < Q, q % G < Wo) */
    size_t plane_bytes, grid_bytes, per_thread;
    /* fused requantize */
    t2c_node *rq_node;
    int64_t *rq_params;
    t2c_gemm_requant rq;
    uint8_t *rq_general;       /* per output channel: t2c_vrow's general recipe needed */
    int64_t vmax;              /* bound on |accumulator|: t2c_acc_fast_ok's, or 2^(wrap_bits-1) */
    uint8_t *rq_dbl;           /* per output channel: the float64 epilogue is exact (dw_fuse_prepare) */
    double *rq_mb;             /* per output channel: m * 2^-s, then (b [+ h]) * 2^-s */
} dw_simd;

static int dw_ok(const t2c_node *node, int *wrap_bits)
{
    if (!t2c_simd_supported(T2C_SIMD_AVX512VNNI) || !t2c_avx512_supported())
        return 0;
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    if (w->dims[1] != 1 || p->group != x->dims[1] || (p->stride_w != 1 && p->stride_w != 2) ||
        w->dims[2] * w->dims[3] > 64)
        return 0;
    if (!w->is_const || !w->data || (b && (!b->is_const || !b->data)))
        return 0;
    const int64_t max_prod = t2c_max_abs_diff(x->dtype, p->x_zero_point) * t2c_max_abs_diff(w->dtype, p->w_zero_point);
    return t2c_acc_fast_ok(t2c_max_abs_i32(b), w->dims[2] * w->dims[3], max_prod, p->acc_bits, p->overflow,
                           wrap_bits);
}

static int dw_supports(const t2c_node *node)
{
    int wrap;
    return dw_ok(node, &wrap);
}

static void dw_release(void *state)
{
    dw_simd *s = state;
    if (!s)
        return;
    free(s->wp), free(s->cadd), free(s->poff), free(s->vmask), free(s->rq_params), free(s->rq_general);
    free(s->rq_dbl), free(s->rq_mb);
    free(s);
}

static t2c_status dw_prepare(t2c_node *node, void **state, t2c_error *err)
{
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1], *y = node->outputs[0];
    const t2c_tensor *bias = node->n_inputs > 2 ? node->inputs[2] : NULL;
    dw_simd *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    dw_ok(node, &s->wrap_bits);
    s->vmax = s->wrap_bits < 32 ? (int64_t)1 << (s->wrap_bits - 1)
                                : w->dims[2] * w->dims[3] * t2c_max_abs_diff(x->dtype, p->x_zero_point) *
                                          t2c_max_abs_diff(w->dtype, p->w_zero_point) + t2c_max_abs_i32(bias);
    s->N = x->dims[0], s->C = x->dims[1], s->H = x->dims[2], s->W = x->dims[3];
    s->Cout = w->dims[0], s->mult = s->Cout / s->C, s->KH = w->dims[2], s->KW = w->dims[3];
    s->Ho = y->dims[2], s->Wo = y->dims[3], s->sh = p->stride_h, s->sw = p->stride_w;
    s->top = p->pad_top, s->left = p->pad_left;
    const int64_t dh = p->dilation_h, dwl = p->dilation_w;
    const int64_t Hp = s->H + p->pad_top + p->pad_bottom;
    s->Wp = s->W + p->pad_left + p->pad_right;
    s->Wp += s->Wp % s->sw; /* G = Wp / sw exactly; the extra column holds the zero point */
    s->G = s->Wp / s->sw;
    s->Hs = (Hp + s->sh - 1) / s->sh;
    s->Q = s->Ho * s->G;
    const int64_t unit = s->sw == 1 ? 32 : 16; /* grid outputs per step */
    s->Qr = (s->Q + unit - 1) / unit * unit;
    const int pairs_row = dwl == 1 ? (int)((s->KW + 1) / 2) : (int)s->KW;
    s->npairs = (int)s->KH * pairs_row;
    s->x_signed = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->pad = (int16_t)p->x_zero_point;
    const int64_t za = p->w_zero_point, zb = p->x_zero_point;
    s->wp = calloc((size_t)(s->Cout * s->npairs), sizeof(int32_t));
    s->cadd = malloc(sizeof(int32_t) * (size_t)s->Cout);
    s->poff = malloc(sizeof(int64_t) * (size_t)s->npairs);
    s->vmask = calloc((size_t)(s->Qr / 16), sizeof(uint16_t));
    if (!s->wp || !s->cadd || !s->poff || !s->vmask) {
        dw_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    }
    int64_t offmax = 0;
    for (int64_t kh = 0, i = 0; kh < s->KH; kh++)
        for (int k = 0; k < pairs_row; k++, i++) {
            const int64_t d = kh * dh, col = dwl == 1 ? 2 * k : k * dwl;
            s->poff[i] = ((d % s->sh) * s->Hs + d / s->sh) * s->Wp + col;
            offmax = s->poff[i] > offmax ? s->poff[i] : offmax;
        }
    const int8_t *wd = w->data;
    const int32_t *bd = bias ? bias->data : NULL;
    const int64_t taps = s->KH * s->KW;
    for (int64_t co = 0; co < s->Cout; co++) {
        int64_t sum = 0;
        int16_t *w2 = (int16_t *)(s->wp + co * s->npairs);
        for (int64_t kh = 0; kh < s->KH; kh++)
            for (int64_t kw = 0; kw < s->KW; kw++) {
                const int64_t v = wd[co * taps + kh * s->KW + kw] - za;
                const int64_t slot = dwl == 1 ? kh * pairs_row * 2 + kw : (kh * pairs_row + kw) * 2;
                w2[slot] = (int16_t)v;
                sum += v;
            }
        const int64_t v = (bd ? bd[co] : 0) - zb * sum;
        s->cadd[co] = (int32_t)(uint32_t)(uint64_t)v;
    }
    for (int64_t q = 0; q < s->Q; q++)
        if (q % s->G < s->Wo)
            s->vmask[q / 16] |= (uint16_t)(1u << (q % 16));
    /* reads reach sw*Qr + offmax + 1 (pairs; sw = 1 also the odd vector one further) */
    const int64_t reach = s->sw * s->Qr + offmax + 2;
    const int64_t plane = s->sh * s->Hs * s->Wp > reach ? s->sh * s->Hs * s->Wp : reach;
    s->plane_bytes = t2c_align64(sizeof(int16_t) * (size_t)(plane + 32));
    s->grid_bytes = t2c_align64(sizeof(int32_t) * (size_t)(s->Qr + 16));
    s->per_thread = s->plane_bytes + s->grid_bytes;
    *state = s;
    return T2C_OK;
}

static size_t dw_scratch(const t2c_node *node, const void *state)
{
    const dw_simd *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

/* Widen one input plane into the bordered int16 plane (border written by the caller), phase by
 * phase of the vertical stride. */
static inline __attribute__((always_inline)) TDW void dw_widen(const dw_simd *s, const uint8_t *src,
                                                               int16_t *plane, const int sgn)
{
    const int64_t W = s->W, tail = W % 32, full = W - tail;
    const __mmask32 kt = (__mmask32)((1u << tail) - 1);
    for (int64_t ph = 0; ph < s->sh; ph++) {
        int64_t r = ph;
        while (r < s->top)
            r += s->sh;
        int16_t *dst = plane + (ph * s->Hs + r / s->sh) * s->Wp + s->left;
        for (; r < s->top + s->H; r += s->sh, dst += s->Wp) {
            const uint8_t *row = src + (r - s->top) * W;
            int64_t c = 0;
            for (; c < full; c += 32) {
                const __m256i b = _mm256_loadu_si256((const void *)(row + c));
                _mm512_storeu_si512((void *)(dst + c), sgn ? _mm512_cvtepi8_epi16(b) : _mm512_cvtepu8_epi16(b));
            }
            if (tail) {
                const __m256i b = _mm256_maskz_loadu_epi8(kt, row + c);
                _mm512_mask_storeu_epi16(dst + c, kt, sgn ? _mm512_cvtepi8_epi16(b) : _mm512_cvtepu8_epi16(b));
            }
        }
    }
}

/* The fused requantize in float64, for byte outputs, where dw_fuse_prepare proved it exact:
 * |v*m + b + h| < 2^53, so q = v * (m 2^-s) + b 2^-s is exact (one fma, no rounding), and each
 * mode is one rounding of q: half_even to nearest-even, floor toward -inf, half_up floor of
 * q + 1/2 (h folded into b), half_away truncation of q +- 1/2 (exact as well). Clamping q to
 * [lo - zp, hi - zp] (integers inside int32) before rounding gives the same integers as after.
 * Done on the accumulators in registers; the bytes go to a byte grid (dw_copy_rows). */
typedef struct dw_f64 {
    __m512d M, B, L, H, half;
    __m512i zp, sign;
    __m128i wsh;
    int wrap;
} dw_f64;

static inline __attribute__((always_inline)) TDW void dw_f64_init(dw_f64 *f, const dw_simd *s, int64_t co)
{
    f->M = _mm512_set1_pd(s->rq_mb[co]), f->B = _mm512_set1_pd(s->rq_mb[s->Cout + co]);
    f->L = _mm512_set1_pd((double)(s->rq.lo - s->rq.zero_point));
    f->H = _mm512_set1_pd((double)(s->rq.hi - s->rq.zero_point));
    f->zp = _mm512_set1_epi32((int32_t)s->rq.zero_point);
    f->half = _mm512_set1_pd(0.5), f->sign = _mm512_set1_epi64(INT64_MIN);
    f->wrap = s->wrap_bits < 32;
    f->wsh = _mm_cvtsi32_si128(32 - s->wrap_bits);
}

static inline __attribute__((always_inline)) TDW __m256i dw_f64_round8(const dw_f64 *f, __m512d q, const int MODE)
{
    q = _mm512_min_pd(_mm512_max_pd(q, f->L), f->H);
    if (MODE == T2C_ROUND_HALF_EVEN)
        return _mm512_cvt_roundpd_epi32(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    if (MODE == T2C_ROUND_HALF_AWAY) {
        /* q + copysign(1/2, q), truncated */
        const __m512i h = _mm512_ternarylogic_epi64(_mm512_castpd_si512(f->half), _mm512_castpd_si512(q), f->sign, 0xD8);
        return _mm512_cvt_roundpd_epi32(_mm512_add_pd(q, _mm512_castsi512_pd(h)), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    }
    return _mm512_cvt_roundpd_epi32(q, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); /* floor, half_up */
}

/* 16 accumulators -> 16 output bytes */
static inline __attribute__((always_inline)) TDW __m128i dw_f64_16(const dw_f64 *f, __m512i a, const int MODE)
{
    if (f->wrap)
        a = _mm512_sra_epi32(_mm512_sll_epi32(a, f->wsh), f->wsh);
    const __m512d q0 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(a)), f->M, f->B);
    const __m512d q1 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1)), f->M, f->B);
    const __m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(dw_f64_round8(f, q0, MODE)), dw_f64_round8(f, q1, MODE), 1);
    __m128i b = _mm512_cvtepi32_epi8(_mm512_add_epi32(r, f->zp));
    __asm__("" : "+x"(b)); /* see t2c_v_store */
    return b;
}

/* Grid pass: grid[q] = cadd + sum_pairs w'.x for q in [0, Qr). sw = 1: 32 outputs per unit
 * (even and odd outputs in two vectors, merged by a permute); sw = 2: 16. 64 outputs per step,
 * and with NP > 0 (the pair count as a constant, weights in registers) the pairs split over two
 * accumulators each, so that eight independent vpdpwssd chains are in flight. */
static inline __attribute__((always_inline)) TDW void dw_grid(const dw_simd *s, const int16_t *x,
                                                              const int32_t *wp, int32_t cadd, int32_t *grid,
                                                              const dw_f64 *f, const int NP, const int SW,
                                                              const int EPI)
{
    uint8_t *bytes = (uint8_t *)grid; /* EPI > 0: requantized in registers, mode EPI - 1 */
#define DW_OUT(q, v)                                                                                   \
    do {                                                                                               \
        if (EPI > 0)                                                                                   \
            _mm_storeu_si128((__m128i *)(bytes + (q)), dw_f64_16(f, (v), EPI - 1));                     \
        else                                                                                           \
            _mm512_storeu_si512((void *)(grid + (q)), (v));                                            \
    } while (0)
    const int np = NP > 0 ? NP : s->npairs, half = NP > 0 ? NP / 2 : np;
    __m512i wv[8];
    const int16_t *xp[8];
    if (NP > 0) {
#pragma GCC unroll 8
        for (int i = 0; i < NP; i++)
            wv[i] = _mm512_set1_epi32(wp[i]), xp[i] = x + s->poff[i];
    }
    const __m512i c0 = _mm512_set1_epi32(cadd), zero = _mm512_setzero_si512();
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ihi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    /* vector k of a unit: sw = 1: k = 0 even, 1 odd outputs (pairs at +0 / +1); sw = 2: k-th 16 */
    const int64_t d1 = SW == 1 ? 1 : 32, u2 = SW == 1 ? 32 : 64; /* int16 elements */
    const int64_t unit = SW == 1 ? 32 : 16;
    int64_t q0 = 0;
    for (; q0 + 64 <= s->Qr; q0 += 64) { /* four vectors */
        __m512i a0 = c0, a1 = c0, a2 = c0, a3 = c0, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        const int64_t e = SW * q0;
#pragma GCC unroll 8
        for (int i = 0; i < half; i++) {
            const __m512i w = NP > 0 ? wv[i] : _mm512_set1_epi32(wp[i]);
            const int16_t *p = (NP > 0 ? xp[i] : x + s->poff[i]) + e;
            a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)p), w);
            a1 = _mm512_dpwssd_epi32(a1, _mm512_loadu_si512((const void *)(p + d1)), w);
            a2 = _mm512_dpwssd_epi32(a2, _mm512_loadu_si512((const void *)(p + u2)), w);
            a3 = _mm512_dpwssd_epi32(a3, _mm512_loadu_si512((const void *)(p + u2 + d1)), w);
        }
#pragma GCC unroll 8
        for (int i = half; i < np; i++) {
            const __m512i w = NP > 0 ? wv[i] : _mm512_set1_epi32(wp[i]);
            const int16_t *p = (NP > 0 ? xp[i] : x + s->poff[i]) + e;
            b0 = _mm512_dpwssd_epi32(b0, _mm512_loadu_si512((const void *)p), w);
            b1 = _mm512_dpwssd_epi32(b1, _mm512_loadu_si512((const void *)(p + d1)), w);
            b2 = _mm512_dpwssd_epi32(b2, _mm512_loadu_si512((const void *)(p + u2)), w);
            b3 = _mm512_dpwssd_epi32(b3, _mm512_loadu_si512((const void *)(p + u2 + d1)), w);
        }
        a0 = _mm512_add_epi32(a0, b0), a1 = _mm512_add_epi32(a1, b1);
        a2 = _mm512_add_epi32(a2, b2), a3 = _mm512_add_epi32(a3, b3);
        if (SW == 1) {
            DW_OUT(q0, _mm512_permutex2var_epi32(a0, ilo, a1));
            DW_OUT(q0 + 16, _mm512_permutex2var_epi32(a0, ihi, a1));
            DW_OUT(q0 + 32, _mm512_permutex2var_epi32(a2, ilo, a3));
            DW_OUT(q0 + 48, _mm512_permutex2var_epi32(a2, ihi, a3));
        } else {
            DW_OUT(q0, a0);
            DW_OUT(q0 + 16, a1);
            DW_OUT(q0 + 32, a2);
            DW_OUT(q0 + 48, a3);
        }
    }
    for (; q0 < s->Qr; q0 += unit) {
        __m512i a0 = c0, a1 = c0, b0 = zero, b1 = zero;
        const int64_t e = SW * q0;
#pragma GCC unroll 8
        for (int i = 0; i < half; i++) {
            const __m512i w = NP > 0 ? wv[i] : _mm512_set1_epi32(wp[i]);
            const int16_t *p = (NP > 0 ? xp[i] : x + s->poff[i]) + e;
            a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)p), w);
            if (SW == 1)
                a1 = _mm512_dpwssd_epi32(a1, _mm512_loadu_si512((const void *)(p + 1)), w);
        }
#pragma GCC unroll 8
        for (int i = half; i < np; i++) {
            const __m512i w = NP > 0 ? wv[i] : _mm512_set1_epi32(wp[i]);
            const int16_t *p = (NP > 0 ? xp[i] : x + s->poff[i]) + e;
            b0 = _mm512_dpwssd_epi32(b0, _mm512_loadu_si512((const void *)p), w);
            if (SW == 1)
                b1 = _mm512_dpwssd_epi32(b1, _mm512_loadu_si512((const void *)(p + 1)), w);
        }
        a0 = _mm512_add_epi32(a0, b0);
        if (SW == 1) {
            a1 = _mm512_add_epi32(a1, b1);
            DW_OUT(q0, _mm512_permutex2var_epi32(a0, ilo, a1));
            DW_OUT(q0 + 16, _mm512_permutex2var_epi32(a0, ihi, a1));
        } else {
            DW_OUT(q0, a0);
        }
    }
#undef DW_OUT
}

/* dw_grid with the pair count and stride as constants where they are common */
static inline __attribute__((always_inline)) TDW void dw_grid_any(const dw_simd *s, const int16_t *x, int64_t co,
                                                                  int32_t *grid, const dw_f64 *f, const int EPI)
{
    const int32_t *wp = s->wp + co * s->npairs;
    if (s->sw == 1 && s->npairs == 6)
        dw_grid(s, x, wp, s->cadd[co], grid, f, 6, 1, EPI);
    else if (s->sw == 1)
        dw_grid(s, x, wp, s->cadd[co], grid, f, 0, 1, EPI);
    else if (s->npairs == 6)
        dw_grid(s, x, wp, s->cadd[co], grid, f, 6, 2, EPI);
    else
        dw_grid(s, x, wp, s->cadd[co], grid, f, 0, 2, EPI);
}

typedef struct dw_job {
    const dw_simd *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *rq_out;
    uint8_t *scratch;
} dw_job;

/* The valid columns of each grid row of bytes to the output rows. Whole 64-byte stores where
 * they stay inside this channel's output: what they write past a row's end is rewritten by the
 * later rows (masked stores are slow). */
static inline __attribute__((always_inline)) TDW void dw_copy_rows(const dw_simd *s, const uint8_t *tb, uint8_t *out)
{
    const int64_t G = s->G, Wo = s->Wo, Ho = s->Ho, end = Ho * Wo;
    for (int64_t oh = 0; oh < Ho; oh++) {
        const uint8_t *src = tb + oh * G;
        const int64_t o = oh * Wo;
        for (int64_t c = 0; c < Wo; c += 64) {
            if (o + c + 64 <= end) {
                _mm512_storeu_si512((void *)(out + o + c), _mm512_loadu_si512((const void *)(src + c)));
            } else {
                const int64_t n = Wo - c < 64 ? Wo - c : 64;
                const __mmask64 k = n == 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
                _mm512_mask_storeu_epi8(out + o + c, k, _mm512_maskz_loadu_epi8(k, src + c));
            }
        }
    }
}

/* Second pass: the valid grid outputs (q < Q, q % G < Wo: s->vmask per 16) in order, compressed
 * into the output of channel item (n, co), requantized when fused (byte outputs: in place over
 * the grid, then copied by rows). MODE < 0: the run-time mode; GEN: t2c_vrow's general recipe
 * (-1: run-time). */
static inline __attribute__((always_inline)) TDW void dw_store(const dw_simd *s, const dw_job *j,
                                                               int32_t *grid, int64_t co, int64_t obase,
                                                               const int MODE, const int GEN, const int ES)
{
    t2c_vreq rq;
    const int fused = j->rq_out != NULL;
    if (fused) {
        t2c_vreq_init_row(&rq, &s->rq, co);
        if (MODE >= 0)
            rq.r.mode = (t2c_rounding)MODE;
        if (GEN >= 0)
            rq.r.general = GEN;
    }
    const int esize = ES > 0 ? ES : s->rq.esize;
    const int wrap = s->wrap_bits < 32;
    const __m128i wsh = _mm_cvtsi32_si128(32 - s->wrap_bits);
    const int64_t nv = s->Qr / 16;
    if (fused && ES == 1) {
        /* bytes over the grid itself (byte 16v.. is written after int32 16v.. was read) */
        for (int64_t v = 0; v < nv; v++) {
            __m512i a = _mm512_loadu_si512((const void *)(grid + 16 * v));
            if (wrap)
                a = _mm512_sra_epi32(_mm512_sll_epi32(a, wsh), wsh);
            __m128i b = _mm512_cvtepi32_epi8(t2c_vreq_apply16(&rq, a));
            __asm__("" : "+x"(b)); /* see t2c_v_store */
            _mm_storeu_si128((__m128i *)((uint8_t *)grid + 16 * v), b);
        }
        dw_copy_rows(s, (const uint8_t *)grid, j->rq_out + obase);
        return;
    }
    const uint16_t *vmask = s->vmask;
    uint8_t *rq_out = j->rq_out;
    int32_t *y = j->y;
    int64_t pos = obase;
    for (int64_t v = 0; v < nv; v++) {
        const __mmask16 k = vmask[v];
        __m512i a = _mm512_loadu_si512((const void *)(grid + 16 * v));
        if (wrap)
            a = _mm512_sra_epi32(_mm512_sll_epi32(a, wsh), wsh);
        const int cnt = __builtin_popcount(k);
        const __mmask16 st = (__mmask16)((1u << cnt) - 1);
        if (fused) {
            a = _mm512_maskz_compress_epi32(k, t2c_vreq_apply16(&rq, a));
            t2c_v_store16(rq_out, pos, a, st, esize);
        } else {
            _mm512_mask_storeu_epi32(y + pos, st, _mm512_maskz_compress_epi32(k, a));
        }
        pos += cnt;
    }
}

static TDW void dw_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const dw_job *j = ctx;
    const dw_simd *s = j->s;
    int16_t *plane = (int16_t *)(j->scratch + (size_t)thread * s->per_thread);
    int32_t *grid = (int32_t *)(j->scratch + (size_t)thread * s->per_thread + s->plane_bytes);
    /* the border: the zero point everywhere once; the planes overwrite only the interior */
    const __m512i padv = _mm512_set1_epi16(s->pad);
    for (size_t i = 0; i < s->plane_bytes / sizeof(int16_t); i += 32)
        _mm512_storeu_si512((void *)(plane + i), padv);
    int64_t widened = -1;
    int64_t n = begin / s->Cout, co = begin % s->Cout - 1; /* stepped, not divided, per item */
    for (int64_t it = begin; it < end; it++) {
        if (++co == s->Cout)
            co = 0, n++;
        const int64_t c = s->mult == 1 ? co : co / s->mult, pl = n * s->C + c;
        if (pl != widened) {
            if (s->x_signed)
                dw_widen(s, j->x + pl * s->H * s->W, plane, 1);
            else
                dw_widen(s, j->x + pl * s->H * s->W, plane, 0);
            widened = pl;
        }
        const int64_t obase = (n * s->Cout + co) * s->Ho * s->Wo;
        const int mode = j->rq_out ? s->rq.rounding : -1;
        if (j->rq_out && s->rq_dbl[co]) {
            dw_f64 f;
            dw_f64_init(&f, s, co);
            if (mode == T2C_ROUND_HALF_EVEN)
                dw_grid_any(s, plane, co, grid, &f, 1 + T2C_ROUND_HALF_EVEN);
            else if (mode == T2C_ROUND_HALF_AWAY)
                dw_grid_any(s, plane, co, grid, &f, 1 + T2C_ROUND_HALF_AWAY);
            else /* floor; half_up as floor of q + 1/2 */
                dw_grid_any(s, plane, co, grid, &f, 1 + T2C_ROUND_FLOOR);
            dw_copy_rows(s, (const uint8_t *)grid, j->rq_out + obase);
            continue;
        }
        dw_grid_any(s, plane, co, grid, NULL, 0);
        if (!j->rq_out) {
            dw_store(s, j, grid, co, obase, -1, -1, 4);
            continue;
        }
        /* the common epilogues with the mode and output size as constants */
        const int gen = s->rq_general[co];
        if (s->rq.esize == 1 && !gen && mode == T2C_ROUND_HALF_EVEN)
            dw_store(s, j, grid, co, obase, T2C_ROUND_HALF_EVEN, 0, 1);
        else if (s->rq.esize == 1 && !gen && mode == T2C_ROUND_HALF_UP)
            dw_store(s, j, grid, co, obase, T2C_ROUND_HALF_UP, 0, 1);
        else if (s->rq.esize == 1 && !gen && mode == T2C_ROUND_HALF_AWAY)
            dw_store(s, j, grid, co, obase, T2C_ROUND_HALF_AWAY, 0, 1);
        else if (s->rq.esize == 1 && !gen && mode == T2C_ROUND_FLOOR)
            dw_store(s, j, grid, co, obase, T2C_ROUND_FLOOR, 0, 1);
        else
            dw_store(s, j, grid, co, obase, -1, -1, 0);
    }
}

static t2c_status dw_go(t2c_node *node, const dw_simd *s, void *scratch, uint8_t *rq_out)
{
    dw_job j = {s, node->inputs[0]->data, node->outputs[0]->data, rq_out, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->N * s->Cout * s->Q * s->npairs * 2), s->N * s->Cout, dw_items, &j);
    return T2C_OK;
}
static t2c_status dw_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    return dw_go(node, state, scratch, NULL);
}

static t2c_status dw_run_fused(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const dw_simd *s = state;
    return dw_go(node, s, scratch, s->rq_node->outputs[0]->data);
}

/* t2c_vrow's choice of recipe for these parameters */
static TDW int dw_general(int64_t m, int64_t sh, int64_t b, t2c_rounding mode)
{
    t2c_vrow r;
    t2c_vrow_init(&r, m, sh, b, mode);
    return r.general;
}

/* Whether dw_store_f64 is exact for one channel's (m, sh, b); its two constants if so. */
static int dw_f64_exact(const dw_simd *s, int esize, int64_t m, int64_t sh, int64_t b,
                        const t2c_requantize_params *p, double *mm, double *bb)
{
    const int64_t lim = (int64_t)1 << 52;
    if (esize != 1 || p->rounding == T2C_ROUND_TFLITE || sh < 0 || sh > 62)
        return 0;
    const int64_t lo = p->lo - p->zero_point, hi = p->hi - p->zero_point;
    if (lo < INT32_MIN || hi > INT32_MAX || m <= -lim || m >= lim || b <= -lim || b >= lim)
        return 0;
    const int64_t h = sh > 0 ? (int64_t)1 << (sh - 1) : 0;
    const unsigned __int128 t = (unsigned __int128)(uint64_t)(m < 0 ? -m : m) * (uint64_t)s->vmax +
                                (uint64_t)(b < 0 ? -b : b) + (uint64_t)h + 1;
    if (t >= (unsigned __int128)1 << 53)
        return 0;
    const double scale = ldexp(1.0, -(int)sh);
    *mm = (double)m * scale;
    *bb = (double)(p->rounding == T2C_ROUND_HALF_UP ? b + h : b) * scale;
    return 1;
}

static int dw_fuse_prepare(t2c_node *node, void *state, t2c_node *rnode)
{
    dw_simd *s = state;
    const t2c_requantize_params *p = rnode->params;
    (void)node;
    if (rnode->inputs[0]->dtype != T2C_INT32)
        return 0;
    if ((p->n_multiplier > 1 || p->n_shift > 1 || p->n_offset > 1) && p->axis != 1)
        return 0;
    s->rq_params = malloc(3 * sizeof(int64_t) * (size_t)s->Cout);
    s->rq_general = malloc((size_t)s->Cout);
    s->rq_dbl = calloc((size_t)s->Cout, 1);
    s->rq_mb = malloc(2 * sizeof(double) * (size_t)s->Cout);
    if (!s->rq_params || !s->rq_general || !s->rq_dbl || !s->rq_mb)
        return 0;
    const int esize = (int)t2c_dtype_mem_size(rnode->outputs[0]->dtype);
    for (int64_t c = 0; c < s->Cout; c++) {
        s->rq_params[c] = p->multiplier[p->n_multiplier > 1 ? c : 0];
        s->rq_params[s->Cout + c] = p->shift[p->n_shift > 1 ? c : 0];
        s->rq_params[2 * s->Cout + c] = p->offset[p->n_offset > 1 ? c : 0];
        s->rq_general[c] = (uint8_t)dw_general(s->rq_params[c], s->rq_params[s->Cout + c],
                                               s->rq_params[2 * s->Cout + c], p->rounding);
        s->rq_dbl[c] = (uint8_t)dw_f64_exact(s, esize, s->rq_params[c], s->rq_params[s->Cout + c],
                                             s->rq_params[2 * s->Cout + c], p, &s->rq_mb[c], &s->rq_mb[s->Cout + c]);
    }
    s->rq_node = rnode;
    /* row = output channel (parameters only; the items address the output themselves) */
    s->rq = (t2c_gemm_requant){
        .mult = s->rq_params,
        .shift = s->rq_params + s->Cout,
        .offset = s->rq_params + 2 * s->Cout,
        .rounding = (int)p->rounding,
        .zero_point = p->zero_point,
        .lo = p->lo,
        .hi = p->hi,
        .out = NULL,
        .ldo = 0,
        .esize = (int)t2c_dtype_mem_size(rnode->outputs[0]->dtype),
    };
    return 1;
}

const t2c_kernel_variant t2c_conv2d_dw_avx512vnni = {
    .backend = "simd",
    .name = "conv2d.simd-dw-avx512vnni",
    .supports = dw_supports,
    .prepare = dw_prepare,
    .scratch_size = dw_scratch,
    .run = dw_run,
    .release = dw_release,
    .fuse_prepare = dw_fuse_prepare,
    .run_fused = dw_run_fused,
};
