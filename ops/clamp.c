/* clamp.c — y = clamp(x, lo, hi) (ops/README.md "clamp"). */
#include "clamp.h"

/* Recipe: y = clamp(x, lo, hi) = min(max(x, lo), hi), element by element. */
t2c_status t2c_clamp_ref(const t2c_clamp_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const int64_t n = t2c_tensor_numel(x);
    for (int64_t i = 0; i < n; i++)
        t2c_tensor_set_int(y, i, t2c_clamp64(t2c_tensor_get_int(x, i), p->lo, p->hi));
    return T2C_OK;
}

/* "int activation or int32" (ops/README.md). */
static int clamp_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT32;
}

static t2c_status clamp_prepare(t2c_node *node, t2c_error *err)
{
    t2c_clamp_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    if (!clamp_dtype_ok(x->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be int4, uint4, int8, uint8 or int32",
                             t2c_dtype_name(x->dtype));
    const int64_t dmin = t2c_dtype_min(x->dtype), dmax = t2c_dtype_max(x->dtype);
    t2c_status st;
    if ((st = t2c_attr_int(node, "lo", 0, dmin, dmin, dmax, &p->lo, err)) ||
        (st = t2c_attr_int(node, "hi", 0, dmax, dmin, dmax, &p->hi, err)))
        return st;
    if (p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld is above hi = %lld", (long long)p->lo,
                             (long long)p->hi);
    y->dtype = x->dtype;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status clamp_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_clamp_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const clamp_roles[] = {"input"};

const t2c_op_def t2c_op_clamp = {
    .type = "clamp",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = clamp_roles,
    .params_size = sizeof(t2c_clamp_params),
    .prepare = clamp_prepare,
    .run = clamp_run,
};
