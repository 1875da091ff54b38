/* counters.c - Lab 3: the lost update fixed three ways.  YOU COMPLETE THIS FILE.
 *
 * The kit (counters.h) holds four counters in memory shared by a parent and its children.
 * The racy one is given; you make the mutex, semaphore and atomic ones exact, and write
 * counters_create() and counters_destroy().  Every TODO names the lesson that shows how.
 *
 * Until you do, every function below fails at once (NULL or -1 with errno = ENOSYS), so the
 * grader fails fast instead of hanging.
 *
 * Python counterpart: Value('l', 0, lock=False) is the racy counter; Value('l', 0) with
 * "with v.get_lock(): v.value += 1" is the locked one; Python has no atomic counter.
 *
 * See also: handout.md, lessons/04-races.md, lessons/05-locks.md,
 * lessons/06-semaphores-and-conditions.md, patterns/races/lost_update.c.
 */
#define _GNU_SOURCE
#include "counters.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Given: the names race_costs prints and the grader looks for. */
const char *const counters_method_names[METHOD_COUNT] = {"racy", "mutex", "semaphore", "atomic"};

/* ---- making and releasing the kit ---------------------------------------------------------- */

struct counters *counters_create(void)
{
    /* TODO (lesson 04, section 1; lost_update.c:map_shared): mmap one struct counters with
     *      MAP_SHARED | MAP_ANONYMOUS, so that fork() shares it instead of copying it.
     * TODO (lesson 05, section 1; pshared_mutex.c:init_shared_mutex): initialise c->mutex
     *      with an attribute set to PTHREAD_PROCESS_SHARED.  Remember that pthread calls
     *      return the error number: copy it into errno before returning.
     * TODO (lesson 06, section 1): sem_init(&c->semaphore, pshared, value): which pshared,
     *      and which value makes a semaphore a lock?
     * TODO: the totals start at 0 (atomic_init for the atomic one).
     * On any failure, undo what was done (munmap), keep errno, and return NULL. */
    errno = ENOSYS;
    return NULL;
}

int counters_destroy(struct counters *c)
{
    /* TODO: pthread_mutex_destroy, sem_destroy, then munmap; return -1 with errno set if
     *       any of them failed (but release the memory in any case). */
    (void)c;
    errno = ENOSYS;
    return -1;
}

/* ---- the locks ------------------------------------------------------------------------------ */

int counters_mutex_lock(struct counters *c)
{
    /* TODO: pthread_mutex_lock; 0, or -1 with errno set to the number it returned. */
    (void)c;
    errno = ENOSYS;
    return -1;
}

int counters_mutex_unlock(struct counters *c)
{
    /* TODO: pthread_mutex_unlock. */
    (void)c;
    errno = ENOSYS;
    return -1;
}

int counters_semaphore_lock(struct counters *c)
{
    /* TODO (lesson 06, section 2): sem_wait.  A signal handler makes it fail with EINTR
     *      (whatever SA_RESTART says): that is not an error, wait again. */
    (void)c;
    errno = ENOSYS;
    return -1;
}

int counters_semaphore_unlock(struct counters *c)
{
    /* TODO: sem_post. */
    (void)c;
    errno = ENOSYS;
    return -1;
}

/* ---- adding one ------------------------------------------------------------------------------ */

/* Given: the three steps of ++ written out.  Between the load and the store another process
 * may store its own value, and one of the two increments is lost. */
void counters_add_racy(struct counters *c)
{
    long seen = c->racy; /* load */
    c->racy = seen + 1;  /* store, over whatever others stored meanwhile */
}

int counters_add_mutex(struct counters *c)
{
    /* TODO: lock, c->mutex_total++, unlock (with your functions above). */
    (void)c;
    errno = ENOSYS;
    return -1;
}

int counters_add_semaphore(struct counters *c)
{
    /* TODO: the same with the semaphore and c->semaphore_total. */
    (void)c;
    errno = ENOSYS;
    return -1;
}

int counters_add_atomic(struct counters *c)
{
    /* TODO (lesson 05, section 5; atomic_counter.c:worker): one atomic read-modify-write on
     *      c->atomic_total.  Which memory order is enough, and why?  (An atomic load followed
     *      by an atomic store is NOT one read-modify-write: lesson 05, exercise 5.) */
    (void)c;
    errno = ENOSYS;
    return -1;
}

/* ---- given: by method number ------------------------------------------------------------------
 */

int counters_add(struct counters *c, enum counters_method method)
{
    switch (method) {
    case METHOD_RACY: counters_add_racy(c); return 0;
    case METHOD_MUTEX: return counters_add_mutex(c);
    case METHOD_SEMAPHORE: return counters_add_semaphore(c);
    case METHOD_ATOMIC: return counters_add_atomic(c);
    case METHOD_COUNT: break;
    }
    errno = EINVAL;
    return -1;
}

long counters_total(struct counters *c, enum counters_method method)
{
    switch (method) {
    case METHOD_RACY: return c->racy;
    case METHOD_MUTEX: return c->mutex_total;
    case METHOD_SEMAPHORE: return c->semaphore_total;
    case METHOD_ATOMIC: return atomic_load(&c->atomic_total);
    case METHOD_COUNT: break;
    }
    return -1;
}
