/* test_matmul.c — matmul: hand-worked products, transpose_b, batch dims, zero points, int16 and
 * int4 extremes, accumulator policies and messages, prepare() rejections, and a randomized
 * comparison with a naive in-test implementation of the ops/README.md recipe (seeded xorshift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "matmul.h"

#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define A_INT(nm, val) {.name = nm, .type = T2C_ATTR_INT, .count = 1, .v = {.i = (val)}}
#define A_STR(nm, val) {.name = nm, .type = T2C_ATTR_STRING, .count = sizeof(val) - 1, .v = {.s = val}}

static t2c_tensor mk(t2c_dtype dt, void *data, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    t2c_tensor t = {.name = "t", .dtype = dt, .rank = rank, .dims = {d0, d1, d2, d3}, .data = data};
    return t;
}

static t2c_status prep(t2c_tensor *a, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs, int n_attrs,
                       t2c_matmul_params *p, t2c_error *err)
{
    t2c_tensor *ins[2] = {a, b};
    t2c_node node = {.type = "matmul", .name = "mm", .n_inputs = 2, .inputs = ins, .n_outputs = 1,
                     .outputs = &y, .n_attrs = n_attrs, .attrs = attrs, .params = p};
    memset(p, 0, sizeof *p);
    return t2c_op_matmul.prepare(&node, err);
}

static void run_ok(t2c_tensor *a, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs, int n)
{
    t2c_matmul_params p;
    t2c_error err = {0};
    assert_int_equal(prep(a, b, y, attrs, n, &p, &err), T2C_OK);
    assert_int_equal(t2c_matmul_ref(&p, a, b, y, &err), T2C_OK);
}

static void test_basic_and_transpose(void **state)
{
    (void)state;
    int8_t ad[6] = {1, 2, 3, 4, 5, 6}, bd[6] = {7, 8, 9, 10, 11, 12}, bt[6] = {7, 9, 11, 8, 10, 12};
    int32_t yd[4];
    t2c_tensor a = mk(T2C_INT8, ad, 3, 1, 2, 3, 0), b = mk(T2C_INT8, bd, 3, 1, 3, 2, 0);
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID, .data = yd};
    run_ok(&a, &b, &y, NULL, 0);
    assert_int_equal(y.dtype, T2C_INT32);
    assert_int_equal(y.rank, 3);
    assert_int_equal(y.dims[0], 1), assert_int_equal(y.dims[1], 2), assert_int_equal(y.dims[2], 2);
    /* [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] */
    assert_int_equal(yd[0], 58), assert_int_equal(yd[1], 64);
    assert_int_equal(yd[2], 139), assert_int_equal(yd[3], 154);
    /* b stored as [N, K] with transpose_b = 1 */
    t2c_tensor b2 = mk(T2C_INT8, bt, 3, 1, 2, 3, 0);
    const t2c_attr tr[] = {A_INT("transpose_b", 1)};
    memset(yd, 0, sizeof yd);
    run_ok(&a, &b2, &y, tr, NA(tr));
    assert_int_equal(y.dims[1], 2), assert_int_equal(y.dims[2], 2);
    assert_int_equal(yd[0], 58), assert_int_equal(yd[1], 64);
    assert_int_equal(yd[2], 139), assert_int_equal(yd[3], 154);
}

static void test_batch_dims(void **state)
{
    (void)state;
    /* [2, 1, 2] x [2, 2, 1]: batch 0: [1,2].[5,6] = 17; batch 1: [3,4].[-7,8] = 11 */
    int8_t ad[4] = {1, 2, 3, 4}, bd[4] = {5, 6, -7, 8};
    int32_t yd[2];
    t2c_tensor a = mk(T2C_INT8, ad, 3, 2, 1, 2, 0), b = mk(T2C_INT8, bd, 3, 2, 2, 1, 0);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    run_ok(&a, &b, &y, NULL, 0);
    assert_int_equal(y.dims[0], 2), assert_int_equal(y.dims[1], 1), assert_int_equal(y.dims[2], 1);
    assert_int_equal(yd[0], 17), assert_int_equal(yd[1], 11);
    /* rank 4 [1, 2, 1, 1] x [1, 2, 1, 1]: per-batch scalars 3*5, -4*6 */
    int8_t a4[2] = {3, -4}, b4[2] = {5, 6};
    t2c_tensor aa = mk(T2C_INT8, a4, 4, 1, 2, 1, 1), bb = mk(T2C_INT8, b4, 4, 1, 2, 1, 1);
    run_ok(&aa, &bb, &y, NULL, 0);
    assert_int_equal(y.rank, 4), assert_int_equal(y.dims[1], 2);
    assert_int_equal(yd[0], 15), assert_int_equal(yd[1], -24);
    /* rank 2: plain matrices */
    int8_t a2[2] = {2, 3}, b2[2] = {4, -5};
    t2c_tensor ar = mk(T2C_INT8, a2, 2, 1, 2, 0, 0), br = mk(T2C_INT8, b2, 2, 2, 1, 0, 0);
    run_ok(&ar, &br, &y, NULL, 0);
    assert_int_equal(y.rank, 2), assert_int_equal(yd[0], -7);
}

static void test_zero_points_int16_int4(void **state)
{
    (void)state;
    uint8_t ad[2] = {0, 255};
    int16_t bd[2] = {-32768, 32767};
    int32_t yd[1];
    t2c_tensor a = mk(T2C_UINT8, ad, 3, 1, 1, 2, 0), b = mk(T2C_INT16, bd, 3, 1, 2, 1, 0);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr zp[] = {A_INT("a_zero_point", 128), A_INT("b_zero_point", -1)};
    run_ok(&a, &b, &y, zp, NA(zp));
    assert_int_equal(yd[0], 8355712); /* (-128)(-32767) + 127*32768 = 4194176 + 4161536 */
    /* int16 x int16 extreme: (-32768)(-32768 - 32767) = 2147450880 */
    int16_t a1[1] = {-32768}, b1[1] = {-32768};
    t2c_tensor a16 = mk(T2C_INT16, a1, 3, 1, 1, 1, 0), b16 = mk(T2C_INT16, b1, 3, 1, 1, 1, 0);
    const t2c_attr bz[] = {A_INT("b_zero_point", 32767)};
    run_ok(&a16, &b16, &y, bz, NA(bz));
    assert_int_equal(yd[0], 2147450880);
    run_ok(&a16, &b16, &y, NULL, 0);
    assert_int_equal(yd[0], 1073741824);
    /* int4 [-8, 7] x uint4 [15, 15] = -120 + 105; with a_zp -8, b_zp 15: 0*0 + 15*0 */
    int8_t a4[2] = {-8, 7};
    uint8_t b4[2] = {15, 15};
    t2c_tensor aq = mk(T2C_INT4, a4, 3, 1, 1, 2, 0), bq = mk(T2C_UINT4, b4, 3, 1, 2, 1, 0);
    run_ok(&aq, &bq, &y, NULL, 0);
    assert_int_equal(yd[0], -15);
    const t2c_attr z4[] = {A_INT("a_zero_point", -8), A_INT("b_zero_point", 14)};
    run_ok(&aq, &bq, &y, z4, NA(z4));
    assert_int_equal(yd[0], 15); /* 0*1 + 15*1 */
}

static void test_acc_policies(void **state)
{
    (void)state;
    /* two products of 2147450880 overflow 32 bits at (batch=0, m=0, n=0) */
    int16_t ad[2] = {-32768, -32768}, bd[2] = {-32768, -32768};
    int32_t yd[1];
    t2c_tensor a = mk(T2C_INT16, ad, 3, 1, 1, 2, 0), b = mk(T2C_INT16, bd, 3, 1, 2, 1, 0);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr e[] = {A_INT("b_zero_point", 32767)};
    t2c_matmul_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&a, &b, &y, e, NA(e), &p, &err), T2C_OK);
    assert_int_equal(t2c_matmul_ref(&p, &a, &b, &y, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "(batch=0, m=0, n=0)"));
    assert_non_null(strstr(err.message, "2147450880 + 2147450880"));
    const t2c_attr s[] = {A_INT("b_zero_point", 32767), A_STR("overflow", "saturate")};
    run_ok(&a, &b, &y, s, NA(s));
    assert_int_equal(yd[0], INT32_MAX);
    const t2c_attr w[] = {A_INT("b_zero_point", 32767), A_STR("overflow", "wrap")};
    run_ok(&a, &b, &y, w, NA(w));
    assert_int_equal(yd[0], -65536); /* 4294901760 - 2^32 */
    /* 8-bit accumulator, saturating order: 100, 100, -100 -> 27; message names batch 1, m 0, n 1 */
    /* a [2,1,3]: batch 1 = [100, 100, -100]; b [2,3,2]: batch 1 column n=1 all ones, n=0 zeros */
    int8_t a8[6] = {0, 0, 0, 100, 100, -100};
    int8_t b8x[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1};
    int32_t y8[4];
    t2c_tensor aa = mk(T2C_INT8, a8, 3, 2, 1, 3, 0), bb = mk(T2C_INT8, b8x, 3, 2, 3, 2, 0);
    t2c_tensor yy = {.dtype = T2C_INT32, .data = y8};
    const t2c_attr sat8[] = {A_INT("acc_bits", 8), A_STR("overflow", "saturate")};
    run_ok(&aa, &bb, &yy, sat8, NA(sat8));
    assert_int_equal(y8[0], 0), assert_int_equal(y8[1], 0);
    assert_int_equal(y8[2], 0), assert_int_equal(y8[3], 27);
    const t2c_attr err8[] = {A_INT("acc_bits", 8)};
    assert_int_equal(prep(&aa, &bb, &yy, err8, NA(err8), &p, &err), T2C_OK);
    assert_int_equal(t2c_matmul_ref(&p, &aa, &bb, &yy, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "(batch=1, m=0, n=1)"));
}

static void expect_reject(t2c_tensor *a, t2c_tensor *b, t2c_tensor *y, const t2c_attr *at, int n, t2c_status want)
{
    t2c_matmul_params p;
    t2c_error err = {0};
    t2c_status st = prep(a, b, y, at, n, &p, &err);
    if (st != want)
        print_error("status %d, want %d: %s\n", st, want, err.message);
    assert_int_equal(st, want);
    assert_true(strlen(err.message) > 0);
}

static void test_prepare_rejects(void **state)
{
    (void)state;
    int8_t buf[64] = {0};
    t2c_tensor a = mk(T2C_INT8, buf, 3, 2, 3, 4, 0), b = mk(T2C_INT8, buf, 3, 2, 4, 5, 0);
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID}, bad;
    t2c_matmul_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&a, &b, &y, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(y.dims[0], 2), assert_int_equal(y.dims[1], 3), assert_int_equal(y.dims[2], 5);
    bad = b, bad.rank = 2;
    expect_reject(&a, &bad, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = a, bad.rank = 1;
    t2c_tensor b1 = b;
    b1.rank = 1;
    expect_reject(&bad, &b1, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = b, bad.dims[0] = 3; /* leading dims differ */
    expect_reject(&a, &bad, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = b, bad.dims[1] = 3; /* K mismatch */
    expect_reject(&a, &bad, &y, NULL, 0, T2C_ERR_SHAPE);
    const t2c_attr tr[] = {A_INT("transpose_b", 1)}; /* b [2, 4, 5] read as [N=4, K=5] */
    expect_reject(&a, &b, &y, tr, NA(tr), T2C_ERR_SHAPE);
    bad = b, bad.dims[1] = 5, bad.dims[2] = 4; /* [N=5, K=4] */
    assert_int_equal(prep(&a, &bad, &y, tr, NA(tr), &p, &err), T2C_OK);
    assert_int_equal(y.dims[2], 5);
    bad = a, bad.dtype = T2C_INT32;
    expect_reject(&bad, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad = b, bad.dtype = T2C_FLOAT32;
    expect_reject(&a, &bad, &y, NULL, 0, T2C_ERR_DTYPE);
    t2c_tensor y16 = {.dtype = T2C_INT16};
    expect_reject(&a, &b, &y16, NULL, 0, T2C_ERR_DTYPE);
    const t2c_attr t2[] = {A_INT("transpose_b", 2)};
    expect_reject(&a, &b, &y, t2, NA(t2), T2C_ERR_ATTR);
    const t2c_attr az[] = {A_INT("a_zero_point", 128)}, bz[] = {A_INT("b_zero_point", -129)};
    expect_reject(&a, &b, &y, az, NA(az), T2C_ERR_ATTR);
    expect_reject(&a, &b, &y, bz, NA(bz), T2C_ERR_ATTR);
    t2c_tensor a16 = a;
    a16.dtype = T2C_INT16;
    const t2c_attr az16[] = {A_INT("a_zero_point", 32767)};
    assert_int_equal(prep(&a16, &b, &y, az16, NA(az16), &p, &err), T2C_OK);
    const t2c_attr ab[] = {A_INT("acc_bits", 0)};
    expect_reject(&a, &b, &y, ab, NA(ab), T2C_ERR_ATTR);
}

static void test_macs_and_roles(void **state)
{
    (void)state;
    int8_t buf[64] = {0};
    t2c_matmul_params p;
    t2c_error err = {0};
    t2c_tensor a = mk(T2C_INT8, buf, 3, 2, 3, 4, 0), b = mk(T2C_INT8, buf, 3, 2, 4, 5, 0), y = {.dtype = T2C_INT32};
    t2c_tensor *ins[2] = {&a, &b}, *outs[1] = {&y};
    t2c_node node = {.type = "matmul", .name = "mm", .n_inputs = 2, .inputs = ins, .n_outputs = 1,
                     .outputs = outs, .params = &p};
    memset(&p, 0, sizeof p);
    assert_int_equal(t2c_op_matmul.prepare(&node, &err), T2C_OK);
    assert_int_equal(t2c_op_matmul.macs(&node), 2 * 3 * 5 * 4);
    assert_string_equal(t2c_op_matmul.input_roles[0], "input_a");
    assert_string_equal(t2c_op_matmul.input_roles[1], "input_b");
    assert_int_equal(t2c_op_matmul.min_inputs, 2), assert_int_equal(t2c_op_matmul.max_inputs, 2);
}

/* ------------------------------------------------------------------ randomized vs naive recipe */

static uint64_t rng = 0xD1B54A32D192ED03ull; /* xorshift64, fixed seed */
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

/* Store v into element i of a tensor buffer of dtype dt; read it back as the test's truth. */
static void put(t2c_dtype dt, void *data, int64_t i, int64_t v)
{
    if (dt == T2C_INT16)
        ((int16_t *)data)[i] = (int16_t)v;
    else if (dt == T2C_UINT4 || dt == T2C_UINT8)
        ((uint8_t *)data)[i] = (uint8_t)v;
    else
        ((int8_t *)data)[i] = (int8_t)v;
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    static int16_t abuf[6 * 5 * 40], bbuf[6 * 40 * 5];
    static int64_t av[6 * 5 * 40], bv[6 * 40 * 5], want[6 * 5 * 5];
    static int32_t yd[6 * 5 * 5];
    static const t2c_dtype dts[5] = {T2C_INT4, T2C_UINT4, T2C_INT8, T2C_UINT8, T2C_INT16};
    static const char *const pol_names[3] = {"error", "wrap", "saturate"};
    static const int bits_choice[6] = {32, 32, 32, 24, 16, 10};
    int n_ok = 0, n_overflow = 0;
    for (int iter = 0; iter < 2000; iter++) {
        const t2c_dtype adt = dts[rnd(0, 4)], bdt = dts[rnd(0, 4)];
        const int rank = (int)rnd(2, 4);
        const int64_t B0 = rank >= 3 ? rnd(1, 2) : 1, B1 = rank == 4 ? rnd(1, 3) : 1;
        const int64_t M = rnd(1, 5), K = rnd(1, 40), N = rnd(1, 5), batches = B0 * B1;
        const int tb = (int)rnd(0, 1), bits = bits_choice[rnd(0, 5)], pol = (int)rnd(0, 2);
        const int64_t azp = rnd(0, 1) ? 0 : rnd(t2c_dtype_min(adt), t2c_dtype_max(adt));
        const int64_t bzp = rnd(0, 1) ? 0 : rnd(t2c_dtype_min(bdt), t2c_dtype_max(bdt));
        for (int64_t i = 0; i < batches * M * K; i++)
            av[i] = rnd(t2c_dtype_min(adt), t2c_dtype_max(adt)), put(adt, abuf, i, av[i]);
        for (int64_t i = 0; i < batches * K * N; i++)
            bv[i] = rnd(t2c_dtype_min(bdt), t2c_dtype_max(bdt)), put(bdt, bbuf, i, bv[i]);
        t2c_tensor a = {.dtype = adt, .rank = rank, .data = abuf}, b = {.dtype = bdt, .rank = rank, .data = bbuf};
        if (rank == 4)
            a.dims[0] = b.dims[0] = B0, a.dims[1] = b.dims[1] = B1;
        if (rank == 3)
            a.dims[0] = b.dims[0] = B0;
        a.dims[rank - 2] = M, a.dims[rank - 1] = K;
        b.dims[rank - 2] = tb ? N : K, b.dims[rank - 1] = tb ? K : N;
        t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
        const t2c_attr at[] = {A_INT("a_zero_point", azp), A_INT("b_zero_point", bzp), A_INT("transpose_b", tb),
                               A_INT("acc_bits", bits),
                               {.name = "overflow", .type = T2C_ATTR_STRING,
                                .count = (int64_t)strlen(pol_names[pol]), .v = {.s = pol_names[pol]}}};
        t2c_matmul_params p;
        t2c_error err = {0};
        assert_int_equal(prep(&a, &b, &y, at, NA(at), &p, &err), T2C_OK);
        assert_int_equal(y.dims[rank - 2], M), assert_int_equal(y.dims[rank - 1], N);
        t2c_status st = t2c_matmul_ref(&p, &a, &b, &y, &err);
        int failed = 0;
        char where[80] = "";
        for (int64_t t = 0; t < batches && !failed; t++)
            for (int64_t m = 0; m < M && !failed; m++)
                for (int64_t n = 0; n < N && !failed; n++) {
                    int64_t acc = 0;
                    int ok = 1;
                    for (int64_t k = 0; k < K && ok; k++) {
                        const int64_t bk = t * K * N + (tb ? n * K + k : k * N + n);
                        ok = naive_step(&acc, (av[(t * M + m) * K + k] - azp) * (bv[bk] - bzp), bits, pol);
                    }
                    if (!ok) {
                        failed = 1;
                        snprintf(where, sizeof where, "(batch=%lld, m=%lld, n=%lld)", (long long)t, (long long)m,
                                 (long long)n);
                    }
                    want[(t * M + m) * N + n] = acc;
                }
        if (failed) {
            assert_int_equal(st, T2C_ERR_OVERFLOW);
            assert_non_null(strstr(err.message, where));
            n_overflow++;
            continue;
        }
        assert_int_equal(st, T2C_OK);
        for (int64_t i = 0; i < batches * M * N; i++) {
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
        cmocka_unit_test(test_basic_and_transpose),
        cmocka_unit_test(test_batch_dims),
        cmocka_unit_test(test_zero_points_int16_int4),
        cmocka_unit_test(test_acc_policies),
        cmocka_unit_test(test_prepare_rejects),
        cmocka_unit_test(test_macs_and_roles),
        cmocka_unit_test(test_random_vs_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
