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

#endif /* VARIANT_TEST_NO_NODE */

#endif
