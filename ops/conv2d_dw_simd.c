/* conv2d_dw_simd.c — depthwise conv2d (one input channel per group) with AVX-512 VNNI, stride
 * 1 or 2 in both directions.
 *
 * Same algebra as conv2d_simd.c: with x' = x as uint8 (signed inputs shifted by +128, zero point
 * zb) and za = w_zero_point,
 *   y = sum_t (w_t - za)(x'_t - zb) + bias = sum_t w_t x'_t + [bias - zb*sum_t w_t + T*za*zb]
 *       - za*sum_t x'_t,
 * every term exact modulo 2^32 (t2c_gemm.h, t2c_acc_fast_ok). Padded positions hold the zero point.
 *
 * Per output channel, the input plane is copied once into a buffer bordered by the zero point.
 * Outputs are computed on a "virtual" grid whose row pitch is the padded row length Wp (stride
 * 1) — so output q = oh*Wp + ow reads input q + offset(tap) for every tap, one contiguous run
 * for all rows — or 2*q + offset (stride 2, same pitch: 2*(oh*Wp + ow) = (2*oh)*Wp + 2*ow). The
 * columns ow >= Wo of the grid are computed and dropped. 64 grid outputs at a time: four taps
 * are interleaved into vpdpbusd's 4-byte groups by in-lane unpacks, which permutes the outputs
 * inside each 128-bit lane; a 4x4 transpose of 128-bit blocks puts them back. A second pass adds
 * the per-channel terms and stores (or requantizes, fused) the valid columns row by row.
 * Items are (image, output channel); each output is written by exactly one thread.
 */
#include <immintrin.h>
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
    int64_t N, C, Cout, mult, H, W, Ho, Wo, KH, KW, s, dh, dw, top, left;
    int64_t Hp, Wp, Q;        /* padded plane; grid outputs per channel (Ho * Wp) */
    int taps, groups;         /* KH*KW taps in groups of 4 */
    int xor_80, wrap_bits;
    uint8_t pad_byte;
    int32_t za;
    int32_t *w4;              /* per output channel: `groups` words of 4 signed taps */
    int32_t *ones4;           /* per group: 0x01 for real taps (column sums) */
    int32_t *row_add;         /* per output channel */
    int64_t *toff;            /* per tap: offset in the padded plane */
    size_t plane_bytes, grid_bytes, per_thread;
    /* fused requantize */
    t2c_node *rq_node;
    int64_t *rq_params;
    t2c_gemm_requant rq;
} dw_simd;

static int dw_ok(const t2c_node *node, int *wrap_bits)
{
    if (!t2c_simd_supported(T2C_SIMD_AVX512VNNI) || !t2c_avx512_supported())
        return 0;
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    if (w->dims[1] != 1 || p->group != x->dims[1] || p->stride_h != p->stride_w ||
        (p->stride_h != 1 && p->stride_h != 2) || w->dims[2] * w->dims[3] > 64)
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
    free(s->w4), free(s->ones4), free(s->row_add), free(s->toff), free(s->rq_params);
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
    s->N = x->dims[0], s->C = x->dims[1], s->H = x->dims[2], s->W = x->dims[3];
    s->Cout = w->dims[0], s->mult = s->Cout / s->C, s->KH = w->dims[2], s->KW = w->dims[3];
    s->Ho = y->dims[2], s->Wo = y->dims[3], s->s = p->stride_h, s->dh = p->dilation_h, s->dw = p->dilation_w;
    s->top = p->pad_top, s->left = p->pad_left;
    s->Wp = s->W + p->pad_left + p->pad_right;
    s->Hp = s->H + p->pad_top + p->pad_bottom;
    s->Q = s->Ho * s->Wp;
    s->taps = (int)(s->KH * s->KW), s->groups = (s->taps + 3) / 4;
    s->xor_80 = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->pad_byte = (uint8_t)p->x_zero_point;
    s->za = (int32_t)p->w_zero_point;
    const int64_t zb = p->x_zero_point + (s->xor_80 ? 128 : 0);
    s->w4 = calloc((size_t)(s->Cout * s->groups), sizeof(int32_t));
    s->ones4 = calloc((size_t)s->groups, sizeof(int32_t));
    s->row_add = malloc(sizeof(int32_t) * (size_t)s->Cout);
    s->toff = malloc(sizeof(int64_t) * (size_t)s->taps);
    if (!s->w4 || !s->ones4 || !s->row_add || !s->toff) {
        dw_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    }
    const int8_t *wd = w->data;
    const int32_t *bd = bias ? bias->data : NULL;
    for (int64_t co = 0; co < s->Cout; co++) {
        int64_t sum = 0;
        uint8_t *b4 = (uint8_t *)(s->w4 + co * s->groups);
        for (int t = 0; t < s->taps; t++) {
            b4[t] = (uint8_t)wd[co * s->taps + t];
            sum += wd[co * s->taps + t];
        }
        const int64_t v = (bd ? bd[co] : 0) - zb * sum + (int64_t)s->taps * s->za * zb;
        s->row_add[co] = (int32_t)(uint32_t)(uint64_t)v;
    }
    for (int t = 0; t < s->taps; t++) {
        ((uint8_t *)s->ones4)[t] = 1;
        s->toff[t] = (t / s->KW) * s->dh * s->Wp + (t % s->KW) * s->dw;
    }
    /* reads reach s*(Q + 63) + max offset + 63 (whole 64-wide steps, stride-2 loads of 128) */
    const int64_t reach = s->s * (s->Q + 64) + s->toff[s->taps - 1] + 128;
    const int64_t plane = s->Hp * s->Wp > reach ? s->Hp * s->Wp : reach;
    s->plane_bytes = t2c_align64((size_t)plane + 64);
    s->grid_bytes = t2c_align64(sizeof(int32_t) * (size_t)(s->Q + 64));
    s->per_thread = s->plane_bytes + 2 * s->grid_bytes;
    *state = s;
    return T2C_OK;
}

static size_t dw_scratch(const t2c_node *node, const void *state)
{
    const dw_simd *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

/* 64 bytes of tap data for grid outputs q0 .. q0 + 63 (stride 1: contiguous; 2: even bytes) */
static inline __attribute__((always_inline)) TDW __m512i load64(const uint8_t *p, int s)
{
    if (s == 1)
        return _mm512_loadu_si512((const void *)p);
    const __m256i lo = _mm512_cvtepi16_epi8(_mm512_loadu_si512((const void *)p));
    const __m256i hi = _mm512_cvtepi16_epi8(_mm512_loadu_si512((const void *)(p + 64)));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* Grid pass: acc[q] = sum_t w_t x'[s*q + off_t] (and the column sums) for q in [0, Q). */
static inline __attribute__((always_inline)) TDW void dw_grid(const dw_simd *s, const uint8_t *plane,
                                                              const int32_t *w4, int32_t *grid, int32_t *csum,
                                                              const int st)
{
    const __m512i flip = _mm512_set1_epi8(s->xor_80 ? (char)0x80 : 0);
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t q0 = 0; q0 < s->Q; q0 += 64) {
        __m512i a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero, c2 = zero, c3 = zero;
        const uint8_t *base = plane + st * q0;
        for (int g = 0; g < s->groups; g++) {
            __m512i r[4];
            for (int k = 0; k < 4; k++) {
                const int t = 4 * g + k;
                r[k] = t < s->taps ? _mm512_xor_si512(load64(base + s->toff[t], st), flip) : zero;
            }
            /* in each 128-bit lane L: u_k holds outputs 16L + 4k .. 16L + 4k + 3, taps in bytes */
            const __m512i t0 = _mm512_unpacklo_epi8(r[0], r[1]), t1 = _mm512_unpackhi_epi8(r[0], r[1]);
            const __m512i t2 = _mm512_unpacklo_epi8(r[2], r[3]), t3 = _mm512_unpackhi_epi8(r[2], r[3]);
            const __m512i u0 = _mm512_unpacklo_epi16(t0, t2), u1 = _mm512_unpackhi_epi16(t0, t2);
            const __m512i u2 = _mm512_unpacklo_epi16(t1, t3), u3 = _mm512_unpackhi_epi16(t1, t3);
            const __m512i wv = _mm512_set1_epi32(w4[g]);
            a0 = _mm512_dpbusd_epi32(a0, u0, wv), a1 = _mm512_dpbusd_epi32(a1, u1, wv);
            a2 = _mm512_dpbusd_epi32(a2, u2, wv), a3 = _mm512_dpbusd_epi32(a3, u3, wv);
            if (csum) {
                const __m512i ov = _mm512_set1_epi32(s->ones4[g]);
                c0 = _mm512_dpbusd_epi32(c0, u0, ov), c1 = _mm512_dpbusd_epi32(c1, u1, ov);
                c2 = _mm512_dpbusd_epi32(c2, u2, ov), c3 = _mm512_dpbusd_epi32(c3, u3, ov);
            }
        }
        /* 4x4 transpose of 128-bit blocks: output block L of vector k = a_k's lane L ->
         * grid q0 + 16L + 4k; vector v_L = [a0_L, a1_L, a2_L, a3_L] */
#define TRANSPOSE_STORE(A0, A1, A2, A3, DST)                                                           \
    {                                                                                                  \
        const __m512i e0 = _mm512_shuffle_i32x4(A0, A1, 0x44), e1 = _mm512_shuffle_i32x4(A0, A1, 0xEE); \
        const __m512i e2 = _mm512_shuffle_i32x4(A2, A3, 0x44), e3 = _mm512_shuffle_i32x4(A2, A3, 0xEE); \
        _mm512_storeu_si512((void *)(DST), _mm512_shuffle_i32x4(e0, e2, 0x88));                          \
        _mm512_storeu_si512((void *)(DST + 16), _mm512_shuffle_i32x4(e0, e2, 0xDD));                     \
        _mm512_storeu_si512((void *)(DST + 32), _mm512_shuffle_i32x4(e1, e3, 0x88));                     \
        _mm512_storeu_si512((void *)(DST + 48), _mm512_shuffle_i32x4(e1, e3, 0xDD));                     \
    }
        TRANSPOSE_STORE(a0, a1, a2, a3, grid + q0)
        if (csum)
            TRANSPOSE_STORE(c0, c1, c2, c3, csum + q0)
#undef TRANSPOSE_STORE
    }
}

typedef struct dw_job {
    const dw_simd *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *rq_out;
    uint8_t *scratch;
} dw_job;

static TDW void dw_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const dw_job *j = ctx;
    const dw_simd *s = j->s;
    uint8_t *plane = j->scratch + (size_t)thread * s->per_thread;
    int32_t *grid = (int32_t *)(plane + s->plane_bytes);
    int32_t *csum = s->za ? (int32_t *)((uint8_t *)grid + s->grid_bytes) : NULL;
    int64_t padded = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t n = it / s->Cout, co = it % s->Cout, c = co / s->mult, pl = n * s->C + c;
        if (pl != padded) {
            const uint8_t *src = j->x + pl * s->H * s->W;
            memset(plane, s->pad_byte, s->plane_bytes);
            for (int64_t h = 0; h < s->H; h++)
                memcpy(plane + (s->top + h) * s->Wp + s->left, src + h * s->W, (size_t)s->W);
            padded = pl;
        }
        if (s->s == 1)
            dw_grid(s, plane, s->w4 + co * s->groups, grid, csum, 1);
        else
            dw_grid(s, plane, s->w4 + co * s->groups, grid, csum, 2);
        const __m512i radd = _mm512_set1_epi32(s->row_add[co]), za = _mm512_set1_epi32(s->za);
        t2c_vreq rq;
        if (j->rq_out)
            t2c_vreq_init_row(&rq, &s->rq, co);
        else
            t2c_vreq_init(&rq, 0, 0, 0, 0, 0, 0, T2C_ROUND_FLOOR); /* unused; keeps it initialised */
        const int64_t obase = (n * s->Cout + co) * s->Ho * s->Wo;
        for (int64_t oh = 0; oh < s->Ho; oh++)
            for (int64_t ow = 0; ow < s->Wo; ow += 16) {
                const int64_t left = s->Wo - ow;
                const __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                const int64_t q = oh * s->Wp + ow;
                __m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, grid + q), radd);
                if (csum)
                    v = _mm512_sub_epi32(v, _mm512_mullo_epi32(za, _mm512_maskz_loadu_epi32(k, csum + q)));
                if (s->wrap_bits < 32)
                    v = _mm512_srai_epi32(_mm512_slli_epi32(v, (unsigned)(32 - s->wrap_bits)),
                                          (unsigned)(32 - s->wrap_bits));
                if (j->rq_out) {
                    t2c_vreq_store16(&rq, v, j->rq_out, obase + oh * s->Wo + ow, k, s->rq.esize);
                } else {
                    _mm512_mask_storeu_epi32(j->y + obase + oh * s->Wo + ow, k, v);
                }
            }
    }
}

static t2c_status dw_go(t2c_node *node, const dw_simd *s, void *scratch, uint8_t *rq_out)
{
    dw_job j = {s, node->inputs[0]->data, node->outputs[0]->data, rq_out, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->N * s->Cout * s->Q * s->taps), s->N * s->Cout, dw_items, &j);
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
    if (!s->rq_params)
        return 0;
    for (int64_t c = 0; c < s->Cout; c++) {
        s->rq_params[c] = p->multiplier[p->n_multiplier > 1 ? c : 0];
        s->rq_params[s->Cout + c] = p->shift[p->n_shift > 1 ? c : 0];
        s->rq_params[2 * s->Cout + c] = p->offset[p->n_offset > 1 ? c : 0];
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
