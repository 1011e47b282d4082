/* test_quantize.c — quantize/dequantize: binary32 arithmetic with ties to even (values checked
 * against torch.quantize_per_tensor and numpy float32), NaN, inf, clamping, int4/uint4/int16
 * outputs, and prepare() rejections. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dequantize.h"
#include "quantize.h"

#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define A_INT(nm, val) {.name = nm, .type = T2C_ATTR_INT, .count = 1, .v = {.i = (val)}}
#define A_FLOAT(nm, val) {.name = nm, .type = T2C_ATTR_FLOAT, .count = 1, .v = {.f = (val)}}

static t2c_status qprep(const t2c_op_def *def, t2c_tensor *x, t2c_tensor *y, const t2c_attr *attrs, int n,
                        void *params, t2c_error *err)
{
    t2c_tensor *ins[1] = {x};
    t2c_node node = {.type = def->type, .name = "q", .n_inputs = 1, .inputs = ins, .n_outputs = 1,
                     .outputs = &y, .n_attrs = n, .attrs = attrs, .params = params};
    memset(params, 0, def->params_size);
    return def->prepare(&node, err);
}

/* quantize n floats into dtype dt through prepare + the reference kernel; values out as int64 */
static void quant(t2c_dtype dt, const float *xs, int n, const t2c_attr *attrs, int n_attrs, int64_t *out)
{
    static int16_t ybuf[64];
    t2c_tensor x = {.dtype = T2C_FLOAT32, .rank = 1, .dims = {n}, .data = (void *)xs};
    t2c_tensor y = {.dtype = dt, .data = ybuf};
    t2c_quantize_params p;
    t2c_error err = {0};
    assert_int_equal(qprep(&t2c_op_quantize, &x, &y, attrs, n_attrs, &p, &err), T2C_OK);
    assert_int_equal(y.rank, 1);
    assert_int_equal(y.dims[0], n);
    assert_int_equal(t2c_quantize_ref(&p, &x, &y, &err), T2C_OK);
    for (int i = 0; i < n; i++)
        out[i] = t2c_tensor_get_int(&y, i);
}

static void expect_all(const int64_t *got, const int64_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i])
            print_error("element %d: got %lld, want %lld\n", i, (long long)got[i], (long long)want[i]);
        assert_int_equal(got[i], want[i]);
    }
}

static void test_quantize_ties_to_even(void **state)
{
    (void)state;
    /* scale 0.5 -> inv 2: t = 2.5, 3.5, -2.5, -3.5, 0.5, 1.5, -0.5; +3 */
    const float xs[7] = {1.25f, 1.75f, -1.25f, -1.75f, 0.25f, 0.75f, -0.25f};
    const t2c_attr at[] = {A_FLOAT("scale", 0.5), A_INT("zero_point", 3)};
    int64_t got[7];
    quant(T2C_INT8, xs, 7, at, NA(at), got);
    expect_all(got, (const int64_t[]){5, 7, 1, -1, 3, 5, 3}, 7);
}

/* binary32, not binary64: 1.0f / 0.1f = 10.0f, and 0.35f*10 = 3.5f exactly, a tie -> 4
 * (in double 0.35f/0.1 = 3.49999994 -> 3). Likewise 0.85f -> 8.5 -> 8, 0.95f -> 9.5 -> 10. */
static void test_quantize_binary32(void **state)
{
    (void)state;
    const float xs[4] = {0.35f, 0.85f, 0.95f, -0.35f};
    const t2c_attr at[] = {A_FLOAT("scale", 0.1)};
    int64_t got[4];
    quant(T2C_INT8, xs, 4, at, NA(at), got);
    expect_all(got, (const int64_t[]){4, 8, 10, -4}, 4);
}

static void test_quantize_nan_inf_clamp(void **state)
{
    (void)state;
    const float xs[7] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 3.4e38f, 0.0f};
    int64_t got[7];
    const t2c_attr at[] = {A_FLOAT("scale", 0.25), A_INT("zero_point", -5)};
    quant(T2C_INT8, xs, 7, at, NA(at), got);
    expect_all(got, (const int64_t[]){-5, 127, -128, 127, -128, 127, -5}, 7);
    /* lo/hi: a fused ReLU-like window [zp, 100]; NaN gives the zero point, which is inside */
    const float x2[5] = {NAN, -3.0f, 10.0f, 30.0f, INFINITY};
    const t2c_attr a2[] = {A_FLOAT("scale", 0.25), A_INT("zero_point", -5), A_INT("lo", -5), A_INT("hi", 100)};
    quant(T2C_INT8, x2, 5, a2, NA(a2), got);
    expect_all(got, (const int64_t[]){-5, -5, 35, 100, 100}, 5);
    /* NaN gives the zero point even outside [lo, hi] (ops/README.md); other values clamp */
    const float x3[3] = {NAN, 0.0f, 25.0f};
    const t2c_attr a3[] = {A_FLOAT("scale", 1.0), A_INT("zero_point", 0), A_INT("lo", 10), A_INT("hi", 20)};
    quant(T2C_UINT8, x3, 3, a3, NA(a3), got);
    expect_all(got, (const int64_t[]){0, 10, 20}, 3);
}

static void test_quantize_int4_uint4_int16(void **state)
{
    (void)state;
    int64_t got[6];
    /* int4, scale 1: 7.4 -> 7, 7.6 -> 8 -> 7, -8.5 -> -8 (even), -9 -> -8, -7.5 -> -8 (even), 6.5 -> 6 */
    const float x4[6] = {7.4f, 7.6f, -8.5f, -9.0f, -7.5f, 6.5f};
    const t2c_attr a1[] = {A_FLOAT("scale", 1.0)};
    quant(T2C_INT4, x4, 6, a1, NA(a1), got);
    expect_all(got, (const int64_t[]){7, 7, -8, -8, -8, 6}, 6);
    /* uint4, zp 8: -8 -> 0, -8.6 -> -9+8 -> 0, 7 -> 15, 7.5 -> 8+8 -> 15, 6.5 -> 14, -0.5 -> 8 */
    const float xu[6] = {-8.0f, -8.6f, 7.0f, 7.5f, 6.5f, -0.5f};
    const t2c_attr a2[] = {A_FLOAT("scale", 1.0), A_INT("zero_point", 8)};
    quant(T2C_UINT4, xu, 6, a2, NA(a2), got);
    expect_all(got, (const int64_t[]){0, 0, 15, 15, 14, 8}, 6);
    /* int16, scale 2^-8: 32767.5 -> 32768 (even) -> 32767; -32768.5 -> -32768; 1.5/256 -> 2 */
    const float x16[4] = {32767.5f / 256, -32768.5f / 256, 1.5f / 256, -32769.0f / 256};
    const t2c_attr a3[] = {A_FLOAT("scale", 1.0 / 256)};
    quant(T2C_INT16, x16, 4, a3, NA(a3), got);
    expect_all(got, (const int64_t[]){32767, -32768, 2, -32768}, 4);
}

static void qreject(t2c_tensor *x, t2c_tensor *y, const t2c_attr *at, int n, t2c_status want)
{
    t2c_quantize_params p;
    t2c_error err = {0};
    t2c_status st = qprep(&t2c_op_quantize, x, y, at, n, &p, &err);
    if (st != want)
        print_error("status %d, want %d: %s\n", st, want, err.message);
    assert_int_equal(st, want);
    assert_true(strlen(err.message) > 0);
}

static void test_quantize_prepare(void **state)
{
    (void)state;
    t2c_tensor x = {.dtype = T2C_FLOAT32, .rank = 4, .dims = {1, 3, 2, 2}};
    t2c_tensor y = {.dtype = T2C_UINT4};
    t2c_quantize_params p;
    t2c_error err = {0};
    const t2c_attr ok[] = {A_FLOAT("scale", 0.02)};
    assert_int_equal(qprep(&t2c_op_quantize, &x, &y, ok, NA(ok), &p, &err), T2C_OK);
    assert_int_equal(p.lo, 0), assert_int_equal(p.hi, 15), assert_int_equal(p.zero_point, 0);
    assert_int_equal(y.rank, 4), assert_int_equal(y.dims[1], 3), assert_int_equal(y.dtype, T2C_UINT4);

    t2c_tensor xi = x;
    xi.dtype = T2C_INT8;
    qreject(&xi, &y, ok, NA(ok), T2C_ERR_DTYPE);
    t2c_tensor y32 = {.dtype = T2C_INT32}, yf = {.dtype = T2C_FLOAT32}, y0 = {.dtype = T2C_DTYPE_INVALID};
    qreject(&x, &y32, ok, NA(ok), T2C_ERR_DTYPE);
    qreject(&x, &yf, ok, NA(ok), T2C_ERR_DTYPE);
    qreject(&x, &y0, ok, NA(ok), T2C_ERR_DTYPE);
    qreject(&x, &y, NULL, 0, T2C_ERR_ATTR); /* scale is required */
    const t2c_attr s0[] = {A_FLOAT("scale", 0.0)}, sn[] = {A_FLOAT("scale", -1.0)};
    const t2c_attr tiny[] = {A_FLOAT("scale", 1e-50)}, huge[] = {A_FLOAT("scale", 1e39)};
    const t2c_attr sint[] = {A_INT("scale", 1)};
    qreject(&x, &y, s0, NA(s0), T2C_ERR_ATTR);
    qreject(&x, &y, sn, NA(sn), T2C_ERR_ATTR);
    qreject(&x, &y, tiny, NA(tiny), T2C_ERR_ATTR);
    qreject(&x, &y, huge, NA(huge), T2C_ERR_ATTR);
    qreject(&x, &y, sint, NA(sint), T2C_ERR_ATTR);
    const t2c_attr zp[] = {A_FLOAT("scale", 1.0), A_INT("zero_point", 16)};
    qreject(&x, &y, zp, NA(zp), T2C_ERR_ATTR);
    const t2c_attr lohi[] = {A_FLOAT("scale", 1.0), A_INT("lo", 9), A_INT("hi", 8)};
    qreject(&x, &y, lohi, NA(lohi), T2C_ERR_ATTR);
    const t2c_attr hi[] = {A_FLOAT("scale", 1.0), A_INT("hi", 16)};
    qreject(&x, &y, hi, NA(hi), T2C_ERR_ATTR);
    const t2c_attr lo[] = {A_FLOAT("scale", 1.0), A_INT("lo", -1)};
    qreject(&x, &y, lo, NA(lo), T2C_ERR_ATTR);
}

/* ------------------------------------------------------------------ dequantize */

static void dequant(t2c_tensor *x, const t2c_attr *at, int n, float *out)
{
    t2c_tensor y = {.dtype = T2C_DTYPE_INVALID, .data = out};
    t2c_dequantize_params p;
    t2c_error err = {0};
    assert_int_equal(qprep(&t2c_op_dequantize, x, &y, at, n, &p, &err), T2C_OK);
    assert_int_equal(y.dtype, T2C_FLOAT32);
    assert_int_equal(y.rank, x->rank);
    assert_int_equal(t2c_dequantize_ref(&p, x, &y, &err), T2C_OK);
}

static void test_dequantize(void **state)
{
    (void)state;
    float out[4];
    int8_t x8[3] = {-128, 0, 127};
    t2c_tensor x = {.dtype = T2C_INT8, .rank = 1, .dims = {3}, .data = x8};
    const t2c_attr a1[] = {A_FLOAT("scale", 0.5), A_INT("zero_point", 3)};
    dequant(&x, a1, NA(a1), out);
    assert_true(out[0] == -65.5f && out[1] == -1.5f && out[2] == 62.0f);
    /* binary32 product: 3 * 0.1f = 0x1.333334p-2, -7 * 0.1f = -0x1.666666p-1 */
    int8_t x2[2] = {3, -7};
    t2c_tensor xb = {.dtype = T2C_INT8, .rank = 1, .dims = {2}, .data = x2};
    const t2c_attr a2[] = {A_FLOAT("scale", 0.1)};
    dequant(&xb, a2, NA(a2), out);
    assert_true(out[0] == 0x1.333334p-2f);
    assert_true(out[1] == -0x1.666666p-1f);
    /* uint4 with zp 8, scale 0.25 */
    uint8_t x4[2] = {0, 15};
    t2c_tensor xq = {.dtype = T2C_UINT4, .rank = 1, .dims = {2}, .data = x4};
    const t2c_attr a3[] = {A_FLOAT("scale", 0.25), A_INT("zero_point", 8)};
    dequant(&xq, a3, NA(a3), out);
    assert_true(out[0] == -2.0f && out[1] == 1.75f);
    /* int32 rounds once to binary32 (ties to even): 2^24+1 -> 2^24, 2^24+3 -> 2^24+4 */
    int32_t x32[2] = {16777217, 16777219};
    t2c_tensor xi = {.dtype = T2C_INT32, .rank = 1, .dims = {2}, .data = x32};
    const t2c_attr a4[] = {A_FLOAT("scale", 1.0)};
    dequant(&xi, a4, NA(a4), out);
    assert_true(out[0] == 16777216.0f && out[1] == 16777220.0f);
    /* int64: x - zp is exact before the single rounding, even beyond int64:
     * INT64_MAX + 1 = 2^63, INT64_MIN + 1 -> -2^63 */
    int64_t x64[2] = {INT64_MAX, INT64_MIN};
    t2c_tensor xl = {.dtype = T2C_INT64, .rank = 1, .dims = {2}, .data = x64};
    const t2c_attr a5[] = {A_FLOAT("scale", 1.0), A_INT("zero_point", -1)};
    dequant(&xl, a5, NA(a5), out);
    assert_true(out[0] == 0x1p63f && out[1] == -0x1p63f);
}

static void test_dequantize_prepare(void **state)
{
    (void)state;
    int8_t buf[4] = {0};
    t2c_tensor x = {.dtype = T2C_INT4, .rank = 2, .dims = {1, 4}, .data = buf};
    t2c_tensor y8 = {.dtype = T2C_INT8}, yf = {.dtype = T2C_FLOAT32};
    t2c_dequantize_params p;
    t2c_error err = {0};
    const t2c_attr ok[] = {A_FLOAT("scale", 0.5), A_INT("zero_point", -8)};
    assert_int_equal(qprep(&t2c_op_dequantize, &x, &yf, ok, NA(ok), &p, &err), T2C_OK);
    assert_int_equal(yf.dims[1], 4);
    assert_int_not_equal(qprep(&t2c_op_dequantize, &x, &y8, ok, NA(ok), &p, &err), T2C_OK);
    assert_int_equal(err.status, T2C_ERR_DTYPE);
    const t2c_attr zp[] = {A_FLOAT("scale", 0.5), A_INT("zero_point", 8)};
    assert_int_equal(qprep(&t2c_op_dequantize, &x, &yf, zp, NA(zp), &p, &err), T2C_ERR_ATTR);
    const t2c_attr s0[] = {A_FLOAT("scale", 0.0)};
    assert_int_equal(qprep(&t2c_op_dequantize, &x, &yf, s0, NA(s0), &p, &err), T2C_ERR_ATTR);
    assert_int_equal(qprep(&t2c_op_dequantize, &x, &yf, NULL, 0, &p, &err), T2C_ERR_ATTR);
    t2c_tensor xf = {.dtype = T2C_FLOAT32, .rank = 1, .dims = {4}};
    assert_int_equal(qprep(&t2c_op_dequantize, &xf, &yf, ok, NA(ok), &p, &err), T2C_ERR_DTYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_ties_to_even),
        cmocka_unit_test(test_quantize_binary32),
        cmocka_unit_test(test_quantize_nan_inf_clamp),
        cmocka_unit_test(test_quantize_int4_uint4_int16),
        cmocka_unit_test(test_quantize_prepare),
        cmocka_unit_test(test_dequantize),
        cmocka_unit_test(test_dequantize_prepare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
