/* add_f32.c — binary32 residual addition (Torch2Chip compat): reference kernel and op definition.
 *
 * Recipe (ops/README.md "add_f32"), element by element:
 *   w = a + b                       -- one binary32 addition, round-to-nearest-even
 *   y = relu && w < 0 ? +0.0 : w    -- -0.0 and NaN pass through, as torch.relu
 */
#include "add_f32.h"

static const char *const add_f32_roles[] = {"input_a", "input_b"};

t2c_status t2c_add_f32_ref(const t2c_add_f32_params *p, const t2c_tensor *a, const t2c_tensor *b,
                           t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const float *as = a->data, *bs = b->data;
    float *ys = y->data;
    const int64_t n = t2c_tensor_numel(a);
    for (int64_t i = 0; i < n; i++) {
        const float w = as[i] + bs[i];
        ys[i] = (p->relu && w < 0.0f) ? 0.0f : w;
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

t2c_status t2c_add_f32_infer(const t2c_add_f32_params *p, const t2c_tensor *a, const t2c_tensor *b,
                             t2c_tensor *y, t2c_error *err)
{
    char s1[128], s2[128];
    if (a->dtype != T2C_FLOAT32 || b->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "inputs are %s and %s; both must be float32",
                             t2c_dtype_name(a->dtype), t2c_dtype_name(b->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not float32", t2c_dtype_name(y->dtype));
    if (p->relu != 0 && p->relu != 1)
        return t2c_error_set(err, T2C_ERR_ATTR, "relu = %d must be 0 or 1", p->relu);
    int same = a->rank == b->rank && a->rank >= 0 && a->rank <= T2C_MAX_RANK;
    for (int i = 0; same && i < a->rank; i++)
        same = a->dims[i] == b->dims[i];
    if (!same)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input shapes %s and %s differ", t2c_shape_str(a, s1, sizeof s1),
                             t2c_shape_str(b, s2, sizeof s2));
    y->dtype = T2C_FLOAT32;
    y->rank = a->rank;
    for (int i = 0; i < a->rank; i++)
        y->dims[i] = a->dims[i];
    return T2C_OK;
}

static t2c_status add_f32_prepare(t2c_node *node, t2c_error *err)
{
    t2c_add_f32_params *p = node->params;
    int64_t relu;
    t2c_status st;
    if (node->n_inputs != 2 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs two inputs and one output");
    if ((st = t2c_attr_int(node, "relu", 0, 0, 0, 1, &relu, err)) != T2C_OK)
        return st;
    p->relu = (int)relu;
    return t2c_add_f32_infer(p, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

static t2c_status add_f32_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_add_f32_ref(node->params, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

const t2c_op_def t2c_op_add_f32 = {
    .type = "add_f32",
    .min_inputs = 2,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = add_f32_roles,
    .params_size = sizeof(t2c_add_f32_params),
    .prepare = add_f32_prepare,
    .run = add_f32_run,
};
