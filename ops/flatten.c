/* flatten.c — merge the dims from `axis` on (ops/README.md "flatten"). */
#include <string.h>

#include "flatten.h"

/* Recipe: y = x with dims [d0, ..., d_{axis-1}, d_axis·...·dk]; data unchanged. */
t2c_status t2c_flatten_ref(const t2c_flatten_params *p, const t2c_tensor *x, t2c_tensor *y,
                           t2c_error *err)
{
    (void)p;
    (void)err;
    if (y->data != x->data)
        memmove(y->data, x->data, (size_t)t2c_tensor_numel(x) * t2c_dtype_mem_size(x->dtype));
    return T2C_OK;
}

static t2c_status flatten_prepare(t2c_node *node, t2c_error *err)
{
    t2c_flatten_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    if (t2c_dtype_mem_size(x->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x->dtype);
    if (x->rank < 2) {
        char s[128];
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x, s, sizeof s));
    }
    int64_t axis;
    t2c_status st = t2c_attr_int(node, "axis", 0, 1, 1, x->rank - 1, &axis, err);
    if (st)
        return st;
    p->axis = (int)axis;
    int64_t merged = 1;
    for (int i = p->axis; i < x->rank; i++)
        merged *= x->dims[i];
    y->dtype = x->dtype;
    y->rank = p->axis + 1;
    for (int i = 0; i < p->axis; i++)
        y->dims[i] = x->dims[i];
    y->dims[p->axis] = merged;
    return T2C_OK;
}

static t2c_status flatten_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_flatten_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const flatten_roles[] = {"input"};

const t2c_op_def t2c_op_flatten = {
    .type = "flatten",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = flatten_roles,
    .params_size = sizeof(t2c_flatten_params),
    .prepare = flatten_prepare,
    .run = flatten_run,
};
