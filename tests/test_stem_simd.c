/* test_stem_simd.c — the few-input-channel conv2d SIMD variant (ops/conv2d_stem_simd.c) against
 * the reference kernel (ops/conv2d.c), alone and fused with a following requantize:
 *  - a hand-worked conv whose outputs are asserted value by value;
 *  - random nodes: 1..4 input channels, 1..70 output channels (not multiples of 8), kernels
 *    1..13 (7x7 often), horizontal stride 1..4, vertical 1..3, dilation 1/2, asymmetric padding,
 *    odd sizes, uint8/int8/uint4/int4 inputs, int8/int4 weights, zero points at the ends of the
 *    ranges (weight zero points folded into int4 weights), accumulator widths and overflow
 *    policies, batch 1..3, with 1 and 2 threads;
 *  - the ResNet stem (3 -> 64, 7x7, stride 2, pad 3, 224x224);
 *  - the fused epilogue under every rounding mode, per-channel and single parameters, with
 *    exported-style multipliers and with small ones where exact halves (ties) are frequent, and
 *    the ResNet stem fused as exported (the epilogue's constant fast case).
 * The variant must produce the reference's bytes; tests skip when the CPU lacks AVX-512 VBMI/VNNI. */
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

static const char *const STEM = "conv2d.simd-stem-avx512vnni";

#include "variant_test_scaffold.h"

/* ---------------------------------------------------------------- the variant */

static const t2c_kernel_variant *stem_variant(void) { return variant_named("conv2d", STEM); }

static int have_cpu(void)
{
    __builtin_cpu_init();
    return t2c_simd_supported(T2C_SIMD_AVX512VNNI) && __builtin_cpu_supports("avx512vbmi");
}

/* Run the variant on the prepared conv node (1 or 2 threads); 0 when it declines the node. */
static int run_stem(tcase *c, int threads)
{
    return variant_run(stem_variant(), &c->node, pools[threads], &c->tout);
}

/* ---------------------------------------------------------------- hand-worked */

/* x uint8 [1,1,2,3] = 1..6 with x_zp 1 (x - 1 = {0 1 2; 3 4 5}); w [2,1,2,2]: channel 0 all 1,
 * channel 1 {2, 0; 0, -1}; pad 1 each side, stride 2; bias {10, -5}. */
static void test_hand_worked(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    /* output (oh, ow) reads padded rows 2oh-1..2oh, columns 2ow-1..2ow; padding adds 0 */
    static const int32_t want[8] = {10 + 0, 10 + 1 + 2, 10 + 3, 10 + 4 + 5,
                                    -5 + 0, -5 - 2, -5 + 0, -5 + 2 * 4};
    for (int threads = 1; threads <= 2; threads++) {
        tcase c;
        tc_init(&c, "conv2d");
        const int64_t xd[4] = {1, 1, 2, 3}, wd[4] = {2, 1, 2, 2}, bd[1] = {2};
        t2c_tensor *x = tc_input(&c, 0, T2C_UINT8, 4, xd, 0);
        t2c_tensor *w = tc_input(&c, 1, T2C_INT8, 4, wd, 1);
        t2c_tensor *b = tc_input(&c, 2, T2C_INT32, 1, bd, 1);
        for (int i = 0; i < 6; i++)
            ((uint8_t *)x->data)[i] = (uint8_t)(i + 1);
        static const int8_t wv[8] = {1, 1, 1, 1, 2, 0, 0, -1};
        memcpy(w->data, wv, 8);
        ((int32_t *)b->data)[0] = 10, ((int32_t *)b->data)[1] = -5;
        a_ints(&c, "strides", 2, 2, 2, 0, 0);
        a_ints(&c, "pads", 4, 1, 1, 1, 1);
        a_int(&c, "x_zero_point", 1);
        assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
        unsigned char *ref = run_ref(&c);
        assert_non_null(ref);
        assert_memory_equal(ref, want, sizeof want);
        assert_true(run_stem(&c, threads));
        assert_memory_equal(c.tout.data, want, sizeof want);
        free(ref);
        tc_free(&c);
    }
}

/* ---------------------------------------------------------------- random nodes */

static const t2c_dtype act_types[4] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4};

static void gen_stem(rng *r, tcase *c, int big)
{
    tc_init(c, "conv2d");
    const t2c_dtype xd = act_types[rin(r, 0, 3)], wd = chance(r, 50) ? T2C_INT8 : T2C_INT4;
    static const int64_t couts[6] = {1, 7, 8, 9, 64, 65};
    const int64_t Cin = rin(r, 1, 4), Cout = chance(r, 40) ? couts[rin(r, 0, 5)] : rin(r, 1, 70);
    const int64_t KH = chance(r, 30) ? 7 : chance(r, 10) ? rin(r, 8, 13) : rin(r, 1, 7);
    const int64_t KW = chance(r, 70) ? KH : chance(r, 10) ? rin(r, 8, 13) : rin(r, 1, 7);
    const int64_t sw = chance(r, 40) ? 2 : rin(r, 1, 4), sh = chance(r, 80) ? sw : rin(r, 1, 3);
    const int64_t dh = chance(r, 80) ? 1 : 2, dw = chance(r, 80) ? 1 : 2;
    const int64_t pt = rin(r, 0, KH), pl = rin(r, 0, KW), pb = rin(r, 0, KH), pr = rin(r, 0, KW);
    int64_t H = dh * (KH - 1) + 1 - pt - pb, W = dw * (KW - 1) + 1 - pl - pr;
    H = (H < 1 ? 1 : H) + rin(r, 0, big ? 60 : 12), W = (W < 1 ? 1 : W) + rin(r, 0, big ? 150 : 50);
    const int64_t N = rin(r, 1, 3);
    const int64_t xd4[4] = {N, Cin, H, W}, wd4[4] = {Cout, Cin, KH, KW}, bd[1] = {Cout};
    t2c_tensor *x = tc_input(c, 0, xd, 4, xd4, 0), *w = tc_input(c, 1, wd, 4, wd4, 1);
    fill(r, x);
    fill(r, w);
    if (chance(r, 70)) {
        t2c_tensor *b = tc_input(c, 2, T2C_INT32, 1, bd, 1);
        const int huge = chance(r, 10);
        for (int64_t i = 0; i < bd[0]; i++)
            ((int32_t *)b->data)[i] = huge ? (int32_t)rval(r, T2C_INT32) : (int32_t)rin(r, -(1 << 20), 1 << 20);
    }
    a_ints(c, "strides", 2, sh, sw, 0, 0);
    a_ints(c, "pads", 4, pt, pl, pb, pr);
    a_ints(c, "dilations", 2, dh, dw, 0, 0);
    a_int(c, "x_zero_point", pick_zp_ends(r, xd));
    if (chance(r, 25))
        a_int(c, "w_zero_point", pick_zp_ends(r, wd)); /* folded into int4 weights; int8 ones mostly decline */
    if (chance(r, 20)) {
        static const char *const pol[3] = {"error", "wrap", "saturate"};
        a_int(c, "acc_bits", rin(r, 8, 32));
        a_str(c, "overflow", pol[rin(r, 0, 2)]);
    }
}

static void test_random_stem(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    int ran = 0, strided = 0, dilated = 0, k7 = 0, batched = 0, wrapped = 0, cin3 = 0, big = 0, s4 = 0, wzp = 0;
    for (uint64_t seed = 1; seed <= 2500; seed++) {
        rng r = {seed * 0x9E3779B97F4A7C15ULL + 11};
        tcase c;
        gen_stem(&r, &c, seed % 20 == 0);
        if (tc_prepare(&c, T2C_INT32) != T2C_OK) {
            tc_free(&c);
            continue;
        }
        if (variant_matches_ref(stem_variant(), &c, seed)) {
            const t2c_conv2d_params *p = c.node.params;
            ran++;
            strided += p->stride_w >= 2;
            dilated += p->dilation_h > 1 || p->dilation_w > 1;
            k7 += c.tin[1].dims[2] == 7 && c.tin[1].dims[3] == 7;
            batched += c.tin[0].dims[0] > 1;
            wrapped += p->overflow == T2C_OVERFLOW_WRAP && p->acc_bits < 32;
            cin3 += c.tin[0].dims[1] == 3;
            big += c.tin[1].dims[2] > 7 || c.tin[1].dims[3] > 7;
            s4 += p->stride_w == 4;
            wzp += p->w_zero_point != 0;
        }
        tc_free(&c);
    }
    print_message("  %d nodes: %d strided (%d by 4), %d dilated, %d 7x7, %d larger, %d with 3 input channels, "
                  "%d batched, %d wrapped accumulators, %d weight zero points\n", ran, strided, s4, dilated, k7, big,
                  cin3, batched, wrapped, wzp);
    assert_true(ran > 1500);
    assert_true(strided > 600 && s4 > 30 && dilated > 300 && k7 > 300 && big > 100 && cin3 > 300 && batched > 800 &&
                wrapped > 10 && wzp > 150);
}

/* The variant takes only group-1 convs with at most 4 input channels whose w - w_zp fit int8. */
static void test_declines(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    /* Cin, group, w_zp, one weight -128; supported? */
    static const int64_t cfg[6][5] = {{5, 1, 0, 0, 0}, {4, 2, 0, 0, 0}, {3, 1, 1, 1, 0},
                                      {3, 1, 1, 0, 1}, {3, 1, 0, 1, 1}, {4, 1, -1, 1, 1}};
    for (int i = 0; i < 6; i++) {
        tcase c;
        tc_init(&c, "conv2d");
        const int64_t xd[4] = {1, cfg[i][0], 9, 9}, wd[4] = {4, cfg[i][0] / cfg[i][1], 3, 3};
        tc_input(&c, 0, T2C_UINT8, 4, xd, 0);
        t2c_tensor *w = tc_input(&c, 1, T2C_INT8, 4, wd, 1);
        if (cfg[i][3])
            ((int8_t *)w->data)[5] = -128;
        a_int(&c, "group", cfg[i][1]);
        a_int(&c, "w_zero_point", cfg[i][2]);
        assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
        assert_int_equal(stem_variant()->supports(&c.node), cfg[i][4]);
        tc_free(&c);
    }
}

/* The ResNet stem: 3 -> 64, 7x7, stride 2, pad 3, 224x224, int8 and uint8 inputs. */
static void test_resnet_stem(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    for (int i = 0; i < 2; i++) {
        rng r = {(uint64_t)i * 91 + 3};
        tcase c;
        tc_init(&c, "conv2d");
        const int64_t xd[4] = {1, 3, 224, 224}, wd[4] = {64, 3, 7, 7}, bd[1] = {64};
        t2c_tensor *x = tc_input(&c, 0, i ? T2C_UINT8 : T2C_INT8, 4, xd, 0);
        t2c_tensor *w = tc_input(&c, 1, T2C_INT8, 4, wd, 1);
        t2c_tensor *b = tc_input(&c, 2, T2C_INT32, 1, bd, 1);
        fill(&r, x);
        fill(&r, w);
        for (int64_t k = 0; k < 64; k++)
            ((int32_t *)b->data)[k] = (int32_t)rin(&r, -50000, 50000);
        a_ints(&c, "strides", 2, 2, 2, 0, 0);
        a_ints(&c, "pads", 4, 3, 3, 3, 3);
        a_int(&c, "x_zero_point", i ? 3 : -1);
        assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
        assert_true(variant_matches_ref(stem_variant(), &c, (uint64_t)i));
        tc_free(&c);
    }
}

/* ---------------------------------------------------------------- fused requantize */

static void test_fused_requantize(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    fused_random_run(stem_variant(), gen_stem, 5, 0, 900, 150);
}

static void test_fused_requantize_ties(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    fused_random_run(stem_variant(), gen_stem, 5, 1, 900, 150);
}

/* The ResNet stem fused with its requantize as exported (int8 out, half_even, per-channel
 * multipliers near 2^30 with shifts near 40: the epilogue's constant fast case), and the same
 * with half_up (its general case), for 1 and 2 threads. */
static void test_resnet_stem_fused(void **state)
{
    (void)state;
    if (!have_cpu())
        skip();
    const t2c_kernel_variant *v = stem_variant();
    for (int i = 0; i < 2; i++) {
        rng r = {(uint64_t)i * 17 + 9};
        tcase c, q;
        tc_init(&c, "conv2d");
        const int64_t xd[4] = {1, 3, 224, 224}, wd[4] = {64, 3, 7, 7}, bd[1] = {64};
        t2c_tensor *x = tc_input(&c, 0, T2C_INT8, 4, xd, 0);
        t2c_tensor *w = tc_input(&c, 1, T2C_INT8, 4, wd, 1);
        t2c_tensor *b = tc_input(&c, 2, T2C_INT32, 1, bd, 1);
        fill(&r, x);
        for (int64_t k = 0; k < t2c_tensor_numel(w); k++)
            ((int8_t *)w->data)[k] = (int8_t)rin(&r, -40, 40);
        for (int64_t k = 0; k < 64; k++)
            ((int32_t *)b->data)[k] = (int32_t)rin(&r, -50000, 50000);
        a_ints(&c, "strides", 2, 2, 2, 0, 0);
        a_ints(&c, "pads", 4, 3, 3, 3, 3);
        assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
        unsigned char *cref = run_ref(&c);
        assert_non_null(cref);
        free(cref);
        tc_init(&q, "requantize");
        q.pin[0] = &c.tout;
        q.node.n_inputs = 1;
        a_str(&q, "rounding", rounding_mode_names[i]);
        int64_t m[64], sh[64], off[64];
        for (int k = 0; k < 64; k++)
            m[k] = rin(&r, 1 << 29, 1 << 30), sh[k] = rin(&r, 36, 44), off[k] = 0;
        a_array(&q, "multiplier", 0, m, 64);
        a_array(&q, "shift", 1, sh, 64);
        a_array(&q, "offset", 2, off, 64);
        a_int(&q, "zero_point", -3);
        t2c_error err = {0};
        assert_int_equal(tc_prepare(&q, T2C_INT8), T2C_OK);
        assert_int_equal(q.def->run(&q.node, NULL, &err), T2C_OK);
        const size_t nb = out_bytes(&q);
        unsigned char *want = malloc(nb);
        memcpy(want, q.tout.data, nb);
        int lo = 0, hi = 0; /* the outputs must spread over the range (no all-clamped test) */
        for (size_t k = 0; k < nb; k++)
            lo += ((int8_t *)want)[k] == -128, hi += ((int8_t *)want)[k] == 127;
        assert_true(lo < (int)nb / 4 && hi < (int)nb / 4);
        for (int threads = 1; threads <= 2; threads++) {
            c.node.exec = pools[threads];
            void *st = NULL;
            assert_int_equal(v->prepare(&c.node, &st, &err), T2C_OK);
            assert_true(v->fuse_prepare(&c.node, st, &q.node));
            memset(q.tout.data, 0x5A, nb);
            assert_int_equal(v->run_fused(&c.node, st, NULL, &err), T2C_OK);
            assert_memory_equal(q.tout.data, want, nb);
            v->release(st);
        }
        c.node.exec = NULL;
        free(want);
        tc_free(&q);
        q.pin[0] = NULL;
        tc_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked),
        cmocka_unit_test(test_random_stem),
        cmocka_unit_test(test_declines),
        cmocka_unit_test(test_resnet_stem),
        cmocka_unit_test(test_fused_requantize),
        cmocka_unit_test(test_fused_requantize_ties),
        cmocka_unit_test(test_resnet_stem_fused),
    };
    return cmocka_run_group_tests(tests, pools_setup, pools_teardown);
}
