#define _GNU_SOURCE
/* barrier.c - a pthread barrier in shared memory, marked PTHREAD_PROCESS_SHARED, holding N
 * processes together round after round: nobody starts round r+1 before everyone ends round r.
 *
 * Usage: barrier [--workers N] [--rounds R] [--work-us T]
 *   --workers N   processes meeting at the barrier (default 4, 1..64)
 *   --rounds R    rounds of work, each closed by the barrier (default 5)
 *   --work-us T   most microseconds of work per round; each process picks its own amount so
 *                 they arrive at different times (default 2000)
 *   -h, --help    this text
 *
 * What to observe:
 *   - After each barrier_wait, every worker checks that all N arrived in that round: the
 *     "ran ahead" count stays 0.
 *   - Exactly one process per round gets PTHREAD_BARRIER_SERIAL_THREAD back (not always the
 *     same one): the natural place for once-per-round work such as printing a summary.
 *   - pthread_barrier_wait has no timeout: each worker arms alarm() as its watchdog, and the
 *     parent reports a worker stuck at the barrier as "killed by signal 14 (Alarm clock)".
 *
 * Python counterpart: multiprocessing.Barrier(N); its wait() returns an index, and index 0
 *   plays the role of PTHREAD_BARRIER_SERIAL_THREAD.
 *
 * See also: reusable_barrier.c (a barrier built from a mutex and a condition),
 *   pthread_barrier_wait(3p), lessons/06-semaphores-and-conditions.md.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: barrier [--workers N] [--rounds R] [--work-us T]\n"
    "  --workers N   processes meeting at the barrier (default 4, 1..64)\n"
    "  --rounds R    rounds of work, each closed by the barrier (default 5)\n"
    "  --work-us T   most microseconds of work per round; each process picks its own amount so\n"
    "                they arrive at different times (default 2000)\n"
    "  -h, --help    this text\n";

enum { MAX_WORKERS = 64, MAX_ROUNDS = 10000 };
/* A worker still in one round after this many seconds is stuck at the barrier. */
enum { WATCHDOG_SECONDS = 20 };

/* Shared by every process.  arrived[r] counts who reached round r's barrier; serial[r] counts
 * who got PTHREAD_BARRIER_SERIAL_THREAD in round r (exactly one, if the barrier works). */
struct shared {
    pthread_barrier_t barrier;
    atomic_int ran_ahead; /* times a worker passed a barrier before everyone arrived */
    atomic_int arrived[MAX_ROUNDS];
    atomic_int serial[MAX_ROUNDS];
};
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomics shared between processes must be lock-free");

/* The barrier's memory is shared; PTHREAD_PROCESS_SHARED tells the implementation so (a
 * private barrier may assume all its waiters live in one address space). */
static void init_barrier(pthread_barrier_t *barrier, int workers)
{
    pthread_barrierattr_t attr;
    int err;
    if ((err = pthread_barrierattr_init(&attr)) != 0 ||
        (err = pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) != 0 ||
        (err = pthread_barrier_init(barrier, &attr, (unsigned)workers)) != 0)
        die_with_code(err, "pthread barrier setup");
    check_error_number(pthread_barrierattr_destroy(&attr), "pthread_barrierattr_destroy");
}

/* One worker's life: work a different amount each round, arrive, wait, check. */
static void worker(struct shared *shm, int me, int workers, int rounds, long work_us)
{
    for (int r = 0; r < rounds; r++) {
        /* Re-armed every round, so it limits one round, not the whole run; the default
         * action of SIGALRM ends a worker stuck that long. */
        alarm(WATCHDOG_SECONDS);
        /* Different work per worker and per round, so the arrival order keeps changing. */
        sleep_ns(work_us * 1000 * ((me * 7 + r * 3) % 10 + 1) / 10);
        atomic_fetch_add(&shm->arrived[r], 1);
        int result = pthread_barrier_wait(&shm->barrier);
        if (result != 0 && result != PTHREAD_BARRIER_SERIAL_THREAD) {
            errno = result;
            die("pthread_barrier_wait");
        }
        /* Past the barrier: every worker must have arrived in this round. */
        int seen = atomic_load(&shm->arrived[r]);
        if (seen != workers) {
            atomic_fetch_add(&shm->ran_ahead, 1);
            say("worker %d passed round %d's barrier with only %d of %d arrived\n", me, r, seen,
                workers);
        }
        if (result == PTHREAD_BARRIER_SERIAL_THREAD) {
            atomic_fetch_add(&shm->serial[r], 1);
            say("round %d: all %d arrived; worker %d got PTHREAD_BARRIER_SERIAL_THREAD\n", r, seen,
                me);
        }
    }
}

/* Every round must have exactly one serial worker. Returns the number of rounds that don't. */
static int count_bad_serial(const struct shared *shm, int rounds)
{
    int bad = 0;
    for (int r = 0; r < rounds; r++)
        if (atomic_load(&shm->serial[r]) != 1) {
            printf("round %d: %d workers got PTHREAD_BARRIER_SERIAL_THREAD (expected 1)\n", r,
                   atomic_load(&shm->serial[r]));
            bad++;
        }
    return bad;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int workers = 4, rounds = 5;
    long work_us = 2000;
    static const struct option options[] = {{"workers", required_argument, NULL, 'w'},
                                            {"rounds", required_argument, NULL, 'r'},
                                            {"work-us", required_argument, NULL, 't'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":w:r:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'r': rounds = (int)parse_long(optarg, "--rounds", 1, MAX_ROUNDS, usage); break;
        case 't': work_us = parse_long(optarg, "--work-us", 0, 1000000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm); /* zero-filled */
    init_barrier(&shm->barrier, workers);
    printf("barrier: %d workers, %d rounds, up to %ld us of work per round\n", workers, rounds,
           work_us);
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0) { /* it dies with us: else the others would wait */
            worker(shm, i, workers, rounds, work_us);
            leave_child(EXIT_SUCCESS);
        }
    /* In the order they end: a worker that dies (killed, or by SIGPIPE writing to a closed
     * stdout) would keep the others at the barrier until their alarms rang, so the first
     * failure stops the rest.  A worker the watchdog ended shows as "killed by signal 14". */
    int failed = reap_group(pids, workers, "worker");
    if (failed) { /* a dead waiter may be counted in the barrier: destroying it could block */
        note("%d of %d workers did not finish: the barrier is left as it is", failed, workers);
        unmap_shared(shm, sizeof *shm);
        return EXIT_FAILURE;
    }
    int bad_serial = count_bad_serial(shm, rounds);
    int ran_ahead = atomic_load(&shm->ran_ahead);
    printf("%d rounds completed; ran ahead: %d; rounds without exactly one serial worker: %d\n",
           rounds, ran_ahead, bad_serial);
    int err = pthread_barrier_destroy(&shm->barrier); /* every worker ended well: none waits */
    if (err != 0)
        die_with_code(err, "pthread_barrier_destroy");
    unmap_shared(shm, sizeof *shm);
    return failed == 0 && ran_ahead == 0 && bad_serial == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
