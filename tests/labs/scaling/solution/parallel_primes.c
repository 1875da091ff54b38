#define _GNU_SOURCE
/* parallel_primes.c - lab 6, the reference solution: count the primes in [low, high) with
 * `workers` forked children, partial counts back through one pipe.
 *
 * The split is striped, as in bench/workloads/fork_join.c: worker k of P tests the odd
 * numbers first + 2k, first + 2k + 2P, ... (first: the smallest odd number >= max(low, 3)),
 * and worker 0 also counts 2 when it is in the range.  Testing n costs up to sqrt(n)
 * divisions, so two equal halves of a range are unequal work (the upper half costs more);
 * dealing the numbers out like cards gives every worker a fair mix of small and large ones,
 * and leaving out the even numbers keeps worker 0 from getting every cheap one when P = 2.
 *
 * What to observe (when reading): every child is forked before the parent waits for any
 * (fork, wait, fork, wait would be a sequential program with extra steps); the parent closes
 * its copy of the write end before reading, or it would never see end of file; each record is
 * one write() below PIPE_BUF, so records from different children never mix; every child is
 * reaped by its pid.
 *
 * Python counterpart: sum(Pool(P).map(count_stripe, range(P))).
 *
 * See also: patterns/processes/fork_join.c (the same job with ranges and a report),
 * lessons/01d-fork-join.md, lessons/09-benchmarking.md (measuring it).
 */
#include "parallel_primes.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"

/* What a child sends back: which stripe, and its count.  Far below PIPE_BUF: one write()
 * lands whole, never interleaved with another child's. */
struct record {
    int worker;
    long count;
};
_Static_assert(sizeof(struct record) <= PIPE_BUF, "a record must be written atomically");

static int is_prime(long n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

/* Worker k's stripe of [low, high): every P-th odd number from its own starting point. */
static long count_stripe(long low, long high, int k, int workers)
{
    long count = (k == 0 && low <= 2 && 2 < high); /* 2, the only even prime */
    long first = low < 3 ? 3 : (low % 2 ? low : low + 1);
    for (long n = first + 2L * k; n < high; n += 2L * workers)
        count += is_prime(n);
    return count;
}

static _Noreturn void run_child(long low, long high, int k, int workers, int write_fd, pid_t parent)
{
    die_with_parent(parent); /* an orphaned counter would burn a CPU for nothing */
    struct record r;
    memset(&r, 0, sizeof r); /* the padding too: the whole struct goes to write() */
    r.worker = k;
    r.count = count_stripe(low, high, k, workers);
    /* _exit, not exit: the stdio buffers and atexit handlers are the parent's. */
    _exit(write(write_fd, &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
}

/* Kill and reap the children started so far (when a later fork failed). */
static void abandon(pid_t *pids, int started)
{
    for (int k = 0; k < started; k++)
        kill(pids[k], SIGKILL);
    for (int k = 0; k < started; k++)
        while (waitpid(pids[k], NULL, 0) == -1 && errno == EINTR)
            ;
}

/* Read records until end of file (every child has exited or closed its end). */
static long collect(int read_fd, int workers, int *received)
{
    long total = 0;
    struct record r;
    ssize_t n;
    *received = 0;
    while ((n = read(read_fd, &r, sizeof r)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof r || r.worker < 0 || r.worker >= workers)
            return -1;
        total += r.count;
        (*received)++;
    }
    return total;
}

long count_primes_parallel(long low, long high, int workers)
{
    if (low < 0 || high < low || high > PARALLEL_PRIMES_MAX_HIGH || workers < 1 ||
        workers > PARALLEL_PRIMES_MAX_WORKERS) {
        errno = EINVAL;
        return -1;
    }
    pid_t *pids = malloc((size_t)workers * sizeof *pids);
    if (!pids)
        return -1;
    int fds[2];
    if (pipe(fds) == -1) {
        free(pids);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL); /* or each child would inherit, and could write again, unwritten output */
    for (int k = 0; k < workers; k++) {
        pids[k] = fork();
        if (pids[k] == -1) {
            int saved = errno;
            close(fds[0]);
            close(fds[1]);
            abandon(pids, k);
            free(pids);
            errno = saved;
            return -1;
        }
        if (pids[k] == 0) {
            close(fds[0]); /* a child only writes */
            free(pids);    /* the child's copy of the parent's table: not its business */
            run_child(low, high, k, workers, fds[1], parent);
        }
    }
    /* All forked: now the parent's write end must go, or read() never returns 0. */
    close(fds[1]);
    int received;
    long total = collect(fds[0], workers, &received);
    close(fds[0]);
    /* Reap every child by its pid, whatever the records said: no zombie stays behind. */
    int all_fine = 1;
    for (int k = 0; k < workers; k++) {
        int status;
        while (waitpid(pids[k], &status, 0) == -1) {
            if (errno != EINTR) {
                status = -1;
                break;
            }
        }
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            all_fine = 0;
    }
    free(pids);
    if (total < 0 || received != workers || !all_fine) {
        errno = ECHILD;
        return -1;
    }
    return total;
}
