/* test_preprocess.c — image pipeline steps on hand-worked cases (engine/preprocess.h).
 * Bit-exactness against PIL/torchvision on random images: tests/python/test_py_preprocess.py. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "preprocess.h"

static t2c_image make_image(int w, int h, int ch, const uint8_t *px)
{
    t2c_image img;
    t2c_error err;
    assert_int_equal(t2c_image_alloc(w, h, ch, &img, &err), T2C_OK);
    memcpy(img.data, px, (size_t)w * h * ch);
    return img;
}

static void resize_expect(int w, int h, int ch, const uint8_t *px, int ow, int oh,
                          const uint8_t *expect)
{
    t2c_image in = make_image(w, h, ch, px), out;
    t2c_error err;
    assert_int_equal(t2c_image_resize_bilinear(&in, ow, oh, &out, &err), T2C_OK);
    assert_int_equal(out.width, ow);
    assert_int_equal(out.height, oh);
    assert_int_equal(out.channels, ch);
    assert_memory_equal(out.data, expect, (size_t)ow * oh * ch);
    t2c_image_free(&in);
    t2c_image_free(&out);
}

/* 2x2 -> 1x1: each pass weights its two inputs 0.75/0.75 -> 1/2 each (support widened to 2).
 * Rows: (10+20)/2 = 15, (30+41)/2 = 35.5 -> 36 (half up); column (15+36)/2 = 25.5 -> 26.
 * A one-step 2-D average would give 25.25 -> 25: the uint8 intermediate matters. */
static void test_resize_2x2_to_1x1(void **state)
{
    (void)state;
    const uint8_t px[] = {10, 20, 30, 41};
    const uint8_t expect[] = {26};
    resize_expect(2, 2, 1, px, 1, 1, expect);
}

/* Upscale 2 -> 4 (height unchanged: no vertical pass). Centers 0.25, 0.75, 1.25, 1.75;
 * weights (0.75, 0.25) in the middle: 100·0.25 = 25 (+0.5, floor) = 25; 255·0.25 = 63.75 -> 64,
 * 255·0.75 = 191.25 -> 191; the border outputs see one input only. */
static void test_resize_upscale_row(void **state)
{
    (void)state;
    const uint8_t a[] = {0, 100}, ea[] = {0, 25, 75, 100};
    resize_expect(2, 1, 1, a, 4, 1, ea);
    const uint8_t b[] = {0, 255}, eb[] = {0, 64, 191, 255};
    resize_expect(2, 1, 1, b, 4, 1, eb);
}

/* Downscale 3 -> 1: support 3, center 1.5, taps at (x - 1.5 + 0.5)/3 = -1/3, 0, 1/3 ->
 * weights 2/3, 1, 2/3, normalised 2/7, 3/7, 2/7: 90·3/7 + 255·2/7 = 111.43 -> 111.
 * The same along a column (vertical pass only). */
static void test_resize_downscale_3_to_1(void **state)
{
    (void)state;
    const uint8_t px[] = {0, 90, 255}, expect[] = {111};
    resize_expect(3, 1, 1, px, 1, 1, expect);
    resize_expect(1, 3, 1, px, 1, 1, expect);
}

/* 3 -> 2: centers 0.75 and 2.25, support 1.5: [0, 90, 255] -> [34, 193] (PIL gives the same). */
static void test_resize_3_to_2_rgb(void **state)
{
    (void)state;
    /* Three channels resampled independently: R = [0,90,255], G = 7 everywhere, B reversed. */
    const uint8_t px[] = {0, 7, 255, 90, 7, 90, 255, 7, 0};
    const uint8_t expect[] = {34, 7, 193, 193, 7, 34};
    resize_expect(3, 1, 3, px, 2, 1, expect);
}

static void test_resize_identity_and_bad_args(void **state)
{
    (void)state;
    const uint8_t px[] = {1, 2, 3, 4, 5, 6};
    resize_expect(3, 2, 1, px, 3, 2, px);
    t2c_image in = make_image(3, 2, 1, px), out;
    t2c_error err;
    assert_int_equal(t2c_image_resize_bilinear(&in, 0, 2, &out, &err), T2C_ERR_INVALID_ARG);
    assert_null(out.data);
    t2c_image_free(&in);
}

/* Pillow's L24: (R·19595 + G·38470 + B·7471 + 32768) >> 16. Pure red 76.7 -> 76, green
 * 150.2 -> 150, blue 29.6 -> 29. (9,230,7) gives 139 and (12,20,98) 26, where rounding
 * R·299/1000 + ... would give 138 and 27. */
static void test_luma(void **state)
{
    (void)state;
    assert_int_equal(t2c_luma601(255, 0, 0), 76);
    assert_int_equal(t2c_luma601(0, 255, 0), 150);
    assert_int_equal(t2c_luma601(0, 0, 255), 29);
    assert_int_equal(t2c_luma601(255, 255, 255), 255);
    assert_int_equal(t2c_luma601(0, 0, 0), 0);
    assert_int_equal(t2c_luma601(1, 1, 1), 1);
    assert_int_equal(t2c_luma601(9, 230, 7), 139);
    assert_int_equal(t2c_luma601(12, 20, 98), 26);

    const uint8_t rgb[] = {255, 0, 0, 9, 230, 7};
    t2c_image in = make_image(2, 1, 3, rgb), g, back;
    t2c_error err;
    assert_int_equal(t2c_image_convert(&in, 1, &g, &err), T2C_OK);
    assert_int_equal(g.channels, 1);
    assert_int_equal(g.data[0], 76);
    assert_int_equal(g.data[1], 139);
    assert_int_equal(t2c_image_convert(&g, 3, &back, &err), T2C_OK);
    const uint8_t rep[] = {76, 76, 76, 139, 139, 139};
    assert_memory_equal(back.data, rep, 6);
    t2c_image_free(&in);
    t2c_image_free(&g);
    t2c_image_free(&back);
}

/* torchvision: top = int(round((h - th) / 2.0)) with Python's half-to-even rounding. */
static void test_crop_offsets(void **state)
{
    (void)state;
    int l, t;
    t2c_center_crop_offsets(5, 7, 2, 2, &l, &t); /* 1.5 -> 2; 2.5 -> 2 */
    assert_int_equal(l, 2);
    assert_int_equal(t, 2);
    t2c_center_crop_offsets(3, 9, 2, 2, &l, &t); /* 0.5 -> 0; 3.5 -> 4 */
    assert_int_equal(l, 0);
    assert_int_equal(t, 4);
    t2c_center_crop_offsets(256, 341, 224, 224, &l, &t); /* 16; 58.5 -> 58 */
    assert_int_equal(l, 16);
    assert_int_equal(t, 58);
    t2c_center_crop_offsets(4, 4, 4, 4, &l, &t);
    assert_int_equal(l, 0);
    assert_int_equal(t, 0);
    /* Too small: pad (crop - side) // 2 before: 2 -> 5 pads 1 before, 2 after. */
    t2c_center_crop_offsets(2, 1, 5, 4, &l, &t);
    assert_int_equal(l, -1);
    assert_int_equal(t, -1);
}

static void test_crop_pixels_and_padding(void **state)
{
    (void)state;
    /* 5x3 gray, value = 10·y + x. Crop 2x2: left round(1.5) = 2, top round(0.5) = 0. */
    uint8_t px[15];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            px[y * 5 + x] = (uint8_t)(10 * y + x);
    t2c_image in = make_image(5, 3, 1, px), out;
    t2c_error err;
    assert_int_equal(t2c_image_center_crop(&in, 2, 2, &out, &err), T2C_OK);
    const uint8_t e1[] = {2, 3, 12, 13};
    assert_memory_equal(out.data, e1, 4);
    t2c_image_free(&out);
    /* Crop 7 wide, 1 high: pad 1 left and 1 right; top round(1.0) = 1. */
    assert_int_equal(t2c_image_center_crop(&in, 7, 1, &out, &err), T2C_OK);
    const uint8_t e2[] = {0, 10, 11, 12, 13, 14, 0};
    assert_memory_equal(out.data, e2, 7);
    t2c_image_free(&out);
    t2c_image_free(&in);
}

static void test_shorter_dims(void **state)
{
    (void)state;
    int w, h;
    t2c_resize_shorter_dims(500, 375, 256, &w, &h); /* int(256·500/375 = 341.33) */
    assert_int_equal(w, 341);
    assert_int_equal(h, 256);
    t2c_resize_shorter_dims(375, 500, 256, &w, &h);
    assert_int_equal(w, 256);
    assert_int_equal(h, 341);
    t2c_resize_shorter_dims(300, 300, 256, &w, &h);
    assert_int_equal(w, 256);
    assert_int_equal(h, 256);
    t2c_resize_shorter_dims(256, 512, 256, &w, &h);
    assert_int_equal(w, 256);
    assert_int_equal(h, 512);
    t2c_resize_shorter_dims(3, 1000, 2, &w, &h); /* 666.67 -> 666 */
    assert_int_equal(w, 2);
    assert_int_equal(h, 666);
}

static t2c_preprocess gray_pp(void)
{
    t2c_preprocess pp;
    memset(&pp, 0, sizeof pp);
    pp.channels = 1;
    pp.mean[0] = 0.0f;
    pp.std[0] = 1.0f;
    pp.dtype = T2C_INT8;
    pp.scale = 0.5f;
    pp.zero_point = 3;
    pp.lo = -128;
    pp.hi = 127;
    return pp;
}

/* quantize: r = nearbyint(x / 0.5) ties to even, + 3, clamp to int8. */
static void test_quantize_one(void **state)
{
    (void)state;
    t2c_preprocess pp = gray_pp();
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 0.25f), 3);   /* 0.5 -> 0 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 0.75f), 5);   /* 1.5 -> 2 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 1.25f), 5);   /* 2.5 -> 2 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -0.25f), 3);  /* -0.5 -> 0 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -0.75f), 1);  /* -1.5 -> -2 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 62.0f), 127); /* 124 + 3 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 62.5f), 127); /* 128 clamps */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -65.5f), -128);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -65.0f), -127); /* -130 + 3 */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, NAN), 3);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, INFINITY), 127);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -INFINITY), -128);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 1e30f), 127);
    /* int4: -8..7 */
    pp.dtype = T2C_INT4;
    pp.lo = -8;
    pp.hi = 7;
    pp.zero_point = 0;
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 3.5f), 7);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 3.75f), 7); /* 7.5 -> 8, clamps */
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -4.0f), -8);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -4.25f), -8); /* -8.5 -> -8 */
    /* uint8 with zero point 128 */
    pp.dtype = T2C_UINT8;
    pp.lo = 0;
    pp.hi = 255;
    pp.zero_point = 128;
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -64.0f), 0);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, -64.5f), 0);
    assert_int_equal(t2c_preprocess_quantize_one(&pp, 63.5f), 255);
}

/* ToTensor + Normalize in float32. */
static void test_normalize(void **state)
{
    (void)state;
    t2c_preprocess pp = gray_pp();
    const uint8_t px[] = {0, 51, 255};
    t2c_image img = make_image(3, 1, 1, px);
    float out[3];
    t2c_preprocess_normalize(&pp, &img, out);
    assert_true(out[0] == 0.0f);
    assert_true(out[1] == 0.2f); /* 51/255 = 0.2 exactly: the float nearest 0.2 */
    assert_true(out[2] == 1.0f);
    pp.mean[0] = 0.5f;
    pp.std[0] = 0.5f;
    t2c_preprocess_normalize(&pp, &img, out);
    assert_true(out[0] == -1.0f);
    assert_true(out[2] == 1.0f);
    t2c_image_free(&img);

    /* CHW order from interleaved RGB, per-channel mean/std. */
    t2c_preprocess p3 = gray_pp();
    p3.channels = 3;
    for (int c = 0; c < 3; c++) {
        p3.mean[c] = 0.0f;
        p3.std[c] = (float)(c + 1);
    }
    p3.std[2] = 0.25f;
    const uint8_t rgb[] = {255, 255, 255, 0, 0, 255};
    t2c_image im3 = make_image(2, 1, 3, rgb);
    float o3[6];
    t2c_preprocess_normalize(&p3, &im3, o3);
    const float e3[] = {1.0f, 0.0f, 0.5f, 0.0f, 4.0f, 4.0f};
    for (int i = 0; i < 6; i++)
        assert_true(o3[i] == e3[i]);
    t2c_image_free(&im3);
}

/* Whole pipeline into an int8 tensor: 2x2 gray -> resize to 1 -> 1x1, into a batch of 2. */
static void test_pipeline_to_tensor(void **state)
{
    (void)state;
    t2c_preprocess pp = gray_pp();
    pp.resize = 1;
    pp.width = 1;
    pp.height = 1;
    pp.scale = 0.125f;
    pp.zero_point = -100;
    const uint8_t pa[] = {10, 20, 30, 41}, pb[] = {255, 255, 255, 255};
    t2c_image a = make_image(2, 2, 1, pa), b = make_image(2, 2, 1, pb);
    int8_t data[2] = {0, 0};
    t2c_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "x";
    t.dtype = T2C_INT8;
    t.rank = 4;
    t.dims[0] = 2;
    t.dims[1] = 1;
    t.dims[2] = 1;
    t.dims[3] = 1;
    t.data = data;
    t2c_error err;
    /* a -> 26 (the 2x2 case above): 26/255 · 8 = 0.816 -> 1, - 100 = -99. */
    assert_int_equal(t2c_preprocess_to_tensor(&pp, &a, "a.png", &t, 1, &err), T2C_OK);
    assert_int_equal(data[0], 0);
    assert_int_equal(data[1], -99);
    /* b -> 255: 1.0 · 8 = 8 -> -92. */
    assert_int_equal(t2c_preprocess_to_tensor(&pp, &b, "b.png", &t, 0, &err), T2C_OK);
    assert_int_equal(data[0], -92);
    assert_int_equal(data[1], -99);
    /* Wrong size without resize: a shape error naming the file and the size. */
    pp.resize = 0;
    assert_int_equal(t2c_preprocess_to_tensor(&pp, &a, "a.png", &t, 0, &err), T2C_ERR_SHAPE);
    assert_non_null(strstr(err.message, "a.png"));
    assert_non_null(strstr(err.message, "2x2"));
    /* Index outside the batch. */
    pp.resize = 1;
    assert_int_equal(t2c_preprocess_to_tensor(&pp, &a, "a.png", &t, 2, &err),
                     T2C_ERR_INVALID_ARG);
    t2c_image_free(&a);
    t2c_image_free(&b);
}

/* Decoding from memory: binary PGM/PPM are the simplest formats stb_image reads. */
static void test_load_buffer(void **state)
{
    (void)state;
    const char pgm[] = "P5 3 1 255\n\x01\x80\xff";
    t2c_image img;
    t2c_error err;
    assert_int_equal(t2c_image_load_buffer(pgm, sizeof pgm - 1, "g.pgm", &img, &err), T2C_OK);
    assert_int_equal(img.width, 3);
    assert_int_equal(img.height, 1);
    assert_int_equal(img.channels, 1);
    const uint8_t eg[] = {1, 128, 255};
    assert_memory_equal(img.data, eg, 3);
    t2c_image_free(&img);

    const char ppm[] = "P6 1 2 255\n\x0a\x14\x1e\xff\x00\x7f";
    assert_int_equal(t2c_image_load_buffer(ppm, sizeof ppm - 1, "c.ppm", &img, &err), T2C_OK);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.height, 2);
    const uint8_t ec[] = {10, 20, 30, 255, 0, 127};
    assert_memory_equal(img.data, ec, 6);
    t2c_image_free(&img);
}

static void test_load_errors(void **state)
{
    (void)state;
    t2c_image img;
    t2c_error err;
    assert_int_equal(t2c_image_load_file("/nonexistent/dir/x.png", &img, &err), T2C_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/x.png"));
    assert_null(img.data);

    const char junk[] = "this is not an image at all";
    assert_int_equal(t2c_image_load_buffer(junk, sizeof junk, "junk.png", &img, &err),
                     T2C_ERR_FORMAT);
    assert_int_equal(strncmp(err.message, "junk.png: ", 10), 0);
    assert_null(strchr(err.message, '\n'));

    /* A PNG signature followed by garbage. */
    const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                 'I', 'H', 'D', 'R', 0, 0, 0, 2, 0, 0, 0, 2, 8, 2};
    assert_int_equal(t2c_image_load_buffer(png, sizeof png, "cut.png", &img, &err),
                     T2C_ERR_FORMAT);
    assert_non_null(strstr(err.message, "cut.png"));

    assert_int_equal(t2c_image_load_buffer(NULL, 0, "e.png", &img, &err), T2C_ERR_FORMAT);

    /* Declared 70000 wide: over T2C_IMAGE_MAX_SIDE, rejected before decoding. */
    const char big[] = "P5 70000 1 255\n";
    assert_int_equal(t2c_image_load_buffer(big, sizeof big - 1, "big.pgm", &img, &err),
                     T2C_ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_2x2_to_1x1),
        cmocka_unit_test(test_resize_upscale_row),
        cmocka_unit_test(test_resize_downscale_3_to_1),
        cmocka_unit_test(test_resize_3_to_2_rgb),
        cmocka_unit_test(test_resize_identity_and_bad_args),
        cmocka_unit_test(test_luma),
        cmocka_unit_test(test_crop_offsets),
        cmocka_unit_test(test_crop_pixels_and_padding),
        cmocka_unit_test(test_shorter_dims),
        cmocka_unit_test(test_quantize_one),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_pipeline_to_tensor),
        cmocka_unit_test(test_load_buffer),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
