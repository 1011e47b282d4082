/* t2c_gemm.h — the exact int8 GEMM core of the SIMD kernel variants (issue 7).
 *
 *   C[m][n] = wrap32( sum_k A[m][k] * B[k][n] + row_add[m] + col_add[n] )
 *
 * with A int8 (-128..127) and B uint8 (0..255). Every product and every 4-term group is exact
 * in int32 (|a*b| <= 32640); the int32 sums wrap modulo 2^32, which is a ring homomorphism, so
 * the result is the exact integer whenever the true value lies in int32 — and the variants only
 * use the core when the op's accumulator bound proves it does (or the policy is "wrap", whose
 * result is the true value modulo 2^acc_bits: wrap_bits then sign-extends from that width).
 *
 * Callers turn (x - x_zp)(w - w_zp) with any int/uint 8-bit operands into this form exactly:
 * an unsigned operand used as A is shifted by -128 (byte XOR 0x80), a signed one used as B by
 * +128, the zero points shifted alike; then
 *   sum (a - za)(b - zb) = sum ab - zb*sum_k a - za*sum_k b + K*za*zb
 * where the last three terms go to row_add / col_add (computed mod 2^32 as well).
 *
 * Packed layouts (block sizes fixed for every ISA):
 *   A: blocks of T2C_GEMM_MR rows; block i holds, for each group of 4 k (k4 = 0..K4-1), the
 *      MR rows' 4 bytes: [K4][MR][4] int8 (AVX2: [K4][MR][2] int32, each the int16 pairs
 *      (a0, a2) and (a1, a3)). Rows >= M and k >= K are 0.
 *   B: blocks of T2C_GEMM_NB = 16 columns; block j is [K4][16][4] uint8: byte q of column c at
 *      k4 is B[4*k4 + q][16*j + c]. k >= K may hold anything (A is 0 there).
 */
#ifndef T2C_GEMM_H
#define T2C_GEMM_H

#include <stddef.h>
#include <stdint.h>

#define T2C_GEMM_MR 6
#define T2C_GEMM_NB 16

typedef enum t2c_simd_isa {
    T2C_SIMD_AVX2 = 0,       /* vpmaddwd on zero/sign-extended int16 pairs (exact) */
    T2C_SIMD_AVXVNNI = 1,    /* VEX vpdpbusd ymm */
    T2C_SIMD_AVX512VNNI = 2, /* EVEX vpdpbusd zmm */
    T2C_SIMD_ISA_COUNT
} t2c_simd_isa;

/* The highest ISA the kernels may use: T2C_SIMD_ISA_COUNT - 1 unless the environment variable
 * T2C_MAX_ISA (read once) lowers it to avx512vnni, avxvnni, avx2 or none (-1; also for an unknown
 * name), so the variants a lesser CPU would pick can be run, tested and timed on this one. */
int t2c_simd_max_isa(void);

/* 1 when this CPU (and OS) runs the ISA's kernels and T2C_MAX_ISA allows it. Cached after the
 * first call. */
int t2c_simd_supported(t2c_simd_isa isa);
const char *t2c_simd_isa_name(t2c_simd_isa isa); /* "avx2", "avxvnni", "avx512vnni" */

static inline int64_t t2c_gemm_k4(int64_t K) { return (K + 3) / 4; }
static inline int64_t t2c_gemm_mblocks(int64_t M) { return (M + T2C_GEMM_MR - 1) / T2C_GEMM_MR; }
static inline int64_t t2c_gemm_nblocks(int64_t N) { return (N + T2C_GEMM_NB - 1) / T2C_GEMM_NB; }
/* Bytes of one packed A block / one packed B block. */
static inline size_t t2c_gemm_a_block_bytes(t2c_simd_isa isa, int64_t K)
{
    return (size_t)t2c_gemm_k4(K) * T2C_GEMM_MR * (isa == T2C_SIMD_AVX2 ? 8 : 4);
}
static inline size_t t2c_gemm_b_block_bytes(int64_t K) { return (size_t)t2c_gemm_k4(K) * 64; }

/* Pack rows [0, M) of A, element (m, k) at src[m*lda + k], into `dst` (mblocks(M) blocks).
 * src_unsigned: the source bytes are uint8 and are shifted to int8 by -128. row_sums (M values,
 * may be NULL) receive sum_k of the packed (shifted) values. */
void t2c_gemm_pack_a(t2c_simd_isa isa, const void *src, int64_t lda, int src_unsigned, int64_t M,
                     int64_t K, void *dst, int32_t *row_sums);

/* Pack 4 consecutive rows of B (k = 4*k4 .. 4*k4+3; pass NULL for rows >= K) over columns
 * [0, ncols) into the packed panel `dst` (which starts at column block 0, blocks of bblock bytes)
 * at group k4. ncols is rounded up to 16 with whatever the rows hold (rows must be readable
 * for a multiple of 16 columns). xor_80: flip bit 7 of every byte (signed -> uint8 shifted by
 * +128). */
void t2c_gemm_pack_b4(const uint8_t *const rows[4], int64_t ncols, int xor_80, uint8_t *dst,
                      int64_t k4, size_t bblock);

/* Add column sums of 4 rows of B (after xor_80) to sums[0..ncols); NULL rows are skipped. */
void t2c_gemm_col_sums4(const uint8_t *const rows[4], int64_t ncols, int xor_80, int32_t *sums);

/* Optional requantize epilogue (AVX-512 VNNI only): instead of storing C, store
 * clamp(clamp(scale_round(C, mult[m], offset[m], shift[m], rounding), -2^62, 2^62) + zero_point,
 * lo, hi) — t2c_requantize_ref's recipe with per-row (output channel) parameters. */
typedef struct t2c_gemm_requant {
    const int64_t *mult, *shift, *offset; /* per row of the tile (index 0 = the tile's first row) */
    int rounding;                         /* t2c_rounding */
    int64_t zero_point, lo, hi;
    void *out;                            /* the tile's first element */
    int64_t ldo;                          /* row stride in elements */
    int esize;                            /* 1, 2 or 4 bytes per element */
    const int64_t *rows; /* optional: T2C_VREQ_ROW values per row (t2c_vreq_row_pack, t2c_vscale.h)
                          * precomputed from the above; NULL = computed per tile */
    /* trans tiles: the channel is the column; T2C_VREQ_COLS values per 16 columns
     * (t2c_vreq_cols_pack), with flags for all of them */
    const int64_t *cols;
    int cols_general, cols_narrow;
} t2c_gemm_requant;

/* Optional column map (AVX-512 VNNI only): tile column n is the "virtual" column q = q0 + n of a
 * grid with `pitch` columns per row, of which the first `width` are real: C's element for q lives
 * at dense index (q / pitch) * width + q % pitch of the row, and columns q % pitch >= width are
 * dropped. c / rq->out then point at the start of the row's dense data (column index 0). */
typedef struct t2c_gemm_vmap {
    int64_t q0, pitch, width;
} t2c_gemm_vmap;

typedef struct t2c_gemm_tile {
    const void *a;          /* packed A, first block of the tile (rows m0 = block start) */
    const uint8_t *b;       /* packed B, first column block of the tile */
    int64_t K;              /* depth (the packed K4 = t2c_gemm_k4(K)) */
    int64_t m, n;           /* rows, columns to compute (from the tile's first row/column) */
    int32_t *c;             /* C[0][0] of the tile */
    int64_t ldc;
    const int32_t *row_add; /* m values, or NULL */
    const int32_t *col_add; /* n values, or NULL */
    int wrap_bits;          /* 2..32: result sign-extended from this width (32 = plain int32) */
    const t2c_gemm_requant *rq; /* NULL: store C (int32); else requantize (AVX-512 VNNI only) */
    const t2c_gemm_vmap *vmap;  /* NULL: columns are dense */
    int trans;                  /* AVX-512 VNNI only, vmap NULL: A is unsigned (uint8, as B is
                                 * otherwise) and B signed (int8 bytes), and element (m, n) is
                                 * stored at c[n * ldc + m] / rq->out[n * ldo + m] with rq->cols */
    const int64_t *boff;        /* AVX-512 VNNI only, trans 0: B read in place, not packed: group
                                 * k4 of column block j is the 64 bytes at b + boff[k4] + 64 * j
                                 * (a channel-interleaved input, conv2d_simd.c); NULL: packed B */
} t2c_gemm_tile;

/* Compute one tile with the ISA's kernels (the ISA must be supported). */
void t2c_gemm_tile_run(t2c_simd_isa isa, const t2c_gemm_tile *t);

#endif /* T2C_GEMM_H */
