/* op_test_scaffold.h — shared scaffolding of the integer op tests: build a node around tensors and
 * call an op_def's prepare() and run() as the executor does. Included by tests/test_<op>.c. */
#ifndef T2C_OP_TEST_SCAFFOLD_H
#define T2C_OP_TEST_SCAFFOLD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "t2c_op.h"

#define ATTR_I(n, val) ((t2c_attr){.name = (n), .type = T2C_ATTR_INT, .count = 1, .v.i = (val)})
#define ATTR_S(n, str) ((t2c_attr){.name = (n), .type = T2C_ATTR_STRING, .count = (int64_t)strlen(str), .v.s = (str)})
#define ATTR_INTS(n, arr) \
    ((t2c_attr){.name = (n), .type = T2C_ATTR_INTS, .count = (int64_t)(sizeof(arr) / sizeof((arr)[0])), .v.ints = (arr)})
#define N_OF(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))

static inline t2c_tensor make_tensor(t2c_dtype dt, void *data, int rank, const int64_t *dims)
{
    t2c_tensor t = {.name = "t", .dtype = dt, .rank = rank, .data = data};
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    return t;
}

/* Prepare def on a node with inputs ins[0..n_in-1] and output *out; params zeroed first. */
static inline t2c_status prepare_node(const t2c_op_def *def, t2c_tensor **ins, int n_in, t2c_tensor *out,
                               const t2c_attr *attrs, int n_attrs, void *params, t2c_error *err)
{
    t2c_tensor *outs[1] = {out};
    memset(params, 0, def->params_size);
    t2c_node node = {.type = def->type, .name = "node", .n_inputs = n_in, .inputs = ins,
                     .n_outputs = 1, .outputs = outs, .n_attrs = n_attrs, .attrs = attrs,
                     .params = params};
    memset(err, 0, sizeof *err);
    return def->prepare(&node, err);
}

/* Prepare and then run through def->run (the executor's path). */
static inline t2c_status prepare_and_run(const t2c_op_def *def, t2c_tensor **ins, int n_in, t2c_tensor *out,
                                  const t2c_attr *attrs, int n_attrs, void *params, t2c_error *err)
{
    t2c_status st = prepare_node(def, ins, n_in, out, attrs, n_attrs, params, err);
    if (st != T2C_OK)
        return st;
    t2c_tensor *outs[1] = {out};
    t2c_node node = {.type = def->type, .name = "node", .n_inputs = n_in, .inputs = ins,
                     .n_outputs = 1, .outputs = outs, .n_attrs = n_attrs, .attrs = attrs,
                     .params = params};
    return def->run(&node, NULL, err);
}

static inline void assert_dims(const t2c_tensor *t, int rank, const int64_t *dims)
{
    assert_int_equal(t->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(t->dims[i], dims[i]);
}

static inline t2c_status run1(const t2c_op_def *def, t2c_tensor *x, t2c_tensor *y, const t2c_attr *attrs, int n_attrs,
                       void *params, t2c_error *err)
{
    t2c_tensor *ins[1] = {x};
    return prepare_and_run(def, ins, 1, y, attrs, n_attrs, params, err);
}

static inline t2c_status prep1(const t2c_op_def *def, t2c_tensor *x, t2c_tensor *y, const t2c_attr *attrs, int n_attrs,
                        void *params, t2c_error *err)
{
    t2c_tensor *ins[1] = {x};
    return prepare_node(def, ins, 1, y, attrs, n_attrs, params, err);
}

#endif /* T2C_OP_TEST_SCAFFOLD_H */
