#define _GNU_SOURCE
/* mini_pool.c - lab 5: a minimal pool of worker processes.  YOUR CODE GOES HERE.
 *
 * Implement the five calls of mini_pool.h (read it first: it states the rules the grader
 * checks).  Every function below is a stub that fails at once, so the grader runs to the end
 * and shows what is missing: `make grade LAB=pool`.
 *
 * A suggested design (handout.md, "Steps", explains each step):
 *   - per worker, two pipes: a task pipe (parent -> worker) and a result pipe (worker -> parent);
 *   - tasks no worker can take yet wait in a queue in the parent's memory; a task is written
 *     to a worker only when that worker is idle (never queue a task behind one that may never
 *     end);
 *   - the parent waits in poll() on every worker's result pipe; end of file on one means the
 *     worker died: reap it, report the task it was running, fork a replacement;
 *   - destroy: SIGKILL every worker, waitpid each, close every pipe end, free.
 *
 * Lessons: ../../08-process-pool.md (a full pool; section 6 on dead workers),
 * ../../02-pipes-and-fifos.md (end of file, SIGPIPE, poll), ../../01a-wait-and-exec.md (fork,
 * waitpid, zombies).
 */
#include "mini_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h" /* die_with_parent(): a worker must not outlive its parent */

/* TODO: the messages.  A task needs its id, the function and the argument; a result its id
 * and value.  Keep each below PIPE_BUF so that one write() sends it whole. */

/* TODO: what the parent knows about one worker: its pid, the parent's end of each of its two
 * pipes, and the id of the task it is running (or "idle"). */

struct mini_pool {
    int count; /* TODO: the workers, the queue of tasks not handed out yet, the next id, how
                  many submitted tasks have not been reported yet */
};

/* TODO (step 1): a worker's loop: read a task from the task pipe, run it, write the result;
 * at end of file, _exit(0).  A worker leaves with _exit, never exit (lesson 01). */

/* TODO (step 1): start_worker(pool, i): two pipes, fflush(NULL), fork.  In the child:
 * die_with_parent(parent), close every pipe end it does not use (including the other
 * workers' ends, which it inherited!), then the loop.  In the parent: close the child's ends. */

struct mini_pool *mini_pool_create(int workers)
{
    /* TODO (step 1): check the count (EINVAL), ignore SIGPIPE (a write to a dead worker's pipe
     * must return EPIPE, not kill the program), allocate, start every worker.  On failure,
     * leave nothing behind. */
    (void)workers;
    errno = ENOSYS; /* "Function not implemented" */
    return NULL;
}

long mini_pool_submit(struct mini_pool *pool, mini_task_fn fn, long arg)
{
    /* TODO (step 2): give the task the next id, queue it, then hand queued tasks to idle
     * workers.  A write that fails with EPIPE means that worker died while idle: reap it,
     * start another, and keep the task. */
    (void)pool;
    (void)fn;
    (void)arg;
    errno = ENOSYS;
    return -1;
}

int mini_pool_next(struct mini_pool *pool, struct mini_result *result, int timeout_ms)
{
    /* TODO (steps 2 and 3): return 0 if nothing is outstanding.  Otherwise poll() every
     * worker's result pipe (with what is left of timeout_ms; ETIMEDOUT when it runs out).
     * A result: the worker is idle again (hand it the next queued task).  End of file: the
     * worker died: waitpid it, report its task as failed with the wait status, replace it. */
    (void)pool;
    (void)result;
    (void)timeout_ms;
    errno = ENOSYS;
    return -1;
}

int mini_pool_worker_pids(const struct mini_pool *pool, pid_t *pids, int max)
{
    /* TODO (step 3): copy the live workers' pids. */
    (void)pool;
    (void)pids;
    (void)max;
    return 0;
}

void mini_pool_destroy(struct mini_pool *pool)
{
    /* TODO (step 4): SIGKILL every worker (a stuck one will never read end of file), waitpid
     * each one (not wait(-1): that could reap a child that is not yours), close every pipe
     * end, free everything. */
    free(pool);
}
