/* quantize.c — float32 -> integer at the model boundary: reference kernel and op definition.
 *
 * Recipe (ops/README.md "quantize"), in IEEE-754 binary32, round-to-nearest-even:
 *   inv = 1.0f / (float)scale;  t = x * inv;  r = nearbyint(t) (ties to even);
 *   y = clamp(r + zero_point, lo, hi);  NaN gives zero_point (not clamped to lo/hi), +-inf and huge
 *   values clamp.
 * This is PyTorch's quantize_per_tensor arithmetic. One of the two float ops of t2c.
 */
#include <math.h>

#include "quantize.h"

static const char *const quantize_roles[] = {"input"};

/* |r| beyond this clamps anyway: lo/hi and zero_point lie within int16. */
#define QUANTIZE_R_LIMIT 1099511627776.0f /* 2^40, exact in binary32 */

t2c_status t2c_quantize_ref(const t2c_quantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                            t2c_error *err)
{
    (void)err;
    const float inv = 1.0f / (float)p->scale;
    const float *xs = x->data;
    const int64_t n = t2c_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        const float t = xs[i] * inv;
        if (isnan(t)) {
            t2c_tensor_set_int(y, i, p->zero_point);
            continue;
        }
        const float rf = nearbyintf(t);
        const int64_t r = rf > QUANTIZE_R_LIMIT    ? (int64_t)QUANTIZE_R_LIMIT
                          : rf < -QUANTIZE_R_LIMIT ? -(int64_t)QUANTIZE_R_LIMIT
                                                   : (int64_t)rf;
        t2c_tensor_set_int(y, i, t2c_clamp64(r + p->zero_point, p->lo, p->hi));
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

static int quantize_out_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

t2c_status t2c_quantize_infer(const t2c_quantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                              t2c_error *err)
{
    if (x->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not float32", t2c_dtype_name(x->dtype));
    if (!quantize_out_ok(y->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not int4/uint4/int8/uint8/int16",
                             t2c_dtype_name(y->dtype));
    const float fs = (float)p->scale;
    if (!(p->scale > 0) || !isfinite(fs) || !(fs > 0) || !isfinite(1.0f / fs))
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "scale = %g must be > 0 with a finite binary32 value and inverse", p->scale);
    const int64_t dmin = t2c_dtype_min(y->dtype), dmax = t2c_dtype_max(y->dtype);
    if (p->zero_point < dmin || p->zero_point > dmax)
        return t2c_error_set(err, T2C_ERR_ATTR, "zero_point = %lld is outside the %s range",
                             (long long)p->zero_point, t2c_dtype_name(y->dtype));
    if (p->lo < dmin || p->hi > dmax || p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld, hi = %lld must satisfy %lld <= lo <= hi <= %lld",
                             (long long)p->lo, (long long)p->hi, (long long)dmin, (long long)dmax);
    if (x->rank < 0 || x->rank > T2C_MAX_RANK)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input rank %d is invalid", x->rank);
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status quantize_prepare(t2c_node *node, t2c_error *err)
{
    t2c_quantize_params *p = node->params;
    t2c_status st;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_dtype od = node->outputs[0]->dtype;
    if ((st = t2c_attr_float(node, "scale", 1, 0.0, &p->scale, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "zero_point", 0, 0, INT32_MIN, INT32_MAX, &p->zero_point, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "lo", 0, t2c_dtype_min(od), INT32_MIN, INT32_MAX, &p->lo, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "hi", 0, t2c_dtype_max(od), INT32_MIN, INT32_MAX, &p->hi, err)) != T2C_OK)
        return st;
    return t2c_quantize_infer(p, node->inputs[0], node->outputs[0], err);
}

static t2c_status quantize_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_quantize_ref(node->params, node->inputs[0], node->outputs[0], err);
}

const t2c_op_def t2c_op_quantize = {
    .type = "quantize",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = quantize_roles,
    .params_size = sizeof(t2c_quantize_params),
    .prepare = quantize_prepare,
    .scratch_size = NULL,
    .macs = NULL,
    .run = quantize_run,
};
