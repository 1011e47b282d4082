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

static void conv_plain_s8(const t2c_conv2d_params *p, const conv_geom *d, const void *x,
                          const int8_t *w, const int32_t *b, int32_t *y)
{
    conv_plain_body(p, d, x, 0, w, b, y);
}

static void conv_plain_u8(const t2c_conv2d_params *p, const conv_geom *d, const void *x,
                          const int8_t *w, const int32_t *b, int32_t *y)
{
    conv_plain_body(p, d, x, 1, w, b, y);
}

t2c_status t2c_conv2d_ref(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                          const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
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
    if (x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8)
        conv_plain_u8(p, &d, x->data, w->data, b, y->data);
    else
        conv_plain_s8(p, &d, x->data, w->data, b, y->data);
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

static int in_dtype_range(t2c_dtype d, int64_t v) { return v >= t2c_dtype_min(d) && v <= t2c_dtype_max(d); }

/* Output extent floor((in + pads - (dil*(k-1) + 1)) / stride) + 1, or 0 when it is < 1. */
static int64_t conv_out_size(int64_t in, int64_t pad_a, int64_t pad_b, int64_t k, int64_t dil,
                             int64_t stride)
{
    if (k < 1 || k - 1 > (INT64_C(1) << 61) / dil)
        return 0;
    const int64_t span = in + pad_a + pad_b - (dil * (k - 1) + 1);
    return span < 0 ? 0 : span / stride + 1;
}

t2c_status t2c_conv2d_infer(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                            const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
{
    char s1[128], s2[128];
    if (x->dtype != T2C_INT4 && x->dtype != T2C_UINT4 && x->dtype != T2C_INT8 && x->dtype != T2C_UINT8)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not int4/uint4/int8/uint8",
                             t2c_dtype_name(x->dtype));
    if (w->dtype != T2C_INT4 && w->dtype != T2C_INT8)
        return t2c_error_set(err, T2C_ERR_DTYPE, "weight dtype %s is not int4/int8",
                             t2c_dtype_name(w->dtype));
    if (bias && bias->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "bias dtype %s is not int32", t2c_dtype_name(bias->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not int32", t2c_dtype_name(y->dtype));
    if (p->stride_h < 1 || p->stride_w < 1 || p->stride_h > INT32_MAX || p->stride_w > INT32_MAX ||
        p->dilation_h < 1 || p->dilation_w < 1 || p->dilation_h > INT32_MAX || p->dilation_w > INT32_MAX ||
        p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 ||
        p->pad_top > INT32_MAX || p->pad_left > INT32_MAX || p->pad_bottom > INT32_MAX ||
        p->pad_right > INT32_MAX || p->group < 1)
        return t2c_error_set(err, T2C_ERR_ATTR, "strides/dilations must be >= 1, pads >= 0, group >= 1");
    if (p->acc_bits < 2 || p->acc_bits > 32 || (int)p->overflow < 0 || p->overflow >= T2C_OVERFLOW_COUNT)
        return t2c_error_set(err, T2C_ERR_ATTR, "acc_bits = %d must be 2..32 with a valid overflow policy",
                             p->acc_bits);
    if (!in_dtype_range(x->dtype, p->x_zero_point))
        return t2c_error_set(err, T2C_ERR_ATTR, "x_zero_point = %lld is outside the %s range",
                             (long long)p->x_zero_point, t2c_dtype_name(x->dtype));
    if (!in_dtype_range(w->dtype, p->w_zero_point))
        return t2c_error_set(err, T2C_ERR_ATTR, "w_zero_point = %lld is outside the %s range",
                             (long long)p->w_zero_point, t2c_dtype_name(w->dtype));
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
    y->dtype = T2C_INT32;
    y->rank = 4;
    y->dims[0] = x->dims[0], y->dims[1] = cout, y->dims[2] = ho, y->dims[3] = wo;
    return T2C_OK;
}

static t2c_status conv2d_prepare(t2c_node *node, t2c_error *err)
{
    static const int64_t ones[2] = {1, 1}, zeros[4] = {0, 0, 0, 0};
    t2c_conv2d_params *p = node->params;
    const int64_t *v;
    int64_t i64;
    int e;
    t2c_status st;
    if (node->n_inputs < 2 || node->n_inputs > 3 || !node->inputs[0] || !node->inputs[1] ||
        node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, weight, optional bias and one output");
    if ((st = t2c_attr_ints(node, "strides", 0, 2, ones, 1, INT32_MAX, &v, NULL, err)) != T2C_OK)
        return st;
    p->stride_h = v[0], p->stride_w = v[1];
    if ((st = t2c_attr_ints(node, "pads", 0, 4, zeros, 0, INT32_MAX, &v, NULL, err)) != T2C_OK)
        return st;
    p->pad_top = v[0], p->pad_left = v[1], p->pad_bottom = v[2], p->pad_right = v[3];
    if ((st = t2c_attr_ints(node, "dilations", 0, 2, ones, 1, INT32_MAX, &v, NULL, err)) != T2C_OK)
        return st;
    p->dilation_h = v[0], p->dilation_w = v[1];
    if ((st = t2c_attr_int(node, "group", 0, 1, 1, INT32_MAX, &p->group, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "x_zero_point", 0, 0, INT32_MIN, INT32_MAX, &p->x_zero_point, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "w_zero_point", 0, 0, INT32_MIN, INT32_MAX, &p->w_zero_point, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "acc_bits", 0, 32, 2, 32, &i64, err)) != T2C_OK ||
        (st = t2c_attr_enum(node, "overflow", 0, T2C_OVERFLOW_ERROR, t2c_overflow_names, T2C_OVERFLOW_COUNT,
                            &e, err)) != T2C_OK)
        return st;
    p->acc_bits = (int)i64;
    p->overflow = (t2c_overflow)e;
    return t2c_conv2d_infer(p, node->inputs[0], node->inputs[1], node->n_inputs > 2 ? node->inputs[2] : NULL,
                            node->outputs[0], err);
}

static int64_t conv2d_macs(const t2c_node *node)
{
    const t2c_tensor *w = node->inputs[1], *y = node->outputs[0];
    const int64_t f[7] = {y->dims[0], y->dims[1], y->dims[2], y->dims[3], w->dims[1], w->dims[2], w->dims[3]};
    int64_t m = 1;
    for (int i = 0; i < 7; i++)
        if (__builtin_mul_overflow(m, f[i], &m))
            return INT64_MAX;
    return m;
}

static t2c_status conv2d_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_conv2d_ref(node->params, node->inputs[0], node->inputs[1],
                          node->n_inputs > 2 ? node->inputs[2] : NULL, node->outputs[0], err);
}

const t2c_op_def t2c_op_conv2d = {
    .type = "conv2d",
    .min_inputs = 2,
    .max_inputs = 3,
    .n_outputs = 1,
    .input_roles = conv2d_roles,
    .params_size = sizeof(t2c_conv2d_params),
    .prepare = conv2d_prepare,
    .scratch_size = NULL,
    .macs = conv2d_macs,
    .run = conv2d_run,
};
