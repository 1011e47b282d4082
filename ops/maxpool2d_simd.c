/* maxpool2d_simd.c — 8-bit max pooling, two variants. maxpool2d.simd-avx2 is separable: per output
 * row, the max over the window's valid input rows (vertical), then over the window's columns
 * (horizontal) on a row padded with the dtype's minimum, then every stride-th value. Padding
 * holding the minimum never changes a max that includes at least one input element, which every
 * window has (maxpool2d's prepare rejects windows lying entirely in padding) — so this is the
 * recipe "max over the positions inside the input" exactly. Planes are split across threads.
 * maxpool2d.simd-avx512bw (horizontal stride 1 or 2) is a register-only body instead: masked loads
 * fill the positions outside the input with the minimum (the same argument), the vertical max is
 * taken per 64 input columns, and for stride 2 each 16-bit word holds the even (low byte) and odd
 * (high byte) column, so tap offset o picks the low or high bytes of the load at o & ~1 — no
 * scalar gather. Kernel width 3, stride 2, dilation 1 (ResNet's stem pool) has its own row pass
 * with the load masks made at prepare, 64 outputs per step (pool_row3s2). */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "maxpool2d.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"

#define TAVX2 __attribute__((target("avx2")))
#define TAVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

typedef struct pool_simd {
    int64_t planes, H, W, Ho, Wo, KH, KW, sh, sw, dh, dw, top, left;
    int64_t span;      /* padded row length used by the horizontal pass */
    int is_signed;
    int use512;        /* AVX-512BW body (horizontal stride 1 or 2) */
    size_t per_thread;
    int64_t n3;        /* 3-wide stride-2 rows: steps of 64 outputs, masks[4 n3] (pool_row3s2) */
    uint64_t masks[];
} pool_simd;

static int have_avx512bw(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && t2c_simd_max_isa() >= T2C_SIMD_AVX512VNNI;
}

/* Lanes i of 64 with 0 <= base + i < W (positions inside the input row). */
static inline uint64_t in_mask(int64_t base, int64_t W)
{
    const int64_t lo = base < 0 ? -base : 0, hi = W - base;
    if (lo >= 64 || hi <= lo)
        return 0;
    const uint64_t below = hi >= 64 ? ~0ULL : (1ULL << hi) - 1;
    return below & (~0ULL << lo);
}

static int pool_shape_ok(const t2c_node *node)
{
    const t2c_dtype d = node->inputs[0]->dtype;
    const t2c_maxpool2d_params *p = node->params;
    return p->kernel[0] <= 64 && (d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT4 || d == T2C_UINT4);
}

static int pool_supports_avx2(const t2c_node *node) { return t2c_simd_supported(T2C_SIMD_AVX2) && pool_shape_ok(node); }

static int pool_supports_avx512bw(const t2c_node *node)
{
    const t2c_maxpool2d_params *p = node->params;
    return have_avx512bw() && p->strides[1] <= 2 && pool_shape_ok(node);
}

static t2c_status pool_simd_prepare(t2c_node *node, void **state, t2c_error *err, int use512)
{
    const t2c_maxpool2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *y = node->outputs[0];
    const int64_t Wo = node->outputs[0]->dims[3];
    const int row3 = use512 && p->kernel[1] == 3 && p->strides[1] == 2 && p->dilations[1] == 1;
    const int64_t n3 = row3 ? (Wo + 63) / 64 : 0;
    /* one allocation: a NULL release frees the state with free() */
    pool_simd *s = calloc(1, sizeof *s + sizeof(uint64_t) * 4 * (size_t)n3);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    s->planes = x->dims[0] * x->dims[1], s->H = x->dims[2], s->W = x->dims[3];
    s->Ho = y->dims[2], s->Wo = y->dims[3];
    s->KH = p->kernel[0], s->KW = p->kernel[1], s->sh = p->strides[0], s->sw = p->strides[1];
    s->dh = p->dilations[0], s->dw = p->dilations[1], s->top = p->pads[0], s->left = p->pads[1];
    s->is_signed = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->use512 = use512;
    s->n3 = n3;
    for (int64_t c = 0; c < n3; c++)
        for (int h = 0; h < 4; h++) /* loads at 128 c - left + {0, 2, 64, 66} */
            s->masks[4 * c + h] = in_mask(128 * c - s->left + (h & 1) * 2 + (h >> 1) * 64, s->W);
    const int64_t need = (s->Wo - 1) * s->sw + (s->KW - 1) * s->dw + 1;
    s->span = need > s->left + s->W ? need : s->left + s->W;
    /* row buffer: span + the 32-byte over-read of the horizontal pass; max row: span */
    s->per_thread = t2c_align64((size_t)(s->span + (s->KW - 1) * s->dw + 64)) + t2c_align64((size_t)s->span + 64);
    *state = s;
    return T2C_OK;
}

static size_t pool_simd_scratch(const t2c_node *node, const void *state)
{
    const pool_simd *s = state;
    return s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

typedef struct pool_job {
    const pool_simd *s;
    const uint8_t *x;
    uint8_t *y;
    uint8_t *scratch;
} pool_job;

static inline __attribute__((always_inline)) TAVX2 __m256i vmax8(__m256i a, __m256i b, int is_signed)
{
    return is_signed ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
}

static inline __attribute__((always_inline)) TAVX2 uint8_t smax8(uint8_t a, uint8_t b, int is_signed)
{
    if (is_signed)
        return (int8_t)a > (int8_t)b ? a : b;
    return a > b ? a : b;
}

static inline __attribute__((always_inline)) TAVX2 void pool_body(const pool_job *j, int64_t begin, int64_t end,
                                                                  int thread, const int sg)
{
    const pool_simd *s = j->s;
    uint8_t *row = j->scratch + (size_t)thread * s->per_thread;
    uint8_t *hm = row + t2c_align64((size_t)(s->span + (s->KW - 1) * s->dw + 64));
    const uint8_t vmin = sg ? 0x80 : 0x00;
    const int64_t rowlen = s->span + (s->KW - 1) * s->dw + 64;
    const int64_t hlen = (s->Wo - 1) * s->sw + 1;
    for (int64_t pl = begin; pl < end; pl++) {
        const uint8_t *x = j->x + pl * s->H * s->W;
        uint8_t *y = j->y + pl * s->Ho * s->Wo;
        for (int64_t oh = 0; oh < s->Ho; oh++) {
            memset(row, vmin, (size_t)rowlen);
            const uint8_t *src[64];
            int nsrc = 0;
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = oh * s->sh - s->top + kh * s->dh;
                if (ih >= 0 && ih < s->H)
                    src[nsrc++] = x + ih * s->W; /* KH <= 64 (supports) */
            }
            uint8_t *dst = row + s->left;
            int64_t iw = 0;
            for (; iw + 32 <= s->W; iw += 32) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(src[0] + iw));
                for (int r = 1; r < nsrc; r++)
                    v = vmax8(v, _mm256_loadu_si256((const __m256i *)(src[r] + iw)), sg);
                _mm256_storeu_si256((__m256i *)(dst + iw), v);
            }
            for (; iw < s->W; iw++) {
                uint8_t v = src[0][iw];
                for (int r = 1; r < nsrc; r++)
                    v = smax8(v, src[r][iw], sg);
                dst[iw] = v;
            }
            for (int64_t c = 0; c < hlen; c += 32) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(row + c));
                for (int64_t kw = 1; kw < s->KW; kw++)
                    v = vmax8(v, _mm256_loadu_si256((const __m256i *)(row + c + kw * s->dw)), sg);
                _mm256_storeu_si256((__m256i *)(hm + c), v);
            }
            uint8_t *yo = y + oh * s->Wo;
            if (s->sw == 1)
                memcpy(yo, hm, (size_t)s->Wo);
            else
                for (int64_t ow = 0; ow < s->Wo; ow++)
                    yo[ow] = hm[ow * s->sw];
        }
    }
}

static TAVX2 void pool_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const pool_job *j = ctx;
    if (j->s->is_signed)
        pool_body(j, begin, end, thread, 1);
    else
        pool_body(j, begin, end, thread, 0);
}

/* Max over the valid rows of 64 columns from base; positions outside the row hold vmin.
 * Masked-off lanes are not read (AVX-512 masked loads suppress faults). */
static inline __attribute__((always_inline)) TAVX512 __m512i
vcol512(const uint8_t *const *src, int nsrc, int64_t base, int64_t W, __m512i vmin, const int sg)
{
    const __mmask64 m = (__mmask64)in_mask(base, W);
    __m512i v = _mm512_mask_loadu_epi8(vmin, m, (const void *)((uintptr_t)src[0] + (uintptr_t)base));
    for (int r = 1; r < nsrc; r++) {
        const __m512i u = _mm512_mask_loadu_epi8(vmin, m, (const void *)((uintptr_t)src[r] + (uintptr_t)base));
        v = sg ? _mm512_max_epi8(v, u) : _mm512_max_epu8(v, u);
    }
    return v;
}

/* Kernel 3, stride 2, dilation 1 along the row: output j takes columns 2j - left + {0, 1, 2},
 * the low and high bytes of word j of the load at 2j0 - left and the low byte of word j of the
 * load at 2j0 - left + 2; 64 outputs per step (two halves of 32 words packed back to bytes). */
static inline __attribute__((always_inline)) TAVX512 void pool_row3s2(const pool_simd *s, const uint8_t *const *src,
                                                                      int nsrc, uint8_t *yo, const int sg)
{
    const __m512i vmin = _mm512_set1_epi8(sg ? (char)0x80 : 0), lo8 = _mm512_set1_epi16(0xFF);
    const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    __m512i h[2];
    for (int64_t c = 0; c < s->n3; c++) {
        const int64_t base = 128 * c - s->left;
        for (int k = 0; k < 2; k++) {
            const __mmask64 ma = s->masks[4 * c + 2 * k], mb = s->masks[4 * c + 2 * k + 1];
            const uintptr_t at = (uintptr_t)(base + 64 * k);
            __m512i a = _mm512_mask_loadu_epi8(vmin, ma, (const void *)((uintptr_t)src[0] + at));
            __m512i b = _mm512_mask_loadu_epi8(vmin, mb, (const void *)((uintptr_t)src[0] + at + 2));
            for (int r = 1; r < nsrc; r++) {
                const __m512i ua = _mm512_mask_loadu_epi8(vmin, ma, (const void *)((uintptr_t)src[r] + at));
                const __m512i ub = _mm512_mask_loadu_epi8(vmin, mb, (const void *)((uintptr_t)src[r] + at + 2));
                a = sg ? _mm512_max_epi8(a, ua) : _mm512_max_epu8(a, ua);
                b = sg ? _mm512_max_epi8(b, ub) : _mm512_max_epu8(b, ub);
            }
            const __m512i e0 = sg ? _mm512_srai_epi16(_mm512_slli_epi16(a, 8), 8) : _mm512_and_si512(a, lo8);
            const __m512i o0 = sg ? _mm512_srai_epi16(a, 8) : _mm512_srli_epi16(a, 8);
            const __m512i e1 = sg ? _mm512_srai_epi16(_mm512_slli_epi16(b, 8), 8) : _mm512_and_si512(b, lo8);
            h[k] = _mm512_max_epi16(_mm512_max_epi16(e0, o0), e1);
        }
        /* the int16 values are in the byte type's range: packing does not saturate */
        const __m512i v = _mm512_permutexvar_epi64(order, sg ? _mm512_packs_epi16(h[0], h[1])
                                                              : _mm512_packus_epi16(h[0], h[1]));
        const int64_t n = s->Wo - 64 * c;
        _mm512_mask_storeu_epi8(yo + 64 * c, n >= 64 ? ~0ULL : (1ULL << n) - 1, v);
    }
}

static inline __attribute__((always_inline)) TAVX512 void pool_body512(const pool_job *j, int64_t begin,
                                                                       int64_t end, const int sg)
{
    const pool_simd *s = j->s;
    const __m512i vmin = _mm512_set1_epi8(sg ? (char)0x80 : 0), lo8 = _mm512_set1_epi16(0xFF);
    for (int64_t pl = begin; pl < end; pl++) {
        const uint8_t *x = j->x + pl * s->H * s->W;
        uint8_t *y = j->y + pl * s->Ho * s->Wo;
        for (int64_t oh = 0; oh < s->Ho; oh++) {
            const uint8_t *src[64];
            int nsrc = 0;
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = oh * s->sh - s->top + kh * s->dh;
                if (ih >= 0 && ih < s->H)
                    src[nsrc++] = x + ih * s->W; /* KH <= 64 (supports) */
            }
            uint8_t *yo = y + oh * s->Wo;
            if (s->n3) {
                if (nsrc == 3)
                    pool_row3s2(s, src, 3, yo, sg);
                else
                    pool_row3s2(s, src, nsrc, yo, sg);
                continue;
            }
            if (s->sw == 1) {
                for (int64_t j0 = 0; j0 < s->Wo; j0 += 64) {
                    __m512i acc = vmin;
                    for (int64_t kw = 0; kw < s->KW; kw++) {
                        const __m512i v = vcol512(src, nsrc, j0 - s->left + kw * s->dw, s->W, vmin, sg);
                        acc = sg ? _mm512_max_epi8(acc, v) : _mm512_max_epu8(acc, v);
                    }
                    const int64_t n = s->Wo - j0;
                    _mm512_mask_storeu_epi8(yo + j0, n >= 64 ? ~0ULL : (1ULL << n) - 1, acc);
                }
                continue;
            }
            /* stride 2: output j0 + i takes columns 2(j0 + i) - left + o, o = kw * dw: word i of
             * the load at 2 j0 - left + (o & ~1), low byte if o is even, high byte if odd */
            for (int64_t j0 = 0; j0 < s->Wo; j0 += 32) {
                const int64_t base0 = 2 * j0 - s->left;
                __m512i acc = _mm512_set1_epi16(sg ? -128 : 0), v = vmin;
                int64_t loaded = -1;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const int64_t o = kw * s->dw, ob = o & ~(int64_t)1;
                    if (ob != loaded)
                        v = vcol512(src, nsrc, base0 + ob, s->W, vmin, sg), loaded = ob;
                    __m512i h;
                    if (o & 1)
                        h = sg ? _mm512_srai_epi16(v, 8) : _mm512_srli_epi16(v, 8);
                    else
                        h = sg ? _mm512_srai_epi16(_mm512_slli_epi16(v, 8), 8) : _mm512_and_si512(v, lo8);
                    acc = _mm512_max_epi16(acc, h); /* int8 and uint8 values are both int16 */
                }
                const int64_t n = s->Wo - j0;
                _mm256_mask_storeu_epi8(yo + j0, n >= 32 ? ~0U : (1U << n) - 1, _mm512_cvtepi16_epi8(acc));
            }
        }
    }
}

static TAVX512 void pool_items512(void *ctx, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    if (j->s->is_signed)
        pool_body512(j, begin, end, 1);
    else
        pool_body512(j, begin, end, 0);
}

static t2c_status pool_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const pool_simd *s = state;
    pool_job j = {s, node->inputs[0]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->planes * s->Ho * s->Wo * s->KH * s->KW), s->planes,
                  s->use512 ? pool_items512 : pool_items, &j);
    return T2C_OK;
}

static t2c_status pool_prepare_avx2(t2c_node *node, void **state, t2c_error *err)
{
    return pool_simd_prepare(node, state, err, 0);
}

static t2c_status pool_prepare_avx512bw(t2c_node *node, void **state, t2c_error *err)
{
    return pool_simd_prepare(node, state, err, 1);
}

/* Two variants, so that each body can be chosen (and tested) on its own; "auto" takes the
 * AVX-512BW one where it applies (horizontal stride 1 or 2). */
const t2c_kernel_variant t2c_maxpool2d_simd_avx512bw = {
    .backend = "simd",
    .name = "maxpool2d.simd-avx512bw",
    .supports = pool_supports_avx512bw,
    .prepare = pool_prepare_avx512bw,
    .scratch_size = pool_simd_scratch,
    .run = pool_simd_run,
    .release = NULL,
};

const t2c_kernel_variant t2c_maxpool2d_simd_avx2 = {
    .backend = "simd",
    .name = "maxpool2d.simd-avx2",
    .supports = pool_supports_avx2,
    .prepare = pool_prepare_avx2,
    .scratch_size = pool_simd_scratch,
    .run = pool_simd_run,
    .release = NULL,
};
