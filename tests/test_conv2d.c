/* test_conv2d.c — conv2d: hand-worked values (checked once against torch.nn.functional.conv2d in
 * float64), accumulator policies, error messages, prepare() rejections, and a randomized
 * comparison with a naive in-test implementation of the ops/README.md recipe (seeded xorshift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conv2d.h"

#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define A_INTS(nm, ...)                                                                            \
    {                                                                                              \
        .name = nm, .type = T2C_ATTR_INTS,                                                         \
        .count = (int64_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),              \
        .v = {.ints = (const int64_t[]){__VA_ARGS__} }                                             \
    }
#define A_INT(nm, val) {.name = nm, .type = T2C_ATTR_INT, .count = 1, .v = {.i = (val)}}
#define A_STR(nm, val) {.name = nm, .type = T2C_ATTR_STRING, .count = sizeof(val) - 1, .v = {.s = val}}

static t2c_tensor mk4(t2c_dtype dt, void *data, int64_t a, int64_t b, int64_t c, int64_t d)
{
    t2c_tensor t = {.name = "t", .dtype = dt, .rank = 4, .dims = {a, b, c, d}, .data = data};
    return t;
}

static t2c_tensor mk1(t2c_dtype dt, void *data, int64_t n)
{
    t2c_tensor t = {.name = "b", .dtype = dt, .rank = 1, .dims = {n}, .data = data};
    return t;
}

/* Build a node like the executor does and call the op's prepare(). */
static t2c_status prep(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs,
                       int n_attrs, t2c_conv2d_params *p, t2c_error *err)
{
    t2c_tensor *ins[3] = {x, w, b};
    t2c_node node = {.type = "conv2d", .name = "conv", .n_inputs = b ? 3 : 2, .inputs = ins,
                     .n_outputs = 1, .outputs = &y, .n_attrs = n_attrs, .attrs = attrs, .params = p};
    memset(p, 0, sizeof *p);
    return t2c_op_conv2d.prepare(&node, err);
}

static t2c_status run_op(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs,
                         int n_attrs, size_t *scratch_bytes);

/* prepare + reference kernel; asserts both succeed, and that the op's run() with scratch (the
 * engine's fast plain paths) gives the same values. */
static void run_ok(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs,
                   int n_attrs)
{
    t2c_conv2d_params p;
    t2c_error err = {0};
    assert_int_equal(prep(x, w, b, y, attrs, n_attrs, &p, &err), T2C_OK);
    assert_int_equal(t2c_conv2d_ref(&p, x, w, b, y, &err), T2C_OK);
    const int64_t n = y->dims[0] * y->dims[1] * y->dims[2] * y->dims[3];
    int32_t *got = malloc((size_t)n * sizeof(int32_t));
    assert_non_null(got);
    t2c_tensor y2 = {.dtype = T2C_INT32, .data = got};
    size_t scratch_bytes;
    assert_int_equal(run_op(x, w, b, &y2, attrs, n_attrs, &scratch_bytes), T2C_OK);
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(got[i], ((const int32_t *)y->data)[i]);
    free(got);
}

static void expect_i32(const int32_t *got, const int32_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i])
            print_error("element %d: got %d, want %d\n", i, got[i], want[i]);
        assert_int_equal(got[i], want[i]);
    }
}

/* Padding is the zero point: x - zp = [[0,10],[20,30]], 3x3 weights 1..9, pads 1. */
static void test_padding_uses_x_zero_point(void **state)
{
    (void)state;
    uint8_t xd[4] = {10, 20, 30, 40};
    int8_t wd[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t yd[4], bd[1] = {-1000};
    t2c_tensor x = mk4(T2C_UINT8, xd, 1, 1, 2, 2), w = mk4(T2C_INT8, wd, 1, 1, 3, 3), b = mk1(T2C_INT32, bd, 1);
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID, .data = yd};
    const t2c_attr at[] = {A_INTS("pads", 1, 1, 1, 1), A_INT("x_zero_point", 10)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    assert_int_equal(y.dtype, T2C_INT32);
    assert_int_equal(y.rank, 4);
    assert_int_equal(y.dims[0], 1), assert_int_equal(y.dims[1], 1);
    assert_int_equal(y.dims[2], 2), assert_int_equal(y.dims[3], 2);
    /* (0,0): 10*6 + 20*8 + 30*9 = 490; (0,1): 10*5 + 20*7 + 30*8 = 430; (1,0): 10*3 + 20*5 + 30*6 = 310;
     * (1,1): 10*2 + 20*4 + 30*5 = 250. Zero padding instead of zp would subtract 10*w per padded tap. */
    expect_i32(yd, (const int32_t[]){490, 430, 310, 250}, 4);
    run_ok(&x, &w, &b, &y, at, NA(at));
    expect_i32(yd, (const int32_t[]){-510, -570, -690, -750}, 4);
}

static const int8_t x5[25] = {3,  -1, 4, 1,  -5, 9, 2,  -6, 5, 3, -5, 8, 9,
                              -7, 9,  3, 2,  -3, 8, 4,  6,  -2, 6, 4, -3};

/* stride 2, dilation 2: y = x[a,b] - x[a,b+2] + 2x[a+2,b] - 2x[a+2,b+2], a = 2oh, b = 2ow */
static void test_stride_dilation(void **state)
{
    (void)state;
    int8_t wd[4] = {1, -1, 2, -2};
    int32_t yd[4];
    t2c_tensor x = mk4(T2C_INT8, (void *)x5, 1, 1, 5, 5), w = mk4(T2C_INT8, wd, 1, 1, 2, 2);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INTS("strides", 2, 2), A_INTS("dilations", 2, 2)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    assert_int_equal(y.dims[2], 2), assert_int_equal(y.dims[3], 2);
    /* (0,0): 3-4-10-18; (0,1): 4+5+18-18; (1,0): -5-9+12-12; (1,1): 9-9+12+6 */
    expect_i32(yd, (const int32_t[]){-29, 9, -14, 18}, 4);
}

/* stride [1,3], left pad 1 only: Ho = 4, Wo = floor((5+1-2)/3)+1 = 2; ow=0 sees only column 0. */
static void test_stride_asymmetric_pad(void **state)
{
    (void)state;
    int8_t wd[4] = {1, 2, 3, 4};
    int32_t yd[8];
    t2c_tensor x = mk4(T2C_INT8, (void *)x5, 1, 1, 5, 5), w = mk4(T2C_INT8, wd, 1, 1, 2, 2);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INTS("strides", 1, 3), A_INTS("pads", 0, 1, 0, 0)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    assert_int_equal(y.dims[2], 4), assert_int_equal(y.dims[3], 2);
    /* ow=0: 2x[oh,0] + 4x[oh+1,0]; ow=1: x[oh,2] + 2x[oh,3] + 3x[oh+1,2] + 4x[oh+1,3] */
    expect_i32(yd, (const int32_t[]){42, 8, -2, 3, 2, 18, 30, 47}, 8);
}

static void test_groups(void **state)
{
    (void)state;
    int8_t xd[4] = {1, 2, 3, 4};
    int8_t wd[8] = {1, 1, 1, -1, 2, 0, 0, 3};
    int32_t yd[4];
    t2c_tensor x = mk4(T2C_INT8, xd, 1, 4, 1, 1), w = mk4(T2C_INT8, wd, 4, 2, 1, 1);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INT("group", 2)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    /* co 0,1 read channels 0,1: 1+2, 1-2; co 2,3 read channels 2,3: 2*3, 3*4 */
    expect_i32(yd, (const int32_t[]){3, -1, 6, 12}, 4);
}

/* Depthwise with channel multiplier 2: group = Cin = 2, Cout = 4, g = co / 2. */
static void test_depthwise_multiplier(void **state)
{
    (void)state;
    int8_t xd[8] = {1, 2, 3, 4, -1, -2, -3, -4};
    int8_t wd[16] = {1, 1, 1, 1, 1, 0, 0, -1, 1, 1, 1, 1, 0, 1, 1, 0};
    int32_t yd[4];
    t2c_tensor x = mk4(T2C_INT8, xd, 1, 2, 2, 2), w = mk4(T2C_INT8, wd, 4, 1, 2, 2);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INT("group", 2)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    expect_i32(yd, (const int32_t[]){10, -3, -10, -5}, 4);
}

/* Classic depthwise 3x3, pads 1: channel 0 all 1 with weights 1, channel 1 all 2 with weights -1.
 * Window sizes: corner 4, edge 6, centre 9. */
static void test_depthwise_padded(void **state)
{
    (void)state;
    int8_t xd[18], wd[18];
    int32_t yd[18];
    for (int i = 0; i < 9; i++)
        xd[i] = 1, xd[9 + i] = 2, wd[i] = 1, wd[9 + i] = -1;
    t2c_tensor x = mk4(T2C_INT8, xd, 1, 2, 3, 3), w = mk4(T2C_INT8, wd, 2, 1, 3, 3);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INT("group", 2), A_INTS("pads", 1, 1, 1, 1)};
    run_ok(&x, &w, NULL, &y, at, NA(at));
    expect_i32(yd, (const int32_t[]){4, 6, 4, 6, 9, 6, 4, 6, 4, -8, -12, -8, -12, -18, -12, -8, -12, -8}, 18);
}

static void test_int4_uint4_extremes(void **state)
{
    (void)state;
    uint8_t xu[2] = {15, 0};
    int8_t xs[2] = {-8, 7};
    int8_t w1[2] = {-8, 7}, w2[2] = {-8, -8};
    int32_t yd[1];
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    /* uint4 x - 8 = [7, -8]; int4 w = [-8, 7]: 7*-8 + -8*7 = -112 */
    t2c_tensor x = mk4(T2C_UINT4, xu, 1, 2, 1, 1), w = mk4(T2C_INT4, w1, 1, 2, 1, 1);
    const t2c_attr a1[] = {A_INT("x_zero_point", 8)};
    run_ok(&x, &w, NULL, &y, a1, NA(a1));
    assert_int_equal(yd[0], -112);
    /* w - (-8) = [0, 15]: 7*0 + -8*15 = -120 */
    const t2c_attr a2[] = {A_INT("x_zero_point", 8), A_INT("w_zero_point", -8)};
    run_ok(&x, &w, NULL, &y, a2, NA(a2));
    assert_int_equal(yd[0], -120);
    /* int4 x - (-8) = [0, 15]; w - 7 = [-15, -15]: -225 */
    t2c_tensor x2 = mk4(T2C_INT4, xs, 1, 2, 1, 1), w2t = mk4(T2C_INT4, w2, 1, 2, 1, 1);
    const t2c_attr a3[] = {A_INT("x_zero_point", -8), A_INT("w_zero_point", 7)};
    run_ok(&x2, &w2t, NULL, &y, a3, NA(a3));
    assert_int_equal(yd[0], -225);
    /* uint4 [15, 15] * int4 [-8, -8] = -240; an 8-bit accumulator: saturate -120, -128; wrap 16 */
    uint8_t xf[2] = {15, 15};
    t2c_tensor x3 = mk4(T2C_UINT4, xf, 1, 2, 1, 1);
    run_ok(&x3, &w2t, NULL, &y, NULL, 0);
    assert_int_equal(yd[0], -240);
    const t2c_attr a4[] = {A_INT("acc_bits", 8), A_STR("overflow", "saturate")};
    run_ok(&x3, &w2t, NULL, &y, a4, NA(a4));
    assert_int_equal(yd[0], -128);
    const t2c_attr a5[] = {A_INT("acc_bits", 8), A_STR("overflow", "wrap")};
    run_ok(&x3, &w2t, NULL, &y, a5, NA(a5));
    assert_int_equal(yd[0], 16);
}

/* (x - x_zp)(w - w_zp) + bias with both zero points: (3+1)(5-2) + (-5+1)(6-2) + 7 = 3 */
static void test_zero_points_and_bias(void **state)
{
    (void)state;
    int8_t xd[2] = {3, -5}, wd[2] = {5, 6};
    int32_t bd[1] = {7}, yd[1];
    t2c_tensor x = mk4(T2C_INT8, xd, 1, 1, 1, 2), w = mk4(T2C_INT8, wd, 1, 1, 1, 2), b = mk1(T2C_INT32, bd, 1);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr at[] = {A_INT("x_zero_point", -1), A_INT("w_zero_point", 2)};
    run_ok(&x, &w, &b, &y, at, NA(at));
    assert_int_equal(yd[0], 3);
}

/* acc_bits = 8, products +100, +100, -100 (channel order): saturate 100 -> 127 -> 27,
 * wrap 100 -> -56 -> 100, exact 100; reversed channels saturate -100 -> 0 -> 100. */
static void test_acc_policies_order(void **state)
{
    (void)state;
    int8_t xa[3] = {100, 100, -100}, xb[3] = {-100, 100, 100}, wd[3] = {1, 1, 1};
    int32_t yd[1];
    t2c_tensor x = mk4(T2C_INT8, xa, 1, 3, 1, 1), xr = mk4(T2C_INT8, xb, 1, 3, 1, 1);
    t2c_tensor w = mk4(T2C_INT8, wd, 1, 3, 1, 1), y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr sat[] = {A_INT("acc_bits", 8), A_STR("overflow", "saturate")};
    const t2c_attr wrap[] = {A_INT("acc_bits", 8), A_STR("overflow", "wrap")};
    const t2c_attr errp[] = {A_INT("acc_bits", 8)};
    run_ok(&x, &w, NULL, &y, sat, NA(sat));
    assert_int_equal(yd[0], 27);
    run_ok(&xr, &w, NULL, &y, sat, NA(sat));
    assert_int_equal(yd[0], 100);
    run_ok(&x, &w, NULL, &y, wrap, NA(wrap));
    assert_int_equal(yd[0], 100);
    run_ok(&x, &w, NULL, &y, NULL, 0);
    assert_int_equal(yd[0], 100);
    t2c_conv2d_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&x, &w, NULL, &y, errp, NA(errp), &p, &err), T2C_OK);
    assert_int_equal(t2c_conv2d_ref(&p, &x, &w, NULL, &y, &err), T2C_ERR_OVERFLOW);
    assert_int_equal(err.status, T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "100 + 100"));
    /* the reversed order never leaves [-128, 127]: -100, 0, 100 */
    assert_int_equal(prep(&xr, &w, NULL, &y, errp, NA(errp), &p, &err), T2C_OK);
    assert_int_equal(t2c_conv2d_ref(&p, &xr, &w, NULL, &y, &err), T2C_OK);
    assert_int_equal(yd[0], 100);
}

/* The order is ci, then kh, then kw: channel 0 = [100, 100], channel 1 = [-100, -100] along kw,
 * weights 1. ci-major saturates 100, 127, 27, -73; a kw-major order would give 0. */
static void test_acc_order_channel_major(void **state)
{
    (void)state;
    int8_t xd[4] = {100, 100, -100, -100}, wd[4] = {1, 1, 1, 1};
    int32_t yd[1];
    t2c_tensor x = mk4(T2C_INT8, xd, 1, 2, 1, 2), w = mk4(T2C_INT8, wd, 1, 2, 1, 2);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr sat[] = {A_INT("acc_bits", 8), A_STR("overflow", "saturate")};
    run_ok(&x, &w, NULL, &y, sat, NA(sat));
    assert_int_equal(yd[0], -73);
    /* the same along kh: x [1,2,2,1], channel 0 rows 100, 100, channel 1 rows -100, -100 */
    t2c_tensor x2 = mk4(T2C_INT8, xd, 1, 2, 2, 1), w2 = mk4(T2C_INT8, wd, 1, 2, 2, 1);
    run_ok(&x2, &w2, NULL, &y, sat, NA(sat));
    assert_int_equal(yd[0], -73);
}

/* 32-bit overflow: bias INT32_MAX, only (n=1, co=1, oh=1, ow=1) adds a non-zero product. */
static void test_overflow_error_names_coordinate(void **state)
{
    (void)state;
    int8_t xd[8] = {0, 0, 0, 0, 0, 0, 0, 1}, wd[2] = {0, 1};
    int32_t bd[2] = {INT32_MAX, INT32_MAX}, yd[16]; /* y is [2, 2, 2, 2] */
    t2c_tensor x = mk4(T2C_INT8, xd, 2, 1, 2, 2), w = mk4(T2C_INT8, wd, 2, 1, 1, 1), b = mk1(T2C_INT32, bd, 2);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    t2c_conv2d_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&x, &w, &b, &y, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(t2c_conv2d_ref(&p, &x, &w, &b, &y, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "(n=1, co=1, oh=1, ow=1)"));
    assert_non_null(strstr(err.message, "2147483647 + 1"));
    /* wrap and saturate at 32 bits */
    const t2c_attr wrap[] = {A_STR("overflow", "wrap")}, sat[] = {A_STR("overflow", "saturate")};
    run_ok(&x, &w, &b, &y, wrap, NA(wrap));
    for (int i = 0; i < 15; i++)
        assert_int_equal(yd[i], INT32_MAX);
    assert_int_equal(yd[15], INT32_MIN);
    run_ok(&x, &w, &b, &y, sat, NA(sat));
    assert_int_equal(yd[15], INT32_MAX);
    /* the same through the op's run() */
    t2c_tensor *ins[3] = {&x, &w, &b}, *outs[1] = {&y};
    t2c_node node = {.type = "conv2d", .name = "c", .n_inputs = 3, .inputs = ins, .n_outputs = 1,
                     .outputs = outs, .n_attrs = 0, .attrs = NULL, .params = &p};
    memset(&p, 0, sizeof p);
    assert_int_equal(t2c_op_conv2d.prepare(&node, &err), T2C_OK);
    assert_int_equal(t2c_op_conv2d.run(&node, NULL, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "(n=1, co=1, oh=1, ow=1)"));
}

/* Loading the bias is an accumulator step: 200 in an 8-bit accumulator. */
static void test_bias_load_overflow(void **state)
{
    (void)state;
    int8_t xd[1] = {1}, wd[1] = {1};
    int32_t bd[1] = {200}, yd[1];
    t2c_tensor x = mk4(T2C_INT8, xd, 1, 1, 1, 1), w = mk4(T2C_INT8, wd, 1, 1, 1, 1), b = mk1(T2C_INT32, bd, 1);
    t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
    const t2c_attr sat[] = {A_INT("acc_bits", 8), A_STR("overflow", "saturate")};
    const t2c_attr wrap[] = {A_INT("acc_bits", 8), A_STR("overflow", "wrap")};
    const t2c_attr errp[] = {A_INT("acc_bits", 8)};
    run_ok(&x, &w, &b, &y, sat, NA(sat));
    assert_int_equal(yd[0], 127); /* 200 -> 127, + 1 -> 128 -> 127 */
    run_ok(&x, &w, &b, &y, wrap, NA(wrap));
    assert_int_equal(yd[0], -55); /* 200 -> -56, + 1 */
    t2c_conv2d_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&x, &w, &b, &y, errp, NA(errp), &p, &err), T2C_OK);
    assert_int_equal(t2c_conv2d_ref(&p, &x, &w, &b, &y, &err), T2C_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "0 + 200"));
}

static void expect_reject(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *at,
                          int n, t2c_status want)
{
    t2c_conv2d_params p;
    t2c_error err = {0};
    t2c_status st = prep(x, w, b, y, at, n, &p, &err);
    if (st != want)
        print_error("status %d, want %d: %s\n", st, want, err.message);
    assert_int_equal(st, want);
    assert_int_equal(err.status, want);
    assert_true(strlen(err.message) > 0);
}

static void test_prepare_rejects(void **state)
{
    (void)state;
    int8_t buf[256] = {0};
    int32_t bd[4] = {0};
    t2c_tensor x = mk4(T2C_INT8, buf, 1, 3, 4, 4), w = mk4(T2C_INT8, buf, 2, 3, 3, 3), b = mk1(T2C_INT32, bd, 2);
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID};
    /* baseline is accepted */
    t2c_conv2d_params p;
    t2c_error err = {0};
    assert_int_equal(prep(&x, &w, &b, &y, NULL, 0, &p, &err), T2C_OK);
    assert_int_equal(y.dims[1], 2), assert_int_equal(y.dims[2], 2), assert_int_equal(y.dims[3], 2);

    t2c_tensor bad = x;
    bad.dtype = T2C_INT16;
    expect_reject(&bad, &w, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad.dtype = T2C_FLOAT32;
    expect_reject(&bad, &w, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad = w, bad.dtype = T2C_UINT8;
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad.dtype = T2C_UINT4;
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_DTYPE);
    bad = b, bad.dtype = T2C_INT8;
    expect_reject(&x, &w, &bad, &y, NULL, 0, T2C_ERR_DTYPE);
    t2c_tensor y8 = {.dtype = T2C_INT8};
    expect_reject(&x, &w, &b, &y8, NULL, 0, T2C_ERR_DTYPE);

    bad = x, bad.rank = 3;
    expect_reject(&bad, &w, &b, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = w, bad.dims[1] = 2; /* Cin = 3 */
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = b, bad.dims[0] = 3;
    expect_reject(&x, &w, &bad, &y, NULL, 0, T2C_ERR_SHAPE);
    bad = w, bad.dims[2] = 5; /* KH 5 > H 4 */
    expect_reject(&x, &bad, &b, &y, NULL, 0, T2C_ERR_SHAPE);
    const t2c_attr dil[] = {A_INTS("dilations", 2, 1)}; /* extent 5 > 4 */
    expect_reject(&x, &w, &b, &y, dil, NA(dil), T2C_ERR_SHAPE);
    const t2c_attr dil_ok[] = {A_INTS("dilations", 2, 1), A_INTS("pads", 1, 0, 0, 0)}; /* extent 5 = 4+1 */
    assert_int_equal(prep(&x, &w, &b, &y, dil_ok, NA(dil_ok), &p, &err), T2C_OK);
    assert_int_equal(y.dims[2], 1), assert_int_equal(y.dims[3], 2);

    const t2c_attr g2[] = {A_INT("group", 2)}; /* does not divide Cin = 3 */
    expect_reject(&x, &w, &b, &y, g2, NA(g2), T2C_ERR_ATTR);
    const t2c_attr s0[] = {A_INTS("strides", 0, 1)};
    expect_reject(&x, &w, &b, &y, s0, NA(s0), T2C_ERR_ATTR);
    const t2c_attr s3[] = {A_INTS("strides", 1, 1, 1)};
    expect_reject(&x, &w, &b, &y, s3, NA(s3), T2C_ERR_ATTR);
    const t2c_attr pn[] = {A_INTS("pads", -1, 0, 0, 0)};
    expect_reject(&x, &w, &b, &y, pn, NA(pn), T2C_ERR_ATTR);
    const t2c_attr d0[] = {A_INTS("dilations", 1, 0)};
    expect_reject(&x, &w, &b, &y, d0, NA(d0), T2C_ERR_ATTR);
    const t2c_attr xz[] = {A_INT("x_zero_point", 128)}; /* int8 */
    expect_reject(&x, &w, &b, &y, xz, NA(xz), T2C_ERR_ATTR);
    t2c_tensor xu = x;
    xu.dtype = T2C_UINT8;
    const t2c_attr xzn[] = {A_INT("x_zero_point", -1)};
    expect_reject(&xu, &w, &b, &y, xzn, NA(xzn), T2C_ERR_ATTR);
    t2c_tensor w4 = w;
    w4.dtype = T2C_INT4;
    const t2c_attr wz[] = {A_INT("w_zero_point", 8)};
    expect_reject(&x, &w4, &b, &y, wz, NA(wz), T2C_ERR_ATTR);
    const t2c_attr ab33[] = {A_INT("acc_bits", 33)}, ab1[] = {A_INT("acc_bits", 1)};
    expect_reject(&x, &w, &b, &y, ab33, NA(ab33), T2C_ERR_ATTR);
    expect_reject(&x, &w, &b, &y, ab1, NA(ab1), T2C_ERR_ATTR);
    const t2c_attr ov[] = {A_STR("overflow", "clip")};
    expect_reject(&x, &w, &b, &y, ov, NA(ov), T2C_ERR_ATTR);
    const t2c_attr ovi[] = {A_INT("overflow", 1)};
    expect_reject(&x, &w, &b, &y, ovi, NA(ovi), T2C_ERR_ATTR);
    /* a missing weight */
    t2c_tensor *ins[1] = {&x}, *outs[1] = {&y};
    t2c_node node = {.type = "conv2d", .name = "c", .n_inputs = 1, .inputs = ins, .n_outputs = 1,
                     .outputs = outs, .params = &p};
    assert_int_not_equal(t2c_op_conv2d.prepare(&node, &err), T2C_OK);
}

static void test_macs_and_roles(void **state)
{
    (void)state;
    int8_t buf[256] = {0};
    t2c_conv2d_params p;
    t2c_error err = {0};
    /* [1,3,5,5] * [4,3,3,3], pads 1 -> [1,4,5,5]: 1*4*5*5 * 3*3*3 = 2700 */
    t2c_tensor x = mk4(T2C_INT8, buf, 1, 3, 5, 5), w = mk4(T2C_INT8, buf, 4, 3, 3, 3), y = {.dtype = T2C_INT32};
    t2c_tensor *ins[2] = {&x, &w}, *outs[1] = {&y};
    const t2c_attr at[] = {A_INTS("pads", 1, 1, 1, 1)};
    t2c_node node = {.type = "conv2d", .name = "c", .n_inputs = 2, .inputs = ins, .n_outputs = 1,
                     .outputs = outs, .n_attrs = NA(at), .attrs = at, .params = &p};
    memset(&p, 0, sizeof p);
    assert_int_equal(t2c_op_conv2d.prepare(&node, &err), T2C_OK);
    assert_int_equal(t2c_op_conv2d.macs(&node), 2700);
    /* [2,4,5,5] * [6,2,3,3], group 2, stride 2 -> [2,6,2,2]: 2*6*2*2 * 2*3*3 = 864 */
    x = mk4(T2C_INT8, buf, 2, 4, 5, 5), w = mk4(T2C_INT8, buf, 6, 2, 3, 3);
    const t2c_attr at2[] = {A_INT("group", 2), A_INTS("strides", 2, 2)};
    node.attrs = at2, node.n_attrs = NA(at2);
    memset(&p, 0, sizeof p);
    assert_int_equal(t2c_op_conv2d.prepare(&node, &err), T2C_OK);
    assert_int_equal(y.dims[0], 2), assert_int_equal(y.dims[1], 6);
    assert_int_equal(y.dims[2], 2), assert_int_equal(y.dims[3], 2);
    assert_int_equal(t2c_op_conv2d.macs(&node), 864);
    assert_string_equal(t2c_op_conv2d.type, "conv2d");
    assert_string_equal(t2c_op_conv2d.input_roles[0], "input");
    assert_string_equal(t2c_op_conv2d.input_roles[1], "weight");
    assert_string_equal(t2c_op_conv2d.input_roles[2], "bias");
    assert_int_equal(t2c_op_conv2d.min_inputs, 2);
    assert_int_equal(t2c_op_conv2d.max_inputs, 3);
}

/* ------------------------------------------------------------------ randomized vs naive recipe */

static uint64_t rng = 0x9E3779B97F4A7C15ull; /* xorshift64, fixed seed */
static int64_t rnd(int64_t lo, int64_t hi)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return lo + (int64_t)(rng % (uint64_t)(hi - lo + 1));
}

/* One accumulator step, written independently of t2c_acc_add. Returns 0 on an error-policy overflow. */
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
    static int8_t xs[2 * 6 * 7 * 7];
    static uint8_t xu[sizeof xs];
    static int8_t wd[9 * 3 * 3 * 3];
    static int32_t bd[9], yd[2 * 9 * 11 * 11]; /* Ho, Wo <= 7 + 2 + 2 */
    static int64_t want[sizeof yd / sizeof yd[0]];
    static const t2c_dtype xdt[4] = {T2C_INT4, T2C_UINT4, T2C_INT8, T2C_UINT8};
    static const char *const pol_names[3] = {"error", "wrap", "saturate"};
    static const int bits_choice[6] = {32, 32, 32, 20, 12, 8};
    int n_ok = 0, n_overflow = 0;
    for (int iter = 0; iter < 3000; iter++) {
        const t2c_dtype xd = xdt[rnd(0, 3)], wdt = rnd(0, 1) ? T2C_INT4 : T2C_INT8;
        const int64_t N = rnd(1, 2), G = rnd(1, 3), cin_g = rnd(1, 2), cout_g = rnd(1, 3);
        const int64_t H = rnd(1, 7), W = rnd(1, 7), KH = rnd(1, 3), KW = rnd(1, 3);
        const int64_t sh = rnd(1, 3), sw = rnd(1, 3), dh = rnd(1, 2), dw = rnd(1, 2);
        const int64_t pt = rnd(0, 2), pl = rnd(0, 2), pb = rnd(0, 2), pr = rnd(0, 2);
        const int64_t xzp = rnd(t2c_dtype_min(xd), t2c_dtype_max(xd));
        const int64_t wzp = rnd(0, 3) ? 0 : rnd(t2c_dtype_min(wdt), t2c_dtype_max(wdt));
        const int bits = bits_choice[rnd(0, 5)];
        const int pol = (int)rnd(0, 2), has_bias = (int)rnd(0, 1);
        const int64_t Cin = G * cin_g, Cout = G * cout_g;
        const int64_t Ho = (H + pt + pb - dh * (KH - 1) - 1) >= 0 ? (H + pt + pb - dh * (KH - 1) - 1) / sh + 1 : 0;
        const int64_t Wo = (W + pl + pr - dw * (KW - 1) - 1) >= 0 ? (W + pl + pr - dw * (KW - 1) - 1) / sw + 1 : 0;
        for (int64_t i = 0; i < N * Cin * H * W; i++) {
            xs[i] = (int8_t)rnd(t2c_dtype_min(xd), t2c_dtype_max(xd));
            xu[i] = (uint8_t)xs[i];
        }
        for (int64_t i = 0; i < Cout * cin_g * KH * KW; i++)
            wd[i] = (int8_t)rnd(t2c_dtype_min(wdt), t2c_dtype_max(wdt));
        const int64_t bmax = bits == 32 ? INT32_MAX : ((int64_t)1 << (bits - 1)) + 40;
        for (int64_t i = 0; i < Cout; i++)
            bd[i] = (int32_t)(rnd(0, 1) ? rnd(-300, 300) : rnd(-bmax, bmax < INT32_MAX ? bmax : INT32_MAX));
        const int is_u = xd == T2C_UINT4 || xd == T2C_UINT8;
        t2c_tensor x = mk4(xd, is_u ? (void *)xu : (void *)xs, N, Cin, H, W);
        t2c_tensor w = mk4(wdt, wd, Cout, cin_g, KH, KW), b = mk1(T2C_INT32, bd, Cout);
        t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
        const t2c_attr at[] = {A_INTS("strides", sh, sw), A_INTS("pads", pt, pl, pb, pr),
                               A_INTS("dilations", dh, dw), A_INT("group", G), A_INT("x_zero_point", xzp),
                               A_INT("w_zero_point", wzp), A_INT("acc_bits", bits),
                               {.name = "overflow", .type = T2C_ATTR_STRING, .count = (int64_t)strlen(pol_names[pol]),
                                .v = {.s = pol_names[pol]}}};
        t2c_conv2d_params p;
        t2c_error err = {0};
        t2c_status st = prep(&x, &w, has_bias ? &b : NULL, &y, at, NA(at), &p, &err);
        if (Ho < 1 || Wo < 1) {
            assert_int_equal(st, T2C_ERR_SHAPE);
            continue;
        }
        assert_int_equal(st, T2C_OK);
        assert_int_equal(y.dims[2], Ho);
        assert_int_equal(y.dims[3], Wo);
        st = t2c_conv2d_ref(&p, &x, &w, has_bias ? &b : NULL, &y, &err);
        /* the naive recipe, literally */
        int failed = 0;
        char where[96] = "";
        for (int64_t n = 0; n < N && !failed; n++)
            for (int64_t co = 0; co < Cout && !failed; co++)
                for (int64_t oh = 0; oh < Ho && !failed; oh++)
                    for (int64_t ow = 0; ow < Wo && !failed; ow++) {
                        int64_t acc = 0;
                        int ok = naive_step(&acc, has_bias ? bd[co] : 0, bits, pol);
                        const int64_t g = co / cout_g;
                        for (int64_t ci = 0; ci < cin_g && ok; ci++)
                            for (int64_t kh = 0; kh < KH && ok; kh++)
                                for (int64_t kw = 0; kw < KW && ok; kw++) {
                                    const int64_t ih = oh * sh - pt + kh * dh, iw = ow * sw - pl + kw * dw;
                                    const int64_t c = g * cin_g + ci;
                                    int64_t xv = xzp;
                                    if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                                        const int64_t i = ((n * Cin + c) * H + ih) * W + iw;
                                        xv = is_u ? xu[i] : xs[i];
                                    }
                                    const int64_t wv = wd[((co * cin_g + ci) * KH + kh) * KW + kw];
                                    ok = naive_step(&acc, (xv - xzp) * (wv - wzp), bits, pol);
                                }
                        if (!ok) {
                            failed = 1;
                            snprintf(where, sizeof where, "(n=%lld, co=%lld, oh=%lld, ow=%lld)", (long long)n,
                                     (long long)co, (long long)oh, (long long)ow);
                            break;
                        }
                        want[((n * Cout + co) * Ho + oh) * Wo + ow] = acc;
                    }
        for (int64_t i = 0; i < N * Cout * Ho * Wo && !failed; i++) {
            if (st != T2C_OK || yd[i] != want[i])
                print_error("iter %d, element %lld: status %d, got %d, want %lld\n", iter, (long long)i, st,
                            yd[i], (long long)want[i]);
            assert_int_equal(st, T2C_OK);
            assert_int_equal(yd[i], want[i]);
        }
        if (failed) {
            assert_int_equal(st, T2C_ERR_OVERFLOW);
            assert_non_null(strstr(err.message, where));
            n_overflow++;
        } else {
            assert_int_equal(st, T2C_OK);
            n_ok++;
        }
    }
    /* both outcomes must have been exercised */
    assert_true(n_ok > 500);
    assert_true(n_overflow > 50);
}

/* prepare + the op's run() with its scratch (the engine's path: depthwise / im2col / plane). */
static t2c_status run_op(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *attrs,
                         int n_attrs, size_t *scratch_bytes)
{
    t2c_tensor *ins[3] = {x, w, b};
    t2c_conv2d_params p;
    t2c_error err = {0};
    t2c_node node = {.type = "conv2d", .name = "conv", .n_inputs = b ? 3 : 2, .inputs = ins,
                     .n_outputs = 1, .outputs = &y, .n_attrs = n_attrs, .attrs = attrs, .params = &p};
    memset(&p, 0, sizeof p);
    assert_int_equal(t2c_op_conv2d.prepare(&node, &err), T2C_OK);
    *scratch_bytes = t2c_op_conv2d.scratch_size(&node);
    void *scratch = *scratch_bytes ? malloc(*scratch_bytes) : NULL;
    if (*scratch_bytes)
        assert_non_null(scratch);
    t2c_status st = t2c_op_conv2d.run(&node, scratch, &err);
    free(scratch);
    return st;
}

/* The no-overflow fast paths (depthwise and im2col with scratch, the plane path without) against
 * the recipe-literal checked path on odd shapes. The checked path runs when the worst-case bound
 * fails: acc_bits = 16 with overflow = error, on values within 2 of extreme zero points (so no
 * partial sum leaves 16 bits, and the status must be OK); the fast paths run the same data at
 * acc_bits = 32. A second round uses full-range values at acc_bits = 32 and compares the fast
 * paths with an exact in-test sum. */
static void test_fast_paths_vs_checked(void **state)
{
    (void)state;
    static const t2c_dtype xdt[4] = {T2C_INT4, T2C_UINT4, T2C_INT8, T2C_UINT8};
    enum { MAXX = 2 * 60 * 9 * 9, MAXW = 2 * 6 * 30 * 3 * 5, MAXY = 2 * 40 * 13 * 13 };
    int8_t *xs = malloc(MAXX), *wd = malloc(MAXW);
    uint8_t *xu = malloc(MAXX);
    int32_t *bd = malloc(60 * sizeof(int32_t)), *y_chk = malloc(MAXY * sizeof(int32_t));
    int32_t *y_ref = malloc(MAXY * sizeof(int32_t)), *y_op = malloc(MAXY * sizeof(int32_t));
    assert_true(xs && wd && xu && bd && y_chk && y_ref && y_op);
    int n_dw = 0, n_im2col = 0, n_native = 0, n_plane = 0;
    for (int iter = 0; iter < 1500; iter++) {
        const int full = iter % 2; /* 0: small deltas vs checked, 1: full range vs exact sum */
        const t2c_dtype xd = xdt[rnd(0, 3)], wdt = rnd(0, 1) ? T2C_INT4 : T2C_INT8;
        const int dw = rnd(0, 2) == 0; /* depthwise: cin_g = 1 */
        const int64_t N = rnd(1, 2), G = dw ? rnd(1, 20) : rnd(1, 2);
        const int64_t cin_g = dw ? 1 : (rnd(0, 1) ? rnd(1, 30) : rnd(1, 3)), cout_g = dw ? rnd(1, 2) : rnd(1, 6);
        const int64_t H = rnd(1, 9), W = rnd(1, 9), KH = rnd(1, 3), KW = rnd(0, 3) ? rnd(1, 3) : rnd(4, 5);
        const int64_t sh = rnd(1, 3), sw = rnd(1, 3), dh = rnd(1, 2), dlw = rnd(1, 2);
        const int64_t pt = rnd(0, 2), pl = rnd(0, 2), pb = rnd(0, 2), pr = rnd(0, 2);
        const int64_t Cin = G * cin_g, Cout = G * cout_g, K = cin_g * KH * KW;
        const int64_t Ho = (H + pt + pb - dh * (KH - 1) - 1) >= 0 ? (H + pt + pb - dh * (KH - 1) - 1) / sh + 1 : 0;
        const int64_t Wo = (W + pl + pr - dlw * (KW - 1) - 1) >= 0 ? (W + pl + pr - dlw * (KW - 1) - 1) / sw + 1 : 0;
        if (Ho < 1 || Wo < 1)
            continue;
        const int64_t xmin = t2c_dtype_min(xd), xmax = t2c_dtype_max(xd);
        const int64_t wmin = t2c_dtype_min(wdt), wmax = t2c_dtype_max(wdt);
        const int64_t zsel = rnd(0, 3), wsel = rnd(0, 3);
        const int64_t xzp = zsel == 0 ? xmin : zsel == 1 ? xmax : rnd(xmin, xmax);
        const int64_t wzp = wsel == 0 ? wmin : wsel == 1 ? wmax : wsel == 2 ? 0 : rnd(wmin, wmax);
        const int has_bias = (int)rnd(0, 1), is_u = xd == T2C_UINT4 || xd == T2C_UINT8;
        for (int64_t i = 0; i < N * Cin * H * W; i++) {
            const int64_t v = full ? rnd(xmin, xmax) : t2c_clamp64(xzp + rnd(-2, 2), xmin, xmax);
            xs[i] = (int8_t)v, xu[i] = (uint8_t)v;
        }
        for (int64_t i = 0; i < Cout * K; i++)
            wd[i] = (int8_t)(full ? rnd(wmin, wmax) : t2c_clamp64(wzp + rnd(-2, 2), wmin, wmax));
        const int64_t max_prod = (xmax - xmin) * (wmax - wmin), room = INT32_MAX - K * max_prod;
        for (int64_t i = 0; i < Cout; i++)
            bd[i] = (int32_t)(full ? rnd(-room, room) : rnd(-300, 300));
        t2c_tensor x = mk4(xd, is_u ? (void *)xu : (void *)xs, N, Cin, H, W);
        t2c_tensor w = mk4(wdt, wd, Cout, cin_g, KH, KW), b = mk1(T2C_INT32, bd, Cout);
        t2c_tensor *bp = has_bias ? &b : NULL;
        const t2c_attr at32[] = {A_INTS("strides", sh, sw), A_INTS("pads", pt, pl, pb, pr),
                                 A_INTS("dilations", dh, dlw), A_INT("group", G), A_INT("x_zero_point", xzp),
                                 A_INT("w_zero_point", wzp), A_INT("acc_bits", 32), A_STR("overflow", "error")};
        t2c_attr at16[NA(at32)];
        memcpy(at16, at32, sizeof at16);
        at16[6].v.i = 16;
        t2c_conv2d_params p;
        t2c_error err = {0};
        const int64_t ny = N * Cout * Ho * Wo;
        t2c_tensor y = {.dtype = T2C_INT32, .data = y_ref};
        /* the plane path (no scratch) and the op's run() with scratch, both at acc_bits = 32 */
        assert_int_equal(prep(&x, &w, bp, &y, at32, NA(at32), &p, &err), T2C_OK);
        assert_int_equal(t2c_conv2d_ref(&p, &x, &w, bp, &y, &err), T2C_OK);
        size_t scratch_bytes = 0;
        y.data = y_op;
        assert_int_equal(run_op(&x, &w, bp, &y, at32, NA(at32), &scratch_bytes), T2C_OK);
        n_dw += cin_g == 1, n_im2col += cin_g > 1 && K >= 16, n_plane += cin_g > 1 && K < 16;
        n_native += cin_g > 1 && K >= 16 && Cout > N * G * Ho * Wo; /* im2col in the weights' K order */
        if (cin_g == 1 || K >= 16)
            assert_true(scratch_bytes > 0);
        if (!full) {
            y.data = y_chk; /* acc_bits = 16: the bound fails, the checked path runs */
            assert_int_equal(prep(&x, &w, bp, &y, at16, NA(at16), &p, &err), T2C_OK);
            assert_int_equal(t2c_conv2d_ref(&p, &x, &w, bp, &y, &err), T2C_OK);
        } else {
            for (int64_t n = 0; n < N; n++) /* the exact sum: no partial sum can overflow */
                for (int64_t co = 0; co < Cout; co++)
                    for (int64_t oh = 0; oh < Ho; oh++)
                        for (int64_t ow = 0; ow < Wo; ow++) {
                            int64_t acc = has_bias ? bd[co] : 0;
                            const int64_t c0 = co / cout_g * cin_g;
                            for (int64_t ci = 0; ci < cin_g; ci++)
                                for (int64_t kh = 0; kh < KH; kh++)
                                    for (int64_t kw = 0; kw < KW; kw++) {
                                        const int64_t ih = oh * sh - pt + kh * dh, iw = ow * sw - pl + kw * dlw;
                                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                            continue;
                                        const int64_t i = ((n * Cin + c0 + ci) * H + ih) * W + iw;
                                        acc += ((is_u ? xu[i] : xs[i]) - xzp) *
                                               (wd[((co * cin_g + ci) * KH + kh) * KW + kw] - wzp);
                                    }
                            y_chk[((n * Cout + co) * Ho + oh) * Wo + ow] = (int32_t)acc;
                        }
        }
        for (int64_t i = 0; i < ny; i++) {
            if (y_ref[i] != y_chk[i] || y_op[i] != y_chk[i])
                print_error("iter %d (K=%lld, cin_g=%lld), element %lld: plane %d, run %d, want %d\n", iter,
                            (long long)K, (long long)cin_g, (long long)i, y_ref[i], y_op[i], y_chk[i]);
            assert_int_equal(y_ref[i], y_chk[i]);
            assert_int_equal(y_op[i], y_chk[i]);
        }
    }
    /* every fast path was exercised */
    print_message("paths: depthwise %d, im2col %d (native K order %d), plane %d\n", n_dw, n_im2col, n_native,
                  n_plane);
    assert_true(n_dw > 100 && n_im2col > 100 && n_native > 30 && n_plane > 50);
    free(xs), free(wd), free(xu), free(bd), free(y_chk), free(y_ref), free(y_op);
}

/* Huge pads and strides: the fast paths' scratch would not fit, so run() takes the plane path
 * (no scratch) and still gives the recipe's values. */
static void test_huge_pads_use_plane_path(void **state)
{
    (void)state;
    const int64_t big = (int64_t)1 << 30;
    for (int64_t cin = 1; cin <= 16; cin += 15) { /* depthwise-shaped (cin_g 1) and K = 16 */
        int8_t xd[32], wd[16];
        int32_t yd[3];
        for (int i = 0; i < 32; i++)
            xd[i] = (int8_t)(i - 7);
        for (int i = 0; i < 16; i++)
            wd[i] = (int8_t)(3 - i);
        t2c_tensor x = mk4(T2C_INT8, xd, 1, cin, 1, 2), w = mk4(T2C_INT8, wd, 1, cin, 1, 1);
        t2c_tensor y = {.dtype = T2C_INT32, .data = yd};
        const t2c_attr at[] = {A_INTS("strides", 1, big), A_INTS("pads", 0, big, 0, big), A_INT("x_zero_point", 1)};
        size_t scratch_bytes = 1;
        assert_int_equal(run_op(&x, &w, NULL, &y, at, NA(at), &scratch_bytes), T2C_OK);
        assert_int_equal(scratch_bytes, 0);
        assert_int_equal(y.dims[3], 3); /* ow = 1 reads iw = 0; ow = 0 and 2 only padding */
        int64_t want = 0;
        for (int64_t c = 0; c < cin; c++)
            want += (xd[c * 2] - 1) * wd[c];
        assert_int_equal(yd[0], 0);
        assert_int_equal(yd[1], want);
        assert_int_equal(yd[2], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding_uses_x_zero_point),
        cmocka_unit_test(test_stride_dilation),
        cmocka_unit_test(test_stride_asymmetric_pad),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_depthwise_multiplier),
        cmocka_unit_test(test_depthwise_padded),
        cmocka_unit_test(test_int4_uint4_extremes),
        cmocka_unit_test(test_zero_points_and_bias),
        cmocka_unit_test(test_acc_policies_order),
        cmocka_unit_test(test_acc_order_channel_major),
        cmocka_unit_test(test_overflow_error_names_coordinate),
        cmocka_unit_test(test_bias_load_overflow),
        cmocka_unit_test(test_prepare_rejects),
        cmocka_unit_test(test_macs_and_roles),
        cmocka_unit_test(test_random_vs_naive),
        cmocka_unit_test(test_fast_paths_vs_checked),
        cmocka_unit_test(test_huge_pads_use_plane_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
