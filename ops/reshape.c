/* reshape.c — new dims after the batch (ops/README.md "reshape"). */
#include <string.h>

#include "reshape.h"

/* Recipe: y = x with dims [N] + shape (the one -1 inferred); data unchanged. */
t2c_status t2c_reshape_ref(const t2c_reshape_params *p, const t2c_tensor *x, t2c_tensor *y,
                           t2c_error *err)
{
    (void)p;
    (void)err;
    if (y->data != x->data)
        memmove(y->data, x->data, (size_t)t2c_tensor_numel(x) * t2c_dtype_mem_size(x->dtype));
    return T2C_OK;
}

static t2c_status reshape_prepare(t2c_node *node, t2c_error *err)
{
    t2c_reshape_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    char s[128];
    if (t2c_dtype_mem_size(x->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x->dtype);
    if (x->rank < 1 || x->dims[0] < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s has no batch dimension", t2c_shape_str(x, s, sizeof s));
    const int64_t *shape;
    int64_t count;
    t2c_status st = t2c_attr_ints(node, "shape", 1, -1, NULL, -1, INT64_MAX, &shape, &count, err);
    if (st)
        return st;
    if (count > T2C_MAX_RANK - 1)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'shape' has %lld values; at most %d fit",
                             (long long)count, T2C_MAX_RANK - 1);
    const int64_t per_sample = t2c_tensor_numel(x) / x->dims[0];
    int64_t known = 1;
    int infer = -1;
    for (int i = 0; i < (int)count; i++) {
        if (shape[i] == 0)
            return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'shape'[%d] is 0", i);
        if (shape[i] == -1) {
            if (infer >= 0)
                return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'shape' has more than one -1");
            infer = i;
        } else if (known > per_sample / shape[i]) { /* known·shape[i] > per_sample, without overflow */
            known = per_sample + 1;
        } else {
            known *= shape[i];
        }
    }
    p->rank = (int)count + 1;
    p->dims[0] = 0;
    for (int i = 0; i < (int)count; i++)
        p->dims[i + 1] = shape[i];
    if (infer >= 0 && known <= per_sample && per_sample % known == 0)
        p->dims[infer + 1] = per_sample / known;
    else if (infer >= 0 || known != per_sample)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s has %lld elements per sample; 'shape' cannot hold them",
                             t2c_shape_str(x, s, sizeof s), (long long)per_sample);
    y->dtype = x->dtype;
    y->rank = p->rank;
    y->dims[0] = x->dims[0];
    for (int i = 1; i < p->rank; i++)
        y->dims[i] = p->dims[i];
    return T2C_OK;
}

static t2c_status reshape_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_reshape_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const reshape_roles[] = {"input"};

const t2c_op_def t2c_op_reshape = {
    .type = "reshape",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = reshape_roles,
    .params_size = sizeof(t2c_reshape_params),
    .prepare = reshape_prepare,
    .run = reshape_run,
};
