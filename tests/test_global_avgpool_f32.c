/* test_global_avgpool_f32.c — global_avgpool_f32: binary64 sum, one rounding, binary32 division. */
#include "f32_op_scaffold.h"
#include "global_avgpool.h"
#include "global_avgpool_f32.h"

static t2c_status gap(t2c_tensor *x, t2c_tensor *y, t2c_error *err)
{
    char p[1];
    t2c_tensor *ins[1] = {x};
    return op_call(&t2c_op_global_avgpool_f32, ins, 1, y, NULL, 0, p, 1, err);
}

/* Channel 0 (2x2): 1 + 3·2^-24 summed in binary64 is exact; rounded to binary32 it is a tie between
 * 1 + 2^-23 and 1 + 2^-22 and goes to the even 1 + 2^-22; / 4 = 0.25 + 2^-24. (A binary32 running sum
 * would stay at 1.0 and give 0.25.)
 * Channel 1: -2.5, 0.5, 1.25, -0.75 -> sum -1.5 -> -0.375 (exact). */
static void test_sum_then_divide(void **state)
{
    (void)state;
    float xv[8] = {1.0f, 0x1p-24f, 0x1p-24f, 0x1p-24f, /**/ -2.5f, 0.5f, 1.25f, -0.75f};
    float yv[2];
    const int64_t d[] = {1, 2, 2, 2};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 4, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(gap(&x, &y, &err), T2C_OK);
    const int64_t want_dims[] = {1, 2, 1, 1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(y.dims[i], want_dims[i]);
    const float want[2] = {0.25f + 0x1p-24f, -0.375f};
    assert_floats(yv, want, 2);
}

/* Division rounding (1x3): (1 + 1 + 0) / 3 = 2/3 = 0x1.555555|55...p-1 rounds up to 0x1.555556p-1;
 * (1 + 0 + 0) / 3 = 1/3 -> 0x1.555556p-2. Batch 2. */
static void test_division_rounding(void **state)
{
    (void)state;
    float xv[6] = {1.0f, 1.0f, 0.0f, /**/ 1.0f, 0.0f, 0.0f};
    float yv[2];
    const int64_t d[] = {2, 1, 1, 3};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 4, d), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(gap(&x, &y, &err), T2C_OK);
    const float want[2] = {0x1.555556p-1f, 0x1.555556p-2f};
    assert_floats(yv, want, 2);
}

/* The integer global_avgpool on int16 (allowed for the int16 fixed-point streams of integer-mode
 * Torch2Chip imports). Windows of 2 (1x2): 3/2 = 1.5 -> 2, 1/2 -> 0, -3/2 -> -2 (half_even);
 * 32767 + 32767 -> 32767. With multiplier 1, shift 0: the sum 65534 saturates to 32767 and
 * -65536 to -32768. */
static void test_integer_gap_int16(void **state)
{
    (void)state;
    int16_t xv[10] = {1, 2, 1, 0, -1, -2, 32767, 32767, -32768, -32768};
    int16_t yv[5];
    const int64_t d[] = {1, 5, 1, 2};
    t2c_tensor x = make_tensor(T2C_INT16, xv, 4, d), y = make_tensor(T2C_INT16, yv, 0, NULL);
    t2c_global_avgpool_params p;
    t2c_tensor *ins[1] = {&x};
    t2c_error err;
    assert_int_equal(op_call(&t2c_op_global_avgpool, ins, 1, &y, NULL, 0, &p, 1, &err), T2C_OK);
    assert_int_equal(y.dtype, T2C_INT16);
    const int16_t want[5] = {2, 0, -2, 32767, -32768};
    assert_memory_equal(yv, want, sizeof want);
    t2c_attr a[] = {ATTR_I("multiplier", 1), ATTR_I("shift", 0)};
    assert_int_equal(op_call(&t2c_op_global_avgpool, ins, 1, &y, a, 2, &p, 1, &err), T2C_OK);
    const int16_t want_m[5] = {3, 1, -3, 32767, -32768};
    assert_memory_equal(yv, want_m, sizeof want_m);
}

static void test_prepare_errors(void **state)
{
    (void)state;
    int16_t i16[4] = {0};
    float f[4] = {0}, yv[4];
    const int64_t d[] = {1, 1, 2, 2}, d2[] = {1, 4};
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    t2c_tensor xi = make_tensor(T2C_INT16, i16, 4, d);
    assert_int_equal(gap(&xi, &y, &err), T2C_ERR_DTYPE);
    assert_non_null(strstr(err.message, "int16"));
    t2c_tensor x2 = make_tensor(T2C_FLOAT32, f, 2, d2);
    assert_int_equal(gap(&x2, &y, &err), T2C_ERR_SHAPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_then_divide),
        cmocka_unit_test(test_division_rounding),
        cmocka_unit_test(test_integer_gap_int16),
        cmocka_unit_test(test_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
