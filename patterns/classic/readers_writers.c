#define _GNU_SOURCE
/* readers_writers.c - many readers or one writer at a time, across processes, in two flavours:
 * reader preference and writer preference, with each side's waiting time measured.
 *
 * Usage: readers_writers [--policy readers|writers|both|none] [--readers R] [--writers W]
 *                        [--ops N] [--hold-us T] [--think-us S]
 *   --policy P    readers: readers never wait for a waiting writer (writers may starve);
 *                 writers: a waiting writer stops new readers (readers wait longer);
 *                 both: run one, then the other (default);
 *                 none: no lock at all, the broken baseline that shows what the lock prevents
 *   --readers R   reader processes (default 4, 1..32)
 *   --writers W   writer processes (default 2, 1..32)
 *   --ops N       reads or writes per process (default 40)
 *   --hold-us T   microseconds inside the critical section per operation (default 1000)
 *   --think-us S  microseconds between two operations of one process (default 200)
 *   -h, --help    this text
 *
 * What to observe:
 *   - "violations 0": never a writer together with a reader, never two writers.  Every
 *     process checks this from inside the critical section with two shared atomic counters,
 *     and readers also check that they never see a half-written record.
 *   - The waiting times (they vary from run to run; compare orders of magnitude): with
 *     reader preference, readers that overlap keep the room occupied and a writer's longest
 *     wait grows towards the readers' whole run; with writer preference, writers get in after
 *     about one reader's hold and the readers wait instead.
 *   - --policy none: violations become many, and readers see torn records.
 *
 * Python counterpart: none built in; multiprocessing gives Lock, Condition and Value, from
 *   which this program's lock is built the same way (one Lock, two Conditions, three counts).
 *
 * See also: producer_consumer.c, condition_variable.c, pthread_rwlock_rdlock(3p) (whose
 *   PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP attribute chooses a policy),
 *   lessons/07-classic-problems.md.
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
    "Usage: readers_writers [--policy readers|writers|both|none] [--readers R] [--writers W]\n"
    "                       [--ops N] [--hold-us T] [--think-us S]\n"
    "  --policy P    readers: readers never wait for a waiting writer (writers may starve);\n"
    "                writers: a waiting writer stops new readers (readers wait longer);\n"
    "                both: run one, then the other (default);\n"
    "                none: no lock at all, the broken baseline that shows what the lock prevents\n"
    "  --readers R   reader processes (default 4, 1..32)\n"
    "  --writers W   writer processes (default 2, 1..32)\n"
    "  --ops N       reads or writes per process (default 40)\n"
    "  --hold-us T   microseconds inside the critical section per operation (default 1000)\n"
    "  --think-us S  microseconds between two operations of one process (default 200)\n"
    "  -h, --help    this text\n";

enum { MAX_PROCESSES = 32 };
/* A record long enough that a reader overlapping a writer can catch it half-written. */
enum { RECORD_WORDS = 64 };
/* A wait longer than this is reported and ends the run: with the default sizes it can only
 * be a lost wakeup or a dead partner; with huge --ops it may be starvation itself. */
enum { WATCHDOG_MS = 30000 };

enum policy { PREFER_READERS, PREFER_WRITERS, NO_LOCK };
static const char *const policy_names[] = {"reader preference", "writer preference",
                                           "no lock (broken)"};

/* The lock: one mutex guarding three counts, and a condition for each side to wait on. */
struct rw_lock {
    pthread_mutex_t mutex;
    pthread_cond_t readers_may_enter;
    pthread_cond_t writer_may_enter;
    int active_readers, active_writers, waiting_writers;
    enum policy policy;
};

/* Waiting times of one side: count, total and maximum in nanoseconds. */
struct wait_stats {
    atomic_long count;
    atomic_llong total_ns, max_ns;
};

/* Everything shared.  The two "inside" counters are the invariant checkers: they are not part
 * of the lock, only witnesses of who is in the critical section. */
struct shared {
    struct rw_lock lock;
    atomic_int readers_inside, writers_inside;
    atomic_long violations, torn_reads;
    struct wait_stats reader_waits, writer_waits;
    long record[RECORD_WORDS]; /* the protected data: a writer sets every word to one value */
};
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
               "atomics shared between processes must be lock-free");

/* Process-shared mutex and conditions, the conditions timed on CLOCK_MONOTONIC. */
static void rw_init(struct rw_lock *rw, enum policy policy)
{
    init_shared_mutex(&rw->mutex);
    init_shared_cond(&rw->readers_may_enter);
    init_shared_cond(&rw->writer_may_enter);
    rw->active_readers = rw->active_writers = rw->waiting_writers = 0;
    rw->policy = policy;
}

static void rw_destroy(struct rw_lock *rw)
{
    check_error_number(pthread_cond_destroy(&rw->readers_may_enter), "pthread_cond_destroy");
    check_error_number(pthread_cond_destroy(&rw->writer_may_enter), "pthread_cond_destroy");
    check_error_number(pthread_mutex_destroy(&rw->mutex), "pthread_mutex_destroy");
}

static void lock_mutex(struct rw_lock *rw)
{
    check_error_number(pthread_mutex_lock(&rw->mutex), "pthread_mutex_lock");
}

/* One timed wait (mutex held); the deadline is the watchdog.  The caller loops. */
static void wait_on(pthread_cond_t *cond, struct rw_lock *rw, const struct timespec *deadline,
                    const char *who)
{
    int err = pthread_cond_timedwait(cond, &rw->mutex, deadline);
    if (err == ETIMEDOUT) {
        say("%s waited %d ms: readers %d, writers %d, waiting writers %d\n", who, WATCHDOG_MS,
            rw->active_readers, rw->active_writers, rw->waiting_writers);
        die_with_code(ETIMEDOUT, "watchdog: starved, or a wakeup was lost, or a partner died");
    }
    check_error_number(err, "pthread_cond_timedwait");
}

static struct timespec watchdog_deadline(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die("clock_gettime");
    ts.tv_sec += WATCHDOG_MS / 1000;
    return ts;
}

/* A reader may enter when no writer is inside, and, under writer preference, when no writer
 * is waiting either: that one extra condition is the whole difference between the policies. */
static void read_lock(struct rw_lock *rw)
{
    if (rw->policy == NO_LOCK)
        return;
    struct timespec deadline = watchdog_deadline();
    lock_mutex(rw);
    while (rw->active_writers > 0 || (rw->policy == PREFER_WRITERS && rw->waiting_writers > 0))
        wait_on(&rw->readers_may_enter, rw, &deadline, "reader");
    rw->active_readers++;
    check_error_number(pthread_mutex_unlock(&rw->mutex), "pthread_mutex_unlock");
}

static void read_unlock(struct rw_lock *rw)
{
    if (rw->policy == NO_LOCK)
        return;
    lock_mutex(rw);
    /* Readers never wait for readers, so only a writer can be waiting for this moment. */
    if (--rw->active_readers == 0)
        check_error_number(pthread_cond_signal(&rw->writer_may_enter),
                           "pthread_cond_signal"); /* last out */
    check_error_number(pthread_mutex_unlock(&rw->mutex), "pthread_mutex_unlock");
}

/* A writer announces itself (waiting_writers) and waits for an empty room. */
static void write_lock(struct rw_lock *rw)
{
    if (rw->policy == NO_LOCK)
        return;
    struct timespec deadline = watchdog_deadline();
    lock_mutex(rw);
    rw->waiting_writers++;
    while (rw->active_writers > 0 || rw->active_readers > 0)
        wait_on(&rw->writer_may_enter, rw, &deadline, "writer");
    rw->waiting_writers--;
    rw->active_writers = 1;
    check_error_number(pthread_mutex_unlock(&rw->mutex), "pthread_mutex_unlock");
}

/* Leaving, a writer hands over: under writer preference to the next writer if one waits;
 * otherwise everyone is woken and the conditions above decide who goes first. */
static void write_unlock(struct rw_lock *rw)
{
    if (rw->policy == NO_LOCK)
        return;
    lock_mutex(rw);
    rw->active_writers = 0;
    if (rw->policy == PREFER_WRITERS && rw->waiting_writers > 0) {
        check_error_number(pthread_cond_signal(&rw->writer_may_enter), "pthread_cond_signal");
    } else {
        check_error_number(pthread_cond_broadcast(&rw->readers_may_enter),
                           "pthread_cond_broadcast");
        check_error_number(pthread_cond_signal(&rw->writer_may_enter), "pthread_cond_signal");
    }
    check_error_number(pthread_mutex_unlock(&rw->mutex), "pthread_mutex_unlock");
}

/* Add one waiting time to a side's statistics; the maximum is raised by compare-and-swap. */
static void record_wait(struct wait_stats *stats, long long waited_ns)
{
    atomic_fetch_add(&stats->count, 1);
    atomic_fetch_add(&stats->total_ns, waited_ns);
    long long seen = atomic_load(&stats->max_ns);
    while (waited_ns > seen && !atomic_compare_exchange_weak(&stats->max_ns, &seen, waited_ns))
        continue;
}

/* A reader: inside, no writer may be present, and the record must be all one value. */
static void reader(struct shared *shm, int me, long ops, long hold_us, long think_us)
{
    (void)me;
    for (long i = 0; i < ops; i++) {
        int64_t asked = monotonic_ns(); /* a wait runs from asking to getting in */
        read_lock(&shm->lock);
        record_wait(&shm->reader_waits, monotonic_ns() - asked);
        /* Announce, then look: of a reader and a writer entering together, at least one sees
         * the other, because both atomics are sequentially consistent. */
        atomic_fetch_add(&shm->readers_inside, 1);
        if (atomic_load(&shm->writers_inside) != 0) /* a writer in here with me */
            atomic_fetch_add(&shm->violations, 1);
        long first = shm->record[0];
        sleep_ns(hold_us * 500); /* half the hold before reading on: a writer may slip in */
        for (int w = 1; w < RECORD_WORDS; w++)
            if (shm->record[w] != first) {
                atomic_fetch_add(&shm->torn_reads, 1);
                break;
            }
        sleep_ns(hold_us * 500);
        atomic_fetch_sub(&shm->readers_inside, 1);
        read_unlock(&shm->lock);
        sleep_ns(think_us * 1000);
    }
}

/* A writer: inside, it must be alone; it writes its stamp into every word, slowly. */
static void writer(struct shared *shm, int me, long ops, long hold_us, long think_us)
{
    for (long i = 0; i < ops; i++) {
        int64_t asked = monotonic_ns();
        write_lock(&shm->lock);
        record_wait(&shm->writer_waits, monotonic_ns() - asked);
        int writers = atomic_fetch_add(&shm->writers_inside, 1) + 1;
        if (writers != 1 || atomic_load(&shm->readers_inside) != 0)
            atomic_fetch_add(&shm->violations, 1);
        long stamp = (long)me * 1000000 + i + 1; /* unique per write: a torn record mixes two */
        for (int w = 0; w < RECORD_WORDS; w++) {
            shm->record[w] = stamp;
            if (w == RECORD_WORDS / 2)
                sleep_ns(hold_us * 1000); /* half-written for a while: a torn record if read */
        }
        atomic_fetch_sub(&shm->writers_inside, 1);
        write_unlock(&shm->lock);
        sleep_ns(think_us * 1000);
    }
}

/* Parameters of one run, passed to every process. */
struct plan {
    int readers, writers;
    long ops, hold_us, think_us;
};

/* A side with no operations has an average of 0, not a division by zero. */
static double average_ms(const struct wait_stats *s)
{
    long count = atomic_load(&s->count);
    return count ? (double)atomic_load(&s->total_ns) / count / 1e6 : 0.0;
}

static double max_ms(const struct wait_stats *s)
{
    return (double)atomic_load(&s->max_ns) / 1e6;
}

/* One run under one policy, on freshly zeroed shared state.  Returns 1 when the invariant
 * held (for the lock policies) and every child succeeded. */
static int run_policy(struct shared *shm, enum policy policy, const struct plan *plan)
{
    memset(shm, 0, sizeof *shm); /* no counts or waits carried over from the previous policy */
    rw_init(&shm->lock, policy);
    pid_t pids[2 * MAX_PROCESSES];
    int n = 0;
    /* Readers first: they fill the room before any writer asks, which is the hard case for
     * writers under reader preference. */
    for (int i = 0; i < plan->readers + plan->writers; i++)
        if ((pids[n++] = start_child()) == 0) {
            if (i < plan->readers)
                reader(shm, i, plan->ops, plan->hold_us, plan->think_us);
            else
                writer(shm, i - plan->readers, plan->ops, plan->hold_us, plan->think_us);
            leave_child(EXIT_SUCCESS);
        }
    /* In the order they end: one that dies inside the lock leaves the others in futex waits
     * for ever, so the first failure stops the rest (and the lock is not destroyed). */
    int failed = reap_group(pids, n, "reader or writer");
    if (failed) {
        note("%d of %d processes did not finish: the lock is left as it is", failed, n);
        return 0;
    }
    long violations = atomic_load(&shm->violations), torn = atomic_load(&shm->torn_reads);
    printf("%-18s writers wait avg %7.2f ms, max %7.2f ms | readers wait avg %7.2f ms, "
           "max %7.2f ms | violations %ld, torn reads %ld\n",
           policy_names[policy], average_ms(&shm->writer_waits), max_ms(&shm->writer_waits),
           average_ms(&shm->reader_waits), max_ms(&shm->reader_waits), violations, torn);
    rw_destroy(&shm->lock);
    if (policy == NO_LOCK) /* the broken baseline "succeeds" by showing its violations */
        return failed == 0;
    return failed == 0 && violations == 0 && torn == 0;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    const char *policy = "both";
    struct plan plan = {4, 2, 40, 1000, 200};
    static const struct option options[] = {
        {"policy", required_argument, NULL, 'p'},  {"readers", required_argument, NULL, 'r'},
        {"writers", required_argument, NULL, 'w'}, {"ops", required_argument, NULL, 'n'},
        {"hold-us", required_argument, NULL, 't'}, {"think-us", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":p:r:w:n:t:s:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': policy = optarg; break;
        case 'r':
            plan.readers = (int)parse_long(optarg, "--readers", 1, MAX_PROCESSES, usage);
            break;
        case 'w':
            plan.writers = (int)parse_long(optarg, "--writers", 1, MAX_PROCESSES, usage);
            break;
        case 'n': plan.ops = parse_long(optarg, "--ops", 1, 1000000, usage); break;
        case 't': plan.hold_us = parse_long(optarg, "--hold-us", 0, 1000000, usage); break;
        case 's': plan.think_us = parse_long(optarg, "--think-us", 0, 1000000, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int both = strcmp(policy, "both") == 0;
    int prefer_readers = both || strcmp(policy, "readers") == 0;
    int prefer_writers = both || strcmp(policy, "writers") == 0;
    int none = strcmp(policy, "none") == 0;
    if (!prefer_readers && !prefer_writers && !none)
        usage_error(usage, "--policy: expected readers, writers, both or none, got \"%s\"", policy);

    struct shared *shm = map_shared(sizeof *shm);
    printf("readers_writers: policy %s, %d readers, %d writers, %ld ops each, hold %ld us, "
           "think %ld us\n",
           policy, plan.readers, plan.writers, plan.ops, plan.hold_us, plan.think_us);
    int ok = 1;
    if (prefer_readers)
        ok &= run_policy(shm, PREFER_READERS, &plan);
    if (prefer_writers && ok) /* after a failure, stop: the run already said why */
        ok &= run_policy(shm, PREFER_WRITERS, &plan);
    if (none)
        ok &= run_policy(shm, NO_LOCK, &plan);
    unmap_shared(shm, sizeof *shm);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
