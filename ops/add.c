/* add.c — residual add of two int tensors with per-input rescaling (ops/README.md "add"). */
#include "add.h"

#include "t2c_block_io.h"
#include "t2c_round_sel.h"

#define ADD_CHUNK 256 /* elements converted to int64 at a time (no dtype switch per element) */

/* The recipe on a chunk with `mode` a compile-time constant in each caller. */
static inline __attribute__((always_inline)) void add_chunk(const t2c_add_params *p, int64_t *va,
                                                            const int64_t *vb, int64_t n, t2c_rounding mode)
{
    /* parameters in locals: va could alias *p for the compiler */
    const int64_t am = p->a_multiplier, bm = p->b_multiplier, om = p->out_multiplier;
    const int as = p->a_shift, bs = p->b_shift, os = p->out_shift;
    const int64_t ozp = p->out_zero_point, lo = p->lo, hi = p->hi;
    for (int64_t j = 0; j < n; j++) {
        int64_t a2 = t2c_scale_round_sel(va[j], am, 0, as, mode);
        int64_t b2 = t2c_scale_round_sel(vb[j], bm, 0, bs, mode);
        int64_t s = t2c_scale_round_sel(a2 + b2, om, 0, os, mode);
        va[j] = t2c_clamp64(s + ozp, lo, hi);
    }
}

/* y[at .. at+n) (n <= ADD_CHUNK): both inputs, the recipe, the store. Exact int64 arithmetic in
 * every clone, so every clone returns the same integers. */
T2C_CLONES static void
add_block(const t2c_add_params *p, const t2c_tensor *a, const t2c_tensor *b, t2c_tensor *y, int64_t at,
          int64_t n)
{
    const int64_t pow_ls = (int64_t)1 << p->left_shift;
    int64_t va[ADD_CHUNK], vb[ADD_CHUNK];
    t2c_block_load(a, at, n, p->a_zero_point, pow_ls, va); /* a1 */
    t2c_block_load(b, at, n, p->b_zero_point, pow_ls, vb); /* b1 */
    switch (p->rounding) {
    case T2C_ROUND_HALF_EVEN: add_chunk(p, va, vb, n, T2C_ROUND_HALF_EVEN); break;
    case T2C_ROUND_HALF_UP: add_chunk(p, va, vb, n, T2C_ROUND_HALF_UP); break;
    case T2C_ROUND_HALF_AWAY: add_chunk(p, va, vb, n, T2C_ROUND_HALF_AWAY); break;
    case T2C_ROUND_FLOOR: add_chunk(p, va, vb, n, T2C_ROUND_FLOOR); break;
    default: add_chunk(p, va, vb, n, T2C_ROUND_TFLITE); break;
    }
    t2c_block_store(y, at, n, va);
}

/* Recipe (ops/README.md "add"), per element:
 *   a1 = (a - a_zero_point) * 2^left_shift        b1 = (b - b_zero_point) * 2^left_shift
 *   a2 = scale_round(a1, a_multiplier, 0, a_shift, rounding)
 *   b2 = scale_round(b1, b_multiplier, 0, b_shift, rounding)
 *   y  = clamp(scale_round(a2 + b2, out_multiplier, 0, out_shift, rounding) + out_zero_point, lo, hi)
 * prepare() guarantees |a1|, |b1| < 2^31 and |a2| + |b2| < 2^31, so every product is exact in
 * int64 and the tflite mode sees int32 values, as TFLite's int8 ADD does. */
t2c_status t2c_add_ref(const t2c_add_params *p, const t2c_tensor *a, const t2c_tensor *b,
                       t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const int64_t n = t2c_tensor_numel(y);
    for (int64_t i = 0; i < n; i += ADD_CHUNK)
        add_block(p, a, b, y, i, n - i < ADD_CHUNK ? n - i : ADD_CHUNK);
    return T2C_OK;
}

static int add_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

/* ceil(v / 2^s) for 0 <= v < 2^63, 0 <= s <= 62. */
static int64_t ceil_shift(int64_t v, int s)
{
    return s ? (v >> s) + ((v & (((int64_t)1 << s) - 1)) != 0) : v;
}

/* An upper bound of |scale_round(v, m, 0, s, mode)| over |v| <= vmax (vmax < 2^31). Every
 * rounding mode returns floor or ceil of the exact quotient, so ceil(|v·m| / 2^s) bounds it;
 * tflite rounds twice (SRDHM by 2^31, then RDBPOT by R) and its x = v·2^L is an int32. */
static int64_t scale_bound(int64_t vmax, int64_t m, int s, t2c_rounding mode)
{
    int64_t am = m < 0 ? -m : m;
    if (mode == T2C_ROUND_TFLITE) {
        int left = s < 31 ? 31 - s : 0, right = s > 31 ? s - 31 : 0;
        int64_t x = vmax << left; /* < 2^62 */
        if (x > ((int64_t)1 << 31))
            x = (int64_t)1 << 31; /* wrapped to int32: |x| <= 2^31 */
        return ceil_shift(ceil_shift(x * am, 31), right);
    }
    return ceil_shift(vmax * am, s);
}

/* Largest |x - zp| over x in range(dt). */
static int64_t max_abs_diff(t2c_dtype dt, int64_t zp)
{
    int64_t lo = t2c_dtype_min(dt) - zp, hi = t2c_dtype_max(dt) - zp;
    lo = lo < 0 ? -lo : lo;
    hi = hi < 0 ? -hi : hi;
    return lo > hi ? lo : hi;
}

static t2c_status add_prepare(t2c_node *node, t2c_error *err)
{
    t2c_add_params *p = node->params;
    if (node->n_inputs != 2 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs inputs input_a, input_b and one output");
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    t2c_tensor *y = node->outputs[0];
    if (!add_dtype_ok(a->dtype) || !add_dtype_ok(b->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "inputs are %s and %s; each must be int4, uint4, int8, uint8 or int16",
                             t2c_dtype_name(a->dtype), t2c_dtype_name(b->dtype));
    if (!add_dtype_ok(y->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "output is %s; it must be int4, uint4, int8, uint8 or int16",
                             t2c_dtype_name(y->dtype));
    int same = a->rank == b->rank;
    for (int i = 0; same && i < a->rank; i++)
        same = a->dims[i] == b->dims[i];
    if (!same) {
        char sa[128], sb[128];
        return t2c_error_set(err, T2C_ERR_SHAPE, "input shapes %s and %s differ",
                             t2c_shape_str(a, sa, sizeof sa), t2c_shape_str(b, sb, sizeof sb));
    }

    t2c_status st;
    int64_t v;
    if ((st = t2c_attr_rounding(node, "rounding", T2C_ROUND_HALF_EVEN, &p->rounding, err)))
        return st;
    const int64_t m_lo = p->rounding == T2C_ROUND_TFLITE ? 0 : -(((int64_t)1 << 31) - 1);
    const int64_t m_hi = ((int64_t)1 << 31) - 1;
    if ((st = t2c_attr_int(node, "a_zero_point", 0, 0, t2c_dtype_min(a->dtype), t2c_dtype_max(a->dtype),
                           &p->a_zero_point, err)) ||
        (st = t2c_attr_int(node, "b_zero_point", 0, 0, t2c_dtype_min(b->dtype), t2c_dtype_max(b->dtype),
                           &p->b_zero_point, err)) ||
        (st = t2c_attr_int(node, "out_zero_point", 0, 0, t2c_dtype_min(y->dtype), t2c_dtype_max(y->dtype),
                           &p->out_zero_point, err)) ||
        (st = t2c_attr_int(node, "a_multiplier", 0, 1, m_lo, m_hi, &p->a_multiplier, err)) ||
        (st = t2c_attr_int(node, "b_multiplier", 0, 1, m_lo, m_hi, &p->b_multiplier, err)) ||
        (st = t2c_attr_int(node, "out_multiplier", 0, 1, m_lo, m_hi, &p->out_multiplier, err)))
        return st;
    if ((st = t2c_attr_int(node, "left_shift", 0, 0, 0, 30, &v, err)))
        return st;
    p->left_shift = (int)v;
    if ((st = t2c_attr_int(node, "a_shift", 0, 0, 0, 62, &v, err)))
        return st;
    p->a_shift = (int)v;
    if ((st = t2c_attr_int(node, "b_shift", 0, 0, 0, 62, &v, err)))
        return st;
    p->b_shift = (int)v;
    if ((st = t2c_attr_int(node, "out_shift", 0, 0, 0, 62, &v, err)))
        return st;
    p->out_shift = (int)v;
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    if ((st = t2c_attr_int(node, "lo", 0, ymin, ymin, ymax, &p->lo, err)) ||
        (st = t2c_attr_int(node, "hi", 0, ymax, ymin, ymax, &p->hi, err)))
        return st;
    if (p->lo > p->hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "lo = %lld is above hi = %lld", (long long)p->lo,
                             (long long)p->hi);

    /* Worst case over the input ranges: scale_round's arguments must stay below 2^31. */
    const int64_t lim = (int64_t)1 << 31;
    int64_t a1 = max_abs_diff(a->dtype, p->a_zero_point) << p->left_shift;
    int64_t b1 = max_abs_diff(b->dtype, p->b_zero_point) << p->left_shift;
    if (a1 >= lim || b1 >= lim)
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "left_shift = %d makes (x - zero_point) * 2^left_shift reach 2^31", p->left_shift);
    int64_t a2 = scale_bound(a1, p->a_multiplier, p->a_shift, p->rounding);
    int64_t b2 = scale_bound(b1, p->b_multiplier, p->b_shift, p->rounding);
    if (a2 + b2 >= lim)
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "input multipliers/shifts let |a2| + |b2| reach 2^31 (bounds %lld + %lld)",
                             (long long)a2, (long long)b2);

    y->rank = a->rank;
    for (int i = 0; i < a->rank; i++)
        y->dims[i] = a->dims[i];
    return T2C_OK;
}

static t2c_status add_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_add_ref(node->params, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

static const char *const add_roles[] = {"input_a", "input_b"};

const t2c_op_def t2c_op_add = {
    .type = "add",
    .min_inputs = 2,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = add_roles,
    .params_size = sizeof(t2c_add_params),
    .prepare = add_prepare,
    .scratch_size = NULL,
    .macs = NULL,
    .run = add_run,
};
