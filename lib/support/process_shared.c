/* process_shared.c - see process_shared.h. */
#define _GNU_SOURCE
#include "support/process_shared.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

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

int reserve_shared_file(int fd, off_t size)
{
    if (ftruncate(fd, size) == -1)
        return errno;
    /* posix_fallocate returns the error number rather than setting errno.  EINTR: a signal
     * came while it allocated; the pages it got stay, so asking again finishes the job. */
    int err;
    while ((err = posix_fallocate(fd, 0, size)) == EINTR)
        continue;
    return err;
}

static double mib(double bytes)
{
    return bytes / (1024.0 * 1024.0);
}

const char *describe_file_room(int fd, char *buf, size_t size)
{
    struct statfs fs;
    if (fstatfs(fd, &fs) == -1) {
        snprintf(buf, size, "a file system whose size fstatfs cannot tell");
        return buf;
    }
    double block = (double)fs.f_bsize;
    snprintf(buf, size, "a %.1f MiB %s with %.1f MiB free", mib(block * (double)fs.f_blocks),
             fs.f_type == 0x01021994 ? "tmpfs (/dev/shm)" : "file system",
             mib(block * (double)fs.f_bavail));
    return buf;
}

void reserve_shared_file_or_die(int fd, off_t size, const char *name)
{
    int err = reserve_shared_file(fd, size);
    if (err == 0)
        return;
    char room[128];
    die_with_code(err, "cannot reserve %.1f MiB for %s in %s", mib((double)size), name,
                  describe_file_room(fd, room, sizeof room));
}
