/* maxpool2d.c — 2-D max pooling, NCHW (ops/README.md "maxpool2d"). */
#include "maxpool2d.h"

/* Recipe, for each n, c, oh, ow:
 *   y = max over kh, kw of x[n, c, ih, iw] with ih = oh·sh - top + kh·dh, iw = ow·sw - left + kw·dw,
 *   taking only positions with 0 <= ih < H and 0 <= iw < W (padding never wins). */
/* One N*C plane loop per element type T (int8 for int4/int8, uint8 for uint4/uint8, int32), so
 * no dtype switch runs per element. */
#define MAXPOOL_PLANES(T)                                                                          \
    do {                                                                                           \
        const T *xs = x->data;                                                                     \
        T *ys = y->data;                                                                           \
        for (int64_t nc = 0; nc < N * C; nc++) {                                                   \
            const T *xp = xs + nc * H * W;                                                         \
            for (int64_t oh = 0; oh < Ho; oh++)                                                    \
                for (int64_t ow = 0; ow < Wo; ow++) {                                              \
                    int64_t best = INT64_MIN; /* prepare guarantees one inside position */          \
                    for (int64_t kh = 0; kh < KH; kh++) {                                          \
                        const int64_t ih = oh * sh - top + kh * dh;                                \
                        if (ih < 0 || ih >= H)                                                     \
                            continue;                                                              \
                        for (int64_t kw = 0; kw < KW; kw++) {                                      \
                            const int64_t iw = ow * sw - left + kw * dw;                           \
                            if (iw < 0 || iw >= W)                                                 \
                                continue;                                                          \
                            if (xp[ih * W + iw] > best)                                            \
                                best = xp[ih * W + iw];                                            \
                        }                                                                          \
                    }                                                                              \
                    ys[(nc * Ho + oh) * Wo + ow] = (T)best;                                        \
                }                                                                                  \
        }                                                                                          \
    } while (0)

/* Recipe, for each n, c, oh, ow:
 *   y = max over kh, kw of x[n, c, ih, iw] with ih = oh·sh - top + kh·dh, iw = ow·sw - left + kw·dw,
 *   taking only positions with 0 <= ih < H and 0 <= iw < W (padding never wins). */
t2c_status t2c_maxpool2d_ref(const t2c_maxpool2d_params *p, const t2c_tensor *x, t2c_tensor *y,
                             t2c_error *err)
{
    (void)err;
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t Ho = y->dims[2], Wo = y->dims[3];
    const int64_t KH = p->kernel[0], KW = p->kernel[1], sh = p->strides[0], sw = p->strides[1];
    const int64_t dh = p->dilations[0], dw = p->dilations[1], top = p->pads[0], left = p->pads[1];
    if (x->dtype == T2C_INT32)
        MAXPOOL_PLANES(int32_t);
    else if (x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8)
        MAXPOOL_PLANES(uint8_t);
    else
        MAXPOOL_PLANES(int8_t);
    return T2C_OK;
}

/* "int activation (or int32)" (ops/README.md). */
static int maxpool_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT32;
}

/* 1 if some window along one axis (o = 0..out-1) has no position inside [0, in). */
static int maxpool_axis_has_empty_window(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d,
                                         int64_t pad, int64_t *which)
{
    for (int64_t o = 0; o < out; o++) {
        const int64_t start = o * s - pad;
        const int64_t k0 = start >= 0 ? 0 : (-start + d - 1) / d; /* first tap at ih >= 0 */
        if (k0 >= k || start + k0 * d >= in) {
            *which = o;
            return 1;
        }
    }
    return 0;
}

static t2c_status maxpool_prepare(t2c_node *node, t2c_error *err)
{
    t2c_maxpool2d_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    if (!maxpool_dtype_ok(x->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be int4, uint4, int8, uint8 or int32",
                             t2c_dtype_name(x->dtype));
    if (x->rank != 4) {
        char s[128];
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s must be [N, C, H, W]", t2c_shape_str(x, s, sizeof s));
    }
    static const int64_t zeros[4] = {0, 0, 0, 0}, ones[2] = {1, 1};
    const int64_t big = INT32_MAX;
    const int64_t *v;
    t2c_status st;
    if ((st = t2c_attr_ints(node, "kernel", 1, 2, NULL, 1, big, &v, NULL, err)))
        return st;
    p->kernel[0] = v[0], p->kernel[1] = v[1];
    if ((st = t2c_attr_ints(node, "strides", 0, 2, p->kernel, 1, big, &v, NULL, err)))
        return st;
    p->strides[0] = v[0], p->strides[1] = v[1];
    if ((st = t2c_attr_ints(node, "pads", 0, 4, zeros, 0, big, &v, NULL, err)))
        return st;
    for (int i = 0; i < 4; i++)
        p->pads[i] = v[i];
    if ((st = t2c_attr_ints(node, "dilations", 0, 2, ones, 1, big, &v, NULL, err)))
        return st;
    p->dilations[0] = v[0], p->dilations[1] = v[1];
    for (int i = 0; i < 4; i++)
        if (p->pads[i] >= p->kernel[i % 2])
            return t2c_error_set(err, T2C_ERR_ATTR, "pads[%d] = %lld must be below kernel[%d] = %lld", i,
                                 (long long)p->pads[i], i % 2, (long long)p->kernel[i % 2]);

    int64_t out[2];
    for (int a = 0; a < 2; a++) {
        const int64_t in = x->dims[2 + a];
        const int64_t num = in + p->pads[a] + p->pads[a + 2] - p->dilations[a] * (p->kernel[a] - 1) - 1;
        if (num < 0) {
            char s[128];
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %s is smaller than the dilated kernel",
                                 t2c_shape_str(x, s, sizeof s));
        }
        out[a] = num / p->strides[a] + 1;
        int64_t which;
        if (maxpool_axis_has_empty_window(in, out[a], p->kernel[a], p->strides[a], p->dilations[a],
                                          p->pads[a], &which))
            return t2c_error_set(err, T2C_ERR_ATTR, "the window at output %s %lld lies entirely in padding",
                                 a ? "column" : "row", (long long)which);
    }
    y->dtype = x->dtype;
    y->rank = 4;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    y->dims[2] = out[0];
    y->dims[3] = out[1];
    return T2C_OK;
}

static t2c_status maxpool_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_maxpool2d_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const maxpool_roles[] = {"input"};

const t2c_op_def t2c_op_maxpool2d = {
    .type = "maxpool2d",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = maxpool_roles,
    .params_size = sizeof(t2c_maxpool2d_params),
    .prepare = maxpool_prepare,
    .run = maxpool_run,
};
