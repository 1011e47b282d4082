/* test_hooks.c — hooks observe every op (or a filtered subset), see inputs/params/outputs,
 * and can stop a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "t2c.h"
#include "t2c_container.h"

static t2c_attr ai(const char *n, int64_t v) { t2c_attr a = {n, T2C_ATTR_INT, 1, {.i = v}}; return a; }
static t2c_attr ais(const char *n, const int64_t *v, int64_t c) { t2c_attr a = {n, T2C_ATTR_INTS, c, {.ints = v}}; return a; }

/* x int8 [1,2] -> fc1 (linear, w [3,2], bias) -> rq1 -> relu1 -> fc2 (linear [1,3]) -> rq2 -> y */
static t2c_model *build(void)
{
    t2c_writer *w = t2c_writer_new();
    t2c_error err;
    int64_t xd[2] = {1, 2}, w1d[2] = {3, 2}, b1d[1] = {3}, h3[2] = {1, 3}, w2d[2] = {1, 3}, h1[2] = {1, 1};
    int8_t w1[6] = {1, 0, 0, 1, 1, 1};
    int32_t b1[3] = {0, 0, -10};
    int8_t w2[3] = {1, 2, 3};
    int64_t one[1] = {1}, zero[1] = {0};
#define T(n, dt, r, d, data) assert_int_equal(t2c_writer_tensor(w, n, dt, r, d, data, 0, &err), T2C_OK)
    T("x", T2C_INT8, 2, xd, NULL);
    T("fc1.w", T2C_INT8, 2, w1d, w1);
    T("fc1.b", T2C_INT32, 1, b1d, b1);
    T("a1", T2C_INT32, 2, h3, NULL);
    T("q1", T2C_INT8, 2, h3, NULL);
    T("r1", T2C_INT8, 2, h3, NULL);
    T("fc2.w", T2C_INT8, 2, w2d, w2);
    T("a2", T2C_INT32, 2, h1, NULL);
    T("y", T2C_INT8, 2, h1, NULL);
#undef T
    t2c_attr rq[2] = {ais("multiplier", one, 1), ais("shift", zero, 1)};
    t2c_attr relu_at[1] = {ai("zero_point", 0)};
    const char *i1[3] = {"x", "fc1.w", "fc1.b"}, *o1[1] = {"a1"};
    const char *i2[1] = {"a1"}, *o2[1] = {"q1"};
    const char *i3[1] = {"q1"}, *o3[1] = {"r1"};
    const char *i4[2] = {"r1", "fc2.w"}, *o4[1] = {"a2"};
    const char *i5[1] = {"a2"}, *o5[1] = {"y"};
    assert_int_equal(t2c_writer_op(w, "linear", "fc1", 3, i1, 1, o1, 0, NULL, &err), T2C_OK);
    assert_int_equal(t2c_writer_op(w, "requantize", "rq1", 1, i2, 1, o2, 2, rq, &err), T2C_OK);
    assert_int_equal(t2c_writer_op(w, "relu", "relu1", 1, i3, 1, o3, 1, relu_at, &err), T2C_OK);
    const char *i4b[2] = {i4[0], i4[1]};
    assert_int_equal(t2c_writer_op(w, "linear", "fc2", 2, i4b, 1, o4, 0, NULL, &err), T2C_OK);
    assert_int_equal(t2c_writer_op(w, "requantize", "rq2", 1, i5, 1, o5, 2, rq, &err), T2C_OK);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    assert_int_equal(t2c_writer_graph_io(w, 1, gi, 1, go, &err), T2C_OK);
    uint8_t *buf;
    size_t size;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &size, &err), T2C_OK);
    t2c_writer_free(w);
    t2c_model *m = NULL;
    assert_int_equal(t2c_model_load_buffer(buf, size, "hooks.t2c", NULL, &m, &err), T2C_OK);
    free(buf);
    return m;
}

typedef struct record {
    int calls;
    char log[512];
    int stop_at; /* op index to stop at (AFTER), -1 = never */
    int64_t seen_out[8];
} record;

static int logger(const t2c_op_view *op, int when, void *user)
{
    record *r = user;
    r->calls++;
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof r->log - n, "%s%s:%s", n ? " " : "", when == T2C_HOOK_BEFORE ? "B" : "A", op->name);
    return (when == T2C_HOOK_AFTER && op->index == r->stop_at) ? 7 : 0;
}

static t2c_session *session_with_input(t2c_model *m, int8_t x0, int8_t x1)
{
    t2c_session *s = NULL;
    t2c_error err;
    assert_int_equal(t2c_session_create(m, 1, &s, &err), T2C_OK);
    int8_t *x = t2c_session_input(s, 0)->data;
    x[0] = x0;
    x[1] = x1;
    return s;
}

static void test_every_op_before_and_after(void **state)
{
    (void)state;
    t2c_model *m = build();
    t2c_session *s = session_with_input(m, 3, -5);
    record r = {0, "", -1, {0}};
    t2c_error err;
    assert_true(t2c_session_add_hook(s, NULL, T2C_HOOK_BEFORE | T2C_HOOK_AFTER, logger, &r, &err) >= 0);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK);
    assert_int_equal(r.calls, 10);
    assert_string_equal(r.log, "B:fc1 A:fc1 B:rq1 A:rq1 B:relu1 A:relu1 B:fc2 A:fc2 B:rq2 A:rq2");
    /* fc1: [3, -5, 3-5-10 = -12]; relu -> [3, 0, 0]; fc2 = 3*1 = 3 */
    assert_int_equal(((int8_t *)t2c_session_output(s, 0)->data)[0], 3);
    t2c_session_free(s);
    t2c_model_free(m);
}

static void test_filters(void **state)
{
    (void)state;
    t2c_model *m = build();
    t2c_session *s = session_with_input(m, 1, 1);
    record by_type = {0, "", -1, {0}}, by_glob = {0, "", -1, {0}}, both = {0, "", -1, {0}};
    t2c_error err;
    t2c_hook_filter f1 = {NULL, "linear"}, f2 = {"rq*", NULL}, f3 = {"*2", "requantize"};
    assert_true(t2c_session_add_hook(s, &f1, T2C_HOOK_AFTER, logger, &by_type, &err) >= 0);
    assert_true(t2c_session_add_hook(s, &f2, T2C_HOOK_BEFORE, logger, &by_glob, &err) >= 0);
    int id3 = t2c_session_add_hook(s, &f3, T2C_HOOK_AFTER, logger, &both, &err);
    assert_true(id3 >= 0);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK);
    assert_string_equal(by_type.log, "A:fc1 A:fc2");
    assert_string_equal(by_glob.log, "B:rq1 B:rq2");
    assert_string_equal(both.log, "A:rq2");
    /* removed hooks are not called any more */
    assert_int_equal(t2c_session_remove_hook(s, id3), T2C_OK);
    assert_int_equal(t2c_session_remove_hook(s, id3), T2C_ERR_NOT_FOUND);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK);
    assert_string_equal(both.log, "A:rq2");
    assert_string_equal(by_type.log, "A:fc1 A:fc2 A:fc1 A:fc2");
    t2c_session_free(s);
    t2c_model_free(m);
}

static int inspect(const t2c_op_view *op, int when, void *user)
{
    record *r = user;
    if (strcmp(op->name, "fc1") != 0)
        return 0;
    /* roles and parameters are visible; attributes by name */
    if (op->n_inputs != 3 || strcmp(op->input_roles[0], "input") || strcmp(op->input_roles[1], "weight") ||
        strcmp(op->input_roles[2], "bias") || !op->inputs[1]->is_const || op->inputs[0]->is_const)
        return 1;
    if (strcmp(op->inputs[1]->name, "fc1.w") || op->inputs[1]->dims[0] != 3 || op->macs != 6)
        return 2;
    if (when == T2C_HOOK_BEFORE) {
        /* inputs are valid before the op runs */
        r->seen_out[0] = t2c_tensor_get_int(op->inputs[0], 0);
        r->seen_out[1] = t2c_tensor_get_int(op->inputs[0], 1);
    } else {
        for (int i = 0; i < 3; i++)
            r->seen_out[2 + i] = t2c_tensor_get_int(op->outputs[0], i);
    }
    r->calls++;
    return 0;
}

static void test_views_see_tensors(void **state)
{
    (void)state;
    t2c_model *m = build();
    t2c_session *s = session_with_input(m, -7, 100);
    record r = {0, "", -1, {0}};
    t2c_error err;
    assert_true(t2c_session_add_hook(s, NULL, T2C_HOOK_BEFORE | T2C_HOOK_AFTER, inspect, &r, &err) >= 0);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.seen_out[0], -7);
    assert_int_equal(r.seen_out[1], 100);
    assert_int_equal(r.seen_out[2], -7);
    assert_int_equal(r.seen_out[3], 100);
    assert_int_equal(r.seen_out[4], -7 + 100 - 10);
    const t2c_op_view *v = t2c_session_op(s, 1);
    assert_string_equal(v->type, "requantize");
    const t2c_attr *mult = t2c_op_attr(v, "multiplier");
    assert_non_null(mult);
    assert_int_equal(mult->type, T2C_ATTR_INTS);
    assert_int_equal(mult->v.ints[0], 1);
    assert_null(t2c_op_attr(v, "nope"));
    t2c_session_free(s);
    t2c_model_free(m);
}

static void test_hook_can_stop_run(void **state)
{
    (void)state;
    t2c_model *m = build();
    t2c_session *s = session_with_input(m, 1, 2);
    record r = {0, "", 2, {0}};
    t2c_error err;
    assert_true(t2c_session_add_hook(s, NULL, T2C_HOOK_AFTER, logger, &r, &err) >= 0);
    assert_int_equal(t2c_session_run(s, &err), T2C_ERR_HOOK);
    assert_string_equal(r.log, "A:fc1 A:rq1 A:relu1");
    assert_non_null(strstr(err.message, "op 'relu1' (relu)"));
    assert_non_null(strstr(err.message, "code 7"));
    t2c_session_free(s);
    t2c_model_free(m);
}

static void test_bad_hook_arguments(void **state)
{
    (void)state;
    t2c_model *m = build();
    t2c_session *s = session_with_input(m, 1, 2);
    t2c_error err;
    assert_int_equal(t2c_session_add_hook(s, NULL, 0, logger, NULL, &err), -1);
    assert_int_equal(err.status, T2C_ERR_INVALID_ARG);
    assert_int_equal(t2c_session_add_hook(s, NULL, T2C_HOOK_AFTER, NULL, NULL, &err), -1);
    assert_int_equal(t2c_session_add_hook(s, NULL, 8, logger, NULL, &err), -1);
    t2c_session_free(s);
    t2c_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_before_and_after),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_views_see_tensors),
        cmocka_unit_test(test_hook_can_stop_run),
        cmocka_unit_test(test_bad_hook_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
