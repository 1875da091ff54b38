#define _GNU_SOURCE
/* pool_monte_carlo.c - estimate pi by throwing random points at a square with a process pool,
 * with one random stream per task, so that the answer for a given seed is the same whatever
 * the number of workers and whichever worker runs which task.
 *
 * Usage: pool_monte_carlo [--workers=P] [--tasks=T] [--samples=S] [--seed=X] [--chunk=C]
 *                         [--per-worker-streams] [--timeout=S]
 *   -w, --workers=P           worker processes (default: the usable CPU count; 1 to 256)
 *   -n, --tasks=T             tasks (default 64; 1 to 100000)
 *   -s, --samples=S           points per task (default 200000; 1 to 10^9)
 *   -x, --seed=X              the run's seed (default 1)
 *   -c, --chunk=C             tasks handed out at once (default 0: automatic)
 *   -b, --per-worker-streams  the broken way: one stream per WORKER, seeded from its pid, so
 *                             the answer changes from run to run (compare two runs)
 *   -t, --timeout=S           watchdog: give up after S seconds (default 60; 0: none)
 *   -h, --help                this text
 * Exit status: 0 on success, 1 on a failure.
 *
 * What to observe:
 *   - "hits" is the same number for --workers=1, 2 and 7, and from run to run: task i draws
 *     from its own stream, seeded from (seed, i) alone, not from who runs it or when.
 *   - --per-worker-streams: the hits change on every run, since which worker draws which
 *     numbers depends on the scheduling.  Still a fine estimate, but not reproducible: a bug
 *     you cannot re-run is a bug you cannot fix.
 *   - A forked worker is a copy of the parent, random generator state included: workers
 *     seeded once in the parent and forked would all draw the SAME numbers.  Seeding from
 *     the task (or at least the worker) is not optional.
 *   - The error shrinks like 1/sqrt(points): 4x the samples, half the error.
 *
 * Python counterpart: Pool(P).map(throw, [(seed, i, S) for i in range(T)]) with
 *   numpy.random.default_rng([seed, i]) (SeedSequence spawning) inside each task.
 *
 * See also: pool.h, pool_primes.c, lessons/08-process-pool.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool/pool.h"
#include "support/cleanup.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/watchdog.h"

/* A task: which stream, how many points. */
struct throw_task {
    uint64_t seed, task, samples;
    int64_t per_worker; /* 1: the broken variant, a stream per worker */
};

struct options {
    long workers, tasks, chunk, timeout_s;
    long long samples;
    unsigned long long seed;
    int per_worker;
};

static const char usage[] =
    "Usage: pool_monte_carlo [--workers=P] [--tasks=T] [--samples=S] [--seed=X] [--chunk=C]\n"
    "                        [--per-worker-streams] [--timeout=S]\n"
    "  -w, --workers=P           worker processes (default: usable CPUs; 1 to 256)\n"
    "  -n, --tasks=T             tasks (default 64; 1 to 100000)\n"
    "  -s, --samples=S           points per task (default 200000; 1 to 10^9)\n"
    "  -x, --seed=X              seed (default 1)\n"
    "  -c, --chunk=C             tasks handed out at once (default 0: automatic)\n"
    "  -b, --per-worker-streams  one stream per worker (not reproducible)\n"
    "  -t, --timeout=S           watchdog in seconds (default 60; 0: none)\n"
    "  -h, --help                this text\n";

/* --- random streams ------------------------------------------------------------------------- */

/* splitmix64: turns any 64-bit number into a well-mixed one.  Used to derive a stream's
 * starting state from (seed, task), so neighbouring tasks get unrelated streams. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* xoshiro256**: the generator each stream runs (small state, fast, good quality). */
struct stream {
    uint64_t s[4];
};

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(struct stream *r)
{
    uint64_t result = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;
    r->s[2] ^= r->s[0];
    r->s[3] ^= r->s[1];
    r->s[1] ^= r->s[2];
    r->s[0] ^= r->s[3];
    r->s[2] ^= t;
    r->s[3] = rotl(r->s[3], 45);
    return result;
}

static double next_unit(struct stream *r)
{
    return (double)(next_u64(r) >> 11) * 0x1.0p-53;
}

static void stream_seed(struct stream *r, uint64_t a, uint64_t b)
{
    uint64_t x = a * 0xD1B54A32D192ED03ull ^ b;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* --- the task --------------------------------------------------------------------------- */

/* The broken variant's state: one stream per worker process, seeded from its pid on first
 * use.  A global is per process here: each forked worker has its own copy. */
static struct stream worker_stream;
static pid_t worker_stream_owner;

static int throw_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct throw_task t;
    if (arg_size != sizeof t)
        return EINVAL;
    memcpy(&t, arg, sizeof t);
    struct stream own, *r = &own;
    if (t.per_worker) {
        if (worker_stream_owner != getpid()) { /* first task in this worker */
            stream_seed(&worker_stream, t.seed, (uint64_t)getpid());
            worker_stream_owner = getpid();
        }
        r = &worker_stream;
    } else {
        stream_seed(&own, t.seed, t.task); /* the task's stream: who runs it does not matter */
    }
    uint64_t hits = 0;
    for (uint64_t i = 0; i < t.samples; i++) {
        double x = next_unit(r), y = next_unit(r);
        hits += x * x + y * y <= 1.0; /* inside the quarter circle of radius 1 */
    }
    memcpy(result, &hits, sizeof hits);
    *result_size = sizeof hits;
    return 0;
}

/* --- main ----------------------------------------------------------------------------------- */

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {{"workers", required_argument, 0, 'w'},
                                          {"tasks", required_argument, 0, 'n'},
                                          {"samples", required_argument, 0, 's'},
                                          {"seed", required_argument, 0, 'x'},
                                          {"chunk", required_argument, 0, 'c'},
                                          {"per-worker-streams", no_argument, 0, 'b'},
                                          {"timeout", required_argument, 0, 't'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    *o = (struct options){
        .workers = usable_cpu_count(), .tasks = 64, .samples = 200000, .seed = 1, .timeout_s = 60};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:s:x:c:bt:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->workers = parse_long(optarg, "--workers", 1, POOL_MAX_WORKERS, usage); break;
        case 'n': o->tasks = parse_long(optarg, "--tasks", 1, 100000, usage); break;
        case 's': o->samples = parse_size(optarg, "--samples", 1, 1000000000LL, usage); break;
        case 'x':
            o->seed = (unsigned long long)parse_long(optarg, "--seed", 0, LONG_MAX, usage);
            break;
        case 'c': o->chunk = parse_long(optarg, "--chunk", 0, 1024, usage); break;
        case 'b': o->per_worker = 1; break;
        case 't': o->timeout_s = parse_long(optarg, "--timeout", 0, 86400, usage); break;
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
    struct throw_task *tasks = malloc(n * sizeof *tasks);
    uint64_t *hits = malloc(n * sizeof *hits);
    if (!tasks || !hits)
        die("malloc");
    for (size_t i = 0; i < n; i++)
        tasks[i] = (struct throw_task){o.seed, i, (uint64_t)o.samples, o.per_worker};
    printf("pool_monte_carlo: %ld workers, %ld tasks of %lld points, seed %llu, streams per %s\n",
           o.workers, o.tasks, o.samples, o.seed,
           o.per_worker ? "WORKER (not reproducible)" : "task");
    struct pool *pool;
    int err = pool_create(&pool, &(struct pool_options){.workers = (int)o.workers});
    if (err)
        die_with_code(err, "pool_create");
    start_watchdog((unsigned)o.timeout_s, "no answer in time; stopping");
    /* hits[i] is task i's count whoever ran it: the sum below does not depend on P. */
    struct pool_outcome *outcomes = malloc(n * sizeof *outcomes);
    if (!outcomes)
        die("malloc");
    err = pool_map(pool, throw_task, tasks, sizeof *tasks, n, hits, sizeof *hits, (size_t)o.chunk,
                   outcomes);
    stop_watchdog();
    if (err == EIO) /* a task failed or lost its worker: say which, and how */
        for (size_t i = 0; i < n; i++)
            if (outcomes[i].status != POOL_TASK_OK)
                die_with_code(outcomes[i].status == POOL_TASK_ERROR ? outcomes[i].error : EIO,
                              "task %zu: %s (worker %d, status %#x)", i,
                              pool_status_name(outcomes[i].status), (int)outcomes[i].worker,
                              outcomes[i].error);
    if (err)
        die_with_code(err, "pool_map");
    free(outcomes);
    if ((err = pool_close(pool)) != 0)
        die_with_code(err, "pool_close");
    pool_destroy(pool);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += hits[i]; /* summed in task order: the same sum, the same rounding, every run */
    double points = (double)o.samples * (double)n, pi = 4.0 * (double)total / points;
    printf("hits %llu of %.0f points\n", (unsigned long long)total, points);
    printf("pi ~ %.6f (error %+.6f; expected size about %.6f)\n", pi, pi - M_PI,
           4.0 * sqrt(M_PI / 4 * (1 - M_PI / 4) / points));
    free(tasks);
    free(hits);
    return EXIT_SUCCESS;
}
