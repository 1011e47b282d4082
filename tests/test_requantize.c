/* test_requantize.c — requantize: every rounding mode on ties, negative accumulators, offsets,
 * per-channel arrays along an axis, lo/hi saturation at both ends, int4/uint4/int16/int32 outputs,
 * TFLite values (computed with TFLite's QuantizeMultiplier + MultiplyByQuantizedMultiplier, and
 * checked by hand where noted) for shift < 31, = 31 and > 31, and prepare() rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "requantize.h"
#include "t2c_round_sel.h"

#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define A_INT(nm, val) {.name = nm, .type = T2C_ATTR_INT, .count = 1, .v = {.i = (val)}}
#define A_STR(nm, val) {.name = nm, .type = T2C_ATTR_STRING, .count = sizeof(val) - 1, .v = {.s = val}}
#define A_INTS(nm, ...)                                                                            \
    {                                                                                              \
        .name = nm, .type = T2C_ATTR_INTS,                                                         \
        .count = (int64_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),              \
        .v = {.ints = (const int64_t[]){__VA_ARGS__} }                                             \
    }

static t2c_status prep(t2c_tensor *x, t2c_tensor *y, const t2c_attr *attrs, int n, t2c_requantize_params *p,
                       t2c_error *err)
{
    t2c_tensor *ins[1] = {x};
    t2c_node node = {.type = "requantize", .name = "rq", .n_inputs = 1, .inputs = ins, .n_outputs = 1,
                     .outputs = &y, .n_attrs = n, .attrs = attrs, .params = p};
    memset(p, 0, sizeof *p);
    return t2c_op_requantize.prepare(&node, err);
}

/* Requantize int32 values of shape [1, n] (or x as given) into dtype dt; results as int64. */
static void rq(t2c_tensor *x, t2c_dtype dt, const t2c_attr *attrs, int n_attrs, int64_t *out)
{
    static int32_t ybuf[64];
    t2c_tensor y = {.dtype = dt, .data = ybuf};
    t2c_requantize_params p;
    t2c_error err = {0};
    t2c_status st = prep(x, &y, attrs, n_attrs, &p, &err);
    if (st != T2C_OK)
        print_error("prepare: %s\n", err.message);
    assert_int_equal(st, T2C_OK);
    assert_int_equal(y.rank, x->rank);
    for (int i = 0; i < x->rank; i++)
        assert_int_equal(y.dims[i], x->dims[i]);
    assert_int_equal(t2c_requantize_ref(&p, x, &y, &err), T2C_OK);
    for (int64_t i = 0; i < t2c_tensor_numel(x); i++)
        out[i] = t2c_tensor_get_int(&y, i);
}

static t2c_tensor row32(int32_t *data, int64_t n)
{
    t2c_tensor t = {.name = "acc", .dtype = T2C_INT32, .rank = 2, .dims = {1, n}, .data = data};
    return t;
}

static void expect_all(const int64_t *got, const int64_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i])
            print_error("element %d: got %lld, want %lld\n", i, (long long)got[i], (long long)want[i]);
        assert_int_equal(got[i], want[i]);
    }
}

/* x / 2 for 2.5, -2.5, 3.5, -3.5, 3, -3, 0.5, -0.5 */
static void test_rounding_modes_on_ties(void **state)
{
    (void)state;
    int32_t xd[8] = {5, -5, 7, -7, 6, -6, 1, -1};
    t2c_tensor x = row32(xd, 8);
    int64_t got[8];
    const t2c_attr even[] = {A_INTS("multiplier", 1), A_INTS("shift", 1)}; /* default half_even */
    rq(&x, T2C_INT8, even, NA(even), got);
    expect_all(got, (const int64_t[]){2, -2, 4, -4, 3, -3, 0, 0}, 8);
    const t2c_attr up[] = {A_INTS("multiplier", 1), A_INTS("shift", 1), A_STR("rounding", "half_up")};
    rq(&x, T2C_INT8, up, NA(up), got);
    expect_all(got, (const int64_t[]){3, -2, 4, -3, 3, -3, 1, 0}, 8);
    const t2c_attr away[] = {A_INTS("multiplier", 1), A_INTS("shift", 1), A_STR("rounding", "half_away")};
    rq(&x, T2C_INT8, away, NA(away), got);
    expect_all(got, (const int64_t[]){3, -3, 4, -4, 3, -3, 1, -1}, 8);
    const t2c_attr fl[] = {A_INTS("multiplier", 1), A_INTS("shift", 1), A_STR("rounding", "floor")};
    rq(&x, T2C_INT8, fl, NA(fl), got);
    expect_all(got, (const int64_t[]){2, -3, 3, -4, 3, -3, 0, -1}, 8);
    /* tflite, 0.5 = 2^30 / 2^31 (s = 31): SRDHM rounds ties up */
    const t2c_attr tf[] = {A_INTS("multiplier", (int64_t)1 << 30), A_INTS("shift", 31), A_STR("rounding", "tflite")};
    rq(&x, T2C_INT8, tf, NA(tf), got);
    expect_all(got, (const int64_t[]){3, -2, 4, -3, 3, -3, 1, 0}, 8);
}

/* A realistic multiplier on negative accumulators: 1374389535 / 2^35 ~ 0.04 */
static void test_negative_accumulators(void **state)
{
    (void)state;
    /* 1374389535 = round(0.64 * 2^31); scale = m / 2^35 = 0.04000000000...
     * -1000 * 0.04 = -40.0000000...(just below in magnitude? m*2^-35 = 0.039999999979) -> -40;
     * -1013 * 0.04 = -40.52 -> -41; -12 -> -0.48 -> 0; -13 -> -0.52 -> -1 */
    int32_t xd[4] = {-1000, -1013, -12, -13};
    t2c_tensor x = row32(xd, 4);
    int64_t got[4];
    const t2c_attr at[] = {A_INTS("multiplier", 1374389535), A_INTS("shift", 35)};
    rq(&x, T2C_INT8, at, NA(at), got);
    expect_all(got, (const int64_t[]){-40, -41, 0, -1}, 4);
    /* negative multiplier: 7 * -3 / 2 = -10.5 -> -10 (even); -7 * -3 / 2 = 10.5 -> 10 */
    int32_t x2[2] = {7, -7};
    t2c_tensor xx = row32(x2, 2);
    const t2c_attr nm[] = {A_INTS("multiplier", -3), A_INTS("shift", 1)};
    rq(&xx, T2C_INT8, nm, NA(nm), got);
    expect_all(got, (const int64_t[]){-10, 10}, 2);
}

static void test_offset(void **state)
{
    (void)state;
    /* (3*3 + 1) / 4 = 2.5, (-3*3 + 1) / 4 = -2 */
    int32_t xd[2] = {3, -3};
    t2c_tensor x = row32(xd, 2);
    int64_t got[2];
    const t2c_attr e[] = {A_INTS("multiplier", 3), A_INTS("shift", 2), A_INTS("offset", 1)};
    rq(&x, T2C_INT8, e, NA(e), got);
    expect_all(got, (const int64_t[]){2, -2}, 2);
    const t2c_attr a[] = {A_INTS("multiplier", 3), A_INTS("shift", 2), A_INTS("offset", 1),
                          A_STR("rounding", "half_away")};
    rq(&x, T2C_INT8, a, NA(a), got);
    expect_all(got, (const int64_t[]){3, -2}, 2);
    /* an offset of 2^(s-1) turns floor into half_up: (5 + 1) >> 1 = 3, (-5 + 1) >> 1 = -2 */
    int32_t x2[2] = {5, -5};
    t2c_tensor xx = row32(x2, 2);
    const t2c_attr f[] = {A_INTS("multiplier", 1), A_INTS("shift", 1), A_INTS("offset", 1),
                          A_STR("rounding", "floor")};
    rq(&xx, T2C_INT8, f, NA(f), got);
    expect_all(got, (const int64_t[]){3, -2}, 2);
}

static void test_per_channel_axis(void **state)
{
    (void)state;
    int32_t xd[6] = {10, -10, 10, -10, 10, -10};
    t2c_tensor x = {.dtype = T2C_INT32, .rank = 3, .dims = {1, 3, 2}, .data = xd};
    int64_t got[6];
    /* axis 1 (default), C = 3: c0 (10*1)/2 -> 5, -5; c1 (10*3 + 1)/4 = 7.75 -> 8, (-30+1)/4 = -7.25 -> -7;
     * c2 10*5 - 2 = 48, -52 */
    const t2c_attr a1[] = {A_INTS("multiplier", 1, 3, 5), A_INTS("shift", 1, 2, 0), A_INTS("offset", 0, 1, -2)};
    rq(&x, T2C_INT8, a1, NA(a1), got);
    expect_all(got, (const int64_t[]){5, -5, 8, -7, 48, -52}, 6);
    /* axis 2, C = 2, one shared shift: element c = last index; multipliers 1, 2 */
    const t2c_attr a2[] = {A_INTS("multiplier", 1, 2), A_INTS("shift", 0), A_INT("axis", 2)};
    rq(&x, T2C_INT8, a2, NA(a2), got);
    expect_all(got, (const int64_t[]){10, -20, 10, -20, 10, -20}, 6);
    /* per-channel zero point is not a thing; per-channel shift only */
    const t2c_attr a3[] = {A_INTS("multiplier", 1), A_INTS("shift", 0, 1, 2), A_INT("zero_point", 1)};
    rq(&x, T2C_INT8, a3, NA(a3), got);
    expect_all(got, (const int64_t[]){11, -9, 6, -4, 3, -1}, 6); /* 10, -10; 5, -5; 2.5->2, -2.5->-2; +1 */
    /* batch 2 with per-channel along axis 1: the channel index repeats per batch */
    int32_t xb[4] = {4, 4, 4, 4};
    t2c_tensor x2 = {.dtype = T2C_INT32, .rank = 2, .dims = {2, 2}, .data = xb};
    const t2c_attr a4[] = {A_INTS("multiplier", 1, 3), A_INTS("shift", 0)};
    rq(&x2, T2C_INT8, a4, NA(a4), got);
    expect_all(got, (const int64_t[]){4, 12, 4, 12}, 4);
}

static void test_saturation_lo_hi(void **state)
{
    (void)state;
    int32_t xd[5] = {200, -200, 127, -128, 50};
    t2c_tensor x = row32(xd, 5);
    int64_t got[5];
    const t2c_attr a1[] = {A_INTS("multiplier", 1), A_INTS("shift", 0)};
    rq(&x, T2C_INT8, a1, NA(a1), got);
    expect_all(got, (const int64_t[]){127, -128, 127, -128, 50}, 5);
    const t2c_attr a2[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("lo", 0), A_INT("hi", 100)};
    rq(&x, T2C_INT8, a2, NA(a2), got);
    expect_all(got, (const int64_t[]){100, 0, 100, 0, 50}, 5);
    /* fused ReLU with zero point 10: lo = 10 */
    int32_t x2[3] = {-50, 5, 95};
    t2c_tensor xx = row32(x2, 3);
    const t2c_attr a3[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("zero_point", 10), A_INT("lo", 10),
                           A_INT("hi", 100)};
    rq(&xx, T2C_INT8, a3, NA(a3), got);
    expect_all(got, (const int64_t[]){10, 15, 100}, 3);
    /* uint8 with zero point 128 */
    const t2c_attr a4[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("zero_point", 128)};
    rq(&x, T2C_UINT8, a4, NA(a4), got);
    expect_all(got, (const int64_t[]){255, 0, 255, 0, 178}, 5);
}

static void test_int4_uint4_int16_int32_outputs(void **state)
{
    (void)state;
    int64_t got[5];
    /* int4, /2 half_even: 3.5 -> 4, 4, -4, -4.5 -> -4, 7.5 -> 8 -> 7 */
    int32_t x4[5] = {7, 8, -8, -9, 15};
    t2c_tensor x = row32(x4, 5);
    const t2c_attr h[] = {A_INTS("multiplier", 1), A_INTS("shift", 1)};
    rq(&x, T2C_INT4, h, NA(h), got);
    expect_all(got, (const int64_t[]){4, 4, -4, -4, 7}, 5);
    int32_t x5[5] = {-17, -18, 30, 0, 100};
    t2c_tensor xm = row32(x5, 5);
    rq(&xm, T2C_INT4, h, NA(h), got); /* -8.5 -> -8, -9 -> -8, 15 -> 7, 0, 50 -> 7 */
    expect_all(got, (const int64_t[]){-8, -8, 7, 0, 7}, 5);
    /* uint4, zero point 8: 0 -> 8, 7 -> 15, 7.5 -> 8 -> 16 -> 15, -8 -> 0, -8.5 -> -8 -> 0 */
    int32_t xu[5] = {0, 14, 15, -16, -17};
    t2c_tensor xq = row32(xu, 5);
    const t2c_attr u[] = {A_INTS("multiplier", 1), A_INTS("shift", 1), A_INT("zero_point", 8)};
    rq(&xq, T2C_UINT4, u, NA(u), got);
    expect_all(got, (const int64_t[]){8, 15, 15, 0, 0}, 5);
    /* int16: 35000 -> 32767, -35000 -> -32768, 32767.5 -> 32768 -> 32767 */
    int32_t x16[3] = {70000, -70000, 65535};
    t2c_tensor xs = row32(x16, 3);
    rq(&xs, T2C_INT16, h, NA(h), got);
    expect_all(got, (const int64_t[]){32767, -32768, 32767}, 3);
    /* int32: products near 2^62 and the largest offset clamp to the int32 range */
    int32_t x32[3] = {INT32_MAX, INT32_MIN, -3};
    t2c_tensor xl = row32(x32, 3);
    const t2c_attr big[] = {A_INTS("multiplier", INT32_MAX), A_INTS("shift", 0),
                            A_INTS("offset", ((int64_t)1 << 62) - 1), A_INT("zero_point", -5)};
    rq(&xl, T2C_INT32, big, NA(big), got);
    /* INT32_MIN * (2^31 - 1) + 2^62 - 1 = 2^31 - 1 exactly, - 5; the other two are far above */
    expect_all(got, (const int64_t[]){INT32_MAX, INT32_MAX - 5, INT32_MAX}, 3);
    const t2c_attr neg[] = {A_INTS("multiplier", INT32_MAX), A_INTS("shift", 0),
                            A_INTS("offset", -(((int64_t)1 << 62) - 1)), A_INT("zero_point", 5)};
    rq(&xl, T2C_INT32, neg, NA(neg), got);
    expect_all(got, (const int64_t[]){INT32_MIN, INT32_MIN, INT32_MIN}, 3);
    /* int32 -> int32 identity with shift 0 keeps the extremes */
    const t2c_attr id[] = {A_INTS("multiplier", 1), A_INTS("shift", 0)};
    rq(&xl, T2C_INT32, id, NA(id), got);
    expect_all(got, (const int64_t[]){INT32_MAX, INT32_MIN, -3}, 3);
}

static void test_int8_int16_inputs(void **state)
{
    (void)state;
    int64_t got[2];
    int8_t x8[2] = {-128, 127};
    t2c_tensor x = {.dtype = T2C_INT8, .rank = 1, .dims = {2}, .data = x8};
    const t2c_attr a[] = {A_INTS("multiplier", 3), A_INTS("shift", 1)}; /* -192, 190.5 -> 190 */
    rq(&x, T2C_INT16, a, NA(a), got);
    expect_all(got, (const int64_t[]){-192, 190}, 2);
    rq(&x, T2C_INT8, a, NA(a), got);
    expect_all(got, (const int64_t[]){-128, 127}, 2);
    int16_t x16[2] = {-32768, 32767};
    t2c_tensor xs = {.dtype = T2C_INT16, .rank = 1, .dims = {2}, .data = x16};
    const t2c_attr t[] = {A_INTS("multiplier", (int64_t)1 << 30), A_INTS("shift", 31), A_STR("rounding", "tflite")};
    rq(&xs, T2C_INT16, t, NA(t), got); /* -16384; 16383.5 -> 16384 */
    expect_all(got, (const int64_t[]){-16384, 16384}, 2);
}

/* TFLite: QuantizeMultiplier(real) gives (m, tfl_shift) and s = 31 - tfl_shift. */
static void test_tflite_values(void **state)
{
    (void)state;
    int64_t got[9];
    /* real 0.0123: m = 1690499128, tfl_shift = -6 -> s = 37 (> 31: SRDHM then RDBPOT(., 6)) */
    int32_t xa[9] = {1000, -1000, 12345, -12345, 41, -41, 0, INT32_MAX, INT32_MIN};
    t2c_tensor x = row32(xa, 9);
    const t2c_attr a[] = {A_INTS("multiplier", 1690499128), A_INTS("shift", 37), A_STR("rounding", "tflite")};
    rq(&x, T2C_INT32, a, NA(a), got);
    expect_all(got, (const int64_t[]){12, -12, 152, -152, 1, -1, 0, 26414049, -26414049}, 9);
    /* real 1.7: m = 1825361101, tfl_shift = 1 -> s = 30 (< 31: x doubled before SRDHM).
     * 3 -> 5.1 -> 5; 5 -> 8.500000002 -> 9; -5 -> -9 */
    int32_t xb[6] = {3, -3, 1000, -1000, 5, -5};
    t2c_tensor xx = row32(xb, 6);
    const t2c_attr b[] = {A_INTS("multiplier", 1825361101), A_INTS("shift", 30), A_STR("rounding", "tflite")};
    rq(&xx, T2C_INT16, b, NA(b), got);
    expect_all(got, (const int64_t[]){5, -5, 1700, -1700, 9, -9}, 6);
    /* real 0.5: m = 2^30, s = 31: ties go up, 12345 -> 6173, -12345 -> -6172, 41 -> 21, -41 -> -20 */
    int32_t xc[4] = {12345, -12345, 41, -41};
    t2c_tensor xy = row32(xc, 4);
    const t2c_attr c[] = {A_INTS("multiplier", (int64_t)1 << 30), A_INTS("shift", 31), A_STR("rounding", "tflite")};
    rq(&xy, T2C_INT16, c, NA(c), got);
    expect_all(got, (const int64_t[]){6173, -6172, 21, -20}, 4);
    /* 0.25 = 2^30 / 2^32 (s = 32): double rounding; 1 -> SRDHM 1 -> RDBPOT(1, 1) = 1 (exact 0.25);
     * -1 -> 0; 2 -> 1; -2 -> -1; 3 -> 1; -3 -> -1; 6 -> 2; -6 -> -2; 10 -> 3; -10 -> -3 */
    int32_t xd[9] = {1, -1, 2, -2, 3, -3, 6, -6, 10};
    t2c_tensor xz = row32(xd, 9);
    const t2c_attr d[] = {A_INTS("multiplier", (int64_t)1 << 30), A_INTS("shift", 32), A_STR("rounding", "tflite"),
                          A_INT("zero_point", 3)};
    rq(&xz, T2C_INT8, d, NA(d), got);
    expect_all(got, (const int64_t[]){4, 3, 4, 2, 4, 2, 5, 1, 6}, 9);
    /* the same with half_away for contrast: 0.25 -> 0, 0.5 -> 1, 0.75 -> 1, 2.5 -> 3 */
    const t2c_attr e[] = {A_INTS("multiplier", (int64_t)1 << 30), A_INTS("shift", 32), A_STR("rounding", "half_away")};
    rq(&xz, T2C_INT8, e, NA(e), got);
    expect_all(got, (const int64_t[]){0, 0, 1, -1, 1, -1, 2, -2, 3}, 9);
    /* s = 0 (tfl_shift 31): x * 2^31 wraps in int32 as in TFLite: 1 -> -2^31, SRDHM with 2^30 -> -2^30 */
    int32_t xw[1] = {1};
    t2c_tensor xq = row32(xw, 1);
    const t2c_attr w[] = {A_INTS("multiplier", (int64_t)1 << 30), A_INTS("shift", 0), A_STR("rounding", "tflite")};
    rq(&xq, T2C_INT32, w, NA(w), got);
    assert_int_equal(got[0], -((int64_t)1 << 30));
}

static void expect_reject(t2c_tensor *x, t2c_tensor *y, const t2c_attr *at, int n, t2c_status want)
{
    t2c_requantize_params p;
    t2c_error err = {0};
    t2c_status st = prep(x, y, at, n, &p, &err);
    if (st != want)
        print_error("status %d, want %d: %s\n", st, want, err.message);
    assert_int_equal(st, want);
    assert_int_equal(err.status, want);
    assert_true(strlen(err.message) > 0);
}

static void test_prepare_rejects(void **state)
{
    (void)state;
    int32_t buf[6] = {0};
    t2c_tensor x = {.dtype = T2C_INT32, .rank = 3, .dims = {1, 3, 2}, .data = buf};
    t2c_tensor y = {.dtype = T2C_INT8};
    t2c_requantize_params p;
    t2c_error err = {0};
    const t2c_attr ok[] = {A_INTS("multiplier", 1, 2, 3), A_INTS("shift", 0)};
    assert_int_equal(prep(&x, &y, ok, NA(ok), &p, &err), T2C_OK);
    assert_int_equal(p.lo, -128), assert_int_equal(p.hi, 127), assert_int_equal(p.axis, 1);
    assert_int_equal(p.rounding, T2C_ROUND_HALF_EVEN);
    assert_int_equal(p.n_offset, 1), assert_int_equal(p.offset[0], 0);

    const t2c_attr tfo[] = {A_INTS("multiplier", 1), A_INTS("shift", 31), A_INTS("offset", 1),
                            A_STR("rounding", "tflite")};
    expect_reject(&x, &y, tfo, NA(tfo), T2C_ERR_ATTR);
    assert_int_equal(prep(&x, &y, tfo, NA(tfo), &p, &err), T2C_ERR_ATTR);
    assert_non_null(strstr(err.message, "offset"));
    const t2c_attr tfm[] = {A_INTS("multiplier", -1), A_INTS("shift", 31), A_STR("rounding", "tflite")};
    expect_reject(&x, &y, tfm, NA(tfm), T2C_ERR_ATTR);
    const t2c_attr tfs[] = {A_INTS("multiplier", 1), A_INTS("shift", 63), A_STR("rounding", "tflite")};
    expect_reject(&x, &y, tfs, NA(tfs), T2C_ERR_ATTR);
    const t2c_attr tfn[] = {A_INTS("multiplier", 1), A_INTS("shift", -1), A_STR("rounding", "tflite")};
    expect_reject(&x, &y, tfn, NA(tfn), T2C_ERR_ATTR);
    const t2c_attr s63[] = {A_INTS("multiplier", 1), A_INTS("shift", 63)};
    expect_reject(&x, &y, s63, NA(s63), T2C_ERR_ATTR);
    const t2c_attr m31[] = {A_INTS("multiplier", (int64_t)1 << 31), A_INTS("shift", 0)};
    expect_reject(&x, &y, m31, NA(m31), T2C_ERR_ATTR);
    const t2c_attr mn31[] = {A_INTS("multiplier", -((int64_t)1 << 31)), A_INTS("shift", 0)};
    expect_reject(&x, &y, mn31, NA(mn31), T2C_ERR_ATTR);
    const t2c_attr o62[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INTS("offset", (int64_t)1 << 62)};
    expect_reject(&x, &y, o62, NA(o62), T2C_ERR_ATTR);
    const t2c_attr cnt[] = {A_INTS("multiplier", 1, 2, 3), A_INTS("shift", 0, 1)};
    expect_reject(&x, &y, cnt, NA(cnt), T2C_ERR_ATTR);
    const t2c_attr c2[] = {A_INTS("multiplier", 1, 2), A_INTS("shift", 0)}; /* dims[1] = 3 */
    expect_reject(&x, &y, c2, NA(c2), T2C_ERR_SHAPE);
    const t2c_attr ax[] = {A_INTS("multiplier", 1, 2, 3), A_INTS("shift", 0), A_INT("axis", 5)};
    expect_reject(&x, &y, ax, NA(ax), T2C_ERR_SHAPE);
    const t2c_attr axn[] = {A_INTS("multiplier", 1, 2, 3), A_INTS("shift", 0), A_INT("axis", -1)};
    expect_reject(&x, &y, axn, NA(axn), T2C_ERR_ATTR);
    const t2c_attr zp[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("zero_point", 128)};
    expect_reject(&x, &y, zp, NA(zp), T2C_ERR_ATTR);
    const t2c_attr lohi[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("lo", 5), A_INT("hi", 4)};
    expect_reject(&x, &y, lohi, NA(lohi), T2C_ERR_ATTR);
    const t2c_attr lo[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("lo", -129)};
    expect_reject(&x, &y, lo, NA(lo), T2C_ERR_ATTR);
    const t2c_attr rnd[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_STR("rounding", "nearest")};
    expect_reject(&x, &y, rnd, NA(rnd), T2C_ERR_ATTR);
    const t2c_attr nomul[] = {A_INTS("shift", 0)};
    expect_reject(&x, &y, nomul, NA(nomul), T2C_ERR_ATTR);
    const t2c_attr mint[] = {A_INT("multiplier", 1), A_INTS("shift", 0)};
    expect_reject(&x, &y, mint, NA(mint), T2C_ERR_ATTR);
    /* dtypes */
    t2c_tensor xb = x;
    xb.dtype = T2C_UINT8;
    expect_reject(&xb, &y, ok, NA(ok), T2C_ERR_DTYPE);
    xb.dtype = T2C_INT64;
    expect_reject(&xb, &y, ok, NA(ok), T2C_ERR_DTYPE);
    t2c_tensor y64 = {.dtype = T2C_INT64}, yf = {.dtype = T2C_FLOAT32}, y0 = {.dtype = T2C_DTYPE_INVALID};
    expect_reject(&x, &y64, ok, NA(ok), T2C_ERR_DTYPE);
    expect_reject(&x, &yf, ok, NA(ok), T2C_ERR_DTYPE);
    expect_reject(&x, &y0, ok, NA(ok), T2C_ERR_DTYPE);
    /* uint4 output: default range 0..15, zero point 16 rejected */
    t2c_tensor yu = {.dtype = T2C_UINT4};
    assert_int_equal(prep(&x, &yu, ok, NA(ok), &p, &err), T2C_OK);
    assert_int_equal(p.lo, 0), assert_int_equal(p.hi, 15);
    const t2c_attr z16[] = {A_INTS("multiplier", 1), A_INTS("shift", 0), A_INT("zero_point", 16)};
    expect_reject(&x, &yu, z16, NA(z16), T2C_ERR_ATTR);
}

static uint64_t rs_rng = 0x2545F4914F6CDD1Dull; /* xorshift64, fixed seed */
static int64_t rs_next(void)
{
    rs_rng ^= rs_rng << 13, rs_rng ^= rs_rng >> 7, rs_rng ^= rs_rng << 17;
    return (int64_t)rs_rng;
}

/* t2c_round_sel.h (the select form the kernel's loops use) equals t2c_int.h's recipe: every mode
 * and shift on ties, tie neighbours, powers of two, int64 extremes and random values. */
static void test_round_sel_matches_recipe(void **state)
{
    (void)state;
    for (int mode = 0; mode < T2C_ROUND_TFLITE; mode++)
        for (int s = 0; s <= 62; s++) {
            const int64_t one = (int64_t)1 << s, half = s ? one / 2 : 0;
            const int64_t base[] = {0, 1, 2, 3, half, one, 3 * half, s < 62 ? 5 * half : 0, one + half,
                                    INT64_MAX, INT64_MAX - half, (int64_t)1 << 62, ((int64_t)1 << 62) + half};
            for (int i = 0; i < NA(base); i++)
                for (int64_t d = -1; d <= 1; d++)
                    for (int sign = 0; sign < 2; sign++) {
                        int64_t v = base[i] > INT64_MAX - 1 && d > 0 ? base[i] : base[i] + d;
                        v = sign ? (v == INT64_MIN ? v : -v) : v;
                        assert_int_equal(t2c_round_shift_sel(v, s, (t2c_rounding)mode),
                                         t2c_round_shift(v, s, (t2c_rounding)mode));
                    }
            assert_int_equal(t2c_round_shift_sel(INT64_MIN, s, (t2c_rounding)mode),
                             t2c_round_shift(INT64_MIN, s, (t2c_rounding)mode));
            for (int k = 0; k < 200; k++) {
                const int64_t v = rs_next() >> (rs_next() & 63);
                assert_int_equal(t2c_round_shift_sel(v, s, (t2c_rounding)mode),
                                 t2c_round_shift(v, s, (t2c_rounding)mode));
            }
        }
    for (int k = 0; k < 200000; k++) { /* legal t2c_scale_round arguments, all five modes */
        const t2c_rounding mode = (t2c_rounding)((uint64_t)rs_next() % T2C_ROUNDING_COUNT);
        const int s = (int)((uint64_t)rs_next() % 63);
        const int64_t v = rs_next() >> (33 + (uint64_t)rs_next() % 31); /* |v| < 2^31 */
        int64_t m = rs_next() >> (33 + (rs_next() & 7)), b = rs_next() >> (2 + (rs_next() & 63) % 62);
        if (mode == T2C_ROUND_TFLITE)
            m = m < 0 ? -m : m, b = 0;
        assert_int_equal(t2c_scale_round_sel(v, m, b, s, mode), t2c_scale_round(v, m, b, s, mode));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_modes_on_ties),
        cmocka_unit_test(test_negative_accumulators),
        cmocka_unit_test(test_offset),
        cmocka_unit_test(test_per_channel_axis),
        cmocka_unit_test(test_saturation_lo_hi),
        cmocka_unit_test(test_int4_uint4_int16_int32_outputs),
        cmocka_unit_test(test_int8_int16_inputs),
        cmocka_unit_test(test_tflite_values),
        cmocka_unit_test(test_prepare_rejects),
        cmocka_unit_test(test_round_sel_matches_recipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
