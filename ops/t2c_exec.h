/* t2c_exec.h — a tiny persistent thread pool for fast kernels (issue 7).
 *
 * A session with `threads` > 1 owns one pool; nodes reach it through t2c_node.exec. Kernels
 * split their outputs into independent items and call t2c_exec_for: every output element is
 * computed by exactly one thread with the same arithmetic as with one thread, so results do
 * not depend on the thread count. Not reentrant: one t2c_exec_for at a time per pool.
 */
#ifndef T2C_EXEC_H
#define T2C_EXEC_H

#include <stdint.h>

#include "t2c.h"

#define T2C_EXEC_MAX_THREADS 64

typedef struct t2c_exec t2c_exec;

/* threads: 1..T2C_EXEC_MAX_THREADS (the caller's thread counts as one). */
t2c_status t2c_exec_create(int threads, t2c_exec **out, t2c_error *err);
void t2c_exec_free(t2c_exec *ex); /* NULL is fine */
int t2c_exec_threads(const t2c_exec *ex); /* NULL -> 1 */

/* fn(ctx, begin, end, thread) over disjoint, non-empty ranges covering [0, n), claimed
 * dynamically by the caller (thread 0) and the workers (1..T-1): which thread runs which range
 * varies from run to run, so fn must compute each item the same way on any thread (per-thread
 * scratch indexed by `thread`). Returns when all are done. ex NULL, or n == 1, runs
 * fn(ctx, 0, n, 0) on the caller. */
typedef void (*t2c_exec_fn)(void *ctx, int64_t begin, int64_t end, int thread);
void t2c_exec_for(t2c_exec *ex, int64_t n, t2c_exec_fn fn, void *ctx);

/* Below this much work (multiply-accumulates, or element operations x 8) an op runs on the
 * caller alone: waking and waiting for a worker costs more than ~10 us of work saves. Default
 * 2,000,000; tests set 0 so that small nodes exercise the threaded paths too. */
extern int64_t t2c_exec_min_work;

static inline t2c_exec *t2c_exec_if(t2c_exec *ex, int64_t work)
{
    return work >= t2c_exec_min_work ? ex : NULL;
}

#endif /* T2C_EXEC_H */
