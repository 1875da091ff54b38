/* mini_pool.h - the interface of lab 5: a minimal pool of worker processes (do not edit).
 *
 * A pool of W worker processes, forked once, that run tasks of the form `long fn(long arg)`:
 *
 *     struct mini_pool *pool = mini_pool_create(4);
 *     long id = mini_pool_submit(pool, square, 12);     // queued; returns at once
 *     struct mini_result r;
 *     while (mini_pool_next(pool, &r, -1) == 1)          // results in the order they finish
 *         printf("task %ld: %s %ld\n", r.id, r.ok ? "ok" : "worker died", r.value);
 *     mini_pool_destroy(pool);
 *
 * The rules every implementation keeps (the grader checks each one):
 *   - A task goes to a worker only when that worker is idle: a task that never returns holds
 *     its own worker and nothing else, and every other task still runs.
 *   - Every submitted task is reported exactly once by mini_pool_next: with its value, or as
 *     failed when its worker died while running it (a crash, raise(SIGKILL), kill -9 from
 *     outside).  A dead worker is reaped at once and a new one forked in its place, so the
 *     pool keeps W workers.
 *   - mini_pool_destroy kills (SIGKILL) and reaps every worker, including one stuck in a task,
 *     closes every file descriptor the pool opened and frees everything.
 *
 * The parent does its bookkeeping (handing out queued tasks, noticing deaths, starting new
 * workers) only inside these calls: there is no thread in the background.  A pool belongs to
 * the one thread that created it.  Do not call wait(-1) while a pool exists: it could reap a
 * worker the pool is watching.
 *
 * Python counterpart: concurrent.futures.ProcessPoolExecutor(W) with submit() and
 * as_completed(), or multiprocessing.Pool(W).imap_unordered; see the handout for where they
 * differ (BrokenProcessPool).
 */
#ifndef MINI_POOL_H
#define MINI_POOL_H

#include <sys/types.h>

/* A task: runs in a worker process.  The workers are forked copies of the program, so a
 * function pointer of the parent is valid in them. */
typedef long (*mini_task_fn)(long arg);

/* More workers than this is a typo, not a plan. */
#define MINI_POOL_MAX_WORKERS 256

struct mini_pool; /* defined in mini_pool.c: its contents are yours to design */

/* What became of one task. */
struct mini_result {
    long id;    /* the id mini_pool_submit returned for it */
    int ok;     /* 1: the task returned value; 0: its worker died while running it */
    long value; /* fn(arg) when ok; 0 otherwise */
    int status; /* when !ok: the dead worker's wait status (WIFSIGNALED, WTERMSIG ...) */
};

/* Fork `workers` worker processes (1 to MINI_POOL_MAX_WORKERS).  Returns the pool, or NULL
 * with errno set (EINVAL for a bad count; or the error of pipe, fork, malloc), in which case
 * nothing is left behind: no process, no file descriptor. */
struct mini_pool *mini_pool_create(int workers);

/* Queue fn(arg) and return at once with the task's id (0, 1, 2 ... in the order of
 * submission), or -1 with errno set.  If a worker is idle, the task is handed to it before
 * mini_pool_submit returns; otherwise it waits in the parent until a worker is free. */
long mini_pool_submit(struct mini_pool *pool, mini_task_fn fn, long arg);

/* Wait for the next task to finish, in whatever order they finish, and describe it in
 * *result.  timeout_ms < 0 waits as long as it takes.  Returns, like read():
 *    1  a result (a task finished, or its worker died);
 *    0  nothing to wait for: every submitted task has been reported (at once, no waiting);
 *   -1  errno ETIMEDOUT when timeout_ms passed first, or another errno on failure. */
int mini_pool_next(struct mini_pool *pool, struct mini_result *result, int timeout_ms);

/* The pids of the live workers, at most max of them; returns how many were written.  (The
 * grader uses it to kill a worker from outside.) */
int mini_pool_worker_pids(const struct mini_pool *pool, pid_t *pids, int max);

/* Kill and reap every worker, close every descriptor, free the pool.  Tasks not yet reported
 * are dropped.  NULL is allowed and does nothing. */
void mini_pool_destroy(struct mini_pool *pool);

#endif
