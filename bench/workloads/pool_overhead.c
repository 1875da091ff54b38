#define _GNU_SOURCE
/* pool_overhead.c - workload: the cost of handing a task to a pool and getting its result
 * back, for no-op tasks, against the chunk size (tasks handed over at once).
 *
 * Series, all with one worker per usable CPU and the workers already running:
 *   process pool, thread pool         forklore's pool (pool.h, thread_pool.h): shared slots
 *   pipes per worker                  the transport the pool did not choose: a task pipe and
 *                                     a result pipe per worker, two chunks in flight each
 *   shm_queue                         the other one: two shared-memory MPMC queues (tasks,
 *                                     results), from lib/queues/shm_queue.h
 *   Python Pool.map, Python ProcessPoolExecutor.map   bench/python_pool.py, a co-process
 *   "..., auto chunk"                 the automatic chunk size, ceil(tasks / (4 workers))
 * The figure is the time from the first submit to the last result, per task (the driver's
 * wall time of run(), which here is just that; result->extra holds the job's own time as
 * measured inside, by Python for the Python series).  Each task returns its argument, and the
 * results are checked.
 *
 * Task counts: 100,000 (quick: 20,000), but 10,000 x chunk when that is fewer (quick: 2,000 x
 * chunk), so that Python at chunk 1 stays within the time budget; the automatic-chunk points
 * always use 100,000.  Every series uses the same count at the same x, so the ratios compare
 * equal jobs.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/pool.h"
#include "pool/thread_pool.h"
#include "python_coprocess.h"
#include "queues/shm_queue.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

enum variant { PROCESS_POOL, THREAD_POOL, PIPES, SHM_QUEUE, PY_POOL, PY_EXECUTOR, VARIANTS };
static const char *const variant_names[] = {"process pool",     "thread pool",
                                            "pipes per worker", "shm_queue",
                                            "Python Pool.map",  "Python ProcessPoolExecutor.map"};
/* A point's variant: its transport, and whether it uses the automatic chunk size (then x is
 * that chunk, for the plot); point.variant indexes this table, filled by the plan. */
struct overhead_variant {
    enum variant transport;
    int automatic;
};
static struct overhead_variant table[2 * VARIANTS];

static int variant_of(enum variant transport, int automatic)
{
    int index = 2 * (int)transport + (automatic != 0);
    table[index] = (struct overhead_variant){transport, automatic != 0};
    return index;
}
enum { MAX_CHUNK = 1000, MAX_TASKS = 100000 };

/* --- the task ------------------------------------------------------------------------------- */

static int noop_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    memcpy(result, arg, arg_size); /* returns its argument: the check sees every task once */
    *result_size = arg_size;
    return 0;
}

static long args[MAX_TASKS], results[MAX_TASKS];

static size_t tasks_for(double x, int quick, int automatic)
{
    size_t cap = quick ? 20000 : MAX_TASKS, per = quick ? 2000 : 10000;
    if (automatic)
        return MAX_TASKS; /* cheap even in quick mode (a few chunks), and a steadier ratio */
    return (size_t)x * per < cap ? (size_t)x * per : cap;
}

/* --- the alternative transports: forked workers, no pool library ------------------------------ */

struct plain_workers {
    int n;                          /* started */
    pid_t *pid;                     /* one per worker, as many as the point asks for */
    int *task_fd, *result_fd;       /* pipes: the parent's ends */
    struct pollfd *fds;             /* pipes: what run_pipes polls */
    int *in_flight;                 /* pipes: chunks sent to each worker, not yet back */
    struct shm_queue *tasks, *done; /* shm_queue */
};

/* A chunk on the wire: a count, then that many longs (arguments or results). */
struct chunk_message {
    uint32_t first, count;
    long values[MAX_CHUNK];
};

static int read_full(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            if (r == -1 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t w = write(fd, (const char *)buf + put, n - put);
        if (w <= 0) {
            if (w == -1 && errno == EINTR)
                continue;
            return -1;
        }
        put += (size_t)w;
    }
    return 0;
}

static size_t message_size(uint32_t count)
{
    return 8 + count * sizeof(long);
}

/* A pipe worker: read a chunk, run it, write the results; EOF on the task pipe: leave. */
static _Noreturn void pipe_worker(int in, int out)
{
    static struct chunk_message m;
    for (;;) {
        if (read_full(in, &m, 8) || m.count > MAX_CHUNK ||
            read_full(in, m.values, m.count * sizeof(long)))
            _exit(0);
        for (uint32_t i = 0; i < m.count; i++) {
            size_t size;
            noop_task(&m.values[i], sizeof(long), &m.values[i], &size);
        }
        if (write_full(out, &m, message_size(m.count)))
            _exit(1);
    }
}

/* A queue worker: pop a chunk, run it, push the results; EPIPE (closed and drained): leave. */
static _Noreturn void queue_worker(struct shm_queue *tasks, struct shm_queue *done)
{
    static struct chunk_message m;
    for (;;) {
        if (shm_queue_pop(tasks, &m, sizeof m, NULL) != 0)
            _exit(0);
        for (uint32_t i = 0; i < m.count; i++) {
            size_t size;
            noop_task(&m.values[i], sizeof(long), &m.values[i], &size);
        }
        if (shm_queue_push(done, &m, message_size(m.count)) != 0)
            _exit(1);
    }
}

static void plain_stop(struct plain_workers *w);

static int plain_start(struct plain_workers *w, int n, int use_pipes)
{
    *w = (struct plain_workers){.n = 0};
    w->pid = calloc((size_t)n, sizeof *w->pid);
    w->task_fd = calloc((size_t)n, sizeof *w->task_fd);
    w->result_fd = calloc((size_t)n, sizeof *w->result_fd);
    w->fds = calloc((size_t)n, sizeof *w->fds);
    w->in_flight = calloc((size_t)n, sizeof *w->in_flight);
    if (!w->pid || !w->task_fd || !w->result_fd || !w->fds || !w->in_flight ||
        (!use_pipes && (shm_queue_create(&w->tasks, NULL, sizeof(struct chunk_message), 64) ||
                        shm_queue_create(&w->done, NULL, sizeof(struct chunk_message), 64)))) {
        plain_stop(w);
        return -1;
    }
    pid_t parent = getpid();
    for (int i = 0; i < n; i++) {
        int t[2] = {-1, -1}, r[2] = {-1, -1};
        pid_t pid = -1;
        if (!use_pipes || (pipe(t) == 0 && pipe(r) == 0)) {
            fflush(NULL);
            pid = fork();
        }
        if (pid == -1) { /* close this worker's pipes; stop (and reap) the ones started */
            for (int k = 0; k < 2; k++) {
                if (t[k] != -1)
                    close(t[k]);
                if (r[k] != -1)
                    close(r[k]);
            }
            plain_stop(w);
            return -1;
        }
        if (pid == 0) {
            die_with_parent(parent);
            if (!use_pipes)
                queue_worker(w->tasks, w->done);
            for (int k = 0; k < i; k++) { /* the other workers' pipes are not ours */
                close(w->task_fd[k]);
                close(w->result_fd[k]);
            }
            close(t[1]);
            close(r[0]);
            pipe_worker(t[0], r[1]);
        }
        cleanup_add_child(pid);
        if (use_pipes) {
            close(t[0]);
            close(r[1]);
            w->task_fd[i] = t[1];
            w->result_fd[i] = r[0];
        }
        w->pid[w->n++] = pid;
    }
    return 0;
}

static void plain_stop(struct plain_workers *w)
{
    if (w->tasks)
        shm_queue_close(w->tasks); /* the workers drain, get EPIPE, leave */
    for (int i = 0; i < w->n; i++)
        if (!w->tasks)
            close(w->task_fd[i]); /* EOF: the worker leaves */
    for (int i = 0; i < w->n; i++) {
        while (waitpid(w->pid[i], NULL, 0) == -1 && errno == EINTR)
            continue;
        cleanup_forget_child(w->pid[i]);
        if (!w->tasks)
            close(w->result_fd[i]);
    }
    if (w->tasks)
        shm_queue_destroy(w->tasks);
    if (w->done)
        shm_queue_destroy(w->done);
    free(w->pid);
    free(w->task_fd);
    free(w->result_fd);
    free(w->fds);
    free(w->in_flight);
    *w = (struct plain_workers){.n = 0};
}

static void fill_message(struct chunk_message *m, size_t first, size_t count)
{
    m->first = (uint32_t)first;
    m->count = (uint32_t)count;
    memcpy(m->values, &args[first], count * sizeof(long));
}

/* Pipes: keep two chunks in flight per worker; poll the result pipes. */
static int run_pipes(struct plain_workers *w, size_t count, size_t chunk)
{
    static struct chunk_message m;
    struct pollfd *fds = w->fds;
    int *in_flight = w->in_flight;
    memset(in_flight, 0, sizeof *in_flight * (size_t)w->n);
    size_t next = 0, done = 0;
    for (int i = 0; i < w->n; i++) {
        fds[i] = (struct pollfd){.fd = w->result_fd[i], .events = POLLIN};
        for (int k = 0; k < 2 && next < count; k++, next += chunk) {
            fill_message(&m, next, next + chunk < count ? chunk : count - next);
            if (write_full(w->task_fd[i], &m, message_size(m.count)))
                return -1;
            in_flight[i]++;
        }
    }
    while (done < count) {
        if (poll(fds, (nfds_t)w->n, 10000) <= 0)
            return -1;
        for (int i = 0; i < w->n; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            if (read_full(fds[i].fd, &m, 8) ||
                read_full(fds[i].fd, m.values, m.count * sizeof(long)))
                return -1;
            memcpy(&results[m.first], m.values, m.count * sizeof(long));
            done += m.count;
            in_flight[i]--;
            if (next < count) {
                fill_message(&m, next, next + chunk < count ? chunk : count - next);
                next += m.count;
                if (write_full(w->task_fd[i], &m, message_size(m.count)))
                    return -1;
                in_flight[i]++;
            }
        }
    }
    return 0;
}

/* shm_queue: push while there is room, pop what is done; wait briefly when neither moves. */
static int run_queue(struct plain_workers *w, size_t count, size_t chunk)
{
    static struct chunk_message m;
    size_t next = 0, done = 0;
    while (done < count) {
        while (next < count) {
            fill_message(&m, next, next + chunk < count ? chunk : count - next);
            if (shm_queue_try_push(w->tasks, &m, message_size(m.count)) != 0)
                break;
            next += m.count;
        }
        int err = shm_queue_pop_timed(w->done, &m, sizeof m, NULL,
                                      next < count ? 20000 : 10 * 1000000000LL);
        if (err == ETIMEDOUT && next < count)
            continue;
        if (err)
            return -1;
        memcpy(&results[m.first], m.values, m.count * sizeof(long));
        done += m.count;
    }
    return 0;
}

/* --- what is kept between the runs of one point -------------------------------------------------
 */

/* Made by setup before the point's warm-up run and released by its teardown: no run, the
 * warm-up included, pays for a pool's or a co-process's start. */
static struct pool *process_pool;
static struct thread_pool *thread_pool;
static struct plain_workers plain;
static struct python_coprocess python;

/* teardown: whichever of them the point made. */
static void release(const struct point *p)
{
    (void)p;
    if (process_pool) {
        pool_close(process_pool);
        pool_destroy(process_pool);
        process_pool = NULL;
    }
    if (thread_pool) {
        thread_pool_close(thread_pool);
        thread_pool_destroy(thread_pool);
        thread_pool = NULL;
    }
    if (plain.n)
        plain_stop(&plain);
    python_coprocess_stop(&python);
}

/* setup: the transport of the point's variant, with the point's workers. */
static int prepare(const struct point *p, char *detail, size_t size)
{
    /* Room for the biggest chunk of 8-byte tasks: no more, so the slots stay small. */
    struct pool_options o = {.workers = p->workers,
                             .max_arg_size = sizeof(long),
                             .max_result_size = sizeof(long),
                             .max_chunk = 16384};
    int err = 0;
    switch (table[p->variant].transport) {
    case PROCESS_POOL: err = pool_create(&process_pool, &o); break;
    case THREAD_POOL: err = thread_pool_create(&thread_pool, &o); break;
    case PIPES: err = plain_start(&plain, p->workers, 1) ? EIO : 0; break;
    case SHM_QUEUE: err = plain_start(&plain, p->workers, 0) ? EIO : 0; break;
    case PY_POOL: err = python_coprocess_start(&python, "pool", p->workers) ? EIO : 0; break;
    case PY_EXECUTOR:
        err = python_coprocess_start(&python, "executor", p->workers) ? EIO : 0;
        break;
    case VARIANTS: err = EINVAL; break;
    }
    if (err) {
        snprintf(detail, size, "starting %s: %s", p->series, strerror(err));
        release(p); /* what a failed start made on its way */
        return -1;
    }
    return 0;
}

/* --- the workload ------------------------------------------------------------------------------
 */

static int run(const struct point *p, struct run_result *r)
{
    int automatic = table[p->variant].automatic;
    size_t count = tasks_for(p->x, p->quick, automatic), chunk = automatic ? 0 : (size_t)p->x;
    for (size_t i = 0; i < count; i++) {
        args[i] = (long)i;
        results[i] = -1;
    }
    int64_t start = monotonic_ns();
    long value = (long)count;
    double seconds = 0;
    int err = 0;
    switch (table[p->variant].transport) {
    case PROCESS_POOL:
        err = pool_map(process_pool, noop_task, args, sizeof(long), count, results, sizeof(long),
                       chunk, NULL);
        break;
    case THREAD_POOL:
        err = thread_pool_map(thread_pool, noop_task, args, sizeof(long), count, results,
                              sizeof(long), chunk, NULL);
        break;
    case PIPES: err = run_pipes(&plain, count, chunk) ? EIO : 0; break;
    case SHM_QUEUE: err = run_queue(&plain, count, chunk) ? EIO : 0; break;
    case PY_POOL:
    case PY_EXECUTOR: {
        char command[64];
        snprintf(command, sizeof command, "noop %zu %zu", count, chunk);
        err = python_coprocess_ask(&python, command, &seconds, &value) ? EIO : 0;
        for (size_t i = 0; i < count; i++)
            results[i] = (long)i; /* Python checked its own (it returns how many came back) */
        break;
    }
    case VARIANTS: err = EINVAL; break;
    }
    r->extra = seconds > 0 ? seconds : (monotonic_ns() - start) / 1e9;
    if (err) {
        snprintf(r->detail, sizeof r->detail, "%s, chunk %zu: %s", p->series, chunk, strerror(err));
        return -1;
    }
    size_t wrong = 0;
    for (size_t i = 0; i < count; i++)
        wrong += results[i] != (long)i;
    r->ops = (double)count;
    r->ok = wrong == 0 && value == (long)count;
    if (!r->ok) /* the detail is for what went wrong; a right run needs no note */
        snprintf(r->detail, sizeof r->detail,
                 "%zu tasks, chunk %zu: %zu wrong results, %ld returned", count, chunk, wrong,
                 value);
    return 0;
}

static int add(struct point *points, int n, int max, enum variant v, double x, int automatic)
{
    if (n >= max || ((v == PY_POOL || v == PY_EXECUTOR) && !python_available()))
        return n;
    snprintf(points[n].series, sizeof points[n].series, "%s%s", variant_names[v],
             automatic ? ", auto chunk" : "");
    points[n].x = x;
    points[n].variant = variant_of(v, automatic);
    points[n].cpus = usable_cpu_count();
    points[n].workers = points[n].cpus;
    return n + 1;
}

static int plan(struct point *points, int max, int quick)
{
    static const double chunks[] = {1, 10, 100, 1000}, quick_chunks[] = {1, 100};
    const double *c = quick ? quick_chunks : chunks;
    int nc = quick ? 2 : 4, n = 0;
    for (int v = 0; v < VARIANTS; v++)
        for (int i = 0; i < nc; i++)
            n = add(points, n, max, (enum variant)v, c[i], 0);
    double automatic = (double)pool_auto_chunk_size(tasks_for(0, quick, 1), usable_cpu_count());
    n = add(points, n, max, PROCESS_POOL, automatic, 1);
    n = add(points, n, max, PY_POOL, automatic, 1);
    return n;
}

static double inner_ns_per_task(const struct reduced_point *r, int n, const char *series, double x)
{
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].point.series, series) == 0 && r[i].point.x == x)
            return r[i].extra_median * 1e9 /
                   (double)tasks_for(x, r[i].point.quick, table[r[i].point.variant].automatic);
    return 0;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    double pool1 = inner_ns_per_task(r, n, "process pool", 1);
    double py1 = inner_ns_per_task(r, n, "Python Pool.map", 1);
    fprintf(out, "  per task, chunk 1 (time from first submit to last result, measured inside):\n");
    for (int v = 0; v < VARIANTS; v++) {
        double ns = inner_ns_per_task(r, n, variant_names[v], 1);
        if (ns > 0)
            fprintf(out, "    %-32s %10.0f ns\n", variant_names[v], ns);
    }
    if (pool1 > 0 && py1 > 0)
        fprintf(out,
                "  per-task overhead at chunk 1, Python Pool.map / process pool: %.1fx "
                "(target >= 20x) -- %s\n",
                py1 / pool1, py1 / pool1 >= 20 ? "met" : "NOT MET");
    double x = 0;
    for (int i = 0; i < n; i++)
        if (table[r[i].point.variant].automatic)
            x = r[i].point.x;
    double pool_auto = inner_ns_per_task(r, n, "process pool, auto chunk", x);
    double py_auto = inner_ns_per_task(r, n, "Python Pool.map, auto chunk", x);
    if (pool_auto > 0 && py_auto > 0)
        fprintf(out,
                "  automatic chunk (%g tasks per chunk), Python Pool.map / process pool: %.1fx "
                "(target >= 10x) -- %s\n",
                x, py_auto / pool_auto, py_auto / pool_auto >= 10 ? "met" : "NOT MET");
    if (!python_available())
        fprintf(out, "  Python series skipped: python3 (with multiprocessing) not found\n");
}

const struct workload workload_pool_overhead = {
    .name = "pool_overhead",
    .title = "Process pool: cost per no-op task against the chunk size",
    .shape = SHAPE_SERIES,
    .x_label = "chunk size (tasks per hand-over)",
    .figure_label = "time per task (ns)",
    .figure = FIGURE_NS_PER_OP,
    .plan = plan,
    .setup = prepare,
    .teardown = release,
    .run = run,
    .summarize = summarize,
    .observe = "Every series falls like 1/chunk until the copying of arguments and results is all "
               "that is left: the hand-over has a fixed cost, and chunking divides it. At chunk 1 "
               "the shared slots need no system call while the workers are busy, pipes need four "
               "per task; Python adds pickling and a result thread on top.",
};
