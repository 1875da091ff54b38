/* process_shared.h - memory, mutexes and conditions that several processes share.
 *
 *   map_shared(size)          zeroed memory that stays shared across fork(): an anonymous
 *                             MAP_SHARED mapping (a private one would be copied on write,
 *                             and each process would update its own copy).  Made before the
 *                             fork; unmap_shared(p, size) when done.
 *   init_shared_mutex(m)      a mutex with PTHREAD_PROCESS_SHARED: the default (private)
 *                             objects may keep process-local state, and are undefined when
 *                             used from another process.  One process initialises it, once,
 *                             before any other process uses it: here the parent, before fork.
 *   init_shared_cond(c)       the same for a condition, which also waits on CLOCK_MONOTONIC,
 *                             so a deadline is immune to steps of the wall clock (use
 *                             monotonic deadlines with pthread_cond_timedwait).
 *
 * Python's multiprocessing.Lock and Condition are built on semaphores in shared memory; its
 * Value and Array are memory shared by the same kind of mapping.
 */
#ifndef FORKLORE_PROCESS_SHARED_H
#define FORKLORE_PROCESS_SHARED_H

#include <pthread.h>
#include <stddef.h>

void *map_shared(size_t size);
void unmap_shared(void *p, size_t size);
void init_shared_mutex(pthread_mutex_t *mutex);
void init_shared_cond(pthread_cond_t *cond);

#endif
