#define _GNU_SOURCE
/* counting_semaphore.c - a semaphore that starts at K lets at most K of N processes use a
 * resource at once; the program measures the real peak, and shows a timed wait giving up.
 *
 * Usage: counting_semaphore [--workers N] [--limit K] [--uses U] [--hold-us T] [--timeout-ms M]
 *   --workers N     processes competing for the resource (default 6, 1..64)
 *   --limit K       the semaphore's initial value: users allowed at once (default 2, 1..64)
 *   --uses U        times each process acquires the resource (default 20)
 *   --hold-us T     microseconds a process keeps the resource each time (default 500)
 *   --timeout-ms M  how long the timed-wait demonstration waits (default 100)
 *   -h, --help      this text
 *
 * What to observe:
 *   - "peak concurrent users" never exceeds K (with N > K and a hold time, it usually reaches K).
 *     The peak is measured with an atomic counter in shared memory, incremented on entry.
 *   - The timed-wait demonstration: all K slots are taken, one more process calls
 *     sem_timedwait, and after about M ms it gets ETIMEDOUT instead of the resource.
 *
 * Python counterpart: multiprocessing.Semaphore(K); with block=True, timeout=M/1000 acquire
 *   returns False where C's sem_timedwait fails with ETIMEDOUT.
 *
 * See also: named_semaphore.c, bounded_semaphore.c, sem_timedwait(3), sem_clockwait(3),
 *   lessons/06-semaphores-and-conditions.md.
 */
#include <errno.h>
#include <getopt.h>
#include <semaphore.h>
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
    "Usage: counting_semaphore [--workers N] [--limit K] [--uses U] [--hold-us T] "
    "[--timeout-ms M]\n"
    "  --workers N     processes competing for the resource (default 6, 1..64)\n"
    "  --limit K       the semaphore's initial value: users allowed at once (default 2, 1..64)\n"
    "  --uses U        times each process acquires the resource (default 20)\n"
    "  --hold-us T     microseconds a process keeps the resource each time (default 500)\n"
    "  --timeout-ms M  how long the timed-wait demonstration waits (default 100)\n"
    "  -h, --help      this text\n";

enum { MAX_WORKERS = 64 };
/* A worker blocked longer than this is stuck, not slow: it says so and fails. */
enum { WATCHDOG_SECONDS = 10 };

/* Shared by every process. The atomics must be lock-free to work across processes: a lock
 * hidden inside a non-lock-free atomic would live in one process's memory only. */
struct shared {
    sem_t slots;            /* the counting semaphore: free places at the resource */
    atomic_int in_use;      /* processes inside right now */
    atomic_int peak;        /* the most ever seen inside at once */
    atomic_long total_uses; /* every completed use, to check nobody skipped one */
};
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2,
               "atomics shared between processes must be lock-free");

/* Wait for a slot for at most ms milliseconds. Returns 0 with the slot, or ETIMEDOUT. */
static int acquire_within(sem_t *sem, long ms)
{
    /* sem_timedwait takes an absolute time on CLOCK_REALTIME (sem_clockwait, glibc 2.30+,
     * can use CLOCK_MONOTONIC, which a clock step cannot disturb). */
    struct timespec deadline = deadline_after_ns(CLOCK_REALTIME, ms * 1000000LL);
    while (sem_timedwait(sem, &deadline) == -1) {
        if (errno == EINTR)
            continue; /* a signal is not a timeout: wait again for the same deadline */
        if (errno == ETIMEDOUT)
            return ETIMEDOUT;
        die("sem_timedwait");
    }
    return 0;
}

/* Raise peak to at least now, safely against other processes doing the same. */
static void record_peak(atomic_int *peak, int now)
{
    int seen = atomic_load(peak);
    while (now > seen && !atomic_compare_exchange_weak(peak, &seen, now))
        continue; /* on failure, seen holds the newer peak: retry only if ours is higher */
}

/* One worker: acquire, count itself in, hold the resource, count itself out, release. */
static void use_resource(struct shared *shm, int uses, long hold_us)
{
    for (int i = 0; i < uses; i++) {
        if (acquire_within(&shm->slots, WATCHDOG_SECONDS * 1000L) == ETIMEDOUT)
            die("no slot in %d s (in use: %d): a slot was never released", WATCHDOG_SECONDS,
                atomic_load(&shm->in_use));
        int now = atomic_fetch_add(&shm->in_use, 1) + 1; /* inside: count me */
        record_peak(&shm->peak, now);
        sleep_ns(hold_us * 1000);          /* the "work": long enough for others to pile up */
        atomic_fetch_sub(&shm->in_use, 1); /* leaving: before the post */
        atomic_fetch_add(&shm->total_uses, 1);
        if (sem_post(&shm->slots) == -1)
            die("sem_post");
    }
}

/* Part 1: N workers share K slots; the measured peak must never exceed K. */
static int demonstrate_limit(struct shared *shm, int workers, int limit, int uses, long hold_us)
{
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0) {
            use_resource(shm, uses, hold_us);
            leave_child(EXIT_SUCCESS);
        }
    /* A worker killed while it holds a slot never posts it: the others would wait out their
     * watchdogs for it.  So the first failure stops the rest. */
    int failed = reap_group(pids, workers, "worker");
    if (failed) {
        note("%d of %d workers did not finish: slots they held are lost", failed, workers);
        return 0;
    }
    int peak = atomic_load(&shm->peak);
    long total = atomic_load(&shm->total_uses);
    printf("peak concurrent users = %d (limit %d): %s\n", peak, limit,
           peak <= limit ? "within the limit" : "LIMIT EXCEEDED");
    printf("completed uses = %ld, expected %d x %d = %d\n", total, workers, uses, workers * uses);
    return failed == 0 && peak <= limit && total == (long)workers * uses;
}

/* The latecomer in part 2: every slot is taken, so its timed wait must run out. */
static _Noreturn void wait_in_vain(struct shared *shm, long timeout_ms)
{
    int64_t start = monotonic_ns(); /* measure on the monotonic clock, never the wall clock */
    int result = acquire_within(&shm->slots, timeout_ms);
    double waited_ms = (double)(monotonic_ns() - start) / 1e6;
    if (result == ETIMEDOUT) {
        say("sem_timedwait gave up after %.0f ms: ETIMEDOUT (%s)\n", waited_ms,
            strerror(ETIMEDOUT));
        leave_child(EXIT_SUCCESS);
    }
    say("sem_timedwait got a slot after %.0f ms, but every slot was taken\n", waited_ms);
    leave_child(EXIT_FAILURE);
}

/* Part 2: the parent takes all K slots itself, then one child tries with a time limit. */
static int demonstrate_timeout(struct shared *shm, int limit, long timeout_ms)
{
    for (int i = 0; i < limit; i++)
        if (sem_wait(&shm->slots) == -1) /* all slots are free after part 1: no blocking */
            die("sem_wait");
    printf("timed wait: the parent holds all %d slots; a child waits at most %ld ms\n", limit,
           timeout_ms);
    pid_t latecomer = start_child();
    if (latecomer == 0)
        wait_in_vain(shm, timeout_ms);
    int failed = reap_child(latecomer, "latecomer");
    for (int i = 0; i < limit; i++)
        if (sem_post(&shm->slots) == -1)
            die("sem_post");
    return !failed;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int workers = 6, limit = 2, uses = 20;
    long hold_us = 500, timeout_ms = 100;
    static const struct option options[] = {{"workers", required_argument, NULL, 'w'},
                                            {"limit", required_argument, NULL, 'k'},
                                            {"uses", required_argument, NULL, 'u'},
                                            {"hold-us", required_argument, NULL, 't'},
                                            {"timeout-ms", required_argument, NULL, 'm'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":w:k:u:t:m:h", options, NULL)) != -1) {
        switch (opt) {
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'k': limit = (int)parse_long(optarg, "--limit", 1, MAX_WORKERS, usage); break;
        case 'u': uses = (int)parse_long(optarg, "--uses", 1, 1000000, usage); break;
        case 't': hold_us = parse_long(optarg, "--hold-us", 0, 1000000, usage); break;
        case 'm': timeout_ms = parse_long(optarg, "--timeout-ms", 1, 60000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm);        /* zero-filled */
    if (sem_init(&shm->slots, 1, (unsigned)limit) == -1) /* pshared=1, K free slots */
        die("sem_init");
    printf("counting_semaphore: %d workers, limit %d, %d uses each, hold %ld us, "
           "timeout %ld ms\n",
           workers, limit, uses, hold_us, timeout_ms);
    int ok = demonstrate_limit(shm, workers, limit, uses, hold_us);
    if (ok) /* after a failure a slot may be lost, and the parent's sem_wait would block */
        ok = demonstrate_timeout(shm, limit, timeout_ms);
    if (sem_destroy(&shm->slots) == -1)
        die("sem_destroy");
    unmap_shared(shm, sizeof *shm);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
