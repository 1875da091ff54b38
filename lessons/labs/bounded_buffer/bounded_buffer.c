/* bounded_buffer.c - Lab 4: a bounded buffer between processes.  YOU COMPLETE THIS FILE.
 *
 * A ring of `capacity` longs in shared memory, and the semaphores that make put wait while it
 * is full and get wait while it is empty (lesson 07, section 1, builds exactly this).  The
 * layout of struct bounded_buffer is yours: the fields below are a suggestion.
 *
 * Until you write them, the functions fail at once (NULL or -1 with errno = ENOSYS), so the
 * grader fails fast instead of hanging.
 *
 * Python counterpart: multiprocessing.Queue(maxsize=capacity): put() blocks when full, get()
 * when empty.
 *
 * See also: handout.md, lessons/06-semaphores-and-conditions.md,
 * lessons/07-classic-problems.md, patterns/classic/producer_consumer.c.
 */
#define _GNU_SOURCE
#include "bounded_buffer.h"

#include <errno.h>
#include <semaphore.h>
#include <sys/mman.h>

/* TODO: decide what the buffer needs.  A suggestion (lesson 07, section 1):
 *   sem_t empty;   free slots: put waits on it; starts at capacity
 *   sem_t full;    filled slots: get waits on it; starts at 0
 *   sem_t mutex;   one process at a time moves head or tail; starts at 1
 *   size_t capacity, head, tail;
 *   size_t mapped_bytes;   what munmap needs to give back
 *   long ring[];           a flexible array member: the slots, in the same mapping */
struct bounded_buffer {
    size_t capacity;
};

struct bounded_buffer *bounded_buffer_create(size_t capacity)
{
    /* TODO: refuse a capacity outside 1 .. BOUNDED_BUFFER_MAX_CAPACITY with EINVAL.
     * TODO (lesson 04, section 1): one mmap with MAP_SHARED | MAP_ANONYMOUS, big enough for
     *      the struct and its ring, so that fork() shares it instead of copying it.
     * TODO (lesson 06, section 1): sem_init each semaphore: pshared must be 1 (why?), and
     *      which starting values make put block when full and get block when empty?
     * On any failure, undo (munmap), keep errno, return NULL. */
    (void)capacity;
    errno = ENOSYS;
    return NULL;
}

int bounded_buffer_put(struct bounded_buffer *buffer, long item)
{
    /* TODO (lesson 07, section 1, ring_put): wait for a free slot, then for the mutex (in
     *      that order: why?), store the item at the tail, move the tail on, post the mutex,
     *      post "one more item".
     * TODO (lesson 06, section 2): sem_wait fails with EINTR when a signal handler runs; that
     *      is not an error: wait again. */
    (void)buffer;
    (void)item;
    errno = ENOSYS;
    return -1;
}

int bounded_buffer_get(struct bounded_buffer *buffer, long *item)
{
    /* TODO: the mirror image of put: wait for an item, then the mutex, take the item at the
     *       head, move the head on, post the mutex, post "one more free slot". */
    (void)buffer;
    (void)item;
    errno = ENOSYS;
    return -1;
}

int bounded_buffer_destroy(struct bounded_buffer *buffer)
{
    /* TODO: sem_destroy each semaphore, then munmap the whole mapping; -1 with errno if
     *       anything failed (but release the memory in any case). */
    (void)buffer;
    errno = ENOSYS;
    return -1;
}
