/* op_registry.c — every op the executor knows, looked up by the type string in files. */
#include <string.h>

#include "t2c_op.h"

static const t2c_op_def *const registry[] = {
    &t2c_op_quantize, &t2c_op_dequantize, &t2c_op_conv2d,     &t2c_op_linear,
    &t2c_op_matmul,   &t2c_op_requantize, &t2c_op_add,        &t2c_op_relu,
    &t2c_op_clamp,    &t2c_op_maxpool2d,  &t2c_op_avgpool2d,  &t2c_op_global_avgpool,
    &t2c_op_flatten,  &t2c_op_reshape,    &t2c_op_concat,
    /* Torch2Chip compat (binary32) ops */
    &t2c_op_conv2d_f32, &t2c_op_mulshift_f32, &t2c_op_add_f32, &t2c_op_maxpool2d_f32,
    &t2c_op_global_avgpool_f32,
    /* transformer ops */
    &t2c_op_transpose, &t2c_op_slice, &t2c_op_gather, &t2c_op_expand, &t2c_op_broadcast_add, &t2c_op_mul,
    &t2c_op_softmax, &t2c_op_layernorm, &t2c_op_gelu,
};

int t2c_op_registry_count(void) { return (int)(sizeof registry / sizeof registry[0]); }

const t2c_op_def *t2c_op_registry_at(int index)
{
    return index >= 0 && index < t2c_op_registry_count() ? registry[index] : NULL;
}

const t2c_op_def *t2c_op_find(const char *type)
{
    for (int i = 0; i < t2c_op_registry_count(); i++)
        if (strcmp(registry[i]->type, type) == 0)
            return registry[i];
    return NULL;
}
