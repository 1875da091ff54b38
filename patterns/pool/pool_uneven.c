#define _GNU_SOURCE
/* pool_uneven.c - tasks of very different costs: a static split (one block of tasks per
 * worker, decided in advance) against dynamic scheduling (a free worker takes the next task),
 * both through the same process pool.
 *
 * Usage: pool_uneven [--workers=P] [--tasks=T] [--work-ms=M] [--schedule=S] [--timeout=S]
 *                    [--trace=FILE]
 *   -w, --workers=P      worker processes (default: the usable CPU count; 1 to 256)
 *   -n, --tasks=T        tasks (default 64; 1 to 100000)
 *   -m, --work-ms=M      total CPU work of all tasks, in ms (default 300; 1 to 600000)
 *   -s, --schedule=S     static, dynamic or both (default both)
 *   -t, --timeout=S      watchdog: give up after S seconds (default 60; 0: none)
 *   -T, --trace=FILE     write the run's timeline to FILE: Chrome trace-event JSON, one row
 *                        per worker with its tasks ("static task 7", "dynamic task 7")
 *   -h, --help           this text
 * Exit status: 0 on success, 1 on a failure.
 *
 * Task i costs in proportion to i + 1: the last task costs T times the first, as a search
 * whose late candidates are bigger, or a mesh whose last rows are finer, would.  Each task
 * burns its share of CPU time (measured on the task's own CPU clock, so it costs the same
 * under valgrind or on a busy machine) and reports which worker ran it.
 *
 * What to observe:
 *   - static: chunk = ceil(T / P), so each worker gets one contiguous block.  With P = 2 the
 *     second block holds 3/4 of the work: one worker is busy the whole time, the other idles
 *     half of it.  The per-worker "busy" lines show it; the wall time is ~3/4 of the total.
 *   - dynamic: chunk = 1.  A worker that finishes takes the next task; the busy times come
 *     out nearly equal and the wall time near total / P.
 *   - The speedup of dynamic over static grows with P (try --workers=4 on 4 CPUs), and
 *     vanishes on one CPU (`taskset -c 0 build/bin/pool_uneven`): there is nobody to balance.
 *   - --trace=uneven.json, opened in ui.perfetto.dev: under static one row is full and the
 *     other half empty; under dynamic both rows are full to the end.
 *   - The price of dynamic: one hand-over per task.  Here tasks take milliseconds and the
 *     hand-over a microsecond; with tasks of a microsecond, chunking matters (pool_primes).
 *
 * Python counterpart: Pool(P).map(f, items, chunksize=ceil(T/P)) (static) against
 *   chunksize=1 or imap_unordered (dynamic).
 *
 * See also: pool.h, pool_primes.c, fork_join.c (--split=equal: the same imbalance with
 *   fork), lessons/08-process-pool.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool/pool.h"
#include "pool/pool_trace.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/output_file.h"
#include "support/parse.h"
#include "support/watchdog.h"

/* A task's argument: how much CPU to burn.  Its result: what it burned, and where. */
struct work_task {
    int64_t cpu_ns;
};
struct work_result {
    int64_t cpu_ns;
    int32_t pid;
};

struct options {
    long workers, tasks, work_ms, timeout_s;
    int run_static, run_dynamic;
    const char *trace; /* --trace FILE, or NULL */
};

static const char usage[] =
    "Usage: pool_uneven [--workers=P] [--tasks=T] [--work-ms=M] [--schedule=S] [--timeout=S]\n"
    "                   [--trace=FILE]\n"
    "  -w, --workers=P      worker processes (default: usable CPUs; 1 to 256)\n"
    "  -n, --tasks=T        tasks (default 64; 1 to 100000)\n"
    "  -m, --work-ms=M      total CPU work in ms (default 300; 1 to 600000)\n"
    "  -s, --schedule=S     static, dynamic or both (default both)\n"
    "  -t, --timeout=S      watchdog in seconds (default 60; 0: none)\n"
    "  -T, --trace=FILE     write the timeline (Chrome trace-event JSON) to FILE\n"
    "  -h, --help           this text\n";

/* --- the task ------------------------------------------------------------------------------ */

/* The task's own CPU clock: a worker that is descheduled does not count its waiting. */
static int64_t task_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* cannot fail for our own thread */
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int work_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct work_task t;
    if (arg_size != sizeof t)
        return EINVAL;
    memcpy(&t, arg, sizeof t);
    int64_t start = task_cpu_ns(), now;
    volatile uint64_t sink = 0;
    do { /* burn CPU in small steps, checking the clock between them */
        for (int i = 0; i < 2000; i++)
            sink += (uint64_t)i * 2654435761u;
        now = task_cpu_ns();
    } while (now - start < t.cpu_ns);
    (void)sink; /* read once: the loop's work must not be optimised away */
    struct work_result r = {now - start, (int32_t)getpid()};
    memcpy(result, &r, sizeof r);
    *result_size = sizeof r;
    return 0;
}

/* --- one schedule ------------------------------------------------------------------------------
 */

/* Run every task with this chunk size; print the busy time per worker; add the tasks to the
 * timeline unless it is NULL; return the wall time. */
static double run_schedule(struct pool *pool, const char *name, const struct work_task *tasks,
                           size_t n, size_t chunk, struct timeline *timeline)
{
    struct work_result *results = calloc(n, sizeof *results);
    if (!results)
        die("calloc");
    struct pool_outcome *outcomes = calloc(n, sizeof *outcomes);
    if (!outcomes)
        die("calloc");
    int64_t start = monotonic_ns(); /* the pool is already running: only the job is timed */
    int err = pool_map(pool, work_task, tasks, sizeof *tasks, n, results, sizeof *results, chunk,
                       outcomes);
    double wall = (monotonic_ns() - start) / 1e9;
    if (err == EIO) /* a task failed or lost its worker: name it and decode why */
        for (size_t i = 0; i < n; i++)
            if (outcomes[i].status != POOL_TASK_OK)
                die_with_code(EIO, "task %zu: %s (worker %d, status %#x)", i,
                              pool_status_name(outcomes[i].status), (int)outcomes[i].worker,
                              outcomes[i].error);
    if (err)
        die_with_code(err, "pool_map");
    if (timeline && (err = pool_trace_add_tasks(timeline, pool, name, outcomes, n)) != 0)
        die_with_code(err, "the timeline");
    free(outcomes);
    printf("%s (chunk %zu): wall %.3f s\n", name, chunk, wall);
    /* Each result names the worker that ran it: add up the CPU time per worker. */
    int32_t pids[POOL_MAX_WORKERS];
    int64_t busy[POOL_MAX_WORKERS] = {0};
    long count[POOL_MAX_WORKERS] = {0};
    int distinct = 0;
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (k < distinct && pids[k] != results[i].pid)
            k++;
        if (k == distinct)
            pids[distinct++] = results[i].pid;
        busy[k] += results[i].cpu_ns;
        count[k]++;
    }
    for (int k = 0; k < distinct; k++)
        printf("  worker pid %d: %ld tasks, busy %.3f s (%.0f%% of the wall time)\n", (int)pids[k],
               count[k], busy[k] / 1e9, 100 * busy[k] / 1e9 / wall);
    free(results);
    return wall;
}

/* --- main ---------------------------------------------------------------------------------------
 */

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"workers", required_argument, 0, 'w'}, {"tasks", required_argument, 0, 'n'},
        {"work-ms", required_argument, 0, 'm'}, {"schedule", required_argument, 0, 's'},
        {"timeout", required_argument, 0, 't'}, {"trace", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    *o = (struct options){.workers = usable_cpu_count(),
                          .tasks = 64,
                          .work_ms = 300,
                          .timeout_s = 60,
                          .run_static = 1,
                          .run_dynamic = 1};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:m:s:t:T:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->workers = parse_long(optarg, "--workers", 1, POOL_MAX_WORKERS, usage); break;
        case 'n': o->tasks = parse_long(optarg, "--tasks", 1, 100000, usage); break;
        case 'm': o->work_ms = parse_long(optarg, "--work-ms", 1, 600000, usage); break;
        case 't': o->timeout_s = parse_long(optarg, "--timeout", 0, 86400, usage); break;
        case 'T': o->trace = optarg; break;
        case 's':
            if (strcmp(optarg, "static") && strcmp(optarg, "dynamic") && strcmp(optarg, "both"))
                usage_error(usage, "--schedule: expected static, dynamic or both, got \"%s\"",
                            optarg);
            o->run_static = strcmp(optarg, "dynamic") != 0;
            o->run_dynamic = strcmp(optarg, "static") != 0;
            break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    cleanup_install();
    struct options o;
    parse_options(argc, argv, &o);
    size_t n = (size_t)o.tasks;
    struct work_task *tasks = malloc(n * sizeof *tasks);
    if (!tasks)
        die("malloc");
    /* cost(i) = (i + 1) / sum(1..T) of the total: a straight ramp, last = T x first */
    double total_ns = o.work_ms * 1e6, sum = (double)n * (double)(n + 1) / 2;
    for (size_t i = 0; i < n; i++)
        tasks[i].cpu_ns = (int64_t)(total_ns * (double)(i + 1) / sum);
    printf("pool_uneven: %ld workers on %d usable CPUs, %ld tasks, %ld ms of work, task i costs "
           "(i+1) units\n",
           o.workers, usable_cpu_count(), o.tasks, o.work_ms);
    struct pool *pool;
    int err = pool_create(&pool, &(struct pool_options){.workers = (int)o.workers});
    if (err)
        die_with_code(err, "pool_create");
    start_watchdog((unsigned)o.timeout_s, "the tasks did not finish in time; stopping");
    /* Static: the chunk is a whole block, ceil(T / P) tasks, so each worker takes one block
     * and is stuck with it.  Dynamic: chunk 1, each free worker takes the next task. */
    size_t block = (n + (size_t)o.workers - 1) / (size_t)o.workers;
    double wall_static = 0, wall_dynamic = 0;
    struct timeline timeline = {0}, *trace = o.trace ? &timeline : NULL;
    if (o.run_static)
        wall_static = run_schedule(pool, "static", tasks, n, block, trace);
    if (o.run_dynamic)
        wall_dynamic = run_schedule(pool, "dynamic", tasks, n, 1, trace);
    stop_watchdog();
    if ((err = pool_close(pool)) != 0)
        die_with_code(err, "pool_close");
    int trace_failed = trace && pool_trace_finish(trace, pool, o.trace, "pool_uneven") == -1
                           ? errno
                           : 0; /* after close: every worker's end is known */
    pool_destroy(pool);
    if (trace_failed)
        note("cannot write %s: %s", o.trace, output_file_reason(trace_failed));
    else if (trace)
        printf("timeline: %s (open it in ui.perfetto.dev or chrome://tracing)\n", o.trace);
    printf("ideal wall time with %ld workers: %.3f s\n", o.workers,
           total_ns / 1e9 / (o.workers < usable_cpu_count() ? o.workers : usable_cpu_count()));
    if (o.run_static && o.run_dynamic)
        printf("dynamic is %.2fx faster than static\n", wall_static / wall_dynamic);
    free(tasks);
    return trace_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
