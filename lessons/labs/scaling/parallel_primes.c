#define _GNU_SOURCE
/* parallel_primes.c - lab 6: count the primes in [low, high) with `workers` forked children.
 * YOUR CODE GOES HERE.
 *
 * Implement count_primes_parallel as parallel_primes.h describes.  The stub below fails at
 * once, so `make grade LAB=scaling` runs to the end and shows what is missing.
 *
 * The plan (handout.md, "Steps"):
 *   1. a prime test by trial division (is_prime), and the count of one worker's share;
 *   2. one pipe; fflush(NULL); fork all `workers` children before waiting for any; each child
 *      counts its share, writes one record (its index and count: one write() below PIPE_BUF)
 *      and leaves with _exit;
 *   3. the parent closes its write end (or it never sees end of file), reads records until
 *      end of file, and reaps every child by its pid (waitpid), checking each exit status;
 *   4. a share that is fair: the cost of testing n grows like sqrt(n), so two equal halves of
 *      a range are not equal work.
 *
 * Lessons: ../../01d-fork-join.md (fork-join), ../../02-pipes-and-fifos.md (end of
 * file, PIPE_BUF), ../../09-benchmarking.md (what the speedup gate measures).
 * Programs: ../../../patterns/processes/fork_join.c, ../../../bench/workloads/fork_join.c.
 */
#include "parallel_primes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h" /* die_with_parent(): a child must not outlive its parent */

/* TODO (step 1): static int is_prime(long n), by trial division up to sqrt(n). */

/* TODO (step 2): what a child sends back, and the child's code. */

long count_primes_parallel(long low, long high, int workers)
{
    /* TODO (steps 2 to 4).  First check the arguments (EINVAL, see the header). */
    (void)low;
    (void)high;
    (void)workers;
    errno = ENOSYS; /* "Function not implemented" */
    return -1;
}
