/* conv2d_f32.c — float32 convolution with integer weights (Torch2Chip compat): reference kernel
 * and op definition.
 *
 * Recipe (ops/README.md "conv2d_f32"), for each n, co, oh, ow with g = co / (Cout/group):
 *   acc = (double)bias[co] (+0.0 without bias)                       -- binary64
 *   for ci < Cin/group, kh < KH, kw < KW:                              -- c = g*(Cin/group) + ci
 *     ih = oh*sh - top + kh*dh;  iw = ow*sw - left + kw*dw
 *     positions outside the image are skipped (zero padding adds nothing)
 *     acc = acc + (double)x[n, c, ih, iw] * (double)w[co, ci, kh, kw]  -- product exact, sum rounded
 *   y[n, co, oh, ow] = (float)acc                                      -- one rounding to binary32
 * Round-to-nearest-even throughout, no fused multiply-add (the build uses -ffp-contract=off).
 * The product is exact: a binary32 significand (24 bits) times |w| <= 128 fits in 53 bits.
 */
#include "conv2d_f32.h"

static const char *const conv2d_f32_roles[] = {"input", "weight", "bias"};

/* Element i of an activation as binary64 (exact for every allowed dtype). */
static inline double load_x(const void *data, t2c_dtype d, int64_t i)
{
    switch (d) {
    case T2C_FLOAT32: return (double)((const float *)data)[i];
    case T2C_UINT4:
    case T2C_UINT8: return (double)((const uint8_t *)data)[i];
    default: return (double)((const int8_t *)data)[i];
    }
}

size_t t2c_conv2d_f32_scratch(const t2c_tensor *y) { return (size_t)(y->dims[2] * y->dims[3]) * sizeof(double); }

t2c_status t2c_conv2d_f32_ref(const t2c_conv2d_f32_params *p, const t2c_tensor *x,
                              const t2c_tensor *w, const t2c_tensor *bias, t2c_tensor *y,
                              void *scratch, t2c_error *err)
{
    (void)err;
    const int64_t N = x->dims[0], Cin = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t Cout = w->dims[0], KH = w->dims[2], KW = w->dims[3];
    const int64_t Ho = y->dims[2], Wo = y->dims[3];
    const int64_t cin_g = Cin / p->group, cout_g = Cout / p->group;
    const int8_t *ws = w->data;
    const float *bs = bias ? (const float *)bias->data : NULL;
    float *ys = y->data;
    double *acc = scratch;
    /* Output planes one at a time; the taps (ci, kh, kw) run outermost, so every output position
     * still receives its products in the recipe's order. */
    for (int64_t n = 0; n < N; n++)
        for (int64_t co = 0; co < Cout; co++) {
            const int64_t g = co / cout_g;
            const double b0 = bs ? (double)bs[co] : 0.0;
            for (int64_t i = 0; i < Ho * Wo; i++)
                acc[i] = b0;
            for (int64_t ci = 0; ci < cin_g; ci++) {
                const int64_t plane = ((n * Cin) + g * cin_g + ci) * H * W;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const double wv = (double)ws[((co * cin_g + ci) * KH + kh) * KW + kw];
                        for (int64_t oh = 0; oh < Ho; oh++) {
                            const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t ow = 0; ow < Wo; ow++) {
                                const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
                                if (iw < 0 || iw >= W)
                                    continue;
                                const double prod = load_x(x->data, x->dtype, plane + ih * W + iw) * wv;
                                acc[oh * Wo + ow] = acc[oh * Wo + ow] + prod;
                            }
                        }
                    }
            }
            float *out = ys + (n * Cout + co) * Ho * Wo;
            for (int64_t i = 0; i < Ho * Wo; i++)
                out[i] = (float)acc[i];
        }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

/* Output extent floor((in + pads - (dil*(k-1) + 1)) / stride) + 1, or 0 when it is < 1. */
static int64_t out_size(int64_t in, int64_t pad_a, int64_t pad_b, int64_t k, int64_t dil, int64_t stride)
{
    if (k < 1 || k - 1 > (INT64_C(1) << 61) / dil)
        return 0;
    const int64_t span = in + pad_a + pad_b - (dil * (k - 1) + 1);
    return span < 0 ? 0 : span / stride + 1;
}

t2c_status t2c_conv2d_f32_infer(const t2c_conv2d_f32_params *p, const t2c_tensor *x,
                                const t2c_tensor *w, const t2c_tensor *bias, t2c_tensor *y,
                                t2c_error *err)
{
    char s1[128], s2[128];
    if (x->dtype != T2C_FLOAT32 && x->dtype != T2C_INT4 && x->dtype != T2C_UINT4 && x->dtype != T2C_INT8 &&
        x->dtype != T2C_UINT8)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not float32/int4/uint4/int8/uint8",
                             t2c_dtype_name(x->dtype));
    if (w->dtype != T2C_INT4 && w->dtype != T2C_INT8)
        return t2c_error_set(err, T2C_ERR_DTYPE, "weight dtype %s is not int4/int8", t2c_dtype_name(w->dtype));
    if (bias && bias->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "bias dtype %s is not float32", t2c_dtype_name(bias->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not float32", t2c_dtype_name(y->dtype));
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
    const int64_t ho = out_size(x->dims[2], p->pad_top, p->pad_bottom, w->dims[2], p->dilation_h, p->stride_h);
    const int64_t wo = out_size(x->dims[3], p->pad_left, p->pad_right, w->dims[3], p->dilation_w, p->stride_w);
    if (ho < 1 || wo < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "kernel %s does not fit the padded input %s",
                             t2c_shape_str(w, s1, sizeof s1), t2c_shape_str(x, s2, sizeof s2));
    y->dtype = T2C_FLOAT32;
    y->rank = 4;
    y->dims[0] = x->dims[0], y->dims[1] = cout, y->dims[2] = ho, y->dims[3] = wo;
    return T2C_OK;
}

static t2c_status conv2d_f32_prepare(t2c_node *node, t2c_error *err)
{
    static const int64_t ones[2] = {1, 1}, zeros[4] = {0, 0, 0, 0};
    t2c_conv2d_f32_params *p = node->params;
    const int64_t *v;
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
    if ((st = t2c_attr_int(node, "group", 0, 1, 1, INT32_MAX, &p->group, err)) != T2C_OK)
        return st;
    return t2c_conv2d_f32_infer(p, node->inputs[0], node->inputs[1], node->n_inputs > 2 ? node->inputs[2] : NULL,
                                node->outputs[0], err);
}

static size_t conv2d_f32_scratch_size(const t2c_node *node) { return t2c_conv2d_f32_scratch(node->outputs[0]); }

static int64_t conv2d_f32_macs(const t2c_node *node)
{
    const t2c_tensor *w = node->inputs[1], *y = node->outputs[0];
    const int64_t f[7] = {y->dims[0], y->dims[1], y->dims[2], y->dims[3], w->dims[1], w->dims[2], w->dims[3]};
    int64_t m = 1;
    for (int i = 0; i < 7; i++)
        if (__builtin_mul_overflow(m, f[i], &m))
            return INT64_MAX;
    return m;
}

static t2c_status conv2d_f32_run(t2c_node *node, void *scratch, t2c_error *err)
{
    return t2c_conv2d_f32_ref(node->params, node->inputs[0], node->inputs[1],
                              node->n_inputs > 2 ? node->inputs[2] : NULL, node->outputs[0], scratch, err);
}

const t2c_op_def t2c_op_conv2d_f32 = {
    .type = "conv2d_f32",
    .min_inputs = 2,
    .max_inputs = 3,
    .n_outputs = 1,
    .input_roles = conv2d_f32_roles,
    .params_size = sizeof(t2c_conv2d_f32_params),
    .prepare = conv2d_f32_prepare,
    .scratch_size = conv2d_f32_scratch_size,
    .macs = conv2d_f32_macs,
    .run = conv2d_f32_run,
};
