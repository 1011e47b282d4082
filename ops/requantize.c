/* requantize.c — integer rescaling with rounding and saturation: reference kernel and op definition.
 *
 * Recipe (ops/README.md "requantize"), for every element with index c along `axis` (0 when every
 * array has a single value):
 *   y = clamp(scale_round(x, multiplier[c], offset[c], shift[c], rounding) + zero_point, lo, hi)
 * scale_round is t2c_scale_round (ops/t2c_int.h); for tflite it is TFLite's
 * MultiplyByQuantizedMultiplier with exponent 31 - shift.
 */
#include "requantize.h"

#include "t2c_block_io.h"
#include "t2c_round_sel.h"

static const char *const requantize_roles[] = {"input"};

#define REQ_MULT_MAX (((int64_t)1 << 31) - 1)  /* |multiplier| < 2^31 */
#define REQ_OFFSET_MAX (((int64_t)1 << 62) - 1) /* |offset| < 2^62 */

static int64_t req_channels(const t2c_requantize_params *p)
{
    int64_t c = p->n_multiplier;
    c = p->n_shift > c ? p->n_shift : c;
    return p->n_offset > c ? p->n_offset : c;
}

/* Elements per chunk: converted to int64 once, scaled, then stored (no dtype switch per element). */
#define REQ_CHUNK 256

/* One chunk through the recipe with `mode` a compile-time constant in each caller, so the
 * rounding switch is resolved outside the loop. */
static inline __attribute__((always_inline)) void
req_scale_chunk(int64_t *v, int64_t n, int64_t m, int64_t b, int s, t2c_rounding mode, int64_t zp,
                int64_t lo, int64_t hi)
{
    for (int64_t j = 0; j < n; j++) {
        int64_t r = t2c_scale_round_sel(v[j], m, b, s, mode);
        /* |r| < 2^63 may exceed what + zero_point can hold; lo - zp .. hi - zp lie well inside
         * +-2^62, so clamping r there first changes nothing. */
        r = t2c_clamp64(r, -((int64_t)1 << 62), (int64_t)1 << 62);
        v[j] = t2c_clamp64(r + zp, lo, hi);
    }
}

/* y[at .. at+len) from x[at .. at+len) with one channel's parameters, a chunk at a time. Exact
 * int64 arithmetic in every clone, so every clone returns the same integers. */
T2C_CLONES static void
req_run(const t2c_tensor *x, t2c_tensor *y, int64_t at, int64_t len, int64_t m, int64_t b, int s,
        t2c_rounding mode, int64_t zp, int64_t lo, int64_t hi)
{
    int64_t v[REQ_CHUNK];
    for (int64_t j = 0; j < len; j += REQ_CHUNK) {
        const int64_t n = len - j < REQ_CHUNK ? len - j : REQ_CHUNK;
        t2c_block_load(x, at + j, n, 0, 1, v);
        switch (mode) {
        case T2C_ROUND_HALF_EVEN: req_scale_chunk(v, n, m, b, s, T2C_ROUND_HALF_EVEN, zp, lo, hi); break;
        case T2C_ROUND_HALF_UP: req_scale_chunk(v, n, m, b, s, T2C_ROUND_HALF_UP, zp, lo, hi); break;
        case T2C_ROUND_HALF_AWAY: req_scale_chunk(v, n, m, b, s, T2C_ROUND_HALF_AWAY, zp, lo, hi); break;
        case T2C_ROUND_FLOOR: req_scale_chunk(v, n, m, b, s, T2C_ROUND_FLOOR, zp, lo, hi); break;
        default: req_scale_chunk(v, n, m, b, s, T2C_ROUND_TFLITE, zp, lo, hi); break;
        }
        t2c_block_store(y, at + j, n, v);
    }
}

t2c_status t2c_requantize_ref(const t2c_requantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                              t2c_error *err)
{
    (void)err;
    const int64_t C = req_channels(p);
    int64_t outer = 1, inner = 1;
    if (C > 1) {
        for (int i = 0; i < p->axis; i++)
            outer *= x->dims[i];
        for (int i = p->axis + 1; i < x->rank; i++)
            inner *= x->dims[i];
    } else {
        inner = t2c_tensor_numel(x);
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < C; c++) {
            const int64_t m = t2c_rq_multiplier(p, c);
            const int s = (int)t2c_rq_shift(p, c);
            const int64_t b = t2c_rq_offset(p, c);
            req_run(x, y, (o * C + c) * inner, inner, m, b, s, p->rounding, p->zero_point, p->lo, p->hi);
        }
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

static int req_out_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16 ||
           d == T2C_INT32;
}

static t2c_status req_check_array(const char *name, const int64_t *v, int64_t n, int64_t C, int64_t lo,
                                  int64_t hi, t2c_error *err)
{
    if (!v || n < 1 || (n != 1 && n != C))
        return t2c_error_set(err, T2C_ERR_ATTR, "'%s' has %lld values; expected 1 or %lld", name,
                             (long long)n, (long long)C);
    for (int64_t i = 0; i < n; i++)
        if (v[i] < lo || v[i] > hi)
            return t2c_error_set(err, T2C_ERR_ATTR, "'%s'[%lld] = %lld is outside [%lld, %lld]", name,
                                 (long long)i, (long long)v[i], (long long)lo, (long long)hi);
    return T2C_OK;
}

t2c_status t2c_requantize_infer(const t2c_requantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                                t2c_error *err)
{
    char s1[128];
    t2c_status st;
    if (x->dtype != T2C_INT8 && x->dtype != T2C_INT16 && x->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not int32/int16/int8",
                             t2c_dtype_name(x->dtype));
    if (!req_out_ok(y->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not int4/uint4/int8/uint8/int16/int32",
                             t2c_dtype_name(y->dtype));
    if ((int)p->rounding < 0 || p->rounding >= T2C_ROUNDING_COUNT)
        return t2c_error_set(err, T2C_ERR_ATTR, "invalid rounding mode %d", (int)p->rounding);
    const int64_t C = req_channels(p);
    if ((st = req_check_array("multiplier", p->multiplier, p->n_multiplier, C, -REQ_MULT_MAX, REQ_MULT_MAX,
                              err)) != T2C_OK ||
        (st = req_check_array("shift", p->shift, p->n_shift, C, 0, 62, err)) != T2C_OK ||
        (st = req_check_array("offset", p->offset, p->n_offset, C, -REQ_OFFSET_MAX, REQ_OFFSET_MAX, err)) !=
            T2C_OK)
        return st;
    /* TFLite's MultiplyByQuantizedMultiplier has no offset and a non-negative multiplier */
    if (p->rounding == T2C_ROUND_TFLITE) {
        for (int64_t i = 0; i < p->n_multiplier; i++)
            if (p->multiplier[i] < 0)
                return t2c_error_set(err, T2C_ERR_ATTR, "rounding 'tflite' needs multiplier >= 0, got "
                                     "'multiplier'[%lld] = %lld", (long long)i, (long long)p->multiplier[i]);
        for (int64_t i = 0; i < p->n_offset; i++)
            if (p->offset[i] != 0)
                return t2c_error_set(err, T2C_ERR_ATTR, "rounding 'tflite' needs offset 0, got "
                                     "'offset'[%lld] = %lld", (long long)i, (long long)p->offset[i]);
    }
    const int64_t dmin = t2c_dtype_min(y->dtype), dmax = t2c_dtype_max(y->dtype);
    if (p->zero_point < dmin || p->zero_point > dmax)
        return t2c_error_set(err, T2C_ERR_ATTR, "zero_point = %lld is outside the %s range",
                             (long long)p->zero_point, t2c_dtype_name(y->dtype));
    if (p->lo < dmin || p->hi > dmax || p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld, hi = %lld must satisfy %lld <= lo <= hi <= %lld",
                             (long long)p->lo, (long long)p->hi, (long long)dmin, (long long)dmax);
    if (x->rank < 0 || x->rank > T2C_MAX_RANK)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input rank %d is invalid", x->rank);
    if (C > 1 && (p->axis < 0 || p->axis >= x->rank || x->dims[p->axis] != C))
        return t2c_error_set(err, T2C_ERR_SHAPE, "per-channel arrays have %lld values but input %s has no "
                             "dim %d of that size (attribute 'axis')",
                             (long long)C, t2c_shape_str(x, s1, sizeof s1), p->axis);
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status requantize_prepare(t2c_node *node, t2c_error *err)
{
    static const int64_t zero[1] = {0};
    t2c_requantize_params *p = node->params;
    int64_t axis;
    t2c_status st;
    if (node->n_inputs != 1 || !node->inputs[0] || node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs one input and one output");
    const t2c_dtype od = node->outputs[0]->dtype;
    if ((st = t2c_attr_ints(node, "multiplier", 1, -1, NULL, INT64_MIN, INT64_MAX, &p->multiplier,
                            &p->n_multiplier, err)) != T2C_OK ||
        (st = t2c_attr_ints(node, "shift", 1, -1, NULL, INT64_MIN, INT64_MAX, &p->shift, &p->n_shift,
                            err)) != T2C_OK)
        return st;
    p->offset = zero, p->n_offset = 1;
    if (t2c_node_attr(node, "offset") &&
        (st = t2c_attr_ints(node, "offset", 0, -1, zero, INT64_MIN, INT64_MAX, &p->offset, &p->n_offset,
                            err)) != T2C_OK)
        return st;
    if ((st = t2c_attr_int(node, "zero_point", 0, 0, INT32_MIN, INT32_MAX, &p->zero_point, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "lo", 0, t2c_dtype_min(od), INT32_MIN, INT32_MAX, &p->lo, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "hi", 0, t2c_dtype_max(od), INT32_MIN, INT32_MAX, &p->hi, err)) != T2C_OK ||
        (st = t2c_attr_rounding(node, "rounding", T2C_ROUND_HALF_EVEN, &p->rounding, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "axis", 0, 1, 0, T2C_MAX_RANK - 1, &axis, err)) != T2C_OK)
        return st;
    p->axis = (int)axis;
    return t2c_requantize_infer(p, node->inputs[0], node->outputs[0], err);
}

static t2c_status requantize_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_requantize_ref(node->params, node->inputs[0], node->outputs[0], err);
}

const t2c_op_def t2c_op_requantize = {
    .type = "requantize",
    .min_inputs = 1,
    .max_inputs = 1,
    .n_outputs = 1,
    .input_roles = requantize_roles,
    .params_size = sizeof(t2c_requantize_params),
    .prepare = requantize_prepare,
    .scratch_size = NULL,
    .macs = NULL,
    .run = requantize_run,
};
