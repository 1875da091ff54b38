/* shm_queue.c - see shm_queue.h: a bounded MPMC queue in shared memory.
 *
 * The ring (Dmitry Vyukov's bounded MPMC queue).  Two counters only ever grow: enqueue_pos
 * (the next position a producer will fill) and dequeue_pos (the next a consumer will empty).
 * Position p lives in slot p % capacity.  Each slot carries a sequence number that says what
 * the slot is waiting for:
 *     seq == p          the slot is free for the producer of position p
 *     seq == p + 1      it holds the message of position p, ready for its consumer
 *     seq == p + cap    the consumer of p is done: free for the producer of p + capacity
 * A producer reads enqueue_pos, checks the slot's seq, and claims the position by moving
 * enqueue_pos forward with a compare-and-swap (another producer may race it: the loser
 * retries at the next position).  It then copies the payload into the slot and publishes it
 * by storing seq = p + 1.  Consumers mirror this with dequeue_pos.  Producers and consumers
 * never touch the same counter, so they do not fight over one cache line while the queue is
 * neither full nor empty, and no system call is made.
 *
 * Memory ordering (C11 atomics).  The payload is plain memory; the seq store is the flag:
 *   - the producer's memcpy into the slot is followed by store(seq, p + 1, RELEASE), and a
 *     consumer reads seq with ACQUIRE before it copies out: it sees the whole payload.
 *   - symmetrically the consumer's copy-out is followed by store(seq, p + cap, RELEASE) and a
 *     producer reads seq with ACQUIRE before it overwrites the slot: the consumer is done.
 *   - the compare-and-swaps on the counters can be RELAXED: they only hand out positions;
 *     what a position's slot contains is ordered by seq alone.
 *
 * Sleeping.  When the queue is full (or empty), a producer (consumer) spins a little, then
 * sleeps in futex(FUTEX_WAIT) on a 32-bit event counter.  FUTEX_WAIT and not the _PRIVATE
 * variant: the word is shared between processes, and private futexes are keyed by address
 * space.  To skip the FUTEX_WAKE when nobody sleeps, a sleeper first registers itself in a
 * waiter count, and the other side checks that count after each operation.  This is Dekker's
 * handshake, and it needs a full (SEQ_CST) fence on both sides:
 *     waiter:  waiters++ ; FENCE ; seen = event ; re-check the queue ; futex_wait(&event, seen)
 *     waker:   publish (seq store) ; FENCE ; if (waiters) { event++ ; futex_wake(&event) }
 * Of two seq_cst fences one comes first, so either the waker's load of `waiters` sees the
 * registration or the waiter's re-check sees the publish (C11 7.17.4: fence ordering).
 * Either the waker sees the waiter registered (and bumps the event, so the FUTEX_WAIT with
 * the old value returns at once if it has not slept yet), or the waiter's re-check sees the
 * published slot.  A wake wakes every sleeper on that event: a woken process that finds
 * nothing to do sleeps again, but no message is ever left with a consumer asleep.
 *
 * Close.  The close is the top bit of enqueue_pos itself, set with fetch_or.  A producer's
 * compare-and-swap on enqueue_pos therefore fails once the queue is closed, so a push either
 * claimed its position before the close (and consumers will wait for it) or sees the close
 * (EPIPE): none is lost.  The closer then raises a separate `closed` flag on a line of its own.
 * Consumers know the stream has ended when the flag is up and dequeue_pos has caught up with
 * enqueue_pos; they read the flag, not enqueue_pos, when they find the queue empty.  That
 * matters: a consumer spinning on an empty queue used to read enqueue_pos on every attempt,
 * so the producers' counter line bounced to the consumer's core and back on every push.  The
 * flag's line is written once, so it sits in every reader's cache at no cost to anyone.
 *
 * Batches and zero copy.  A claim may take several consecutive positions with one compare-and-
 * swap: the claimer first counts how many slots from pos on are ready (free for a push,
 * published for a pop), then moves the counter past all of them.  Each slot is still
 * published by its own seq store, and one wake-up check (one fence) covers the batch.  Zero
 * copy splits a push into claim (reserve) and publish (commit), a pop into claim (borrow) and
 * give back (release), with the caller reading or writing the slot in between.
 *
 * SPSC.  With one producer and one consumer no one races for a counter, so each side claims
 * with a plain store of its own counter (no locked instruction).  The slot's seq remains the
 * only line the two sides share per message: each side's own counter stays in its own cache,
 * like the cached indices of a classic single-producer ring, and better, since neither side
 * ever needs to read the other's counter.  The producer stores enqueue_pos before it publishes
 * the slot, so a consumer that has the message also sees it counted (task_done relies on it).
 * enqueue_pos carries no closed bit here: the producer's plain store would wipe it out.
 *
 * See also: lessons/05b-inside-the-queue.md (this file read section by section: the ring, the
 *   wake-up, the orderings, and what makes it fast).
 */
#define _GNU_SOURCE
#include "queues/shm_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "support/cpus.h"
#include "support/process_shared.h"

enum { CACHE_LINE = 64 };                       /* keep the hot counters on lines of their own */
enum { DEFAULT_SPIN_NS = 20000 };               /* re-check for 20 us before sleeping */
static const uint32_t QUEUE_MAGIC = 0x51554555; /* "QUEU": attach checks it is a queue */
static const uint32_t QUEUE_VERSION = 2;        /* 2: the closed flag, the SPSC mode */
#define CLOSED_BIT ((uint64_t)1 << 63)          /* the top bit of enqueue_pos: closed */

/* What a sleeper waits on: a counter bumped at each wake, and how many sleep on it. */
struct wait_point {
    _Atomic uint32_t event;  /* the futex word */
    _Atomic int32_t waiters; /* registered sleepers: a waker skips FUTEX_WAKE at zero */
};

/* The start of the shared mapping; the slots follow it. */
struct shared_header {
    uint32_t magic, version;
    uint64_t slot_size, capacity, slot_stride, mapping_size;
    uint32_t spsc;                                    /* 1: one producer, one consumer */
    alignas(CACHE_LINE) _Atomic uint64_t enqueue_pos; /* producers only (+ CLOSED_BIT) */
    alignas(CACHE_LINE) _Atomic uint64_t dequeue_pos; /* consumers only */
    alignas(CACHE_LINE) struct wait_point not_empty;  /* consumers sleep here */
    alignas(CACHE_LINE) struct wait_point not_full;   /* producers sleep here */
    alignas(CACHE_LINE) _Atomic uint32_t closed;      /* written once: cheap to read often */
    alignas(CACHE_LINE) _Atomic uint64_t done_count;  /* task_done() calls so far */
    struct wait_point all_done;                       /* join() sleeps here */
    alignas(CACHE_LINE) char slots[];
};

/* One slot: its sequence number, the message length, the payload. */
struct slot {
    _Atomic uint64_t seq;
    uint64_t length;
    /* The payload starts on a cache line of its own: memcpy (rep movsb) is much faster
     * into an aligned destination, and for 64-byte messages the slot is 128 bytes anyway. */
    alignas(CACHE_LINE) unsigned char data[];
};

/* The process-local handle. */
struct shm_queue {
    struct shared_header *shared;
    size_t mapping_size;
    uint64_t capacity, mask; /* mask = capacity - 1 when a power of two, else 0 */
    uint64_t slot_stride, slot_size;
    int64_t spin_ns;         /* how long a waiter re-checks before it sleeps (0: sleep at once) */
    bool spsc;               /* a copy of the header's flag, read on every operation */
    char name[NAME_MAX + 1]; /* "" for an anonymous queue */
};

/* What one attempt at an operation needs: a push's source or a pop's destination. */
struct request {
    const void *message; /* push: count messages of length bytes, back to back */
    void *buffer;        /* pop: room for count messages, size bytes apart */
    size_t length, size;
    size_t *popped_length;           /* pop: each message's length (count of them), or NULL */
    size_t count;                    /* move at most this many (at least 1) */
    size_t done;                     /* how many moved */
    struct shm_queue_ticket *ticket; /* reserve and borrow */
};

typedef int attempt_fn(struct shm_queue *q, struct request *r);

/* --- small helpers --------------------------------------------------------------------- */

static struct slot *slot_at(const struct shm_queue *q, uint64_t pos)
{
    uint64_t index = q->mask ? (pos & q->mask) : (pos % q->capacity); /* mask: no division */
    return (struct slot *)(q->shared->slots + index * q->slot_stride);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause(); /* tells the core we spin: saves power, frees the sibling thread */
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with a valid clock and pointer */
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep while *word == expected, until woken or the deadline (-1: none).  Returns 0 to tell
 * the caller to look again (woken, interrupted, or the word had already changed), ETIMEDOUT,
 * or an unexpected futex error. */
static int futex_sleep(_Atomic uint32_t *word, uint32_t expected, int64_t deadline_ns)
{
    struct timespec relative, *timeout = NULL;
    if (deadline_ns >= 0) {
        int64_t left = deadline_ns - now_ns();
        if (left <= 0)
            return ETIMEDOUT;
        relative.tv_sec = left / 1000000000;
        relative.tv_nsec = left % 1000000000;
        timeout = &relative; /* FUTEX_WAIT takes a relative time on CLOCK_MONOTONIC */
    }
    if (syscall(SYS_futex, (void *)word, FUTEX_WAIT, expected, timeout, NULL, 0) == -1) {
        if (errno == ETIMEDOUT)
            return ETIMEDOUT;
        if (errno != EAGAIN && errno != EINTR) /* EAGAIN: the word changed before we slept */
            return errno;
    }
    return 0;
}

/* After publishing: wake the sleepers on w, if any registered (see the top comment). */
static void wake_sleepers(struct wait_point *w)
{
    atomic_thread_fence(memory_order_seq_cst); /* order our publish before reading waiters */
    if (atomic_load_explicit(&w->waiters, memory_order_relaxed) > 0) {
        atomic_fetch_add_explicit(&w->event, 1, memory_order_seq_cst);
        /* Cannot fail on a mapped, aligned word; it returns how many it woke. */
        syscall(SYS_futex, (void *)&w->event, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

/* --- claiming positions: the one place the two modes differ ------------------------------- */

/* Has the queue been closed?  The flag sits on a line of its own that is written once, so a
 * consumer that finds the queue empty can look at it as often as it likes: the line stays in
 * every reader's cache, and the producers' counter is never pulled across (see the top). */
static bool closed_flag(const struct shm_queue *q)
{
    return atomic_load_explicit(&q->shared->closed, memory_order_acquire) != 0;
}

/* Claim up to `want` consecutive free positions for a push; the first is *first.  Returns how
 * many were claimed (>= 1), or 0 with *error = EAGAIN (full) or EPIPE (closed). */
static size_t claim_for_push(struct shm_queue *q, size_t want, uint64_t *first, int *error)
{
    struct shared_header *h = q->shared;
    uint64_t pos = atomic_load_explicit(&h->enqueue_pos, memory_order_relaxed);
    for (;;) {
        if ((pos & CLOSED_BIT) || (q->spsc && closed_flag(q)))
            return *error = EPIPE, 0;
        /* Count the free slots from pos on.  ACQUIRE: a free slot's last consumer is done. */
        size_t free = 0;
        int64_t difference = 0;
        while (free < want) {
            uint64_t seq = atomic_load_explicit(&slot_at(q, pos + free)->seq, memory_order_acquire);
            difference = (int64_t)(seq - (pos + free));
            if (difference != 0)
                break;
            free++;
        }
        if (free == 0 && difference < 0)
            return *error = EAGAIN, 0; /* the slot still holds the message of pos - capacity */
        if (q->spsc && free > 0) {
            /* The only producer: nobody races us for pos, so a plain store claims it. */
            atomic_store_explicit(&h->enqueue_pos, pos + free, memory_order_relaxed);
            *first = pos;
            return free;
        }
        if (free > 0 &&
            atomic_compare_exchange_weak_explicit(&h->enqueue_pos, &pos, pos + free,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            *first = pos;
            return free;
        }
        if (free == 0) /* another producer took pos: look at the counter again */
            pos = atomic_load_explicit(&h->enqueue_pos, memory_order_relaxed);
        /* else the compare-and-swap failed and reloaded pos for us */
    }
}

/* Empty for now, or empty for good?  Ended when closed and every claimed position is taken.
 * The producers' counter is read only once the closed flag is up. */
static int empty_or_ended(struct shm_queue *q, uint64_t pos)
{
    if (!closed_flag(q))
        return EAGAIN;
    uint64_t end = atomic_load_explicit(&q->shared->enqueue_pos, memory_order_acquire);
    return (end & ~CLOSED_BIT) == pos ? EPIPE : EAGAIN;
}

/* Claim up to `want` consecutive published messages; the first is *first.  Returns how many
 * (>= 1), or 0 with *error = EAGAIN (empty) or EPIPE (closed and drained). */
static size_t claim_for_pop(struct shm_queue *q, size_t want, uint64_t *first, int *error)
{
    struct shared_header *h = q->shared;
    uint64_t pos = atomic_load_explicit(&h->dequeue_pos, memory_order_relaxed);
    for (;;) {
        /* ACQUIRE pairs with the producer's RELEASE: each counted payload is complete. */
        size_t ready = 0;
        int64_t difference = 0;
        while (ready < want) {
            uint64_t seq =
                atomic_load_explicit(&slot_at(q, pos + ready)->seq, memory_order_acquire);
            difference = (int64_t)(seq - (pos + ready + 1));
            if (difference != 0)
                break;
            ready++;
        }
        if (ready == 0 && difference < 0)
            return *error = empty_or_ended(q, pos), 0; /* not yet written (or never will be) */
        if (q->spsc && ready > 0) {
            atomic_store_explicit(&h->dequeue_pos, pos + ready, memory_order_relaxed);
            *first = pos;
            return ready;
        }
        if (ready > 0 &&
            atomic_compare_exchange_weak_explicit(&h->dequeue_pos, &pos, pos + ready,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            *first = pos;
            return ready;
        }
        if (ready == 0)
            pos = atomic_load_explicit(&h->dequeue_pos, memory_order_relaxed);
    }
}

/* Publish a claimed slot's message, or give a consumed slot back to the producers. */
static void publish(struct slot *s, uint64_t pos)
{
    atomic_store_explicit(&s->seq, pos + 1, memory_order_release); /* the payload is complete */
}

static void give_back(const struct shm_queue *q, struct slot *s, uint64_t pos)
{
    /* RELEASE: our reading is finished before a producer may overwrite the slot. */
    atomic_store_explicit(&s->seq, pos + q->capacity, memory_order_release);
}

/* --- one attempt at each operation: 0, EAGAIN (would block), EPIPE, EMSGSIZE --------------- */

/* Push r->count messages of r->length bytes each, back to back at r->message (at least one;
 * r->done says how many went). */
static int attempt_push(struct shm_queue *q, struct request *r)
{
    uint64_t pos;
    int error = 0;
    size_t n = claim_for_push(q, r->count, &pos, &error);
    if (n == 0)
        return error;
    const unsigned char *message = r->message;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = slot_at(q, pos + i);
        s->length = r->length;
        if (r->length > 0) /* an empty message may come with a null pointer */
            memcpy(s->data, message + i * r->length, r->length);
        publish(s, pos + i);
    }
    r->done = n;
    wake_sleepers(&q->shared->not_empty); /* one check for the whole batch */
    return 0;
}

/* Pop up to r->count messages into r->buffer, r->size bytes apart; lengths into
 * r->popped_length[i] when given.  EMSGSIZE if any was cut to r->size. */
static int attempt_pop(struct shm_queue *q, struct request *r)
{
    uint64_t pos;
    int error = 0;
    size_t n = claim_for_pop(q, r->count, &pos, &error);
    if (n == 0)
        return error;
    unsigned char *buffer = r->buffer;
    int truncated = 0;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = slot_at(q, pos + i);
        size_t length = (size_t)s->length;
        size_t copied = length < r->size ? length : r->size;
        if (copied > 0)
            memcpy(buffer + i * r->size, s->data, copied);
        if (r->popped_length)
            r->popped_length[i] = length;
        truncated |= copied < length;
        give_back(q, s, pos + i);
    }
    r->done = n;
    wake_sleepers(&q->shared->not_full);
    return truncated ? EMSGSIZE : 0;
}

/* Zero copy: claim one slot and hand its payload area to the caller. */
static int attempt_reserve(struct shm_queue *q, struct request *r)
{
    uint64_t pos;
    int error = 0;
    if (claim_for_push(q, 1, &pos, &error) == 0)
        return error;
    struct slot *s = slot_at(q, pos);
    r->ticket->data = s->data;
    r->ticket->length = (size_t)q->slot_size; /* room for this much */
    r->ticket->position = pos;
    return 0;
}

static int attempt_borrow(struct shm_queue *q, struct request *r)
{
    uint64_t pos;
    int error = 0;
    if (claim_for_pop(q, 1, &pos, &error) == 0)
        return error;
    struct slot *s = slot_at(q, pos);
    r->ticket->data = s->data;
    r->ticket->length = (size_t)s->length;
    r->ticket->position = pos;
    return 0;
}

/* Pushes so far: every claimed position, whether or not its payload is written yet. */
static uint64_t pushed_count(const struct shm_queue *q)
{
    return atomic_load_explicit(&q->shared->enqueue_pos, memory_order_acquire) & ~CLOSED_BIT;
}

/* Unfinished tasks = pushes - task_done() calls.  Counting pushes by enqueue_pos costs a push
 * nothing extra.  Read done first: it can only grow towards pushed, so equality read in this
 * order held at the moment pushed was read. */
static int attempt_join(struct shm_queue *q, struct request *r)
{
    (void)r;
    uint64_t done = atomic_load_explicit(&q->shared->done_count, memory_order_acquire);
    return done == pushed_count(q) ? 0 : EAGAIN;
}

/* --- waiting ------------------------------------------------------------------------------ */

/* Repeat attempt until it stops saying EAGAIN: spin first, then sleep on w.
 * timeout_ns: 0 for one attempt only (try_), -1 to wait for ever, else how long to wait.
 * The clock is read only once the first attempt has failed: a timed call that need not
 * wait costs no more than an untimed one. */
static int wait_until_done(struct shm_queue *q, struct wait_point *w, attempt_fn *attempt,
                           struct request *r, int64_t timeout_ns)
{
    int result = attempt(q, r);
    if (result != EAGAIN || timeout_ns == 0)
        return result;
    int64_t deadline_ns = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
    if (q->spin_ns > 0) {
        /* The other side is probably in the middle of a push or pop (a copy of up to
         * slot_size bytes): re-checking for a while is much cheaper than a sleep and a wake.
         * Bounded by time, not by a count, since a pause instruction's cost varies by CPU. */
        int64_t give_up = now_ns() + q->spin_ns;
        if (deadline_ns >= 0 && deadline_ns < give_up)
            give_up = deadline_ns; /* a short timeout is never overrun by the spin */
        /* One pause per look: the message is noticed within a pause of its arrival.  The
         * clock is read every 16 looks only (a clock read costs as much as several looks). */
        unsigned looks = 0;
        do {
            cpu_relax();
            result = attempt(q, r);
        } while (result == EAGAIN && (++looks % 16 != 0 || now_ns() < give_up));
    }
    while (result == EAGAIN) {
        atomic_fetch_add_explicit(&w->waiters, 1, memory_order_seq_cst); /* register first */
        atomic_thread_fence(memory_order_seq_cst); /* pairs with the fence in wake_sleepers */
        uint32_t seen = atomic_load_explicit(&w->event, memory_order_seq_cst);
        result = attempt(q, r); /* re-check after registering: see the top comment */
        if (result != EAGAIN) {
            atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_relaxed);
            break;
        }
        int slept = futex_sleep(&w->event, seen, deadline_ns);
        atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_relaxed);
        result = attempt(q, r); /* even after a timeout: one last look */
        if (result == EAGAIN && slept != 0)
            return slept; /* ETIMEDOUT (or a futex failure, which should not happen) */
    }
    return result;
}

/* --- creating and attaching ------------------------------------------------------------ */

static int valid_name(const char *name)
{
    return name[0] == '/' && name[1] != '\0' && strchr(name + 1, '/') == NULL &&
           strlen(name) <= NAME_MAX;
}

/* Slot stride and mapping size for these sizes, or EINVAL if out of range or too big. */
static int layout(size_t slot_size, size_t capacity, uint64_t *stride, uint64_t *total)
{
    if (slot_size < 1 || slot_size > SHM_QUEUE_MAX_SLOT_SIZE || capacity < SHM_QUEUE_MIN_CAPACITY ||
        capacity > SHM_QUEUE_MAX_CAPACITY)
        return EINVAL;
    /* Round each slot up to whole cache lines, so neighbours do not share a line. */
    *stride = (sizeof(struct slot) + slot_size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    if (*stride > SHM_QUEUE_MAX_BYTES / capacity) /* checked before multiplying */
        return EINVAL;
    *total = sizeof(struct shared_header) + *stride * capacity;
    return *total > SHM_QUEUE_MAX_BYTES ? EINVAL : 0;
}

/* Build the local handle around a mapping. */
static int make_handle(struct shm_queue **queue, void *mapping, const char *name)
{
    struct shm_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return ENOMEM;
    q->shared = mapping;
    q->mapping_size = q->shared->mapping_size;
    q->capacity = q->shared->capacity;
    q->mask = (q->capacity & (q->capacity - 1)) == 0 ? q->capacity - 1 : 0;
    q->slot_stride = q->shared->slot_stride;
    q->slot_size = q->shared->slot_size;
    q->spsc = q->shared->spsc != 0;
    q->spin_ns = usable_cpu_count() > 1 ? DEFAULT_SPIN_NS : 0;
    if (name)
        strcpy(q->name, name); /* length checked by valid_name */
    *queue = q;
    return 0;
}

/* Fill in a fresh mapping (all zero, as mmap and ftruncate give it). */
static void initialise(struct shared_header *h, size_t slot_size, size_t capacity, uint64_t stride,
                       uint64_t total, bool spsc)
{
    h->version = QUEUE_VERSION;
    h->spsc = spsc;
    h->slot_size = slot_size;
    h->capacity = capacity;
    h->slot_stride = stride;
    h->mapping_size = total;
    for (uint64_t i = 0; i < capacity; i++) /* slot i is free for position i */
        atomic_init(&((struct slot *)(h->slots + i * stride))->seq, i);
    /* Magic last, with a release fence: an attacher that sees it sees the rest. */
    atomic_thread_fence(memory_order_release);
    ((volatile struct shared_header *)h)->magic = QUEUE_MAGIC;
}

/* shm_open + reserve + mmap a new named object; on failure nothing is left behind. */
static int map_new_named(const char *name, uint64_t total, void **mapping)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1)
        return errno;
    int err = 0;
    err = reserve_shared_file(fd, (off_t)total); /* pages reserved: ENOSPC now, not SIGBUS later */
    if (!err) {
        *mapping = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (*mapping == MAP_FAILED)
            err = errno;
    }
    /* The mapping keeps the object alive and nothing was written through fd: a failed close
     * loses nothing.  On an error, the unlink is best effort: err is what the caller needs. */
    (void)close(fd);
    if (err)
        (void)shm_unlink(name);
    return err;
}

static int create_queue(struct shm_queue **queue, const char *name, size_t slot_size,
                        size_t capacity, bool spsc)
{
    uint64_t stride, total;
    if (queue == NULL || (name != NULL && !valid_name(name)))
        return EINVAL;
    int err = layout(slot_size, capacity, &stride, &total);
    if (err)
        return err;
    void *mapping = NULL;
    if (name == NULL) {
        mapping = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mapping == MAP_FAILED)
            return errno;
    } else if ((err = map_new_named(name, total, &mapping)) != 0) {
        return err;
    }
    initialise(mapping, slot_size, capacity, stride, total, spsc);
    err = make_handle(queue, mapping, name);
    if (err) {
        munmap(mapping, total);
        if (name)
            shm_unlink(name);
    }
    return err;
}

int shm_queue_create(struct shm_queue **queue, const char *name, size_t slot_size, size_t capacity)
{
    return create_queue(queue, name, slot_size, capacity, false);
}

int shm_queue_create_spsc(struct shm_queue **queue, const char *name, size_t slot_size,
                          size_t capacity)
{
    return create_queue(queue, name, slot_size, capacity, true);
}

/* Is this mapping of `size` bytes a complete queue of our version? */
static int check_header(const struct shared_header *h, size_t size)
{
    if (((const volatile struct shared_header *)h)->magic != QUEUE_MAGIC)
        return EAGAIN; /* not (yet) a queue: the creator may still be setting it up */
    atomic_thread_fence(memory_order_acquire); /* pairs with initialise()'s release fence */
    uint64_t stride, total;
    if (h->version != QUEUE_VERSION || h->mapping_size != size ||
        layout(h->slot_size, h->capacity, &stride, &total) != 0 || stride != h->slot_stride ||
        total != size)
        return EINVAL;
    return 0;
}

int shm_queue_attach(struct shm_queue **queue, const char *name)
{
    if (queue == NULL || name == NULL || !valid_name(name))
        return EINVAL;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1)
        return errno;
    struct stat st;
    if (fstat(fd, &st) == -1) {
        int err = errno;
        (void)close(fd); /* on the way out with err: nothing was written through fd */
        return err;
    }
    if ((size_t)st.st_size < sizeof(struct shared_header)) {
        (void)close(fd);                          /* as above */
        return st.st_size == 0 ? EAGAIN : EINVAL; /* 0: created but not yet truncated */
    }
    void *mapping = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = mapping == MAP_FAILED ? errno : 0;
    (void)close(fd); /* the mapping keeps the object; nothing was written through fd */
    if (err)
        return err;
    if ((err = check_header(mapping, (size_t)st.st_size)) != 0 ||
        (err = make_handle(queue, mapping, name)) != 0)
        munmap(mapping, (size_t)st.st_size);
    return err;
}

/* --- the operations ------------------------------------------------------------------------- */

/* A _timed call with a timeout of 0 makes one attempt, like try_; its "no" is a timeout. */
static int timed_out_if_busy(int result)
{
    return result == EAGAIN ? ETIMEDOUT : result;
}

/* timeout_ns: 0 try once, -1 for ever, else at most that long (see wait_until_done). */
static int push_within(struct shm_queue *q, const void *message, size_t length, int64_t timeout_ns)
{
    if (q == NULL || (message == NULL && length > 0))
        return EINVAL;
    if (length > q->slot_size)
        return EMSGSIZE;
    struct request r = {.message = message, .length = length, .count = 1};
    return wait_until_done(q, &q->shared->not_full, attempt_push, &r, timeout_ns);
}

int shm_queue_push(struct shm_queue *q, const void *message, size_t length)
{
    return push_within(q, message, length, -1);
}

int shm_queue_try_push(struct shm_queue *q, const void *message, size_t length)
{
    return push_within(q, message, length, 0);
}

int shm_queue_push_timed(struct shm_queue *q, const void *message, size_t length,
                         int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return timed_out_if_busy(push_within(q, message, length, timeout_ns));
}

static int pop_within(struct shm_queue *q, void *buffer, size_t size, size_t *length,
                      int64_t timeout_ns)
{
    if (q == NULL || (buffer == NULL && size > 0))
        return EINVAL;
    struct request r = {.buffer = buffer, .size = size, .popped_length = length, .count = 1};
    return wait_until_done(q, &q->shared->not_empty, attempt_pop, &r, timeout_ns);
}

int shm_queue_pop(struct shm_queue *q, void *buffer, size_t size, size_t *length)
{
    return pop_within(q, buffer, size, length, -1);
}

int shm_queue_try_pop(struct shm_queue *q, void *buffer, size_t size, size_t *length)
{
    return pop_within(q, buffer, size, length, 0);
}

int shm_queue_pop_timed(struct shm_queue *q, void *buffer, size_t size, size_t *length,
                        int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return timed_out_if_busy(pop_within(q, buffer, size, length, timeout_ns));
}

int shm_queue_close(struct shm_queue *q)
{
    if (q == NULL)
        return EINVAL;
    struct shared_header *h = q->shared;
    /* MPMC: the bit in enqueue_pos makes a racing producer's claim fail (none is lost).  SPSC:
     * the producer stores enqueue_pos plainly, so only the flag says it (see the header). */
    if (!q->spsc)
        atomic_fetch_or_explicit(&h->enqueue_pos, CLOSED_BIT, memory_order_seq_cst);
    /* Then the flag: a consumer that sees it sees the final enqueue_pos as well. */
    atomic_store_explicit(&h->closed, 1, memory_order_seq_cst);
    /* Wake everyone, registered or not: a close is rare, and every waiter must re-check. */
    struct wait_point *points[] = {&h->not_empty, &h->not_full};
    for (int i = 0; i < 2; i++) {
        atomic_fetch_add_explicit(&points[i]->event, 1, memory_order_seq_cst);
        syscall(SYS_futex, (void *)&points[i]->event, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
    return 0;
}

/* --- batches and zero copy ------------------------------------------------------------------- */

/* The batch and zero-copy calls take one timeout: < 0 waits for ever, 0 tries once (EAGAIN),
 * > 0 waits at most that long (ETIMEDOUT). */
static int within(int result, int64_t timeout_ns)
{
    return timeout_ns > 0 ? timed_out_if_busy(result) : result;
}

int shm_queue_push_batch(struct shm_queue *q, const void *messages, size_t length, size_t count,
                         size_t *pushed, int64_t timeout_ns)
{
    if (pushed)
        *pushed = 0;
    if (q == NULL || count == 0 || (messages == NULL && length > 0))
        return EINVAL;
    if (length > q->slot_size)
        return EMSGSIZE;
    struct request r = {.message = messages, .length = length, .count = count};
    int err =
        within(wait_until_done(q, &q->shared->not_full, attempt_push, &r, timeout_ns), timeout_ns);
    if (pushed)
        *pushed = err ? 0 : r.done;
    return err;
}

int shm_queue_pop_batch(struct shm_queue *q, void *buffer, size_t size, size_t count,
                        size_t *lengths, size_t *popped, int64_t timeout_ns)
{
    if (popped)
        *popped = 0;
    if (q == NULL || count == 0 || (buffer == NULL && size > 0))
        return EINVAL;
    struct request r = {.buffer = buffer, .size = size, .popped_length = lengths, .count = count};
    int err =
        within(wait_until_done(q, &q->shared->not_empty, attempt_pop, &r, timeout_ns), timeout_ns);
    if (popped)
        *popped = err == 0 || err == EMSGSIZE ? r.done : 0;
    return err;
}

int shm_queue_reserve(struct shm_queue *q, struct shm_queue_ticket *ticket, int64_t timeout_ns)
{
    if (q == NULL || ticket == NULL)
        return EINVAL;
    struct request r = {.count = 1, .ticket = ticket};
    return within(wait_until_done(q, &q->shared->not_full, attempt_reserve, &r, timeout_ns),
                  timeout_ns);
}

int shm_queue_commit(struct shm_queue *q, struct shm_queue_ticket *ticket, size_t length)
{
    if (q == NULL || ticket == NULL || ticket->data == NULL)
        return EINVAL;
    if (length > q->slot_size)
        return EMSGSIZE; /* the slot stays reserved: commit again with a length that fits */
    struct slot *s = slot_at(q, ticket->position);
    s->length = length;
    publish(s, ticket->position);
    ticket->data = NULL; /* a second commit of the same ticket is EINVAL, not a corrupt ring */
    wake_sleepers(&q->shared->not_empty);
    return 0;
}

int shm_queue_borrow(struct shm_queue *q, struct shm_queue_ticket *ticket, int64_t timeout_ns)
{
    if (q == NULL || ticket == NULL)
        return EINVAL;
    struct request r = {.count = 1, .ticket = ticket};
    return within(wait_until_done(q, &q->shared->not_empty, attempt_borrow, &r, timeout_ns),
                  timeout_ns);
}

int shm_queue_release(struct shm_queue *q, struct shm_queue_ticket *ticket)
{
    if (q == NULL || ticket == NULL || ticket->data == NULL)
        return EINVAL;
    give_back(q, slot_at(q, ticket->position), ticket->position);
    ticket->data = NULL;
    wake_sleepers(&q->shared->not_full);
    return 0;
}

int shm_queue_task_done(struct shm_queue *q)
{
    if (q == NULL)
        return EINVAL;
    struct shared_header *h = q->shared;
    uint64_t done = atomic_load_explicit(&h->done_count, memory_order_relaxed);
    do {
        if (done >= pushed_count(q))
            return EINVAL; /* more task_done() calls than pushes, as Python's ValueError */
    } while (!atomic_compare_exchange_weak_explicit(&h->done_count, &done, done + 1,
                                                    memory_order_release, memory_order_relaxed));
    if (done + 1 == pushed_count(q))
        wake_sleepers(&h->all_done); /* nothing unfinished now: release join() */
    return 0;
}

static int join_within(struct shm_queue *q, int64_t timeout_ns)
{
    if (q == NULL)
        return EINVAL;
    struct request unused = {0};
    return wait_until_done(q, &q->shared->all_done, attempt_join, &unused, timeout_ns);
}

int shm_queue_join(struct shm_queue *q)
{
    return join_within(q, -1);
}

int shm_queue_join_timed(struct shm_queue *q, int64_t timeout_ns)
{
    return timeout_ns < 0 ? EINVAL : timed_out_if_busy(join_within(q, timeout_ns));
}

/* --- facts and clean-up ------------------------------------------------------------------- */

size_t shm_queue_slot_size(const struct shm_queue *q)
{
    return (size_t)q->slot_size;
}

size_t shm_queue_capacity(const struct shm_queue *q)
{
    return (size_t)q->capacity;
}

size_t shm_queue_count(const struct shm_queue *q)
{
    uint64_t out = atomic_load_explicit(&q->shared->dequeue_pos, memory_order_relaxed);
    uint64_t in = atomic_load_explicit(&q->shared->enqueue_pos, memory_order_relaxed);
    in &= ~CLOSED_BIT;
    return in > out ? (size_t)(in - out) : 0; /* read at two moments: may be off by a few */
}

int shm_queue_is_closed(const struct shm_queue *q)
{
    return closed_flag(q) ? 1 : 0;
}

int shm_queue_is_spsc(const struct shm_queue *q)
{
    return q->spsc ? 1 : 0;
}

void shm_queue_set_spin(struct shm_queue *q, int64_t spin_ns)
{
    q->spin_ns = spin_ns < 0 ? 0 : spin_ns;
}

int shm_queue_detach(struct shm_queue *q)
{
    if (q == NULL)
        return EINVAL;
    int err = munmap(q->shared, q->mapping_size) == -1 ? errno : 0;
    free(q);
    return err;
}

int shm_queue_unlink(const char *name)
{
    if (name == NULL || !valid_name(name))
        return EINVAL;
    return shm_unlink(name) == -1 ? errno : 0;
}

int shm_queue_destroy(struct shm_queue *q)
{
    if (q == NULL)
        return EINVAL;
    char name[sizeof q->name];
    strcpy(name, q->name);
    int err = shm_queue_detach(q);
    if (name[0] != '\0') {
        int unlink_err = shm_queue_unlink(name);
        if (!err)
            err = unlink_err;
    }
    return err;
}
