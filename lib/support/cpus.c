/* cpus.c - see cpus.h. */
#define _GNU_SOURCE
#include "support/cpus.h"

#include <sched.h>

#include "support/error.h"

int usable_cpu_ids(int *ids, int max)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == -1)
        die("sched_getaffinity");
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < max; cpu++)
        if (CPU_ISSET(cpu, &set))
            ids[count++] = cpu;
    return count;
}

int usable_cpu_count(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == -1)
        die("sched_getaffinity");
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}

void pin_to_cpus(const int *ids, int count)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++)
        CPU_SET(ids[i], &set);
    if (sched_setaffinity(0, sizeof set, &set) == -1)
        die("sched_setaffinity");
}
