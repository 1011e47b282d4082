/* test_shape_ops.c — flatten, reshape, concat: shapes and element order (ops/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "concat.h"
#include "flatten.h"
#include "reshape.h"

#include "op_test_scaffold.h"

/* ------------------------------------------------------------------ flatten */

static void test_flatten_axis(void **state)
{
    (void)state;
    static const int64_t xd[] = {2, 3, 4, 5};
    int16_t xv[120], yv[120];
    for (int i = 0; i < 120; i++)
        xv[i] = (int16_t)(1000 - 37 * i);
    t2c_flatten_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_INT16, xv, 4, xd), y = make_tensor(T2C_DTYPE_INVALID, yv, 0, xd);
    /* default axis 1: [2, 60] */
    memset(yv, 0, sizeof yv);
    t2c_tensor *ins[1] = {&x};
    assert_int_equal(prepare_and_run(&t2c_op_flatten, ins, 1, &y, NULL, 0, &p, &err), T2C_OK);
    static const int64_t d1[] = {2, 60};
    assert_int_equal(y.dtype, T2C_INT16);
    assert_dims(&y, 2, d1);
    assert_memory_equal(yv, xv, sizeof xv);
    assert_int_equal(yv[119], 1000 - 37 * 119);
    /* axis 2: [2, 3, 20]; axis 3: [2, 3, 4, 5] (only d3 "merged") */
    const t2c_attr a2[] = {ATTR_I("axis", 2)}, a3[] = {ATTR_I("axis", 3)};
    assert_int_equal(prep1(&t2c_op_flatten, &x, &y, a2, 1, &p, &err), T2C_OK);
    static const int64_t d2[] = {2, 3, 20};
    assert_dims(&y, 3, d2);
    assert_int_equal(prep1(&t2c_op_flatten, &x, &y, a3, 1, &p, &err), T2C_OK);
    assert_dims(&y, 4, xd);
    /* in place (the planner may alias): nothing moves */
    t2c_tensor same = make_tensor(T2C_INT16, xv, 2, d1);
    assert_int_equal(t2c_flatten_ref(&p, &x, &same, NULL), T2C_OK);
    assert_int_equal(xv[5], 1000 - 37 * 5);
    /* errors: axis 0 (batch) and axis = rank; rank-1 input */
    const t2c_attr a0[] = {ATTR_I("axis", 0)}, a4[] = {ATTR_I("axis", 4)};
    assert_int_equal(prep1(&t2c_op_flatten, &x, &y, a0, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prep1(&t2c_op_flatten, &x, &y, a4, 1, &p, &err), T2C_ERR_ATTR);
    static const int64_t d5[] = {5};
    t2c_tensor x1 = make_tensor(T2C_INT16, xv, 1, d5);
    assert_int_equal(prep1(&t2c_op_flatten, &x1, &y, NULL, 0, &p, &err), T2C_ERR_SHAPE);
}

/* ------------------------------------------------------------------ reshape */

static void test_reshape_infer_and_batch(void **state)
{
    (void)state;
    static const int64_t xd[] = {2, 6, 2}; /* batch 2, 12 elements per sample */
    int8_t xv[24], yv[24];
    for (int i = 0; i < 24; i++)
        xv[i] = (int8_t)(i * 11 - 128);
    t2c_reshape_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_UINT8, xv, 3, xd), y = make_tensor(T2C_DTYPE_INVALID, yv, 0, xd);
    t2c_tensor *ins[1] = {&x};
    static const int64_t s1[] = {3, -1}, s2[] = {-1}, s3[] = {2, 2, 3}, s4[] = {1, -1, 1};
    const t2c_attr a1[] = {ATTR_INTS("shape", s1)};
    memset(yv, 0, sizeof yv);
    assert_int_equal(prepare_and_run(&t2c_op_reshape, ins, 1, &y, a1, 1, &p, &err), T2C_OK);
    static const int64_t d1[] = {2, 3, 4};
    assert_int_equal(y.dtype, T2C_UINT8);
    assert_dims(&y, 3, d1);
    assert_memory_equal(yv, xv, sizeof xv);
    const t2c_attr a2[] = {ATTR_INTS("shape", s2)}, a3[] = {ATTR_INTS("shape", s3)}, a4[] = {ATTR_INTS("shape", s4)};
    static const int64_t d2[] = {2, 12}, d3[] = {2, 2, 2, 3}, d4[] = {2, 1, 12, 1};
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a2, 1, &p, &err), T2C_OK);
    assert_dims(&y, 2, d2);
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a3, 1, &p, &err), T2C_OK);
    assert_dims(&y, 4, d3);
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a4, 1, &p, &err), T2C_OK);
    assert_dims(&y, 4, d4);
    /* the same attributes at batch 5 */
    static const int64_t xd5[] = {5, 6, 2}, d5[] = {5, 3, 4};
    t2c_tensor x5 = make_tensor(T2C_UINT8, NULL, 3, xd5);
    assert_int_equal(prep1(&t2c_op_reshape, &x5, &y, a1, 1, &p, &err), T2C_OK);
    assert_dims(&y, 3, d5);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = {2, 6, 2};
    int8_t xv[24] = {0};
    t2c_reshape_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_INT8, xv, 3, xd), y = make_tensor(T2C_INT8, xv, 0, xd);
    static const int64_t five[] = {5}, five_inf[] = {5, -1}, two_inf[] = {-1, 3, -1}, zero[] = {0, 12},
                         bad[] = {-2, -6}, big[] = {4, 4}, huge[] = {INT64_MAX, INT64_MAX, 2},
                         too_many[] = {1, 1, 1, 1, 1, 1, 1, 12};
    const t2c_attr a5[] = {ATTR_INTS("shape", five)};
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a5, 1, &p, &err), T2C_ERR_SHAPE);
    assert_non_null(strstr(err.message, "12"));
    const t2c_attr a5i[] = {ATTR_INTS("shape", five_inf)}; /* 12 is not a multiple of 5 */
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a5i, 1, &p, &err), T2C_ERR_SHAPE);
    const t2c_attr abig[] = {ATTR_INTS("shape", big)}; /* 16 != 12 */
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, abig, 1, &p, &err), T2C_ERR_SHAPE);
    const t2c_attr ahuge[] = {ATTR_INTS("shape", huge)}; /* product overflows int64 */
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, ahuge, 1, &p, &err), T2C_ERR_SHAPE);
    const t2c_attr a2i[] = {ATTR_INTS("shape", two_inf)};
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a2i, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr a0[] = {ATTR_INTS("shape", zero)};
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, a0, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr aneg[] = {ATTR_INTS("shape", bad)};
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, aneg, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr amany[] = {ATTR_INTS("shape", too_many)}; /* rank 9 */
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, amany, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prep1(&t2c_op_reshape, &x, &y, NULL, 0, &p, &err), T2C_ERR_ATTR); /* required */
}

/* ------------------------------------------------------------------ concat */

/* Three int8 inputs along the channel axis with batch 2: [2,1,2,1] + [2,2,2,1] + [2,1,2,1] -> [2,4,2,1]. */
static void test_concat_channels(void **state)
{
    (void)state;
    static const int64_t da[] = {2, 1, 2, 1}, db[] = {2, 2, 2, 1}, dy[] = {2, 4, 2, 1};
    int8_t av[4] = {1, 2, 3, 4}, bv[8] = {10, 11, 12, 13, 14, 15, 16, 17}, cv[4] = {-20, -21, -22, -23};
    static const int8_t want[16] = {1, 2, 10, 11, 12, 13, -20, -21, /* n = 0 */
                                    3, 4, 14, 15, 16, 17, -22, -23 /* n = 1 */};
    static const int64_t axes[2] = {1, -3};
    for (int k = 0; k < 2; k++) {
        int8_t yv[16] = {0};
        t2c_tensor a = make_tensor(T2C_INT8, av, 4, da), b = make_tensor(T2C_INT8, bv, 4, db);
        t2c_tensor c = make_tensor(T2C_INT8, cv, 4, da), y = make_tensor(T2C_DTYPE_INVALID, yv, 0, da);
        t2c_tensor *ins[3] = {&a, &b, &c};
        const t2c_attr attrs[] = {ATTR_I("axis", axes[k])};
        t2c_concat_params p;
        t2c_error err;
        assert_int_equal(prepare_and_run(&t2c_op_concat, ins, 3, &y, attrs, 1, &p, &err), T2C_OK);
        assert_int_equal(p.axis, 1);
        assert_int_equal(y.dtype, T2C_INT8);
        assert_dims(&y, 4, dy);
        assert_memory_equal(yv, want, sizeof want);
    }
}

/* Last axis (-1) of rank 3, int32, kernel called directly: [1,2,1] + [1,2,2] -> [1,2,3]. */
static void test_concat_last_axis(void **state)
{
    (void)state;
    static const int64_t da[] = {1, 2, 1}, db[] = {1, 2, 2}, dy[] = {1, 2, 3};
    int32_t av[2] = {1, 2}, bv[4] = {3, 4, 5, 6}, yv[6] = {0};
    t2c_tensor a = make_tensor(T2C_INT32, av, 3, da), b = make_tensor(T2C_INT32, bv, 3, db);
    t2c_tensor y = make_tensor(T2C_INT32, yv, 0, da);
    t2c_tensor *ins[2] = {&a, &b};
    const t2c_attr attrs[] = {ATTR_I("axis", -1)};
    t2c_concat_params p;
    t2c_error err;
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, attrs, 1, &p, &err), T2C_OK);
    assert_int_equal(p.axis, 2);
    assert_dims(&y, 3, dy);
    const t2c_tensor *cins[2] = {&a, &b};
    assert_int_equal(t2c_concat_ref(&p, 2, cins, &y, NULL), T2C_OK);
    static const int32_t want[6] = {1, 3, 4, 2, 5, 6};
    assert_memory_equal(yv, want, sizeof want);
}

static void test_concat_errors(void **state)
{
    (void)state;
    static const int64_t da[] = {1, 2, 3, 3}, db[] = {1, 4, 3, 3}, dbad[] = {1, 4, 3, 2}, d3[] = {1, 2, 3};
    int8_t buf[64] = {0};
    t2c_concat_params p;
    t2c_error err;
    t2c_tensor a = make_tensor(T2C_INT8, buf, 4, da), b = make_tensor(T2C_INT8, buf, 4, db);
    t2c_tensor y = make_tensor(T2C_INT8, buf, 0, da);
    t2c_tensor *ins[2] = {&a, &b};
    const t2c_attr ax1[] = {ATTR_I("axis", 1)};
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax1, 1, &p, &err), T2C_OK);
    /* dims differ outside the axis */
    const t2c_attr ax2[] = {ATTR_I("axis", 2)};
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax2, 1, &p, &err), T2C_ERR_SHAPE);
    t2c_tensor bad = make_tensor(T2C_INT8, buf, 4, dbad);
    ins[1] = &bad;
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax1, 1, &p, &err), T2C_ERR_SHAPE);
    t2c_tensor r3 = make_tensor(T2C_INT8, buf, 3, d3);
    ins[1] = &r3;
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax1, 1, &p, &err), T2C_ERR_SHAPE);
    /* dtype mismatch */
    t2c_tensor bu = make_tensor(T2C_UINT8, buf, 4, db);
    ins[1] = &bu;
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax1, 1, &p, &err), T2C_ERR_DTYPE);
    /* axis: batch, out of range, missing */
    ins[1] = &b;
    const t2c_attr ax0[] = {ATTR_I("axis", 0)}, axm4[] = {ATTR_I("axis", -4)}, ax4[] = {ATTR_I("axis", 4)};
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax0, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, axm4, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, ax4, 1, &p, &err), T2C_ERR_ATTR);
    assert_int_equal(prepare_node(&t2c_op_concat, ins, 2, &y, NULL, 0, &p, &err), T2C_ERR_ATTR);
    /* the op definition: 1..64 inputs, every role "input" */
    assert_int_equal(t2c_op_concat.min_inputs, 1);
    assert_int_equal(t2c_op_concat.max_inputs, 64);
    for (int i = 0; i < 64; i++)
        assert_string_equal(t2c_op_concat.input_roles[i], "input");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten_axis),
        cmocka_unit_test(test_reshape_infer_and_batch),
        cmocka_unit_test(test_reshape_errors),
        cmocka_unit_test(test_concat_channels),
        cmocka_unit_test(test_concat_last_axis),
        cmocka_unit_test(test_concat_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
