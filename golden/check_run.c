/* check_run.c — the cross-check: reference run, per-op comparison, isolation re-runs and the
 * what-if diagnosis of a mismatching op (t2c_session_run_op with attribute overrides). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "t2c_check.h"

static t2c_status fail(t2c_error *err, t2c_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static t2c_status fail(t2c_error *err, t2c_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

/* A tensor value kept after the run (activation buffers are reused by the memory plan). */
typedef struct kept {
    t2c_tensor t;   /* data: engine memory type */
    int64_t *vals;  /* the same as int64 (float32: bit pattern) */
} kept;

typedef struct run_state {
    int n_ops;
    kept *out;      /* output 0 of every op (reference) */
    kept **in;      /* non-constant inputs of every op, as the reference saw them */
    int *n_in;
    t2c_status st;
} run_state;

static int64_t numel(int rank, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= d[i];
    return n;
}

static int64_t get_val(const t2c_tensor *t, int64_t i)
{
    if (t->dtype == T2C_FLOAT32) {
        uint32_t u;
        memcpy(&u, (const char *)t->data + 4 * i, 4);
        return u;
    }
    return t2c_tensor_get_int(t, i);
}

/* A copy of t; with_vals: also its values as int64 (the compared form). */
static int keep(kept *k, const t2c_tensor *t, int with_vals)
{
    int64_t n = t2c_tensor_numel(t);
    size_t bytes = (size_t)n * t2c_dtype_mem_size(t->dtype);
    k->t = *t;
    k->t.data = malloc(bytes ? bytes : 1);
    k->vals = with_vals ? malloc(sizeof(int64_t) * (size_t)(n ? n : 1)) : NULL;
    if (!k->t.data || (with_vals && !k->vals))
        return -1;
    memcpy(k->t.data, t->data, bytes);
    if (!with_vals)
        return 0;
    /* typed loops for the common dtypes (a call per element was a tenth of a check) */
    switch (t->dtype) {
    case T2C_INT4:
    case T2C_INT8:
        for (int64_t i = 0; i < n; i++)
            k->vals[i] = ((const int8_t *)t->data)[i];
        break;
    case T2C_UINT4:
    case T2C_UINT8:
        for (int64_t i = 0; i < n; i++)
            k->vals[i] = ((const uint8_t *)t->data)[i];
        break;
    case T2C_INT32:
        for (int64_t i = 0; i < n; i++)
            k->vals[i] = ((const int32_t *)t->data)[i];
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            k->vals[i] = get_val(t, i);
    }
    return 0;
}

static void kept_free(kept *k)
{
    free(k->t.data);
    free(k->vals);
    memset(k, 0, sizeof *k);
}

static int after_hook(const t2c_op_view *op, int when, void *user)
{
    run_state *s = user;
    if (when == T2C_HOOK_BEFORE) {
        s->in[op->index] = calloc((size_t)op->n_inputs + 1, sizeof(kept));
        if (!s->in[op->index]) {
            s->st = T2C_ERR_NOMEM;
            return 1;
        }
        s->n_in[op->index] = op->n_inputs;
        for (int k = 0; k < op->n_inputs; k++)
            if (op->inputs[k] && !op->inputs[k]->is_const && keep(&s->in[op->index][k], op->inputs[k], 0) != 0) {
                s->st = T2C_ERR_NOMEM;
                return 1;
            }
        return 0;
    }
    if (op->n_outputs < 1 || !op->outputs[0] || keep(&s->out[op->index], op->outputs[0], 1) != 0) {
        s->st = T2C_ERR_NOMEM;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- comparison */

static void compare(const int64_t *exp, const int64_t *act, int rank, const int64_t *dims, int max_report,
                    t2c_check_stats *s)
{
    memset(s, 0, sizeof *s);
    s->numel = numel(rank, dims);
    for (int64_t i = 0; i < s->numel; i++) {
        if (exp[i] == act[i])
            continue;
        int64_t d = act[i] - exp[i];
        d = d < 0 ? -d : d;
        s->mismatches++;
        if (d > s->max_abs_diff)
            s->max_abs_diff = d;
        if (d == 1)
            s->n_off_by_one++;
        else
            s->n_larger++;
        if (s->n_first < max_report) {
            t2c_check_mismatch *m = &s->first[s->n_first++];
            m->index = i;
            m->expected = exp[i];
            m->actual = act[i];
            int64_t r = i;
            for (int k = rank - 1; k >= 0; k--) {
                m->coord[k] = dims[k] ? r % dims[k] : 0;
                r = dims[k] ? r / dims[k] : 0;
            }
        }
    }
}

static int equal(const int64_t *a, const int64_t *b, int64_t n)
{
    return memcmp(a, b, sizeof(int64_t) * (size_t)n) == 0;
}

/* ---------------------------------------------------------------- manifest lookups */

static const t2c_check_entry *find_entry(const t2c_check_manifest *m, int op_index, const char *op_name,
                                         const char *role, int image)
{
    for (int i = 0; i < m->n; i++) {
        const t2c_check_entry *e = &m->entries[i];
        if (e->op_index == op_index && strcmp(e->op, op_name) == 0 && strcmp(e->role, role) == 0 &&
            (e->image == image || e->image < 0))
            return e;
    }
    return NULL;
}

/* ---------------------------------------------------------------- re-running one op */

typedef struct op_ctx {
    t2c_session *s;
    const t2c_op_view *op;
    const t2c_tensor *in[16];   /* inputs for run_op (NULL = session's own: constants) */
    t2c_tensor out;
    size_t cap;
    int64_t n;
    int64_t *vals;
} op_ctx;

static t2c_status rerun(op_ctx *c, const t2c_attr *ov, int n_ov, t2c_error *err)
{
    t2c_tensor *outs[1] = {&c->out};
    t2c_status st = t2c_session_run_op(c->s, c->op->index, c->in, ov, n_ov, outs, &c->cap, err);
    if (st != T2C_OK)
        return st;
    if (t2c_tensor_numel(&c->out) != c->n)
        return fail(err, T2C_ERR_SHAPE, "re-run gave another shape");
    for (int64_t i = 0; i < c->n; i++)
        c->vals[i] = get_val(&c->out, i);
    return T2C_OK;
}

/* dtype-width wrap of v (two's complement for signed, modulo for unsigned) */
static int64_t wrap_to(int64_t v, t2c_dtype d)
{
    int b = t2c_dtype_bits(d);
    if (b >= 64)
        return v;
    uint64_t m = (UINT64_C(1) << b) - 1, u = (uint64_t)v & m;
    if (t2c_dtype_min(d) < 0 && (u >> (b - 1)))
        return (int64_t)(u | ~m);
    return (int64_t)u;
}

static int64_t attr_at(const t2c_attr *a, int64_t i, int64_t def)
{
    if (!a)
        return def;
    if (a->type == T2C_ATTR_INT)
        return a->v.i;
    if (a->type == T2C_ATTR_INTS && a->count > 0)
        return a->v.ints[a->count == 1 ? 0 : i];
    return def;
}

/* Requantize without the clamp, reduced to the output dtype's width. The unclamped value
 * v + zero_point is read through the engine: adding k·2^shift[c] to the offset adds exactly k
 * to the rounded result (any rounding but tflite, which has no offset), so re-runs with
 * k = j·step, step = (hi - lo) / 2, bring every element strictly inside (lo, hi) once. */
static int wrap_hypothesis(op_ctx *c, const int64_t *target, int64_t n)
{
    const t2c_op_view *op = c->op;
    const t2c_tensor *y = op->outputs[0];
    const t2c_attr *sh = t2c_op_attr(op, "shift"), *mu = t2c_op_attr(op, "multiplier"),
                   *of = t2c_op_attr(op, "offset"), *ro = t2c_op_attr(op, "rounding");
    if (!sh || !mu || t2c_dtype_bits(y->dtype) >= 32 || (ro && ro->type == T2C_ATTR_STRING &&
                                                         strcmp(ro->v.s, "tflite") == 0))
        return 0;
    const int64_t lo = attr_at(t2c_op_attr(op, "lo"), 0, t2c_dtype_min(y->dtype));
    const int64_t hi = attr_at(t2c_op_attr(op, "hi"), 0, t2c_dtype_max(y->dtype));
    const int64_t step = (hi - lo) / 2;
    if (step < 1)
        return 0;
    int64_t C = sh->count > mu->count ? sh->count : mu->count;
    if (of && of->count > C)
        C = of->count;
    int64_t *off = malloc(sizeof(int64_t) * (size_t)C), *u = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    unsigned char *done = calloc((size_t)(n ? n : 1), 1);
    int ok = 0;
    if (!off || !u || !done)
        goto out;
    int64_t left = n;
    for (int it = 0; it < 1025 && left > 0; it++) {
        const int64_t j = it % 2 ? (it + 1) / 2 : -(it / 2), k = j * step;
        for (int64_t i = 0; i < C; i++) {
            int64_t s = attr_at(sh, i, 0);
            if (s < 0 || s > 62 || (k != 0 && (k > (INT64_MAX >> s) / 4 || k < -(INT64_MAX >> s) / 4)))
                goto out;
            off[i] = attr_at(of, i, 0) + k * ((int64_t)1 << s);
        }
        t2c_attr ov = {.name = "offset", .type = T2C_ATTR_INTS, .count = C, .v.ints = off};
        t2c_error err;
        if (rerun(c, &ov, 1, &err) != T2C_OK)
            goto out;
        for (int64_t i = 0; i < n; i++)
            if (!done[i] && c->vals[i] > lo && c->vals[i] < hi) {
                u[i] = c->vals[i] - k;
                done[i] = 1;
                left--;
            }
    }
    if (left > 0)
        goto out;
    ok = 1;
    for (int64_t i = 0; i < n && ok; i++)
        ok = wrap_to(u[i], y->dtype) == target[i];
out:
    free(off), free(u), free(done);
    return ok;
}

/* Try the hypotheses on op c->op (inputs in c->in) against `actual`; fill `why` with the
 * first that makes it match exactly. Returns 1 if one matched. `target_ref` is the reference
 * output (layout hypotheses compare a re-read of the file against it). */
static int diagnose(op_ctx *c, const t2c_check_entry *e, const int64_t *actual, const int64_t *target_ref,
                    const int64_t *target_iso, char *why, size_t wsize)
{
    const int64_t n = c->n;
    t2c_error err;
    int64_t *alt = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!alt)
        return 0;
    int found = 0;
    /* 1. the file read another way */
    static const struct {
        t2c_check_alt a;
        const char *what;
    } alts[] = {
        {{.flip_word_order = 1}, "reversed element order inside packed words (the dump is %s)"},
        {{.swap_nhwc = 1}, "NCHW/NHWC swapped layout (the dump is in the other order)"},
        {{.transpose = 1}, "transposed layout (the last two stored dims swapped)"},
        {{.swap_tile_order = 1}, "wrong tile order (tiles stored in the other order)"},
    };
    for (size_t i = 0; i < sizeof alts / sizeof alts[0] && !found; i++) {
        if (t2c_check_decode(e, &alts[i].a, alt, &err) != T2C_OK || equal(alt, actual, n))
            continue;
        if (equal(alt, target_ref, n) || (target_iso && equal(alt, target_iso, n))) {
            snprintf(why, wsize, alts[i].what, e->msb_first ? "lsb_first" : "msb_first");
            found = 1;
        }
    }
    const int64_t *target = actual;
    /* 2. the op computed another way: re-run with overrides from the same inputs */
    const t2c_op_view *op = c->op;
    t2c_attr ov[2];
    int64_t *arr = NULL;
    /* 2a. inputs differ only: the op itself is right */
    if (!found && rerun(c, NULL, 0, &err) == T2C_OK && equal(c->vals, target, n)) {
        snprintf(why, wsize, "the op is right on the dumped inputs: the difference comes from earlier ops");
        found = 1;
    }
    /* 2b. rounding mode */
    const t2c_attr *ra = t2c_op_attr(op, "rounding");
    static const char *const modes[] = {"half_even", "half_up", "half_away", "floor", "tflite"};
    int rounds = ra != NULL || strcmp(op->type, "requantize") == 0 || strcmp(op->type, "add") == 0 ||
                 strcmp(op->type, "avgpool2d") == 0 || strcmp(op->type, "global_avgpool") == 0 ||
                 strcmp(op->type, "mul") == 0 || strcmp(op->type, "broadcast_add") == 0;
    const char *cur = ra && ra->type == T2C_ATTR_STRING ? ra->v.s : "half_even";
    for (size_t i = 0; rounds && i < sizeof modes / sizeof modes[0] && !found; i++) {
        if (strcmp(modes[i], cur) == 0)
            continue;
        ov[0] = (t2c_attr){.name = "rounding", .type = T2C_ATTR_STRING, .count = (int64_t)strlen(modes[i]),
                           .v.s = modes[i]};
        if (rerun(c, ov, 1, &err) == T2C_OK && equal(c->vals, target, n)) {
            snprintf(why, wsize, "rounding \"%s\" instead of \"%s\"", modes[i], cur);
            found = 1;
        }
    }
    /* 2c. shifts off by one, zero points dropped or doubled */
    for (int a = 0; a < op->n_attrs && !found; a++) {
        const t2c_attr *at = &op->attrs[a];
        size_t len = strlen(at->name);
        int is_shift = len >= 5 && strcmp(at->name + len - 5, "shift") == 0;
        int is_zp = len >= 10 && strcmp(at->name + len - 10, "zero_point") == 0;
        if (is_shift) {
            for (int delta = -1; delta <= 1 && !found; delta += 2) {
                if (at->type == T2C_ATTR_INT) {
                    ov[0] = (t2c_attr){.name = at->name, .type = T2C_ATTR_INT, .count = 1, .v.i = at->v.i + delta};
                } else if (at->type == T2C_ATTR_INTS) {
                    free(arr);
                    arr = malloc(sizeof(int64_t) * (size_t)(at->count ? at->count : 1));
                    if (!arr)
                        break;
                    for (int64_t k = 0; k < at->count; k++)
                        arr[k] = at->v.ints[k] + delta;
                    ov[0] = (t2c_attr){.name = at->name, .type = T2C_ATTR_INTS, .count = at->count, .v.ints = arr};
                } else
                    break;
                if (rerun(c, ov, 1, &err) == T2C_OK && equal(c->vals, target, n)) {
                    snprintf(why, wsize, "%s off by one (%s%d)", at->name, delta > 0 ? "+" : "", delta);
                    found = 1;
                }
            }
        } else if (is_zp && at->type == T2C_ATTR_INT && at->v.i != 0) {
            const int64_t vals[2] = {0, 2 * at->v.i};
            const char *what[2] = {"missing", "doubled"};
            for (int k = 0; k < 2 && !found; k++) {
                ov[0] = (t2c_attr){.name = at->name, .type = T2C_ATTR_INT, .count = 1, .v.i = vals[k]};
                if (rerun(c, ov, 1, &err) == T2C_OK && equal(c->vals, target, n)) {
                    snprintf(why, wsize, "%s zero point %s (%s = %lld instead of %lld)", at->name, what[k], at->name,
                             (long long)vals[k], (long long)at->v.i);
                    found = 1;
                }
            }
        }
    }
    /* 2d. requantize: wrap instead of saturate at the output */
    if (!found && strcmp(op->type, "requantize") == 0 && wrap_hypothesis(c, target, n))
        snprintf(why, wsize, "wrap instead of saturate at the output (%s two's complement)",
                 t2c_dtype_name(op->outputs[0]->dtype)), found = 1;
    /* 2e. accumulator: overflow policy reversed, or a narrower accumulator */
    const t2c_attr *pol = t2c_op_attr(op, "overflow");
    const t2c_attr *accb = t2c_op_attr(op, "acc_bits");
    int has_acc = strcmp(op->type, "conv2d") == 0 || strcmp(op->type, "linear") == 0 ||
                  strcmp(op->type, "matmul") == 0;
    if (!found && has_acc && pol && pol->type == T2C_ATTR_STRING &&
        (strcmp(pol->v.s, "wrap") == 0 || strcmp(pol->v.s, "saturate") == 0)) {
        const char *other = strcmp(pol->v.s, "wrap") == 0 ? "saturate" : "wrap";
        ov[0] = (t2c_attr){.name = "overflow", .type = T2C_ATTR_STRING, .count = (int64_t)strlen(other), .v.s = other};
        if (rerun(c, ov, 1, &err) == T2C_OK && equal(c->vals, target, n)) {
            snprintf(why, wsize, "accumulator %s instead of %s", other, pol->v.s);
            found = 1;
        }
    }
    int64_t cur_bits = accb && accb->type == T2C_ATTR_INT ? accb->v.i : 32;
    static const char *const pols[] = {"wrap", "saturate"};
    for (int64_t b = cur_bits - 1; has_acc && b >= 8 && !found; b--)
        for (int p = 0; p < 2 && !found; p++) {
            ov[0] = (t2c_attr){.name = "acc_bits", .type = T2C_ATTR_INT, .count = 1, .v.i = b};
            ov[1] = (t2c_attr){.name = "overflow", .type = T2C_ATTR_STRING, .count = (int64_t)strlen(pols[p]),
                               .v.s = pols[p]};
            if (rerun(c, ov, 2, &err) == T2C_OK && equal(c->vals, target, n)) {
                snprintf(why, wsize, "narrower accumulator: %lld bits with %s (instead of %lld)", (long long)b,
                         pols[p], (long long)cur_bits);
                found = 1;
            }
        }
    free(arr);
    free(alt);
    return found;
}

/* ---------------------------------------------------------------- the check */

t2c_status t2c_check_run(t2c_session *session, const t2c_check_manifest *m, const t2c_check_options *opts,
                         t2c_check_report **out, t2c_error *err)
{
    *out = NULL;
    if (!session || !m || !opts)
        return fail(err, T2C_ERR_INVALID_ARG, "t2c_check_run: NULL argument");
    if (t2c_session_batch(session) != 1)
        return fail(err, T2C_ERR_INVALID_ARG, "t2c_check_run: the session must have batch 1");
    const int n_ops = t2c_session_op_count(session);
    int image = opts->image;
    if (image < 0)
        for (int i = 0; i < m->n && image < 0; i++)
            image = m->entries[i].image;
    if (image < 0)
        image = 0;
    /* every output entry must name an op of this model, with its shape */
    for (int i = 0; i < m->n; i++) {
        const t2c_check_entry *e = &m->entries[i];
        if (strcmp(e->role, "output") != 0 || e->image != image)
            continue;
        const t2c_op_view *op = e->op_index < n_ops ? t2c_session_op(session, e->op_index) : NULL;
        if (!op || strcmp(op->name, e->op) != 0)
            return fail(err, T2C_ERR_NOT_FOUND, "%s: unknown op '%s' (index %d) for this model", e->path, e->op,
                        e->op_index);
        const t2c_tensor *t = op->outputs[0];
        if (t->dtype != e->dtype || t->rank != e->rank || numel(t->rank, t->dims) != numel(e->rank, e->shape))
            return fail(err, T2C_ERR_SHAPE, "%s: wrong size: op '%s' output is %s with %lld elements, the manifest "
                        "says %s with %lld", e->path, e->op, t2c_dtype_name(t->dtype), (long long)t2c_tensor_numel(t),
                        t2c_dtype_name(e->dtype), (long long)numel(e->rank, e->shape));
    }
    run_state rs = {.n_ops = n_ops, .out = calloc((size_t)n_ops + 1, sizeof(kept)),
                    .in = calloc((size_t)n_ops + 1, sizeof(kept *)), .n_in = calloc((size_t)n_ops + 1, sizeof(int))};
    t2c_check_report *r = calloc(1, sizeof *r);
    kept *hw = calloc((size_t)n_ops + 1, sizeof(kept)); /* decoded hardware outputs */
    if (!rs.out || !rs.in || !rs.n_in || !r || !hw || !(r->ops = calloc((size_t)n_ops + 1, sizeof *r->ops))) {
        free(rs.out), free(rs.in), free(rs.n_in), free(hw);
        if (r)
            free(r->ops);
        free(r);
        return fail(err, T2C_ERR_NOMEM, "out of memory");
    }
    r->n_ops = n_ops;
    r->first_divergent = r->first_divergent_iso = -1;
    r->isolate = opts->isolate;
    r->image = image;
    t2c_status st;
    t2c_error e2;
    int hook = t2c_session_add_hook(session, NULL, T2C_HOOK_BEFORE | T2C_HOOK_AFTER, after_hook, &rs, err);
    if (hook < 0) {
        st = err ? err->status : T2C_ERR_INVALID_ARG;
        goto done;
    }
    st = t2c_session_run(session, &e2);
    t2c_session_remove_hook(session, hook);
    if (st != T2C_OK) {
        st = fail(err, st, "reference run failed: %s", rs.st ? "out of memory" : e2.message);
        goto done;
    }
    const int max_report = opts->max_report < 0 ? 0
                           : opts->max_report > T2C_CHECK_MAX_REPORT ? T2C_CHECK_MAX_REPORT
                                                                     : opts->max_report;
    /* decode every dumped output */
    for (int i = 0; i < n_ops; i++) {
        const t2c_op_view *op = t2c_session_op(session, i);
        t2c_check_op_result *res = &r->ops[i];
        res->op_index = i;
        res->name = op->name;
        res->type = op->type;
        res->rank = rs.out[i].t.rank;
        memcpy(res->dims, rs.out[i].t.dims, sizeof res->dims);
        const t2c_check_entry *e = find_entry(m, i, op->name, "output", image);
        if (!e)
            continue;
        res->file = e->path;
        if (keep(&hw[i], &rs.out[i].t, 1) != 0) {
            st = fail(err, T2C_ERR_NOMEM, "out of memory");
            goto done;
        }
        if ((st = t2c_check_decode(e, NULL, hw[i].vals, err)) != T2C_OK)
            goto done;
        for (int64_t k = 0; k < t2c_tensor_numel(&hw[i].t); k++) {
            if (hw[i].t.dtype == T2C_FLOAT32) {
                uint32_t u = (uint32_t)hw[i].vals[k];
                memcpy((char *)hw[i].t.data + 4 * k, &u, 4);
            } else
                t2c_tensor_set_int(&hw[i].t, k, hw[i].vals[k]);
        }
    }
    for (int i = 0; i < n_ops; i++) {
        t2c_check_op_result *res = &r->ops[i];
        if (!res->file)
            continue;
        r->n_checked++;
        compare(rs.out[i].vals, hw[i].vals, res->rank, res->dims, max_report, &res->full);
        if (res->full.mismatches) {
            r->n_mismatch++;
            if (r->first_divergent < 0)
                r->first_divergent = i;
        }
        const int need_iso = opts->isolate || (opts->diagnose && res->full.mismatches);
        if (!need_iso)
            continue;
        /* the op alone, from the hardware's dumped inputs (the outputs of the ops feeding it;
         * the reference value where the producer was not dumped) */
        const t2c_op_view *op = t2c_session_op(session, i);
        op_ctx c = {.s = session, .op = op, .n = t2c_tensor_numel(&rs.out[i].t)};
        if (op->n_inputs > 16)
            continue;
        for (int k = 0; k < op->n_inputs; k++) {
            const t2c_tensor *t = op->inputs[k];
            c.in[k] = NULL;
            if (!t || t->is_const)
                continue;
            for (int p = 0; p < i; p++) {
                const t2c_op_view *pv = t2c_session_op(session, p);
                if (pv->n_outputs > 0 && pv->outputs[0] && strcmp(pv->outputs[0]->name, t->name) == 0)
                    c.in[k] = hw[p].t.data ? &hw[p].t : &rs.out[p].t;
            }
            if (!c.in[k]) /* a graph input, or an op with no output dump */
                c.in[k] = rs.in[i] && rs.in[i][k].t.data ? &rs.in[i][k].t : NULL;
        }
        c.out = rs.out[i].t;
        c.cap = (size_t)c.n * t2c_dtype_mem_size(c.out.dtype);
        c.out.data = malloc(c.cap ? c.cap : 1);
        c.vals = malloc(sizeof(int64_t) * (size_t)(c.n ? c.n : 1));
        int64_t *iso_exp = malloc(sizeof(int64_t) * (size_t)(c.n ? c.n : 1));
        if (!c.out.data || !c.vals || !iso_exp) {
            free(c.out.data), free(c.vals), free(iso_exp);
            st = fail(err, T2C_ERR_NOMEM, "out of memory");
            goto done;
        }
        if ((st = rerun(&c, NULL, 0, &e2)) != T2C_OK) {
            free(c.out.data), free(c.vals), free(iso_exp);
            st = fail(err, st, "op '%s' (%s): re-run from the dumped inputs failed: %s", op->name, op->type, e2.message);
            goto done;
        }
        memcpy(iso_exp, c.vals, sizeof(int64_t) * (size_t)c.n);
        if (opts->isolate) {
            res->iso_checked = 1;
            compare(iso_exp, hw[i].vals, res->rank, res->dims, max_report, &res->iso);
            if (res->iso.mismatches) {
                r->n_iso_mismatch++;
                if (r->first_divergent_iso < 0)
                    r->first_divergent_iso = i;
            }
        }
        if (opts->diagnose && res->full.mismatches) {
            const t2c_check_entry *e = find_entry(m, i, op->name, "output", image);
            if (!diagnose(&c, e, hw[i].vals, rs.out[i].vals, iso_exp, res->diagnosis, sizeof res->diagnosis))
                res->diagnosis[0] = '\0';
        }
        free(c.out.data), free(c.vals), free(iso_exp);
    }
    st = T2C_OK;
done:
    for (int i = 0; i < n_ops; i++) {
        kept_free(&rs.out[i]);
        kept_free(&hw[i]);
        for (int k = 0; rs.in[i] && k < rs.n_in[i]; k++)
            kept_free(&rs.in[i][k]);
        free(rs.in[i]);
    }
    free(rs.out);
    free(rs.in);
    free(rs.n_in);
    free(hw);
    if (st != T2C_OK) {
        t2c_check_report_free(r);
        return st;
    }
    *out = r;
    return T2C_OK;
}

void t2c_check_report_free(t2c_check_report *r)
{
    if (!r)
        return;
    free(r->ops);
    free(r);
}

/* ---------------------------------------------------------------- printing */

static void coord_str(const t2c_check_mismatch *m, int rank, char *buf, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, size - o, "(");
    for (int k = 0; k < rank && o < size; k++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", k ? "," : "", (long long)m->coord[k]);
    if (o < size)
        snprintf(buf + o, size - o, ")");
}

static const char *axes_name(int rank)
{
    return rank == 4 ? "(n,c,h,w)" : rank == 2 ? "(n,k)" : rank == 3 ? "(n,c,l)" : "(index)";
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_stats(FILE *f, const t2c_check_stats *s, int rank, int max_report)
{
    fprintf(f, "{\"elements\": %lld, \"mismatches\": %lld, \"percent\": %.4f, \"max_abs_diff\": %lld, "
               "\"off_by_one\": %lld, \"larger\": %lld, \"first\": [",
            (long long)s->numel, (long long)s->mismatches, s->numel ? 100.0 * (double)s->mismatches / (double)s->numel : 0.0,
            (long long)s->max_abs_diff, (long long)s->n_off_by_one, (long long)s->n_larger);
    for (int k = 0; k < s->n_first && k < max_report; k++) {
        const t2c_check_mismatch *m = &s->first[k];
        fprintf(f, "%s{\"index\": %lld, \"coord\": [", k ? ", " : "", (long long)m->index);
        for (int d = 0; d < rank; d++)
            fprintf(f, "%s%lld", d ? ", " : "", (long long)m->coord[d]);
        fprintf(f, "], \"expected\": %lld, \"actual\": %lld}", (long long)m->expected, (long long)m->actual);
    }
    fprintf(f, "]}");
}

void t2c_check_report_print(const t2c_check_report *r, int json, int max_report, FILE *f)
{
    if (max_report > T2C_CHECK_MAX_REPORT)
        max_report = T2C_CHECK_MAX_REPORT;
    if (json) {
        fprintf(f, "{\"image\": %d, \"isolate\": %s, \"checked\": %d, \"mismatching\": %d, \"waived\": %d, "
                   "\"skipped\": %d, \"first_divergent\": ",
                r->image, r->isolate ? "true" : "false", r->n_checked, r->n_mismatch, r->n_waived, r->n_skipped);
        if (r->first_divergent >= 0)
            json_str(f, r->ops[r->first_divergent].name);
        else
            fprintf(f, "null");
        fprintf(f, ", \"first_divergent_index\": %d", r->first_divergent);
        if (r->isolate) {
            fprintf(f, ", \"isolation_mismatching\": %d, \"first_divergent_isolated\": ", r->n_iso_mismatch);
            if (r->first_divergent_iso >= 0)
                json_str(f, r->ops[r->first_divergent_iso].name);
            else
                fprintf(f, "null");
        }
        fprintf(f, ", \"ops\": [");
        int first = 1;
        for (int i = 0; i < r->n_ops; i++) {
            const t2c_check_op_result *o = &r->ops[i];
            if (!o->file)
                continue;
            fprintf(f, "%s\n  {\"index\": %d, \"name\": ", first ? "" : ",", i);
            first = 0;
            json_str(f, o->name);
            fprintf(f, ", \"type\": ");
            json_str(f, o->type);
            fprintf(f, ", \"file\": ");
            json_str(f, o->file);
            fprintf(f, ", \"shape\": [");
            for (int d = 0; d < o->rank; d++)
                fprintf(f, "%s%lld", d ? ", " : "", (long long)o->dims[d]);
            fprintf(f, "], \"match\": %s, \"full\": ", o->full.mismatches ? "false" : "true");
            json_stats(f, &o->full, o->rank, max_report);
            if (o->iso_checked) {
                fprintf(f, ", \"isolated_match\": %s, \"isolated\": ", o->iso.mismatches ? "false" : "true");
                json_stats(f, &o->iso, o->rank, max_report);
            }
            fprintf(f, ", \"diagnosis\": ");
            if (o->diagnosis[0])
                json_str(f, o->diagnosis);
            else
                fprintf(f, "null");
            fprintf(f, ", \"waived\": ");
            if (o->waived[0])
                json_str(f, o->waived);
            else
                fprintf(f, "null");
            fprintf(f, ", \"skipped\": ");
            if (o->skipped[0])
                json_str(f, o->skipped);
            else
                fprintf(f, "null");
            fprintf(f, "}");
        }
        fprintf(f, "\n]}\n");
        return;
    }
    fprintf(f, "image %d: %d op outputs checked, %d mismatching%s\n", r->image, r->n_checked, r->n_mismatch,
            r->isolate ? " (full run)" : "");
    if (r->isolate)
        fprintf(f, "isolation (each op re-run from the dumped inputs): %d mismatching\n", r->n_iso_mismatch);
    fprintf(f, "\n%4s  %-32s %-14s %-9s %10s %8s %8s %8s %8s%s\n", "#", "op", "type", "result", "mismatch", "%",
            "max|d|", "|d|=1", "|d|>1", r->isolate ? "  isolated" : "");
    for (int i = 0; i < r->n_ops; i++) {
        const t2c_check_op_result *o = &r->ops[i];
        if (!o->file) {
            fprintf(f, "%4d  %-32.32s %-14.14s %-9s\n", i, o->name, o->type, "-");
            continue;
        }
        const t2c_check_stats *s = &o->full;
        if (o->skipped[0]) {
            fprintf(f, "%4d  %-32.32s %-14.14s %-9s %s\n", i, o->name, o->type, "skipped", o->skipped);
            continue;
        }
        fprintf(f, "%4d  %-32.32s %-14.14s %-9s %10lld %8.3f %8lld %8lld %8lld", i, o->name, o->type,
                o->waived[0] ? "waived" : s->mismatches ? "MISMATCH" : "match", (long long)s->mismatches,
                s->numel ? 100.0 * (double)s->mismatches / (double)s->numel : 0.0, (long long)s->max_abs_diff,
                (long long)s->n_off_by_one, (long long)s->n_larger);
        if (o->iso_checked)
            fprintf(f, "  %s (%lld)", o->iso.mismatches ? "MISMATCH" : "match", (long long)o->iso.mismatches);
        fprintf(f, "%s\n", i == r->first_divergent ? "   <- first divergence" : "");
    }
    int prev_cascade = 0;
    for (int i = 0; i < r->n_ops; i++) {
        const t2c_check_op_result *o = &r->ops[i];
        if (!o->file || o->skipped[0] || (!o->full.mismatches && !(o->iso_checked && o->iso.mismatches)))
            continue;
        if (o->waived[0]) {
            fprintf(f, "\nop %d '%s' (%s): %lld differ, max |diff| %lld: waived (%s)\n", i, o->name, o->type,
                    (long long)o->full.mismatches, (long long)o->full.max_abs_diff, o->waived);
            prev_cascade = 0;
            continue;
        }
        if (o->full.mismatches && strstr(o->diagnosis, "earlier ops") && !(o->iso_checked && o->iso.mismatches)) {
            fprintf(f, "%sop %d '%s' (%s): %lld differ, max |diff| %lld; right when re-run from the dumped inputs "
                       "(cascade from earlier ops)\n", prev_cascade ? "" : "\n", i, o->name, o->type, (long long)o->full.mismatches,
                    (long long)o->full.max_abs_diff);
            prev_cascade = 1;
            continue;
        }
        prev_cascade = 0;
        fprintf(f, "\nop %d '%s' (%s), output %s, file %s\n", i, o->name, o->type, axes_name(o->rank), o->file);
        const t2c_check_stats *lists[2] = {&o->full, o->iso_checked ? &o->iso : NULL};
        const char *label[2] = {"vs reference run", "isolated"};
        for (int l = 0; l < 2; l++) {
            const t2c_check_stats *s = lists[l];
            if (!s || !s->mismatches)
                continue;
            fprintf(f, "  %s: %lld of %lld differ (%.3f%%), max |diff| %lld, |diff|=1: %lld, |diff|>1: %lld\n",
                    label[l], (long long)s->mismatches, (long long)s->numel,
                    100.0 * (double)s->mismatches / (double)s->numel, (long long)s->max_abs_diff,
                    (long long)s->n_off_by_one, (long long)s->n_larger);
            for (int k = 0; k < s->n_first && k < max_report; k++) {
                char cs[160];
                coord_str(&s->first[k], o->rank, cs, sizeof cs);
                fprintf(f, "    %-24s expected %8lld  actual %8lld\n", cs, (long long)s->first[k].expected,
                        (long long)s->first[k].actual);
            }
        }
        if (o->full.mismatches)
            fprintf(f, "  diagnosis: %s\n", o->diagnosis[0] ? o->diagnosis : "no single hypothesis makes it match");
    }
    if (r->first_divergent >= 0)
        fprintf(f, "\nfirst divergent op: %d '%s' (%s)\n", r->first_divergent, r->ops[r->first_divergent].name,
                r->ops[r->first_divergent].type);
    if (r->isolate && r->first_divergent_iso >= 0)
        fprintf(f, "first op wrong on its own inputs (isolation): %d '%s' (%s)\n", r->first_divergent_iso,
                r->ops[r->first_divergent_iso].name, r->ops[r->first_divergent_iso].type);
    if (r->n_checked && !r->n_mismatch && !r->n_waived)
        fprintf(f, "\nall %d checked op outputs match bit for bit\n", r->n_checked);
    else if (r->n_checked && !r->n_mismatch)
        fprintf(f, "\nall %d checked op outputs match bit for bit or within a waiver (%d waived)\n", r->n_checked,
                r->n_waived);
}
