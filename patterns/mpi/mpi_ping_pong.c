#define _GNU_SOURCE
/* mpi_ping_pong.c - the round trip of one message between two MPI ranks: rank 0 sends, rank 1
 * sends it back, many times; the pipe of a cluster, measured.
 *
 * Usage: mpiexec -n 2 mpi_ping_pong [--size=BYTES] [--count=N]
 *   -s, --size=BYTES   bytes per message (default 64; 8 to 16M; K and M suffixes)
 *   -c, --count=N      round trips timed (default 10000; 1 to 10^8), after N/10 untimed ones
 *   -h, --help         this text
 * Ranks beyond the first two wait for the end.  Exit status: 0 when every echo carried the
 * number that was sent, 1 otherwise, 2 for a bad command line (or fewer than 2 ranks).
 *
 * What to observe:
 *   - "round trip": MPI_Wtime on rank 0 around the timed round trips, divided by their count.
 *     On one machine MPI moves a message through shared memory, so compare it with the pipe
 *     and the shared-memory queue of lesson 03 (`bench --only mpi`).  Between machines the
 *     network sets it: tens of microseconds over TCP, one or two over InfiniBand.
 *   - Both ranks use a whole CPU while they wait (`top`): MPI_Recv polls, it does not sleep.
 *     Run both on one CPU (`taskset -c 0 build/mpi/mpirun -n 2 ...`) and each hop waits for
 *     the other rank's time slice to end: milliseconds, not microseconds.
 *   - --size=1M: the time grows with the size once the copy outweighs the fixed cost.
 *
 * Python counterpart: comm.send(obj, dest=1) / comm.recv(source=1) in mpi4py (pickled), or
 *   comm.Send(buffer, ...) / comm.Recv(buffer, ...) for raw buffers; on one machine,
 *   multiprocessing.Pipe's conn.send() / conn.recv().
 *
 * See also: patterns/pipes/ (the pipe), bench/workloads/ipc_latency.c, lessons/10-mpi.md.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi_support.h"
#include "support/error.h"
#include "support/parse.h"

struct options {
    long long size;
    long count;
};

static const char usage[] = "Usage: mpiexec -n 2 mpi_ping_pong [--size=BYTES] [--count=N]\n"
                            "  -s, --size=BYTES   bytes per message (default 64; 8 to 16M)\n"
                            "  -c, --count=N      round trips timed (default 10000; 1 to 10^8)\n"
                            "  -h, --help         this text\n";

enum { TAG_PING = 1 };

/* Rank 0's side of one round trip: the sequence number travels in the first 8 bytes. */
static int64_t round_trip(char *buffer, int size, int64_t sequence)
{
    memcpy(buffer, &sequence, sizeof sequence);
    mpi_check(MPI_Send(buffer, size, MPI_BYTE, 1, TAG_PING, MPI_COMM_WORLD), "MPI_Send");
    mpi_check(MPI_Recv(buffer, size, MPI_BYTE, 1, TAG_PING, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "MPI_Recv");
    int64_t echoed;
    memcpy(&echoed, buffer, sizeof echoed);
    return echoed;
}

/* Rank 1: send back whatever comes, `total` times. */
static void echo(char *buffer, int size, long total)
{
    for (long i = 0; i < total; i++) {
        mpi_check(MPI_Recv(buffer, size, MPI_BYTE, 0, TAG_PING, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                  "MPI_Recv");
        mpi_check(MPI_Send(buffer, size, MPI_BYTE, 0, TAG_PING, MPI_COMM_WORLD), "MPI_Send");
    }
}

static void parse_options(int argc, char **argv, void *out)
{
    static const struct option longs[] = {{"size", required_argument, 0, 's'},
                                          {"count", required_argument, 0, 'c'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    struct options *o = out;
    *o = (struct options){.size = 64, .count = 10000};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:c:h", longs, NULL)) != -1) {
        switch (c) {
        case 's': o->size = parse_size(optarg, "--size", 8, 16 << 20, usage); break;
        case 'c': o->count = parse_long(optarg, "--count", 1, 100000000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int size;
    mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
    if (size < 2)
        usage_error(usage, "a ping-pong needs 2 ranks: mpiexec -n 2 (this job has %d)", size);
}

int main(int argc, char **argv)
{
    struct mpi_world world;
    mpi_start(&argc, &argv, &world);
    struct options o;
    mpi_parse_options(&world, parse_options, argc, argv, &o);
    int size = (int)o.size;
    long warmup = o.count / 10 > 0 ? o.count / 10 : 1; /* connections, caches, page faults */
    char *buffer = calloc((size_t)size, 1);
    if (!buffer)
        mpi_abort(EXIT_FAILURE, "calloc: out of memory");
    long wrong = 0;
    if (world.rank == 1) {
        echo(buffer, size, warmup + o.count);
    } else if (world.rank == 0) {
        printf("mpi_ping_pong: %d ranks, %d-byte messages, %ld round trips (after %ld untimed)\n",
               world.size, size, o.count, warmup);
        for (long i = 0; i < warmup; i++)
            wrong += round_trip(buffer, size, i) != i;
        double start = MPI_Wtime();
        for (long i = 0; i < o.count; i++)
            wrong += round_trip(buffer, size, i) != i;
        double seconds = MPI_Wtime() - start;
        printf("round trip: %.2f us (%.0f ns; MPI_Wtime on rank 0 over %ld round trips)\n",
               seconds / o.count * 1e6, seconds / o.count * 1e9, o.count);
        printf("echoes: %ld of %ld carried the wrong number -- %s\n", wrong, warmup + o.count,
               wrong ? "WRONG" : "ok");
    }
    /* Every rank learns the verdict, so that the job's exit status is rank 0's. */
    mpi_check(MPI_Bcast(&wrong, 1, MPI_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
    free(buffer);
    mpi_finish();
    return wrong ? EXIT_FAILURE : EXIT_SUCCESS;
}
