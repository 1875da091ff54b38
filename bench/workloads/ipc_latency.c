#define _GNU_SOURCE
/* ipc_latency.c - workload: the round-trip time of a small message between two processes, for
 * five ways of passing it: a pipe, a FIFO, a socket pair, a POSIX message queue and the
 * shared-memory queue (patterns/queues/shm_queue.h).
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

enum mechanism { PIPE, FIFO, SOCKETPAIR, MQUEUE, SHM_QUEUE, MECHANISMS };
static const char *const mechanism_names[] = {"pipe", "FIFO", "socket pair", "POSIX message queue",
                                              "shm queue"};
enum { WAIT_SECONDS = 20 };  /* a blocked hop longer than this means the peer is gone */
static const long STOP = -1; /* the sequence number that ends the ping-pong */

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

/* Slot capacity of the shared-memory queues: a ring of about 1 MiB, 4 .. 256 slots. */
static size_t ring_capacity(size_t size)
{
    size_t slots = ((size_t)1 << 20) / (size + 64);
    return slots < 4 ? 4 : slots > 256 ? 256 : slots;
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

/* --- the ping-pong ------------------------------------------------------------------------- */

enum placement { SAME_CPU, DIFFERENT_CPUS };

/* The child: send back every message it receives, until the one marked STOP. */
static _Noreturn void echo(enum mechanism m, struct channels *c, size_t size, int cpu, pid_t parent)
{
    die_with_parent(parent);
    struct endpoint e;
    if ((cpu >= 0 && pin_self(cpu) == -1) || take_ends(m, c, &e, 1) == -1)
        _exit(2);
    char *buffer = malloc(size + c->mq_chunk); /* slack: a message queue piece lands whole */
    if (buffer == NULL)
        _exit(3);
    long sequence = 0;
    int failed = 0;
    do {
        failed =
            receive_message(&e, m, buffer, size) == -1 || send_message(&e, m, buffer, size) == -1;
        memcpy(&sequence, buffer, sizeof sequence);
    } while (!failed && sequence != STOP);
    free(buffer); /* before _exit, or valgrind counts it as lost */
    _exit(failed ? 4 : 0);
}

/* One round trip carrying `sequence`; returns the number that came back, or -2 on failure. */
static long round_trip(enum mechanism m, struct endpoint *e, char *buffer, size_t size,
                       long sequence)
{
    memcpy(buffer, &sequence, sizeof sequence); /* the sequence number travels in the message */
    if (send_message(e, m, buffer, size) == -1 || receive_message(e, m, buffer, size) == -1)
        return -2;
    long echoed;
    memcpy(&echoed, buffer, sizeof echoed);
    return echoed;
}

/* The parent's side: round trips for about budget_ns, then STOP.  Returns the round trips
 * done (*wrong: how many echoes came back wrong), or -1 on failure.  Time-boxed rather than
 * counted: a wake-up on another CPU costs 5 us on one machine and 100 us on a busy VM, and
 * the plan must stay short on both. */
static long ping(enum mechanism m, struct endpoint *e, size_t size, size_t slack, int64_t budget_ns,
                 long *wrong)
{
    char *buffer = calloc(1, size + slack);
    if (buffer == NULL)
        return -1;
    int64_t end = monotonic_ns() + budget_ns;
    long done = 0;
    *wrong = 0;
    while (done % 16 != 0 || monotonic_ns() < end) { /* read the clock every 16 trips */
        long echoed = round_trip(m, e, buffer, size, done);
        if (echoed == -2)
            break;
        *wrong += echoed != done;
        done++;
    }
    int failed = round_trip(m, e, buffer, size, STOP) != STOP;
    free(buffer);
    return failed ? -1 : done;
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
        snprintf(detail, size, "the echo process exited with %d", WEXITSTATUS(status));
    else
        snprintf(detail, size, "the echo process was killed by signal %d", WTERMSIG(status));
    return -1;
}

static int run(const struct point *p, struct run_result *r)
{
    enum mechanism m = (enum mechanism)(p->param & 0xf);
    enum placement where = (enum placement)((p->param >> 4) & 1);
    size_t size = (size_t)(p->param >> 8);
    int64_t budget_ns = p->quick ? 40000000 : 60000000; /* 40 or 60 ms of round trips */
    int cpus[2];
    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) == -1)
        return snprintf(r->detail, sizeof r->detail, "sched_getaffinity: %s", strerror(errno)), -1;
    if (where == DIFFERENT_CPUS && usable_cpu_ids(cpus, 2) < 2)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    struct channels c;
    if (open_channels(m, size, &c) == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: setting up: %s", mechanism_names[m],
                 strerror(errno));
        close_everything(m, &c, &(struct endpoint){0});
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno)), -1;
    if (pid == 0)
        echo(m, &c, size, where == DIFFERENT_CPUS ? cpus[1] : -1, parent);
    cleanup_add_child(pid);
    struct endpoint e = {0};
    long wrong = 0, n = -1;
    if ((where == SAME_CPU || pin_self(cpus[0]) == 0) && take_ends(m, &c, &e, 0) == 0)
        n = ping(m, &e, size, c.mq_chunk, budget_ns, &wrong);
    int failure = errno;
    if (n == -1)
        kill(pid, SIGKILL); /* it may be blocked waiting for us */
    int child_failed = reap(pid, r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved); /* the driver's pinning, for the next run */
    close_everything(m, &c, &e);
    if (n == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: %s", mechanism_names[m], strerror(failure));
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
        for (int m = 0; m < MECHANISMS; m++)
            for (int s = 0; s < nsizes && count < max; s++) {
                struct point *p = &points[count++];
                snprintf(p->series, sizeof p->series, "%s, %s", mechanism_names[m],
                         where == SAME_CPU ? "same CPU" : "different CPUs");
                p->x = (double)sizes[s];
                p->param = (sizes[s] << 8) | (where << 4) | m;
                p->cpus = where == SAME_CPU ? 1 : 2; /* the driver drops 2 on a 1-CPU machine */
                p->workers = 2;
            }
    return count;
}

/* The 64-byte round trip of a mechanism at a placement, or 0 if it was not measured. */
static double figure_at_64(const struct reduced_point *r, int n, int m, int where)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.param == ((64L << 8) | (where << 4) | m))
            return r[i].figure_median;
    return 0;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    for (int where = SAME_CPU; where <= DIFFERENT_CPUS; where++) {
        double pipe_ns = figure_at_64(r, n, PIPE, where);
        double shm_ns = figure_at_64(r, n, SHM_QUEUE, where);
        if (pipe_ns > 0 && shm_ns > 0)
            fprintf(out, "  64 B round trip, %s: pipe %.1f us, shm queue %.1f us (%.1fx %s)\n",
                    where == SAME_CPU ? "same CPU" : "different CPUs", pipe_ns / 1e3, shm_ns / 1e3,
                    pipe_ns > shm_ns ? pipe_ns / shm_ns : shm_ns / pipe_ns,
                    pipe_ns > shm_ns ? "faster" : "slower");
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
