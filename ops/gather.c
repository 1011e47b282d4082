/* gather.c — pick positions along one axis by an index list (ops/README.md "gather"). */
#include <string.h>

#include "gather.h"

/* Recipe: check every index first (no partial output on bad data), then for each index over
 * the dims before axis copy, for k < K, the block at position idx[k] (+dims[axis] if negative). */
t2c_status t2c_gather_ref(const t2c_gather_params *p, const t2c_tensor *x, const t2c_tensor *indices,
                          t2c_tensor *y, t2c_error *err)
{
    const int64_t nx = x->dims[p->axis], K = t2c_tensor_numel(indices);
    for (int64_t k = 0; k < K; k++) {
        int64_t v = t2c_tensor_get_int(indices, k);
        if (v < -nx || v >= nx)
            return t2c_error_set(err, T2C_ERR_INVALID_ARG, "index %lld at position %lld is outside [%lld, %lld)",
                                 (long long)v, (long long)k, (long long)-nx, (long long)nx);
    }
    const size_t es = t2c_dtype_mem_size(x->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++)
        outer *= x->dims[i];
    for (int i = p->axis + 1; i < x->rank; i++)
        inner *= x->dims[i];
    const size_t block = (size_t)inner * es;
    const uint8_t *src = x->data;
    uint8_t *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < K; k++) {
            int64_t v = t2c_tensor_get_int(indices, k);
            if (v < 0)
                v += nx;
            memcpy(dst + (size_t)(o * K + k) * block, src + (size_t)(o * nx + v) * block, block);
        }
    return T2C_OK;
}

static t2c_status gather_prepare(t2c_node *node, t2c_error *err)
{
    t2c_gather_params *p = node->params;
    if (node->n_inputs != 2 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, indices and one output");
    const t2c_tensor *x = node->inputs[0], *ind = node->inputs[1];
    t2c_tensor *y = node->outputs[0];
    char s[128];
    if (t2c_dtype_mem_size(x->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x->dtype);
    if (ind->dtype != T2C_INT8 && ind->dtype != T2C_INT16 && ind->dtype != T2C_INT32 && ind->dtype != T2C_INT64)
        return t2c_error_set(err, T2C_ERR_DTYPE, "indices are %s; they must be int8, int16, int32 or int64",
                             t2c_dtype_name(ind->dtype));
    if (ind->rank != 1 || ind->dims[0] < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "indices %s must have rank 1 and at least one element",
                             t2c_shape_str(ind, s, sizeof s));
    if (x->rank < 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x, s, sizeof s));
    int64_t axis;
    t2c_status st = t2c_attr_int(node, "axis", 1, 0, -(x->rank - 1), x->rank - 1, &axis, err);
    if (st)
        return st;
    if (axis < 0)
        axis += x->rank;
    if (axis == 0)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'axis' must not be the batch axis");
    p->axis = (int)axis;
    y->dtype = x->dtype;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    y->dims[axis] = ind->dims[0];
    return T2C_OK;
}

static t2c_status gather_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_gather_ref(node->params, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

static const char *const gather_roles[] = {"input", "indices"};

const t2c_op_def t2c_op_gather = {
    .type = "gather",
    .min_inputs = 2,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = gather_roles,
    .params_size = sizeof(t2c_gather_params),
    .prepare = gather_prepare,
    .run = gather_run,
};
