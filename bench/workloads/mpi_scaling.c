#define _GNU_SOURCE
/* mpi_scaling.c - workload: counting primes with MPI master-worker (patterns/mpi/mpi_primes)
 * beside the one-machine process pool, across process counts (strong scaling).
 *
 * The job is pool_scaling's: the primes below N in 100 equal ranges, one range per task.  The
 * process pool runs here, in the driver (as in pool_scaling); the MPI job runs as a
 * co-process, `build/mpi/mpirun -n P mpi_primes --serve`, started in a point's warm-up run
 * and kept for its timed runs, so that the launcher's start-up (0.1 s for MPICH, 0.5 s for
 * Open MPI on the machine this was written on) is paid once per point, as the pool's forks
 * are: each timed run is one "LIMIT RANGES" line to rank 0 and its answer back.  The
 * driver's wall time of a run therefore holds the job plus one trip through the launcher's
 * stdin and stdout forwarding; the job alone, timed inside with MPI_Wtime, is the run's
 * `extra` (the pool's job time for the pool), and the summary gives both.
 *
 * Every MPI rank counts ranges (rank 0 too, between hand-outs), so P ranks are P computing
 * processes, as P pool workers are.  The ranks inherit the CPUs the driver pinned itself to
 * (the launcher binds nothing: see tools/mpirun.in).  The ranks report when they
 * worked and for how much CPU ("span" lines), which the driver's overlap check uses.
 *
 * Without the MPI programs (`make mpi` builds them), the workload plans nothing and says so
 * in one line of the summary.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "coprocess.h"
#include "mpi_programs.h"
#include "pool/pool.h"
#include "prime_job.h"
#include "support/clock.h"
#include "workload.h"

enum variant { PROCESS_POOL, MPI_MASTER_WORKER };
enum { RANGES = 100 };

/* --- what is kept between the runs of one point: the pool, or the MPI job ------------------ */

/* Made by setup before the point's warm-up run, released by its teardown. */
static struct pool *pool;
static struct coprocess mpi; /* `mpirun -n P mpi_primes --serve`, talking to rank 0 */

/* teardown: the point's pool or MPI job. */
static void release(const struct point *p)
{
    (void)p;
    if (pool) {
        pool_close(pool);
        pool_destroy(pool);
        pool = NULL;
    }
    coprocess_stop(&mpi, "quit\n"); /* rank 0 tells the workers; every rank finalizes */
}

/* Start `mpirun -n ranks mpi_primes --serve`, with pipes to rank 0's stdin and stdout. */
static int start_mpi(int ranks)
{
    char n[16], script[4200], program[4200];
    snprintf(n, sizeof n, "%d", ranks);
    snprintf(script, sizeof script, "%s/mpirun", mpi_programs_dir());
    snprintf(program, sizeof program, "%s/bin/mpi_primes", mpi_programs_dir());
    char *argv[] = {"/bin/sh", script, "-n", n, program, "--serve", NULL};
    return coprocess_start(&mpi, argv);
}

/* setup: a pool of the point's workers, or an MPI job of as many ranks. */
static int prepare(const struct point *p, char *detail, size_t size)
{
    int err = 0;
    if (p->variant == PROCESS_POOL)
        err = pool_create(&pool, &(struct pool_options){.workers = p->workers});
    else if (start_mpi(p->workers) == -1)
        err = errno ? errno : EIO;
    if (err) {
        snprintf(detail, size, "starting the %s: %s", p->series, strerror(err));
        release(p);
        return -1;
    }
    return 0;
}

/* --- one run ------------------------------------------------------------------------------- */

/* One job through the MPI co-process: the total, its MPI_Wtime seconds, and the rank spans. */
static int run_mpi(long limit, struct run_result *r, int64_t *total)
{
    fprintf(mpi.to, "%ld %d\n", limit, RANGES);
    fflush(mpi.to);
    char line[256];
    while (fgets(line, sizeof line, mpi.from)) {
        long long rank, tasks, start, end, cpu, answer;
        double seconds;
        if (sscanf(line, "span %lld %lld %lld %lld %lld", &rank, &tasks, &start, &end, &cpu) == 5) {
            if (tasks > 0 && run_result_add_span(r, (struct worker_span){start, end, cpu}) != 0) {
                snprintf(r->detail, sizeof r->detail, "rank spans: %s", strerror(ENOMEM));
                return -1;
            }
        } else if (sscanf(line, "answer %lld %lf", &answer, &seconds) == 2) {
            *total = answer;
            r->extra = seconds;
            return 0;
        }
    }
    snprintf(r->detail, sizeof r->detail,
             "the MPI job ended without an answer (see its "
             "messages above)");
    return -1;
}

static int run_pool(long limit, struct run_result *r, int64_t *total)
{
    struct prime_range ranges[RANGES];
    struct prime_result results[RANGES];
    for (int i = 0; i < RANGES; i++)
        ranges[i] = (struct prime_range){limit * i / RANGES, limit * (i + 1) / RANGES};
    int64_t start = monotonic_ns();
    int err = pool_map(pool, prime_range_task, ranges, sizeof *ranges, RANGES, results,
                       sizeof *results, 1, NULL);
    r->extra = (monotonic_ns() - start) / 1e9;
    if (err) {
        snprintf(r->detail, sizeof r->detail, "pool_map: %s", strerror(err));
        return -1;
    }
    *total = 0;
    for (int i = 0; i < RANGES; i++)
        *total += results[i].count;
    if (prime_add_spans(r, results, RANGES) != 0) {
        snprintf(r->detail, sizeof r->detail, "worker spans: %s", strerror(ENOMEM));
        return -1;
    }
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    static long expected = -1, expected_for = -1;
    long limit = scaled_size(p, p->quick > 1 ? 20000 : p->quick ? 200000 : 400000, 20000);
    if (expected_for != limit) {
        expected = prime_sieve_count(limit);
        expected_for = limit;
    }
    int64_t total = -1;
    if ((p->variant == PROCESS_POOL ? run_pool(limit, r, &total) : run_mpi(limit, r, &total)) != 0)
        return -1;
    r->ops = (double)limit;
    r->ok = total == expected;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "primes below %ld: %lld (sieve: %ld)", limit,
                 (long long)total, expected);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    if (!mpi_program_built("mpi_primes") || max < 2)
        return 0; /* the summary says why */
    snprintf(points[0].series, sizeof points[0].series, "process pool");
    points[0].variant = PROCESS_POOL;
    snprintf(points[1].series, sizeof points[1].series, "MPI master-worker (%s)",
             mpi_programs_implementation());
    points[1].variant = MPI_MASTER_WORKER;
    return 2;
}

static const struct reduced_point *find(const struct reduced_point *r, int n, int variant, int cpus,
                                        int workers)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.variant == variant && r[i].point.cpus == cpus &&
            r[i].point.workers == workers)
            return &r[i];
    return NULL;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    if (!mpi_program_built("mpi_primes")) {
        fprintf(out, "  MPI skipped: the MPI programs are not built (make mpi installs MPI and "
                     "builds them)\n");
        return;
    }
    for (long v = PROCESS_POOL; v <= MPI_MASTER_WORKER; v++) {
        const struct reduced_point *one = find(r, n, v, 1, 1), *two = find(r, n, v, 2, 2);
        if (one && two)
            fprintf(out,
                    "  %s: speedup at 2 processes on 2 CPUs %.2f (wall); job time alone "
                    "%.4f s -> %.4f s, %.2f\n",
                    one->point.series, two->speedup, one->extra_median, two->extra_median,
                    one->extra_median / two->extra_median);
    }
    const struct reduced_point *pool1 = find(r, n, PROCESS_POOL, 1, 1),
                               *mpi1 = find(r, n, MPI_MASTER_WORKER, 1, 1);
    if (pool1 && mpi1)
        fprintf(out,
                "  1 process: the MPI job's wall time is %.2fx the pool's (the trip through "
                "the launcher's stdin/stdout is in it; the job alone %.2fx)\n",
                mpi1->wall_median_ns / pool1->wall_median_ns,
                mpi1->extra_median / pool1->extra_median);
}

const struct workload workload_mpi_scaling = {
    .name = "mpi_scaling",
    .title = "MPI master-worker beside the process pool: counting primes",
    .shape = SHAPE_SCALING,
    .plan = plan,
    .setup = prepare,
    .teardown = release,
    .run = run,
    .summarize = summarize,
    .observe = "On one machine MPI master-worker scales like the process pool: the tasks take "
               "hundreds of microseconds, a message a microsecond. Its runs carry a fixed cost "
               "the pool does not (the request and answer pass through the launcher), visible "
               "at 1 process. Oversubscribed, the MPI ranks that wait poll with a sleep, so "
               "they give their CPU to the ranks that compute.",
};
