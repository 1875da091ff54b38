#define _GNU_SOURCE
/* pool_schedule.c - workload: static against dynamic scheduling of uneven tasks, through the
 * same process pool, across core counts.
 *
 * The job of pool_uneven.c: 64 tasks, task i burning (i + 1) units of CPU time, 150 ms in
 * all (quick: 50 ms), measured on each task's own CPU clock so that a busy machine changes
 * the wall time, not the work.  Static: chunk = ceil(64 / P), one contiguous block per worker,
 * decided before anything runs.  Dynamic: chunk 1, a free worker takes the next task.
 * With P = 2 the static split gives one worker 3/4 of the work: its efficiency cannot pass
 * 2/3; dynamic stays near 1.  The check: every task ran and reported the CPU it burned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/pool.h"
#include "pool/pool_trace.h"
#include "support/clock.h"
#include "workload.h"

enum variant { DYNAMIC, STATIC };
static const char *const variant_names[] = {"dynamic (chunk 1)", "static (one block per worker)"};
enum { TASKS = 64 };

static int64_t task_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Burn the argument's CPU nanoseconds; return what was burned. */
static int burn_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    int64_t want, start = task_cpu_ns(), now;
    if (arg_size != sizeof want)
        return EINVAL;
    memcpy(&want, arg, sizeof want);
    volatile uint64_t sink = 0;
    do {
        for (int i = 0; i < 2000; i++)
            sink += (uint64_t)i * 2654435761u;
        now = task_cpu_ns();
    } while (now - start < want);
    (void)sink;
    int64_t burned = now - start;
    memcpy(result, &burned, sizeof burned);
    *result_size = sizeof burned;
    return 0;
}

/* The point's pool: made by setup before the warm-up run, so no run pays for its start. */
static struct pool *pool;

/* teardown: the point's pool, closed and its workers reaped. */
static void release(const struct point *p)
{
    (void)p;
    if (pool) {
        pool_close(pool);
        pool_destroy(pool);
        pool = NULL;
    }
}

/* setup: a pool of the point's workers (the driver has pinned itself, so they inherit the
 * point's CPUs). */
static int prepare(const struct point *p, char *detail, size_t size)
{
    if (p->workers > POOL_MAX_WORKERS) {
        snprintf(detail, size,
                 "%d workers: more than the pool's limit, POOL_MAX_WORKERS (%d, "
                 "pool.h)",
                 p->workers, POOL_MAX_WORKERS);
        return -1;
    }
    int err = pool_create(&pool, &(struct pool_options){.workers = p->workers});
    if (err) {
        snprintf(detail, size, "pool_create: %s", strerror(err));
        return -1;
    }
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    double total_ns = (double)scaled_size(p,
                                          p->quick > 1 ? 2000000
                                          : p->quick   ? 50000000
                                                       : 150000000,
                                          2000000),
           units = TASKS * (TASKS + 1) / 2.0;
    int64_t cost[TASKS], burned[TASKS];
    for (int i = 0; i < TASKS; i++)
        cost[i] = (int64_t)(total_ns * (i + 1) / units);
    size_t chunk = p->variant == STATIC ? (size_t)(TASKS + p->workers - 1) / (size_t)p->workers : 1;
    /* The run the driver traces: each task's outcome carries its span and its worker. */
    struct pool_outcome *outcomes = r->trace ? calloc(TASKS, sizeof *outcomes) : NULL;
    if (r->trace && !outcomes) {
        snprintf(r->detail, sizeof r->detail, "%d outcomes: %s", TASKS, strerror(ENOMEM));
        return -1;
    }
    int err = pool_map(pool, burn_task, cost, sizeof *cost, TASKS, burned, sizeof *burned, chunk,
                       outcomes);
    if (outcomes && !err &&
        (pool_trace_add_tasks(r->trace, pool, variant_names[p->variant], outcomes, TASKS) != 0 ||
         pool_trace_add_workers(r->trace, pool) != 0))
        err = ENOMEM;
    free(outcomes);
    if (err && err != EIO) {
        snprintf(r->detail, sizeof r->detail, "pool_map: %s", strerror(err));
        return -1;
    }
    int short_tasks = 0;
    for (int i = 0; i < TASKS; i++)
        short_tasks += burned[i] < cost[i];
    r->ops = TASKS;
    r->ok = err == 0 && short_tasks == 0;
    if (!r->ok) /* the detail is for what went wrong; a right run needs no note */
        snprintf(r->detail, sizeof r->detail, "%d tasks, chunk %zu, %d burned less than asked%s",
                 TASKS, chunk, short_tasks, err ? ", a task failed" : "");
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    int n = 0;
    for (int v = DYNAMIC; v <= STATIC && n < max; v++) {
        snprintf(points[n].series, sizeof points[n].series, "%s", variant_names[v]);
        points[n++].variant = v;
    }
    return n;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    int best_cpus = 0;
    for (int i = 0; i < n; i++)
        if (r[i].point.workers == r[i].point.cpus && r[i].point.cpus > best_cpus)
            best_cpus = r[i].point.cpus;
    double wall[2] = {0, 0}, efficiency[2] = {0, 0};
    for (int i = 0; i < n; i++)
        for (int v = DYNAMIC; v <= STATIC; v++)
            if (strcmp(r[i].point.series, variant_names[v]) == 0 && r[i].point.cpus == best_cpus) {
                wall[v] = r[i].wall_median_ns;
                efficiency[v] = r[i].efficiency;
            }
    if (best_cpus > 1 && wall[DYNAMIC] > 0 && wall[STATIC] > 0)
        fprintf(out,
                "  %d workers on %d CPUs: dynamic %.2fx faster than static (efficiency %.2f "
                "against %.2f)\n",
                best_cpus, best_cpus, wall[STATIC] / wall[DYNAMIC], efficiency[DYNAMIC],
                efficiency[STATIC]);
}

const struct workload workload_pool_schedule = {
    .name = "pool_schedule",
    .title = "Process pool: static against dynamic scheduling of uneven tasks",
    .shape = SHAPE_SCALING,
    .plan = plan,
    .setup = prepare,
    .teardown = release,
    .run = run,
    .summarize = summarize,
    .observe = "With tasks whose cost grows along the list, one block per worker leaves the last "
               "block's worker busy long after the others are idle; handing out one task at a "
               "time keeps everyone busy to the end. On one CPU the two are the same: there is "
               "nobody to balance.",
};
