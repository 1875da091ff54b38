/* test_pool.c - the process pool library (lib/pool/pool.h) and its thread twin.
 *
 * The test process is the pool's parent: it submits, waits and asserts.  The workers are its
 * children (forked by the library) and never assert: a task reports through its return value
 * and its result bytes, which is exactly what is under test.  Every test ends with the pool
 * closed or terminated and checks that no worker is left (no zombie, no live pid).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pool/pool.h"
#include "pool/thread_pool.h"
#include "support/cleanup.h"
#include "support/cpus.h"

#define SECOND 1000000000LL

/* --- tasks (they run in the workers) ------------------------------------------------------ */

static long f_of(long x)
{
    return x * x + 7 * x + 1;
}

static int square_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    long x;
    if (arg_size != sizeof x)
        return EINVAL;
    memcpy(&x, arg, sizeof x);
    long y = f_of(x);
    memcpy(result, &y, sizeof y);
    *result_size = sizeof y;
    return 0;
}

/* A little work, so that a kill lands in the middle of a task as often as between tasks. */
static int busy_square_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    volatile long spin = 0;
    for (int i = 0; i < 20000; i++)
        spin += i;
    (void)spin;
    return square_task(arg, arg_size, result, result_size);
}

/* Fails for every multiple of 7 with a code that names the argument. */
static int picky_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    long x;
    memcpy(&x, arg, sizeof x);
    if (x % 7 == 0)
        return 1000 + (int)x;
    return square_task(arg, arg_size, result, result_size);
}

/* x < 0: block for ever (pause); else square. */
static int maybe_block_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    long x;
    memcpy(&x, arg, sizeof x);
    if (x < 0)
        for (;;)
            pause();
    return square_task(arg, arg_size, result, result_size);
}

/* x == 13: the worker crashes (abort(), as a failed assert would; not SIGSEGV, which the
 * sanitizers of `make sanitize` catch and turn into an exit status). */
static int crashing_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    long x;
    memcpy(&x, arg, sizeof x);
    if (x == 13)
        abort();
    return square_task(arg, arg_size, result, result_size);
}

/* Threads only (they share this flag): x < 0 waits until the test releases it. */
static atomic_int release_blocked;

static int wait_for_release_task(const void *arg, size_t arg_size, void *result,
                                 size_t *result_size)
{
    long x;
    memcpy(&x, arg, sizeof x);
    struct timespec ms = {0, 1000000};
    while (x < 0 && !atomic_load(&release_blocked))
        nanosleep(&ms, NULL);
    return square_task(arg, arg_size, result, result_size);
}

static int sleepy_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct timespec ts = {0, 300000000}; /* 0.3 s */
    nanosleep(&ts, NULL);
    return square_task(arg, arg_size, result, result_size);
}

static long initialized_value; /* set by the initializer in each worker */

static int set_value_initializer(void *arg)
{
    initialized_value = *(long *)arg;
    return 0;
}

static int failing_initializer(void *arg)
{
    (void)arg;
    return 1;
}

static int report_initialized_task(const void *arg, size_t arg_size, void *result,
                                   size_t *result_size)
{
    (void)arg, (void)arg_size;
    memcpy(result, &initialized_value, sizeof initialized_value);
    *result_size = sizeof initialized_value;
    return 0;
}

static int pid_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    (void)arg, (void)arg_size;
    pid_t pid = getpid();
    memcpy(result, &pid, sizeof pid);
    *result_size = sizeof pid;
    return 0;
}

/* --- helpers (test process only) ------------------------------------------------------------ */

static long *numbers(size_t count)
{
    long *a = malloc(count * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < count; i++)
        a[i] = (long)i - 5;
    return a;
}

static struct pool *new_pool(const struct pool_options *o)
{
    struct pool *p = NULL;
    int err = pool_create(&p, o);
    cr_assert_eq(err, 0, "pool_create: %s", strerror(err));
    return p;
}

/* After close/terminate: the workers are reaped, no pid left, nothing in /dev/shm. */
static void assert_nothing_left(const pid_t *pids, int n)
{
    cr_assert_eq(count_my_zombies(), 0, "zombies left");
    for (int i = 0; i < n; i++)
        cr_assert(kill(pids[i], 0) == -1 && errno == ESRCH, "worker %d still exists", pids[i]);
    char mine[32];
    snprintf(mine, sizeof mine, "-%ld-", (long)getpid());
    cr_assert_eq(count_dir_entries_containing("/dev/shm", mine), 0, "a name left in /dev/shm");
}

static void close_and_check(struct pool *p)
{
    pid_t pids[POOL_MAX_WORKERS];
    int n = pool_worker_pids(p, pids, POOL_MAX_WORKERS);
    cr_assert_eq(pool_close(p), 0);
    pool_destroy(p);
    assert_nothing_left(pids, n);
}

static void check_map(struct pool *p, size_t count, size_t chunk)
{
    long *in = numbers(count), *out = calloc(count + 1, sizeof *out);
    struct pool_outcome *oc = calloc(count + 1, sizeof *oc);
    cr_assert(out && oc);
    int err = pool_map(p, square_task, in, sizeof *in, count, out, sizeof *out, chunk, oc);
    cr_assert_eq(err, 0, "pool_map(count %zu, chunk %zu): %s", count, chunk, strerror(err));
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(out[i], f_of(in[i]), "task %zu: %ld, expected %ld", i, out[i], f_of(in[i]));
        cr_assert_eq(oc[i].index, i);
        cr_assert_eq(oc[i].status, POOL_TASK_OK);
        cr_assert_eq(oc[i].attempts, 1);
    }
    free(in);
    free(out);
    free(oc);
}

/* --- results equal the sequential answer ---------------------------------------------------- */

static void map_with_workers(int workers)
{
    struct pool_options o = {.workers = workers, .max_chunk = 4096};
    struct pool *p = new_pool(&o);
    cr_assert_eq(pool_worker_count(p), workers);
    const size_t counts[] = {1, 2, 7, 100, 1001, 20000};
    const size_t chunks[] = {0, 1, 3, 64, 4096};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
        for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++)
            check_map(p, counts[c], chunks[k]);
    close_and_check(p);
}

Test(pool, map_matches_sequential_with_one_worker)
{
    map_with_workers(1);
}
Test(pool, map_matches_sequential_with_two_workers)
{
    map_with_workers(2);
}
Test(pool, map_matches_sequential_with_more_workers_than_cpus)
{
    map_with_workers(2 * usable_cpu_count() + 1);
}

Test(pool, default_worker_count_is_the_usable_cpus)
{
    struct pool *p = new_pool(NULL);
    cr_assert_eq(pool_worker_count(p), usable_cpu_count());
    check_map(p, 500, 0);
    close_and_check(p);
}

Test(pool, auto_chunk_size_is_pythons)
{
    cr_assert_eq(pool_auto_chunk_size(0, 2), 1);
    cr_assert_eq(pool_auto_chunk_size(1, 2), 1);
    cr_assert_eq(pool_auto_chunk_size(8, 2), 1);
    cr_assert_eq(pool_auto_chunk_size(9, 2), 2);
    cr_assert_eq(pool_auto_chunk_size(100000, 2), 12500);
    cr_assert_eq(pool_auto_chunk_size(100001, 2), 12501);
    cr_assert_eq(pool_auto_chunk_size(1000, 3), 84);
}

static void unordered_exactly_once(struct pool *p, size_t count, size_t chunk)
{
    long *in = numbers(count);
    char *seen = calloc(count, 1);
    struct pool_iter *it = NULL;
    cr_assert_eq(
        pool_imap_unordered(p, square_task, in, sizeof *in, count, sizeof(long), chunk, &it), 0);
    struct pool_outcome oc;
    long value;
    size_t got = 0;
    int err;
    while ((err = pool_iter_next(it, &oc, &value, 30 * SECOND)) == 0) {
        cr_assert_lt(oc.index, count);
        cr_assert_eq(seen[oc.index], 0, "task %zu returned twice", oc.index);
        seen[oc.index] = 1;
        cr_assert_eq(oc.status, POOL_TASK_OK);
        cr_assert_eq(value, f_of(in[oc.index]));
        got++;
    }
    cr_assert_eq(err, EPIPE, "pool_iter_next: %s", strerror(err));
    cr_assert_eq(got, count);
    cr_assert_eq(pool_iter_next(it, &oc, &value, 0), EPIPE, "still EPIPE after the end");
    pool_iter_free(it);
    free(seen);
    free(in);
}

Test(pool, imap_unordered_returns_each_task_exactly_once)
{
    const int workers[] = {1, 2, 2 * usable_cpu_count() + 1};
    for (int w = 0; w < 3; w++) {
        struct pool_options o = {.workers = workers[w]};
        struct pool *p = new_pool(&o);
        unordered_exactly_once(p, 0, 0);
        unordered_exactly_once(p, 1, 0);
        unordered_exactly_once(p, 3000, 1);
        unordered_exactly_once(p, 3000, 0);
        unordered_exactly_once(p, 3001, 17);
        close_and_check(p);
    }
}

Test(pool, submit_returns_one_result_and_can_be_read_twice)
{
    const int workers[] = {1, 2, 2 * usable_cpu_count() + 1};
    for (int w = 0; w < 3; w++) {
        struct pool_options o = {.workers = workers[w]};
        struct pool *p = new_pool(&o);
        enum { N = 50 };
        struct pool_future *f[N];
        for (long i = 0; i < N; i++)
            cr_assert_eq(pool_submit(p, square_task, &i, sizeof i, sizeof(long), &f[i]), 0);
        for (long i = N - 1; i >= 0; i--) { /* in reverse: each future is its own */
            struct pool_outcome oc;
            long v = 0;
            cr_assert_eq(pool_future_wait(f[i], -1, &oc, &v), 0);
            cr_assert_eq(v, f_of(i));
            cr_assert_eq(oc.status, POOL_TASK_OK);
            v = 0;
            cr_assert_eq(pool_future_wait(f[i], 0, NULL, &v), 0);
            cr_assert_eq(v, f_of(i), "the second read gives the same result");
            pool_future_free(f[i]);
        }
        close_and_check(p);
    }
}

Test(pool, map_imap_and_submit_can_be_mixed)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 3});
    long *in = numbers(500);
    struct pool_iter *it;
    struct pool_future *f;
    long seven = 7;
    cr_assert_eq(pool_imap_unordered(p, square_task, in, sizeof *in, 500, sizeof(long), 1, &it), 0);
    cr_assert_eq(pool_submit(p, square_task, &seven, sizeof seven, sizeof(long), &f), 0);
    check_map(p, 300, 2); /* runs while the other two jobs are queued */
    long v;
    size_t got = 0;
    while (pool_iter_next(it, NULL, &v, -1) == 0)
        got++;
    cr_assert_eq(got, 500);
    cr_assert_eq(pool_future_wait(f, -1, NULL, &v), 0);
    cr_assert_eq(v, f_of(7));
    pool_iter_free(it);
    pool_future_free(f);
    free(in);
    close_and_check(p);
}

/* --- really parallel, timeouts ------------------------------------------------------------------
 */

/* One task never returns; every other one still comes back, then terminate reaps all. */
static void blocked_task_does_not_stop_others(int threaded)
{
    struct pool_options o = {.workers = 2};
    struct pool *p = NULL;
    struct thread_pool *tp = NULL;
    if (threaded)
        cr_assert_eq(thread_pool_create(&tp, &o), 0);
    else
        p = new_pool(&o);
    enum { N = 400 };
    long in[N];
    for (int i = 0; i < N; i++)
        in[i] = i == 3 ? -1 : i;
    struct pool_iter *it;
    int err = threaded ? thread_pool_imap_unordered(tp, wait_for_release_task, in, sizeof *in, N,
                                                    sizeof(long), 1, &it)
                       : pool_imap_unordered(p, maybe_block_task, in, sizeof *in, N, sizeof(long),
                                             1, &it);
    cr_assert_eq(err, 0);
    struct pool_outcome oc;
    long v;
    for (int got = 0; got < N - 1; got++) {
        err = pool_iter_next(it, &oc, &v, 30 * SECOND);
        cr_assert_eq(err, 0, "result %d of %d: %s", got, N - 1, strerror(err));
        cr_assert_neq(oc.index, 3);
    }
    cr_assert_eq(pool_iter_next(it, &oc, &v, 50000000), ETIMEDOUT, "the blocked task came back?");
    if (threaded) { /* a thread cannot be killed: release it, and it finishes normally */
        atomic_store(&release_blocked, 1);
        cr_assert_eq(pool_iter_next(it, &oc, &v, 30 * SECOND), 0);
        cr_assert_eq(oc.index, 3);
        cr_assert_eq(oc.status, POOL_TASK_OK);
        cr_assert_eq(pool_iter_next(it, &oc, &v, 0), EPIPE);
        pool_iter_free(it);
        cr_assert_eq(thread_pool_close(tp), 0);
        thread_pool_destroy(tp);
        return;
    }
    pid_t pids[8];
    int n = pool_worker_pids(p, pids, 8);
    cr_assert_eq(pool_terminate(p), 0);
    cr_assert_eq(pool_iter_next(it, &oc, &v, 0), 0, "terminate delivers the blocked task");
    cr_assert_eq(oc.index, 3);
    cr_assert_eq(oc.status, POOL_TASK_CANCELLED);
    cr_assert_eq(pool_iter_next(it, &oc, &v, 0), EPIPE);
    pool_iter_free(it);
    pool_destroy(p);
    assert_nothing_left(pids, n);
}

Test(pool, a_task_that_blocks_for_ever_does_not_stop_the_others)
{
    blocked_task_does_not_stop_others(0);
}

Test(thread_pool, a_task_that_blocks_for_ever_does_not_stop_the_others)
{
    blocked_task_does_not_stop_others(1);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* thread_pool_terminate cancels a thread blocked at a cancellation point (pause). */
Test(thread_pool, terminate_cancels_a_blocked_task)
{
#ifdef UNDER_ASAN
    cr_skip_test("AddressSanitizer misreports the unwinding of a cancelled thread");
#endif
    struct thread_pool *tp = NULL;
    cr_assert_eq(thread_pool_create(&tp, &(struct pool_options){.workers = 2}), 0);
    long x = -1, v;
    struct pool_future *f;
    struct pool_outcome oc;
    cr_assert_eq(thread_pool_submit(tp, maybe_block_task, &x, sizeof x, sizeof v, &f), 0);
    cr_assert_eq(pool_future_wait(f, 50000000, &oc, &v), ETIMEDOUT);
    cr_assert_eq(thread_pool_terminate(tp), 0);
    cr_assert_eq(pool_future_wait(f, 0, &oc, &v), 0);
    cr_assert_eq(oc.status, POOL_TASK_CANCELLED);
    pool_future_free(f);
    thread_pool_destroy(tp);
}

Test(pool, future_wait_times_out_then_succeeds)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 1});
    long x = 5, v = 0;
    struct pool_future *f;
    cr_assert_eq(pool_submit(p, sleepy_task, &x, sizeof x, sizeof v, &f), 0);
    cr_assert_eq(pool_future_wait(f, 0, NULL, &v), ETIMEDOUT);
    cr_assert_eq(pool_future_wait(f, 10000000, NULL, &v), ETIMEDOUT);
    cr_assert_eq(pool_future_wait(f, -1, NULL, &v), 0);
    cr_assert_eq(v, f_of(5));
    pool_future_free(f);
    close_and_check(p);
}

Test(pool, freeing_an_unfinished_future_or_iterator_loses_nothing_else)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 2});
    long x = 1;
    struct pool_future *f;
    struct pool_iter *it;
    long *in = numbers(1000);
    cr_assert_eq(pool_submit(p, sleepy_task, &x, sizeof x, sizeof x, &f), 0);
    cr_assert_eq(pool_imap_unordered(p, square_task, in, sizeof *in, 1000, sizeof(long), 1, &it),
                 0);
    pool_future_free(f);
    pool_iter_free(it);
    check_map(p, 200, 1);
    free(in);
    close_and_check(p);
}

/* --- errors, crashes, fault injection ------------------------------------------------------------
 */

Test(pool, a_failing_task_returns_its_error_with_its_index)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 2});
    enum { N = 100 };
    long in[N], out[N];
    struct pool_outcome oc[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    cr_assert_eq(pool_map(p, picky_task, in, sizeof *in, N, out, sizeof *out, 3, oc), EIO);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(oc[i].index, (size_t)i);
        if (i % 7 == 0) {
            cr_assert_eq(oc[i].status, POOL_TASK_ERROR, "task %d", i);
            cr_assert_eq(oc[i].error, 1000 + i);
        } else {
            cr_assert_eq(oc[i].status, POOL_TASK_OK);
            cr_assert_eq(out[i], f_of(i));
        }
    }
    cr_assert_str_eq(pool_status_name(POOL_TASK_ERROR), "error");
    close_and_check(p);
}

static void crash_policy(enum pool_on_crash policy)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 2, .on_crash = policy});
    enum { N = 40 };
    long in[N], out[N];
    struct pool_outcome oc[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    cr_assert_eq(pool_map(p, crashing_task, in, sizeof *in, N, out, sizeof *out, 4, oc), EIO);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(oc[i].index, (size_t)i);
        if (i == 13) {
            cr_assert_eq(oc[i].status, POOL_TASK_WORKER_DIED);
            cr_assert(WIFSIGNALED(oc[i].error) && WTERMSIG(oc[i].error) == SIGABRT, "status %#x",
                      oc[i].error);
            cr_assert_eq(oc[i].attempts, policy == POOL_RETRY_ONCE ? 2 : 1);
        } else {
            cr_assert_eq(oc[i].status, POOL_TASK_OK, "task %d: %s", i,
                         pool_status_name(oc[i].status));
            cr_assert_eq(out[i], f_of(i));
        }
    }
    struct pool_stats s;
    pool_get_stats(p, &s);
    cr_assert_eq(s.worker_deaths, policy == POOL_RETRY_ONCE ? 2 : 1);
    cr_assert_eq(s.tasks_lost, 1);
    cr_assert_eq(s.tasks_retried, policy == POOL_RETRY_ONCE ? 1 : 0);
    check_map(p, 100, 1); /* the replacement workers work */
    close_and_check(p);
}

Test(pool, a_crashing_worker_is_replaced_and_its_task_reported)
{
    crash_policy(POOL_REPORT_FAILED);
}
Test(pool, a_crashing_worker_is_replaced_and_its_task_retried_once)
{
    crash_policy(POOL_RETRY_ONCE);
}

/* Workers kill themselves at random steps of the slot protocol; every task must come back
 * exactly once, with the right value when it is OK. */
static void fault_injection(enum pool_on_crash policy, unsigned seed)
{
    struct pool_options o = {
        .workers = 3, .on_crash = policy, .fault_rate = 0.004, .fault_seed = seed};
    struct pool *p = new_pool(&o);
    enum { N = 3000 };
    long *in = numbers(N);
    char *seen = calloc(N, 1);
    struct pool_iter *it;
    cr_assert_eq(pool_imap_unordered(p, busy_square_task, in, sizeof *in, N, sizeof(long),
                                     1 + seed % 5, &it),
                 0);
    struct pool_outcome oc;
    long v;
    int err, died = 0;
    size_t got = 0;
    while ((err = pool_iter_next(it, &oc, &v, 60 * SECOND)) == 0) {
        cr_assert_lt(oc.index, (size_t)N);
        cr_assert_eq(seen[oc.index], 0, "task %zu came back twice", oc.index);
        seen[oc.index] = 1;
        got++;
        if (oc.status == POOL_TASK_OK) {
            cr_assert_eq(v, f_of(in[oc.index]), "task %zu: wrong value", oc.index);
        } else {
            cr_assert_eq(oc.status, POOL_TASK_WORKER_DIED, "%s", pool_status_name(oc.status));
            cr_assert(WIFSIGNALED(oc.error) && WTERMSIG(oc.error) == SIGKILL);
            cr_assert_eq(oc.attempts, policy == POOL_RETRY_ONCE ? 2 : 1);
            died++;
        }
    }
    cr_assert_eq(err, EPIPE, "%s", strerror(err));
    cr_assert_eq(got, (size_t)N, "tasks lost: %zu of %d came back", got, N);
    struct pool_stats s;
    pool_get_stats(p, &s);
    cr_assert_gt(s.worker_deaths, 0, "no worker died: the test tested nothing");
    cr_assert_eq(s.tasks_lost, died);
    cr_assert_eq(s.tasks_done + s.tasks_lost, N);
    pool_iter_free(it);
    free(seen);
    free(in);
    close_and_check(p);
}

Test(pool, fault_injection_report_failed_accounts_for_every_task, .timeout = 120)
{
    for (unsigned seed = 1; seed <= 3; seed++)
        fault_injection(POOL_REPORT_FAILED, seed);
}

Test(pool, fault_injection_retry_once_accounts_for_every_task, .timeout = 120)
{
    for (unsigned seed = 1; seed <= 3; seed++)
        fault_injection(POOL_RETRY_ONCE, seed);
}

/* The test process itself SIGKILLs random workers at random moments during a map. */
static void external_kills(enum pool_on_crash policy)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 3, .on_crash = policy});
    enum { N = 4000 };
    long *in = numbers(N);
    char *seen = calloc(N, 1);
    struct pool_iter *it;
    cr_assert_eq(pool_imap_unordered(p, busy_square_task, in, sizeof *in, N, sizeof(long), 2, &it),
                 0);
    srand(42);
    struct pool_outcome oc;
    long v;
    int err, kills = 0;
    size_t got = 0;
    while ((err = pool_iter_next(it, &oc, &v, 60 * SECOND)) == 0) {
        cr_assert_eq(seen[oc.index], 0, "task %zu came back twice", oc.index);
        seen[oc.index] = 1;
        got++;
        cr_assert(oc.status == POOL_TASK_OK || oc.status == POOL_TASK_WORKER_DIED);
        if (oc.status == POOL_TASK_OK)
            cr_assert_eq(v, f_of(in[oc.index]));
        if (rand() % 40 == 0) {
            pid_t pids[8];
            int n = pool_worker_pids(p, pids, 8);
            if (n > 0 && kill(pids[rand() % n], SIGKILL) == 0)
                kills++;
        }
    }
    cr_assert_eq(err, EPIPE);
    cr_assert_eq(got, (size_t)N);
    cr_assert_gt(kills, 10);
    pool_iter_free(it);
    free(seen);
    free(in);
    close_and_check(p);
}

Test(pool, random_external_kills_lose_nothing_report_failed, .timeout = 120)
{
    external_kills(POOL_REPORT_FAILED);
}
Test(pool, random_external_kills_lose_nothing_retry_once, .timeout = 120)
{
    external_kills(POOL_RETRY_ONCE);
}

/* --- workers: recycling, initializer ---------------------------------------------------------- */

Test(pool, workers_are_replaced_after_their_task_limit)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 2, .max_tasks_per_worker = 3});
    enum { N = 30 };
    pid_t by[N];
    long in[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    cr_assert_eq(pool_map(p, pid_task, in, sizeof *in, N, by, sizeof *by, 1, NULL), 0);
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        int repeat = 0;
        for (int j = 0; j < i; j++)
            repeat |= by[j] == by[i];
        distinct += !repeat;
    }
    cr_assert_geq(distinct, N / 3, "%d distinct pids for %d tasks at 3 per worker", distinct, N);
    struct pool_stats s;
    pool_get_stats(p, &s);
    cr_assert_geq(s.workers_recycled, N / 3 - 2);
    cr_assert_eq(s.worker_deaths, 0);
    close_and_check(p);
}

Test(pool, the_initializer_runs_in_every_worker)
{
    long value = 4242;
    struct pool_options o = {.workers = 3,
                             .initializer = set_value_initializer,
                             .initializer_arg = &value,
                             .max_tasks_per_worker = 5};
    struct pool *p = new_pool(&o);
    enum { N = 60 };
    long in[N], out[N];
    memset(in, 0, sizeof in);
    cr_assert_eq(pool_map(p, report_initialized_task, in, sizeof *in, N, out, sizeof *out, 1, NULL),
                 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(out[i], 4242, "task %d ran in a worker without the initializer", i);
    cr_assert_eq(initialized_value, 0, "the initializer ran in the parent");
    close_and_check(p);
}

Test(pool, a_failing_initializer_breaks_the_pool)
{
    struct pool *p =
        new_pool(&(struct pool_options){.workers = 2, .initializer = failing_initializer});
    long in[4] = {1, 2, 3, 4}, out[4];
    struct pool_outcome oc[4];
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 4, out, sizeof *out, 1, oc), ECHILD);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(oc[i].status, POOL_TASK_CANCELLED);
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 4, out, sizeof *out, 1, oc), ECHILD);
    pool_destroy(p);
    cr_assert_eq(count_my_zombies(), 0);
}

/* --- bad arguments, ending ----------------------------------------------------------------------
 */

Test(pool, bad_arguments_are_refused)
{
    skip_argument_checks_under_valgrind();
    struct pool *p = NULL;
    cr_assert_eq(pool_create(&p, &(struct pool_options){.workers = -1}), EINVAL);
    cr_assert_eq(pool_create(&p, &(struct pool_options){.workers = POOL_MAX_WORKERS + 1}), EINVAL);
    cr_assert_eq(pool_create(&p, &(struct pool_options){.max_chunk = POOL_MAX_CHUNK + 1}), EINVAL);
    cr_assert_eq(pool_create(&p, &(struct pool_options){.fault_rate = 2}), EINVAL);
    cr_assert_eq(pool_create(&p, &(struct pool_options){.max_tasks_per_worker = -1}), EINVAL);
    cr_assert_eq(pool_create(NULL, NULL), EINVAL);
    cr_assert_null(p);
    p = new_pool(&(struct pool_options){.workers = 1, .max_arg_size = 16, .max_chunk = 8});
    long in[4] = {0}, out[4];
    char big[17] = {0};
    struct pool_iter *it;
    struct pool_future *f;
    cr_assert_eq(pool_map(p, NULL, in, sizeof *in, 4, out, sizeof *out, 1, NULL), EINVAL);
    cr_assert_eq(pool_map(p, square_task, NULL, sizeof *in, 4, out, sizeof *out, 1, NULL), EINVAL);
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 4, NULL, sizeof *out, 1, NULL), EINVAL);
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 4, out, sizeof *out, 9, NULL), EINVAL);
    cr_assert_eq(pool_map(p, square_task, big, sizeof big, 1, out, sizeof *out, 1, NULL), EMSGSIZE);
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 4, out, 65, 1, NULL), EMSGSIZE);
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 0, out, sizeof *out, 1, NULL), 0);
    cr_assert_eq(pool_submit(p, square_task, big, sizeof big, 8, &f), EMSGSIZE);
    cr_assert_eq(pool_imap_unordered(p, square_task, in, sizeof *in, 4, 8, 1, NULL), EINVAL);
    cr_assert_eq(pool_iter_next(NULL, NULL, NULL, 0), EINVAL);
    cr_assert_eq(pool_future_wait(NULL, 0, NULL, NULL), EINVAL);
    cr_assert_eq(pool_close(p), 0);
    cr_assert_eq(pool_map(p, square_task, in, sizeof *in, 4, out, sizeof *out, 1, NULL), EPIPE);
    cr_assert_eq(pool_submit(p, square_task, in, sizeof *in, 8, &f), EPIPE);
    cr_assert_eq(pool_imap_unordered(p, square_task, in, sizeof *in, 4, 8, 1, &it), EPIPE);
    cr_assert_eq(pool_close(p), 0, "closing twice is harmless");
    cr_assert_eq(pool_terminate(p), 0);
    pool_destroy(p);
    pool_destroy(NULL);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(pool, close_finishes_queued_work)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 2});
    long *in = numbers(2000);
    struct pool_iter *it;
    struct pool_future *f;
    long x = 3, v = 0;
    cr_assert_eq(
        pool_imap_unordered(p, busy_square_task, in, sizeof *in, 2000, sizeof(long), 1, &it), 0);
    cr_assert_eq(pool_submit(p, square_task, &x, sizeof x, sizeof x, &f), 0);
    pid_t pids[4];
    int n = pool_worker_pids(p, pids, 4);
    cr_assert_eq(pool_close(p), 0);
    size_t got = 0;
    struct pool_outcome oc;
    while (pool_iter_next(it, &oc, &v, 0) == 0) {
        cr_assert_eq(oc.status, POOL_TASK_OK);
        got++;
    }
    cr_assert_eq(got, 2000, "close finished every queued task");
    cr_assert_eq(pool_future_wait(f, 0, NULL, &v), 0);
    cr_assert_eq(v, f_of(3));
    pool_iter_free(it);
    pool_future_free(f);
    pool_destroy(p);
    free(in);
    assert_nothing_left(pids, n);
}

Test(pool, terminate_cancels_what_has_not_run)
{
    struct pool *p = new_pool(&(struct pool_options){.workers = 2});
    long *in = numbers(500);
    struct pool_iter *it;
    cr_assert_eq(pool_imap_unordered(p, sleepy_task, in, sizeof *in, 500, sizeof(long), 1, &it), 0);
    pid_t pids[4];
    int n = pool_worker_pids(p, pids, 4);
    cr_assert_eq(pool_terminate(p), 0);
    size_t got = 0, cancelled = 0;
    struct pool_outcome oc;
    while (pool_iter_next(it, &oc, NULL, 0) == 0) {
        got++;
        cancelled += oc.status == POOL_TASK_CANCELLED;
    }
    cr_assert_eq(got, 500, "every task accounted for");
    cr_assert_geq(cancelled, 490);
    pool_iter_free(it);
    pool_destroy(p);
    free(in);
    assert_nothing_left(pids, n);
}

/* Ctrl-C in a program that uses a pool: the cleanup handler kills and reaps every worker. */
Test(pool, sigint_leaves_no_worker_behind)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        cleanup_install();
        struct pool *p = NULL;
        if (pool_create(&p, &(struct pool_options){.workers = 3}) != 0)
            _exit(1);
        pid_t pids[3];
        int n = pool_worker_pids(p, pids, 3);
        if (write(fds[1], pids, sizeof pids) != (ssize_t)sizeof pids || n != 3)
            _exit(1);
        long x = -1; /* blocks for ever: the program is busy when Ctrl-C comes */
        struct pool_future *f;
        pool_submit(p, maybe_block_task, &x, sizeof x, sizeof x, &f);
        pool_future_wait(f, -1, NULL, NULL);
        _exit(1);
    }
    close(fds[1]);
    pid_t pids[3];
    cr_assert_eq(read(fds[0], pids, sizeof pids), (ssize_t)sizeof pids);
    close(fds[0]);
    cr_assert_eq(kill(child, SIGINT), 0);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %#x", status);
    assert_nothing_left(pids, 3);
}

/* --- the thread twin ----------------------------------------------------------------------------
 */

Test(thread_pool, map_imap_and_submit_match_sequential)
{
    const int workers[] = {1, 2, 2 * usable_cpu_count() + 1};
    for (int w = 0; w < 3; w++) {
        struct thread_pool *tp = NULL;
        cr_assert_eq(thread_pool_create(&tp, &(struct pool_options){.workers = workers[w]}), 0);
        cr_assert_eq(thread_pool_worker_count(tp), workers[w]);
        enum { N = 5000 };
        long *in = numbers(N), *out = calloc(N, sizeof *out);
        for (size_t chunk = 0; chunk < 40; chunk += 13) {
            cr_assert_eq(
                thread_pool_map(tp, square_task, in, sizeof *in, N, out, sizeof *out, chunk, NULL),
                0);
            for (int i = 0; i < N; i++)
                cr_assert_eq(out[i], f_of(in[i]));
        }
        struct pool_iter *it;
        cr_assert_eq(
            thread_pool_imap_unordered(tp, square_task, in, sizeof *in, N, sizeof(long), 0, &it),
            0);
        char *seen = calloc(N, 1);
        struct pool_outcome oc;
        long v;
        int got = 0;
        while (pool_iter_next(it, &oc, &v, -1) == 0) {
            cr_assert_eq(seen[oc.index]++, 0);
            cr_assert_eq(v, f_of(in[oc.index]));
            got++;
        }
        cr_assert_eq(got, N);
        pool_iter_free(it);
        struct pool_future *f;
        long x = 9;
        cr_assert_eq(thread_pool_submit(tp, square_task, &x, sizeof x, sizeof x, &f), 0);
        cr_assert_eq(pool_future_wait(f, -1, &oc, &v), 0);
        cr_assert_eq(v, f_of(9));
        pool_future_free(f);
        cr_assert_eq(thread_pool_close(tp), 0);
        thread_pool_destroy(tp);
        free(seen);
        free(in);
        free(out);
    }
}

Test(thread_pool, errors_recycling_and_the_initializer)
{
    long value = 77;
    struct thread_pool *tp = NULL;
    struct pool_options o = {.workers = 2,
                             .max_tasks_per_worker = 2,
                             .initializer = set_value_initializer,
                             .initializer_arg = &value};
    cr_assert_eq(thread_pool_create(&tp, &o), 0);
    enum { N = 30 };
    long in[N], out[N];
    struct pool_outcome oc[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    cr_assert_eq(thread_pool_map(tp, picky_task, in, sizeof *in, N, out, sizeof *out, 1, oc), EIO);
    for (int i = 0; i < N; i++)
        cr_assert_eq(oc[i].status, i % 7 ? POOL_TASK_OK : POOL_TASK_ERROR);
    struct pool_stats s;
    thread_pool_get_stats(tp, &s);
    cr_assert_geq(s.workers_recycled, N / 2 - 2);
    /* Threads share memory: the initializer wrote the parent's own variable. */
    cr_assert_eq(initialized_value, 77);
    cr_assert_eq(thread_pool_close(tp), 0);
    thread_pool_destroy(tp);
}
