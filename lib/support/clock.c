/* clock.c - see clock.h. */
#define _GNU_SOURCE
#include "support/clock.h"

#include <errno.h>
#include <sys/resource.h>
#include <time.h>

#include "support/error.h"

static int64_t read_clock(clockid_t id, const char *name)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) == -1)
        die("clock_gettime(%s)", name);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t monotonic_ns(void)
{
    return read_clock(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
}

int64_t thread_cpu_ns(void)
{
    return read_clock(CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME");
}

static int64_t usage_ns(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) == -1)
        die("getrusage");
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

int64_t process_cpu_ns(void)
{
    return usage_ns(RUSAGE_SELF);
}

int64_t children_cpu_ns(void)
{
    return usage_ns(RUSAGE_CHILDREN);
}

void sleep_ns(int64_t ns)
{
    struct timespec left = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (nanosleep(&left, &left) == -1)
        if (errno != EINTR)
            die("nanosleep");
}

struct timespec deadline_after_ns(clockid_t clock, int64_t ns)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) == -1)
        die("clock_gettime");
    int64_t nsec = ts.tv_nsec + ns % 1000000000;
    ts.tv_sec += (time_t)(ns / 1000000000 + nsec / 1000000000); /* tv_nsec must stay < 1e9 */
    ts.tv_nsec = (long)(nsec % 1000000000);
    return ts;
}
