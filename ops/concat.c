/* concat.c — join tensors along one axis (ops/README.md "concat"). */
#include <string.h>

#include "concat.h"

/* Recipe: for each index `o` over the dims before axis, copy each input's block
 * (its dims[axis] · (product of the dims after axis) elements) in input order. */
t2c_status t2c_concat_ref(const t2c_concat_params *p, int n_inputs, const t2c_tensor *const *inputs,
                          t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const size_t esize = t2c_dtype_mem_size(y->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++)
        outer *= y->dims[i];
    for (int i = p->axis + 1; i < y->rank; i++)
        inner *= y->dims[i];
    uint8_t *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n_inputs; k++) {
            const size_t block = (size_t)(inputs[k]->dims[p->axis] * inner) * esize;
            memcpy(dst, (const uint8_t *)inputs[k]->data + (size_t)o * block, block);
            dst += block;
        }
    return T2C_OK;
}

static t2c_status concat_prepare(t2c_node *node, t2c_error *err)
{
    t2c_concat_params *p = node->params;
    if (node->n_inputs < 1 || node->n_inputs > T2C_CONCAT_MAX_INPUTS || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs 1..%d inputs and one output", T2C_CONCAT_MAX_INPUTS);
    for (int k = 0; k < node->n_inputs; k++)
        if (!node->inputs[k])
            return t2c_error_set(err, T2C_ERR_INVALID_ARG, "input %d is missing", k);
    const t2c_tensor *x0 = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    char s0[128], s1[128];
    if (t2c_dtype_mem_size(x0->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x0->dtype);
    if (x0->rank < 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x0, s0, sizeof s0));
    int64_t axis;
    t2c_status st = t2c_attr_int(node, "axis", 1, 0, -(x0->rank - 1), x0->rank - 1, &axis, err);
    if (st)
        return st;
    if (axis < 0)
        axis += x0->rank;
    if (axis == 0)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'axis' must not be the batch axis");
    p->axis = (int)axis;
    int64_t total = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        const t2c_tensor *x = node->inputs[k];
        if (x->dtype != x0->dtype)
            return t2c_error_set(err, T2C_ERR_DTYPE, "input %d is %s but input 0 is %s", k,
                                 t2c_dtype_name(x->dtype), t2c_dtype_name(x0->dtype));
        int ok = x->rank == x0->rank;
        for (int i = 0; ok && i < x->rank; i++)
            ok = i == p->axis || x->dims[i] == x0->dims[i];
        if (!ok)
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %d %s does not match input 0 %s outside axis %d", k,
                                 t2c_shape_str(x, s1, sizeof s1), t2c_shape_str(x0, s0, sizeof s0), p->axis);
        total += x->dims[p->axis];
    }
    y->dtype = x0->dtype;
    y->rank = x0->rank;
    for (int i = 0; i < x0->rank; i++)
        y->dims[i] = x0->dims[i];
    y->dims[p->axis] = total;
    return T2C_OK;
}

static t2c_status concat_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_concat_ref(node->params, node->n_inputs, (const t2c_tensor *const *)node->inputs,
                          node->outputs[0], err);
}

#define CONCAT_ROLES4 "input", "input", "input", "input"
#define CONCAT_ROLES16 CONCAT_ROLES4, CONCAT_ROLES4, CONCAT_ROLES4, CONCAT_ROLES4
static const char *const concat_roles[T2C_CONCAT_MAX_INPUTS] = {
    CONCAT_ROLES16, CONCAT_ROLES16, CONCAT_ROLES16, CONCAT_ROLES16};

const t2c_op_def t2c_op_concat = {
    .type = "concat",
    .min_inputs = 1,
    .max_inputs = T2C_CONCAT_MAX_INPUTS,
    .n_outputs = 1,
    .input_roles = concat_roles,
    .params_size = sizeof(t2c_concat_params),
    .prepare = concat_prepare,
    .run = concat_run,
};
