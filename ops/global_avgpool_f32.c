/* global_avgpool_f32.c — mean over H and W of binary32 values (Torch2Chip compat): reference
 * kernel and op definition.
 *
 * Recipe (ops/README.md "global_avgpool_f32"), for each n, c:
 *   sum = +0.0 (binary64); for h, for w: sum = sum + (double)x[n, c, h, w]   -- rounded binary64
 *   s = (float)sum                                                          -- rounded binary32
 *   y[n, c, 0, 0] = s / (float)(H·W)                                        -- binary32 division
 * PyTorch sums in binary32 in an order of its own, then divides the same way: the binary64 sum
 * is the order-independent stand-in (it is exact for up to 2^29 values of one binade).
 */
#include "global_avgpool_f32.h"

t2c_status t2c_global_avgpool_f32_ref(const t2c_tensor *x, t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const int64_t NC = x->dims[0] * x->dims[1], HW = x->dims[2] * x->dims[3];
    const float *xs = x->data;
    float *ys = y->data;
    const float count = (float)HW;
    for (int64_t nc = 0; nc < NC; nc++) {
        double sum = 0.0;
        for (int64_t i = 0; i < HW; i++)
            sum = sum + (double)xs[nc * HW + i];
        const float s = (float)sum;
        ys[nc] = s / count;
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

static t2c_status global_avgpool_f32_prepare(t2c_node *node, t2c_error *err)
{
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_tensor *x = node->inputs[0];
    t2c_tensor *y = node->outputs[0];
    char s[128];
    if (x->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be float32", t2c_dtype_name(x->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not float32", t2c_dtype_name(y->dtype));
    if (x->rank != 4)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s must be [N, C, H, W]", t2c_shape_str(x, s, sizeof s));
    /* H·W must be exact as a binary32 divisor */
    if (x->dims[2] < 1 || x->dims[3] < 1 || x->dims[2] * x->dims[3] > (INT64_C(1) << 24))
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s must have 1 .. 2^24 positions per channel",
                             t2c_shape_str(x, s, sizeof s));
    y->dtype = T2C_FLOAT32;
    y->rank = 4;
    y->dims[0] = x->dims[0], y->dims[1] = x->dims[1], y->dims[2] = 1, y->dims[3] = 1;
    return T2C_OK;
}

static t2c_status global_avgpool_f32_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_global_avgpool_f32_ref(node->inputs[0], node->outputs[0], err);
}

static const char *const global_avgpool_f32_roles[] = {"input"};

const t2c_op_def t2c_op_global_avgpool_f32 = {
    .type = "global_avgpool_f32",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = global_avgpool_f32_roles,
    .params_size = 0,
    .prepare = global_avgpool_f32_prepare,
    .run = global_avgpool_f32_run,
};
