#define _GNU_SOURCE
/* ipc_throughput.c - workload: how fast a stream of messages flows from one process to
 * another, against the message size (64 B .. 1 MiB), for a pipe, a FIFO, a socket pair, a
 * POSIX message queue and the shared-memory queue (lib/queues/shm_queue.h), with a
 * single-core memcpy of the same size as the reference a copy cannot beat.
 *
 * The producer (the parent) sends messages for a fixed time (50 ms, 20 ms quick), then a STOP
 * message; the consumer (a child, on another CPU when there are two) receives them all.
 * Each message carries its sequence number in its first and last 8 bytes; the consumer adds
 * both up and the producer checks the sums and the count, so a lost, repeated or torn message
 * fails the run.  The figure is ns per message (bytes per second = size / figure).
 *
 * A message queue carries at most msgsize_max bytes per message (/proc/sys/fs/mqueue): a
 * larger message is sent as several queue messages, and the run's detail says so; the size
 * is never cut.  A pipe, FIFO or socket carries a byte stream: a large message goes through
 * it in pieces of the kernel buffer's size, which is how such a stream is used.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_channels.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

/* MEMCPY is the reference: one process copying, no second process at all.  The other series
 * are the transports of ipc_channels.h, numbered as there. */
enum { MEMCPY = IPC_MECHANISMS, MECHANISMS };
static const long STOP = -1; /* the sequence number that ends the stream */

/* The plot's series for a mechanism (the reference included). */
static const char *series_name(int m)
{
    return m == MEMCPY ? "memcpy, one core (reference)" : ipc_mechanism_names[m];
}

/* Slot capacity of the shared-memory queue: a ring of about 2 MiB (it stays in the caches),
 * but never fewer than 8 slots, so the producer can run ahead while the consumer copies. */
static size_t ring_capacity(size_t size)
{
    size_t slots = ((size_t)2 << 20) / (size + 64);
    return slots < 8 ? 8 : slots > 256 ? 256 : slots;
}

/* --- the stream -------------------------------------------------------------------------- */

/* What the consumer reports when the stream has ended (through a pipe of its own). */
struct tally {
    long count;
    unsigned long first_sum, last_sum; /* sums of the sequence numbers at both ends */
};

static void stamp(char *message, size_t size, long sequence)
{
    memcpy(message, &sequence, sizeof sequence);
    memcpy(message + size - sizeof sequence, &sequence, sizeof sequence);
}

/* Add a message's two stamps to the tally; returns its sequence number (first stamp). */
static long count_message(struct tally *t, const char *message, size_t size)
{
    long first, last;
    memcpy(&first, message, sizeof first);
    memcpy(&last, message + size - sizeof last, sizeof last);
    if (first == STOP)
        return STOP;
    t->count++;
    t->first_sum += (unsigned long)first;
    t->last_sum += (unsigned long)last;
    return first;
}

/* The child: receive until STOP, then send the tally up the report pipe. */
static _Noreturn void consume(struct ipc_channels *c, size_t size, int cpu, int report_fd,
                              pid_t parent)
{
    die_with_parent(parent);
    struct ipc_endpoint e;
    if ((cpu >= 0 && ipc_pin_self(cpu) == -1) || ipc_channels_take_ends(c, 1, &e) == -1)
        _exit(2);
    char *buffer = malloc(size + c->mq_chunk); /* slack: a message queue piece lands whole */
    if (buffer == NULL)
        _exit(3);
    struct tally t = {0};
    int failed = 0;
    do {
        failed = ipc_receive(&e, buffer, size) == -1;
    } while (!failed && count_message(&t, buffer, size) != STOP);
    free(buffer); /* before _exit, or valgrind counts it as lost */
    if (failed)
        _exit(4);
    _exit(write(report_fd, &t, sizeof t) == (ssize_t)sizeof t ? 0 : 5);
}

/* The parent: send for about budget_ns, then STOP; returns the messages sent or -1. */
static long produce(const struct ipc_endpoint *e, size_t size, int64_t budget_ns)
{
    char *message = calloc(1, size);
    if (message == NULL)
        return -1;
    int64_t end = monotonic_ns() + budget_ns;
    long sent = 0;
    while (sent % 8 != 0 || monotonic_ns() < end) { /* read the clock every 8 messages */
        stamp(message, size, sent);
        if (ipc_send(e, message, size) == -1)
            break;
        sent++;
    }
    stamp(message, size, STOP);
    int failed = ipc_send(e, message, size) == -1;
    free(message);
    return failed ? -1 : sent;
}

/* The reference: the same stamps and copies, in one process, with memcpy. */
static long copy_alone(size_t size, int64_t budget_ns, struct tally *t)
{
    char *source = calloc(1, size), *target = calloc(1, size);
    long copied = -1;
    if (source && target) {
        int64_t end = monotonic_ns() + budget_ns;
        for (copied = 0; copied % 8 != 0 || monotonic_ns() < end; copied++) {
            stamp(source, size, copied);
            memcpy(target, source, size);
            count_message(t, target, size); /* reads the copy: the compiler must make it */
        }
    }
    free(source);
    free(target);
    return copied;
}

/* Does the tally match `sent` messages numbered 0 .. sent-1? */
static int tally_matches(const struct tally *t, long sent)
{
    unsigned long expected = (unsigned long)sent * (unsigned long)(sent - 1) / 2;
    return t->count == sent && t->first_sum == expected && t->last_sum == expected;
}

static int run_reference(size_t size, int64_t budget_ns, struct run_result *r)
{
    struct tally t = {0};
    long copied = copy_alone(size, budget_ns, &t);
    if (copied < 0)
        return snprintf(r->detail, sizeof r->detail, "calloc(%zu): out of memory", size), -1;
    r->ops = (double)copied;
    r->ok = tally_matches(&t, copied);
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "memcpy: the copies' stamps do not add up");
    return 0;
}

/* Say what a point really used: message-queue pieces, and a shared CPU. */
static void describe(enum ipc_mechanism m, const struct ipc_channels *c, size_t size,
                     int shared_cpu, char *detail, size_t detail_size)
{
    int n = 0;
    if (m == IPC_BY_MQUEUE && c->mq_chunk < size)
        n = snprintf(detail, detail_size,
                     "each %zu-byte message went as %zu queue messages of "
                     "%zu B (msgsize_max); ",
                     size, (size + c->mq_chunk - 1) / c->mq_chunk, c->mq_chunk);
    if (m == IPC_BY_SHM_QUEUE)
        n = snprintf(detail, detail_size, "ring of %zu slots of %zu B; ", ring_capacity(size),
                     size);
    if (shared_cpu && n >= 0 && (size_t)n < detail_size)
        snprintf(detail + n, detail_size - (size_t)n, "one usable CPU: both processes share it");
    else if (n >= 2 && (size_t)n < detail_size && detail[n - 2] == ';')
        detail[n - 2] = '\0'; /* no trailing separator when nothing follows */
}

static int run(const struct point *p, struct run_result *r)
{
    size_t size = (size_t)p->x;
    int64_t budget_ns = p->quick ? 20000000 : 50000000; /* 20 or 50 ms of streaming */
    if (p->variant == MEMCPY) /* the variant: a mechanism, or the memcpy reference */
        return run_reference(size, budget_ns, r);
    enum ipc_mechanism m = (enum ipc_mechanism)p->variant;
    int cpus[2], apart = p->cpus >= 2 && usable_cpu_ids(cpus, 2) == 2;
    cpu_set_t saved;
    int report[2];
    if (sched_getaffinity(0, sizeof saved, &saved) == -1 || pipe(report) == -1)
        return snprintf(r->detail, sizeof r->detail, "setting up: %s", strerror(errno)), -1;
    struct ipc_channels c;
    if (ipc_channels_open(&c, m, size, ring_capacity(size)) == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: setting up: %s", ipc_mechanism_names[m],
                 strerror(errno));
        ipc_channels_close(&c, NULL);
        close(report[0]);
        close(report[1]);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno)), -1;
    if (pid == 0) {
        close(report[0]);
        consume(&c, size, apart ? cpus[1] : -1, report[1], parent);
    }
    cleanup_add_child(pid);
    close(report[1]);
    struct ipc_endpoint e = {0};
    long sent = -1;
    if ((!apart || ipc_pin_self(cpus[0]) == 0) && ipc_channels_take_ends(&c, 0, &e) == 0)
        sent = produce(&e, size, budget_ns);
    int failure = errno;
    struct tally t = {0};
    if (sent == -1 || read(report[0], &t, sizeof t) != (ssize_t)sizeof t)
        kill(pid, SIGKILL); /* it may be blocked waiting for a message */
    close(report[0]);
    int child_failed = ipc_reap_peer(pid, "the consumer", r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved); /* the driver's pinning, for the next run */
    ipc_channels_close(&c, &e);
    if (sent == -1)
        return snprintf(r->detail, sizeof r->detail, "%s: %s", ipc_mechanism_names[m],
                        strerror(failure)),
               -1;
    r->ops = (double)sent;
    r->ok = !child_failed && tally_matches(&t, sent);
    if (!child_failed && !r->ok)
        snprintf(r->detail, sizeof r->detail,
                 "%s: sent %ld, the consumer counted %ld or the "
                 "sums differ",
                 ipc_mechanism_names[m], sent, t.count);
    if (r->ok)
        describe(m, &c, size, !apart, r->detail, sizeof r->detail);
    return 0;
}

/* --- the plan ------------------------------------------------------------------------------ */

static int plan(struct point *points, int max, int quick)
{
    static const long full[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};
    static const long short_plan[] = {64, 4096, 65536, 1048576};
    const long *sizes = quick ? short_plan : full;
    int nsizes = quick ? 4 : 8, count = 0;
    int two = usable_cpu_count() >= 2; /* producer and consumer apart when possible */
    for (int m = 0; m < MECHANISMS; m++)
        for (int s = 0; s < nsizes && count < max; s++) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s", series_name(m));
            p->x = (double)sizes[s];
            p->variant = m;
            p->cpus = m == MEMCPY || !two ? 1 : 2;
            p->workers = m == MEMCPY ? 1 : 2;
        }
    return count;
}

static double figure_of(const struct reduced_point *r, int n, int m, long size)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.variant == m && r[i].point.x == (double)size)
            return r[i].figure_median;
    return 0;
}

/* The two targets of the shared-memory queue, as ratios measured in the same run. */
static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    double pipe_64 = figure_of(r, n, IPC_BY_PIPE, 64);
    double shm_64 = figure_of(r, n, IPC_BY_SHM_QUEUE, 64);
    if (pipe_64 > 0 && shm_64 > 0)
        fprintf(out,
                "  64 B messages: shm queue %.1f M/s, pipe %.1f M/s: %.1fx a pipe's rate "
                "(target >= 5x)\n",
                1e3 / shm_64, 1e3 / pipe_64, pipe_64 / shm_64);
    double copy_64k = figure_of(r, n, MEMCPY, 65536);
    double shm_64k = figure_of(r, n, IPC_BY_SHM_QUEUE, 65536);
    if (copy_64k > 0 && shm_64k > 0)
        fprintf(out,
                "  64 KiB messages: shm queue %.1f GB/s, one-core memcpy %.1f GB/s: %.0f%% "
                "(target >= 40%%)\n",
                65536 / shm_64k, 65536 / copy_64k, 100 * copy_64k / shm_64k);
}

const struct workload workload_ipc_throughput = {
    .name = "ipc_throughput",
    .title = "Streaming messages from one process to another",
    .shape = SHAPE_SERIES,
    .x_label = "message size (bytes)",
    .figure_label = "time per message (ns)",
    .figure = FIGURE_NS_PER_OP,
    .plan = plan,
    .run = run,
    .summarize = summarize,
};
