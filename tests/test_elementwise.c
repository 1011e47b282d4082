/* test_elementwise.c — relu and clamp: hand-worked values (ops/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clamp.h"
#include "relu.h"

#include "op_test_scaffold.h"

/* ------------------------------------------------------------------ relu */

/* uint8, zero_point 128: max(x, 128). The output dtype and shape come from the input. */
static void test_relu_uint8_zero_point(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 5, 1};
    uint8_t xv[5] = {0, 127, 128, 129, 255}, yv[5] = {0};
    t2c_tensor x = make_tensor(T2C_UINT8, xv, 3, dims), y = make_tensor(T2C_DTYPE_INVALID, yv, 0, dims);
    const t2c_attr attrs[] = {ATTR_I("zero_point", 128)};
    t2c_relu_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_relu, &x, &y, attrs, 1, &p, &err), T2C_OK);
    assert_int_equal(y.dtype, T2C_UINT8);
    assert_dims(&y, 3, dims);
    static const uint8_t want[5] = {128, 128, 128, 129, 255};
    assert_memory_equal(yv, want, sizeof want);
}

/* int8 zero_point -5, int4 default 0, int32 extremes (kernel called directly). */
static void test_relu_signed(void **state)
{
    (void)state;
    static const int64_t d5[] = {1, 5}, d4[] = {1, 4};
    int8_t xv[5] = {-128, -6, -5, -4, 127}, yv[5] = {0};
    t2c_tensor x = make_tensor(T2C_INT8, xv, 2, d5), y = make_tensor(T2C_INT8, yv, 0, d5);
    const t2c_attr attrs[] = {ATTR_I("zero_point", -5)};
    t2c_relu_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_relu, &x, &y, attrs, 1, &p, &err), T2C_OK);
    static const int8_t want[5] = {-5, -5, -5, -4, 127};
    assert_memory_equal(yv, want, sizeof want);

    int8_t x4[4] = {-8, -1, 0, 7}, y4[4] = {0};
    t2c_tensor xi4 = make_tensor(T2C_INT4, x4, 2, d4), yi4 = make_tensor(T2C_INT4, y4, 0, d4);
    assert_int_equal(run1(&t2c_op_relu, &xi4, &yi4, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(p.zero_point, 0);
    static const int8_t want4[4] = {0, 0, 0, 7};
    assert_memory_equal(y4, want4, sizeof want4);

    int32_t x32[4] = {INT32_MIN, -1, 0, INT32_MAX}, y32[4] = {5, 5, 5, 5};
    t2c_tensor xi = make_tensor(T2C_INT32, x32, 2, d4), yi = make_tensor(T2C_INT32, y32, 2, d4);
    t2c_relu_params direct = {.zero_point = 0};
    assert_int_equal(t2c_relu_ref(&direct, &xi, &yi, NULL), T2C_OK);
    static const int32_t want32[4] = {0, 0, 0, INT32_MAX};
    assert_memory_equal(y32, want32, sizeof want32);
}

static void test_relu_prepare_errors(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 2};
    int8_t buf[4] = {0};
    t2c_relu_params p;
    t2c_error err;
    t2c_tensor x4 = make_tensor(T2C_INT4, buf, 2, dims), y = make_tensor(T2C_INT4, buf, 0, dims);
    const t2c_attr zp8[] = {ATTR_I("zero_point", 8)}, zpm9[] = {ATTR_I("zero_point", -9)};
    assert_int_equal(prep1(&t2c_op_relu, &x4, &y, zp8, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prep1(&t2c_op_relu, &x4, &y, zpm9, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr zp7[] = {ATTR_I("zero_point", 7)};
    assert_int_equal(prep1(&t2c_op_relu, &x4, &y, zp7, 1, &p, &err), T2C_OK);
    const t2c_attr zp_s[] = {ATTR_S("zero_point", "0")};
    assert_int_equal(prep1(&t2c_op_relu, &x4, &y, zp_s, 1, &p, &err), T2C_ERR_ATTR);
    t2c_tensor xf = make_tensor(T2C_FLOAT32, buf, 2, dims);
    assert_int_equal(prep1(&t2c_op_relu, &xf, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
    t2c_tensor x64 = make_tensor(T2C_INT64, buf, 2, dims);
    assert_int_equal(prep1(&t2c_op_relu, &x64, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
    t2c_tensor x16 = make_tensor(T2C_INT16, buf, 2, dims); /* "int activation or int32" */
    assert_int_equal(prep1(&t2c_op_relu, &x16, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
}

/* ------------------------------------------------------------------ clamp */

static void test_clamp_int8(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 7};
    int8_t xv[7] = {-128, -4, -3, 0, 4, 5, 127}, yv[7] = {0};
    t2c_tensor x = make_tensor(T2C_INT8, xv, 2, dims), y = make_tensor(T2C_DTYPE_INVALID, yv, 0, dims);
    const t2c_attr attrs[] = {ATTR_I("lo", -3), ATTR_I("hi", 4)};
    t2c_clamp_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_clamp, &x, &y, attrs, 2, &p, &err), T2C_OK);
    assert_int_equal(y.dtype, T2C_INT8);
    assert_dims(&y, 2, dims);
    static const int8_t want[7] = {-3, -3, -3, 0, 4, 4, 4};
    assert_memory_equal(yv, want, sizeof want);

    /* lo == hi: a constant */
    const t2c_attr same[] = {ATTR_I("lo", 9), ATTR_I("hi", 9)};
    assert_int_equal(run1(&t2c_op_clamp, &x, &y, same, 2, &p, &err), T2C_OK);
    static const int8_t nines[7] = {9, 9, 9, 9, 9, 9, 9};
    assert_memory_equal(yv, nines, sizeof nines);
}

/* int4 and uint4 limits: defaults are the dtype range; the bounds themselves are legal. */
static void test_clamp_int4(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 6};
    int8_t xv[6] = {-8, -7, -1, 0, 6, 7}, yv[6] = {0};
    t2c_tensor x = make_tensor(T2C_INT4, xv, 2, dims), y = make_tensor(T2C_INT4, yv, 0, dims);
    t2c_clamp_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_clamp, &x, &y, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(p.lo, -8);
    assert_int_equal(p.hi, 7);
    assert_memory_equal(yv, xv, sizeof xv);
    const t2c_attr lims[] = {ATTR_I("lo", -8), ATTR_I("hi", 7)};
    assert_int_equal(prep1(&t2c_op_clamp, &x, &y, lims, 2, &p, &err), T2C_OK);
    const t2c_attr lo_m7[] = {ATTR_I("lo", -7), ATTR_I("hi", 6)};
    assert_int_equal(run1(&t2c_op_clamp, &x, &y, lo_m7, 2, &p, &err), T2C_OK);
    static const int8_t want[6] = {-7, -7, -1, 0, 6, 6};
    assert_memory_equal(yv, want, sizeof want);

    uint8_t ux[6] = {0, 1, 2, 13, 14, 15}, uy[6] = {0};
    t2c_tensor xu = make_tensor(T2C_UINT4, ux, 2, dims), yu = make_tensor(T2C_UINT4, uy, 0, dims);
    const t2c_attr u[] = {ATTR_I("lo", 2), ATTR_I("hi", 13)};
    assert_int_equal(run1(&t2c_op_clamp, &xu, &yu, u, 2, &p, &err), T2C_OK);
    static const uint8_t uwant[6] = {2, 2, 2, 13, 13, 13};
    assert_memory_equal(uy, uwant, sizeof uwant);
    const t2c_attr u_hi16[] = {ATTR_I("hi", 16)}, u_lo_neg[] = {ATTR_I("lo", -1)};
    assert_int_equal(prep1(&t2c_op_clamp, &xu, &yu, u_hi16, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prep1(&t2c_op_clamp, &xu, &yu, u_lo_neg, 1, &p, &err), T2C_ERR_ATTR);
}

/* int32 range, kernel called directly. */
static void test_clamp_int32_direct(void **state)
{
    (void)state;
    static const int64_t dims[] = {3};
    int32_t xv[3] = {INT32_MIN, 1000, INT32_MAX}, yv[3] = {0};
    t2c_tensor x = make_tensor(T2C_INT32, xv, 1, dims), y = make_tensor(T2C_INT32, yv, 1, dims);
    t2c_clamp_params p = {.lo = -7, .hi = 999};
    assert_int_equal(t2c_clamp_ref(&p, &x, &y, NULL), T2C_OK);
    static const int32_t want[3] = {-7, 999, 999};
    assert_memory_equal(yv, want, sizeof want);
}

static void test_clamp_prepare_errors(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 2};
    int8_t buf[4] = {0};
    t2c_clamp_params p;
    t2c_error err;
    t2c_tensor x4 = make_tensor(T2C_INT4, buf, 2, dims), y = make_tensor(T2C_INT4, buf, 0, dims);
    const t2c_attr lo9[] = {ATTR_I("lo", -9)}, hi8[] = {ATTR_I("hi", 8)};
    assert_int_equal(prep1(&t2c_op_clamp, &x4, &y, lo9, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prep1(&t2c_op_clamp, &x4, &y, hi8, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr swapped[] = {ATTR_I("lo", 3), ATTR_I("hi", 2)};
    assert_int_equal(prep1(&t2c_op_clamp, &x4, &y, swapped, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr lo_only[] = {ATTR_I("lo", 7)}; /* hi defaults to 7 */
    assert_int_equal(prep1(&t2c_op_clamp, &x4, &y, lo_only, 1, &p, &err), T2C_OK);
    const t2c_attr arr[] = {ATTR_INTS("lo", dims)};
    assert_int_equal(prep1(&t2c_op_clamp, &x4, &y, arr, 1, &p, &err), T2C_ERR_ATTR);
    t2c_tensor xf = make_tensor(T2C_FLOAT32, buf, 2, dims);
    assert_int_equal(prep1(&t2c_op_clamp, &xf, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_uint8_zero_point),
        cmocka_unit_test(test_relu_signed),
        cmocka_unit_test(test_relu_prepare_errors),
        cmocka_unit_test(test_clamp_int8),
        cmocka_unit_test(test_clamp_int4),
        cmocka_unit_test(test_clamp_int32_direct),
        cmocka_unit_test(test_clamp_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
