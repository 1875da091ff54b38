/* mpi_pool.h - master-worker with dynamic scheduling over MPI: the process pool's pool_map
 * (lib/pool/pool.h) for processes that share no memory, on one machine or on many.
 *
 *   one machine (pool.h)                          MPI (this file)
 *   pool_create: fork P workers                   mpiexec -n P: the launcher starts P ranks
 *   a task is a function pointer + arg bytes      every rank names the same function when it
 *                                                 calls mpi_pool_map; only the argument
 *                                                 bytes travel (a pointer means nothing in
 *                                                 another process image, or on another host)
 *   arguments and results in shared slots         arguments and results in messages
 *   a free worker claims the next QUEUED slot     the master sends the next task to the
 *                                                 worker whose result just came in
 *   a dead worker is reaped and replaced          a dead rank ends the job: the launcher kills
 *                                                 the others and reports it; a rank that hangs
 *                                                 is caught by the master's watchdog
 *
 * Every rank calls mpi_pool_map with the same fn, arg_size and result_size.  Rank 0 is the
 * master: it holds the count arguments and receives the results, written in input order
 * into results (count * result_size bytes), as pool_map does.  The other ranks are workers:
 * their args and results are ignored.  Each worker has `ahead` tasks sent to it in advance,
 * so that when it finishes one the next is already in its mailbox (the pool's chunks in
 * flight); with `master_works` rank 0 runs tasks too whenever no message waits for it, so
 * that P ranks give P computing processes (the pool's parent sleeps instead; an MPI rank
 * that only hands out work holds a CPU slot of its own).
 *
 * Errors: a failed MPI call aborts the job (mpi_support.h).  Returns 0, or EIO when a task
 * function returned non-zero (errors[i], when errors is not NULL, holds each task's code).
 */
#ifndef FORKLORE_MPI_POOL_H
#define FORKLORE_MPI_POOL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* The same shape as pool.h's pool_task_fn: read the argument, write at most *result_size
 * bytes, store how many, return 0 or an error code. */
typedef int (*mpi_task_fn)(const void *arg, size_t arg_size, void *result, size_t *result_size);

enum { MPI_POOL_MAX_RANKS = 1024 };

enum mpi_pool_failure { MPI_POOL_FAIL_KILL, MPI_POOL_FAIL_HANG };

struct mpi_pool_options {
    int master_works; /* 1: rank 0 runs tasks too, between hand-outs */
    int ahead;        /* tasks sent in advance to each worker (0: 2) */
    double timeout_s; /* master's watchdog: no message for this long ends the job (0: none) */
    int fail_rank;    /* testing: this worker rank fails at its first task (0: nobody) */
    enum mpi_pool_failure fail_how; /* ... by SIGKILL, or by never answering again */
};

/* What one rank did, measured by itself: when it started its first task and ended its last
 * (CLOCK_MONOTONIC, comparable between ranks of one machine only), and the CPU time its
 * tasks used. */
struct mpi_rank_report {
    int64_t tasks, start_ns, end_ns, cpu_ns;
    int64_t pid;
    char host[64]; /* MPI_Get_processor_name, cut short */
};

struct mpi_pool_report {
    double seconds; /* MPI_Wtime on rank 0, from the first hand-out to the last report */
    int ranks;
    struct mpi_rank_report rank[MPI_POOL_MAX_RANKS];
};

/* For a program's option parser (run through mpi_parse_options): --fail-how's value, "kill"
 * or "hang"; anything else is a usage error (support/error.h). */
enum mpi_pool_failure mpi_pool_parse_failure(const char *text, const char *usage);

/* The checks of the options against the size of MPI_COMM_WORLD, as usage errors: fail_rank
 * must name a worker (1 to size - 1), and a master that only hands out needs a worker.  Call it
 * at the end of the parser, so that it too reports once, from rank 0. */
void mpi_pool_check_options(const struct mpi_pool_options *options, const char *usage);

/* Collective over comm.  report (rank 0 only; may be NULL) says who did what. */
int mpi_pool_map(MPI_Comm comm, mpi_task_fn fn, const void *args, size_t arg_size, size_t count,
                 void *results, size_t result_size, int *errors,
                 const struct mpi_pool_options *options, struct mpi_pool_report *report);

#endif
