#define _GNU_SOURCE
/* event.c - an Event (set, clear, wait, is_set, as Python's multiprocessing.Event) built from
 * a process-shared mutex and condition variable, used to start N waiting processes at once.
 *
 * Usage: event [--waiters N] [--delay-ms D] [--timeout-ms T] [--set-early]
 *   --waiters N     processes that wait for the event (default 4, 1..64)
 *   --delay-ms D    how long the parent waits before setting the event (default 50)
 *   --timeout-ms T  the timed wait on the cleared event at the end (default 100)
 *   --set-early     set the event before the waiters are even started
 *   -h, --help      this text
 *
 * What to observe:
 *   - Every waiter wakes once the parent calls event_set, and reports that the flag was set.
 *   - With --set-early the waiters do not block at all: an event remembers that it was set,
 *     unlike a bare condition variable, whose signal is lost if nobody is waiting yet.
 *   - After event_clear, event_wait with a timeout returns false, as Python's
 *     Event.wait(timeout) returns False.
 *
 * Python counterpart: multiprocessing.Event (set, clear, is_set, wait(timeout) -> bool).
 *
 * See also: condition_variable.c, barrier.c, pthread_cond_broadcast(3p),
 *   lessons/06-semaphores-and-conditions.md.
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
    "Usage: event [--waiters N] [--delay-ms D] [--timeout-ms T] [--set-early]\n"
    "  --waiters N     processes that wait for the event (default 4, 1..64)\n"
    "  --delay-ms D    how long the parent waits before setting the event (default 50)\n"
    "  --timeout-ms T  the timed wait on the cleared event at the end (default 100)\n"
    "  --set-early     set the event before the waiters are even started\n"
    "  -h, --help      this text\n";

enum { MAX_WAITERS = 64 };
/* A waiter that has not seen the event after this long reports a lost wakeup. */
enum { WATCHDOG_MS = 10000 };

/* The Event: a flag, the mutex that guards it, the condition to wait for it on. */
struct event {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int flag;
};

/* Everything the processes share. */
struct shared {
    struct event go;
    atomic_int woke; /* waiters that returned from event_wait with the flag set */
};
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomics shared between processes must be lock-free");

/* Process-shared mutex and condition; the condition's clock is CLOCK_MONOTONIC so a timeout
 * means elapsed time, whatever happens to the wall clock (process_shared.h). */
static void event_init(struct event *e)
{
    init_shared_mutex(&e->lock);
    init_shared_cond(&e->changed);
    e->flag = 0;
}

static void event_destroy(struct event *e)
{
    check_error_number(pthread_cond_destroy(&e->changed), "pthread_cond_destroy");
    check_error_number(pthread_mutex_destroy(&e->lock), "pthread_mutex_destroy");
}

/* set: raise the flag and wake every waiter (broadcast: an Event releases all of them). */
static void event_set(struct event *e)
{
    check_error_number(pthread_mutex_lock(&e->lock), "pthread_mutex_lock");
    e->flag = 1;
    check_error_number(pthread_cond_broadcast(&e->changed), "pthread_cond_broadcast");
    check_error_number(pthread_mutex_unlock(&e->lock), "pthread_mutex_unlock");
}

/* clear: lower the flag; nobody needs waking, as nobody waits for "not set". */
static void event_clear(struct event *e)
{
    check_error_number(pthread_mutex_lock(&e->lock), "pthread_mutex_lock");
    e->flag = 0;
    check_error_number(pthread_mutex_unlock(&e->lock), "pthread_mutex_unlock");
}

/* is_set: read under the lock, like every access to a flag another process writes. */
static int event_is_set(struct event *e)
{
    check_error_number(pthread_mutex_lock(&e->lock), "pthread_mutex_lock");
    int flag = e->flag;
    check_error_number(pthread_mutex_unlock(&e->lock), "pthread_mutex_unlock");
    return flag;
}

/* wait: block until the flag is set or timeout_ms pass; return the flag, as Python does.
 * The flag is checked before sleeping (a set that came earlier is not missed) and again after
 * every wakeup (a spurious one, or a set quickly undone by a clear). */
static int event_wait(struct event *e, long timeout_ms)
{
    struct timespec until = deadline_after_ns(CLOCK_MONOTONIC, timeout_ms * 1000000LL);
    check_error_number(pthread_mutex_lock(&e->lock), "pthread_mutex_lock");
    int err = 0;
    while (!e->flag && err == 0)
        err = pthread_cond_timedwait(&e->changed, &e->lock, &until);
    int flag = e->flag;
    check_error_number(pthread_mutex_unlock(&e->lock), "pthread_mutex_unlock");
    if (err != 0 && err != ETIMEDOUT)
        die_with_code(err, "pthread_cond_timedwait");
    return flag;
}

/* A waiter: wait for "go", say what it saw, count itself. */
static void waiter(struct shared *shm, int me)
{
    int64_t start = monotonic_ns();
    int flag = event_wait(&shm->go, WATCHDOG_MS);
    double waited = (double)(monotonic_ns() - start) / 1e6;
    if (!flag)
        die("waiter %d: event still not set after %d ms", me, WATCHDOG_MS);
    atomic_fetch_add(&shm->woke, 1);
    say("waiter %d: event is set, waited %.1f ms\n", me, waited);
}

/* Start the waiters, set the event (before or after they start), reap, then show clear and a
 * wait that times out.  Returns 1 when everything behaved as an Event should, 0 when not, -1
 * when a waiter failed (the event may then not be touched again). */
static int run(struct shared *shm, int waiters, long delay_ms, long timeout_ms, int set_early)
{
    pid_t pids[MAX_WAITERS];
    if (set_early)
        event_set(&shm->go);
    printf("before starting the waiters: is_set = %d\n", event_is_set(&shm->go));
    for (int i = 0; i < waiters; i++)
        if ((pids[i] = start_child()) == 0) {
            waiter(shm, i);
            leave_child(EXIT_SUCCESS);
        }
    if (!set_early) {
        sleep_ns(delay_ms * 1000000); /* the waiters are blocked by now (most likely) */
        say("parent: event_set after %ld ms\n", delay_ms);
        event_set(&shm->go);
    }
    /* A waiter that died may still be counted by the condition variable, and one that died
     * holding the mutex leaves it locked for ever: after a failure, touch neither. */
    int failed = reap_group(pids, waiters, "waiter");
    if (failed) {
        note("%d of %d waiters did not finish: the event is left as it is", failed, waiters);
        return -1;
    }
    int woke = atomic_load(&shm->woke); /* all reaped: every increment is done and visible */
    printf("%d of %d waiters saw the event set\n", woke, waiters);

    /* Python's Event.wait(timeout) returns False on a timeout: so must ours, on the clear flag. */
    event_clear(&shm->go);
    int64_t start = monotonic_ns();
    int flag = event_wait(&shm->go, timeout_ms);
    printf("after event_clear: is_set = %d; event_wait(%ld ms) returned %s after %.0f ms\n",
           event_is_set(&shm->go), timeout_ms, flag ? "true" : "false",
           (double)(monotonic_ns() - start) / 1e6);
    return failed == 0 && woke == waiters && !flag;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int waiters = 4, set_early = 0;
    long delay_ms = 50, timeout_ms = 100;
    static const struct option options[] = {{"waiters", required_argument, NULL, 'w'},
                                            {"delay-ms", required_argument, NULL, 'd'},
                                            {"timeout-ms", required_argument, NULL, 't'},
                                            {"set-early", no_argument, NULL, 'e'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":w:d:t:eh", options, NULL)) != -1) {
        switch (opt) {
        case 'w': waiters = (int)parse_long(optarg, "--waiters", 1, MAX_WAITERS, usage); break;
        case 'd': delay_ms = parse_long(optarg, "--delay-ms", 0, 5000, usage); break;
        case 't': timeout_ms = parse_long(optarg, "--timeout-ms", 1, 60000, usage); break;
        case 'e': set_early = 1; break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm); /* zero-filled */
    event_init(&shm->go);
    printf("event: %d waiters, set %s, timeout %ld ms\n", waiters,
           set_early ? "before they start" : "after the delay", timeout_ms);
    if (!set_early)
        printf("delay before event_set: %ld ms\n", delay_ms);
    int ok = run(shm, waiters, delay_ms, timeout_ms, set_early);
    if (ok != -1)
        event_destroy(&shm->go); /* every waiter ended well: nobody can be waiting */
    unmap_shared(shm, sizeof *shm);
    return ok == 1 ? EXIT_SUCCESS : EXIT_FAILURE;
}
