/* linear.c — integer fully connected layer: reference kernel and op definition.
 *
 * Recipe (ops/README.md "linear"), for each row r of x viewed as [R, K] (R = N*...) and each m:
 *   acc = bias[m] (0 without bias)                        -- an accumulator step from 0
 *   for k < K: acc = acc + (x[r, k] - x_zero_point) * (w[m, k] - w_zero_point)   -- t2c_acc_add
 *   y[r, m] = acc
 * The accumulator has acc_bits (2..32) bits and the overflow policy error/wrap/saturate.
 */
#include "linear.h"
#include "t2c_weighted.h"

static const char *const linear_roles[] = {"input", "weight", "bias"};

/* Largest |v - zp| for v in the dtype's range. */
static int64_t max_abs_diff(t2c_dtype d, int64_t zp)
{
    int64_t a = t2c_dtype_max(d) - zp, b = zp - t2c_dtype_min(d);
    return a > b ? a : b;
}

/* 1 when max|bias| + K*max|product| <= 2^(bits-1) - 1: then no partial sum can leave the
 * accumulator, no policy ever acts, and a plain int32 sum equals the recipe. */
static int acc_never_overflows(int64_t max_bias, int64_t k, int64_t max_prod, int bits)
{
    int64_t sum;
    if (__builtin_mul_overflow(k, max_prod, &sum) || __builtin_add_overflow(sum, max_bias, &sum))
        return 0;
    return sum <= ((int64_t)1 << (bits - 1)) - 1;
}

static t2c_status overflow_error(t2c_error *err, int64_t r, int64_t m, int64_t acc, int64_t add, int bits)
{
    int64_t hi = ((int64_t)1 << (bits - 1)) - 1;
    return t2c_error_set(err, T2C_ERR_OVERFLOW,
                         "accumulator overflow at output (row=%lld, m=%lld): %lld + %lld is outside the "
                         "%d-bit range [%lld, %lld]",
                         (long long)r, (long long)m, (long long)acc, (long long)add, bits,
                         (long long)(-hi - 1), (long long)hi);
}

/* The recipe step by step through t2c_acc_add (any policy). */
static t2c_status linear_checked(const t2c_linear_params *p, int64_t rows, int64_t K, int64_t M,
                                 const t2c_tensor *x, const int8_t *w, const int32_t *b, int32_t *y,
                                 t2c_error *err)
{
    const int x_unsigned = x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8;
    const int8_t *xs = x->data;
    const uint8_t *xu = x->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t m = 0; m < M; m++) {
            int64_t acc = 0;
            if (b && t2c_acc_add(&acc, b[m], p->acc_bits, p->overflow))
                return overflow_error(err, r, m, acc, b[m], p->acc_bits);
            for (int64_t k = 0; k < K; k++) {
                const int64_t xv = x_unsigned ? xu[r * K + k] : xs[r * K + k];
                const int64_t prod = (xv - p->x_zero_point) * (w[m * K + k] - p->w_zero_point);
                if (t2c_acc_add(&acc, prod, p->acc_bits, p->overflow))
                    return overflow_error(err, r, m, acc, prod, p->acc_bits);
            }
            y[r * M + m] = (int32_t)acc;
        }
    return T2C_OK;
}

/* No overflow possible: a plain int32 dot product per output. x_unsigned is a constant. */
static inline __attribute__((always_inline)) void
linear_plain_body(const t2c_linear_params *p, int64_t rows, int64_t K, int64_t M, const void *xdata,
                  int x_unsigned, const int8_t *w, const int32_t *b, int32_t *y)
{
    const int32_t xzp = (int32_t)p->x_zero_point, wzp = (int32_t)p->w_zero_point;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t m = 0; m < M; m++) {
            const int8_t *wr = w + m * K;
            int32_t acc = b ? b[m] : 0;
            if (x_unsigned) {
                const uint8_t *xr = (const uint8_t *)xdata + r * K;
                for (int64_t k = 0; k < K; k++)
                    acc += ((int32_t)xr[k] - xzp) * ((int32_t)wr[k] - wzp);
            } else {
                const int8_t *xr = (const int8_t *)xdata + r * K;
                for (int64_t k = 0; k < K; k++)
                    acc += ((int32_t)xr[k] - xzp) * ((int32_t)wr[k] - wzp);
            }
            y[r * M + m] = acc;
        }
}

/* Exact int32 sums (no partial sum overflows), so every clone returns the same integers. */
T2C_CLONES static void
linear_plain_s8(const t2c_linear_params *p, int64_t rows, int64_t K, int64_t M, const void *x,
                const int8_t *w, const int32_t *b, int32_t *y)
{
    linear_plain_body(p, rows, K, M, x, 0, w, b, y);
}

/* As linear_plain_s8. */
T2C_CLONES static void
linear_plain_u8(const t2c_linear_params *p, int64_t rows, int64_t K, int64_t M, const void *x,
                const int8_t *w, const int32_t *b, int32_t *y)
{
    linear_plain_body(p, rows, K, M, x, 1, w, b, y);
}

t2c_status t2c_linear_ref(const t2c_linear_params *p, const t2c_tensor *x, const t2c_tensor *w,
                          const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
{
    const int64_t K = w->dims[1], M = w->dims[0], rows = t2c_tensor_numel(x) / K;
    const int32_t *b = bias ? (const int32_t *)bias->data : NULL;
    int64_t max_bias = 0;
    for (int64_t m = 0; b && m < M; m++) {
        int64_t v = b[m] < 0 ? -(int64_t)b[m] : b[m];
        max_bias = v > max_bias ? v : max_bias;
    }
    const int64_t max_prod = max_abs_diff(x->dtype, p->x_zero_point) *
                             max_abs_diff(w->dtype, p->w_zero_point);
    if (!acc_never_overflows(max_bias, K, max_prod, p->acc_bits))
        return linear_checked(p, rows, K, M, x, w->data, b, y->data, err);
    if (x->dtype == T2C_UINT4 || x->dtype == T2C_UINT8)
        linear_plain_u8(p, rows, K, M, x->data, w->data, b, y->data);
    else
        linear_plain_s8(p, rows, K, M, x->data, w->data, b, y->data);
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

t2c_status t2c_linear_infer(const t2c_linear_params *p, const t2c_tensor *x, const t2c_tensor *w,
                            const t2c_tensor *bias, t2c_tensor *y, t2c_error *err)
{
    char s1[128], s2[128];
    t2c_status st = t2c_weighted_check(x, w, bias, y, p->x_zero_point, p->w_zero_point, p->acc_bits, p->overflow,
                                       err);
    if (st != T2C_OK)
        return st;
    if (x->rank < 2 || x->rank > T2C_MAX_RANK || w->rank != 2)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input %s must be [N, ..., K] and weight %s [M, K]",
                             t2c_shape_str(x, s1, sizeof s1), t2c_shape_str(w, s2, sizeof s2));
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] < 1)
            return t2c_error_set(err, T2C_ERR_SHAPE, "input %s has a dim < 1", t2c_shape_str(x, s1, sizeof s1));
    if (w->dims[0] < 1 || w->dims[1] != x->dims[x->rank - 1])
        return t2c_error_set(err, T2C_ERR_SHAPE, "weight %s does not fit input %s (needs [M, K], K = last dim)",
                             t2c_shape_str(w, s1, sizeof s1), t2c_shape_str(x, s2, sizeof s2));
    if (bias && (bias->rank != 1 || bias->dims[0] != w->dims[0]))
        return t2c_error_set(err, T2C_ERR_SHAPE, "bias %s must be [%lld]", t2c_shape_str(bias, s1, sizeof s1),
                             (long long)w->dims[0]);
    y->dtype = T2C_INT32;
    y->rank = x->rank;
    for (int i = 0; i < x->rank - 1; i++)
        y->dims[i] = x->dims[i];
    y->dims[x->rank - 1] = w->dims[0];
    return T2C_OK;
}

static t2c_status linear_prepare(t2c_node *node, t2c_error *err)
{
    t2c_linear_params *p = node->params;
    t2c_status st = t2c_weighted_read(node, &p->x_zero_point, &p->w_zero_point, &p->acc_bits, &p->overflow, err);
    if (st != T2C_OK)
        return st;
    return t2c_linear_infer(p, node->inputs[0], node->inputs[1], node->n_inputs > 2 ? node->inputs[2] : NULL,
                            node->outputs[0], err);
}

static int64_t linear_macs(const t2c_node *node)
{
    int64_t m = t2c_tensor_numel(node->outputs[0]);
    if (__builtin_mul_overflow(m, node->inputs[1]->dims[1], &m))
        return INT64_MAX;
    return m;
}

static t2c_status linear_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_linear_ref(node->params, node->inputs[0], node->inputs[1],
                          node->n_inputs > 2 ? node->inputs[2] : NULL, node->outputs[0], err);
}

const t2c_op_def t2c_op_linear = {
    .type = "linear",
    .min_inputs = 2,
    .max_inputs = 3,
    .n_outputs = 1,
    .input_roles = linear_roles,
    .params_size = sizeof(t2c_linear_params),
    .prepare = linear_prepare,
    .scratch_size = NULL,
    .macs = linear_macs,
    .run = linear_run,
};
