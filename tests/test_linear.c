/* test_linear.c — linear: hand-worked values, zero points, int4/uint4, higher-rank inputs,
 * accumulator policies and messages, prepare() rejections, and a randomized comparison with a
 * naive in-test implementation of the ops/README.md recipe (seeded xorshift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "linear.h"

#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define A_INT(nm, val) {.name = nm, .type = T2C_ATTR_INT, .count = 1, .v = {.i = (val)}}
#define A_STR(nm, val) {.name = nm, .type = T2C_ATTR_STRING, .count = sizeof(val) - 1, .v = {.s = val}}

static t2c_tensor mk(t2c_dtype dt, void *data, int rank, int64_t d0, int64_t d1, int64_t d2)
{
    t2c_tensor t = {.name = "t", .dtype = dt, .rank = rank, .dims = {d0, d1, d2}, .data = data};
    return t;
}

static t2c_status prep(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs,
                       int n_attrs, t2c_linear_params *p, t2c_error *err)
{
    t2c_tensor *ins[3] = {x, w, b};
    t2c_node node = {.type = "linear", .name = "fc", .n_inputs = b ? 3 : 2, .inputs = ins, .n_outputs = 1,
                     .outputs = &y, .n_attrs = n_attrs, .attrs = attrs, .params = p};
    memset(p, 0, sizeof *p);
    return t2c_op_linear.prepare(&node, err);
}

static void run_ok(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs, int n)
{
    t2c_linear_params p;
    t2c_error err = {0};
    assert_int_equal(prep(x, w, b, y, attrs, n, &p, &err), T2C_OK);
    assert_int_equal(t2c_linear_ref(&p, x, w, b, y, &err), T2C_OK);
}

static void test_basic_bias(void **state)
{
    (void)state;
    int8_t xd[6] = {1, 2, 3, -4, 5, -6}, wd[6] = {1, 0, -1, 2, 2, 2};
    int32_t bd[2] = {10, -10}, yd[4];
    t2c_tensor x = mk(T2C_INT8, xd, 2, 2, 3, 0), w = mk(T2C_INT8, wd, 2, 2, 3, 0), b = mk(T2C_INT32, bd, 1, 2, 0, 0);
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID, .data = yd};
    run_ok(&x, &w, &b, &y, NULL, 0);
    assert_int_equal(y.dtype, T2C_INT32);
    assert_int_equal(y.rank, 2), assert_int_equal(y.dims[0], 2), assert_int_equal(y.dims[1], 2);
    /* row 0: 1-3+10, 2*(1+2+3)-10; row 1: -4+6+10, 2*(-4+5-6)-10 */
    assert_int_equal(yd[0], 8), assert_int_equal(yd[1], 2);
    assert_int_equal(yd[2], 12), assert_int_equal(yd[3], -20);
    run_ok(&x, &w, NULL, &y, NULL, 0);
    assert_int_equal(yd[0], -2), assert_int_equal(yd[3], -10);
}

static void test_zero_points_extremes(void **state)
{
    (void)state;
    uint8_t xd[2] = {0, 255};
    int8_t wd[2] = {-128, 127};
    int32_t yd[1];
    t2c_tensor x = mk(T2C_UINT8, xd, 2, 1, 2, 0), w = mk(T2C_INT8, wd, 2, 1, 2, 0), y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INT("x_zero_point", 128), A_INT("w_zero_point", -1)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    assert_int_equal(yd[0], 32512); /* (-128)(-127) + 127*128 */
    /* uint4 [15, 0, 7] . int4 [-8, 7, -8] = -120 + 0 - 56 */
    uint8_t x4[3] = {15, 0, 7};
    int8_t w4[3] = {-8, 7, -8};
    t2c_tensor xq = mk(T2C_UINT4, x4, 2, 1, 3, 0), wq = mk(T2C_INT4, w4, 2, 1, 3, 0);
    run_ok(&xq, &wq, NULL, &y, NULL, 0);
    assert_int_equal(yd[0], -176);
    /* x_zp 15, w_zp -8: (0)(0) + (-15)(15) + (-8)(0) = -225 */
    const t2c_attr a4[] = {A_INT("x_zero_point", 15), A_INT("w_zero_point", -8)};
    run_ok(&xq, &wq, NULL, &y, a4, NA(a4));
    assert_int_equal(yd[0], -225);
}

static void test_higher_rank(void **state)
{
    (void)state;
    int8_t xd[6] = {1, 2, 3, 4, 5, 6}, wd[3] = {1, 1, 1};
    int32_t yd[2];
    t2c_tensor x = mk(T2C_INT8, xd, 3, 1, 2, 3), w = mk(T2C_INT8, wd, 2, 1, 3, 0), y = {.dtype = T2C_INT32, .data = yd};
    run_ok(&x, &w, NULL, &y, NULL, 0);
    assert_int_equal(y.rank, 3);
    assert_int_equal(y.dims[0], 1), assert_int_equal(y.dims[1], 2), assert_int_equal(y.dims[2], 1);
    assert_int_equal(yd[0], 6), assert_int_equal(yd[1], 15);
}

static void test_acc_policies(void **state)
{
    (void)state;
    int8_t xd[3] = {100, 100, -100}, wd[3] = {1, 1, 1};
    int32_t yd[2];
    t2c_tensor x = mk(T2C_INT8, xd, 2, 1, 3, 0), w = mk(T2C_INT8, wd, 2, 1, 3, 0), y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr sat[] = {A_INT("acc_bits", 8), A_STR("overflow", "saturate")};
    const t2c_attr wrap[] = {A_INT("acc_bits", 8), A_STR("overflow", "wrap")};
    const t2c_attr errp[] = {A_INT("acc_bits", 8), A_STR("overflow", "error")};
    run_ok(&x, &w, NULL, &y, sat, NA(sat));
    assert_int_equal(yd[0], 27); /* 100, 127, 27 */
    run_ok(&x, &w, NULL, &y, wrap, NA(wrap));
    assert_int_equal(yd[0], 100); /* 100, -56, 100 */
    t2c_linear_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&x, &w, NULL, &y, errp, NA(errp), &p, &err), T2C_OK);
    assert_int_equal(t2c_linear_ref(&p, &x, &w, NULL, &y, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "(row=0, m=0)"));
    assert_non_null(strstr(err.message, "100 + 100"));
    /* 16 bits: bias 32767, a +1 product only at row 1, m 0 */
    int8_t x2[4] = {0, 0, 1, 0}, w2[4] = {1, 0, 0, 1};
    int32_t bd[2] = {32767, 32767}, y2[4];
    t2c_tensor xx = mk(T2C_INT8, x2, 2, 2, 2, 0), ww = mk(T2C_INT8, w2, 2, 2, 2, 0), b = mk(T2C_INT32, bd, 1, 2, 0, 0);
    t2c_tensor yy = {.dtype = T2C_INT32, .data = y2};
    const t2c_attr e16[] = {A_INT("acc_bits", 16)};
    assert_int_equal(prep(&xx, &ww, &b, &yy, e16, NA(e16), &p, &err), T2C_OK);
    assert_int_equal(t2c_linear_ref(&p, &xx, &ww, &b, &yy, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "(row=1, m=0)"));
    assert_non_null(strstr(err.message, "16-bit"));
    const t2c_attr w16[] = {A_INT("acc_bits", 16), A_STR("overflow", "wrap")};
    run_ok(&xx, &ww, &b, &yy, w16, NA(w16));
    assert_int_equal(y2[0], 32767), assert_int_equal(y2[1], 32767);
    assert_int_equal(y2[2], -32768), assert_int_equal(y2[3], 32767);
    /* bias above the 16-bit range saturates on load */
    int32_t big[2] = {40000, -40000};
    b.data = big;
    const t2c_attr s16[] = {A_INT("acc_bits", 16), A_STR("overflow", "saturate")};
    run_ok(&xx, &ww, &b, &yy, s16, NA(s16));
    assert_int_equal(y2[0], 32767), assert_int_equal(y2[1], -32768);
    assert_int_equal(y2[2], 32767), assert_int_equal(y2[3], -32768);
}

static void expect_reject(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *at, int n,
                          t2c_status want)
{
    t2c_linear_params p;
    t2c_error err = {0};
    t2c_status st = prep(x, w, b, y, at, n, &p, &err);
    if (st != want)
        print_error("status %d, want %d: %s\n", st, want, err.message);
    assert_int_equal(st, want);
    assert_true(strlen(err.message) > 0);
}

static void test_prepare_rejects(void **state)
{
    (void)state;
    int8_t buf[64] = {0};
    int32_t bd[4] = {0};
    t2c_tensor x = mk(T2C_INT8, buf, 2, 2, 5, 0), w = mk(T2C_INT8, buf, 2, 3, 5, 0), b = mk(T2C_INT32, bd, 1, 3, 0, 0);
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID}, bad;
    t2c_linear_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&x, &w, &b, &y, NULL, 0, &p, &err), T2C_OK);
    bad = x, bad.rank = 1;
    expect_reject(&bad, &w, &b, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = w, bad.rank = 3, bad.dims[2] = 1;
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = w, bad.dims[1] = 4;
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = b, bad.dims[0] = 2;
    expect_reject(&x, &w, &bad, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = x, bad.dtype = T2C_INT16;
    expect_reject(&bad, &w, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad = w, bad.dtype = T2C_UINT8;
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad = b, bad.dtype = T2C_INT16;
    expect_reject(&x, &w, &bad, &y, NULL, 0, T2C_ERR_DTYPE);
    t2c_tensor y8 = {.dtype = T2C_INT8};
    expect_reject(&x, &w, &b, &y8, NULL, 0, T2C_ERR_DTYPE);
    const t2c_attr xz[] = {A_INT("x_zero_point", -129)}, wz[] = {A_INT("w_zero_point", 128)};
    expect_reject(&x, &w, &b, &y, xz, NA(xz), T2C_ERR_ATTR);
    expect_reject(&x, &w, &b, &y, wz, NA(wz), T2C_ERR_ATTR);
    t2c_tensor w4 = w;
    w4.dtype = T2C_INT4;
    const t2c_attr wz4[] = {A_INT("w_zero_point", -9)};
    expect_reject(&x, &w4, &b, &y, wz4, NA(wz4), T2C_ERR_ATTR);
    const t2c_attr ab[] = {A_INT("acc_bits", 64)}, ov[] = {A_STR("overflow", "ignore")};
    expect_reject(&x, &w, &b, &y, ab, NA(ab), T2C_ERR_ATTR);
    expect_reject(&x, &w, &b, &y, ov, NA(ov), T2C_ERR_ATTR);
}

static void test_macs_and_roles(void **state)
{
    (void)state;
    int8_t buf[128] = {0};
    t2c_linear_params p;
    t2c_error err = {0};
    t2c_tensor x = mk(T2C_INT8, buf, 3, 4, 3, 5), w = mk(T2C_INT8, buf, 2, 7, 5, 0), y = {.dtype = T2C_INT32};
    t2c_tensor *ins[2] = {&x, &w}, *outs[1] = {&y};
    t2c_node node = {.type = "linear", .name = "fc", .n_inputs = 2, .inputs = ins, .n_outputs = 1,
                     .outputs = outs, .params = &p};
    memset(&p, 0, sizeof p);
    assert_int_equal(t2c_op_linear.prepare(&node, &err), T2C_OK);
    assert_int_equal(y.rank, 3), assert_int_equal(y.dims[2], 7);
    assert_int_equal(t2c_op_linear.macs(&node), 4 * 3 * 7 * 5);
    assert_string_equal(t2c_op_linear.type, "linear");
    assert_string_equal(t2c_op_linear.input_roles[0], "input");
    assert_string_equal(t2c_op_linear.input_roles[1], "weight");
    assert_string_equal(t2c_op_linear.input_roles[2], "bias");
}

/* ------------------------------------------------------------------ randomized vs naive recipe */

static uint64_t rng = 0x2545F4914F6CDD1Dull; /* xorshift64, fixed seed */
static int64_t rnd(int64_t lo, int64_t hi)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return lo + (int64_t)(rng % (uint64_t)(hi - lo + 1));
}

static int naive_step(int64_t *acc, int64_t add, int bits, int policy)
{
    const int64_t lo = -((int64_t)1 << (bits - 1)), hi = -lo - 1, span = (int64_t)1 << bits;
    int64_t s = *acc + add;
    if (s >= lo && s <= hi) {
        *acc = s;
        return 1;
    }
    if (policy == 0)
        return 0;
    if (policy == 2) {
        *acc = s < lo ? lo : hi;
        return 1;
    }
    s = (s - lo) % span;
    *acc = (s < 0 ? s + span : s) + lo;
    return 1;
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    static int8_t xs[3 * 4 * 600];
    static uint8_t xu[sizeof xs];
    static int8_t wd[5 * 600];
    static int32_t bd[5], yd[3 * 4 * 5];
    static int64_t want[3 * 4 * 5];
    static const t2c_dtype xdt[4] = {T2C_INT4, T2C_UINT4, T2C_INT8, T2C_UINT8};
    static const char *const pol_names[3] = {"error", "wrap", "saturate"};
    static const int bits_choice[6] = {32, 32, 32, 24, 16, 10};
    int n_ok = 0, n_overflow = 0;
    for (int iter = 0; iter < 2000; iter++) {
        const t2c_dtype xd = xdt[rnd(0, 3)], wdt = rnd(0, 1) ? T2C_INT4 : T2C_INT8;
        const int64_t N = rnd(1, 3), T = rnd(1, 4), K = rnd(0, 3) ? rnd(1, 40) : rnd(100, 600), M = rnd(1, 5);
        const int64_t xzp = rnd(t2c_dtype_min(xd), t2c_dtype_max(xd));
        const int64_t wzp = rnd(0, 3) ? 0 : rnd(t2c_dtype_min(wdt), t2c_dtype_max(wdt));
        const int bits = bits_choice[rnd(0, 5)], pol = (int)rnd(0, 2), has_bias = (int)rnd(0, 1);
        const int is_u = xd == T2C_UINT4 || xd == T2C_UINT8;
        for (int64_t i = 0; i < N * T * K; i++)
            xs[i] = (int8_t)rnd(t2c_dtype_min(xd), t2c_dtype_max(xd)), xu[i] = (uint8_t)xs[i];
        for (int64_t i = 0; i < M * K; i++)
            wd[i] = (int8_t)rnd(t2c_dtype_min(wdt), t2c_dtype_max(wdt));
        const int64_t bmax = bits == 32 ? INT32_MAX : ((int64_t)1 << (bits - 1)) + 40;
        for (int64_t i = 0; i < M; i++)
            bd[i] = (int32_t)(rnd(0, 1) ? rnd(-300, 300) : rnd(-bmax, bmax));
        t2c_tensor x = mk(xd, is_u ? (void *)xu : (void *)xs, 3, N, T, K);
        t2c_tensor w = mk(wdt, wd, 2, M, K, 0), b = mk(T2C_INT32, bd, 1, M, 0, 0);
        t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
        const t2c_attr at[] = {A_INT("x_zero_point", xzp), A_INT("w_zero_point", wzp), A_INT("acc_bits", bits),
                               {.name = "overflow", .type = T2C_ATTR_STRING,
                                .count = (int64_t)strlen(pol_names[pol]), .v = {.s = pol_names[pol]}}};
        t2c_linear_params p;
        t2c_error err = {0};
        assert_int_equal(prep(&x, &w, has_bias ? &b : NULL, &y, at, NA(at), &p, &err), T2C_OK);
        t2c_status st = t2c_linear_ref(&p, &x, &w, has_bias ? &b : NULL, &y, &err);
        int failed = 0;
        char where[64] = "";
        for (int64_t r = 0; r < N * T && !failed; r++)
            for (int64_t m = 0; m < M && !failed; m++) {
                int64_t acc = 0;
                int ok = naive_step(&acc, has_bias ? bd[m] : 0, bits, pol);
                for (int64_t k = 0; k < K && ok; k++)
                    ok = naive_step(&acc, ((is_u ? xu[r * K + k] : xs[r * K + k]) - xzp) * (wd[m * K + k] - wzp),
                                    bits, pol);
                if (!ok) {
                    failed = 1;
                    snprintf(where, sizeof where, "(row=%lld, m=%lld)", (long long)r, (long long)m);
                }
                want[r * M + m] = acc;
            }
        if (failed) {
            assert_int_equal(st, T2C_ERR_OVERFLOW);
            assert_non_null(strstr(err.message, where));
            n_overflow++;
            continue;
        }
        assert_int_equal(st, T2C_OK);
        for (int64_t i = 0; i < N * T * M; i++) {
            if (yd[i] != want[i])
                print_error("iter %d, element %lld: got %d, want %lld\n", iter, (long long)i, yd[i],
                            (long long)want[i]);
            assert_int_equal(yd[i], want[i]);
        }
        n_ok++;
    }
    assert_true(n_ok > 500);
    assert_true(n_overflow > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_bias),
        cmocka_unit_test(test_zero_points_extremes),
        cmocka_unit_test(test_higher_rank),
        cmocka_unit_test(test_acc_policies),
        cmocka_unit_test(test_prepare_rejects),
        cmocka_unit_test(test_macs_and_roles),
        cmocka_unit_test(test_random_vs_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
