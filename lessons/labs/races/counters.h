/* counters.h - Lab 3's counter kit: four counters in memory shared by a parent and the
 * processes it forks, each updated a different way.  This file is given: do not edit it.
 *
 *   racy       load, add one, store: no protection at all (given, for comparison)
 *   mutex      a pthread mutex shared between processes guards the ++
 *   semaphore  an unnamed POSIX semaphore shared between processes (value 1) guards the ++
 *   atomic     one C11 atomic read-modify-write: no lock at all
 *
 * The kit is made once, by counters_create(), BEFORE the processes that use it are forked:
 * they inherit the mapping, so all of them update the same memory.  counters_destroy() is
 * called once, by that same process, after every other user has exited.
 *
 * Every function that can fail returns 0 on success and -1 on failure with errno set (a
 * pthread call returns its error number instead of setting errno: copy it into errno).
 *
 * See lessons/04-races.md (the lost update), lessons/05-locks.md (process-shared mutex,
 * atomics), lessons/06-semaphores-and-conditions.md (sem_init with pshared = 1).
 */
#ifndef FORKLORE_LAB_COUNTERS_H
#define FORKLORE_LAB_COUNTERS_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

/* A lock-free atomic works between processes; one that is not hides a lock in one process's
 * private memory, and would silently fail here (lesson 05, section 5). */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "atomic_long must be lock-free to be shared");

/* The whole kit, in one shared mapping.  The grader reads the totals straight from here. */
struct counters {
    volatile long racy;    /* counters_add_racy: volatile, so every ++ really is load+store */
    pthread_mutex_t mutex; /* PTHREAD_PROCESS_SHARED; guards mutex_total */
    long mutex_total;
    sem_t semaphore; /* pshared = 1, value 1: a lock; guards semaphore_total */
    long semaphore_total;
    atomic_long atomic_total; /* changed only by atomic read-modify-writes */
};

/* The four ways of adding one, in the order race_costs prints them. */
enum counters_method { METHOD_RACY, METHOD_MUTEX, METHOD_SEMAPHORE, METHOD_ATOMIC, METHOD_COUNT };

/* "racy", "mutex", "semaphore", "atomic": the names race_costs prints. */
extern const char *const counters_method_names[METHOD_COUNT];

/* ---- making and releasing the kit --------------------------------------------------------- */

/* A fresh kit, every total 0, in memory that fork() shares instead of copying; NULL with
 * errno set if anything fails (and nothing is left behind then either). */
struct counters *counters_create(void);

/* Destroy the mutex and the semaphore and release the memory.  Only when no other process
 * uses the kit any more.  0, or -1 with errno set. */
int counters_destroy(struct counters *c);

/* ---- the locks on their own (the adds use them; the grader also calls them directly) ------ */

int counters_mutex_lock(struct counters *c); /* waits while another process holds it */
int counters_mutex_unlock(struct counters *c);
int counters_semaphore_lock(struct counters *c);   /* sem_wait; a signal does not end the wait */
int counters_semaphore_unlock(struct counters *c); /* sem_post */

/* ---- adding one ----------------------------------------------------------------------------- */

void counters_add_racy(struct counters *c); /* given: loses updates */
int counters_add_mutex(struct counters *c);
int counters_add_semaphore(struct counters *c);
int counters_add_atomic(struct counters *c);

/* Given: the add and the total of one method by its number (race_costs uses these). */
int counters_add(struct counters *c, enum counters_method method);
long counters_total(struct counters *c, enum counters_method method);

#endif
