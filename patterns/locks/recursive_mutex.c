#define _GNU_SOURCE
/* recursive_mutex.c - the three mutex types meet the same mistake, "lock a mutex I already
 * hold": a recursive mutex counts, an error-checking one answers EDEADLK, a normal one would
 * wait for itself forever.  Each mutex lives in shared memory and a second process probes it.
 *
 * Usage: recursive_mutex [options]
 *   -t, --type T   recursive | errorcheck | normal | all (default all)
 *   -h, --help     this text
 *
 * What to observe:
 *   - recursive (Python's RLock): the owner locks twice, both succeed; another process gets
 *     EBUSY until the owner has unlocked as many times as it locked.
 *   - errorcheck: the second lock by the owner returns EDEADLK at once instead of hanging, and
 *     an unlock by a process that is not the owner returns EPERM.
 *   - normal: a second lock by the owner would never return.  We ask with
 *     pthread_mutex_timedlock and a 200 ms limit instead: ETIMEDOUT is the deadlock, cut short.
 *   - Ownership is per thread, and the thread ids of two processes differ, so "another
 *     process" is "another owner" for every type.
 *
 * Python counterpart: multiprocessing.RLock() (recursive: acquire twice, release twice);
 * multiprocessing.Lock() acquired twice by the same process blocks forever (a normal mutex);
 * Lock().release() by a non-owner works in Python: it is a semaphore, not an owned mutex.
 *
 * See also: lessons/05-locks.md, pshared_mutex.c, robust_mutex.c, pthread_mutexattr_settype(3).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"
#include "support/watchdog.h"

static const char usage[] = "Usage: recursive_mutex [options]\n"
                            "  -t, --type T   recursive | errorcheck | normal | all (default all)\n"
                            "  -h, --help     this text\n";

static const long SELF_DEADLOCK_WAIT_NS = 200000000; /* 200 ms stands in for "forever" */
enum { WATCHDOG_SECONDS = 30 };

enum probe { TRYLOCK, UNLOCK }; /* what the other process tries */

/* The symbolic names, as the man pages use them: strerror's text is harder to look up. */
static const char *error_name(int err)
{
    switch (err) {
    case 0: return "0";
    case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    case EPERM: return "EPERM";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return strerror(err);
    }
}

static int expected_failures; /* results that differ from what POSIX and glibc promise */

/* Print one call and its result, and count it if it is not the result we expect. */
static void show(const char *who, const char *call, int err, int expected, const char *note)
{
    printf("  %-14s %-24s -> %-9s%s%s\n", who, call, error_name(err), *note ? " " : "", note);
    if (err != expected) {
        printf("  UNEXPECTED: expected %s\n", error_name(expected));
        expected_failures++;
    }
}

static void init_mutex(pthread_mutex_t *mutex, int type)
{
    pthread_mutexattr_t attr;
    check_error_number(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    /* PROCESS_SHARED: the probe is another process, so its wake-ups must cross processes. */
    check_error_number(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                       "pthread_mutexattr_setpshared");
    /* The type decides what happens when the owner locks again, or a non-owner unlocks. */
    check_error_number(pthread_mutexattr_settype(&attr, type), "pthread_mutexattr_settype");
    check_error_number(pthread_mutex_init(mutex, &attr), "pthread_mutex_init");
    check_error_number(pthread_mutexattr_destroy(&attr), "pthread_mutexattr_destroy");
}

/* Another process tries the mutex; the result comes back as its exit status. */
static int other_process(pthread_mutex_t *mutex, enum probe probe)
{
    pid_t pid = start_child();
    if (pid == 0) {
        /* trylock, never lock: the owner is busy waiting for us, so waiting here would hang. */
        int err = probe == TRYLOCK ? pthread_mutex_trylock(mutex) : pthread_mutex_unlock(mutex);
        if (probe == TRYLOCK && err == 0)
            check_error_number(pthread_mutex_unlock(mutex), "pthread_mutex_unlock");
        _exit(err); /* error numbers fit in an exit status */
    }
    int status = wait_for_child(pid);
    if (!WIFEXITED(status)) {
        char how[STATUS_TEXT_SIZE];
        note("probe pid %ld %s", (long)pid, describe_status(status, how, sizeof how));
        exit(EXIT_FAILURE);
    }
    return WEXITSTATUS(status);
}

/* ---- the three types, one mistake --------------------------------------------------------- */

static void demo_recursive(pthread_mutex_t *m)
{
    printf("recursive (PTHREAD_MUTEX_RECURSIVE), owner is pid %ld:\n", (long)getpid());
    init_mutex(m, PTHREAD_MUTEX_RECURSIVE);
    /* The mutex remembers its owner (a thread id) and a count: a lock by the owner adds 1. */
    show("owner", "pthread_mutex_lock", pthread_mutex_lock(m), 0, "(depth 1)");
    show("owner", "pthread_mutex_lock", pthread_mutex_lock(m), 0, "(depth 2: it counts)");
    show("other process", "pthread_mutex_trylock", other_process(m, TRYLOCK), EBUSY, "(held)");
    show("owner", "pthread_mutex_unlock", pthread_mutex_unlock(m), 0, "(depth 1)");
    show("other process", "pthread_mutex_trylock", other_process(m, TRYLOCK), EBUSY,
         "(still held once)");
    /* Only when the count is back to 0 is the mutex free for anyone else. */
    show("owner", "pthread_mutex_unlock", pthread_mutex_unlock(m), 0, "(depth 0: free)");
    show("other process", "pthread_mutex_trylock", other_process(m, TRYLOCK), 0, "(got it)");
    show("owner", "pthread_mutex_unlock", pthread_mutex_unlock(m), EPERM,
         "(one unlock too many: not the owner any more)");
    check_error_number(pthread_mutex_destroy(m), "pthread_mutex_destroy");
}

static void demo_errorcheck(pthread_mutex_t *m)
{
    printf("errorcheck (PTHREAD_MUTEX_ERRORCHECK), owner is pid %ld:\n", (long)getpid());
    init_mutex(m, PTHREAD_MUTEX_ERRORCHECK);
    /* Like a normal mutex, but it remembers the owner and checks it on every call. */
    show("owner", "pthread_mutex_lock", pthread_mutex_lock(m), 0, "");
    show("owner", "pthread_mutex_lock", pthread_mutex_lock(m), EDEADLK,
         "(would wait for itself: refused)");
    show("other process", "pthread_mutex_unlock", other_process(m, UNLOCK), EPERM,
         "(not the owner)");
    show("owner", "pthread_mutex_unlock", pthread_mutex_unlock(m), 0, "");
    show("owner", "pthread_mutex_unlock", pthread_mutex_unlock(m), EPERM, "(not locked)");
    check_error_number(pthread_mutex_destroy(m), "pthread_mutex_destroy");
}

static void demo_normal(pthread_mutex_t *m)
{
    printf("normal (PTHREAD_MUTEX_NORMAL), owner is pid %ld:\n", (long)getpid());
    init_mutex(m, PTHREAD_MUTEX_NORMAL);
    /* The fastest type, and the one that checks nothing: not the owner, not the count. */
    show("owner", "pthread_mutex_lock", pthread_mutex_lock(m), 0, "");
    /* pthread_mutex_lock here would never return: nobody else will ever unlock.  A time limit
     * turns the self-deadlock into an error we can print.  (timedlock wants CLOCK_REALTIME.) */
    struct timespec deadline = deadline_after_ns(CLOCK_REALTIME, SELF_DEADLOCK_WAIT_NS);
    show("owner", "pthread_mutex_timedlock", pthread_mutex_timedlock(m, &deadline), ETIMEDOUT,
         "(200 ms; pthread_mutex_lock would wait forever)");
    show("owner", "pthread_mutex_unlock", pthread_mutex_unlock(m), 0, "");
    check_error_number(pthread_mutex_destroy(m), "pthread_mutex_destroy");
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    const char *type = "all";
    static const struct option longs[] = {
        {"type", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":t:h", longs, NULL)) != -1) {
        switch (c) {
        case 't': type = optarg; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int all = strcmp(type, "all") == 0;
    if (!all && strcmp(type, "recursive") != 0 && strcmp(type, "errorcheck") != 0 &&
        strcmp(type, "normal") != 0)
        usage_error(usage, "--type: expected recursive, errorcheck, normal or all, got \"%s\"",
                    type);
    cleanup_install(); /* Ctrl-C kills and reaps a probe that is still running */
    start_watchdog(
        WATCHDOG_SECONDS,
        "a lock did not return in time (a real self-deadlock?); stopping"); /* if a lock ever does
                                                                               hang, the watchdog
                                                                               ends the run */
    /* The mutex lives in a shared page, so the probe processes see the very same mutex. */
    pthread_mutex_t *m = map_shared(sizeof *m);
    if (all || strcmp(type, "recursive") == 0)
        demo_recursive(m);
    if (all || strcmp(type, "errorcheck") == 0)
        demo_errorcheck(m);
    if (all || strcmp(type, "normal") == 0)
        demo_normal(m);
    unmap_shared(m, sizeof *m);
    printf("verdict: %s\n", expected_failures ? "UNEXPECTED results above"
                                              : "every result as "
                                                "expected");
    return expected_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
