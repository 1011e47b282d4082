/* transpose.c — permute dims, batch first (ops/README.md "transpose"). */
#include <string.h>

#include "transpose.h"

/* Recipe: walk y row-major; the source offset advances by x's stride of dim perm[i]. */
t2c_status t2c_transpose_ref(const t2c_transpose_params *p, const t2c_tensor *x, t2c_tensor *y,
                             t2c_error *err)
{
    (void)err;
    const int r = p->rank;
    const size_t es = t2c_dtype_mem_size(x->dtype);
    int64_t xstride[T2C_MAX_RANK], src_stride[T2C_MAX_RANK], idx[T2C_MAX_RANK];
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        xstride[i] = s;
        s *= x->dims[i];
    }
    for (int i = 0; i < r; i++) {
        src_stride[i] = xstride[p->perm[i]];
        idx[i] = 0;
    }
    const int64_t n = t2c_tensor_numel(y);
    const uint8_t *src = x->data;
    uint8_t *dst = y->data;
    int64_t off = 0;
    for (int64_t k = 0; k < n; k++) {
        memcpy(dst + (size_t)k * es, src + (size_t)off * es, es);
        for (int i = r - 1; i >= 0; i--) {
            off += src_stride[i];
            if (++idx[i] < y->dims[i])
                break;
            off -= src_stride[i] * y->dims[i];
            idx[i] = 0;
        }
    }
    return T2C_OK;
}

static t2c_status transpose_prepare(t2c_node *node, t2c_error *err)
{
    t2c_transpose_params *p = node->params;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    char s[128];
    if (t2c_dtype_mem_size(x->dtype) == 0)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %d is not valid", (int)x->dtype);
    if (x->rank < 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x, s, sizeof s));
    const int64_t *perm;
    t2c_status st = t2c_attr_ints(node, "perm", 1, x->rank, NULL, 0, x->rank - 1, &perm, NULL, err);
    if (st)
        return st;
    int seen[T2C_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) {
        if (seen[perm[i]])
            return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'perm' repeats %lld", (long long)perm[i]);
        seen[perm[i]] = 1;
        p->perm[i] = (int)perm[i];
    }
    if (p->perm[0] != 0)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute 'perm'[0] must be 0 (the batch stays first)");
    p->rank = x->rank;
    y->dtype = x->dtype;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[p->perm[i]];
    return T2C_OK;
}

static t2c_status transpose_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_transpose_ref(node->params, node->inputs[0], node->outputs[0], err);
}

static const char *const transpose_roles[] = {"input"};

const t2c_op_def t2c_op_transpose = {
    .type = "transpose",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = transpose_roles,
    .params_size = sizeof(t2c_transpose_params),
    .prepare = transpose_prepare,
    .run = transpose_run,
};
