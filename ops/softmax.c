/* softmax.c — integer softmax over the last axis (ops/README.md "softmax").
 *
 * ibert/shift/lut, per row:
 *   M = max x;  d = max(x - M, -(2^31-1));  t = round_shift(d·x_multiplier, x_shift - 14, half_up)  (Q14, <= 0)
 *   e = EXP(t) in [0, 2^30];  S = Σ e (int64: 30 + ceil(log2 L) bits)
 *   y = clamp(round_div(e·2^out_bits, S, half_up) + zero_point)   (S = 0: clamp(zero_point))
 * tflite: TFLite's reference_ops::Softmax for int8/uint8 input (gemmlowp Q5.26 exp, Q12.19 sum,
 * Newton-Raphson reciprocal), parameters input_multiplier = x_multiplier,
 * input_left_shift = 57 - x_shift, diff_min = -((31·2^26) >> input_left_shift).
 */
#include "softmax.h"

const char *const t2c_softmax_method_names[T2C_SOFTMAX_METHOD_COUNT] = {"ibert", "shift", "lut", "tflite"};

#define Q 14                 /* fractional bits of t */
#define IBERT_LN2 11357      /* round(ln 2 · 2^14) */
#define IBERT_B 22168        /* round(1.353 · 2^14) */
#define IBERT_C 257578234    /* round(0.344 / 0.3585 · 2^28) */

int64_t t2c_softmax_exp_ibert(int64_t t)
{
    const int64_t z = (-t) / IBERT_LN2; /* -t >= 0: truncation is floor */
    const int64_t p = t + z * IBERT_LN2; /* (-LN2, 0] */
    const int64_t poly = (p + IBERT_B) * (p + IBERT_B) + IBERT_C; /* < 2^30 */
    return z >= 31 ? 0 : poly >> z;
}

int64_t t2c_softmax_exp_shift(int64_t t)
{
    int64_t u = t + (t >> 1) - (t >> 4); /* ≈ t·log2(e); arithmetic (floor) shifts */
    if (u < -15 * ((int64_t)1 << Q))
        u = -15 * ((int64_t)1 << Q);
    const int64_t q = (-u) >> Q;                   /* 0..15 */
    const int64_t r = u + q * ((int64_t)1 << Q);   /* (-2^14, 0] */
    return (((int64_t)1 << Q) + (r >> 1)) << (15 - q);
}

int64_t t2c_softmax_exp_lut(const t2c_tensor *table, int lut_shift, int64_t t)
{
    const int64_t k = t2c_tensor_numel(table);
    int64_t i = t2c_round_shift(-t, lut_shift, T2C_ROUND_HALF_UP);
    if (i > k - 1)
        i = k - 1;
    return t2c_tensor_get_int(table, i);
}

/* ---- gemmlowp fixed point (int32), as TFLite uses it ---- */

static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* saturating x·2^k (gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent) */
static int32_t sat_shl(int32_t x, int k)
{
    const int32_t thr = (int32_t)(((int64_t)1 << (31 - k)) - 1);
    if (x > thr)
        return INT32_MAX;
    if (x < -thr)
        return INT32_MIN;
    return (int32_t)((int64_t)x * ((int64_t)1 << k));
}

int32_t t2c_tflite_exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    if (a == 0)
        return INT32_MAX;
    const int32_t m = (int32_t)((uint32_t)a & ((1u << 24) - 1)) - (1 << 24); /* [-2^24, 0) */
    /* exp on [-1/4, 0): Taylor around -1/8 in Q0.31 */
    const int32_t x = m * 32 + (1 << 28);
    const int32_t x2 = t2c_srdhm(x, x), x3 = t2c_srdhm(x2, x), x4 = t2c_srdhm(x2, x2);
    const int32_t inner = t2c_srdhm(wrap32((int64_t)t2c_rdbpot(x4, 2) + x3), 715827883); /* ·1/3 */
    const int32_t s = t2c_rdbpot(wrap32((int64_t)inner + x2), 1);
    int32_t e = wrap32((int64_t)1895147668 + t2c_srdhm(1895147668, wrap32((int64_t)x + s)));
    /* multiply by exp(-2^k/4) for each set bit of the removed multiple of 1/4 */
    const int32_t rem = wrap32((int64_t)m - a);
    for (int k = 0; k < 7; k++)
        if ((uint32_t)rem & (1u << (24 + k)))
            e = t2c_srdhm(e, barrel[k]);
    return e;
}

int32_t t2c_tflite_one_over_one_plus_x(int32_t v)
{
    const int64_t sum = (int64_t)v + INT32_MAX;
    const int32_t hd = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* RoundingHalfSum(v, 1.0) */
    int32_t x = wrap32((int64_t)1515870810 + t2c_srdhm(hd, -1010580540)); /* 48/17 - 32/17·hd, Q2.29 */
    for (int i = 0; i < 3; i++) {
        const int32_t one_minus = wrap32(((int64_t)1 << 29) - t2c_srdhm(hd, x));
        x = wrap32((int64_t)x + sat_shl(t2c_srdhm(x, one_minus), 2));
    }
    return sat_shl(x, 1);
}

static int clz32(uint32_t v)
{
    int n = 0;
    if (v == 0)
        return 32;
    while (!(v & 0x80000000u)) {
        v <<= 1;
        n++;
    }
    return n;
}

static void softmax_rows_tflite(const t2c_softmax_params *p, const t2c_tensor *x, t2c_tensor *y, int64_t rows,
                                int64_t L)
{
    const int ls = 57 - p->x_shift;
    const int32_t m = (int32_t)p->x_multiplier;
    const int64_t diff_min = -(((int64_t)31 << 26) >> ls);
    const int bits = t2c_dtype_bits(y->dtype);
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t base = r * L;
        int64_t mx = t2c_tensor_get_int(x, base);
        for (int64_t j = 1; j < L; j++) {
            int64_t v = t2c_tensor_get_int(x, base + j);
            mx = v > mx ? v : mx;
        }
        int64_t sum = 0; /* Q12.19; < 2^31 for the allowed row lengths */
        for (int64_t j = 0; j < L; j++) {
            const int64_t d = t2c_tensor_get_int(x, base + j) - mx;
            if (d >= diff_min)
                sum += t2c_rdbpot(t2c_tflite_exp_on_negative_values(t2c_srdhm((int32_t)(d * ((int64_t)1 << ls)), m)),
                                  12);
        }
        const int h = clz32((uint32_t)sum);
        const int nbou = 12 - h;
        const int32_t recip =
            t2c_tflite_one_over_one_plus_x((int32_t)(uint32_t)(((uint32_t)sum << h) - 0x80000000u));
        const int expo = nbou + 31 - bits;
        for (int64_t j = 0; j < L; j++) {
            const int64_t d = t2c_tensor_get_int(x, base + j) - mx;
            int64_t out = ymin;
            if (d >= diff_min) {
                const int32_t e = t2c_tflite_exp_on_negative_values(t2c_srdhm((int32_t)(d * ((int64_t)1 << ls)), m));
                out = t2c_clamp64((int64_t)t2c_rdbpot(t2c_srdhm(recip, e), expo) + ymin, ymin, ymax);
            }
            t2c_tensor_set_int(y, base + j, out);
        }
    }
}

static int64_t softmax_exp(const t2c_softmax_params *p, const t2c_tensor *table, int64_t x, int64_t mx)
{
    int64_t d = x - mx;
    if (d < -(((int64_t)1 << 31) - 1))
        d = -(((int64_t)1 << 31) - 1);
    const int64_t t = t2c_round_shift(d * p->x_multiplier, p->x_shift - Q, T2C_ROUND_HALF_UP);
    switch (p->method) {
    case T2C_SOFTMAX_IBERT: return t2c_softmax_exp_ibert(t);
    case T2C_SOFTMAX_SHIFT: return t2c_softmax_exp_shift(t);
    default: return t2c_softmax_exp_lut(table, p->lut_shift, t);
    }
}

t2c_status t2c_softmax_ref(const t2c_softmax_params *p, const t2c_tensor *x, const t2c_tensor *table,
                           t2c_tensor *y, t2c_error *err)
{
    const int64_t L = x->dims[x->rank - 1], rows = t2c_tensor_numel(x) / L;
    if (p->method == T2C_SOFTMAX_TFLITE) {
        softmax_rows_tflite(p, x, y, rows, L);
        return T2C_OK;
    }
    if (p->method == T2C_SOFTMAX_LUT) {
        const int64_t k = t2c_tensor_numel(table);
        for (int64_t i = 0; i < k; i++) {
            const int64_t v = t2c_tensor_get_int(table, i);
            if (v < 0 || v > ((int64_t)1 << 30))
                return t2c_error_set(err, T2C_ERR_INVALID_ARG, "table[%lld] = %lld is outside [0, 2^30]",
                                     (long long)i, (long long)v);
        }
    }
    const int64_t ymin = t2c_dtype_min(y->dtype), ymax = t2c_dtype_max(y->dtype);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t base = r * L;
        int64_t mx = t2c_tensor_get_int(x, base);
        for (int64_t j = 1; j < L; j++) {
            int64_t v = t2c_tensor_get_int(x, base + j);
            mx = v > mx ? v : mx;
        }
        int64_t sum = 0;
        for (int64_t j = 0; j < L; j++)
            sum += softmax_exp(p, table, t2c_tensor_get_int(x, base + j), mx);
        for (int64_t j = 0; j < L; j++) {
            int64_t out = p->zero_point;
            if (sum > 0) {
                const int64_t e = softmax_exp(p, table, t2c_tensor_get_int(x, base + j), mx);
                out += t2c_round_div(e << p->out_bits, sum, T2C_ROUND_HALF_UP);
            }
            t2c_tensor_set_int(y, base + j, t2c_clamp64(out, ymin, ymax));
        }
    }
    return T2C_OK;
}

/* ---------------------------------------------------------------- op glue */

static t2c_status softmax_prepare(t2c_node *node, t2c_error *err)
{
    t2c_softmax_params *p = node->params;
    if (node->n_inputs < 1 || node->n_inputs > 2 || !node->inputs[0] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, optional table, and one output");
    const t2c_tensor *x = node->inputs[0];
    const t2c_tensor *table = node->n_inputs > 1 ? node->inputs[1] : NULL;
    t2c_tensor *y = node->outputs[0];
    char s[128];
    t2c_status st;
    int method;
    if ((st = t2c_attr_enum(node, "method", 0, T2C_SOFTMAX_IBERT, t2c_softmax_method_names,
                            T2C_SOFTMAX_METHOD_COUNT, &method, err)))
        return st;
    p->method = (t2c_softmax_method)method;
    const int tfl = p->method == T2C_SOFTMAX_TFLITE;
    const t2c_dtype xd = x->dtype, yd = y->dtype;
    if (tfl ? (xd != T2C_INT8 && xd != T2C_UINT8)
            : (xd != T2C_INT8 && xd != T2C_UINT8 && xd != T2C_INT16 && xd != T2C_INT32))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input is %s; method %s takes %s", t2c_dtype_name(xd),
                             t2c_softmax_method_names[method], tfl ? "int8 or uint8" : "int8, uint8, int16 or int32");
    if (yd != T2C_INT8 && yd != T2C_UINT8 && yd != T2C_INT16)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output is %s; it must be uint8, int8 or int16", t2c_dtype_name(yd));
    if (x->rank < 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s needs rank >= 2", t2c_shape_str(x, s, sizeof s));
    if (p->method == T2C_SOFTMAX_LUT) {
        if (!table)
            return t2c_error_set(err, T2C_ERR_INVALID_ARG, "method lut needs the table input");
        if (table->dtype != T2C_INT32 || table->rank != 1 || table->dims[0] < 1)
            return t2c_error_set(err, T2C_ERR_SHAPE, "table must be int32 of rank 1 with at least one entry, not %s %s",
                                 t2c_dtype_name(table->dtype), t2c_shape_str(table, s, sizeof s));
    } else if (table) {
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "method %s takes no table input",
                             t2c_softmax_method_names[method]);
    }
    int64_t v;
    const int default_bits = t2c_dtype_bits(yd);
    if ((st = t2c_attr_int(node, "x_multiplier", 1, 0, 0, ((int64_t)1 << 31) - 1, &p->x_multiplier, err)) ||
        (st = t2c_attr_int(node, "x_shift", 1, 0, tfl ? 26 : Q, tfl ? 57 : 62, &v, err)))
        return st;
    p->x_shift = (int)v;
    if ((st = t2c_attr_int(node, "out_bits", 0, default_bits, 1, 16, &v, err)))
        return st;
    p->out_bits = (int)v;
    if ((st = t2c_attr_int(node, "zero_point", 0, t2c_dtype_min(yd), t2c_dtype_min(yd), t2c_dtype_max(yd),
                           &p->zero_point, err)) ||
        (st = t2c_attr_int(node, "lut_shift", 0, 0, 0, 62, &v, err)))
        return st;
    p->lut_shift = (int)v;
    const int64_t L = x->dims[x->rank - 1];
    if (tfl) {
        if (p->out_bits != default_bits || p->zero_point != t2c_dtype_min(yd))
            return t2c_error_set(err, T2C_ERR_ATTR, "method tflite needs out_bits = %d and zero_point = %lld",
                                 default_bits, (long long)t2c_dtype_min(yd));
        const int64_t maxl = default_bits == 16 ? 4095 : 511;
        if (L > maxl)
            return t2c_error_set(err, T2C_ERR_SHAPE, "method tflite: rows of %lld exceed %lld for a %s output",
                                 (long long)L, (long long)maxl, t2c_dtype_name(yd));
    }
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[i];
    return T2C_OK;
}

static t2c_status softmax_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_softmax_ref(node->params, node->inputs[0], node->n_inputs > 1 ? node->inputs[1] : NULL,
                           node->outputs[0], err);
}

static const char *const softmax_roles[] = {"input", "table"};

const t2c_op_def t2c_op_softmax = {
    .type = "softmax",
    .min_inputs = 1,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = softmax_roles,
    .params_size = sizeof(t2c_softmax_params),
    .prepare = softmax_prepare,
    .run = softmax_run,
};
