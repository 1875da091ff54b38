/* prime_job.h - the job the scaling workloads time: counting the primes in ranges of integers
 * by trial division, the same test as patterns/pool/pool_primes.c, patterns/mpi/mpi_primes.c
 * and bench/python_pool.py, so that every pool, fork-join and MPI series does the same work.
 *
 * A task reports not only its count but when, for how much CPU and in which thread it ran, so
 * that the driver can check the workers really ran side by side (worker spans, workload.h).
 */
#ifndef FORKLORE_PRIME_JOB_H
#define FORKLORE_PRIME_JOB_H

#include <stddef.h>
#include <stdint.h>

struct run_result;

/* The integers first <= n < end. */
struct prime_range {
    int64_t first, end;
};

/* What a task (or a fork-join child) reports. */
struct prime_result {
    int64_t count;
    int64_t start_ns, end_ns, cpu_ns; /* monotonic start and end; the thread's CPU time */
    int32_t worker; /* thread id: the pid for a process, distinct per thread for threads */
};

/* The primes in one range. */
int64_t prime_count_range(struct prime_range r);

/* Count ranges[0..n-1] into one result, saying when, for how much CPU, and in which thread. */
void prime_count_with_span(const struct prime_range *ranges, int n, struct prime_result *out);

/* A pool task (pool_task_fn, thread_task_fn): its argument one struct prime_range, its result
 * one struct prime_result.  EINVAL for an argument or a result buffer of the wrong size. */
int prime_range_task(const void *arg, size_t arg_size, void *result, size_t *result_size);

/* Fold task results into r's spans, one per worker: first start, last end, CPU summed.
 * 0, or ENOMEM. */
int prime_add_spans(struct run_result *r, const struct prime_result *results, int n);

/* The primes below limit by the sieve of Eratosthenes: the check on every run's answer, by
 * another method than the one timed.  -1 if the sieve cannot be allocated. */
long prime_sieve_count(long limit);

#endif
