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
 *   reserve_shared_file(fd, size)
 *                             size a new named object (shm_open) AND reserve its pages:
 *                             ftruncate alone only sets a size on tmpfs, and a process that
 *                             later touches a page /dev/shm has no room for dies of SIGBUS
 *                             (Docker's /dev/shm is 64 MiB).  posix_fallocate asks for the
 *                             pages now, so a full /dev/shm is an error here, at creation:
 *                             0, or the error number (ENOSPC).
 *   describe_file_room(fd, buf, n) "a 64.0 MiB tmpfs at /dev/shm with 3.5 MiB free": for the
 *                             message that reports ENOSPC plainly.
 *   reserve_shared_file_or_die(fd, size, name)  the two together, for a program: on failure
 *                             "cannot reserve 1000.0 MiB for /forklore-x: a 64.0 MiB ... free:
 *                             No space left on device".
 *
 * Python's multiprocessing.Lock and Condition are built on semaphores in shared memory; its
 * Value and Array are memory shared by the same kind of mapping.
 */
#ifndef FORKLORE_PROCESS_SHARED_H
#define FORKLORE_PROCESS_SHARED_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

void *map_shared(size_t size);
void unmap_shared(void *p, size_t size);
void init_shared_mutex(pthread_mutex_t *mutex);
void init_shared_cond(pthread_cond_t *cond);
int reserve_shared_file(int fd, off_t size);
const char *describe_file_room(int fd, char *buf, size_t size);
void reserve_shared_file_or_die(int fd, off_t size, const char *name);

#endif
