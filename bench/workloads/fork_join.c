#define _GNU_SOURCE
/* fork_join.c - workload: count the primes below N, split across P forked children.
 *
 * The strong-scaling job of lessons/01-processes.md, as a measurement: the problem size is
 * fixed and the worker count grows with the cores, so the ideal speedup is k on k cores.
 * Each child tests every P-th odd number (a striped split: a prime test costs more for larger
 * numbers, so equal ranges would give the last child the most work) and sends one fixed-size
 * record through a shared pipe: its count, and when it ran.  Records are far below PIPE_BUF,
 * so the writes of different children never interleave.  The parent checks the total against
 * a sieve computed once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
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

/* The reference answer, by a sieve: a different algorithm from the one measured. */
static long sieve_count(long limit)
{
    if (limit < 3)
        return 0;
    char *composite = calloc((size_t)limit, 1);
    if (!composite)
        return -1;
    long count = 0;
    for (long i = 2; i < limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = i * i; j < limit; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}

static _Noreturn void worker(int index, int workers, long limit, int out, pid_t parent)
{
    die_with_parent(parent);
    struct record r = {.worker = index};
    r.span.start_ns = monotonic_ns();
    int64_t cpu0 = thread_cpu_ns();
    if (index == 0 && limit > 2)
        r.count = 1; /* 2, the only even prime */
    for (long n = 3 + 2L * index; n < limit; n += 2L * workers)
        r.count += is_prime(n);
    r.span.cpu_ns = thread_cpu_ns() - cpu0;
    r.span.end_ns = monotonic_ns();
    _exit(write(out, &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
}

static long limit_for(const struct point *p) { return p->quick ? 1000000 : 2500000; }

static int fail(struct run_result *r, const char *what)
{
    snprintf(r->detail, sizeof r->detail, "%s: %s", what, strerror(errno));
    return -1;
}

static int run(const struct point *p, struct run_result *r)
{
    static long expected = -1, expected_for = -1;
    long limit = limit_for(p);
    if (expected_for != limit) {
        expected = sieve_count(limit);
        expected_for = limit;
    }
    int fds[2];
    if (pipe(fds) == -1)
        return fail(r, "pipe");
    pid_t parent = getpid();
    for (int i = 0; i < p->workers; i++) {
        pid_t pid = fork();
        if (pid == -1)
            return fail(r, "fork");
        if (pid == 0) {
            close(fds[0]);
            worker(i, p->workers, limit, fds[1], parent);
        }
        cleanup_add_child(pid);
    }
    close(fds[1]); /* else read() would never see EOF */
    long total = 0;
    struct record rec;
    ssize_t got;
    while ((got = read(fds[0], &rec, sizeof rec)) == (ssize_t)sizeof rec) {
        total += rec.count;
        if (r->nspans < MAX_WORKERS)
            r->spans[r->nspans++] = rec.span;
    }
    close(fds[0]);
    int failed = 0, status;
    pid_t pid;
    while ((pid = wait(&status)) > 0) {
        cleanup_forget_child(pid);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (got == -1 || errno != ECHILD)
        return fail(r, got == -1 ? "read" : "wait");
    r->ops = (double)limit;
    r->ok = !failed && r->nspans == p->workers && total == expected;
    if (!r->ok) /* the detail is for what went wrong; a right run needs no note */
        snprintf(r->detail, sizeof r->detail, "primes below %ld: %ld (sieve: %ld), %d of %d records%s",
                 limit, total, expected, r->nspans, p->workers, failed ? ", a child failed" : "");
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    if (max < 1)
        return 0;
    snprintf(points[0].series, sizeof points[0].series, "fork-join, striped split");
    return 1;
}

const struct workload workload_fork_join = {
    .name = "fork_join",
    .title = "Fork-join: counting primes (strong scaling)",
    .shape = SHAPE_SCALING,
    .observe = "On the speedup plot, the plain series should sit on the ideal line: the children share "
        "nothing while they work, so k cores give close to k times the speed. A point below it "
        "with low overlap means the workers took turns (a busy machine), not that fork-join "
        "stopped scaling. The oversubscribed series (2 workers per CPU) gains nothing over one "
        "per CPU: more processes than cores only add switching.",
    .plan = plan,
    .run = run,
};
