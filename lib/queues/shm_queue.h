/* shm_queue.h - a bounded multi-producer, multi-consumer queue of fixed-size messages that
 * lives in shared memory, so that several processes can pass messages without a system call
 * per message.
 *
 * It plays the part of Python's multiprocessing.JoinableQueue: push/pop are put/get,
 * try_push/try_pop are put_nowait/get_nowait, the _timed variants are put/get with a timeout,
 * close() is Queue.close() seen from the consumers' side (they drain what is left, then learn
 * that nothing more will come), task_done()/join() are JoinableQueue's.
 *
 * Where the queue lives.  Two ways, pick one per queue:
 *   - name == NULL: an anonymous MAP_SHARED mapping.  Create the queue BEFORE fork(): the
 *     children inherit the mapping and the handle, and nothing needs unlinking.  This is the
 *     simple case for a parent and the children it forks.
 *   - name == "/something": POSIX shared memory (shm_open + mmap), so unrelated processes can
 *     shm_queue_attach() by name.  The name stays in /dev/shm until shm_queue_destroy() (or
 *     shm_queue_unlink()), so register it with cleanup_add_name(IPC_SHM, name) as well.
 *
 * How it works (details in shm_queue.c): a ring of `capacity` slots of `slot_size` bytes, each
 * slot with a sequence number (Dmitry Vyukov's bounded MPMC queue).  A push or a pop claims a
 * position with one compare-and-swap and copies the payload straight into or out of the slot:
 * no lock, no system call while the queue is neither full nor empty.  Only a process that must
 * wait (queue full, queue empty, join with work outstanding) sleeps in futex(FUTEX_WAIT), and
 * the other side calls futex(FUTEX_WAKE) only when it sees a sleeper registered.  A consumer
 * waiting on an empty queue re-reads only the slot it wants and a closed flag that is written
 * once, never the producers' counter, so waiting costs the producers no cache misses.
 *
 * Errors.  Every function that can fail returns 0 or an error number (like the pthread_*
 * functions; errno is not used):
 *   EAGAIN     try_push: the queue is full; try_pop: the queue is empty (Python: queue.Full /
 *              queue.Empty).  attach: the creator has not finished setting the queue up.
 *   ETIMEDOUT  a _timed call ran out of time.
 *   EPIPE      push after close; pop when the queue is closed AND drained (end of stream).
 *   EMSGSIZE   push: the message is longer than slot_size.  pop: the buffer was smaller than
 *              the message, which was truncated to fit (*length still says its real size).
 *   EINVAL     a size out of range (see the limits below), a bad name, task_done() called more
 *              times than there were pushes, or attach to something that is not a queue.
 *   others     from shm_open, ftruncate, mmap, fstat (ENOMEM, EEXIST, ENOENT, EACCES ...).
 */
#ifndef FORKLORE_SHM_QUEUE_H
#define FORKLORE_SHM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* Opaque: a process-local handle onto the shared queue (each process has its own copy). */
struct shm_queue;

/* Limits checked by shm_queue_create (EINVAL outside them; a size is never silently changed).
 * A capacity of 1 is refused: the sequence-number scheme needs two slots to tell a full slot
 * from an empty one. */
#define SHM_QUEUE_MIN_CAPACITY ((size_t)2)
#define SHM_QUEUE_MAX_CAPACITY ((size_t)1 << 24)
#define SHM_QUEUE_MAX_SLOT_SIZE ((size_t)1 << 30)
#define SHM_QUEUE_MAX_BYTES ((size_t)1 << 32) /* the whole mapping, header and slots */

/* Make a new, empty queue of `capacity` messages of at most `slot_size` bytes each.
 * name: NULL for an anonymous mapping shared with children forked later, or "/NAME" for a
 * POSIX shared memory object (created with O_EXCL: an existing name gives EEXIST). */
int shm_queue_create(struct shm_queue **queue, const char *name, size_t slot_size, size_t capacity);

/* The same queue for exactly one producer process and one consumer process at a time: each
 * side claims its positions with a plain store instead of a compare-and-swap, which is what the
 * general queue's generality costs (the benchmark measures it as its own series).  Every call
 * below works on it.  Two rules come with the speed: never push from two processes at once or
 * pop from two at once (the ring would be corrupted, not just slow), and close from the
 * producer, or when no push is in flight (a push racing a close from elsewhere may be neither
 * refused nor delivered).  shm_queue_is_spsc() says which kind a handle is. */
int shm_queue_create_spsc(struct shm_queue **queue, const char *name, size_t slot_size,
                          size_t capacity);

/* Open a queue another process created with a name. */
int shm_queue_attach(struct shm_queue **queue, const char *name);

/* Copy `length` bytes (0 .. slot_size) into the queue.  push blocks while the queue is full;
 * try_push returns EAGAIN instead; push_timed waits at most timeout_ns nanoseconds (>= 0; a
 * negative timeout is EINVAL, as for every _timed call). */
int shm_queue_push(struct shm_queue *queue, const void *message, size_t length);
int shm_queue_try_push(struct shm_queue *queue, const void *message, size_t length);
int shm_queue_push_timed(struct shm_queue *queue, const void *message, size_t length,
                         int64_t timeout_ns);

/* Take the oldest message into buffer (size bytes), its length into *length (may be NULL).
 * pop blocks while the queue is empty and open; try_pop returns EAGAIN; pop_timed waits at
 * most timeout_ns.  After close, pops return the messages left, then EPIPE. */
int shm_queue_pop(struct shm_queue *queue, void *buffer, size_t size, size_t *length);
int shm_queue_try_pop(struct shm_queue *queue, void *buffer, size_t size, size_t *length);
int shm_queue_pop_timed(struct shm_queue *queue, void *buffer, size_t size, size_t *length,
                        int64_t timeout_ns);

/* Batches: up to `count` messages with one claim and one wake-up check, so the per-message
 * cost of the atomics and the fence is shared out.  push_batch takes `count` messages of
 * `length` bytes each, back to back at `messages`; it waits until at least one fits, pushes as
 * many as fit (at most count), and sets *pushed to how many went.  pop_batch waits until at
 * least one message is there, takes up to `count` into buffer (message i at buffer + i * size),
 * their lengths into lengths[i] (may be NULL) and how many into *popped; EMSGSIZE if any was
 * cut to size (*popped still counts them all).  The messages of one batch are consecutive in
 * the queue's order; with several producers, batches of different producers interleave whole.
 *
 * timeout_ns, here and for the zero-copy calls: < 0 waits for ever, 0 tries once (EAGAIN if
 * it cannot), > 0 waits at most that long (ETIMEDOUT). */
int shm_queue_push_batch(struct shm_queue *queue, const void *messages, size_t length, size_t count,
                         size_t *pushed, int64_t timeout_ns);
int shm_queue_pop_batch(struct shm_queue *queue, void *buffer, size_t size, size_t count,
                        size_t *lengths, size_t *popped, int64_t timeout_ns);

/* Zero copy: the message is written and read in the slot itself, not copied in and out.
 *   producer:  reserve (a slot of ticket.length = slot_size bytes at ticket.data is yours),
 *              write the message there, commit(length) to publish it;
 *   consumer:  borrow (ticket.data, ticket.length: the oldest message, in place), read it,
 *              release to give the slot back.
 * A reserved or borrowed slot holds up the queue's order behind it: consumers wait for a
 * reserved slot's commit, producers for a borrowed slot's release, so keep the window short
 * and always end it (a process that dies holding a ticket stalls the queue, as one that dies
 * mid-push does).  After close, a reserve fails with EPIPE; a slot reserved before the close
 * must still be committed, and consumers wait for it.  A ticket is used once: a second commit
 * or release of it is EINVAL. */
struct shm_queue_ticket {
    void *data;        /* the payload area in shared memory */
    size_t length;     /* reserve: room (slot_size); borrow: the message's length */
    uint64_t position; /* the queue position the ticket holds (the library's) */
};
int shm_queue_reserve(struct shm_queue *queue, struct shm_queue_ticket *ticket, int64_t timeout_ns);
int shm_queue_commit(struct shm_queue *queue, struct shm_queue_ticket *ticket, size_t length);
int shm_queue_borrow(struct shm_queue *queue, struct shm_queue_ticket *ticket, int64_t timeout_ns);
int shm_queue_release(struct shm_queue *queue, struct shm_queue_ticket *ticket);

/* No more pushes (they fail with EPIPE).  Wakes every waiting producer and consumer; the
 * consumers drain what is queued and then get EPIPE.  Closing twice is harmless. */
int shm_queue_close(struct shm_queue *queue);

/* JoinableQueue: every successful push adds one unfinished task; a consumer calls task_done()
 * when it has finished with a message it popped; join() waits until none is unfinished. */
int shm_queue_task_done(struct shm_queue *queue);
int shm_queue_join(struct shm_queue *queue);
int shm_queue_join_timed(struct shm_queue *queue, int64_t timeout_ns);

/* Facts about the queue.  count is approximate while others push and pop (like qsize()). */
size_t shm_queue_slot_size(const struct shm_queue *queue);
size_t shm_queue_capacity(const struct shm_queue *queue);
size_t shm_queue_count(const struct shm_queue *queue);
int shm_queue_is_closed(const struct shm_queue *queue);
int shm_queue_is_spsc(const struct shm_queue *queue);

/* How long (ns) a waiter keeps re-checking the queue before it sleeps in the kernel.  The
 * default is chosen at create/attach time: 20 us when this process may use more than one CPU
 * (the other side is probably mid-copy), 0 on one CPU (spinning there only delays the process
 * we are waiting for).  Set it again after changing the CPU affinity. */
void shm_queue_set_spin(struct shm_queue *queue, int64_t spin_ns);

/* Unmap this process's view and free the handle; the queue lives on for the others. */
int shm_queue_detach(struct shm_queue *queue);

/* detach, and for a named queue remove the name from /dev/shm (the memory goes when the last
 * process unmaps it).  Call it in one process, the owner, once the others are done. */
int shm_queue_destroy(struct shm_queue *queue);

/* Remove a named queue's name without a handle (for clean-up paths). */
int shm_queue_unlink(const char *name);

#endif
