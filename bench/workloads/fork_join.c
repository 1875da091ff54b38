#define _GNU_SOURCE
/* fork_join.c - workload: count the primes below N, split across P forked children.
 *
 * The strong-scaling job of lessons/01d-fork-join.md, as a measurement: the problem size is
 * fixed and the worker count grows with the cores, so the ideal speedup is k on k cores.
 * Each child tests every P-th odd number (a striped split: a prime test costs more for larger
 * numbers, so equal ranges would give the last child the most work) and sends one fixed-size
 * record through a shared pipe (bench/fork_workers.h): its count, and when it ran.  The
 * parent checks the total against a sieve computed once.
 *
 * Beside it, weak scaling: the work grows with the workers (each counts the same window of
 * numbers), so on k cores k workers should take as long as one does on one core.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fork_workers.h"
#include "prime_job.h"
#include "support/clock.h"
#include "workload.h"

struct record {
    int worker;
    long count;
    struct worker_span span;
};

static int is_prime(long n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

/* The odd numbers a worker tests: first, first + step, ... below end. */
struct share {
    long first, end, step;
    int has_two; /* 2, the only even prime, is in this worker's share */
};

static struct share share_of(const struct point *p, int index);

/* One worker (run by fork_workers, which also releases them together and reaps them). */
static int worker(int index, void *arg, void *record)
{
    struct share share = share_of(arg, index);
    struct record *r = record; /* zeroed, padding too: the whole record goes to write() */
    r->worker = index;
    r->count = share.has_two;
    r->span.start_ns = monotonic_ns();
    int64_t cpu0 = thread_cpu_ns();
    for (long n = share.first; n < share.end; n += share.step)
        r->count += is_prime(n);
    r->span.cpu_ns = thread_cpu_ns() - cpu0;
    r->span.end_ns = monotonic_ns();
    return 0;
}

/* Strong scaling: the primes below `limit`, every P-th odd number to each worker.
 * Weak scaling: every worker counts the primes in the same window of `window` numbers above
 * WEAK_BASE, so each does exactly the same work however many there are, and the right total
 * is P times the window's count. */
enum { WEAK_BASE = 4000000 };
static long limit_for(const struct point *p)
{
    return scaled_size(p, p->quick > 1 ? 20000 : p->quick ? 1000000 : 2500000, 20000);
}
static long window_for(const struct point *p)
{
    return scaled_size(p, p->quick > 1 ? 2000 : p->quick ? 300000 : 800000, 2000);
}

static struct share share_of(const struct point *p, int index)
{
    if (p->weak) {
        struct share s = {WEAK_BASE + 1, WEAK_BASE + window_for(p), 2, 0};
        return s;
    }
    long limit = limit_for(p);
    struct share s = {3 + 2L * index, limit, 2L * p->workers, index == 0 && limit > 2};
    return s;
}

/* The right answer, from a sieve (a different algorithm from the one measured), cached. */
static long expected_total(const struct point *p)
{
    static long strong = -1, strong_for = -1, weak = -1, weak_for = -1;
    if (p->weak) {
        long end = WEAK_BASE + window_for(p);
        if (weak_for != end) {
            weak = prime_sieve_count(end) - prime_sieve_count(WEAK_BASE + 1);
            weak_for = end;
        }
        return weak * p->workers;
    }
    if (strong_for != limit_for(p)) {
        strong = prime_sieve_count(limit_for(p));
        strong_for = limit_for(p);
    }
    return strong;
}

static int run(const struct point *p, struct run_result *r)
{
    long expected = expected_total(p);
    struct record *records = calloc((size_t)p->workers, sizeof *records);
    if (!records || run_result_reserve_spans(r, p->workers) != 0) {
        free(records);
        snprintf(r->detail, sizeof r->detail, "%d records: %s", p->workers, strerror(ENOMEM));
        return -1;
    }
    struct fork_workers_job job = {p->workers, sizeof *records, worker, (void *)p};
    if (fork_workers(&job, records, r->detail, sizeof r->detail) != 0) {
        free(records);
        return -1;
    }
    long total = 0;
    for (int i = 0; i < p->workers; i++) {
        total += records[i].count;
        r->spans[r->nspans++] = records[i].span;
    }
    free(records);
    r->ops = (double)(p->weak ? window_for(p) * p->workers : limit_for(p));
    r->ok = total == expected;
    if (!r->ok) /* the detail is for what went wrong; a right run needs no note */
        snprintf(r->detail, sizeof r->detail, "%ld primes counted, the sieve says %ld", total,
                 expected);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    if (max < 2)
        return 0;
    snprintf(points[0].series, sizeof points[0].series, "fork-join, striped split");
    snprintf(points[1].series, sizeof points[1].series, "fork-join, weak scaling");
    points[1].weak = 1;
    return 2;
}

const struct workload workload_fork_join = {
    .name = "fork_join",
    .title = "Fork-join: counting primes (strong and weak scaling)",
    .shape = SHAPE_SCALING,
    .observe = "On the speedup plot, the striped (strong-scaling) series should sit on the ideal "
               "line: the children share nothing while they work, so k cores give close to k "
               "times the speed. The weak-scaling series gives each worker the same work, so its "
               "time should stay flat and its scaled speedup follow the same line. A point below "
               "with low overlap means the workers took turns on a busy machine, not that "
               "fork-join stopped scaling. The 2-per-CPU series gain nothing over one per CPU: "
               "more processes than cores only add switching.",
    .plan = plan,
    .run = run,
};
