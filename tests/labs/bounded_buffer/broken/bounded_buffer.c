/* bounded_buffer.c - Lab 4 BROKEN variant (one free slot too many), for the grader's tests;
 * otherwise the reference solution: a bounded buffer between processes, a ring of
 * longs in shared memory coordinated by three semaphores (empty slots, full slots, a mutex).
 *
 * The ring and its semaphores live in one MAP_SHARED|MAP_ANONYMOUS mapping made before fork(),
 * so every process that inherits it works on the same slots.  Unnamed semaphores with
 * pshared = 1 sit inside that mapping: nothing has a name, so nothing can be left in /dev/shm.
 *
 *   empty  counts free slots, starts at capacity: put waits on it, so put blocks when full;
 *   full   counts filled slots, starts at 0: get waits on it, so get blocks when empty;
 *   mutex  starts at 1: one process at a time moves the head or the tail.
 *
 * Python counterpart: multiprocessing.Queue(maxsize=capacity) is this whole file: put()
 * blocks when full, get() when empty.
 *
 * See also: lessons/labs/bounded_buffer/handout.md, lessons/07-classic-problems.md (section 1),
 * patterns/classic/producer_consumer.c.
 */
#define _GNU_SOURCE
#include "bounded_buffer.h"

#include <errno.h>
#include <semaphore.h>
#include <sys/mman.h>

struct bounded_buffer {
    sem_t empty; /* free slots */
    sem_t full;  /* filled slots */
    sem_t mutex; /* guards head and tail */
    size_t capacity;
    size_t head;         /* next slot to get from */
    size_t tail;         /* next slot to put into */
    size_t mapped_bytes; /* what munmap must give back */
    long ring[];         /* capacity slots, in the same mapping */
};

/* ---- waiting and posting ------------------------------------------------------------------- */

/* sem_wait fails with EINTR whenever a signal handler runs, whatever SA_RESTART says.  That is
 * not a reason to stop waiting: the buffer is as full (or as empty) as it was. */
static int wait_for(sem_t *sem)
{
    while (sem_wait(sem) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* ---- making and releasing ------------------------------------------------------------------- */

struct bounded_buffer *bounded_buffer_create(size_t capacity)
{
    if (capacity < 1 || capacity > BOUNDED_BUFFER_MAX_CAPACITY) {
        errno = EINVAL;
        return NULL;
    }
    size_t bytes = sizeof(struct bounded_buffer) + capacity * sizeof(long);
    /* Anonymous and shared: inherited by every fork(), no name to unlink. */
    struct bounded_buffer *b =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    b->capacity = capacity;
    b->head = b->tail = 0;
    b->mapped_bytes = bytes;
    /* pshared = 1 for all three: they are used by every process that shares the mapping.
     * The mistake: "empty" starts at capacity + 1 ("one spare, to be safe"), so a producer may
     * put one item more than the ring holds, and that put overwrites the oldest unread item. */
    if (sem_init(&b->empty, 1, (unsigned)capacity + 1) == -1 || sem_init(&b->full, 1, 0) == -1 ||
        sem_init(&b->mutex, 1, 1) == -1) {
        /* No sem_destroy needed for the ones already made: an unnamed semaphore holds no
         * resource outside its own bytes, which munmap gives back. */
        int saved = errno;
        munmap(b, bytes);
        errno = saved;
        return NULL;
    }
    return b;
}

int bounded_buffer_destroy(struct bounded_buffer *b)
{
    int failed = 0, saved = 0;
    sem_t *sems[] = {&b->empty, &b->full, &b->mutex};
    for (int i = 0; i < 3; i++)
        if (sem_destroy(sems[i]) == -1 && !failed) {
            failed = 1;
            saved = errno;
        }
    /* The memory goes back in any case: nobody else will release it. */
    if (munmap(b, b->mapped_bytes) == -1 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed)
        errno = saved;
    return failed ? -1 : 0;
}

/* ---- put and get ------------------------------------------------------------------------------
 */

int bounded_buffer_put(struct bounded_buffer *b, long item)
{
    /* The counting semaphore first, the mutex second.  The other order lets a producer sleep
     * on a full ring while holding the mutex, and then no consumer can get in to make room. */
    if (wait_for(&b->empty) == -1)
        return -1;
    if (wait_for(&b->mutex) == -1) {
        sem_post(&b->empty); /* give back the slot we reserved */
        return -1;
    }
    b->ring[b->tail] = item;
    b->tail = (b->tail + 1) % b->capacity;
    if (sem_post(&b->mutex) == -1)
        return -1;
    return sem_post(&b->full); /* one more item: wake one waiting consumer */
}

int bounded_buffer_get(struct bounded_buffer *b, long *item)
{
    if (wait_for(&b->full) == -1)
        return -1;
    if (wait_for(&b->mutex) == -1) {
        sem_post(&b->full);
        return -1;
    }
    *item = b->ring[b->head];
    b->head = (b->head + 1) % b->capacity;
    if (sem_post(&b->mutex) == -1)
        return -1;
    return sem_post(&b->empty); /* one more free slot: wake one waiting producer */
}
