#define _GNU_SOURCE
/* atomic_counter.c - C11 atomic_fetch_add on a counter in shared memory is exact across
 * processes without any lock; a plain ++ on the same memory is not.
 *
 * Usage: atomic_counter [options]
 *   -w, --workers P      processes (default: usable CPUs, at least 2)
 *   -n, --iterations N   increments per process (default 10000000)
 *   -m, --mode MODE      plain | atomic | both (default both)
 *   -r, --runs K         repeat K times (default 1)
 *   -h, --help           this text
 *
 * What to observe:
 *   - atomic: "exact" every time.  atomic_fetch_add compiles to one locked instruction (lock
 *     xadd on x86, ldadd or an ll/sc loop on ARM): the CPU keeps the cache line to itself from
 *     the read to the write, so no other core can slip in between.
 *   - plain: usually short on a machine with two or more CPUs.  With one usable CPU the plain
 *     counter is often exact by luck (a worker is rarely preempted between its load and its
 *     store); ../races/lost_update.c --amplify makes that window wide.
 *   - Compare the times: the atomic increments are slower than the plain (wrong) ones, because
 *     the cache line holding the counter bounces between CPUs, but faster than a mutex.
 *   - The atomics work between processes because a lock-free atomic does not care which
 *     address space it is in ("address-free", C11 7.17.5): the check below makes sure.
 *
 * Python counterpart: none directly: multiprocessing.Value wraps its integer in a lock;
 * Value('i', 0, lock=False) with v.value += 1 is the plain variant here.
 *
 * See also: lessons/05-locks.md, ../races/lost_update.c (--sync=atomic), spin_locks.c.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"
#include "support/watchdog.h"

static const char usage[] = "Usage: atomic_counter [options]\n"
                            "  -w, --workers P      processes (default: usable CPUs, at least 2)\n"
                            "  -n, --iterations N   increments per process (default 10000000)\n"
                            "  -m, --mode MODE      plain | atomic | both (default both)\n"
                            "  -r, --runs K         repeat K times (default 1)\n"
                            "  -h, --help           this text\n";

enum { MAX_WORKERS = 256 };
enum { WATCHDOG_SECONDS = 120 }; /* a worker that never reaches the start must not hang us */

/* Both counters share one mapping; each mode uses its own. */
struct shared {
    volatile long plain; /* volatile: the compiler must load and store on every ++ */
    atomic_long atomic;  /* incremented with one indivisible read-modify-write */
    atomic_int ready, go;
};

enum mode { PLAIN, ATOMIC };
static const char *const mode_names[] = {"plain", "atomic"};

static _Noreturn void worker(struct shared *sh, enum mode mode, long iterations)
{
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->go))
        sched_yield(); /* a common start: a worker that ran alone could not race */
    if (mode == PLAIN)
        for (long i = 0; i < iterations; i++)
            sh->plain++; /* load, add, store: three steps another CPU can interleave with */
    else
        for (long i = 0; i < iterations; i++)
            /* relaxed: we need the increment to be indivisible, not to order other memory
             * accesses around it.  The parent reads the total after waitpid(), which
             * already orders everything the child did before it exited. */
            atomic_fetch_add_explicit(&sh->atomic, 1, memory_order_relaxed);
    _exit(0);
}

/* One run of one mode; prints a verdict; returns updates lost, or -1 if a worker failed. */
static long run_mode(struct shared *sh, enum mode mode, int workers, long iterations)
{
    memset((void *)sh, 0, sizeof *sh); /* the cast: memset takes non-volatile memory */
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0)
            worker(sh, mode, iterations);
    while (atomic_load(&sh->ready) < workers)
        sched_yield();
    int64_t t0 = monotonic_ns();
    atomic_store(&sh->go, 1);
    int failed = 0;
    for (int i = 0; i < workers; i++)
        failed += reap_child(pids[i], "worker");
    double ms = (monotonic_ns() - t0) / 1e6;
    if (failed)
        return -1;
    long expected = workers * iterations;
    /* Every worker is reaped: waitpid orders their writes before this read. */
    long got = mode == PLAIN ? sh->plain : atomic_load(&sh->atomic);
    if (got == expected)
        printf("%-6s verdict: exact (counter = %ld) in %.1f ms\n", mode_names[mode], got, ms);
    else
        printf("%-6s verdict: lost %ld of %ld updates (counter = %ld) in %.1f ms\n",
               mode_names[mode], expected - got, expected, got, ms);
    if (mode == PLAIN && got == expected) /* luck, not safety: say so */
        printf("note: the plain counter was exact this time, which proves nothing: the workers "
               "may hardly have overlapped.  Try --iterations 100000000, or "
               "lost_update --amplify\n");
    return expected - got;
}

/* The words --mode takes, and the set of counters (one bit per enum mode) each runs. */
static const char *const mode_words[] = {"plain", "atomic", "both", NULL};
static const int mode_sets[] = {1 << PLAIN, 1 << ATOMIC, 1 << PLAIN | 1 << ATOMIC};

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    int cpus = usable_cpu_count(), workers = cpus < 2 ? 2 : cpus, runs = 1;
    int modes = 1 << PLAIN | 1 << ATOMIC;
    long iterations = 10000000; /* long enough that the workers really overlap */
    static const struct option longs[] = {
        {"workers", required_argument, 0, 'w'}, {"iterations", required_argument, 0, 'n'},
        {"mode", required_argument, 0, 'm'},    {"runs", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:m:r:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': iterations = parse_long(optarg, "--iterations", 1, 1000000000, usage); break;
        case 'm': modes = mode_sets[parse_choice(optarg, "--mode", mode_words, usage)]; break;
        case 'r': runs = (int)parse_long(optarg, "--runs", 1, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    cleanup_install();
    start_watchdog(WATCHDOG_SECONDS, "the workers did not finish in time (one never reached the "
                                     "start?); stopping"); /* the parent waits for every worker at
                                                              the start: bound it */
    /* Between processes only a lock-free atomic is safe: a non-lock-free one would hide a
     * lock in this process's private memory, which the other processes cannot see. */
    if (ATOMIC_LONG_LOCK_FREE != 2)
        die_with_code(ENOTSUP, "atomic_long is not always lock-free on this machine");
    printf("atomic_counter: %d workers x %ld increments, %d usable CPU(s), %d run(s)\n", workers,
           iterations, cpus, runs);
    if (cpus == 1 && (modes & 1 << PLAIN))
        printf("note: one usable CPU: the plain counter may well come out exact by luck\n");
    /* Shared and mapped before fork(): the workers increment one counter, not copies. */
    struct shared *sh = map_shared(sizeof *sh);
    int atomic_wrong = 0, failed = 0;
    for (int r = 0; r < runs; r++)
        for (enum mode m = PLAIN; m <= ATOMIC; m++)
            if (modes & 1 << m) {
                long lost = run_mode(sh, m, workers, iterations);
                failed += lost < 0;
                atomic_wrong += m == ATOMIC && lost != 0;
            }
    unmap_shared(sh, sizeof *sh);
    /* A lossy plain counter is the demonstration; a lossy atomic one would be a real bug. */
    return failed || atomic_wrong ? EXIT_FAILURE : EXIT_SUCCESS;
}
