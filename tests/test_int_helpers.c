/* test_int_helpers.c — hand-worked values for ops/t2c_int.h (rounding, TFLite fixed point,
 * accumulator policies). Every expected value below is worked out in the comment next to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "t2c_int.h"

#define P62 ((int64_t)1 << 62)
#define P61 ((int64_t)1 << 61)
#define P30 ((int64_t)1 << 30)

#define EVEN T2C_ROUND_HALF_EVEN
#define UP T2C_ROUND_HALF_UP
#define AWAY T2C_ROUND_HALF_AWAY
#define FLOOR T2C_ROUND_FLOOR
#define TFL T2C_ROUND_TFLITE

/* Expected results per mode: half_even, half_up, half_away, floor, tflite. */
static void check_shift(int64_t v, int s, int64_t e, int64_t u, int64_t a, int64_t f, int64_t t)
{
    assert_int_equal(t2c_round_shift(v, s, EVEN), e);
    assert_int_equal(t2c_round_shift(v, s, UP), u);
    assert_int_equal(t2c_round_shift(v, s, AWAY), a);
    assert_int_equal(t2c_round_shift(v, s, FLOOR), f);
    assert_int_equal(t2c_round_shift(v, s, TFL), t);
}

static void check_div(int64_t n, int64_t d, int64_t e, int64_t u, int64_t a, int64_t f, int64_t t)
{
    assert_int_equal(t2c_round_div(n, d, EVEN), e);
    assert_int_equal(t2c_round_div(n, d, UP), u);
    assert_int_equal(t2c_round_div(n, d, AWAY), a);
    assert_int_equal(t2c_round_div(n, d, FLOOR), f);
    assert_int_equal(t2c_round_div(n, d, TFL), t);
}

static void test_round_shift_ties(void **state)
{
    (void)state;
    /*            v   s   even up away floor tflite */
    check_shift(  5,  1,   2,  3,  3,   2,   3);  /*  2.5 */
    check_shift(  7,  1,   4,  4,  4,   3,   4);  /*  3.5 */
    check_shift( -5,  1,  -2, -2, -3,  -3,  -3);  /* -2.5: q = -3, r = 1 = h; q odd -> even is -2 */
    check_shift( -7,  1,  -4, -3, -4,  -4,  -4);  /* -3.5: q = -4 even */
    check_shift( 10,  2,   2,  3,  3,   2,   3);  /*  2.5 */
    check_shift(-10,  2,  -2, -2, -3,  -3,  -3);  /* -2.5 */
    check_shift(  6,  2,   2,  2,  2,   1,   2);  /*  1.5 */
    check_shift( -6,  2,  -2, -1, -2,  -2,  -2);  /* -1.5: q = -2 even */
    check_shift(  1,  1,   0,  1,  1,   0,   1);  /*  0.5 */
    check_shift( -1,  1,   0,  0, -1,  -1,  -1);  /* -0.5: q = -1 odd -> 0 */
}

static void test_round_shift_non_ties(void **state)
{
    (void)state;
    check_shift( -9, 2, -2, -2, -2, -3, -2);   /* -2.25: q = -3, r = 3 > 2 */
    check_shift(-11, 2, -3, -3, -3, -3, -3);   /* -2.75: q = -3, r = 1 < 2 */
    check_shift(  9, 2,  2,  2,  2,  2,  2);   /*  2.25 */
    check_shift( 11, 2,  3,  3,  3,  2,  3);   /*  2.75 */
    check_shift(-12, 2, -3, -3, -3, -3, -3);   /* exact */
}

static void test_round_shift_extremes(void **state)
{
    (void)state;
    /* s = 0 returns v in every mode */
    check_shift(-7, 0, -7, -7, -7, -7, -7);
    check_shift(INT64_MAX, 0, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX);
    /* s = 62 */
    check_shift(P61, 62, 0, 1, 1, 0, 1);             /*  0.5 */
    check_shift(-P61, 62, 0, 0, -1, -1, -1);         /* -0.5 */
    check_shift(3 * P61, 62, 2, 2, 2, 1, 2);         /*  1.5 */
    check_shift(-3 * P61, 62, -2, -1, -2, -2, -2);   /* -1.5: q = -2 */
    check_shift(INT64_MAX, 62, 2, 2, 2, 1, 2);       /* 1.99999... */
    check_shift(INT64_MIN, 62, -2, -2, -2, -2, -2);  /* exactly -2 */
    check_shift(P61 - 1, 62, 0, 0, 0, 0, 0);         /* just below 0.5 */
    check_shift(-P61 - 1, 62, -1, -1, -1, -1, -1);   /* just below -0.5 */
}

static void test_round_div(void **state)
{
    (void)state;
    /*         n   d   even up away floor tflite */
    check_div(  5, 2,   2,  3,  3,   2,   3);  /*  2.5 */
    check_div( -5, 2,  -2, -2, -3,  -3,  -3);  /* -2.5 */
    check_div(  7, 3,   2,  2,  2,   2,   2);  /*  2.33 */
    check_div(  8, 3,   3,  3,  3,   2,   3);  /*  2.67 */
    check_div( -7, 3,  -2, -2, -2,  -3,  -2);  /* -2.33: q = -3, r = 2, 2r = 4 > 3 */
    check_div( -8, 3,  -3, -3, -3,  -3,  -3);  /* -2.67 */
    check_div( -3, 6,   0,  0, -1,  -1,  -1);  /* -0.5 */
    check_div(  9, 6,   2,  2,  2,   1,   2);  /*  1.5 */
    check_div( 15, 6,   2,  3,  3,   2,   3);  /*  2.5 */
    check_div(-15, 6,  -2, -2, -3,  -3,  -3);  /* -2.5 */
    check_div( -7, 1,  -7, -7, -7,  -7,  -7);
    check_div(  0, 9,   0,  0,  0,   0,   0);
}

static void test_srdhm(void **state)
{
    (void)state;
    /* round(a*b / 2^31); a tie goes up (toward +infinity): the negative nudge is 1 - 2^30 */
    assert_int_equal(t2c_srdhm(3, (int32_t)P30), 2);    /*  1.5 ->  2 */
    assert_int_equal(t2c_srdhm(-3, (int32_t)P30), -1);  /* -1.5 -> -1: (-3*2^30 + 1 - 2^30) / 2^31 truncates */
    assert_int_equal(t2c_srdhm(5, (int32_t)P30), 3);    /*  2.5 ->  3 */
    assert_int_equal(t2c_srdhm(-5, (int32_t)P30), -2);  /* -2.5 -> -2 */
    assert_int_equal(t2c_srdhm(1, (int32_t)P30), 1);    /*  0.5 ->  1 */
    assert_int_equal(t2c_srdhm(-1, (int32_t)P30), 0);   /* -0.5 ->  0 */
    assert_int_equal(t2c_srdhm(7, (int32_t)P30), 4);    /*  3.5 ->  4 */
    assert_int_equal(t2c_srdhm(-7, (int32_t)(3 * P30 / 2)), -5); /* -7*0.75 = -5.25 -> -5 */
    assert_int_equal(t2c_srdhm(-9, (int32_t)(3 * P30 / 2)), -7); /* -6.75 -> -7 */
    /* the one saturating case, and its neighbours */
    assert_int_equal(t2c_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    assert_int_equal(t2c_srdhm(INT32_MIN, INT32_MAX), -INT32_MAX); /* -(2^31 - 1) exactly */
    assert_int_equal(t2c_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1); /* (2^31-1)^2/2^31 = 2^31 - 2 + 2^-31 */
    assert_int_equal(t2c_srdhm(INT32_MIN, (int32_t)P30), -(int32_t)P30);
}

static void test_rdbpot(void **state)
{
    (void)state;
    assert_int_equal(t2c_rdbpot(5, 1), 3);     /*  2.5 away */
    assert_int_equal(t2c_rdbpot(-5, 1), -3);   /* -2.5 away */
    assert_int_equal(t2c_rdbpot(-6, 2), -2);   /* -1.5 away: rem 2, threshold 2 */
    assert_int_equal(t2c_rdbpot(6, 2), 2);     /*  1.5 away */
    assert_int_equal(t2c_rdbpot(-5, 2), -1);   /* -1.25 */
    assert_int_equal(t2c_rdbpot(-7, 2), -2);   /* -1.75 */
    assert_int_equal(t2c_rdbpot(-4, 1), -2);
    assert_int_equal(t2c_rdbpot(-123, 0), -123);
    assert_int_equal(t2c_rdbpot(INT32_MIN, 31), -1);
    assert_int_equal(t2c_rdbpot(INT32_MAX, 31), 1);              /* 0.99999 */
    assert_int_equal(t2c_rdbpot((int32_t)P30, 31), 1);           /*  0.5 away */
    assert_int_equal(t2c_rdbpot(-(int32_t)P30, 31), -1);         /* -0.5 away */
    assert_int_equal(t2c_rdbpot(-(int32_t)P30 + 1, 31), 0);      /* just above -0.5 */
}

static void test_scale_round_shift_modes(void **state)
{
    (void)state;
    /* 3*5 + 1 = 16, / 8 = 2 exactly in every mode */
    for (int m = EVEN; m <= FLOOR; m++)
        assert_int_equal(t2c_scale_round(3, 5, 1, 3, (t2c_rounding)m), 2);
    /* 3*3 + 1 = 10, / 4 = 2.5 */
    assert_int_equal(t2c_scale_round(3, 3, 1, 2, EVEN), 2);
    assert_int_equal(t2c_scale_round(3, 3, 1, 2, UP), 3);
    assert_int_equal(t2c_scale_round(3, 3, 1, 2, AWAY), 3);
    assert_int_equal(t2c_scale_round(3, 3, 1, 2, FLOOR), 2);
    /* -3*3 - 1 = -10, / 4 = -2.5 */
    assert_int_equal(t2c_scale_round(-3, 3, -1, 2, EVEN), -2);
    assert_int_equal(t2c_scale_round(-3, 3, -1, 2, UP), -2);
    assert_int_equal(t2c_scale_round(-3, 3, -1, 2, AWAY), -3);
    assert_int_equal(t2c_scale_round(-3, 3, -1, 2, FLOOR), -3);
    /* negative multiplier: 7 * -3 = -21, / 2 = -10.5 */
    assert_int_equal(t2c_scale_round(7, -3, 0, 1, EVEN), -10);
    assert_int_equal(t2c_scale_round(7, -3, 0, 1, AWAY), -11);
    /* extremes: (-2^31)(2^31 - 1) = -2^62 + 2^31, / 2^62 = -0.9999999995 -> -1 */
    assert_int_equal(t2c_scale_round(INT32_MIN, INT32_MAX, 0, 62, EVEN), -1);
    /* (2^31-1)^2 + 2^62 - 1 = 2^63 - 2^32, / 2^62 = 1.999... -> 2 (floor 1) */
    assert_int_equal(t2c_scale_round(INT32_MAX, INT32_MAX, P62 - 1, 62, EVEN), 2);
    assert_int_equal(t2c_scale_round(INT32_MAX, INT32_MAX, P62 - 1, 62, FLOOR), 1);
    /* shift 0: v*m + b exactly */
    assert_int_equal(t2c_scale_round(-40000, 50000, 7, 0, EVEN), -1999999993);
}

static void test_scale_round_tflite(void **state)
{
    (void)state;
    const int64_t half = P30; /* 0.5 in Q31 */
    /* s = 31 (TFLite shift 0): L = R = 0, just SRDHM: ties go up */
    assert_int_equal(t2c_scale_round(3, half, 0, 31, TFL), 2);   /*  1.5 */
    assert_int_equal(t2c_scale_round(-3, half, 0, 31, TFL), -1); /* -1.5 */
    assert_int_equal(t2c_scale_round(-5, half, 0, 31, TFL), -2); /* -2.5 */
    /* s = 30 (< 31, TFLite shift +1): x = 2v, m = 3*2^28 -> scale 0.75 */
    assert_int_equal(t2c_scale_round(2, 3 * ((int64_t)1 << 28), 0, 30, TFL), 2);    /*  1.5 */
    assert_int_equal(t2c_scale_round(-2, 3 * ((int64_t)1 << 28), 0, 30, TFL), -1);  /* -1.5 */
    assert_int_equal(t2c_scale_round(-10, 3 * ((int64_t)1 << 28), 0, 30, TFL), -7); /* -7.5 */
    /* s = 33 (> 31, TFLite shift -2): SRDHM(12, 2^30) = 6, RDBPOT(6, 2) = 1.5 -> 2 */
    assert_int_equal(t2c_scale_round(12, half, 0, 33, TFL), 2);
    assert_int_equal(t2c_scale_round(-12, half, 0, 33, TFL), -2);
    /* double rounding: 1 * 2^30 / 2^32 = 0.25, but SRDHM(1, 2^30) = 1 (0.5 up), RDBPOT(1, 1) = 1 */
    assert_int_equal(t2c_scale_round(1, half, 0, 32, TFL), 1);
    assert_int_equal(t2c_scale_round(1, half, 0, 32, AWAY), 0);
    assert_int_equal(t2c_scale_round(-1, half, 0, 32, TFL), 0);  /* SRDHM(-1, 2^30) = 0 */
    /* s = 0: L = 31, 1 * 2^31 wraps to -2^31; SRDHM(-2^31, 2^30) = -2^30 */
    assert_int_equal(t2c_scale_round(1, half, 0, 0, TFL), -P30);
    /* s = 62: R = 31. SRDHM(2^30, 2^30) = 2^29; RDBPOT(2^29, 31) = 0.25 -> 0 */
    assert_int_equal(t2c_scale_round(P30, half, 0, 62, TFL), 0);
    /* SRDHM(INT32_MAX, INT32_MAX) = 2^31 - 2; RDBPOT(2^31 - 2, 31) = 0.999 -> 1 */
    assert_int_equal(t2c_scale_round(INT32_MAX, INT32_MAX, 0, 62, TFL), 1);
}

static void test_wrap_bits(void **state)
{
    (void)state;
    assert_int_equal(t2c_wrap_bits(127, 8), 127);
    assert_int_equal(t2c_wrap_bits(128, 8), -128);
    assert_int_equal(t2c_wrap_bits(-129, 8), 127);
    assert_int_equal(t2c_wrap_bits(255, 8), -1);
    assert_int_equal(t2c_wrap_bits(256, 8), 0);
    assert_int_equal(t2c_wrap_bits(2, 2), -2);
    assert_int_equal(t2c_wrap_bits(-3, 2), 1);
    assert_int_equal(t2c_wrap_bits(8, 4), -8);
    assert_int_equal(t2c_wrap_bits(7, 4), 7);
    assert_int_equal(t2c_wrap_bits((int64_t)1 << 31, 32), INT32_MIN);
    assert_int_equal(t2c_wrap_bits(-((int64_t)1 << 31) - 1, 32), INT32_MAX);
    assert_int_equal(t2c_wrap_bits(INT64_MIN, 64), INT64_MIN);
    assert_int_equal(t2c_wrap_bits(-5, 64), -5);
}

static void test_acc_add(void **state)
{
    (void)state;
    int64_t acc;
    /* in range: all policies add */
    for (int pol = 0; pol < T2C_OVERFLOW_COUNT; pol++) {
        acc = 120;
        assert_int_equal(t2c_acc_add(&acc, 7, 8, (t2c_overflow)pol), 0);
        assert_int_equal(acc, 127);
        acc = -120;
        assert_int_equal(t2c_acc_add(&acc, -8, 8, (t2c_overflow)pol), 0);
        assert_int_equal(acc, -128);
    }
    /* 120 + 8 = 128 leaves int8 */
    acc = 120;
    assert_int_equal(t2c_acc_add(&acc, 8, 8, T2C_OVERFLOW_ERROR), -1);
    assert_int_equal(acc, 120); /* unchanged */
    acc = 120;
    assert_int_equal(t2c_acc_add(&acc, 8, 8, T2C_OVERFLOW_WRAP), 0);
    assert_int_equal(acc, -128);
    acc = 120;
    assert_int_equal(t2c_acc_add(&acc, 8, 8, T2C_OVERFLOW_SATURATE), 0);
    assert_int_equal(acc, 127);
    /* -120 - 9 = -129 */
    acc = -120;
    assert_int_equal(t2c_acc_add(&acc, -9, 8, T2C_OVERFLOW_WRAP), 0);
    assert_int_equal(acc, 127);
    acc = -120;
    assert_int_equal(t2c_acc_add(&acc, -9, 8, T2C_OVERFLOW_SATURATE), 0);
    assert_int_equal(acc, -128);
    acc = -120;
    assert_int_equal(t2c_acc_add(&acc, -9, 8, T2C_OVERFLOW_ERROR), -1);
    /* 32 bits */
    acc = INT32_MAX;
    assert_int_equal(t2c_acc_add(&acc, 1, 32, T2C_OVERFLOW_WRAP), 0);
    assert_int_equal(acc, INT32_MIN);
    acc = INT32_MIN;
    assert_int_equal(t2c_acc_add(&acc, -1, 32, T2C_OVERFLOW_SATURATE), 0);
    assert_int_equal(acc, INT32_MIN);
    acc = INT32_MAX;
    assert_int_equal(t2c_acc_add(&acc, 1, 32, T2C_OVERFLOW_ERROR), -1);
    /* 2 bits: range [-2, 1] */
    acc = 1;
    assert_int_equal(t2c_acc_add(&acc, 1, 2, T2C_OVERFLOW_WRAP), 0);
    assert_int_equal(acc, -2);
    /* 64 bits: never fails */
    acc = (int64_t)1 << 61;
    assert_int_equal(t2c_acc_add(&acc, (int64_t)1 << 61, 64, T2C_OVERFLOW_ERROR), 0);
    assert_int_equal(acc, P62);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_shift_ties),
        cmocka_unit_test(test_round_shift_non_ties),
        cmocka_unit_test(test_round_shift_extremes),
        cmocka_unit_test(test_round_div),
        cmocka_unit_test(test_srdhm),
        cmocka_unit_test(test_rdbpot),
        cmocka_unit_test(test_scale_round_shift_modes),
        cmocka_unit_test(test_scale_round_tflite),
        cmocka_unit_test(test_wrap_bits),
        cmocka_unit_test(test_acc_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
