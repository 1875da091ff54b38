#define _GNU_SOURCE
/* ipc_wakeup.c - workload: how long a message takes to reach a consumer that had gone to
 * sleep waiting for it, and what the waiting costs in CPU time, for a pipe, a bare futex and
 * the shared-memory queue (lib/queues/shm_queue.h).
 *
 * The consumer runs on the second CPU and waits; the producer sleeps a while (well past the
 * queue's spin before it sleeps, so the consumer is really asleep), reads the clock, sends the
 * time as the message, and sleeps again.  The consumer reads the clock when the message is in
 * its hands: the difference is one wake-up's latency (CLOCK_MONOTONIC is the same clock in
 * both processes).  A run takes a fixed number of wake-ups; x says which percentile of them
 * is the figure (50: the median, 99: the tail that a pipe or a futex is judged by).
 *
 * Before the wake-ups, the consumer waits once for 21 ms with nothing coming, and the producer
 * reads the consumer's CPU-time clock (clock_getcpuclockid) from outside, three times: when the
 * wait begins, 1 ms later, and just before it sends the message that ends the wait.  The first
 * millisecond is the cost of starting to wait (the queue's spin of up to 20 us before it sleeps,
 * the first touches of the channel's pages): reported per wait, in microseconds.  The 20 ms
 * after it are the waiting itself: the share of a CPU a consumer burns while it waits ("zero
 * CPU while idle" is the queue's target; a design that spins for ever shows 100% here, and one
 * that spins for long shows in the first figure).  Neither holds the wake-up that ends the
 * wait: that costs latency, measured below.

 * Every message carries its sequence number beside the time; the consumer checks that they
 * arrive in order, one each.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ipc_channels.h"
#include "queues/shm_queue.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/full_io.h"
#include "workload.h"

enum waker { BY_PIPE, BY_FUTEX, BY_SHM_QUEUE, WAKERS };
static const char *const waker_names[WAKERS] = {"pipe", "futex", "shm queue"};
static const int64_t SETTLE_NS = 1000000; /* the start of a wait: spin, fall asleep */
static const int64_t IDLE_NS = 20000000;  /* then the idle wait whose CPU time is measured */
static const int64_t GAP_NS = 300000;     /* between wake-ups: 15 times the queue's spin */

/* What one message says. */
struct wake_message {
    int64_t sent_ns;  /* the producer's clock just before sending */
    int64_t sequence; /* 0, 1, ...; -1 is the idle phase's release */
};

/* The futex channel: a counter the consumer sleeps on and the message beside it. */
struct futex_channel {
    _Atomic uint32_t word;
    struct wake_message message;
};

/* Everything made before fork; one of the three is used. */
struct channel {
    enum waker how;
    int fds[2];
    struct futex_channel *futex;
    struct shm_queue *queue;
};

static int open_channel(struct channel *c, enum waker how)
{
    memset(c, 0, sizeof *c);
    c->how = how;
    c->fds[0] = c->fds[1] = -1;
    if (how == BY_PIPE)
        return pipe(c->fds);
    if (how == BY_FUTEX) {
        c->futex =
            mmap(NULL, sizeof *c->futex, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return c->futex == MAP_FAILED ? (c->futex = NULL, -1) : 0;
    }
    int err = shm_queue_create(&c->queue, NULL, sizeof(struct wake_message), 16);
    return err ? (errno = err, -1) : 0;
}

static void close_channel(struct channel *c)
{
    for (int i = 0; i < 2; i++)
        if (c->fds[i] >= 0)
            close(c->fds[i]);
    if (c->futex)
        munmap(c->futex, sizeof *c->futex);
    if (c->queue)
        shm_queue_detach(c->queue);
}

static int send_message(struct channel *c, const struct wake_message *m)
{
    if (c->how == BY_PIPE)
        return write(c->fds[1], m, sizeof *m) == (ssize_t)sizeof *m ? 0 : -1;
    if (c->how == BY_SHM_QUEUE)
        return shm_queue_push(c->queue, m, sizeof *m) == 0 ? 0 : -1;
    /* The consumer takes one message at a time and answers before the next (see consume),
     * so one message slot is enough.  The word's RELEASE increment publishes it. */
    c->futex->message = *m;
    atomic_fetch_add_explicit(&c->futex->word, 1, memory_order_release);
    return syscall(SYS_futex, (void *)&c->futex->word, FUTEX_WAKE, 1, NULL, NULL, 0) == -1 ? -1 : 0;
}

/* Wait for message number `index` (0, 1, ...: how many came before). */
static int receive_message(struct channel *c, uint32_t index, struct wake_message *m)
{
    if (c->how == BY_PIPE)
        return read(c->fds[0], m, sizeof *m) == (ssize_t)sizeof *m ? 0 : -1;
    if (c->how == BY_SHM_QUEUE)
        return shm_queue_pop_timed(c->queue, m, sizeof *m, NULL, IPC_WAIT_SECONDS * 1000000000LL) ==
                       0
                   ? 0
                   : -1;
    struct timespec limit = {.tv_sec = IPC_WAIT_SECONDS};
    while (atomic_load_explicit(&c->futex->word, memory_order_acquire) == index)
        if (syscall(SYS_futex, (void *)&c->futex->word, FUTEX_WAIT, index, &limit, NULL, 0) == -1 &&
            errno != EAGAIN && errno != EINTR)
            return -1; /* ETIMEDOUT: the producer is gone */
    *m = c->futex->message;
    return 0;
}

/* What the producer measured of the consumer's idle wait. */
struct idle_measure {
    int64_t settle_cpu_ns;   /* CPU time in the wait's first SETTLE_NS */
    int64_t cpu_ns, wall_ns; /* CPU time over the idle window after it, and its length */
};

/* The child: the idle wait, then `count` wake-ups; report their latencies on report_fd.  An answer
 * pipe tells the producer each message was taken (the futex channel has room for one), and
 * the next is sent only after a sleep, to a consumer that waits again. */
static _Noreturn void consume(struct channel *c, int cpu, int count, int report_fd, int answer_fd,
                              pid_t parent)
{
    die_with_parent(parent);
    int64_t *latency = malloc((size_t)count * sizeof *latency);
    if (latency == NULL || ipc_pin_self(cpu) == -1)
        _exit(2);
    struct wake_message m;
    char ok = 1;
    /* Ready: the producer starts the idle time only now, so a consumer that was slow to be
     * scheduled (a loaded machine) does not find the message already there. */
    if (write(answer_fd, &ok, 1) != 1)
        _exit(6);
    if (receive_message(c, 0, &m) == -1)
        _exit(errno == ETIMEDOUT ? 8 : 3);
    if (m.sequence != -1)
        _exit(9);
    if (write(answer_fd, &ok, 1) != 1) /* every message is answered, the idle one too */
        _exit(6);
    for (int i = 0; i < count; i++) {
        if (receive_message(c, (uint32_t)i + 1, &m) == -1)
            _exit(4);
        latency[i] = monotonic_ns() - m.sent_ns;
        if (m.sequence != i)
            _exit(5);
        if (write(answer_fd, &ok, 1) != 1)
            _exit(6);
    }
    int failed = write(report_fd, latency, (size_t)count * sizeof *latency) !=
                 (ssize_t)((size_t)count * sizeof *latency);
    free(latency);
    _exit(failed ? 7 : 0);
}

/* The consumer's CPU time so far, read from its CPU-time clock; -1 on failure. */
static int64_t cpu_ns_of(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) == -1)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The parent: the idle phase, measured from outside, and its release; then the wake-ups,
 * each after a sleep. */
static int produce(struct channel *c, pid_t consumer, int count, int answer_fd,
                   struct idle_measure *idle)
{
    char ok;
    clockid_t clock;
    if (read(answer_fd, &ok, 1) != 1) /* the consumer is ready to wait */
        return -1;
    if ((errno = clock_getcpuclockid(consumer, &clock)) != 0)
        return -1;
    int64_t start = cpu_ns_of(clock);
    sleep_ns(SETTLE_NS);
    int64_t cpu0 = cpu_ns_of(clock), wall0 = monotonic_ns();
    sleep_ns(IDLE_NS);
    int64_t cpu1 = cpu_ns_of(clock), wall1 = monotonic_ns();
    if (start < 0 || cpu0 < 0 || cpu1 < 0)
        return -1;
    idle->settle_cpu_ns = cpu0 - start;
    idle->cpu_ns = cpu1 - cpu0;
    idle->wall_ns = wall1 - wall0;
    struct wake_message m = {.sent_ns = monotonic_ns(), .sequence = -1};
    if (send_message(c, &m) == -1 || read(answer_fd, &ok, 1) != 1)
        return -1;
    for (int i = 0; i < count; i++) {
        sleep_ns(GAP_NS);
        m.sequence = i;
        m.sent_ns = monotonic_ns();
        if (send_message(c, &m) == -1 || read(answer_fd, &ok, 1) != 1)
            return -1;
    }
    return 0;
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The highest idle share and start-of-wait cost a run of each waker has shown, for the
 * summary. */
static double idle_share_seen[WAKERS], settle_us_seen[WAKERS];
static int idle_measured[WAKERS];

/* Read the consumer's report and fill the result: the percentile x of the latencies, and the
 * idle share the producer measured. */
static int take_report(int fd, int count, double percentile, enum waker how,
                       const struct idle_measure *idle, struct run_result *r)
{
    int64_t *latency = malloc((size_t)count * sizeof *latency);
    if (latency == NULL)
        return -1;
    size_t bytes = (size_t)count * sizeof *latency;
    int failed = read_fully(fd, latency, bytes) != (ssize_t)bytes;
    if (!failed) {
        qsort(latency, (size_t)count, sizeof *latency, compare_int64);
        int at = (int)(percentile / 100 * (count - 1) + 0.5);
        r->extra = (double)latency[at];
        double share = idle->wall_ns > 0 ? (double)idle->cpu_ns / (double)idle->wall_ns : 0;
        double settle_us = (double)idle->settle_cpu_ns / 1e3;
        if (!idle_measured[how] || share > idle_share_seen[how])
            idle_share_seen[how] = share;
        if (!idle_measured[how] || settle_us > settle_us_seen[how])
            settle_us_seen[how] = settle_us;
        idle_measured[how] = 1;
        snprintf(r->detail, sizeof r->detail,
                 "%d wake-ups %.0f us apart; CPU while idle %.2f%%, %.0f us to start waiting",
                 count, GAP_NS / 1e3, 100 * share, settle_us);
    }
    free(latency);
    return failed ? -1 : 0;
}

static int run(const struct point *p, struct run_result *r)
{
    enum waker how = (enum waker)p->variant;
    int count = p->quick == 2 ? 20 : p->quick ? 100 : 300;
    int cpus[2], report[2] = {-1, -1}, answer[2] = {-1, -1};
    cpu_set_t saved;
    if (usable_cpu_ids(cpus, 2) < 2)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    struct channel c;
    if (sched_getaffinity(0, sizeof saved, &saved) == -1 || pipe(report) == -1 ||
        pipe(answer) == -1 || open_channel(&c, how) == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: setting up: %s", waker_names[how],
                 strerror(errno));
        return -1; /* the driver stops: what was opened goes with the process */
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno)), -1;
    if (pid == 0) {
        close(report[0]);
        close(answer[0]);
        consume(&c, cpus[1], count, report[1], answer[1], parent);
    }
    cleanup_add_child(pid);
    close(report[1]);
    close(answer[1]);
    struct idle_measure idle = {0, 0, 0};
    int failed = ipc_pin_self(cpus[0]) == -1 || produce(&c, pid, count, answer[0], &idle) == -1 ||
                 take_report(report[0], count, p->x, how, &idle, r) == -1;
    if (failed)
        kill(pid, SIGKILL); /* it may be waiting for a message that will not come */
    int child_failed = ipc_reap_peer(pid, "the consumer", r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved);
    close(report[0]);
    close(answer[0]);
    close_channel(&c);
    r->ops = count;
    r->ok = !failed && !child_failed;
    if (failed && !child_failed)
        snprintf(r->detail, sizeof r->detail, "%s: the wake-ups did not complete",
                 waker_names[how]);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    int count = 0;
    if (usable_cpu_count() < 2)
        return 0; /* a wake-up on another CPU needs another CPU */
    static const double percentiles[] = {50, 99};
    for (int w = 0; w < WAKERS; w++)
        for (int k = 0; k < 2 && count < max; k++) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s", waker_names[w]);
            p->x = percentiles[k];
            p->variant = w;
            p->cpus = 2;
            p->workers = 2;
        }
    return count;
}

static double latency_at(const struct reduced_point *r, int n, int w, double percentile)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.variant == w && r[i].point.x == percentile)
            return r[i].figure_median;
    return 0;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    for (int w = 0; w < WAKERS; w++)
        if (latency_at(r, n, w, 50) > 0)
            fprintf(out,
                    "  waking a sleeping consumer, %s: p50 %.1f us, p99 %.1f us; CPU while "
                    "idle at most %.2f%%, at most %.0f us of CPU to start a wait\n",
                    waker_names[w], latency_at(r, n, w, 50) / 1e3, latency_at(r, n, w, 99) / 1e3,
                    100 * idle_share_seen[w], settle_us_seen[w]);
    double queue_99 = latency_at(r, n, BY_SHM_QUEUE, 99), pipe_99 = latency_at(r, n, BY_PIPE, 99);
    if (queue_99 > 0 && pipe_99 > 0)
        fprintf(out, "  shm queue's p99 wake-up = %.2fx a pipe's (target <= 1x): %s\n",
                queue_99 / pipe_99, queue_99 <= pipe_99 ? "met" : "MISSED");
    if (idle_measured[BY_SHM_QUEUE])
        fprintf(out,
                "  shm queue's CPU while idle: %.3f%% of a CPU (target: zero, i.e. below "
                "0.5%%, what reading its clock from outside costs): %s\n",
                100 * idle_share_seen[BY_SHM_QUEUE],
                idle_share_seen[BY_SHM_QUEUE] < 0.005 ? "met" : "MISSED");
}

const struct workload workload_ipc_wakeup = {
    .name = "ipc_wakeup",
    .title = "Waking a consumer that sleeps on an empty channel",
    .shape = SHAPE_SERIES,
    .x_label = "percentile of the wake-ups",
    .figure_label = "push-to-pop time after a sleep (ns)",
    .figure = FIGURE_EXTRA,
    .plan = plan,
    .run = run,
    .summarize = summarize,
    .observe = "Once the consumer sleeps in the kernel, every mechanism pays for a wake-up on "
               "the other CPU: the queue's futex is no slower than a pipe's read, and the tail "
               "(p99) is where a loaded machine shows.  Idle, none of them uses the CPU.",
};
