/* cpus.h - which CPUs this process may run on.
 *
 * sysconf(_SC_NPROCESSORS_ONLN) counts the machine's CPUs, not the ones this process is
 * allowed to use: under taskset, a container's cpuset or a batch scheduler those differ, and a
 * pool sized from the machine would oversubscribe.  sched_getaffinity gives the real set.
 */
#ifndef FORKLORE_CPUS_H
#define FORKLORE_CPUS_H

/* How many CPUs this process may run on (at least 1). */
int usable_cpu_count(void);

/* The CPUs this process may run on, in ascending order: fills ids[0..max-1], returns count. */
int usable_cpu_ids(int *ids, int max);

/* Restrict this process (and the children it forks from now on) to the given CPUs. */
void pin_to_cpus(const int *ids, int count);

#endif
