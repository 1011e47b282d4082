/* test_add_f32.c — add_f32: one binary32 addition, optional relu (ops/README.md). */
#include "add_f32.h"
#include "f32_op_scaffold.h"

static t2c_status add(t2c_tensor *a, t2c_tensor *b, t2c_tensor *y, const t2c_attr *at, int na, t2c_error *err)
{
    t2c_add_f32_params p;
    t2c_tensor *ins[2] = {a, b};
    return op_call(&t2c_op_add_f32, ins, 2, y, at, na, &p, 1, err);
}

/* Ties to even: 1 + 2^-24 -> 1; (1 + 2^-23) + 2^-24 -> 1 + 2^-22; 2^24 + 1 -> 2^24; 2^24 + 3 -> 2^24 + 4.
 * Exact cases: 0.5 + -2.25 = -1.75; -0.0 + -0.0 = -0.0; 1 + -1 = +0.0. */
static void test_rounding(void **state)
{
    (void)state;
    float av[7] = {1.0f, 1.0f + 0x1p-23f, 16777216.0f, 16777216.0f, 0.5f, -0.0f, 1.0f};
    float bv[7] = {0x1p-24f, 0x1p-24f, 1.0f, 3.0f, -2.25f, -0.0f, -1.0f};
    float yv[7];
    const int64_t d[] = {1, 7};
    t2c_tensor a = make_tensor(T2C_FLOAT32, av, 2, d), b = make_tensor(T2C_FLOAT32, bv, 2, d);
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(add(&a, &b, &y, NULL, 0, &err), T2C_OK);
    const float want[7] = {1.0f, 1.0f + 0x1p-22f, 16777216.0f, 16777220.0f, -1.75f, -0.0f, 0.0f};
    assert_floats(yv, want, 7);
    /* relu: -1.75 -> +0.0, -0.0 stays -0.0 */
    t2c_attr r[] = {ATTR_I("relu", 1)};
    assert_int_equal(add(&a, &b, &y, r, 1, &err), T2C_OK);
    const float wantr[7] = {1.0f, 1.0f + 0x1p-22f, 16777216.0f, 16777220.0f, 0.0f, -0.0f, 0.0f};
    assert_floats(yv, wantr, 7);
}

static void test_nan_passes_relu(void **state)
{
    (void)state;
    float av[2] = {NAN, -INFINITY}, bv[2] = {1.0f, 5.0f}, yv[2];
    const int64_t d[] = {2};
    t2c_tensor a = make_tensor(T2C_FLOAT32, av, 1, d), b = make_tensor(T2C_FLOAT32, bv, 1, d);
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_attr r[] = {ATTR_I("relu", 1)};
    t2c_error err;
    assert_int_equal(add(&a, &b, &y, r, 1, &err), T2C_OK);
    assert_true(isnan(yv[0]));
    assert_float_bits(yv[1], 0.0f);
}

static void test_prepare_errors(void **state)
{
    (void)state;
    float f[6] = {0};
    int8_t i8[6] = {0};
    float yv[6];
    const int64_t d23[] = {2, 3}, d32[] = {3, 2};
    t2c_tensor a = make_tensor(T2C_FLOAT32, f, 2, d23), b = make_tensor(T2C_FLOAT32, f, 2, d32);
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(add(&a, &b, &y, NULL, 0, &err), T2C_ERR_SHAPE);
    assert_non_null(strstr(err.message, "[2, 3]"));
    t2c_tensor bi = make_tensor(T2C_INT8, i8, 2, d23);
    assert_int_equal(add(&a, &bi, &y, NULL, 0, &err), T2C_ERR_DTYPE);
    t2c_attr r[] = {ATTR_I("relu", 2)};
    assert_int_equal(add(&a, &a, &y, r, 1, &err), T2C_ERR_ATTR);
    t2c_tensor yi = make_tensor(T2C_INT16, i8, 0, NULL);
    assert_int_equal(add(&a, &a, &yi, NULL, 0, &err), T2C_ERR_DTYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_nan_passes_relu),
        cmocka_unit_test(test_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
