/* thread_pool.c - see thread_pool.h.  A thin shell: a struct thread_pool pointer is a struct
 * pool pointer whose workers are threads (pool_create_threaded).  The type is never defined,
 * only named, so the compiler refuses a thread pool where a process pool is expected. */
#define _GNU_SOURCE
#include "pool/thread_pool.h"

#include <errno.h>

/* The handle is the pool itself, seen through another name. */
static struct pool *inner(const struct thread_pool *t)
{
    return (struct pool *)t;
}

int thread_pool_create(struct thread_pool **pool, const struct pool_options *options)
{
    if (!pool)
        return EINVAL;
    struct pool *p = NULL;
    int err = pool_create_threaded(&p, options);
    *pool = (struct thread_pool *)p;
    return err;
}

int thread_pool_map(struct thread_pool *pool, pool_task_fn fn, const void *args, size_t arg_size,
                    size_t count, void *results, size_t result_size, size_t chunk_size,
                    struct pool_outcome *outcomes)
{
    return pool_map(inner(pool), fn, args, arg_size, count, results, result_size, chunk_size,
                    outcomes);
}

int thread_pool_imap_unordered(struct thread_pool *pool, pool_task_fn fn, const void *args,
                               size_t arg_size, size_t count, size_t result_size, size_t chunk_size,
                               struct pool_iter **iter)
{
    return pool_imap_unordered(inner(pool), fn, args, arg_size, count, result_size, chunk_size,
                               iter);
}

int thread_pool_submit(struct thread_pool *pool, pool_task_fn fn, const void *arg, size_t arg_size,
                       size_t result_size, struct pool_future **future)
{
    return pool_submit(inner(pool), fn, arg, arg_size, result_size, future);
}

int thread_pool_close(struct thread_pool *pool)
{
    return pool_close(inner(pool));
}
int thread_pool_terminate(struct thread_pool *pool)
{
    return pool_terminate(inner(pool));
}
void thread_pool_destroy(struct thread_pool *pool)
{
    pool_destroy(inner(pool));
}
int thread_pool_worker_count(const struct thread_pool *pool)
{
    return pool_worker_count(inner(pool));
}
int thread_pool_worker_pids(const struct thread_pool *pool, pid_t *tids, int max)
{
    return pool_worker_pids(inner(pool), tids, max);
}
void thread_pool_get_stats(const struct thread_pool *pool, struct pool_stats *stats)
{
    pool_get_stats(inner(pool), stats);
}
