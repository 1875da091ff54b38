#define _GNU_SOURCE
/* mpi_collectives.c - one job (count the primes below N) done with MPI's collective calls,
 * each standing in for a one-machine pattern: broadcast for what a forked child inherits,
 * scatter for fork-join's split, gather for collecting one result per worker, reduce for the
 * parent's sum, barrier for the process-shared barrier.
 *
 * Usage: mpiexec -n P mpi_collectives [--limit=N] [--no-check]
 *   -n, --limit=N    count the primes below N (default 1000000; 0 to 10^11)
 *   -s, --no-check   skip the sequential count
 *   -h, --help       this text
 * Exit status: 0 when the total is right, 1 when it is wrong, 2 for a bad command line.
 *
 * What to observe:
 *   - Every line is printed by rank 0, after the collective that gave it the data: no rank
 *     touches another's memory, every value arrives in a message.
 *   - "scatter": the ranges are equal in numbers, not in work (testing n costs up to
 *     sqrt(n)), so the last rank's count takes longest: the static split of fork_join
 *     --split=equal, with the same imbalance.  mpi_primes schedules dynamically instead.
 *   - "gather" lists the counts in rank order, whatever order the ranks finished in, and then
 *     the CPU time each rank spent on its count: the last rank's is the largest.
 *   - "reduce" gives the same total as pool_primes and fork_join for any -n.
 *
 * Python counterpart (mpi4py): comm.bcast(x, root=0), comm.scatter(parts, root=0),
 *   comm.gather(x, root=0), comm.reduce(x, op=MPI.SUM, root=0), comm.Barrier().
 *   multiprocessing has no collectives: Pool.map's split and its result list come closest.
 *
 * See also: fork_join.c (the same split with fork and a pipe), barrier.c, mpi_primes.c,
 *   lessons/10-mpi.md.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi/mpi_support.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/parse.h"

struct options {
    long long limit;
    int check;
};

static const char usage[] =
    "Usage: mpiexec -n P mpi_collectives [--limit=N] [--no-check]\n"
    "  -n, --limit=N    count the primes below N (default 1000000; 0 to 10^11)\n"
    "  -s, --no-check   skip the sequential count\n"
    "  -h, --help       this text\n";

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

static int64_t count_range(int64_t first, int64_t end)
{
    int64_t count = 0;
    for (int64_t n = first; n < end; n++)
        count += is_prime(n);
    return count;
}

static void parse_options(int argc, char **argv, void *out)
{
    static const struct option longs[] = {{"limit", required_argument, 0, 'n'},
                                          {"no-check", no_argument, 0, 's'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    struct options *o = out;
    *o = (struct options){.limit = 1000000, .check = 1};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":n:sh", longs, NULL)) != -1) {
        switch (c) {
        case 'n': o->limit = parse_size(optarg, "--limit", 0, 100000000000LL, usage); break;
        case 's': o->check = 0; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
}

int main(int argc, char **argv)
{
    struct mpi_world world;
    mpi_start(&argc, &argv, &world);
    struct options o;
    mpi_parse_options(&world, parse_options, argc, argv, &o);
    int rank = world.rank, size = world.size;

    /* Broadcast: rank 0 decides the job; the others learn it.  A forked child would simply
     * have inherited the variable; a rank started by mpiexec (maybe on another host) has
     * only its argv and what it is sent. */
    long long limit = rank == 0 ? o.limit : 0;
    mpi_check(MPI_Bcast(&limit, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
    if (rank == 0)
        printf("broadcast: every rank of %d now counts below %lld\n", size, limit);

    /* Scatter: rank 0 cuts [0, limit) into one block per rank, fork_join's equal split, and
     * each rank receives its own [first, end) pair. */
    long long *blocks = NULL;
    if (rank == 0) {
        blocks = malloc(2 * (size_t)size * sizeof *blocks);
        if (!blocks)
            mpi_abort(EXIT_FAILURE, "malloc: out of memory");
        for (int r = 0; r < size; r++) {
            blocks[2 * r] = limit * r / size;
            blocks[2 * r + 1] = limit * (r + 1) / size;
        }
    }
    long long mine[2];
    mpi_check(MPI_Scatter(blocks, 2, MPI_LONG_LONG, mine, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD),
              "MPI_Scatter");
    /* CPU time, not wall time: with more ranks than CPUs the wall clock would measure the
     * scheduler's turns; the CPU clock measures the work each rank was given. */
    int64_t cpu_start = thread_cpu_ns();
    long long count = count_range(mine[0], mine[1]);
    double cpu_ms = (double)(thread_cpu_ns() - cpu_start) / 1e6;

    /* Gather: one count per rank, in rank order, into rank 0 (fork_join reads one result
     * per child from a pipe, in whatever order they finish). */
    long long *counts = rank == 0 ? malloc((size_t)size * sizeof *counts) : NULL;
    if (rank == 0 && !counts)
        mpi_abort(EXIT_FAILURE, "malloc: out of memory");
    mpi_check(MPI_Gather(&count, 1, MPI_LONG_LONG, counts, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD),
              "MPI_Gather");
    double *cpu_times = rank == 0 ? malloc((size_t)size * sizeof *cpu_times) : NULL;
    if (rank == 0 && !cpu_times)
        mpi_abort(EXIT_FAILURE, "malloc: out of memory");
    mpi_check(MPI_Gather(&cpu_ms, 1, MPI_DOUBLE, cpu_times, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD),
              "MPI_Gather (CPU times)");
    if (rank == 0) {
        printf("scatter: rank r counts [r * %lld / %d, (r + 1) * %lld / %d)\n", limit, size, limit,
               size);
        printf("gather: counts per rank:");
        for (int r = 0; r < size; r++)
            printf(" %lld", counts[r]);
        printf("\n");
        printf("gather: CPU ms per rank for its count:");
        for (int r = 0; r < size; r++)
            printf(" %.1f", cpu_times[r]);
        printf("\n");
    }

    /* Reduce: the sum, computed along a tree of ranks, arrives at rank 0 alone (allreduce
     * would give it to everyone). */
    long long total = 0;
    mpi_check(MPI_Reduce(&count, &total, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD),
              "MPI_Reduce");
    int ok = 1;
    if (rank == 0) {
        if (o.check) {
            long long expected = count_range(0, limit);
            ok = expected == total;
            printf("reduce: primes below %lld: %lld (sequential: %lld) -- %s\n", limit, total,
                   expected, ok ? "match" : "MISMATCH");
        } else {
            printf("reduce: primes below %lld: %lld\n", limit, total);
        }
    }

    /* Barrier: nobody leaves before everybody has arrived (barrier.c's job, between hosts). */
    mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    if (rank == 0)
        printf("barrier: all %d ranks arrived\n", size);
    mpi_check(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast (verdict)");
    free(blocks);
    free(counts);
    free(cpu_times);
    mpi_finish();
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
