#define _GNU_SOURCE
/* named_semaphore.c - a POSIX semaphore shared by processes, named (sem_open) and unnamed
 * (sem_init with pshared=1 inside shared memory), each used as a lock around a shared counter.
 *
 * Usage: named_semaphore [--kind named|unnamed|both] [--workers N] [--rounds R]
 *   --kind K      which semaphore to demonstrate (default both)
 *   --workers N   processes that increment the shared counter (default 4, 1..64)
 *   --rounds R    increments per process, each inside sem_wait/sem_post (default 20000)
 *   -h, --help    this text
 *
 * What to observe:
 *   - The counter ends at exactly N*R: the semaphore, starting at 1, lets one process at a time
 *     into the read-modify-write.
 *   - A named semaphore is a file: while it exists the program finds /dev/shm/sem.forklore-...;
 *     after sem_unlink the name is gone (open handles keep working until sem_close).
 *   - An unnamed semaphore is just 32 bytes of shared memory: no name, nothing in /dev/shm, but
 *     only processes that share the mapping (here: children of one fork) can reach it.
 *
 * Python counterpart: multiprocessing.Semaphore(1) (or Lock); Python hides the name: CPython
 *   creates a named POSIX semaphore, and unlinks the name at once under the fork start method
 *   (under spawn or forkserver the name stays until the semaphore is finalized, with the
 *   resource tracker process as a safety net).
 *
 * See also: counting_semaphore.c, bounded_semaphore.c, sem_overview(7), sem_open(3),
 *   sem_init(3), lessons/06-semaphores-and-conditions.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <semaphore.h>
#include <signal.h>
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
    "Usage: named_semaphore [--kind named|unnamed|both] [--workers N] [--rounds R]\n"
    "  --kind K      which semaphore to demonstrate (default both)\n"
    "  --workers N   processes that increment the shared counter (default 4, 1..64)\n"
    "  --rounds R    increments per process, each inside sem_wait/sem_post (default 20000)\n"
    "  -h, --help    this text\n";

enum { MAX_WORKERS = 64 };
/* A worker blocked longer than this is stuck, not slow: it says so and fails. */
enum { WATCHDOG_SECONDS = 10 };

/* What the processes share: the counter they race on, and room for the unnamed semaphore.
 * The named semaphore lives elsewhere (in its own /dev/shm file) and is reached by name. */
struct shared {
    long counter;
    sem_t unnamed; /* used only in the unnamed demonstration */
};

/* An absolute CLOCK_REALTIME deadline, the clock sem_timedwait measures against. */
static struct timespec deadline_in_seconds(int seconds)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
        die("clock_gettime");
    ts.tv_sec += seconds;
    return ts;
}

/* The critical section: a deliberately non-atomic read-modify-write of the counter. */
static void add_rounds(sem_t *lock, struct shared *shm, long rounds)
{
    for (long i = 0; i < rounds; i++) {
        struct timespec deadline = deadline_in_seconds(WATCHDOG_SECONDS);
        /* A timed wait is the watchdog: a lost post would otherwise hang us forever. */
        while (sem_timedwait(lock, &deadline) == -1) {
            if (errno == EINTR)
                continue;
            if (errno == ETIMEDOUT)
                die("stuck %d s in sem_wait at round %ld (counter %ld)", WATCHDOG_SECONDS, i,
                    shm->counter);
            die("sem_timedwait");
        }
        long seen = shm->counter; /* without the semaphore, another process could write here */
        shm->counter = seen + 1;
        if (sem_post(lock) == -1)
            die("sem_post");
    }
}

/* Named: the child opens the semaphore by its name, exactly as an unrelated program would.
 * (It inherited the parent's handle too, but the name is the point of this demonstration.) */
static void named_worker(const char *name, struct shared *shm, long rounds)
{
    sem_t *lock = sem_open(name, 0); /* 0: open an existing one, never create */
    if (lock == SEM_FAILED)
        die("sem_open(%s)", name);
    add_rounds(lock, shm, rounds);
    if (sem_close(lock) == -1)
        die("sem_close");
}

/* Does the file behind a named semaphore exist?  sem_open("/x") creates /dev/shm/sem.x. */
static int name_visible(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
    return access(path, F_OK) == 0;
}

/* Run the workers on one semaphore and check the counter. Returns 1 when all went well. */
static int run_workers(const char *name, sem_t *unnamed, struct shared *shm, int workers,
                       long rounds)
{
    pid_t pids[MAX_WORKERS];
    shm->counter = 0;
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0) { /* an orphan would keep the semaphore busy */
            if (unnamed != NULL)
                add_rounds(unnamed, shm, rounds);
            else
                named_worker(name, shm, rounds); /* lock is NULL: it opens by name */
            leave_child(EXIT_SUCCESS);
        }
    if (name != NULL)
        say("while the workers run, /dev/shm/sem.%s %s\n", name + 1,
            name_visible(name) ? "exists" : "is missing");
    int failed = 0;
    for (int i = 0; i < workers; i++)
        failed += reap_child(pids[i], "worker");
    long expected = workers * rounds;
    printf("counter = %ld, expected %d x %ld = %ld: %s\n", shm->counter, workers, rounds, expected,
           shm->counter == expected ? "correct" : "WRONG");
    return failed == 0 && shm->counter == expected;
}

/* sem_open with O_EXCL under a fresh name; registered so Ctrl-C or die() still unlinks it. */
static int demonstrate_named(struct shared *shm, int workers, long rounds)
{
    char name[64];
    unique_ipc_name(name, sizeof name, "sem");
    sem_t *lock = sem_open(name, O_CREAT | O_EXCL, 0600, 1); /* initial value 1: a lock */
    if (lock == SEM_FAILED)
        die("sem_open(%s)", name);
    cleanup_add_name(IPC_SEMAPHORE, name);
    printf("named semaphore %s (file /dev/shm/sem.%s), initial value 1\n", name, name + 1);

    int ok = run_workers(name, NULL, shm, workers, rounds);

    if (sem_close(lock) == -1)
        die("sem_close");
    if (sem_unlink(name) == -1) /* the name goes now; the object when its last user closes */
        die("sem_unlink(%s)", name);
    cleanup_forget_name(name);
    printf("after sem_unlink, /dev/shm/sem.%s %s\n", name + 1,
           name_visible(name) ? "STILL EXISTS" : "is gone");
    return ok;
}

/* sem_init(pshared=1) on memory that every worker shares: no name, nothing to unlink. */
static int demonstrate_unnamed(struct shared *shm, int workers, long rounds)
{
    if (sem_init(&shm->unnamed, 1, 1) == -1) /* pshared=1: the memory is shared by processes */
        die("sem_init");
    printf("unnamed semaphore at %p in a MAP_SHARED mapping, initial value 1\n",
           (void *)&shm->unnamed);
    int ok = run_workers(NULL, &shm->unnamed, shm, workers, rounds);
    if (sem_destroy(&shm->unnamed) == -1) /* only once nobody can be waiting on it */
        die("sem_destroy");
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    const char *kind = "both";
    int workers = 4;
    long rounds = 20000;
    static const struct option options[] = {{"kind", required_argument, NULL, 'k'},
                                            {"workers", required_argument, NULL, 'w'},
                                            {"rounds", required_argument, NULL, 'r'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":k:w:r:h", options, NULL)) != -1) {
        switch (opt) {
        case 'k': kind = optarg; break;
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'r': rounds = parse_long(optarg, "--rounds", 1, 100000000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int named = strcmp(kind, "named") == 0 || strcmp(kind, "both") == 0;
    int unnamed = strcmp(kind, "unnamed") == 0 || strcmp(kind, "both") == 0;
    if (!named && !unnamed)
        usage_error(usage, "--kind: expected named, unnamed or both, got \"%s\"", kind);

    /* MAP_SHARED|MAP_ANONYMOUS: memory that fork() shares instead of copying. */
    struct shared *shm = map_shared(sizeof *shm);
    printf("named_semaphore: kind %s, %d workers, %ld rounds each\n", kind, workers, rounds);
    int ok = 1;
    if (named)
        ok &= demonstrate_named(shm, workers, rounds);
    if (unnamed)
        ok &= demonstrate_unnamed(shm, workers, rounds);
    unmap_shared(shm, sizeof *shm);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
