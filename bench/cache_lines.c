/* cache_lines.c - see cache_lines.h. */
#define _GNU_SOURCE
#include "cache_lines.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc_channels.h"
#include "statistics.h"
#include "support/cleanup.h"
#include "support/clock.h"

enum { LINE = 64, RING_LINES = 64, ACK_EVERY = 16 };
enum { STRETCH = 256 }; /* round trips per timed stretch (the stream: 8 times as many lines) */

/* One line of the stream: its sequence number (position + 1 once written) and a payload. */
struct line {
    alignas(LINE) _Atomic uint64_t seq;
    unsigned char payload[LINE - sizeof(uint64_t)];
};

/* What the two processes share; each field on its own line. */
struct shared_lines {
    alignas(LINE) _Atomic uint64_t ball;       /* the round trip's line */
    alignas(LINE) _Atomic uint64_t read_up_to; /* the stream: B's progress, for A's flow control */
    alignas(LINE) _Atomic int failed;          /* B saw a wrong number or lost A */
    struct line ring[RING_LINES];
};

static inline void pause_once(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* One look of a spin that has not seen its value yet: pause, and every few thousand looks read
 * the clock (so it costs the wait nothing).  Returns 1 once IPC_WAIT_SECONDS have passed since
 * the first reading, which *give_up (0 at the start) remembers. */
static int spin_gave_up(unsigned spins, int64_t *give_up)
{
    pause_once();
    if (spins % 4096 != 0)
        return 0;
    int64_t now = monotonic_ns();
    if (*give_up == 0)
        *give_up = now + (int64_t)IPC_WAIT_SECONDS * 1000000000;
    return now > *give_up;
}

/* Spin until *word == want; 0, or -1 if IPC_WAIT_SECONDS pass first. */
static int spin_until_equal(_Atomic uint64_t *word, uint64_t want)
{
    int64_t give_up = 0;
    for (unsigned spins = 1; atomic_load_explicit(word, memory_order_acquire) != want; spins++)
        if (spin_gave_up(spins, &give_up))
            return -1;
    return 0;
}

int spin_until_at_least(_Atomic uint64_t *word, uint64_t want, uint64_t *seen)
{
    int64_t give_up = 0;
    for (unsigned spins = 1; (*seen = atomic_load_explicit(word, memory_order_acquire)) < want;
         spins++)
        if (spin_gave_up(spins, &give_up))
            return -1;
    return 0;
}

static const uint64_t STOP = UINT64_MAX; /* ends either exchange */

/* B of the round trip: answer every odd number n with n + 1, until STOP. */
static int bounce(struct shared_lines *s)
{
    for (uint64_t n = 1;; n += 2) {
        uint64_t seen;
        if (spin_until_at_least(&s->ball, n, &seen) == -1)
            return -1;
        if (seen == STOP)
            return 0;
        if (seen != n)
            return -1; /* a number skipped or repeated */
        atomic_store_explicit(&s->ball, n + 1, memory_order_release);
    }
}

/* B of the stream: read lines in order until STOP, acknowledging every ACK_EVERY. */
static int drain(struct shared_lines *s)
{
    unsigned long sum = 0;
    for (uint64_t pos = 0;; pos++) {
        struct line *l = &s->ring[pos % RING_LINES];
        uint64_t seen;
        if (spin_until_at_least(&l->seq, pos + 1, &seen) == -1)
            return -1;
        if (seen == STOP)
            break;
        if (seen != pos + 1)
            return -1;
        uint64_t stamp;
        memcpy(&stamp, l->payload, sizeof stamp); /* read the payload, as a consumer would */
        sum += stamp != pos;
        if ((pos + 1) % ACK_EVERY == 0)
            atomic_store_explicit(&s->read_up_to, pos + 1, memory_order_release);
    }
    return sum == 0 ? 0 : -1;
}

/* The timed stretches of one run: ns per operation of each, grown as they come. */
struct stretches {
    double *per_op;
    int count, room;
    int out_of_memory;
};

static void add_stretch(struct stretches *t, int64_t ns, long operations)
{
    if (t->count == t->room) {
        int room = t->room ? 2 * t->room : 1024;
        double *grown = realloc(t->per_op, (size_t)room * sizeof *grown);
        if (grown == NULL) {
            t->out_of_memory = 1;
            return;
        }
        t->per_op = grown, t->room = room;
    }
    t->per_op[t->count++] = (double)ns / (double)operations;
}

/* Fork B on cpus[1], pinned; run A's side on cpus[0]; reap B.  A returns the count or -1. */
static long with_partner(const int cpus[2], int (*partner)(struct shared_lines *),
                         long (*side_a)(struct shared_lines *, int64_t, struct stretches *),
                         int64_t budget_ns, double *typical_ns, char *detail, size_t size)
{
    struct shared_lines *s =
        mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return snprintf(detail, size, "mmap: %s", strerror(errno)), -1;
    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) == -1) {
        snprintf(detail, size, "sched_getaffinity: %s", strerror(errno));
        munmap(s, sizeof *s);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        snprintf(detail, size, "fork: %s", strerror(errno));
        munmap(s, sizeof *s);
        return -1;
    }
    if (pid == 0) {
        die_with_parent(parent);
        _exit(ipc_pin_self(cpus[1]) == -1 || partner(s) == -1 ? 1 : 0);
    }
    cleanup_add_child(pid);
    struct stretches timed = {0};
    long done = ipc_pin_self(cpus[0]) == -1 ? -1 : side_a(s, budget_ns, &timed);
    *typical_ns =
        timed.count > 0 && !timed.out_of_memory ? median_of(timed.per_op, timed.count) : 0;
    free(timed.per_op);
    if (done == -1)
        kill(pid, SIGKILL); /* it may be spinning on a line we will never write */
    int child_failed = ipc_reap_peer(pid, "the partner process", detail, size);
    sched_setaffinity(0, sizeof saved, &saved);
    munmap(s, sizeof *s);
    if (done == -1 && !child_failed)
        snprintf(detail, size, "the partner stopped answering");
    return child_failed ? -1 : done;
}

/* A of the round trip: throw n (odd), wait for n + 1; the clock is read every STRETCH trips,
 * and each stretch's time is kept (see cache_lines.h). */
static long throw_ball(struct shared_lines *s, int64_t budget_ns, struct stretches *timed)
{
    int64_t start = monotonic_ns(), end = start + budget_ns, mark = start;
    long trips = 0;
    for (uint64_t n = 1; trips % STRETCH != 0 || (mark = monotonic_ns()) < end; n += 2, trips++) {
        if (trips > 0 && trips % STRETCH == 0)
            add_stretch(timed, mark - start, STRETCH), start = mark;
        atomic_store_explicit(&s->ball, n, memory_order_release);
        if (spin_until_equal(&s->ball, n + 1) == -1)
            return -1;
    }
    if (trips > 0)
        add_stretch(timed, mark - start, STRETCH);
    atomic_store_explicit(&s->ball, STOP, memory_order_release);
    return trips;
}

/* A of the stream: write lines in order, never more than RING_LINES ahead of B's report. */
static long fill(struct shared_lines *s, int64_t budget_ns, struct stretches *timed)
{
    int64_t start = monotonic_ns(), end = start + budget_ns, mark = start;
    uint64_t pos = 0, known_read = 0; /* B's progress as last read: a cached index */
    for (; pos % (8 * STRETCH) != 0 || (mark = monotonic_ns()) < end; pos++) {
        if (pos > 0 && pos % (8 * STRETCH) == 0)
            add_stretch(timed, mark - start, 8 * STRETCH), start = mark;
        if (pos - known_read >= RING_LINES &&
            spin_until_at_least(&s->read_up_to, pos - RING_LINES + 1, &known_read) == -1)
            return -1;
        struct line *l = &s->ring[pos % RING_LINES];
        memcpy(l->payload, &pos, sizeof pos);
        atomic_store_explicit(&l->seq, pos + 1, memory_order_release);
    }
    uint64_t need = pos >= RING_LINES ? pos - RING_LINES + 1 : 0; /* STOP's line is free */
    if (spin_until_at_least(&s->read_up_to, need, &known_read) == -1)
        return -1;
    atomic_store_explicit(&s->ring[pos % RING_LINES].seq, STOP, memory_order_release);
    return (long)pos;
}

long cache_line_round_trips(const int cpus[2], int64_t budget_ns, double *typical_ns, char *detail,
                            size_t size)
{
    return with_partner(cpus, bounce, throw_ball, budget_ns, typical_ns, detail, size);
}

long cache_line_stream(const int cpus[2], int64_t budget_ns, double *typical_ns, char *detail,
                       size_t size)
{
    return with_partner(cpus, drain, fill, budget_ns, typical_ns, detail, size);
}
