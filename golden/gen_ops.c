/* gen_ops.c — random-but-legal and directed one-op models for t2c-gen.
 *
 * Each builder writes a one-op container (constants included) with t2c_writer and returns the
 * graph inputs with their values; t2c-gen loads the model, runs it with the reference kernels
 * and writes the vectors through the golden writer. Every random choice comes from gen_rng. */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

uint64_t gen_next(gen_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t gen_int(gen_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)(hi - lo) + 1u;
    return lo + (int64_t)(span ? gen_next(r) % span : gen_next(r));
}

const char *const gen_op_names[] = {"conv2d", "linear", "matmul", "requantize", "add",
                                    "pool", "softmax", "layernorm", "gelu", NULL};
enum { OP_CONV, OP_LINEAR, OP_MATMUL, OP_REQ, OP_ADD, OP_POOL, OP_SOFTMAX, OP_LN, OP_GELU };

int gen_op_index(const char *name)
{
    for (int i = 0; gen_op_names[i]; i++)
        if (!strcmp(name, gen_op_names[i]))
            return i;
    return -1;
}

/* ---------- small builders ---------- */
typedef struct attrs {
    int n;
    t2c_attr a[24];
    int64_t store[24][64]; /* small int arrays */
} attrs;

static void at_int(attrs *s, const char *name, int64_t v)
{
    t2c_attr *a = &s->a[s->n++];
    a->name = name;
    a->type = T2C_ATTR_INT;
    a->count = 1;
    a->v.i = v;
}

static void at_str(attrs *s, const char *name, const char *v)
{
    t2c_attr *a = &s->a[s->n++];
    a->name = name;
    a->type = T2C_ATTR_STRING;
    a->count = (int64_t)strlen(v);
    a->v.s = v;
}

static void at_ints(attrs *s, const char *name, int count, const int64_t *v)
{
    int k = s->n++;
    if (count > 64)
        count = 64;
    memcpy(s->store[k], v, (size_t)count * sizeof(int64_t));
    t2c_attr *a = &s->a[k];
    a->name = name;
    a->type = T2C_ATTR_INTS;
    a->count = count;
    a->v.ints = s->store[k];
}

static int64_t numel(int rank, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= d[i];
    return n;
}

static gen_input *add_input(gen_inst *g, const char *name, t2c_dtype dt, int rank, const int64_t *dims)
{
    gen_input *in = &g->in[g->n_in++];
    snprintf(in->name, sizeof in->name, "%s", name);
    in->dtype = dt;
    in->rank = rank;
    memcpy(in->dims, dims, (size_t)rank * sizeof(int64_t));
    in->vals = calloc((size_t)numel(rank, dims), sizeof(int64_t));
    return in;
}

static void fill(gen_rng *r, gen_input *in, int64_t lo, int64_t hi)
{
    int64_t n = numel(in->rank, in->dims);
    for (int64_t i = 0; i < n; i++)
        in->vals[i] = gen_int(r, lo, hi);
}

static void fill_const(gen_input *in, int64_t v)
{
    int64_t n = numel(in->rank, in->dims);
    for (int64_t i = 0; i < n; i++)
        in->vals[i] = v;
}

/* A constant tensor from int64 values, converted to the dtype's memory type. */
static t2c_status put_const(gen_inst *g, const char *name, t2c_dtype dt, int rank, const int64_t *dims,
                            const int64_t *v, t2c_error *err)
{
    int64_t n = numel(rank, dims);
    size_t es = t2c_dtype_mem_size(dt);
    uint8_t *buf = calloc((size_t)n, es);
    if (!buf)
        return T2C_ERR_NOMEM;
    t2c_tensor t = {.name = name, .dtype = dt, .rank = rank, .data = buf};
    memcpy(t.dims, dims, (size_t)rank * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        t2c_tensor_set_int(&t, i, v[i]);
    t2c_status st = t2c_writer_tensor(g->w, name, dt, rank, dims, buf, 0, err);
    free(buf);
    return st;
}

static int64_t *rand_vals(gen_rng *r, int64_t n, int64_t lo, int64_t hi)
{
    int64_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    for (int64_t i = 0; v && i < n; i++)
        v[i] = gen_int(r, lo, hi);
    return v;
}

static t2c_dtype sdtype(int bits)
{
    return bits == 4 ? T2C_INT4 : bits == 16 ? T2C_INT16 : T2C_INT8;
}

static int pick_bits(const gen_cfg *c, gen_rng *r)
{
    return c->n_bits ? c->bits[gen_int(r, 0, c->n_bits - 1)] : 8;
}

static const char *pick_round(const gen_cfg *c, gen_rng *r, int allow_tflite)
{
    for (int tries = 0; tries < 16; tries++) {
        const char *m = c->n_roundings ? c->roundings[gen_int(r, 0, c->n_roundings - 1)] : "half_even";
        if (allow_tflite || strcmp(m, "tflite"))
            return m;
    }
    return "half_even";
}

static int64_t pick(gen_rng *r, gen_span s)
{
    return gen_int(r, s.lo, s.hi);
}

/* Finish: one op, graph io, output tensor declared. */
static t2c_status finish(gen_inst *g, const char *type, int n_in, const char *const *ins, t2c_dtype out_dt,
                         int out_rank, const int64_t *out_dims, attrs *at, t2c_error *err)
{
    t2c_status st = t2c_writer_tensor(g->w, "y", out_dt, out_rank, out_dims, NULL, 0, err);
    if (st)
        return st;
    for (int i = 0; i < g->n_in; i++) {
        st = t2c_writer_tensor(g->w, g->in[i].name, g->in[i].dtype, g->in[i].rank, g->in[i].dims, NULL, 0, err);
        if (st)
            return st;
    }
    const char *outs[1] = {"y"};
    st = t2c_writer_op(g->w, type, type, n_in, ins, 1, outs, at->n, at->a, err);
    if (st)
        return st;
    const char *gin[2] = {g->in[0].name, g->n_in > 1 ? g->in[1].name : NULL};
    return t2c_writer_graph_io(g->w, g->n_in, gin, 1, outs, err);
}

/* ---------- GEMM-like: conv2d, linear, matmul ---------- */
/* Directed cases shared by the three: 0 int8 -128·-128, 1 int4 -8·-8, 2 accumulator that just
 * overflows acc_bits (wrap), 3 the same saturating, 4 sizes off the PE grid (+1), 5 (-1 / edges). */
enum { GEMM_DIRECTED = 6 };
static const char *const gemm_case[GEMM_DIRECTED] = {"min_product_int8", "min_product_int4",
                                                     "acc_overflow_wrap", "acc_overflow_saturate",
                                                     "pe_edge_plus", "pe_edge_minus"};

static t2c_status build_gemm(int op, int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    int bits = pick_bits(c, r);
    int wbits = pick_bits(c, r);
    int64_t cin = pick(r, c->cin), cout = pick(r, c->cout), kh = pick(r, c->k), kw = pick(r, c->k);
    int64_t h = pick(r, c->hw), wd = pick(r, c->hw), sh = pick(r, c->stride), sw = pick(r, c->stride);
    int64_t pads[4];
    for (int i = 0; i < 4; i++)
        pads[i] = gen_int(r, c->pad.lo, c->pad.hi);
    int64_t group = 1;
    int64_t m = pick(r, c->m), n = pick(r, c->n), kd = pick(r, c->kdim);
    int64_t xlo, xhi, wlo, whi, xzp, wzp;
    int fixed = 0;        /* 1: x and w all at their minimum, zero points 0 */
    int acc_bits = 32;
    const char *overflow = "error";
    int64_t pr = c->pe_r, pc = c->pe_c;
    if (which == 0 || which == 1 || which == 2 || which == 3) {
        bits = wbits = which == 1 ? 4 : 8;
        fixed = 1;
        kh = kw = 1;
        sh = sw = 1;
        pads[0] = pads[1] = pads[2] = pads[3] = 0;
        h = wd = 2;
        cin = kd = 3;
        cout = m = n = 2;
    }
    if (which == 2 || which == 3) {
        /* Every product is 2^14 (int8 -128·-128); K products sum to K·2^14. K = 2^(A-15) makes the
         * sum exactly 2^(A-1): one past the accumulator's maximum. */
        acc_bits = c->acc_bits;
        overflow = which == 2 ? "wrap" : "saturate";
        int64_t k = (int64_t)1 << (acc_bits - 15);
        cin = kd = k;
    }
    if (which == 4 || which == 5) {
        int64_t d = which == 4 ? 1 : -1;
        cin = kd = (pr * 2 + d > 0) ? pr * 2 + d : 1;
        cout = m = (pc + d > 0) ? pc + d : 1;
        n = pc * 2 + 1;
        kh = kw = 3;
        sh = sw = 2;
        /* H, W = 7: windows at 0, 2, 4, 6 — the last one half in the bottom/right padding. */
        h = wd = 7 + (which == 5);
        pads[0] = pads[1] = 1;
        pads[2] = pads[3] = which == 4 ? 1 : 0;
    }
    t2c_dtype xdt = sdtype(bits), wdt = sdtype(wbits);
    xlo = t2c_dtype_min(xdt), xhi = t2c_dtype_max(xdt);
    wlo = t2c_dtype_min(wdt), whi = t2c_dtype_max(wdt);
    if (fixed) {
        xzp = wzp = 0;
    } else if (which >= 0) {
        xzp = xlo; /* zero-point extremes ride along with the PE edge cases */
        wzp = which == 4 ? whi : wlo;
    } else {
        xzp = gen_int(r, xlo, xhi);
        wzp = gen_int(r, wlo, whi);
    }
    attrs at = {0};
    at_int(&at, op == OP_MATMUL ? "a_zero_point" : "x_zero_point", xzp);
    at_int(&at, op == OP_MATMUL ? "b_zero_point" : "w_zero_point", wzp);
    at_int(&at, "acc_bits", acc_bits);
    at_str(&at, "overflow", overflow);
    int64_t bias_n = 0;
    t2c_status st = T2C_OK;
    const char *ins[3] = {"x", "w", "b"};
    int64_t od[4];
    int orank;
    if (op == OP_CONV) {
        if (which < 0) {
            /* group: 1, or a common divisor of Cin and Cout (depthwise when it equals both). */
            int64_t gcd = cin, b = cout;
            while (b) {
                int64_t t = gcd % b;
                gcd = b;
                b = t;
            }
            if (gen_int(r, 0, 2) == 0)
                group = gcd;
            else if (gen_int(r, 0, 1))
                for (int64_t d = 2; d <= gcd; d++)
                    if (gcd % d == 0 && gen_int(r, 0, 1)) {
                        group = d;
                        break;
                    }
            for (int i = 0; i < 4; i++)
                if (pads[i] >= (i % 2 ? kw : kh))
                    pads[i] = (i % 2 ? kw : kh) - 1;
        }
        if (h + pads[0] + pads[2] < kh)
            h = kh;
        if (wd + pads[1] + pads[3] < kw)
            wd = kw;
        int64_t ho = (h + pads[0] + pads[2] - kh) / sh + 1, wo = (wd + pads[1] + pads[3] - kw) / sw + 1;
        int64_t xd[4] = {1, cin, h, wd}, wdims[4] = {cout, cin / group, kh, kw};
        gen_input *x = add_input(g, "x", xdt, 4, xd);
        int64_t nw = numel(4, wdims);
        int64_t *wv = fixed ? NULL : rand_vals(r, nw, wlo, whi);
        if (fixed) {
            wv = malloc((size_t)nw * sizeof(int64_t));
            for (int64_t i = 0; wv && i < nw; i++)
                wv[i] = wlo;
            fill_const(x, xlo);
        } else {
            fill(r, x, xlo, xhi);
        }
        if (!wv)
            return T2C_ERR_NOMEM;
        st = put_const(g, "w", wdt, 4, wdims, wv, err);
        free(wv);
        int64_t s2[2] = {sh, sw}, d2[2] = {1, 1};
        at_ints(&at, "strides", 2, s2);
        at_ints(&at, "pads", 4, pads);
        at_ints(&at, "dilations", 2, d2);
        at_int(&at, "group", group);
        bias_n = cout;
        orank = 4;
        od[0] = 1, od[1] = cout, od[2] = ho, od[3] = wo;
    } else if (op == OP_LINEAR) {
        int64_t xd[2] = {1, kd}, wdims[2] = {m, kd};
        gen_input *x = add_input(g, "x", xdt, 2, xd);
        int64_t *wv = rand_vals(r, m * kd, wlo, whi);
        if (!wv)
            return T2C_ERR_NOMEM;
        if (fixed) {
            fill_const(x, xlo);
            for (int64_t i = 0; i < m * kd; i++)
                wv[i] = wlo;
        } else {
            fill(r, x, xlo, xhi);
        }
        st = put_const(g, "w", wdt, 2, wdims, wv, err);
        free(wv);
        bias_n = m;
        orank = 2;
        od[0] = 1, od[1] = m;
    } else {
        int tb = which < 0 ? (int)gen_int(r, 0, 1) : which == 5;
        int64_t ad[3] = {1, m, kd}, bd[3] = {1, tb ? n : kd, tb ? kd : n};
        gen_input *a = add_input(g, "a", xdt, 3, ad);
        gen_input *b = add_input(g, "b", wdt, 3, bd);
        if (fixed) {
            fill_const(a, xlo);
            fill_const(b, wlo);
        } else {
            fill(r, a, xlo, xhi);
            fill(r, b, wlo, whi);
        }
        at_int(&at, "transpose_b", tb);
        ins[0] = "a";
        ins[1] = "b";
        orank = 3;
        od[0] = 1, od[1] = m, od[2] = n;
    }
    if (st)
        return st;
    int n_in = 2;
    if (bias_n && !fixed && gen_int(r, 0, 3)) {
        int64_t *bv = rand_vals(r, bias_n, -(1 << 20), 1 << 20);
        if (!bv)
            return T2C_ERR_NOMEM;
        st = put_const(g, "b", T2C_INT32, 1, &bias_n, bv, err);
        free(bv);
        if (st)
            return st;
        n_in = 3;
    }
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s", gemm_case[which]);
    return finish(g, op == OP_CONV ? "conv2d" : op == OP_LINEAR ? "linear" : "matmul", n_in,
                  ins, T2C_INT32, orank, od, &at, err);
}

/* ---------- requantize ---------- */
/* Directed: 0 ties at every shift 0..62 (one channel per shift), per rounding mode
 * of the list; 1 multipliers near 2^31 at shift 31 and 62; 2..3 output zero-point extremes. */
static t2c_status build_requant(int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    int bits = pick_bits(c, r);
    t2c_dtype odt = sdtype(bits);
    int64_t ch = pick(r, c->cout), hh = pick(r, c->hw), ww = pick(r, c->hw);
    const char *mode = pick_round(c, r, 1);
    const char *mode_name = mode; /* the case's name keeps the requested mode */
    int64_t mult[64], shift[64], off[64];
    int per_ch = (int)gen_int(r, 0, 1);
    int64_t zp = 0;
    int64_t xlo = -(1 << 24), xhi = 1 << 24;
    if (which == 0) {
        /* channel c: shift c; values ±(2j+1)·2^(c-1): exact .5 ties with even and odd quotients. */
        ch = 63;
        hh = 2;
        ww = 4;
        odt = T2C_INT32;
        per_ch = 1;
        if (!strcmp(mode, "tflite"))
            mode = "half_even"; /* tflite's ties are in SRDHM/RDBPOT, not at the shift */
    } else if (which == 1) {
        ch = 4;
        per_ch = 1;
        odt = T2C_INT32;
        xlo = INT32_MIN;
        xhi = INT32_MAX;
    } else if (which >= 2) {
        ch = 2;
        per_ch = 0;
        zp = which == 2 ? t2c_dtype_min(odt) : t2c_dtype_max(odt);
    } else {
        zp = gen_int(r, t2c_dtype_min(odt), t2c_dtype_max(odt));
    }
    if (ch > 64)
        ch = 64;
    int nc = per_ch ? (int)ch : 1;
    for (int i = 0; i < nc; i++) {
        int tfl = !strcmp(mode, "tflite");
        mult[i] = gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1);
        shift[i] = gen_int(r, 20, 40);
        off[i] = tfl ? 0 : gen_int(r, -(1 << 10), 1 << 10);
        if (which == 0) {
            /* shift i; shifts 32..62 reach the tie through the multiplier 2^(i-31) (2^30 at 62) */
            mult[i] = i <= 31 ? 1 : (int64_t)1 << (i <= 61 ? i - 31 : 30);
            shift[i] = i;
            off[i] = 0;
        } else if (which == 1) {
            static const int64_t m1[4] = {2147483647, 2147483646, -2147483647, 1073741824};
            static const int64_t s1[4] = {31, 62, 31, 0};
            mult[i] = tfl && m1[i] < 0 ? 2147483647 : m1[i];
            shift[i] = s1[i];
            off[i] = 0;
        }
    }
    int64_t xd[4] = {1, ch, hh, ww};
    gen_input *x = add_input(g, "x", T2C_INT32, 4, xd);
    fill(r, x, xlo, xhi);
    if (which == 0) {
        int64_t per = hh * ww;
        for (int64_t cc = 0; cc < ch; cc++)
            for (int64_t j = 0; j < per; j++) {
                /* odd multiples of 2^(c-1) that fit int32: q = floor(v / 2^c) takes both parities */
                int64_t pairs = cc == 0 ? 4 : (((int64_t)INT32_MAX >> (cc - 1)) + 1) / 2;
                if (pairs > 4)
                    pairs = 4;
                int64_t odd = 2 * ((j / 2 + gen_int(r, 0, 3)) % pairs) + 1;
                int64_t v = cc == 0 ? odd : odd * ((int64_t)1 << (cc - 1));
                if (cc >= 32)
                    v = cc == 62 ? INT32_MIN : (int64_t)1 << 30; /* x·m = ±2^(c-1); -2^61 at 62 */
                x->vals[cc * per + j] = (j & 1) || cc == 62 ? -(v < 0 ? -v : v) : v;
            }
    }
    if (which == 1) {
        int64_t n = numel(4, xd);
        x->vals[0] = INT32_MIN;
        x->vals[n - 1] = INT32_MAX;
    }
    attrs at = {0};
    at_ints(&at, "multiplier", nc, mult);
    at_ints(&at, "shift", nc, shift);
    at_ints(&at, "offset", nc, off);
    at_int(&at, "zero_point", zp);
    at_str(&at, "rounding", mode);
    static const char *const rq_case[4] = {"ties_every_shift", "multiplier_near_2^31", "zero_point_min",
                                           "zero_point_max"};
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s_%s", rq_case[which], mode_name);
    const char *ins[1] = {"x"};
    return finish(g, "requantize", 1, ins, odt, 4, xd, &at, err);
}

/* ---------- add ---------- */
/* Directed: 0 zero-point extremes with saturation at both ends; 1 ties at out_shift 1 (odd sums). */
static t2c_status build_add(int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    int bits = pick_bits(c, r);
    t2c_dtype dt = sdtype(bits);
    int64_t lo = t2c_dtype_min(dt), hi = t2c_dtype_max(dt);
    int64_t d[4] = {1, pick(r, c->cout), pick(r, c->hw), pick(r, c->hw)};
    const char *mode = pick_round(c, r, 1);
    gen_input *a = add_input(g, "a", dt, 4, d);
    gen_input *b = add_input(g, "b", dt, 4, d);
    fill(r, a, lo, hi);
    fill(r, b, lo, hi);
    attrs at = {0};
    int tfl = !strcmp(mode, "tflite");
    if (which < 0) {
        int64_t ls = gen_int(r, 0, 20);
        at_int(&at, "a_zero_point", gen_int(r, lo, hi));
        at_int(&at, "b_zero_point", gen_int(r, lo, hi));
        at_int(&at, "left_shift", ls);
        /* Legality: each input's bound is below 2^(bits + ls) · 2^31 / 2^shift; shifts of at
         * least bits + ls + 2 (tflite: 31 or more, so its L = 0) keep the sum below 2^31. */
        at_int(&at, "a_multiplier", gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1));
        at_int(&at, "a_shift", tfl ? gen_int(r, 31, 40) : gen_int(r, bits + ls + 2, bits + ls + 8));
        at_int(&at, "b_multiplier", gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1));
        at_int(&at, "b_shift", tfl ? gen_int(r, 31, 40) : gen_int(r, bits + ls + 2, bits + ls + 8));
        at_int(&at, "out_multiplier", gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1));
        at_int(&at, "out_shift", gen_int(r, 25, 40));
        at_int(&at, "out_zero_point", gen_int(r, lo, hi));
    } else if (which == 0) {
        at_int(&at, "a_zero_point", lo);
        at_int(&at, "b_zero_point", hi);
        at_int(&at, "out_zero_point", hi);
        /* y = (a - lo) + (b - hi) + hi, clamped: the full span of both inputs is reached */
        a->vals[0] = hi, b->vals[0] = lo; /* (hi - lo) + (lo - hi) + hi = hi */
        a->vals[1] = hi, b->vals[1] = hi; /* (hi - lo) + hi > hi: saturates high */
        a->vals[2] = lo, b->vals[2] = lo; /* (lo - hi) + hi = lo: the low end */
    } else {
        mode = tfl ? "half_even" : mode;
        at_int(&at, "out_shift", 1);
        /* multipliers 1, zero points 0: every odd a + b is an exact tie at shift 1 */
        for (int64_t i = 0; i < numel(4, d); i++)
            if (((a->vals[i] + b->vals[i]) & 1) == 0 && (i & 1))
                b->vals[i] = b->vals[i] > lo ? b->vals[i] - 1 : b->vals[i] + 1;
    }
    at_str(&at, "rounding", mode);
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s_%s", which == 0 ? "zero_point_extremes" : "ties_out_shift1", mode);
    const char *ins[2] = {"a", "b"};
    return finish(g, "add", 2, ins, dt, 4, d, &at, err);
}

/* ---------- pool ---------- */
/* Directed: 0 max pool 3×3/2 pad 1 on an even size (last window in padding); 1 average of pairs
 * ([1,2] windows, odd sums: exact ties for every mode); 2 average with count_include_pad. */
static t2c_status build_pool(int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    int bits = pick_bits(c, r);
    t2c_dtype dt = sdtype(bits);
    int64_t lo = t2c_dtype_min(dt), hi = t2c_dtype_max(dt);
    int avg = (int)gen_int(r, 0, 1);
    int64_t kh = pick(r, c->k), kw = pick(r, c->k), sh = pick(r, c->stride), sw = pick(r, c->stride);
    int64_t ch = pick(r, c->cin), h = pick(r, c->hw), w = pick(r, c->hw);
    int64_t pads[4];
    for (int i = 0; i < 4; i++) {
        int64_t kk = i % 2 ? kw : kh;
        pads[i] = gen_int(r, c->pad.lo, c->pad.hi);
        if (pads[i] >= kk)
            pads[i] = kk - 1;
    }
    const char *mode = pick_round(c, r, 1);
    int cip = (int)gen_int(r, 0, 1);
    if (which == 0) {
        avg = 0, kh = kw = 3, sh = sw = 2, h = w = 8;
        pads[0] = pads[1] = pads[2] = pads[3] = 1;
    } else if (which >= 1) {
        avg = 1, kh = 1, kw = 2, sh = 1, sw = 2, h = 3, w = 8, cip = which == 2;
        pads[0] = pads[1] = pads[2] = pads[3] = 0;
        if (which == 2) {
            kh = kw = 3, sh = sw = 2, w = 8;
            pads[0] = pads[1] = pads[2] = pads[3] = 1;
        }
    }
    if (h + pads[0] + pads[2] < kh)
        h = kh;
    if (w + pads[1] + pads[3] < kw)
        w = kw;
    int64_t d[4] = {1, ch, h, w};
    gen_input *x = add_input(g, "x", dt, 4, d);
    fill(r, x, lo, hi);
    attrs at = {0};
    int64_t k2[2] = {kh, kw}, s2[2] = {sh, sw};
    at_ints(&at, "kernel", 2, k2);
    at_ints(&at, "strides", 2, s2);
    at_ints(&at, "pads", 4, pads);
    int64_t zp = 0;
    if (avg) {
        at_int(&at, "count_include_pad", cip);
        zp = gen_int(r, lo, hi);
        at_int(&at, "x_zero_point", zp);
        at_str(&at, "rounding", mode);
    }
    int64_t ho = (h + pads[0] + pads[2] - kh) / sh + 1, wo = (w + pads[1] + pads[3] - kw) / sw + 1;
    int64_t od[4] = {1, ch, ho, wo};
    static const char *const pl_case[3] = {"maxpool_pad_edge", "avgpool_ties", "avgpool_count_pad"};
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s_%s", pl_case[which], avg ? mode : "max");
    const char *ins[1] = {"x"};
    return finish(g, avg ? "avgpool2d" : "maxpool2d", 1, ins, dt, 4, od, &at, err);
}

/* ---------- transformer ops ---------- */
/* Directed (each method): 0 every input at the minimum, 1 every input at the maximum, 2 one-hot
 * rows (one maximum, the rest minimum). */
static void extreme_fill(gen_input *x, int which, int64_t lo, int64_t hi)
{
    int64_t n = numel(x->rank, x->dims), row = x->dims[x->rank - 1];
    for (int64_t i = 0; i < n; i++)
        x->vals[i] = which == 0 ? lo : which == 1 ? hi : (i % row == (i / row) % row ? hi : lo);
}

static t2c_status build_softmax(int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    static const char *const methods[4] = {"ibert", "shift", "lut", "tflite"};
    const char *method = methods[which >= 0 ? (which / 3) % 4 : gen_int(r, 0, 3)];
    int tfl = !strcmp(method, "tflite");
    t2c_dtype xdt = T2C_INT8, odt = gen_int(r, 0, 1) ? T2C_UINT8 : T2C_INT8;
    int64_t d[3] = {1, pick(r, c->rows), pick(r, c->n)};
    gen_input *x = add_input(g, "x", xdt, 3, d);
    fill(r, x, -128, 127);
    if (which >= 0)
        extreme_fill(x, which % 3, -128, 127);
    attrs at = {0};
    at_str(&at, "method", method);
    at_int(&at, "x_multiplier", gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1));
    at_int(&at, "x_shift", tfl ? gen_int(r, 31, 40) : gen_int(r, 30, 40));
    const char *ins[2] = {"x", "t"};
    int n_in = 1;
    if (!strcmp(method, "lut")) {
        int64_t k = 64, tv[64];
        int64_t v = (int64_t)1 << 30;
        for (int i = 0; i < k; i++) {
            tv[i] = v;
            v -= v / gen_int(r, 8, 24) + 1;
            if (v < 0)
                v = 0;
        }
        at_int(&at, "lut_shift", gen_int(r, 10, 14));
        t2c_status st = put_const(g, "t", T2C_INT32, 1, &k, tv, err);
        if (st)
            return st;
        n_in = 2;
    }
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s_%s", which % 3 == 0 ? "all_min" : which % 3 == 1 ? "all_max" : "one_hot",
                 method);
    return finish(g, "softmax", n_in, ins, odt, 3, d, &at, err);
}

static t2c_status build_layernorm(int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    int bits = pick_bits(c, r);
    t2c_dtype odt = sdtype(bits);
    int64_t cc = pick(r, c->n);
    int64_t d[3] = {1, pick(r, c->rows), cc};
    gen_input *x = add_input(g, "x", T2C_INT8, 3, d);
    fill(r, x, -128, 127);
    if (which >= 0)
        extreme_fill(x, which, -128, 127);
    int64_t *gam = rand_vals(r, cc, -32767, 32767), *bet = rand_vals(r, cc, -(1 << 20), 1 << 20);
    t2c_status st = gam && bet ? put_const(g, "gamma", T2C_INT16, 1, &cc, gam, err) : T2C_ERR_NOMEM;
    if (!st)
        st = put_const(g, "beta", T2C_INT32, 1, &cc, bet, err);
    free(gam);
    free(bet);
    if (st)
        return st;
    attrs at = {0};
    at_str(&at, "method", "ibert");
    at_int(&at, "shift", gen_int(r, 0, 3));
    at_int(&at, "eps", which == 0 ? 0 : gen_int(r, 0, 16));
    at_int(&at, "out_shift", gen_int(r, 30, 40));
    at_int(&at, "out_zero_point", gen_int(r, t2c_dtype_min(odt), t2c_dtype_max(odt)));
    at_str(&at, "rounding", pick_round(c, r, 0));
    static const char *const ln_case[3] = {"all_min", "all_max", "one_hot"};
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s", ln_case[which]);
    const char *ins[3] = {"x", "gamma", "beta"};
    return finish(g, "layernorm", 3, ins, odt, 3, d, &at, err);
}

static t2c_status build_gelu(int which, const gen_cfg *c, gen_rng *r, gen_inst *g, t2c_error *err)
{
    static const char *const methods[3] = {"ibert", "sigmoid", "lut"};
    const char *method = methods[which >= 0 ? (which / 3) % 3 : gen_int(r, 0, 2)];
    int bits = pick_bits(c, r);
    t2c_dtype odt = sdtype(bits);
    int64_t d[3] = {1, pick(r, c->rows), pick(r, c->n)};
    gen_input *x = add_input(g, "x", T2C_INT8, 3, d);
    fill(r, x, -128, 127);
    if (which >= 0)
        extreme_fill(x, which % 3, -128, 127);
    attrs at = {0};
    at_str(&at, "method", method);
    at_int(&at, "x_zero_point", gen_int(r, -128, 127));
    at_int(&at, "x_multiplier", gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1));
    at_int(&at, "x_shift", gen_int(r, 36, 42));
    at_int(&at, "out_multiplier", gen_int(r, (int64_t)1 << 30, ((int64_t)1 << 31) - 1));
    at_int(&at, "out_shift", gen_int(r, 36, 44));
    at_int(&at, "out_zero_point", gen_int(r, t2c_dtype_min(odt), t2c_dtype_max(odt)));
    at_str(&at, "rounding", pick_round(c, r, 1));
    const char *ins[2] = {"x", "t"};
    int n_in = 1;
    if (!strcmp(method, "lut")) {
        int64_t k = 64, tv[64];
        for (int i = 0; i < k; i++)
            tv[i] = (int64_t)i * 1024 + gen_int(r, 0, 1023);
        at_int(&at, "lut_shift", gen_int(r, 8, 12));
        at_int(&at, "lut_offset", 32);
        t2c_status st = put_const(g, "t", T2C_INT32, 1, &k, tv, err);
        if (st)
            return st;
        n_in = 2;
    }
    if (which >= 0)
        snprintf(g->desc, sizeof g->desc, "%s_%s", which % 3 == 0 ? "all_min" : which % 3 == 1 ? "all_max" : "one_hot",
                 method);
    return finish(g, "gelu", n_in, ins, odt, 3, d, &at, err);
}

int gen_directed_count(int op, const gen_cfg *cfg)
{
    switch (op) {
    case OP_CONV:
    case OP_LINEAR:
    case OP_MATMUL:
        return GEMM_DIRECTED;
    case OP_REQ:
        return 4 * (cfg->n_roundings ? cfg->n_roundings : 1);
    case OP_ADD:
        return 2 * (cfg->n_roundings ? cfg->n_roundings : 1);
    case OP_POOL:
        return 3 * (cfg->n_roundings ? cfg->n_roundings : 1);
    case OP_SOFTMAX:
        return 12;
    case OP_LN:
        return 3;
    case OP_GELU:
        return 9;
    }
    return 0;
}

t2c_status gen_build(int op, int which, const gen_cfg *cfg, gen_rng *rng, gen_inst *g, t2c_error *err)
{
    memset(g, 0, sizeof *g);
    snprintf(g->desc, sizeof g->desc, "random");
    g->w = t2c_writer_new();
    if (!g->w)
        return T2C_ERR_NOMEM;
    gen_cfg c = *cfg;
    int nr = cfg->n_roundings ? cfg->n_roundings : 1;
    /* Directed cases that sweep rounding modes fix the mode by case number. */
    if (which >= 0 && (op == OP_REQ || op == OP_ADD || op == OP_POOL) && cfg->n_roundings) {
        c.roundings[0] = cfg->roundings[which % nr];
        c.n_roundings = 1;
        which /= nr;
    }
    switch (op) {
    case OP_CONV:
    case OP_LINEAR:
    case OP_MATMUL:
        return build_gemm(op, which, &c, rng, g, err);
    case OP_REQ:
        return build_requant(which, &c, rng, g, err);
    case OP_ADD:
        return build_add(which, &c, rng, g, err);
    case OP_POOL:
        return build_pool(which, &c, rng, g, err);
    case OP_SOFTMAX:
        return build_softmax(which, &c, rng, g, err);
    case OP_LN:
        return build_layernorm(which, &c, rng, g, err);
    case OP_GELU:
        return build_gelu(which, &c, rng, g, err);
    }
    return T2C_ERR_INVALID_ARG;
}

void gen_inst_clear(gen_inst *g)
{
    t2c_writer_free(g->w);
    for (int i = 0; i < g->n_in; i++)
        free(g->in[i].vals);
    memset(g, 0, sizeof *g);
}
