/* test_maxpool_simd.c — the maxpool2d SIMD variant (ops/maxpool2d_simd.c) against the reference
 * kernel (ops/maxpool2d.c):
 *  - hand-worked planes (3x3 stride 2 pad 1, int8 with -128/127 and uint8 with 0/255) whose
 *    outputs are asserted value by value;
 *  - random nodes: kernels 1..5 (2 and 3 often), strides 1..3, dilation 1/2, asymmetric padding,
 *    widths across the 32/64-byte vector edges, int8/uint8/int4/uint4, planes of one value at the
 *    dtype's minimum (padding must never beat it), batch 1..3, with 1 and 2 threads;
 *  - ResNet-18's stem pool (1x64x112x112, 3x3 s2 p1), batch 1 and 2, int8 and uint8.
 * The variant must produce the reference's bytes; tests skip when the CPU lacks AVX2. With
 * AVX-512BW, horizontal strides 1 and 2 take the AVX-512 body (kernel width 3, stride 2,
 * dilation 1 its 64-output row pass) and stride 3 the AVX2 one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "maxpool2d.h"
#include "t2c.h"
#include "t2c_exec.h"
#include "t2c_gemm.h"
#include "t2c_kernels.h"

/* The variant under test: each test runs once per variant (its cmocka prestate). */
static const char *POOL = "maxpool2d.simd-avx2";

#define VARIANT_TEST_NO_NODE /* this test's node is a maxpool over one tensor */
#include "variant_test_scaffold.h"

/* ---------------------------------------------------------------- a node with owned storage */

typedef struct tcase {
    const t2c_op_def *def;
    t2c_node node;
    t2c_tensor tin, tout;
    t2c_tensor *pin, *pout;
    t2c_attr attrs[4];
    int64_t arr[4][4];
    int n_attrs;
    _Alignas(16) unsigned char params[256];
} tcase;

static void tc_init(tcase *c, t2c_dtype d, const int64_t dims[4])
{
    memset(c, 0, sizeof *c);
    c->def = t2c_op_find("maxpool2d");
    assert_non_null(c->def);
    assert_true(c->def->params_size <= sizeof c->params);
    c->node.type = "maxpool2d";
    c->node.name = "n";
    c->node.inputs = &c->pin;
    c->node.n_inputs = 1;
    c->node.outputs = &c->pout;
    c->node.n_outputs = 1;
    c->node.attrs = c->attrs;
    c->node.params = c->params;
    c->pin = &c->tin, c->pout = &c->tout;
    c->tin.name = "x", c->tout.name = "y";
    c->tin.dtype = d, c->tin.rank = 4;
    for (int k = 0; k < 4; k++)
        c->tin.dims[k] = dims[k];
    c->tin.data = calloc((size_t)t2c_tensor_numel(&c->tin) + 64, 1);
}

static void tc_free(tcase *c)
{
    free(c->tin.data);
    free(c->tout.data);
}

static void a_ints(tcase *c, const char *n, int count, int64_t a, int64_t b, int64_t d, int64_t e)
{
    int64_t *s = c->arr[c->n_attrs];
    s[0] = a, s[1] = b, s[2] = d, s[3] = e;
    c->attrs[c->n_attrs++] = (t2c_attr){.name = n, .type = T2C_ATTR_INTS, .count = count, .v = {.ints = s}};
    c->node.n_attrs = c->n_attrs;
}

static t2c_status tc_prepare(tcase *c)
{
    t2c_error err = {0};
    c->tout.dtype = c->tin.dtype;
    t2c_status st = c->def->prepare(&c->node, &err);
    if (st == T2C_OK)
        c->tout.data = calloc((size_t)t2c_tensor_numel(&c->tout) + 64, 1);
    return st;
}

static size_t out_bytes(const tcase *c) { return (size_t)t2c_tensor_numel(&c->tout); }

/* ---------------------------------------------------------------- the variant */


static const t2c_kernel_variant *pool_variant(void) { return variant_named("maxpool2d", POOL); }

/* The variant under test runs on this CPU (the AVX-512BW one: at horizontal stride 1 or 2). */
static int have_variant(void **state)
{
    POOL = *state;
    __builtin_cpu_init();
    if (strcmp(POOL, "maxpool2d.simd-avx2") == 0)
        return t2c_simd_supported(T2C_SIMD_AVX2);
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

static int is512(void) { return strcmp(POOL, "maxpool2d.simd-avx512bw") == 0; }

/* Run the variant on the prepared node (1 or 2 threads); 0 when it declines the node. */
static int run_simd(tcase *c, int threads) { return variant_run(pool_variant(), &c->node, pools[threads], &c->tout); }

/* Reference output bytes of the prepared node (malloc'd). */
static unsigned char *run_ref(tcase *c)
{
    t2c_error err = {0};
    assert_int_equal(c->def->run(&c->node, NULL, &err), T2C_OK);
    unsigned char *want = malloc(out_bytes(c));
    memcpy(want, c->tout.data, out_bytes(c));
    return want;
}

static void expect_same(const tcase *c, const unsigned char *want, uint64_t seed, int threads)
{
    if (memcmp(c->tout.data, want, out_bytes(c)) == 0)
        return;
    for (size_t k = 0; k < out_bytes(c); k++)
        if (((const uint8_t *)c->tout.data)[k] != want[k])
            fail_msg("seed %llu, %d threads: element %zu is 0x%02x, the reference 0x%02x", (unsigned long long)seed,
                     threads, k, ((const uint8_t *)c->tout.data)[k], want[k]);
}

/* ---------------------------------------------------------------- hand-worked */

/* x [1,1,4,5] 3x3 stride 2 pad 1 -> [1,1,2,3]; each window takes rows 2oh-1..2oh+1, columns
 * 2ow-1..2ow+1 inside the input. */
static void test_hand_worked(void **state)
{
    if (!have_variant(state))
        skip();
    static const int8_t xs[20] = {-128, -128, -128, -128, -128,  /* row 0 */
                                  -128, -128, -128, -128, -100,  /* row 1 */
                                  -128, -128, 127,  -128, -128,  /* row 2 */
                                  -5,   -128, -128, -128, -7};   /* row 3 */
    /* (0,0): rows 0-1 cols 0-1 = -128; (0,1): cols 1-3 = -128; (0,2): cols 3-4 = -100;
     * (1,0): rows 1-3 cols 0-1 = -5; (1,1): cols 1-3 = 127; (1,2): cols 3-4 = -7 */
    static const int8_t want_s[6] = {-128, -128, -100, -5, 127, -7};
    static const uint8_t xu[20] = {0, 0, 0, 0,   0,  /* */
                                   0, 0, 0, 0,   9,  /* */
                                   0, 0, 255, 0, 0,  /* */
                                   3, 0, 0,   0, 1};
    static const uint8_t want_u[6] = {0, 0, 9, 3, 255, 9};
    const int64_t dims[4] = {1, 1, 4, 5};
    for (int threads = 1; threads <= 2; threads++)
        for (int sg = 0; sg <= 1; sg++) {
            tcase c;
            tc_init(&c, sg ? T2C_INT8 : T2C_UINT8, dims);
            memcpy(c.tin.data, sg ? (const void *)xs : (const void *)xu, 20);
            a_ints(&c, "kernel", 2, 3, 3, 0, 0);
            a_ints(&c, "strides", 2, 2, 2, 0, 0);
            a_ints(&c, "pads", 4, 1, 1, 1, 1);
            assert_int_equal(tc_prepare(&c), T2C_OK);
            assert_int_equal(c.tout.dims[2], 2);
            assert_int_equal(c.tout.dims[3], 3);
            const void *want = sg ? (const void *)want_s : (const void *)want_u;
            unsigned char *ref = run_ref(&c);
            assert_memory_equal(ref, want, 6);
            assert_true(run_simd(&c, threads));
            assert_memory_equal(c.tout.data, want, 6);
            free(ref);
            tc_free(&c);
        }
}

/* ---------------------------------------------------------------- random nodes */

static const t2c_dtype act_types[4] = {T2C_INT8, T2C_UINT8, T2C_INT4, T2C_UINT4};

static void test_random(void **state)
{
    if (!have_variant(state))
        skip();
    int ran = 0, s1 = 0, s2 = 0, s3 = 0, row3 = 0, dilated = 0, wide = 0, batched = 0, flat = 0;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        rng r = {seed * 0x9E3779B97F4A7C15ULL + 11};
        const t2c_dtype d = act_types[rin(&r, 0, 3)];
        const int64_t KH = chance(&r, 50) ? 3 : chance(&r, 40) ? 2 : rin(&r, 1, 5);
        const int64_t KW = chance(&r, 70) ? KH : rin(&r, 1, 5);
        const int64_t sw = chance(&r, 45) ? 2 : chance(&r, 60) ? 1 : 3, sh = chance(&r, 80) ? sw : rin(&r, 1, 3);
        const int64_t dh = chance(&r, 80) ? 1 : 2, dw = chance(&r, 80) ? 1 : 2;
        const int64_t pt = rin(&r, 0, KH - 1), pl = rin(&r, 0, KW - 1), pb = rin(&r, 0, KH - 1),
                      pr = rin(&r, 0, KW - 1);
        const int64_t big = chance(&r, 25);
        const int64_t dims[4] = {rin(&r, 1, 3), rin(&r, 1, 4), dh * (KH - 1) + 1 + rin(&r, 0, 20),
                                 dw * (KW - 1) + 1 + rin(&r, 0, big ? 200 : 40)};
        tcase c;
        tc_init(&c, d, dims);
        const int one = chance(&r, 5); /* every value at the minimum */
        for (int64_t i = 0; i < t2c_tensor_numel(&c.tin); i++)
            t2c_tensor_set_int(&c.tin, i, one ? t2c_dtype_min(d) : rval(&r, d));
        a_ints(&c, "kernel", 2, KH, KW, 0, 0);
        a_ints(&c, "strides", 2, sh, sw, 0, 0);
        a_ints(&c, "pads", 4, pt, pl, pb, pr);
        a_ints(&c, "dilations", 2, dh, dw, 0, 0);
        if (tc_prepare(&c) != T2C_OK) { /* a window entirely in padding */
            tc_free(&c);
            continue;
        }
        unsigned char *want = run_ref(&c);
        if (is512() && sw > 2) { /* declined: the AVX2 variant runs these */
            assert_false(run_simd(&c, 1));
            free(want);
            tc_free(&c);
            continue;
        }
        for (int threads = 1; threads <= 2; threads++) {
            assert_true(run_simd(&c, threads));
            expect_same(&c, want, seed, threads);
        }
        ran++;
        s1 += sw == 1, s2 += sw == 2, s3 += sw == 3;
        row3 += sw == 2 && KW == 3 && dw == 1 && c.tout.dims[3] > 64;
        dilated += dh > 1 || dw > 1;
        wide += dims[3] > 64;
        batched += dims[0] > 1;
        flat += one;
        free(want);
        tc_free(&c);
    }
    print_message("  %d nodes: stride 1/2/3 %d/%d/%d, %d 3-wide stride 2 with over 64 outputs, %d dilated, "
                  "%d wider than 64, %d batched, %d flat\n", ran, s1, s2, s3, row3, dilated, wide, batched, flat);
    assert_true(ran > (is512() ? 1800 : 2500));
    assert_true(s1 > 500 && s2 > 1000 && (is512() ? s3 == 0 : s3 > 300) && row3 > 20 && dilated > 500 && wide > (is512() ? 300 : 400) && batched > 1000 &&
                flat > 50);
}

/* ResNet-18's stem pool. */
static void test_resnet_stem(void **state)
{
    if (!have_variant(state))
        skip();
    for (int i = 0; i < 4; i++) {
        rng r = {(uint64_t)i * 131 + 3};
        const t2c_dtype d = i % 2 ? T2C_UINT8 : T2C_INT8;
        const int64_t dims[4] = {i < 2 ? 1 : 2, 64, 112, 112};
        tcase c;
        tc_init(&c, d, dims);
        for (int64_t k = 0; k < t2c_tensor_numel(&c.tin); k++)
            t2c_tensor_set_int(&c.tin, k, rval(&r, d));
        a_ints(&c, "kernel", 2, 3, 3, 0, 0);
        a_ints(&c, "strides", 2, 2, 2, 0, 0);
        a_ints(&c, "pads", 4, 1, 1, 1, 1);
        assert_int_equal(tc_prepare(&c), T2C_OK);
        assert_int_equal(c.tout.dims[2], 56);
        assert_int_equal(c.tout.dims[3], 56);
        unsigned char *want = run_ref(&c);
        for (int threads = 1; threads <= 2; threads++) {
            assert_true(run_simd(&c, threads));
            expect_same(&c, want, (uint64_t)i, threads);
        }
        free(want);
        tc_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define BOTH(T)                                                                                          \
    {#T " avx2", T, NULL, NULL, (void *)"maxpool2d.simd-avx2"},                                          \
        {#T " avx512bw", T, NULL, NULL, (void *)"maxpool2d.simd-avx512bw"}
        BOTH(test_hand_worked),
        BOTH(test_random),
        BOTH(test_resnet_stem),
    };
    return cmocka_run_group_tests(tests, pools_setup, pools_teardown);
}
