/* mul.c — integer elementwise product with broadcasting (ops/README.md "mul"). */
#include "mul.h"
#include "t2c_bcast.h"

/* Recipe, per output element (a, b at their broadcast positions):
 *   p = (a - a_zero_point)·(b - b_zero_point)          exact, |p| < 2^31 (checked at load)
 *   y = clamp(scale_round(p, multiplier, 0, shift, rounding) + out_zero_point, lo, hi) */
t2c_status t2c_mul_ref(const t2c_mul_params *p, const t2c_tensor *a, const t2c_tensor *b, t2c_tensor *y,
                       t2c_error *err)
{
    (void)err;
    const int64_t n = t2c_tensor_numel(y);
    t2c_bcast_iter it;
    t2c_bcast_begin(&it, y->rank, y->dims, a, b);
    for (int64_t i = 0; i < n; i++, t2c_bcast_next(&it)) {
        int64_t prod = (t2c_tensor_get_int(a, it.off[0]) - p->a_zero_point) *
                       (t2c_tensor_get_int(b, it.off[1]) - p->b_zero_point);
        int64_t s = t2c_scale_round(prod, p->multiplier, 0, p->shift, p->rounding);
        t2c_tensor_set_int(y, i, t2c_clamp64(s + p->out_zero_point, p->lo, p->hi));
    }
    return T2C_OK;
}

static int in_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

static int64_t max_abs_diff(t2c_dtype dt, int64_t zp)
{
    int64_t lo = zp - t2c_dtype_min(dt), hi = t2c_dtype_max(dt) - zp;
    return lo > hi ? lo : hi;
}

static t2c_status mul_prepare(t2c_node *node, t2c_error *err)
{
    t2c_mul_params *p = node->params;
    if (node->n_inputs != 2 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs inputs input_a, input_b and one output");
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    t2c_tensor *y = node->outputs[0];
    char sa[128], sb[128];
    if (!in_dtype_ok(a->dtype) || !in_dtype_ok(b->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "inputs are %s and %s; each must be int4, uint4, int8, uint8 or int16",
                             t2c_dtype_name(a->dtype), t2c_dtype_name(b->dtype));
    if (!in_dtype_ok(y->dtype) && y->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output is %s; it must be int4, uint4, int8, uint8, int16 or int32",
                             t2c_dtype_name(y->dtype));
    int rank;
    int64_t dims[T2C_MAX_RANK];
    if (t2c_bcast_shape(a, b, &rank, dims) != 0)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input shapes %s and %s do not broadcast",
                             t2c_shape_str(a, sa, sizeof sa), t2c_shape_str(b, sb, sizeof sb));
    t2c_status st;
    int64_t v;
    if ((st = t2c_attr_rounding(node, "rounding", T2C_ROUND_HALF_EVEN, &p->rounding, err)))
        return st;
    const int64_t m_lo = p->rounding == T2C_ROUND_TFLITE ? 0 : -(((int64_t)1 << 31) - 1);
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    if ((st = t2c_attr_int(node, "a_zero_point", 0, 0, t2c_dtype_min(a->dtype), t2c_dtype_max(a->dtype),
                           &p->a_zero_point, err)) ||
        (st = t2c_attr_int(node, "b_zero_point", 0, 0, t2c_dtype_min(b->dtype), t2c_dtype_max(b->dtype),
                           &p->b_zero_point, err)) ||
        (st = t2c_attr_int(node, "out_zero_point", 0, 0, ymin, ymax, &p->out_zero_point, err)) ||
        (st = t2c_attr_int(node, "multiplier", 0, 1, m_lo, ((int64_t)1 << 31) - 1, &p->multiplier, err)) ||
        (st = t2c_attr_int(node, "shift", 0, 0, 0, 62, &v, err)) ||
        (st = t2c_attr_int(node, "lo", 0, ymin, ymin, ymax, &p->lo, err)) ||
        (st = t2c_attr_int(node, "hi", 0, ymax, ymin, ymax, &p->hi, err)))
        return st;
    p->shift = (int)v;
    if (p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld is above hi = %lld", (long long)p->lo, (long long)p->hi);
    const int64_t bound = max_abs_diff(a->dtype, p->a_zero_point) * max_abs_diff(b->dtype, p->b_zero_point);
    if (bound >= ((int64_t)1 << 31))
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "|a - a_zero_point|·|b - b_zero_point| can reach %lld >= 2^31 for %s x %s",
                             (long long)bound, t2c_dtype_name(a->dtype), t2c_dtype_name(b->dtype));
    y->rank = rank;
    for (int i = 0; i < rank; i++)
        y->dims[i] = dims[i];
    return T2C_OK;
}

static t2c_status mul_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_mul_ref(node->params, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

static const char *const mul_roles[] = {"input_a", "input_b"};

const t2c_op_def t2c_op_mul = {
    .type = "mul",
    .min_inputs = 2,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = mul_roles,
    .params_size = sizeof(t2c_mul_params),
    .prepare = mul_prepare,
    .run = mul_run,
};
