#define _GNU_SOURCE
/* mpi_primes.c - count the primes below N with MPI master-worker: [0, N) is cut into R ranges,
 * each range is one task, and rank 0 hands the next range to whichever rank answers first.
 * The same job as pool_primes, and the same answer, for processes that share no memory.
 *
 * Usage: mpiexec -n P mpi_primes [--limit=N] [--ranges=R] [--ahead=A] [--idle-master]
 *                                [--fail-rank=K] [--fail-how=kill|hang] [--timeout=S]
 *                                [--no-check] [--serve]
 *   -n, --limit=N        count the primes below N (default 1000000; 0 to 10^11)
 *   -r, --ranges=R       tasks: [0, N) cut into R equal ranges (default 100; 1 to 100000)
 *   -a, --ahead=A        ranges sent in advance to each worker (default 2; 1 to 64)
 *   -i, --idle-master    rank 0 only hands out ranges (default: it counts too, between
 *                        hand-outs); needs at least 2 ranks
 *   -k, --fail-rank=K    worker rank K fails at its first range (default: none; 1 to P-1)
 *   -f, --fail-how=W     kill (it dies by SIGKILL, the default) or hang (it stops answering)
 *   -t, --timeout=S      the master's watchdog: no message for S seconds ends the job
 *                        (default 60; 0: none)
 *   -s, --no-check       skip the sequential count
 *   -S, --serve          for the benchmark: read "LIMIT RANGES" lines on rank 0's stdin, run
 *                        each job, answer with one "span" line per rank and an "answer" line
 *   -h, --help           this text
 * Exit status: 0 when the total is right, 1 when it is wrong, 2 for a bad command line; a
 * failed or hung rank ends the whole job with a non-zero status (the launcher's report).
 *
 * What to observe:
 *   - "rank R on HOST (pid N) counted K ranges": as with the pool, each process takes many
 *     ranges; unlike the pool, the processes were started by mpiexec, not forked, and could be
 *     on different hosts.  The counts per rank differ from run to run: dynamic scheduling.
 *   - The answer is pool_primes' answer for the same N and R, with any number of ranks.
 *   - --idle-master: with -n 2 only one rank counts, and the job takes as long as with -n 1.
 *   - --fail-rank=1: mpiexec sees rank 1 die and ends every other rank (exit status non-zero).
 *     --fail-how=hang: nobody dies, so mpiexec sees nothing; the master's watchdog notices
 *     after --timeout seconds, names the rank, and aborts the job with MPI_Abort.
 *   - "job time": MPI_Wtime around the job on rank 0; mpiexec's start-up is not in it.
 *
 * Python counterpart: mpi4py.futures.MPIPoolExecutor().map(count_range, ranges) under
 *   `mpiexec -n P python -m mpi4py.futures script.py` (multiprocessing stops at one machine).
 *
 * See also: mpi_pool.h (the master-worker loop), pool_primes.c (the same job with a process
 *   pool), mpi_collectives.c (the static split), lessons/10-mpi.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi_pool.h"
#include "mpi/mpi_support.h"
#include "support/error.h"
#include "support/parse.h"

/* A task's argument: the same bytes on every host (see mpi_pool.c on MPI_BYTE). */
struct range {
    int64_t first, end; /* count the primes in [first, end) */
};

struct options {
    long ranges;
    long long limit;
    int check, serve;
    struct mpi_pool_options pool; /* --ahead, --idle-master, --timeout, --fail-rank, --fail-how */
};

/* A benchmark command: rank 0 tells the workers there is a job (or that they may leave). */
enum { TAG_COMMAND = 100 };

static const char usage[] =
    "Usage: mpiexec -n P mpi_primes [--limit=N] [--ranges=R] [--ahead=A] [--idle-master]\n"
    "                               [--fail-rank=K] [--fail-how=kill|hang] [--timeout=S]\n"
    "                               [--no-check] [--serve]\n"
    "  -n, --limit=N        count the primes below N (default 1000000; 0 to 10^11)\n"
    "  -r, --ranges=R       tasks: [0, N) cut into R ranges (default 100; 1 to 100000)\n"
    "  -a, --ahead=A        ranges sent in advance to each worker (default 2; 1 to 64)\n"
    "  -i, --idle-master    rank 0 only hands out ranges (needs 2 ranks or more)\n"
    "  -k, --fail-rank=K    worker rank K fails at its first range (1 to P-1)\n"
    "  -f, --fail-how=W     kill (default) or hang\n"
    "  -t, --timeout=S      master's watchdog in seconds (default 60; 0: none)\n"
    "  -s, --no-check       skip the sequential count\n"
    "  -S, --serve          benchmark mode: jobs read from stdin as \"LIMIT RANGES\"\n"
    "  -h, --help           this text\n";

/* --- the task: the same trial division as pool_primes.c --------------------------------- */

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

/* Runs on any rank: its argument is a struct range, its result one int64_t count. */
static int count_range_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct range r;
    if (arg_size != sizeof r || *result_size < sizeof(int64_t))
        return EINVAL;
    memcpy(&r, arg, sizeof r);
    int64_t count = 0;
    for (int64_t n = r.first; n < r.end; n++)
        count += is_prime(n);
    memcpy(result, &count, sizeof count);
    *result_size = sizeof count;
    return 0;
}

/* --- one job ------------------------------------------------------------------------------ */

/* Every rank calls this; rank 0 gets the total (the others 0).  The ranges exist on rank 0
 * only: the workers receive them one message at a time. */
static int64_t count_primes(const struct options *o, long long limit, long ranges,
                            struct mpi_pool_report *report)
{
    int rank;
    mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
    size_t n = rank == 0 ? (size_t)ranges : 0;
    struct range *args = calloc(n ? n : 1, sizeof *args);
    int64_t *counts = calloc(n ? n : 1, sizeof *counts);
    if (!args || !counts)
        mpi_abort(EXIT_FAILURE, "calloc: out of memory");
    for (size_t i = 0; i < n; i++)
        args[i] =
            (struct range){limit * (long long)i / ranges, limit * (long long)(i + 1) / ranges};
    if (mpi_pool_map(MPI_COMM_WORLD, count_range_task, args, sizeof *args, n, counts,
                     sizeof *counts, NULL, &o->pool, report) != 0)
        mpi_abort(EXIT_FAILURE, "a range could not be counted");
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += counts[i];
    free(args);
    free(counts);
    return total;
}

static int64_t count_sequentially(long long limit)
{
    int64_t count = 0;
    for (int64_t n = 0; n < limit; n++)
        count += is_prime(n);
    return count;
}

/* --- the benchmark's co-process mode -------------------------------------------------------- */

/* Rank 0 reads jobs from stdin (mpiexec forwards its own stdin to rank 0) and tells the
 * workers; the job stays up between jobs, so the launcher's start-up is paid once, as a
 * pool's forks are.  "span" lines let the driver check that the ranks ran side by side. */
static void serve(const struct options *o, int rank, int size)
{
    static struct mpi_pool_report report;
    char line[128];
    for (;;) {
        long long job[2] = {-1, 0}; /* limit, ranges; -1: leave */
        if (rank == 0) {
            printf("mpi_primes: serving %d ranks; send \"LIMIT RANGES\" lines\n", size);
            fflush(stdout);
            if (fgets(line, sizeof line, stdin) == NULL ||
                sscanf(line, "%lld %lld", &job[0], &job[1]) != 2 || job[0] < 0 || job[1] < 1)
                job[0] = -1; /* end of input, "quit", or nonsense: everyone leaves */
            for (int w = 1; w < size; w++)
                mpi_check(MPI_Send(job, 2, MPI_LONG_LONG, w, TAG_COMMAND, MPI_COMM_WORLD),
                          "MPI_Send (command)");
        } else {
            MPI_Status status;
            mpi_wait_message(MPI_COMM_WORLD, 0, TAG_COMMAND, 0, &status); /* sleeps, no spin */
            mpi_check(
                MPI_Recv(job, 2, MPI_LONG_LONG, 0, TAG_COMMAND, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                "MPI_Recv (command)");
        }
        if (job[0] < 0)
            return;
        int64_t total = count_primes(o, job[0], (long)job[1], &report);
        if (rank != 0)
            continue;
        for (int r = 0; r < size; r++)
            printf("span %d %lld %lld %lld %lld\n", r, (long long)report.rank[r].tasks,
                   (long long)report.rank[r].start_ns, (long long)report.rank[r].end_ns,
                   (long long)report.rank[r].cpu_ns);
        printf("answer %lld %.9f\n", (long long)total, report.seconds);
        fflush(stdout);
    }
}

/* --- main ------------------------------------------------------------------------------------ */

static void parse_options(int argc, char **argv, void *out)
{
    static const struct option longs[] = {{"limit", required_argument, 0, 'n'},
                                          {"ranges", required_argument, 0, 'r'},
                                          {"ahead", required_argument, 0, 'a'},
                                          {"idle-master", no_argument, 0, 'i'},
                                          {"fail-rank", required_argument, 0, 'k'},
                                          {"fail-how", required_argument, 0, 'f'},
                                          {"timeout", required_argument, 0, 't'},
                                          {"no-check", no_argument, 0, 's'},
                                          {"serve", no_argument, 0, 'S'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    struct options *o = out;
    *o = (struct options){.limit = 1000000,
                          .ranges = 100,
                          .check = 1,
                          .pool = {.master_works = 1, .ahead = 2, .timeout_s = 60}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":n:r:a:ik:f:t:sSh", longs, NULL)) != -1) {
        switch (c) {
        case 'n': o->limit = parse_size(optarg, "--limit", 0, 100000000000LL, usage); break;
        case 'r': o->ranges = parse_long(optarg, "--ranges", 1, 100000, usage); break;
        case 'a': o->pool.ahead = (int)parse_long(optarg, "--ahead", 1, 64, usage); break;
        case 'i': o->pool.master_works = 0; break;
        case 'k':
            o->pool.fail_rank =
                (int)parse_long(optarg, "--fail-rank", 1, MPI_POOL_MAX_RANKS - 1, usage);
            break;
        case 't':
            o->pool.timeout_s = (double)parse_long(optarg, "--timeout", 0, 86400, usage);
            break;
        case 's': o->check = 0; break;
        case 'S': o->serve = 1; break;
        case 'f': o->pool.fail_how = mpi_pool_parse_failure(optarg, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    mpi_pool_check_options(&o->pool, usage); /* needs the number of ranks: after MPI_Init */
}

int main(int argc, char **argv)
{
    struct mpi_world world;
    mpi_start(&argc, &argv, &world);
    struct options o;
    mpi_parse_options(&world, parse_options, argc, argv, &o);
    if (o.serve) {
        serve(&o, world.rank, world.size);
        mpi_finish();
        return EXIT_SUCCESS;
    }
    if (world.rank == 0) {
        printf("mpi_primes: %d ranks (%s), primes below %lld in %ld ranges, %d ahead per "
               "worker\n",
               world.size, o.pool.master_works ? "rank 0 counts too" : "rank 0 only hands out",
               o.limit, o.ranges, o.pool.ahead);
        fflush(stdout);
    }
    static struct mpi_pool_report report;
    int64_t total = count_primes(&o, o.limit, o.ranges, &report);
    int ok = 1;
    if (world.rank == 0) {
        for (int r = 0; r < world.size; r++)
            printf("rank %d on %s (pid %lld) counted %lld ranges\n", r, report.rank[r].host,
                   (long long)report.rank[r].pid, (long long)report.rank[r].tasks);
        printf("job time %.3f s (MPI_Wtime on rank 0: the hand-outs and the counting, not "
               "mpiexec's start-up)\n",
               report.seconds);
        if (o.check) {
            int64_t expected = count_sequentially(o.limit);
            ok = expected == total;
            printf("primes below %lld: %lld (sequential: %lld) -- %s\n", o.limit, (long long)total,
                   (long long)expected, ok ? "match" : "MISMATCH");
        } else {
            printf("primes below %lld: %lld\n", o.limit, (long long)total);
        }
    }
    /* Every rank must learn the verdict, or they would all exit 0 but rank 0. */
    mpi_check(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast (verdict)");
    mpi_finish();
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
