/* thread_pool.h - the process pool's twin with threads: the same calls, the same options and
 * results, pthreads instead of forked workers (Python: multiprocessing.pool.ThreadPool,
 * concurrent.futures.ThreadPoolExecutor).
 *
 * It exists to compare processes with threads on equal terms: the task slots, the chunking
 * and the parent's bookkeeping are the very code of pool.c, so a difference in a benchmark is
 * the difference between a process and a thread, nothing else.  What differs for the user:
 *   - a task shares the caller's memory (a global it writes is seen by everyone);
 *   - a crashing task (SIGSEGV) kills the whole program: there is no worker to replace, and
 *     on_crash and fault_rate have no effect;
 *   - thread_pool_terminate cannot kill a thread: it cancels each at its next cancellation
 *     point (sleep, read, ...) or waits until its current task returns;
 *   - the worker ids in outcomes and thread_pool_worker_pids are thread ids (gettid).
 * Iterators and futures are the process pool's: read them with pool_iter_next,
 * pool_future_wait, and free them with pool_iter_free, pool_future_free.
 */
#ifndef FORKLORE_THREAD_POOL_H
#define FORKLORE_THREAD_POOL_H

#include "pool/pool.h"

struct thread_pool;

int thread_pool_create(struct thread_pool **pool, const struct pool_options *options);
int thread_pool_map(struct thread_pool *pool, pool_task_fn fn, const void *args, size_t arg_size,
                    size_t count, void *results, size_t result_size, size_t chunk_size,
                    struct pool_outcome *outcomes);
int thread_pool_imap_unordered(struct thread_pool *pool, pool_task_fn fn, const void *args,
                               size_t arg_size, size_t count, size_t result_size, size_t chunk_size,
                               struct pool_iter **iter);
int thread_pool_submit(struct thread_pool *pool, pool_task_fn fn, const void *arg, size_t arg_size,
                       size_t result_size, struct pool_future **future);
int thread_pool_close(struct thread_pool *pool);
int thread_pool_terminate(struct thread_pool *pool);
void thread_pool_destroy(struct thread_pool *pool);
int thread_pool_worker_count(const struct thread_pool *pool);
int thread_pool_worker_pids(const struct thread_pool *pool, pid_t *tids, int max);
void thread_pool_get_stats(const struct thread_pool *pool, struct pool_stats *stats);

#endif
