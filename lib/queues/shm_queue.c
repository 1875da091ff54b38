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
 * Close.  The closed flag is the top bit of enqueue_pos itself, set with fetch_or.  A
 * producer's compare-and-swap on enqueue_pos therefore fails once the queue is closed, so a
 * push either claimed its position before the close (and consumers will wait for it) or
 * sees the close (EPIPE): none is lost.  Consumers know the stream has ended when the flag is
 * set and dequeue_pos has caught up with enqueue_pos.
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
static const uint32_t QUEUE_VERSION = 1;
#define CLOSED_BIT ((uint64_t)1 << 63) /* the top bit of enqueue_pos: closed */

/* What a sleeper waits on: a counter bumped at each wake, and how many sleep on it. */
struct wait_point {
    _Atomic uint32_t event;  /* the futex word */
    _Atomic int32_t waiters; /* registered sleepers: a waker skips FUTEX_WAKE at zero */
};

/* The start of the shared mapping; the slots follow it. */
struct shared_header {
    uint32_t magic, version;
    uint64_t slot_size, capacity, slot_stride, mapping_size;
    alignas(CACHE_LINE) _Atomic uint64_t enqueue_pos; /* producers only (+ CLOSED_BIT) */
    alignas(CACHE_LINE) _Atomic uint64_t dequeue_pos; /* consumers only */
    alignas(CACHE_LINE) struct wait_point not_empty;  /* consumers sleep here */
    alignas(CACHE_LINE) struct wait_point not_full;   /* producers sleep here */
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
    char name[NAME_MAX + 1]; /* "" for an anonymous queue */
};

/* What one attempt at an operation needs: a push's source or a pop's destination. */
struct request {
    const void *message; /* push */
    void *buffer;        /* pop */
    size_t length, size;
    size_t *popped_length;
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

/* --- one attempt at push and pop: 0, EAGAIN (would block), EPIPE, EMSGSIZE ---------------- */

static int attempt_push(struct shm_queue *q, struct request *r)
{
    struct shared_header *h = q->shared;
    uint64_t pos = atomic_load_explicit(&h->enqueue_pos, memory_order_relaxed);
    struct slot *s;
    for (;;) {
        if (pos & CLOSED_BIT)
            return EPIPE;
        s = slot_at(q, pos);
        /* ACQUIRE: if the slot is free, the consumer that freed it has finished reading. */
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t difference = (int64_t)(seq - pos);
        if (difference == 0) { /* free for us: claim position pos (fails if raced or closed) */
            if (atomic_compare_exchange_weak_explicit(&h->enqueue_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (difference < 0) {
            return EAGAIN; /* the slot still holds the message of pos - capacity: full */
        } else {
            pos = atomic_load_explicit(&h->enqueue_pos, memory_order_relaxed); /* raced */
        }
    }
    s->length = r->length;
    if (r->length > 0) /* an empty message may come with a null pointer */
        memcpy(s->data, r->message, r->length);
    atomic_store_explicit(&s->seq, pos + 1, memory_order_release); /* publish the payload */
    wake_sleepers(&h->not_empty);
    return 0;
}

/* Empty for now, or empty for good?  Ended when closed and every claimed position is taken. */
static int empty_or_ended(struct shm_queue *q, uint64_t pos)
{
    uint64_t end = atomic_load_explicit(&q->shared->enqueue_pos, memory_order_acquire);
    return (end & CLOSED_BIT) && (end & ~CLOSED_BIT) == pos ? EPIPE : EAGAIN;
}

static int attempt_pop(struct shm_queue *q, struct request *r)
{
    struct shared_header *h = q->shared;
    uint64_t pos = atomic_load_explicit(&h->dequeue_pos, memory_order_relaxed);
    struct slot *s;
    for (;;) {
        s = slot_at(q, pos);
        /* ACQUIRE pairs with the producer's RELEASE: the payload is complete. */
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t difference = (int64_t)(seq - (pos + 1));
        if (difference == 0) {
            if (atomic_compare_exchange_weak_explicit(&h->dequeue_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (difference < 0) {
            return empty_or_ended(q, pos); /* not yet written (or never will be) */
        } else {
            pos = atomic_load_explicit(&h->dequeue_pos, memory_order_relaxed);
        }
    }
    size_t length = (size_t)s->length;
    size_t copied = length < r->size ? length : r->size;
    if (copied > 0)
        memcpy(r->buffer, s->data, copied);
    if (r->popped_length)
        *r->popped_length = length;
    /* RELEASE: our copy-out is finished before a producer may overwrite the slot. */
    atomic_store_explicit(&s->seq, pos + q->capacity, memory_order_release);
    wake_sleepers(&h->not_full);
    return copied < length ? EMSGSIZE : 0;
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
        do {
            for (int i = 0; i < 8; i++)
                cpu_relax();
            result = attempt(q, r);
        } while (result == EAGAIN && now_ns() < give_up);
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
    q->spin_ns = usable_cpu_count() > 1 ? DEFAULT_SPIN_NS : 0;
    if (name)
        strcpy(q->name, name); /* length checked by valid_name */
    *queue = q;
    return 0;
}

/* Fill in a fresh mapping (all zero, as mmap and ftruncate give it). */
static void initialise(struct shared_header *h, size_t slot_size, size_t capacity, uint64_t stride,
                       uint64_t total)
{
    h->version = QUEUE_VERSION;
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

int shm_queue_create(struct shm_queue **queue, const char *name, size_t slot_size, size_t capacity)
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
    initialise(mapping, slot_size, capacity, stride, total);
    err = make_handle(queue, mapping, name);
    if (err) {
        munmap(mapping, total);
        if (name)
            shm_unlink(name);
    }
    return err;
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
        (void)close(fd); /* as above */
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
    struct request r = {.message = message, .length = length};
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
    struct request r = {.buffer = buffer, .size = size, .popped_length = length};
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
    atomic_fetch_or_explicit(&h->enqueue_pos, CLOSED_BIT, memory_order_seq_cst);
    /* Wake everyone, registered or not: a close is rare, and every waiter must re-check. */
    struct wait_point *points[] = {&h->not_empty, &h->not_full};
    for (int i = 0; i < 2; i++) {
        atomic_fetch_add_explicit(&points[i]->event, 1, memory_order_seq_cst);
        syscall(SYS_futex, (void *)&points[i]->event, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
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
    return (atomic_load_explicit(&q->shared->enqueue_pos, memory_order_relaxed) & CLOSED_BIT) ? 1
                                                                                              : 0;
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
