/* test_backends.c — every fast kernel variant (ops/t2c_kernels.h: simd AVX-512 VNNI / AVX-VNNI /
 * AVX2, blas) against the reference kernel, which is the spec.
 *
 *  - hand-worked values at the integer extremes (-128*-128, -8*-8, 255*-255, wrap-around);
 *  - thousands of random nodes per op (seeded xorshift64*, seed printed on failure): K = 1, odd
 *    sizes, sizes off the SIMD widths, int4/int8 extremes, every zero point, groups, depthwise,
 *    dilation, strides, padding, accumulator widths and policies, every rounding mode; each
 *    supported variant must give the reference's bytes with 1, 2 and 3 threads;
 *  - the conv2d + requantize epilogue fusion against the two reference ops (row and transposed
 *    tiles), and its 16-lane requantizer against the scalar recipe (int32 "narrow" path at its
 *    bound, per-column parameters);
 *  - whole models through the public API: every backend and thread count gives every op's output
 *    identical to the reference (hooks), and the fused path (no hooks) the same graph outputs;
 *  - the thread pool: every index is run exactly once for any split.
 * A variant that refuses every node would pass trivially, so each test also asserts that each
 * variant this CPU can run was exercised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "add.h"
#include "conv2d.h"
#include "linear.h"
#include "matmul.h"
#include "maxpool2d.h"
#include "requantize.h"
#include "t2c.h"
#include "t2c_container.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"
#include "t2c_vscale.h"

#include "variant_test_scaffold.h"
#include "model_builder.h"

static const t2c_dtype act_types[4] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4};

/* ---------------------------------------------------------------- the differential check */


typedef struct coverage {
    const char *names[16];
    int hits[16];
    int n;
} coverage;

static void cover(coverage *cv, const char *name)
{
    for (int i = 0; i < cv->n; i++)
        if (strcmp(cv->names[i], name) == 0) {
            cv->hits[i]++;
            return;
        }
    cv->names[cv->n] = name;
    cv->hits[cv->n++] = 1;
}

/* Every variant of the node's op that this CPU runs is asserted to have been exercised. */
static void assert_covered(const coverage *cv, const char *op_type)
{
    for (int i = 0; i < cv->n; i++)
        print_message("  %-28s %5d nodes x thread counts equal to the reference\n", cv->names[i], cv->hits[i]);
    int n;
    const t2c_kernel_variant *const *list = t2c_kernel_variants(op_type, &n);
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->name;
        int isa_ok = 1;
        if (strstr(name, "avx512vnni"))
            isa_ok = t2c_simd_supported(T2C_SIMD_AVX512VNNI);
        else if (strstr(name, "avxvnni"))
            isa_ok = t2c_simd_supported(T2C_SIMD_AVXVNNI);
        else if (strstr(name, "avx2") || strstr(name, "avx512"))
            isa_ok = t2c_simd_supported(T2C_SIMD_AVX2) && (!strstr(name, "avx512") || __builtin_cpu_supports("avx512dq"));
        int hits = 0;
        for (int k = 0; k < cv->n; k++)
            if (strcmp(cv->names[k], name) == 0)
                hits = cv->hits[k];
        if (isa_ok && hits == 0)
            fail_msg("variant %s was never exercised", name);
    }
}

/* Run the reference, then every supported variant with 1, 2 and 3 threads; compare bytes. */
static void check_variants(tcase *c, uint64_t seed, coverage *cv)
{
    t2c_error err = {0};
    const size_t nb = out_bytes(c);
    size_t ss = c->def->scratch_size ? c->def->scratch_size(&c->node) : 0;
    void *scratch = malloc(ss + 64);
    c->node.exec = NULL;
    const t2c_status ref_st = c->def->run(&c->node, scratch, &err);
    free(scratch);
    unsigned char *want = malloc(nb + 1);
    memcpy(want, c->tout.data, nb);
    int n;
    const t2c_kernel_variant *const *list = t2c_kernel_variants(c->node.type, &n);
    for (int i = 0; i < n; i++) {
        const t2c_kernel_variant *v = list[i];
        for (int threads = 1; threads <= 3; threads++) {
            c->node.exec = pools[threads];
            if (!v->supports(&c->node))
                continue;
            if (ref_st != T2C_OK)
                fail_msg("seed %llu: %s supports a node whose reference fails (%s)", (unsigned long long)seed,
                         v->name, err.message);
            void *state = NULL;
            t2c_error verr = {0};
            assert_int_equal(v->prepare ? v->prepare(&c->node, &state, &verr) : T2C_OK, T2C_OK);
            ss = v->scratch_size ? v->scratch_size(&c->node, state) : 0;
            scratch = malloc(ss + 64);
            memset(c->tout.data, 0xA5, nb);
            assert_int_equal(v->run(&c->node, state, scratch, &verr), T2C_OK);
            if (memcmp(c->tout.data, want, nb) != 0) {
                const size_t es = t2c_dtype_mem_size(c->tout.dtype);
                for (size_t k = 0; k < nb / es; k++)
                    if (memcmp((char *)c->tout.data + k * es, want + k * es, es) != 0) {
                        fail_msg("seed %llu: %s with %d threads differs from the reference at element %zu "
                                 "(%lld vs %lld)", (unsigned long long)seed, v->name, threads, k,
                                 (long long)t2c_tensor_get_int(&c->tout, (int64_t)k),
                                 (long long)t2c_tensor_get_int(&(t2c_tensor){.dtype = c->tout.dtype, .data = want},
                                                               (int64_t)k));
                    }
            }
            cover(cv, v->name);
            free(scratch);
            if (v->release)
                v->release(state);
            else
                free(state);
        }
    }
    c->node.exec = NULL;
    memcpy(c->tout.data, want, nb); /* leave the reference output in place */
    free(want);
}

/* ---------------------------------------------------------------- generators */

static t2c_dtype pick_act(rng *r) { return act_types[rin(r, 0, 3)]; }
static t2c_dtype pick_w(rng *r) { return chance(r, 50) ? T2C_INT8 : T2C_INT4; }

/* zero point: one in three 0, else anywhere in the range (ends included) */
static int64_t pick_zp(rng *r, t2c_dtype d) { return chance(r, 33) ? (t2c_dtype_min(d) <= 0 ? 0 : t2c_dtype_min(d)) : rval(r, d); }

/* acc_bits / overflow: mostly the default exact int32 */
static void pick_acc(rng *r, tcase *c)
{
    if (chance(r, 75))
        return;
    static const char *const pol[3] = {"error", "wrap", "saturate"};
    a_int(c, "acc_bits", rin(r, 8, 32));
    a_str(c, "overflow", pol[rin(r, 0, 2)]);
}

static void fill_bias(rng *r, t2c_tensor *b)
{
    const int big = chance(r, 10);
    for (int64_t i = 0; i < b->dims[0]; i++)
        ((int32_t *)b->data)[i] = big ? (int32_t)rin(r, INT32_MIN, INT32_MAX) : (int32_t)rin(r, -(1 << 20), 1 << 20);
}

/* A random conv2d node; big = larger sizes (several pixel chunks and row blocks); quad = the
 * geometry of conv2d_simd's in-place path (input channels per group a multiple of 4, equal
 * strides 1 or 2, w_zero_point 0), which reads the GEMM's B from the channel-interleaved input. */
static void gen_conv(rng *r, tcase *c, int big, int quad)
{
    tc_init(c, "conv2d");
    const t2c_dtype xd = pick_act(r), wd = pick_w(r);
    const int gm = (int)rin(r, 0, 9); /* 0..5 plain, 6..7 depthwise, 8..9 grouped */
    int64_t G = 1, cin_g, cout_g;
    if (gm < 6) {
        cin_g = rin(r, 1, big ? 40 : 9), cout_g = rin(r, 1, big ? 70 : 14);
    } else if (gm < 8) {
        G = rin(r, 1, big ? 40 : 12), cin_g = 1, cout_g = rin(r, 1, 3);
    } else {
        G = rin(r, 2, 4), cin_g = rin(r, 1, 8), cout_g = rin(r, 1, 10);
    }
    if (gm < 6 && chance(r, 25)) /* deep K, few pixels: conv2d_simd's transposed tiles */
        cin_g = rin(r, 40, 160), cout_g = rin(r, 1, 40);
    if (quad) {
        G = chance(r, 20) ? rin(r, 2, 3) : 1;
        cin_g = 4 * (chance(r, 25) ? rin(r, 10, 40) : rin(r, 1, big ? 10 : 3));
        cout_g = rin(r, 1, big ? 70 : 14);
    }
    const int64_t KH = chance(r, 40) ? 3 : rin(r, 1, 5), KW = chance(r, 40) ? KH : rin(r, 1, 5);
    int64_t sh = chance(r, 60) ? 1 : rin(r, 2, 3), sw = chance(r, 60) ? 1 : rin(r, 2, 3);
    if (quad)
        sh = sw = rin(r, 1, 2);
    const int64_t dh = chance(r, 80) ? 1 : rin(r, 2, 3), dw = chance(r, 80) ? 1 : rin(r, 2, 3);
    const int64_t pt = rin(r, 0, 3), pl = rin(r, 0, 3), pb = rin(r, 0, 3), pr = rin(r, 0, 3);
    int64_t H = dh * (KH - 1) + 1 - pt - pb, W = dw * (KW - 1) + 1 - pl - pr;
    H = (H < 1 ? 1 : H) + rin(r, 0, big ? 24 : 10), W = (W < 1 ? 1 : W) + rin(r, 0, big ? 24 : 12);
    const int64_t N = rin(r, 1, big ? 2 : 3);
    const int64_t xd4[4] = {N, G * cin_g, H, W}, wd4[4] = {G * cout_g, cin_g, KH, KW}, bd[1] = {G * cout_g};
    fill(r, tc_input(c, 0, xd, 4, xd4, 0));
    fill(r, tc_input(c, 1, wd, 4, wd4, 1));
    if (chance(r, 60))
        fill_bias(r, tc_input(c, 2, T2C_INT32, 1, bd, 1));
    a_ints(c, "strides", 2, sh, sw, 0, 0);
    a_ints(c, "pads", 4, pt, pl, pb, pr);
    a_ints(c, "dilations", 2, dh, dw, 0, 0);
    a_int(c, "group", G);
    a_int(c, "x_zero_point", pick_zp(r, xd));
    if (chance(r, 50))
        a_int(c, "w_zero_point", quad ? 0 : pick_zp(r, wd));
    pick_acc(r, c);
}

static void gen_linear(rng *r, tcase *c, int big)
{
    tc_init(c, "linear");
    const t2c_dtype xd = pick_act(r), wd = pick_w(r);
    const int64_t K = chance(r, 10) ? 1 : rin(r, 1, big ? 700 : 70), M = rin(r, 1, big ? 150 : 40);
    const int rank = (int)rin(r, 2, 3);
    const int64_t xdims[3] = {rin(r, 1, 4), rank == 3 ? rin(r, 1, 9) : K, K}, wdims[2] = {M, K}, bd[1] = {M};
    fill(r, tc_input(c, 0, xd, rank, rank == 3 ? xdims : (int64_t[]){xdims[0], K}, 0));
    fill(r, tc_input(c, 1, wd, 2, wdims, 1));
    if (chance(r, 60))
        fill_bias(r, tc_input(c, 2, T2C_INT32, 1, bd, 1));
    a_int(c, "x_zero_point", pick_zp(r, xd));
    if (chance(r, 50))
        a_int(c, "w_zero_point", pick_zp(r, wd));
    pick_acc(r, c);
}

static void gen_matmul(rng *r, tcase *c, int big)
{
    tc_init(c, "matmul");
    static const t2c_dtype mt[5] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4, T2C_INT16};
    const t2c_dtype ad = mt[rin(r, 0, chance(r, 15) ? 4 : 3)], bdt = mt[rin(r, 0, chance(r, 15) ? 4 : 3)];
    const int rank = (int)rin(r, 2, 4), tb = chance(r, 50);
    const int64_t M = rin(r, 1, big ? 60 : 20), K = chance(r, 10) ? 1 : rin(r, 1, big ? 300 : 50),
                  N = rin(r, 1, big ? 90 : 40);
    int64_t adims[4], bdims[4];
    for (int i = 0; i < rank - 2; i++)
        adims[i] = bdims[i] = rin(r, 1, 3);
    adims[rank - 2] = M, adims[rank - 1] = K;
    bdims[rank - 2] = tb ? N : K, bdims[rank - 1] = tb ? K : N;
    fill(r, tc_input(c, 0, ad, rank, adims, 0));
    fill(r, tc_input(c, 1, bdt, rank, bdims, 0));
    a_int(c, "a_zero_point", pick_zp(r, ad));
    a_int(c, "b_zero_point", pick_zp(r, bdt));
    a_int(c, "transpose_b", tb);
    pick_acc(r, c);
}


static void gen_requantize(rng *r, tcase *c)
{
    tc_init(c, "requantize");
    const int rank = (int)rin(r, 1, 4);
    int64_t dims[4];
    for (int i = 0; i < rank; i++)
        dims[i] = rin(r, 1, i == rank - 1 ? 40 : 6);
    if (chance(r, 10))
        dims[rank - 1] = rin(r, 1000, 9000); /* long rows (split across threads) */
    t2c_tensor *x = tc_input(c, 0, T2C_INT32, rank, dims, 0);
    const int extreme = chance(r, 30);
    for (int64_t i = 0; i < t2c_tensor_numel(x); i++)
        ((int32_t *)x->data)[i] = extreme ? (int32_t)rval(r, T2C_INT32) : (int32_t)rin(r, -(1 << 20), 1 << 20);
    const int mode = (int)rin(r, 0, 4);
    a_str(c, "rounding", rounding_mode_names[mode]);
    const int axis = (int)rin(r, 0, rank - 1);
    const int64_t C = chance(r, 60) ? dims[axis] : 1;
    int64_t *m = malloc(sizeof(int64_t) * (size_t)C), *s = malloc(sizeof(int64_t) * (size_t)C),
            *o = malloc(sizeof(int64_t) * (size_t)C);
    for (int64_t i = 0; i < C; i++) {
        m[i] = mode == 4 ? rin(r, 0, INT32_MAX) : rin(r, -INT32_MAX, INT32_MAX);
        if (chance(r, 20))
            m[i] = chance(r, 50) ? 1 : (mode == 4 ? INT32_MAX : -INT32_MAX);
        s[i] = chance(r, 15) ? (chance(r, 50) ? 0 : 62) : rin(r, 0, 50);
        o[i] = mode == 4 || chance(r, 50) ? 0 : rin(r, -((int64_t)1 << 40), (int64_t)1 << 40);
    }
    a_array(c, "multiplier", 0, m, C);
    a_array(c, "shift", 1, s, C);
    a_array(c, "offset", 2, o, C);
    free(m), free(s), free(o);
    a_int(c, "axis", axis);
    static const t2c_dtype od[6] = {T2C_INT4, T2C_UINT4, T2C_INT8, T2C_UINT8, T2C_INT16, T2C_INT32};
    const t2c_dtype y = od[rin(r, 0, 5)];
    const int64_t zp = rval(r, y);
    a_int(c, "zero_point", zp);
    if (chance(r, 40)) {
        int64_t lo = rval(r, y), hi = rval(r, y);
        a_int(c, "lo", lo < hi ? lo : hi);
        a_int(c, "hi", lo < hi ? hi : lo);
    }
    assert_int_equal(tc_prepare(c, y), T2C_OK);
}

/* ---------------------------------------------------------------- hand-worked values */

/* conv 1x1 over Cin = 4 channels, x and w constant: y = bias + 4 * (x - xzp) * (w - wzp) */
static void hand_conv(t2c_dtype xd, int64_t xv, int64_t xzp, t2c_dtype wd, int64_t wv, int64_t wzp, int32_t bias,
                      int acc_bits, const char *policy, int32_t want, int want_variants)
{
    tcase c;
    tc_init(&c, "conv2d");
    const int64_t xdims[4] = {1, 4, 5, 7}, wdims[4] = {3, 4, 1, 1}, bdims[1] = {3};
    t2c_tensor *x = tc_input(&c, 0, xd, 4, xdims, 0), *w = tc_input(&c, 1, wd, 4, wdims, 1),
               *b = tc_input(&c, 2, T2C_INT32, 1, bdims, 1);
    for (int64_t i = 0; i < t2c_tensor_numel(x); i++)
        t2c_tensor_set_int(x, i, xv);
    for (int64_t i = 0; i < t2c_tensor_numel(w); i++)
        t2c_tensor_set_int(w, i, wv);
    for (int i = 0; i < 3; i++)
        ((int32_t *)b->data)[i] = bias;
    a_int(&c, "x_zero_point", xzp);
    a_int(&c, "w_zero_point", wzp);
    if (acc_bits) {
        a_int(&c, "acc_bits", acc_bits);
        a_str(&c, "overflow", policy);
    }
    assert_int_equal(tc_prepare(&c, T2C_INT32), T2C_OK);
    coverage cv = {0};
    check_variants(&c, 0, &cv); /* every variant == reference */
    for (int64_t i = 0; i < t2c_tensor_numel(&c.tout); i++)
        assert_int_equal(((int32_t *)c.tout.data)[i], want);
    int ran = 0;
    for (int i = 0; i < cv.n; i++)
        ran += cv.hits[i] > 0;
    if (want_variants)
        assert_true(ran >= 1 + t2c_simd_supported(T2C_SIMD_AVX2)); /* blas and at least one simd */
    tc_free(&c);
}

static void test_hand_worked_conv(void **state)
{
    (void)state;
    /* -128 * -128 * 4 = 65536, + bias 5 */
    hand_conv(T2C_INT8, -128, 0, T2C_INT8, -128, 0, 5, 0, NULL, 65541, 1);
    /* int4: (-8) * (-8) * 4 = 256; x_zp 7: (-8 - 7) * (-8) * 4 = 480 */
    hand_conv(T2C_INT4, -8, 0, T2C_INT4, -8, 0, 0, 0, NULL, 256, 1);
    hand_conv(T2C_INT4, -8, 7, T2C_INT4, -8, 0, 0, 0, NULL, 480, 1);
    /* uint8 255 with w_zp 127: 255 * (-128 - 127) * 4 = -260100, bias -1 */
    hand_conv(T2C_UINT8, 255, 0, T2C_INT8, -128, 127, -1, 0, NULL, -260101, 1);
    /* x_zp = 255 on uint8 0: (0 - 255) * (127 - (-128)) * 4 = -260100 */
    hand_conv(T2C_UINT8, 0, 255, T2C_INT8, 127, -128, 0, 0, NULL, -260100, 1);
    /* wrap to 16 bits: 65541 mod 2^16 = 5 */
    hand_conv(T2C_INT8, -128, 0, T2C_INT8, -128, 0, 5, 16, "wrap", 5, 1);
    /* wrap to 17 bits: 65541 - 2^17 = -65531 */
    hand_conv(T2C_INT8, -128, 0, T2C_INT8, -128, 0, 5, 17, "wrap", -65531, 1);
    /* saturate within a bound that cannot be reached: 16 * 4 * 4 = 256 fits 10 bits, plain sum */
    hand_conv(T2C_INT4, 4, 0, T2C_INT4, 4, 0, 0, 10, "saturate", 64, 1);
}

/* requantize simd: x = +-5 / 2^1 under every mode, per-channel along axis 1 */
static void test_hand_worked_requantize(void **state)
{
    (void)state;
    static const int64_t want[4][2] = {{2, -2}, {3, -2}, {3, -3}, {2, -3}}; /* half_even, up, away, floor */
    for (int mode = 0; mode < 4; mode++) {
        tcase c;
        tc_init(&c, "requantize");
        const int64_t dims[2] = {2, 9};
        t2c_tensor *x = tc_input(&c, 0, T2C_INT32, 2, dims, 0);
        for (int i = 0; i < 18; i++)
            ((int32_t *)x->data)[i] = i < 9 ? 5 : -5;
        a_str(&c, "rounding", rounding_mode_names[mode]);
        a_ints(&c, "multiplier", 1, 1, 0, 0, 0);
        a_ints(&c, "shift", 1, 1, 0, 0, 0);
        assert_int_equal(tc_prepare(&c, T2C_INT8), T2C_OK);
        coverage cv = {0};
        check_variants(&c, 0, &cv);
        for (int i = 0; i < 18; i++)
            assert_int_equal(((int8_t *)c.tout.data)[i], want[mode][i >= 9]);
        if (__builtin_cpu_supports("avx512dq"))
            assert_int_equal(cv.n, 1);
        tc_free(&c);
    }
}

/* ---------------------------------------------------------------- random differential tests */

static void test_random_conv2d(void **state)
{
    (void)state;
    coverage cv = {0};
    /* seeds > 1600: the in-place geometry (gen_conv's quad) */
    for (uint64_t seed = 1; seed <= 2200; seed++) {
        rng r = {seed * 0x9E3779B97F4A7C15ULL + 1};
        tcase c;
        gen_conv(&r, &c, seed % 40 == 0 || (seed > 1600 && seed % 10 == 0), seed > 1600);
        if (tc_prepare(&c, T2C_INT32) == T2C_OK)
            check_variants(&c, seed, &cv);
        tc_free(&c);
    }
    assert_covered(&cv, "conv2d");
}

static void test_random_linear(void **state)
{
    (void)state;
    coverage cv = {0};
    for (uint64_t seed = 1; seed <= 1200; seed++) {
        rng r = {seed * 0xD1B54A32D192ED03ULL + 7};
        tcase c;
        gen_linear(&r, &c, seed % 30 == 0);
        if (tc_prepare(&c, T2C_INT32) == T2C_OK)
            check_variants(&c, seed, &cv);
        tc_free(&c);
    }
    assert_covered(&cv, "linear");
}

static void test_random_matmul(void **state)
{
    (void)state;
    coverage cv = {0};
    for (uint64_t seed = 1; seed <= 1000; seed++) {
        rng r = {seed * 0xA24BAED4963EE407ULL + 3};
        tcase c;
        gen_matmul(&r, &c, seed % 30 == 0);
        if (tc_prepare(&c, T2C_INT32) == T2C_OK)
            check_variants(&c, seed, &cv);
        tc_free(&c);
    }
    assert_covered(&cv, "matmul");
}

static void test_random_requantize(void **state)
{
    (void)state;
    coverage cv = {0};
    for (uint64_t seed = 1; seed <= 1500; seed++) {
        rng r = {seed * 0x9FB21C651E98DF25ULL + 5};
        tcase c;
        gen_requantize(&r, &c);
        check_variants(&c, seed, &cv);
        tc_free(&c);
    }
    assert_covered(&cv, "requantize");
}

static void test_random_add(void **state)
{
    (void)state;
    coverage cv = {0};
    int ok = 0;
    for (uint64_t seed = 1; seed <= 1500; seed++) {
        rng r = {seed * 0xC2B2AE3D27D4EB4FULL + 11};
        tcase c;
        tc_init(&c, "add");
        static const t2c_dtype at[5] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4, T2C_INT16};
        const t2c_dtype ad = at[rin(&r, 0, 4)], bd = at[rin(&r, 0, 4)], yd = at[rin(&r, 0, 4)];
        const int rank = (int)rin(&r, 1, 4);
        int64_t dims[4];
        for (int i = 0; i < rank; i++)
            dims[i] = rin(&r, 1, i == rank - 1 ? 30 : 5);
        if (chance(&r, 10))
            dims[rank - 1] = rin(&r, 3000, 9000);
        fill(&r, tc_input(&c, 0, ad, rank, dims, 0));
        fill(&r, tc_input(&c, 1, bd, rank, dims, 0));
        const int mode = (int)rin(&r, 0, 4);
        a_str(&c, "rounding", rounding_mode_names[mode]);
        a_int(&c, "a_zero_point", pick_zp(&r, ad));
        a_int(&c, "b_zero_point", pick_zp(&r, bd));
        a_int(&c, "out_zero_point", rval(&r, yd));
        if (mode == 0 && chance(&r, 25)) {
            /* half_even with small multipliers and shifts: exact ties at every step are common
             * (the simd variant's all-fast path) */
            a_int(&c, "left_shift", rin(&r, 0, 2));
            a_int(&c, "a_multiplier", rin(&r, -7, 7));
            a_int(&c, "b_multiplier", rin(&r, -7, 7));
            a_int(&c, "out_multiplier", rin(&r, 1, 7));
            a_int(&c, "a_shift", rin(&r, 1, 3));
            a_int(&c, "b_shift", rin(&r, 1, 3));
            a_int(&c, "out_shift", rin(&r, 1, 5));
        } else if (chance(&r, 80)) { /* TFLite-style scaling; prepare rejects what could overflow */
            const int ls = (int)(ad == T2C_INT16 || bd == T2C_INT16 ? rin(&r, 0, 12) : rin(&r, 0, 20));
            a_int(&c, "left_shift", ls);
            /* powers of two (2^30 with shift 31 is TFLite's usual input scale): the simd
             * variant shifts when ls + j >= shift, on either side of that line */
            /* negative multipliers too, except under tflite (prepare rejects them there) */
            const int64_t mlo = mode == 4 ? 0 : -INT32_MAX;
            a_int(&c, "a_multiplier", chance(&r, 30) ? (int64_t)1 << rin(&r, 0, 30) : rin(&r, chance(&r, 20) ? mlo : 0, INT32_MAX));
            a_int(&c, "b_multiplier", chance(&r, 30) ? (int64_t)1 << rin(&r, 0, 30) : rin(&r, chance(&r, 20) ? mlo : 0, INT32_MAX));
            a_int(&c, "out_multiplier", rin(&r, chance(&r, 20) ? mlo : 0, INT32_MAX));
            a_int(&c, "a_shift", chance(&r, 30) ? rin(&r, 0, ls + 31 < 62 ? ls + 31 : 62) : rin(&r, 28, 36));
            a_int(&c, "b_shift", chance(&r, 30) ? rin(&r, 0, ls + 31 < 62 ? ls + 31 : 62) : rin(&r, 28, 36));
            a_int(&c, "out_shift", rin(&r, ls + 10, ls + 30 < 62 ? ls + 30 : 62));
        }
        if (tc_prepare(&c, yd) == T2C_OK) {
            ok++;
            check_variants(&c, seed, &cv);
        }
        tc_free(&c);
    }
    assert_true(ok > 500);
    assert_covered(&cv, "add");
}

static void test_random_maxpool(void **state)
{
    (void)state;
    coverage cv = {0};
    for (uint64_t seed = 1; seed <= 1200; seed++) {
        rng r = {seed * 0x165667B19E3779F9ULL + 13};
        tcase c;
        tc_init(&c, "maxpool2d");
        static const t2c_dtype pt[6] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4, T2C_INT16, T2C_INT32};
        const t2c_dtype xd = pt[rin(&r, 0, chance(&r, 10) ? 5 : 3)];
        const int64_t KH = rin(&r, 1, 4), KW = rin(&r, 1, 4), dh = chance(&r, 80) ? 1 : 2, dw = chance(&r, 80) ? 1 : 2;
        const int64_t pt_ = rin(&r, 0, KH - 1), pl = rin(&r, 0, KW - 1), pb = rin(&r, 0, KH - 1), pr = rin(&r, 0, KW - 1);
        const int64_t dims[4] = {rin(&r, 1, 2), rin(&r, 1, 5), dh * (KH - 1) + 1 + rin(&r, 0, 20),
                                 dw * (KW - 1) + 1 + rin(&r, 0, chance(&r, 20) ? 90 : 20)};
        fill(&r, tc_input(&c, 0, xd, 4, dims, 0));
        a_ints(&c, "kernel", 2, KH, KW, 0, 0);
        a_ints(&c, "strides", 2, rin(&r, 1, 3), rin(&r, 1, 3), 0, 0);
        a_ints(&c, "pads", 4, pt_, pl, pb, pr);
        a_ints(&c, "dilations", 2, dh, dw, 0, 0);
        if (tc_prepare(&c, xd) == T2C_OK)
            check_variants(&c, seed, &cv);
        tc_free(&c);
    }
    assert_covered(&cv, "maxpool2d");
}

/* conv2d + requantize fused in the epilogue == the two reference ops. */
static void test_random_conv_requantize_fused(void **state)
{
    (void)state;
    int fused = 0;
    for (uint64_t seed = 1; seed <= 900; seed++) {
        rng r = {seed * 0x94D049BB133111EBULL + 17};
        tcase c, q;
        gen_conv(&r, &c, seed % 25 == 0 || (seed > 600 && seed % 10 == 0), seed > 600);
        if (tc_prepare(&c, T2C_INT32) != T2C_OK) {
            tc_free(&c);
            continue;
        }
        t2c_error err = {0};
        if (c.def->run(&c.node, NULL, &err) != T2C_OK) {
            tc_free(&c);
            continue;
        }
        /* a requantize reading the conv output; single values or per channel (axis 1) */
        tc_init(&q, "requantize");
        q.pin[0] = &c.tout;
        q.node.n_inputs = 1;
        const int mode = (int)rin(&r, 0, 4);
        a_str(&q, "rounding", rounding_mode_names[mode]);
        const int64_t C = chance(&r, 70) ? c.tout.dims[1] : 1;
        /* one case in three: byte outputs of about +-64 from multipliers 1..3 and a shift near
         * the accumulators' size, so that exact ties (v*m = odd * 2^(s-1)) occur and show */
        const int ties = chance(&r, 33);
        int64_t amax = 1;
        for (int64_t i = 0; i < t2c_tensor_numel(&c.tout); i++) {
            const int64_t a = ((const int32_t *)c.tout.data)[i];
            amax = a > amax ? a : -a > amax ? -a : amax;
        }
        const int64_t tsh = 64 - __builtin_clzll((unsigned long long)amax) - 6 > 1
                                ? 64 - __builtin_clzll((unsigned long long)amax) - 6 : 1;
        int64_t *arr[3];
        for (int k = 0; k < 3; k++)
            arr[k] = malloc(sizeof(int64_t) * (size_t)C);
        for (int64_t i = 0; i < C; i++) {
            arr[0][i] = mode == 4 ? rin(&r, 0, INT32_MAX) : rin(&r, -INT32_MAX, INT32_MAX);
            arr[1][i] = chance(&r, 10) ? rin(&r, 0, 62) : rin(&r, 30, 48);
            arr[2][i] = mode == 4 || chance(&r, 50) ? 0 : rin(&r, -((int64_t)1 << 45), (int64_t)1 << 45);
            if (ties) {
                arr[0][i] = rin(&r, 1, 3) * (mode == 4 || chance(&r, 50) ? 1 : -1);
                arr[1][i] = tsh + rin(&r, 0, 1);
                arr[2][i] = 0;
            }
        }
        a_array(&q, "multiplier", 0, arr[0], C);
        a_array(&q, "shift", 1, arr[1], C);
        a_array(&q, "offset", 2, arr[2], C);
        for (int k = 0; k < 3; k++)
            free(arr[k]);
        static const t2c_dtype od[5] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_INT16, T2C_INT32};
        t2c_dtype y = od[rin(&r, 0, 4)];
        if (ties)
            y = chance(&r, 50) ? T2C_INT8 : T2C_UINT8;
        a_int(&q, "zero_point", ties ? rin(&r, -3, 3) + (y == T2C_UINT8 ? 128 : 0) : rval(&r, y));
        if (chance(&r, 50))
            a_int(&q, "lo", t2c_dtype_min(y) + rin(&r, 0, 3));
        assert_int_equal(tc_prepare(&q, y), T2C_OK);
        assert_int_equal(q.def->run(&q.node, NULL, &err), T2C_OK);
        const size_t nb = out_bytes(&q);
        unsigned char *want = malloc(nb);
        memcpy(want, q.tout.data, nb);
        int n;
        const t2c_kernel_variant *const *list = t2c_kernel_variants("conv2d", &n);
        for (int i = 0; i < n; i++) {
            const t2c_kernel_variant *v = list[i];
            for (int threads = 1; threads <= 2; threads++) {
                c.node.exec = pools[threads];
                if (!v->fuse_prepare || !v->supports(&c.node))
                    continue;
                void *st = NULL;
                assert_int_equal(v->prepare(&c.node, &st, &err), T2C_OK);
                if (v->fuse_prepare(&c.node, st, &q.node)) {
                    void *scratch = malloc(v->scratch_size(&c.node, st) + 64);
                    memset(q.tout.data, 0x5A, nb);
                    assert_int_equal(v->run_fused(&c.node, st, scratch, &err), T2C_OK);
                    if (memcmp(q.tout.data, want, nb) != 0)
                        fail_msg("seed %llu: %s fused with requantize (%s) differs from the reference",
                                 (unsigned long long)seed, v->name, rounding_mode_names[mode]);
                    fused++;
                    free(scratch);
                }
                v->release(st);
            }
        }
        c.node.exec = NULL;
        free(want);
        tc_free(&q);
        q.pin[0] = NULL;
        tc_free(&c);
    }
    if (t2c_simd_supported(T2C_SIMD_AVX512VNNI))
        assert_true(fused > 300);
}

/* ---------------------------------------------------------------- fused epilogue requantizer */

static T2C_TARGET_AVX512 void vreq16(int64_t m, int64_t sh, int64_t b, int64_t zp, int64_t lo, int64_t hi, int mode,
                                     const int32_t *v, int32_t *out, int *narrow)
{
    t2c_vreq q;
    t2c_vreq_init(&q, m, sh, b, zp, lo, hi, (t2c_rounding)mode);
    *narrow = q.narrow;
    _mm512_storeu_si512((void *)out, t2c_vreq_apply16(&q, _mm512_loadu_si512((const void *)v)));
}

static T2C_TARGET_AVX512 void vreq16_cols(const t2c_gemm_requant *rq, const int32_t *v, int32_t *out)
{
    t2c_vreq qe, qo;
    t2c_vreq_init_cols(&qe, &qo, rq, 0);
    _mm512_storeu_si512((void *)out, t2c_vreq_apply16_2(&qe, &qo, _mm512_loadu_si512((const void *)v)));
}

/* requantize's recipe for one value */
static int64_t req_ref(int64_t v, int64_t m, int64_t sh, int64_t b, int64_t zp, int64_t lo, int64_t hi, int mode)
{
    const int64_t lim = (int64_t)1 << 62;
    int64_t y = t2c_scale_round(v, m, b, (int)sh, (t2c_rounding)mode);
    y = y < -lim ? -lim : y > lim ? lim : y;
    y += zp;
    return y < lo ? lo : y > hi ? hi : y;
}

static void test_epilogue_requantizer(void **state)
{
    (void)state;
    if (!t2c_avx512_supported())
        skip();
    int32_t v[16], out[16];
    int narrow;
    for (int l = 0; l < 16; l++)
        v[l] = l == 0 ? INT32_MIN : l == 1 ? INT32_MAX : (l - 8) * 1000003;
    /* the bound: m = 2^31 - 1 is narrow from s = 32 on, not at s = 31 */
    vreq16(INT32_MAX, 32, 0, 0, INT32_MIN, INT32_MAX, T2C_ROUND_HALF_EVEN, v, out, &narrow);
    assert_int_equal(narrow, 1);
    assert_int_equal(out[0], -1073741824); /* -(2^31 - 1) / 2 = -1073741823.5 -> even */
    assert_int_equal(out[1], 1073741823);  /* (2^31 - 1)^2 / 2^32 = 2^30 - 1 + 2^-32 */
    vreq16(INT32_MAX, 31, 0, 0, INT32_MIN, INT32_MAX, T2C_ROUND_HALF_EVEN, v, out, &narrow);
    assert_int_equal(narrow, 0);
    assert_int_equal(out[0], -2147483647);
    assert_int_equal(out[1], 2147483646);
    /* lo - zp outside int32: not narrow */
    vreq16(1, 40, 0, 100, INT32_MIN, INT32_MAX, T2C_ROUND_FLOOR, v, out, &narrow);
    assert_int_equal(narrow, 0);
    rng r = {0x5EEDULL};
    int seen[2] = {0, 0};
    for (int it = 0; it < 3000; it++) {
        const int mode = (int)rin(&r, 0, 4);
        for (int l = 0; l < 16; l++)
            v[l] = chance(&r, 20) ? (chance(&r, 50) ? INT32_MIN : INT32_MAX) : (int32_t)rin(&r, INT32_MIN, INT32_MAX);
        static const t2c_dtype od[4] = {T2C_INT8, T2C_UINT8, T2C_INT16, T2C_INT32};
        const t2c_dtype y = od[rin(&r, 0, 3)];
        const int64_t zp = rval(&r, y), lo = t2c_dtype_min(y) + rin(&r, 0, 2), hi = t2c_dtype_max(y);
        int64_t m[16], sh[16], b[16];
        for (int l = 0; l < 16; l++) {
            m[l] = mode == 4 ? rin(&r, 0, INT32_MAX) : rin(&r, -INT32_MAX, INT32_MAX);
            sh[l] = chance(&r, 10) ? rin(&r, 0, 62) : rin(&r, 28, 48);
            b[l] = mode == 4 || chance(&r, 50) ? 0 : rin(&r, -((int64_t)1 << 45), (int64_t)1 << 45);
        }
        vreq16(m[0], sh[0], b[0], zp, lo, hi, mode, v, out, &narrow);
        seen[narrow]++;
        for (int l = 0; l < 16; l++)
            if (out[l] != req_ref(v[l], m[0], sh[0], b[0], zp, lo, hi, mode))
                fail_msg("it %d lane %d: m %lld s %lld b %lld mode %d narrow %d: %d, want %lld", it, l, (long long)m[0],
                         (long long)sh[0], (long long)b[0], mode, narrow, out[l],
                         (long long)req_ref(v[l], m[0], sh[0], b[0], zp, lo, hi, mode));
        /* per-column parameters, flags over the 16 columns as conv2d_simd sets them */
        int64_t cols[T2C_VREQ_COLS], row[T2C_VREQ_ROW];
        const int64_t n = chance(&r, 20) ? rin(&r, 1, 15) : 16;
        t2c_gemm_requant rq = {.rounding = mode, .zero_point = zp, .lo = lo, .hi = hi, .cols = cols, .cols_narrow = 1};
        for (int l = 0; l < n; l++) {
            t2c_vreq_row_pack(row, m[l], sh[l], b[l], zp, lo, hi, (t2c_rounding)mode);
            rq.cols_general |= (int)(row[7] & 1);
            rq.cols_narrow &= (int)(row[7] >> 1 & 1);
        }
        t2c_vreq_cols_pack(cols, m, sh, b, n);
        vreq16_cols(&rq, v, out);
        for (int l = 0; l < n; l++)
            if (out[l] != req_ref(v[l], m[l], sh[l], b[l], zp, lo, hi, mode))
                fail_msg("it %d column %d: mode %d: %d, want %lld", it, l, mode, out[l],
                         (long long)req_ref(v[l], m[l], sh[l], b[l], zp, lo, hi, mode));
    }
    assert_true(seen[0] > 100 && seen[1] > 100);
}

/* t2c_vrow_round on 8 lanes (the fast recipes: half_even's tie test, half_up, half_away, floor) */
static T2C_TARGET_AVX512 void vrow8(int64_t m, int64_t sh, int64_t b, int mode, const int64_t *v, int64_t *out,
                                    int *general)
{
    t2c_vrow r;
    t2c_vrow_init(&r, m, sh, b, (t2c_rounding)mode);
    *general = r.general;
    _mm512_storeu_si512((void *)out, t2c_vrow_round(&r, _mm512_loadu_si512((const void *)v)));
}

/* Exact ties and their neighbours: v*m + b = (2k + 1) * 2^(s-1) + d*m for d in -1..1, with m = +-2^j
 * (or an odd multiple), b a multiple of 2^s; shifts 1..61 and both signs. */
static void test_vrow_ties(void **state)
{
    (void)state;
    if (!t2c_avx512_supported())
        skip();
    rng r = {0x71E5ULL};
    int64_t v[8], out[8];
    int general, ties = 0;
    /* hand-worked: 5/2, -5/2, 7/2, -7/2, 3/2 - 1/2 ... under half_even: 2, -2, 4, -4 */
    static const int64_t hv[8] = {5, -5, 7, -7, 1, -1, 3, -3}, he[8] = {2, -2, 4, -4, 0, 0, 2, -2};
    vrow8(1, 1, 0, T2C_ROUND_HALF_EVEN, hv, out, &general);
    assert_int_equal(general, 0);
    for (int l = 0; l < 8; l++)
        assert_int_equal(out[l], he[l]);
    for (int it = 0; it < 20000; it++) {
        const int mode = (int)rin(&r, 0, 3);
        const int sh = (int)(chance(&r, 50) ? rin(&r, 1, 31) : rin(&r, 1, 61)); /* 62: no tie reachable */
        const int j = (int)rin(&r, sh - 31 > 0 ? sh - 31 : 0, sh - 1 < 30 ? sh - 1 : 30);
        const int64_t odd = j > 26 || chance(&r, 70) ? 1 : 2 * rin(&r, 0, 7) + 1; /* |m| < 2^31 */
        const int64_t m = (chance(&r, 50) ? 1 : -1) * odd * ((int64_t)1 << j);
        const int e = sh - 1 - j; /* v = (2k + 1) * 2^e is a tie of v * 2^j */
        const int64_t kmax = (((int64_t)1 << 30) >> e) - 1;
        const int64_t b = chance(&r, 50) ? 0 : rin(&r, -1000, 1000) * ((int64_t)1 << (sh < 40 ? sh : 40));
        for (int l = 0; l < 8; l++) {
            const int64_t k = kmax > 0 ? rin(&r, -kmax, kmax - 1) : (chance(&r, 50) ? 0 : -1);
            v[l] = (2 * k + 1) * ((int64_t)1 << e) + rin(&r, -1, 1);
            if (v[l] > INT32_MAX || v[l] < INT32_MIN)
                v[l] = (2 * k + 1) * ((int64_t)1 << e);
        }
        vrow8(m, sh, b, mode, v, out, &general);
        assert_int_equal(general, 0);
        for (int l = 0; l < 8; l++) {
            const int64_t want = t2c_scale_round(v[l], m, b, sh, (t2c_rounding)mode);
            ties += odd == 1 && ((v[l] * m + b) & (((int64_t)1 << sh) - 1)) == ((int64_t)1 << (sh - 1));
            if (out[l] != want)
                fail_msg("it %d lane %d: v %lld m %lld b %lld s %d mode %d: %lld, want %lld", it, l, (long long)v[l],
                         (long long)m, (long long)b, sh, mode, (long long)out[l], (long long)want);
        }
    }
    assert_true(ties > 10000);
}

/* ---------------------------------------------------------------- thread pool */

static void count_items(void *ctx, int64_t b, int64_t e, int thread)
{
    int *hits = ctx;
    (void)thread;
    for (int64_t i = b; i < e; i++)
        __atomic_add_fetch(&hits[i], 1, __ATOMIC_RELAXED);
}

static void test_exec_covers_once(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads++)
        for (int64_t n = 0; n < 50; n++) {
            int hits[64] = {0};
            t2c_exec_for(pools[threads], n, count_items, hits);
            for (int64_t i = 0; i < 64; i++)
                assert_int_equal(hits[i], i < n ? 1 : 0);
        }
    t2c_error err;
    t2c_exec *ex = NULL;
    assert_int_equal(t2c_exec_create(0, &ex, &err), T2C_ERR_INVALID_ARG);
    assert_int_equal(t2c_exec_create(T2C_EXEC_MAX_THREADS + 1, &ex, &err), T2C_ERR_INVALID_ARG);
    assert_int_equal(t2c_exec_threads(NULL), 1);
}

/* ---------------------------------------------------------------- whole models */

typedef struct op_record {
    unsigned char *data[64];
    size_t size[64];
} op_record;

static int record_hook(const t2c_op_view *op, int when, void *user)
{
    op_record *rec = user;
    (void)when;
    const t2c_tensor *t = op->outputs[0];
    const size_t n = (size_t)t2c_tensor_numel(t) * t2c_dtype_mem_size(t->dtype);
    free(rec->data[op->index]);
    rec->data[op->index] = malloc(n);
    memcpy(rec->data[op->index], t->data, n);
    rec->size[op->index] = n;
    return 0;
}

static void run_model(t2c_model *m, const char *backend, int threads, int batch, const int8_t *input, int hooks,
                      op_record *rec, unsigned char **outs, size_t *out_sizes, t2c_session **keep)
{
    t2c_session_options o = {batch, threads, backend};
    t2c_session *s = NULL;
    t2c_error err;
    assert_int_equal(t2c_session_create_ex(m, &o, &s, &err), T2C_OK);
    t2c_tensor *x = t2c_session_input(s, 0);
    memcpy(x->data, input, (size_t)t2c_tensor_numel(x));
    if (hooks)
        assert_true(t2c_session_add_hook(s, NULL, T2C_HOOK_AFTER, record_hook, rec, &err) >= 0);
    assert_int_equal(t2c_session_run(s, &err), T2C_OK);
    for (int i = 0; i < t2c_model_output_count(m); i++) {
        const t2c_tensor *y = t2c_session_output(s, i);
        out_sizes[i] = (size_t)t2c_tensor_numel(y) * t2c_dtype_mem_size(y->dtype);
        outs[i] = malloc(out_sizes[i]);
        memcpy(outs[i], y->data, out_sizes[i]);
    }
    if (keep)
        *keep = s;
    else
        t2c_session_free(s);
}

static void test_whole_model_backends(void **state)
{
    (void)state;
    static const char *const backends[] = {"ref", "blas", "simd", "auto", "conv2d.simd-avx2",
                                           "conv2d.simd-avxvnni", "linear.simd-avx2"};
    for (int wbits = 4; wbits <= 8; wbits += 4)
        for (int batch = 1; batch <= 3; batch += 2) {
            rng r = {(uint64_t)(wbits * 100 + batch)};
            t2c_model *m = build_model(&r, wbits);
            const int64_t n = 6 * 13 * 11 * batch;
            int8_t *input = malloc((size_t)n);
            for (int64_t i = 0; i < n; i++)
                input[i] = (int8_t)rval(&r, T2C_INT8);
            op_record ref = {0};
            unsigned char *ref_out[2];
            size_t ref_size[2];
            run_model(m, "ref", 1, batch, input, 1, &ref, ref_out, ref_size, NULL);
            const int nops = t2c_model_op_count(m);
            int fused_seen = 0;
            for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
                for (int threads = 1; threads <= 2; threads++) {
                    for (int hooks = 0; hooks <= 1; hooks++) {
                        op_record got = {0};
                        unsigned char *outs[2];
                        size_t sizes[2];
                        t2c_session *s = NULL;
                        run_model(m, backends[b], threads, batch, input, hooks, &got, outs, sizes, &s);
                        for (int i = 0; i < 2; i++) {
                            assert_int_equal(sizes[i], ref_size[i]);
                            if (memcmp(outs[i], ref_out[i], sizes[i]) != 0)
                                fail_msg("backend %s, %d threads, batch %d, hooks %d: graph output %d differs",
                                         backends[b], threads, batch, hooks, i);
                            free(outs[i]);
                        }
                        for (int o = 0; hooks && o < nops; o++) {
                            assert_int_equal(got.size[o], ref.size[o]);
                            if (memcmp(got.data[o], ref.data[o], ref.size[o]) != 0)
                                fail_msg("backend %s, %d threads: op %s (kernel %s) differs", backends[b], threads,
                                         t2c_session_op(s, o)->name, t2c_session_op_kernel(s, o));
                            free(got.data[o]);
                        }
                        for (int o = 0; o < nops; o++)
                            fused_seen |= strcmp(t2c_session_op_kernel(s, o), "fused") == 0;
                        if (strcmp(backends[b], "ref") == 0)
                            for (int o = 0; o < nops; o++)
                                assert_string_equal(t2c_session_op_kernel(s, o), "ref");
                        assert_int_equal(t2c_session_threads(s), threads);
                        t2c_session_free(s);
                    }
                }
            if (t2c_simd_supported(T2C_SIMD_AVX512VNNI))
                assert_true(fused_seen);
            for (int o = 0; o < nops; o++)
                free(ref.data[o]);
            free(ref_out[0]), free(ref_out[1]);
            free(input);
            t2c_model_free(m);
        }
}

static void test_session_options_rejected(void **state)
{
    (void)state;
    rng r = {42};
    t2c_model *m = build_model(&r, 8);
    t2c_session *s = NULL;
    t2c_error err;
    t2c_session_options o = {1, 1, "gpu"};
    assert_int_equal(t2c_session_create_ex(m, &o, &s, &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "gpu"));
    assert_null(s);
    o.backend = "simd", o.threads = 0;
    assert_int_equal(t2c_session_create_ex(m, &o, &s, &err), T2C_ERR_INVALID_ARG);
    o.threads = 65;
    assert_int_equal(t2c_session_create_ex(m, &o, &s, &err), T2C_ERR_INVALID_ARG);
    assert_int_equal(t2c_session_create_ex(m, NULL, &s, &err), T2C_ERR_INVALID_ARG);
    assert_non_null(t2c_backends_available());
    assert_non_null(strstr(t2c_backends_available(), "blas"));
    t2c_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_covers_once),
        cmocka_unit_test(test_hand_worked_conv),
        cmocka_unit_test(test_hand_worked_requantize),
        cmocka_unit_test(test_random_conv2d),
        cmocka_unit_test(test_random_linear),
        cmocka_unit_test(test_random_matmul),
        cmocka_unit_test(test_random_requantize),
        cmocka_unit_test(test_random_add),
        cmocka_unit_test(test_vrow_ties),
        cmocka_unit_test(test_random_maxpool),
        cmocka_unit_test(test_random_conv_requantize_fused),
        cmocka_unit_test(test_epilogue_requantizer),
        cmocka_unit_test(test_whole_model_backends),
        cmocka_unit_test(test_session_options_rejected),
    };
    return cmocka_run_group_tests(tests, pools_setup, pools_teardown);
}
