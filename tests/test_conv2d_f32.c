/* test_conv2d_f32.c — conv2d_f32: binary64 accumulation, one rounding to binary32 (ops/README.md). */
#include "conv2d_f32.h"
#include "f32_op_scaffold.h"

static t2c_status conv(t2c_tensor *x, t2c_tensor *w, t2c_tensor *b, t2c_tensor *y, const t2c_attr *a, int na,
                       t2c_error *err)
{
    t2c_conv2d_f32_params p;
    t2c_tensor *ins[3] = {x, w, b};
    return op_call(&t2c_op_conv2d_f32, ins, b ? 3 : 2, y, a, na, &p, 1, err);
}

/* 1x1 conv over 3 channels: 1 + 2^-24 + 2^-24. A binary32 running sum rounds 1 + 2^-24 (a tie) to
 * 1.0 twice and ends at 1.0; the recipe sums exactly in binary64 (1 + 2^-23) and rounds once. */
static void test_single_final_rounding(void **state)
{
    (void)state;
    float xv[3] = {1.0f, 0x1p-24f, 0x1p-24f};
    int8_t wv[3] = {1, 1, 1};
    float yv[1];
    const int64_t dx[] = {1, 3, 1, 1}, dw[] = {1, 3, 1, 1};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 4, dx), w = make_tensor(T2C_INT8, wv, 4, dw);
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(conv(&x, &w, NULL, &y, NULL, 0, &err), T2C_OK);
    assert_int_equal(y.rank, 4);
    assert_float_bits(yv[0], 1.0f + 0x1p-23f);
    /* ties at the final rounding go to even: 1 + 2^-24 -> 1; (1 + 2^-23) + 2^-24 -> 1 + 2^-22 */
    float x2[3] = {1.0f, 0x1p-24f, 0.0f};
    x.data = x2;
    assert_int_equal(conv(&x, &w, NULL, &y, NULL, 0, &err), T2C_OK);
    assert_float_bits(yv[0], 1.0f);
    float x3[3] = {1.0f + 0x1p-23f, 0x1p-24f, -0.0f};
    x.data = x3;
    assert_int_equal(conv(&x, &w, NULL, &y, NULL, 0, &err), T2C_OK);
    assert_float_bits(yv[0], 1.0f + 0x1p-22f);
}

/* 3x3 input, 3x3 kernel, stride 2, pads 1: a 2x2 output; padded taps are skipped. Weights
 * -128..127 and a float bias; every value is exact here, so the results are plain sums. */
static void test_stride_pad_bias(void **state)
{
    (void)state;
    float xv[9] = {1.5f, -2.0f, 0.25f, /**/ 4.0f, -0.5f, 3.0f, /**/ -1.0f, 2.0f, 0.75f};
    int8_t wv[9] = {1, -1, 2, /**/ 0, 127, -128, /**/ 3, 1, -2};
    float bv[1] = {0.5f};
    float yv[4];
    const int64_t dx[] = {1, 1, 3, 3}, dw[] = {1, 1, 3, 3}, db[] = {1};
    t2c_tensor x = make_tensor(T2C_FLOAT32, xv, 4, dx), w = make_tensor(T2C_INT8, wv, 4, dw);
    t2c_tensor b = make_tensor(T2C_FLOAT32, bv, 1, db), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    static const int64_t strides[] = {2, 2}, pads[] = {1, 1, 1, 1};
    t2c_attr a[] = {ATTR_INTS("strides", strides), ATTR_INTS("pads", pads)};
    t2c_error err;
    assert_int_equal(conv(&x, &w, &b, &y, a, N_OF(a), &err), T2C_OK);
    const int64_t want_dims[] = {1, 1, 2, 2};
    for (int i = 0; i < 4; i++)
        assert_int_equal(y.dims[i], want_dims[i]);
    /* (0,0): taps (kh,kw) = (1,1) x[0,0]=1.5*127, (1,2) x[0,1]=-2*-128, (2,1) x[1,0]=4*1, (2,2) x[1,1]=-0.5*-2
     *        = 190.5 + 256 + 4 + 1 = 451.5, + 0.5 = 452 */
    /* (0,1): (1,0) x[0,1]=-2*0, (1,1) x[0,2]=0.25*127, (2,0) x[1,1]=-0.5*3, (2,1) x[1,2]=3*1
     *        = 0 + 31.75 - 1.5 + 3 = 33.25, + 0.5 = 33.75 */
    /* (1,0): (0,1) x[1,0]=4*-1, (0,2) x[1,1]=-0.5*2, (1,1) x[2,0]=-1*127, (1,2) x[2,1]=2*-128
     *        = -4 - 1 - 127 - 256 = -388, + 0.5 = -387.5 */
    /* (1,1): (0,0) x[1,1]=-0.5*1, (0,1) x[1,2]=3*-1, (1,0) x[2,1]=2*0, (1,1) x[2,2]=0.75*127
     *        = -0.5 - 3 + 0 + 95.25 = 91.75, + 0.5 = 92.25 */
    const float want[4] = {452.0f, 33.75f, -387.5f, 92.25f};
    assert_floats(yv, want, 4);
}

/* uint8 activations with a float bias (Torch2Chip's VGG conv): the exact sum 2^24 + 1 rounds to
 * 2^24 and 2^24 + 3 to 2^24 + 4 (ties to even; the binary32 spacing is 2 there). */
static void test_uint8_input_float_bias(void **state)
{
    (void)state;
    uint8_t xv[2] = {1, 0};
    int8_t wv[2] = {1, 1}; /* acc = 1 */
    float bv[1] = {16777216.0f};
    float yv[1];
    const int64_t dx[] = {1, 2, 1, 1}, dw[] = {1, 2, 1, 1}, db[] = {1};
    t2c_tensor x = make_tensor(T2C_UINT8, xv, 4, dx), w = make_tensor(T2C_INT8, wv, 4, dw);
    t2c_tensor b = make_tensor(T2C_FLOAT32, bv, 1, db), y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    assert_int_equal(conv(&x, &w, &b, &y, NULL, 0, &err), T2C_OK);
    assert_float_bits(yv[0], 16777216.0f);
    xv[0] = 255, xv[1] = 3;
    wv[0] = 1, wv[1] = -84; /* 255 - 252 = 3 */
    assert_int_equal(conv(&x, &w, &b, &y, NULL, 0, &err), T2C_OK);
    assert_float_bits(yv[0], 16777220.0f);
    /* without bias: the exact integer 255*127 + 255*127 = 64770 */
    wv[0] = 127, wv[1] = 127;
    xv[1] = 255;
    assert_int_equal(conv(&x, &w, NULL, &y, NULL, 0, &err), T2C_OK);
    assert_float_bits(yv[0], 64770.0f);
}

/* Depthwise (group = Cin = Cout = 2), int4 weights -8..7, int8 input -128..127. */
static void test_depthwise_int4(void **state)
{
    (void)state;
    int8_t xv[8] = {-128, 127, 5, -3, /**/ 10, 20, -30, 40}; /* 2 channels, 2x2 */
    int8_t wv[8] = {-8, 7, 1, 0, /**/ 2, -1, 0, 7};          /* [2, 1, 2, 2] */
    float yv[2];
    const int64_t dx[] = {1, 2, 2, 2}, dw[] = {2, 1, 2, 2};
    t2c_tensor x = make_tensor(T2C_INT8, xv, 4, dx), w = make_tensor(T2C_INT4, wv, 4, dw);
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_attr a[] = {ATTR_I("group", 2)};
    t2c_error err;
    assert_int_equal(conv(&x, &w, NULL, &y, a, N_OF(a), &err), T2C_OK);
    /* c0: 1024 + 889 + 5 + 0 = 1918; c1: 20 - 20 + 0 + 280 = 280 */
    const float want[2] = {1918.0f, 280.0f};
    assert_floats(yv, want, 2);
}

static void test_prepare_errors(void **state)
{
    (void)state;
    int32_t i32[4] = {0};
    float f[4] = {0};
    int8_t w8[4] = {0};
    float yv[4];
    const int64_t dx[] = {1, 1, 2, 2}, dw[] = {1, 1, 1, 1}, db[] = {1}, db2[] = {2};
    t2c_tensor y = make_tensor(T2C_FLOAT32, yv, 0, NULL);
    t2c_error err;
    t2c_tensor x = make_tensor(T2C_INT32, i32, 4, dx), w = make_tensor(T2C_INT8, w8, 4, dw);
    assert_int_equal(conv(&x, &w, NULL, &y, NULL, 0, &err), T2C_ERR_DTYPE);
    assert_non_null(strstr(err.message, "input dtype int32"));
    x = make_tensor(T2C_FLOAT32, f, 4, dx);
    t2c_tensor bi = make_tensor(T2C_INT32, i32, 1, db);
    assert_int_equal(conv(&x, &w, &bi, &y, NULL, 0, &err), T2C_ERR_DTYPE);
    assert_non_null(strstr(err.message, "bias dtype int32"));
    t2c_tensor b2 = make_tensor(T2C_FLOAT32, f, 1, db2);
    assert_int_equal(conv(&x, &w, &b2, &y, NULL, 0, &err), T2C_ERR_SHAPE);
    t2c_tensor wf = make_tensor(T2C_FLOAT32, f, 4, dw);
    assert_int_equal(conv(&x, &wf, NULL, &y, NULL, 0, &err), T2C_ERR_DTYPE);
    t2c_attr g[] = {ATTR_I("group", 2)};
    assert_int_equal(conv(&x, &w, NULL, &y, g, 1, &err), T2C_ERR_ATTR);
    const int64_t dwb[] = {1, 1, 3, 3};
    int8_t w9[9] = {0};
    t2c_tensor w3 = make_tensor(T2C_INT8, w9, 4, dwb);
    assert_int_equal(conv(&x, &w3, NULL, &y, NULL, 0, &err), T2C_ERR_SHAPE);
    t2c_tensor yi = make_tensor(T2C_INT32, i32, 0, NULL);
    assert_int_equal(conv(&x, &w, NULL, &yi, NULL, 0, &err), T2C_ERR_DTYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_final_rounding), cmocka_unit_test(test_stride_pad_bias),
        cmocka_unit_test(test_uint8_input_float_bias), cmocka_unit_test(test_depthwise_int4),
        cmocka_unit_test(test_prepare_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
