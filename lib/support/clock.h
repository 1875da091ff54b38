/* clock.h - time for measuring, never for the time of day.
 *
 * CLOCK_MONOTONIC never jumps (NTP may step the wall clock backwards mid-run), so it is the
 * only clock a duration may be taken from.  CPU time is kept apart from wall time: a program
 * that spins looks fast on the wall clock and expensive on the CPU clock, and a benchmark
 * must show both.
 */
#ifndef FORKLORE_CLOCK_H
#define FORKLORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on the monotonic clock, from an arbitrary but fixed origin (boot). */
int64_t monotonic_ns(void);

/* CPU time (user + system) used so far by this thread, in nanoseconds. */
int64_t thread_cpu_ns(void);

/* CPU time (user + system) used by this process, and by its reaped children, in ns. */
int64_t process_cpu_ns(void);
int64_t children_cpu_ns(void);

/* An absolute time ns nanoseconds from now on the given clock, for the timed waits that take
 * one (sem_timedwait, mq_timedreceive and pthread_mutex_timedlock want CLOCK_REALTIME;
 * pthread_cond_timedwait the clock its condition was made with: CLOCK_MONOTONIC here). */
struct timespec deadline_after_ns(clockid_t clock, int64_t ns);

/* Sleep for the given number of nanoseconds, resuming after signal interruptions. */
void sleep_ns(int64_t ns);

#endif
