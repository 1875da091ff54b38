/* coprocess.h - a program the benchmark keeps running beside itself and talks to in lines:
 * its stdin and stdout are pipes from and to the benchmark, its stderr is the benchmark's.
 * Used for Python's pools (python_coprocess.h) and for an MPI job (workloads/mpi_scaling.c),
 * each started once per measured point and asked one job per timed run.
 *
 * The co-process is registered with the support module's clean-up (Ctrl-C kills and reaps
 * it) and dies with the benchmark (PR_SET_PDEATHSIG).  Neither pipe end leaks into anything
 * else the benchmark starts (both are close-on-exec).
 */
#ifndef FORKLORE_COPROCESS_H
#define FORKLORE_COPROCESS_H

#include <stdio.h>
#include <sys/types.h>

struct coprocess {
    pid_t pid;       /* 0: not running */
    FILE *to, *from; /* its stdin (line-buffered) and its stdout */
};

/* Start argv (argv[0] looked up in PATH).  0, or -1 with errno set; after a failure
 * coprocess_stop(c, NULL) still applies. */
int coprocess_start(struct coprocess *c, char *const argv[]);

/* Write last_line first when it is not NULL (a "quit" the program understands), then close
 * its stdin and stdout, reap it and zero *c.  Does nothing if it is not running. */
void coprocess_stop(struct coprocess *c, const char *last_line);

#endif
