/* test_add.c — add: hand-worked values for every path of the recipe in ops/README.md "add". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "add.h"

#include "op_test_scaffold.h"

/* Prepare + run an add of a and b into y with the given attributes. */
static t2c_status run_add(t2c_tensor *a, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs, int n_attrs,
                          t2c_add_params *p, t2c_error *err)
{
    t2c_tensor *ins[2] = {a, b};
    return prepare_and_run(&t2c_op_add, ins, 2, y, attrs, n_attrs, p, err);
}

static void test_add_op_def(void **state)
{
    (void)state;
    assert_string_equal(t2c_op_add.type, "add");
    assert_int_equal(t2c_op_add.min_inputs, 2);
    assert_int_equal(t2c_op_add.max_inputs, 2);
    assert_string_equal(t2c_op_add.input_roles[0], "input_a");
    assert_string_equal(t2c_op_add.input_roles[1], "input_b");
    assert_int_equal(t2c_op_add.params_size, sizeof(t2c_add_params));
}

/* Defaults: y = clamp(a + b, range). Saturates at both ends of int8. */
static void test_add_same_scale(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 2, 3};
    int8_t av[6] = {1, -5, 100, -100, 100, -100};
    int8_t bv[6] = {2, 3, 27, -28, 100, -100};
    int8_t yv[6] = {0};
    t2c_tensor a = make_tensor(T2C_INT8, av, 3, dims), b = make_tensor(T2C_INT8, bv, 3, dims);
    t2c_tensor y = make_tensor(T2C_INT8, yv, 0, dims);
    t2c_add_params p;
    t2c_error err;
    assert_int_equal(run_add(&a, &b, &y, NULL, 0, &p, &err), T2C_OK);
    assert_dims(&y, 3, dims);
    static const int8_t want[6] = {3, -2, 127, -128, 127, -128};
    assert_memory_equal(yv, want, sizeof want);
}

/* uint8 a (zp 128) + int8 b (zp -3) -> int8 (zp 5), left_shift 4, half_even:
 *   a2 = round(16·(a-128)·3/64), b2 = round(16·(b+3)/2), y = round((a2+b2)·5/16) + 5.
 *   a=141,b=8:   a1=208  a2=round(9.75)=10     b1=176  b2=88     sum=98    98·5/16=30.625  -> 31+5 = 36
 *   a=100,b=-20: a1=-448 a2=-21 (exact)        b1=-272 b2=-136   sum=-157  -785/16=-49.06  -> -49+5 = -44
 *   a=130,b=-4:  a1=32   a2=round(1.5)=2 (tie, even) b1=-16 b2=-8 sum=-6   -30/16=-1.875   -> -2+5 = 3
 *   a=255,b=127: a1=2032 a2=round(95.25)=95    b1=2080 b2=1040   sum=1135  354.69 -> 355+5 = 360 -> 127
 *   a=0,b=-128:  a1=-2048 a2=-96               b1=-2000 b2=-1000 sum=-1096 -342.5 (tie) -> -342+5 -> -128 */
static void test_add_scales_and_zero_points(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 5};
    uint8_t av[5] = {141, 100, 130, 255, 0};
    int8_t bv[5] = {8, -20, -4, 127, -128};
    int8_t yv[5] = {0};
    t2c_tensor a = make_tensor(T2C_UINT8, av, 2, dims), b = make_tensor(T2C_INT8, bv, 2, dims);
    t2c_tensor y = make_tensor(T2C_INT8, yv, 0, dims);
    const t2c_attr attrs[] = {
        ATTR_I("a_zero_point", 128), ATTR_I("b_zero_point", -3), ATTR_I("out_zero_point", 5),
        ATTR_I("left_shift", 4),     ATTR_I("a_multiplier", 3),  ATTR_I("a_shift", 6),
        ATTR_I("b_multiplier", 1),   ATTR_I("b_shift", 1),       ATTR_I("out_multiplier", 5),
        ATTR_I("out_shift", 4),
    };
    t2c_add_params p;
    t2c_error err;
    assert_int_equal(run_add(&a, &b, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    assert_int_equal(p.rounding, T2C_ROUND_HALF_EVEN);
    static const int8_t want[5] = {36, -44, 3, 127, -128};
    assert_memory_equal(yv, want, sizeof want);
}

/* y = round((a + b) / 4) with b = 0: sums 6, -6, 10, -10 are ties (1.5, -1.5, 2.5, -2.5);
 * 5, 7, -7, -5 are 1.25, 1.75, -1.75, -1.25. */
static void test_add_rounding_modes(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 8};
    int8_t av[8] = {6, -6, 10, -10, 5, 7, -7, -5};
    int8_t bv[8] = {0};
    static const char *const modes[4] = {"half_even", "half_up", "half_away", "floor"};
    static const int8_t want[4][8] = {
        {2, -2, 2, -2, 1, 2, -2, -1}, /* half_even */
        {2, -1, 3, -2, 1, 2, -2, -1}, /* half_up */
        {2, -2, 3, -3, 1, 2, -2, -1}, /* half_away */
        {1, -2, 2, -3, 1, 1, -2, -2}, /* floor */
    };
    for (int m = 0; m < 4; m++) {
        int8_t yv[8] = {0};
        t2c_tensor a = make_tensor(T2C_INT8, av, 2, dims), b = make_tensor(T2C_INT8, bv, 2, dims);
        t2c_tensor y = make_tensor(T2C_INT8, yv, 0, dims);
        const t2c_attr attrs[] = {ATTR_I("out_shift", 2), ATTR_S("rounding", modes[m])};
        t2c_add_params p;
        t2c_error err;
        assert_int_equal(run_add(&a, &b, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
        assert_memory_equal(yv, want[m], sizeof want[m]);
    }
}

/* tflite rounding with scale 1/4 as m = 2^30, s = 32 (TFLite shift -1): SRDHM(v, 2^30) rounds
 * v/2 (negative ties toward zero: its nudge is 1 - 2^30), then RDBPOT(., 1) rounds half away:
 *   6 -> 3 -> 2;  -6 -> -3 -> -2;  10 -> 5 -> 3;  -10 -> -5 -> -3;
 *   5 -> 3 -> 2 (double rounding: 1.25 gives 2);  7 -> 4 -> 2;  -7 -> -3 -> -2;  -5 -> -2 -> -1.
 * Inputs pass unchanged with m = 2^30, s = 30 (x = 2v, SRDHM(2v, 2^30) = v exactly). */
static void test_add_rounding_tflite(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 8};
    int8_t av[8] = {6, -6, 10, -10, 5, 7, -7, -5};
    int8_t bv[8] = {0};
    int8_t yv[8] = {0};
    t2c_tensor a = make_tensor(T2C_INT8, av, 2, dims), b = make_tensor(T2C_INT8, bv, 2, dims);
    t2c_tensor y = make_tensor(T2C_INT8, yv, 0, dims);
    const t2c_attr attrs[] = {
        ATTR_S("rounding", "tflite"),        ATTR_I("a_multiplier", 1 << 30), ATTR_I("a_shift", 30),
        ATTR_I("b_multiplier", 1 << 30),     ATTR_I("b_shift", 30),
        ATTR_I("out_multiplier", 1 << 30),   ATTR_I("out_shift", 32),
    };
    t2c_add_params p;
    t2c_error err;
    assert_int_equal(run_add(&a, &b, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    static const int8_t want[8] = {2, -2, 3, -3, 2, 2, -2, -1};
    assert_memory_equal(yv, want, sizeof want);
}

/* TFLite int8 ADD, input scales 0.02 (zp -5) and 0.03 (zp 3), output scale 0.05 (zp 10).
 * TFLite's Prepare: left_shift = 20, twice_max_input_scale = 0.06;
 *   input1 real multiplier 1/3 = 0.6667·2^-1 -> 1431655765 (round(0.6667·2^31)), shift -1 -> s = 32
 *   input2 real multiplier 1/2 = 0.5·2^0     -> 1073741824, shift 0 -> s = 31
 *   output real multiplier 0.06/(2^20·0.05) = 0.6·2^-19 -> 1288490189 (round(0.6·2^31 = 1288490188.8)),
 *   shift -19 -> s = 50.
 * a=100, b=-50: input1 = 105, shifted 105·2^20 = 110100480;
 *   SRDHM(110100480, 1431655765) = round(105·1431655765 / 2^11) = round(150323855325/2048)
 *     = round(73400319.98) = 73400320; RDBPOT(., 1) = 36700160.
 *   input2 = -53, shifted -55574528; SRDHM(., 2^30) = -27787264 (exact); RDBPOT(., 0) = same.
 *   raw_sum = 8912896 = 17·2^19; SRDHM(., 1288490189) = round(17·1288490189 / 2^12)
 *     = round(21904333213/4096) = round(5347737.60) = 5347738; RDBPOT(., 19): 5347738/524288 = 10.20
 *     -> 10; + 10 = 20.  (Real: (2.1 - 1.59)/0.05 = 10.2.)
 * a=-128, b=127: input1 = -123: SRDHM(-123·2^20, 1431655765) = round(-176093659095/2048)
 *     = round(-85983231.98) = -85983232; RDBPOT(., 1) = -42991616.
 *   input2 = 124: 124·2^19 = 65011712. raw_sum = 22020096 = 21·2^20; SRDHM = round(27058293969/2048)
 *     = round(13212057.60) = 13212058; RDBPOT(., 19) = 25 (25.2); + 10 = 35.
 * a=127, b=127: real (2.64 + 3.72)/0.05 = 127.2, + 10 = 137 -> clamps to 127. */
static void test_add_tflite_recipe(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 3};
    int8_t av[3] = {100, -128, 127};
    int8_t bv[3] = {-50, 127, 127};
    int8_t yv[3] = {0};
    t2c_tensor a = make_tensor(T2C_INT8, av, 2, dims), b = make_tensor(T2C_INT8, bv, 2, dims);
    t2c_tensor y = make_tensor(T2C_INT8, yv, 0, dims);
    const t2c_attr attrs[] = {
        ATTR_S("rounding", "tflite"),          ATTR_I("left_shift", 20),
        ATTR_I("a_zero_point", -5),            ATTR_I("b_zero_point", 3),
        ATTR_I("a_multiplier", 1431655765),    ATTR_I("a_shift", 32),
        ATTR_I("b_multiplier", 1073741824),    ATTR_I("b_shift", 31),
        ATTR_I("out_multiplier", 1288490189),  ATTR_I("out_shift", 50),
        ATTR_I("out_zero_point", 10),
    };
    t2c_add_params p;
    t2c_error err;
    assert_int_equal(run_add(&a, &b, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    static const int8_t want[3] = {20, 35, 127};
    assert_memory_equal(yv, want, sizeof want);
}

/* int4: 7+7 = 14 -> 7, -8-8 = -16 -> -8, 3-5 = -2, -8+7 = -1.
 * uint4 with zero points 8: (a-8)+(b-8)+8: 7+7+8 = 22 -> 15, -8-8+8 = -8 -> 0, 1-5+8 = 4. */
static void test_add_int4(void **state)
{
    (void)state;
    static const int64_t d4[] = {1, 4}, d3[] = {1, 3};
    int8_t av[4] = {7, -8, 3, -8}, bv[4] = {7, -8, -5, 7}, yv[4] = {0};
    t2c_tensor a = make_tensor(T2C_INT4, av, 2, d4), b = make_tensor(T2C_INT4, bv, 2, d4);
    t2c_tensor y = make_tensor(T2C_INT4, yv, 0, d4);
    t2c_add_params p;
    t2c_error err;
    assert_int_equal(run_add(&a, &b, &y, NULL, 0, &p, &err), T2C_OK);
    static const int8_t want[4] = {7, -8, -2, -1};
    assert_memory_equal(yv, want, sizeof want);

    uint8_t ua[3] = {15, 0, 9}, ub[3] = {15, 0, 3}, uy[3] = {0};
    t2c_tensor a4 = make_tensor(T2C_UINT4, ua, 2, d3), b4 = make_tensor(T2C_UINT4, ub, 2, d3);
    t2c_tensor y4 = make_tensor(T2C_UINT4, uy, 0, d3);
    const t2c_attr attrs[] = {ATTR_I("a_zero_point", 8), ATTR_I("b_zero_point", 8), ATTR_I("out_zero_point", 8)};
    assert_int_equal(run_add(&a4, &b4, &y4, attrs, N_OF(attrs), &p, &err), T2C_OK);
    static const uint8_t uwant[3] = {15, 0, 4};
    assert_memory_equal(uy, uwant, sizeof uwant);

    /* zero point 16 is outside uint4 */
    const t2c_attr bad[] = {ATTR_I("a_zero_point", 16)};
    assert_int_equal(run_add(&a4, &b4, &y4, bad, N_OF(bad), &p, &err), T2C_ERR_ATTR);
}

/* lo/hi clamp (a fused ReLU-like window) and int16 output: -3 + 2 = -1 -> lo 0; 30 + 20 = 50 -> hi 40. */
static void test_add_lo_hi_int16(void **state)
{
    (void)state;
    static const int64_t dims[] = {1, 3};
    int16_t av[3] = {-3, 30, 1000}, bv[3] = {2, 20, -990}, yv[3] = {0};
    t2c_tensor a = make_tensor(T2C_INT16, av, 2, dims), b = make_tensor(T2C_INT16, bv, 2, dims);
    t2c_tensor y = make_tensor(T2C_INT16, yv, 0, dims);
    const t2c_attr attrs[] = {ATTR_I("lo", 0), ATTR_I("hi", 40)};
    t2c_add_params p;
    t2c_error err;
    assert_int_equal(run_add(&a, &b, &y, attrs, N_OF(attrs), &p, &err), T2C_OK);
    static const int16_t want[3] = {0, 40, 10};
    assert_memory_equal(yv, want, sizeof want);
}

/* The kernel callable without a node. */
static void test_add_kernel_direct(void **state)
{
    (void)state;
    static const int64_t dims[] = {2, 2};
    int8_t av[4] = {-128, 127, 0, 1}, bv[4] = {-1, 1, 0, -2}, yv[4] = {0};
    t2c_tensor a = make_tensor(T2C_INT8, av, 2, dims), b = make_tensor(T2C_INT8, bv, 2, dims);
    t2c_tensor y = make_tensor(T2C_INT8, yv, 2, dims);
    t2c_add_params p = {.a_multiplier = 1, .b_multiplier = 1, .out_multiplier = 1,
                        .rounding = T2C_ROUND_HALF_EVEN, .lo = -128, .hi = 127};
    assert_int_equal(t2c_add_ref(&p, &a, &b, &y, NULL), T2C_OK);
    static const int8_t want[4] = {-128, 127, 0, -1};
    assert_memory_equal(yv, want, sizeof want);
}

static void test_add_prepare_errors(void **state)
{
    (void)state;
    static const int64_t d4[] = {1, 4}, d5[] = {1, 5}, d41[] = {1, 4, 1};
    int8_t buf[8] = {0};
    int32_t buf32[4] = {0};
    t2c_add_params p;
    t2c_error err;
    t2c_tensor a = make_tensor(T2C_INT8, buf, 2, d4), b5 = make_tensor(T2C_INT8, buf, 2, d5);
    t2c_tensor y = make_tensor(T2C_INT8, buf, 0, d4);
    t2c_tensor *ins[2] = {&a, &b5};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, NULL, 0, &p, &err), T2C_ERR_SHAPE);
    assert_int_equal(err.status, T2C_ERR_SHAPE);
    assert_non_null(strstr(err.message, "[1, 5]"));
    t2c_tensor b41 = make_tensor(T2C_INT8, buf, 3, d41); /* same element count, other rank */
    ins[1] = &b41;
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, NULL, 0, &p, &err), T2C_ERR_SHAPE);

    t2c_tensor b32 = make_tensor(T2C_INT32, buf32, 2, d4);
    ins[1] = &b32;
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
    t2c_tensor bf = make_tensor(T2C_FLOAT32, buf32, 2, d4);
    ins[1] = &bf;
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, NULL, 0, &p, &err), T2C_ERR_DTYPE);
    t2c_tensor b = make_tensor(T2C_INT8, buf, 2, d4);
    ins[1] = &b;
    t2c_tensor y32 = make_tensor(T2C_INT32, buf32, 0, d4); /* output dtype comes from the file */
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y32, NULL, 0, &p, &err), T2C_ERR_DTYPE);

    const t2c_attr ls31[] = {ATTR_I("left_shift", 31)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, ls31, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr neg_m[] = {ATTR_S("rounding", "tflite"), ATTR_I("a_multiplier", -5)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, neg_m, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr big_m[] = {ATTR_I("out_multiplier", (int64_t)1 << 31)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, big_m, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr sh63[] = {ATTR_I("b_shift", 63)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, sh63, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr lohi[] = {ATTR_I("lo", 5), ATTR_I("hi", 4)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, lohi, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr hi_big[] = {ATTR_I("hi", 128)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, hi_big, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr bad_round[] = {ATTR_S("rounding", "nearest")};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, bad_round, 1, &p, &err), T2C_ERR_ATTR);
    /* int8, zero points 0: |a - zp| <= 128 = 2^7. left_shift 22: |a1|, |b1| <= 2^29 and
     * |a2| + |b2| <= 2^30 (fine); a_multiplier 3 makes it 3·2^29 + 2^29 = 2^31 (too large);
     * left_shift 23 makes it 2^30 + 2^30 = 2^31 (too large); left_shift 24 makes |a1| = 2^31. */
    const t2c_attr ok22[] = {ATTR_I("left_shift", 22)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, ok22, 1, &p, &err), T2C_OK);
    const t2c_attr m_big[] = {ATTR_I("left_shift", 22), ATTR_I("a_multiplier", 3)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, m_big, 2, &p, &err), T2C_ERR_ATTR);
    const t2c_attr ls23[] = {ATTR_I("left_shift", 23)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, ls23, 1, &p, &err), T2C_ERR_ATTR);
    const t2c_attr ls24[] = {ATTR_I("left_shift", 24), ATTR_I("b_multiplier", 0)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, ls24, 2, &p, &err), T2C_ERR_ATTR);
    /* ... and a shift brings it back: a_shift 1 halves a2: 2^29 + 2^30 < 2^31 */
    const t2c_attr ls23s[] = {ATTR_I("left_shift", 23), ATTR_I("a_shift", 1)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, ls23s, 2, &p, &err), T2C_OK);
    /* The bound rounds up: uint8 a (|a1| <= 255) with m = 16842753, s = 1 bounds |a2| by
     * ceil(255·16842753/2) = ceil(2147451007.5) = 2147451008; int8 b (|b1| <= 128) with m = 255
     * bounds |b2| by 32640; the sum is exactly 2^31 (rejected). m = 16842751 gives 2147483393. */
    uint8_t u8[4] = {0};
    t2c_tensor au = make_tensor(T2C_UINT8, u8, 2, d4);
    t2c_tensor *insu[2] = {&au, &b};
    const t2c_attr ceil_hit[] = {ATTR_I("a_multiplier", 16842753), ATTR_I("a_shift", 1),
                                 ATTR_I("b_multiplier", 255)};
    assert_int_equal(prepare_node(&t2c_op_add, insu, 2, &y, ceil_hit, 3, &p, &err), T2C_ERR_ATTR);
    const t2c_attr ceil_ok[] = {ATTR_I("a_multiplier", 16842751), ATTR_I("a_shift", 1),
                                ATTR_I("b_multiplier", 255)};
    assert_int_equal(prepare_node(&t2c_op_add, insu, 2, &y, ceil_ok, 3, &p, &err), T2C_OK);
    /* tflite with s = 0: x = a1·2^31 wraps to int32 (defined), so |x| <= 2^31 and
     * |a2| <= ceil(2^31·2^30/2^31) = 2^30; b2 with s = 31 is at most 1: accepted. */
    const t2c_attr wraps[] = {ATTR_S("rounding", "tflite"), ATTR_I("a_multiplier", 1 << 30),
                              ATTR_I("b_shift", 31)};
    assert_int_equal(prepare_node(&t2c_op_add, ins, 2, &y, wraps, 3, &p, &err), T2C_OK);
    /* int16 with TFLite's int8 left_shift of 20: 2^15·2^20 >= 2^31 */
    int16_t b16[4] = {0};
    t2c_tensor a16 = make_tensor(T2C_INT16, b16, 2, d4), c16 = make_tensor(T2C_INT16, b16, 2, d4);
    t2c_tensor *ins16[2] = {&a16, &c16};
    const t2c_attr ls20[] = {ATTR_I("left_shift", 20)};
    assert_int_equal(prepare_node(&t2c_op_add, ins16, 2, &y, ls20, 1, &p, &err), T2C_ERR_ATTR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_op_def),
        cmocka_unit_test(test_add_same_scale),
        cmocka_unit_test(test_add_scales_and_zero_points),
        cmocka_unit_test(test_add_rounding_modes),
        cmocka_unit_test(test_add_rounding_tflite),
        cmocka_unit_test(test_add_tflite_recipe),
        cmocka_unit_test(test_add_int4),
        cmocka_unit_test(test_add_lo_hi_int16),
        cmocka_unit_test(test_add_kernel_direct),
        cmocka_unit_test(test_add_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
