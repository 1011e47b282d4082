/* conv2d.c — integer 2-D convolution (NCHW): reference kernel and op definition.
 *
 * Recipe (ops/README.md "conv2d"), for each n, co, oh, ow with g = co / (Cout/group):
 *   acc = bias[co] (0 without bias)                       -- an accumulator step from 0
 *   for ci < Cin/group, kh < KH, kw < KW:                 -- c = g*(Cin/group) + ci
 *     ih = oh*sh - top + kh*dh;  iw = ow*sw - left + kw*dw
 *     xv = x[n, c, ih, iw] inside the image, else x_zero_point (padding adds 0)
 *     acc = acc + (xv - x_zero_point) * (w[co, ci, kh, kw] - w_zero_point)   -- t2c_acc_add
 *   y[n, co, oh, ow] = acc
 * The accumulator has acc_bits (2..32) bits and the overflow policy error/wrap/saturate.
 */
#include "conv2d.h"
#include "t2c_weighted.h"

#include <string.h>

static const char *const conv2d_roles[] = {"input", "weight", "bias"};

typedef struct conv_geom {
    int64_t N, Cin, H, W, Cout, KH, KW, Ho, Wo, cin_g, cout_g;
} conv_geom;

static void conv_geom_get(const t2c_tensor *x, const t2c_tensor *w, const t2c_tensor *y,
                          int64_t group, conv_geom *d)
{
    d->N = x->dims[0], d->Cin = x->dims[1], d->H = x->dims[2], d->W = x->dims[3];
    d->Cout = w->dims[0], d->KH = w->dims[2], d->KW = w->dims[3];
    d->Ho = y->dims[2], d->Wo = y->dims[3];
    d->cin_g = d->Cin / group, d->cout_g = d->Cout / group;
}

/* Largest |v - zp| for v in the dtype's range. */
static int64_t max_abs_diff(t2c_dtype d, int64_t zp)
{
    int64_t a = t2c_dtype_max(d) - zp, b = zp - t2c_dtype_min(d);
    return a > b ? a : b;
}

/* 1 when max|bias| + K*max|product| <= 2^(bits-1) - 1: then no partial sum, in any order, can
 * leave the accumulator, no policy ever acts, and a plain exact int32 sum equals the recipe. */
static int acc_never_overflows(int64_t max_bias, int64_t k, int64_t max_prod, int bits)
{
    int64_t sum;
    if (__builtin_mul_overflow(k, max_prod, &sum) || __builtin_add_overflow(sum, max_bias, &sum))
        return 0;
    return sum <= ((int64_t)1 << (bits - 1)) - 1;
}

static t2c_status overflow_error(t2c_error *err, int64_t n, int64_t co, int64_t oh, int64_t ow,
                                 int64_t acc, int64_t add, int bits)
{
    int64_t hi = ((int64_t)1 << (bits - 1)) - 1;
    return t2c_error_set(err, T2C_ERR_OVERFLOW,
                         "accumulator overflow at output (n=%lld, co=%lld, oh=%lld, ow=%lld): "
                         "%lld + %lld is outside the %d-bit range [%lld, %lld]",
                         (long long)n, (long long)co, (long long)oh, (long long)ow, (long long)acc,
                         (long long)add, bits, (long long)(-hi - 1), (long long)hi);
}

/* The recipe step by step, every addition through t2c_acc_add (any policy, any bound). */
static t2c_status conv_checked(const t2c_conv2d_params *p, const conv_geom *d, const t2c_tensor *x,
                               const int8_t *w, const int32_t *b, int32_t *y, t2c_error *err)
{
    const int x_unsigned = x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8;
    const int8_t *xs = x->data;
    const uint8_t *xu = x->data;
    const int bits = p->acc_bits;
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t co = 0; co < d->Cout; co++) {
            const int64_t g = co / d->cout_g;
            for (int64_t oh = 0; oh < d->Ho; oh++)
                for (int64_t ow = 0; ow < d->Wo; ow++) {
                    int64_t acc = 0;
                    if (b && t2c_acc_add(&acc, b[co], bits, p->overflow))
                        return overflow_error(err, n, co, oh, ow, acc, b[co], bits);
                    for (int64_t ci = 0; ci < d->cin_g; ci++) {
                        const int64_t plane = ((n * d->Cin) + g * d->cin_g + ci) * d->H;
                        const int8_t *wk = w + ((co * d->cin_g + ci) * d->KH) * d->KW;
                        for (int64_t kh = 0; kh < d->KH; kh++) {
                            const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
                            if (ih < 0 || ih >= d->H)
                                continue; /* a padded row adds (zp - zp)*w = 0: never overflows */
                            for (int64_t kw = 0; kw < d->KW; kw++) {
                                const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
                                if (iw < 0 || iw >= d->W)
                                    continue;
                                const int64_t i = (plane + ih) * d->W + iw;
                                const int64_t xv = x_unsigned ? xu[i] : xs[i];
                                const int64_t prod = (xv - p->x_zero_point) *
                                                     (wk[kh * d->KW + kw] - p->w_zero_point);
                                if (t2c_acc_add(&acc, prod, bits, p->overflow))
                                    return overflow_error(err, n, co, oh, ow, acc, prod, bits);
                            }
                        }
                    }
                    y[((n * d->Cout + co) * d->Ho + oh) * d->Wo + ow] = (int32_t)acc;
                }
        }
    return T2C_OK;
}

/* No overflow possible (acc_never_overflows): the exact sum does not depend on the order, so
 * accumulate whole output planes in int32, one weight tap at a time (contiguous, vectorizable
 * inner loop). x_unsigned is a compile-time constant in each caller. */
static inline __attribute__((always_inline)) void
conv_plain_body(const t2c_conv2d_params *p, const conv_geom *d, const void *xdata, int x_unsigned,
                const int8_t *w, const int32_t *b, int32_t *y)
{
    const int32_t xzp = (int32_t)p->x_zero_point, wzp = (int32_t)p->w_zero_point;
    const int64_t sw = p->stride_w, plane_out = d->Ho * d->Wo;
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t co = 0; co < d->Cout; co++) {
            const int64_t g = co / d->cout_g;
            int32_t *out = y + (n * d->Cout + co) * plane_out;
            const int32_t b0 = b ? b[co] : 0;
            for (int64_t i = 0; i < plane_out; i++)
                out[i] = b0;
            for (int64_t ci = 0; ci < d->cin_g; ci++) {
                const int64_t plane = ((n * d->Cin) + g * d->cin_g + ci) * d->H * d->W;
                for (int64_t kh = 0; kh < d->KH; kh++)
                    for (int64_t kw = 0; kw < d->KW; kw++) {
                        const int32_t wv = w[((co * d->cin_g + ci) * d->KH + kh) * d->KW + kw] - wzp;
                        if (wv == 0)
                            continue;
                        /* ow range with 0 <= iw = ow*sw + off < W */
                        const int64_t off = kw * p->dilation_w - p->pad_left;
                        const int64_t ow_lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                        int64_t ow_hi = d->W - 1 - off;
                        ow_hi = ow_hi < 0 ? -1 : ow_hi / sw;
                        if (ow_hi > d->Wo - 1)
                            ow_hi = d->Wo - 1;
                        if (ow_lo > ow_hi)
                            continue;
                        const int64_t cnt = ow_hi - ow_lo + 1;
                        for (int64_t oh = 0; oh < d->Ho; oh++) {
                            const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
                            if (ih < 0 || ih >= d->H)
                                continue;
                            const int64_t start = plane + ih * d->W + ow_lo * sw + off;
                            int32_t *o = out + oh * d->Wo + ow_lo;
                            if (x_unsigned) {
                                const uint8_t *r = (const uint8_t *)xdata + start;
                                if (sw == 1)
                                    for (int64_t j = 0; j < cnt; j++)
                                        o[j] += ((int32_t)r[j] - xzp) * wv;
                                else
                                    for (int64_t j = 0; j < cnt; j++)
                                        o[j] += ((int32_t)r[j * sw] - xzp) * wv;
                            } else {
                                const int8_t *r = (const int8_t *)xdata + start;
                                if (sw == 1)
                                    for (int64_t j = 0; j < cnt; j++)
                                        o[j] += ((int32_t)r[j] - xzp) * wv;
                                else
                                    for (int64_t j = 0; j < cnt; j++)
                                        o[j] += ((int32_t)r[j * sw] - xzp) * wv;
                            }
                        }
                    }
            }
        }
}

/* Exact int32 sums (no partial sum overflows), so every clone returns the same integers. */
T2C_CLONES static void
conv_plain_s8(const t2c_conv2d_params *p, const conv_geom *d, const void *x, const int8_t *w,
              const int32_t *b, int32_t *y)
{
    conv_plain_body(p, d, x, 0, w, b, y);
}

/* As conv_plain_s8. */
T2C_CLONES static void
conv_plain_u8(const t2c_conv2d_params *p, const conv_geom *d, const void *x, const int8_t *w,
              const int32_t *b, int32_t *y)
{
    conv_plain_body(p, d, x, 1, w, b, y);
}

/* ---------------------------------------------------------------- the im2col plain path
 * Also only when acc_never_overflows. Per (n, group): the group's input, centred (x - x_zp) and
 * zero-padded, as int16 xp; per tile of output pixels a patch row per pixel, pc[t][K]; centred
 * weights wc[co][K] in the same K order. Then y = bias + dot(wc[co], pc[t]), an exact int32 sum
 * (every partial sum is a sum of some of the K products, within the proven bound). The K order
 * only moves work: (kh, kw, ci) with xp channels-last [Hp][Wp][cin_g] makes patches contiguous
 * copies but transposes the weights; when there are more output channels than patches, the
 * weights' own order (ci, kh, kw) with xp [cin_g][Hp][Wp] transposes the patches instead. */

#define CONV_TILE_BYTES (256 * 1024) /* patch rows per tile: about this much int16 */
#define CONV_MIN_K 16               /* shorter dot products: the plane path above */

typedef struct conv_im2col {
    int64_t K, Kp, Hp, Wp, tile; /* Kp: K rounded up to 16, the tail zero (adds 0, whole vectors) */
    int native;                  /* K in the weights' (ci, kh, kw) order */
    size_t wc_off, xp_off, pc_off, bytes;
} conv_im2col;

static size_t align64(size_t v) { return (v + 63) / 64 * 64; }

static void conv_im2col_plan(const t2c_conv2d_params *p, const conv_geom *d, conv_im2col *s)
{
    s->K = d->cin_g * d->KH * d->KW;
    s->Kp = (s->K + 15) / 16 * 16;
    s->native = d->Cout > d->N * (d->Cin / d->cin_g) * d->Ho * d->Wo;
    s->Hp = d->H + p->pad_top + p->pad_bottom;
    s->Wp = d->W + p->pad_left + p->pad_right;
    const int64_t P = d->Ho * d->Wo;
    int64_t t = CONV_TILE_BYTES / (2 * s->Kp);
    t = t < 2 ? 2 : t;
    s->tile = t < P ? t : P;
    s->wc_off = 0;
    s->xp_off = align64((size_t)d->Cout * (size_t)s->Kp * 2);
    s->pc_off = s->xp_off + align64((size_t)s->Hp * (size_t)s->Wp * (size_t)d->cin_g * 2);
    s->bytes = s->pc_off + align64((size_t)s->tile * (size_t)s->Kp * 2);
}

/* Sum of 4 channels x 2 pixels, 4 x 1 and 1 x 1 dot products over K int16 values; inlined into
 * each clone of conv_tile_dots. */
static inline __attribute__((always_inline)) void
dot_4x2(const int16_t *w, int64_t K, const int16_t *a, const int16_t *b, int32_t s[8])
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (int64_t k = 0; k < K; k++) {
        const int32_t xa = a[k], xb = b[k];
        s0 += w[k] * xa, s1 += w[K + k] * xa, s2 += w[2 * K + k] * xa, s3 += w[3 * K + k] * xa;
        s4 += w[k] * xb, s5 += w[K + k] * xb, s6 += w[2 * K + k] * xb, s7 += w[3 * K + k] * xb;
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, s[4] = s4, s[5] = s5, s[6] = s6, s[7] = s7;
}

static inline __attribute__((always_inline)) void
dot_4x1(const int16_t *w, int64_t K, const int16_t *a, int32_t s[4])
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t k = 0; k < K; k++) {
        const int32_t xa = a[k];
        s0 += w[k] * xa, s1 += w[K + k] * xa, s2 += w[2 * K + k] * xa, s3 += w[3 * K + k] * xa;
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}

static inline __attribute__((always_inline)) int32_t dot_1x1(const int16_t *w, int64_t K, const int16_t *a)
{
    int32_t s = 0;
    for (int64_t k = 0; k < K; k++)
        s += w[k] * a[k];
    return s;
}

/* y[co][pix0 + t] = bias[co] + dot(wc[co], pc[t]) for n_co channels and n_t pixels; y's channel
 * planes are `plane` apart. Exact int32 integer sums in every clone (no partial sum overflows),
 * so every clone returns the same integers. */
T2C_CLONES static void
conv_tile_dots(const int16_t *wc, const int32_t *b, int64_t n_co, const int16_t *pc, int64_t n_t, int64_t K,
               int32_t *y, int64_t plane)
{
    int64_t co = 0;
    for (; co + 4 <= n_co; co += 4) {
        const int16_t *w = wc + co * K;
        const int32_t b0 = b ? b[co] : 0, b1 = b ? b[co + 1] : 0, b2 = b ? b[co + 2] : 0, b3 = b ? b[co + 3] : 0;
        int32_t *o = y + co * plane;
        int64_t t = 0;
        for (; t + 2 <= n_t; t += 2) {
            int32_t s[8];
            dot_4x2(w, K, pc + t * K, pc + (t + 1) * K, s);
            o[t] = b0 + s[0], o[plane + t] = b1 + s[1];
            o[2 * plane + t] = b2 + s[2], o[3 * plane + t] = b3 + s[3];
            o[t + 1] = b0 + s[4], o[plane + t + 1] = b1 + s[5];
            o[2 * plane + t + 1] = b2 + s[6], o[3 * plane + t + 1] = b3 + s[7];
        }
        for (; t < n_t; t++) {
            int32_t s[4];
            dot_4x1(w, K, pc + t * K, s);
            o[t] = b0 + s[0], o[plane + t] = b1 + s[1];
            o[2 * plane + t] = b2 + s[2], o[3 * plane + t] = b3 + s[3];
        }
    }
    for (; co < n_co; co++)
        for (int64_t t = 0; t < n_t; t++)
            y[co * plane + t] = (b ? b[co] : 0) + dot_1x1(wc + co * K, K, pc + t * K);
}

/* xp[ih + top][iw + left][ci] (native: xp[ci][ih + top][iw + left]) = x[n, c0 + ci, ih, iw] - x_zp;
 * the padding stays 0. */
static inline __attribute__((always_inline)) void
conv_centre_input(const t2c_conv2d_params *p, const conv_geom *d, const conv_im2col *s, const void *xdata,
                  int x_unsigned, int64_t n, int64_t c0, int16_t *xp)
{
    const int16_t xzp = (int16_t)p->x_zero_point;
    memset(xp, 0, (size_t)s->Hp * (size_t)s->Wp * (size_t)d->cin_g * 2);
    for (int64_t ci = 0; ci < d->cin_g; ci++)
        for (int64_t ih = 0; ih < d->H; ih++) {
            const int64_t src = ((n * d->Cin + c0 + ci) * d->H + ih) * d->W;
            int16_t *dst = xp + ((ih + p->pad_top) * s->Wp + p->pad_left) * d->cin_g + ci;
            if (s->native) {
                dst = xp + (ci * s->Hp + ih + p->pad_top) * s->Wp + p->pad_left;
                if (x_unsigned)
                    for (int64_t iw = 0; iw < d->W; iw++)
                        dst[iw] = (int16_t)(((const uint8_t *)xdata)[src + iw] - xzp);
                else
                    for (int64_t iw = 0; iw < d->W; iw++)
                        dst[iw] = (int16_t)(((const int8_t *)xdata)[src + iw] - xzp);
            } else if (x_unsigned)
                for (int64_t iw = 0; iw < d->W; iw++)
                    dst[iw * d->cin_g] = (int16_t)(((const uint8_t *)xdata)[src + iw] - xzp);
            else
                for (int64_t iw = 0; iw < d->W; iw++)
                    dst[iw * d->cin_g] = (int16_t)(((const int8_t *)xdata)[src + iw] - xzp);
        }
}

static void conv_im2col_run(const t2c_conv2d_params *p, const conv_geom *d, const conv_im2col *s,
                            const t2c_tensor *x, const int8_t *w, const int32_t *b, int32_t *y, void *scratch)
{
    const int x_unsigned = x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8;
    int16_t *wc = (int16_t *)((char *)scratch + s->wc_off);
    int16_t *xp = (int16_t *)((char *)scratch + s->xp_off);
    int16_t *pc = (int16_t *)((char *)scratch + s->pc_off);
    const int64_t K = s->Kp, P = d->Ho * d->Wo, cg = d->cin_g;
    /* wc[co][(kh*KW + kw)*cin_g + ci] (native: wc[co][(ci*KH + kh)*KW + kw]) = w[co][ci][kh][kw] - w_zp,
     * then zeros up to Kp */
    for (int64_t co = 0; co < d->Cout; co++)
        memset(wc + co * K + s->K, 0, (size_t)(K - s->K) * 2);
    for (int64_t co = 0; co < d->Cout && s->native; co++)
        for (int64_t k = 0; k < s->K; k++)
            wc[co * K + k] = (int16_t)(w[co * s->K + k] - p->w_zero_point);
    for (int64_t co = 0; co < d->Cout && !s->native; co++)
        for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t k = 0; k < d->KH * d->KW; k++)
                wc[co * K + k * cg + ci] = (int16_t)(w[(co * cg + ci) * d->KH * d->KW + k] - p->w_zero_point);
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t g = 0; g < d->Cin / cg; g++) {
            if (x_unsigned)
                conv_centre_input(p, d, s, x->data, 1, n, g * cg, xp);
            else
                conv_centre_input(p, d, s, x->data, 0, n, g * cg, xp);
            for (int64_t t0 = 0; t0 < P; t0 += s->tile) {
                const int64_t nt = P - t0 < s->tile ? P - t0 : s->tile;
                for (int64_t t = 0; t < nt; t++) {
                    /* patch of output pixel (oh, ow): K values in wc's order */
                    const int64_t oh = (t0 + t) / d->Wo, ow = (t0 + t) % d->Wo;
                    int16_t *dst = pc + t * K;
                    for (int64_t ci = 0; ci < cg && s->native; ci++) /* (ci, kh, kw) order */
                        for (int64_t kh = 0; kh < d->KH; kh++) {
                            const int64_t r = ci * s->Hp + oh * p->stride_h + kh * p->dilation_h;
                            const int16_t *src = xp + r * s->Wp + ow * p->stride_w;
                            for (int64_t kw = 0; kw < d->KW; kw++)
                                *dst++ = src[kw * p->dilation_w];
                        }
                    for (int64_t kh = 0; kh < d->KH && !s->native; kh++) { /* (kh, kw, ci) */
                        const int16_t *src = xp + ((oh * p->stride_h + kh * p->dilation_h) * s->Wp +
                                                   ow * p->stride_w) * cg;
                        if (p->dilation_w == 1) { /* the KW taps of a row are contiguous */
                            memcpy(dst, src, (size_t)(d->KW * cg) * 2);
                            dst += d->KW * cg;
                        } else {
                            for (int64_t kw = 0; kw < d->KW; kw++, dst += cg)
                                memcpy(dst, src + kw * p->dilation_w * cg, (size_t)cg * 2);
                        }
                    }
                    memset(dst, 0, (size_t)(K - s->K) * 2);
                }
                conv_tile_dots(wc + g * d->cout_g * K, b ? b + g * d->cout_g : NULL, d->cout_g, pc, nt, K,
                               y + (n * d->Cout + g * d->cout_g) * P + t0, P);
            }
        }
}

/* ---------------------------------------------------------------- the depthwise plain path
 * Also only when acc_never_overflows, for cin_g == 1 (each output channel reads one input
 * plane). The plane, centred (x - x_zp) and zero-padded, is split into stride phases,
 * xs[pr][pc][i][j] = padded[i*sh + pr][j*sw + pc], so that tap (kh, kw) of output (oh, ow) is
 * xs[rr % sh][cc % sw][oh + rr / sh][ow + cc / sw] with rr = kh*dh, cc = kw*dw. With the output
 * kept at the phases' row length Wq, a tap is then one contiguous run over Ho*Wq values; the
 * columns ow >= Wo are dropped at the end (they sum in-range values too, so stay in the bound).
 * Each output accumulates bias + one tap at a time in int32: exact, no partial sum overflows. */

typedef struct conv_dw {
    int64_t Hp, Wp, Hq, Wq; /* padded plane; rows and columns per phase */
    size_t plane;           /* int32 values per phase: (Hq + 1) * Wq (a zero row for the overrun) */
} conv_dw;

static size_t conv_dw_plan(const t2c_conv2d_params *p, const conv_geom *d, conv_dw *s)
{
    s->Hp = d->H + p->pad_top + p->pad_bottom;
    s->Wp = d->W + p->pad_left + p->pad_right;
    s->Hq = (s->Hp + p->stride_h - 1) / p->stride_h;
    s->Wq = (s->Wp + p->stride_w - 1) / p->stride_w;
    s->plane = (size_t)(s->Hq + 1) * (size_t)s->Wq;
    /* phases, one padded row (Wq*sw), the accumulators (Ho*Wq) */
    return ((size_t)(p->stride_h * p->stride_w) * s->plane + (size_t)(s->Wq * p->stride_w) +
            (size_t)(d->Ho * s->Wq)) * sizeof(int32_t);
}

/* Exact int32 sums (no partial sum overflows), so every clone returns the same integers. */
T2C_CLONES static void
conv_dw_channel(const t2c_conv2d_params *p, const conv_geom *d, const conv_dw *s, const int32_t *xs,
                const int8_t *wk, int32_t b0, int32_t *acc, int32_t *out)
{
    const int64_t sh = p->stride_h, sw = p->stride_w, n = d->Ho * s->Wq;
    for (int64_t t = 0; t < n; t++)
        acc[t] = b0;
    for (int64_t kh = 0; kh < d->KH; kh++)
        for (int64_t kw = 0; kw < d->KW; kw++) {
            const int32_t wv = wk[kh * d->KW + kw] - (int32_t)p->w_zero_point;
            const int64_t rr = kh * p->dilation_h, cc = kw * p->dilation_w;
            const int32_t *src =
                xs + (size_t)((rr % sh) * sw + cc % sw) * s->plane + (rr / sh) * s->Wq + cc / sw;
            for (int64_t t = 0; t < n; t++)
                acc[t] += wv * src[t];
        }
    for (int64_t oh = 0; oh < d->Ho; oh++)
        for (int64_t ow = 0; ow < d->Wo; ow++)
            out[oh * d->Wo + ow] = acc[oh * s->Wq + ow];
}

static void conv_dw_run(const t2c_conv2d_params *p, const conv_geom *d, const conv_dw *s, const t2c_tensor *x,
                        const int8_t *w, const int32_t *b, int32_t *y, void *scratch)
{
    const int x_unsigned = x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8;
    const int32_t xzp = (int32_t)p->x_zero_point;
    const int64_t sh = p->stride_h, sw = p->stride_w, P = d->Ho * d->Wo;
    int32_t *xs = scratch, *row = xs + (size_t)(sh * sw) * s->plane, *acc = row + s->Wq * sw;
    /* every plane writes the same inside positions: the padding stays 0 from here on */
    memset(xs, 0, (size_t)(sh * sw) * s->plane * sizeof(int32_t));
    memset(row, 0, (size_t)(s->Wq * sw) * sizeof(int32_t));
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t c = 0; c < d->Cin; c++) {
            for (int64_t ih = 0; ih < d->H; ih++) {
                const int64_t src = ((n * d->Cin + c) * d->H + ih) * d->W, r = ih + p->pad_top;
                int32_t *pr = row + p->pad_left;
                if (x_unsigned)
                    for (int64_t iw = 0; iw < d->W; iw++)
                        pr[iw] = ((const uint8_t *)x->data)[src + iw] - xzp;
                else
                    for (int64_t iw = 0; iw < d->W; iw++)
                        pr[iw] = ((const int8_t *)x->data)[src + iw] - xzp;
                for (int64_t pc = 0; pc < sw; pc++) {
                    int32_t *dst = xs + (size_t)((r % sh) * sw + pc) * s->plane + (r / sh) * s->Wq;
                    for (int64_t j = 0; j < s->Wq; j++)
                        dst[j] = row[j * sw + pc];
                }
            }
            for (int64_t co = c * d->cout_g; co < (c + 1) * d->cout_g; co++)
                conv_dw_channel(p, d, s, xs, w + co * d->KH * d->KW, b ? b[co] : 0, acc,
                                y + (n * d->Cout + co) * P);
        }
}

enum { CONV_PLANE, CONV_DEPTHWISE, CONV_IM2COL };

#define CONV_MAX_SCRATCH 1e9 /* bytes; larger plans (huge pads or strides) take the plane path */

/* The plain path for these shapes and the scratch bytes it needs (0 for the plane path). */
static int conv_path(const t2c_conv2d_params *p, const conv_geom *d, size_t *bytes)
{
    const double Hp = (double)d->H + (double)p->pad_top + (double)p->pad_bottom;
    const double Wp = (double)d->W + (double)p->pad_left + (double)p->pad_right;
    *bytes = 0;
    if (d->cin_g == 1) {
        const double sh = (double)p->stride_h, sw = (double)p->stride_w;
        const double Wq = Wp / sw + 1, est = 4 * (sh * sw * (Hp / sh + 2) * Wq + Wq * sw + (double)d->Ho * Wq);
        if (est > CONV_MAX_SCRATCH)
            return CONV_PLANE;
        conv_dw s;
        *bytes = conv_dw_plan(p, d, &s);
        return CONV_DEPTHWISE;
    }
    const double K = (double)(d->cin_g * d->KH * d->KW) + 16;
    const double est = 2 * ((double)d->Cout * K + Hp * Wp * (double)d->cin_g) + 2 * CONV_TILE_BYTES + 4 * K;
    if (K - 16 < CONV_MIN_K || est > CONV_MAX_SCRATCH)
        return CONV_PLANE;
    conv_im2col s;
    conv_im2col_plan(p, d, &s);
    *bytes = s.bytes;
    return CONV_IM2COL;
}

/* The recipe; with scratch (conv2d_scratch_size bytes) the depthwise path serves cin_g == 1 and
 * the im2col path K >= CONV_MIN_K, else the plane path (always when called without scratch). */
static t2c_status conv2d_compute(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                                 const t2c_tensor *bias, t2c_tensor *y, void *scratch, t2c_error *err)
{
    conv_geom d;
    conv_geom_get(x, w, y, p->group, &d);
    const int32_t *b = bias ? (const int32_t *)bias->data : NULL;
    int64_t max_bias = 0;
    for (int64_t co = 0; b && co < d.Cout; co++) {
        int64_t v = b[co] < 0 ? -(int64_t)b[co] : b[co];
        max_bias = v > max_bias ? v : max_bias;
    }
    const int64_t max_prod = max_abs_diff(x->dtype, p->x_zero_point) *
                             max_abs_diff(w->dtype, p->w_zero_point);
    if (!acc_never_overflows(max_bias, d.cin_g * d.KH * d.KW, max_prod, p->acc_bits))
        return conv_checked(p, &d, x, w->data, b, y->data, err);
    size_t bytes;
    const int path = scratch ? conv_path(p, &d, &bytes) : CONV_PLANE;
    if (path == CONV_DEPTHWISE) {
        conv_dw s;
        conv_dw_plan(p, &d, &s);
        conv_dw_run(p, &d, &s, x, w->data, b, y->data, scratch);
    } else if (path == CONV_IM2COL) {
        conv_im2col s;
        conv_im2col_plan(p, &d, &s);
        conv_im2col_run(p, &d, &s, x, w->data, b, y->data, scratch);
    } else if (x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8) {
        conv_plain_u8(p, &d, x->data, w->data, b, y->data);
    } else {
        conv_plain_s8(p, &d, x->data, w->data, b, y->data);
    }
    return T2C_OK;
}

t2c_status t2c_conv2d_ref(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                          const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
{
    return conv2d_compute(p, x, w, bias, y, NULL, err);
}

/* ---------------------------------------------------------------- checks and op glue */

/* Output extent floor((in + pads - (dil*(k-1) + 1)) / stride) + 1, or 0 when it is < 1. */
static int64_t conv_out_size(int64_t in, int64_t pad_a, int64_t pad_b, int64_t k, int64_t dil,
                             int64_t stride)
{
    if (k < 1 || k - 1 > (INT64_C(1) << 61) / dil)
        return 0;
    const int64_t span = in + pad_a + pad_b - (dil * (k - 1) + 1);
    return span < 0 ? 0 : span / stride + 1;
}

t2c_status t2c_conv_window_read(const t2c_node *node, t2c_conv_window *win, t2c_error *err)
{
    static const int64_t ones[2] = {1, 1}, zeros[4] = {0, 0, 0, 0};
    const int64_t *v;
    t2c_status st;
    if ((st = t2c_attr_ints(node, "strides", 0, 2, ones, 1, INT32_MAX, &v, NULL, err)) != T2C_OK)
        return st;
    win->stride_h = v[0], win->stride_w = v[1];
    if ((st = t2c_attr_ints(node, "pads", 0, 4, zeros, 0, INT32_MAX, &v, NULL, err)) != T2C_OK)
        return st;
    win->pad_top = v[0], win->pad_left = v[1], win->pad_bottom = v[2], win->pad_right = v[3];
    if ((st = t2c_attr_ints(node, "dilations", 0, 2, ones, 1, INT32_MAX, &v, NULL, err)) != T2C_OK)
        return st;
    win->dilation_h = v[0], win->dilation_w = v[1];
    return t2c_attr_int(node, "group", 0, 1, 1, INT32_MAX, &win->group, err);
}

t2c_status t2c_conv_window_infer(const t2c_conv_window *p, const t2c_tensor *x, const t2c_tensor *w,
                                 const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
{
    char s1[128], s2[128];
    if (p->stride_h < 1 || p->stride_w < 1 || p->stride_h > INT32_MAX || p->stride_w > INT32_MAX ||
        p->dilation_h < 1 || p->dilation_w < 1 || p->dilation_h > INT32_MAX || p->dilation_w > INT32_MAX ||
        p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 ||
        p->pad_top > INT32_MAX || p->pad_left > INT32_MAX || p->pad_bottom > INT32_MAX ||
        p->pad_right > INT32_MAX || p->group < 1)
        return t2c_error_set(err, T2C_ERR_ATTR, "strides/dilations must be >= 1, pads >= 0, group >= 1");
    if (x->rank != 4 || w->rank != 4)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s and weight %s must both have rank 4",
                             t2c_shape_str(x, s1, sizeof s1), t2c_shape_str(w, s2, sizeof s2));
    for (int i = 0; i < 4; i++)
        if (x->dims[i] < 1 || w->dims[i] < 1)
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %s and weight %s must have dims >= 1",
                                 t2c_shape_str(x, s1, sizeof s1), t2c_shape_str(w, s2, sizeof s2));
    const int64_t cin = x->dims[1], cout = w->dims[0];
    if (cin % p->group != 0 || cout % p->group != 0)
        return t2c_error_set(err, T2C_ERR_ATTR, "group = %lld does not divide Cin = %lld and Cout = %lld",
                             (long long)p->group, (long long)cin, (long long)cout);
    if (w->dims[1] != cin / p->group)
        return t2c_error_set(err, T2C_ERR_SHAPE, "weight %s needs dim 1 = Cin/group = %lld for input %s",
                             t2c_shape_str(w, s1, sizeof s1), (long long)(cin / p->group),
                             t2c_shape_str(x, s2, sizeof s2));
    if (bias && (bias->rank != 1 || bias->dims[0] != cout))
        return t2c_error_set(err, T2C_ERR_SHAPE, "bias %s must be [%lld]", t2c_shape_str(bias, s1, sizeof s1),
                             (long long)cout);
    const int64_t ho = conv_out_size(x->dims[2], p->pad_top, p->pad_bottom, w->dims[2], p->dilation_h,
                                     p->stride_h);
    const int64_t wo = conv_out_size(x->dims[3], p->pad_left, p->pad_right, w->dims[3], p->dilation_w,
                                     p->stride_w);
    if (ho < 1 || wo < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "kernel %s does not fit the padded input %s",
                             t2c_shape_str(w, s1, sizeof s1), t2c_shape_str(x, s2, sizeof s2));
    y->rank = 4;
    y->dims[0] = x->dims[0], y->dims[1] = cout, y->dims[2] = ho, y->dims[3] = wo;
    return T2C_OK;
}

int64_t t2c_conv_macs(const t2c_node *node)
{
    const t2c_tensor *w = node->inputs[1], *y = node->outputs[0];
    const int64_t f[7] = {y->dims[0], y->dims[1], y->dims[2], y->dims[3], w->dims[1], w->dims[2], w->dims[3]};
    int64_t m = 1;
    for (int i = 0; i < 7; i++)
        if (__builtin_mul_overflow(m, f[i], &m))
            return INT64_MAX;
    return m;
}

t2c_status t2c_conv2d_infer(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                            const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
{
    t2c_status st = t2c_weighted_check(x, w, bias, y, p->x_zero_point, p->w_zero_point, p->acc_bits, p->overflow,
                                       err);
    if (st != T2C_OK)
        return st;
    const t2c_conv_window win = {p->stride_h,   p->stride_w,   p->pad_top, p->pad_left, p->pad_bottom,
                                 p->pad_right,  p->dilation_h, p->dilation_w, p->group};
    st = t2c_conv_window_infer(&win, x, w, bias, y, err);
    if (st == T2C_OK)
        y->dtype = T2C_INT32;
    return st;
}

static t2c_status conv2d_prepare(t2c_node *node, t2c_error *err)
{
    t2c_conv2d_params *p = node->params;
    t2c_conv_window win;
    t2c_status st;
    if ((st = t2c_weighted_read(node, &p->x_zero_point, &p->w_zero_point, &p->acc_bits, &p->overflow, err)) != T2C_OK ||
        (st = t2c_conv_window_read(node, &win, err)) != T2C_OK)
        return st;
    p->stride_h = win.stride_h, p->stride_w = win.stride_w;
    p->pad_top = win.pad_top, p->pad_left = win.pad_left, p->pad_bottom = win.pad_bottom, p->pad_right = win.pad_right;
    p->dilation_h = win.dilation_h, p->dilation_w = win.dilation_w;
    p->group = win.group;
    return t2c_conv2d_infer(p, node->inputs[0], node->inputs[1], node->n_inputs > 2 ? node->inputs[2] : NULL,
                            node->outputs[0], err);
}

static size_t conv2d_scratch_size(const t2c_node *node)
{
    const t2c_conv2d_params *p = node->params;
    conv_geom d;
    size_t bytes;
    conv_geom_get(node->inputs[0], node->inputs[1], node->outputs[0], p->group, &d);
    conv_path(p, &d, &bytes);
    return bytes;
}

static t2c_status conv2d_run(t2c_node *node, void *scratch, t2c_error *err)
{
    return conv2d_compute(node->params, node->inputs[0], node->inputs[1],
                          node->n_inputs > 2 ? node->inputs[2] : NULL, node->outputs[0], scratch, err);
}

const t2c_op_def t2c_op_conv2d = {
    .type = "conv2d",
    .min_inputs = 2,
    .max_inputs = 3,
    .n_outputs = 1,
    .input_roles = conv2d_roles,
    .params_size = sizeof(t2c_conv2d_params),
    .prepare = conv2d_prepare,
    .scratch_size = conv2d_scratch_size,
    .macs = t2c_conv_macs,
    .run = conv2d_run,
};
