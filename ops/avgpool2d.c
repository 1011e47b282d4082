/* avgpool2d.c — 2-D average pooling, NCHW (ops/README.md "avgpool2d"). */
#include "avgpool2d.h"

/* Recipe, for each n, c, oh, ow, over kh < KH, kw < KW with ih = oh·sh - top + kh,
 * iw = ow·sw - left + kw:
 *   inside positions add x[n, c, ih, iw] to sum and count 1;
 *   padded positions add x_zero_point and count 1 only if count_include_pad = 1.
 *   y = multiplier ? scale_round(sum, multiplier, 0, shift, rounding) : round_div(sum, n, rounding)
 *   y = clamp(y, range(dtype)).
 * sum is exact in int64 (prepare bounds KH·KW·max|x|; below 2^31 with a multiplier). */
t2c_status t2c_avgpool2d_ref(const t2c_avgpool2d_params *p, const t2c_tensor *x, t2c_tensor *y,
                             t2c_error *err)
{
    (void)err;
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t Ho = y->dims[2], Wo = y->dims[3];
    const int64_t KH = p->kernel[0], KW = p->kernel[1], sh = p->strides[0], sw = p->strides[1];
    const int64_t top = p->pads[0], left = p->pads[1];
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    for (int64_t nc = 0; nc < N * C; nc++) {
        const int64_t xbase = nc * H * W;
        for (int64_t oh = 0; oh < Ho; oh++)
            for (int64_t ow = 0; ow < Wo; ow++) {
                int64_t sum = 0, n = 0;
                for (int64_t kh = 0; kh < KH; kh++) {
                    const int64_t ih = oh * sh - top + kh;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const int64_t iw = ow * sw - left + kw;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                            sum += t2c_tensor_get_int(x, xbase + ih * W + iw);
                            n++;
                        } else if (p->count_include_pad) {
                            sum += p->x_zero_point;
                            n++;
                        }
                    }
                }
                /* n >= 1: pads < kernel leave every window an inside position */
                int64_t v = p->has_multiplier ? t2c_scale_round(sum, p->multiplier, 0, p->shift, p->rounding)
                                              : t2c_round_div(sum, n, p->rounding);
                t2c_tensor_set_int(y, (nc * Ho + oh) * Wo + ow, t2c_clamp64(v, ymin, ymax));
            }
    }
    return T2C_OK;
}

static int avgpool_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8;
}

/* Number of inside taps of window o along one axis (kernel k, stride s, leading pad). */
static int64_t avgpool_inside(int64_t in, int64_t o, int64_t k, int64_t s, int64_t pad)
{
    const int64_t start = o * s - pad, end = start + k; /* [start, end) */
    return (end < in ? end : in) - (start > 0 ? start : 0);
}

static t2c_status avgpool_prepare(t2c_node *node, t2c_error *err)
{
    t2c_avgpool2d_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    if (!avgpool_dtype_ok(x->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be int4, uint4, int8 or uint8",
                             t2c_dtype_name(x->dtype));
    if (x->rank != 4) {
        char s[128];
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s must be [N, C, H, W]", t2c_shape_str(x, s, sizeof s));
    }
    if (x->dims[2] < 1 || x->dims[3] < 1) {
        char s[128];
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s has no elements to average",
                             t2c_shape_str(x, s, sizeof s));
    }
    static const int64_t zeros[4] = {0, 0, 0, 0};
    const int64_t big = INT32_MAX;
    const int64_t *v;
    int64_t i64;
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
    for (int i = 0; i < 4; i++)
        if (p->pads[i] >= p->kernel[i % 2])
            return t2c_error_set(err, T2C_ERR_ATTR, "pads[%d] = %lld must be below kernel[%d] = %lld", i,
                                 (long long)p->pads[i], i % 2, (long long)p->kernel[i % 2]);
    if ((st = t2c_attr_int(node, "count_include_pad", 0, 0, 0, 1, &i64, err)))
        return st;
    p->count_include_pad = (int)i64;
    const int64_t xmin = t2c_dtype_min(x->dtype), xmax = t2c_dtype_max(x->dtype);
    if ((st = t2c_attr_int(node, "x_zero_point", 0, 0, xmin, xmax, &p->x_zero_point, err)))
        return st;
    if ((st = t2c_attr_rounding(node, "rounding", T2C_ROUND_HALF_EVEN, &p->rounding, err)))
        return st;
    const int has_m = t2c_node_attr(node, "multiplier") != NULL, has_s = t2c_node_attr(node, "shift") != NULL;
    if (has_m != has_s)
        return t2c_error_set(err, T2C_ERR_ATTR, "attributes 'multiplier' and 'shift' go together");
    p->has_multiplier = has_m;
    if (has_m) {
        const int64_t m_lo = p->rounding == T2C_ROUND_TFLITE ? 0 : -(int64_t)INT32_MAX;
        if ((st = t2c_attr_int(node, "multiplier", 1, 0, m_lo, INT32_MAX, &p->multiplier, err)) ||
            (st = t2c_attr_int(node, "shift", 1, 0, 0, 62, &i64, err)))
            return st;
        p->shift = (int)i64;
    }

    int64_t out[2];
    for (int a = 0; a < 2; a++) {
        const int64_t num = x->dims[2 + a] + p->pads[a] + p->pads[a + 2] - p->kernel[a];
        if (num < 0) {
            char s[128];
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %s is smaller than the kernel",
                                 t2c_shape_str(x, s, sizeof s));
        }
        out[a] = num / p->strides[a] + 1;
    }

    /* |sum| <= KH·KW·max|x| (x_zero_point is within x's range too): exact in int64, and
     * below 2^31 where scale_round needs it. */
    const int64_t xabs = -xmin > xmax ? -xmin : xmax;
    const int64_t limit = p->has_multiplier ? INT32_MAX : ((int64_t)1 << 62);
    if (p->kernel[0] * p->kernel[1] > limit / xabs)
        return t2c_error_set(err, T2C_ERR_ATTR, "kernel %lldx%lld is too large for an exact %s sum",
                             (long long)p->kernel[0], (long long)p->kernel[1],
                             p->has_multiplier ? "int32" : "int64");
    /* One multiplier stands for 1/n, so every window must count the same n. The count is
     * the product of per-axis counts, so each axis must be constant on its own. */
    if (p->has_multiplier && !p->count_include_pad)
        for (int a = 0; a < 2; a++) {
            const int64_t in = x->dims[2 + a];
            const int64_t n0 = avgpool_inside(in, 0, p->kernel[a], p->strides[a], p->pads[a]);
            for (int64_t o = 1; o < out[a]; o++)
                if (avgpool_inside(in, o, p->kernel[a], p->strides[a], p->pads[a]) != n0)
                    return t2c_error_set(err, T2C_ERR_ATTR,
                                         "with 'multiplier' every window must count the same n, "
                                         "but output %s %lld differs from %s 0",
                                         a ? "column" : "row", (long long)o, a ? "column" : "row");
        }

    y->dtype = x->dtype;
    y->rank = 4;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    y->dims[2] = out[0];
    y->dims[3] = out[1];
    return T2C_OK;
}

static t2c_status avgpool_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_avgpool2d_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const avgpool_roles[] = {"input"};

const t2c_op_def t2c_op_avgpool2d = {
    .type = "avgpool2d",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = avgpool_roles,
    .params_size = sizeof(t2c_avgpool2d_params),
    .prepare = avgpool_prepare,
    .run = avgpool_run,
};
