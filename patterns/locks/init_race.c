#define _GNU_SOURCE
/* init_race.c - independent processes open one named shared-memory object and each
 * initialises the mutex inside it: a late initialiser wipes a lock that is in use.  The fix:
 * shm_open(O_CREAT|O_EXCL) picks exactly one initialiser; the others wait for its "ready" flag.
 *
 * Usage: init_race [options]
 *   -s, --sync MODE       none | excl | both (default both)
 *                         none: every process runs pthread_mutex_init and zeroes the counter
 *                         excl: only the creator initialises; the others wait for "ready"
 *   -w, --workers P       processes (default 2)
 *   -n, --iterations N    locked increments per process (default 1000)
 *   -g, --stagger-ms MS   process i starts i x MS ms after the first (default 5): a late
 *                         initialiser arrives while the first is inside its loop
 *   -r, --runs K          repeat K times (default 1)
 *   -h, --help            this text
 *
 * What to observe:
 *   - none: "initialised 2 times".  The second pthread_mutex_init resets a mutex that the first
 *     process holds or waits on: two processes end up inside the critical section together
 *     ("inside together" > 0), the second zeroing of the counter throws away finished work,
 *     and a process asleep on the old lock state may never be woken (we use
 *     pthread_mutex_timedlock, so it says "timed out" instead of hanging).
 *   - excl: "initialised 1 time", exact count, never two inside.  The kernel's O_EXCL decides
 *     who creates, and the "ready" flag (store with release, load with acquire) tells the
 *     others when the mutex and counter are fully set up.
 *   - The object lives in /dev/shm while the processes run (ls /dev/shm) and is unlinked at the
 *     end, Ctrl-C included.
 *
 * Python counterpart: multiprocessing.shared_memory.SharedMemory(name, create=True) raises
 * FileExistsError for all but one process (O_EXCL underneath); the others attach with
 * create=False.  A Lock cannot be placed in it by name: Python passes locks to children.
 *
 * See also: lessons/05-locks.md, pshared_mutex.c, ../races/check_then_act.c (the same
 * check-then-act race, on a file).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    "Usage: init_race [options]\n"
    "  -s, --sync MODE       none | excl | both (default both)\n"
    "  -w, --workers P       processes (default 2)\n"
    "  -n, --iterations N    locked increments per process (default 1000)\n"
    "  -g, --stagger-ms MS   process i starts i x MS ms after the first (default 5)\n"
    "  -r, --runs K          repeat K times (default 1)\n"
    "  -h, --help            this text\n";

enum { MAX_WORKERS = 64 };
enum { LOCK_TIMEOUT_MS = 1000 };  /* a lock wait longer than this means the lock was wiped */
enum { READY_TIMEOUT_MS = 5000 }; /* the initialiser should need microseconds, not seconds */
enum { TIMED_OUT = 3 };           /* exit status of a worker whose lock wait timed out */

/* The shared object, found by name.  A new object is all zero bytes (ftruncate fills with
 * zeros), so ready starts at 0 without anyone writing it. */
struct shared {
    atomic_int ready;           /* excl: 1 once mutex and counter are initialised */
    atomic_int initialisations; /* how many processes ran the initialisation */
    pthread_mutex_t mutex;
    long counter;
    atomic_int inside;    /* processes in the critical section now: must never be 2 */
    atomic_long overlaps; /* times a process entered and found another inside */
};

enum mode { NONE, EXCL };
static const char *const mode_names[] = {"none", "excl"};

/* ---- attaching and initialising ------------------------------------------------------ */

static struct shared *map_object(int fd)
{
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    close_or_die(fd); /* the mapping keeps the object alive; the fd is no longer needed */
    return sh;
}

static void initialise(struct shared *sh)
{
    pthread_mutexattr_t attr; /* process-shared: the users are separate processes */
    check_error_number(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check_error_number(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                       "pthread_mutexattr_setpshared");
    check_error_number(pthread_mutex_init(&sh->mutex, &attr), "pthread_mutex_init");
    check_error_number(pthread_mutexattr_destroy(&attr), "pthread_mutexattr_destroy");
    sh->counter = 0; /* "start from a clean state": harmless once, destructive twice */
    atomic_fetch_add(&sh->initialisations, 1);
}

/* Broken: everybody creates-if-needed and everybody initialises. */
static struct shared *attach_everybody_inits(const char *name)
{
    int fd = shm_open(name, O_RDWR | O_CREAT, 0600); /* create it, or open it if it exists */
    if (fd == -1)
        die("shm_open %s", name);
    if (ftruncate(fd, sizeof(struct shared)) == -1) /* same size again: no harm, no zeroing */
        die("ftruncate");
    struct shared *sh = map_object(fd);
    initialise(sh); /* the bug: the object may already be in use */
    printf("pid %ld: opened %s and initialised the mutex\n", (long)getpid(), name);
    flush_or_die(stdout);
    return sh;
}

/* Sleep a little without the support module's die() (which calls exit, wrong in a child). */
static void nap_us(long us)
{
    struct timespec t = {us / 1000000, us % 1000000 * 1000};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        continue;
}

/* Fixed: the kernel's O_EXCL elects one creator.  The others must wait twice: until the
 * creator has given the object its size (touching a mapping past the end of the file is
 * SIGBUS), and until it has finished initialising (the ready flag). */
static struct shared *attach_one_inits(const char *name)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd != -1) { /* we created it: nobody else can be using it yet */
        if (ftruncate(fd, sizeof(struct shared)) == -1)
            die("ftruncate");
        struct shared *sh = map_object(fd);
        initialise(sh);
        /* release: everything initialise() wrote is visible to whoever sees ready == 1 */
        atomic_store_explicit(&sh->ready, 1, memory_order_release);
        printf("pid %ld: created %s with O_EXCL: I initialised the mutex\n", (long)getpid(), name);
        flush_or_die(stdout);
        return sh;
    }
    if (errno != EEXIST)
        die("shm_open(O_EXCL) %s", name);
    if ((fd = shm_open(name, O_RDWR, 0)) == -1) /* it exists: attach without creating */
        die("shm_open %s", name);
    int64_t deadline = monotonic_ns() + (int64_t)READY_TIMEOUT_MS * 1000000;
    struct stat st;
    do {
        if (fstat(fd, &st) == -1)
            die("fstat");
        if (monotonic_ns() > deadline) {
            errno = ETIMEDOUT;
            die("%s never got its size (did the creator die?)", name);
        }
    } while (st.st_size < (off_t)sizeof(struct shared) && (nap_us(100), 1));
    struct shared *sh = map_object(fd);
    /* acquire: pairs with the creator's release; after it we see an initialised mutex */
    while (!atomic_load_explicit(&sh->ready, memory_order_acquire)) {
        if (monotonic_ns() > deadline) {
            errno = ETIMEDOUT;
            die("%s never became ready (did the creator die?)", name);
        }
        nap_us(100);
    }
    printf("pid %ld: %s existed: waited for ready, did not initialise\n", (long)getpid(), name);
    flush_or_die(stdout);
    return sh;
}

/* ---- the work: locked increments that check mutual exclusion themselves --------------- */

static int timed_lock(pthread_mutex_t *mutex)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_REALTIME, &deadline) == -1) /* timedlock counts in REALTIME */
        die("clock_gettime");
    deadline.tv_sec += LOCK_TIMEOUT_MS / 1000;
    return pthread_mutex_timedlock(mutex, &deadline);
}

/* Returns 0, or TIMED_OUT if a lock wait never ended (the lock state was wiped). */
static int work(struct shared *sh, long iterations)
{
    for (long i = 0; i < iterations; i++) {
        int err = timed_lock(&sh->mutex);
        if (err == ETIMEDOUT) {
            printf("pid %ld: lock wait timed out after %d ms: the mutex was re-initialised "
                   "while I waited, and nobody will wake me\n",
                   (long)getpid(), LOCK_TIMEOUT_MS);
            flush_or_die(stdout);
            return TIMED_OUT;
        }
        check_error_number(err, "pthread_mutex_timedlock");
        if (atomic_fetch_add(&sh->inside, 1) != 0) /* the invariant: nobody else is in here */
            atomic_fetch_add(&sh->overlaps, 1);
        sh->counter++;
        nap_us(10); /* hold the lock a moment: a late initialiser then finds it held */
        atomic_fetch_sub(&sh->inside, 1);
        if ((err = pthread_mutex_unlock(&sh->mutex)) != 0) {
            errno = err;
            die("pthread_mutex_unlock");
        }
    }
    return 0;
}

struct options {
    int modes, workers, runs;
    long iterations, stagger_ms;
};

static _Noreturn void worker(const char *name, enum mode mode, int index, int gun,
                             const struct options *opt)
{
    char byte;
    if (read(gun, &byte, 1) == -1) /* end of file when the parent closes its end: go */
        die("read starting gun");
    nap_us(index * opt->stagger_ms * 1000);
    /* The only difference between the two modes is how a process attaches. */
    struct shared *sh = mode == NONE ? attach_everybody_inits(name) : attach_one_inits(name);
    int result = work(sh, opt->iterations);
    unmap_shared(sh, sizeof *sh);
    _exit(result);
}

/* ---- the parent: name the object, start the workers together, judge, unlink ----------- */

/* Reap one worker: 0 = fine, TIMED_OUT = its lock wait timed out, -1 = it failed. */
static int reap(pid_t pid)
{
    int status = wait_for_child(pid);
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == TIMED_OUT))
        return WEXITSTATUS(status);
    char how[STATUS_TEXT_SIZE];
    note("worker %ld %s", (long)pid, describe_status(status, how, sizeof how));
    return -1;
}

/* Fork the workers, hold them at a pipe, then let them all go at once. */
static int start_and_reap(const char *name, enum mode mode, const struct options *opt,
                          int *timeouts)
{
    int gun[2];
    if (pipe(gun) == -1)
        die("pipe");
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < opt->workers; i++)
        if ((pids[i] = start_child()) == 0) {
            close_or_die(gun[1]);
            worker(name, mode, i, gun[0], opt);
        }
    /* Go: with the last write end closed, every worker's read() returns 0 at the same time. */
    close_or_die(gun[0]);
    close_or_die(gun[1]);
    int failed = 0;
    *timeouts = 0;
    for (int i = 0; i < opt->workers; i++) {
        int result = reap(pids[i]);
        failed += result == -1;
        *timeouts += result == TIMED_OUT;
    }
    return failed;
}

/* Read the final state, unlink the name, print the verdict.  Returns 1 if inconsistent. */
static int judge(const char *name, enum mode mode, const struct options *opt, int run, int timeouts)
{
    int fd = shm_open(name, O_RDWR, 0); /* every worker is gone: we only read the outcome */
    if (fd == -1)
        die("shm_open %s", name);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    long expected = opt->workers * opt->iterations, counter = sh->counter;
    int inits = atomic_load(&sh->initialisations);
    long overlaps = atomic_load(&sh->overlaps);
    if (munmap(sh, sizeof *sh) == -1 || close(fd) == -1)
        die("munmap/close");
    if (shm_unlink(name) == -1) /* the name goes now; nothing is left in /dev/shm */
        die("shm_unlink %s", name);
    cleanup_forget_name(name); /* unlinked by us: the cleanup module need not */
    int consistent = counter == expected && inits == 1 && overlaps == 0 && timeouts == 0;
    printf("run %d [%s]: verdict: %s: counter = %ld of %ld; initialised %d time(s); "
           "inside together %ld time(s); %d lock wait(s) timed out\n",
           run, mode_names[mode], consistent ? "consistent" : "BROKEN", counter, expected, inits,
           overlaps, timeouts);
    return !consistent;
}

static int run_once(enum mode mode, const struct options *opt, int run)
{
    char name[96];
    unique_ipc_name(name, sizeof name, "init_race");
    cleanup_add_name(IPC_SHM, name); /* registered before anyone creates it: Ctrl-C safe */
    printf("run %d [%s]: object %s (/dev/shm%s)\n", run, mode_names[mode], name, name);
    int timeouts;
    if (start_and_reap(name, mode, opt, &timeouts) > 0) {
        if (shm_unlink(name) == -1 && errno != ENOENT)
            die("shm_unlink %s", name);
        cleanup_forget_name(name);
        return -1;
    }
    return judge(name, mode, opt, run, timeouts);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {1 << NONE | 1 << EXCL, 2, 1, 1000, 5};
    static const struct option longs[] = {{"sync", required_argument, 0, 's'},
                                          {"workers", required_argument, 0, 'w'},
                                          {"iterations", required_argument, 0, 'n'},
                                          {"stagger-ms", required_argument, 0, 'g'},
                                          {"runs", required_argument, 0, 'r'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:w:n:g:r:h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "none") == 0)
                opt.modes = 1 << NONE;
            else if (strcmp(optarg, "excl") == 0)
                opt.modes = 1 << EXCL;
            else if (strcmp(optarg, "both") == 0)
                opt.modes = 1 << NONE | 1 << EXCL;
            else
                usage_error(usage, "--sync: expected none, excl or both, got \"%s\"", optarg);
            break;
        case 'w': opt.workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': opt.iterations = parse_long(optarg, "--iterations", 1, 10000000, usage); break;
        case 'g': opt.stagger_ms = parse_long(optarg, "--stagger-ms", 0, 10000, usage); break;
        case 'r': opt.runs = (int)parse_long(optarg, "--runs", 1, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return opt;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct options opt = parse_options(argc, argv);
    cleanup_install(); /* Ctrl-C: kill the workers, unlink the object */
    printf("init_race: %d workers x %ld locked increments, stagger %ld ms, %d run(s)\n",
           opt.workers, opt.iterations, opt.stagger_ms, opt.runs);
    int broken_fixed = 0, failed = 0;
    for (int r = 1; r <= opt.runs; r++)
        for (enum mode m = NONE; m <= EXCL; m++)
            if (opt.modes & 1 << m) {
                int result = run_once(m, &opt, r);
                failed += result < 0;
                broken_fixed += m == EXCL && result > 0;
            }
    /* A broken "none" run is the demonstration; a broken "excl" run is a real failure. */
    return failed || broken_fixed ? EXIT_FAILURE : EXIT_SUCCESS;
}
