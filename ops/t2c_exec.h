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

/* fn(ctx, begin, end, thread) over contiguous, disjoint ranges covering [0, n); thread t
 * (0 = the caller) gets [n*t/T, n*(t+1)/T); empty ranges are not called. Returns when all are
 * done. ex NULL runs fn(ctx, 0, n, 0) on the caller. */
typedef void (*t2c_exec_fn)(void *ctx, int64_t begin, int64_t end, int thread);
void t2c_exec_for(t2c_exec *ex, int64_t n, t2c_exec_fn fn, void *ctx);

#endif /* T2C_EXEC_H */
