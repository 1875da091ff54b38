#define _GNU_SOURCE
/* race_rate.c - workload: how many updates a race loses, against processes and iterations.
 *
 * P processes each add 1 to a shared counter N times with a plain read-modify-write (no lock,
 * no atomic).  Two processes that read the same old value both write old + 1: one update is
 * lost.  The figure is the share of updates lost, in percent, against N, one series per P.
 * Short runs lose little or nothing, not because they are safe but because the processes hardly
 * overlap: the first may finish before the second has started (a few thousand increments take
 * microseconds, a fork takes longer).  lost_update in patterns/races measures how long the
 * processes really ran at the same moment.  On a machine with one usable CPU the race can only
 * show at a preemption, so the loss is close to zero whatever N is: lessons/04-races.md shows
 * how to widen the window.
 *
 * Correctness: the final count is at most P x N, and positive.  It can be far below N: a
 * process that read an old value and was then preempted writes that old value plus one back
 * over everything the others added meanwhile, so the count can even go down.  (With P >= 2
 * and N >= 2 the smallest possible result is 2.)
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "support/clock.h"
#include "support/cpus.h"
#include "fork_workers.h"
#include "workload.h"

/* The counter the workers race on, in memory they share (mapped before the fork). */
struct shared {
    volatile long counter; /* volatile: one load and one store per update, as written */
    long iterations;
};

/* One worker (fork_workers): released together with the others, it races on the counter.
 * The start gate is a pipe they block on, not a spin: on a machine with fewer real CPUs than
 * workers (a simulated big machine, an oversubscribed point) spinning workers would starve the
 * parent that is still forking the rest. */
static int worker(int index, void *arg, void *record)
{
    (void)index;
    struct shared *sh = arg;
    struct worker_span span = {.start_ns = monotonic_ns()};
    int64_t cpu0 = thread_cpu_ns();
    for (long i = 0; i < sh->iterations; i++)
        sh->counter = sh->counter + 1; /* the race: load, add, store */
    span.end_ns = monotonic_ns();
    span.cpu_ns = thread_cpu_ns() - cpu0;
    memcpy(record, &span, sizeof span);
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    if (run_result_reserve_spans(r, p->workers) != 0)
        return snprintf(r->detail, DETAIL_SIZE, "%d spans: %s", p->workers, strerror(ENOMEM)), -1;
    struct shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return snprintf(r->detail, DETAIL_SIZE, "mmap: %s", strerror(errno)), -1;
    sh->iterations = (long)p->x;
    struct fork_workers_job job = {p->workers, sizeof(struct worker_span), worker, sh};
    if (fork_workers(&job, r->spans, r->detail, DETAIL_SIZE) != 0) {
        munmap(sh, sizeof *sh);
        return -1;
    }
    long expected = sh->iterations * p->workers, got = sh->counter;
    munmap(sh, sizeof *sh);
    r->nspans = p->workers;
    r->ops = (double)expected;
    r->extra = 100.0 * (double)(expected - got) / (double)expected;
    r->ok = got <= expected && got >= 1;
    if (!r->ok)
        snprintf(r->detail, DETAIL_SIZE, "counter %ld of %ld updates", got, expected);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    int cpus = usable_cpu_count(), count = 0;
    int procs[3] = {2, cpus, 2 * cpus};
    for (int i = 0; i < 3; i++) {
        if (i > 0 && procs[i] == procs[i - 1])
            continue;
        for (long n = 1000; n <= (quick ? 100000 : 1000000) && count < max; n *= 10) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%d processes", procs[i]);
            p->x = (double)n;
            p->cpus = cpus < procs[i] ? cpus : procs[i];
            p->workers = procs[i];
        }
    }
    return count;
}

const struct workload workload_race_rate = {
    .name = "race_rate",
    .title = "The lost update: share of updates lost without a lock",
    .shape = SHAPE_SERIES,
    .x_label = "updates per process",
    .figure_label = "updates lost (%)",
    .figure = FIGURE_EXTRA,
    .observe =
        "Lost updates need two processes running at the same moment: short runs barely overlap "
        "and lose little or nothing, which is luck, not safety. The loss grows with the "
        "iterations as the processes overlap more. On a one-CPU machine the loss stays near "
        "zero: the race then shows only with the amplifier of lessons/04-races.md.",
    .plan = plan,
    .run = run,
};
