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
 * the other side calls futex(FUTEX_WAKE) only when it sees a sleeper registered.
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
