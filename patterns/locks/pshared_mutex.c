#define _GNU_SOURCE
/* pshared_mutex.c - a pthread mutex placed in shared memory and marked PTHREAD_PROCESS_SHARED
 * protects a counter that several processes increment: the count is exact.
 *
 * Usage: pshared_mutex [options]
 *   -w, --workers P      processes (default: usable CPUs, at least 2)
 *   -n, --iterations N   locked increments per process (default 200000)
 *   -r, --runs K         repeat K times; every run must be exact (default 1)
 *   -h, --help           this text
 *
 * What to observe:
 *   - "verdict: exact" on every run, however many workers and CPUs.
 *   - "busy": how often a worker found the mutex held by another process (pthread_mutex_trylock
 *     failed) and had to sleep in the kernel (a futex wait) until the holder unlocked.
 *   - The mutex is an ordinary struct in the shared mapping.  Its attribute PROCESS_SHARED
 *     tells glibc to use a shared futex, which the kernel identifies by the physical page, so
 *     an unlock in one process can wake a waiter in another.
 *
 * Python counterpart: multiprocessing.Lock() (a POSIX semaphore underneath), or the lock that
 * comes with Value('i', 0): "with v.get_lock(): v.value += 1".
 *
 * See also: lessons/05-locks.md, ../races/lost_update.c (--sync=mutex is this fix in the
 * race harness), robust_mutex.c, init_race.c.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"
#include "support/watchdog.h"

static const char usage[] =
    "Usage: pshared_mutex [options]\n"
    "  -w, --workers P      processes (default: usable CPUs, at least 2)\n"
    "  -n, --iterations N   locked increments per process (default 200000)\n"
    "  -r, --runs K         repeat K times; every run must be exact (default 1)\n"
    "  -h, --help           this text\n";

enum { MAX_WORKERS = 256 };
enum { WATCHDOG_SECONDS = 120 }; /* a worker that never gets the lock ends the run, loudly */

/* The shared page: the lock, the data it protects, and a starting line. */
struct shared {
    pthread_mutex_t mutex; /* guards counter */
    long counter;          /* touched only with mutex held: no volatile, no atomics needed */
    atomic_long busy;      /* how many times a worker found the mutex held */
    atomic_int ready, go;  /* start everybody together, so they really contend */
};

/* Lock, noting whether we had to wait: trylock first, and only if that fails, block. */
static void lock_counting_waits(struct shared *sh)
{
    int err = pthread_mutex_trylock(&sh->mutex);
    if (err == EBUSY) {
        atomic_fetch_add_explicit(&sh->busy, 1, memory_order_relaxed);
        err = pthread_mutex_lock(&sh->mutex); /* sleeps in the kernel until the holder unlocks */
    }
    check_error_number(err, "pthread_mutex_lock");
}

static _Noreturn void worker(struct shared *sh, long iterations)
{
    atomic_fetch_add(&sh->ready, 1); /* at the starting line */
    while (!atomic_load(&sh->go))
        sched_yield(); /* everyone starts together, so they really contend */
    for (long i = 0; i < iterations; i++) {
        lock_counting_waits(sh);
        sh->counter++; /* the critical section: one process at a time */
        check_error_number(pthread_mutex_unlock(&sh->mutex), "pthread_mutex_unlock");
    }
    leave_child(EXIT_SUCCESS);
}

/* One run: fresh mutex and counter, P workers, a verdict.  Returns 0 if exact. */
static int run_once(struct shared *sh, int workers, long iterations, int run)
{
    memset((void *)sh, 0, sizeof *sh); /* fresh counter and mutex for every run */
    init_shared_mutex(&sh->mutex);     /* before fork(): the children inherit it set up */
    pid_t pids[MAX_WORKERS];
    int64_t t0 = monotonic_ns();
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0)
            worker(sh, iterations);
    while (atomic_load(&sh->ready) < workers)
        sched_yield();
    atomic_store(&sh->go, 1);
    int failed = 0; /* one that died holding the mutex leaves it locked: the watchdog fires */
    for (int i = 0; i < workers; i++)
        failed += reap_child(pids[i], "worker");
    double ms = (monotonic_ns() - t0) / 1e6;
    /* Destroy only when no process can touch it any more: all workers are reaped. */
    check_error_number(pthread_mutex_destroy(&sh->mutex), "pthread_mutex_destroy");
    if (failed)
        return 1;
    long expected = workers * iterations;
    printf("run %d: verdict: %s (counter = %ld of %ld); busy on %.1f%% of lock attempts; %.1f ms\n",
           run, sh->counter == expected ? "exact" : "WRONG", sh->counter, expected,
           100.0 * atomic_load(&sh->busy) / (double)expected, ms);
    return sh->counter != expected;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    int cpus = usable_cpu_count(), workers = cpus < 2 ? 2 : cpus, runs = 1;
    long iterations = 200000;
    static const struct option longs[] = {{"workers", required_argument, 0, 'w'},
                                          {"iterations", required_argument, 0, 'n'},
                                          {"runs", required_argument, 0, 'r'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:r:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': iterations = parse_long(optarg, "--iterations", 1, 100000000, usage); break;
        case 'r': runs = (int)parse_long(optarg, "--runs", 1, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    cleanup_install(); /* Ctrl-C kills and reaps the workers */
    start_watchdog(WATCHDOG_SECONDS,
                   "a worker is still waiting for the mutex after the time limit; stopping");
    printf("pshared_mutex: %d workers x %ld locked increments, %d usable CPU(s), %d run(s)\n",
           workers, iterations, cpus, runs);
    /* MAP_SHARED before fork(): one physical page for all, not a private copy each. */
    struct shared *sh = map_shared(sizeof *sh);
    int bad = 0;
    for (int r = 1; r <= runs; r++)
        bad += run_once(sh, workers, iterations, r);
    unmap_shared(sh, sizeof *sh);
    printf("summary: %d of %d run(s) exact\n", runs - bad, runs);
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
