#define _GNU_SOURCE
/* bounded_semaphore.c - a semaphore that refuses to be released more often than it was
 * acquired (Python's BoundedSemaphore), shared by processes, beside a plain one that does not.
 *
 * Usage: bounded_semaphore [--bound K] [--workers N] [--uses U] [--extra-releases E]
 *   --bound K           the initial value, which the value may never exceed (default 2, 1..64)
 *   --workers N         well-behaved processes: acquire, work, release (default 4, 1..64)
 *   --uses U            times each well-behaved process acquires (default 200)
 *   --extra-releases E  releases a buggy process makes without acquiring (default 1)
 *   -h, --help          this text
 *
 * What to observe:
 *   - Well-behaved processes leave the value where it started (K).
 *   - A buggy process that releases without acquiring: the plain sem_t quietly grows to K+E,
 *     so from then on K+E processes may enter a resource meant for K.  The bounded semaphore
 *     refuses every extra release with an error (EOVERFLOW here, ValueError in Python) and its
 *     value stays K.
 *   - The check is one atomic compare-and-swap on a count of free places kept beside the
 *     semaphore: two racing releases cannot both slip under the bound.
 *
 * Python counterpart: multiprocessing.BoundedSemaphore(K); release() beyond K raises
 *   ValueError("semaphore or lock released too many times").
 *
 * See also: counting_semaphore.c, named_semaphore.c, sem_getvalue(3),
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
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: bounded_semaphore [--bound K] [--workers N] [--uses U] [--extra-releases E]\n"
    "  --bound K           the initial value, which the value may never exceed (default 2, 1..64)\n"
    "  --workers N         well-behaved processes: acquire, work, release (default 4, 1..64)\n"
    "  --uses U            times each well-behaved process acquires (default 200)\n"
    "  --extra-releases E  releases a buggy process makes without acquiring (default 1)\n"
    "  -h, --help          this text\n";

enum { MAX_WORKERS = 64 };
/* A worker blocked longer than this is stuck, not slow: it says so and fails. */
enum { WATCHDOG_SECONDS = 10 };

/* The bounded semaphore: a plain semaphore plus a count of free places that only a
 * compare-and-swap may raise.  The count, not sem_getvalue, guards the bound: reading the
 * value and then posting would be two steps another releaser could slip between. */
struct bounded_semaphore {
    sem_t sem;
    atomic_int free_places; /* bound minus the holders that have finished acquiring */
    int bound;              /* the initial value, never to be exceeded */
};
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomics shared between processes must be lock-free");

/* Everything the processes share. */
struct shared {
    struct bounded_semaphore bounded;
    sem_t plain;        /* the same job without the guard, for comparison */
    atomic_int refused; /* extra releases the bounded semaphore turned down */
};

static void bounded_init(struct bounded_semaphore *b, int bound)
{
    if (sem_init(&b->sem, 1, (unsigned)bound) == -1) /* pshared=1 */
        die("sem_init");
    atomic_init(&b->free_places, bound);
    b->bound = bound;
}

/* Acquire as sem_wait does, with a watchdog; then count one place fewer. */
static int bounded_acquire(struct bounded_semaphore *b)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_REALTIME, &deadline) == -1)
        return -1;
    deadline.tv_sec += WATCHDOG_SECONDS;
    while (sem_timedwait(&b->sem, &deadline) == -1)
        if (errno != EINTR)
            return -1; /* ETIMEDOUT included: the caller says what it saw */
    atomic_fetch_sub(&b->free_places, 1);
    return 0;
}

/* Release, unless that would lift the free places above the bound: then refuse, as Python's
 * BoundedSemaphore raises ValueError, with -1 and errno EOVERFLOW (the errno sem_post itself
 * uses when a value would pass SEM_VALUE_MAX). */
static int bounded_release(struct bounded_semaphore *b)
{
    int seen = atomic_load(&b->free_places);
    do {
        if (seen >= b->bound) {
            errno = EOVERFLOW;
            return -1;
        }
    } while (!atomic_compare_exchange_weak(&b->free_places, &seen, seen + 1));
    return sem_post(&b->sem); /* the place is counted as free: now let a waiter have it */
}

static int semaphore_value(sem_t *sem)
{
    int value;
    if (sem_getvalue(sem, &value) == -1)
        die("sem_getvalue");
    return value;
}

/* A well-behaved worker: every acquire is paired with exactly one release. */
static void polite_worker(struct shared *shm, int uses)
{
    for (int i = 0; i < uses; i++) {
        if (bounded_acquire(&shm->bounded) == -1)
            die("bounded_acquire (use %d)", i);
        if (bounded_release(&shm->bounded) == -1)
            die("bounded_release of a held place (use %d)", i);
    }
}

/* A buggy worker: releases it never acquired, on both semaphores. */
static void buggy_worker(struct shared *shm, int extra)
{
    for (int i = 0; i < extra; i++) {
        if (sem_post(&shm->plain) == -1) /* the plain one accepts it without a word */
            die("sem_post");
        if (bounded_release(&shm->bounded) == 0) {
            say("bounded semaphore ACCEPTED a release nobody acquired\n");
            continue;
        }
        if (errno != EOVERFLOW)
            die("bounded_release");
        atomic_fetch_add(&shm->refused, 1);
        say("release refused: EOVERFLOW, %s (the value would exceed the bound %d; "
            "Python raises ValueError)\n",
            strerror(errno), shm->bounded.bound);
    }
}

/* Run the polite workers together, then the buggy one; report and check both values. */
static int run(struct shared *shm, int bound, int workers, int uses, int extra)
{
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0) {
            polite_worker(shm, uses);
            leave_child(EXIT_SUCCESS);
        }
    int failed = 0;
    for (int i = 0; i < workers; i++)
        failed += reap_child(pids[i], "worker");
    int after_polite = semaphore_value(&shm->bounded.sem);
    printf("after %d x %d paired acquire/release: bounded value = %d (bound %d)\n", workers, uses,
           after_polite, bound);

    pid_t buggy = start_child();
    if (buggy == 0) {
        buggy_worker(shm, extra);
        leave_child(EXIT_SUCCESS);
    }
    failed += reap_child(buggy, "buggy worker");
    int plain = semaphore_value(&shm->plain), bounded = semaphore_value(&shm->bounded.sem);
    int refused = atomic_load(&shm->refused);
    printf("after %d release(s) without acquire: plain sem_t value = %d%s, "
           "bounded value = %d, refused releases = %d\n",
           extra, plain, plain > bound ? " (the limit is silently broken)" : "", bounded, refused);
    return failed == 0 && after_polite == bound && bounded == bound && refused == extra;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int bound = 2, workers = 4, uses = 200, extra = 1;
    static const struct option options[] = {
        {"bound", required_argument, NULL, 'k'}, {"workers", required_argument, NULL, 'w'},
        {"uses", required_argument, NULL, 'u'},  {"extra-releases", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":k:w:u:e:h", options, NULL)) != -1) {
        switch (opt) {
        case 'k': bound = (int)parse_long(optarg, "--bound", 1, MAX_WORKERS, usage); break;
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'u': uses = (int)parse_long(optarg, "--uses", 1, 1000000, usage); break;
        case 'e': extra = (int)parse_long(optarg, "--extra-releases", 1, 1000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm); /* zero-filled */
    bounded_init(&shm->bounded, bound);
    if (sem_init(&shm->plain, 1, (unsigned)bound) == -1)
        die("sem_init");
    printf("bounded_semaphore: bound %d, %d workers, %d uses each, %d extra release(s)\n", bound,
           workers, uses, extra);
    int ok = run(shm, bound, workers, uses, extra);
    if (sem_destroy(&shm->plain) == -1 || sem_destroy(&shm->bounded.sem) == -1)
        die("sem_destroy");
    unmap_shared(shm, sizeof *shm);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
