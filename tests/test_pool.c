/* test_pool.c — maxpool2d, avgpool2d, global_avgpool: hand-worked values (ops/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "avgpool2d.h"
#include "global_avgpool.h"
#include "maxpool2d.h"

#include "op_test_scaffold.h"

/* 7x5 table: v = (17·(5h + w) mod 35) - 17, a permutation of -17..17. */
static const int8_t table7x5[35] = {
    -17, 0,   17,  -1,  16,  /* h = 0 */
    -2,  15,  -3,  14,  -4,  /* h = 1 */
    13,  -5,  12,  -6,  11,  /* h = 2 */
    -7,  10,  -8,  9,   -9,  /* h = 3 */
    8,   -10, 7,   -11, 6,   /* h = 4 */
    -12, 5,   -13, 4,   -14, /* h = 5 */
    3,   -15, 2,   -16, 1,   /* h = 6 */
};

/* ------------------------------------------------------------------ maxpool2d */

/* All-negative 3x3, kernel 2x2, stride 1, pads 1 on every side -> 4x4. Padding (would be 0)
 * never wins:
 *   -5 -3 -9        oh=0 (row 0):    -5 -3 -3 -9
 *   -7 -1 -8        oh=1 (rows 0,1): -5 -1 -1 -8
 *   -2 -6 -4        oh=2 (rows 1,2): -2 -1 -1 -4
 *                   oh=3 (row 2):    -2 -2 -4 -4 */
static void test_maxpool_padding_never_wins(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 3, 3}, yd[] = {1, 1, 4, 4};
    int8_t xv[9] = {-5, -3, -9, -7, -1, -8, -2, -6, -4};
    int8_t yv[16] = {0};
    t2c_tensor x = make_tensor(T2C_INT8, xv, 4, xd);
    t2c_tensor y = make_tensor(T2C_DTYPE_INVALID, yv, 0, xd);
    static const int64_t kernel[] = {2, 2}, strides[] = {1, 1}, pads[] = {1, 1, 1, 1};
    const t2c_attr attrs[] = {ATTR_INTS("kernel", kernel), ATTR_INTS("strides", strides), ATTR_INTS("pads", pads)};
    t2c_maxpool2d_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_maxpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_int_equal(y.dtype, T2C_INT8);
    assert_dims(&y, 4, yd);
    static const int8_t want[16] = {-5, -3, -3, -9, -5, -1, -1, -8, -2, -1, -1, -4, -2, -2, -4, -4};
    assert_memory_equal(yv, want, sizeof want);
}

/* 7x5 table, kernel 2x2, dilations 2x2, strides [2, 1], no pads:
 * Ho = (7 - 2 - 1)/2 + 1 = 3, Wo = (5 - 2 - 1)/1 + 1 = 3; window (oh, ow) = rows {2oh, 2oh+2} x
 * cols {ow, ow+2}:
 *   (0,0) -17 17 13 12 -> 17   (0,1) 0 -1 -5 -6 -> 0        (0,2) 17 16 12 11 -> 17
 *   (1,0) 13 12 8 7 -> 13      (1,1) -5 -6 -10 -11 -> -5    (1,2) 12 11 7 6 -> 12
 *   (2,0) 8 7 3 2 -> 8         (2,1) -10 -11 -15 -16 -> -10 (2,2) 7 6 2 1 -> 7
 * (Without dilation (0,1) would see 17.) */
static void test_maxpool_dilation_stride_7x5(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 7, 5}, yd[] = {1, 1, 3, 3};
    int8_t xv[35];
    memcpy(xv, table7x5, sizeof xv);
    int8_t yv[9] = {0};
    t2c_tensor x = make_tensor(T2C_INT8, xv, 4, xd);
    t2c_tensor y = make_tensor(T2C_INT8, yv, 0, xd);
    static const int64_t kernel[] = {2, 2}, strides[] = {2, 1}, dil[] = {2, 2};
    const t2c_attr attrs[] = {ATTR_INTS("kernel", kernel), ATTR_INTS("strides", strides), ATTR_INTS("dilations", dil)};
    t2c_maxpool2d_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_maxpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_dims(&y, 4, yd);
    static const int8_t want[9] = {17, 0, 17, 13, -5, 12, 8, -10, 7};
    assert_memory_equal(yv, want, sizeof want);
}

/* Default strides = kernel, batch 2 and 2 channels, int4 and int32 extremes, called directly.
 * x[n][c] is 2x2; kernel 2x2 -> 1x1 each. */
static void test_maxpool_batch_channels(void **state)
{
    (void)state;
    static const int64_t xd[] = {2, 2, 2, 2}, yd[] = {2, 2, 1, 1};
    int8_t xv[16] = {-8, -8, -8, -8, /* n0 c0 */ 7, -8, 0, 1, /* n0 c1 */
                     -3, -2, -5, -8, /* n1 c0 */ 0, 0, 0, 0 /* n1 c1 */};
    int8_t yv[4] = {0};
    t2c_tensor x = make_tensor(T2C_INT4, xv, 4, xd);
    t2c_tensor y = make_tensor(T2C_INT4, yv, 0, xd);
    static const int64_t kernel[] = {2, 2};
    const t2c_attr attrs[] = {ATTR_INTS("kernel", kernel)};
    t2c_maxpool2d_params p;
    t2c_error err;
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_dims(&y, 4, yd);
    assert_int_equal(p.strides[0], 2);
    assert_int_equal(p.strides[1], 2);
    assert_int_equal(t2c_maxpool2d_ref(&p, &x, &y, NULL), T2C_OK);
    static const int8_t want[4] = {-8, 7, -2, 0};
    assert_memory_equal(yv, want, sizeof want);

    static const int64_t xd32[] = {1, 1, 1, 3}, yd32[] = {1, 1, 1, 2};
    int32_t x32[3] = {INT32_MIN, INT32_MIN + 1, INT32_MAX}, y32[2] = {0};
    t2c_tensor xi = make_tensor(T2C_INT32, x32, 4, xd32), yi = make_tensor(T2C_INT32, y32, 0, xd32);
    static const int64_t k12[] = {1, 2}, s11[] = {1, 1};
    const t2c_attr a32[] = {ATTR_INTS("kernel", k12), ATTR_INTS("strides", s11)};
    assert_int_equal(run1(&t2c_op_maxpool2d, &xi, &yi, a32, N_OF(a32), &p, &err), T2C_OK);
    assert_dims(&yi, 4, yd32);
    assert_int_equal(y32[0], INT32_MIN + 1);
    assert_int_equal(y32[1], INT32_MAX);
}

static void test_maxpool_prepare_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 2, 3}, xd3[] = {1, 2, 3};
    int8_t buf[8] = {0};
    int16_t b16[8] = {0};
    t2c_maxpool2d_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_INT8, buf, 4, xd), y = make_tensor(T2C_INT8, buf, 0, xd);
    static const int64_t k22[] = {2, 2}, k2[] = {2}, pads_big[] = {0, 2, 0, 0}, k42[] = {4, 2};
    static const int64_t k21[] = {2, 1}, dil31[] = {3, 1}, pads1010[] = {1, 0, 1, 0}, zero2[] = {0, 1};
    const t2c_attr ok[] = {ATTR_INTS("kernel", k22)};
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, ok, 1, &p, &err), T2C_OK);
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, NULL, 0, &p, &err), T2C_ERR_ATTR); /* kernel required */
    const t2c_attr one_val[] = {ATTR_INTS("kernel", k2)};
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, one_val, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr zero_stride[] = {ATTR_INTS("kernel", k22), ATTR_INTS("strides", zero2)};
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, zero_stride, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr pad_ge_kernel[] = {ATTR_INTS("kernel", k22), ATTR_INTS("pads", pads_big)};
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, pad_ge_kernel, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr too_big[] = {ATTR_INTS("kernel", k42)}; /* H = 2 < 4 */
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, too_big, 1, &p, &err), T2C_ERR_SHAPE);
    /* H = 2, KH = 2, dilation 3, pads 1/1: Ho = (2 + 2 - 3 - 1) + 1 = 1 and its rows {-1, 2}
     * are both padding. */
    const t2c_attr empty[] = {ATTR_INTS("kernel", k21), ATTR_INTS("dilations", dil31), ATTR_INTS("pads", pads1010)};
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x, &y, empty, 3, &p, &err), T2C_ERR_ATTR);
    assert_non_null(strstr(err.message, "padding"));
    t2c_tensor x3 = make_tensor(T2C_INT8, buf, 3, xd3);
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x3, &y, ok, 1, &p, &err), T2C_ERR_SHAPE);
    t2c_tensor x16 = make_tensor(T2C_INT16, b16, 4, xd);
    assert_int_equal(prep1(&t2c_op_maxpool2d, &x16, &y, ok, 1, &p, &err), T2C_ERR_DTYPE);
}

/* ------------------------------------------------------------------ avgpool2d */

/* uint8 2x2 [10 20; 30 50], kernel 2x2, stride 1, pads 1 all sides -> 3x3, x_zero_point 100.
 * count_include_pad 0 (padding ignored), half_even:
 *   10/1=10  30/2=15  20/1=20 | 40/2=20  110/4=27.5->28  70/2=35 | 30  80/2=40  50
 * count_include_pad 1 (each padded position adds 100, n = 4):
 *   310/4=77.5->78  230/4=57.5->58  320/4=80 | 240/4=60  110/4=27.5->28  270/4=67.5->68 |
 *   330/4=82.5->82  280/4=70  350/4=87.5->88 */
static void test_avgpool_count_include_pad(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 2, 2}, yd[] = {1, 1, 3, 3};
    uint8_t xv[4] = {10, 20, 30, 50};
    static const int64_t kernel[] = {2, 2}, strides[] = {1, 1}, pads[] = {1, 1, 1, 1};
    static const uint8_t want[2][9] = {
        {10, 15, 20, 20, 28, 35, 30, 40, 50},
        {78, 58, 80, 60, 28, 68, 82, 70, 88},
    };
    for (int cip = 0; cip < 2; cip++) {
        uint8_t yv[9] = {0};
        t2c_tensor x = make_tensor(T2C_UINT8, xv, 4, xd), y = make_tensor(T2C_UINT8, yv, 0, xd);
        const t2c_attr attrs[] = {ATTR_INTS("kernel", kernel), ATTR_INTS("strides", strides),
                                  ATTR_INTS("pads", pads), ATTR_I("count_include_pad", cip),
                                  ATTR_I("x_zero_point", 100)};
        t2c_avgpool2d_params p;
        t2c_error err;
        assert_int_equal(run1(&t2c_op_avgpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
        assert_int_equal(y.dtype, T2C_UINT8);
        assert_dims(&y, 4, yd);
        assert_memory_equal(yv, want[cip], sizeof want[cip]);
    }
}

/* int8 1x8, kernel [1, 2], stride [1, 2]: sums 7, -7, 5, -5 over n = 2 (ties 3.5, -3.5, 2.5,
 * -2.5); then kernel [1, 3] on 1x6: sums -2, 2 over n = 3 (-0.67, 0.67, no tie). */
static void test_avgpool_rounding_ties(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 1, 8}, yd[] = {1, 1, 1, 4};
    int8_t xv[8] = {3, 4, -3, -4, 2, 3, -2, -3};
    static const int64_t kernel[] = {1, 2};
    static const char *const modes[5] = {"half_even", "half_up", "half_away", "floor", "tflite"};
    static const int8_t want[5][4] = {
        {4, -4, 2, -2}, /* half_even */
        {4, -3, 3, -2}, /* half_up */
        {4, -4, 3, -3}, /* half_away */
        {3, -4, 2, -3}, /* floor */
        {4, -4, 3, -3}, /* tflite = half_away in round_div */
    };
    static const int64_t xd6[] = {1, 1, 1, 6};
    int8_t x6[6] = {-1, -1, 0, 1, 1, 0};
    static const int64_t k13[] = {1, 3};
    static const int8_t want3[5][2] = {{-1, 1}, {-1, 1}, {-1, 1}, {-1, 0}, {-1, 1}};
    for (int m = 0; m < 5; m++) {
        int8_t yv[4] = {0};
        t2c_tensor x = make_tensor(T2C_INT8, xv, 4, xd), y = make_tensor(T2C_INT8, yv, 0, xd);
        const t2c_attr attrs[] = {ATTR_INTS("kernel", kernel), ATTR_S("rounding", modes[m])};
        t2c_avgpool2d_params p;
        t2c_error err;
        assert_int_equal(run1(&t2c_op_avgpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
        assert_dims(&y, 4, yd);
        assert_memory_equal(yv, want[m], sizeof want[m]);

        int8_t y3v[2] = {0};
        t2c_tensor x3 = make_tensor(T2C_INT8, x6, 4, xd6), y3 = make_tensor(T2C_INT8, y3v, 0, xd6);
        const t2c_attr a3[] = {ATTR_INTS("kernel", k13), ATTR_S("rounding", modes[m])};
        assert_int_equal(run1(&t2c_op_avgpool2d, &x3, &y3, a3, N_OF(a3), &p, &err), T2C_OK);
        assert_memory_equal(y3v, want3[m], sizeof want3[m]);
    }
}

/* multiplier 7282 / 2^16 ~ 1/9 for a 3x3 kernel on int8 1x3x6 (two windows):
 *   window 0: all -100, sum -900: -900·7282 = -6553800, /65536 = -100.0046 -> -100
 *   window 1: 0 1 2 / 3 4 5 / 6 7 12, sum 40: 291280/65536 = 4.4446 -> 4
 * and multiplier 1, shift 2 (1/4) on a 2x2 kernel: sums 10 and -10 are ties (2.5, -2.5). */
static void test_avgpool_multiplier(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 3, 6}, yd[] = {1, 1, 1, 2};
    int8_t xv[18] = {-100, -100, -100, 0, 1, 2, -100, -100, -100, 3, 4, 5, -100, -100, -100, 6, 7, 12};
    int8_t yv[2] = {0};
    t2c_tensor x = make_tensor(T2C_INT8, xv, 4, xd), y = make_tensor(T2C_INT8, yv, 0, xd);
    static const int64_t k33[] = {3, 3};
    const t2c_attr attrs[] = {ATTR_INTS("kernel", k33), ATTR_I("multiplier", 7282), ATTR_I("shift", 16)};
    t2c_avgpool2d_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_avgpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_int_equal(p.has_multiplier, 1);
    assert_dims(&y, 4, yd);
    assert_int_equal(yv[0], -100);
    assert_int_equal(yv[1], 4);

    static const int64_t xd2[] = {1, 1, 2, 4};
    int8_t x2v[8] = {1, 2, -1, -2, 3, 4, -3, -4};
    int8_t y2v[2] = {0};
    static const int64_t k22[] = {2, 2};
    static const char *const modes[4] = {"half_even", "half_up", "half_away", "floor"};
    static const int8_t want[4][2] = {{2, -2}, {3, -2}, {3, -3}, {2, -3}};
    for (int m = 0; m < 4; m++) {
        t2c_tensor x2 = make_tensor(T2C_INT8, x2v, 4, xd2), y2 = make_tensor(T2C_INT8, y2v, 0, xd2);
        const t2c_attr a2[] = {ATTR_INTS("kernel", k22), ATTR_I("multiplier", 1), ATTR_I("shift", 2),
                               ATTR_S("rounding", modes[m])};
        assert_int_equal(run1(&t2c_op_avgpool2d, &x2, &y2, a2, N_OF(a2), &p, &err), T2C_OK);
        assert_memory_equal(y2v, want[m], sizeof want[m]);
    }
}

/* A multiplier scaling past the dtype clamps: uint4 2x2 all 15, multiplier 3 shift 2:
 * 60·3/4 = 45 -> 15; int4 all -8 with multiplier 3 shift 2: -32·3/4 = -24 -> -8. */
static void test_avgpool_clamps_int4(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 2, 2};
    uint8_t xu[4] = {15, 15, 15, 15}, yu[1] = {0};
    int8_t xs[4] = {-8, -8, -8, -8}, ys[1] = {0};
    static const int64_t k22[] = {2, 2};
    const t2c_attr attrs[] = {ATTR_INTS("kernel", k22), ATTR_I("multiplier", 3), ATTR_I("shift", 2)};
    t2c_avgpool2d_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_UINT4, xu, 4, xd), y = make_tensor(T2C_UINT4, yu, 0, xd);
    assert_int_equal(run1(&t2c_op_avgpool2d, &x, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_int_equal(yu[0], 15);
    t2c_tensor xi = make_tensor(T2C_INT4, xs, 4, xd), yi = make_tensor(T2C_INT4, ys, 0, xd);
    assert_int_equal(run1(&t2c_op_avgpool2d, &xi, &yi, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_int_equal(ys[0], -8);
}

/* With a multiplier, every window must count the same n. */
static void test_avgpool_multiplier_same_count(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 4, 4};
    uint8_t buf[16] = {0};
    t2c_avgpool2d_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_UINT8, buf, 4, xd), y = make_tensor(T2C_UINT8, buf, 0, xd);
    static const int64_t k22[] = {2, 2}, s11[] = {1, 1}, pads1[] = {1, 1, 1, 1}, pads_r[] = {0, 0, 1, 1};
    /* pads 1, count_include_pad 0: corner windows count 1, inner ones 4 */
    const t2c_attr varying[] = {ATTR_INTS("kernel", k22), ATTR_INTS("strides", s11), ATTR_INTS("pads", pads1),
                                ATTR_I("multiplier", 1), ATTR_I("shift", 2)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, varying, N_OF(varying), &p, &err), T2C_ERR_ATTR);
    /* count_include_pad 1: every window counts 4 */
    const t2c_attr incl[] = {ATTR_INTS("kernel", k22), ATTR_INTS("strides", s11), ATTR_INTS("pads", pads1),
                             ATTR_I("multiplier", 1), ATTR_I("shift", 2), ATTR_I("count_include_pad", 1)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, incl, N_OF(incl), &p, &err), T2C_OK);
    /* bottom/right pads that no window reaches (4 + 1 - 2)/2 + 1 = 2 windows [0,1], [2,3]: same n */
    const t2c_attr unused_pad[] = {ATTR_INTS("kernel", k22), ATTR_INTS("pads", pads_r), ATTR_I("multiplier", 1),
                                   ATTR_I("shift", 2)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, unused_pad, N_OF(unused_pad), &p, &err), T2C_OK);
    static const int64_t yd[] = {1, 1, 2, 2};
    assert_dims(&y, 4, yd);
    /* stride 1 with those pads: the last window [3, 4] touches the padding */
    const t2c_attr reached[] = {ATTR_INTS("kernel", k22), ATTR_INTS("strides", s11), ATTR_INTS("pads", pads_r),
                                ATTR_I("multiplier", 1), ATTR_I("shift", 2)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, reached, N_OF(reached), &p, &err), T2C_ERR_ATTR);
}

static void test_avgpool_prepare_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 1, 4, 4};
    uint8_t buf[16] = {0};
    int32_t b32[16] = {0};
    t2c_avgpool2d_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_UINT8, buf, 4, xd), y = make_tensor(T2C_UINT8, buf, 0, xd);
    static const int64_t k22[] = {2, 2}, pads2[] = {2, 0, 0, 0};
    const t2c_attr only_m[] = {ATTR_INTS("kernel", k22), ATTR_I("multiplier", 1)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, only_m, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr only_s[] = {ATTR_INTS("kernel", k22), ATTR_I("shift", 1)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, only_s, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr zp[] = {ATTR_INTS("kernel", k22), ATTR_I("x_zero_point", 256)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, zp, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr cip[] = {ATTR_INTS("kernel", k22), ATTR_I("count_include_pad", 2)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, cip, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr pad[] = {ATTR_INTS("kernel", k22), ATTR_INTS("pads", pads2)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, pad, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr tfl[] = {ATTR_INTS("kernel", k22), ATTR_I("multiplier", -1), ATTR_I("shift", 2),
                            ATTR_S("rounding", "tflite")};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, tfl, 4, &p, &err), T2C_ERR_ATTR);
    /* |sum| <= KH·KW·255 must stay below 2^31 for scale_round: (2^31 - 1)/255 = 8421504.5, so a
     * 2901x2901 kernel (8415801) is fine and 2902x2902 (8421604) is not. */
    static const int64_t k2901[] = {2901, 2901}, p2900[] = {2900, 2900, 0, 0};
    static const int64_t k2902[] = {2902, 2902}, p2901[] = {2901, 2901, 0, 0};
    const t2c_attr fits[] = {ATTR_INTS("kernel", k2901), ATTR_INTS("pads", p2900), ATTR_I("multiplier", 1),
                             ATTR_I("shift", 22), ATTR_I("count_include_pad", 1)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, fits, N_OF(fits), &p, &err), T2C_OK);
    const t2c_attr big[] = {ATTR_INTS("kernel", k2902), ATTR_INTS("pads", p2901), ATTR_I("multiplier", 1),
                            ATTR_I("shift", 22), ATTR_I("count_include_pad", 1)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, big, N_OF(big), &p, &err), T2C_ERR_ATTR);
    /* without a multiplier the int64 sum has room */
    const t2c_attr big_div[] = {ATTR_INTS("kernel", k2902), ATTR_INTS("pads", p2901)};
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x, &y, big_div, N_OF(big_div), &p, &err), T2C_OK);
    const t2c_attr ok[] = {ATTR_INTS("kernel", k22)};
    t2c_tensor x32 = make_tensor(T2C_INT32, b32, 4, xd);
    assert_int_equal(prep1(&t2c_op_avgpool2d, &x32, &y, ok, 1, &p, &err), T2C_ERR_DTYPE);
}

/* ------------------------------------------------------------------ global_avgpool */

/* int8 [1, 4, 7, 5], H·W = 35 (odd: no ties), half_even and floor:
 *   c0: the 7x5 table, sum 0                         -> 0, floor 0
 *   c1: zeros but 18 and 100, sum 118, 3.371         -> 3, floor 3
 *   c2: -1 everywhere but one 15, sum -19, -0.543     -> -1, floor -1
 *   c3: -1 everywhere but one 17, sum -17, -0.486     -> 0, floor -1
 * With multiplier 1872 ~ 2^16/35, shift 16: 118·1872 = 220896 -> 3.37 -> 3;
 *   -19·1872 = -35568 -> -0.543 -> -1;  -17·1872 = -31824 -> -0.486 -> 0;  0 -> 0. */
static void test_global_avgpool_7x5(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 4, 7, 5}, yd[] = {1, 4, 1, 1};
    int8_t xv[140];
    memcpy(xv, table7x5, 35);
    memset(xv + 35, 0, 35);
    xv[35] = 18;
    xv[69] = 100;
    memset(xv + 70, 0xff, 70); /* -1 */
    xv[70 + 17] = 15;
    xv[105 + 34] = 17;
    static const int8_t want_even[4] = {0, 3, -1, 0}, want_floor[4] = {0, 3, -1, -1};
    t2c_global_avgpool_params p;
    t2c_error err;
    int8_t yv[4];
    t2c_tensor x = make_tensor(T2C_INT8, xv, 4, xd), y = make_tensor(T2C_INT8, yv, 0, xd);
    assert_int_equal(run1(&t2c_op_global_avgpool, &x, &y, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(y.dtype, T2C_INT8);
    assert_dims(&y, 4, yd);
    assert_memory_equal(yv, want_even, 4);
    const t2c_attr fl[] = {ATTR_S("rounding", "floor")};
    assert_int_equal(run1(&t2c_op_global_avgpool, &x, &y, fl, 1, &p, &err), T2C_OK);
    assert_memory_equal(yv, want_floor, 4);
    const t2c_attr mul[] = {ATTR_I("multiplier", 1872), ATTR_I("shift", 16)};
    assert_int_equal(run1(&t2c_op_global_avgpool, &x, &y, mul, 2, &p, &err), T2C_OK);
    assert_memory_equal(yv, want_even, 4);
}

/* int8 [1, 2, 2, 3], H·W = 6: sums 9 and -9 are ties (1.5, -1.5); [2, 1, 1, 2] batch 2 sums 5 and -5
 * over 2 (2.5, -2.5). */
static void test_global_avgpool_ties(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 2, 2, 3};
    int8_t xv[12] = {1, 2, 3, 0, 1, 2, /* 9 */ -4, 0, -1, -2, -1, -1 /* -9 */};
    static const int64_t xd2[] = {2, 1, 1, 2}, yd2[] = {2, 1, 1, 1};
    int8_t x2[4] = {2, 3, -2, -3};
    static const char *const modes[5] = {"half_even", "half_up", "half_away", "floor", "tflite"};
    static const int8_t want[5][2] = {{2, -2}, {2, -1}, {2, -2}, {1, -2}, {2, -2}};
    static const int8_t want2[5][2] = {{2, -2}, {3, -2}, {3, -3}, {2, -3}, {3, -3}};
    for (int m = 0; m < 5; m++) {
        int8_t yv[2] = {0};
        t2c_tensor x = make_tensor(T2C_INT8, xv, 4, xd), y = make_tensor(T2C_INT8, yv, 0, xd);
        const t2c_attr attrs[] = {ATTR_S("rounding", modes[m])};
        t2c_global_avgpool_params p;
        t2c_error err;
        assert_int_equal(run1(&t2c_op_global_avgpool, &x, &y, attrs, 1, &p, &err), T2C_OK);
        assert_memory_equal(yv, want[m], 2);
        t2c_tensor xb = make_tensor(T2C_INT8, x2, 4, xd2), yb = make_tensor(T2C_INT8, yv, 0, xd2);
        assert_int_equal(prep1(&t2c_op_global_avgpool, &xb, &yb, attrs, 1, &p, &err), T2C_OK);
        assert_dims(&yb, 4, yd2);
        assert_int_equal(t2c_global_avgpool_ref(&p, &xb, &yb, NULL), T2C_OK);
        assert_memory_equal(yv, want2[m], 2);
    }
}

/* int4 limits with a multiplier past 1: {7, 7}·3/2 = 21 -> 7; {-8, -8}·3/2 = -24 -> -8. */
static void test_global_avgpool_int4_clamp(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 2, 1, 2};
    int8_t xv[4] = {7, 7, -8, -8}, yv[2] = {0};
    t2c_tensor x = make_tensor(T2C_INT4, xv, 4, xd), y = make_tensor(T2C_INT4, yv, 0, xd);
    const t2c_attr attrs[] = {ATTR_I("multiplier", 3), ATTR_I("shift", 1)};
    t2c_global_avgpool_params p;
    t2c_error err;
    assert_int_equal(run1(&t2c_op_global_avgpool, &x, &y, attrs, 2, &p, &err), T2C_OK);
    assert_int_equal(yv[0], 7);
    assert_int_equal(yv[1], -8);
}

/* Whole planes through the typed sums (vector body and tail): uint8 [1, 2, 7, 7]: c0 all 255 but
 * one 0, sum 12240, 249.80 -> 250; c1 all 200 -> 200. int16 [1, 1, 56, 56]: all -32768 but one
 * 32767, sum -102694913, -32747.10 -> -32747. */
static void test_global_avgpool_planes(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 2, 7, 7}, xd16[] = {1, 1, 56, 56};
    uint8_t xv[98], yv[2] = {0};
    memset(xv, 255, 49);
    xv[23] = 0;
    memset(xv + 49, 200, 49);
    t2c_global_avgpool_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_UINT8, xv, 4, xd), y = make_tensor(T2C_UINT8, yv, 0, xd);
    assert_int_equal(run1(&t2c_op_global_avgpool, &x, &y, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(yv[0], 250);
    assert_int_equal(yv[1], 200);
    static int16_t x16[56 * 56];
    int16_t y16 = 0;
    for (int i = 0; i < 56 * 56; i++)
        x16[i] = INT16_MIN;
    x16[3000] = INT16_MAX;
    t2c_tensor xs = make_tensor(T2C_INT16, x16, 4, xd16), ys = make_tensor(T2C_INT16, &y16, 0, xd16);
    assert_int_equal(run1(&t2c_op_global_avgpool, &xs, &ys, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(y16, -32747);
}

static void test_global_avgpool_prepare_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = {1, 2, 1, 2}, xd3[] = {1, 2, 2}, xbig[] = {1, 1, 4096, 4096};
    int8_t buf[4] = {0};
    int16_t b16[4] = {0};
    t2c_global_avgpool_params p;
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_INT8, buf, 4, xd), y = make_tensor(T2C_INT8, buf, 0, xd);
    const t2c_attr only_m[] = {ATTR_I("multiplier", 3)};
    assert_int_equal(prep1(&t2c_op_global_avgpool, &x, &y, only_m, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr shift63[] = {ATTR_I("multiplier", 3), ATTR_I("shift", 63)};
    assert_int_equal(prep1(&t2c_op_global_avgpool, &x, &y, shift63, 2, &p, &err), T2C_ERR_ATTR);
    t2c_tensor x3 = make_tensor(T2C_INT8, buf, 3, xd3);
    assert_int_equal(prep1(&t2c_op_global_avgpool, &x3, &y, NULL, 0, &p, &err), T2C_ERR_SHAPE);
    t2c_tensor x32 = make_tensor(T2C_INT32, b16, 4, xd); /* int16 is allowed (README), int32 is not */
    assert_int_equal(prep1(&t2c_op_global_avgpool, &x32, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
    /* 4096·4096·128 = 2^31: too large for scale_round (data is never touched in prepare) */
    t2c_tensor xb = make_tensor(T2C_INT8, NULL, 4, xbig);
    const t2c_attr mul[] = {ATTR_I("multiplier", 1), ATTR_I("shift", 24)};
    assert_int_equal(prep1(&t2c_op_global_avgpool, &xb, &y, mul, 2, &p, &err), T2C_ERR_SHAPE);
    assert_int_equal(prep1(&t2c_op_global_avgpool, &xb, &y, NULL, 0, &p, &err), T2C_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_padding_never_wins),
        cmocka_unit_test(test_maxpool_dilation_stride_7x5),
        cmocka_unit_test(test_maxpool_batch_channels),
        cmocka_unit_test(test_maxpool_prepare_errors),
        cmocka_unit_test(test_avgpool_count_include_pad),
        cmocka_unit_test(test_avgpool_rounding_ties),
        cmocka_unit_test(test_avgpool_multiplier),
        cmocka_unit_test(test_avgpool_clamps_int4),
        cmocka_unit_test(test_avgpool_multiplier_same_count),
        cmocka_unit_test(test_avgpool_prepare_errors),
        cmocka_unit_test(test_global_avgpool_7x5),
        cmocka_unit_test(test_global_avgpool_ties),
        cmocka_unit_test(test_global_avgpool_int4_clamp),
        cmocka_unit_test(test_global_avgpool_planes),
        cmocka_unit_test(test_global_avgpool_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
