/* add_simd.c — the residual add with AVX-512 (t2c_vscale.h), sixteen int32 lanes per step, same
 * recipe as t2c_add_ref:
 *   a1 = (a - a_zp) << left_shift; a2 = scale_round(a1, a_m, 0, a_s); likewise b2;
 *   y = clamp(scale_round(a2 + b2, out_m, 0, out_s) + out_zp, lo, hi).
 * add's prepare proves |a1|, |b1|, |a2 + b2| < 2^31, the range t2c_v_scale_round needs.
 * A power-of-two multiplier that divides exactly is a shift (exact_shift). */
#include "add.h"
#include "t2c_exec.h"
#include "t2c_kernels.h"
#include "t2c_vscale.h"

typedef struct add_job {
    const t2c_add_params *p;
    const void *a, *b;
    void *y;
    int ka, kb, ey; /* input kinds: 0 int8, 1 uint8, 2 int16; output element bytes */
    int64_t n;
} add_job;

#define ADD_CHUNK 4096

/* 16 inputs minus the zero point as int32 lanes (|t - zp| <= 65535). */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i load16(const void *p, int64_t i, int kind,
                                                                              __mmask16 k, __m512i zp)
{
    __m512i v;
    if (kind == 0)
        v = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, (const int8_t *)p + i));
    else if (kind == 1)
        v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, (const uint8_t *)p + i));
    else
        v = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(k, (const int16_t *)p + i));
    return _mm512_sub_epi32(v, zp);
}

/* scale_round(x << ls, m, 0, s) for a power of two m = 2^j with ls + j >= s (not tflite): the
 * product x * 2^(ls + j) is a multiple of 2^s, so every rounding mode returns the exact quotient
 * x << (ls + j - s) (prepare bounds it below 2^31). Returns that shift, or -1. */
static int exact_shift(int64_t m, int s, int ls, t2c_rounding mode)
{
    if (mode == T2C_ROUND_TFLITE || m <= 0 || (m & (m - 1)) != 0)
        return -1;
    const int j = __builtin_ctzll((unsigned long long)m);
    return ls + j >= s ? ls + j - s : -1;
}

/* a2 = scale_round(x << ls, m, 0, s) of 16 int32 lanes, as int32 lanes: prepare proves |x << ls|
 * and |a2| below 2^31, so the int32 shifts are exact; the rounding works on the even lanes in
 * place and the odd ones shifted down (t2c_vrow_round reads only the low 32 bits of a lane). */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 __m512i
scaled16(__m512i x, int ex, unsigned ls, const t2c_vrow *r)
{
    if (ex >= 0)
        return _mm512_slli_epi32(x, (unsigned)ex);
    const __m512i x1 = _mm512_slli_epi32(x, ls);
    const __m512i e = t2c_vrow_round(r, x1), o = t2c_vrow_round(r, _mm512_srli_epi64(x1, 32));
    return _mm512_mask_blend_epi32((__mmask16)0xAAAA, e, _mm512_slli_epi64(o, 32));
}

/* The loop; FAST: half_even, all three roundings on the fast recipe and the output narrow (the
 * caller checked), as constants so that no rounding choice is left in the loop. KA, KB: -1, or
 * the inputs' kinds (0 or 1) when they and the output are bytes: then whole vectors are plain
 * (unmasked) 16-byte loads and stores, ~14 % faster on Zen 5 than the masked ones. */
static inline __attribute__((always_inline)) T2C_TARGET_AVX512 void
add_loop(const add_job *j, int64_t b0, int64_t e0, t2c_vrow ra, t2c_vrow rb, t2c_vreq ro, int ea, int eb, const int FAST,
         const int KA, const int KB)
{
    const t2c_add_params *p = j->p;
    if (FAST) {
        ra.mode = rb.mode = ro.r.mode = T2C_ROUND_HALF_EVEN;
        ra.general = rb.general = ro.r.general = 0;
        ro.narrow = 1;
    }
    const __m512i azp = _mm512_set1_epi32((int32_t)p->a_zero_point), bzp = _mm512_set1_epi32((int32_t)p->b_zero_point);
    const unsigned ls = (unsigned)p->left_shift;
    int64_t i = b0;
    for (; KA >= 0 && i + 16 <= e0; i += 16) {
        const __m128i av = _mm_loadu_si128((const __m128i *)((const uint8_t *)j->a + i));
        const __m128i bv = _mm_loadu_si128((const __m128i *)((const uint8_t *)j->b + i));
        const __m512i a = _mm512_sub_epi32(KA ? _mm512_cvtepu8_epi32(av) : _mm512_cvtepi8_epi32(av), azp);
        const __m512i b = _mm512_sub_epi32(KB ? _mm512_cvtepu8_epi32(bv) : _mm512_cvtepi8_epi32(bv), bzp);
        __m128i y = _mm512_cvtepi32_epi8(t2c_vreq_apply16(&ro, _mm512_add_epi32(scaled16(a, ea, ls, &ra),
                                                                                scaled16(b, eb, ls, &rb))));
        __asm__("" : "+x"(y)); /* see t2c_v_store (t2c_vscale.h) */
        _mm_storeu_si128((__m128i *)((uint8_t *)j->y + i), y);
    }
    for (; i < e0; i += 16) {
        const int64_t left = e0 - i;
        const __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        const __m512i a2 = scaled16(load16(j->a, i, j->ka, k, azp), ea, ls, &ra);
        const __m512i b2 = scaled16(load16(j->b, i, j->kb, k, bzp), eb, ls, &rb);
        t2c_vreq_store16(&ro, _mm512_add_epi32(a2, b2), j->y, i, k, j->ey);
    }
}

static T2C_TARGET_AVX512 void add_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const add_job *j = ctx;
    const t2c_add_params *p = j->p;
    const int64_t b0 = begin * ADD_CHUNK, e0 = end * ADD_CHUNK < j->n ? end * ADD_CHUNK : j->n;
    t2c_vrow ra, rb;
    t2c_vrow_init(&ra, p->a_multiplier, p->a_shift, 0, p->rounding);
    t2c_vrow_init(&rb, p->b_multiplier, p->b_shift, 0, p->rounding);
    /* the output step is requantize's recipe on |a2 + b2| < 2^31 (prepare): scale_round of it is
     * below 2^62 in magnitude, so requantize's inner clamp to +-2^62 changes nothing */
    t2c_vreq ro;
    t2c_vreq_init(&ro, p->out_multiplier, p->out_shift, 0, p->out_zero_point, p->lo, p->hi, p->rounding);
    const int ea = exact_shift(p->a_multiplier, p->a_shift, p->left_shift, p->rounding);
    const int eb = exact_shift(p->b_multiplier, p->b_shift, p->left_shift, p->rounding);
    const int fast = p->rounding == T2C_ROUND_HALF_EVEN && !ra.general && !rb.general && !ro.r.general && ro.narrow;
    const int kk = j->ey == 1 && j->ka < 2 && j->kb < 2 ? 2 * j->ka + j->kb : -1;
#define ADD_LOOP(F)                                                                                     \
    switch (kk) {                                                                                       \
    case 0: add_loop(j, b0, e0, ra, rb, ro, ea, eb, F, 0, 0); break;                                    \
    case 1: add_loop(j, b0, e0, ra, rb, ro, ea, eb, F, 0, 1); break;                                    \
    case 2: add_loop(j, b0, e0, ra, rb, ro, ea, eb, F, 1, 0); break;                                    \
    case 3: add_loop(j, b0, e0, ra, rb, ro, ea, eb, F, 1, 1); break;                                    \
    default: add_loop(j, b0, e0, ra, rb, ro, ea, eb, F, -1, -1); break;                                 \
    }
    if (fast) {
        ADD_LOOP(1)
    } else {
        ADD_LOOP(0)
    }
#undef ADD_LOOP
}

static int kind(t2c_dtype d) { return d == T2C_INT16 ? 2 : (d == T2C_UINT4 || d == T2C_UINT8) ? 1 : 0; }

static int add_simd_supports(const t2c_node *node) { return t2c_avx512_supported(); }

static t2c_status add_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)state, (void)scratch, (void)err;
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    t2c_tensor *y = node->outputs[0];
    add_job j = {node->params, a->data, b->data, y->data, kind(a->dtype), kind(b->dtype),
                 (int)t2c_dtype_mem_size(y->dtype), t2c_tensor_numel(y)};
    t2c_exec_for(t2c_exec_if(node->exec, j.n * 8), (j.n + ADD_CHUNK - 1) / ADD_CHUNK, add_items, &j);
    return T2C_OK;
}

const t2c_kernel_variant t2c_add_simd_avx512 = {
    .backend = "simd",
    .name = "add.simd-avx512",
    .supports = add_simd_supports,
    .prepare = NULL,
    .scratch_size = NULL,
    .run = add_simd_run,
    .release = NULL,
};
