/* test_mulshift_f32.c — mulshift_f32: Torch2Chip's MulShift as separate binary32 steps (ops/README.md). */
#include "f32_op_scaffold.h"
#include "mulshift_f32.h"

static t2c_status ms(t2c_tensor *x, t2c_tensor *y, const t2c_attr *a, int na, t2c_error *err)
{
    t2c_mulshift_f32_params p;
    t2c_tensor *ins[1] = {x};
    return op_call(&t2c_op_mulshift_f32, ins, 1, y, a, na, &p, 1, err);
}

/* 3 * 0x1.555556p-2 = 1 + 2^-25 exactly, which rounds to 1.0; adding -1 then gives +0.0. A fused
 * multiply-add would keep 2^-25. */
static void test_multiply_then_add(void **state)
{
    (void)state;
    int32_t xv[2] = {3, -3};
    float yv[2];
    const int64_t d[] = {1, 2};
    t2c_tensor x = make_tensor(T2C_INT32, xv, 2, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_attr a[] = {ATTR_F("scale", 0x1.555556p-2), ATTR_F("bias", -1.0)};
    t2c_error err;
    assert_int_equal(ms(&x, &y, a, N_OF(a), &err), T2C_OK);
    assert_int_equal(y.rank, 2);
    /* -3 * s = -(1 + 2^-25) -> -1.0; -1 + -1 = -2 */
    const float want[2] = {0.0f, -2.0f};
    assert_floats(yv, want, 2);
}

/* int32 -> binary32 rounds to nearest-even: 2^24 + 1 -> 2^24, 2^24 + 3 -> 2^24 + 4,
 * -(2^24 + 1) -> -2^24; INT32_MAX -> 2^31. */
static void test_int_conversion(void **state)
{
    (void)state;
    int32_t xv[4] = {16777217, 16777219, -16777217, INT32_MAX};
    float yv[4];
    const int64_t d[] = {4};
    t2c_tensor x = make_tensor(T2C_INT32, xv, 1, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_attr a[] = {ATTR_F("scale", 1.0), ATTR_I("axis", 0)};
    t2c_error err;
    assert_int_equal(ms(&x, &y, a, N_OF(a), &err), T2C_OK);
    const float want[4] = {16777216.0f, 16777220.0f, -16777216.0f, 2147483648.0f};
    assert_floats(yv, want, 4);
}

/* Torch2Chip shape: [1, 2, 1, 2] accumulators, per-channel S and B (integers), shift 26.
 * c0: S = 2^26, B = -2^25: (1000·2^26 - 2^25)·2^-26 = 999.5 and (-7·2^26 - 2^25)·2^-26 = -7.5.
 * c1: S = 3·2^24, B = 2^26: (5·3·2^24 + 2^26)·2^-26 = 3.75 + 1 = 4.75; x = 0 -> 1.0. */
static void test_per_channel_shift(void **state)
{
    (void)state;
    int32_t xv[4] = {1000, -7, 5, 0};
    float yv[4];
    const int64_t d[] = {1, 2, 1, 2};
    t2c_tensor x = make_tensor(T2C_INT32, xv, 4, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    static const double s[] = {67108864.0, 50331648.0}, b[] = {-33554432.0, 67108864.0};
    t2c_attr a[] = {ATTR_FLOATS("scale", s), ATTR_FLOATS("bias", b), ATTR_I("shift", 26)};
    t2c_error err;
    assert_int_equal(ms(&x, &y, a, N_OF(a), &err), T2C_OK);
    const float want[4] = {999.5f, -7.5f, 4.75f, 1.0f};
    assert_floats(yv, want, 4);
    /* relu: -7.5 -> +0.0 */
    t2c_attr ar[] = {ATTR_FLOATS("scale", s), ATTR_FLOATS("bias", b), ATTR_I("shift", 26), ATTR_I("relu", 1)};
    assert_int_equal(ms(&x, &y, ar, N_OF(ar), &err), T2C_OK);
    const float wantr[4] = {999.5f, 0.0f, 4.75f, 1.0f};
    assert_floats(yv, wantr, 4);
}

/* float32 input (Torch2Chip's stem): relu keeps -0.0 and NaN, maps negatives to +0.0; the
 * addition rounds: 1.0 + 2^-24 -> 1.0 (tie to even), (1 + 2^-23) + 2^-24 -> 1 + 2^-22. */
static void test_float_input_relu(void **state)
{
    (void)state;
    float xv[5] = {-0.0f, NAN, -3.0f, 1.0f, 1.0f + 0x1p-23f};
    float yv[5];
    const int64_t d[] = {1, 1, 5};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 3, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_attr a[] = {ATTR_F("scale", 1.0), ATTR_F("bias", 0x1p-24), ATTR_I("relu", 1)};
    t2c_error err;
    assert_int_equal(ms(&x, &y, a, N_OF(a), &err), T2C_OK);
    /* -0.0 + 2^-24 = 2^-24 (not a relu case) */
    const float want[5] = {0x1p-24f, NAN, 0.0f, 1.0f, 1.0f + 0x1p-22f};
    assert_floats(yv, want, 5);
}

/* Sign of zero: -0.0 * 1 = -0.0, then -0.0 + (+0.0) = +0.0 (round to nearest), so a missing bias
 * (+0.0) turns -0.0 into +0.0; with bias -0.0 it stays -0.0. */
static void test_signed_zero(void **state)
{
    (void)state;
    float xv[1] = {-0.0f};
    float yv[1];
    const int64_t d[] = {1, 1};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 2, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_attr a[] = {ATTR_F("scale", 1.0)};
    t2c_error err;
    assert_int_equal(ms(&x, &y, a, N_OF(a), &err), T2C_OK);
    assert_float_bits(yv[0], 0.0f);
    t2c_attr an[] = {ATTR_F("scale", 1.0), ATTR_F("bias", -0.0), ATTR_I("relu", 1)};
    assert_int_equal(ms(&x, &y, an, N_OF(an), &err), T2C_OK);
    assert_float_bits(yv[0], -0.0f);
}

static void test_prepare_errors(void **state)
{
    (void)state;
    int32_t xv[4] = {0};
    int8_t x8[4] = {0};
    float yv[4];
    const int64_t d[] = {1, 2, 2};
    t2c_tensor x = make_tensor(T2C_INT32, xv, 3, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(ms(&x, &y, NULL, 0, &err), T2C_ERR_ATTR); /* scale is required */
    assert_non_null(strstr(err.message, "'scale'"));
    t2c_attr a1[] = {ATTR_F("scale", 0.1)};                     /* not a binary32 value */
    assert_int_equal(ms(&x, &y, a1, 1, &err), T2C_ERR_ATTR);
    assert_non_null(strstr(err.message, "binary32"));
    static const double three[] = {1.0, 2.0, 3.0};
    t2c_attr a2[] = {ATTR_FLOATS("scale", three)};              /* C = 2 */
    assert_int_equal(ms(&x, &y, a2, 1, &err), T2C_ERR_ATTR);
    t2c_attr a3[] = {ATTR_F("scale", 1.0), ATTR_I("shift", 127)};
    assert_int_equal(ms(&x, &y, a3, 2, &err), T2C_ERR_ATTR);
    t2c_attr a4[] = {ATTR_F("scale", 1.0), ATTR_I("axis", 3)};
    assert_int_equal(ms(&x, &y, a4, 2, &err), T2C_ERR_ATTR);
    t2c_attr a5[] = {ATTR_F("scale", 1.0), ATTR_I("relu", 2)};
    assert_int_equal(ms(&x, &y, a5, 2, &err), T2C_ERR_ATTR);
    t2c_attr ok[] = {ATTR_F("scale", 1.0)};
    t2c_tensor xb = make_tensor(T2C_INT8, x8, 3, d);
    assert_int_equal(ms(&xb, &y, ok, 1, &err), T2C_ERR_DTYPE);
    t2c_tensor yi = make_tensor(T2C_INT32, xv, 0, NULL);
    assert_int_equal(ms(&x, &yi, ok, 1, &err), T2C_ERR_DTYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiply_then_add), cmocka_unit_test(test_int_conversion),
        cmocka_unit_test(test_per_channel_shift), cmocka_unit_test(test_float_input_relu),
        cmocka_unit_test(test_signed_zero),       cmocka_unit_test(test_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
