/* slice.c — a strided range along one axis (ops/README.md "slice"). */
#include <string.h>

#include "slice.h"

/* Recipe: for each index over the dims before axis, copy y.dims[axis] blocks of `inner`
 * elements, the i-th taken from position start + i·step of x. */
t2c_status t2c_slice_ref(const t2c_slice_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const size_t es = t2c_dtype_mem_size(x->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++)
        outer *= x->dims[i];
    for (int i = p->axis + 1; i < x->rank; i++)
        inner *= x->dims[i];
    const int64_t nx = x->dims[p->axis], ny = y->dims[p->axis];
    const size_t block = (size_t)inner * es;
    const uint8_t *src = x->data;
    uint8_t *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ny; i++)
            memcpy(dst + (size_t)(o * ny + i) * block, src + (size_t)(o * nx + p->start + i * p->step) * block,
                   block);
    return T2C_OK;
}

static t2c_status slice_prepare(t2c_node *node, t2c_error *err)
{
    t2c_slice_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    char s[128];
    if (t2c_dtype_mem_size(x->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x->dtype);
    if (x->rank < 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x, s, sizeof s));
    int64_t axis, end;
    t2c_status st = t2c_attr_int(node, "axis", 1, 0, -(x->rank - 1), x->rank - 1, &axis, err);
    if (st)
        return st;
    if (axis < 0)
        axis += x->rank;
    if (axis == 0)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'axis' must not be the batch axis");
    p->axis = (int)axis;
    const int64_t n = x->dims[axis];
    if ((st = t2c_attr_int(node, "start", 1, 0, 0, n - 1, &p->start, err)) ||
        (st = t2c_attr_int(node, "end", 0, n, p->start + 1, n, &end, err)) ||
        (st = t2c_attr_int(node, "step", 0, 1, 1, INT64_MAX, &p->step, err)))
        return st;
    y->dtype = x->dtype;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    y->dims[axis] = (end - p->start - 1) / p->step + 1;
    return T2C_OK;
}

static t2c_status slice_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_slice_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const slice_roles[] = {"input"};

const t2c_op_def t2c_op_slice = {
    .type = "slice",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = slice_roles,
    .params_size = sizeof(t2c_slice_params),
    .prepare = slice_prepare,
    .run = slice_run,
};
