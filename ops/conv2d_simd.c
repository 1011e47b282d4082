/* conv2d_simd.c — conv2d as an exact int8 GEMM per image and group (t2c_gemm.h core), for
 * AVX-512 VNNI, AVX-VNNI and AVX2.
 *
 * C[co][p] = sum_k W[co][k] * X'[k][p] over k = (ci, kh, kw), p = (oh, ow), where X' is the
 * im2col matrix of the input as uint8 (signed inputs shifted by +128, byte XOR 0x80) with
 * padded positions holding the (shifted) zero point zb. With za = w_zero_point:
 *   y = sum_k (W - za)(X' - zb) + bias = C + [bias - zb*sum_k W + K*za*zb] - za*sum_k X'
 * which is the recipe's sum exactly: padded positions contribute (zb - zb)(W - za) = 0 as in
 * the recipe, and the bracket (per output channel, from the constant weights) and the column
 * term (per pixel, only when za != 0) are added modulo 2^32 in the GEMM epilogue. Exactness of
 * the modulo-2^32 sum: see t2c_gemm.h and t2c_acc_fast_ok (t2c_kernels.h).
 *
 * Work items (image, group, pixel chunk, row chunk) go to threads in contiguous runs; each item
 * packs its own pixel chunk (reused while the next item on the thread has the same chunk), so
 * no item depends on another and each output is written by exactly one thread.
 *
 * Packing the pixel chunk (the im2col matrix in the GEMM's B layout) is one of four paths:
 *   direct  — 1x1, stride 1, no padding: the rows are the input planes (interleaved by SSE2);
 *   virtual — AVX-512, stride 1 or 2 (equal in both directions): the input is first copied
 *             once (a parallel pass) into planes bordered by the zero point, split for stride 2
 *             into its four phases (even/odd rows x even/odd columns), in which a stride-2 tap
 *             is a stride-1 shift: input (2*oh + kh*dh, 2*ow + kw*dw) is phase
 *             ((kh*dh) % 2, (kw*dw) % 2) at (oh + (kh*dh)/2, ow + (kw*dw)/2). The GEMM columns
 *             are the grid q = oh*Wq + ow of the (phase) plane pitch Wq, so every im2col row is
 *             one contiguous run (64 columns = one load per row); the epilogue drops the grid
 *             columns ow >= Wo (t2c_gemm_vmap);
 *   in place — the virtual path with w_zero_point 0 and input channels per group a multiple of 4
 *             (ResNet's 3x3 convs): nothing is packed. The pad pass writes the planes
 *             channel-interleaved by 4 as uint8 ([Cin / 4][phases][grid][4 channels], borders =
 *             the shifted zero point) and A's k is reordered to (channel quad, kh, kw, ci % 4),
 *             so group k4 of 16 grid columns is one 64-byte load at a per-k4 offset: exactly a
 *             B block (t2c_gemm_tile.boff). The transposed tiles compress their pixels from
 *             there as well. (za != 0 needs per-column sums of B: packed path.)
 *   generic — any other geometry: t2c_im2col_row into a temporary row, then interleaved.
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "requantize.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_im2col.h"
#include "t2c_kernels.h"
#include "t2c_vscale.h"

#define PANEL_BYTES (512 * 1024) /* packed pixel chunk kept in L2 */
#define PIX_RING 4 /* transposed path: compressed rows in flight; a row is read back PIX_RING - 1
                    * steps after its stores (an immediate reload would miss store forwarding) */

typedef struct conv_simd {
    t2c_simd_isa isa;
    t2c_im2col geo;
    int64_t N, Cout, G, cout_g, K, P;
    int xor_80;        /* signed input */
    int32_t za;        /* w_zero_point: 0 = no column term */
    int wrap_bits;
    uint8_t *a;        /* packed weights, one group after another */
    size_t a_group, a_block, b_block;
    int32_t *row_add;  /* Cout */
    int64_t pblk, np;  /* pixel chunk in 16-column blocks; number of chunks */
    int64_t mrows, nm; /* rows per row chunk (a multiple of T2C_GEMM_MR); number of row chunks */
    size_t per_thread; /* scratch bytes per thread */
    /* virtual path */
    int virt;          /* 1: columns are the grid q = oh * Wq + ow of the padded (phase) planes */
    int64_t ps;        /* stride = number of phases per direction (1 or 2) */
    int64_t Hp, Wp, bottom, right; /* padded plane */
    int64_t Hq, Wq, plane; /* phase plane; bytes of all ps*ps phases of one channel */
    int phases_used;   /* bit (r % 2) * 2 + (c % 2): a tap reads that phase (stride 2) */
    int64_t *koff;     /* per k: offset of (ci, kh, kw) from a group's first plane */
    /* in place (quad): the padded planes are channel-interleaved by 4 ([Cin / 4][phases][grid]
     * [4 channels]) and A's k runs (channel quad, kh, kw, channel % 4), so the 16 grid columns
     * of one k4 are one 64-byte load in the B block layout: the GEMM reads B where it lies */
    int quad;
    int64_t plane4;    /* bytes of one channel quad's ps*ps interleaved phases */
    int64_t *boff;     /* per k4: offset of (quad, kh, kw) from a group's first quad */
    int64_t ncols;     /* GEMM columns per image and group: P, or (Ho - 1) * Wq + Wo */
    size_t pad_bytes;  /* shared padded input, at the start of the scratch */
    /* transposed GEMM (virtual path, one group): output channels in the vector lanes, pixels
     * broadcast, so 7x7 outputs cost 9 blocks of 6 pixels instead of 4 blocks of 16 grid columns */
    int trans;
    uint8_t *wt;        /* weights in the B layout: blocks of 16 channels, int8 bytes */
    __mmask16 *qmask;   /* per 16 grid columns: the kept ones (ow < Wo) */
    size_t pix_bytes;   /* packed pixels (A layout), per thread */
    /* requantize fused into the epilogue (fuse_prepare) */
    t2c_node *rq_node;
    int64_t *rq_params; /* 3 x Cout: multiplier, shift, offset per output channel; then the rows */
    t2c_gemm_requant rq;
} conv_simd;

#define T512BW __attribute__((target("avx512f,avx512bw,avx512vl")))

static int conv_simd_ok(const t2c_node *node, t2c_simd_isa isa, int *wrap_bits)
{
    if (!t2c_simd_supported(isa))
        return 0;
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    if (!w->is_const || !w->data || (b && (!b->is_const || !b->data)))
        return 0; /* weights are packed once, at session creation */
    const int64_t K = w->dims[1] * w->dims[2] * w->dims[3];
    const int64_t max_prod = t2c_max_abs_diff(x->dtype, p->x_zero_point) * t2c_max_abs_diff(w->dtype, p->w_zero_point);
    return t2c_acc_fast_ok(t2c_max_abs_i32(b), K, max_prod, p->acc_bits, p->overflow, wrap_bits);
}

static void conv_simd_release(void *state)
{
    conv_simd *s = state;
    if (!s)
        return;
    free(s->a);
    free(s->row_add);
    free(s->koff);
    free(s->boff);
    free(s->rq_params);
    free(s->wt);
    free(s->qmask);
    free(s);
}

/* Per-thread packed pixel chunk (none when B is read in place). */
static size_t panel_bytes(const conv_simd *s)
{
    return s->quad ? 0 : t2c_align64((size_t)s->pblk * s->b_block);
}

static t2c_status conv_simd_prepare(t2c_node *node, void **state, t2c_error *err, t2c_simd_isa isa)
{
    const t2c_conv2d_params *p = node->params;
    const t2c_tensor *x = node->inputs[0], *w = node->inputs[1], *y = node->outputs[0];
    const t2c_tensor *bias = node->n_inputs > 2 ? node->inputs[2] : NULL;
    conv_simd *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    s->isa = isa;
    conv_simd_ok(node, isa, &s->wrap_bits);
    t2c_im2col_init(&s->geo, p, x, w, y);
    s->N = x->dims[0], s->Cout = w->dims[0], s->G = p->group, s->cout_g = s->Cout / s->G;
    s->K = w->dims[1] * w->dims[2] * w->dims[3], s->P = y->dims[2] * y->dims[3];
    s->xor_80 = x->dtype == T2C_INT8 || x->dtype == T2C_INT4;
    s->za = (int32_t)p->w_zero_point;
    const int64_t zb = p->x_zero_point + (s->xor_80 ? 128 : 0);

    /* weights: A = W per group, signed; row_add = bias - zb*sum_k W + K*za*zb (mod 2^32) */
    s->a_block = t2c_gemm_a_block_bytes(isa, s->K);
    s->a_group = s->a_block * (size_t)t2c_gemm_mblocks(s->cout_g);
    s->b_block = t2c_gemm_b_block_bytes(s->K);
    s->a = aligned_alloc(64, t2c_align64(s->a_group * (size_t)s->G));
    s->row_add = malloc(sizeof(int32_t) * (size_t)s->Cout);
    if (!s->a || !s->row_add) {
        conv_simd_release(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory packing weights");
    }
    const t2c_im2col *geo = &s->geo;
    s->virt = isa == T2C_SIMD_AVX512VNNI && !geo->direct && geo->sw == geo->sh && (geo->sw == 1 || geo->sw == 2);
    /* the in-place B has no column sums (za != 0) and no partial channel quads */
    s->quad = s->virt && s->za == 0 && geo->cin_g % 4 == 0;
    const int8_t *wd = w->data;
    int8_t *wq = NULL;
    if (s->quad) {
        /* k = (ci, kh, kw) -> ((ci / 4, kh, kw), ci % 4) */
        const int64_t taps = geo->KH * geo->KW;
        wq = malloc((size_t)(s->Cout * s->K));
        if (!wq) {
            conv_simd_release(s);
            return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory packing weights");
        }
        for (int64_t co = 0; co < s->Cout; co++)
            for (int64_t k = 0; k < s->K; k++) {
                const int64_t ci = k / taps, t = k % taps;
                wq[co * s->K + ((ci / 4) * taps + t) * 4 + ci % 4] = wd[co * s->K + k];
            }
        wd = wq;
    }
    const int32_t *bd = bias ? bias->data : NULL;
    for (int64_t g = 0; g < s->G; g++) {
        int32_t *sums = s->row_add + g * s->cout_g;
        t2c_gemm_pack_a(isa, wd + g * s->cout_g * s->K, s->K, 0, s->cout_g, s->K, s->a + (size_t)g * s->a_group, sums);
        for (int64_t m = 0; m < s->cout_g; m++) {
            const int64_t co = g * s->cout_g + m;
            const int64_t v = (bd ? bd[co] : 0) - zb * sums[m] + s->K * (int64_t)s->za * zb;
            sums[m] = (int32_t)(uint32_t)(uint64_t)v;
        }
    }

    s->ncols = s->P;
    if (s->virt) {
        const int64_t ps = s->ps = geo->sw;
        s->bottom = p->pad_bottom, s->right = p->pad_right;
        s->Hp = geo->H + geo->top + s->bottom, s->Wp = geo->W + geo->left + s->right;
        s->Hq = (s->Hp + ps - 1) / ps, s->Wq = (s->Wp + ps - 1) / ps;
        s->plane = ps * ps * s->Hq * s->Wq;
        /* + one channel of slack: the grid reads run up to a plane past the last one */
        s->pad_bytes = t2c_align64((size_t)((s->N * geo->Cin + 1) * s->plane) + 128);
        s->koff = malloc(sizeof(int64_t) * (size_t)s->K);
        s->boff = malloc(sizeof(int64_t) * (size_t)t2c_gemm_k4(s->K));
        if (!s->koff || !s->boff) {
            free(wq);
            conv_simd_release(s);
            return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        }
        for (int64_t k = 0; k < s->K; k++) {
            const int64_t kw = k % geo->KW, kh = (k / geo->KW) % geo->KH, ci = k / (geo->KW * geo->KH);
            const int64_t r = kh * geo->dh, c = kw * geo->dw;
            s->koff[k] = ci * s->plane + ((r % ps) * ps + c % ps) * s->Hq * s->Wq + (r / ps) * s->Wq + c / ps;
            s->phases_used |= 1 << ((r % ps) * ps + c % ps);
        }
        s->ncols = (geo->Ho - 1) * s->Wq + geo->Wo;
        if (s->quad) {
            s->plane4 = 4 * s->plane;
            /* grid reads run past a quad's last phase by less than a plane4 (as above) */
            s->pad_bytes = t2c_align64((size_t)((s->N * geo->Cin / 4 + 1) * s->plane4) + 256);
            const int64_t taps = geo->KH * geo->KW;
            for (int64_t k4 = 0; k4 < s->K / 4; k4++) {
                const int64_t t = k4 % taps, kw = t % geo->KW, kh = t / geo->KW;
                const int64_t r = kh * geo->dh, c = kw * geo->dw;
                s->boff[k4] = (k4 / taps) * s->plane4 +
                              4 * (((r % ps) * ps + c % ps) * s->Hq * s->Wq + (r / ps) * s->Wq + c / ps);
            }
        }
    }

    /* work plan */
    const int T = t2c_exec_threads(node->exec);
    const int64_t nblocks = t2c_gemm_nblocks(s->ncols), NG = s->N * s->G;
    int64_t maxblk = (int64_t)(PANEL_BYTES / s->b_block);
    maxblk = maxblk < 2 ? 2 : maxblk;
    if (s->virt && s->G == 1 && nblocks <= maxblk) {
        /* lanes computed: channels padded to 16 x pixels to 6, against rows to 6 x grid to 16;
         * the transposed epilogue stores element by element, ~200 cycles more per 6x32 tile than
         * the ~6 * k4 of its loop, so it pays only with a deep K (layers 3-4 of ResNets) */
        const int64_t normal = t2c_gemm_mblocks(s->Cout) * T2C_GEMM_MR * nblocks * T2C_GEMM_NB;
        const int64_t trans = t2c_gemm_nblocks(s->Cout) * T2C_GEMM_NB * t2c_gemm_mblocks(s->P) * T2C_GEMM_MR;
        s->trans = trans * 21 < normal * 20 && (normal - trans) * 6 * t2c_gemm_k4(s->K) > 200 * normal;
    }
    if (s->trans) {
        const int64_t cb = t2c_gemm_nblocks(s->Cout);
        s->wt = aligned_alloc(64, t2c_align64(s->b_block * (size_t)cb));
        s->qmask = malloc(sizeof(__mmask16) * (size_t)nblocks);
        if (!s->wt || !s->qmask) {
            free(wq);
            conv_simd_release(s);
            return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory packing weights");
        }
        memset(s->wt, 0, s->b_block * (size_t)cb);
        for (int64_t co = 0; co < s->Cout; co++)
            for (int64_t k = 0; k < s->K; k++)
                s->wt[(size_t)(co / 16) * s->b_block + (size_t)(k / 4) * 64 + (size_t)(co % 16) * 4 + (size_t)(k % 4)] =
                    (uint8_t)wd[co * s->K + k];
        free(wq);
        for (int64_t b = 0; b < nblocks; b++) {
            unsigned m = 0;
            for (int l = 0; l < 16; l++) {
                const int64_t q = 16 * b + l;
                m |= (unsigned)(q < s->ncols && q % s->Wq < geo->Wo) << l;
            }
            s->qmask[b] = (__mmask16)m;
        }
        /* one item per image and channel chunk; the image's panel is packed whole */
        int64_t nm = 1;
        if (T > 1 && s->N < 8 * (int64_t)T) {
            const int64_t need = (8 * (int64_t)T + s->N - 1) / s->N;
            nm = need < cb ? need : cb;
        }
        s->np = 1, s->pblk = nblocks;
        s->mrows = (cb + nm - 1) / nm * T2C_GEMM_NB;
        s->nm = (s->Cout + s->mrows - 1) / s->mrows;
        const size_t cols = (size_t)s->pblk * T2C_GEMM_NB;
        s->pix_bytes = t2c_align64(s->a_block * (size_t)t2c_gemm_mblocks(s->P));
        /* panel, pixels, compressed pixels of PIX_RING k4 (+ a vector of slack each), column terms */
        s->per_thread = panel_bytes(s) + s->pix_bytes +
                        PIX_RING * t2c_align64(4 * cols + 64) + (s->za ? 3 * t2c_align64(4 * cols) : 0);
        *state = s;
        return T2C_OK;
    }
    free(wq);
    const int64_t mblocks = t2c_gemm_mblocks(s->cout_g);
    int64_t np = (nblocks + maxblk - 1) / maxblk, nm = 1;
    if (T > 1) {
        /* enough items that a contiguous split is balanced within ~1/8 */
        const int64_t want = 8 * (int64_t)T;
        if (NG * np < want) {
            int64_t need = (want + NG - 1) / NG;
            np = need > np ? (need < nblocks ? need : nblocks) : np;
        }
        if (NG * np < want) {
            int64_t need = (want + NG * np - 1) / (NG * np);
            nm = need < mblocks ? need : mblocks;
        }
    }
    s->pblk = (nblocks + np - 1) / np;
    s->np = (nblocks + s->pblk - 1) / s->pblk;
    s->mrows = (mblocks + nm - 1) / nm * T2C_GEMM_MR;
    s->nm = (s->cout_g + s->mrows - 1) / s->mrows;
    const size_t cols = (size_t)s->pblk * T2C_GEMM_NB;
    s->per_thread = panel_bytes(s) + t2c_align64(4 * cols) +
                    (s->za ? 2 * t2c_align64(4 * cols) : 0);

    *state = s;
    return T2C_OK;
}

static size_t conv_simd_scratch(const t2c_node *node, const void *state)
{
    const conv_simd *s = state;
    return s->pad_bytes + s->per_thread * (size_t)t2c_exec_threads(node->exec);
}

typedef struct pad_job {
    const conv_simd *s;
    const uint8_t *x;
    uint8_t *xp;
} pad_job;

/* One input row into the stride-2 phases: input column w is padded column c = left + w, phase
 * column parity c % 2 at index c / 2. Even and odd w are separated 64 bytes at a time (the low
 * and high bytes of 16-bit lanes) and stored to the phases that a tap reads. */
static T512BW void split_row(const uint8_t *row, int64_t W, int64_t left, uint8_t *ph_even_c, uint8_t *ph_odd_c,
                             int use_even_c, int use_odd_c)
{
    /* w even -> c parity left % 2; w odd -> the other */
    uint8_t *dst_we = (left % 2 ? ph_odd_c : ph_even_c) + left / 2;
    uint8_t *dst_wo = (left % 2 ? ph_even_c : ph_odd_c) + (left + 1) / 2;
    const int use_we = left % 2 ? use_odd_c : use_even_c, use_wo = left % 2 ? use_even_c : use_odd_c;
    for (int64_t w0 = 0; w0 < W; w0 += 64) {
        const int64_t n = W - w0 < 64 ? W - w0 : 64;
        const __m512i v = _mm512_maskz_loadu_epi8(n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1), row + w0);
        const int64_t ne = (n + 1) / 2, no = n / 2;
        if (use_we)
            _mm256_mask_storeu_epi8(dst_we + w0 / 2, (__mmask32)(ne == 32 ? 0xFFFFFFFFu : ((1u << ne) - 1)),
                                    _mm512_cvtepi16_epi8(v));
        if (use_wo && no)
            _mm256_mask_storeu_epi8(dst_wo + w0 / 2, (__mmask32)(no == 32 ? 0xFFFFFFFFu : ((1u << no) - 1)),
                                    _mm512_cvtepi16_epi8(_mm512_srli_epi16(v, 8)));
    }
}

static inline __attribute__((always_inline)) __mmask64 mask64(int64_t n)
{
    return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* n bytes of v at dst: 64-byte stores (short runs cost one masked store, not a libc call). */
static inline __attribute__((always_inline)) T512BW void fill_bytes(uint8_t *dst, __m512i v, int64_t n)
{
    for (int64_t i = 0; i < n; i += 64)
        _mm512_mask_storeu_epi8(dst + i, mask64(n - i), v);
}

/* One stride-1 plane: [top rows][left | row | right]...[bottom rows], all borders = pad byte. */
static T512BW void pad_plane1(const conv_simd *s, const uint8_t *src, uint8_t *dst)
{
    const t2c_im2col *g = &s->geo;
    const int64_t Wp = s->Wp, W = g->W, left = g->left, right = s->right;
    const __m512i pb = _mm512_set1_epi8((char)g->pad_byte);
    fill_bytes(dst, pb, Wp * g->top + left);
    for (int64_t h = 0; h < g->H; h++) {
        uint8_t *row = dst + (g->top + h) * Wp + left;
        for (int64_t i = 0; i < W; i += 64) {
            const __mmask64 m = mask64(W - i);
            _mm512_mask_storeu_epi8(row + i, m, _mm512_maskz_loadu_epi8(m, src + h * W + i));
        }
        /* this row's right border and the next row's left border are adjacent */
        fill_bytes(row + W, pb, h + 1 < g->H ? right + left : right);
    }
    fill_bytes(dst + (g->top + g->H) * Wp, pb, Wp * s->bottom);
}

/* 4 rows of 64 bytes -> 64 columns of 4 bytes (byte i from row i), v[l] = columns 16l .. 16l+15:
 * in-lane unpacks give 4-byte groups (lane L of u_k = columns 16L + 4k .. + 3), and a 4x4
 * transpose of 128-bit blocks orders them. */
static inline __attribute__((always_inline)) T512BW void interleave4(const __m512i r[4], __m512i v[4])
{
    const __m512i t0 = _mm512_unpacklo_epi8(r[0], r[1]), t1 = _mm512_unpackhi_epi8(r[0], r[1]);
    const __m512i t2 = _mm512_unpacklo_epi8(r[2], r[3]), t3 = _mm512_unpackhi_epi8(r[2], r[3]);
    const __m512i u0 = _mm512_unpacklo_epi16(t0, t2), u1 = _mm512_unpackhi_epi16(t0, t2);
    const __m512i u2 = _mm512_unpacklo_epi16(t1, t3), u3 = _mm512_unpackhi_epi16(t1, t3);
    const __m512i e0 = _mm512_shuffle_i32x4(u0, u1, 0x44), e1 = _mm512_shuffle_i32x4(u0, u1, 0xEE);
    const __m512i e2 = _mm512_shuffle_i32x4(u2, u3, 0x44), e3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
    v[0] = _mm512_shuffle_i32x4(e0, e2, 0x88), v[1] = _mm512_shuffle_i32x4(e0, e2, 0xDD);
    v[2] = _mm512_shuffle_i32x4(e1, e3, 0x88), v[3] = _mm512_shuffle_i32x4(e1, e3, 0xDD);
}

/* The first n (<= 64) of 64 interleaved columns at dst (4 bytes each). */
static inline __attribute__((always_inline)) T512BW void store_cols(uint8_t *dst, const __m512i *v, int nv, int64_t n)
{
    for (int l = 0; l < nv && n > 16 * l; l++)
        _mm512_mask_storeu_epi8(dst + 64 * l, mask64(4 * (n - 16 * l)), v[l]);
}

/* One channel quad (planes src, src + HW, ...) into its interleaved padded phases: uint8 (signed
 * input XOR 0x80), borders = the shifted zero point. Stride 1: borders then rows, as pad_plane1;
 * stride 2: the used phases filled, then each row's even/odd input columns (low/high bytes of
 * 16-bit lanes) interleaved as two 32-column halves. */
static T512BW void pad_quad(const conv_simd *s, const uint8_t *src, uint8_t *dst)
{
    const t2c_im2col *g = &s->geo;
    const int64_t Wp = s->Wp, W = g->W, H = g->H, left = g->left, right = s->right, HW = H * W;
    const __m512i flip = _mm512_set1_epi8(s->xor_80 ? (char)0x80 : 0);
    const __m512i pb = _mm512_set1_epi8((char)(g->pad_byte ^ (s->xor_80 ? 0x80 : 0)));
    __m512i r[4], v[4];
    if (s->ps == 1) {
        fill_bytes(dst, pb, 4 * (Wp * g->top + left));
        for (int64_t h = 0; h < H; h++) {
            uint8_t *row = dst + 4 * ((g->top + h) * Wp + left);
            for (int64_t i = 0; i < W; i += 64) {
                const __mmask64 m = mask64(W - i);
                for (int c = 0; c < 4; c++)
                    r[c] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + c * HW + h * W + i), flip);
                interleave4(r, v);
                store_cols(row + 4 * i, v, 4, W - i);
            }
            fill_bytes(row + 4 * W, pb, 4 * (h + 1 < H ? right + left : right));
        }
        fill_bytes(dst + 4 * (g->top + H) * Wp, pb, 4 * Wp * s->bottom);
        return;
    }
    const int64_t phase = s->Hq * s->Wq;
    for (int k = 0; k < 4; k++)
        if (s->phases_used >> k & 1)
            fill_bytes(dst + 4 * k * phase, pb, 4 * phase);
    for (int64_t h = 0; h < H; h++) {
        const int64_t pr = (g->top + h) % 2;
        uint8_t *even_c = dst + 4 * ((2 * pr) * phase + (g->top + h) / 2 * s->Wq), *odd_c = even_c + 4 * phase;
        /* input column w is padded column left + w: w even -> parity left % 2 */
        uint8_t *dst_we = (left % 2 ? odd_c : even_c) + 4 * (left / 2);
        uint8_t *dst_wo = (left % 2 ? even_c : odd_c) + 4 * ((left + 1) / 2);
        for (int64_t w0 = 0; w0 < W; w0 += 64) {
            const __mmask64 m = mask64(W - w0);
            const int64_t n = W - w0 < 64 ? W - w0 : 64;
            for (int c = 0; c < 4; c++) {
                const __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + c * HW + h * W + w0), flip);
                r[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi16_epi8(x)),
                                          _mm512_cvtepi16_epi8(_mm512_srli_epi16(x, 8)), 1);
            }
            interleave4(r, v);
            store_cols(dst_we + 4 * (w0 / 2), v, 2, (n + 1) / 2);
            store_cols(dst_wo + 4 * (w0 / 2), v + 2, 2, n / 2);
        }
    }
}

/* Channels [begin, end) (over all images) into the padded buffer: borders = the zero point
 * byte; for stride 2 padded row r, column c goes to phase (r % 2, c % 2) at (r / 2, c / 2),
 * only for the phases some tap reads (the others are never read for a kept column). */
static T512BW void pad_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const pad_job *j = ctx;
    const conv_simd *s = j->s;
    const t2c_im2col *g = &s->geo;
    const __m512i pb = _mm512_set1_epi8((char)g->pad_byte);
    if (s->quad) {
        for (int64_t pl = begin; pl < end; pl++)
            pad_quad(s, j->x + 4 * pl * g->H * g->W, j->xp + pl * s->plane4);
        return;
    }
    for (int64_t pl = begin; pl < end; pl++) {
        const uint8_t *src = j->x + pl * g->H * g->W;
        uint8_t *dst = j->xp + pl * s->plane;
        if (s->ps == 1) {
            pad_plane1(s, src, dst);
            continue;
        }
        const int64_t phase = s->Hq * s->Wq;
        for (int k = 0; k < 4; k++)
            if (s->phases_used >> k & 1)
                fill_bytes(dst + k * phase, pb, phase);
        for (int64_t h = 0; h < g->H; h++) {
            const int64_t r = g->top + h, pr = r % 2;
            if (!(s->phases_used >> (2 * pr) & 3))
                continue;
            uint8_t *even_c = dst + (2 * pr) * phase + (r / 2) * s->Wq;
            split_row(src + h * g->W, g->W, g->left, even_c, even_c + phase, s->phases_used >> (2 * pr) & 1,
                      s->phases_used >> (2 * pr + 1) & 1);
        }
    }
}

/* Virtual-grid columns [q0, q0 + L) (stride 1): column q of row k is the byte at xp + koff[k] + q,
 * so 64 columns of 4 rows are four 64-byte loads; in-lane unpacks interleave them into 4-byte
 * groups (lane L of u_k = columns 16L + 4k .. + 3), and a 4x4 transpose of 128-bit blocks gives
 * the 64-byte B blocks. Reads past the plane (grid columns >= Wo, the last block) stay in the
 * padded buffer's slack and only feed dropped columns. */
static T512BW void pack_virtual(const conv_simd *s, const uint8_t *xp, int64_t q0, int64_t L, uint8_t *panel)
{
    const __m512i flip = _mm512_set1_epi8(s->xor_80 ? (char)0x80 : 0), zero = _mm512_setzero_si512();
    const int64_t k4n = t2c_gemm_k4(s->K), nblk = (L + 15) / 16;
    for (int64_t b = 0; b < nblk; b += 4) {
        const uint8_t *src = xp + q0 + 16 * b;
        uint8_t *dst = panel + (size_t)b * s->b_block;
        const int nb = nblk - b < 4 ? (int)(nblk - b) : 4;
        for (int64_t k4 = 0; k4 < k4n; k4++) {
            __m512i r[4];
            for (int k = 0; k < 4; k++) {
                const int64_t kk = 4 * k4 + k;
                r[k] = kk < s->K ? _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + s->koff[kk])), flip) : zero;
            }
            const __m512i t0 = _mm512_unpacklo_epi8(r[0], r[1]), t1 = _mm512_unpackhi_epi8(r[0], r[1]);
            const __m512i t2 = _mm512_unpacklo_epi8(r[2], r[3]), t3 = _mm512_unpackhi_epi8(r[2], r[3]);
            const __m512i u0 = _mm512_unpacklo_epi16(t0, t2), u1 = _mm512_unpackhi_epi16(t0, t2);
            const __m512i u2 = _mm512_unpacklo_epi16(t1, t3), u3 = _mm512_unpackhi_epi16(t1, t3);
            const __m512i e0 = _mm512_shuffle_i32x4(u0, u1, 0x44), e1 = _mm512_shuffle_i32x4(u0, u1, 0xEE);
            const __m512i e2 = _mm512_shuffle_i32x4(u2, u3, 0x44), e3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
            const __m512i v[4] = {_mm512_shuffle_i32x4(e0, e2, 0x88), _mm512_shuffle_i32x4(e0, e2, 0xDD),
                                  _mm512_shuffle_i32x4(e1, e3, 0x88), _mm512_shuffle_i32x4(e1, e3, 0xDD)};
            for (int l = 0; l < nb; l++)
                _mm512_storeu_si512((void *)(dst + (size_t)l * s->b_block + (size_t)k4 * 64), v[l]);
        }
    }
}

/* Column sums of the packed (shifted) values of pixels [0, L) of a panel, k < K. */
static void panel_col_sums(const conv_simd *s, const uint8_t *panel, int64_t L, int32_t *csum)
{
    for (int64_t c = 0; c < L; c++) {
        const uint8_t *blk = panel + (size_t)(c / 16) * s->b_block + (size_t)(c % 16) * 4;
        int32_t sum = 0;
        for (int64_t k = 0; k < s->K; k++)
            sum += blk[(size_t)(k / 4) * 64 + (size_t)(k % 4)];
        csum[c] = sum;
    }
}

typedef struct conv_job {
    const conv_simd *s;
    const uint8_t *x;
    int32_t *y;
    uint8_t *scratch;
    uint8_t *rq_out; /* fused: the requantize's output, else NULL */
} conv_job;

static void conv_simd_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const conv_job *j = ctx;
    const conv_simd *s = j->s;
    const size_t cols = (size_t)s->pblk * T2C_GEMM_NB;
    uint8_t *panel = j->scratch + s->pad_bytes + (size_t)thread * s->per_thread;
    uint8_t *rows = panel + panel_bytes(s);
    int32_t *csum = (int32_t *)(rows + t2c_align64(4 * cols));
    int32_t *cadd = (int32_t *)((uint8_t *)csum + t2c_align64(4 * cols));
    const int64_t k4n = t2c_gemm_k4(s->K);
    int64_t packed = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t mi = it % s->nm, chunk = it / s->nm;
        const int64_t pi = chunk % s->np, g = (chunk / s->np) % s->G, n = chunk / s->np / s->G;
        const int64_t p0 = pi * s->pblk * T2C_GEMM_NB;
        const int64_t L = s->ncols - p0 < s->pblk * T2C_GEMM_NB ? s->ncols - p0 : s->pblk * T2C_GEMM_NB;
        if (s->quad)
            packed = chunk;
        if (chunk != packed && s->virt) {
            pack_virtual(s, j->scratch + (size_t)((n * s->geo.Cin + g * s->geo.cin_g) * s->plane), p0, L, panel);
            if (s->za) {
                panel_col_sums(s, panel, L, csum);
                for (int64_t i = 0; i < L; i++)
                    cadd[i] = (int32_t)(uint32_t)(uint64_t)(-(int64_t)s->za * csum[i]);
            }
            packed = chunk;
        }
        if (chunk != packed) {
            if (s->za)
                memset(csum, 0, sizeof(int32_t) * (size_t)L);
            for (int64_t k4 = 0; k4 < k4n; k4++) {
                const uint8_t *rp[4];
                for (int q = 0; q < 4; q++) {
                    const int64_t k = 4 * k4 + q;
                    rp[q] = k < s->K ? t2c_im2col_row(&s->geo, j->x, n, g, k, p0, L, rows + (size_t)q * cols) : NULL;
                }
                t2c_gemm_pack_b4(rp, L, s->xor_80, panel, k4, s->b_block);
                if (s->za)
                    t2c_gemm_col_sums4(rp, L, s->xor_80, csum);
            }
            if (s->za)
                for (int64_t i = 0; i < L; i++)
                    cadd[i] = (int32_t)(uint32_t)(uint64_t)(-(int64_t)s->za * csum[i]);
            packed = chunk;
        }
        const int64_t m0 = mi * s->mrows;
        const int64_t m1 = m0 + s->mrows < s->cout_g ? m0 + s->mrows : s->cout_g;
        const int64_t co0 = g * s->cout_g + m0;
        t2c_gemm_tile t = {
            .a = s->a + (size_t)g * s->a_group + (size_t)(m0 / T2C_GEMM_MR) * s->a_block,
            .b = s->quad ? j->scratch + (size_t)((n * s->geo.Cin + g * s->geo.cin_g) / 4 * s->plane4 + 4 * p0) : panel,
            .boff = s->quad ? s->boff : NULL,
            .K = s->K,
            .m = m1 - m0,
            .n = L,
            .c = j->y + (n * s->Cout + co0) * s->P + (s->virt ? 0 : p0),
            .ldc = s->P,
            .row_add = s->row_add + co0,
            .col_add = s->za ? cadd : NULL,
            .wrap_bits = s->wrap_bits,
        };
        t2c_gemm_requant rq;
        if (j->rq_out) {
            rq = s->rq;
            rq.mult += co0, rq.shift += co0, rq.offset += co0, rq.rows += co0 * T2C_VREQ_ROW;
            rq.out = j->rq_out + (size_t)((n * s->Cout + co0) * s->P + (s->virt ? 0 : p0)) * (size_t)rq.esize;
            t.rq = &rq;
        }
        const t2c_gemm_vmap vm = {p0, s->Wq, s->geo.Wo};
        if (s->virt)
            t.vmap = &vm;
        t2c_gemm_tile_run(s->isa, &t);
    }
}

/* Transposed items: image n, channels [co0, co1). The grid panel is packed as usual, then its
 * kept columns (the pixels, in order) are compressed, one k4 at a time, into the A layout. */
static T512BW void pack_pixels(const conv_simd *s, const uint8_t *panel, uint8_t *pix, uint32_t *tmp, size_t tstride)
{
    /* quad: panel is the image's interleaved input, block b of k4 at boff[k4] + 64 * b */
    const int64_t k4n = t2c_gemm_k4(s->K), nb = s->pblk, mb = t2c_gemm_mblocks(s->P);
    for (int64_t k4 = 0; k4 < k4n + PIX_RING - 1; k4++) {
        if (k4 < k4n) {
            uint32_t *row = tmp + (size_t)(k4 % PIX_RING) * tstride;
            int64_t cnt = 0;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *src = s->quad ? panel + s->boff[k4] + 64 * b
                                             : panel + (size_t)b * s->b_block + (size_t)k4 * 64;
                const __m512i v = _mm512_loadu_si512((const void *)src);
                _mm512_storeu_si512((void *)(row + cnt), _mm512_maskz_compress_epi32(s->qmask[b], v));
                cnt += __builtin_popcount(s->qmask[b]);
            }
        }
        const int64_t kr = k4 - (PIX_RING - 1);
        if (kr < 0)
            continue;
        const uint32_t *row = tmp + (size_t)(kr % PIX_RING) * tstride;
        for (int64_t i = 0; i < mb; i++)
            _mm256_mask_storeu_epi32(pix + (size_t)i * s->a_block + (size_t)kr * (4 * T2C_GEMM_MR), 0x3F,
                                     _mm256_loadu_si256((const __m256i *)(row + T2C_GEMM_MR * i)));
    }
}

static void conv_trans_items(void *ctx, int64_t begin, int64_t end, int thread)
{
    const conv_job *j = ctx;
    const conv_simd *s = j->s;
    const size_t cols = (size_t)s->pblk * T2C_GEMM_NB;
    uint8_t *panel = j->scratch + s->pad_bytes + (size_t)thread * s->per_thread;
    uint8_t *pix = panel + panel_bytes(s);
    uint32_t *tmp = (uint32_t *)(pix + s->pix_bytes);
    const size_t tstride = t2c_align64(4 * cols + 64) / 4;
    int32_t *csum = (int32_t *)(tmp + PIX_RING * tstride);
    int32_t *cadd_q = (int32_t *)((uint8_t *)csum + t2c_align64(4 * cols));
    int32_t *cadd = (int32_t *)((uint8_t *)cadd_q + t2c_align64(4 * cols));
    int64_t packed = -1;
    for (int64_t it = begin; it < end; it++) {
        const int64_t mi = it % s->nm, n = it / s->nm;
        if (n != packed) {
            if (s->quad) {
                pack_pixels(s, j->scratch + (size_t)(n * s->geo.Cin / 4 * s->plane4), pix, tmp, tstride);
            } else {
                pack_virtual(s, j->scratch + (size_t)(n * s->geo.Cin * s->plane), 0, s->ncols, panel);
                pack_pixels(s, panel, pix, tmp, tstride);
            }
            if (s->za) {
                panel_col_sums(s, panel, s->ncols, csum);
                for (int64_t i = 0; i < s->ncols; i++)
                    cadd_q[i] = (int32_t)(uint32_t)(uint64_t)(-(int64_t)s->za * csum[i]);
                for (int64_t p = 0; p < s->P; p++)
                    cadd[p] = cadd_q[p / s->geo.Wo * s->Wq + p % s->geo.Wo];
            }
            packed = n;
        }
        const int64_t co0 = mi * s->mrows, co1 = co0 + s->mrows < s->Cout ? co0 + s->mrows : s->Cout;
        t2c_gemm_tile t = {
            .a = pix,
            .b = s->wt + (size_t)(co0 / 16) * s->b_block,
            .K = s->K,
            .m = s->P,
            .n = co1 - co0,
            .c = j->y + (n * s->Cout + co0) * s->P,
            .ldc = s->P,
            .row_add = s->za ? cadd : NULL,
            .col_add = s->row_add + co0,
            .wrap_bits = s->wrap_bits,
            .trans = 1,
        };
        t2c_gemm_requant rq;
        if (j->rq_out) {
            rq = s->rq;
            rq.cols += (co0 / 16) * T2C_VREQ_COLS;
            rq.out = j->rq_out + (size_t)((n * s->Cout + co0) * s->P) * (size_t)rq.esize;
            t.rq = &rq;
        }
        t2c_gemm_tile_run(s->isa, &t);
    }
}

static t2c_status conv_simd_go(t2c_node *node, const conv_simd *s, void *scratch, uint8_t *rq_out)
{
    conv_job j = {s, node->inputs[0]->data, node->outputs[0]->data, scratch, rq_out};
    t2c_exec *ex = t2c_exec_if(node->exec, s->N * s->Cout * s->P * s->K);
    if (s->virt) {
        pad_job pj = {s, node->inputs[0]->data, scratch};
        t2c_exec_for(ex, s->quad ? s->N * s->geo.Cin / 4 : s->N * s->geo.Cin, pad_items, &pj);
    }
    if (s->trans)
        t2c_exec_for(ex, s->N * s->nm, conv_trans_items, &j);
    else
        t2c_exec_for(ex, s->N * s->G * s->np * s->nm, conv_simd_items, &j);
    return T2C_OK;
}

static t2c_status conv_simd_run(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    return conv_simd_go(node, state, scratch, NULL);
}

static t2c_status conv_simd_run_fused(t2c_node *node, void *state, void *scratch, t2c_error *err)
{
    (void)err;
    const conv_simd *s = state;
    return conv_simd_go(node, s, scratch, s->rq_node->outputs[0]->data);
}

/* The requantize epilogue (AVX-512 only) with per-output-channel parameters: single values,
 * or one per channel along axis 1 (NCHW). */
static int conv_simd_fuse_prepare(t2c_node *node, void *state, t2c_node *rnode)
{
    conv_simd *s = state;
    const t2c_requantize_params *p = rnode->params;
    if (s->isa != T2C_SIMD_AVX512VNNI || !t2c_avx512_supported() || rnode->inputs[0]->dtype != T2C_INT32)
        return 0;
    if (!t2c_rq_per_nchw_channel(p))
        return 0;
    const int64_t cb = t2c_gemm_nblocks(s->Cout);
    s->rq_params = malloc(((3 + T2C_VREQ_ROW) * (size_t)s->Cout + T2C_VREQ_COLS * (size_t)cb) * sizeof(int64_t));
    if (!s->rq_params)
        return 0;
    for (int64_t c = 0; c < s->Cout; c++) {
        s->rq_params[c] = t2c_rq_multiplier(p, c);
        s->rq_params[s->Cout + c] = t2c_rq_shift(p, c);
        s->rq_params[2 * s->Cout + c] = t2c_rq_offset(p, c);
        t2c_vreq_row_pack(s->rq_params + 3 * s->Cout + T2C_VREQ_ROW * c, s->rq_params[c], s->rq_params[s->Cout + c],
                          s->rq_params[2 * s->Cout + c], p->zero_point, p->lo, p->hi, p->rounding);
    }
    s->rq_node = rnode;
    s->rq = (t2c_gemm_requant){
        .mult = s->rq_params,
        .shift = s->rq_params + s->Cout,
        .offset = s->rq_params + 2 * s->Cout,
        .rounding = (int)p->rounding,
        .zero_point = p->zero_point,
        .lo = p->lo,
        .hi = p->hi,
        .out = NULL,
        .ldo = s->P,
        .esize = (int)t2c_dtype_mem_size(rnode->outputs[0]->dtype),
        .rows = s->rq_params + 3 * s->Cout,
        .cols = s->rq_params + (3 + T2C_VREQ_ROW) * s->Cout,
        .cols_narrow = 1,
    };
    for (int64_t c = 0; c < s->Cout; c++) {
        const int64_t flags = s->rq_params[3 * s->Cout + T2C_VREQ_ROW * c + 7];
        s->rq.cols_general |= (int)(flags & 1);
        s->rq.cols_narrow &= (int)(flags >> 1 & 1);
    }
    for (int64_t b = 0; b < cb; b++)
        t2c_vreq_cols_pack(s->rq_params + (3 + T2C_VREQ_ROW) * s->Cout + T2C_VREQ_COLS * b, s->rq_params + 16 * b,
                           s->rq_params + s->Cout + 16 * b, s->rq_params + 2 * s->Cout + 16 * b,
                           s->Cout - 16 * b);
    (void)node;
    return 1;
}

#define CONV_SIMD_VARIANT(ISA, SUFFIX)                                                                  \
    static int conv_simd_supports_##SUFFIX(const t2c_node *node)                                        \
    {                                                                                                   \
        int wrap;                                                                                       \
        return conv_simd_ok(node, ISA, &wrap);                                                          \
    }                                                                                                   \
    static t2c_status conv_simd_prepare_##SUFFIX(t2c_node *node, void **state, t2c_error *err)          \
    {                                                                                                   \
        return conv_simd_prepare(node, state, err, ISA);                                                \
    }                                                                                                   \
    const t2c_kernel_variant t2c_conv2d_simd_##SUFFIX = {                                               \
        .backend = "simd",                                                                              \
        .name = "conv2d.simd-" #SUFFIX,                                                                 \
        .supports = conv_simd_supports_##SUFFIX,                                                        \
        .prepare = conv_simd_prepare_##SUFFIX,                                                          \
        .scratch_size = conv_simd_scratch,                                                              \
        .run = conv_simd_run,                                                                           \
        .release = conv_simd_release,                                                                   \
        .fuse_prepare = conv_simd_fuse_prepare,                                                         \
        .run_fused = conv_simd_run_fused,                                                               \
    };
CONV_SIMD_VARIANT(T2C_SIMD_AVX512VNNI, avx512vnni)
CONV_SIMD_VARIANT(T2C_SIMD_AVXVNNI, avxvnni)
CONV_SIMD_VARIANT(T2C_SIMD_AVX2, avx2)
