/* test_dw_simd.c — the depthwise conv2d SIMD variant (ops/conv2d_dw_simd.c) against the reference
 * kernel (ops/conv2d.c), alone and fused with a following requantize:
 *  - hand-worked planes whose outputs are asserted value by value;
 *  - random depthwise nodes: channels not multiples of 16/64, channel multipliers, kernels 1..5
 *    (3 and 5 often), horizontal stride 1/2, vertical 1..3, dilation 1/2, asymmetric padding,
 *    uint8/int8/uint4/int4 inputs, int8/int4 weights, zero points at the ends of the ranges,
 *    accumulator widths and overflow policies, batch 1..3, with 1 and 2 threads;
 *  - the fused epilogue under every rounding mode, per-channel and single parameters, with
 *    exported-style multipliers and with small ones where exact halves (ties) are frequent;
 *  - the channels-in-lanes path (planes up to 256 pixels, fused): channel counts around the
 *    16-lane blocks, 1x1 to 16x16 and odd planes, strides, dilation, the float64 epilogue with and
 *    without its clamp, wrapped accumulators, signed and unsigned outputs, against hand-worked
 *    values and the reference.
 * The variant must produce the reference's bytes; tests skip when the CPU lacks AVX-512 VNNI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conv2d.h"
#include "requantize.h"
#include "t2c.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"

static const char *const DW = "conv2d.simd-dw-avx512vnni";

#include "variant_test_scaffold.h"

/* ---------------------------------------------------------------- the variant */


static const t2c_kernel_variant *dw_variant(void) { return variant_named("conv2d", DW); }

static int have_vnni(void) { return t2c_simd_supported(T2C_SIMD_AVX512VNNI); }

/* Run the variant on the prepared conv node (1 or 2 threads); 0 when it declines the node. */
static int run_dw(tcase *c, int threads) { return variant_run(dw_variant(), &c->node, pools[threads], &c->tout); }

/* ---------------------------------------------------------------- hand-worked */

/* x uint8 [1,2,3,4] = 1..24, w 3x3: channel 0 all 1, channel 1 only the centre 2 and the corner
 * (0,0) = -1; pad 1 each side; x_zp 1, w_zp 0; bias {10, -5}. */
static void build_hand(tcase *c, int64_t stride)
{
    tc_init(c, "conv2d");
    const int64_t xd[4] = {1, 2, 3, 4}, wd[4] = {2, 1, 3, 3}, bd[1] = {2};
    t2c_tensor *x = tc_input(c, 0, T2C_UINT8, 4, xd, 0);
    t2c_tensor *w = tc_input(c, 1, T2C_INT8, 4, wd, 1);
    t2c_tensor *b = tc_input(c, 2, T2C_INT32, 1, bd, 1);
    for (int i = 0; i < 24; i++)
        ((uint8_t *)x->data)[i] = (uint8_t)(i + 1);
    int8_t *wv = w->data;
    for (int i = 0; i < 9; i++)
        wv[i] = 1;
    wv[9 + 4] = 2, wv[9 + 0] = -1;
    ((int32_t *)b->data)[0] = 10, ((int32_t *)b->data)[1] = -5;
    a_ints(c, "strides", 2, stride, stride, 0, 0);
    a_ints(c, "pads", 4, 1, 1, 1, 1);
    a_int(c, "group", 2);
    a_int(c, "x_zero_point", 1);
    assert_int_equal(tc_prepare(c, T2C_INT32), T2C_OK);
}

static void test_hand_worked(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    /* x - 1: channel 0 rows {0 1 2 3} {4 5 6 7} {8 9 10 11}; channel 1 the same plus 12.
     * channel 0, stride 1: box sums + 10; channel 1: 2*centre - up-left neighbour - 5 (the padding adds 0) */
    static const int32_t want1[24] = {
        10 + 10, 10 + 18, 10 + 24, 10 + 18,  10 + 27, 10 + 45, 10 + 54, 10 + 39,  10 + 26, 10 + 42, 10 + 48, 10 + 34,
        24 - 5, 26 - 5, 28 - 5, 30 - 5,  32 - 5 - 0, 34 - 5 - 12, 36 - 5 - 13, 38 - 5 - 14,
        40 - 5 - 0, 42 - 5 - 16, 44 - 5 - 17, 46 - 5 - 18};
    static const int32_t want2[8] = {10 + 10, 10 + 24, 10 + 26, 10 + 48, 24 - 5, 28 - 5, 40 - 5, 44 - 5 - 17};
    for (int threads = 1; threads <= 2; threads++)
        for (int64_t s = 1; s <= 2; s++) {
            tcase c;
            build_hand(&c, s);
            unsigned char *ref = run_ref(&c);
            assert_non_null(ref);
            assert_memory_equal(ref, s == 1 ? (const void *)want1 : (const void *)want2, out_bytes(&c));
            assert_true(run_dw(&c, threads));
            assert_memory_equal(c.tout.data, s == 1 ? (const void *)want1 : (const void *)want2, out_bytes(&c));
            free(ref);
            tc_free(&c);
        }
}

/* Fused, channels in lanes: 17 channels (a full block of 16 and one of 1) of 3x3 uint8 planes,
 * channel c all 2c + 1; all-one 3x3 weights, pad 1, zero points 0; requantize m = 1, shift 0 to
 * uint8: the box sums 4, 6 or 9 times 2c + 1 (corner, edge, centre), clamped at 255. */
static void test_hand_worked_lanes(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    for (int threads = 1; threads <= 2; threads++) {
        tcase c, q;
        tc_init(&c, "conv2d");
        const int64_t xd[4] = {1, 17, 3, 3}, wd[4] = {17, 1, 3, 3};
        t2c_tensor *x = tc_input(&c, 0, T2C_UINT8, 4, xd, 0), *w = tc_input(&c, 1, T2C_INT8, 4, wd, 1);
        for (int i = 0; i < 17 * 9; i++)
            ((uint8_t *)x->data)[i] = (uint8_t)(2 * (i / 9) + 1), ((int8_t *)w->data)[i] = 1;
        a_ints(&c, "pads", 4, 1, 1, 1, 1);
        a_int(&c, "group", 17);
        assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
        tc_init(&q, "requantize");
        q.pin[0] = &c.tout;
        q.node.n_inputs = 1;
        const int64_t one = 1, zero = 0;
        a_array(&q, "multiplier", 0, &one, 1);
        a_array(&q, "shift", 1, &zero, 1);
        assert_int_equal(tc_prepare(&q, T2C_UINT8), T2C_OK);
        assert_true(variant_run_fused(dw_variant(), &c, &q, pools[threads]));
        const uint8_t *y = q.tout.data;
        static const int k[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
        for (int ch = 0; ch < 17; ch++)
            for (int i = 0; i < 9; i++) {
                const int want = k[i] * (2 * ch + 1) > 255 ? 255 : k[i] * (2 * ch + 1);
                if (y[ch * 9 + i] != want)
                    fail_msg("%d threads: channel %d pixel %d is %d, want %d", threads, ch, i, y[ch * 9 + i], want);
            }
        assert_int_equal(y[4], 9), assert_int_equal(y[15 * 9 + 1], 186), assert_int_equal(y[16 * 9 + 4], 255);
        tc_free(&q);
        q.pin[0] = NULL;
        tc_free(&c);
    }
}

/* ---------------------------------------------------------------- random depthwise nodes */

static const t2c_dtype act_types[4] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4};

static void gen_dw(rng *r, tcase *c, int big)
{
    tc_init(c, "conv2d");
    const t2c_dtype xd = act_types[rin(r, 0, 3)], wd = chance(r, 50) ? T2C_INT8 : T2C_INT4;
    static const int64_t chans[8] = {1, 3, 15, 17, 33, 63, 65, 96};
    const int64_t C = chance(r, 50) ? chans[rin(r, 0, 7)] : rin(r, 1, big ? 70 : 24);
    const int64_t mult = chance(r, 80) ? 1 : rin(r, 2, 3);
    const int64_t KH = chance(r, 40) ? 3 : chance(r, 30) ? 5 : rin(r, 1, 5);
    const int64_t KW = chance(r, 70) ? KH : rin(r, 1, 5);
    const int64_t sw = chance(r, 50) ? 1 : 2, sh = chance(r, 85) ? sw : rin(r, 1, 3);
    const int64_t dh = chance(r, 75) ? 1 : 2, dw = chance(r, 75) ? 1 : 2;
    const int64_t pt = rin(r, 0, KH), pl = rin(r, 0, KW), pb = rin(r, 0, KH), pr = rin(r, 0, KW);
    int64_t H = dh * (KH - 1) + 1 - pt - pb, W = dw * (KW - 1) + 1 - pl - pr;
    H = (H < 1 ? 1 : H) + rin(r, 0, big ? 60 : 12), W = (W < 1 ? 1 : W) + rin(r, 0, big ? 120 : 40);
    const int64_t N = rin(r, 1, 3);
    const int64_t xd4[4] = {N, C, H, W}, wd4[4] = {C * mult, 1, KH, KW}, bd[1] = {C * mult};
    t2c_tensor *x = tc_input(c, 0, xd, 4, xd4, 0), *w = tc_input(c, 1, wd, 4, wd4, 1);
    for (int64_t i = 0; i < t2c_tensor_numel(x); i++)
        t2c_tensor_set_int(x, i, rval(r, xd));
    for (int64_t i = 0; i < t2c_tensor_numel(w); i++)
        t2c_tensor_set_int(w, i, rval(r, wd));
    if (chance(r, 70)) {
        t2c_tensor *b = tc_input(c, 2, T2C_INT32, 1, bd, 1);
        const int huge = chance(r, 10);
        for (int64_t i = 0; i < bd[0]; i++)
            ((int32_t *)b->data)[i] = huge ? (int32_t)rval(r, T2C_INT32) : (int32_t)rin(r, -(1 << 20), 1 << 20);
    }
    a_ints(c, "strides", 2, sh, sw, 0, 0);
    a_ints(c, "pads", 4, pt, pl, pb, pr);
    a_ints(c, "dilations", 2, dh, dw, 0, 0);
    a_int(c, "group", C);
    a_int(c, "x_zero_point", pick_zp_ends(r, xd));
    if (chance(r, 60))
        a_int(c, "w_zero_point", pick_zp_ends(r, wd));
    if (chance(r, 20)) {
        static const char *const pol[3] = {"error", "wrap", "saturate"};
        a_int(c, "acc_bits", rin(r, 8, 32));
        a_str(c, "overflow", pol[rin(r, 0, 2)]);
    }
}

static void test_random_dw(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    int ran = 0, strided = 0, dilated = 0, k5 = 0, batched = 0, wrapped = 0;
    for (uint64_t seed = 1; seed <= 1500; seed++) {
        rng r = {seed * 0x9E3779B97F4A7C15ULL + 7};
        tcase c;
        gen_dw(&r, &c, seed % 20 == 0);
        if (tc_prepare(&c, T2C_INT32) != T2C_OK) {
            tc_free(&c);
            continue;
        }
        if (variant_matches_ref(dw_variant(), &c, seed)) {
            const t2c_conv2d_params *p = c.node.params;
            ran++;
            strided += p->stride_w == 2;
            dilated += p->dilation_h > 1 || p->dilation_w > 1;
            k5 += c.tin[1].dims[2] == 5 && c.tin[1].dims[3] == 5;
            batched += c.tin[0].dims[0] > 1;
            wrapped += p->overflow == T2C_OVERFLOW_WRAP && p->acc_bits < 32;
        }
        tc_free(&c);
    }
    print_message("  %d nodes: %d stride 2, %d dilated, %d 5x5, %d batched, %d wrapped accumulators\n", ran,
                  strided, dilated, k5, batched, wrapped);
    assert_true(ran > 1000);
    assert_true(strided > 300 && dilated > 200 && k5 > 100 && batched > 500 && wrapped > 10);
}

/* The MobileNet-V2 shapes (3x3, pad 1, stride 1 and 2), uint8 in, int8 weights. */
static void test_mobilenet_shapes(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    static const int64_t shapes[][3] = {{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 2},
                                        {384, 14, 1}, {576, 14, 2}, {960, 7, 1}};
    for (int i = 0; i < 6 + 2; i++) {
        rng r = {(uint64_t)i * 77 + 5};
        tcase c;
        tc_init(&c, "conv2d");
        const int64_t C = shapes[i][0], S = shapes[i][1];
        const int64_t xd[4] = {i % 3 == 2 ? 2 : 1, C, S, S}, wd[4] = {C, 1, 3, 3}, bd[1] = {C};
        t2c_tensor *x = tc_input(&c, 0, T2C_UINT8, 4, xd, 0), *w = tc_input(&c, 1, T2C_INT8, 4, wd, 1);
        t2c_tensor *b = tc_input(&c, 2, T2C_INT32, 1, bd, 1);
        for (int64_t k = 0; k < t2c_tensor_numel(x); k++)
            ((uint8_t *)x->data)[k] = (uint8_t)rval(&r, T2C_UINT8);
        for (int64_t k = 0; k < t2c_tensor_numel(w); k++)
            ((int8_t *)w->data)[k] = (int8_t)rval(&r, T2C_INT8);
        for (int64_t k = 0; k < C; k++)
            ((int32_t *)b->data)[k] = (int32_t)rin(&r, -50000, 50000);
        a_ints(&c, "strides", 2, shapes[i][2], shapes[i][2], 0, 0);
        a_ints(&c, "pads", 4, 1, 1, 1, 1);
        a_int(&c, "group", C);
        a_int(&c, "x_zero_point", rin(&r, 0, 255));
        assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
        assert_true(variant_matches_ref(dw_variant(), &c, (uint64_t)i));
        tc_free(&c);
    }
}

/* ---------------------------------------------------------------- fused requantize */

static void test_fused_requantize(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    fused_random_run(dw_variant(), gen_dw, 3, 0, 600, 50);
}

static void test_fused_requantize_ties(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    fused_random_run(dw_variant(), gen_dw, 3, 1, 600, 50);
}

/* ---------------------------------------------------------------- channels in lanes */

/* A fused depthwise node on a small plane (the channels-in-lanes path: H * W <= 256, one channel
 * per group). kind: 0 exported-style multipliers (|q| small: no float64 clamp), 1 large q (the
 * clamp), 2 ties (small multipliers and shifts), 3 wrapped accumulators. */
static void gen_lanes(rng *r, tcase *c, int kind)
{
    tc_init(c, "conv2d");
    const t2c_dtype xd = act_types[rin(r, 0, 3)], wd = chance(r, 70) ? T2C_INT8 : T2C_INT4;
    static const int64_t chans[12] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 50, 64};
    static const int64_t planes[10][2] = {{1, 1}, {7, 7}, {14, 14}, {16, 16}, {5, 9}, {3, 40}, {17, 15}, {2, 1}, {9, 28}, {11, 13}};
    const int64_t C = chans[rin(r, 0, 11)];
    const int64_t KH = chance(r, 60) ? 3 : rin(r, 1, 5), KW = chance(r, 70) ? KH : rin(r, 1, 5);
    const int64_t sw = chance(r, 60) ? 1 : 2, sh = chance(r, 85) ? sw : rin(r, 1, 3);
    const int64_t dh = chance(r, 80) ? 1 : 2, dw = chance(r, 80) ? 1 : 2;
    const int64_t pt = rin(r, 0, KH / 2 + 1), pl = rin(r, 0, KW / 2 + 1), pb = rin(r, 0, KH / 2 + 1), pr = rin(r, 0, KW / 2 + 1);
    int64_t H = planes[rin(r, 0, 9)][0], W = planes[rin(r, 0, 9)][1];
    if (chance(r, 50))
        H = planes[rin(r, 0, 9)][0], W = H > 1 ? planes[rin(r, 0, 9)][1] : W;
    const int64_t mh = dh * (KH - 1) + 1 - pt - pb, mw = dw * (KW - 1) + 1 - pl - pr;
    H = H < mh ? mh : H, W = W < mw ? mw : W;
    while (H * W > 256)
        W > 1 ? W-- : H--;
    const int64_t N = rin(r, 1, 2);
    const int64_t xd4[4] = {N, C, H, W}, wd4[4] = {C, 1, KH, KW}, bd[1] = {C};
    t2c_tensor *x = tc_input(c, 0, xd, 4, xd4, 0), *w = tc_input(c, 1, wd, 4, wd4, 1);
    fill(r, x);
    fill(r, w);
    if (chance(r, 80)) {
        t2c_tensor *b = tc_input(c, 2, T2C_INT32, 1, bd, 1);
        for (int64_t i = 0; i < C; i++)
            ((int32_t *)b->data)[i] = (int32_t)rin(r, -(1 << 18), 1 << 18);
    }
    a_ints(c, "strides", 2, sh, sw, 0, 0);
    a_ints(c, "pads", 4, pt, pl, pb, pr);
    a_ints(c, "dilations", 2, dh, dw, 0, 0);
    a_int(c, "group", C);
    a_int(c, "x_zero_point", pick_zp_ends(r, xd));
    if (chance(r, 50))
        a_int(c, "w_zero_point", pick_zp_ends(r, wd));
    if (kind == 3) {
        a_int(c, "acc_bits", rin(r, 10, 24));
        a_str(c, "overflow", "wrap");
    }
}

static void test_lanes_fused(void **state)
{
    (void)state;
    if (!have_vnni())
        skip();
    int runs = 0, kinds[4] = {0}, modes[5] = {0}, partial = 0, tiny = 0, strided = 0, signed_out = 0;
    for (uint64_t seed = 1; seed <= 900; seed++) {
        rng r = {seed * 0x94D049BB133111EBULL + 11};
        const int kind = (int)(seed % 4), mode = (int)(seed / 4 % 5);
        tcase c, q;
        gen_lanes(&r, &c, kind);
        if (tc_prepare(&c, T2C_INT32) != T2C_OK) {
            tc_free(&c);
            continue;
        }
        unsigned char *cref = run_ref(&c); /* c.tout: the requantize reference's input */
        if (!cref) {
            tc_free(&c);
            continue;
        }
        free(cref);
        tc_init(&q, "requantize");
        q.pin[0] = &c.tout;
        q.node.n_inputs = 1;
        a_str(&q, "rounding", rounding_mode_names[mode]);
        const int64_t C = chance(&r, 80) ? c.tout.dims[1] : 1;
        int64_t *arr[3];
        for (int k = 0; k < 3; k++)
            arr[k] = malloc(sizeof(int64_t) * (size_t)C);
        const int zoff = chance(&r, 50); /* no offsets: the B = 0 epilogue (half_even, floor) */
        for (int64_t i = 0; i < C; i++) {
            if (kind == 2) {
                fused_params(&r, mode, 1, &arr[0][i], &arr[1][i], &arr[2][i]);
                continue;
            }
            arr[0][i] = kind == 1 ? rin(&r, 1 << 28, INT32_MAX) : rin(&r, 1 << 29, 1 << 30);
            arr[0][i] = mode != 4 && chance(&r, 30) ? -arr[0][i] : arr[0][i];
            arr[1][i] = kind == 1 ? rin(&r, 0, 6) : rin(&r, 30, 40);
            arr[2][i] = mode == 4 || zoff ? 0 : rin(&r, -((int64_t)1 << 36), (int64_t)1 << 36);
        }
        a_array(&q, "multiplier", 0, arr[0], C);
        a_array(&q, "shift", 1, arr[1], C);
        a_array(&q, "offset", 2, arr[2], C);
        for (int k = 0; k < 3; k++)
            free(arr[k]);
        static const t2c_dtype od[4] = {T2C_UINT8, T2C_INT8, T2C_UINT4, T2C_INT4};
        const t2c_dtype y = od[rin(&r, 0, 3)];
        const int64_t zp = rval(&r, y);
        a_int(&q, "zero_point", zp);
        const int64_t lo = chance(&r, 50) ? zp : t2c_dtype_min(y) + rin(&r, 0, 3); /* ReLU-style */
        const int64_t hi = t2c_dtype_max(y) - rin(&r, 0, 3);
        if (chance(&r, 50))
            a_int(&q, "lo", lo);
        if (chance(&r, 30) && hi >= lo)
            a_int(&q, "hi", hi);
        t2c_error err = {0};
        const t2c_status st = tc_prepare(&q, y);
        if (st != T2C_OK)
            fail_msg("seed %llu: requantize: %s", (unsigned long long)seed, t2c_strerror(st));
        assert_int_equal(q.def->run(&q.node, NULL, &err), T2C_OK);
        const size_t nb = out_bytes(&q);
        unsigned char *want = malloc(nb);
        memcpy(want, q.tout.data, nb);
        for (int threads = 1; threads <= 2; threads++) {
            if (!variant_run_fused(dw_variant(), &c, &q, pools[threads]))
                break;
            if (memcmp(q.tout.data, want, nb) != 0)
                for (size_t k = 0; k < nb; k++)
                    if (((unsigned char *)q.tout.data)[k] != want[k])
                        fail_msg("seed %llu (kind %d, %s), %d threads: byte %zu is %d, the reference %d",
                                 (unsigned long long)seed, kind, rounding_mode_names[mode], threads, k,
                                 ((unsigned char *)q.tout.data)[k], want[k]);
            if (threads == 1) {
                runs++, kinds[kind]++, modes[mode]++;
                partial += c.tin[0].dims[1] % 16 != 0;
                tiny += c.tin[0].dims[2] * c.tin[0].dims[3] <= 3;
                strided += ((const t2c_conv2d_params *)c.node.params)->stride_w == 2;
                signed_out += y == T2C_INT8 || y == T2C_INT4;
            }
        }
        free(want);
        tc_free(&q);
        q.pin[0] = NULL;
        tc_free(&c);
    }
    print_message("  %d fused small-plane runs (kinds %d %d %d %d): %d partial blocks, %d planes <= 3 pixels, "
                  "%d stride 2, %d signed outputs\n", runs, kinds[0], kinds[1], kinds[2], kinds[3], partial, tiny,
                  strided, signed_out);
    assert_true(runs > 700);
    for (int k = 0; k < 4; k++)
        assert_true(kinds[k] > 120);
    for (int m = 0; m < 5; m++)
        assert_true(modes[m] > 100);
    assert_true(partial > 300 && tiny > 20 && strided > 200 && signed_out > 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked),
        cmocka_unit_test(test_hand_worked_lanes),
        cmocka_unit_test(test_lanes_fused),
        cmocka_unit_test(test_random_dw),
        cmocka_unit_test(test_mobilenet_shapes),
        cmocka_unit_test(test_fused_requantize),
        cmocka_unit_test(test_fused_requantize_ties),
    };
    return cmocka_run_group_tests(tests, pools_setup, pools_teardown);
}
