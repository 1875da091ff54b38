#define _GNU_SOURCE
/* dining_philosophers.c - N philosopher processes, N forks (semaphores) in shared memory: the
 * version that deadlocks, a watchdog that finds and prints the wait cycle, and two fixes.
 *
 * Usage: dining_philosophers [--mode all|deadlock|ordered|waiter] [--philosophers N]
 *                            [--meals M] [--eat-us T] [--pause-us P] [--watchdog-ms W]
 *   --mode M          deadlock: every philosopher takes the left fork, then the right;
 *                     ordered: every philosopher takes the lower-numbered fork first;
 *                     waiter: a semaphore seats at most N-1 philosophers at the table;
 *                     all: the three in turn (default)
 *   --philosophers N  philosophers and forks (default 5, 2..32)
 *   --meals M         meals each philosopher must eat (default 3)
 *   --eat-us T        microseconds a meal takes (default 2000)
 *   --pause-us P      microseconds between taking the first and the second fork, which
 *                     gives everyone time to take a first fork (default 1000)
 *   --watchdog-ms W   no meal for this long counts as "stuck" (default 300; raise it to attach
 *                     gdb to a deadlocked philosopher)
 *   -h, --help        this text
 *
 * What to observe:
 *   - deadlock: all N philosophers hold their left fork and wait for the right one.  To make
 *     that certain instead of likely, they meet at a barrier after the first fork.  The parent
 *     sees no meal for W ms, reads who holds and who wants which fork, confirms the same cycle
 *     one period later (2W ms in all), and prints it:
 *     "P0 waits for fork 1 held by P1, ..., P4 waits for fork 0 held by P0".  It kills and reaps
 *     the philosophers and exits with status 3 (with --mode deadlock).
 *   - ordered: P(N-1) wants fork 0 first, like P0, so the circle of waits cannot close.
 *   - waiter: with at most N-1 seated, one of them always finds both forks free in the end.
 *   - Both fixes finish: every philosopher eats M meals.
 *
 * Python counterpart: multiprocessing.Semaphore for each fork and for the waiter; the
 *   deadlock and its fixes are the same in any language.
 *
 * See also: barrier.c, counting_semaphore.c, lessons/07-classic-problems.md.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: dining_philosophers [--mode all|deadlock|ordered|waiter] [--philosophers N]\n"
    "                           [--meals M] [--eat-us T] [--pause-us P] [--watchdog-ms W]\n"
    "  --mode M          deadlock: every philosopher takes the left fork, then the right;\n"
    "                    ordered: every philosopher takes the lower-numbered fork first;\n"
    "                    waiter: a semaphore seats at most N-1 philosophers at the table;\n"
    "                    all: the three in turn (default)\n"
    "  --philosophers N  philosophers and forks (default 5, 2..32)\n"
    "  --meals M         meals each philosopher must eat (default 3)\n"
    "  --eat-us T        microseconds a meal takes (default 2000)\n"
    "  --pause-us P      microseconds between taking the first and the second fork, which\n"
    "                    gives everyone time to take a first fork (default 1000)\n"
    "  --watchdog-ms W   no meal for this long counts as \"stuck\" (default 300; raise it to\n"
    "                    attach gdb to a deadlocked philosopher)\n"
    "  -h, --help        this text\n";

enum { MAX_PHILOSOPHERS = 32 };
/* The exit status of a run that ended in a detected deadlock, distinct from 1 (an error). */
enum { EXIT_DEADLOCK = 3 };
/* With no meal and no cycle for this many watchdog periods, give up: something else is wrong. */
enum { GIVE_UP_PERIODS = 40 };
/* "nobody" in the holder and wants tables. */
enum { NOBODY = -1 };

enum mode { DEADLOCK, ORDERED, WAITER };
static const char *const mode_names[] = {"deadlock", "ordered", "waiter", "all", NULL};
enum { ALL_MODES = 3 }; /* --mode all: the deadlock, then both fixes */

/* The table, shared by the parent and every philosopher.  holder and wants are not part of
 * the algorithm: they are what each philosopher tells the watchdog about itself. */
struct table {
    sem_t fork[MAX_PHILOSOPHERS];        /* fork f is free when its semaphore is 1 */
    sem_t seats;                         /* the waiter: N-1 seats (waiter mode only) */
    sem_t progress;                      /* posted after every meal and at the end */
    pthread_barrier_t all_hold_left;     /* deadlock mode: met after the first fork */
    atomic_int holder[MAX_PHILOSOPHERS]; /* which philosopher holds fork f, or NOBODY */
    atomic_int wants[MAX_PHILOSOPHERS];  /* which fork philosopher p waits for, or NOBODY */
    atomic_int meals[MAX_PHILOSOPHERS];
    atomic_int finished;
    int philosophers;
    enum mode mode;
};
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomics shared between processes must be lock-free");

/* The run's parameters. */
struct plan {
    int philosophers, meals;
    long eat_us, pause_us, watchdog_ms;
};

/* Take fork f, telling the watchdog first what we wait for and then what we hold. */
static void take_fork(struct table *t, int me, int f)
{
    atomic_store(&t->wants[me], f);
    while (sem_wait(&t->fork[f]) == -1) /* no timeout here: the parent is the watchdog */
        if (errno != EINTR)
            die("sem_wait(fork %d)", f);
    /* Stop wanting before claiming: the watchdog, reading in between, sees no edge at all
     * rather than "P waits for a fork held by P". */
    atomic_store(&t->wants[me], NOBODY);
    atomic_store(&t->holder[f], me);
}

static void put_fork(struct table *t, int f)
{
    atomic_store(&t->holder[f], NOBODY); /* before the post: the next holder writes after it */
    if (sem_post(&t->fork[f]) == -1)
        die("sem_post(fork %d)", f);
}

/* The moment between the two forks.  In deadlock mode the philosophers meet at a barrier, so
 * each is sure to hold its left fork before anyone reaches for a right one.  The fixes only
 * pause: a barrier there would itself hang, because under ordering P0 and P(N-1) both want
 * fork 0 first and one of them never reaches the barrier. */
static void between_forks(struct table *t, int meal, long pause_us)
{
    if (t->mode == DEADLOCK && meal == 0) {
        int err = pthread_barrier_wait(&t->all_hold_left);
        if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD) {
            errno = err;
            die("pthread_barrier_wait");
        }
    } else {
        sleep_ns(pause_us * 1000);
    }
}

static void wait_for_seat(struct table *t)
{
    while (sem_wait(&t->seats) == -1)
        if (errno != EINTR)
            die("sem_wait(seats)");
}

/* One philosopher: M times, take two forks, eat, put them back. */
static void philosopher(struct table *t, int me, const struct plan *plan)
{
    int left = me, right = (me + 1) % t->philosophers;
    int first = left, second = right;
    if (t->mode == ORDERED && right < left) { /* only P(N-1) swaps: its right fork is 0 */
        first = right;
        second = left;
    }
    for (int meal = 0; meal < plan->meals; meal++) {
        if (t->mode == WAITER)
            wait_for_seat(t);
        take_fork(t, me, first);
        between_forks(t, meal, plan->pause_us);
        if (t->mode == DEADLOCK && meal == 0)
            say("P%d holds fork %d, reaches for fork %d\n", me, first, second);
        take_fork(t, me, second);
        sleep_ns(plan->eat_us * 1000); /* eating */
        atomic_fetch_add(&t->meals[me], 1);
        put_fork(t, second);
        put_fork(t, first);
        if (t->mode == WAITER && sem_post(&t->seats) == -1)
            die("sem_post(seats)");
        if (sem_post(&t->progress) == -1) /* tell the watchdog: a meal was eaten */
            die("sem_post(progress)");
    }
    atomic_fetch_add(&t->finished, 1);
    if (sem_post(&t->progress) == -1)
        die("sem_post(progress)");
}

/* Follow "p waits for fork f, held by q" from start.  If the chain comes back to start, that
 * is a cycle of waits: write it into text and return 1. */
static int describe_cycle(const struct table *t, int start, char *text, size_t size)
{
    size_t used = 0;
    int p = start;
    for (int step = 0; step < t->philosophers; step++) {
        int f = atomic_load(&t->wants[p]);
        if (f == NOBODY)
            return 0; /* p is not waiting: no cycle through here */
        int q = atomic_load(&t->holder[f]);
        if (q == NOBODY || q == p)
            return 0; /* free, or p got it between our two reads: p is not stuck on it */
        int n = snprintf(text + used, size - used, "%sP%d waits for fork %d held by P%d",
                         step ? ", " : "", p, f, q);
        if (n > 0 && used + (size_t)n < size)
            used += (size_t)n;
        if (q == start)
            return 1;
        p = q;
    }
    return 0;
}

/* Look for a cycle starting from each philosopher in turn. */
static int find_cycle(const struct table *t, char *text, size_t size)
{
    for (int p = 0; p < t->philosophers; p++)
        if (describe_cycle(t, p, text, size))
            return 1;
    return 0;
}

enum outcome { FINISHED, DEADLOCKED, STUCK };

/* The watchdog, run by the parent: wait for meals; after watchdog_ms without one, look for a
 * cycle of waits.  A timed wait, so the parent itself can never hang with its children. */
static enum outcome watch(struct table *t, const struct plan *plan)
{
    int idle_periods = 0;
    char previous[2048] = ""; /* the cycle seen at the last timeout, if any */
    while (atomic_load(&t->finished) < t->philosophers) {
        struct timespec deadline = /* on sem_timedwait's clock */
            deadline_after_ns(CLOCK_REALTIME, plan->watchdog_ms * 1000000LL);
        if (sem_timedwait(&t->progress, &deadline) == 0) {
            idle_periods = 0; /* someone ate: not stuck */
            previous[0] = '\0';
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != ETIMEDOUT)
            die("sem_timedwait(progress)");
        /* The tables are read one entry at a time while philosophers may be moving, so one
         * reading could be torn: a deadlock is declared only when two readings, a whole
         * quiet watchdog period apart, show the same cycle. */
        char cycle[2048];
        if (find_cycle(t, cycle, sizeof cycle)) {
            if (strcmp(cycle, previous) == 0) {
                printf("watchdog: no meal for %ld ms; deadlock: %s\n", 2 * plan->watchdog_ms,
                       cycle);
                return DEADLOCKED;
            }
            strcpy(previous, cycle);
            continue;
        }
        previous[0] = '\0';
        if (++idle_periods >= GIVE_UP_PERIODS) {
            printf("watchdog: no meal for %d periods of %ld ms and no cycle of waits\n",
                   GIVE_UP_PERIODS, plan->watchdog_ms);
            return STUCK;
        }
    }
    return FINISHED;
}

/* Reap every philosopher (after SIGKILL, when the watchdog gave up on them).  Returns how many
 * ended otherwise than expected: exit 0 when they finished, SIGKILL when we killed them. */
static int reap_philosophers(const pid_t *pids, int count, int killed)
{
    int unexpected = 0;
    for (int p = 0; p < count; p++) {
        if (killed && kill(pids[p], SIGKILL) == -1)
            die("kill(P%d)", p);
    }
    for (int p = 0; p < count; p++) {
        int status = wait_for_child(pids[p]);
        if (child_succeeded(status) && !killed)
            continue;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && killed)
            continue;
        unexpected++;
        char how[STATUS_TEXT_SIZE];
        printf("P%d (pid %ld) %s\n", p, (long)pids[p], describe_status(status, how, sizeof how));
    }
    if (killed)
        printf("killed and reaped %d philosophers\n", count);
    return unexpected;
}

/* Fresh table for one run: every fork free (1), N-1 seats, no progress yet. */
static void set_table(struct table *t, enum mode mode, int philosophers)
{
    memset(t, 0, sizeof *t);
    t->philosophers = philosophers;
    t->mode = mode;
    for (int f = 0; f < philosophers; f++) {
        if (sem_init(&t->fork[f], 1, 1) == -1) /* pshared=1 */
            die("sem_init(fork %d)", f);
        atomic_init(&t->holder[f], NOBODY);
        atomic_init(&t->wants[f], NOBODY);
    }
    if (sem_init(&t->seats, 1, (unsigned)philosophers - 1) == -1 ||
        sem_init(&t->progress, 1, 0) == -1)
        die("sem_init");
    pthread_barrierattr_t attr;
    int err;
    if ((err = pthread_barrierattr_init(&attr)) != 0 ||
        (err = pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) != 0 ||
        (err = pthread_barrier_init(&t->all_hold_left, &attr, (unsigned)philosophers)) != 0)
        die_with_code(err, "pthread barrier setup");
    check_error_number(pthread_barrierattr_destroy(&attr), "pthread_barrierattr_destroy");
}

/* Only after every philosopher is reaped: nobody can be waiting on these any more. */
static void clear_table(struct table *t)
{
    for (int f = 0; f < t->philosophers; f++)
        if (sem_destroy(&t->fork[f]) == -1)
            die("sem_destroy");
    if (sem_destroy(&t->seats) == -1 || sem_destroy(&t->progress) == -1)
        die("sem_destroy");
    int err = pthread_barrier_destroy(&t->all_hold_left);
    if (err != 0)
        die_with_code(err, "pthread_barrier_destroy");
}

/* One dinner in one mode.  Returns how it ended; *ok is cleared if anything unexpected. */
static enum outcome dinner(struct table *t, enum mode mode, const struct plan *plan, int *ok)
{
    set_table(t, mode, plan->philosophers);
    printf("--- mode %s: %d philosophers, %d meals each\n", mode_names[mode], plan->philosophers,
           plan->meals);
    pid_t pids[MAX_PHILOSOPHERS];
    for (int p = 0; p < plan->philosophers; p++)
        if ((pids[p] = start_child()) == 0) { /* it must not outlive its watchdog */
            philosopher(t, p, plan);
            leave_child(EXIT_SUCCESS);
        }
    for (int p = 0; p < plan->philosophers; p++)
        printf("P%d is pid %ld\n", p, (long)pids[p]);
    flush_or_die(stdout); /* now, not at the end: a student may want to attach gdb to one of them */
    enum outcome outcome = watch(t, plan);
    if (reap_philosophers(pids, plan->philosophers, outcome != FINISHED) > 0)
        *ok = 0;
    int all_fed = 1;
    for (int p = 0; p < plan->philosophers; p++)
        all_fed &= atomic_load(&t->meals[p]) == plan->meals;
    if (outcome == FINISHED)
        printf("mode %s finished: every philosopher ate %d meals: %s\n", mode_names[mode],
               plan->meals, all_fed ? "yes" : "NO");
    if (outcome == FINISHED && !all_fed)
        *ok = 0;
    clear_table(t);
    return outcome;
}

/* The exit status of one mode run alone: 3 for a detected deadlock, 0 for a finished dinner. */
static int status_of(enum outcome outcome, int ok)
{
    if (!ok || outcome == STUCK)
        return EXIT_FAILURE;
    return outcome == DEADLOCKED ? EXIT_DEADLOCK : EXIT_SUCCESS;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int chosen = ALL_MODES;
    struct plan plan = {5, 3, 2000, 1000, 300};
    static const struct option options[] = {
        {"mode", required_argument, NULL, 'm'},     {"philosophers", required_argument, NULL, 'n'},
        {"meals", required_argument, NULL, 'e'},    {"eat-us", required_argument, NULL, 't'},
        {"pause-us", required_argument, NULL, 'p'}, {"watchdog-ms", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":m:n:e:t:p:w:h", options, NULL)) != -1) {
        switch (opt) {
        case 'm': chosen = parse_choice(optarg, "--mode", mode_names, usage); break;
        case 'n':
            plan.philosophers =
                (int)parse_long(optarg, "--philosophers", 2, MAX_PHILOSOPHERS, usage);
            break;
        case 'e': plan.meals = (int)parse_long(optarg, "--meals", 1, 100000, usage); break;
        case 't': plan.eat_us = parse_long(optarg, "--eat-us", 0, 1000000, usage); break;
        case 'p': plan.pause_us = parse_long(optarg, "--pause-us", 0, 1000000, usage); break;
        case 'w': plan.watchdog_ms = parse_long(optarg, "--watchdog-ms", 10, 3600000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct table *t = map_shared(sizeof *t);
    printf("dining_philosophers: mode %s, %d philosophers, %d meals, eat %ld us, pause %ld us, "
           "watchdog %ld ms\n",
           mode_names[chosen], plan.philosophers, plan.meals, plan.eat_us, plan.pause_us,
           plan.watchdog_ms);
    int ok = 1, status;
    if (chosen != ALL_MODES) {
        enum outcome outcome = dinner(t, (enum mode)chosen, &plan, &ok);
        status = status_of(outcome, ok);
    } else { /* all: the deadlock must be caught, and both fixes must finish */
        int as_taught = dinner(t, DEADLOCK, &plan, &ok) == DEADLOCKED;
        as_taught &= dinner(t, ORDERED, &plan, &ok) == FINISHED;
        as_taught &= dinner(t, WAITER, &plan, &ok) == FINISHED;
        printf("summary: deadlock detected, both fixes finished: %s\n", as_taught ? "yes" : "NO");
        status = as_taught && ok ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    unmap_shared(t, sizeof *t);
    return status;
}
