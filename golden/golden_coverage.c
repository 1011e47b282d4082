/* golden_coverage.c — what a golden vector set exercised, per op and output channel.
 *
 * Called by the golden writer's hook after each selected op (inputs and outputs valid). It
 * only observes: every count is recomputed here from the op's tensors and attributes with the
 * recipes of ops/README.md (t2c_int.h), so kernels know nothing of it. Counts accumulate over
 * all images and runs. golden/README.md ("coverage") is the normative description.
 *
 *  - conv2d / linear / matmul with an int32 output: max |output| per output channel (the final
 *    accumulator, bias included) and, under overflow policy wrap / saturate, the accumulation
 *    steps (bias load, then each product in the recipe's order) whose exact sum left the
 *    acc_bits range: re-run here step by step unless the op's no-overflow bound proves 0.
 *  - requantize: per channel (the attribute arrays' channel along `axis`) the elements clamped
 *    at lo and at hi (the value before the clamp is < lo or > hi) and the exact rounding ties
 *    (the discarded remainder of the rounding shift is exactly half).
 *  - add / broadcast_add / mul / quantize: the same clamp counts and ties (one channel: their
 *    attributes are scalars); add rounds three times per element, each tie counts.
 *  - avgpool2d / global_avgpool: the same per channel (dim 1) for the rounded window mean.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "golden_coverage.h"
#include "golden_internal.h"
#include "t2c_bcast.h"
#include "t2c_int.h"

enum { COV_NONE = 0, COV_ACC = 1, COV_REQUANT = 2 };

typedef struct cov_op {
    int kind;
    int64_t channels;
    int64_t elements;
    int64_t *max_abs;       /* COV_ACC */
    int64_t *steps;         /* COV_ACC: wrapped (policy wrap) or clipped (saturate) steps */
    int policy, acc_bits;   /* COV_ACC */
    int64_t *sat_lo, *sat_hi, *ties; /* COV_REQUANT (also add, mul, quantize) */
    const char *note;
} cov_op;

struct t2c_golden_cov {
    int n_ops;
    cov_op *ops;
};

t2c_golden_cov *t2c_golden_cov_create(int n_ops)
{
    t2c_golden_cov *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ops = calloc((size_t)n_ops + 1, sizeof *c->ops);
    if (!c->ops) {
        free(c);
        return NULL;
    }
    c->n_ops = n_ops;
    return c;
}

void t2c_golden_cov_free(t2c_golden_cov *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_ops; i++) {
        free(c->ops[i].max_abs);
        free(c->ops[i].steps);
        free(c->ops[i].sat_lo);
        free(c->ops[i].sat_hi);
        free(c->ops[i].ties);
    }
    free(c->ops);
    free(c);
}

static int64_t attr_int(const t2c_op_view *op, const char *name, int64_t dflt)
{
    const t2c_attr *a = t2c_op_attr(op, name);
    if (!a)
        return dflt;
    if (a->type == T2C_ATTR_INT)
        return a->v.i;
    if (a->type == T2C_ATTR_INTS && a->count >= 1)
        return a->v.ints[0];
    return dflt;
}

/* Element c of an ints attribute holding 1 or C values (a scalar for every channel). */
static int64_t attr_at(const t2c_attr *a, int64_t c, int64_t dflt)
{
    if (!a)
        return dflt;
    if (a->type == T2C_ATTR_INT)
        return a->v.i;
    if (a->type == T2C_ATTR_INTS && a->count >= 1)
        return a->v.ints[a->count > 1 ? c : 0];
    return dflt;
}

static int64_t attr_count(const t2c_attr *a)
{
    return a && a->type == T2C_ATTR_INTS ? a->count : 1;
}

static int alloc_arrays(cov_op *r, int kind, int64_t channels)
{
    r->kind = kind;
    r->channels = channels;
    size_t n = (size_t)channels;
    if (kind == COV_ACC) {
        r->max_abs = calloc(n, sizeof(int64_t));
        r->steps = calloc(n, sizeof(int64_t));
        return r->max_abs && r->steps ? 0 : -1;
    }
    r->sat_lo = calloc(n, sizeof(int64_t));
    r->sat_hi = calloc(n, sizeof(int64_t));
    r->ties = calloc(n, sizeof(int64_t));
    return r->sat_lo && r->sat_hi && r->ties ? 0 : -1;
}

/* Element k of an ints attribute (a scalar stands for every k), or dflt. */
static int64_t attr_k(const t2c_op_view *op, const char *name, int k, int64_t dflt)
{
    const t2c_attr *a = t2c_op_attr(op, name);
    if (a && a->type == T2C_ATTR_INTS && a->count > k)
        return a->v.ints[k];
    if (a && a->type == T2C_ATTR_INT)
        return a->v.i;
    return dflt;
}

/* Largest |v - zp| for v in the dtype's range. */
static int64_t max_abs_diff(t2c_dtype d, int64_t zp)
{
    int64_t a = t2c_dtype_max(d) - zp, b = zp - t2c_dtype_min(d);
    return a > b ? a : b;
}

/* One accumulator step of the recipe (ops/README.md "Accumulator"): 1 when the exact sum left
 * the acc_bits range, so that the policy wrapped or clipped it. */
static int acc_step(int64_t *acc, int64_t p, int bits, int policy)
{
    const int64_t hi = ((int64_t)1 << (bits - 1)) - 1, lo = -hi - 1;
    const int64_t s = *acc + p;
    if (s >= lo && s <= hi) {
        *acc = s;
        return 0;
    }
    *acc = policy == T2C_OVERFLOW_WRAP ? t2c_wrap_bits(s, bits) : s < lo ? lo : hi;
    return 1;
}

/* Count the steps of one output: `acc` is final, y its dumped value (a mismatch is noted). */
static void acc_done(cov_op *r, int64_t ch, int64_t steps, int64_t acc, int64_t y, int64_t *mism)
{
    r->steps[ch] += steps;
    if (acc != y)
        (*mism)++;
}

/* conv2d: bias, then ci, kh, kw (padding adds 0 and is skipped, as in ops/conv2d.c). */
static int conv_steps(cov_op *r, const t2c_op_view *op, int64_t *mism)
{
    const t2c_tensor *x = op->inputs[0], *w = op->inputs[1], *y = op->outputs[0];
    const t2c_tensor *b = op->n_inputs > 2 && op->inputs[2] && op->inputs[2]->data ? op->inputs[2] : NULL;
    const int64_t group = attr_k(op, "group", 0, 1);
    if (x->rank != 4 || w->rank != 4 || y->rank != 4 || group < 1)
        return -1;
    const int64_t N = x->dims[0], Cin = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t Cout = w->dims[0], KH = w->dims[2], KW = w->dims[3], Ho = y->dims[2], Wo = y->dims[3];
    const int64_t cin_g = Cin / group, cout_g = Cout / group;
    const int64_t sh = attr_k(op, "strides", 0, 1), sw = attr_k(op, "strides", 1, 1);
    const int64_t top = attr_k(op, "pads", 0, 0), left = attr_k(op, "pads", 1, 0);
    const int64_t dh = attr_k(op, "dilations", 0, 1), dw = attr_k(op, "dilations", 1, 1);
    const int64_t xzp = attr_k(op, "x_zero_point", 0, 0), wzp = attr_k(op, "w_zero_point", 0, 0);
    if (cout_g < 1 || y->dims[0] != N || y->dims[1] != Cout)
        return -1;
    for (int64_t n = 0; n < N; n++)
        for (int64_t co = 0; co < Cout; co++) {
            const int64_t g = co / cout_g;
            for (int64_t oh = 0; oh < Ho; oh++)
                for (int64_t ow = 0; ow < Wo; ow++) {
                    int64_t acc = 0, cnt = 0;
                    if (b)
                        cnt += acc_step(&acc, t2c_tensor_get_int(b, co), r->acc_bits, r->policy);
                    for (int64_t ci = 0; ci < cin_g; ci++)
                        for (int64_t kh = 0; kh < KH; kh++) {
                            const int64_t ih = oh * sh - top + kh * dh;
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                const int64_t iw = ow * sw - left + kw * dw;
                                if (iw < 0 || iw >= W)
                                    continue;
                                const int64_t xi = ((n * Cin + g * cin_g + ci) * H + ih) * W + iw;
                                const int64_t xv = t2c_tensor_get_int(x, xi);
                                const int64_t wv = t2c_tensor_get_int(w, ((co * cin_g + ci) * KH + kh) * KW + kw);
                                cnt += acc_step(&acc, (xv - xzp) * (wv - wzp), r->acc_bits, r->policy);
                            }
                        }
                    const int64_t yi = ((n * Cout + co) * Ho + oh) * Wo + ow;
                    acc_done(r, co, cnt, acc, t2c_tensor_get_int(y, yi), mism);
                }
        }
    return 0;
}

/* linear: bias, then k; matmul: k (no bias). Rows are all leading dims (with matmul's batch). */
static int gemm_steps(cov_op *r, const t2c_op_view *op, int is_matmul, int64_t *mism)
{
    const t2c_tensor *x = op->inputs[0], *w = op->inputs[1], *y = op->outputs[0];
    const t2c_tensor *b = !is_matmul && op->n_inputs > 2 && op->inputs[2] && op->inputs[2]->data ? op->inputs[2] : NULL;
    if (x->rank < 2 || w->rank < 2 || y->rank < 2)
        return -1;
    const int64_t K = x->dims[x->rank - 1], M = y->dims[y->rank - 1];
    const int tb = is_matmul && attr_k(op, "transpose_b", 0, 0);
    const int64_t xzp = attr_k(op, is_matmul ? "a_zero_point" : "x_zero_point", 0, 0);
    const int64_t wzp = attr_k(op, is_matmul ? "b_zero_point" : "w_zero_point", 0, 0);
    if (K < 1 || M < 1)
        return -1;
    const int64_t rows = t2c_tensor_numel(x) / K;   /* matmul: batch · rows of a */
    const int64_t rows_per_batch = is_matmul ? x->dims[x->rank - 2] : rows;
    if (rows * M != t2c_tensor_numel(y) || rows_per_batch < 1)
        return -1;
    for (int64_t i = 0; i < rows; i++) {
        const int64_t bt = i / rows_per_batch;
        for (int64_t m = 0; m < M; m++) {
            int64_t acc = 0, cnt = 0;
            if (b)
                cnt += acc_step(&acc, t2c_tensor_get_int(b, m), r->acc_bits, r->policy);
            for (int64_t k = 0; k < K; k++) {
                /* linear w [M, K]; matmul b [B, K, N] or [B, N, K] (transpose_b) */
                const int64_t wi = !is_matmul ? m * K + k : tb ? (bt * M + m) * K + k : (bt * K + k) * M + m;
                const int64_t p = (t2c_tensor_get_int(x, i * K + k) - xzp) * (t2c_tensor_get_int(w, wi) - wzp);
                cnt += acc_step(&acc, p, r->acc_bits, r->policy);
            }
            acc_done(r, m, cnt, acc, t2c_tensor_get_int(y, i * M + m), mism);
        }
    }
    return 0;
}

/* ops/conv2d.c acc_never_overflows: max|bias| + K·max|product| within the range proves that no
 * step, in any order, leaves it. */
static int acc_proven_safe(const t2c_op_view *op, int bits)
{
    const int is_conv = strcmp(op->type, "conv2d") == 0, is_matmul = strcmp(op->type, "matmul") == 0;
    const t2c_tensor *x = op->inputs[0], *w = op->n_inputs > 1 ? op->inputs[1] : NULL;
    const t2c_tensor *b = !is_matmul && op->n_inputs > 2 && op->inputs[2] && op->inputs[2]->data ? op->inputs[2] : NULL;
    if (!w || x->rank < 1 || w->rank < 2)
        return 0;
    const int64_t k = is_conv ? (w->rank == 4 ? w->dims[1] * w->dims[2] * w->dims[3] : INT32_MAX)
                              : x->dims[x->rank - 1];
    const int64_t max_prod = max_abs_diff(x->dtype, attr_k(op, is_matmul ? "a_zero_point" : "x_zero_point", 0, 0)) *
                             max_abs_diff(w->dtype, attr_k(op, is_matmul ? "b_zero_point" : "w_zero_point", 0, 0));
    int64_t max_bias = 0;
    for (int64_t i = 0, n = b ? t2c_tensor_numel(b) : 0; i < n; i++) {
        int64_t v = t2c_tensor_get_int(b, i);
        v = v < 0 ? -v : v;
        max_bias = v > max_bias ? v : max_bias;
    }
    int64_t sum;
    if (__builtin_mul_overflow(k, max_prod, &sum) || __builtin_add_overflow(sum, max_bias, &sum))
        return 0;
    return sum <= ((int64_t)1 << (bits - 1)) - 1;
}

static int cov_acc(cov_op *r, const t2c_op_view *op)
{
    const t2c_tensor *y = op->outputs[0];
    if (y->rank < 1)
        return 0;
    const int axis = strcmp(op->type, "conv2d") == 0 ? 1 : y->rank - 1;
    if (axis >= y->rank)
        return 0;
    const int64_t ch = y->dims[axis];
    int64_t inner = 1;
    for (int d = axis + 1; d < y->rank; d++)
        inner *= y->dims[d];
    if (r->kind == COV_NONE) {
        if (ch < 1 || alloc_arrays(r, COV_ACC, ch) != 0)
            return -1;
        const t2c_attr *ov = t2c_op_attr(op, "overflow");
        r->policy = T2C_OVERFLOW_ERROR;
        for (int k = 0; ov && ov->type == T2C_ATTR_STRING && k < T2C_OVERFLOW_COUNT; k++)
            if (strcmp(ov->v.s, t2c_overflow_names[k]) == 0)
                r->policy = k;
        r->acc_bits = (int)attr_int(op, "acc_bits", 32);
        if (r->acc_bits < 2 || r->acc_bits > 32)
            r->acc_bits = 32;
    }
    if (r->channels != ch)
        return 0;
    const int32_t *v = y->data;
    const int64_t n = t2c_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = v[i] < 0 ? -(int64_t)v[i] : (int64_t)v[i];
        int64_t c = (i / inner) % ch;
        if (a > r->max_abs[c])
            r->max_abs[c] = a;
    }
    r->elements += n;
    /* Under "error" a step out of range fails the op, so every count is 0. */
    if (r->policy != T2C_OVERFLOW_ERROR && op->n_inputs >= 2 && op->inputs[1] && op->inputs[1]->data &&
        !acc_proven_safe(op, r->acc_bits)) {
        int64_t mism = 0;
        const int rc = strcmp(op->type, "conv2d") == 0 ? conv_steps(r, op, &mism)
                                                       : gemm_steps(r, op, strcmp(op->type, "matmul") == 0, &mism);
        if (rc != 0)
            r->note = "unexpected shapes: accumulator steps not counted";
        else if (mism)
            r->note = "the recomputed accumulator differs from the op's output";
    }
    return 0;
}

/* Whether rounding x·m + b by 2^s (mode) meets an exact tie. TFLITE: the SRDHM product's
 * remainder mod 2^31 is exactly 2^30 (x·2^L·m ≥ 0) or the RDBPOT remainder is exactly half. */
static int is_tie(int64_t x, int64_t m, int64_t b, int s, t2c_rounding mode)
{
    if (mode == T2C_ROUND_FLOOR)
        return 0;
    if (mode == T2C_ROUND_TFLITE) {
        int left = s < 31 ? 31 - s : 0, right = s > 31 ? s - 31 : 0;
        int32_t xl = (int32_t)(uint32_t)((uint64_t)x << left);
        int64_t ab = (int64_t)xl * m;
        int64_t rem = ab & (((int64_t)1 << 31) - 1);
        if (rem == ((int64_t)1 << 30))
            return 1;
        if (right > 0) {
            int32_t h = t2c_srdhm(xl, (int32_t)m);
            int64_t r2 = (int64_t)h & (((int64_t)1 << right) - 1);
            return r2 == ((int64_t)1 << (right - 1));
        }
        return 0;
    }
    if (s <= 0)
        return 0;
    int64_t t = x * m + b;
    return (t & (((int64_t)1 << s) - 1)) == ((int64_t)1 << (s - 1));
}

static t2c_rounding rounding_of(const t2c_op_view *op)
{
    const t2c_attr *a = t2c_op_attr(op, "rounding");
    if (a && a->type == T2C_ATTR_STRING)
        for (int k = 0; k < T2C_ROUNDING_COUNT; k++)
            if (strcmp(a->v.s, t2c_rounding_names[k]) == 0)
                return (t2c_rounding)k;
    return T2C_ROUND_HALF_EVEN;
}

static int cov_requant(cov_op *r, const t2c_op_view *op)
{
    const t2c_tensor *x = op->inputs[0], *y = op->outputs[0];
    const t2c_attr *am = t2c_op_attr(op, "multiplier"), *as = t2c_op_attr(op, "shift");
    const t2c_attr *ao = t2c_op_attr(op, "offset");
    int64_t ch = attr_count(am);
    if (attr_count(as) > ch)
        ch = attr_count(as);
    if (attr_count(ao) > ch)
        ch = attr_count(ao);
    const int axis = (int)attr_int(op, "axis", 1);
    int64_t inner = 1;
    if (ch > 1) {
        if (axis < 0 || axis >= x->rank || x->dims[axis] != ch)
            return 0; /* the op would have failed */
        for (int d = axis + 1; d < x->rank; d++)
            inner *= x->dims[d];
    }
    if (r->kind == COV_NONE && alloc_arrays(r, COV_REQUANT, ch) != 0)
        return -1;
    if (r->channels != ch)
        return 0;
    const t2c_rounding mode = rounding_of(op);
    const int64_t zp = attr_int(op, "zero_point", 0);
    const int64_t lo = attr_int(op, "lo", t2c_dtype_min(y->dtype));
    const int64_t hi = attr_int(op, "hi", t2c_dtype_max(y->dtype));
    const int64_t n = t2c_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        const int64_t c = ch > 1 ? (i / inner) % ch : 0;
        const int64_t m = attr_at(am, c, 1), b = attr_at(ao, c, 0);
        const int s = (int)attr_at(as, c, 0);
        const int64_t v = t2c_tensor_get_int(x, i);
        const int64_t q = t2c_scale_round(v, m, b, s, mode) + zp;
        if (q < lo)
            r->sat_lo[c]++;
        else if (q > hi)
            r->sat_hi[c]++;
        if (is_tie(v, m, b, s, mode))
            r->ties[c]++;
    }
    r->elements += n;
    return 0;
}

/* One channel of clamp counts for the ops with scalar attributes (add, mul, quantize). */
static int clamp_one(cov_op *r)
{
    if (r->kind == COV_NONE && alloc_arrays(r, COV_REQUANT, 1) != 0)
        return -1;
    return r->channels == 1 ? 0 : 1;
}

static void count_clamp(cov_op *r, int64_t q, int64_t lo, int64_t hi)
{
    if (q < lo)
        r->sat_lo[0]++;
    else if (q > hi)
        r->sat_hi[0]++;
}

/* add and broadcast_add (ops/README.md "add"): three roundings per element, each tie counts. */
static int cov_add(cov_op *r, const t2c_op_view *op)
{
    const t2c_tensor *a = op->inputs[0], *b = op->n_inputs > 1 ? op->inputs[1] : NULL, *y = op->outputs[0];
    if (!b || !b->data || a->rank > y->rank || b->rank > y->rank)
        return 0;
    int rc = clamp_one(r);
    if (rc)
        return rc < 0 ? -1 : 0;
    const t2c_rounding mode = rounding_of(op);
    const int64_t azp = attr_int(op, "a_zero_point", 0), bzp = attr_int(op, "b_zero_point", 0);
    const int64_t ls = (int64_t)1 << attr_int(op, "left_shift", 0);
    const int64_t am = attr_int(op, "a_multiplier", 1), bm = attr_int(op, "b_multiplier", 1);
    const int64_t om = attr_int(op, "out_multiplier", 1), ozp = attr_int(op, "out_zero_point", 0);
    const int as = (int)attr_int(op, "a_shift", 0), bs = (int)attr_int(op, "b_shift", 0);
    const int os = (int)attr_int(op, "out_shift", 0);
    const int64_t lo = attr_int(op, "lo", t2c_dtype_min(y->dtype)), hi = attr_int(op, "hi", t2c_dtype_max(y->dtype));
    const int64_t n = t2c_tensor_numel(y);
    t2c_bcast_iter it;
    t2c_bcast_begin(&it, y->rank, y->dims, a, b);
    for (int64_t i = 0; i < n; i++, t2c_bcast_next(&it)) {
        const int64_t a1 = (t2c_tensor_get_int(a, it.off[0]) - azp) * ls;
        const int64_t b1 = (t2c_tensor_get_int(b, it.off[1]) - bzp) * ls;
        const int64_t a2 = t2c_scale_round(a1, am, 0, as, mode), b2 = t2c_scale_round(b1, bm, 0, bs, mode);
        count_clamp(r, t2c_scale_round(a2 + b2, om, 0, os, mode) + ozp, lo, hi);
        r->ties[0] += is_tie(a1, am, 0, as, mode) + is_tie(b1, bm, 0, bs, mode) + is_tie(a2 + b2, om, 0, os, mode);
    }
    r->elements += n;
    return 0;
}

/* mul (ops/README.md "mul"): one rounding of the exact product. */
static int cov_mul(cov_op *r, const t2c_op_view *op)
{
    const t2c_tensor *a = op->inputs[0], *b = op->n_inputs > 1 ? op->inputs[1] : NULL, *y = op->outputs[0];
    if (!b || !b->data || a->rank > y->rank || b->rank > y->rank)
        return 0;
    int rc = clamp_one(r);
    if (rc)
        return rc < 0 ? -1 : 0;
    const t2c_rounding mode = rounding_of(op);
    const int64_t azp = attr_int(op, "a_zero_point", 0), bzp = attr_int(op, "b_zero_point", 0);
    const int64_t m = attr_int(op, "multiplier", 1), ozp = attr_int(op, "out_zero_point", 0);
    const int s = (int)attr_int(op, "shift", 0);
    const int64_t lo = attr_int(op, "lo", t2c_dtype_min(y->dtype)), hi = attr_int(op, "hi", t2c_dtype_max(y->dtype));
    const int64_t n = t2c_tensor_numel(y);
    t2c_bcast_iter it;
    t2c_bcast_begin(&it, y->rank, y->dims, a, b);
    for (int64_t i = 0; i < n; i++, t2c_bcast_next(&it)) {
        const int64_t p = (t2c_tensor_get_int(a, it.off[0]) - azp) * (t2c_tensor_get_int(b, it.off[1]) - bzp);
        count_clamp(r, t2c_scale_round(p, m, 0, s, mode) + ozp, lo, hi);
        r->ties[0] += is_tie(p, m, 0, s, mode);
    }
    r->elements += n;
    return 0;
}

/* quantize (ops/README.md "quantize"), binary32: a tie is t = x·(1/scale) exactly halfway between
 * two integers; NaN (gives zero_point) is neither clamped nor a tie. */
static int cov_quantize(cov_op *r, const t2c_op_view *op)
{
    const t2c_tensor *x = op->inputs[0], *y = op->outputs[0];
    const t2c_attr *sc = t2c_op_attr(op, "scale");
    if (x->dtype != T2C_FLOAT32 || !sc)
        return 0;
    const double scale = sc->type == T2C_ATTR_FLOAT ? sc->v.f
                         : sc->type == T2C_ATTR_FLOATS && sc->count >= 1 ? sc->v.floats[0]
                         : sc->type == T2C_ATTR_INT ? (double)sc->v.i : 0.0;
    if (!(scale > 0))
        return 0;
    int rc = clamp_one(r);
    if (rc)
        return rc < 0 ? -1 : 0;
    const float inv = 1.0f / (float)scale;
    const int64_t zp = attr_int(op, "zero_point", 0);
    const int64_t lo = attr_int(op, "lo", t2c_dtype_min(y->dtype)), hi = attr_int(op, "hi", t2c_dtype_max(y->dtype));
    const float *xs = x->data;
    const int64_t n = t2c_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        const float t = xs[i] * inv;
        if (isnan(t))
            continue;
        const float rf = nearbyintf(t);
        /* beyond 2^40 the value clamps anyway (zero_point, lo and hi are int16) */
        const int64_t q = rf > 0x1p40f ? ((int64_t)1 << 40) : rf < -0x1p40f ? -((int64_t)1 << 40) : (int64_t)rf;
        count_clamp(r, q + zp, lo, hi);
        if (isfinite(t) && t - floorf(t) == 0.5f)
            r->ties[0]++;
    }
    r->elements += n;
    return 0;
}

/* v - floor(v / d)·d, in 0..d-1 (d >= 1) */
static int64_t floor_rem(int64_t v, int64_t d)
{
    const int64_t r = v % d;
    return r < 0 ? r + d : r;
}

/* avgpool2d / global_avgpool (ops/README.md): per channel (dim 1) the windows whose rounded mean
 * leaves the dtype's range, and the exact ties of its one rounding (round_div: 2·remainder = n). */
static int cov_pool(cov_op *r, const t2c_op_view *op, int global)
{
    const t2c_tensor *x = op->inputs[0], *y = op->outputs[0];
    if (x->rank != 4 || y->rank != 4)
        return 0;
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (r->kind == COV_NONE && (C < 1 || alloc_arrays(r, COV_REQUANT, C) != 0))
        return -1;
    if (r->channels != C)
        return 0;
    const int64_t KH = global ? H : attr_k(op, "kernel", 0, 1), KW = global ? W : attr_k(op, "kernel", 1, 1);
    const int64_t sh = global ? 1 : attr_k(op, "strides", 0, KH), sw = global ? 1 : attr_k(op, "strides", 1, KW);
    const int64_t top = global ? 0 : attr_k(op, "pads", 0, 0), left = global ? 0 : attr_k(op, "pads", 1, 0);
    const int incl = !global && attr_int(op, "count_include_pad", 0) != 0;
    const int64_t xzp = global ? 0 : attr_int(op, "x_zero_point", 0);
    const t2c_rounding mode = rounding_of(op);
    const int has_m = t2c_op_attr(op, "multiplier") != NULL;
    const int64_t m = attr_int(op, "multiplier", 1);
    const int s = (int)attr_int(op, "shift", 0);
    const int64_t lo = t2c_dtype_min(y->dtype), hi = t2c_dtype_max(y->dtype);
    const int64_t Ho = y->dims[2], Wo = y->dims[3];
    if (y->dims[0] != N || y->dims[1] != C)
        return 0;
    for (int64_t nc = 0; nc < N * C; nc++) {
        const int64_t c = nc % C;
        for (int64_t oh = 0; oh < Ho; oh++)
            for (int64_t ow = 0; ow < Wo; ow++) {
                int64_t sum = 0, n = 0;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const int64_t ih = oh * sh - top + kh, iw = ow * sw - left + kw;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                            sum += t2c_tensor_get_int(x, (nc * H + ih) * W + iw), n++;
                        else if (incl)
                            sum += xzp, n++;
                    }
                if (n < 1)
                    continue;
                const int64_t v = has_m ? t2c_scale_round(sum, m, 0, s, mode) : t2c_round_div(sum, n, mode);
                if (v < lo)
                    r->sat_lo[c]++;
                else if (v > hi)
                    r->sat_hi[c]++;
                if (has_m ? is_tie(sum, m, 0, s, mode) : mode != T2C_ROUND_FLOOR && 2 * floor_rem(sum, n) == n)
                    r->ties[c]++;
            }
    }
    r->elements += t2c_tensor_numel(y);
    return 0;
}

int t2c_golden_cov_op(t2c_golden_cov *c, const t2c_op_view *op)
{
    if (!c || op->index < 0 || op->index >= c->n_ops || op->n_outputs < 1 || !op->outputs[0] ||
        !op->outputs[0]->data || op->n_inputs < 1 || !op->inputs[0] || !op->inputs[0]->data)
        return 0;
    cov_op *r = &c->ops[op->index];
    if (strcmp(op->type, "conv2d") == 0 || strcmp(op->type, "linear") == 0 || strcmp(op->type, "matmul") == 0) {
        if (op->outputs[0]->dtype != T2C_INT32) {
            r->note = "output is not the int32 accumulator: not covered";
            return 0;
        }
        return cov_acc(r, op);
    }
    if (strcmp(op->type, "requantize") == 0)
        return cov_requant(r, op);
    if (strcmp(op->type, "add") == 0 || strcmp(op->type, "broadcast_add") == 0)
        return cov_add(r, op);
    if (strcmp(op->type, "mul") == 0)
        return cov_mul(r, op);
    if (strcmp(op->type, "quantize") == 0)
        return cov_quantize(r, op);
    if (strcmp(op->type, "avgpool2d") == 0 || strcmp(op->type, "global_avgpool") == 0)
        return cov_pool(r, op, op->type[0] == 'g');
    r->note = "no coverage counters for this op type";
    return 0;
}

static json_object *int_array(const int64_t *v, int64_t n)
{
    json_object *a = json_object_new_array();
    for (int64_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_int64(v[i]));
    return a;
}

static json_object *zeros(int64_t n)
{
    json_object *a = json_object_new_array();
    for (int64_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_int(0));
    return a;
}

static int64_t sum(const int64_t *v, int64_t n)
{
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* Bits of a signed two's complement value holding -m..m (m >= 0): 1 + bit length of m. */
static int signed_bits(int64_t m)
{
    int b = 1;
    while (m > 0) {
        b++;
        m >>= 1;
    }
    return b;
}

json_object *t2c_golden_cov_json(const t2c_golden_cov *c, int op_index)
{
    if (!c || op_index < 0 || op_index >= c->n_ops)
        return NULL;
    const cov_op *r = &c->ops[op_index];
    json_object *j = json_object_new_object();
    json_object_object_add(j, "elements", json_object_new_int64(r->elements));
    if (r->kind == COV_ACC) {
        int64_t mx = 0;
        for (int64_t k = 0; k < r->channels; k++)
            if (r->max_abs[k] > mx)
                mx = r->max_abs[k];
        json_object_object_add(j, "channels", json_object_new_int64(r->channels));
        json_object_object_add(j, "max_abs_acc", json_object_new_int64(mx));
        json_object_object_add(j, "acc_bits_needed", json_object_new_int(signed_bits(mx)));
        json_object_object_add(j, "max_abs_acc_per_channel", int_array(r->max_abs, r->channels));
        /* steps counts wraps under "wrap", saturations under "saturate"; the other stays 0 */
        const int wrap = r->policy == T2C_OVERFLOW_WRAP, sat = r->policy == T2C_OVERFLOW_SATURATE;
        json_object_object_add(j, "overflow", json_object_new_string(t2c_overflow_names[r->policy]));
        json_object_object_add(j, "acc_bits", json_object_new_int(r->acc_bits));
        json_object_object_add(j, "wraps", json_object_new_int64(wrap ? sum(r->steps, r->channels) : 0));
        json_object_object_add(j, "saturations", json_object_new_int64(sat ? sum(r->steps, r->channels) : 0));
        json_object_object_add(j, "wraps_per_channel", wrap ? int_array(r->steps, r->channels) : zeros(r->channels));
        json_object_object_add(j, "saturations_per_channel",
                               sat ? int_array(r->steps, r->channels) : zeros(r->channels));
    } else if (r->kind == COV_REQUANT) {
        json_object_object_add(j, "channels", json_object_new_int64(r->channels));
        json_object_object_add(j, "saturated_lo", json_object_new_int64(sum(r->sat_lo, r->channels)));
        json_object_object_add(j, "saturated_hi", json_object_new_int64(sum(r->sat_hi, r->channels)));
        json_object_object_add(j, "ties", json_object_new_int64(sum(r->ties, r->channels)));
        json_object_object_add(j, "saturated_lo_per_channel", int_array(r->sat_lo, r->channels));
        json_object_object_add(j, "saturated_hi_per_channel", int_array(r->sat_hi, r->channels));
        json_object_object_add(j, "ties_per_channel", int_array(r->ties, r->channels));
    }
    json_object_object_add(j, "note", r->note ? json_object_new_string(r->note) : NULL);
    return j;
}
