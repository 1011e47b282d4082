/* maxpool2d_simd.c — 8-bit max pooling with AVX2, separable: per output row, the max over the
 * window's valid input rows (vertical), then over the window's columns (horizontal) on a row
 * padded with the dtype's minimum, then every stride-th value. Padding holding the minimum
 * never changes a max that includes at least one input element, which every window has
 * (maxpool2d's prepare rejects windows lying entirely in padding) — so this is the recipe
 * "max over the positions inside the input" exactly. Planes are split across threads. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "maxpool2d.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"

#define TAVX2 __attribute__((target("avx2")))

typedef struct pool_simd {
    int64_t planes, H, W, Ho, Wo, KH, KW, sh, sw, dh, dw, top, left;
    int64_t span;      /* padded row length used by the horizontal pass */
    int is_signed;
    size_t per_thread;
} pool_simd;

static int pool_simd_supports(const t2c_node *node)
{
    const t2c_dtype d = node->inputs[0]->dtype;
    const t2c_maxpool2d_params *p = node->params;
    return t2c_simd_supported(T2C_SIMD_AVX2) && p->kernel[0] <= 64 &&
           (d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT4 || d == T2C_UINT4);
}

static t2c_status pool_simd_prepare(t2c_node *node, void **state, t2c_error *err)
{
    const t2c_maxpool2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *y = node->outputs[0];
    pool_simd *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    s->planes = x->dims[0] * x->dims[1], s->H = x->dims[2], s->W = x->dims[3];
    s->Ho = y->dims[2], s->Wo = y->dims[3];
    s->KH = p->kernel[0], s->KW = p->kernel[1], s->sh = p->strides[0], s->sw = p->strides[1];
    s->dh = p->dilations[0], s->dw = p->dilations[1], s->top = p->pads[0], s->left = p->pads[1];
    s->is_signed = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
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

static t2c_status pool_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const pool_simd *s = state;
    pool_job j = {s, node->inputs[0]->data, node->outputs[0]->data, scratch};
    t2c_exec_for(t2c_exec_if(node->exec, s->planes * s->Ho * s->Wo * s->KH * s->KW), s->planes, pool_items, &j);
    return T2C_OK;
}

const t2c_kernel_variant t2c_maxpool2d_simd_avx2 = {
    .backend = "simd",
    .name = "maxpool2d.simd-avx2",
    .supports = pool_simd_supports,
    .prepare = pool_simd_prepare,
    .scratch_size = pool_simd_scratch,
    .run = pool_simd_run,
    .release = NULL,
};
