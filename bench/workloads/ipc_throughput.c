#define _GNU_SOURCE
/* ipc_throughput.c - workload: how fast a stream of messages flows from one process to
 * another, against the message size (64 B .. 1 MiB), for a pipe, a FIFO, a socket pair, a
 * POSIX message queue and the shared-memory queue (lib/queues/shm_queue.h): the general queue
 * one message at a time, its SPSC mode, its batch API (32 messages a claim) and its zero-copy
 * API (the producer writes into the slot, the consumer reads the whole message there).  Two
 * references are measured in the same run: a single-core memcpy of the same size (what a copy
 * cannot beat) and, at 64 B, a stream of bare cache lines from one core to the other
 * (bench/cache_lines.h: the hardware's floor for a 64-byte message).
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

#include "cache_lines.h"
#include "ipc_channels.h"
#include "queues/shm_queue.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

/* The variants (point.variant): first the transports of ipc_channels.h, numbered as there,
 * each moving one message per call; then the general shm queue's batch and zero-copy APIs;
 * then the two references.  MEMCPY is one process copying, no second process at all. */
enum { BATCHED = IPC_MECHANISMS, ZERO_COPY, MEMCPY, LINES, VARIANTS };
enum { BATCH = 32 };         /* messages per batch call */
static const long STOP = -1; /* the sequence number that ends the stream */

/* The plot's series for a variant.  "reference: " makes plot.sh draw a horizontal line. */
static const char *series_name(int v)
{
    switch (v) {
    case BATCHED: return "shm queue, batches of 32";
    case ZERO_COPY: return "shm queue, zero copy";
    case MEMCPY: return "memcpy, one core (reference)";
    case LINES: return "reference: 64 B cache lines, one core to another, run average";
    default: return ipc_mechanism_names[v];
    }
}

/* The transport a variant streams over. */
static enum ipc_mechanism mechanism_of(int v)
{
    return v == BATCHED || v == ZERO_COPY ? IPC_BY_SHM_QUEUE : (enum ipc_mechanism)v;
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
    unsigned long word_sum;            /* zero copy: the sum of every word read in place */
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

static const int64_t WAIT_NS = IPC_WAIT_SECONDS * 1000000000LL; /* the peer is gone */

/* Batches: take up to BATCH messages a call until STOP.  0, or -1. */
static int consume_batches(const struct ipc_endpoint *e, char *buffer, size_t size, struct tally *t)
{
    for (;;) {
        size_t n = 0;
        if (shm_queue_pop_batch(e->in_q, buffer, size, BATCH, NULL, &n, WAIT_NS) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (count_message(t, buffer + i * size, size) == STOP)
                return 0;
    }
}

/* The sum of a message's 8-byte words, read once in place: four sums side by side, so the
 * loop is held up by the memory and not by one long chain of additions. */
static unsigned long sum_of_words(const void *message, size_t size)
{
    const unsigned char *bytes = message;
    unsigned long sum[4] = {0};
    size_t words = size / sizeof(unsigned long), i = 0;
    for (; i + 4 <= words; i += 4)
        for (int k = 0; k < 4; k++) {
            unsigned long word;
            memcpy(&word, bytes + (i + (size_t)k) * sizeof word, sizeof word);
            sum[k] += word;
        }
    for (; i < words; i++) {
        unsigned long word;
        memcpy(&word, bytes + i * sizeof word, sizeof word);
        sum[0] += word;
    }
    return sum[0] + sum[1] + sum[2] + sum[3];
}

/* Zero copy: read each message where it lies, every word of it, then give the slot back. */
static int consume_in_place(const struct ipc_endpoint *e, size_t size, struct tally *t)
{
    for (;;) {
        struct shm_queue_ticket ticket;
        if (shm_queue_borrow(e->in_q, &ticket, WAIT_NS) != 0 || ticket.length != size)
            return -1;
        long sequence = count_message(t, ticket.data, size);
        t->word_sum += sum_of_words(ticket.data, size);
        if (shm_queue_release(e->in_q, &ticket) != 0)
            return -1;
        if (sequence == STOP)
            return 0;
    }
}

/* The child: receive until STOP, then send the tally up the report pipe. */
static _Noreturn void consume(int variant, struct ipc_channels *c, size_t size, int cpu,
                              int report_fd, pid_t parent)
{
    die_with_parent(parent);
    struct ipc_endpoint e;
    if ((cpu >= 0 && ipc_pin_self(cpu) == -1) || ipc_channels_take_ends(c, 1, &e) == -1)
        _exit(2);
    /* slack: a message queue piece lands whole; a batch needs room for BATCH messages */
    char *buffer = malloc(variant == BATCHED ? BATCH * size : size + c->mq_chunk);
    if (buffer == NULL)
        _exit(3);
    struct tally t = {0};
    int failed = 0;
    if (variant == BATCHED)
        failed = consume_batches(&e, buffer, size, &t) == -1;
    else if (variant == ZERO_COPY)
        failed = consume_in_place(&e, size, &t) == -1;
    else
        do {
            failed = ipc_receive(&e, buffer, size) == -1;
        } while (!failed && count_message(&t, buffer, size) != STOP);
    free(buffer); /* before _exit, or valgrind counts it as lost */
    if (failed)
        _exit(4);
    _exit(write(report_fd, &t, sizeof t) == (ssize_t)sizeof t ? 0 : 5);
}

/* Push all n messages at batch, BATCH at most per call.  0, or -1. */
static int push_all(const struct ipc_endpoint *e, const char *batch, size_t size, size_t n)
{
    for (size_t done = 0; done < n;) {
        size_t pushed = 0;
        if (shm_queue_push_batch(e->out_q, batch + done * size, size, n - done, &pushed, WAIT_NS) !=
            0)
            return -1;
        done += pushed;
    }
    return 0;
}

/* Send one message along the variant's path.  0, or -1. */
static int send_one(int variant, const struct ipc_endpoint *e, const char *message, size_t size)
{
    if (variant != ZERO_COPY)
        return ipc_send(e, message, size);
    struct shm_queue_ticket ticket;
    if (shm_queue_reserve(e->out_q, &ticket, WAIT_NS) != 0)
        return -1;
    memcpy(ticket.data, message, size); /* the message is made in the slot itself */
    return shm_queue_commit(e->out_q, &ticket, size) == 0 ? 0 : -1;
}

/* The parent: send for about budget_ns, then STOP; returns the messages sent or -1. */
static long produce(int variant, const struct ipc_endpoint *e, size_t size, int64_t budget_ns)
{
    size_t per_call = variant == BATCHED ? BATCH : 1;
    char *messages = calloc(per_call, size);
    if (messages == NULL)
        return -1;
    int64_t end = monotonic_ns() + budget_ns;
    long sent = 0;
    int failed = 0;
    while (!failed && (sent % 32 != 0 || monotonic_ns() < end)) { /* the clock every 32 */
        for (size_t i = 0; i < per_call; i++)
            stamp(messages + i * size, size, sent + (long)i);
        failed = per_call > 1 ? push_all(e, messages, size, per_call) == -1
                              : send_one(variant, e, messages, size) == -1;
        sent += failed ? 0 : (long)per_call;
    }
    stamp(messages, size, STOP);
    failed = failed || (variant == BATCHED ? push_all(e, messages, size, 1)
                                           : send_one(variant, e, messages, size)) == -1;
    free(messages);
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

/* Does the tally match `sent` messages numbered 0 .. sent-1?  Zero copy read every word in
 * place: the messages are zero but for the two stamps, so the words add up to both sums. */
static int tally_matches(const struct tally *t, long sent, int variant)
{
    unsigned long expected = (unsigned long)sent * (unsigned long)(sent - 1) / 2;
    return t->count == sent && t->first_sum == expected && t->last_sum == expected &&
           (variant != ZERO_COPY || t->word_sum == 2 * expected + 2 * (unsigned long)STOP);
}

static int run_reference(size_t size, int64_t budget_ns, struct run_result *r)
{
    struct tally t = {0};
    long copied = copy_alone(size, budget_ns, &t);
    if (copied < 0)
        return snprintf(r->detail, sizeof r->detail, "calloc(%zu): out of memory", size), -1;
    r->ops = (double)copied;
    r->ok = tally_matches(&t, copied, MEMCPY);
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
    if (m == IPC_BY_SHM_QUEUE || m == IPC_BY_SHM_SPSC)
        n = snprintf(detail, detail_size, "ring of %zu slots of %zu B; ", ring_capacity(size),
                     size);
    if (shared_cpu && n >= 0 && (size_t)n < detail_size)
        snprintf(detail + n, detail_size - (size_t)n, "one usable CPU: both processes share it");
    else if (n >= 2 && (size_t)n < detail_size && detail[n - 2] == ';')
        detail[n - 2] = '\0'; /* no trailing separator when nothing follows */
}

/* The cache-line stream between the two CPUs (the plan asks for it only when there are two). */
static int run_lines(const int *cpus, int64_t budget_ns, struct run_result *r)
{
    if (cpus == NULL)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    double typical_ns;
    long lines = cache_line_stream(cpus, budget_ns, &typical_ns, r->detail, sizeof r->detail);
    if (lines < 0)
        return -1;
    r->ops = (double)lines;
    r->extra = typical_ns; /* the median stretch: the floor (cache_lines.h says why) */
    snprintf(r->detail, sizeof r->detail, "median stretch of 2048: %.1f ns a line", typical_ns);
    r->ok = 1; /* the partner checked every line's number and payload */
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    size_t size = (size_t)p->x;
    int64_t budget_ns = p->quick ? 20000000 : 50000000; /* 20 or 50 ms of streaming */
    if (p->variant == MEMCPY) /* the variant: a mechanism, or one of the references */
        return run_reference(size, budget_ns, r);
    int cpus[2], apart = p->cpus >= 2 && usable_cpu_ids(cpus, 2) == 2;
    if (p->variant == LINES)
        return run_lines(apart ? cpus : NULL, budget_ns, r);
    enum ipc_mechanism m = mechanism_of(p->variant);
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
        consume(p->variant, &c, size, apart ? cpus[1] : -1, report[1], parent);
    }
    cleanup_add_child(pid);
    close(report[1]);
    struct ipc_endpoint e = {0};
    long sent = -1;
    if ((!apart || ipc_pin_self(cpus[0]) == 0) && ipc_channels_take_ends(&c, 0, &e) == 0)
        sent = produce(p->variant, &e, size, budget_ns);
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
    r->ok = !child_failed && tally_matches(&t, sent, p->variant);
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
    for (int v = 0; v < VARIANTS; v++)
        for (int s = 0; s < nsizes && count < max; s++) {
            if (v == LINES && (sizes[s] != 64 || !two))
                continue; /* the line stream is the 64-byte floor, between two CPUs */
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s", series_name(v));
            p->x = (double)sizes[s];
            p->variant = v;
            p->cpus = v == MEMCPY || !two ? 1 : 2;
            p->workers = v == MEMCPY ? 1 : 2;
        }
    return count;
}

static const struct reduced_point *point_of(const struct reduced_point *r, int n, int v, long size)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.variant == v && r[i].point.x == (double)size)
            return &r[i];
    return NULL;
}

/* CPU time (both processes) per message: a spinning design shows its cost here. */
static double cpu_per_message(const struct reduced_point *p)
{
    return p->wall_median_ns > 0 ? p->cpu_median_ns * p->figure_median / p->wall_median_ns : 0;
}

/* One target line: what was measured, the ratio, the target, met or not. */
static void target_line(FILE *out, const char *what, double ratio, double target, const char *unit,
                        const struct reduced_point *p)
{
    fprintf(out, "  %s: %.2f%s (target >= %g%s): %s; %.0f ns of CPU per message\n", what, ratio,
            unit, target, unit, ratio >= target ? "met" : "MISSED", cpu_per_message(p));
}

/* The targets of the shared-memory queue, as ratios measured in the same run. */
static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    const struct reduced_point *pipe_64 = point_of(r, n, IPC_BY_PIPE, 64),
                               *lines = point_of(r, n, LINES, 64);
    if (pipe_64)
        fprintf(out, "  pipe, 64 B: %.2f M messages/s, %.0f ns of CPU per message\n",
                1e3 / pipe_64->figure_median, cpu_per_message(pipe_64));
    double line_ns = lines ? lines->extra_median : 0; /* the floor: the median stretch */
    if (lines)
        fprintf(out,
                "  hardware reference, 64 B cache lines core to core: %.1f ns a line, "
                "%.1f M lines/s (median stretch; %.1f ns averaged over the run)\n",
                line_ns, 1e3 / line_ns, lines->figure_median);
    static const struct {
        int variant;
        double target; /* x a pipe's rate; 0: no target, printed for comparison */
    } stream[] = {{IPC_BY_SHM_QUEUE, 20}, {IPC_BY_SHM_SPSC, 0}, {BATCHED, 50}, {ZERO_COPY, 0}};
    for (size_t i = 0; pipe_64 && i < sizeof stream / sizeof stream[0]; i++) {
        const struct reduced_point *q = point_of(r, n, stream[i].variant, 64);
        if (q == NULL)
            continue;
        char what[128];
        snprintf(what, sizeof what,
                 "64 B stream, %s: %.1f ns a message (%.0f%% of the line "
                 "reference's rate), x a pipe's rate",
                 series_name(stream[i].variant), q->figure_median,
                 line_ns > 0 ? 100 * line_ns / q->figure_median : 0);
        if (stream[i].target > 0)
            target_line(out, what, pipe_64->figure_median / q->figure_median, stream[i].target, "x",
                        q);
        else
            fprintf(out, "  %s: %.2fx; %.0f ns of CPU per message\n", what,
                    pipe_64->figure_median / q->figure_median, cpu_per_message(q));
    }
    if (pipe_64 && point_of(r, n, IPC_BY_SHM_QUEUE, 64))
        fprintf(out, "  (the 64 B stream target is >= 20x as the median over runs and >= 10x "
                     "in the worst of five; one run's figure is above)\n");
    const struct reduced_point *copy_64k = point_of(r, n, MEMCPY, 65536);
    static const struct {
        int variant;
        double target; /* % of one core's memcpy rate */
    } big[] = {{IPC_BY_SHM_QUEUE, 50}, {IPC_BY_SHM_SPSC, 0}, {ZERO_COPY, 80}};
    for (size_t i = 0; copy_64k && i < sizeof big / sizeof big[0]; i++) {
        const struct reduced_point *q = point_of(r, n, big[i].variant, 65536);
        if (q == NULL)
            continue;
        char what[128];
        snprintf(what, sizeof what, "64 KiB stream, %s: %.2f GB/s against memcpy's %.2f GB/s",
                 series_name(big[i].variant), 65536 / q->figure_median,
                 65536 / copy_64k->figure_median);
        double share = 100 * copy_64k->figure_median / q->figure_median;
        if (big[i].target > 0)
            target_line(out, what, share, big[i].target, "%", q);
        else
            fprintf(out, "  %s: %.0f%%; %.0f ns of CPU per message\n", what, share,
                    cpu_per_message(q));
    }
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
    .observe = "The shm queue's lines sit well below the kernel's (pipe, FIFO, socket, message "
               "queue): no system call per message.  At 64 B compare it with the dashed line, "
               "bare cache lines moving between the cores, the floor for any queue; at 64 KiB "
               "and up, with the memcpy line: zero copy saves the consumer's copy.",
};
