/* bounded_buffer.h - Lab 4's bounded buffer: a FIFO of at most `capacity` longs, in memory
 * shared by a parent and the processes it forks.  This file is given: do not edit it.
 *
 * Producers put, consumers get, each in any process that inherited the buffer:
 *   - put waits while the buffer is full, get waits while it is empty, asleep (not spinning);
 *   - every item put is got exactly once, and items leave in the order they were put in;
 *   - a signal that interrupts a wait does not end it: put and get go on waiting.
 *
 * The buffer is made once, by bounded_buffer_create(), BEFORE the processes that use it are
 * forked.  bounded_buffer_destroy() is called once, by that same process, after every other
 * user has exited.  The layout of struct bounded_buffer is yours to choose in
 * bounded_buffer.c (lesson 07 uses three semaphores and a ring).
 *
 * Every function that can fail returns 0 on success and -1 with errno set.
 *
 * See lessons/06-semaphores-and-conditions.md and lessons/07-classic-problems.md, section 1.
 */
#ifndef FORKLORE_LAB_BOUNDED_BUFFER_H
#define FORKLORE_LAB_BOUNDED_BUFFER_H

#include <stddef.h>

/* The largest capacity bounded_buffer_create() must accept. */
#define BOUNDED_BUFFER_MAX_CAPACITY 65536

struct bounded_buffer; /* defined in bounded_buffer.c */

/* An empty buffer for up to capacity items (1 .. BOUNDED_BUFFER_MAX_CAPACITY), in memory that
 * fork() shares.  NULL with errno set on failure: EINVAL for a capacity out of range. */
struct bounded_buffer *bounded_buffer_create(size_t capacity);

/* Add item at the back; while the buffer is full, wait (asleep) until a get makes room. */
int bounded_buffer_put(struct bounded_buffer *buffer, long item);

/* Take the item at the front into *item; while the buffer is empty, wait until a put. */
int bounded_buffer_get(struct bounded_buffer *buffer, long *item);

/* Release everything create() made: nothing may be left behind, in memory or in /dev/shm.
 * Only when no other process uses the buffer any more. */
int bounded_buffer_destroy(struct bounded_buffer *buffer);

#endif
