/* test_isa_cap.c — T2C_MAX_ISA: with the SIMD kernels capped at a lower ISA (as on a CPU without
 * AVX-512, or without AVX-VNNI, or without AVX2), "simd" and "auto" pick only variants of the
 * allowed ISAs, fall back to the reference elsewhere, and give the reference's bytes. meson runs
 * this executable once per cap (the variable is read once per process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "t2c.h"
#include "default_models.h"
#include "t2c_gemm.h"

#define VARIANT_TEST_NO_NODE
#include "variant_test_scaffold.h"
#include "model_builder.h"

/* The cap this process runs under: T2C_SIMD_ISA_COUNT - 1 (none set), ..., -1 (none). */
static int expected_cap(void)
{
    const char *e = getenv("T2C_MAX_ISA");
    if (!e || !*e)
        return T2C_SIMD_ISA_COUNT - 1;
    for (int i = 0; i < T2C_SIMD_ISA_COUNT; i++)
        if (strcmp(e, t2c_simd_isa_name((t2c_simd_isa)i)) == 0)
            return i;
    return -1;
}

static void test_dispatch_follows_cap(void **state)
{
    (void)state;
    const int cap = expected_cap();
    assert_int_equal(t2c_simd_max_isa(), cap);
    for (int i = 0; i < T2C_SIMD_ISA_COUNT; i++)
        if (i > cap)
            assert_false(t2c_simd_supported((t2c_simd_isa)i));
    const char *avail = t2c_backends_available();
    print_message("  T2C_MAX_ISA=%s: %s\n", getenv("T2C_MAX_ISA") ? getenv("T2C_MAX_ISA") : "(unset)", avail);
    if (cap < 0)
        assert_non_null(strstr(avail, "simd: none"));
}

/* No kernel of an ISA above the cap: "avx512" names need the AVX-512 level, "avxvnni" AVX-VNNI,
 * every "simd" name at least AVX2. */
static void check_kernel_allowed(const char *k, int cap, const char *model, int op)
{
    const int allowed = strstr(k, "avx512") ? cap >= T2C_SIMD_AVX512VNNI
                        : strstr(k, "avxvnni") ? cap >= T2C_SIMD_AVXVNNI
                        : strstr(k, "simd")    ? cap >= T2C_SIMD_AVX2
                                               : 1;
    if (!allowed)
        fail_msg("%s op %d runs %s above the cap %d", model, op, k, cap);
}

/* ref, simd and auto sessions of m under this process's cap: allowed kernels, equal outputs. */
static void run_sessions(const t2c_model *m, const char *file)
{
    t2c_error err;
    const int cap = expected_cap();
    for (int threads = 1; threads <= 2; threads++)
        for (int batch = 1; batch <= 3; batch += 2) {
            t2c_session *s[3] = {NULL};
            static const char *const backends[3] = {"ref", "simd", "auto"};
            for (int b = 0; b < 3; b++) {
                t2c_session_options o = {batch, threads, backends[b]};
                assert_int_equal(t2c_session_create_ex(m, &o, &s[b], &err), T2C_OK);
                t2c_tensor *x = t2c_session_input(s[b], 0);
                for (int64_t i = 0; i < t2c_tensor_numel(x); i++)
                    t2c_tensor_set_int(x, i, (i * 53 + 7) % 256 - 128 + (x->dtype == T2C_UINT8 ? 128 : 0));
                assert_int_equal(t2c_session_run(s[b], &err), T2C_OK);
                int simd_ops = 0;
                for (int op = 0; op < t2c_session_op_count(s[b]); op++) {
                    const char *k = t2c_session_op_kernel(s[b], op);
                    assert_non_null(k);
                    check_kernel_allowed(k, cap, file, op);
                    simd_ops += strstr(k, "simd") != NULL;
                }
                if (b > 0 && cap >= T2C_SIMD_AVX2)
                    assert_true(simd_ops > 0); /* the allowed variants are still used */
            }
            const t2c_tensor *want = t2c_session_output(s[0], 0);
            const size_t bytes = (size_t)t2c_tensor_numel(want) * t2c_dtype_mem_size(want->dtype);
            for (int b = 1; b < 3; b++)
                if (memcmp(t2c_session_output(s[b], 0)->data, want->data, bytes) != 0)
                    fail_msg("%s, %s, %d threads, batch %d: output differs from the reference", file, backends[b],
                             threads, batch);
            for (int b = 0; b < 3; b++)
                t2c_session_free(s[b]);
        }
}

static void run_model(const char *file)
{
    t2c_model *m = load_default_model(file);
    run_sessions(m, file);
    t2c_model_free(m);
}

/* The built model: maxpool, depthwise, add, matmul besides conv/requantize/linear (INT8 and INT4). */
static void test_built_model(void **state)
{
    (void)state;
    for (int wbits = 4; wbits <= 8; wbits += 4)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            rng r = {seed * 0x9E3779B97F4A7C15ULL + (uint64_t)wbits};
            t2c_model *m = build_model(&r, wbits);
            run_sessions(m, wbits == 4 ? "built model W4" : "built model W8");
            t2c_model_free(m);
        }
}

/* state: the file name of a default model (engine/default_model) */
static void test_default_model(void **state) { run_model(*state); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_follows_cap),
        DEFAULT_MODEL_TESTS(test_default_model),
        cmocka_unit_test(test_built_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
