/* test_maxpool2d_f32.c — maxpool2d_f32: max of binary32 values, NaN propagates, first of equals wins. */
#include "f32_op_scaffold.h"
#include "maxpool2d_f32.h"

static t2c_status pool(t2c_tensor *x, t2c_tensor *y, const t2c_attr *a, int na, t2c_error *err)
{
    t2c_maxpool2d_f32_params p;
    t2c_tensor *ins[1] = {x};
    return op_call(&t2c_op_maxpool2d_f32, ins, 1, y, a, na, &p, 1, err);
}

/* ResNet's stem pool (3x3, stride 2, pads 1) on a 4x4 all-negative plane: padding never wins, so
 * every result is negative. x[h][w] = -(4h + w + 1) - 0.5, so a window's max is its top-left
 * in-input element. */
static void test_stem_pool_negative(void **state)
{
    (void)state;
    float xv[16], yv[4];
    for (int i = 0; i < 16; i++)
        xv[i] = -(float)(i + 1) - 0.5f;
    const int64_t d[] = {1, 1, 4, 4};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 4, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    static const int64_t k[] = {3, 3}, s[] = {2, 2}, pads[] = {1, 1, 1, 1};
    t2c_attr a[] = {ATTR_INTS("kernel", k), ATTR_INTS("strides", s), ATTR_INTS("pads", pads)};
    t2c_error err;
    assert_int_equal(pool(&x, &y, a, N_OF(a), &err), T2C_OK);
    assert_int_equal(y.dims[2], 2);
    assert_int_equal(y.dims[3], 2);
    /* windows start at (h, w) = (0,0), (0,1), (1,0), (1,1) of the input */
    const float want[4] = {-1.5f, -2.5f, -5.5f, -6.5f};
    assert_floats(yv, want, 4);
}

/* 1x2 windows: [-0.0, +0.0] -> -0.0 and [+0.0, -0.0] -> +0.0 (the first of equals), [1, NaN] -> NaN,
 * [NaN, 3] -> NaN, [-inf, -3e38] -> -3e38. */
static void test_zero_sign_and_nan(void **state)
{
    (void)state;
    float xv[10] = {-0.0f, 0.0f, 0.0f, -0.0f, 1.0f, NAN, NAN, 3.0f, -INFINITY, -3e38f};
    float yv[5];
    const int64_t d[] = {1, 1, 1, 10};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 4, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    static const int64_t k[] = {1, 2};
    t2c_attr a[] = {ATTR_INTS("kernel", k)};
    t2c_error err;
    assert_int_equal(pool(&x, &y, a, N_OF(a), &err), T2C_OK);
    assert_float_bits(yv[0], -0.0f);
    assert_float_bits(yv[1], 0.0f);
    assert_true(isnan(yv[2]));
    assert_true(isnan(yv[3]));
    assert_float_bits(yv[4], -3e38f);
}

static void test_prepare_errors(void **state)
{
    (void)state;
    int8_t i8[16] = {0};
    float f[16] = {0}, yv[16];
    const int64_t d[] = {1, 1, 4, 4}, d3[] = {1, 4, 4};
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    static const int64_t k[] = {2, 2}, big_pad[] = {2, 0, 0, 0};
    t2c_attr a[] = {ATTR_INTS("kernel", k)};
    t2c_error err;
    t2c_tensor xi = make_tensor(T2C_INT8, i8, 4, d);
    assert_int_equal(pool(&xi, &y, a, 1, &err), T2C_ERR_DTYPE);
    t2c_tensor x3 = make_tensor(T2C_FLOAT32, f, 3, d3);
    assert_int_equal(pool(&x3, &y, a, 1, &err), T2C_ERR_SHAPE);
    t2c_tensor x = make_tensor(T2C_FLOAT32, f, 4, d);
    assert_int_equal(pool(&x, &y, NULL, 0, &err), T2C_ERR_ATTR); /* kernel is required */
    t2c_attr ap[] = {ATTR_INTS("kernel", k), ATTR_INTS("pads", big_pad)};
    assert_int_equal(pool(&x, &y, ap, 2, &err), T2C_ERR_ATTR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stem_pool_negative),
        cmocka_unit_test(test_zero_sign_and_nan),
        cmocka_unit_test(test_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
