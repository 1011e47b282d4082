/* expand.c — repeat size-1 dims, batch taken from another tensor (ops/README.md "expand"). */
#include <string.h>

#include "expand.h"
#include "t2c_bcast.h"

/* Recipe: walk y row-major; x's offset advances with stride 0 along its size-1 dims. */
t2c_status t2c_expand_ref(const t2c_expand_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err)
{
    (void)p;
    (void)err;
    const size_t es = t2c_dtype_mem_size(x->dtype);
    t2c_bcast_iter it;
    t2c_bcast_begin(&it, y->rank, y->dims, x, NULL);
    const int64_t n = t2c_tensor_numel(y);
    const uint8_t *src = x->data;
    uint8_t *dst = y->data;
    for (int64_t k = 0; k < n; k++, t2c_bcast_next(&it))
        memcpy(dst + (size_t)k * es, src + (size_t)it.off[0] * es, es);
    return T2C_OK;
}

static t2c_status expand_prepare(t2c_node *node, t2c_error *err)
{
    if (node->n_inputs < 1 || node->n_inputs > 2 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, optional like, and one output");
    const t2c_tensor *x = node->inputs[0];
    const t2c_tensor *like = node->n_inputs > 1 ? node->inputs[1] : NULL;
    t2c_tensor *y = node->outputs[0];
    char s[128];
    if (t2c_dtype_mem_size(x->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x->dtype);
    if (x->rank < 2 || (like && like->rank < 1))
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2 (and like a batch dimension)",
                             t2c_shape_str(x, s, sizeof s));
    const int64_t *shape;
    t2c_status st = t2c_attr_ints(node, "shape", 1, x->rank - 1, NULL, -1, INT64_MAX, &shape, NULL, err);
    if (st)
        return st;
    const int64_t batch = like ? like->dims[0] : x->dims[0];
    if (x->dims[0] != 1 && x->dims[0] != batch)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s: dim 0 must be 1 or the batch %lld",
                             t2c_shape_str(x, s, sizeof s), (long long)batch);
    y->dtype = x->dtype;
    y->rank = x->rank;
    y->dims[0] = batch;
    for (int i = 1; i < x->rank; i++) {
        int64_t d = shape[i - 1];
        if (d == -1)
            d = x->dims[i];
        if (d < 1 || (x->dims[i] != d && x->dims[i] != 1))
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %s cannot expand to %lld along dim %d",
                                 t2c_shape_str(x, s, sizeof s), (long long)shape[i - 1], i);
        y->dims[i] = d;
    }
    return T2C_OK;
}

static t2c_status expand_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_expand_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const expand_roles[] = {"input", "like"};

const t2c_op_def t2c_op_expand = {
    .type = "expand",
    .min_inputs = 1,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = expand_roles,
    .params_size = sizeof(t2c_expand_params),
    .prepare = expand_prepare,
    .run = expand_run,
};
