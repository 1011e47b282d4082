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
 *
 * Small planes (H*W <= DW_CIL_MAX, one output channel per input channel) with a fused float64
 * requantize on every channel take the channels-in-lanes path (dw_cil_items): items are
 * (image, block of 16 channels), one vector holds one pixel of 16 channels, so the per-channel
 * setup and the wasted grid columns of 7x7 / 14x14 planes are gone. Both paths pack the
 * requantized bytes of four vectors at once where |q| < 2^30 (dw_cil_bytes), and with B = 0
 * round by one fma against 1.5 * 2^52 (dw_cil_q).
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
    uint8_t *rq_dbl;           /* per output channel: the float64 epilogue is exact (dw_fuse_prepare; 2: no clamp) */
    double *rq_mb;             /* per output channel: m * 2^-s, then (b [+ h]) * 2^-s */
    int all_dbl;               /* every channel's rq_dbl (2: and |q| < 2^30): channels in lanes may run */
    int all_b0;                /* every channel's (b [+ h]) * 2^-s is 0 */
    /* channels in lanes (small planes, see dw_cil_items) */
    int cil, taps;
    int64_t nb, Wl, HW, HoWo;  /* blocks of 16 channels, padded plane pitch, plane sizes */
    int32_t *cw;               /* per block and tap: 16 words (w', 0) */
    int32_t *cadd16;           /* per block: 16 cadd, 0 past C */
    int32_t *ipos, *opos;      /* input pixel -> padded position; output pixel -> first tap's */
    int32_t *toff;             /* per tap: position offset */
    size_t cil_x_bytes;        /* the padded int32 plane of 16 channels */
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
    free(s->cw), free(s->cadd16), free(s->ipos), free(s->opos), free(s->toff);
    free(s);
}

/* Channels in lanes for small planes: per (image, 16 channels) the planes are transposed into
 * a padded plane of positions holding the 16 channels in int32 lanes (x in the low word, the
 * high word multiplied by a zero weight word, so sign- or zero-extension alike), and each output
 * pixel of 16 channels is one chain of vpdpwssd over the taps: no per-channel setup, no wasted
 * grid columns. Same accumulator (cadd + sum w'x modulo 2^32) as the grid path. */
#define DW_CIL_MAX 256 /* input pixels per plane */

static t2c_status dw_cil_prepare(dw_simd *s, const t2c_conv2d_params *p, const int8_t *wd, int64_t Hp)
{
    const int64_t taps = s->KH * s->KW, za = p->w_zero_point;
    s->taps = (int)taps;
    s->nb = (s->C + 15) / 16;
    s->Wl = s->W + p->pad_left + p->pad_right;
    s->HW = s->H * s->W, s->HoWo = s->Ho * s->Wo;
    const int64_t no = s->HoWo + 4; /* dw_cil_block reads up to 3 past the plane */
    s->cw = calloc((size_t)(s->nb * taps * 16), sizeof(int32_t));
    s->cadd16 = calloc((size_t)(s->nb * 16), sizeof(int32_t));
    s->ipos = malloc(sizeof(int32_t) * (size_t)s->HW);
    s->opos = calloc((size_t)no, sizeof(int32_t));
    s->toff = malloc(sizeof(int32_t) * (size_t)taps);
    if (!s->cw || !s->cadd16 || !s->ipos || !s->opos || !s->toff)
        return T2C_ERR_NOMEM;
    for (int64_t c = 0; c < s->C; c++) {
        for (int64_t t = 0; t < taps; t++)
            s->cw[((c / 16) * taps + t) * 16 + c % 16] = (int32_t)(uint16_t)(int16_t)(wd[c * taps + t] - za);
        s->cadd16[c] = s->cadd[c];
    }
    for (int64_t i = 0; i < s->HW; i++)
        s->ipos[i] = (int32_t)((i / s->W + s->top) * s->Wl + i % s->W + s->left);
    for (int64_t o = 0; o < s->HoWo; o++)
        s->opos[o] = (int32_t)(o / s->Wo * s->sh * s->Wl + o % s->Wo * s->sw);
    for (int64_t kh = 0; kh < s->KH; kh++)
        for (int64_t kw = 0; kw < s->KW; kw++)
            s->toff[kh * s->KW + kw] = (int32_t)(kh * p->dilation_h * s->Wl + kw * p->dilation_w);
    s->cil_x_bytes = t2c_align64((size_t)(Hp * s->Wl) * 64);
    const size_t need = s->cil_x_bytes + 64 * 16; /* + the byte tile of 64 output pixels */
    s->per_thread = s->per_thread > need ? s->per_thread : need;
    s->cil = 1;
    return T2C_OK;
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
    if (s->mult == 1 && s->H * s->W <= DW_CIL_MAX && dw_cil_prepare(s, p, wd, Hp) != T2C_OK) {
        dw_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    }
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

/* 16 accumulators -> 16 output bytes; lanes 0-7 scaled by M0, B0, lanes 8-15 by M1, B1 */
static inline __attribute__((always_inline)) TDW __m128i dw_f64_16v(const dw_f64 *f, __m512i a, __m512d M0,
                                                                    __m512d B0, __m512d M1, __m512d B1,
                                                                    const int MODE)
{
    if (f->wrap)
        a = _mm512_sra_epi32(_mm512_sll_epi32(a, f->wsh), f->wsh);
    const __m512d q0 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(a)), M0, B0);
    const __m512d q1 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1)), M1, B1);
    const __m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(dw_f64_round8(f, q0, MODE)), dw_f64_round8(f, q1, MODE), 1);
    __m128i b = _mm512_cvtepi32_epi8(_mm512_add_epi32(r, f->zp));
    __asm__("" : "+x"(b)); /* see t2c_v_store */
    return b;
}

static inline __attribute__((always_inline)) TDW __m128i dw_f64_16(const dw_f64 *f, __m512i a, const int MODE)
{
    return dw_f64_16v(f, a, f->M, f->B, f->M, f->B, MODE);
}

/* The rounded requantize of 16 accumulators without the zero point (int32 lanes); lanes 0-7
 * scaled by M0, B0, lanes 8-15 by M1, B1. CLAMP: clamp q in float64 first (where |q| may reach
 * 2^30; the clamped result needs no further clamp but takes it unchanged). */
static inline __attribute__((always_inline)) TDW __m512i dw_cil_q(const dw_f64 *f, __m512i a, __m512d M0, __m512d B0,
                                                                  __m512d M1, __m512d B1, const int MODE,
                                                                  const int CLAMP, const int ZB)
{
    if (CLAMP && f->wrap) /* wrapped accumulators take the CLAMP path */
        a = _mm512_sra_epi32(_mm512_sll_epi32(a, f->wsh), f->wsh);
    if (ZB) {
        /* B = 0, |q| < 2^30, half_even or floor: one fma rounds C + a*M (C = 1.5 * 2^52, even) to
         * the integer C + round(q) in the mode; its low 32 bits are round(q). */
        const __m512d C = _mm512_set1_pd(6755399441055744.0);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512d d0 = _mm512_cvtepi32_pd(_mm512_castsi512_si256(a));
        const __m512d d1 = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1));
        __m512d q0, q1;
        if (MODE == T2C_ROUND_HALF_EVEN) {
            q0 = _mm512_fmadd_round_pd(d0, M0, C, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            q1 = _mm512_fmadd_round_pd(d1, M1, C, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        } else {
            q0 = _mm512_fmadd_round_pd(d0, M0, C, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
            q1 = _mm512_fmadd_round_pd(d1, M1, C, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        }
        return _mm512_permutex2var_epi32(_mm512_castpd_si512(q0), even, _mm512_castpd_si512(q1));
    }
    __m512d q0 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(a)), M0, B0);
    __m512d q1 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1)), M1, B1);
    __m256i r0, r1;
    if (CLAMP) {
        r0 = dw_f64_round8(f, q0, MODE), r1 = dw_f64_round8(f, q1, MODE);
    } else if (MODE == T2C_ROUND_HALF_EVEN) {
        r0 = _mm512_cvt_roundpd_epi32(q0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r1 = _mm512_cvt_roundpd_epi32(q1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else if (MODE == T2C_ROUND_HALF_AWAY) {
        const __m512i h0 = _mm512_ternarylogic_epi64(_mm512_castpd_si512(f->half), _mm512_castpd_si512(q0), f->sign, 0xD8);
        const __m512i h1 = _mm512_ternarylogic_epi64(_mm512_castpd_si512(f->half), _mm512_castpd_si512(q1), f->sign, 0xD8);
        r0 = _mm512_cvt_roundpd_epi32(_mm512_add_pd(q0, _mm512_castsi512_pd(h0)), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        r1 = _mm512_cvt_roundpd_epi32(_mm512_add_pd(q1, _mm512_castsi512_pd(h1)), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    } else {
        r0 = _mm512_cvt_roundpd_epi32(q0, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        r1 = _mm512_cvt_roundpd_epi32(q1, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    }
    return _mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1);
}

/* Four rounded vectors (pixels p = 0..3) -> output bytes, 128-bit lane L holding pixel p's
 * channels 4L..4L+3 at bytes 4p... Saturating packs then the clamp to [lo, hi] equal the clamp
 * alone: [lo, hi] lies inside int16 and inside the byte range the last pack saturates to (uint8
 * when lo >= 0, else int8), and r + zp saturated to int16 stays beyond [lo, hi] when r is
 * (|r| < 2^30, |zp| <= 255). */
static inline __attribute__((always_inline)) TDW __m512i dw_cil_bytes(__m512i r0, __m512i r1, __m512i r2, __m512i r3,
                                                                      __m512i zp16, __m512i lo8, __m512i hi8,
                                                                      const int OSGN)
{
    const __m512i ab = _mm512_adds_epi16(_mm512_packs_epi32(r0, r1), zp16);
    const __m512i cd = _mm512_adds_epi16(_mm512_packs_epi32(r2, r3), zp16);
    if (OSGN)
        return _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(ab, cd), lo8), hi8);
    return _mm512_min_epu8(_mm512_max_epu8(_mm512_packus_epi16(ab, cd), lo8), hi8);
}

/* Grid pass: grid[q] = cadd + sum_pairs w'.x for q in [0, Qr). sw = 1: 32 outputs per unit
 * (even and odd outputs in two vectors, merged by a permute); sw = 2: 16. 64 outputs per step,
 * and with NP > 0 (the pair count as a constant, weights in registers) the pairs split over two
 * accumulators each, so that eight independent vpdpwssd chains are in flight. */
static inline __attribute__((always_inline)) TDW void dw_grid(const dw_simd *s, const int16_t *x,
                                                              const int32_t *wp, int32_t cadd, int32_t *grid,
                                                              const dw_f64 *f, const int NP, const int SW,
                                                              const int EPI, const int PK)
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
    /* PK (1 unsigned, 2 signed bytes, 3 and 4 the same with B = 0; |q| < 2^30, no wrap): four
     * vectors packed by dw_cil_bytes */
    const __m512i unpk = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i zp16 = _mm512_set1_epi16((int16_t)s->rq.zero_point);
    const __m512i lo8 = _mm512_set1_epi8((char)s->rq.lo), hi8 = _mm512_set1_epi8((char)s->rq.hi);
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
            const __m512i v0 = _mm512_permutex2var_epi32(a0, ilo, a1), v1 = _mm512_permutex2var_epi32(a0, ihi, a1);
            const __m512i v2 = _mm512_permutex2var_epi32(a2, ilo, a3), v3 = _mm512_permutex2var_epi32(a2, ihi, a3);
            if (EPI > 0 && PK) {
                /* dw_cil_bytes' layout: dword 4L + v holds vector v's outputs 4L..4L+3 */
                const __m512i by = dw_cil_bytes(dw_cil_q(f, v0, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2),
                                                dw_cil_q(f, v1, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2),
                                                dw_cil_q(f, v2, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2),
                                                dw_cil_q(f, v3, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2), zp16, lo8, hi8,
                                                PK % 2 == 0);
                _mm512_storeu_si512((void *)(bytes + q0), _mm512_permutexvar_epi32(unpk, by));
                continue;
            }
            DW_OUT(q0, v0);
            DW_OUT(q0 + 16, v1);
            DW_OUT(q0 + 32, v2);
            DW_OUT(q0 + 48, v3);
        } else if (EPI > 0 && PK) {
            const __m512i by = dw_cil_bytes(dw_cil_q(f, a0, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2),
                                            dw_cil_q(f, a1, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2),
                                            dw_cil_q(f, a2, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2),
                                            dw_cil_q(f, a3, f->M, f->B, f->M, f->B, EPI - 1, 0, PK > 2), zp16, lo8, hi8, PK % 2 == 0);
            _mm512_storeu_si512((void *)(bytes + q0), _mm512_permutexvar_epi32(unpk, by));
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
                                                                  int32_t *grid, const dw_f64 *f, const int EPI,
                                                                  const int PK)
{
    const int32_t *wp = s->wp + co * s->npairs;
    if (s->sw == 1 && s->npairs == 6)
        dw_grid(s, x, wp, s->cadd[co], grid, f, 6, 1, EPI, PK);
    else if (s->sw == 1)
        dw_grid(s, x, wp, s->cadd[co], grid, f, 0, 1, EPI, PK);
    else if (s->npairs == 6)
        dw_grid(s, x, wp, s->cadd[co], grid, f, 6, 2, EPI, PK);
    else
        dw_grid(s, x, wp, s->cadd[co], grid, f, 0, 2, EPI, PK);
}

/* the fused float64 grid with the mode and packing as constants */
static inline __attribute__((always_inline)) TDW void dw_grid_f64(const dw_simd *s, const int16_t *x, int64_t co,
                                                                  int32_t *grid, const dw_f64 *f, const int MODE)
{
    const int zb = MODE != T2C_ROUND_HALF_AWAY && s->rq_mb[s->Cout + co] == 0.0;
    const int pk = s->rq_dbl[co] == 2 && !f->wrap ? (s->rq.lo < 0 ? 2 : 1) + 2 * zb : 0;
    if (pk == 1)
        dw_grid_any(s, x, co, grid, f, 1 + MODE, 1);
    else if (pk == 2)
        dw_grid_any(s, x, co, grid, f, 1 + MODE, 2);
    else if (pk == 3 && MODE != T2C_ROUND_HALF_AWAY)
        dw_grid_any(s, x, co, grid, f, 1 + MODE, 3);
    else if (pk == 4 && MODE != T2C_ROUND_HALF_AWAY)
        dw_grid_any(s, x, co, grid, f, 1 + MODE, 4);
    else
        dw_grid_any(s, x, co, grid, f, 1 + MODE, 0);
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
                dw_grid_f64(s, plane, co, grid, &f, T2C_ROUND_HALF_EVEN);
            else if (mode == T2C_ROUND_HALF_AWAY)
                dw_grid_f64(s, plane, co, grid, &f, T2C_ROUND_HALF_AWAY);
            else /* floor; half_up as floor of q + 1/2 */
                dw_grid_f64(s, plane, co, grid, &f, T2C_ROUND_FLOOR);
            dw_copy_rows(s, (const uint8_t *)grid, j->rq_out + obase);
            continue;
        }
        dw_grid_any(s, plane, co, grid, NULL, 0, 0);
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

/* 16x16 byte transposes, one in each 128-bit lane: row r = register r, column = byte. Each round
 * rotates the 8 bits (row, column) of an element's index left by one; four rounds swap them. */
static inline __attribute__((always_inline)) TDW void dw_transpose16(__m512i r[16])
{
    for (int round = 0; round < 4; round++) {
        __m512i t[16];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm512_unpacklo_epi8(r[i], r[i + 8]);
            t[2 * i + 1] = _mm512_unpackhi_epi8(r[i], r[i + 8]);
        }
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            r[i] = t[i];
    }
}

/* Input pixels [i0, i0 + 64) of 16 channels (nc present) into the int32 lanes of the padded plane. */
static inline __attribute__((always_inline)) TDW void dw_cil_in(const dw_simd *s, const uint8_t *src, int64_t nc,
                                                                int64_t i0, int32_t *xl, const int SGN)
{
    const int64_t cnt = s->HW - i0 < 64 ? s->HW - i0 : 64;
    const __mmask64 k = cnt == 64 ? ~(__mmask64)0 : ((__mmask64)1 << cnt) - 1;
    __m512i r[16];
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++)
        r[c] = c < nc ? _mm512_maskz_loadu_epi8(k, src + c * s->HW + i0) : _mm512_setzero_si512();
    dw_transpose16(r); /* r[j], lane t: pixel i0 + 16t + j */
    const int32_t *ipos = s->ipos + i0;
#define DW_CIL_LANE(t)                                                                                 \
    for (int j = 0; j < 16 && 16 * (t) + j < cnt; j++) {                                               \
        const __m128i b = _mm512_extracti32x4_epi32(r[j], t);                                          \
        _mm512_storeu_si512((void *)(xl + 16 * (int64_t)ipos[16 * (t) + j]),                           \
                            SGN ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b));                  \
    }
    DW_CIL_LANE(0)
    DW_CIL_LANE(1)
    DW_CIL_LANE(2)
    DW_CIL_LANE(3)
#undef DW_CIL_LANE
}

/* The byte tile of a chunk of cnt output pixels starting at o0 (register g = tile row g: pixels
 * o0 + g + G p, G = ceil(cnt / 4), in dw_cil_bytes' layout) to the planes of the nc channels.
 * After the in-lane transpose, register 4p + i, lane L holds channel 4L + i's pixels
 * o0 + G p + g at byte g. Whole 16-byte stores where they stay inside the channel's plane: what
 * they write past G bytes is rewritten by the later stores (masked stores are slow). */
static inline __attribute__((always_inline)) TDW void dw_cil_out(const dw_simd *s, const uint8_t *tile,
                                                                 uint8_t *dst, int64_t nc, int64_t o0)
{
    const int64_t cnt = s->HoWo - o0 < 64 ? s->HoWo - o0 : 64, G = (cnt + 3) / 4;
    __m512i r[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++)
        r[j] = _mm512_loadu_si512((const void *)(tile + 64 * j));
    dw_transpose16(r);
#define DW_CIL_STORE(L)                                                                                \
    for (int i = 0; i < 4; i++) {                                                                      \
        if (4 * (L) + i >= nc)                                                                         \
            break;                                                                                     \
        uint8_t *d = dst + (4 * (L) + i) * s->HoWo + o0;                                               \
        for (int p = 0; p < 4 && G * p < cnt; p++) {                                                   \
            const __m128i v = _mm512_extracti32x4_epi32(r[4 * p + i], L);                              \
            if (o0 + G * p + 16 <= s->HoWo)                                                            \
                _mm_storeu_si128((__m128i *)(d + G * p), v);                                           \
            else                                                                                       \
                _mm_mask_storeu_epi8(d + G * p, (__mmask16)((1u << (cnt - G * p)) - 1), v);            \
        }                                                                                              \
    }
    DW_CIL_STORE(0)
    DW_CIL_STORE(1)
    DW_CIL_STORE(2)
    DW_CIL_STORE(3)
#undef DW_CIL_STORE
}

/* One (image, block of 16 channels) with the fused float64 requantize (every channel exact);
 * TAPS > 0: the tap count as a constant. Chunks of up to 64 output pixels, four at a time
 * (pixels o0 + g + G p, p = 0..3), the pixels past the plane computed on position 0 and dropped. */
static inline __attribute__((always_inline)) TDW void dw_cil_block(const dw_simd *s, const int32_t *xl, int64_t b,
                                                                   uint8_t *tile, uint8_t *dst, int64_t nc,
                                                                   const int TAPS, const int MODE, const int CLAMP,
                                                                   const int OSGN, const int ZB)
{
    const int taps = TAPS > 0 ? TAPS : s->taps;
    const int32_t *cw = s->cw + b * taps * 16;
    __m512i wv[9];
    int64_t d[9];
    if (TAPS > 0) {
#pragma GCC unroll 9
        for (int t = 0; t < TAPS; t++)
            wv[t] = _mm512_loadu_si512((const void *)(cw + 16 * t)), d[t] = 16 * (int64_t)s->toff[t];
    }
    const int64_t c0 = b * 16;
    const __mmask8 k0 = (__mmask8)(nc >= 8 ? 0xFF : (1u << nc) - 1);
    const __mmask8 k1 = (__mmask8)(nc >= 16 ? 0xFF : nc <= 8 ? 0 : (1u << (nc - 8)) - 1);
    const __m512d M0 = _mm512_maskz_loadu_pd(k0, s->rq_mb + c0), M1 = _mm512_maskz_loadu_pd(k1, s->rq_mb + c0 + 8);
    const __m512d B0 = _mm512_maskz_loadu_pd(k0, s->rq_mb + s->Cout + c0);
    const __m512d B1 = _mm512_maskz_loadu_pd(k1, s->rq_mb + s->Cout + c0 + 8);
    dw_f64 f;
    dw_f64_init(&f, s, 0);
    const __m512i zp16 = _mm512_set1_epi16((int16_t)s->rq.zero_point);
    const __m512i lo8 = _mm512_set1_epi8((char)s->rq.lo), hi8 = _mm512_set1_epi8((char)s->rq.hi);
    const __m512i c = _mm512_loadu_si512((const void *)(s->cadd16 + c0));
    for (int64_t o0 = 0; o0 < s->HoWo; o0 += 64) {
        const int64_t cnt = s->HoWo - o0 < 64 ? s->HoWo - o0 : 64, G = (cnt + 3) / 4;
        const int32_t *op = s->opos + o0;
        for (int64_t g = 0; g < G; g++) {
            const int32_t *x0 = xl + 16 * (int64_t)op[g], *x1 = xl + 16 * (int64_t)op[g + G];
            const int32_t *x2 = xl + 16 * (int64_t)op[g + 2 * G], *x3 = xl + 16 * (int64_t)op[g + 3 * G];
            __m512i a0 = c, a1 = c, a2 = c, a3 = c;
#pragma GCC unroll 9
            for (int t = 0; t < taps; t++) {
                const __m512i w = TAPS > 0 ? wv[t] : _mm512_loadu_si512((const void *)(cw + 16 * t));
                const int64_t e = TAPS > 0 ? d[t] : 16 * (int64_t)s->toff[t];
                a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)(x0 + e)), w);
                a1 = _mm512_dpwssd_epi32(a1, _mm512_loadu_si512((const void *)(x1 + e)), w);
                a2 = _mm512_dpwssd_epi32(a2, _mm512_loadu_si512((const void *)(x2 + e)), w);
                a3 = _mm512_dpwssd_epi32(a3, _mm512_loadu_si512((const void *)(x3 + e)), w);
            }
            const __m512i bytes = dw_cil_bytes(dw_cil_q(&f, a0, M0, B0, M1, B1, MODE, CLAMP, ZB),
                                               dw_cil_q(&f, a1, M0, B0, M1, B1, MODE, CLAMP, ZB),
                                               dw_cil_q(&f, a2, M0, B0, M1, B1, MODE, CLAMP, ZB),
                                               dw_cil_q(&f, a3, M0, B0, M1, B1, MODE, CLAMP, ZB), zp16, lo8, hi8, OSGN);
            _mm512_storeu_si512((void *)(tile + 64 * g), bytes);
        }
        dw_cil_out(s, tile, dst, nc, o0);
    }
}

static TDW void dw_cil_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const dw_job *j = ctx;
    const dw_simd *s = j->s;
    int32_t *xl = (int32_t *)(j->scratch + (size_t)thread * s->per_thread);
    uint8_t *tile = j->scratch + (size_t)thread * s->per_thread + s->cil_x_bytes;
    /* the border: the zero point everywhere once; the blocks overwrite only the interior */
    const __m512i padv = _mm512_set1_epi32(s->pad);
    for (size_t i = 0; i < s->cil_x_bytes / sizeof(int32_t); i += 16)
        _mm512_storeu_si512((void *)(xl + i), padv);
    const int mode = s->rq.rounding;
    for (int64_t it = begin; it < end; it++) {
        const int64_t n = it / s->nb, b = it % s->nb, c0 = b * 16;
        const int64_t nc = s->C - c0 < 16 ? s->C - c0 : 16;
        const uint8_t *src = j->x + (n * s->C + c0) * s->HW;
        for (int64_t i0 = 0; i0 < s->HW; i0 += 64) {
            if (s->x_signed)
                dw_cil_in(s, src, nc, i0, xl, 1);
            else
                dw_cil_in(s, src, nc, i0, xl, 0);
        }
        uint8_t *dst = j->rq_out + (n * s->C + c0) * s->HoWo;
        const int t9 = s->taps == 9, clamp = s->all_dbl < 2 || s->wrap_bits < 32, osgn = s->rq.lo < 0;
        const int zb = s->all_b0;
#define DW_CIL_MODE(M)                                                                                 \
    do {                                                                                               \
        if (t9 && !clamp && !osgn && zb && M != T2C_ROUND_HALF_AWAY)                                   \
            dw_cil_block(s, xl, b, tile, dst, nc, 9, M, 0, 0, 1);                                      \
        else if (t9 && !clamp && zb && M != T2C_ROUND_HALF_AWAY)                                       \
            dw_cil_block(s, xl, b, tile, dst, nc, 9, M, 0, 1, 1);                                      \
        else if (t9 && !clamp && !osgn)                                                                \
            dw_cil_block(s, xl, b, tile, dst, nc, 9, M, 0, 0, 0);                                      \
        else if (t9 && !clamp)                                                                         \
            dw_cil_block(s, xl, b, tile, dst, nc, 9, M, 0, 1, 0);                                      \
        else if (osgn)                                                                                 \
            dw_cil_block(s, xl, b, tile, dst, nc, 0, M, 1, 1, 0);                                      \
        else                                                                                           \
            dw_cil_block(s, xl, b, tile, dst, nc, 0, M, 1, 0, 0);                                      \
    } while (0)
        if (mode == T2C_ROUND_HALF_EVEN)
            DW_CIL_MODE(T2C_ROUND_HALF_EVEN);
        else if (mode == T2C_ROUND_HALF_AWAY)
            DW_CIL_MODE(T2C_ROUND_HALF_AWAY);
        else /* floor; half_up as floor of q + 1/2 */
            DW_CIL_MODE(T2C_ROUND_FLOOR);
#undef DW_CIL_MODE
    }
}

static t2c_status dw_go(t2c_node *node, const dw_simd *s, void *scratch, uint8_t *rq_out)
{
    dw_job j = {s, node->inputs[0]->data, node->outputs[0]->data, rq_out, scratch};
    if (s->cil && rq_out && s->all_dbl) {
        t2c_exec_for(t2c_exec_if(node->exec, s->N * s->nb * 16 * s->HoWo * s->taps), s->N * s->nb, dw_cil_items, &j);
        return T2C_OK;
    }
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

/* Whether the float64 epilogue is exact for one channel's (m, sh, b) (2: and |q| < 2^30, so q
 * rounds to int32 without the clamp); its two constants if so. */
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
    return (t >> sh) + 1 <= (unsigned __int128)1 << 30 ? 2 : 1; /* 2: |q| < 2^30 as well */
}

static int dw_fuse_prepare(t2c_node *node, void *state, t2c_node *rnode)
{
    dw_simd *s = state;
    const t2c_requantize_params *p = rnode->params;
    (void)node;
    if (rnode->inputs[0]->dtype != T2C_INT32)
        return 0;
    if (!t2c_rq_per_nchw_channel(p))
        return 0;
    s->rq_params = malloc(3 * sizeof(int64_t) * (size_t)s->Cout);
    s->rq_general = malloc((size_t)s->Cout);
    s->rq_dbl = calloc((size_t)s->Cout, 1);
    s->rq_mb = malloc(2 * sizeof(double) * (size_t)s->Cout);
    if (!s->rq_params || !s->rq_general || !s->rq_dbl || !s->rq_mb)
        return 0;
    const int esize = (int)t2c_dtype_mem_size(rnode->outputs[0]->dtype);
    int all_dbl = 2, all_b0 = 1;
    for (int64_t c = 0; c < s->Cout; c++) {
        s->rq_params[c] = t2c_rq_multiplier(p, c);
        s->rq_params[s->Cout + c] = t2c_rq_shift(p, c);
        s->rq_params[2 * s->Cout + c] = t2c_rq_offset(p, c);
        s->rq_general[c] = (uint8_t)dw_general(s->rq_params[c], s->rq_params[s->Cout + c],
                                               s->rq_params[2 * s->Cout + c], p->rounding);
        const int e = dw_f64_exact(s, esize, s->rq_params[c], s->rq_params[s->Cout + c],
                                   s->rq_params[2 * s->Cout + c], p, &s->rq_mb[c], &s->rq_mb[s->Cout + c]);
        s->rq_dbl[c] = (uint8_t)e;
        all_dbl = e < all_dbl ? e : all_dbl;
        all_b0 &= e && s->rq_mb[s->Cout + c] == 0.0;
    }
    s->all_b0 = all_b0;
    s->all_dbl = all_dbl;
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
