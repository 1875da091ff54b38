/* pool.h - a pool of pre-forked worker processes that run tasks (functions of this binary)
 * and send their results back: forklore's multiprocessing.Pool / ProcessPoolExecutor.
 *
 * A task is a function pointer plus a few bytes of argument; its result is a few bytes too.
 * The workers are forked, never exec'd, so a function pointer of the parent is valid in them.
 * Sizes are bounded (set at pool_create) because arguments and results travel through shared
 * memory mapped before the fork: nothing is pickled, nothing is ever named in /dev/shm.
 *
 *   Python                                   forklore
 *   Pool(processes, initializer, initargs,   pool_create(&pool, &options)
 *        maxtasksperchild)
 *   pool.map(f, items, chunksize)            pool_map(pool, f, args, ..., chunk, outcomes)
 *   pool.imap_unordered(f, items, chunksize) pool_imap_unordered + pool_iter_next
 *   pool.apply_async(f, (x,)).get(timeout)   pool_submit + pool_future_wait(timeout)
 *   ProcessPoolExecutor.submit(f, x)         pool_submit (a future; exceptions -> status)
 *   pool.close(); pool.join()                pool_close(pool)
 *   pool.terminate()                         pool_terminate(pool)
 *
 * How it works (pool.c explains each step): the pool owns a shared array of "slots", each
 * holding one chunk of tasks and, per task, its argument and its result.  A slot's state is
 * one atomic word: EMPTY (the parent's), QUEUED, RUNNING by worker w, DONE.  A worker claims a
 * QUEUED slot with one compare-and-swap that also records who claimed it, so every half-done
 * state names its owner: when a worker dies (SIGKILL, a crash), the parent reaps it, finds the
 * slot it held, keeps the tasks it had finished, and retries or fails the one it was running.
 *
 * Only the thread that calls these functions does the parent's bookkeeping (there is no hidden
 * result-handler thread): queued work moves on while you are inside pool_map, pool_iter_next,
 * pool_future_wait or pool_close.  A pool, its iterators and futures belong to one thread.
 *
 * Errors: functions return 0 or an error number (errno is not used):
 *   EINVAL     a bad argument (a null function, a zero count with a null array, a chunk
 *              larger than max_chunk, workers out of range ...)
 *   EMSGSIZE   an argument or a result capacity larger than the pool's maximum
 *   EPIPE      the pool is closed or terminated
 *   EIO        pool_map: at least one task failed or lost its worker (see its outcome)
 *   ETIMEDOUT  a wait with a timeout ran out of time (the future or iterator stays valid)
 *   ECHILD     the pool is broken: a worker's initializer failed
 *   others     from mmap, fork, pthread_create (ENOMEM, EAGAIN ...)
 *
 * Leave nothing behind: the workers are registered with cleanup_add_child() and call
 * die_with_parent(), so with cleanup_install() in main a Ctrl-C kills and reaps them.  Do not
 * call wait(-1) while a pool exists: it could reap a worker the pool is watching.
 */
#ifndef FORKLORE_POOL_H
#define FORKLORE_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits, checked by pool_create (EINVAL).  Workers: two per CPU on a 2048-CPU machine; more
 * than this is a typo, not a plan.  Slots: the default of 4 per worker at the most workers. */
#define POOL_MAX_WORKERS 4096
#define POOL_MAX_SLOTS (4 * POOL_MAX_WORKERS)
#define POOL_MAX_CHUNK ((size_t)1 << 20)
#define POOL_MAX_PAYLOAD ((size_t)1 << 20) /* bytes of one argument or one result */

/* A task: read arg_size bytes of argument, write at most *result_size bytes of result and
 * store how many were written in *result_size.  Return 0, or a non-zero error code that is
 * carried back to the caller with the task's index (like an exception in Python). */
typedef int (*pool_task_fn)(const void *arg, size_t arg_size, void *result, size_t *result_size);

/* What happens to the task a worker was running when it died. */
enum pool_on_crash {
    POOL_RETRY_ONCE,    /* run it once more on a new worker; a second death reports it failed */
    POOL_REPORT_FAILED, /* report it failed at once (status POOL_TASK_WORKER_DIED) */
};

struct pool_options {
    int workers;            /* 0: usable_cpu_count() */
    size_t max_arg_size;    /* 0: 64 bytes */
    size_t max_result_size; /* 0: 64 bytes */
    size_t max_chunk;       /* most tasks in one chunk; 0: 1024 */
    int slots;              /* chunks in flight at once; 0: 4 * workers, at least 32 */
    /* Run once in each new worker before its first task (Python: initializer=).  Non-zero
     * means the worker cannot work: the pool is marked broken (ECHILD). */
    int (*initializer)(void *arg);
    void *initializer_arg;
    /* Chunks (not tasks) a worker runs before it is replaced; 0: no limit.  Like Python's
     * maxtasksperchild, where a chunk of a map also counts as one task. */
    long max_tasks_per_worker;
    enum pool_on_crash on_crash;
    /* Testing only: each worker SIGKILLs itself with this probability at each step of the
     * slot protocol (after a claim, between tasks, half-way through writing a result, after
     * publishing), to show that every half-done state is repaired.  0: never. */
    double fault_rate;
    unsigned fault_seed;
};

/* What became of one task. */
enum pool_task_status {
    POOL_TASK_OK,          /* the function returned 0; the result is valid */
    POOL_TASK_ERROR,       /* the function returned `error` (non-zero) */
    POOL_TASK_WORKER_DIED, /* the worker died running it; `error` is the wait status */
    POOL_TASK_CANCELLED,   /* the pool was terminated (or broken) before it ran */
};

struct pool_outcome {
    size_t index;       /* the task's identity: its position in the input (0 for a submit) */
    int status;         /* enum pool_task_status */
    int error;          /* ERROR: the function's return value; WORKER_DIED: a wait status */
    pid_t worker;       /* the process (or thread id) that ran it last */
    int attempts;       /* times it was started (2 after a retry) */
    size_t result_size; /* bytes of result written */
    /* The task's span on the monotonic clock (monotonic_ns), taken by the worker around the
     * call of its last attempt: end_ns is 0 if it never returned (its worker died), both are
     * 0 if it never started (cancelled). */
    int64_t start_ns, end_ns;
};

/* The life of one worker, as the parent saw it: from its fork to its reaping. */
enum pool_worker_end {
    POOL_WORKER_RUNNING,  /* still alive */
    POOL_WORKER_EXITED,   /* left when the pool closed */
    POOL_WORKER_RECYCLED, /* left after max_tasks_per_worker, and was replaced */
    POOL_WORKER_DIED,     /* killed or crashed (or its initializer failed), and was replaced */
    POOL_WORKER_STOPPED,  /* killed by pool_terminate or pool_destroy */
};
struct pool_worker_span {
    pid_t pid;                /* the process (a thread's id in a threaded pool) */
    int worker;               /* its place, 0 .. workers-1: a replacement takes the same place */
    int64_t start_ns, end_ns; /* monotonic_ns at fork and at reaping (end 0 while running) */
    int end;                  /* enum pool_worker_end */
    int status;               /* the wait status it ended with */
    pid_t replaced_by;        /* the worker forked in its place, or 0 */
};

struct pool_stats {
    long tasks_done;                /* tasks whose result (or error) came back */
    long workers_started;           /* including the first ones */
    long worker_deaths;             /* workers that died while they held a chunk, or crashed */
    long workers_recycled;          /* workers that left after max_tasks_per_worker */
    long tasks_retried, tasks_lost; /* crashed tasks run again / reported WORKER_DIED */
};

struct pool;
struct pool_iter;   /* the results of pool_imap_unordered, one at a time */
struct pool_future; /* the result of one pool_submit */

/* options may be NULL (all defaults). */
int pool_create(struct pool **pool, const struct pool_options *options);

/* Python's chunk size for map: ceil(count / (4 * workers)), at least 1. */
size_t pool_auto_chunk_size(size_t count, int workers);

/* Run fn on count arguments (args: count * arg_size bytes) and write the results in input
 * order into results (count * result_size bytes; each task may write up to result_size).
 * chunk_size 0 picks pool_auto_chunk_size (capped at max_chunk).  outcomes (count entries)
 * may be NULL.  Returns 0 when every task succeeded, EIO when any did not. */
int pool_map(struct pool *pool, pool_task_fn fn, const void *args, size_t arg_size, size_t count,
             void *results, size_t result_size, size_t chunk_size, struct pool_outcome *outcomes);

/* Start the same job, to read the results as they complete.  args must stay valid until the
 * iterator is freed.  pool_iter_next fills *outcome and copies the result into result (which
 * holds result_size bytes, or is NULL); timeout_ns < 0 waits for ever.  EPIPE: all read. */
int pool_imap_unordered(struct pool *pool, pool_task_fn fn, const void *args, size_t arg_size,
                        size_t count, size_t result_size, size_t chunk_size,
                        struct pool_iter **iter);
int pool_iter_next(struct pool_iter *iter, struct pool_outcome *outcome, void *result,
                   int64_t timeout_ns);
void pool_iter_free(struct pool_iter *iter); /* unread results are discarded when they come */

/* One task; the argument is copied at once.  Wait for it with a timeout (< 0: for ever). */
int pool_submit(struct pool *pool, pool_task_fn fn, const void *arg, size_t arg_size,
                size_t result_size, struct pool_future **future);
int pool_future_wait(struct pool_future *future, int64_t timeout_ns, struct pool_outcome *outcome,
                     void *result);
void pool_future_free(struct pool_future *future);

/* close: refuse new work, finish everything queued, let the workers exit, reap them.
 * terminate: kill the workers now (SIGKILL) and reap them; unfinished tasks are CANCELLED.
 * destroy: terminate if needed, then free the pool (free its iterators and futures first). */
int pool_close(struct pool *pool);
int pool_terminate(struct pool *pool);
void pool_destroy(struct pool *pool);

/* Facts. */
int pool_worker_count(const struct pool *pool);
int pool_worker_pids(const struct pool *pool, pid_t *pids, int max); /* the live workers */
void pool_get_stats(const struct pool *pool, struct pool_stats *stats);
/* Every worker the pool has started, in order of start, for a timeline (pool_trace.h).  The
 * array belongs to the pool and is valid until its next call; returns the count. */
size_t pool_worker_history(struct pool *pool, const struct pool_worker_span **spans);
const char *pool_worker_end_name(int end); /* "running", "exited", "recycled", ... */
const char *pool_status_name(int status);  /* "ok", "error", "worker died", "cancelled" */

/* For thread_pool.c: the same pool with threads instead of processes. */
int pool_create_threaded(struct pool **pool, const struct pool_options *options);

#endif
