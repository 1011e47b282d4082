/* requantize_simd.c — requantize of an int32 tensor with AVX-512 (t2c_vscale.h), eight elements
 * per step, same recipe as t2c_requantize_ref:
 *   y = clamp(clamp(scale_round(x, m[c], b[c], s[c]), -2^62, 2^62) + zero_point, lo, hi).
 * Rows of one channel (inner >= 8, the NCHW case) use broadcast parameters; a channel axis
 * that is innermost (linear outputs) loads eight channels' parameters per step; other shapes
 * take the scalar recipe. Rows are split across threads. */
#include "requantize.h"
#include "t2c_exec.h"
#include "t2c_kernels.h"
#include "t2c_vscale.h"

typedef struct req_job {
    const t2c_requantize_params *p;
    const int32_t *x;
    void *y;
    int esize;
    int64_t C, outer, inner;
} req_job;

static int64_t req_channels(const t2c_requantize_params *p)
{
    int64_t c = p->n_multiplier;
    c = p->n_shift > c ? p->n_shift : c;
    return p->n_offset > c ? p->n_offset : c;
}

static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i
req_finish(__m512i r, __m512i zp, __m512i lo, __m512i hi)
{
    const __m512i big = _mm512_set1_epi64((int64_t)1 << 62);
    r = _mm512_min_epi64(_mm512_max_epi64(r, _mm512_sub_epi64(_mm512_setzero_si512(), big)), big);
    return _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(r, zp), lo), hi);
}

static void req_scalar(const req_job *j, int64_t o, int64_t c, int64_t j0, int64_t j1)
{
    const t2c_requantize_params *p = j->p;
    const int64_t m = t2c_rq_multiplier(p, c);
    const int s = (int)t2c_rq_shift(p, c);
    const int64_t b = t2c_rq_offset(p, c);
    const int64_t base = (o * j->C + c) * j->inner;
    for (int64_t i = j0; i < j1; i++) {
        int64_t r = t2c_scale_round(j->x[base + i], m, b, s, p->rounding);
        r = t2c_clamp64(r, -((int64_t)1 << 62), (int64_t)1 << 62);
        r = t2c_clamp64(r + p->zero_point, p->lo, p->hi);
        if (j->esize == 1)
            ((int8_t *)j->y)[base + i] = (int8_t)r;
        else if (j->esize == 2)
            ((int16_t *)j->y)[base + i] = (int16_t)r;
        else
            ((int32_t *)j->y)[base + i] = (int32_t)r;
    }
}

/* Items are (outer, channel) rows when inner > 1, else outer rows of C channels. */
static T2C_TARGET_AVX512 void req_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const req_job *j = ctx;
    const t2c_requantize_params *p = j->p;
    const t2c_rounding mode = p->rounding;
    const __m512i zp = _mm512_set1_epi64(p->zero_point), lo = _mm512_set1_epi64(p->lo),
                  hi = _mm512_set1_epi64(p->hi);
    for (int64_t it = begin; it < end; it++) {
        if (j->inner > 1) {
            const int64_t o = it / j->C, c = it % j->C;
            if (j->inner < 8) {
                req_scalar(j, o, c, 0, j->inner);
                continue;
            }
            t2c_vreq q;
            t2c_vreq_init(&q, t2c_rq_multiplier(p, c), t2c_rq_shift(p, c),
                          t2c_rq_offset(p, c), p->zero_point, p->lo, p->hi, mode);
            const int64_t base = (o * j->C + c) * j->inner;
            const int32_t *x = j->x + base;
            for (int64_t i = 0; i < j->inner; i += 16) {
                const int64_t left = j->inner - i;
                const __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                t2c_vreq_store16(&q, _mm512_maskz_loadu_epi32(k, x + i), j->y, base + i, k, j->esize);
            }
        } else {
            /* channel axis innermost: lanes are consecutive channels */
            const int64_t base = it * j->C;
            for (int64_t c = 0; c < j->C; c += 8) {
                const int64_t left = j->C - c;
                const __mmask8 k = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1);
                const __m512i m = p->n_multiplier > 1 ? _mm512_maskz_loadu_epi64(k, p->multiplier + c)
                                                      : _mm512_set1_epi64(p->multiplier[0]);
                const __m512i s = p->n_shift > 1 ? _mm512_maskz_loadu_epi64(k, p->shift + c)
                                                 : _mm512_set1_epi64(p->shift[0]);
                const __m512i b = p->n_offset > 1 ? _mm512_maskz_loadu_epi64(k, p->offset + c)
                                                  : _mm512_set1_epi64(p->offset[0]);
                const __m512i v = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, j->x + base + c));
                t2c_v_store(j->y, base + c, req_finish(t2c_v_scale_round(v, m, b, s, mode), zp, lo, hi), k, j->esize);
            }
        }
    }
}

static int req_simd_supports(const t2c_node *node)
{
    return t2c_avx512_supported() && node->inputs[0]->dtype == T2C_INT32;
}

static t2c_status req_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)state, (void)scratch, (void)err;
    const t2c_requantize_params *p = node->params;
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    req_job j = {p, x->data, y->data, (int)t2c_dtype_mem_size(y->dtype), req_channels(p), 1, 1};
    if (j.C > 1) {
        for (int i = 0; i < p->axis; i++)
            j.outer *= x->dims[i];
        for (int i = p->axis + 1; i < x->rank; i++)
            j.inner *= x->dims[i];
    } else {
        j.inner = t2c_tensor_numel(x);
    }
    if (j.inner > 1 && j.C == 1 && j.inner >= 4096) {
        /* one channel: split the single row into rows of 4096 for the threads */
        const int64_t n = j.inner;
        j.inner = 4096, j.outer = 1;
        const int64_t rows = n / 4096;
        j.C = rows; /* channel index is irrelevant with single-value arrays */
        t2c_exec_for(t2c_exec_if(node->exec, n * 8), rows, req_items, &j);
        if (n % 4096) {
            req_job t = {p, (const int32_t *)x->data + rows * 4096, (uint8_t *)y->data + rows * 4096 * j.esize,
                         j.esize, 1, 1, n % 4096};
            req_items(&t, 0, 1, 0);
        }
        return T2C_OK;
    }
    t2c_exec_for(t2c_exec_if(node->exec, t2c_tensor_numel(x) * 8), j.inner > 1 ? j.outer * j.C : j.outer, req_items, &j);
    return T2C_OK;
}

const t2c_kernel_variant t2c_requantize_simd_avx512 = {
    .backend = "simd",
    .name = "requantize.simd-avx512",
    .supports = req_simd_supports,
    .prepare = NULL,
    .scratch_size = NULL,
    .run = req_simd_run,
    .release = NULL,
};
