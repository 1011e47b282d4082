/* exec.c — the thread pool of t2c_exec.h.
 *
 * Workers spin briefly on a generation counter after each job (kernels of consecutive ops are
 * a few microseconds apart, and a futex wake-up costs more than that), then sleep on a
 * condition variable so an idle session burns no CPU on a shared machine. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "t2c_exec.h"
#include "t2c_op.h"

/* about 100 us of polling on current x86 before a worker goes to sleep */
#define EXEC_SPIN 4000

struct t2c_exec {
    int threads;
    pthread_t tid[T2C_EXEC_MAX_THREADS];
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sleepers;               /* under mu */
    atomic_int stop;            /* set before the last generation bump */
    atomic_uint gen;            /* bumped (under mu) to publish a job */
    atomic_int done;            /* workers finished with the current job */
    /* the current job, written before gen is bumped */
    t2c_exec_fn fn;
    void *ctx;
    int64_t n;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_part(t2c_exec *ex, int t)
{
    const int64_t T = ex->threads;
    const int64_t b = ex->n * t / T, e = ex->n * (t + 1) / T;
    if (e > b)
        ex->fn(ex->ctx, b, e, t);
}

static void *worker_main(void *arg)
{
    t2c_exec *ex = ((void **)arg)[0];
    const int t = (int)(intptr_t)((void **)arg)[1];
    free(arg);
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&ex->gen, memory_order_acquire)) == seen) {
            if (++spins < EXEC_SPIN) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&ex->mu);
            ex->sleepers++;
            while (atomic_load_explicit(&ex->gen, memory_order_acquire) == seen)
                pthread_cond_wait(&ex->cv, &ex->mu);
            ex->sleepers--;
            pthread_mutex_unlock(&ex->mu);
            spins = 0;
        }
        seen = g;
        if (atomic_load_explicit(&ex->stop, memory_order_acquire))
            return NULL;
        run_part(ex, t);
        atomic_fetch_add_explicit(&ex->done, 1, memory_order_release);
    }
}

t2c_status t2c_exec_create(int threads, t2c_exec **out, t2c_error *err)
{
    if (!out)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "t2c_exec_create: NULL argument");
    *out = NULL;
    if (threads < 1 || threads > T2C_EXEC_MAX_THREADS)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "threads = %d is outside 1..%d", threads,
                             T2C_EXEC_MAX_THREADS);
    t2c_exec *ex = calloc(1, sizeof *ex);
    if (!ex)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    ex->threads = threads;
    pthread_mutex_init(&ex->mu, NULL);
    pthread_cond_init(&ex->cv, NULL);
    atomic_init(&ex->gen, 0);
    atomic_init(&ex->done, 0);
    atomic_init(&ex->stop, 0);
    for (int t = 1; t < threads; t++) {
        void **arg = malloc(2 * sizeof(void *));
        if (!arg) {
            t2c_exec_free(ex);
            return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        }
        arg[0] = ex, arg[1] = (void *)(intptr_t)t;
        if (pthread_create(&ex->tid[t], NULL, worker_main, arg) != 0) {
            free(arg);
            t2c_exec_free(ex);
            return t2c_error_set(err, T2C_ERR_NOMEM, "cannot start worker thread %d of %d", t, threads);
        }
        ex->started = t;
    }
    *out = ex;
    return T2C_OK;
}

void t2c_exec_free(t2c_exec *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->mu);
    atomic_store_explicit(&ex->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&ex->gen, 1, memory_order_release);
    pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
    for (int t = 1; t <= ex->started; t++)
        pthread_join(ex->tid[t], NULL);
    pthread_cond_destroy(&ex->cv);
    pthread_mutex_destroy(&ex->mu);
    free(ex);
}

int t2c_exec_threads(const t2c_exec *ex) { return ex ? ex->threads : 1; }

void t2c_exec_for(t2c_exec *ex, int64_t n, t2c_exec_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (!ex || ex->threads == 1 || n == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    ex->fn = fn, ex->ctx = ctx, ex->n = n;
    atomic_store_explicit(&ex->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&ex->mu);
    atomic_fetch_add_explicit(&ex->gen, 1, memory_order_release);
    if (ex->sleepers)
        pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
    run_part(ex, 0);
    const int want = ex->threads - 1;
    unsigned spins = 0;
    while (atomic_load_explicit(&ex->done, memory_order_acquire) < want) {
        if (++spins < EXEC_SPIN * 4)
            cpu_relax();
        else
            sched_yield(); /* a worker was descheduled (shared machine): give it the core */
    }
}
