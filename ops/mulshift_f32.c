/* mulshift_f32.c — Torch2Chip's MulShift in binary32 (compat graphs): reference kernel and op
 * definition.
 *
 * Recipe (ops/README.md "mulshift_f32"), for each element with channel index c along `axis`
 * (c = 0 for single values), every step one binary32 operation rounded to nearest-even:
 *   t = (float)x             -- int32: nearest binary32 (exact when |x| <= 2^24); float32: as is
 *   u = t * scale[c]
 *   v = u + bias[c]          -- a separate addition: no fused multiply-add (-ffp-contract=off)
 *   w = v * 2^-shift         -- exact unless the result is subnormal
 *   y = relu && w < 0 ? +0.0 : w    (-0.0 and NaN pass through, as torch.relu)
 */
#include <math.h>

#include "mulshift_f32.h"

static const char *const mulshift_f32_roles[] = {"input"};

t2c_status t2c_mulshift_f32_ref(const t2c_mulshift_f32_params *p, const t2c_tensor *x, t2c_tensor *y,
                                t2c_error *err)
{
    (void)err;
    int64_t inner = 1;
    for (int i = p->axis + 1; i < x->rank; i++)
        inner *= x->dims[i];
    const int64_t C = x->dims[p->axis], n = t2c_tensor_numel(x);
    const float pow2 = ldexpf(1.0f, -p->shift);
    const int is_float = x->dtype == T2C_FLOAT32;
    const float *xf = x->data;
    const int32_t *xi = x->data;
    float *ys = y->data;
    for (int64_t i = 0; i < n; i++) {
        const int64_t c = (i / inner) % C;
        const float s = (float)p->scale[p->n_scale == 1 ? 0 : c];
        const float b = (float)p->bias[p->n_bias == 1 ? 0 : c];
        const float t = is_float ? xf[i] : (float)xi[i];
        const float u = t * s;
        const float v = u + b;
        const float w = v * pow2;
        ys[i] = (p->relu && w < 0.0f) ? 0.0f : w;
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

/* 1 when every value is finite and exactly a binary32. */
static int all_binary32(const double *v, int64_t n, int64_t *bad)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (double)(float)v[i] != v[i]) {
            *bad = i;
            return 0;
        }
    return 1;
}

t2c_status t2c_mulshift_f32_infer(const t2c_mulshift_f32_params *p, const t2c_tensor *x, t2c_tensor *y,
                                  t2c_error *err)
{
    char s[128];
    if (x->dtype != T2C_INT32 && x->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not int32/float32", t2c_dtype_name(x->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_FLOAT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not float32", t2c_dtype_name(y->dtype));
    if (x->rank < 1 || x->rank > T2C_MAX_RANK)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 1", t2c_shape_str(x, s, sizeof s));
    if (p->axis < 0 || p->axis >= x->rank)
        return t2c_error_set(err, T2C_ERR_ATTR, "axis = %d is outside 0..%d for input %s", p->axis, x->rank - 1,
                             t2c_shape_str(x, s, sizeof s));
    const int64_t C = x->dims[p->axis];
    if ((p->n_scale != 1 && p->n_scale != C) || (p->n_bias != 1 && p->n_bias != C))
        return t2c_error_set(err, T2C_ERR_ATTR, "'scale' (%lld values) and 'bias' (%lld) need 1 or %lld values "
                             "(dim %d of input %s)", (long long)p->n_scale, (long long)p->n_bias, (long long)C,
                             p->axis, t2c_shape_str(x, s, sizeof s));
    int64_t bad;
    if (!all_binary32(p->scale, p->n_scale, &bad))
        return t2c_error_set(err, T2C_ERR_ATTR, "scale[%lld] = %.17g is not a finite binary32 value", (long long)bad,
                             p->scale[bad]);
    if (!all_binary32(p->bias, p->n_bias, &bad))
        return t2c_error_set(err, T2C_ERR_ATTR, "bias[%lld] = %.17g is not a finite binary32 value", (long long)bad,
                             p->bias[bad]);
    if (p->shift < 0 || p->shift > 126 || (p->relu != 0 && p->relu != 1))
        return t2c_error_set(err, T2C_ERR_ATTR, "shift = %d must be 0..126 and relu = %d 0 or 1", p->shift, p->relu);
    y->dtype = T2C_FLOAT32;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status float_array(const t2c_node *node, const char *name, int required, const double *def,
                              const double **out, int64_t *count, t2c_error *err)
{
    const t2c_attr *a = t2c_node_attr(node, name);
    if (!a) {
        if (required)
            return t2c_error_set(err, T2C_ERR_ATTR, "required attribute '%s' is missing", name);
        *out = def;
        *count = 1;
        return T2C_OK;
    }
    if (a->type == T2C_ATTR_FLOAT) {
        *out = &a->v.f;
        *count = 1;
        return T2C_OK;
    }
    if (a->type != T2C_ATTR_FLOATS || a->count < 1)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' must be a float or a non-empty float array", name);
    *out = a->v.floats;
    *count = a->count;
    return T2C_OK;
}

static t2c_status mulshift_f32_prepare(t2c_node *node, t2c_error *err)
{
    static const double zero = 0.0;
    t2c_mulshift_f32_params *p = node->params;
    int64_t shift, relu, axis;
    t2c_status st;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    if ((st = float_array(node, "scale", 1, NULL, &p->scale, &p->n_scale, err)) != T2C_OK ||
        (st = float_array(node, "bias", 0, &zero, &p->bias, &p->n_bias, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "shift", 0, 0, 0, 126, &shift, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "relu", 0, 0, 0, 1, &relu, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "axis", 0, 1, 0, T2C_MAX_RANK - 1, &axis, err)) != T2C_OK)
        return st;
    p->shift = (int)shift, p->relu = (int)relu, p->axis = (int)axis;
    return t2c_mulshift_f32_infer(p, node->inputs[0], node->outputs[0], err);
}

static t2c_status mulshift_f32_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_mulshift_f32_ref(node->params, node->inputs[0], node->outputs[0], err);
}

const t2c_op_def t2c_op_mulshift_f32 = {
    .type = "mulshift_f32",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = mulshift_f32_roles,
    .params_size = sizeof(t2c_mulshift_f32_params),
    .prepare = mulshift_f32_prepare,
    .run = mulshift_f32_run,
};
