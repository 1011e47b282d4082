/* f32_op_scaffold.h — shared scaffolding of the compat (binary32) op tests: build a node, prepare
 * and run an op_def, compare floats bit for bit. Included by tests/test_*_f32.c only. */
#ifndef T2C_F32_OP_SCAFFOLD_H
#define T2C_F32_OP_SCAFFOLD_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "t2c_op.h"

/* ---- test scaffolding: build a node, call an op_def's prepare and run ---- */
#define ATTR_I(n, val) ((t2c_attr){.name = (n), .type = T2C_ATTR_INT, .count = 1, .v.i = (val)})
#define ATTR_F(n, val) ((t2c_attr){.name = (n), .type = T2C_ATTR_FLOAT, .count = 1, .v.f = (val)})
#define ATTR_INTS(n, arr) \
    ((t2c_attr){.name = (n), .type = T2C_ATTR_INTS, .count = (int64_t)(sizeof(arr) / sizeof((arr)[0])), .v.ints = (arr)})
#define ATTR_FLOATS(n, arr) \
    ((t2c_attr){.name = (n), .type = T2C_ATTR_FLOATS, .count = (int64_t)(sizeof(arr) / sizeof((arr)[0])), .v.floats = (arr)})
#define N_OF(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))

static t2c_tensor make_tensor(t2c_dtype dt, void *data, int rank, const int64_t *dims)
{
    t2c_tensor t = {.name = "t", .dtype = dt, .rank = rank, .data = data};
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    return t;
}

/* Prepare def on a node (params zeroed first), then, if run != 0, run it with fresh scratch. */
static t2c_status op_call(const t2c_op_def *def, t2c_tensor **ins, int n_in, t2c_tensor *out,
                          const t2c_attr *attrs, int n_attrs, void *params, int run, t2c_error *err)
{
    t2c_tensor *outs[1] = {out};
    memset(params, 0, def->params_size);
    t2c_node node = {.type = def->type, .name = "node", .n_inputs = n_in, .inputs = ins,
                     .n_outputs = 1, .outputs = outs, .n_attrs = n_attrs, .attrs = attrs,
                     .params = params};
    memset(err, 0, sizeof *err);
    t2c_status st = def->prepare(&node, err);
    if (st != T2C_OK || !run)
        return st;
    static double scratch[4096];
    size_t ss = def->scratch_size ? def->scratch_size(&node) : 0;
    assert_true(ss <= sizeof scratch);
    return def->run(&node, scratch, err);
}

/* Bit-exact float comparison (distinguishes -0.0 from +0.0; NaN equals NaN). */
static void assert_float_bits(float got, float want)
{
    uint32_t g, w;
    memcpy(&g, &got, 4);
    memcpy(&w, &want, 4);
    if (isnan(got) && isnan(want))
        return;
    if (g != w)
        fail_msg("got %a (0x%08x), want %a (0x%08x)", (double)got, g, (double)want, w);
}

static void assert_floats(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        assert_float_bits(got[i], want[i]);
}

#endif /* T2C_F32_OP_SCAFFOLD_H */
