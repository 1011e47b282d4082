/* gelu.c — integer GELU, y = v·Φ(v) (ops/README.md "gelu").
 *
 * Per element:
 *   v = clamp(x - x_zero_point, ±(2^31-1));  t = clamp(round_shift(v·x_multiplier, x_shift - 12, half_up), ±2^30)
 *   phi = GATE(t) in Q16 [0, 2^16];  g = round_shift(t·phi, 16, half_up)  (Q12, |g| <= 2^30)
 *   y = clamp(scale_round(g, out_multiplier, 0, out_shift, rounding) + out_zero_point, lo, hi)
 */
#include "gelu.h"

const char *const t2c_gelu_method_names[T2C_GELU_METHOD_COUNT] = {"ibert", "sigmoid", "lut"};

#define QT 12            /* fractional bits of t */
#define IBERT_B 10247    /* round(1.769·√2·2^12) */
#define IBERT_A 9463     /* round(0.2888/2·2^16) */

int64_t t2c_gelu_gate_ibert(int64_t t)
{
    const int64_t at = t < 0 ? -t : t;
    const int64_t k = (at < IBERT_B ? at : IBERT_B) - IBERT_B; /* [-B, 0] */
    const int64_t erf = ((int64_t)1 << 15) - t2c_round_shift(k * k * IBERT_A, 25, T2C_ROUND_HALF_UP);
    return t >= 0 ? ((int64_t)1 << 15) + erf : ((int64_t)1 << 15) - erf;
}

int64_t t2c_gelu_gate_sigmoid(int64_t t)
{
    const int64_t z = t + (t >> 1) + (t >> 3) + (t >> 4); /* ≈ 1.6875·t */
    const int64_t a = z < 0 ? z : -z;
    int64_t u = a + (a >> 1) - (a >> 4); /* ≈ a·log2(e) */
    if (u < -15 * ((int64_t)1 << QT))
        u = -15 * ((int64_t)1 << QT);
    const int64_t q = (-u) >> QT;
    const int64_t r = u + q * ((int64_t)1 << QT);
    const int64_t e = (((int64_t)1 << QT) + (r >> 1)) << (15 - q); /* exp(a)·2^27 */
    const int64_t s = t2c_round_div(e << 16, ((int64_t)1 << 27) + e, T2C_ROUND_HALF_UP);
    return z >= 0 ? ((int64_t)1 << 16) - s : s;
}

int64_t t2c_gelu_gate_lut(const t2c_tensor *table, int lut_shift, int64_t lut_offset, int64_t t)
{
    const int64_t k = t2c_tensor_numel(table);
    int64_t i = t2c_round_shift(t, lut_shift, T2C_ROUND_HALF_UP) + lut_offset;
    i = t2c_clamp64(i, 0, k - 1);
    return t2c_tensor_get_int(table, i);
}

t2c_status t2c_gelu_ref(const t2c_gelu_params *p, const t2c_tensor *x, const t2c_tensor *table, t2c_tensor *y,
                        t2c_error *err)
{
    if (p->method == T2C_GELU_LUT) {
        const int64_t k = t2c_tensor_numel(table);
        for (int64_t i = 0; i < k; i++) {
            const int64_t v = t2c_tensor_get_int(table, i);
            if (v < 0 || v > ((int64_t)1 << 16))
                return t2c_error_set(err, T2C_ERR_INVALID_ARG, "table[%lld] = %lld is outside [0, 2^16]",
                                     (long long)i, (long long)v);
        }
    }
    const int64_t lim = ((int64_t)1 << 31) - 1, tlim = (int64_t)1 << 30;
    const int64_t n = t2c_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        const int64_t v = t2c_clamp64(t2c_tensor_get_int(x, i) - p->x_zero_point, -lim, lim);
        const int64_t t =
            t2c_clamp64(t2c_round_shift(v * p->x_multiplier, p->x_shift - QT, T2C_ROUND_HALF_UP), -tlim, tlim);
        int64_t phi;
        switch (p->method) {
        case T2C_GELU_IBERT: phi = t2c_gelu_gate_ibert(t); break;
        case T2C_GELU_SIGMOID: phi = t2c_gelu_gate_sigmoid(t); break;
        default: phi = t2c_gelu_gate_lut(table, p->lut_shift, p->lut_offset, t); break;
        }
        const int64_t g = t2c_round_shift(t * phi, 16, T2C_ROUND_HALF_UP);
        const int64_t out = t2c_scale_round(g, p->out_multiplier, 0, p->out_shift, p->rounding) + p->out_zero_point;
        t2c_tensor_set_int(y, i, t2c_clamp64(out, p->lo, p->hi));
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- op glue */

static int out_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

static t2c_status gelu_prepare(t2c_node *node, t2c_error *err)
{
    t2c_gelu_params *p = node->params;
    if (node->n_inputs < 1 || node->n_inputs > 2 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, optional table, and one output");
    const t2c_tensor *x = node->inputs[0];
    const t2c_tensor *table = node->n_inputs > 1 ? node->inputs[1] : NULL;
    t2c_tensor *y = node->outputs[0];
    char s[128];
    t2c_status st;
    int method;
    int64_t v;
    if ((st = t2c_attr_enum(node, "method", 0, T2C_GELU_IBERT, t2c_gelu_method_names, T2C_GELU_METHOD_COUNT,
                            &method, err)))
        return st;
    p->method = (t2c_gelu_method)method;
    if (x->dtype != T2C_INT8 && x->dtype != T2C_UINT8 && x->dtype != T2C_INT16 && x->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be int8, uint8, int16 or int32",
                             t2c_dtype_name(x->dtype));
    if (!out_dtype_ok(y->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "output is %s; it must be int4, uint4, int8, uint8 or int16",
                             t2c_dtype_name(y->dtype));
    if (x->rank < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s has no batch dimension", t2c_shape_str(x, s, sizeof s));
    int64_t k = 0;
    if (p->method == T2C_GELU_LUT) {
        if (!table)
            return t2c_error_set(err, T2C_ERR_INVALID_ARG, "method lut needs the table input");
        if (table->dtype != T2C_INT32 || table->rank != 1 || table->dims[0] < 1)
            return t2c_error_set(err, T2C_ERR_SHAPE, "table must be int32 of rank 1 with at least one entry, not %s %s",
                                 t2c_dtype_name(table->dtype), t2c_shape_str(table, s, sizeof s));
        k = table->dims[0];
    } else if (table) {
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "method %s takes no table input", t2c_gelu_method_names[method]);
    }
    if ((st = t2c_attr_rounding(node, "rounding", T2C_ROUND_HALF_EVEN, &p->rounding, err)))
        return st;
    const int64_t m_lo = p->rounding == T2C_ROUND_TFLITE ? 0 : -(((int64_t)1 << 31) - 1);
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    if ((st = t2c_attr_int(node, "x_zero_point", 0, 0, t2c_dtype_min(x->dtype), t2c_dtype_max(x->dtype),
                           &p->x_zero_point, err)) ||
        (st = t2c_attr_int(node, "x_multiplier", 1, 0, 0, ((int64_t)1 << 31) - 1, &p->x_multiplier, err)) ||
        (st = t2c_attr_int(node, "x_shift", 1, 0, QT, 62, &v, err)))
        return st;
    p->x_shift = (int)v;
    if ((st = t2c_attr_int(node, "out_multiplier", 1, 0, m_lo, ((int64_t)1 << 31) - 1, &p->out_multiplier, err)) ||
        (st = t2c_attr_int(node, "out_shift", 1, 0, 0, 62, &v, err)))
        return st;
    p->out_shift = (int)v;
    if ((st = t2c_attr_int(node, "out_zero_point", 0, 0, ymin, ymax, &p->out_zero_point, err)) ||
        (st = t2c_attr_int(node, "lo", 0, ymin, ymin, ymax, &p->lo, err)) ||
        (st = t2c_attr_int(node, "hi", 0, ymax, ymin, ymax, &p->hi, err)) ||
        (st = t2c_attr_int(node, "lut_shift", 0, 0, 0, 62, &v, err)))
        return st;
    p->lut_shift = (int)v;
    if ((st = t2c_attr_int(node, "lut_offset", 0, 0, 0, k > 0 ? k - 1 : INT64_MAX, &p->lut_offset, err)))
        return st;
    if (p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld is above hi = %lld", (long long)p->lo, (long long)p->hi);
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status gelu_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_gelu_ref(node->params, node->inputs[0], node->n_inputs > 1 ? node->inputs[1] : NULL,
                        node->outputs[0], err);
}

static const char *const gelu_roles[] = {"input", "table"};

const t2c_op_def t2c_op_gelu = {
    .type = "gelu",
    .min_inputs = 1,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = gelu_roles,
    .params_size = sizeof(t2c_gelu_params),
    .prepare = gelu_prepare,
    .run = gelu_run,
};
