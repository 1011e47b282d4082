/* test_op_api.c — the one-op API (engine/t2c_op_api.h): configure once, call per transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "t2c_op_api.h"

/* requantize x * 2^30 / 2^31 = x / 2 with each rounding, zp -3, int8 output. */
static void requant_modes(void **state)
{
    (void)state;
    static const struct { const char *mode; int32_t y[6]; } cases[] = {
        /* x:          3 (1.5)  -3 (-1.5)  5 (2.5)  -5 (-2.5)  1000   -1000 */
        {"half_even", {2 - 3, -2 - 3, 2 - 3, -2 - 3, 127, -128}},
        {"half_up", {2 - 3, -1 - 3, 3 - 3, -2 - 3, 127, -128}},
        {"half_away", {2 - 3, -2 - 3, 3 - 3, -3 - 3, 127, -128}},
        {"floor", {1 - 3, -2 - 3, 2 - 3, -3 - 3, 127, -128}},
        /* tflite, shift 31 -> L = R = 0: SRDHM(x, 2^30) = trunc((x*2^30 + nudge) / 2^31) with
         * nudge 2^30 / 1 - 2^30: 1.5 -> 2, -1.5 -> trunc(-2 + 2^-31) = -1, 2.5 -> 3, -2.5 -> -2 */
        {"tflite", {2 - 3, -1 - 3, 3 - 3, -2 - 3, 127, -128}},
    };
    const int32_t x[6] = {3, -3, 5, -5, 1000, -1000};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char attrs[160];
        snprintf(attrs, sizeof attrs, "multiplier=[1073741824]; shift=[31]; zero_point=-3; rounding=%s",
                 cases[c].mode);
        t2c_error err;
        t2c_op_handle *h = t2c_op_create("requantize", attrs, "int32[1,6]", "int8", &err);
        assert_non_null(h);
        assert_int_equal(t2c_op_output(h, 0)->dtype, T2C_INT8);
        assert_int_equal(t2c_op_output_numel(h, 0), 6);
        assert_int_equal(t2c_op_set_input_int(h, 0, x, 6, &err), T2C_OK);
        assert_int_equal(t2c_op_run(h, &err), T2C_OK);
        int32_t y[6];
        assert_int_equal(t2c_op_get_output_int(h, 0, y, 6, &err), T2C_OK);
        for (int i = 0; i < 6; i++) {
            if (y[i] != cases[c].y[i])
                fail_msg("%s x=%d: got %d, expected %d", cases[c].mode, x[i], y[i], cases[c].y[i]);
        }
        t2c_op_free(h);
    }
}

/* linear with int4 weights set once, int8 activations per call; odd K = 3, no bias. */
static void linear_params_once(void **state)
{
    (void)state;
    t2c_error err;
    t2c_op_handle *h = t2c_op_create("linear", "x_zero_point=-2; w_zero_point=1", "int8[1,3]; int4[2,3]; -", "",
                                     &err);
    if (!h)
        fail_msg("%s", err.message);
    assert_int_equal(t2c_op_input_count(h), 3);
    assert_null(t2c_op_input(h, 2));
    assert_int_equal(t2c_op_output(h, 0)->dtype, T2C_INT32);
    const int8_t w[6] = {7, -8, 0, 1, 1, 1}; /* minus w_zp 1: {6,-9,-1}, {0,0,0} */
    assert_int_equal(t2c_op_set_param(h, 1, w, &err), T2C_OK);
    const int8_t x1[3] = {127, -128, 0};      /* minus x_zp -2: {129, -126, 2} */
    int32_t y[2];
    void *outs[1] = {y};
    const void *ins1[3] = {x1, NULL, NULL};
    assert_int_equal(t2c_op_call(h, ins1, outs, &err), T2C_OK);
    assert_int_equal(y[0], 129 * 6 + (-126) * (-9) + 2 * (-1)); /* 1906 */
    assert_int_equal(y[1], 0);
    const int8_t x2[3] = {-2, -2, -2};
    const void *ins2[3] = {x2, NULL, NULL};
    assert_int_equal(t2c_op_call(h, ins2, outs, &err), T2C_OK);
    assert_int_equal(y[0], 0);
    /* an int4 weight out of range is refused, the stored one stays */
    const int8_t bad[6] = {8, 0, 0, 0, 0, 0};
    assert_int_equal(t2c_op_set_param(h, 1, bad, &err), T2C_ERR_INVALID_ARG);
    assert_true(strlen(t2c_op_last_error(h)) > 0);
    assert_int_equal(t2c_op_call(h, ins1, outs, &err), T2C_OK);
    assert_int_equal(y[0], 1906);
    assert_string_equal(t2c_op_last_error(h), "");
    t2c_op_free(h);
}

static void errors(void **state)
{
    (void)state;
    t2c_error err;
    assert_null(t2c_op_create("nope", "", "int8[1]", "", &err));
    assert_int_equal(err.status, T2C_ERR_UNSUPPORTED);
    assert_null(t2c_op_create("requantize", "multiplier=[1]; shift=[63]", "int32[1,1]", "int8", &err));
    assert_int_equal(err.status, T2C_ERR_ATTR);
    assert_null(t2c_op_create("requantize", "multiplier=[1]; shift=[3]", "int32[1,x]", "int8", &err));
    assert_int_equal(err.status, T2C_ERR_SHAPE);
    assert_null(t2c_op_create("requantize", "multiplier=[1]; shift", "int32[1,1]", "int8", &err));
    assert_int_equal(err.status, T2C_ERR_ATTR);
    assert_null(t2c_op_create("linear", "", "int8[1,3]", "", &err)); /* too few inputs */
    assert_int_equal(err.status, T2C_ERR_INVALID_ARG);
    t2c_op_handle *h = t2c_op_create("requantize", "multiplier=[1]; shift=[0]", "int32[1,2]", "int8", &err);
    assert_non_null(h);
    int32_t y[2];
    assert_int_equal(t2c_op_run(h, &err), T2C_ERR_INVALID_ARG); /* input never set */
    const int32_t x[2] = {1, 2};
    assert_int_equal(t2c_op_set_input_int(h, 0, x, 3, &err), T2C_ERR_SHAPE);
    assert_int_equal(t2c_op_get_output_int(h, 0, y, 1, &err), T2C_ERR_SHAPE);
    t2c_op_free(h);
    h = t2c_op_create("requantize", "multiplier=[1]; shift=[0]", "int8[1,2]", "int8", &err);
    const int32_t big[2] = {1, 128};
    assert_int_equal(t2c_op_set_input_int(h, 0, big, 2, &err), T2C_ERR_INVALID_ARG);
    t2c_op_free(h);
    t2c_op_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requant_modes),
        cmocka_unit_test(linear_params_once),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
