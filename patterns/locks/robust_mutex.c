#define _GNU_SOURCE
/* robust_mutex.c - a process holding a robust mutex is killed with SIGKILL; the next process
 * to lock it is told (EOWNERDEAD), repairs the data and marks the mutex consistent, or does
 * not, and the mutex becomes unusable (ENOTRECOVERABLE).
 *
 * Usage: robust_mutex [options]
 *   -s, --scenario S   repair | abandon | both (default both)
 *                      repair:  the next locker rolls the half-done update back and calls
 *                               pthread_mutex_consistent(): the mutex works again
 *                      abandon: the next locker unlocks without pthread_mutex_consistent():
 *                               every later lock fails with ENOTRECOVERABLE
 *   -h, --help         this text
 *
 * What to observe:
 *   - The holder is killed between the two halves of a transfer: the account shows money that
 *     left one side and never arrived at the other.  An ordinary mutex would now stay locked
 *     forever (nobody is left to unlock it) and every other process would hang.
 *   - A robust mutex: the kernel keeps a list of the robust mutexes each thread holds and,
 *     when the thread dies, marks them "owner died" and wakes one waiter, whose lock call
 *     succeeds but returns EOWNERDEAD: "you hold it now, but the data may be half-updated".
 *   - repair: the journal the holder wrote before touching the data tells the next locker how
 *     to roll back; after pthread_mutex_consistent() a later lock returns 0.
 *   - abandon: unlocking without pthread_mutex_consistent() says "this cannot be repaired":
 *     every later pthread_mutex_lock in every process returns ENOTRECOVERABLE.
 *
 * Python counterpart: none.  A multiprocessing.Lock held by a process that is killed stays
 * held forever; the other processes block (use acquire(timeout=...) to notice).
 *
 * See also: lessons/05-locks.md, pshared_mutex.c, file_locks.c (the kernel drops a dead
 * process's file locks), pthread_mutexattr_setrobust(3), pthread_mutex_consistent(3).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"
#include "support/watchdog.h"

static const char usage[] = "Usage: robust_mutex [options]\n"
                            "  -s, --scenario S   repair | abandon | both (default both)\n"
                            "  -h, --help         this text\n";

enum { TOTAL = 100, AMOUNT = 10 }; /* the invariant: from + to == TOTAL */
enum { WATCHDOG_SECONDS = 30 };    /* nothing here should ever wait this long */

/* Before changing the account, the holder writes what it is about to do, so whoever finds
 * the mutex "owner died" can undo a half-done update. */
struct journal {
    int active; /* 1 from "about to change" until "done" */
    long from_before, to_before;
};

/* Everything shared by the processes: one anonymous shared mapping made before fork(). */
struct shared {
    pthread_mutex_t mutex;
    long from, to; /* an account moving money from one side to the other */
    struct journal journal;
};

/* A name for the error numbers this program meets, so the output says what the man page says. */
static const char *error_name(int err)
{
    switch (err) {
    case 0: return "0 (success)";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    default: return strerror(err);
    }
}

static void init_robust_mutex(pthread_mutex_t *mutex)
{
    pthread_mutexattr_t attr;
    check_error_number(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    /* Shared between processes: the holder and the next locker are different processes. */
    check_error_number(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                       "pthread_mutexattr_setpshared");
    /* ROBUST: if the owner dies, do not leave the mutex locked forever; tell the next owner. */
    check_error_number(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST),
                       "pthread_mutexattr_setrobust");
    check_error_number(pthread_mutex_init(mutex, &attr), "pthread_mutex_init");
    check_error_number(pthread_mutexattr_destroy(&attr), "pthread_mutexattr_destroy");
}

/* ---- the holder: locks, starts a transfer, and is killed halfway ----------------------- */

static _Noreturn void holder(struct shared *sh, int report_fd)
{
    check_error_number(pthread_mutex_lock(&sh->mutex), "holder: pthread_mutex_lock");
    sh->journal.from_before = sh->from; /* write the undo record first ... */
    sh->journal.to_before = sh->to;
    sh->journal.active = 1;
    sh->from -= AMOUNT; /* ... then the first half of the transfer */
    printf("holder pid %ld: locked; took %d from 'from', about to add it to 'to'\n", (long)getpid(),
           AMOUNT);
    flush_or_die(stdout);
    if (write(report_fd, "h", 1) != 1) /* tell the parent: kill me now */
        die("write");
    for (;;)
        pause(); /* the second half never happens: SIGKILL arrives first */
}

/* Start the holder and kill it while it holds the mutex. */
static void kill_the_holder(struct shared *sh)
{
    int report[2];
    if (pipe(report) == -1)
        die("pipe");
    pid_t pid = start_child();
    if (pid == 0) {
        close_or_die(report[0]);
        holder(sh, report[1]);
    }
    char byte;
    close_or_die(report[1]);
    ssize_t got = read(report[0], &byte, 1); /* wait until it really holds the lock */
    if (got == -1)
        die("read from holder");
    if (got != 1) /* end of file: errno has nothing to say */
        die_with_code(-1, "the holder ended before it took the lock");
    close_or_die(report[0]);
    /* SIGKILL cannot be caught or ignored: the holder gets no chance to unlock.  The kernel
     * walks its robust list as it dies and marks the mutex "owner died". */
    if (kill(pid, SIGKILL) == -1)
        die("kill");
    int status = wait_for_child(pid);
    char how[STATUS_TEXT_SIZE];
    describe_status(status, how, sizeof how);
    if (!WIFSIGNALED(status)) {
        note("holder pid %ld was not killed as planned: it %s", (long)pid, how);
        exit(EXIT_FAILURE);
    }
    printf("parent: holder pid %ld %s while holding the mutex\n", (long)pid, how);
    printf("parent: account now from=%ld to=%ld: sum %ld, should be %d\n", sh->from, sh->to,
           sh->from + sh->to, TOTAL);
}

/* ---- the next lockers ------------------------------------------------------------------- */

/* Another process tries the mutex; its exit status carries pthread_mutex_lock's result. */
static int another_process_locks(struct shared *sh)
{
    pid_t pid = start_child();
    if (pid == 0) {
        int err = pthread_mutex_lock(&sh->mutex); /* cannot hang: nobody holds it now */
        if (err == 0)
            check_error_number(pthread_mutex_unlock(&sh->mutex), "pthread_mutex_unlock");
        _exit(err); /* error numbers fit in an exit status (0..255) */
    }
    int status = wait_for_child(pid);
    if (!WIFEXITED(status)) {
        char how[STATUS_TEXT_SIZE];
        note("pid %ld %s", (long)pid, describe_status(status, how, sizeof how));
        exit(EXIT_FAILURE);
    }
    printf("pid %ld (another process): pthread_mutex_lock -> %s\n", (long)pid,
           error_name(WEXITSTATUS(status)));
    return WEXITSTATUS(status);
}

/* The owner died mid-update: the journal says what the data looked like before. */
static void roll_back(struct shared *sh)
{
    if (sh->journal.active) {
        sh->from = sh->journal.from_before;
        sh->to = sh->journal.to_before;
        sh->journal.active = 0;
        printf("parent: journal says an update was in progress: rolled back to from=%ld to=%ld\n",
               sh->from, sh->to);
    }
}

/* A fresh account and a fresh robust mutex for each scenario. */
static void reset(struct shared *sh)
{
    memset((void *)sh, 0, sizeof *sh);
    sh->from = TOTAL;
    init_robust_mutex(&sh->mutex);
}

/* Lock after the owner died; returns 1 if the result was the expected EOWNERDEAD. */
static int lock_after_death(struct shared *sh)
{
    int err = pthread_mutex_lock(&sh->mutex);
    printf("parent: pthread_mutex_lock -> %s%s\n", error_name(err),
           err == EOWNERDEAD ? ": I hold the mutex, but its data may be half-updated" : "");
    return err == EOWNERDEAD;
}

/* Returns 0 if everything happened as a robust mutex promises. */
static int scenario_repair(struct shared *sh)
{
    printf("== scenario repair: the next locker repairs and calls pthread_mutex_consistent ==\n");
    reset(sh);
    kill_the_holder(sh);
    if (!lock_after_death(sh))
        return 1;
    roll_back(sh); /* first make the data right again ... */
    /* ... then say so: without this the unlock below would make the mutex unusable. */
    check_error_number(pthread_mutex_consistent(&sh->mutex), "pthread_mutex_consistent");
    printf("parent: pthread_mutex_consistent -> 0: the mutex is an ordinary mutex again\n");
    check_error_number(pthread_mutex_unlock(&sh->mutex), "pthread_mutex_unlock");
    int err = another_process_locks(sh);
    int ok = err == 0 && sh->from + sh->to == TOTAL;
    printf("verdict: repair %s: account from=%ld to=%ld (sum %ld), later lock -> %s\n",
           ok ? "worked" : "FAILED", sh->from, sh->to, sh->from + sh->to, error_name(err));
    check_error_number(pthread_mutex_destroy(&sh->mutex), "pthread_mutex_destroy");
    return !ok;
}

static int scenario_abandon(struct shared *sh)
{
    printf("== scenario abandon: the next locker unlocks WITHOUT pthread_mutex_consistent ==\n");
    reset(sh);
    kill_the_holder(sh);
    if (!lock_after_death(sh))
        return 1;
    /* Unlocking an inconsistent robust mutex declares it unrecoverable, for good. */
    check_error_number(pthread_mutex_unlock(&sh->mutex), "pthread_mutex_unlock");
    printf("parent: pthread_mutex_unlock -> 0 (no repair, no consistent)\n");
    int err = another_process_locks(sh);
    int again = pthread_mutex_lock(&sh->mutex);
    printf("parent: pthread_mutex_lock -> %s\n", error_name(again));
    if (again == 0) /* not expected; do not leave it locked */
        check_error_number(pthread_mutex_unlock(&sh->mutex), "pthread_mutex_unlock");
    int ok = err == ENOTRECOVERABLE && again == ENOTRECOVERABLE;
    printf("verdict: mutex %s: the only way back is pthread_mutex_destroy + pthread_mutex_init, "
           "once no process uses it\n",
           ok ? "is ENOTRECOVERABLE for everyone" : "NOT as expected");
    check_error_number(pthread_mutex_destroy(&sh->mutex), "pthread_mutex_destroy");
    return !ok;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    int repair = 1, abandon = 1;
    static const struct option longs[] = {
        {"scenario", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            repair = strcmp(optarg, "repair") == 0 || strcmp(optarg, "both") == 0;
            abandon = strcmp(optarg, "abandon") == 0 || strcmp(optarg, "both") == 0;
            if (!repair && !abandon)
                usage_error(usage, "--scenario: expected repair, abandon or both, got \"%s\"",
                            optarg);
            break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    cleanup_install(); /* Ctrl-C kills and reaps a holder still waiting to be killed */
    start_watchdog(
        WATCHDOG_SECONDS,
        "a lock or a wait did not return in time; stopping"); /* a lock that never returns must not
                                                                 hang the run */
    struct shared *sh = map_shared(sizeof *sh);
    int failures = 0;
    if (repair)
        failures += scenario_repair(sh);
    if (abandon)
        failures += scenario_abandon(sh);
    unmap_shared(sh, sizeof *sh);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
