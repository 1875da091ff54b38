/* race_costs.c - Lab 3 reference solution: run P processes x N updates with each method of the
 * counter kit, check every total, and print what one update cost.
 *
 * Usage: race_costs [-w P] [-n N]
 *   -w, --workers P   processes per method (default: usable CPUs, at least 2; 1..512)
 *   -n, --updates N   updates per process (default 1000000; 1..100000000)
 *   -h, --help        this text
 *
 * Output: a header line, then one line per method, in this form (the grader parses it):
 *     racy: total 1312244 of 2000000, lost 687756, 1.4 ns per update
 *     mutex: total 2000000 of 2000000, ok, 61.0 ns per update
 * "ns per update" is the wall time from the common start until the last process ended,
 * divided by P x N: what one update cost the machine, waiting included.
 * Exit status: 0 when the three fixes are exact (the racy counter may lose updates), 1 when a
 * fix lost updates or a process failed, 2 for bad arguments.
 *
 * What to observe: the racy line loses updates on two or more CPUs and costs least; atomic is
 * exact and next cheapest; mutex and semaphore are exact and cost most, because a process that
 * finds the lock taken sleeps in the kernel and must be woken.  On one CPU (taskset -c 0) the
 * racy line is often exact: the processes hardly ever interleave inside the ++.
 *
 * Python counterpart: time P Process objects doing v.value += 1 on Value('l', 0, lock=False),
 * then "with v.get_lock(): v.value += 1" on Value('l', 0): the lock costs far more than the ++.
 *
 * See also: lessons/labs/races/handout.md, patterns/races/lost_update.c.
 */
#define _GNU_SOURCE
/* The lab's build links counters.c into this program as into the grader: race_costs and the
 * grader run exactly the same kit. */
#include "counters.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
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

static const char usage[] =
    "Usage: race_costs [-w P] [-n N]\n"
    "  -w, --workers P   processes per method (default: usable CPUs, at least 2; 1..512)\n"
    "  -n, --updates N   updates per process (default 1000000; 1..100000000)\n"
    "  -h, --help        this text\n";

enum { MAX_WORKERS = 512 };
enum { WATCHDOG_SECONDS = 300 }; /* a process stuck on a lock ends the run, loudly */

/* The starting line, in a small shared mapping of its own (the kit's layout is fixed). */
struct start_line {
    atomic_int ready; /* workers forked and waiting */
    atomic_int go;    /* set once by the parent: everybody starts together */
};

/* ---- one method: P workers, a common start, the total checked ------------------------------ */

static _Noreturn void worker(struct counters *kit, struct start_line *start,
                             enum counters_method method, long updates)
{
    atomic_fetch_add(&start->ready, 1);
    while (!atomic_load(&start->go))
        sched_yield(); /* a worker that started alone could not race, or contend */
    for (long i = 0; i < updates; i++)
        if (counters_add(kit, method) == -1)
            die_in_child("%s: update %ld", counters_method_names[method], i + 1);
    _exit(0); /* never exit(): that would run the parent's atexit cleanup in the child */
}

/* Reap one worker; 1 if it failed (said how on stderr). */
static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            die("waitpid");
    cleanup_forget_child(pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        note("worker %ld exited with status %d", (long)pid, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        note("worker %ld killed by signal %d (%s)", (long)pid, WTERMSIG(status),
             strsignal(WTERMSIG(status)));
    return 1;
}

/* Run one method; print its line.  Returns 0 if it was exact (or is the racy one). */
static int run_method(struct counters *kit, struct start_line *start, enum counters_method method,
                      int workers, long updates)
{
    atomic_store(&start->ready, 0);
    atomic_store(&start->go, 0);
    pid_t pids[MAX_WORKERS], parent = getpid();
    fflush(stdout); /* or every child inherits the unwritten header and may print it again */
    for (int i = 0; i < workers; i++) {
        if ((pids[i] = fork()) == -1)
            die("fork");
        if (pids[i] == 0) {
            die_with_parent(parent);
            worker(kit, start, method, updates);
        }
        cleanup_add_child(pids[i]);
    }
    while (atomic_load(&start->ready) < workers)
        sched_yield(); /* forking takes a while: wait for the last one to reach the line */
    int64_t t0 = monotonic_ns();
    atomic_store(&start->go, 1);
    int failed = 0;
    for (int i = 0; i < workers; i++) /* reap every one, even after a failure */
        failed += reap(pids[i]);
    double ns = (double)(monotonic_ns() - t0) / ((double)workers * (double)updates);
    if (failed)
        return 1;
    long expected = (long)workers * updates, total = counters_total(kit, method);
    char verdict[48] = "ok";
    if (total != expected)
        snprintf(verdict, sizeof verdict, "lost %ld", expected - total);
    printf("%s: total %ld of %ld, %s, %.1f ns per update\n", counters_method_names[method], total,
           expected, verdict, ns);
    return method != METHOD_RACY && total != expected;
}

static void on_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "race_costs: watchdog: a worker is still running after the time "
                              "limit (stuck on a lock?); stopping\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    raise(SIGTERM); /* the cleanup module kills and reaps the workers */
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    int cpus = usable_cpu_count(), workers = cpus < 2 ? 2 : cpus;
    long updates = 1000000;
    static const struct option longs[] = {{"workers", required_argument, 0, 'w'},
                                          {"updates", required_argument, 0, 'n'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    opterr = 0; /* we print our own one-line reasons */
    int opt;
    while ((opt = getopt_long(argc, argv, ":w:n:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': updates = parse_long(optarg, "--updates", 1, 100000000, usage); break;
        case 'h': fputs(usage, stdout); return EXIT_SUCCESS;
        case ':': usage_error(usage, "option %s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument \"%s\"", argv[optind]);

    cleanup_install(); /* Ctrl-C kills and reaps the workers */
    if (signal(SIGALRM, on_watchdog) == SIG_ERR)
        die("signal");
    alarm(WATCHDOG_SECONDS);
    struct counters *kit = counters_create(); /* before fork: every worker inherits it */
    if (!kit)
        die("counters_create");
    struct start_line *start =
        mmap(NULL, sizeof *start, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (start == MAP_FAILED)
        die("mmap");
    printf("race_costs: %d processes x %ld updates per method, %d usable CPU(s)\n", workers,
           updates, cpus);
    int wrong = 0;
    for (int m = 0; m < METHOD_COUNT; m++)
        wrong += run_method(kit, start, (enum counters_method)m, workers, updates);
    /* Every worker is reaped: nobody can hold a lock now, so destroying is safe. */
    if (counters_destroy(kit) == -1)
        die("counters_destroy");
    if (munmap(start, sizeof *start) == -1)
        die("munmap");
    return wrong ? EXIT_FAILURE : EXIT_SUCCESS;
}
