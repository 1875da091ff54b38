/* fork_workers.h - fork n workers, start them together, collect one record from each, reap
 * them all: the one copy of what the fork-join workloads and the driver's capacity probe do.
 *
 * Each worker is a forked child that waits until every worker exists (the parent releases
 * them at once by closing a pipe they all block on: EOF reaches every reader together), runs
 * work(), and sends its record through one shared pipe in a single write of at most PIPE_BUF
 * bytes, which POSIX keeps whole among concurrent writers.  The parent reaps each child by
 * pid (never wait(-1): a pool's workers may be alive beside them), and on every failure (a
 * pipe, a fork, a worker that exits non-zero or sends nothing) kills and reaps what it
 * started: it returns with no child left behind.
 *
 * Python: the same as starting n multiprocessing.Process objects on a Barrier, then join().
 */
#ifndef FORKLORE_FORK_WORKERS_H
#define FORKLORE_FORK_WORKERS_H

#include <stddef.h>

/* The largest record: a header and the record must fit in one atomic pipe write. */
#define FORK_WORKERS_MAX_RECORD 4000

struct fork_workers_job {
    int workers;        /* how many to fork (at least 1) */
    size_t record_size; /* bytes each sends back, 1 to FORK_WORKERS_MAX_RECORD */
    /* Runs in worker `index` (0-based) once all are released; fills record (zeroed before).
     * Returns 0, or the exit status the worker should leave with. */
    int (*work)(int index, void *arg, void *record);
    void *arg;
};

/* Run the job; records (workers * record_size bytes) gets worker i's record at position i.
 * Returns 0, or -1 with a one-line reason in detail (detail_size bytes). */
int fork_workers(const struct fork_workers_job *job, void *records, char *detail,
                 size_t detail_size);

#endif
