#define _GNU_SOURCE
/* grade.c - the tests of lab 5 (a minimal process pool), run by `make grade LAB=pool`.
 *
 * Every test drives the student's mini_pool.c through mini_pool.h and checks behaviour only:
 * which results come back, how often, with what status, and what is left behind (processes,
 * zombies, file descriptors).  No test measures speed.  Where a wrong design would wait for
 * ever, the test waits with a generous limit (mini_pool_next's timeout, and the test's own
 * time limit behind it) and says what it was waiting for.
 *
 * The tasks the tests submit: compute (a checkable value, a few hundred microseconds at most),
 * stuck (never returns), self_kill (raise(SIGKILL): the worker dies in the task), gated (waits
 * for a byte on a pipe the test holds, so the test knows each worker is busy).
 */
#include "grader.h"
#include "mini_pool.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the tasks ------------------------------------------------------------------------------ */

/* A value the grader can check, after a short sleep of 0 to 0.9 ms that depends on arg, so
 * that tasks finish out of submission order. */
static long expected_value(long arg)
{
    unsigned long x = (unsigned long)arg * 0x9e3779b97f4a7c15UL;
    return (long)((x ^ (x >> 29)) & 0x7fffffffffffL);
}

static long compute(long arg)
{
    struct timespec pause_for = {0, (long)(((unsigned long)arg % 4) * 300000)};
    nanosleep(&pause_for, NULL);
    return expected_value(arg);
}

static long stuck(long arg)
{
    for (;;)
        pause();
    return arg; /* never reached */
}

static long self_kill(long arg)
{
    raise(SIGKILL);
    return arg;
}

/* The read end of the gate pipe: inherited by every worker (the pipe is made before the pool).
 * A gated task waits for one byte, so it holds its worker until the test opens the gate. */
static int gate_fd = -1;

static long gated(long arg)
{
    char byte;
    while (read(gate_fd, &byte, 1) == -1 && errno == EINTR)
        ;
    return expected_value(arg);
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* A worker count from 1 (or low) to 2 x the usable CPUs + 1. */
static int random_workers(int low)
{
    long high = 2L * grade_usable_cpus() + 1;
    return (int)grade_random(low, high < MINI_POOL_MAX_WORKERS ? high : MINI_POOL_MAX_WORKERS);
}

static struct mini_pool *create_or_fail(int workers)
{
    struct mini_pool *pool = mini_pool_create(workers);
    if (!pool)
        grade_fail("mini_pool_create(%d) returned NULL: %s", workers, strerror(errno));
    return pool;
}

static long submit_or_fail(struct mini_pool *pool, mini_task_fn fn, long arg, long expected_id)
{
    long id = mini_pool_submit(pool, fn, arg);
    if (id == -1)
        grade_fail("mini_pool_submit returned -1 (%s) for task number %ld", strerror(errno),
                   expected_id);
    grade_expect_long("mini_pool_submit's ids count 0, 1, 2 ... in the order of submission; "
                      "the id of this task",
                      expected_id, id);
    return id;
}

/* What the tests learn about each task: how often it was reported, and how. */
struct tally {
    long count;
    int *reported;
    struct mini_result *results;
};

static void tally_init(struct tally *t, long count)
{
    t->count = count;
    t->reported = calloc((size_t)count, sizeof *t->reported);
    t->results = calloc((size_t)count, sizeof *t->results);
    if (!t->reported || !t->results)
        grade_fail("the grader ran out of memory");
}

static void tally_free(struct tally *t)
{
    free(t->reported);
    free(t->results);
}

/* Collect `wanted` results within `seconds` (scaled as the tests' limits are), each id exactly
 * once.  `why` says, on a timeout, what could have held the missing results back. */
static void collect(struct mini_pool *pool, struct tally *t, long wanted, double seconds,
                    const char *why)
{
    seconds *= grade_timeout_scale();
    double deadline = grade_now() + seconds;
    for (long got = 0; got < wanted; got++) {
        int left_ms = (int)((deadline - grade_now()) * 1000);
        struct mini_result r;
        memset(&r, 0, sizeof r);
        int rc = mini_pool_next(pool, &r, left_ms > 0 ? left_ms : 0);
        if (rc == -1 && errno == ETIMEDOUT)
            grade_fail("waited %.0f s for results: only %ld of the %ld expected came back. %s",
                       seconds, got, wanted, why);
        if (rc == -1)
            grade_fail("mini_pool_next returned -1: %s (after %ld of %ld results)", strerror(errno),
                       got, wanted);
        if (rc == 0)
            grade_fail("mini_pool_next returned 0 (nothing left to report) after %ld of the %ld "
                       "results: some tasks were never reported",
                       got, wanted);
        if (rc != 1)
            grade_fail("mini_pool_next returned %d: it returns 1, 0 or -1", rc);
        if (r.id < 0 || r.id >= t->count)
            grade_fail("mini_pool_next reported task id %ld, which was never submitted "
                       "(ids are 0 to %ld)",
                       r.id, t->count - 1);
        if (t->reported[r.id])
            grade_fail("task %ld was reported twice (every task must be reported exactly once)",
                       r.id);
        t->reported[r.id] = 1;
        t->results[r.id] = r;
    }
}

/* A normal task came back with the right value. */
static void expect_computed(const struct tally *t, long id, long arg)
{
    const struct mini_result *r = &t->results[id];
    if (!r->ok)
        grade_fail("task %ld (compute(%ld)) was reported as failed (worker died, wait status "
                   "%#x), but its worker did not die",
                   id, arg, r->status);
    char what[96];
    snprintf(what, sizeof what, "the value of task %ld, compute(%ld)", id, arg);
    grade_expect_long(what, expected_value(arg), r->value);
}

/* The test process's children, by state: live ones and zombies (a dead child nobody reaped). */
static void count_children(int *live, int *zombies)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *list = fopen(path, "r");
    if (!list)
        grade_fail("the grader could not read %s: %s", path, strerror(errno));
    *live = *zombies = 0;
    int pid;
    while (fscanf(list, "%d", &pid) == 1) {
        char stat_path[64], line[512];
        snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", pid);
        FILE *stat = fopen(stat_path, "r");
        if (!stat)
            continue; /* gone between the two reads: reaped */
        char *close_paren = fgets(line, sizeof line, stat) ? strrchr(line, ')') : NULL;
        fclose(stat);
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
            (*zombies)++;
        else
            (*live)++;
    }
    fclose(list);
}

/* Wait until a worker we killed is dead (a zombie, since only its parent can reap it), so
 * that its death has surely happened before the test goes on. */
static void wait_until_dead(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int tries = 0; tries < 1000; tries++) {
        FILE *stat = fopen(path, "r");
        if (!stat)
            return; /* already reaped */
        char *close_paren = fgets(line, sizeof line, stat) ? strrchr(line, ')') : NULL;
        fclose(stat);
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
            return;
        struct timespec tick = {0, 5000000};
        nanosleep(&tick, NULL);
    }
    grade_fail("worker %d was sent SIGKILL but was still alive 5 s later", (int)pid);
}

/* The pool has `workers` live workers, each a live child of this process, and no zombie is
 * left among this process's children. */
static void expect_steady(struct mini_pool *pool, int workers, const char *when)
{
    pid_t pids[MINI_POOL_MAX_WORKERS];
    int n = mini_pool_worker_pids(pool, pids, MINI_POOL_MAX_WORKERS);
    if (n != workers)
        grade_fail("%s: mini_pool_worker_pids listed %d workers; the pool was made with %d "
                   "(a dead worker must be replaced)",
                   when, n, workers);
    for (int i = 0; i < n; i++)
        if (kill(pids[i], 0) == -1)
            grade_fail("%s: mini_pool_worker_pids listed pid %d, which is not running (%s)", when,
                       (int)pids[i], strerror(errno));
    int live, zombies;
    count_children(&live, &zombies);
    if (zombies > 0)
        grade_fail("%s: %d zombie(s) among the pool's processes: a worker died and was never "
                   "reaped (waitpid)",
                   when, zombies);
    if (live != workers)
        grade_fail("%s: this process has %d live child processes; the pool should have exactly "
                   "its %d workers",
                   when, live, workers);
}

/* ---- the tests ------------------------------------------------------------------------------- */

/* Results: random arguments, random W, submitted in two waves with some results collected in
 * between (so tasks are handed out both by submit and by next). */
static void test_results_correct(void)
{
    int workers = random_workers(1);
    long count = grade_random(20, 300), first_wave = grade_random(1, count);
    grade_note("mini_pool_create(%d); %ld tasks compute(random arg), submitted as %ld, then "
               "some results collected, then the rest",
               workers, count, first_wave);
    long *args = malloc((size_t)count * sizeof *args);
    if (!args)
        grade_fail("the grader ran out of memory");
    for (long i = 0; i < count; i++)
        args[i] = grade_random(-1000000, 1000000);
    struct tally t;
    tally_init(&t, count);
    struct mini_pool *pool = create_or_fail(workers);
    for (long i = 0; i < first_wave; i++)
        submit_or_fail(pool, compute, args[i], i);
    long early = grade_random(0, first_wave);
    collect(pool, &t, early, 30, "Every task here returns within a millisecond.");
    for (long i = first_wave; i < count; i++)
        submit_or_fail(pool, compute, args[i], i);
    collect(pool, &t, count - early, 30, "Every task here returns within a millisecond.");
    for (long i = 0; i < count; i++)
        expect_computed(&t, i, args[i]);
    struct mini_result r;
    int rc = mini_pool_next(pool, &r, 5000);
    grade_expect_true(rc == 0, "mini_pool_next once every task was reported: must return 0 at once",
                      "returned %d%s%s", rc, rc == -1 ? ", errno " : "",
                      rc == -1 ? strerror(errno) : "");
    mini_pool_destroy(pool);
    tally_free(&t);
    free(args);
}

/* The parallelism probe: a task that never returns, submitted first, must not hold back any
 * other.  A pool that deals tasks to workers in turn (their pipes as queues) leaves about
 * 1/W of them behind the stuck one; a pool that waits for results in submission order waits
 * for the stuck one first.  Both wait for ever, and this test says so after 15 s. */
/* ---- waiting: asleep, and through signals -----------------------------------------------------
 */

static void on_signal(int sig)
{
    (void)sig;
}

/* The observer: it judges the test process (its parent) while the test waits inside
 * mini_pool_next, reports on the pipe, then interrupts the wait with signals, then opens the
 * gate so that the gated task can finish. */
struct observer_job {
    pid_t test;
    int gate_write;
};

struct observation {
    int blocked;
    char state;
    long runs;
};

static int observe(void *arg, int out)
{
    const struct observer_job *job = arg;
    grade_pause_ms(300);
    struct observation seen;
    memset(&seen, 0, sizeof seen); /* the padding too: the whole struct crosses the pipe */
    seen.blocked = grade_process_blocked(job->test, 300, &seen.state, &seen.runs);
    if (write(out, &seen, sizeof seen) != (ssize_t)sizeof seen)
        return 1;
    for (int i = 0; i < 3; i++) {
        kill(job->test, SIGUSR1);
        grade_pause_ms(50);
    }
    grade_pause_ms(100);
    return write(job->gate_write, "x", 1) == 1 ? 0 : 1;
}

/* A gated task, then one mini_pool_next while an observer looks at the test process and then
 * sends it signals: the wait must sleep (poll with a timeout, not poll(..., 0) in a loop) and
 * go on waiting after each signal (poll again after EINTR), as the handout requires. */
static void expect_sleeping_wait_through_signals(struct mini_pool *pool, long id, int gate_write)
{
    grade_note("then a gated task (id %ld); while mini_pool_next waits for it, another process "
               "checks that the test process sleeps, then sends it SIGUSR1 three times (a "
               "handler without SA_RESTART), then opens the gate",
               id);
    struct sigaction action = {0};
    action.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR1, &action, NULL) == -1)
        grade_fail("the grader could not set a handler: %s", strerror(errno));
    submit_or_fail(pool, gated, id, id);
    struct observer_job job = {getpid(), gate_write};
    int fd;
    pid_t observer = grade_spawn_piped(observe, &job, &fd);
    struct mini_result r;
    memset(&r, 0, sizeof r);
    int rc = mini_pool_next(pool, &r, 10000 * grade_timeout_scale());
    int saved = errno, status;
    struct observation seen = {1, 'S', 0};
    ssize_t n = read(fd, &seen, sizeof seen);
    grade_wait_children(&observer, &status, 1, 10);
    close(fd);
    if (n == (ssize_t)sizeof seen && seen.blocked == 0)
        grade_fail("mini_pool_next did not sleep while it waited for a result: the test process "
                   "was %s. Wait in poll() with a timeout (the time left), not poll(..., 0) or "
                   "waitpid(..., WNOHANG) in a loop",
                   seen.state == 'S' ? "asleep but woke again and again" : "running (state R)");
    if (rc == -1 && saved == EINTR)
        grade_fail("mini_pool_next returned -1 with EINTR (Interrupted system call) when a "
                   "signal arrived while it waited: call poll() again after EINTR, with the "
                   "time that is left");
    grade_expect_long("mini_pool_next for the gated task, through three signals", 1, rc);
    grade_expect_long("the id it reported", id, r.id);
}

static void test_stuck_task_does_not_block(void)
{
    int workers = random_workers(2);
    long others = 4L * workers + grade_random(3, 12);
    grade_note("mini_pool_create(%d); task 0 is stuck(): it never returns; then %ld tasks "
               "compute(i), all of which must come back "
               "within 10 s",
               workers, others);
    /* Static: the pool is not destroyed here (see the end), and a static pointer keeps
     * valgrind from calling it lost. */
    static struct mini_pool *pool;
    int gate[2];
    if (pipe(gate) == -1)
        grade_fail("the grader could not make a pipe: %s", strerror(errno));
    gate_fd = gate[0]; /* before the pool, so that every worker inherits it */
    pool = create_or_fail(workers);
    struct tally t;
    tally_init(&t, others + 2);
    submit_or_fail(pool, stuck, 0, 0);
    for (long i = 1; i <= others; i++)
        submit_or_fail(pool, compute, i, i);
    collect(pool, &t, others, 10,
            "One worker is stuck in task 0 for ever, but the others are free: were tasks queued "
            "behind the stuck one (given to a worker before it was idle, e.g. in turn), or "
            "are results awaited in submission order?");
    if (t.reported[0])
        grade_fail("task 0 (stuck, it never returns) was reported, as %s",
                   t.results[0].ok ? "finished" : "failed");
    for (long i = 1; i <= others; i++)
        expect_computed(&t, i, i);
    expect_sleeping_wait_through_signals(pool, others + 1, gate[1]);
    tally_free(&t);
    /* No destroy here: destroying a pool with a stuck worker is a test of its own; the
     * grader kills whatever this test leaves. */
}

/* ---- what the pool must leave alone -------------------------------------------------------- */

static int exit_at_once(void *arg)
{
    (void)arg;
    return 42;
}

/* The bystander must still be the test's to reap: the pool waits for its own workers only. */
static void expect_bystander_unreaped(pid_t bystander)
{
    int status;
    pid_t got;
    while ((got = waitpid(bystander, &status, 0)) == -1 && errno == EINTR)
        continue;
    if (got == -1 && errno == ECHILD)
        grade_fail(
            "a child of the test's own, not a worker, was reaped by the pool (while it "
            "replaced a dead worker, or in destroy): the pool must wait for its workers' own pids "
            "(waitpid(pid, ...)), never waitpid(-1) or wait(), which take any child");
    grade_expect_true(got == bystander && WIFEXITED(status) && WEXITSTATUS(status) == 42,
                      "the test's own child ends with status 42", "waitpid: %d, status %#x",
                      (int)got, status);
}

/* The pipes and sockets the test process held before the pool was made: every worker
 * inherits them (the grader's report channel among them), and they are not the pool's. */
enum { MOST_HELD = 64 };
static unsigned long held_before[MOST_HELD];
static int held_before_count;

/* The inode of a pipe or socket descriptor from its /proc/self/fd link, or 0 for another kind. */
static unsigned long channel_inode(const char *link)
{
    unsigned long inode = 0;
    if (sscanf(link, "pipe:[%lu]", &inode) == 1 || sscanf(link, "socket:[%lu]", &inode) == 1)
        return inode;
    return 0;
}

/* The pipe and socket inodes this process holds, into set (at most MOST_HELD); how many. */
static int channels_held(unsigned long *set)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    int count = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL && count < MOST_HELD;) {
        char path[32 + sizeof entry->d_name], link[64] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%s", entry->d_name);
        unsigned long inode = readlink(path, link, sizeof link - 1) > 0 ? channel_inode(link) : 0;
        if (inode)
            set[count++] = inode;
    }
    closedir(dir);
    return count;
}

/* A task: how many pipes and sockets its worker holds beyond those the test held before the
 * pool (a worker may read its own /proc/self/fd, whoever may read its /proc/PID/fd). */
static long count_pool_channels(long arg)
{
    (void)arg;
    unsigned long set[MOST_HELD];
    int count = channels_held(set), own = 0;
    for (int i = 0; i < count; i++) {
        int inherited = 0;
        for (int k = 0; k < held_before_count; k++)
            inherited |= set[i] == held_before[k];
        own += !inherited;
    }
    /* Then hold this worker until the test opens the gate: so the W tasks are run by W
     * different workers, every one of them counted. */
    char byte;
    while (read(gate_fd, &byte, 1) == -1 && errno == EINTR)
        continue;
    return count < 0 ? -1 : own;
}

/* Every worker holds the same number of pool pipes (its own): a worker forked later that holds
 * more kept the ends of the workers before it, which it inherited from the parent.  Checked by
 * tasks that count, in whichever worker runs them. */
static void expect_own_pipes_only(struct mini_pool *pool, int workers, struct tally *t, long base,
                                  int gate_write)
{
    long tasks = workers;
    for (long i = 0; i < tasks; i++)
        submit_or_fail(pool, count_pool_channels, 0, base + i);
    for (long i = 0; i < tasks; i++) /* one byte per task: each worker holds one till now */
        if (write(gate_write, "x", 1) != 1)
            grade_fail("the grader could not open the gate: %s", strerror(errno));
    collect(pool, t, tasks, 15, "Each of these tasks ends once the gate is open.");
    long low = -1, high = -1;
    for (long i = 0; i < tasks; i++) {
        long held = t->results[base + i].value;
        low = low == -1 || held < low ? held : low;
        high = held > high ? held : high;
    }
    if (low != high)
        grade_fail("the workers hold different numbers of the pool's pipe ends (from %ld to %ld, "
                   "counted by tasks in /proc/self/fd): a worker forked later kept the other "
                   "workers' pipe ends it inherited at fork. Each worker must close the other "
                   "workers' pipe ends, or a dead worker's pipe never reports end of file",
                   low, high);
}

/* A task that kills its own worker: reported failed (killed by SIGKILL), the worker replaced,
 * every other task done, and the pool still works afterwards. */
static void test_task_kills_its_worker(void)
{
    int workers = random_workers(1);
    long others = 2L * workers + grade_random(1, 10);
    grade_note("mini_pool_create(%d); task 0 is self_kill() (raise(SIGKILL) in the worker), "
               "then %ld tasks compute(i); then %d more",
               workers, others, 2 * workers);
    struct mini_pool *pool = create_or_fail(workers);
    struct tally t;
    tally_init(&t, others + 2 + 2L * workers);
    submit_or_fail(pool, self_kill, 0, 0);
    for (long i = 1; i <= others; i++)
        submit_or_fail(pool, compute, i, i);
    collect(pool, &t, others + 1, 20,
            "Task 0 killed its worker: was the dead worker noticed (end of file on its pipe), "
            "its task reported, and a new worker started for the tasks still waiting?");
    const struct mini_result *dead = &t.results[0];
    if (dead->ok)
        grade_fail("task 0 killed its worker, but was reported as finished with value %ld",
                   dead->value);
    grade_expect_true(WIFSIGNALED(dead->status) && WTERMSIG(dead->status) == SIGKILL,
                      "task 0's status must be the dead worker's wait status: killed by SIGKILL",
                      "status %#x", dead->status);
    for (long i = 1; i <= others; i++)
        expect_computed(&t, i, i);
    expect_steady(pool, workers, "after the worker's death");
    /* A child of the test's, not the pool's, ends while the pool replaces a second dead
     * worker: a pool that reaps with waitpid(-1) (or wait) takes it. */
    pid_t bystander = grade_spawn(exit_at_once, NULL);
    grade_pause_ms(100); /* it is a zombie now, the first any waitpid(-1) would find */
    long base = others + 1;
    submit_or_fail(pool, self_kill, 0, base);
    for (long i = 1; i <= 2L * workers; i++)
        submit_or_fail(pool, compute, base + i, base + i);
    collect(pool, &t, 2L * workers + 1, 20, "The pool should be back to full strength.");
    for (long i = 1; i <= 2L * workers; i++)
        expect_computed(&t, base + i, base + i);
    mini_pool_destroy(pool); /* which reaps its workers, and only them */
    expect_bystander_unreaped(bystander);
    tally_free(&t);
}

/* A worker killed from outside in the middle of a task.  Every worker holds a gated task when
 * the test kills one, so exactly one task must be reported failed. */
static void test_worker_killed_from_outside(void)
{
    int gate[2];
    if (pipe(gate) == -1)
        grade_fail("the grader could not make a pipe: %s", strerror(errno));
    gate_fd = gate[0];
    int workers = random_workers(1);
    long count = 2L * workers + grade_random(1, 8);
    grade_note("mini_pool_create(%d); %ld tasks that each wait for a byte from a pipe; with "
               "every worker busy, kill -9 one worker, then let the tasks go",
               workers, count);
    struct mini_pool *pool = create_or_fail(workers);
    struct tally t;
    tally_init(&t, count);
    for (long i = 0; i < count; i++)
        submit_or_fail(pool, gated, i, i);
    pid_t pids[MINI_POOL_MAX_WORKERS];
    int n = mini_pool_worker_pids(pool, pids, MINI_POOL_MAX_WORKERS);
    grade_expect_long("mini_pool_worker_pids: live workers", workers, n);
    pid_t victim = pids[grade_random(0, n - 1)];
    grade_note("the worker killed: pid %d", (int)victim);
    if (kill(victim, SIGKILL) == -1)
        grade_fail("could not kill worker %d: %s", (int)victim, strerror(errno));
    wait_until_dead(victim);
    char bytes[4 * MINI_POOL_MAX_WORKERS];
    memset(bytes, 'g', sizeof bytes);
    if (write(gate[1], bytes, (size_t)count) != (ssize_t)count)
        grade_fail("the grader could not write to its pipe: %s", strerror(errno));
    collect(pool, &t, count, 20,
            "A worker was killed while it held a task: was its death noticed (end of file on "
            "its result pipe), its task reported, and a new worker started?");
    long failed = 0;
    for (long i = 0; i < count; i++) {
        if (t.results[i].ok) {
            char what[64];
            snprintf(what, sizeof what, "the value of task %ld", i);
            grade_expect_long(what, expected_value(i), t.results[i].value);
            continue;
        }
        failed++;
        grade_expect_true(WIFSIGNALED(t.results[i].status) &&
                              WTERMSIG(t.results[i].status) == SIGKILL,
                          "a failed task's status must be its worker's: killed by SIGKILL",
                          "task %ld: status %#x", i, t.results[i].status);
    }
    grade_expect_long("tasks reported failed (only the one the killed worker was running; "
                      "tasks it had not started must run on another worker)",
                      1, failed);
    expect_steady(pool, workers, "after the kill");
    mini_pool_destroy(pool);
    grade_expect_long("child processes left after mini_pool_destroy", 0, grade_count_children());
    tally_free(&t);
}

/* Destroy must not wait for a task that never ends: it kills.  (The stuck task comes last,
 * so that this test does not depend on the parallelism probe's rule.) */
static void test_destroy_with_stuck_worker(void)
{
    int workers = random_workers(1);
    long others = 2L * workers;
    grade_note("mini_pool_create(%d); %ld tasks compute(i), collected; then task %ld is "
               "stuck() for ever; then mini_pool_destroy",
               workers, others, others);
    struct mini_pool *pool = create_or_fail(workers);
    struct tally t;
    tally_init(&t, others + 1);
    for (long i = 0; i < others; i++)
        submit_or_fail(pool, compute, i, i);
    collect(pool, &t, others, 15, "Every task here returns within a millisecond.");
    for (long i = 0; i < others; i++)
        expect_computed(&t, i, i);
    submit_or_fail(pool, stuck, 0, others);
    struct mini_result r;
    int rc = mini_pool_next(pool, &r, 300);
    int err = errno;
    grade_expect_true(rc == -1 && err == ETIMEDOUT,
                      "mini_pool_next(..., 300 ms) with only the stuck task left: -1, ETIMEDOUT",
                      "returned %d%s%s", rc, rc == -1 ? ", errno " : "",
                      rc == -1 ? strerror(err) : "");
    double start = grade_now();
    mini_pool_destroy(pool);
    double took = grade_now() - start;
    grade_note("mini_pool_destroy took %.3f s", took);
    grade_expect_true(took < 5, "mini_pool_destroy must return promptly (it kills the workers)",
                      "it took %.1f s", took);
    int live, zombies;
    count_children(&live, &zombies);
    grade_expect_true(live == 0 && zombies == 0,
                      "after mini_pool_destroy, no worker is left: none running, none unreaped",
                      "%d running, %d zombie(s)", live, zombies);
    tally_free(&t);
}

/* Workers that die are reaped (no zombies) and replaced, whether they die in a task or while
 * idle; the pool's processes are exactly its W workers. */
static void test_no_zombies(void)
{
    int workers = random_workers(2);
    long batch = 3L * workers;
    grade_note("mini_pool_create(%d); self_kill() alone, then %ld tasks; kill -9 an idle "
               "worker, then %ld tasks; after each, look for zombies",
               workers, batch, batch);
    struct mini_pool *pool = create_or_fail(workers);
    struct tally t;
    tally_init(&t, 1 + 2 * batch);
    submit_or_fail(pool, self_kill, 0, 0);
    collect(pool, &t, 1, 15, "Task 0 killed its worker: it must be reported as failed.");
    grade_expect_true(!t.results[0].ok, "task 0 (self_kill) must be reported failed",
                      "reported ok, value %ld", t.results[0].value);
    for (long i = 1; i <= batch; i++)
        submit_or_fail(pool, compute, i, i);
    collect(pool, &t, batch, 15, "Every task here returns within a millisecond.");
    expect_steady(pool, workers, "after a worker died in a task and more tasks ran");

    pid_t pids[MINI_POOL_MAX_WORKERS];
    int n = mini_pool_worker_pids(pool, pids, MINI_POOL_MAX_WORKERS);
    pid_t victim = pids[grade_random(0, n - 1)];
    if (kill(victim, SIGKILL) == -1)
        grade_fail("could not kill worker %d: %s", (int)victim, strerror(errno));
    wait_until_dead(victim);
    for (long i = batch + 1; i <= 2 * batch; i++)
        submit_or_fail(pool, compute, i, i);
    collect(pool, &t, batch, 15,
            "An idle worker was killed: a task written to its pipe finds no reader (EPIPE) and "
            "must go to another worker.");
    for (long i = 1; i <= 2 * batch; i++)
        expect_computed(&t, i, i);
    expect_steady(pool, workers, "after an idle worker was killed and more tasks ran");
    n = mini_pool_worker_pids(pool, pids, MINI_POOL_MAX_WORKERS);
    for (int i = 0; i < n; i++)
        if (pids[i] == victim)
            grade_fail("mini_pool_worker_pids still lists worker %d, which was killed",
                       (int)victim);
    mini_pool_destroy(pool);
    tally_free(&t);
}

/* File descriptors: create, use (with one worker dying), destroy, several times: the process
 * must have as many open descriptors as before. */
static void test_no_fd_leaks(void)
{
    int gate[2];
    if (pipe(gate) == -1)
        grade_fail("the grader could not make a pipe: %s", strerror(errno));
    gate_fd = gate[0]; /* made first: counted in "before", inherited by every worker */
    int before = grade_count_open_fds();
    errno = 0;
    struct mini_pool *bad = mini_pool_create(0);
    if (bad)
        grade_fail("mini_pool_create(0) returned a pool: 0 workers is an error (EINVAL)");
    int cycles = (int)grade_random(3, 6);
    grade_note("%d cycles of mini_pool_create(W), a self_kill() task and 2W tasks, "
               "mini_pool_destroy; open descriptors counted in /proc/self/fd before and after",
               cycles);
    held_before_count = channels_held(held_before);
    /* First a pool of 2 or more, fresh: before any worker dies, a worker forked later that
     * kept its elders' pipe ends holds more of them than they do. */
    int probe_workers = random_workers(2);
    struct mini_pool *probe = create_or_fail(probe_workers);
    struct tally probe_tally;
    tally_init(&probe_tally, probe_workers);
    expect_own_pipes_only(probe, probe_workers, &probe_tally, 0, gate[1]);
    mini_pool_destroy(probe);
    tally_free(&probe_tally);
    for (int c = 0; c < cycles; c++) {
        int workers = random_workers(1);
        long count = 2L * workers;
        struct mini_pool *pool = create_or_fail(workers);
        struct tally t;
        tally_init(&t, count + 1);
        submit_or_fail(pool, self_kill, 0, 0);
        for (long i = 1; i <= count; i++)
            submit_or_fail(pool, compute, i, i);
        collect(pool, &t, count + 1, 15, "Every task here ends within a millisecond.");
        mini_pool_destroy(pool);
        tally_free(&t);
        int now = grade_count_open_fds();
        if (now != before)
            grade_fail("cycle %d (%d workers): %d descriptors open after mini_pool_destroy, %d "
                       "before the first mini_pool_create (pipe ends never closed: the parent's, "
                       "or a dead worker's)",
                       c + 1, workers, now, before);
    }
    grade_expect_long("child processes left after the last mini_pool_destroy", 0,
                      grade_count_children());
}

static const struct grade_test tests[] = {
    {"results_correct", "every task's result comes back once, with the right value", 25, 60, 0,
     test_results_correct},
    {"stuck_task_does_not_block", "a task that never returns does not hold back the others", 20, 40,
     0, test_stuck_task_does_not_block},
    {"task_kills_its_worker", "a task that kills its worker: reported failed, worker replaced", 15,
     60, 0, test_task_kills_its_worker},
    {"worker_killed_from_outside", "kill -9 of a busy worker: one task failed, the rest done", 15,
     60, 0, test_worker_killed_from_outside},
    {"destroy_with_stuck_worker", "destroy returns promptly and reaps a stuck worker", 10, 40, 0,
     test_destroy_with_stuck_worker},
    {"no_zombies", "dead workers are reaped and replaced; no zombies", 8, 60, 0, test_no_zombies},
    {"no_fd_leaks", "create/destroy cycles leave no file descriptor open", 7, 60, 0,
     test_no_fd_leaks},
};

const struct grade_lab grade_lab = {
    "pool", "Lab 5: a minimal process pool",
    "results may come back in any order (the grader matches them by id); ids from "
    "mini_pool_submit must count 0, 1, 2 ... in the order of submission",
    tests, sizeof tests / sizeof tests[0]};
