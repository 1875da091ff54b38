#define _GNU_SOURCE
/* reusable_barrier.c - a cyclic barrier built by hand from a process-shared mutex, a condition
 * variable and a generation count, used for many rounds; every round checks nobody ran ahead.
 *
 * Usage: reusable_barrier [--workers N] [--rounds R] [--work-us T]
 *   --workers N   processes meeting at the barrier (default 4, 2..64)
 *   --rounds R    rounds, each closed by the barrier (default 50)
 *   --work-us T   most microseconds of work per round, different for each worker (default 300)
 *   -h, --help    this text
 *
 * What to observe:
 *   - "ran ahead: 0": after passing the barrier of round r, a worker finds every other worker
 *     at round r or r+1, never behind (someone who has not arrived yet) and never two ahead.
 *   - Why a generation count: the last to arrive resets the count to 0 for the next round at
 *     once, so a woken waiter cannot test "count == N" (the count may already be 0 again, or
 *     growing with early arrivals of the next round).  It waits instead for the generation to
 *     change, which happens exactly once per round.
 *   - Each round's last arrival is the "serial" worker, like PTHREAD_BARRIER_SERIAL_THREAD.
 *   - --naive: a barrier that counts arrivals and waits while fewer than N have come works
 *     once; from round 1 on the count is already N, nobody waits, and "ran ahead" climbs.
 *
 * Python counterpart: multiprocessing.Barrier(N) is reusable in the same way; its wait()
 *   returns an index, and a timeout raises BrokenBarrierError where this program's watchdog
 *   says what it saw.
 *
 * See also: barrier.c (the pthread barrier), condition_variable.c, event.c,
 *   lessons/07-classic-problems.md.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: reusable_barrier [--workers N] [--rounds R] [--work-us T] [--naive]\n"
    "  --workers N   processes meeting at the barrier (default 4, 2..64)\n"
    "  --rounds R    rounds, each closed by the barrier (default 50)\n"
    "  --work-us T   most microseconds of work per round, different for each worker (default 300)\n"
    "  --naive       the broken one-shot barrier: \"wait while arrived < N\", never reset\n"
    "  -h, --help    this text\n";

enum { MAX_WORKERS = 64 };
/* A worker waiting longer than this at one barrier: a partner died or a wakeup was lost. */
enum { WATCHDOG_MS = 10000 };

/* The barrier: how many have arrived in this round, and which round (generation) it is. */
struct cyclic_barrier {
    pthread_mutex_t lock;
    pthread_cond_t round_over;
    int parties;
    int arrived;
    unsigned long generation;
    int naive; /* 1: the broken one-shot version, for comparison */
};

/* Everything the workers share.  round_of[i] is the round worker i has reached: the witness
 * the run-ahead check reads; it plays no part in the barrier itself. */
struct shared {
    struct cyclic_barrier barrier;
    atomic_int round_of[MAX_WORKERS];
    atomic_int ran_ahead;
    atomic_long serial_total; /* rounds in which someone was the last to arrive */
};
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2,
               "atomics shared between processes must be lock-free");

/* Process-shared mutex and condition; the condition's clock is CLOCK_MONOTONIC. */
static void barrier_init(struct cyclic_barrier *b, int parties)
{
    init_shared_mutex(&b->lock);
    init_shared_cond(&b->round_over);
    b->parties = parties;
    b->arrived = 0;
    b->generation = 0;
}

static void barrier_destroy(struct cyclic_barrier *b)
{
    check_error_number(pthread_cond_destroy(&b->round_over), "pthread_cond_destroy");
    check_error_number(pthread_mutex_destroy(&b->lock), "pthread_mutex_destroy");
}

/* Wait until all parties have arrived.  Returns 1 for the last to arrive (the serial one),
 * 0 for the others.  Runs in the workers only, hence die_in_child. */
static int barrier_wait(struct cyclic_barrier *b)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_MONOTONIC, &deadline) == -1)
        die("clock_gettime");
    deadline.tv_sec += WATCHDOG_MS / 1000;
    int err = pthread_mutex_lock(&b->lock);
    check_error_number(err, "pthread_mutex_lock");
    if (b->naive) { /* broken: right for round 0 only, as arrived is never reset */
        int last = ++b->arrived == b->parties;
        if (last)
            check_error_number(pthread_cond_broadcast(&b->round_over), "pthread_cond_broadcast");
        while (b->arrived < b->parties)
            if ((err = pthread_cond_timedwait(&b->round_over, &b->lock, &deadline)) != 0) {
                errno = err;
                die("naive barrier: pthread_cond_timedwait");
            }
        check_error_number(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
        return last;
    }
    unsigned long my_generation = b->generation;
    if (++b->arrived == b->parties) {
        b->arrived = 0;  /* ready for the next round at once */
        b->generation++; /* this, not the count, is what the waiters watch */
        check_error_number(pthread_cond_broadcast(&b->round_over), "pthread_cond_broadcast");
        check_error_number(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
        return 1;
    }
    while (b->generation == my_generation) { /* a while: spurious wakeups return early */
        err = pthread_cond_timedwait(&b->round_over, &b->lock, &deadline);
        if (err == ETIMEDOUT)
            die_with_code(-1, "stuck %d ms at the barrier: %d of %d arrived in generation %lu",
                          WATCHDOG_MS, b->arrived, b->parties, b->generation);
        check_error_number(err, "pthread_cond_timedwait");
    }
    check_error_number(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
    return 0;
}

/* Just past round r's barrier, every worker must have reached round r (it arrived) and none
 * may be beyond r+1 (it can have passed this barrier and started the next round, no more). */
static void check_nobody_behind(struct shared *shm, int me, int workers, int r)
{
    for (int j = 0; j < workers; j++) {
        int seen = atomic_load(&shm->round_of[j]);
        if ((seen < r || seen > r + 1) && atomic_fetch_add(&shm->ran_ahead, 1) < 3)
            say("worker %d past round %d's barrier found worker %d at round %d\n", me, r, j,
                seen); /* the first few say so; the count keeps the rest */
    }
}

/* One worker: R rounds of uneven work, each closed by the barrier and checked. */
static void worker(struct shared *shm, int me, int workers, int rounds, long work_us)
{
    for (int r = 0; r < rounds; r++) {
        sleep_ns(work_us * 1000 * ((me * 5 + r * 3) % 7 + 1) / 7); /* uneven arrival times */
        atomic_store(&shm->round_of[me], r);                       /* "I have reached round r" */
        if (barrier_wait(&shm->barrier))
            atomic_fetch_add(&shm->serial_total, 1);
        check_nobody_behind(shm, me, workers, r);
    }
    atomic_store(&shm->round_of[me], rounds); /* done: counts as having reached the end */
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int workers = 4, rounds = 50, naive = 0;
    long work_us = 300;
    static const struct option options[] = {
        {"workers", required_argument, NULL, 'w'}, {"rounds", required_argument, NULL, 'r'},
        {"work-us", required_argument, NULL, 't'}, {"naive", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":w:r:t:nh", options, NULL)) != -1) {
        switch (opt) {
        case 'w': workers = (int)parse_long(optarg, "--workers", 2, MAX_WORKERS, usage); break;
        case 'r': rounds = (int)parse_long(optarg, "--rounds", 1, 10000000, usage); break;
        case 't': work_us = parse_long(optarg, "--work-us", 0, 1000000, usage); break;
        case 'n': naive = 1; break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm); /* zero-filled */
    barrier_init(&shm->barrier, workers);
    shm->barrier.naive = naive;
    printf("reusable_barrier: %s barrier, %d workers, %d rounds, up to %ld us of work per round\n",
           naive ? "naive (broken)" : "generation-count", workers, rounds, work_us);
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0) { /* the others would wait for it in vain */
            worker(shm, i, workers, rounds, work_us);
            leave_child(EXIT_SUCCESS);
        }
    /* In the order they end: one that dies holding the mutex would leave the others blocked
     * re-locking it inside pthread_cond_timedwait, which then cannot time out; so the first
     * failure stops the rest, and the barrier, which a dead waiter may hold, is not destroyed. */
    int failed = reap_group(pids, workers, "worker");
    if (failed) {
        note("%d of %d workers did not finish: the barrier is left as it is", failed, workers);
        unmap_shared(shm, sizeof *shm);
        return EXIT_FAILURE;
    }
    int ran_ahead = atomic_load(&shm->ran_ahead);
    long serial = atomic_load(&shm->serial_total);
    printf("generations completed: %lu (rounds %d); serial arrivals: %ld; ran ahead: %d\n",
           shm->barrier.generation, rounds, serial, ran_ahead);
    barrier_destroy(&shm->barrier); /* every worker ended well: nobody is waiting */
    unmap_shared(shm, sizeof *shm);
    if (naive) /* the broken version "succeeds" by showing the run-ahead it lets through */
        return failed == 0 && ran_ahead > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    int ok = failed == 0 && ran_ahead == 0 && serial == rounds;
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
