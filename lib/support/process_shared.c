/* process_shared.c - see process_shared.h. */
#define _GNU_SOURCE
#include "support/process_shared.h"

#include <sys/mman.h>
#include <time.h>

#include "support/error.h"

void *map_shared(size_t size)
{
    /* MAP_ANONYMOUS memory starts zeroed; MAP_SHARED: one copy for every process. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap(%zu bytes, MAP_SHARED)", size);
    return p;
}

void unmap_shared(void *p, size_t size)
{
    if (munmap(p, size) == -1)
        die("munmap");
}

void init_shared_mutex(pthread_mutex_t *mutex)
{
    pthread_mutexattr_t attr;
    check_error_number(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check_error_number(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                       "pthread_mutexattr_setpshared");
    check_error_number(pthread_mutex_init(mutex, &attr), "pthread_mutex_init");
    check_error_number(pthread_mutexattr_destroy(&attr), "pthread_mutexattr_destroy");
}

void init_shared_cond(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    check_error_number(pthread_condattr_init(&attr), "pthread_condattr_init");
    check_error_number(pthread_condattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                       "pthread_condattr_setpshared");
    check_error_number(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC),
                       "pthread_condattr_setclock");
    check_error_number(pthread_cond_init(cond, &attr), "pthread_cond_init");
    check_error_number(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
}
