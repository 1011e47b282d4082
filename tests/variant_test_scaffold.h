/* variant_test_scaffold.h — shared scaffolding of the kernel-variant differential tests
 * (test_backends.c, test_dw_simd.c, test_maxpool_simd.c): a seeded xorshift64* generator with
 * range-end-heavy values, and a node that owns its tensors and attributes. */
#ifndef T2C_VARIANT_TEST_SCAFFOLD_H
#define T2C_VARIANT_TEST_SCAFFOLD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "t2c_exec.h"
#include "t2c_kernels.h"
#include "t2c_op.h"

/* ---------------------------------------------------------------- random numbers */

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rnext(rng *r)
{
    r->s ^= r->s >> 12, r->s ^= r->s << 25, r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* uniform in [lo, hi] */
static inline int64_t rin(rng *r, int64_t lo, int64_t hi) { return lo + (int64_t)(rnext(r) % (uint64_t)(hi - lo + 1)); }

static inline int chance(rng *r, int percent) { return (int)(rnext(r) % 100) < percent; }

/* A value of dtype d: one in four at an end of the range (products like -128 * -128). */
static inline int64_t rval(rng *r, t2c_dtype d)
{
    const int64_t lo = t2c_dtype_min(d), hi = t2c_dtype_max(d);
    const int k = (int)(rnext(r) % 8);
    return k == 0 ? lo : k == 1 ? hi : rin(r, lo, hi);
}

static inline void fill(rng *r, t2c_tensor *t)
{
    for (int64_t i = 0, n = t2c_tensor_numel(t); i < n; i++)
        t2c_tensor_set_int(t, i, rval(r, t->dtype));
}

/* A zero point of dtype d: 0 (or the range's low end if 0 is outside it), either end, or anywhere. */
static inline int64_t pick_zp_ends(rng *r, t2c_dtype d)
{
    const int k = (int)rin(r, 0, 4);
    const int64_t z = t2c_dtype_min(d) <= 0 ? 0 : t2c_dtype_min(d);
    return k == 0 ? z : k == 1 ? t2c_dtype_min(d) : k == 2 ? t2c_dtype_max(d) : rval(r, d);
}

/* ---------------------------------------------------------------- thread pools */

static t2c_exec *pools[4]; /* index = threads: 1 (NULL: the caller's thread), 2, 3 */

/* cmocka group setup/teardown: the 2- and 3-thread pools, and threading even the smallest nodes. */
static inline int pools_setup(void **state)
{
    (void)state;
    t2c_error err = {0};
    pools[1] = NULL;
    t2c_exec_min_work = 0;
    if (t2c_exec_create(2, &pools[2], &err) != T2C_OK || t2c_exec_create(3, &pools[3], &err) != T2C_OK)
        return -1;
    return 0;
}

static inline int pools_teardown(void **state)
{
    (void)state;
    t2c_exec_free(pools[2]);
    t2c_exec_free(pools[3]);
    return 0;
}

/* ---------------------------------------------------------------- running one variant */

/* The registered variant `name` of op `op_type` (fails the test if there is none). */
static inline const t2c_kernel_variant *variant_named(const char *op_type, const char *name)
{
    int n;
    const t2c_kernel_variant *const *list = t2c_kernel_variants(op_type, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(list[i]->name, name) == 0)
            return list[i];
    fail_msg("variant %s is not registered", name);
    return NULL;
}

/* Run variant v on a prepared node (exec: NULL or a thread pool) into `out`, which is filled with
 * 0xA5 first so unwritten bytes show. Returns 0 when the variant declines the node. */
static inline int variant_run(const t2c_kernel_variant *v, t2c_node *node, t2c_exec *exec, t2c_tensor *out)
{
    node->exec = exec;
    if (!v->supports(node)) {
        node->exec = NULL;
        return 0;
    }
    void *st = NULL;
    t2c_error err = {0};
    assert_int_equal(v->prepare(node, &st, &err), T2C_OK);
    void *scratch = malloc((v->scratch_size ? v->scratch_size(node, st) : 0) + 64);
    memset(out->data, 0xA5, (size_t)t2c_tensor_numel(out) * t2c_dtype_mem_size(out->dtype));
    assert_int_equal(v->run(node, st, scratch, &err), T2C_OK);
    free(scratch);
    if (v->release)
        v->release(st);
    else
        free(st);
    node->exec = NULL;
    return 1;
}

#ifndef VARIANT_TEST_NO_NODE

/* ---------------------------------------------------------------- a node with owned storage */

#define MAX_ATTRS 24

typedef struct tcase {
    const t2c_op_def *def;
    t2c_node node;
    t2c_tensor tin[3], tout;
    t2c_tensor *pin[3], *pout;
    t2c_attr attrs[MAX_ATTRS];
    int64_t arr[MAX_ATTRS][4];
    int64_t *big[3];          /* per-channel arrays */
    char strs[MAX_ATTRS][16];
    int n_attrs;
    _Alignas(16) unsigned char params[512];
} tcase;

static inline void tc_init(tcase *c, const char *type)
{
    memset(c, 0, sizeof *c);
    c->def = t2c_op_find(type);
    assert_non_null(c->def);
    assert_true(c->def->params_size <= sizeof c->params);
    c->node.type = type;
    c->node.name = "n";
    c->node.inputs = c->pin;
    c->node.outputs = &c->pout;
    c->node.n_outputs = 1;
    c->node.attrs = c->attrs;
    c->node.params = c->params;
    c->pout = &c->tout;
    c->tout.name = "y";
}

static inline void tc_free(tcase *c)
{
    for (int i = 0; i < 3; i++) {
        free(c->tin[i].data);
        free(c->big[i]);
    }
    free(c->tout.data);
}

static inline t2c_tensor *tc_input(tcase *c, int i, t2c_dtype d, int rank, const int64_t *dims, int is_const)
{
    t2c_tensor *t = &c->tin[i];
    t->name = i == 0 ? "x" : i == 1 ? "w" : "b";
    t->dtype = d, t->rank = rank, t->is_const = is_const;
    for (int k = 0; k < rank; k++)
        t->dims[k] = dims[k];
    t->data = calloc((size_t)t2c_tensor_numel(t) * t2c_dtype_mem_size(d) + 64, 1);
    c->pin[i] = t;
    if (i + 1 > c->node.n_inputs)
        c->node.n_inputs = i + 1;
    return t;
}

static inline void a_int(tcase *c, const char *n, int64_t v)
{
    c->attrs[c->n_attrs++] = (t2c_attr){.name = n, .type = T2C_ATTR_INT, .count = 1, .v = {.i = v}};
    c->node.n_attrs = c->n_attrs;
}

static inline void a_ints(tcase *c, const char *n, int count, int64_t a, int64_t b, int64_t d, int64_t e)
{
    int64_t *s = c->arr[c->n_attrs];
    s[0] = a, s[1] = b, s[2] = d, s[3] = e;
    c->attrs[c->n_attrs++] = (t2c_attr){.name = n, .type = T2C_ATTR_INTS, .count = count, .v = {.ints = s}};
    c->node.n_attrs = c->n_attrs;
}

static inline void a_array(tcase *c, const char *n, int slot, const int64_t *v, int64_t count)
{
    c->big[slot] = malloc(sizeof(int64_t) * (size_t)count);
    memcpy(c->big[slot], v, sizeof(int64_t) * (size_t)count);
    c->attrs[c->n_attrs++] = (t2c_attr){.name = n, .type = T2C_ATTR_INTS, .count = count, .v = {.ints = c->big[slot]}};
    c->node.n_attrs = c->n_attrs;
}

static inline void a_str(tcase *c, const char *n, const char *v)
{
    char *s = c->strs[c->n_attrs];
    snprintf(s, 16, "%s", v);
    c->attrs[c->n_attrs++] = (t2c_attr){.name = n, .type = T2C_ATTR_STRING, .count = (int64_t)strlen(s), .v = {.s = s}};
    c->node.n_attrs = c->n_attrs;
}

/* prepare() and the output buffer; returns the status of prepare. */
static inline t2c_status tc_prepare(tcase *c, t2c_dtype out_dtype)
{
    t2c_error err = {0};
    c->tout.dtype = out_dtype;
    memset(c->params, 0, sizeof c->params);
    t2c_status st = c->def->prepare(&c->node, &err);
    if (st == T2C_OK)
        c->tout.data = calloc((size_t)t2c_tensor_numel(&c->tout) * t2c_dtype_mem_size(c->tout.dtype) + 64, 1);
    return st;
}

static inline size_t out_bytes(const tcase *c)
{
    return (size_t)t2c_tensor_numel(&c->tout) * t2c_dtype_mem_size(c->tout.dtype);
}

/* Reference output bytes of the prepared node (malloc'd), or NULL if the reference fails. */
static inline unsigned char *run_ref(tcase *c)
{
    t2c_error err = {0};
    if (c->def->run(&c->node, NULL, &err) != T2C_OK)
        return NULL;
    unsigned char *want = malloc(out_bytes(c));
    memcpy(want, c->tout.data, out_bytes(c));
    return want;
}

/* The int32 output of c equals want, else fail naming the first differing element. */
static inline void expect_same(const tcase *c, const unsigned char *want, uint64_t seed, int threads)
{
    if (memcmp(c->tout.data, want, out_bytes(c)) == 0)
        return;
    for (int64_t k = 0; k < t2c_tensor_numel(&c->tout); k++)
        if (((const int32_t *)c->tout.data)[k] != ((const int32_t *)want)[k])
            fail_msg("seed %llu, %d threads: element %lld is %d, the reference %d", (unsigned long long)seed,
                     threads, (long long)k, ((const int32_t *)c->tout.data)[k], ((const int32_t *)want)[k]);
}

/* The reference's output of the prepared node c against v's with 1 and 2 threads: 0 when v
 * declines c (nothing checked), else 1 after both matched; fails on a difference, or when v
 * takes a node whose reference fails. */
static inline int variant_matches_ref(const t2c_kernel_variant *v, tcase *c, uint64_t seed)
{
    unsigned char *want = run_ref(c);
    int took = 0;
    for (int threads = 1; threads <= 2; threads++) {
        if (!variant_run(v, &c->node, pools[threads], &c->tout))
            break;
        if (!want)
            fail_msg("seed %llu: %s takes a node whose reference fails", (unsigned long long)seed, v->name);
        expect_same(c, want, seed, threads);
        took = 1;
    }
    free(want);
    return took;
}

/* ---------------------------------------------------------------- fused requantize */

static const char *const rounding_mode_names[5] = {"half_even", "half_up", "half_away", "floor", "tflite"};

/* Random requantize parameters for rounding mode `mode` (index into rounding_mode_names). ties: small
 * multipliers and shifts make exact halves frequent (the rounding modes differ there). */
static inline void fused_params(rng *r, int mode, int ties, int64_t *m, int64_t *sh, int64_t *off)
{
    if (ties) {
        static const int64_t ms[6] = {1, 3, 5, -1, -3, 7};
        *m = mode == 4 ? rin(r, 1, 7) : ms[rin(r, 0, 5)];
        *sh = rin(r, 0, 5);
        *off = mode == 4 ? 0 : rin(r, -40, 40);
        return;
    }
    *m = mode == 4 ? rin(r, 0, INT32_MAX) : rin(r, -INT32_MAX, INT32_MAX);
    if (chance(r, 10))
        *m = chance(r, 50) ? 1 : mode == 4 ? INT32_MAX : -INT32_MAX;
    else if (chance(r, 30))
        *m = rin(r, 1 << 29, 1 << 30); /* 32-bit fixed-point multipliers as exported */
    *sh = chance(r, 10) ? rin(r, 0, 62) : rin(r, 25, 48);
    *off = mode == 4 || chance(r, 50) ? 0 : rin(r, -((int64_t)1 << 45), (int64_t)1 << 45);
}

/* Run variant v on conv node c fused with requantize node q (prepared on c's output), on `exec`;
 * 0 when v declines c or the fusion. q's output is first filled with 0x5A. */
static inline int variant_run_fused(const t2c_kernel_variant *v, tcase *c, tcase *q, t2c_exec *exec)
{
    t2c_error err = {0};
    int fused = 0;
    c->node.exec = exec;
    void *st = NULL;
    if (v->supports(&c->node)) {
        assert_int_equal(v->prepare(&c->node, &st, &err), T2C_OK);
        if (v->fuse_prepare(&c->node, st, &q->node)) {
            void *scratch = malloc(v->scratch_size(&c->node, st) + 64);
            memset(q->tout.data, 0x5A, out_bytes(q));
            assert_int_equal(v->run_fused(&c->node, st, scratch, &err), T2C_OK);
            free(scratch);
            fused = 1;
        }
        v->release(st);
    }
    c->node.exec = NULL;
    return fused;
}

/* 700 random conv nodes from gen(r, c, big) (big for every 25th seed), each followed by a random
 * requantize (rounding mode seed % 5, per-channel parameters 70 % of the time, any output dtype;
 * ties: small multipliers, narrow outputs); v fused with it must give the bytes of the two
 * reference ops, with 1 and 2 threads. At least min_fused fused runs, min_mode per mode. */
static inline void fused_random_run(const t2c_kernel_variant *v, void (*gen)(rng *, tcase *, int), uint64_t salt,
                                    int ties, int min_fused, int min_mode)
{
    int fused = 0, modes[5] = {0};
    for (uint64_t seed = 1; seed <= 700; seed++) {
        rng r = {seed * 0xBF58476D1CE4E5B9ULL + salt + (uint64_t)ties};
        tcase c, q;
        gen(&r, &c, seed % 25 == 0);
        if (tc_prepare(&c, T2C_INT32) != T2C_OK) {
            tc_free(&c);
            continue;
        }
        unsigned char *cref = run_ref(&c); /* c.tout: the requantize reference's input */
        if (!cref || !v->supports(&c.node)) {
            free(cref);
            tc_free(&c);
            continue;
        }
        free(cref);
        tc_init(&q, "requantize");
        q.pin[0] = &c.tout;
        q.node.n_inputs = 1;
        const int mode = (int)(seed % 5);
        a_str(&q, "rounding", rounding_mode_names[mode]);
        const int64_t C = chance(&r, 70) ? c.tout.dims[1] : 1;
        int64_t *arr[3];
        for (int k = 0; k < 3; k++)
            arr[k] = malloc(sizeof(int64_t) * (size_t)C);
        for (int64_t i = 0; i < C; i++)
            fused_params(&r, mode, ties, &arr[0][i], &arr[1][i], &arr[2][i]);
        a_array(&q, "multiplier", 0, arr[0], C);
        a_array(&q, "shift", 1, arr[1], C);
        a_array(&q, "offset", 2, arr[2], C);
        for (int k = 0; k < 3; k++)
            free(arr[k]);
        static const t2c_dtype od[6] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4, T2C_INT16, T2C_INT32};
        const t2c_dtype y = od[rin(&r, 0, ties ? 3 : 5)];
        a_int(&q, "zero_point", rval(&r, y));
        if (chance(&r, 50))
            a_int(&q, "lo", t2c_dtype_min(y) + rin(&r, 0, 3));
        t2c_error err = {0};
        assert_int_equal(tc_prepare(&q, y), T2C_OK);
        assert_int_equal(q.def->run(&q.node, NULL, &err), T2C_OK);
        const size_t nb = out_bytes(&q);
        unsigned char *want = malloc(nb);
        memcpy(want, q.tout.data, nb);
        for (int threads = 1; threads <= 2; threads++) {
            if (!variant_run_fused(v, &c, &q, pools[threads]))
                break;
            if (memcmp(q.tout.data, want, nb) != 0)
                fail_msg("seed %llu, %d threads: %s fused with requantize (%s) differs from the reference",
                         (unsigned long long)seed, threads, v->name, rounding_mode_names[mode]);
            fused++, modes[mode]++;
        }
        free(want);
        tc_free(&q);
        q.pin[0] = NULL;
        tc_free(&c);
    }
    print_message("  %d fused runs%s equal to the two reference ops\n", fused, ties ? " (ties)" : "");
    assert_true(fused > min_fused);
    for (int m = 0; m < 5; m++)
        assert_true(modes[m] > min_mode);
}

#endif /* VARIANT_TEST_NO_NODE */

#endif
