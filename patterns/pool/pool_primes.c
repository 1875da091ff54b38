#define _GNU_SOURCE
/* pool_primes.c - count the primes below N with a process pool: [0, N) is cut into R ranges,
 * each range is one task, and the pool's workers take tasks until none is left.
 *
 * Usage: pool_primes [--workers=P] [--limit=N] [--ranges=R] [--chunk=C] [--api=API]
 *                    [--crash-range=K] [--on-crash=retry|fail] [--timeout=S] [--no-check]
 *                    [--trace=FILE]
 *   -w, --workers=P      worker processes (default: the usable CPU count; 1 to 256)
 *   -n, --limit=N        count the primes below N (default 1000000; 0 to 10^11)
 *   -r, --ranges=R       tasks: [0, N) cut into R equal ranges (default 100; 1 to 100000)
 *   -c, --chunk=C        tasks handed out at once (default 0: automatic, ceil(R / (4 P)))
 *   -a, --api=API        map (results in range order, the default), imap (as they
 *                        complete), or submit (one future per range)
 *   -k, --crash-range=K  the task for range K kills its own worker with SIGKILL, as the OOM
 *                        killer might (default: none)
 *   -o, --on-crash=W     what the pool does with that task: retry it once on a new worker
 *                        (retry, the default) or report it failed at once (fail)
 *   -t, --timeout=S      watchdog: give up after S seconds (default 60; 0: none)
 *   -s, --no-check       skip the sequential count
 *   -T, --trace=FILE     write the run's timeline to FILE: Chrome trace-event JSON, one row
 *                        per worker (its life) with its tasks on it; open it in Perfetto
 *   -h, --help           this text
 * Exit status: 0 if every range was counted and the total is right, 1 otherwise.
 *
 * What to observe:
 *   - The workers are forked once, before any task exists, and reused for every range:
 *     "ranges per worker" shows each pid doing many tasks.  Compare with fork_join, which
 *     forks one child per range.
 *   - Equal ranges are not equal work (testing n costs up to sqrt(n)): the late ranges take
 *     longest, yet the workers finish together, because a free worker takes the next range.
 *   - --api=imap prints the ranges in the order they finished, not in input order.
 *   - --crash-range=3: the worker dies mid-task, the pool replaces it, and the range is run
 *     again on the new worker, which dies too; the second death is reported with the range's
 *     number, and every other range is still counted.  Python's ProcessPoolExecutor would
 *     raise BrokenProcessPool for every pending future instead.
 *   - --chunk=1 against --chunk=50 with --ranges=20000: the per-task cost of the hand-over.
 *   - --trace=run.json --crash-range=3: open run.json in ui.perfetto.dev; a worker row ends
 *     with range 3 cut short ("died"), and its replacement's row starts right after.
 *
 * Python counterpart: multiprocessing.Pool(P).map(count_range, ranges, chunksize=C), or
 *   imap_unordered, or apply_async per range (ProcessPoolExecutor.submit).
 *
 * See also: pool.h (the library), fork_join.c (the same job, one child per range),
 *   pool_uneven.c, lessons/08-process-pool.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/pool.h"
#include "pool/pool_trace.h"
#include "support/cleanup.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/output_file.h"
#include "support/parse.h"
#include "support/watchdog.h"

/* A task's argument and result: fixed-size bytes, copied through the pool's shared slots. */
struct range {
    int64_t first, end; /* count the primes in [first, end) */
    int64_t crash;      /* 1: this task kills its own worker (the --crash-range demo) */
};

struct options {
    long workers, ranges, chunk, crash_range, timeout_s;
    long long limit;
    enum pool_on_crash on_crash;
    const char *api;
    const char *trace; /* --trace FILE, or NULL */
    int check;
};

static const char usage[] =
    "Usage: pool_primes [--workers=P] [--limit=N] [--ranges=R] [--chunk=C] [--api=API]\n"
    "                   [--crash-range=K] [--on-crash=retry|fail] [--timeout=S] [--no-check]\n"
    "                   [--trace=FILE]\n"
    "  -w, --workers=P      worker processes (default: usable CPUs; 1 to 256)\n"
    "  -n, --limit=N        count the primes below N (default 1000000; 0 to 10^11)\n"
    "  -r, --ranges=R       tasks: [0, N) cut into R ranges (default 100; 1 to 100000)\n"
    "  -c, --chunk=C        tasks handed out at once (default 0: ceil(R / (4 P)))\n"
    "  -a, --api=API        map (default), imap (as completed) or submit (futures)\n"
    "  -k, --crash-range=K  the task for range K SIGKILLs its worker (default: none)\n"
    "  -o, --on-crash=W     retry (default) or fail\n"
    "  -t, --timeout=S      watchdog in seconds (default 60; 0: none)\n"
    "  -s, --no-check       skip the sequential count\n"
    "  -T, --trace=FILE     write the timeline (Chrome trace-event JSON) to FILE\n"
    "  -h, --help           this text\n";

/* --- the task ---------------------------------------------------------------------------- */

static int is_prime(int64_t n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (int64_t d = 3; d <= n / d; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

/* Runs in a worker: its argument is a struct range, its result one int64_t count. */
static int count_range_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct range r;
    if (arg_size != sizeof r)
        return EINVAL; /* comes back to the caller as this task's error */
    memcpy(&r, arg, sizeof r);
    if (r.crash)
        raise(SIGKILL); /* the worker dies mid-task: the pool must notice and repair */
    int64_t count = 0;
    for (int64_t n = r.first; n < r.end; n++)
        count += is_prime(n);
    memcpy(result, &count, sizeof count);
    *result_size = sizeof count;
    return 0;
}

/* --- running it three ways ---------------------------------------------------------------- */

static void describe_failure(const struct pool_outcome *o, const struct range *r)
{
    char why[96];
    if (o->status == POOL_TASK_WORKER_DIED && WIFSIGNALED(o->error))
        snprintf(why, sizeof why, "worker %d killed by signal %d (%s)", (int)o->worker,
                 WTERMSIG(o->error), strsignal(WTERMSIG(o->error)));
    else
        snprintf(why, sizeof why, "%s, code %d", pool_status_name(o->status), o->error);
    printf("range %zu [%lld, %lld): FAILED: %s, after %d attempt(s)\n", o->index,
           (long long)r->first, (long long)r->end, why, o->attempts);
}

/* map, imap or submit; fills counts[] and outcomes[] in range order either way. */
static void run_pool(struct pool *pool, const struct options *o, const struct range *ranges,
                     int64_t *counts, struct pool_outcome *outcomes)
{
    size_t n = (size_t)o->ranges, chunk = (size_t)o->chunk; /* chunk 0: the pool picks */
    int err;
    if (strcmp(o->api, "map") == 0) {
        /* One call: it returns when every range is back, the counts in range order. */
        err = pool_map(pool, count_range_task, ranges, sizeof *ranges, n, counts, sizeof *counts,
                       chunk, outcomes);
        if (err && err != EIO) /* EIO: some task failed; its outcome says which */
            die_with_code(err, "pool_map");
    } else if (strcmp(o->api, "imap") == 0) {
        /* The same job, read one result at a time as it completes: the iterator copies the
         * outcome and the count out; the ranges array must outlive the iterator. */
        struct pool_iter *it;
        if ((err = pool_imap_unordered(pool, count_range_task, ranges, sizeof *ranges, n,
                                       sizeof *counts, chunk, &it)) != 0)
            die_with_code(err, "pool_imap_unordered");
        struct pool_outcome oc;
        int64_t count;
        printf("completion order:");
        while ((err = pool_iter_next(it, &oc, &count, -1)) == 0) {
            printf(" %zu", oc.index); /* the order the workers finished in */
            outcomes[oc.index] = oc;
            counts[oc.index] = count;
        }
        printf("\n");
        if (err != EPIPE)
            die_with_code(err, "pool_iter_next");
        pool_iter_free(it);
    } else {
        /* One future per range, like apply_async: each argument is copied at submit time,
         * so the ranges array could be reused at once. */
        struct pool_future **futures = calloc(n, sizeof *futures);
        if (!futures)
            die("calloc");
        for (size_t i = 0; i < n; i++) /* all submitted first: they run while we wait */
            if ((err = pool_submit(pool, count_range_task, &ranges[i], sizeof ranges[i],
                                   sizeof *counts, &futures[i])) != 0)
                die_with_code(err, "pool_submit");
        for (size_t i = 0; i < n; i++) {
            if ((err = pool_future_wait(futures[i], -1, &outcomes[i], &counts[i])) != 0)
                die_with_code(err, "pool_future_wait");
            outcomes[i].index = i; /* a future's own index is 0: it holds one task */
            pool_future_free(futures[i]);
        }
        free(futures);
    }
}

/* --- reporting ---------------------------------------------------------------------------- */

/* Which worker did how many ranges: the same pids again and again (pre-forked). */
static void print_workers(const struct pool_outcome *outcomes, long n)
{
    pid_t pids[64];
    long done[64] = {0};
    int distinct = 0;
    for (long i = 0; i < n; i++) {
        int k = 0;
        while (k < distinct && pids[k] != outcomes[i].worker)
            k++;
        if (k == distinct && distinct < 64)
            pids[distinct++] = outcomes[i].worker;
        if (k < 64)
            done[k]++;
    }
    for (int k = 0; k < distinct; k++)
        printf("worker pid %d ran %ld ranges\n", (int)pids[k], done[k]);
}

static int64_t count_sequentially(long long limit)
{
    int64_t count = 0;
    for (int64_t n = 0; n < limit; n++)
        count += is_prime(n);
    return count;
}

/* --- main ------------------------------------------------------------------------------------ */

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"workers", required_argument, 0, 'w'},  {"limit", required_argument, 0, 'n'},
        {"ranges", required_argument, 0, 'r'},   {"chunk", required_argument, 0, 'c'},
        {"api", required_argument, 0, 'a'},      {"crash-range", required_argument, 0, 'k'},
        {"on-crash", required_argument, 0, 'o'}, {"timeout", required_argument, 0, 't'},
        {"no-check", no_argument, 0, 's'},       {"trace", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    *o = (struct options){.workers = usable_cpu_count(),
                          .limit = 1000000,
                          .ranges = 100,
                          .crash_range = -1,
                          .timeout_s = 60,
                          .api = "map",
                          .check = 1};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:r:c:a:k:o:t:sT:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->workers = parse_long(optarg, "--workers", 1, POOL_MAX_WORKERS, usage); break;
        case 'n': o->limit = parse_size(optarg, "--limit", 0, 100000000000LL, usage); break;
        case 'r': o->ranges = parse_long(optarg, "--ranges", 1, 100000, usage); break;
        case 'c': o->chunk = parse_long(optarg, "--chunk", 0, 1024, usage); break;
        case 'k': o->crash_range = parse_long(optarg, "--crash-range", 0, 99999, usage); break;
        case 't': o->timeout_s = parse_long(optarg, "--timeout", 0, 86400, usage); break;
        case 's': o->check = 0; break;
        case 'T': o->trace = optarg; break;
        case 'a':
            if (strcmp(optarg, "map") && strcmp(optarg, "imap") && strcmp(optarg, "submit"))
                usage_error(usage, "--api: expected map, imap or submit, got \"%s\"", optarg);
            o->api = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "retry") && strcmp(optarg, "fail"))
                usage_error(usage, "--on-crash: expected retry or fail, got \"%s\"", optarg);
            o->on_crash = strcmp(optarg, "retry") == 0 ? POOL_RETRY_ONCE : POOL_REPORT_FAILED;
            break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    if (o->crash_range >= o->ranges)
        usage_error(usage, "--crash-range=%ld: there are only %ld ranges", o->crash_range,
                    o->ranges);
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C: the workers are killed and reaped, nothing is left */
    struct options o;
    parse_options(argc, argv, &o);
    struct range *ranges = calloc((size_t)o.ranges, sizeof *ranges);
    int64_t *counts = calloc((size_t)o.ranges, sizeof *counts);
    struct pool_outcome *outcomes = calloc((size_t)o.ranges, sizeof *outcomes);
    if (!ranges || !counts || !outcomes)
        die("calloc");
    /* Equal ranges of numbers, unequal work (a test costs up to sqrt(n)): the pool balances
     * them by handing the next range to whichever worker is free. */
    for (long i = 0; i < o.ranges; i++)
        ranges[i] = (struct range){o.limit * i / o.ranges, o.limit * (i + 1) / o.ranges,
                                   i == o.crash_range};
    printf("pool_primes: %ld workers, primes below %lld in %ld ranges, chunk %ld%s, api %s, "
           "on crash: %s\n",
           o.workers, o.limit, o.ranges,
           o.chunk ? o.chunk : (long)pool_auto_chunk_size((size_t)o.ranges, (int)o.workers),
           o.chunk ? "" : " (automatic)", o.api, o.on_crash == POOL_RETRY_ONCE ? "retry" : "fail");

    /* The workers are forked here, once, before any task exists: each is a copy of this
     * process, so count_range_task is at the same address in all of them. */
    struct pool *pool;
    struct pool_options po = {.workers = (int)o.workers, .on_crash = o.on_crash};
    int err = pool_create(&pool, &po);
    if (err)
        die_with_code(err, "pool_create");
    /* A hung pool must not hang the program. */
    start_watchdog((unsigned)o.timeout_s,
                   "the pool has not answered in time; stopping (the workers are killed and "
                   "reaped)");
    run_pool(pool, &o, ranges, counts, outcomes);
    stop_watchdog();

    /* Every range has an outcome: OK, or why not (its error, or the death of its worker). */
    int64_t total = 0;
    long failed = 0;
    for (long i = 0; i < o.ranges; i++) {
        if (outcomes[i].status != POOL_TASK_OK) { /* no count: its result was never written */
            describe_failure(&outcomes[i], &ranges[i]);
            failed++;
        } else {
            total += counts[i];
        }
    }
    print_workers(outcomes, o.ranges);
    struct pool_stats stats;
    pool_get_stats(pool, &stats);
    if ((err = pool_close(pool)) != 0) /* finish, let the workers leave, reap them */
        die_with_code(err, "pool_close");
    int trace_failed = 0;
    if (o.trace) { /* after close (every worker's end is known), before destroy */
        struct timeline t = {0};
        if (pool_trace_add_tasks(&t, pool, o.api, outcomes, (size_t)o.ranges) != 0 ||
            pool_trace_finish(&t, pool, o.trace, "pool_primes") == -1)
            trace_failed = errno;
    }
    pool_destroy(pool);
    if (trace_failed)
        note("cannot write %s: %s", o.trace, output_file_reason(trace_failed));
    else if (o.trace)
        printf("timeline: %s (open it in ui.perfetto.dev or chrome://tracing)\n", o.trace);
    printf("workers started %ld, died %ld; tasks retried %ld, lost %ld\n", stats.workers_started,
           stats.worker_deaths, stats.tasks_retried, stats.tasks_lost);
    int ok = failed == 0;
    if (failed)
        printf("primes below %lld: %lld counted, %ld range(s) missing -- INCOMPLETE\n", o.limit,
               (long long)total, failed);
    else if (o.check) {
        int64_t expected = count_sequentially(o.limit);
        ok = expected == total;
        printf("primes below %lld: %lld (sequential: %lld) -- %s\n", o.limit, (long long)total,
               (long long)expected, ok ? "match" : "MISMATCH");
    } else
        printf("primes below %lld: %lld\n", o.limit, (long long)total);
    free(ranges);
    free(counts);
    free(outcomes);
    return ok && !trace_failed ? EXIT_SUCCESS : EXIT_FAILURE;
}
