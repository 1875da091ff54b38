#define _GNU_SOURCE
/* pool_scaling.c - workload: counting primes with a process pool, a thread pool, a fork-join
 * static split and Python's multiprocessing.Pool, across core counts (strong scaling).
 *
 * The job is the same for every series: the primes below N, [0, N) cut into 100 equal
 * ranges, one task per range, handed out one at a time (chunk 1: a task takes hundreds of
 * microseconds, a hand-over well under one, and the last task to finish is 1% of the job,
 * where the automatic chunk, a quarter of a worker's share, could leave one worker idle for
 * several percent).  Equal ranges are unequal work (testing n costs up to sqrt(n)); the
 * fork-join series forks P children per run, each taking a contiguous block of ranges
 * decided in advance, and so pays for both the forks and the imbalance.
 *
 * The pools are created by the point's setup, before its warm-up run, and kept for its timed
 * runs ("pool already running"); Python runs bench/python_pool.py as a co-process started per
 * point, which times the job itself (result->extra holds every series' own job time, in seconds).
 * The answer is checked against a sieve.
 *
 * Beside them, the process pool in weak scaling: the work grows with the workers (25 tasks
 * each, all counting the same window of numbers), so the time should stay flat as k grows.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork_workers.h"
#include "pool/pool.h"
#include "pool/thread_pool.h"
#include "prime_job.h"
#include "python_coprocess.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

enum variant { PROCESS_POOL, THREAD_POOL, FORK_JOIN, PYTHON_POOL, PROCESS_POOL_WEAK };
static const char *const variant_names[] = {
    "process pool", "thread pool", "fork-join, static split", "Python multiprocessing.Pool",
    "process pool, weak scaling"};
enum { RANGES = 100, CHUNK = 1 };
/* Weak scaling: 25 tasks per worker, every one counting the primes in the same window above
 * WEAK_BASE, so P workers get P times the work of one and should take the same time. */
enum { WEAK_TASKS_PER_WORKER = 25, WEAK_BASE = 4000000 };

/* --- what is kept between the runs of one point -------------------------------------------- */

static struct pool *process_pool;
static struct thread_pool *thread_pool;
static struct python_coprocess python;

/* teardown: what setup made for the point. */
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
    python_coprocess_stop(&python);
}

/* setup: the pool (or co-process) the point's runs share, made before its warm-up.  The driver
 * pinned us already: the workers inherit the point's CPUs. */
static int prepare(const struct point *p, char *detail, size_t size)
{
    struct pool_options o = {.workers = p->workers};
    int err = 0;
    if (p->workers > POOL_MAX_WORKERS && p->variant != FORK_JOIN && p->variant != PYTHON_POOL) {
        snprintf(detail, size,
                 "%d workers: more than the pool's limit, POOL_MAX_WORKERS (%d, "
                 "pool.h)",
                 p->workers, POOL_MAX_WORKERS);
        return -1;
    }
    switch ((enum variant)p->variant) {
    case PROCESS_POOL:
    case PROCESS_POOL_WEAK: err = pool_create(&process_pool, &o); break;
    case THREAD_POOL: err = thread_pool_create(&thread_pool, &o); break;
    case PYTHON_POOL: err = python_coprocess_start(&python, "pool", p->workers) ? EIO : 0; break;
    case FORK_JOIN: break;
    }
    if (err)
        snprintf(detail, size, "starting the %s: %s", p->series, strerror(err));
    return err ? -1 : 0;
}

/* --- fork-join: P children, contiguous blocks of ranges fixed in advance -------------------- */

struct fork_join_share {
    const struct prime_range *ranges;
    int workers;
};

/* Worker w counts ranges [RANGES w / P, RANGES (w + 1) / P): a block decided in advance. */
static int fork_join_worker(int w, void *arg, void *record)
{
    const struct fork_join_share *share = arg;
    int first = RANGES * w / share->workers, end = RANGES * (w + 1) / share->workers;
    prime_count_with_span(&share->ranges[first], end - first, record);
    return 0;
}

/* One record per worker in results (room for `workers`); 0, or -1 with the reason in detail. */
static int fork_join(const struct prime_range *ranges, int workers, struct prime_result *results,
                     char *detail, size_t size)
{
    struct fork_join_share share = {ranges, workers};
    struct fork_workers_job job = {workers, sizeof *results, fork_join_worker, &share};
    return fork_workers(&job, results, detail, size);
}

/* --- the workload -------------------------------------------------------------------------------
 */

static long limit_for(const struct point *p)
{
    return scaled_size(p, p->quick > 1 ? 20000 : p->quick ? 200000 : 400000, 20000);
}
static long window_for(const struct point *p)
{
    return scaled_size(p, p->quick > 1 ? 200 : p->quick ? 4000 : 8000, 200);
}

/* The weak series: the same window in every task.  Returns 0, or an error number. */
static int run_weak(const struct point *p, struct run_result *r)
{
    static long per_task = -1, per_task_for = -1;
    long window = window_for(p);
    if (per_task_for != window) {
        per_task = prime_sieve_count(WEAK_BASE + window) - prime_sieve_count(WEAK_BASE);
        per_task_for = window;
    }
    size_t tasks = (size_t)WEAK_TASKS_PER_WORKER * (size_t)p->workers;
    struct prime_range *ranges = calloc(tasks, sizeof *ranges);
    struct prime_result *results = calloc(tasks, sizeof *results);
    int err = ranges && results ? 0 : ENOMEM;
    for (size_t i = 0; !err && i < tasks; i++)
        ranges[i] = (struct prime_range){WEAK_BASE, WEAK_BASE + window};
    if (!err)
        err = pool_map(process_pool, prime_range_task, ranges, sizeof *ranges, tasks, results,
                       sizeof *results, CHUNK, NULL);
    int64_t total = 0;
    for (size_t i = 0; !err && i < tasks; i++)
        total += results[i].count;
    if (!err)
        err = prime_add_spans(r, results, (int)tasks);
    free(ranges);
    free(results);
    if (err)
        return err;
    r->ops = (double)window * (double)tasks;
    r->ok = total == per_task * (int64_t)tasks;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail,
                 "%lld primes counted in %zu windows, the sieve "
                 "says %lld",
                 (long long)total, tasks, (long long)(per_task * (int64_t)tasks));
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    static long expected = -1, expected_for = -1;
    long limit = limit_for(p);
    if (expected_for != limit) {
        expected = prime_sieve_count(limit);
        expected_for = limit;
    }
    int err = 0;
    if (p->variant == PROCESS_POOL_WEAK) {
        err = run_weak(p, r);
        if (err)
            snprintf(r->detail, sizeof r->detail, "%s: %s", p->series, strerror(err));
        return err ? -1 : 0;
    }
    struct prime_range ranges[RANGES];
    /* One result per range, or per worker for the fork-join split: as many as the machine
     * asks for (2 per CPU), so allocated. */
    int room = p->workers > RANGES ? p->workers : RANGES;
    struct prime_result *results = calloc((size_t)room, sizeof *results);
    if (!results) {
        snprintf(r->detail, sizeof r->detail, "%d results: %s", room, strerror(ENOMEM));
        return -1;
    }
    int64_t total = 0;
    int nresults = 0;
    for (int i = 0; i < RANGES; i++)
        ranges[i] = (struct prime_range){limit * i / RANGES, limit * (i + 1) / RANGES};
    int64_t start = monotonic_ns();
    switch ((enum variant)p->variant) {
    case PROCESS_POOL:
        err = pool_map(process_pool, prime_range_task, ranges, sizeof *ranges, RANGES, results,
                       sizeof *results, CHUNK, NULL);
        nresults = RANGES;
        break;
    case THREAD_POOL:
        err = thread_pool_map(thread_pool, prime_range_task, ranges, sizeof *ranges, RANGES,
                              results, sizeof *results, CHUNK, NULL);
        nresults = RANGES;
        break;
    case FORK_JOIN:
        if (fork_join(ranges, p->workers, results, r->detail, sizeof r->detail) != 0) {
            free(results);
            return -1;
        }
        nresults = p->workers;
        break;
    case PROCESS_POOL_WEAK: break; /* run_weak, above */
    case PYTHON_POOL: {
        char command[96];
        double seconds;
        long value;
        snprintf(command, sizeof command, "primes %ld %d %d", limit, RANGES, CHUNK);
        err = python_coprocess_ask(&python, command, &seconds, &value) ? EIO : 0;
        total = value;
        r->extra = seconds; /* Python's own time for the job, pool already running */
        break;
    }
    }
    if (p->variant != PYTHON_POOL)
        r->extra = (monotonic_ns() - start) / 1e9;
    for (int i = 0; !err && i < nresults; i++)
        total += results[i].count;
    if (!err) /* the spans let the driver repeat a run the machine disturbed */
        err = prime_add_spans(r, results, nresults);
    free(results);
    if (err) {
        snprintf(r->detail, sizeof r->detail, "%s: %s", p->series, strerror(err));
        return -1;
    }
    r->ops = (double)limit;
    r->ok = total == expected;
    if (!r->ok) /* the detail is for what went wrong; a right run needs no note */
        snprintf(r->detail, sizeof r->detail, "primes below %ld: %lld (sieve: %ld)", limit,
                 (long long)total, expected);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    int n = 0;
    for (int v = PROCESS_POOL; v <= PROCESS_POOL_WEAK && n < max; v++) {
        if (v == PYTHON_POOL && !python_available())
            continue; /* the summary says so */
        snprintf(points[n].series, sizeof points[n].series, "%s", variant_names[v]);
        points[n].weak = v == PROCESS_POOL_WEAK;
        points[n++].variant = v;
    }
    return n;
}

static const struct reduced_point *find(const struct reduced_point *r, int n, const char *series,
                                        int cpus, int workers)
{
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].point.series, series) == 0 && r[i].point.cpus == cpus &&
            r[i].point.workers == workers)
            return &r[i];
    return NULL;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    const struct reduced_point *pool2 = find(r, n, variant_names[PROCESS_POOL], 2, 2);
    if (pool2)
        fprintf(out,
                "  parallel efficiency of prime counting, process pool, 2 workers on 2 CPUs: "
                "%.2f (target >= 0.95) -- %s\n",
                pool2->efficiency, pool2->efficiency >= 0.95 ? "met" : "NOT MET");
    else
        fprintf(out, "  parallel efficiency at 2 workers on 2 CPUs: not measured (fewer than 2 "
                     "usable CPUs)\n");
    for (int v = THREAD_POOL; v <= PYTHON_POOL; v++) {
        const struct reduced_point *q = find(r, n, variant_names[v], 2, 2);
        if (q)
            fprintf(out, "  %s, 2 workers on 2 CPUs: efficiency %.2f\n", variant_names[v],
                    q->efficiency);
    }
    const struct reduced_point *py = find(r, n, variant_names[PYTHON_POOL], 1, 1);
    const struct reduced_point *c1 = find(r, n, variant_names[PROCESS_POOL], 1, 1);
    if (py && c1)
        fprintf(out,
                "  the same job, 1 worker: Python's pool takes %.0fx the C process pool's "
                "time (interpreted trial division, not the pool, is most of it)\n",
                py->wall_median_ns / c1->wall_median_ns);
    if (!python_available())
        fprintf(out, "  Python series skipped: python3 (with multiprocessing) not found\n");
}

const struct workload workload_pool_scaling = {
    .name = "pool_scaling",
    .title = "Process pool: counting primes (strong scaling)",
    .shape = SHAPE_SCALING,
    .extra_label = NULL,
    .plan = plan,
    .run = run,
    .summarize = summarize,
    .observe = "The process pool and the thread pool scale alike: for CPU-bound tasks with small "
               "arguments, a process costs nothing more than a thread once it exists. The "
               "fork-join split pays for its forks on every run and for its fixed blocks, whose "
               "costs differ; Python's pool scales too, from a far higher base.",
    .setup = prepare,
    .teardown = release,
};
