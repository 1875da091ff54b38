#define _GNU_SOURCE
/* spin_locks.c - two spin locks written with C11 atomics, a test-and-set lock and a ticket
 * lock, used by several processes through shared memory; both are exact, only one is fair.
 *
 * Usage: spin_locks [options]
 *   -l, --lock L         tas | ticket | both (default both)
 *   -w, --workers P      processes (default: usable CPUs, at least 2)
 *   -n, --iterations N   locked increments per process (default 100000)
 *   -r, --runs K         repeat K times (default 1)
 *   -h, --help           this text
 *
 * What to observe:
 *   - "verdict: exact" for both locks: the acquire/release pair makes the critical section
 *     one-process-at-a-time and makes each holder see the previous holder's writes.
 *   - Fairness: "owner changed" counts hand-overs between processes, "longest run" the most
 *     acquisitions in a row by one process.  The test-and-set lock lets the process that just
 *     unlocked grab it again at once (its cache already has the line), so runs are long.  The
 *     ticket lock serves waiters in arrival order: first come, first served.
 *   - CPU time beside wall time: a waiter spins (burns CPU) before it yields.  Without the
 *     sched_yield() backoff, on one CPU a waiter would spin a whole time slice while the holder
 *     it waits for cannot run.
 *
 * Python counterpart: none (multiprocessing.Lock sleeps in the kernel; it never spins).
 *
 * See also: lessons/05-locks.md, atomic_counter.c, pshared_mutex.c (a futex-based lock that
 * sleeps instead of spinning), OSTEP chapter 28 "Locks".
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static const char usage[] =
    "Usage: spin_locks [options]\n"
    "  -l, --lock L         tas | ticket | both (default both)\n"
    "  -w, --workers P      processes (default: usable CPUs, at least 2)\n"
    "  -n, --iterations N   locked increments per process (default 100000)\n"
    "  -r, --runs K         repeat K times (default 1)\n"
    "  -h, --help           this text\n";

enum { MAX_WORKERS = 256 };
enum { SPINS_BEFORE_YIELD = 100 };     /* spin a little (cheap if the holder is on another CPU) */
enum { WORKER_WATCHDOG_SECONDS = 60 }; /* a worker that spins this long has met a bug */

/* ---- the locks ---------------------------------------------------------------------------- */

/* Test-and-set: one word, 0 = free, 1 = held. */
struct tas_lock {
    atomic_int held;
};

/* Ticket: take a number, wait until it is called.  Like the counter at a deli. */
struct ticket_lock {
    atomic_uint next_ticket; /* the next number to hand out */
    atomic_uint now_serving; /* the number allowed in */
};

/* Waiting politely: after a short spin, give the CPU away (the holder may need it). */
static void back_off(int *spins)
{
    if (++*spins >= SPINS_BEFORE_YIELD) {
        sched_yield();
        *spins = 0;
    }
}

static void tas_lock(struct tas_lock *l)
{
    int spins = 0;
    for (;;) {
        /* exchange returns the old value: 0 means it was free and is now ours.  acquire: no
         * read or write of the critical section may move before this point, and we see
         * everything the previous holder wrote before its release. */
        if (atomic_exchange_explicit(&l->held, 1, memory_order_acquire) == 0)
            return;
        /* Test-and-test-and-set: wait with plain loads (relaxed: we only want a hint), which
         * keep the cache line shared, instead of hammering it with exchanges. */
        while (atomic_load_explicit(&l->held, memory_order_relaxed) != 0)
            back_off(&spins);
    }
}

static void tas_unlock(struct tas_lock *l)
{
    /* release: every write of the critical section is visible before the lock looks free. */
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

static void ticket_lock(struct ticket_lock *l)
{
    /* relaxed: taking a number orders nothing; the acquire load below does the ordering. */
    unsigned mine = atomic_fetch_add_explicit(&l->next_ticket, 1, memory_order_relaxed);
    int spins = 0;
    while (atomic_load_explicit(&l->now_serving, memory_order_acquire) != mine)
        back_off(&spins);
}

static void ticket_unlock(struct ticket_lock *l)
{
    /* Only the holder writes now_serving, so a plain load + store is enough (no RMW needed);
     * release publishes the critical section to the next holder. */
    unsigned serving = atomic_load_explicit(&l->now_serving, memory_order_relaxed);
    atomic_store_explicit(&l->now_serving, serving + 1, memory_order_release);
}

/* ---- the shared page and the workers ------------------------------------------------------ */

enum lock_kind { TAS, TICKET };
static const char *const lock_names[] = {"tas", "ticket"};

/* Everything below counter is protected by whichever lock the run uses. */
struct shared {
    struct tas_lock tas;
    struct ticket_lock ticket;
    long counter;
    int last_owner; /* worker that held the lock last: for the fairness numbers */
    long handoffs;  /* times the lock went to a different worker */
    long streak, longest_streak;
    atomic_int ready, go;
    /* Each worker's first and last moment of contending (monotonic, comparable between
     * processes): fairness numbers mean something only while the workers ran together. */
    int64_t start_ns[MAX_WORKERS], end_ns[MAX_WORKERS];
};

/* One harness for both locks: only these two functions know which lock is in use. */
static void lock(struct shared *sh, enum lock_kind kind)
{
    if (kind == TAS)
        tas_lock(&sh->tas);
    else
        ticket_lock(&sh->ticket);
}

static void unlock(struct shared *sh, enum lock_kind kind)
{
    if (kind == TAS)
        tas_unlock(&sh->tas);
    else
        ticket_unlock(&sh->ticket);
}

/* Inside the lock: count, and note who held it (plain variables: the lock protects them). */
static void critical_section(struct shared *sh, int me)
{
    sh->counter++;
    if (sh->last_owner != me) {
        sh->handoffs++;
        sh->last_owner = me;
        sh->streak = 0;
    }
    if (++sh->streak > sh->longest_streak)
        sh->longest_streak = sh->streak;
}

static _Noreturn void worker(struct shared *sh, enum lock_kind kind, int me, long iterations)
{
    alarm(WORKER_WATCHDOG_SECONDS); /* SIGALRM kills a worker stuck spinning; the parent says so */
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->go))
        sched_yield(); /* a common start, so the workers contend from the first iteration */
    sh->start_ns[me] = monotonic_ns(); /* our own element: no other process writes it */
    for (long i = 0; i < iterations; i++) {
        lock(sh, kind);
        critical_section(sh, me);
        unlock(sh, kind);
    }
    sh->end_ns[me] = monotonic_ns();
    _exit(0);
}

/* The share of the run (first start to last end) during which every worker was between its
 * start and its end: the last start to the first end.  Read after waitpid, which orders the
 * children's stores before it. */
static double all_together_share(const struct shared *sh, int workers)
{
    int64_t first_start = sh->start_ns[0], last_start = sh->start_ns[0];
    int64_t first_end = sh->end_ns[0], last_end = sh->end_ns[0];
    for (int i = 1; i < workers; i++) {
        first_start = sh->start_ns[i] < first_start ? sh->start_ns[i] : first_start;
        last_start = sh->start_ns[i] > last_start ? sh->start_ns[i] : last_start;
        first_end = sh->end_ns[i] < first_end ? sh->end_ns[i] : first_end;
        last_end = sh->end_ns[i] > last_end ? sh->end_ns[i] : last_end;
    }
    int64_t span = last_end - first_start, together = first_end - last_start;
    return span > 0 && together > 0 ? (double)together / (double)span : 0.0;
}

/* One run with one lock.  Returns 0 if exact, 1 if not or if a worker failed. */
static int run_lock(struct shared *sh, enum lock_kind kind, int workers, long iterations)
{
    memset((void *)sh, 0, sizeof *sh); /* both locks start free: all-zero words */
    sh->last_owner = -1;
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0)
            worker(sh, kind, i, iterations);
    while (atomic_load(&sh->ready) < workers)
        sched_yield();
    /* CPU time of reaped children: the spinning shows up here, not on the wall clock. */
    int64_t t0 = monotonic_ns(), cpu0 = children_cpu_ns();
    atomic_store(&sh->go, 1);
    int failed = 0;
    for (int i = 0; i < workers; i++)
        failed += reap_child(pids[i], "worker");
    double wall_ms = (monotonic_ns() - t0) / 1e6, cpu_ms = (children_cpu_ns() - cpu0) / 1e6;
    if (failed)
        return 1;
    long expected = workers * iterations;
    printf("%-6s verdict: %s (counter = %ld of %ld); owner changed %ld times, longest run by "
           "one process %ld; %.1f ms wall, %.1f ms CPU\n",
           lock_names[kind], sh->counter == expected ? "exact" : "WRONG", sh->counter, expected,
           sh->handoffs, sh->longest_streak, wall_ms, cpu_ms);
    double together = all_together_share(sh, workers);
    printf("%-6s overlap: all %d workers contended together for %.0f%% of the run%s\n",
           lock_names[kind], workers, 100 * together,
           together < 0.5 ? " (too little: the fairness numbers above say little)" : "");
    return sh->counter != expected;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    int cpus = usable_cpu_count(), workers = cpus < 2 ? 2 : cpus, runs = 1;
    int use[2] = {1, 1};
    long iterations = 100000;
    static const struct option longs[] = {{"lock", required_argument, 0, 'l'},
                                          {"workers", required_argument, 0, 'w'},
                                          {"iterations", required_argument, 0, 'n'},
                                          {"runs", required_argument, 0, 'r'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":l:w:n:r:h", longs, NULL)) != -1) {
        switch (c) {
        case 'l':
            use[TAS] = strcmp(optarg, "tas") == 0 || strcmp(optarg, "both") == 0;
            use[TICKET] = strcmp(optarg, "ticket") == 0 || strcmp(optarg, "both") == 0;
            if (!use[TAS] && !use[TICKET])
                usage_error(usage, "--lock: expected tas, ticket or both, got \"%s\"", optarg);
            break;
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': iterations = parse_long(optarg, "--iterations", 1, 100000000, usage); break;
        case 'r': runs = (int)parse_long(optarg, "--runs", 1, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    cleanup_install();
    start_watchdog(2 * WORKER_WATCHDOG_SECONDS,
                   "the run did not finish in time (a worker never reached the "
                   "start?); stopping"); /* the parent's own limit, above the
                                            workers' */
    /* Spinning on a word only works between processes if the atomic needs no hidden lock. */
    if (ATOMIC_INT_LOCK_FREE != 2)
        die_with_code(ENOTSUP, "atomic_int is not always lock-free on this machine");
    printf("spin_locks: %d workers x %ld locked increments, %d usable CPU(s), %d run(s)\n", workers,
           iterations, cpus, runs);
    /* The lock words must be in memory every worker shares: one MAP_SHARED page, pre-fork. */
    struct shared *sh = map_shared(sizeof *sh);
    int bad = 0;
    for (int r = 0; r < runs; r++)
        for (enum lock_kind k = TAS; k <= TICKET; k++)
            if (use[k])
                bad += run_lock(sh, k, workers, iterations);
    unmap_shared(sh, sizeof *sh);
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
