#define _GNU_SOURCE
/* ipc_ladder.c - workload: what makes a shared-memory queue fast, one step at a time.
 *
 * Six single-producer single-consumer rings of 256 messages, each the one before plus one
 * idea, each measured as a stream (ns per message, one way) and as a round trip (ns, there
 * and back, on two rings), between the two CPUs, in the same run (lesson 05b's ladder plot):
 *   1 plain          the two counters side by side on one cache line, the slots packed after
 *                    them (a message straddles two lines); every push reads the consumer's
 *                    counter, every pop (and every failed pop while waiting) the producer's
 *   2 padding        each counter on a line of its own, each slot on its own line
 *   3 no polling     the consumer waits on the slot's own flag, never on the producer's
 *                    counter (which is gone)
 *   4 cached indices the producer remembers the consumer's counter and reads it again only
 *                    when the ring looks full
 *   5 batching       the consumer hands slots back 32 at a time: one counter store per 32
 *   6 zero copy      both sides work on the message in the slot instead of copying it
 * A message is seven 8-byte words (56 bytes; the slot's flag makes 64): word k of message i is
 * 7i + k, and the consumer checks every word, so a torn or repeated message fails the run.
 * Both sides spin (no sleeping: this is about the cache lines), with a watchdog.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cache_lines.h"
#include "ipc_channels.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

enum { LINE = 64, CAPACITY = 256, WORDS = 7, HAND_BACK = 32 };
static const uint64_t STOP = UINT64_MAX; /* word 0 of the message that ends a stream */

struct step {
    const char *name;
    bool padded, slot_flags, cached, batched, in_place;
};
static const struct step steps[] = {
    {"1 plain ring", false, false, false, false, false},
    {"2 + padding", true, false, false, false, false},
    {"3 + no polling of the other side", true, true, false, false, false},
    {"4 + cached indices", true, true, true, false, false},
    {"5 + batching", true, true, true, true, false},
    {"6 + zero copy", true, true, true, true, true},
};
enum { STEPS = sizeof steps / sizeof steps[0] };

/* One ring in shared memory: where its counters and slots are depends on the step. */
struct ring_layout {
    size_t head, tail, slots, stride, size; /* byte offsets, slot stride, bytes in all */
};

static struct ring_layout layout_for(const struct step *s)
{
    if (!s->padded) /* 16 bytes of counters, then slots of 64: each one straddles two lines */
        return (struct ring_layout){0, 8, 16, LINE, 16 + CAPACITY * LINE + LINE};
    return (struct ring_layout){0, LINE, 2 * LINE, LINE, 2 * LINE + CAPACITY * LINE};
}

/* One process's view of one ring: its own position, and what it remembers of the other's. */
struct ring {
    const struct step *step;
    unsigned char *base;
    struct ring_layout at;
    uint64_t position, known_other, unpublished;
};

static _Atomic uint64_t *counter(struct ring *r, size_t offset)
{
    return (_Atomic uint64_t *)(r->base + offset);
}

static unsigned char *slot(struct ring *r, uint64_t pos)
{
    return r->base + r->at.slots + (pos % CAPACITY) * r->at.stride;
}

/* The slot's flag is its first word (steps 3 on), the message the seven after it. */
static _Atomic uint64_t *flag(unsigned char *s)
{
    return (_Atomic uint64_t *)s;
}

/* Wait for room, write message i (word 0 = i, or STOP), publish it.  0, or -1 (watchdog). */
static int ring_push(struct ring *r, uint64_t i)
{
    uint64_t pos = r->position, need = pos >= CAPACITY ? pos - CAPACITY + 1 : 0;
    if (!r->step->cached || r->known_other < need) /* room: the consumer's counter */
        if (spin_until_at_least(counter(r, r->at.head), need, &r->known_other) == -1)
            return -1;
    unsigned char *s = slot(r, pos);
    uint64_t words[WORDS];
    for (int k = 0; k < WORDS; k++)
        words[k] = i == STOP ? STOP : 7 * i + (uint64_t)k;
    if (r->step->in_place) {
        uint64_t *in_slot = (uint64_t *)(void *)(s + 8); /* 8-aligned in every layout */
        for (int k = 0; k < WORDS; k++)
            in_slot[k] = words[k]; /* made where it will be read */
    } else {
        memcpy(s + 8, words, sizeof words);
    }
    if (r->step->slot_flags)
        atomic_store_explicit(flag(s), pos + 1, memory_order_release);
    else
        atomic_store_explicit(counter(r, r->at.tail), pos + 1, memory_order_release);
    r->position = pos + 1;
    return 0;
}

/* Wait for the next message, check it, hand the slot back; its word 0 in *first.  0, -1
 * (watchdog), or -2 (a wrong word). */
static int ring_pop(struct ring *r, uint64_t expected, uint64_t *first)
{
    uint64_t pos = r->position, seen;
    unsigned char *s = slot(r, pos);
    if (spin_until_at_least(r->step->slot_flags ? flag(s) : counter(r, r->at.tail), pos + 1,
                            &seen) == -1)
        return -1;
    uint64_t words[WORDS];
    if (r->step->in_place) {
        const uint64_t *in_slot = (const uint64_t *)(const void *)(s + 8);
        for (int k = 0; k < WORDS; k++)
            words[k] = in_slot[k];
    } else {
        memcpy(words, s + 8, sizeof words);
    }
    *first = words[0];
    int wrong = 0;
    for (int k = 0; k < WORDS; k++)
        wrong |= words[k] != (words[0] == STOP ? STOP : 7 * expected + (uint64_t)k);
    r->position = pos + 1;
    if (!r->step->batched || ++r->unpublished == HAND_BACK || words[0] == STOP) {
        atomic_store_explicit(counter(r, r->at.head), pos + 1, memory_order_release);
        r->unpublished = 0;
    }
    return wrong ? -2 : 0;
}

/* --- the two measurements ------------------------------------------------------------- */

enum shape { STREAM, ROUND_TRIP };

/* The partner: drain a stream (ring a), or echo each message from a back on b. */
static int partner(struct ring *a, struct ring *b, enum shape shape)
{
    for (uint64_t i = 0;; i++) {
        uint64_t first;
        int got = ring_pop(a, i, &first);
        if (got != 0)
            return got;
        if (shape == ROUND_TRIP && ring_push(b, first == STOP ? STOP : i) == -1)
            return -1;
        if (first == STOP)
            return 0;
    }
}

/* The parent's side: messages or round trips for about budget_ns, then STOP. */
static long lead(struct ring *a, struct ring *b, enum shape shape, int64_t budget_ns)
{
    int64_t end = monotonic_ns() + budget_ns;
    uint64_t i = 0, first;
    for (; i % 64 != 0 || monotonic_ns() < end; i++) {
        if (ring_push(a, i) == -1)
            return -1;
        if (shape == ROUND_TRIP && ring_pop(b, i, &first) != 0)
            return -1;
    }
    if (ring_push(a, STOP) == -1 || (shape == ROUND_TRIP && ring_pop(b, STOP, &first) != 0))
        return -1;
    return (long)i;
}

static int run(const struct point *p, struct run_result *r)
{
    const struct step *step = &steps[p->variant % STEPS];
    enum shape shape = p->variant < STEPS ? STREAM : ROUND_TRIP;
    int64_t budget_ns = p->quick ? 15000000 : 40000000;
    int cpus[2];
    cpu_set_t saved;
    if (usable_cpu_ids(cpus, 2) < 2)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    struct ring_layout at = layout_for(step);
    size_t bytes = 2 * at.size + LINE; /* two rings, the second on a fresh line */
    unsigned char *shared =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED || sched_getaffinity(0, sizeof saved, &saved) == -1)
        return snprintf(r->detail, sizeof r->detail, "setting up: %s", strerror(errno)), -1;
    size_t second = (at.size + LINE - 1) / LINE * LINE;
    struct ring a = {.step = step, .base = shared, .at = at},
                b = {.step = step, .base = shared + second, .at = at};
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        munmap(shared, bytes);
        return snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno)), -1;
    }
    if (pid == 0) {
        die_with_parent(parent);
        int got = ipc_pin_self(cpus[1]) == -1 ? -1 : partner(&a, &b, shape);
        _exit(got == 0 ? 0 : got == -2 ? 3 : 2);
    }
    cleanup_add_child(pid);
    long done = ipc_pin_self(cpus[0]) == -1 ? -1 : lead(&a, &b, shape, budget_ns);
    if (done == -1)
        kill(pid, SIGKILL); /* it may be spinning on a line we will not write */
    int child_failed = ipc_reap_peer(pid, "the partner", r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved);
    munmap(shared, bytes);
    if (done == -1 && !child_failed)
        return snprintf(r->detail, sizeof r->detail, "%s: the partner stopped", step->name), -1;
    r->ops = (double)(done < 0 ? 0 : done);
    r->ok = !child_failed; /* exit 3: the partner saw a wrong word */
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    int count = 0;
    if (usable_cpu_count() < 2)
        return 0; /* the ladder is about lines moving between two CPUs */
    for (int shape = STREAM; shape <= ROUND_TRIP; shape++)
        for (int s = 0; s < STEPS && count < max; s++) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s",
                     shape == STREAM ? "stream, ns per 56 B message"
                                     : "round trip, ns per message there and back");
            p->x = s + 1;
            p->variant = shape * STEPS + s;
            p->cpus = 2;
            p->workers = 2;
        }
    return count;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    double stream[STEPS] = {0}, trip[STEPS] = {0};
    for (int i = 0; i < n; i++) {
        int v = r[i].point.variant;
        (v < STEPS ? stream : trip)[v % STEPS] = r[i].figure_median;
    }
    for (int s = 0; s < STEPS; s++)
        if (stream[s] > 0 || trip[s] > 0)
            fprintf(out,
                    "  ladder %-36s stream %7.1f ns a message (%6.1f M/s), round trip %7.0f ns\n",
                    steps[s].name, stream[s], stream[s] > 0 ? 1e3 / stream[s] : 0, trip[s]);
}

const struct workload workload_ipc_ladder = {
    .name = "ipc_ladder",
    .title = "What makes a queue fast: one idea per step",
    .shape = SHAPE_SERIES,
    .x_label = "ladder step (1 plain, 2 padding, 3 no polling, 4 cached indices, 5 batching, "
               "6 zero copy)",
    .figure_label = "ns per message (stream) or per round trip",
    .figure = FIGURE_NS_PER_OP,
    .plan = plan,
    .run = run,
    .summarize = summarize,
    .observe = "Each step keeps the one before and adds one idea.  Padding and not polling the "
               "other side's counter cut the cache-line transfers per message; caching the "
               "other side's index and handing slots back in batches cut them further; the "
               "round trip cannot go below two line transfers, whatever the step.",
};
