/* matmul.c — integer batched matrix product of two activations: reference kernel and op definition.
 *
 * Recipe (ops/README.md "matmul"), for each batch index t, m < M, n < N:
 *   acc = 0
 *   for k < K: acc = acc + (a[t, m, k] - a_zero_point) * (b[t, k, n] - b_zero_point)   -- t2c_acc_add
 *              (b[t, n, k] when transpose_b = 1)
 *   y[t, m, n] = acc
 * The accumulator has acc_bits (2..32) bits and the overflow policy error/wrap/saturate.
 */
#include "matmul.h"

static const char *const matmul_roles[] = {"input_a", "input_b"};

/* Element kinds by memory type: int4/int8 -> int8_t, uint4/uint8 -> uint8_t, int16. */
enum { KIND_S8 = 0, KIND_U8 = 1, KIND_S16 = 2 };

static int dtype_kind(t2c_dtype d)
{
    return d == T2C_INT16 ? KIND_S16 : (d == T2C_UINT4 || d == T2C_UINT8) ? KIND_U8 : KIND_S8;
}

static inline __attribute__((always_inline)) int32_t load(const void *p, int64_t i, int kind)
{
    switch (kind) {
    case KIND_S8: return ((const int8_t *)p)[i];
    case KIND_U8: return ((const uint8_t *)p)[i];
    default: return ((const int16_t *)p)[i];
    }
}

/* Largest |v - zp| for v in the dtype's range. */
static int64_t max_abs_diff(t2c_dtype d, int64_t zp)
{
    int64_t a = t2c_dtype_max(d) - zp, b = zp - t2c_dtype_min(d);
    return a > b ? a : b;
}

/* 1 when K*max|product| <= 2^(bits-1) - 1: then no partial sum can leave the accumulator,
 * no policy ever acts, and a plain int32 sum (in any order) equals the recipe. */
static int acc_never_overflows(int64_t k, int64_t max_prod, int bits)
{
    int64_t sum;
    if (__builtin_mul_overflow(k, max_prod, &sum))
        return 0;
    return sum <= ((int64_t)1 << (bits - 1)) - 1;
}

typedef struct mm_geom {
    int64_t batches, M, K, N;
} mm_geom;

/* The recipe step by step through t2c_acc_add (any policy). */
static t2c_status matmul_checked(const t2c_matmul_params *p, const mm_geom *d, const t2c_tensor *a,
                                 const t2c_tensor *b, int32_t *y, t2c_error *err)
{
    const int ka = dtype_kind(a->dtype), kb = dtype_kind(b->dtype);
    const int64_t M = d->M, K = d->K, N = d->N;
    for (int64_t t = 0; t < d->batches; t++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                int64_t acc = 0;
                for (int64_t k = 0; k < K; k++) {
                    const int64_t bi = t * K * N + (p->transpose_b ? n * K + k : k * N + n);
                    const int64_t prod = (load(a->data, (t * M + m) * K + k, ka) - p->a_zero_point) *
                                         (load(b->data, bi, kb) - p->b_zero_point);
                    if (t2c_acc_add(&acc, prod, p->acc_bits, p->overflow)) {
                        const int64_t hi = ((int64_t)1 << (p->acc_bits - 1)) - 1;
                        return t2c_error_set(err, T2C_ERR_OVERFLOW,
                                             "accumulator overflow at output (batch=%lld, m=%lld, n=%lld): "
                                             "%lld + %lld is outside the %d-bit range [%lld, %lld]",
                                             (long long)t, (long long)m, (long long)n, (long long)acc,
                                             (long long)prod, p->acc_bits, (long long)(-hi - 1), (long long)hi);
                    }
                }
                y[(t * M + m) * N + n] = (int32_t)acc;
            }
    return T2C_OK;
}

/* No overflow possible: exact int32 sums in a cache-friendly order. ka/kb are constants in each
 * instance below. */
static inline __attribute__((always_inline)) void
matmul_plain_body(const t2c_matmul_params *p, const mm_geom *d, const void *a, int ka, const void *b,
                  int kb, int32_t *y)
{
    const int32_t azp = (int32_t)p->a_zero_point, bzp = (int32_t)p->b_zero_point;
    const int64_t M = d->M, K = d->K, N = d->N;
    for (int64_t t = 0; t < d->batches; t++) {
        const int64_t a0 = t * M * K, b0 = t * K * N;
        int32_t *yt = y + t * M * N;
        for (int64_t m = 0; m < M; m++) {
            int32_t *yr = yt + m * N;
            if (p->transpose_b) {
                for (int64_t n = 0; n < N; n++) {
                    int32_t acc = 0;
                    for (int64_t k = 0; k < K; k++)
                        acc += (load(a, a0 + m * K + k, ka) - azp) * (load(b, b0 + n * K + k, kb) - bzp);
                    yr[n] = acc;
                }
            } else {
                for (int64_t n = 0; n < N; n++)
                    yr[n] = 0;
                for (int64_t k = 0; k < K; k++) {
                    const int32_t av = load(a, a0 + m * K + k, ka) - azp;
                    if (av == 0)
                        continue;
                    for (int64_t n = 0; n < N; n++)
                        yr[n] += av * (load(b, b0 + k * N + n, kb) - bzp);
                }
            }
        }
    }
}

/* Exact int32 sums (no partial sum overflows), so every clone returns the same integers. */
#define MATMUL_PLAIN(KA, KB)                                                                       \
    T2C_CLONES static void                \
    matmul_plain_##KA##_##KB(const t2c_matmul_params *p, const mm_geom *d, const void *a,         \
                             const void *b, int32_t *y)                                            \
    {                                                                                              \
        matmul_plain_body(p, d, a, KA, b, KB, y);                                                  \
    }
MATMUL_PLAIN(0, 0)
MATMUL_PLAIN(0, 1)
MATMUL_PLAIN(0, 2)
MATMUL_PLAIN(1, 0)
MATMUL_PLAIN(1, 1)
MATMUL_PLAIN(1, 2)
MATMUL_PLAIN(2, 0)
MATMUL_PLAIN(2, 1)
MATMUL_PLAIN(2, 2)
#undef MATMUL_PLAIN

typedef void (*matmul_plain_fn)(const t2c_matmul_params *, const mm_geom *, const void *, const void *,
                                int32_t *);
static const matmul_plain_fn matmul_plain[3][3] = {
    {matmul_plain_0_0, matmul_plain_0_1, matmul_plain_0_2},
    {matmul_plain_1_0, matmul_plain_1_1, matmul_plain_1_2},
    {matmul_plain_2_0, matmul_plain_2_1, matmul_plain_2_2},
};

t2c_status t2c_matmul_ref(const t2c_matmul_params *p, const t2c_tensor *a, const t2c_tensor *b,
                          t2c_tensor *y, t2c_error *err)
{
    mm_geom d;
    d.M = a->dims[a->rank - 2], d.K = a->dims[a->rank - 1];
    d.N = p->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    d.batches = t2c_tensor_numel(a) / (d.M * d.K);
    const int64_t max_prod = max_abs_diff(a->dtype, p->a_zero_point) * max_abs_diff(b->dtype, p->b_zero_point);
    if (!acc_never_overflows(d.K, max_prod, p->acc_bits))
        return matmul_checked(p, &d, a, b, y->data, err);
    matmul_plain[dtype_kind(a->dtype)][dtype_kind(b->dtype)](p, &d, a->data, b->data, y->data);
    return T2C_OK;
}

/* ---------------------------------------------------------------- checks and op glue */

static int in_dtype_range(t2c_dtype d, int64_t v) { return v >= t2c_dtype_min(d) && v <= t2c_dtype_max(d); }

static int matmul_dtype_ok(t2c_dtype d)
{
    return d == T2C_INT4 || d == T2C_UINT4 || d == T2C_INT8 || d == T2C_UINT8 || d == T2C_INT16;
}

t2c_status t2c_matmul_infer(const t2c_matmul_params *p, const t2c_tensor *a, const t2c_tensor *b,
                            t2c_tensor *y, t2c_error *err)
{
    char s1[128], s2[128];
    if (!matmul_dtype_ok(a->dtype) || !matmul_dtype_ok(b->dtype))
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtypes %s, %s must be int4/uint4/int8/uint8/int16",
                             t2c_dtype_name(a->dtype), t2c_dtype_name(b->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not int32", t2c_dtype_name(y->dtype));
    if (p->acc_bits < 2 || p->acc_bits > 32 || (int)p->overflow < 0 || p->overflow >= T2C_OVERFLOW_COUNT ||
        (p->transpose_b != 0 && p->transpose_b != 1))
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "acc_bits = %d must be 2..32 with a valid overflow policy, transpose_b 0 or 1",
                             p->acc_bits);
    if (!in_dtype_range(a->dtype, p->a_zero_point))
        return t2c_error_set(err, T2C_ERR_ATTR, "a_zero_point = %lld is outside the %s range",
                             (long long)p->a_zero_point, t2c_dtype_name(a->dtype));
    if (!in_dtype_range(b->dtype, p->b_zero_point))
        return t2c_error_set(err, T2C_ERR_ATTR, "b_zero_point = %lld is outside the %s range",
                             (long long)p->b_zero_point, t2c_dtype_name(b->dtype));
    const int r = a->rank;
    int ok = r >= 2 && r <= T2C_MAX_RANK && b->rank == r;
    for (int i = 0; ok && i < r; i++)
        ok = a->dims[i] >= 1 && b->dims[i] >= 1 && (i >= r - 2 || a->dims[i] == b->dims[i]);
    const int64_t K = ok ? a->dims[r - 1] : 0;
    const int64_t kb = ok ? b->dims[p->transpose_b ? r - 1 : r - 2] : -1;
    if (!ok || K != kb)
        return t2c_error_set(err, T2C_ERR_SHAPE,
                             "inputs %s and %s must be [B..., M, K] and [B..., %s] with equal rank >= 2 "
                             "and equal leading dims",
                             t2c_shape_str(a, s1, sizeof s1), t2c_shape_str(b, s2, sizeof s2),
                             p->transpose_b ? "N, K" : "K, N");
    y->dtype = T2C_INT32;
    y->rank = r;
    for (int i = 0; i < r - 1; i++)
        y->dims[i] = a->dims[i];
    y->dims[r - 1] = b->dims[p->transpose_b ? r - 2 : r - 1];
    return T2C_OK;
}

static t2c_status matmul_prepare(t2c_node *node, t2c_error *err)
{
    t2c_matmul_params *p = node->params;
    int64_t bits, tb;
    int e;
    t2c_status st;
    if (node->n_inputs != 2 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1 ||
        !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input_a, input_b and one output");
    if ((st = t2c_attr_int(node, "a_zero_point", 0, 0, INT32_MIN, INT32_MAX, &p->a_zero_point, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "b_zero_point", 0, 0, INT32_MIN, INT32_MAX, &p->b_zero_point, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "transpose_b", 0, 0, 0, 1, &tb, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "acc_bits", 0, 32, 2, 32, &bits, err)) != T2C_OK ||
        (st = t2c_attr_enum(node, "overflow", 0, T2C_OVERFLOW_ERROR, t2c_overflow_names, T2C_OVERFLOW_COUNT,
                            &e, err)) != T2C_OK)
        return st;
    p->transpose_b = (int)tb;
    p->acc_bits = (int)bits;
    p->overflow = (t2c_overflow)e;
    return t2c_matmul_infer(p, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

static int64_t matmul_macs(const t2c_node *node)
{
    const t2c_tensor *a = node->inputs[0];
    int64_t m = t2c_tensor_numel(node->outputs[0]);
    if (__builtin_mul_overflow(m, a->dims[a->rank - 1], &m))
        return INT64_MAX;
    return m;
}

static t2c_status matmul_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_matmul_ref(node->params, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

const t2c_op_def t2c_op_matmul = {
    .type = "matmul",
    .min_inputs = 2,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = matmul_roles,
    .params_size = sizeof(t2c_matmul_params),
    .prepare = matmul_prepare,
    .scratch_size = NULL,
    .macs = matmul_macs,
    .run = matmul_run,
};
