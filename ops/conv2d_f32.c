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

t2c_status t2c_conv2d_f32_infer(const t2c_conv2d_f32_params *p, const t2c_tensor *x,
                                const t2c_tensor *w, const t2c_tensor *bias, t2c_tensor *y,
                                t2c_error *err)
{
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
    t2c_status st = t2c_conv_window_infer(p, x, w, bias, y, err);
    if (st == T2C_OK)
        y->dtype = T2C_FLOAT32;
    return st;
}

static t2c_status conv2d_f32_prepare(t2c_node *node, t2c_error *err)
{
    t2c_conv2d_f32_params *p = node->params;
    t2c_status st;
    if (node->n_inputs < 2 || node->n_inputs > 3 || !node->inputs[0] || !node->inputs[1] ||
        node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, weight, optional bias and one output");
    if ((st = t2c_conv_window_read(node, p, err)) != T2C_OK)
        return st;
    return t2c_conv2d_f32_infer(p, node->inputs[0], node->inputs[1], node->n_inputs > 2 ? node->inputs[2] : NULL,
                                node->outputs[0], err);
}

static size_t conv2d_f32_scratch_size(const t2c_node *node) { return t2c_conv2d_f32_scratch(node->outputs[0]); }

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
    .macs = t2c_conv_macs,
    .run = conv2d_f32_run,
};
