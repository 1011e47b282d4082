/* conv2d_stem_simd.c — conv2d with few input channels (a network's stem: 3 -> 64, 7x7, stride 2)
 * for AVX-512 VNNI + VBMI, without an im2col panel.
 *
 * Output pixels are in the lanes (16 consecutive pixels of one output row = a block), output
 * channels are broadcast weights. For a block, each kernel row r = (ci, kh) reads one input row
 * window of 64 bytes starting at column ow0*sw - left, which holds every tap of the 16 pixels
 * when sw*15 + dw*(KW-1) < 64. The taps (r, kw) are cut into groups of 4 from at most two
 * consecutive rows (r0, r0+1); one vpermt2b of those two windows with the group's fixed index
 * gives the 16 pixels' 4 bytes of the group — the B operand of vpdpbusd — so the
 * rearrangement costs one shuffle per group and block, shared by 8 channels. A tile is 8
 * channels x 3 blocks (24 accumulators; per group 3 shuffles and 8 weight broadcasts feed 24
 * vpdpbusd); the windows (R x 64 bytes per block) and the weights stay in L1, where the GEMM
 * path (conv2d_simd.c) packs a panel through L2 and runs 6-row tiles (66 rows for 64).
 *
 * Exactness: the form of conv2d_simd.c with the weight zero point folded into the weights,
 * W = w - w_zp (taken only when every W fits int8: always for int4 weights, and for int8 ones
 * with w_zp = 0): X' = x as uint8 (signed inputs XOR 0x80), padding = zb (x_zero_point shifted
 * alike),
 *   y = sum_k W X' + [bias - zb * sum_k W]   (mod 2^32)
 * equals the recipe's sum_k (w - w_zp)(x - x_zp) + bias: padded taps give W (zb - zb) = 0.
 * Empty slots of a group have weight 0. Every vpdpbusd term is exact (4 |u8 * s8| <= 130560), the int32 sums
 * wrap modulo 2^32, and t2c_acc_fast_ok proves the true value fits (or the policy wraps:
 * wrap_bits). The requantize that follows may be fused (t2c_vscale.h, per output channel).
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

#define TSTEM __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi")))
#define SMR 8      /* channels per tile */
#define SNB 3      /* pixel blocks per tile */
#define MAX_ROWS 32 /* Cin * KH */

typedef struct stem_simd {
    int64_t N, Cin, H, W, Cout, Ho, Wo, KH, KW, sh, sw, dh, dw, top, left;
    int64_t R, ngroups, ntiles, nbw, nblocks; /* rows, tap groups, channel tiles, blocks per row / all */
    int xor_80, wrap_bits;
    uint8_t fill;      /* the padding byte as loaded (before the XOR) */
    uint8_t *idx;      /* ngroups x 64: vpermt2b index */
    int32_t *r0;       /* ngroups: first row */
    int32_t *wpk;      /* [tile][group][SMR]: 4 weight bytes per channel */
    int32_t *row_add;  /* ntiles * SMR */
    /* requantize fused into the epilogue (fuse_prepare) */
    t2c_node *rq_node;
    int64_t *rq_rows;  /* T2C_VREQ_ROW per channel */
    t2c_gemm_requant rq;
    int rq_fast;       /* the common case: byte output, half_even, every channel narrow and not general, no wrap */
} stem_simd;

static int stem_vbmi(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") && t2c_avx512_supported() &&
           t2c_simd_supported(T2C_SIMD_AVX512VNNI);
}

static int stem_ok(const t2c_node *node, int *wrap_bits)
{
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1], *y = node->outputs[0];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    if (!stem_vbmi() || !w->is_const || !w->data || (b && (!b->is_const || !b->data)))
        return 0;
    if (x->rank != 4 || w->rank != 4 || y->dtype != T2C_INT32 || p->group != 1)
        return 0;
    for (int64_t i = 0, n = p->w_zero_point ? t2c_tensor_numel(w) : 0; i < n; i++) {
        const int64_t v = t2c_tensor_get_int(w, i) - p->w_zero_point;
        if (v < -128 || v > 127)
            return 0; /* w - w_zp must be an int8 operand of vpdpbusd */
    }
    const int64_t Cin = x->dims[1], KH = w->dims[2], KW = w->dims[3];
    if (Cin > 4 || Cin * KH > MAX_ROWS || p->stride_w * 15 + p->dilation_w * (KW - 1) >= 64)
        return 0;
    const int64_t K = Cin * KH * KW;
    const int64_t max_prod = t2c_max_abs_diff(x->dtype, p->x_zero_point) * t2c_max_abs_diff(w->dtype, p->w_zero_point);
    return t2c_acc_fast_ok(t2c_max_abs_i32(b), K, max_prod, p->acc_bits, p->overflow, wrap_bits);
}

static int stem_supports(const t2c_node *node)
{
    int wrap;
    return stem_ok(node, &wrap);
}

static void stem_release(void *state)
{
    stem_simd *s = state;
    if (!s)
        return;
    free(s->idx);
    free(s->r0);
    free(s->wpk);
    free(s->row_add);
    free(s->rq_rows);
    free(s);
}

static t2c_status stem_prepare(t2c_node *node, void **state, t2c_error *err)
{
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1], *y = node->outputs[0];
    const t2c_tensor *bias = node->n_inputs > 2 ? node->inputs[2] : NULL;
    stem_simd *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    stem_ok(node, &s->wrap_bits);
    s->N = x->dims[0], s->Cin = x->dims[1], s->H = x->dims[2], s->W = x->dims[3];
    s->Cout = w->dims[0], s->KH = w->dims[2], s->KW = w->dims[3], s->Ho = y->dims[2], s->Wo = y->dims[3];
    s->sh = p->stride_h, s->sw = p->stride_w, s->dh = p->dilation_h, s->dw = p->dilation_w;
    s->top = p->pad_top, s->left = p->pad_left;
    s->xor_80 = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->fill = (uint8_t)p->x_zero_point;
    const int64_t zb = p->x_zero_point + (s->xor_80 ? 128 : 0);
    s->R = s->Cin * s->KH;
    s->ntiles = (s->Cout + SMR - 1) / SMR;
    s->nbw = (s->Wo + 15) / 16;
    s->nblocks = s->N * s->Ho * s->nbw;

    /* tap groups: taps (r, kw) in order, 4 per group, from rows r0 and r0 + 1 only */
    const int64_t K = s->R * s->KW, maxg = K; /* a group holds at least one tap */
    int32_t *gtap = malloc(sizeof(int32_t) * (size_t)(4 * maxg)); /* tap k or -1 per slot */
    s->idx = aligned_alloc(64, (size_t)(64 * maxg));
    s->r0 = malloc(sizeof(int32_t) * (size_t)maxg);
    s->row_add = calloc((size_t)(s->ntiles * SMR), sizeof(int32_t));
    if (!gtap || !s->idx || !s->r0 || !s->row_add) {
        free(gtap);
        stem_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory packing weights");
    }
    int64_t g = -1, used = 4;
    for (int64_t k = 0; k < K; k++) {
        const int64_t r = k / s->KW;
        if (used == 4 || r > s->r0[g] + 1) {
            g++, used = 0;
            s->r0[g] = (int32_t)r;
            for (int q = 0; q < 4; q++)
                gtap[4 * g + q] = -1;
        }
        gtap[4 * g + used++] = (int32_t)k;
    }
    s->ngroups = g + 1;
    for (g = 0; g < s->ngroups; g++)
        for (int i = 0; i < 16; i++)
            for (int q = 0; q < 4; q++) {
                const int32_t k = gtap[4 * g + q];
                s->idx[64 * g + 4 * i + q] =
                    k < 0 ? 0 : (uint8_t)((k / s->KW - s->r0[g]) * 64 + s->sw * i + s->dw * (k % s->KW));
            }
    s->wpk = calloc((size_t)(s->ntiles * s->ngroups * SMR), sizeof(int32_t));
    if (!s->wpk) {
        free(gtap);
        stem_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory packing weights");
    }
    const int32_t *bd = bias ? bias->data : NULL;
    for (int64_t co = 0; co < s->Cout; co++) {
        const int64_t t = co / SMR, m = co % SMR;
        int64_t wsum = 0;
        for (g = 0; g < s->ngroups; g++) {
            uint8_t b4[4] = {0, 0, 0, 0};
            for (int q = 0; q < 4; q++) {
                const int32_t k = gtap[4 * g + q];
                if (k >= 0) {
                    const int64_t v = t2c_tensor_get_int(w, co * K + k) - p->w_zero_point;
                    b4[q] = (uint8_t)(int8_t)v;
                    wsum += v;
                }
            }
            memcpy(&s->wpk[(t * s->ngroups + g) * SMR + m], b4, 4);
        }
        s->row_add[co] = (int32_t)(uint32_t)(uint64_t)((bd ? bd[co] : 0) - zb * wsum);
    }
    free(gtap);
    *state = s;
    return T2C_OK;
}

typedef struct stem_job {
    const stem_simd *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *rq_out; /* fused: the requantize's output, else NULL */
} stem_job;

/* One block: image n, output row oh, pixels ow0 .. ow0 + cnt - 1. */
typedef struct stem_blk {
    int64_t n, oh, ow0;
    int64_t at;      /* output index of (n, channel 0, oh, ow0) */
    __mmask16 keep;  /* the cnt pixels */
} stem_blk;

static void stem_blk_init(const stem_simd *s, int64_t blk, stem_blk *d)
{
    d->n = blk / (s->Ho * s->nbw), d->oh = blk / s->nbw % s->Ho, d->ow0 = blk % s->nbw * 16;
    const int64_t cnt = s->Wo - d->ow0 < 16 ? s->Wo - d->ow0 : 16;
    d->keep = (__mmask16)((1u << cnt) - 1);
    d->at = d->n * s->Cout * s->Ho * s->Wo + d->oh * s->Wo + d->ow0;
}

/* The R input row windows of a block (uint8, XOR-ed, padding = zb) into win[R + 1][64]. */
static TSTEM void stem_windows(const stem_simd *s, const uint8_t *x, const stem_blk *d, uint8_t *win)
{
    const int64_t c0 = d->ow0 * s->sw - s->left;
    /* columns c0 + j inside [0, W) */
    const int64_t lo = c0 < 0 ? -c0 : 0, hi = s->W - c0 < 64 ? s->W - c0 : 64;
    const __mmask64 in = hi <= lo ? 0
                                  : ((hi == 64 ? ~(__mmask64)0 : (((__mmask64)1 << hi) - 1)) &
                                     ~(((__mmask64)1 << lo) - 1));
    const __m512i fill = _mm512_set1_epi8((char)s->fill), flip = _mm512_set1_epi8(s->xor_80 ? (char)0x80 : 0);
    const uint8_t *plane = x + d->n * s->Cin * s->H * s->W;
    for (int64_t ci = 0; ci < s->Cin; ci++, plane += s->H * s->W)
        for (int64_t kh = 0, ih = d->oh * s->sh - s->top; kh < s->KH; kh++, ih += s->dh, win += 64) {
            __m512i v = fill;
            if (ih >= 0 && ih < s->H)
                v = _mm512_mask_loadu_epi8(fill, in, (const void *)((uintptr_t)(plane + ih * s->W) + (uintptr_t)c0));
            _mm512_store_si512((void *)win, _mm512_xor_si512(v, flip));
        }
}

static inline __attribute__((always_inline)) TSTEM __m512i stem_wrap(__m512i v, int bits)
{
    if (bits >= 32)
        return v;
    const __m128i c = _mm_cvtsi32_si128(32 - bits);
    return _mm512_sra_epi32(_mm512_sll_epi32(v, c), c);
}

/* Channel tile t over blocks d[0..nb) (nb <= SNB; windows win[b]). */
static TSTEM void stem_tile(const stem_simd *s, const stem_job *j, int64_t t, const stem_blk *d, int nb,
                            const uint8_t *const *win)
{
    __m512i acc[SMR][SNB];
#pragma GCC unroll 8
    for (int m = 0; m < SMR; m++) {
        const __m512i ra = _mm512_set1_epi32(s->row_add[t * SMR + m]);
        for (int b = 0; b < SNB; b++)
            acc[m][b] = ra;
    }
    const int32_t *wt = s->wpk + t * s->ngroups * SMR;
    for (int64_t g = 0; g < s->ngroups; g++) {
        const __m512i ix = _mm512_load_si512((const void *)(s->idx + 64 * g));
        const int64_t off = 64 * (int64_t)s->r0[g];
        __m512i px[SNB];
#pragma GCC unroll 4
        for (int b = 0; b < SNB; b++)
            px[b] = _mm512_permutex2var_epi8(_mm512_load_si512((const void *)(win[b] + off)), ix,
                                             _mm512_load_si512((const void *)(win[b] + off + 64)));
#pragma GCC unroll 8
        for (int m = 0; m < SMR; m++) {
            const __m512i wv = _mm512_set1_epi32(wt[g * SMR + m]);
#pragma GCC unroll 4
            for (int b = 0; b < SNB; b++)
                acc[m][b] = _mm512_dpbusd_epi32(acc[m][b], px[b], wv);
        }
    }
    /* constant indices only above, so the accumulators stay in registers */
    _Alignas(64) int32_t res[SMR][SNB][16];
#pragma GCC unroll 8
    for (int m = 0; m < SMR; m++)
#pragma GCC unroll 4
        for (int b = 0; b < SNB; b++)
            _mm512_store_si512((void *)res[m][b], acc[m][b]);
    const int64_t P = s->Ho * s->Wo;
    int64_t at[SNB];
    __mmask16 keep[SNB];
    for (int b = 0; b < SNB; b++)
        at[b] = d[b].at + t * SMR * P, keep[b] = d[b].keep;
    const int mc = s->Cout - t * SMR < SMR ? (int)(s->Cout - t * SMR) : SMR;
    if (j->rq_out && s->rq_fast) {
        for (int m = 0; m < mc; m++) {
            t2c_vreq q;
            t2c_vreq_init_row(&q, &s->rq, t * SMR + m);
            q.r.mode = T2C_ROUND_HALF_EVEN, q.r.general = 0, q.narrow = 1; /* as checked: constants */
            for (int b = 0; b < nb; b++)
                t2c_vreq_store16(&q, _mm512_load_si512((const void *)res[m][b]), j->rq_out, at[b] + m * P, keep[b], 1);
        }
        return;
    }
    for (int m = 0; m < mc; m++) {
        if (j->rq_out) {
            t2c_vreq q;
            t2c_vreq_init_row(&q, &s->rq, t * SMR + m);
            for (int b = 0; b < nb; b++)
                t2c_vreq_store16(&q, stem_wrap(_mm512_load_si512((const void *)res[m][b]), s->wrap_bits), j->rq_out,
                                 at[b] + m * P, keep[b], s->rq.esize);
        } else {
            for (int b = 0; b < nb; b++)
                _mm512_mask_storeu_epi32(j->y + at[b] + m * P, keep[b],
                                         stem_wrap(_mm512_load_si512((const void *)res[m][b]), s->wrap_bits));
        }
    }
}

static TSTEM void stem_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const stem_job *j = ctx;
    const stem_simd *s = j->s;
    _Alignas(64) uint8_t wbuf[SNB][(MAX_ROWS + 1) * 64];
    for (int b = 0; b < SNB; b++)
        memset(wbuf[b] + 64 * s->R, 0, 64); /* read by a last group's second table, never selected */
    const uint8_t *win[SNB];
    for (int64_t it = begin; it < end; it++) {
        stem_blk d[SNB];
        int nb = 0;
        for (int b = 0; b < SNB; b++) {
            const int64_t blk = it * SNB + b;
            if (blk < s->nblocks) {
                stem_blk_init(s, blk, &d[b]);
                stem_windows(s, j->x, &d[b], wbuf[b]);
                nb++;
            } else {
                d[b] = d[0]; /* computed on block 0's windows, not stored */
            }
            win[b] = wbuf[blk < s->nblocks ? b : 0];
        }
        for (int64_t t = 0; t < s->ntiles; t++)
            stem_tile(s, j, t, d, nb, win);
    }
}

static t2c_status stem_go(t2c_node *node, const stem_simd *s, uint8_t *rq_out)
{
    stem_job j = {s, node->inputs[0]->data, node->outputs[0]->data, rq_out};
    const int64_t items = (s->nblocks + SNB - 1) / SNB;
    if (items == 0)
        return T2C_OK;
    t2c_exec_for(t2c_exec_if(node->exec, s->nblocks * 16 * s->Cout * s->R * s->KW), items, stem_items, &j);
    return T2C_OK;
}

static size_t stem_scratch(const t2c_node *node, const void *state)
{
    (void)node, (void)state;
    return 0; /* the row windows live on the stack */
}

static t2c_status stem_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)scratch, (void)err;
    return stem_go(node, state, NULL);
}

static t2c_status stem_run_fused(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)scratch, (void)err;
    const stem_simd *s = state;
    return stem_go(node, s, s->rq_node->outputs[0]->data);
}

/* The requantize epilogue with per-output-channel parameters: single values, or one per
 * channel along axis 1 (NCHW). */
static int stem_fuse_prepare(t2c_node *node, void *state, t2c_node *rnode)
{
    stem_simd *s = state;
    const t2c_requantize_params *p = rnode->params;
    (void)node;
    if (rnode->inputs[0]->dtype != T2C_INT32)
        return 0;
    if (!t2c_rq_per_nchw_channel(p))
        return 0;
    s->rq_rows = malloc(T2C_VREQ_ROW * sizeof(int64_t) * (size_t)s->Cout);
    if (!s->rq_rows)
        return 0;
    for (int64_t c = 0; c < s->Cout; c++)
        t2c_vreq_row_pack(s->rq_rows + T2C_VREQ_ROW * c, t2c_rq_multiplier(p, c),
                          t2c_rq_shift(p, c), t2c_rq_offset(p, c), p->zero_point,
                          p->lo, p->hi, p->rounding);
    s->rq_node = rnode;
    s->rq = (t2c_gemm_requant){
        .rounding = (int)p->rounding,
        .zero_point = p->zero_point,
        .lo = p->lo,
        .hi = p->hi,
        .esize = (int)t2c_dtype_mem_size(rnode->outputs[0]->dtype),
        .rows = s->rq_rows,
    };
    s->rq_fast = s->rq.esize == 1 && p->rounding == T2C_ROUND_HALF_EVEN && s->wrap_bits >= 32;
    for (int64_t c = 0; c < s->Cout; c++)
        s->rq_fast &= (s->rq_rows[T2C_VREQ_ROW * c + 7] & 3) == 2;
    return 1;
}

const t2c_kernel_variant t2c_conv2d_stem_avx512vnni = {
    .backend = "simd",
    .name = "conv2d.simd-stem-avx512vnni",
    .supports = stem_supports,
    .prepare = stem_prepare,
    .scratch_size = stem_scratch,
    .run = stem_run,
    .release = stem_release,
    .fuse_prepare = stem_fuse_prepare,
    .run_fused = stem_run_fused,
};
