/* dequantize.c — integer -> float32 at the model boundary: reference kernel and op definition.
 *
 * Recipe (ops/README.md "dequantize"), in IEEE-754 binary32:
 *   y = (float)(x - zero_point) * (float)scale
 * x - zero_point is exact (int64; 128-bit for int64 inputs) and rounded to binary32 once.
 * One of the two float ops of t2c.
 */
#include <math.h>

#include "dequantize.h"

static const char *const dequantize_roles[] = {"input"};

t2c_status t2c_dequantize_ref(const t2c_dequantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                              t2c_error *err)
{
    (void)err;
    const float s = (float)p->scale;
    float *ys = y->data;
    const int64_t n = t2c_tensor_numel(x);
    if (x->dtype == T2C_INT64) {
        const int64_t *xs = x->data;
        for (int64_t i = 0; i < n; i++)
            ys[i] = (float)((__int128)xs[i] - p->zero_point) * s;
    } else {
        for (int64_t i = 0; i < n; i++)
            ys[i] = (float)(t2c_tensor_get_int(x, i) - p->zero_point) * s;
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

t2c_status t2c_dequantize_infer(const t2c_dequantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                                t2c_error *err)
{
    if (!t2c_dtype_is_int(x->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not an integer dtype",
                             t2c_dtype_name(x->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not float32", t2c_dtype_name(y->dtype));
    const float fs = (float)p->scale;
    if (!(p->scale > 0) || !isfinite(fs) || !(fs > 0))
        return t2c_error_set(err, T2C_ERR_ATTR, "scale = %g must be > 0 with a finite binary32 value",
                             p->scale);
    if (p->zero_point < t2c_dtype_min(x->dtype) || p->zero_point > t2c_dtype_max(x->dtype))
        return t2c_error_set(err, T2C_ERR_ATTR, "zero_point = %lld is outside the %s range",
                             (long long)p->zero_point, t2c_dtype_name(x->dtype));
    if (x->rank < 0 || x->rank > T2C_MAX_RANK)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input rank %d is invalid", x->rank);
    y->dtype = T2C_FLOAT32;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status dequantize_prepare(t2c_node *node, t2c_error *err)
{
    t2c_dequantize_params *p = node->params;
    t2c_status st;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    if ((st = t2c_attr_float(node, "scale", 1, 0.0, &p->scale, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "zero_point", 0, 0, INT64_MIN, INT64_MAX, &p->zero_point, err)) != T2C_OK)
        return st;
    return t2c_dequantize_infer(p, node->inputs[0], node->outputs[0], err);
}

static t2c_status dequantize_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_dequantize_ref(node->params, node->inputs[0], node->outputs[0], err);
}

const t2c_op_def t2c_op_dequantize = {
    .type = "dequantize",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = dequantize_roles,
    .params_size = sizeof(t2c_dequantize_params),
    .prepare = dequantize_prepare,
    .scratch_size = NULL,
    .macs = NULL,
    .run = dequantize_run,
};
