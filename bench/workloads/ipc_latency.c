#define _GNU_SOURCE
/* ipc_latency.c - workload: the round-trip time of a small message between two processes, for
 * the ways of bench/ipc_channels.h to pass it: a pipe, a FIFO, a socket pair, a POSIX message
 * queue and the shared-memory queue (lib/queues/shm_queue.h), general and SPSC.  Beside them,
 * in the same run, the hardware's floor: one cache line passed back and forth between the two
 * CPUs (bench/cache_lines.h); half of it is the one-way transfer.  The plot's dashed line is
 * the reference's average over its run; the summary's floor is its median stretch (see
 * cache_lines.h), which a loaded machine disturbs less.
 *
 * Ping-pong: the parent sends a message, the child sends it back, repeat.  Each mechanism runs
 * with both processes on the same CPU (every hop is a context switch: the sender must block
 * for the receiver to run) and on two different CPUs (a hop is a wake-up on the other CPU,
 * or for the shared-memory queue, which spins briefly before it sleeps, a cache-line
 * transfer).  The figure is ns per round trip; x is the message size (64 B, 1 KiB, 4 KiB).
 * Every echo is checked: it must carry the sequence number that was sent.  A run lasts a fixed
 * time (60 ms, 40 ms quick) and counts the round trips done; setting up and forking the echo
 * process is inside the driver's wall time, a few percent of it at most.
 *
 * On a machine with one usable CPU the driver leaves out the different-CPU points.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_lines.h"
#include "ipc_channels.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

static const long STOP = -1; /* the sequence number that ends the ping-pong */

/* Slot capacity of the shared-memory queues: a ring of about 1 MiB, 4 .. 256 slots. */
static size_t ring_capacity(size_t size)
{
    size_t slots = ((size_t)1 << 20) / (size + 64);
    return slots < 4 ? 4 : slots > 256 ? 256 : slots;
}

/* --- the ping-pong ------------------------------------------------------------------------- */

enum placement { SAME_CPU, DIFFERENT_CPUS };

/* The child: send back every message it receives, until the one marked STOP. */
static _Noreturn void echo(struct ipc_channels *c, size_t size, int cpu, pid_t parent)
{
    die_with_parent(parent);
    struct ipc_endpoint e;
    if ((cpu >= 0 && ipc_pin_self(cpu) == -1) || ipc_channels_take_ends(c, 1, &e) == -1)
        _exit(2);
    char *buffer = malloc(size + c->mq_chunk); /* slack: a message queue piece lands whole */
    if (buffer == NULL)
        _exit(3);
    long sequence = 0;
    int failed = 0;
    do {
        failed = ipc_receive(&e, buffer, size) == -1 || ipc_send(&e, buffer, size) == -1;
        memcpy(&sequence, buffer, sizeof sequence);
    } while (!failed && sequence != STOP);
    free(buffer); /* before _exit, or valgrind counts it as lost */
    _exit(failed ? 4 : 0);
}

/* One round trip carrying `sequence`; returns the number that came back, or -2 on failure. */
static long round_trip(const struct ipc_endpoint *e, char *buffer, size_t size, long sequence)
{
    memcpy(buffer, &sequence, sizeof sequence); /* the sequence number travels in the message */
    if (ipc_send(e, buffer, size) == -1 || ipc_receive(e, buffer, size) == -1)
        return -2;
    long echoed;
    memcpy(&echoed, buffer, sizeof echoed);
    return echoed;
}

/* The parent's side: round trips for about budget_ns, then STOP.  Returns the round trips
 * done (*wrong: how many echoes came back wrong), or -1 on failure.  Time-boxed rather than
 * counted: a wake-up on another CPU costs 5 us on one machine and 100 us on a busy VM, and
 * the plan must stay short on both. */
static long ping(const struct ipc_endpoint *e, size_t size, size_t slack, int64_t budget_ns,
                 long *wrong)
{
    char *buffer = calloc(1, size + slack);
    if (buffer == NULL)
        return -1;
    int64_t end = monotonic_ns() + budget_ns;
    long done = 0;
    *wrong = 0;
    while (done % 16 != 0 || monotonic_ns() < end) { /* read the clock every 16 trips */
        long echoed = round_trip(e, buffer, size, done);
        if (echoed == -2)
            break;
        *wrong += echoed != done;
        done++;
    }
    int failed = round_trip(e, buffer, size, STOP) != STOP;
    free(buffer);
    return failed ? -1 : done;
}

/* The variants: every mechanism at both placements; point.variant indexes this table. */
struct latency_variant {
    enum ipc_mechanism mechanism;
    enum placement where;
};
static struct latency_variant variants[IPC_MECHANISMS * 2];
enum { LINE_ROUND_TRIP = IPC_MECHANISMS * 2 }; /* the reference's variant, after the table */

static int variant_of(enum ipc_mechanism m, enum placement where)
{
    int v = (int)where * IPC_MECHANISMS + (int)m;
    variants[v] = (struct latency_variant){m, where};
    return v;
}

/* The reference: a cache line's round trip between the two CPUs. */
static int run_line_round_trip(int64_t budget_ns, struct run_result *r)
{
    int cpus[2];
    if (usable_cpu_ids(cpus, 2) < 2)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    double typical_ns;
    long trips = cache_line_round_trips(cpus, budget_ns, &typical_ns, r->detail, sizeof r->detail);
    if (trips < 0)
        return -1;
    r->ops = (double)trips;
    r->extra = typical_ns; /* the median stretch: the floor (cache_lines.h says why) */
    snprintf(r->detail, sizeof r->detail, "median stretch of 256: %.0f ns a round trip",
             typical_ns);
    r->ok = 1; /* the partner checked every number it was thrown */
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    if (p->variant == LINE_ROUND_TRIP)
        return run_line_round_trip(p->quick ? 40000000 : 60000000, r);
    enum ipc_mechanism m = variants[p->variant].mechanism;
    enum placement where = variants[p->variant].where;
    size_t size = (size_t)p->x;
    int64_t budget_ns = p->quick ? 40000000 : 60000000; /* 40 or 60 ms of round trips */
    int cpus[2];
    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) == -1)
        return snprintf(r->detail, sizeof r->detail, "sched_getaffinity: %s", strerror(errno)), -1;
    if (where == DIFFERENT_CPUS && usable_cpu_ids(cpus, 2) < 2)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    struct ipc_channels c;
    if (ipc_channels_open(&c, m, size, ring_capacity(size)) == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: setting up: %s", ipc_mechanism_names[m],
                 strerror(errno));
        ipc_channels_close(&c, NULL);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno)), -1;
    if (pid == 0)
        echo(&c, size, where == DIFFERENT_CPUS ? cpus[1] : -1, parent);
    cleanup_add_child(pid);
    struct ipc_endpoint e = {0};
    long wrong = 0, n = -1;
    if ((where == SAME_CPU || ipc_pin_self(cpus[0]) == 0) && ipc_channels_take_ends(&c, 0, &e) == 0)
        n = ping(&e, size, c.mq_chunk, budget_ns, &wrong);
    int failure = errno;
    if (n == -1)
        kill(pid, SIGKILL); /* it may be blocked waiting for us */
    int child_failed = ipc_reap_peer(pid, "the echo process", r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved); /* the driver's pinning, for the next run */
    ipc_channels_close(&c, &e);
    if (n == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: %s", ipc_mechanism_names[m], strerror(failure));
        return -1;
    }
    r->ops = (double)n;
    r->ok = !child_failed && wrong == 0;
    if (wrong)
        snprintf(r->detail, sizeof r->detail, "%ld of %ld echoes carried the wrong number", wrong,
                 n);
    return 0;
}

/* --- the plan ------------------------------------------------------------------------------ */

static int plan(struct point *points, int max, int quick)
{
    static const long sizes[] = {64, 1024, 4096};
    int nsizes = quick ? 1 : 3, count = 0;
    for (int where = SAME_CPU; where <= DIFFERENT_CPUS; where++)
        for (int m = 0; m < IPC_MECHANISMS; m++)
            for (int s = 0; s < nsizes && count < max; s++) {
                struct point *p = &points[count++];
                snprintf(p->series, sizeof p->series, "%s, %s", ipc_mechanism_names[m],
                         where == SAME_CPU ? "same CPU" : "different CPUs");
                p->x = (double)sizes[s];
                p->variant = variant_of((enum ipc_mechanism)m, (enum placement)where);
                p->cpus = where == SAME_CPU ? 1 : 2; /* the driver drops 2 on a 1-CPU machine */
                p->workers = 2;
            }
    if (count < max && usable_cpu_count() >= 2) {
        struct point *p = &points[count++];
        snprintf(p->series, sizeof p->series,
                 "reference: a cache line's round trip between CPUs, run average");
        p->x = 64;
        p->variant = LINE_ROUND_TRIP;
        p->cpus = 2;
        p->workers = 2;
    }
    return count;
}

/* The 64-byte round trip of a mechanism at a placement, or 0 if it was not measured. */
static double figure_at_64(const struct reduced_point *r, int n, int m, int where)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.x == 64 && r[i].point.variant < LINE_ROUND_TRIP &&
            variants[r[i].point.variant].mechanism == (enum ipc_mechanism)m &&
            variants[r[i].point.variant].where == (enum placement)where)
            return r[i].figure_median;
    return 0;
}

/* CPU time of both processes per round trip (a spinning waiter shows here). */
static double cpu_per_trip(const struct reduced_point *r, int n, int m, int where)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.x == 64 && r[i].point.variant < LINE_ROUND_TRIP &&
            variants[r[i].point.variant].mechanism == (enum ipc_mechanism)m &&
            variants[r[i].point.variant].where == (enum placement)where && r[i].wall_median_ns > 0)
            return r[i].cpu_median_ns * r[i].figure_median / r[i].wall_median_ns;
    return 0;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    for (int where = SAME_CPU; where <= DIFFERENT_CPUS; where++) {
        double pipe_ns = figure_at_64(r, n, IPC_BY_PIPE, where);
        for (int m = IPC_BY_SHM_QUEUE; m <= IPC_BY_SHM_SPSC; m++) {
            double shm_ns = figure_at_64(r, n, m, where);
            if (pipe_ns > 0 && shm_ns > 0)
                fprintf(out,
                        "  64 B round trip, %s: pipe %.2f us, %s %.2f us (%.1fx %s); CPU per "
                        "round trip %.0f ns (pipe %.0f ns)\n",
                        where == SAME_CPU ? "same CPU" : "different CPUs", pipe_ns / 1e3,
                        ipc_mechanism_names[m], shm_ns / 1e3,
                        pipe_ns > shm_ns ? pipe_ns / shm_ns : shm_ns / pipe_ns,
                        pipe_ns > shm_ns ? "faster" : "slower", cpu_per_trip(r, n, m, where),
                        cpu_per_trip(r, n, IPC_BY_PIPE, where));
        }
    }
    double line_ns = 0, line_mean_ns = 0;
    for (int i = 0; i < n; i++)
        if (r[i].point.variant == LINE_ROUND_TRIP)
            line_ns = r[i].extra_median, line_mean_ns = r[i].figure_median;
    if (line_ns <= 0)
        return;
    fprintf(out,
            "  hardware reference: a cache line's round trip between the CPUs %.0f ns, "
            "one way %.0f ns (median stretch; %.0f ns averaged over the run)\n",
            line_ns, line_ns / 2, line_mean_ns);
    for (int m = IPC_BY_SHM_QUEUE; m <= IPC_BY_SHM_SPSC; m++) {
        double shm_ns = figure_at_64(r, n, m, DIFFERENT_CPUS);
        if (shm_ns > 0)
            fprintf(out,
                    "  64 B round trip between CPUs, %s: %.0f ns = %.2fx the cache line's "
                    "(target <= 1.5x): %s\n",
                    ipc_mechanism_names[m], shm_ns, shm_ns / line_ns,
                    shm_ns / line_ns <= 1.5 ? "met" : "MISSED");
    }
}

const struct workload workload_ipc_latency = {
    .name = "ipc_latency",
    .title = "Round trip of a message between two processes",
    .shape = SHAPE_SERIES,
    .x_label = "message size (bytes)",
    .figure_label = "time per round trip (ns)",
    .figure = FIGURE_NS_PER_OP,
    .plan = plan,
    .run = run,
    .summarize = summarize,
};
