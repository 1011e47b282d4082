/* exec.c — the thread pool of t2c_exec.h.
 *
 * Thread t owns the items [n*t/T, n*(t+1)/T) — the same part of every layer, so the data a
 * thread wrote for one op is mostly what it reads for the next (crossing cores is slow) — and
 * claims them in small runs from an atomic word holding (job generation, next item). When its
 * own range is done it takes runs from the other ranges, so a worker the OS has not scheduled
 * yet (a shared, loaded machine) never holds up the caller: the caller waits only for runs that
 * were actually claimed. The generation in the word keeps a late worker from claiming items of
 * a newer job with an older job's function.
 * Workers spin briefly on the generation after each job (consecutive kernels are microseconds
 * apart; a futex wake-up costs more), then sleep on a condition variable so an idle session
 * burns no CPU. Which thread runs an item does not change its result (t2c_exec.h). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "t2c_exec.h"
#include "t2c_op.h"

/* about 100 us of polling on current x86 before a worker goes to sleep */
#define EXEC_SPIN 2000

int64_t t2c_exec_min_work = 2000000;

struct t2c_exec {
    int threads;
    pthread_t tid[T2C_EXEC_MAX_THREADS];
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sleepers;                /* under mu */
    atomic_int stop;             /* set before the last generation bump */
    atomic_uint gen;             /* bumped (under mu) to publish a job */
    atomic_uint_least64_t claim[T2C_EXEC_MAX_THREADS]; /* per range: (generation << 32) | next item */
    atomic_llong done;           /* items finished in the current job */
    /* the current job, written before gen is bumped */
    t2c_exec_fn fn;
    void *ctx;
    int64_t n, grain;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claim and run runs of range r of job `g` until it is exhausted (or the job is no longer g);
 * returns 0 if the job changed. */
static int work_range(t2c_exec *ex, int r, unsigned g, t2c_exec_fn fn, void *ctx, int64_t n, int64_t grain,
                      int t)
{
    const int64_t hi = n * (r + 1) / ex->threads;
    uint64_t w = atomic_load_explicit(&ex->claim[r], memory_order_acquire);
    for (;;) {
        if ((unsigned)(w >> 32) != g)
            return 0;
        const int64_t b = (int64_t)(w & 0xFFFFFFFFu);
        if (b >= hi)
            return 1;
        const int64_t e = b + grain < hi ? b + grain : hi;
        if (!atomic_compare_exchange_weak_explicit(&ex->claim[r], &w, ((uint64_t)g << 32) | (uint64_t)e,
                                                   memory_order_acq_rel, memory_order_acquire))
            continue; /* w was reloaded */
        fn(ctx, b, e, t);
        atomic_fetch_add_explicit(&ex->done, e - b, memory_order_release);
        w = atomic_load_explicit(&ex->claim[r], memory_order_acquire);
    }
}

/* Thread t's own range first, then the others'. */
static void work(t2c_exec *ex, unsigned g, t2c_exec_fn fn, void *ctx, int64_t n, int64_t grain, int t)
{
    for (int k = 0; k < ex->threads; k++)
        if (!work_range(ex, (t + k) % ex->threads, g, fn, ctx, n, grain, t))
            return;
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
        /* job g's fields were written before gen was released; if the caller has already moved
         * on, the claim word carries a newer generation and work() claims nothing */
        work(ex, g, ex->fn, ex->ctx, ex->n, ex->grain, t);
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
    for (int t = 0; t < T2C_EXEC_MAX_THREADS; t++)
        atomic_init(&ex->claim[t], 0);
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
    if (!ex || ex->threads == 1 || n == 1 || n > 0xFFFFFFFFll) {
        fn(ctx, 0, n, 0);
        return;
    }
    /* runs of ~1/4 of a thread's share: balanced, few atomics */
    int64_t grain = n / (4 * (int64_t)ex->threads);
    grain = grain < 1 ? 1 : grain;
    const unsigned g = atomic_load_explicit(&ex->gen, memory_order_relaxed) + 1;
    ex->fn = fn, ex->ctx = ctx, ex->n = n, ex->grain = grain;
    atomic_store_explicit(&ex->done, 0, memory_order_relaxed);
    for (int r = 0; r < ex->threads; r++)
        atomic_store_explicit(&ex->claim[r], ((uint64_t)g << 32) | (uint64_t)(n * r / ex->threads),
                              memory_order_release);
    pthread_mutex_lock(&ex->mu);
    atomic_store_explicit(&ex->gen, g, memory_order_release);
    if (ex->sleepers)
        pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
    work(ex, g, fn, ctx, n, grain, 0);
    /* every item is claimed; wait for the runs other threads are still computing */
    unsigned spins = 0;
    while (atomic_load_explicit(&ex->done, memory_order_acquire) < n) {
        if (++spins < EXEC_SPIN * 4)
            cpu_relax();
        else
            sched_yield();
    }
}
