#define _GNU_SOURCE
/* mini_pool.c - lab 5, BROKEN on purpose: the reference solution, except that tasks are dealt
 * out in turn (round-robin) the moment they are submitted, busy worker or not.
 *
 * THE MISTAKE: mini_pool_submit writes each task straight into the task pipe of the next
 * worker in turn, and the pipes serve as the queues.  It looks fair and even simpler (no
 * queue in the parent), and it is right as long as every task ends.  But a task that never
 * returns now holds back every task dealt to the same worker after it: about 1/W of all the
 * tasks wait for ever, although the other workers are idle.  Deaths are handled carefully
 * (the tasks a dead worker had not started are dealt again), so only the parallelism probe
 * catches it (see FAILS).  The fix is the reference's: keep the queue in the parent, and
 * write a task only to a worker that is idle.
 *
 * The original description, still true of everything else:
 *
 * The design in four sentences.  Each worker has a task pipe (parent -> worker) and a result
 * pipe (worker -> parent); the parent hands a task to a worker only when that worker is idle,
 * so a task that never returns blocks one worker and nothing else.  Tasks nobody can take yet
 * wait in a queue in the parent's memory.  The parent waits in poll() on every result pipe:
 * a readable pipe is either a result or end of file, and end of file means that the worker
 * died (only the worker holds the write end), which the parent turns into a "worker died"
 * result for the task it was running before it reaps the worker and forks a new one.
 * mini_pool_destroy needs no cooperation from the workers: SIGKILL, then waitpid each one.
 *
 * What to observe (when reading): every pipe end is closed by every process that does not use
 * it, including the ends of the *other* workers that a new worker inherits from the parent;
 * nothing in here calls wait(-1) or sleeps; a write to a dead worker's pipe is EPIPE, not a
 * crash, because SIGPIPE is ignored.
 *
 * Python counterpart: ProcessPoolExecutor.submit + as_completed (a dead worker breaks the
 * whole executor there: BrokenProcessPool), multiprocessing.Pool.imap_unordered (a dead
 * worker is replaced, but its task is never reported).
 *
 * See also: lessons/08-process-pool.md (the full pool, lib/pool/pool.c),
 * lessons/02-pipes-and-fifos.md (end of file, SIGPIPE, poll), lessons/01a-wait-and-exec.md
 * (reaping).
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

#include "support/cleanup.h"

/* The two messages.  Both are far below PIPE_BUF, so each write() lands whole. */
struct task_message {
    long id;
    mini_task_fn fn; /* valid in the worker: it is a forked copy of this program */
    long arg;
};
struct result_message {
    long id;
    long value;
};

/* What the parent knows about one worker.  pid 0 means the place is empty (its worker died
 * and no replacement has been forked yet). */
struct worker {
    pid_t pid;
    int task_fd;   /* the parent writes tasks here */
    int result_fd; /* and reads results here */
    /* The tasks written to its pipe and not answered yet, oldest first (the first is the
     * one it runs): held[0 .. held_count). */
    struct task_message *held;
    size_t held_count, held_capacity;
};

struct mini_pool {
    int count;
    struct worker *workers;
    int next_worker; /* who gets the next task: 0, 1, ..., W - 1, 0, ... */
    long next_id;
    long unreported; /* submitted but not yet returned by mini_pool_next */
};

/* ---- the worker side ------------------------------------------------------------------------ */

/* Read exactly size bytes; 0 at end of file, -1 on error. */
static ssize_t read_whole(int fd, void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, (char *)buffer + done, size - done);
        if (n == 0)
            return done == 0 ? 0 : -1; /* end of file in the middle: a torn message */
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* A worker's whole life: take a task, run it, send the result, until the parent closes the
 * task pipe (end of file).  It leaves with _exit: exit() would flush stdio buffers copied
 * from the parent and run the parent's atexit handlers. */
static _Noreturn void worker_loop(int task_fd, int result_fd)
{
    for (;;) {
        struct task_message task;
        ssize_t n = read_whole(task_fd, &task, sizeof task);
        if (n == 0)
            _exit(0);
        if (n != (ssize_t)sizeof task)
            _exit(1);
        struct result_message result = {task.id, task.fn(task.arg)};
        if (write(result_fd, &result, sizeof result) != (ssize_t)sizeof result)
            _exit(1); /* the parent is gone or closed the pipe: nobody wants the result */
    }
}

/* ---- starting and ending workers ---------------------------------------------------------- */

/* Fork the worker for place i, with its two pipes.  O_CLOEXEC keeps the parent's ends out of
 * any program the caller later execs. */
static int start_worker(struct mini_pool *pool, int i)
{
    int task_pipe[2], result_pipe[2];
    if (pipe2(task_pipe, O_CLOEXEC) == -1)
        return -1;
    if (pipe2(result_pipe, O_CLOEXEC) == -1) {
        close(task_pipe[0]);
        close(task_pipe[1]);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL); /* or the child would inherit unwritten output, and could write it twice */
    pid_t pid = fork();
    if (pid == -1) {
        int saved = errno;
        close(task_pipe[0]);
        close(task_pipe[1]);
        close(result_pipe[0]);
        close(result_pipe[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        die_with_parent(parent); /* a worker must not outlive the program that uses it */
        /* The child holds a copy of every descriptor the parent had, the other workers'
         * pipe ends included.  Close them all: a stray copy of another worker's task pipe
         * would keep that worker from ever seeing end of file. */
        for (int j = 0; j < pool->count; j++)
            if (pool->workers[j].pid != 0) {
                close(pool->workers[j].task_fd);
                close(pool->workers[j].result_fd);
            }
        close(task_pipe[1]);
        close(result_pipe[0]);
        worker_loop(task_pipe[0], result_pipe[1]);
    }
    /* The parent keeps only its own ends.  Closing the result pipe's write end matters most:
     * end of file on that pipe is how the parent learns that the worker died. */
    close(task_pipe[0]);
    close(result_pipe[1]);
    struct worker *w = &pool->workers[i];
    w->pid = pid;
    w->task_fd = task_pipe[1];
    w->result_fd = result_pipe[0];
    w->held_count = 0;
    return 0;
}

/* Make sure the worker of place i is dead, reap it, close its pipes, empty the place.
 * Returns its wait status.  SIGKILL first: a worker that is merely stuck would otherwise
 * make waitpid wait for ever; one that is already dead is not affected. */
static int end_worker(struct mini_pool *pool, int i)
{
    struct worker *w = &pool->workers[i];
    int status = 0;
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &status, 0) == -1 && errno == EINTR)
        ;
    close(w->task_fd);
    close(w->result_fd);
    w->pid = 0;
    return status;
}

/* ---- dealing tasks out ---------------------------------------------------------------------- */

static int hold(struct worker *w, struct task_message task)
{
    if (w->held_count == w->held_capacity) {
        size_t capacity = w->held_capacity ? 2 * w->held_capacity : 16;
        struct task_message *grown = realloc(w->held, capacity * sizeof *grown);
        if (!grown)
            return -1;
        w->held = grown;
        w->held_capacity = capacity;
    }
    w->held[w->held_count++] = task;
    return 0;
}

static int deal(struct mini_pool *pool, struct task_message task);

/* The worker of place i has been ended (end_worker): start another and deal again the tasks
 * the dead one had not started (from `from` on). */
static int replace_and_redeal(struct mini_pool *pool, int i, size_t from)
{
    struct worker *w = &pool->workers[i];
    size_t count = w->held_count;
    struct task_message *held = w->held;
    w->held = NULL;
    w->held_count = w->held_capacity = 0;
    int rc = start_worker(pool, i);
    for (size_t k = from; rc == 0 && k < count; k++)
        rc = deal(pool, held[k]);
    free(held);
    return rc;
}

/* Give the task to the next worker in turn, whether it is busy or not (THE MISTAKE). */
static int deal(struct mini_pool *pool, struct task_message task)
{
    for (;;) {
        int i = pool->next_worker;
        pool->next_worker = (i + 1) % pool->count;
        struct worker *w = &pool->workers[i];
        if (w->pid == 0 && start_worker(pool, i) == -1)
            return -1;
        if (write(w->task_fd, &task, sizeof task) == (ssize_t)sizeof task)
            return hold(w, task);
        if (errno != EPIPE)
            return -1;
        /* A dead worker: none of its tasks can have been answered, deal them all again. */
        end_worker(pool, i);
        if (replace_and_redeal(pool, i, 0) == -1)
            return -1;
    }
}

/* ---- the calls ------------------------------------------------------------------------------ */

struct mini_pool *mini_pool_create(int workers)
{
    if (workers < 1 || workers > MINI_POOL_MAX_WORKERS) {
        errno = EINVAL;
        return NULL;
    }
    /* Writing to a pipe whose reader died raises SIGPIPE, which would kill the whole program
     * for one dead worker.  Ignored, the write returns EPIPE instead (Python ignores SIGPIPE
     * from start-up for the same reason). */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return NULL;
    struct mini_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->count = workers;
    pool->workers = calloc((size_t)workers, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return NULL;
    }
    for (int i = 0; i < workers; i++) {
        if (start_worker(pool, i) == -1) {
            int saved = errno;
            mini_pool_destroy(pool); /* ends the workers already started */
            errno = saved;
            return NULL;
        }
    }
    return pool;
}

long mini_pool_submit(struct mini_pool *pool, mini_task_fn fn, long arg)
{
    if (!pool || !fn) {
        errno = EINVAL;
        return -1;
    }
    struct task_message task = {pool->next_id, fn, arg};
    if (deal(pool, task) == -1)
        return -1;
    pool->next_id++;
    pool->unreported++;
    return task.id;
}

/* Milliseconds left until deadline_ns (CLOCK_MONOTONIC), for poll(); -1 means no limit. */
static int ms_left(long long deadline_ns)
{
    if (deadline_ns < 0)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = deadline_ns - ((long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* Worker i's result pipe is readable: a result, or end of file (the worker died).
 * Returns 1 with *result filled, 0 when there is nothing to report (an idle worker died),
 * -1 on error. */
static int take_from(struct mini_pool *pool, int i, struct mini_result *result)
{
    struct worker *w = &pool->workers[i];
    struct result_message message;
    ssize_t n = read_whole(w->result_fd, &message, sizeof message);
    if (n == (ssize_t)sizeof message) {
        *result = (struct mini_result){message.id, 1, message.value, 0};
        if (w->held_count > 0) /* answers come in the order the tasks were written */
            memmove(w->held, w->held + 1, --w->held_count * sizeof *w->held);
        pool->unreported--;
        return 1;
    }
    /* End of file (or a pipe that can no longer be read): nobody holds the write end any
     * more, so the worker is dead or dying.  Reap it now (no zombie), report the task it was
     * running, and leave the place empty for hand_out to fill. */
    if (w->held_count == 0) {
        end_worker(pool, i);
        return start_worker(pool, i) == -1 ? -1 : 0;
    }
    long lost = w->held[0].id; /* the one it was running; the others never started */
    int status = end_worker(pool, i);
    if (replace_and_redeal(pool, i, 1) == -1)
        return -1;
    *result = (struct mini_result){lost, 0, 0, status};
    pool->unreported--;
    return 1;
}

int mini_pool_next(struct mini_pool *pool, struct mini_result *result, int timeout_ms)
{
    if (!pool || !result) {
        errno = EINVAL;
        return -1;
    }
    if (pool->unreported == 0)
        return 0;
    long long deadline = -1;
    if (timeout_ms >= 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        deadline = (long long)now.tv_sec * 1000000000LL + now.tv_nsec + timeout_ms * 1000000LL;
    }
    struct pollfd fds[MINI_POOL_MAX_WORKERS];
    for (;;) {
        /* Every worker's result pipe, idle ones too: that is how a worker killed while idle
         * is noticed and reaped. */
        for (int i = 0; i < pool->count; i++)
            fds[i] = (struct pollfd){pool->workers[i].result_fd, POLLIN, 0};
        int ready = poll(fds, (nfds_t)pool->count, ms_left(deadline));
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (ready == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        for (int i = 0; i < pool->count; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int got = take_from(pool, i, result);
            if (got != 0) {
                return got;
            }
        }
    }
}

int mini_pool_worker_pids(const struct mini_pool *pool, pid_t *pids, int max)
{
    int written = 0;
    for (int i = 0; pool && i < pool->count && written < max; i++)
        if (pool->workers[i].pid != 0)
            pids[written++] = pool->workers[i].pid;
    return written;
}

void mini_pool_destroy(struct mini_pool *pool)
{
    if (!pool)
        return;
    /* Kill them all first, then reap: they die at the same time instead of one by one. */
    for (int i = 0; i < pool->count; i++)
        if (pool->workers[i].pid != 0)
            kill(pool->workers[i].pid, SIGKILL);
    for (int i = 0; i < pool->count; i++)
        if (pool->workers[i].pid != 0)
            end_worker(pool, i);
    for (int i = 0; i < pool->count; i++)
        free(pool->workers[i].held);
    free(pool->workers);
    free(pool);
}
