#define _GNU_SOURCE
/* ipc_throughput.c - workload: how fast a stream of messages flows from one process to
 * another, against the message size (64 B .. 1 MiB), for a pipe, a FIFO, a socket pair, a
 * POSIX message queue and the shared-memory queue (patterns/queues/shm_queue.h), with a
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
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queues/shm_queue.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

/* MEMCPY is the reference: one process copying, no second process at all. */
enum mechanism { PIPE, FIFO, SOCKETPAIR, MQUEUE, SHM_QUEUE, MEMCPY, MECHANISMS };
static const char *const mechanism_names[] = {"pipe",        "FIFO",
                                              "socket pair", "POSIX message queue",
                                              "shm queue",   "memcpy, one core (reference)"};
enum { WAIT_SECONDS = 20 };  /* a blocked hop longer than this means the peer is gone */
static const long STOP = -1; /* the sequence number that ends the stream */

/* One process's two ends: where it receives and where it sends. */
struct endpoint {
    int in_fd, out_fd;   /* pipe, FIFO, socket pair */
    mqd_t in_mq, out_mq; /* message queue */
    struct shm_queue *in_q, *out_q;
    size_t mq_chunk; /* a message queue carries at most msgsize_max per message */
};

/* --- moving one message ----------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1; /* 0: the peer closed its end early */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static struct timespec deadline_from_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t); /* mq_timed* deadlines are on CLOCK_REALTIME */
    t.tv_sec += WAIT_SECONDS;
    return t;
}

static int send_message(const struct endpoint *e, enum mechanism m, const char *p, size_t n)
{
    if (m == SHM_QUEUE)
        return shm_queue_push_timed(e->out_q, p, n, WAIT_SECONDS * 1000000000LL) ? -1 : 0;
    if (m != MQUEUE)
        return write_all(e->out_fd, p, n);
    for (size_t done = 0; done < n; done += e->mq_chunk) { /* chunks of msgsize_max at most */
        struct timespec t = deadline_from_now();
        size_t c = n - done < e->mq_chunk ? n - done : e->mq_chunk;
        if (mq_timedsend(e->out_mq, p + done, c, 0, &t) == -1)
            return -1;
    }
    return 0;
}

static int receive_message(const struct endpoint *e, enum mechanism m, char *p, size_t n)
{
    if (m == SHM_QUEUE) {
        size_t length;
        int err = shm_queue_pop_timed(e->in_q, p, n, &length, WAIT_SECONDS * 1000000000LL);
        return err || length != n ? -1 : 0;
    }
    if (m != MQUEUE)
        return read_all(e->in_fd, p, n);
    for (size_t done = 0; done < n;) {
        struct timespec t = deadline_from_now();
        ssize_t r = mq_timedreceive(e->in_mq, p + done, e->mq_chunk, NULL, &t);
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* --- making the channels ------------------------------------------------------------------ */

/* Everything made before fork, for both directions (ab: parent to child, ba: back). */
struct channels {
    int ab[2], ba[2]; /* pipes; a socket pair uses ab only (it carries both directions) */
    char fifo_ab[128], fifo_ba[128];
    mqd_t mq_ab, mq_ba;
    struct shm_queue *q_ab, *q_ba;
    size_t mq_chunk;
};

static long read_mqueue_limit(const char *file, long fallback)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", file);
    FILE *f = fopen(path, "r");
    long v = fallback;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = fallback;
        fclose(f);
    }
    return v;
}

/* A queue that carries messages of up to `chunk` bytes.  Unlinked at once: the descriptors
 * (inherited by the child) keep it alive, and nothing can be left in /dev/mqueue. */
static mqd_t open_unlinked_mqueue(size_t chunk)
{
    char name[96];
    unique_ipc_name(name, sizeof name, "bench-mq");
    long depth = read_mqueue_limit("msg_max", 10);
    struct mq_attr attr = {.mq_maxmsg = depth < 10 ? depth : 10, .mq_msgsize = (long)chunk};
    mqd_t mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (mq != (mqd_t)-1)
        mq_unlink(name);
    return mq;
}

static int make_fifo(char *path, size_t size)
{
    char name[96];
    unique_ipc_name(name, sizeof name, "bench-fifo");
    snprintf(path, size, "/tmp%s", name);
    if (mkfifo(path, 0600) == -1)
        return -1;
    cleanup_add_name(IPC_PATH, path); /* Ctrl-C before both ends are open: still removed */
    return 0;
}

/* Slot capacity of the shared-memory queue: a ring of about 2 MiB (it stays in the caches),
 * but never fewer than 8 slots, so the producer can run ahead while the consumer copies. */
static size_t ring_capacity(size_t size)
{
    size_t slots = ((size_t)2 << 20) / (size + 64);
    return slots < 8 ? 8 : slots > 256 ? 256 : slots;
}

static int open_channels(enum mechanism m, size_t size, struct channels *c)
{
    memset(c, 0, sizeof *c);
    switch (m) {
    case PIPE: return pipe(c->ab) == -1 || pipe(c->ba) == -1 ? -1 : 0;
    case SOCKETPAIR: return socketpair(AF_UNIX, SOCK_STREAM, 0, c->ab);
    case FIFO:
        return make_fifo(c->fifo_ab, sizeof c->fifo_ab) || make_fifo(c->fifo_ba, sizeof c->fifo_ba)
                   ? -1
                   : 0;
    case MQUEUE: {
        size_t limit = (size_t)read_mqueue_limit("msgsize_max", 8192);
        c->mq_chunk = size < limit ? size : limit; /* larger messages go in several pieces */
        c->mq_ab = open_unlinked_mqueue(c->mq_chunk);
        c->mq_ba = open_unlinked_mqueue(c->mq_chunk);
        return c->mq_ab == (mqd_t)-1 || c->mq_ba == (mqd_t)-1 ? -1 : 0;
    }
    case SHM_QUEUE: {
        int err = shm_queue_create(&c->q_ab, NULL, size, ring_capacity(size));
        if (!err)
            err = shm_queue_create(&c->q_ba, NULL, size, ring_capacity(size));
        errno = err;
        return err ? -1 : 0;
    }
    default: return -1;
    }
}

/* This process's ends after fork; the ends that belong to the other process are closed.
 * The FIFOs are opened in the same order on both sides (ab, then ba), so neither open()
 * waits for an open the other side has not reached. */
static int take_ends(enum mechanism m, struct channels *c, struct endpoint *e, int child)
{
    memset(e, 0, sizeof *e);
    e->mq_chunk = c->mq_chunk;
    switch (m) {
    case PIPE:
        close(child ? c->ab[1] : c->ab[0]);
        close(child ? c->ba[0] : c->ba[1]);
        e->in_fd = child ? c->ab[0] : c->ba[0];
        e->out_fd = child ? c->ba[1] : c->ab[1];
        return 0;
    case SOCKETPAIR:
        close(c->ab[child ? 0 : 1]);
        e->in_fd = e->out_fd = c->ab[child ? 1 : 0];
        return 0;
    case FIFO:
        e->in_fd = e->out_fd = -1;
        if (child) {
            e->in_fd = open(c->fifo_ab, O_RDONLY);
            e->out_fd = open(c->fifo_ba, O_WRONLY);
        } else {
            e->out_fd = open(c->fifo_ab, O_WRONLY);
            e->in_fd = open(c->fifo_ba, O_RDONLY);
        }
        return e->in_fd == -1 || e->out_fd == -1 ? -1 : 0;
    case MQUEUE:
        e->in_mq = child ? c->mq_ab : c->mq_ba;
        e->out_mq = child ? c->mq_ba : c->mq_ab;
        return 0;
    case SHM_QUEUE:
        e->in_q = child ? c->q_ab : c->q_ba;
        e->out_q = child ? c->q_ba : c->q_ab;
        return 0;
    default: return -1;
    }
}

/* The parent's clean-up after the child is reaped. */
static void close_everything(enum mechanism m, struct channels *c, struct endpoint *e)
{
    if (m == PIPE || m == SOCKETPAIR || m == FIFO) {
        if (e->in_fd > 0)
            close(e->in_fd);
        if (e->out_fd > 0 && e->out_fd != e->in_fd)
            close(e->out_fd);
    }
    if (m == FIFO)
        for (int i = 0; i < 2; i++) {
            const char *path = i ? c->fifo_ba : c->fifo_ab;
            if (path[0]) {
                unlink(path);
                cleanup_forget_name(path);
            }
        }
    if (m == MQUEUE) {
        if (c->mq_ab != (mqd_t)-1 && c->mq_ab != 0)
            mq_close(c->mq_ab);
        if (c->mq_ba != (mqd_t)-1 && c->mq_ba != 0)
            mq_close(c->mq_ba);
    }
    if (c->q_ab)
        shm_queue_detach(c->q_ab);
    if (c->q_ba)
        shm_queue_detach(c->q_ba);
}

/* Put this process on one CPU (for the different-CPU points). */
static int pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
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
static _Noreturn void consume(enum mechanism m, struct channels *c, size_t size, int cpu,
                              int report_fd, pid_t parent)
{
    die_with_parent(parent);
    struct endpoint e;
    if ((cpu >= 0 && pin_self(cpu) == -1) || take_ends(m, c, &e, 1) == -1)
        _exit(2);
    char *buffer = malloc(size + c->mq_chunk); /* slack: a message queue piece lands whole */
    if (buffer == NULL)
        _exit(3);
    struct tally t = {0};
    int failed = 0;
    do {
        failed = receive_message(&e, m, buffer, size) == -1;
    } while (!failed && count_message(&t, buffer, size) != STOP);
    free(buffer); /* before _exit, or valgrind counts it as lost */
    if (failed)
        _exit(4);
    _exit(write(report_fd, &t, sizeof t) == (ssize_t)sizeof t ? 0 : 5);
}

/* The parent: send for about budget_ns, then STOP; returns the messages sent or -1. */
static long produce(enum mechanism m, struct endpoint *e, size_t size, int64_t budget_ns)
{
    char *message = calloc(1, size);
    if (message == NULL)
        return -1;
    int64_t end = monotonic_ns() + budget_ns;
    long sent = 0;
    while (sent % 8 != 0 || monotonic_ns() < end) { /* read the clock every 8 messages */
        stamp(message, size, sent);
        if (send_message(e, m, message, size) == -1)
            break;
        sent++;
    }
    stamp(message, size, STOP);
    int failed = send_message(e, m, message, size) == -1;
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

/* Reap the child; 0 if it exited with 0, else describe its end in detail. */
static int reap(pid_t pid, char *detail, size_t size)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    cleanup_forget_child(pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(detail, size, "the consumer exited with %d", WEXITSTATUS(status));
    else
        snprintf(detail, size, "the consumer was killed by signal %d", WTERMSIG(status));
    return -1;
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
static void describe(enum mechanism m, const struct channels *c, size_t size, int shared_cpu,
                     char *detail, size_t detail_size)
{
    int n = 0;
    if (m == MQUEUE && c->mq_chunk < size)
        n = snprintf(detail, detail_size,
                     "each %zu-byte message went as %zu queue messages of "
                     "%zu B (msgsize_max); ",
                     size, (size + c->mq_chunk - 1) / c->mq_chunk, c->mq_chunk);
    if (m == SHM_QUEUE)
        n = snprintf(detail, detail_size, "ring of %zu slots of %zu B; ", ring_capacity(size),
                     size);
    if (shared_cpu && n >= 0 && (size_t)n < detail_size)
        snprintf(detail + n, detail_size - (size_t)n, "one usable CPU: both processes share it");
    else if (n >= 2 && (size_t)n < detail_size && detail[n - 2] == ';')
        detail[n - 2] = '\0'; /* no trailing separator when nothing follows */
}

static int run(const struct point *p, struct run_result *r)
{
    enum mechanism m = (enum mechanism)(p->param & 0xf);
    size_t size = (size_t)(p->param >> 8);
    int64_t budget_ns = p->quick ? 20000000 : 50000000; /* 20 or 50 ms of streaming */
    if (m == MEMCPY)
        return run_reference(size, budget_ns, r);
    int cpus[2], apart = p->cpus >= 2 && usable_cpu_ids(cpus, 2) == 2;
    cpu_set_t saved;
    int report[2];
    if (sched_getaffinity(0, sizeof saved, &saved) == -1 || pipe(report) == -1)
        return snprintf(r->detail, sizeof r->detail, "setting up: %s", strerror(errno)), -1;
    struct channels c;
    if (open_channels(m, size, &c) == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: setting up: %s", mechanism_names[m],
                 strerror(errno));
        close_everything(m, &c, &(struct endpoint){0});
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
        consume(m, &c, size, apart ? cpus[1] : -1, report[1], parent);
    }
    cleanup_add_child(pid);
    close(report[1]);
    struct endpoint e = {0};
    long sent = -1;
    if ((!apart || pin_self(cpus[0]) == 0) && take_ends(m, &c, &e, 0) == 0)
        sent = produce(m, &e, size, budget_ns);
    int failure = errno;
    struct tally t = {0};
    if (sent == -1 || read(report[0], &t, sizeof t) != (ssize_t)sizeof t)
        kill(pid, SIGKILL); /* it may be blocked waiting for a message */
    close(report[0]);
    int child_failed = reap(pid, r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved); /* the driver's pinning, for the next run */
    close_everything(m, &c, &e);
    if (sent == -1)
        return snprintf(r->detail, sizeof r->detail, "%s: %s", mechanism_names[m],
                        strerror(failure)),
               -1;
    r->ops = (double)sent;
    r->ok = !child_failed && tally_matches(&t, sent);
    if (!child_failed && !r->ok)
        snprintf(r->detail, sizeof r->detail,
                 "%s: sent %ld, the consumer counted %ld or the "
                 "sums differ",
                 mechanism_names[m], sent, t.count);
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
            snprintf(p->series, sizeof p->series, "%s", mechanism_names[m]);
            p->x = (double)sizes[s];
            p->param = (sizes[s] << 8) | m;
            p->cpus = m == MEMCPY || !two ? 1 : 2;
            p->workers = m == MEMCPY ? 1 : 2;
        }
    return count;
}

static double figure_of(const struct reduced_point *r, int n, int m, long size)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.param == ((size << 8) | m))
            return r[i].figure_median;
    return 0;
}

/* The two targets of the shared-memory queue, as ratios measured in the same run. */
static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    double pipe_64 = figure_of(r, n, PIPE, 64), shm_64 = figure_of(r, n, SHM_QUEUE, 64);
    if (pipe_64 > 0 && shm_64 > 0)
        fprintf(out,
                "  64 B messages: shm queue %.1f M/s, pipe %.1f M/s: %.1fx a pipe's rate "
                "(target >= 5x)\n",
                1e3 / shm_64, 1e3 / pipe_64, pipe_64 / shm_64);
    double copy_64k = figure_of(r, n, MEMCPY, 65536), shm_64k = figure_of(r, n, SHM_QUEUE, 65536);
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
