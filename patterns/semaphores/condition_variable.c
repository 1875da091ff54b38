#define _GNU_SOURCE
/* condition_variable.c - a pthread mutex and condition variable placed in shared memory and
 * marked process-shared, used for a one-slot mailbox between a producer and several consumers.
 *
 * Usage: condition_variable [--consumers N] [--items M] [--timeout-ms T]
 *   --consumers N   consumer processes taking from the mailbox (default 3, 1..64)
 *   --items M       numbers 1..M the parent puts into the mailbox (default 2000)
 *   --timeout-ms T  how long the timed-wait demonstration waits (default 100)
 *   -h, --help      this text
 *
 * What to observe:
 *   - Every number arrives exactly once: the consumers' counts add up to M and their sums to
 *     M(M+1)/2.
 *   - "woke up with nothing to take": pthread_cond_broadcast wakes every consumer, but only one
 *     finds the mailbox full; the others must check again and go back to waiting.  That is why
 *     every wait sits inside a while loop on the condition, never an if (POSIX also allows
 *     spurious wakeups, with no broadcast at all).
 *   - The timed wait: the condition's clock is set to CLOCK_MONOTONIC
 *     (pthread_condattr_setclock), so the deadline is immune to changes of the wall clock; with
 *     nobody signalling, pthread_cond_timedwait returns ETIMEDOUT after about T ms.
 *
 * Python counterpart: multiprocessing.Condition (with its lock); cond.wait_for(predicate,
 *   timeout) is the while loop written for you.
 *
 * See also: event.c, reusable_barrier.c, producer_consumer.c, pthread_condattr_setpshared(3),
 *   pthread_cond_timedwait(3p), lessons/06-semaphores-and-conditions.md.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
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
    "Usage: condition_variable [--consumers N] [--items M] [--timeout-ms T]\n"
    "  --consumers N   consumer processes taking from the mailbox (default 3, 1..64)\n"
    "  --items M       numbers 1..M the parent puts into the mailbox (default 2000)\n"
    "  --timeout-ms T  how long the timed-wait demonstration waits (default 100)\n"
    "  -h, --help      this text\n";

enum { MAX_CONSUMERS = 64 };
/* A wait longer than this means a lost wakeup or a dead partner: say so and fail. */
enum { WATCHDOG_MS = 10000 };
/* The value that tells a consumer to stop (the real items are 1..M). */
enum { STOP = 0 };

/* A one-slot mailbox. One mutex guards it; two conditions name the two things to wait for. */
struct mailbox {
    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* consumers wait here for full == 1 */
    pthread_cond_t not_full;  /* the producer waits here for full == 0 */
    int full;
    long item;
};

/* Everything the processes share: the mailbox and each consumer's tally. */
struct shared {
    struct mailbox box;
    pthread_cond_t never_signalled; /* for the timed-wait demonstration */
    long count[MAX_CONSUMERS], sum[MAX_CONSUMERS], idle_wakeups[MAX_CONSUMERS];
};

/* Wait on cond (lock held) until the deadline; a timeout is the watchdog firing. */
static void wait_or_die(pthread_cond_t *cond, pthread_mutex_t *lock, const struct timespec *when,
                        const char *what)
{
    int err = pthread_cond_timedwait(cond, lock, when);
    if (err == ETIMEDOUT)
        die("waited %d ms for %s: the other side is gone or a wakeup was lost", WATCHDOG_MS, what);
    check_error_number(err, "pthread_cond_timedwait");
}

/* Consumer: take items until STOP.  The while loop is the heart of it: after any wakeup the
 * condition is checked again, because another consumer may have emptied the box first. */
static void consume(struct shared *shm, int me)
{
    struct mailbox *box = &shm->box;
    for (;;) {
        check_error_number(pthread_mutex_lock(&box->lock), "pthread_mutex_lock");
        struct timespec until = deadline_after_ns(CLOCK_MONOTONIC, WATCHDOG_MS * 1000000LL);
        while (!box->full) {
            wait_or_die(&box->not_empty, &box->lock, &until, "an item");
            if (!box->full)
                shm->idle_wakeups[me]++; /* woken, but someone else took it (or spurious) */
        }
        long item = box->item;
        box->full = 0;
        /* signal, not broadcast: only the producer waits on not_full */
        check_error_number(pthread_cond_signal(&box->not_full), "pthread_cond_signal");
        check_error_number(pthread_mutex_unlock(&box->lock), "pthread_mutex_unlock");
        if (item == STOP)
            return;
        shm->count[me]++; /* each consumer writes only its own slot: no lock needed */
        shm->sum[me] += item;
    }
}

/* Producer (the parent): put 1..items, then one STOP per consumer. */
static void produce(struct shared *shm, long items, int consumers)
{
    struct mailbox *box = &shm->box;
    for (long i = 1; i <= items + consumers; i++) {
        int err = pthread_mutex_lock(&box->lock);
        if (err != 0)
            die_with_code(err, "pthread_mutex_lock");
        struct timespec until = deadline_after_ns(CLOCK_MONOTONIC, WATCHDOG_MS * 1000000LL);
        while (box->full) /* while, not if: the same rule on the producer's side */
            if ((err = pthread_cond_timedwait(&box->not_full, &box->lock, &until)) != 0)
                die_with_code(err, "waiting for an empty mailbox (item %ld)", i);
        box->item = i <= items ? i : STOP;
        box->full = 1;
        /* Broadcast wakes every waiting consumer although one item can feed only one: the
         * rest find the box empty and wait again (counted as idle wakeups).  signal would
         * wake one, and would be the better choice here; broadcast shows why the loop matters. */
        check_error_number(pthread_cond_broadcast(&box->not_empty), "pthread_cond_broadcast");
        check_error_number(pthread_mutex_unlock(&box->lock), "pthread_mutex_unlock");
    }
}

/* Timed wait with nobody to signal: measure how long pthread_cond_timedwait really waits. */
static int demonstrate_timeout(struct shared *shm, long timeout_ms)
{
    int err = pthread_mutex_lock(&shm->box.lock);
    if (err != 0)
        die_with_code(err, "pthread_mutex_lock");
    struct timespec until = deadline_after_ns(CLOCK_MONOTONIC, timeout_ms * 1000000LL);
    int64_t start = monotonic_ns();
    do /* a spurious wakeup returns 0 early: wait again for the same absolute deadline */
        err = pthread_cond_timedwait(&shm->never_signalled, &shm->box.lock, &until);
    while (err == 0);
    double waited = (double)(monotonic_ns() - start) / 1e6;
    check_error_number(pthread_mutex_unlock(&shm->box.lock), "pthread_mutex_unlock");
    if (err != ETIMEDOUT)
        die_with_code(err, "pthread_cond_timedwait");
    printf("timed wait on CLOCK_MONOTONIC: ETIMEDOUT after %.0f ms (asked for %ld ms)\n", waited,
           timeout_ms);
    return 1;
}

/* Run the handshake and check that every item arrived exactly once. */
static int run_mailbox(struct shared *shm, int consumers, long items)
{
    pid_t pids[MAX_CONSUMERS];
    /* A consumer killed while it holds the mailbox's lock would leave the producer blocked
     * for ever (even pthread_cond_timedwait re-locks without a time limit): while producing,
     * the death of a consumer ends the run, saying so. */
    cleanup_stop_when_a_child_fails();
    for (int i = 0; i < consumers; i++)
        if ((pids[i] = start_child()) == 0) { /* it dies with the producer: no more items */
            consume(shm, i);
            say("consumer %d: %ld items, sum %ld, %ld wakeups with nothing to take\n", i,
                shm->count[i], shm->sum[i], shm->idle_wakeups[i]);
            leave_child(EXIT_SUCCESS);
        }
    produce(shm, items, consumers);
    cleanup_stop_watching_children(); /* from here the reaping below reports each one */
    int failed = 0;
    long count = 0, sum = 0, idle = 0;
    for (int i = 0; i < consumers; i++) {
        failed += reap_child(pids[i], "consumer");
        count += shm->count[i];
        sum += shm->sum[i];
        idle += shm->idle_wakeups[i];
    }
    long expected = items * (items + 1) / 2;
    printf("received %ld items (expected %ld), sum %ld (expected %ld): %s\n", count, items, sum,
           expected, count == items && sum == expected ? "correct" : "WRONG");
    printf("wakeups with nothing to take: %ld (each one went round the while loop again)\n", idle);
    return failed == 0 && count == items && sum == expected;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int consumers = 3;
    long items = 2000, timeout_ms = 100;
    static const struct option options[] = {{"consumers", required_argument, NULL, 'c'},
                                            {"items", required_argument, NULL, 'm'},
                                            {"timeout-ms", required_argument, NULL, 't'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:m:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            consumers = (int)parse_long(optarg, "--consumers", 1, MAX_CONSUMERS, usage);
            break;
        case 'm': items = parse_long(optarg, "--items", 1, 100000000, usage); break;
        case 't': timeout_ms = parse_long(optarg, "--timeout-ms", 1, 60000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm); /* zero-filled */
    init_shared_mutex(&shm->box.lock); /* process-shared; the conditions wait on CLOCK_MONOTONIC */
    init_shared_cond(&shm->box.not_empty);
    init_shared_cond(&shm->box.not_full);
    init_shared_cond(&shm->never_signalled);
    printf("condition_variable: %d consumers, %ld items, timeout %ld ms\n", consumers, items,
           timeout_ms);
    int ok = run_mailbox(shm, consumers, items);
    ok &= demonstrate_timeout(shm, timeout_ms);
    /* Every user is reaped: nobody can be waiting, so destroying is safe. */
    check_error_number(pthread_cond_destroy(&shm->box.not_empty), "pthread_cond_destroy");
    check_error_number(pthread_cond_destroy(&shm->box.not_full), "pthread_cond_destroy");
    check_error_number(pthread_cond_destroy(&shm->never_signalled), "pthread_cond_destroy");
    check_error_number(pthread_mutex_destroy(&shm->box.lock), "pthread_mutex_destroy");
    unmap_shared(shm, sizeof *shm);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
