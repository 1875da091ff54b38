/* counters.c - Lab 3 reference solution: the lost update fixed three ways, with a process-
 * shared mutex, a process-shared semaphore and a C11 atomic, in one kit of shared counters.
 *
 * Every counter lives in one MAP_SHARED|MAP_ANONYMOUS mapping made before fork(), so the
 * parent and all its children update the same physical memory.  The mapping has no name,
 * so nothing can be left in /dev/shm; munmap() in counters_destroy() gives it back.
 *
 * Python counterpart: Value('l', 0, lock=False) is the racy counter; Value('l', 0) with
 * "with v.get_lock(): v.value += 1" is the mutex (or semaphore) one; Python has no atomic.
 *
 * See also: lessons/labs/races/handout.md, patterns/races/lost_update.c (the same three
 * fixes in a demonstration), patterns/locks/pshared_mutex.c, patterns/locks/atomic_counter.c.
 */
#define _GNU_SOURCE
#include "counters.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

const char *const counters_method_names[METHOD_COUNT] = {"racy", "mutex", "semaphore", "atomic"};

/* ---- making and releasing the kit ---------------------------------------------------------- */

/* A mutex that any process sharing its memory may lock: PROCESS_SHARED makes glibc use a
 * shared futex, which the kernel finds by the physical page, so one process's unlock can wake
 * a waiter in another.  The default (private) kind would leave such a waiter asleep forever. */
static int init_shared_mutex(pthread_mutex_t *mutex)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (err != 0)
        goto fail;
    err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (err == 0)
        err = pthread_mutex_init(mutex, &attr);
    pthread_mutexattr_destroy(&attr); /* the mutex keeps its own copy of the settings */
    if (err == 0)
        return 0;
fail:
    errno = err; /* pthread calls return the error number instead of setting errno */
    return -1;
}

struct counters *counters_create(void)
{
    /* Anonymous and shared: inherited by every fork(), and there is no name to unlink. */
    struct counters *c =
        mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return NULL;
    /* A fresh anonymous mapping is already zero; say so anyway for the plain totals. */
    c->racy = 0;
    c->mutex_total = 0;
    c->semaphore_total = 0;
    atomic_init(&c->atomic_total, 0);
    if (init_shared_mutex(&c->mutex) == -1)
        goto unmap;
    /* pshared = 1: the semaphore lives in memory shared by processes.  Value 1: the first
     * sem_wait takes it, everybody else waits; that makes it a lock. */
    if (sem_init(&c->semaphore, 1, 1) == -1) {
        int saved = errno;
        pthread_mutex_destroy(&c->mutex);
        errno = saved;
        goto unmap;
    }
    return c;
unmap:;
    int saved = errno; /* munmap must not hide why we failed */
    munmap(c, sizeof *c);
    errno = saved;
    return NULL;
}

int counters_destroy(struct counters *c)
{
    int failed = 0, saved = 0;
    /* EBUSY here means a process still holds the mutex: destroy came too early. */
    int err = pthread_mutex_destroy(&c->mutex);
    if (err != 0) {
        failed = 1;
        saved = err;
    }
    if (sem_destroy(&c->semaphore) == -1 && !failed) {
        failed = 1;
        saved = errno;
    }
    /* Release the memory even if a destroy failed: nothing else will. */
    if (munmap(c, sizeof *c) == -1 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed)
        errno = saved;
    return failed ? -1 : 0;
}

/* ---- the locks ------------------------------------------------------------------------------ */

int counters_mutex_lock(struct counters *c)
{
    int err = pthread_mutex_lock(&c->mutex); /* sleeps in the kernel while another holds it */
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

int counters_mutex_unlock(struct counters *c)
{
    int err = pthread_mutex_unlock(&c->mutex);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

int counters_semaphore_lock(struct counters *c)
{
    /* sem_wait fails with EINTR when a signal handler runs, whatever SA_RESTART says: that is
     * not an error, just wait again. */
    while (sem_wait(&c->semaphore) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

int counters_semaphore_unlock(struct counters *c)
{
    return sem_post(&c->semaphore); /* 0 -> 1: the lock is free, one waiter may go */
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
    if (counters_mutex_lock(c) == -1)
        return -1;
    c->mutex_total++; /* load, add, store: no other process can be between them now */
    return counters_mutex_unlock(c);
}

int counters_add_semaphore(struct counters *c)
{
    if (counters_semaphore_lock(c) == -1)
        return -1;
    c->semaphore_total++;
    return counters_semaphore_unlock(c);
}

int counters_add_atomic(struct counters *c)
{
    /* One indivisible read-modify-write (lock xadd on x86): there is no window to lose an
     * update in.  Relaxed is enough: nothing else is ordered by this counter, and whoever
     * reads the total does so after waitpid(), which orders everything the child did. */
    atomic_fetch_add_explicit(&c->atomic_total, 1, memory_order_relaxed);
    return 0;
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
