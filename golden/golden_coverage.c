/* golden_coverage.c — what a golden vector set exercised, per op and output channel.
 *
 * Called by the golden writer's hook after each selected op (inputs and outputs valid). It
 * only observes: every count is recomputed here from the op's tensors and attributes with the
 * recipes of ops/README.md (t2c_int.h), so kernels know nothing of it. Counts accumulate over
 * all images and runs. golden/README.md ("coverage") is the normative description.
 *
 *  - conv2d / linear / matmul with an int32 output: max |output| per output channel (the final
 *    accumulator, bias included). Accumulator wraps/saturations are not recomputed: with the
 *    default overflow policy "error" none can occur (the op fails instead), so "wraps" is 0;
 *    with "wrap"/"saturate" it is null and a note says so.
 *  - requantize: per channel (the attribute arrays' channel along `axis`) the elements clamped
 *    at lo and at hi (the value before the clamp is < lo or > hi) and the exact rounding ties
 *    (the discarded remainder of the rounding shift is exactly half).
 */
#include <stdlib.h>
#include <string.h>

#include "golden_coverage.h"
#include "golden_internal.h"
#include "t2c_int.h"

enum { COV_NONE = 0, COV_ACC = 1, COV_REQUANT = 2 };

typedef struct cov_op {
    int kind;
    int64_t channels;
    int64_t elements;
    int64_t *max_abs;       /* COV_ACC */
    int64_t *sat_lo, *sat_hi, *ties; /* COV_REQUANT */
    int wraps_known;
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
        return r->max_abs ? 0 : -1;
    }
    r->sat_lo = calloc(n, sizeof(int64_t));
    r->sat_hi = calloc(n, sizeof(int64_t));
    r->ties = calloc(n, sizeof(int64_t));
    return r->sat_lo && r->sat_hi && r->ties ? 0 : -1;
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
        const int policy_error = !ov || (ov->type == T2C_ATTR_STRING && strcmp(ov->v.s, "error") == 0);
        r->wraps_known = policy_error;
        if (!policy_error)
            r->note = "accumulator wraps/saturations under this overflow policy are not counted";
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
        json_object_object_add(j, "wraps", r->wraps_known ? json_object_new_int(0) : NULL);
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
