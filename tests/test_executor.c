/* test_executor.c — graph validation at load, planned memory, batches, error propagation.
 * Models are built in memory with the C writer; expected values are worked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_internal.h"
#include "t2c.h"
#include "t2c_container.h"

/* ---- tiny model builder ---- */
static t2c_attr ai(const char *n, int64_t v) { t2c_attr a = {n, T2C_ATTR_INT, 1, {.i = v}}; return a; }
static t2c_attr as(const char *n, const char *v) { t2c_attr a = {n, T2C_ATTR_STRING, (int64_t)strlen(v), {.s = v}}; return a; }
static t2c_attr ais(const char *n, const int64_t *v, int64_t c) { t2c_attr a = {n, T2C_ATTR_INTS, c, {.ints = v}}; return a; }

static void tensor(t2c_writer *w, const char *name, t2c_dtype dt, int rank, const int64_t *dims, const void *data)
{
    t2c_error err;
    assert_int_equal(t2c_writer_tensor(w, name, dt, rank, dims, data, 0, &err), T2C_OK);
}

static void op(t2c_writer *w, const char *type, const char *name, int ni, const char *const *in, const char *out,
               int na, const t2c_attr *attrs)
{
    t2c_error err;
    const char *outs[1] = {out};
    assert_int_equal(t2c_writer_op(w, type, name, ni, in, 1, outs, na, attrs, &err), T2C_OK);
}

static t2c_status load(t2c_writer *w, t2c_model **m, t2c_error *err)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    t2c_error werr;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &size, &werr), T2C_OK);
    t2c_status st = t2c_model_load_buffer(buf, size, "test.t2c", NULL, m, err);
    free(buf);
    t2c_writer_free(w);
    return st;
}

/* x int8 [1,1,2,3] -> conv2d 1x1 (w = 2, bias 1, x_zp = 1) -> requantize (M=1, S=1, half_even, zp=0)
 * -> relu -> y int8 [1,1,2,3]. */
static t2c_writer *small_net(int64_t c)
{
    t2c_writer *w = t2c_writer_new();
    int64_t xd[4] = {1, c, 2, 3}, wd[4] = {c, 1, 1, 1}, bd[1] = {c}, ad[4] = {1, c, 2, 3};
    int8_t wv[8] = {2, -3, 1, 1, 1, 1, 1, 1};
    int32_t bv[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    int64_t mult[1] = {1}, shift[1] = {1};
    tensor(w, "x", T2C_INT8, 4, xd, NULL);
    tensor(w, "w", T2C_INT8, 4, wd, wv);
    tensor(w, "b", T2C_INT32, 1, bd, bv);
    tensor(w, "acc", T2C_INT32, 4, ad, NULL);
    tensor(w, "q", T2C_INT8, 4, ad, NULL);
    tensor(w, "y", T2C_INT8, 4, ad, NULL);
    const char *cin[3] = {"x", "w", "b"}, *rin[1] = {"acc"}, *lin[1] = {"q"};
    t2c_attr cat[2] = {ai("x_zero_point", 1), ai("group", c)};
    t2c_attr rat[3] = {ais("multiplier", mult, 1), ais("shift", shift, 1), as("rounding", "half_even")};
    op(w, "conv2d", "conv", 3, cin, "acc", 2, cat);
    op(w, "requantize", "rq", 1, rin, "q", 3, rat);
    op(w, "relu", "relu", 1, lin, "y", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    assert_int_equal(t2c_writer_graph_io(w, 1, gi, 1, go, &err), T2C_OK);
    return w;
}

static void test_small_net_hand_worked(void **state)
{
    (void)state;
    t2c_model *m = NULL;
    t2c_error err;
    assert_int_equal(load(small_net(1), &m, &err), T2C_OK);
    t2c_session *s = NULL;
    assert_int_equal(t2c_session_create(m, 1, &s, &err), T2C_OK);
    t2c_tensor *x = t2c_session_input(s, 0);
    int8_t xv[6] = {-128, 0, 1, 2, 3, 127};
    memcpy(x->data, xv, 6);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK);
    /* acc = 1 + 2*(x-1): -257, -1, 1, 3, 5, 253; /2 half-even: -128.5->-128, -0.5->0 (tie to even 0),
     * 0.5->0, 1.5->2, 2.5->2, 126.5->126; relu(0): 0,0,0,2,2,126 */
    const t2c_tensor *y = t2c_session_output(s, 0);
    int8_t want[6] = {0, 0, 0, 2, 2, 126};
    assert_memory_equal(y->data, want, 6);
    const t2c_tensor *acc = t2c_session_tensor(s, "acc");
    assert_non_null(acc);
    t2c_session_free(s);
    /* The input buffer is never reused by the plan (with ref nothing is fused, so q could otherwise
     * take x's slot): after a run it still holds x, and a second run without refilling agrees. */
    static const char *const backends[2] = {"ref", "auto"};
    for (int b = 0; b < 2; b++) {
        t2c_session_options o = {1, 1, backends[b]};
        assert_int_equal(t2c_session_create_ex(m, &o, &s, &err), T2C_OK);
        x = t2c_session_input(s, 0);
        memcpy(x->data, xv, 6);
        for (int run = 0; run < 2; run++) {
            assert_int_equal(t2c_session_run(s, &err), T2C_OK);
            assert_memory_equal(x->data, xv, 6);
            assert_memory_equal(t2c_session_output(s, 0)->data, want, 6);
        }
        t2c_session_free(s);
    }
    t2c_model_free(m);
}

static void test_batch_equals_single(void **state)
{
    (void)state;
    t2c_model *m = NULL;
    t2c_error err;
    assert_int_equal(load(small_net(2), &m, &err), T2C_OK);
    t2c_session *s1 = NULL, *s3 = NULL;
    assert_int_equal(t2c_session_create(m, 1, &s1, &err), T2C_OK);
    assert_int_equal(t2c_session_create(m, 3, &s3, &err), T2C_OK);
    assert_int_equal(t2c_session_input(s3, 0)->dims[0], 3);
    assert_int_equal(t2c_session_output(s3, 0)->dims[0], 3);
    int8_t xs[3][12];
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < 12; i++)
            xs[b][i] = (int8_t)(b * 37 + i * 19 - 100);
    memcpy(t2c_session_input(s3, 0)->data, xs, sizeof xs);
    assert_int_equal(t2c_session_run(s3, &err), T2C_OK);
    for (int b = 0; b < 3; b++) {
        memcpy(t2c_session_input(s1, 0)->data, xs[b], 12);
        assert_int_equal(t2c_session_run(s1, &err), T2C_OK);
        assert_memory_equal(t2c_session_output(s1, 0)->data, (int8_t *)t2c_session_output(s3, 0)->data + 12 * b, 12);
    }
    /* channel 1 has weight -3, bias 0: x = xs[0][6] = 14 -> acc = -3*13 = -39 -> /2 = -19.5 -> -20 -> relu 0 */
    assert_int_equal(((int8_t *)t2c_session_output(s3, 0)->data)[6], 0);
    t2c_session_free(s1);
    t2c_session_free(s3);
    t2c_model_free(m);
}

static void test_memory_plan_reuses_buffers(void **state)
{
    (void)state;
    /* a chain a -> b -> c -> d -> e of 1000-byte buffers needs two live at a time */
    t2c_plan_item it[5];
    for (int i = 0; i < 5; i++) {
        it[i].size = 1000;
        it[i].first = i - 1;
        it[i].last = i;
    }
    uint64_t arena = t2c_memory_plan(it, 5);
    assert_int_equal(arena, 2 * 1024);
    for (int i = 1; i < 5; i++)
        assert_true(it[i].offset != it[i - 1].offset);
    /* everything alive at once: no reuse */
    for (int i = 0; i < 5; i++) {
        it[i].first = -1;
        it[i].last = 10;
    }
    assert_int_equal(t2c_memory_plan(it, 5), 5 * 1024);
}

static void test_session_memory_report(void **state)
{
    (void)state;
    t2c_model *m = NULL;
    t2c_error err;
    assert_int_equal(load(small_net(1), &m, &err), T2C_OK);
    t2c_session *s = NULL;
    assert_int_equal(t2c_session_create(m, 4, &s, &err), T2C_OK);
    t2c_memory_report r;
    t2c_session_memory(s, &r);
    /* batch 4: x 24 B, acc 96 B, q 24 B, y 24 B */
    assert_int_equal(r.activation_sum_bytes, 24 + 96 + 24 + 24);
    assert_true(r.activation_peak_bytes < 4 * 128);
    assert_int_equal(r.parameter_bytes, 1 + 4);
    t2c_session_free(s);
    t2c_model_free(m);
}

/* ---- graph validation: each broken model gives its own one-line error ---- */

static void expect_load_error(t2c_writer *w, t2c_status want, const char *needle)
{
    t2c_model *m = NULL;
    t2c_error err;
    t2c_status st = load(w, &m, &err);
    if (st != want || !strstr(err.message, needle))
        fail_msg("status %d message '%s' (wanted %d and '%s')", st, err.message, want, needle);
    assert_null(m);
    assert_null(strchr(err.message, '\n'));
    assert_true(strncmp(err.message, "test.t2c: ", 10) == 0);
}

static t2c_writer *two_op_base(t2c_writer *w, const char *relu_in, const char *clamp_out)
{
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "h", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, d, NULL);
    const char *in1[1] = {relu_in}, *in2[1] = {"h"};
    op(w, "relu", "r", 1, in1, "h", 0, NULL);
    op(w, "clamp", "c", 1, in2, clamp_out, 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    return w;
}

static void test_rejects_dangling_input(void **state)
{
    (void)state;
    expect_load_error(two_op_base(t2c_writer_new(), "nope", "y"), T2C_ERR_FORMAT, "input 'nope' is not in the tensor table");
}

static void test_rejects_double_write(void **state)
{
    (void)state;
    expect_load_error(two_op_base(t2c_writer_new(), "x", "h"), T2C_ERR_FORMAT, "already written by op 'r'");
}

static void test_rejects_read_before_write(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "h", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, d, NULL);
    const char *in1[1] = {"h"}, *in2[1] = {"x"};
    op(w, "relu", "first", 1, in1, "y", 0, NULL);
    op(w, "relu", "second", 1, in2, "h", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_FORMAT, "read before any op writes it");
}

static void test_rejects_unknown_op(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, d, NULL);
    const char *in[1] = {"x"};
    op(w, "softmax_magic", "s", 1, in, "y", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_UNSUPPORTED, "unknown op type 'softmax_magic'");
}

static void test_rejects_declared_shape_mismatch(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4}, bad[2] = {1, 5};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, bad, NULL);
    const char *in[1] = {"x"};
    op(w, "relu", "r", 1, in, "y", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_SHAPE, "output 'y' is declared int8 [1, 5] but the op produces int8 [1, 4]");
}

static void test_rejects_dtype_mismatch(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT16, 2, d, NULL);
    const char *in[1] = {"x"};
    op(w, "relu", "r", 1, in, "y", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_SHAPE, "output 'y' is declared int16");
}

static void test_rejects_wrong_input_count(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, d, NULL);
    const char *in[2] = {"x", "x"};
    op(w, "relu", "r", 2, in, "y", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_FORMAT, "op 'r' (relu): 2 inputs and 1 outputs");
}

static void test_rejects_bad_attribute(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT32, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, d, NULL);
    const char *in[1] = {"x"};
    int64_t mult[1] = {1}, shift[1] = {1};
    t2c_attr at[3] = {ais("multiplier", mult, 1), ais("shift", shift, 1), as("rounding", "nearest-ish")};
    op(w, "requantize", "rq", 1, in, "y", 3, at);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_ATTR, "op 'rq' (requantize): attribute 'rounding' = 'nearest-ish' is not one of");
}

static void test_rejects_unwritten_activation(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    int64_t d[2] = {1, 4};
    tensor(w, "x", T2C_INT8, 2, d, NULL);
    tensor(w, "orphan", T2C_INT8, 2, d, NULL);
    tensor(w, "y", T2C_INT8, 2, d, NULL);
    const char *in[1] = {"x"};
    op(w, "relu", "r", 1, in, "y", 0, NULL);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    expect_load_error(w, T2C_ERR_FORMAT, "tensor 'orphan' has no payload and no op writes it");
}

static void test_overflow_error_names_op(void **state)
{
    (void)state;
    /* linear with an 8-bit accumulator: 127*127 overflows at once */
    t2c_writer *w = t2c_writer_new();
    int64_t xd[2] = {1, 2}, wd[2] = {1, 2}, yd[2] = {1, 1};
    int8_t wv[2] = {127, 1};
    tensor(w, "x", T2C_INT8, 2, xd, NULL);
    tensor(w, "w", T2C_INT8, 2, wd, wv);
    tensor(w, "y", T2C_INT32, 2, yd, NULL);
    const char *in[2] = {"x", "w"};
    t2c_attr at[2] = {ai("acc_bits", 8), as("overflow", "error")};
    op(w, "linear", "fc", 2, in, "y", 2, at);
    const char *gi[1] = {"x"}, *go[1] = {"y"};
    t2c_error err;
    t2c_writer_graph_io(w, 1, gi, 1, go, &err);
    t2c_model *m = NULL;
    assert_int_equal(load(w, &m, &err), T2C_OK);
    t2c_session *s = NULL;
    assert_int_equal(t2c_session_create(m, 1, &s, &err), T2C_OK);
    int8_t xv[2] = {1, 0};
    memcpy(t2c_session_input(s, 0)->data, xv, 2);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK); /* 127 fits in 8 bits */
    xv[0] = 2;
    memcpy(t2c_session_input(s, 0)->data, xv, 2);
    assert_int_equal(t2c_session_run(s, &err), T2C_ERR_OVERFLOW); /* 254 does not */
    assert_non_null(strstr(err.message, "op 'fc' (linear)"));
    t2c_session_free(s);
    t2c_model_free(m);
}

static void test_bad_batch_and_free_null(void **state)
{
    (void)state;
    t2c_model *m = NULL;
    t2c_error err;
    assert_int_equal(load(small_net(1), &m, &err), T2C_OK);
    t2c_session *s = NULL;
    assert_int_equal(t2c_session_create(m, 0, &s, &err), T2C_ERR_INVALID_ARG);
    assert_null(s);
    t2c_session_free(NULL);
    t2c_model_free(NULL);
    t2c_model *missing = NULL;
    assert_int_equal(t2c_model_load_file("/nonexistent/model.t2c", NULL, &missing, &err), T2C_ERR_IO);
    assert_null(missing);
    assert_non_null(strstr(err.message, "/nonexistent/model.t2c"));
    t2c_model_free(m);
}


static void test_run_op_alone_with_overrides(void **state)
{
    (void)state;
    t2c_model *m = NULL;
    t2c_error err;
    assert_int_equal(load(small_net(1), &m, &err), T2C_OK);
    t2c_session *s = NULL;
    assert_int_equal(t2c_session_create(m, 1, &s, &err), T2C_OK);
    /* requantize (op 1) on a hand-made accumulator: /2 with ties */
    int32_t acc[6] = {-3, -1, 1, 3, 5, 7};
    t2c_tensor in = {"acc", T2C_INT32, 4, {1, 1, 2, 3}, acc, 0};
    const t2c_tensor *ins[1] = {&in};
    int8_t out[6];
    t2c_tensor y = {0};
    y.data = out;
    t2c_tensor *outs[1] = {&y};
    size_t cap[1] = {sizeof out};
    assert_int_equal(t2c_session_run_op(s, 1, ins, NULL, 0, outs, cap, &err), T2C_OK);
    int8_t even[6] = {-2, 0, 0, 2, 2, 4}; /* -1.5 -0.5 0.5 1.5 2.5 3.5 half-even */
    assert_memory_equal(out, even, 6);
    assert_int_equal(y.dtype, T2C_INT8);
    assert_int_equal(y.dims[3], 3);
    t2c_attr up = as("rounding", "half_up");
    assert_int_equal(t2c_session_run_op(s, 1, ins, &up, 1, outs, cap, &err), T2C_OK);
    int8_t halfup[6] = {-1, 0, 1, 2, 3, 4};
    assert_memory_equal(out, halfup, 6);
    t2c_attr sh = ai("shift", 0); /* wrong type: shift is an int array */
    assert_int_equal(t2c_session_run_op(s, 1, ins, &sh, 1, outs, cap, &err), T2C_ERR_ATTR);
    assert_non_null(strstr(err.message, "op 'rq' (requantize)"));
    cap[0] = 5;
    assert_int_equal(t2c_session_run_op(s, 1, ins, NULL, 0, outs, cap, &err), T2C_ERR_INVALID_ARG);
    t2c_session_free(s);
    t2c_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_net_hand_worked),
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_memory_plan_reuses_buffers),
        cmocka_unit_test(test_session_memory_report),
        cmocka_unit_test(test_rejects_dangling_input),
        cmocka_unit_test(test_rejects_double_write),
        cmocka_unit_test(test_rejects_read_before_write),
        cmocka_unit_test(test_rejects_unknown_op),
        cmocka_unit_test(test_rejects_declared_shape_mismatch),
        cmocka_unit_test(test_rejects_dtype_mismatch),
        cmocka_unit_test(test_rejects_wrong_input_count),
        cmocka_unit_test(test_rejects_bad_attribute),
        cmocka_unit_test(test_rejects_unwritten_activation),
        cmocka_unit_test(test_overflow_error_names_op),
        cmocka_unit_test(test_bad_batch_and_free_null),
        cmocka_unit_test(test_run_op_alone_with_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
