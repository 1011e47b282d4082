/* gemm_simd.c — packing and micro-kernels of the exact int8 GEMM core (t2c_gemm.h).
 *
 * One body per ISA, each compiled with __attribute__((target)) and chosen at run time
 * (t2c_simd_supported), so one binary carries all of them. Kernels written with intrinsics keep at
 * most 12 accumulators: GCC 12 spills larger vpdpbusd tiles (half speed, see
 * /work/shared/design/perf-notes.md); kern512's accumulators are bound to registers, so it has up
 * to 24 (no spills in the disassembly).
 * Exactness is argued in t2c_gemm.h; here every instruction is exact by construction:
 *   vpdpbusd  acc += a0*b0 + a1*b1 + a2*b2 + a3*b3 (u8 x s8, int32 wrap-around add, no saturation)
 *   vpmaddwd  (b0, b2) . (a0, a2) on int16 lanes: |product| <= 255*128, pair sums fit int32
 * (vpmaddubsw is not used: it saturates its int16 pair sums.)
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "t2c_gemm.h"
#include "t2c_vscale.h"

#define MR T2C_GEMM_MR

/* ---------------------------------------------------------------- CPU dispatch */

int t2c_simd_max_isa(void)
{
    static const char *const names[T2C_SIMD_ISA_COUNT] = {"avx2", "avxvnni", "avx512vnni"};
    static int cached = -2; /* -2: not read yet; benign race (same value from every thread) */
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c == -2) {
        const char *e = getenv("T2C_MAX_ISA");
        c = T2C_SIMD_ISA_COUNT - 1;
        if (e && *e) {
            c = -1; /* "none", or an unknown name: no SIMD kernel at all */
            for (int i = 0; i < T2C_SIMD_ISA_COUNT; i++)
                if (strcmp(e, names[i]) == 0)
                    c = i;
        }
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return c;
}

int t2c_simd_supported(t2c_simd_isa isa)
{
    if ((int)isa > t2c_simd_max_isa())
        return 0;
    static int cached = -1; /* bit i: ISA i supported; benign race (same value from every thread) */
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c < 0) {
        __builtin_cpu_init();
        c = 0;
        /* __builtin_cpu_supports checks the OS enables the register state (XGETBV) as well */
        if (__builtin_cpu_supports("avx2"))
            c |= 1 << T2C_SIMD_AVX2;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni"))
            c |= 1 << T2C_SIMD_AVXVNNI;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
            c |= 1 << T2C_SIMD_AVX512VNNI;
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return isa >= 0 && isa < T2C_SIMD_ISA_COUNT && (c >> isa) & 1;
}

const char *t2c_simd_isa_name(t2c_simd_isa isa)
{
    static const char *const names[T2C_SIMD_ISA_COUNT] = {"avx2", "avxvnni", "avx512vnni"};
    return isa >= 0 && isa < T2C_SIMD_ISA_COUNT ? names[isa] : "none";
}

/* ---------------------------------------------------------------- packing (plain C / SSE2) */

void t2c_gemm_pack_a(t2c_simd_isa isa, const void *src, int64_t lda, int src_unsigned, int64_t M,
                     int64_t K, void *dst, int32_t *row_sums)
{
    const size_t ablock = t2c_gemm_a_block_bytes(isa, K);
    memset(dst, 0, ablock * (size_t)t2c_gemm_mblocks(M));
    const uint8_t *su = src;
    const int8_t *ss = src;
    /* AVX2 pairs: int16 slots [a0, a2, a1, a3] per row and k4 */
    static const int avx2_slot[4] = {0, 2, 1, 3};
    for (int64_t m = 0; m < M; m++) {
        int32_t sum = 0;
        uint8_t *blk = (uint8_t *)dst + (size_t)(m / MR) * ablock;
        const int64_t r = m % MR;
        for (int64_t k = 0; k < K; k++) {
            const int v = src_unsigned ? (int)su[m * lda + k] - 128 : (int)ss[m * lda + k];
            sum += v;
            if (isa == T2C_SIMD_AVX2) {
                int16_t *d = (int16_t *)(blk + (size_t)(k / 4) * MR * 8 + (size_t)r * 8);
                d[avx2_slot[k % 4]] = (int16_t)v;
            } else {
                ((int8_t *)blk)[(k / 4) * MR * 4 + r * 4 + k % 4] = (int8_t)v;
            }
        }
        if (row_sums)
            row_sums[m] = sum;
    }
}

void t2c_gemm_pack_b4(const uint8_t *const rows[4], int64_t ncols, int xor_80, uint8_t *dst,
                      int64_t k4, size_t bblock)
{
    const __m128i flip = _mm_set1_epi8(xor_80 ? (char)0x80 : 0);
    for (int64_t c = 0; c < ncols; c += 16) {
        __m128i r[4];
        for (int q = 0; q < 4; q++) {
            if (!rows[q]) {
                r[q] = _mm_setzero_si128();
            } else if (c + 16 <= ncols) {
                r[q] = _mm_loadu_si128((const __m128i *)(rows[q] + c));
            } else {
                uint8_t tmp[16] = {0};
                memcpy(tmp, rows[q] + c, (size_t)(ncols - c));
                r[q] = _mm_loadu_si128((const __m128i *)tmp);
            }
        }
        const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpackhi_epi8(r[0], r[1]);
        const __m128i t2 = _mm_unpacklo_epi8(r[2], r[3]), t3 = _mm_unpackhi_epi8(r[2], r[3]);
        uint8_t *d = dst + (size_t)(c / 16) * bblock + (size_t)k4 * 64;
        _mm_storeu_si128((__m128i *)d, _mm_xor_si128(_mm_unpacklo_epi16(t0, t2), flip));
        _mm_storeu_si128((__m128i *)(d + 16), _mm_xor_si128(_mm_unpackhi_epi16(t0, t2), flip));
        _mm_storeu_si128((__m128i *)(d + 32), _mm_xor_si128(_mm_unpacklo_epi16(t1, t3), flip));
        _mm_storeu_si128((__m128i *)(d + 48), _mm_xor_si128(_mm_unpackhi_epi16(t1, t3), flip));
    }
}

void t2c_gemm_col_sums4(const uint8_t *const rows[4], int64_t ncols, int xor_80, int32_t *sums)
{
    const int f = xor_80 ? 0x80 : 0;
    for (int q = 0; q < 4; q++)
        if (rows[q])
            for (int64_t c = 0; c < ncols; c++)
                sums[c] += rows[q][c] ^ f;
}

/* ---------------------------------------------------------------- kernels
 * Every kernel computes rows [0, MR_) (a points at the first row's 4 bytes at k4 = 0; the next
 * k4 group is `astride` bytes on) and NV vectors of columns (vector j at B block address
 * given by the ISA), then adds row_add/col_add, wraps and stores the first `nvalid` columns. */

/* Columns of one chunk of NV vectors (AVX-512): per vector the valid lanes and, for mapped
 * columns (t2c_gemm_vmap), its row segments (lane mask, dense index of lane 0). Computed once per
 * chunk by tile512 and shared by every row block (no division per kernel call). */
typedef struct colplan {
    int mapped;
    const int64_t *boff; /* t2c_gemm_tile.boff */
    __mmask16 mask[4];
    int nseg[4];
    __mmask16 smask[4][16];
    int64_t soff[4][16];
} colplan;

typedef void (*kern_fn)(int64_t k4n, const uint8_t *a, size_t astride, const uint8_t *b, size_t bblock,
                        int32_t *c, int64_t ldc, int nvalid, const int32_t *ra, const int32_t *ca, int wrap,
                        const t2c_gemm_requant *rq, const colplan *cp);

static inline int32_t load_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- AVX-512 VNNI: vector j = 16 columns = one B block ---- */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* acc += dot4(x u8, w s8) in place. The intrinsic lets GCC 12 compute into a fresh register and
 * copy it back every iteration (24 extra moves per 12 vpdpbusd); the "+v" constraint keeps
 * each accumulator in one register. The VEX form is spelled {vex} for AVX-VNNI. */
#define DPBUSD512(acc, x, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w))
#define DPBUSD256(acc, x, w) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w))
#define ACC_NAMES(z)                                                                                   \
    c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z, c20 = z, c21 = z, c22 = z, \
    c23 = z, c30 = z, c31 = z, c32 = z, c33 = z, c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, \
    c52 = z, c53 = z
#define ACC_ARRAY                                                                                      \
    {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},                                 \
     {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}}

/* The transposed epilogue (t2c_gemm_tile.trans): the MR_ x 16*NV results to a small buffer, then
 * each column (output channel) row gets MR_ values at c[n * ldc + i] (or requantized at rq->out). */
static inline __attribute__((always_inline)) T512 void tr_store(const __m512i acc[6][4], const int MR_, const int NV,
                                                               int32_t *c, int64_t ldc, int nvalid, const int32_t *ra,
                                                               const __m512i cadd[4], int wrap,
                                                               const t2c_gemm_requant *rq)
{
    __attribute__((aligned(64))) int32_t tb[6][32];
    t2c_vreq qe[2], qo[2];
    if (rq)
        for (int j = 0; j < NV; j++)
            t2c_vreq_init_cols(&qe[j], &qo[j], rq, j);
    if (rq && rq->esize == 1) {
        /* bytes: per 16 channels, the MR_ x 16 block transposed in registers (8 x 16 bytes ->
         * 16 x 8), then one masked store of MR_ bytes per channel */
        const int ncol = nvalid < 16 * NV ? nvalid : 16 * NV;
        const __mmask16 km = (__mmask16)((1u << MR_) - 1);
        for (int j = 0; j < NV; j++) {
            __m128i r[8];
            for (int i = 0; i < 8; i++) {
                r[i] = _mm_setzero_si128();
                if (i < MR_) {
                    __m512i v = _mm512_add_epi32(_mm512_add_epi32(acc[i][j], cadd[j]),
                                                 _mm512_set1_epi32(ra ? ra[i] : 0));
                    if (wrap < 32)
                        v = _mm512_srai_epi32(_mm512_slli_epi32(v, (unsigned)(32 - wrap)), (unsigned)(32 - wrap));
                    r[i] = _mm512_cvtepi32_epi8(t2c_vreq_apply16_2(&qe[j], &qo[j], v));
                }
            }
            const __m128i a0 = _mm_unpacklo_epi8(r[0], r[1]), a1 = _mm_unpackhi_epi8(r[0], r[1]);
            const __m128i a2 = _mm_unpacklo_epi8(r[2], r[3]), a3 = _mm_unpackhi_epi8(r[2], r[3]);
            const __m128i a4 = _mm_unpacklo_epi8(r[4], r[5]), a5 = _mm_unpackhi_epi8(r[4], r[5]);
            const __m128i a6 = _mm_unpacklo_epi8(r[6], r[7]), a7 = _mm_unpackhi_epi8(r[6], r[7]);
            /* b: 4 channels x rows 0-3 (b0-b3) or 4-7 (b4-b7), channels 0-3, 4-7, 8-11, 12-15 */
            const __m128i b0 = _mm_unpacklo_epi16(a0, a2), b1 = _mm_unpackhi_epi16(a0, a2);
            const __m128i b2 = _mm_unpacklo_epi16(a1, a3), b3 = _mm_unpackhi_epi16(a1, a3);
            const __m128i b4 = _mm_unpacklo_epi16(a4, a6), b5 = _mm_unpackhi_epi16(a4, a6);
            const __m128i b6 = _mm_unpacklo_epi16(a5, a7), b7 = _mm_unpackhi_epi16(a5, a7);
            /* t[l / 2], 8-byte half l % 2: channel l's 8 rows */
            const __m128i t[8] = {_mm_unpacklo_epi32(b0, b4), _mm_unpackhi_epi32(b0, b4),
                                  _mm_unpacklo_epi32(b1, b5), _mm_unpackhi_epi32(b1, b5),
                                  _mm_unpacklo_epi32(b2, b6), _mm_unpackhi_epi32(b2, b6),
                                  _mm_unpacklo_epi32(b3, b7), _mm_unpackhi_epi32(b3, b7)};
            for (int l = 0; l < 16 && 16 * j + l < ncol; l++) {
                const int64_t n = 16 * j + l;
                const __m128i x = l % 2 ? _mm_srli_si128(t[l / 2], 8) : t[l / 2];
                _mm_mask_storeu_epi8((uint8_t *)rq->out + (size_t)(n * rq->ldo), km, x);
            }
        }
        return;
    }
    for (int i = 0; i < MR_; i++) {
        const __m512i radd = _mm512_set1_epi32(ra ? ra[i] : 0);
        for (int j = 0; j < NV; j++) {
            __m512i v = _mm512_add_epi32(_mm512_add_epi32(acc[i][j], cadd[j]), radd);
            if (wrap < 32)
                v = _mm512_srai_epi32(_mm512_slli_epi32(v, (unsigned)(32 - wrap)), (unsigned)(32 - wrap));
            if (rq)
                v = t2c_vreq_apply16_2(&qe[j], &qo[j], v);
            _mm512_store_si512((void *)&tb[i][16 * j], v);
        }
    }
    const int ncol = nvalid < 16 * NV ? nvalid : 16 * NV;
    if (rq) {
        for (int n = 0; n < ncol; n++) {
            uint8_t *o = (uint8_t *)rq->out + (size_t)(n * rq->ldo) * (size_t)rq->esize;
            for (int i = 0; i < MR_; i++) {
                if (rq->esize == 1)
                    o[i] = (uint8_t)tb[i][n];
                else if (rq->esize == 2)
                    ((int16_t *)o)[i] = (int16_t)tb[i][n];
                else
                    ((int32_t *)o)[i] = tb[i][n];
            }
        }
    } else {
        for (int n = 0; n < ncol; n++)
            for (int i = 0; i < MR_; i++)
                c[n * ldc + i] = tb[i][n];
    }
}

/* Row-major epilogue of kern512: row_add/col_add, wrap, store or requantize-and-store. FAST: the
 * caller checked the common fused case (see kern512), whose choices are then constants. */
static inline int rows_fast(const int64_t *rows, int mr)
{
    for (int i = 0; i < mr; i++)
        if ((rows[i * T2C_VREQ_ROW + 7] & 3) != 2) /* narrow, not general */
            return 0;
    return 1;
}

static inline __attribute__((always_inline)) T512 void row_store(const __m512i acc[6][4], const int MR_, const int NV,
                                                                int32_t *c, int64_t ldc, const int32_t *ra,
                                                                const __m512i cadd[4], int wrap,
                                                                const t2c_gemm_requant *rq, const colplan *cp,
                                                                const int FAST)
{
    const __mmask16 *masks = cp->mask;
    const int vm = cp->mapped;
    for (int i = 0; i < MR_; i++) {
        const __m512i radd = _mm512_set1_epi32(ra ? ra[i] : 0);
        __m512i v[4];
        for (int j = 0; j < NV; j++) {
            v[j] = _mm512_add_epi32(_mm512_add_epi32(acc[i][j], cadd[j]), radd);
            if (!FAST && wrap < 32)
                v[j] = _mm512_srai_epi32(_mm512_slli_epi32(v[j], (unsigned)(32 - wrap)), (unsigned)(32 - wrap));
        }
        if (rq) {
            t2c_vreq q;
            t2c_vreq_init_row(&q, rq, i);
            if (FAST)
                q.r.mode = T2C_ROUND_HALF_EVEN, q.r.general = 0, q.narrow = 1;
            const int esize = FAST ? 1 : rq->esize;
            for (int j = 0; j < NV && masks[j]; j++) {
                if (!vm) {
                    t2c_vreq_store16(&q, v[j], rq->out, i * rq->ldo + 16 * j, masks[j], esize);
                } else {
                    const __m512i y = t2c_vreq_apply16(&q, v[j]);
                    for (int g = 0; g < cp->nseg[j]; g++)
                        t2c_v_store16(rq->out, i * rq->ldo + cp->soff[j][g], y, cp->smask[j][g], esize);
                }
            }
        } else {
            for (int j = 0; j < NV && masks[j]; j++) {
                if (!vm)
                    _mm512_mask_storeu_epi32(c + i * ldc + 16 * j, masks[j], v[j]);
                else
                    for (int g = 0; g < cp->nseg[j]; g++)
                        _mm512_mask_storeu_epi32((void *)((uintptr_t)(c + i * ldc) + (uintptr_t)(cp->soff[j][g] * 4)),
                                                 cp->smask[j][g], v[j]);
            }
        }
    }
}

static inline __attribute__((always_inline)) T512 void
kern512(const int TR, const int OFF, const int MR_, const int NV, int64_t k4n, const uint8_t *a, size_t astride,
        const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, int nvalid, const int32_t *ra, const int32_t *ca,
        int wrap, const t2c_gemm_requant *rq, const colplan *cp)
{
    /* named accumulators (an array is kept in memory once asm takes its elements), each bound
     * to its own register at the asm uses: with free allocation GCC 12 rotates some through a
     * scratch register (two moves per vpdpbusd in e.g. the 4x3 kernel) */
    register __m512i c00 __asm__("zmm8") = _mm512_setzero_si512();
    register __m512i c01 __asm__("zmm9") = _mm512_setzero_si512();
    register __m512i c02 __asm__("zmm10") = _mm512_setzero_si512();
    register __m512i c03 __asm__("zmm11") = _mm512_setzero_si512();
    register __m512i c10 __asm__("zmm12") = _mm512_setzero_si512();
    register __m512i c11 __asm__("zmm13") = _mm512_setzero_si512();
    register __m512i c12 __asm__("zmm14") = _mm512_setzero_si512();
    register __m512i c13 __asm__("zmm15") = _mm512_setzero_si512();
    register __m512i c20 __asm__("zmm16") = _mm512_setzero_si512();
    register __m512i c21 __asm__("zmm17") = _mm512_setzero_si512();
    register __m512i c22 __asm__("zmm18") = _mm512_setzero_si512();
    register __m512i c23 __asm__("zmm19") = _mm512_setzero_si512();
    register __m512i c30 __asm__("zmm20") = _mm512_setzero_si512();
    register __m512i c31 __asm__("zmm21") = _mm512_setzero_si512();
    register __m512i c32 __asm__("zmm22") = _mm512_setzero_si512();
    register __m512i c33 __asm__("zmm23") = _mm512_setzero_si512();
    register __m512i c40 __asm__("zmm24") = _mm512_setzero_si512();
    register __m512i c41 __asm__("zmm25") = _mm512_setzero_si512();
    register __m512i c42 __asm__("zmm26") = _mm512_setzero_si512();
    register __m512i c43 __asm__("zmm27") = _mm512_setzero_si512();
    register __m512i c50 __asm__("zmm28") = _mm512_setzero_si512();
    register __m512i c51 __asm__("zmm29") = _mm512_setzero_si512();
    register __m512i c52 __asm__("zmm30") = _mm512_setzero_si512();
    register __m512i c53 __asm__("zmm31") = _mm512_setzero_si512();
    const int64_t *boff = cp->boff;
    for (int64_t k = 0; k < k4n; k++) {
        const uint8_t *bk = OFF ? b + boff[k] : b + (size_t)k * 64;
        const __m512i b0 = _mm512_loadu_si512((const void *)bk);
        const __m512i b1 = NV > 1 ? _mm512_loadu_si512((const void *)(bk + bblock)) : b0;
        const __m512i b2 = NV > 2 ? _mm512_loadu_si512((const void *)(bk + 2 * bblock)) : b0;
        const __m512i b3 = NV > 3 ? _mm512_loadu_si512((const void *)(bk + 3 * bblock)) : b0;
        const uint8_t *ak = a + (size_t)k * astride;
#define ROW512(i)                                                                                       \
    if (MR_ > i) {                                                                                      \
        const __m512i av = _mm512_set1_epi32(load_i32(ak + 4 * i));                                     \
        if (TR) { /* A unsigned, B signed */                                                            \
            DPBUSD512(c##i##0, av, b0);                                                                 \
            if (NV > 1)                                                                                 \
                DPBUSD512(c##i##1, av, b1);                                                             \
        } else {                                                                                        \
            DPBUSD512(c##i##0, b0, av);                                                                 \
            if (NV > 1)                                                                                 \
                DPBUSD512(c##i##1, b1, av);                                                             \
            if (NV > 2)                                                                                 \
                DPBUSD512(c##i##2, b2, av);                                                             \
            if (NV > 3)                                                                                 \
                DPBUSD512(c##i##3, b3, av);                                                             \
        }                                                                                               \
    }
        ROW512(0) ROW512(1) ROW512(2) ROW512(3) ROW512(4) ROW512(5)
#undef ROW512
    }
    const __m512i acc[6][4] = ACC_ARRAY;
    const __mmask16 *masks = cp->mask;
    __m512i cadd[4];
    for (int j = 0; j < NV; j++)
        cadd[j] = ca ? _mm512_maskz_loadu_epi32(masks[j], ca + 16 * j) : _mm512_setzero_si512();
    if (TR) {
        tr_store(acc, MR_, NV, c, ldc, nvalid, ra, cadd, wrap, rq);
        return;
    }
    /* the common fused case with its choices as constants (no per-vector branches): every row
     * narrow with the fast recipe, half_even, byte output, no wrap */
    if (rq && rq->rows && rq->esize == 1 && wrap >= 32 && rq->rounding == T2C_ROUND_HALF_EVEN &&
        rows_fast(rq->rows, MR_))
        row_store(acc, MR_, NV, c, ldc, ra, cadd, wrap, rq, cp, 1);
    else
        row_store(acc, MR_, NV, c, ldc, ra, cadd, wrap, rq, cp, 0);
}

#define K512(MRV, NVV)                                                                              \
    static T512 void kern512_##MRV##_##NVV(int64_t k4n, const uint8_t *a, size_t astride,           \
                                           const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, \
                                           int nvalid, const int32_t *ra, const int32_t *ca, int wrap, \
                                           const t2c_gemm_requant *rq, const colplan *cp)           \
    {                                                                                               \
        kern512(0, 0, MRV, NVV, k4n, a, astride, b, bblock, c, ldc, nvalid, ra, ca, wrap, rq, cp);  \
    }                                                                                               \
    static T512 void kern512o_##MRV##_##NVV(int64_t k4n, const uint8_t *a, size_t astride,          \
                                            const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, \
                                            int nvalid, const int32_t *ra, const int32_t *ca, int wrap, \
                                            const t2c_gemm_requant *rq, const colplan *cp)          \
    {                                                                                               \
        kern512(0, 1, MRV, NVV, k4n, a, astride, b, bblock, c, ldc, nvalid, ra, ca, wrap, rq, cp);  \
    }
#define K512T(MRV, NVV)                                                                             \
    static T512 void kern512t_##MRV##_##NVV(int64_t k4n, const uint8_t *a, size_t astride,          \
                                            const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, \
                                            int nvalid, const int32_t *ra, const int32_t *ca, int wrap, \
                                            const t2c_gemm_requant *rq, const colplan *cp)          \
    {                                                                                               \
        kern512(1, 0, MRV, NVV, k4n, a, astride, b, bblock, c, ldc, nvalid, ra, ca, wrap, rq, cp);  \
    }
K512(1, 1) K512(1, 2) K512(1, 3) K512(1, 4)
K512(2, 1) K512(2, 2) K512(2, 3) K512(2, 4)
K512(3, 1) K512(3, 2) K512(3, 3) K512(3, 4)
K512(4, 1) K512(4, 2) K512(4, 3) K512(4, 4)
K512(5, 1) K512(5, 2) K512(5, 3) K512(5, 4)
K512(6, 1) K512(6, 2) K512(6, 3) K512(6, 4)
K512T(1, 1) K512T(1, 2) K512T(2, 1) K512T(2, 2) K512T(3, 1) K512T(3, 2)
K512T(4, 1) K512T(4, 2) K512T(5, 1) K512T(5, 2) K512T(6, 1) K512T(6, 2)
#undef K512
#undef K512T

/* Transposed, two A blocks at once: rows 0..5 from block a, rows 6..6+MR2-1 from a + ablock, so
 * each weight vector loaded (from L2 when K is deep) serves 12 pixels instead of 6; 24
 * accumulators + 2 weight vectors + the broadcast fit the 32 registers. */
static inline __attribute__((always_inline)) T512 void
kern512t2(const int MR2, const int NV, int64_t k4n, const uint8_t *a, size_t astride, size_t ablock,
          const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, int nvalid, const int32_t *ra, const int32_t *ca,
          int wrap, const t2c_gemm_requant *rq)
{
    __m512i ACC_NAMES(_mm512_setzero_si512());
    __m512i d00 = c00, d01 = c00, d10 = c00, d11 = c00, d20 = c00, d21 = c00, d30 = c00, d31 = c00, d40 = c00,
            d41 = c00, d50 = c00, d51 = c00;
    for (int64_t k = 0; k < k4n; k++) {
        const uint8_t *bk = b + (size_t)k * 64;
        const __m512i b0 = _mm512_loadu_si512((const void *)bk);
        const __m512i b1 = NV > 1 ? _mm512_loadu_si512((const void *)(bk + bblock)) : b0;
        const uint8_t *ak = a + (size_t)k * astride, *ak2 = ak + ablock;
#define ROWT2(i)                                                                                        \
    {                                                                                                   \
        const __m512i av = _mm512_set1_epi32(load_i32(ak + 4 * i));                                     \
        DPBUSD512(c##i##0, av, b0);                                                                     \
        if (NV > 1)                                                                                     \
            DPBUSD512(c##i##1, av, b1);                                                                 \
    }                                                                                                   \
    if (MR2 > i) {                                                                                      \
        const __m512i av = _mm512_set1_epi32(load_i32(ak2 + 4 * i));                                    \
        DPBUSD512(d##i##0, av, b0);                                                                     \
        if (NV > 1)                                                                                     \
            DPBUSD512(d##i##1, av, b1);                                                                 \
    }
        ROWT2(0) ROWT2(1) ROWT2(2) ROWT2(3) ROWT2(4) ROWT2(5)
#undef ROWT2
        __asm__("" : : "v"(b0), "v"(b1)); /* see kern512 */
    }
    const __m512i acc[6][4] = ACC_ARRAY;
    const __m512i z = _mm512_setzero_si512();
    const __m512i acc2[6][4] = {{d00, d01, z, z}, {d10, d11, z, z}, {d20, d21, z, z},
                                {d30, d31, z, z}, {d40, d41, z, z}, {d50, d51, z, z}};
    const __mmask16 m0 = nvalid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nvalid) - 1);
    const __mmask16 m1 = nvalid >= 32 ? (__mmask16)0xFFFF : nvalid <= 16 ? 0 : (__mmask16)((1u << (nvalid - 16)) - 1);
    __m512i cadd[4] = {z, z, z, z};
    if (ca) {
        cadd[0] = _mm512_maskz_loadu_epi32(m0, ca);
        if (NV > 1)
            cadd[1] = _mm512_maskz_loadu_epi32(m1, ca + 16);
    }
    tr_store(acc, 6, NV, c, ldc, nvalid, ra, cadd, wrap, rq);
    t2c_gemm_requant rq2;
    if (rq) {
        rq2 = *rq;
        rq2.out = (uint8_t *)rq->out + (size_t)6 * (size_t)rq->esize;
    }
    tr_store(acc2, MR2, NV, c + 6, ldc, nvalid, ra ? ra + 6 : NULL, cadd, wrap, rq ? &rq2 : NULL);
}

typedef void (*kern2_fn)(int64_t k4n, const uint8_t *a, size_t astride, size_t ablock, const uint8_t *b,
                         size_t bblock, int32_t *c, int64_t ldc, int nvalid, const int32_t *ra, const int32_t *ca,
                         int wrap, const t2c_gemm_requant *rq);
#define K512T2(MRV, NVV)                                                                                \
    static T512 void kern512t2_##MRV##_##NVV(int64_t k4n, const uint8_t *a, size_t astride, size_t ablock, \
                                             const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc,   \
                                             int nvalid, const int32_t *ra, const int32_t *ca, int wrap, \
                                             const t2c_gemm_requant *rq)                                 \
    {                                                                                                   \
        kern512t2(MRV, NVV, k4n, a, astride, ablock, b, bblock, c, ldc, nvalid, ra, ca, wrap, rq);      \
    }
K512T2(1, 1) K512T2(1, 2) K512T2(2, 1) K512T2(2, 2) K512T2(3, 1) K512T2(3, 2)
K512T2(4, 1) K512T2(4, 2) K512T2(5, 1) K512T2(5, 2) K512T2(6, 1) K512T2(6, 2)
#undef K512T2
static const kern2_fn kern512t2_table[7][3] = {
    [1] = {NULL, kern512t2_1_1, kern512t2_1_2}, [2] = {NULL, kern512t2_2_1, kern512t2_2_2},
    [3] = {NULL, kern512t2_3_1, kern512t2_3_2}, [4] = {NULL, kern512t2_4_1, kern512t2_4_2},
    [5] = {NULL, kern512t2_5_1, kern512t2_5_2}, [6] = {NULL, kern512t2_6_1, kern512t2_6_2},
};

/* transposed store (t2c_gemm_tile.trans): at most 2 vectors */
static const kern_fn kern512t_table[7][3] = {
    [1] = {NULL, kern512t_1_1, kern512t_1_2}, [2] = {NULL, kern512t_2_1, kern512t_2_2},
    [3] = {NULL, kern512t_3_1, kern512t_3_2}, [4] = {NULL, kern512t_4_1, kern512t_4_2},
    [5] = {NULL, kern512t_5_1, kern512t_5_2}, [6] = {NULL, kern512t_6_1, kern512t_6_2},
};

static const kern_fn kern512_table[7][5] = {
    [1] = {NULL, kern512_1_1, kern512_1_2, kern512_1_3, kern512_1_4},
    [2] = {NULL, kern512_2_1, kern512_2_2, kern512_2_3, kern512_2_4},
    [3] = {NULL, kern512_3_1, kern512_3_2, kern512_3_3, kern512_3_4},
    [4] = {NULL, kern512_4_1, kern512_4_2, kern512_4_3, kern512_4_4},
    [5] = {NULL, kern512_5_1, kern512_5_2, kern512_5_3, kern512_5_4},
    [6] = {NULL, kern512_6_1, kern512_6_2, kern512_6_3, kern512_6_4},
};

/* B read in place (t2c_gemm_tile.boff) */
static const kern_fn kern512o_table[7][5] = {
    [1] = {NULL, kern512o_1_1, kern512o_1_2, kern512o_1_3, kern512o_1_4},
    [2] = {NULL, kern512o_2_1, kern512o_2_2, kern512o_2_3, kern512o_2_4},
    [3] = {NULL, kern512o_3_1, kern512o_3_2, kern512o_3_3, kern512o_3_4},
    [4] = {NULL, kern512o_4_1, kern512o_4_2, kern512o_4_3, kern512o_4_4},
    [5] = {NULL, kern512o_5_1, kern512o_5_2, kern512o_5_3, kern512o_5_4},
    [6] = {NULL, kern512o_6_1, kern512o_6_2, kern512o_6_3, kern512o_6_4},
};

/* The column plan of nv vectors from tile column n0 with nvalid valid columns. */
static void plan_columns(colplan *cp, const t2c_gemm_tile *t, int64_t n0, int nv, int nvalid)
{
    for (int j = 0; j < 4; j++) {
        const int cols = j < nv ? nvalid - 16 * j : 0;
        cp->mask[j] = cols >= 16 ? (__mmask16)0xFFFF : cols <= 0 ? (__mmask16)0 : (__mmask16)((1u << cols) - 1);
        cp->nseg[j] = 0;
    }
    cp->mapped = t->vmap != NULL;
    cp->boff = t->boff;
    if (!t->vmap)
        return;
    const t2c_gemm_vmap *vm = t->vmap;
    for (int j = 0; j < nv && cp->mask[j]; j++) {
        const int64_t q = vm->q0 + n0 + 16 * j;
        int64_t oh = q / vm->pitch, ow = q % vm->pitch;
        for (int lane = 0; lane < 16;) {
            const int run = (int)(vm->pitch - ow < 16 - lane ? vm->pitch - ow : 16 - lane);
            if (ow < vm->width) {
                const int valid = (int)(vm->width - ow < run ? vm->width - ow : run);
                const __mmask16 m = (__mmask16)((((1u << valid) - 1) << lane) & cp->mask[j]);
                if (m) {
                    cp->smask[j][cp->nseg[j]] = m;
                    cp->soff[j][cp->nseg[j]++] = oh * vm->width + ow - lane;
                }
            }
            lane += run, oh++, ow = 0;
        }
    }
}

static void tile512(const t2c_gemm_tile *t)
{
    const int64_t k4n = t2c_gemm_k4(t->K);
    const size_t astride = MR * 4, ablock = (size_t)k4n * astride, bblock = t->boff ? 64 : (size_t)k4n * 64;
    /* in place: up to 6 x 4 tiles (24 register-bound accumulators, 10 loads per 24 vpdpbusd),
     * measured 3-6 % faster end to end on ResNet-18 than 6 x 2; the packed path measured no gain */
    const int nvmax = t->boff ? 4 : t->m >= 5 || t->trans ? 2 : t->m == 4 ? 3 : 4;
    const kern_fn(*table)[5] = t->boff ? kern512o_table : kern512_table;
    for (int64_t n0 = 0; n0 < t->n; n0 += 16 * nvmax) {
        const int64_t left = t->n - n0;
        const int nvalid = left < 16 * nvmax ? (int)left : 16 * nvmax;
        const int nv = (nvalid + 15) / 16;
        const uint8_t *b = t->b + (size_t)(n0 / 16) * bblock;
        colplan cp;
        plan_columns(&cp, t, n0, nv, nvalid);
        /* dense columns: pointers at column n0; mapped columns: at the row start */
        const int64_t cshift = t->vmap ? 0 : n0;
        for (int64_t m0 = 0; m0 < t->m; m0 += MR) {
            const int mr = t->m - m0 < MR ? (int)(t->m - m0) : MR;
            t2c_gemm_requant rq;
            if (t->trans && t->m - m0 > MR) {
                /* two row blocks: a full one and the next (1..6 rows) */
                const int mr2 = t->m - m0 - MR < MR ? (int)(t->m - m0 - MR) : MR;
                if (t->rq) {
                    rq = *t->rq;
                    rq.cols += (n0 / 16) * T2C_VREQ_COLS;
                    rq.out = (uint8_t *)rq.out + (size_t)(n0 * rq.ldo + m0) * (size_t)rq.esize;
                }
                kern512t2_table[mr2][nv](k4n, (const uint8_t *)t->a + (size_t)(m0 / MR) * ablock, astride, ablock, b,
                                         bblock, t->c + n0 * t->ldc + m0, t->ldc, nvalid,
                                         t->row_add ? t->row_add + m0 : NULL, t->col_add ? t->col_add + n0 : NULL,
                                         t->wrap_bits, t->rq ? &rq : NULL);
                m0 += MR;
                continue;
            }
            if (t->trans) {
                /* tile (m, n) at c[n * ldc + m]; per-channel parameters follow n */
                if (t->rq) {
                    rq = *t->rq;
                    rq.cols += (n0 / 16) * T2C_VREQ_COLS;
                    rq.out = (uint8_t *)rq.out + (size_t)(n0 * rq.ldo + m0) * (size_t)rq.esize;
                }
                kern512t_table[mr][nv](k4n, (const uint8_t *)t->a + (size_t)(m0 / MR) * ablock, astride, b, bblock,
                                       t->c + n0 * t->ldc + m0, t->ldc, nvalid, t->row_add ? t->row_add + m0 : NULL,
                                       t->col_add ? t->col_add + n0 : NULL, t->wrap_bits, t->rq ? &rq : NULL, &cp);
                continue;
            }
            if (t->rq) {
                rq = *t->rq;
                rq.mult += m0, rq.shift += m0, rq.offset += m0;
                if (rq.rows)
                    rq.rows += m0 * T2C_VREQ_ROW;
                rq.out = (uint8_t *)rq.out + (size_t)(m0 * rq.ldo + cshift) * (size_t)rq.esize;
            }
            table[mr][nv](k4n, (const uint8_t *)t->a + (size_t)(m0 / MR) * ablock, astride, b, bblock,
                          t->c + m0 * t->ldc + cshift, t->ldc, nvalid, t->row_add ? t->row_add + m0 : NULL,
                          t->col_add ? t->col_add + n0 : NULL, t->wrap_bits, t->rq ? &rq : NULL, &cp);
        }
    }
}

/* ---- AVX-VNNI (VEX, 256-bit): vector j = 8 columns, half (j % 2) of B block j / 2.
 * Target avxvnni without avx512vl, so GCC must use the VEX encoding ({vex} vpdpbusd). ---- */
#define TVNNI __attribute__((target("avx2,avxvnni")))

static inline __attribute__((always_inline)) TVNNI __m256i mask8(int cols)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) TVNNI void
kernvnni(const int MR_, const int NV, int64_t k4n, const uint8_t *a, size_t astride, const uint8_t *b,
         size_t bblock, int32_t *c, int64_t ldc, int nvalid, const int32_t *ra, const int32_t *ca, int wrap)
{
    __m256i ACC_NAMES(_mm256_setzero_si256());
    for (int64_t k = 0; k < k4n; k++) {
        const uint8_t *bk = b + (size_t)k * 64;
        /* vector j: half j % 2 of block j / 2 */
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)bk);
        const __m256i b1 = NV > 1 ? _mm256_loadu_si256((const __m256i *)(bk + 32)) : b0;
        const __m256i b2 = NV > 2 ? _mm256_loadu_si256((const __m256i *)(bk + bblock)) : b0;
        const __m256i b3 = NV > 3 ? _mm256_loadu_si256((const __m256i *)(bk + bblock + 32)) : b0;
        const uint8_t *ak = a + (size_t)k * astride;
#define ROW256(i)                                                                                       \
    if (MR_ > i) {                                                                                      \
        const __m256i av = _mm256_set1_epi32(load_i32(ak + 4 * i));                                     \
        DPBUSD256(c##i##0, b0, av);                                                                     \
        if (NV > 1)                                                                                     \
            DPBUSD256(c##i##1, b1, av);                                                                 \
        if (NV > 2)                                                                                     \
            DPBUSD256(c##i##2, b2, av);                                                                 \
        if (NV > 3)                                                                                     \
            DPBUSD256(c##i##3, b3, av);                                                                 \
    }
        ROW256(0) ROW256(1) ROW256(2) ROW256(3) ROW256(4) ROW256(5)
#undef ROW256
    }
    const __m256i acc[6][4] = ACC_ARRAY;
    for (int j = 0; j < NV; j++) {
        const int cols = nvalid - 8 * j;
        if (cols <= 0)
            break;
        const __m256i mask = mask8(cols);
        const __m256i cadd = ca ? _mm256_maskload_epi32(ca + 8 * j, mask) : _mm256_setzero_si256();
        for (int i = 0; i < MR_; i++) {
            __m256i v = _mm256_add_epi32(acc[i][j], cadd);
            if (ra)
                v = _mm256_add_epi32(v, _mm256_set1_epi32(ra[i]));
            if (wrap < 32)
                v = _mm256_srai_epi32(_mm256_slli_epi32(v, 32 - wrap), 32 - wrap);
            _mm256_maskstore_epi32(c + i * ldc + 8 * j, mask, v);
        }
    }
}

#define KVNNI(MRV, NVV)                                                                               \
    static TVNNI void kernvnni_##MRV##_##NVV(int64_t k4n, const uint8_t *a, size_t astride,           \
                                             const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, \
                                             int nvalid, const int32_t *ra, const int32_t *ca, int wrap, \
                                             const t2c_gemm_requant *rq, const colplan *cp)           \
    {                                                                                                 \
        (void)rq, (void)cp;                                                                           \
        kernvnni(MRV, NVV, k4n, a, astride, b, bblock, c, ldc, nvalid, ra, ca, wrap);                 \
    }
KVNNI(1, 1) KVNNI(1, 2) KVNNI(1, 3) KVNNI(1, 4)
KVNNI(2, 1) KVNNI(2, 2) KVNNI(2, 3) KVNNI(2, 4)
KVNNI(3, 1) KVNNI(3, 2)
KVNNI(4, 1) KVNNI(4, 2)
KVNNI(5, 1) KVNNI(5, 2)
KVNNI(6, 1) KVNNI(6, 2)
#undef KVNNI

static const kern_fn kernvnni_table[7][5] = {
    [1] = {NULL, kernvnni_1_1, kernvnni_1_2, kernvnni_1_3, kernvnni_1_4},
    [2] = {NULL, kernvnni_2_1, kernvnni_2_2, kernvnni_2_3, kernvnni_2_4},
    [3] = {NULL, kernvnni_3_1, kernvnni_3_2, NULL, NULL},
    [4] = {NULL, kernvnni_4_1, kernvnni_4_2, NULL, NULL},
    [5] = {NULL, kernvnni_5_1, kernvnni_5_2, NULL, NULL},
    [6] = {NULL, kernvnni_6_1, kernvnni_6_2, NULL, NULL},
};

static void tilevnni(const t2c_gemm_tile *t)
{
    const int64_t k4n = t2c_gemm_k4(t->K);
    const size_t astride = MR * 4, ablock = (size_t)k4n * astride, bblock = (size_t)k4n * 64;
    const int nvmax = t->m <= 2 ? 4 : 2; /* even: every chunk starts on a B block */
    for (int64_t n0 = 0; n0 < t->n; n0 += 8 * nvmax) {
        const int64_t left = t->n - n0;
        const int nvalid = left < 8 * nvmax ? (int)left : 8 * nvmax;
        const int nv = (nvalid + 7) / 8;
        const uint8_t *b = t->b + (size_t)(n0 / 16) * bblock;
        for (int64_t m0 = 0; m0 < t->m; m0 += MR) {
            const int mr = t->m - m0 < MR ? (int)(t->m - m0) : MR;
            kernvnni_table[mr][nv](k4n, (const uint8_t *)t->a + (size_t)(m0 / MR) * ablock, astride, b, bblock,
                                   t->c + m0 * t->ldc + n0, t->ldc, nvalid, t->row_add ? t->row_add + m0 : NULL,
                                   t->col_add ? t->col_add + n0 : NULL, t->wrap_bits, NULL, NULL);
        }
    }
}

/* ---- AVX2: vector j = 8 columns as above; each 32-bit lane (b0 b1 b2 b3) is split into the
 * int16 pairs (b0, b2) = lane & 0x00FF00FF and (b1, b3) = lane >> 8 per 16-bit half, multiplied
 * by A's packed pairs (a0, a2), (a1, a3) with vpmaddwd. Rows in groups of 3 (16 ymm registers). */
#define TAVX2 __attribute__((target("avx2")))

static inline __attribute__((always_inline)) TAVX2 void
kernavx2(const int MR_, const int NV, int64_t k4n, const uint8_t *a, size_t astride, const uint8_t *b,
         size_t bblock, int32_t *c, int64_t ldc, int nvalid, const int32_t *ra, const int32_t *ca, int wrap)
{
    __m256i acc[3][2];
    const __m256i lo = _mm256_set1_epi32(0x00FF00FF);
    for (int i = 0; i < MR_; i++)
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm256_setzero_si256();
    for (int64_t k = 0; k < k4n; k++) {
        __m256i bev[2], bod[2];
        for (int j = 0; j < NV; j++) {
            const __m256i raw = _mm256_loadu_si256(
                (const __m256i *)(b + (size_t)(j / 2) * bblock + (size_t)k * 64 + (size_t)(j % 2) * 32));
            bev[j] = _mm256_and_si256(raw, lo);
            bod[j] = _mm256_srli_epi16(raw, 8);
        }
        const uint8_t *ak = a + (size_t)k * astride;
        for (int i = 0; i < MR_; i++) {
            const __m256i aev = _mm256_set1_epi32(load_i32(ak + 8 * i));
            const __m256i aod = _mm256_set1_epi32(load_i32(ak + 8 * i + 4));
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_add_epi32(_mm256_madd_epi16(bev[j], aev),
                                                                         _mm256_madd_epi16(bod[j], aod)));
        }
    }
    for (int j = 0; j < NV; j++) {
        const int cols = nvalid - 8 * j;
        if (cols <= 0)
            break;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256i cadd = ca ? _mm256_maskload_epi32(ca + 8 * j, mask) : _mm256_setzero_si256();
        for (int i = 0; i < MR_; i++) {
            __m256i v = _mm256_add_epi32(acc[i][j], cadd);
            if (ra)
                v = _mm256_add_epi32(v, _mm256_set1_epi32(ra[i]));
            if (wrap < 32)
                v = _mm256_srai_epi32(_mm256_slli_epi32(v, 32 - wrap), 32 - wrap);
            _mm256_maskstore_epi32(c + i * ldc + 8 * j, mask, v);
        }
    }
}

#define KAVX2(MRV, NVV)                                                                               \
    static TAVX2 void kernavx2_##MRV##_##NVV(int64_t k4n, const uint8_t *a, size_t astride,           \
                                             const uint8_t *b, size_t bblock, int32_t *c, int64_t ldc, \
                                             int nvalid, const int32_t *ra, const int32_t *ca, int wrap, \
                                             const t2c_gemm_requant *rq, const colplan *cp)           \
    {                                                                                                 \
        (void)rq, (void)cp;                                                                           \
        kernavx2(MRV, NVV, k4n, a, astride, b, bblock, c, ldc, nvalid, ra, ca, wrap);                 \
    }
KAVX2(1, 1) KAVX2(1, 2) KAVX2(2, 1) KAVX2(2, 2) KAVX2(3, 1) KAVX2(3, 2)
#undef KAVX2

static const kern_fn kernavx2_table[4][3] = {
    [1] = {NULL, kernavx2_1_1, kernavx2_1_2},
    [2] = {NULL, kernavx2_2_1, kernavx2_2_2},
    [3] = {NULL, kernavx2_3_1, kernavx2_3_2},
};

static void tileavx2(const t2c_gemm_tile *t)
{
    const int64_t k4n = t2c_gemm_k4(t->K);
    const size_t astride = MR * 8, ablock = (size_t)k4n * astride, bblock = (size_t)k4n * 64;
    for (int64_t n0 = 0; n0 < t->n; n0 += 16) {
        const int64_t left = t->n - n0;
        const int nvalid = left < 16 ? (int)left : 16;
        const int nv = (nvalid + 7) / 8;
        const uint8_t *b = t->b + (size_t)(n0 / 16) * bblock;
        for (int64_t m0 = 0; m0 < t->m; m0 += 3) {
            const int mr = t->m - m0 < 3 ? (int)(t->m - m0) : 3;
            const uint8_t *a = (const uint8_t *)t->a + (size_t)(m0 / MR) * ablock + (size_t)(m0 % MR) * 8;
            kernavx2_table[mr][nv](k4n, a, astride, b, bblock, t->c + m0 * t->ldc + n0, t->ldc, nvalid,
                                   t->row_add ? t->row_add + m0 : NULL, t->col_add ? t->col_add + n0 : NULL,
                                   t->wrap_bits, NULL, NULL);
        }
    }
}

void t2c_gemm_tile_run(t2c_simd_isa isa, const t2c_gemm_tile *t)
{
    if (t->m <= 0 || t->n <= 0)
        return;
    switch (isa) {
    case T2C_SIMD_AVX512VNNI: tile512(t); break;
    case T2C_SIMD_AVXVNNI: tilevnni(t); break;
    default: tileavx2(t); break;
    }
}
