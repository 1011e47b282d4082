/* layernorm.c — integer layer normalisation, I-BERT's recipe (ops/README.md "layernorm").
 *
 * Per row of C elements:
 *   mu = round_div(Σ x, C, half_even);  d = x - mu
 *   V = Σ (d >> shift)^2                       int64; C·ceil(W/2^shift)^2 + eps < 2^63 checked at load
 *   sigma = isqrt(V + eps)·2^shift;  f = sigma > 0 ? floor(2^31 / sigma) : 0
 *   n = (d·f) >> 1                             |d| < 2·sigma, so |d·f| < 2^32 and |n| <= 2^31
 *   a = n·gamma[c] + beta[c]                   |a| < 2^62 + 2^62
 *   y = clamp(round_shift(a, out_shift, rounding) + out_zero_point, lo, hi)
 */
#include "layernorm.h"

uint64_t t2c_isqrt64(uint64_t v)
{
    uint64_t r = 0, b = (uint64_t)1 << 62;
    while (b > v)
        b >>= 2;
    while (b != 0) { /* one result bit per step: at most 32 steps */
        if (v >= r + b) {
            v -= r + b;
            r = (r >> 1) + b;
        } else {
            r >>= 1;
        }
        b >>= 2;
    }
    return r;
}

t2c_status t2c_layernorm_ref(const t2c_layernorm_params *p, const t2c_tensor *x, const t2c_tensor *gamma,
                             const t2c_tensor *beta, t2c_tensor *y, t2c_error *err)
{
    const int64_t C = x->dims[x->rank - 1], rows = t2c_tensor_numel(x) / C;
    const int64_t beta_lim = (int64_t)1 << 62;
    if (beta)
        for (int64_t c = 0; c < C; c++) {
            const int64_t b = t2c_tensor_get_int(beta, c);
            if (b <= -beta_lim || b >= beta_lim)
                return t2c_error_set(err, T2C_ERR_INVALID_ARG, "beta[%lld] = %lld: |beta| must be < 2^62",
                                     (long long)c, (long long)b);
        }
    for (int64_t r = 0; r < rows; r++) {
        const int64_t base = r * C;
        int64_t sum = 0;
        for (int64_t c = 0; c < C; c++)
            sum += t2c_tensor_get_int(x, base + c);
        const int64_t mu = t2c_round_div(sum, C, T2C_ROUND_HALF_EVEN);
        uint64_t var = 0;
        for (int64_t c = 0; c < C; c++) {
            const int64_t ds = (t2c_tensor_get_int(x, base + c) - mu) >> p->shift;
            var += (uint64_t)(ds * ds);
        }
        const uint64_t sigma = t2c_isqrt64(var + (uint64_t)p->eps) << p->shift;
        const int64_t f = sigma > 0 ? (int64_t)((((uint64_t)1) << 31) / sigma) : 0;
        for (int64_t c = 0; c < C; c++) {
            const int64_t d = t2c_tensor_get_int(x, base + c) - mu;
            const int64_t n = (d * f) >> 1;
            const int64_t a = n * t2c_tensor_get_int(gamma, c) + (beta ? t2c_tensor_get_int(beta, c) : 0);
            const int64_t v = t2c_round_shift(a, p->out_shift, p->rounding) + p->out_zero_point;
            t2c_tensor_set_int(y, base + c, t2c_clamp64(v, p->lo, p->hi));
        }
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- op glue */

static const char *const layernorm_methods[] = {"ibert"};

static int out_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

static t2c_status layernorm_prepare(t2c_node *node, t2c_error *err)
{
    t2c_layernorm_params *p = node->params;
    if (node->n_inputs < 2 || node->n_inputs > 3 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, gamma, optional beta, and one output");
    const t2c_tensor *x = node->inputs[0], *g = node->inputs[1];
    const t2c_tensor *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    t2c_tensor *y = node->outputs[0];
    char s[128], s2[128];
    if (x->dtype != T2C_INT8 && x->dtype != T2C_UINT8 && x->dtype != T2C_INT16 && x->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; it must be int8, uint8, int16 or int32",
                             t2c_dtype_name(x->dtype));
    if (g->dtype != T2C_INT8 && g->dtype != T2C_INT16 && g->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "gamma is %s; it must be int8, int16 or int32",
                             t2c_dtype_name(g->dtype));
    if (b && b->dtype != T2C_INT32 && b->dtype != T2C_INT64)
        return t2c_error_set(err, T2C_ERR_DTYPE, "beta is %s; it must be int32 or int64", t2c_dtype_name(b->dtype));
    if (!out_dtype_ok(y->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "output is %s; it must be int4, uint4, int8, uint8 or int16",
                             t2c_dtype_name(y->dtype));
    if (x->rank < 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x, s, sizeof s));
    const int64_t C = x->dims[x->rank - 1];
    if (g->rank != 1 || g->dims[0] != C || (b && (b->rank != 1 || b->dims[0] != C)))
        return t2c_error_set(err, T2C_ERR_SHAPE, "gamma %s and beta must be [%lld] for input %s",
                             t2c_shape_str(g, s2, sizeof s2), (long long)C, t2c_shape_str(x, s, sizeof s));
    t2c_status st;
    int method;
    int64_t v;
    if ((st = t2c_attr_enum(node, "method", 0, 0, layernorm_methods, 1, &method, err)) ||
        (st = t2c_attr_int(node, "shift", 0, 0, 0, 31, &v, err)))
        return st;
    p->shift = (int)v;
    if ((st = t2c_attr_int(node, "eps", 0, 0, 0, ((int64_t)1 << 62) - 1, &p->eps, err)) ||
        (st = t2c_attr_int(node, "out_shift", 1, 0, 0, 62, &v, err)))
        return st;
    p->out_shift = (int)v;
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    if ((st = t2c_attr_int(node, "out_zero_point", 0, 0, ymin, ymax, &p->out_zero_point, err)) ||
        (st = t2c_attr_int(node, "lo", 0, ymin, ymin, ymax, &p->lo, err)) ||
        (st = t2c_attr_int(node, "hi", 0, ymax, ymin, ymax, &p->hi, err)) ||
        (st = t2c_attr_rounding(node, "rounding", T2C_ROUND_HALF_EVEN, &p->rounding, err)))
        return st;
    if (p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld is above hi = %lld", (long long)p->lo, (long long)p->hi);
    if (p->rounding == T2C_ROUND_TFLITE)
        return t2c_error_set(err, T2C_ERR_ATTR, "rounding 'tflite' is not defined for layernorm");
    /* C·ceil(W / 2^shift)^2 + eps < 2^63, W = the input dtype's width */
    const int64_t w = t2c_dtype_max(x->dtype) - t2c_dtype_min(x->dtype);
    const int64_t dmax = (w + ((int64_t)1 << p->shift) - 1) >> p->shift;
    int64_t bound;
    if (__builtin_mul_overflow(dmax, dmax, &bound) || __builtin_mul_overflow(bound, C, &bound) ||
        __builtin_add_overflow(bound, p->eps, &bound))
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "the variance sum of %lld %s values can reach 2^63: raise 'shift' (now %d) or lower 'eps'",
                             (long long)C, t2c_dtype_name(x->dtype), p->shift);
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status layernorm_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_layernorm_ref(node->params, node->inputs[0], node->inputs[1],
                             node->n_inputs > 2 ? node->inputs[2] : NULL, node->outputs[0], err);
}

static const char *const layernorm_roles[] = {"input", "gamma", "beta"};

const t2c_op_def t2c_op_layernorm = {
    .type = "layernorm",
    .min_inputs = 2,
    .max_inputs = 3,
    .n_outputs = 1,
    .input_roles = layernorm_roles,
    .params_size = sizeof(t2c_layernorm_params),
    .prepare = layernorm_prepare,
    .run = layernorm_run,
};
