/* parallel_primes.h - the interface of lab 6 (do not edit).
 *
 * Count the primes n with low <= n < high by splitting the range across `workers` forked
 * child processes, as lessons/01d-fork-join.md does:
 *
 *     long count = count_primes_parallel(0, 1000000, 2);    // 78498
 *
 * The rules the grader checks:
 *   - the count is right for any range and any worker count, including 1 worker, odd counts,
 *     and more workers than there are numbers in the range (some get nothing to do);
 *   - the children run at the same time: fork them all before waiting for any;
 *   - each child sends its partial count back (a pipe, or shared memory mapped before the
 *     fork), and leaves with _exit;
 *   - before returning, the function has reaped every child it forked: no zombie is left, and
 *     no file descriptor stays open.
 * Test a number by trial division (as fork_join does); what matters here is how the work is
 * split, not a faster prime test.
 *
 * Python counterpart: with multiprocessing.Pool(workers) as pool:
 *                         sum(pool.map(count_range, pieces))
 */
#ifndef PARALLEL_PRIMES_H
#define PARALLEL_PRIMES_H

/* Upper bounds: more workers than this is a typo; trial division beyond 10^12 takes hours. */
#define PARALLEL_PRIMES_MAX_WORKERS 1024
#define PARALLEL_PRIMES_MAX_HIGH 1000000000000L

/* The number of primes in [low, high), or -1 with errno set: EINVAL when low < 0,
 * high < low, high > PARALLEL_PRIMES_MAX_HIGH or workers is not in
 * 1..PARALLEL_PRIMES_MAX_WORKERS; or the error of pipe/fork; or ECHILD when a child did
 * not report its count (it crashed or was killed).  An empty range (low == high) has 0. */
long count_primes_parallel(long low, long high, int workers);

#endif
