/* global_avgpool.c — mean over H and W, NCHW (ops/README.md "global_avgpool"). */
#include "global_avgpool.h"

/* Σ of one plane of HW elements, exact in int64. A typed loop per storage type (int4 is stored
 * one value per byte) instead of t2c_tensor_get_int per element: that call was ~5 % of
 * MobileNet-V2's run. T2C_CLONES builds vectorized copies of the same sum. */
T2C_CLONES static int64_t plane_sum(const void *data, t2c_dtype dtype, int64_t first, int64_t HW)
{
    int64_t sum = 0;
    if (dtype == T2C_INT8 || dtype == T2C_INT4) {
        const int8_t *x = (const int8_t *)data + first;
        for (int64_t i = 0; i < HW; i++)
            sum += x[i];
    } else if (dtype == T2C_UINT8 || dtype == T2C_UINT4) {
        const uint8_t *x = (const uint8_t *)data + first;
        for (int64_t i = 0; i < HW; i++)
            sum += x[i];
    } else { /* int16 (prepare admits nothing else) */
        const int16_t *x = (const int16_t *)data + first;
        for (int64_t i = 0; i < HW; i++)
            sum += x[i];
    }
    return sum;
}

/* Recipe, for each n, c: sum = Σ_{h,w} x[n, c, h, w] (exact, int64);
 *   y = multiplier ? scale_round(sum, multiplier, 0, shift, rounding) : round_div(sum, H·W, rounding);
 *   y = clamp(y, range(dtype)).  prepare bounds |sum| < 2^31 when a multiplier is used. */
t2c_status t2c_global_avgpool_ref(const t2c_global_avgpool_params *p, const t2c_tensor *x,
                                  t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const int64_t NC = x->dims[0] * x->dims[1], HW = x->dims[2] * x->dims[3];
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    for (int64_t nc = 0; nc < NC; nc++) {
        const int64_t sum = plane_sum(x->data, x->dtype, nc * HW, HW);
        int64_t v = p->has_multiplier ? t2c_scale_round(sum, p->multiplier, 0, p->shift, p->rounding)
                                      : t2c_round_div(sum, HW, p->rounding);
        t2c_tensor_set_int(y, nc, t2c_clamp64(v, ymin, ymax));
    }
    return T2C_OK;
}

static int gap_dtype_ok(t2c_dtype d)
{
    /* int16: integer-mode Torch2Chip imports average their int16 fixed-point residual stream */
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

static t2c_status gap_prepare(t2c_node *node, t2c_error *err)
{
    t2c_global_avgpool_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    if (!gap_dtype_ok(x->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be int4, uint4, int8, uint8 or int16",
                             t2c_dtype_name(x->dtype));
    char s[128];
    if (x->rank != 4)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s must be [N, C, H, W]", t2c_shape_str(x, s, sizeof s));
    if (x->dims[2] < 1 || x->dims[3] < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s has no elements to average",
                             t2c_shape_str(x, s, sizeof s));
    t2c_status st;
    int64_t i64;
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
        /* scale_round needs |sum| < 2^31; |sum| <= H·W·max|x| */
        const int64_t xmin = t2c_dtype_min(x->dtype), xmax = t2c_dtype_max(x->dtype);
        const int64_t xabs = -xmin > xmax ? -xmin : xmax;
        if (x->dims[2] * x->dims[3] > INT32_MAX / xabs)
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %s is too large for an int32 sum with 'multiplier'",
                                 t2c_shape_str(x, s, sizeof s));
    }
    y->dtype = x->dtype;
    y->rank = 4;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    y->dims[2] = 1;
    y->dims[3] = 1;
    return T2C_OK;
}

static t2c_status gap_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_global_avgpool_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const gap_roles[] = {"input"};

const t2c_op_def t2c_op_global_avgpool = {
    .type = "global_avgpool",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = gap_roles,
    .params_size = sizeof(t2c_global_avgpool_params),
    .prepare = gap_prepare,
    .run = gap_run,
};
