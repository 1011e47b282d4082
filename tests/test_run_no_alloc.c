/* test_run_no_alloc.c — t2c_session_run allocates nothing: every buffer (activations, scratch,
 * packed weights, thread pool) is made by t2c_session_create (issue 7: "no allocation in the run
 * loop"). The executable is linked with --wrap for the allocation functions, so every call made
 * from the engine's static library passes through the counters below. */
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

static volatile int counting;
static volatile long n_allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);

/* cmocka and libc call these too: only the window around t2c_session_run counts */
void *__wrap_malloc(size_t n)
{
    if (counting)
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    if (counting)
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    if (counting)
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (counting)
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_aligned_alloc(a, n);
}
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    if (counting)
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_posix_memalign(p, a, n);
}

/* The wrapper sees the library's calls: creating a session allocates (arena, scratch, packing). */
static void test_counter_counts(void **state)
{
    (void)state;
    t2c_model *m = load_default_model("fmnist_resnet_int8.t2c");
    t2c_error err;
    t2c_session_options o = {1, 1, "simd"};
    t2c_session *s = NULL;
    n_allocs = 0;
    counting = 1;
    t2c_status st = t2c_session_create_ex(m, &o, &s, &err);
    counting = 0;
    assert_int_equal(st, T2C_OK);
    assert_true(n_allocs >= 3);
    t2c_session_free(s);
    t2c_model_free(m);
}

static void run_model(const char *file)
{
    t2c_model *m = load_default_model(file);
    t2c_error err;
    static const char *const backends[] = {"ref", "simd", "auto", "blas"};
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
        for (int threads = 1; threads <= 2; threads++)
            for (int batch = 1; batch <= 3; batch += 2) {
                t2c_session_options o = {batch, threads, backends[b]};
                t2c_session *s = NULL;
                assert_int_equal(t2c_session_create_ex(m, &o, &s, &err), T2C_OK);
                t2c_tensor *x = t2c_session_input(s, 0);
                for (int64_t i = 0; i < t2c_tensor_numel(x); i++)
                    t2c_tensor_set_int(x, i, (i * 37 + 11) % 200 - 100);
                n_allocs = 0;
                counting = 1;
                t2c_status st = T2C_OK;
                for (int r = 0; r < 3 && st == T2C_OK; r++) /* the first run included */
                    st = t2c_session_run(s, &err);
                counting = 0;
                assert_int_equal(st, T2C_OK);
                if (n_allocs)
                    fail_msg("%s, backend %s, %d threads, batch %d: %ld allocations in 3 runs", file, backends[b],
                             threads, batch, n_allocs);
                t2c_session_free(s);
            }
    t2c_model_free(m);
}

/* state: the file name of a default model (engine/default_model) */
static void test_default_model(void **state) { run_model(*state); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_counts),
        DEFAULT_MODEL_TESTS(test_default_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
