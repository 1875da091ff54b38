/* statistics.h - the few statistics the benchmark reduces its runs with.
 *
 * Absolute times on a shared machine move by 2x between runs and are skewed (a run can only
 * be disturbed into being slower), so the driver reports medians and quartiles, which one
 * outlier cannot drag, never a mean and a standard deviation.  Uncertainty of a fitted
 * parameter comes from resampling the runs (bootstrap) rather than from a formula that
 * assumes normal errors.
 */
#ifndef FORKLORE_STATISTICS_H
#define FORKLORE_STATISTICS_H

#include <stdint.h>

/* The median of values[0..n-1] (n >= 1); sorts them in place. */
double median_of(double *values, int n);

/* The q-quantile (0 <= q <= 1) of sorted values, interpolating between neighbours. */
double quantile_of_sorted(const double *sorted, int n, double q);

/* Interquartile range over the median: 0 for n < 1 or a median of 0.  values are not changed. */
double relative_iqr(const double *values, int n);

/* A small, seeded generator (xorshift64*), so that a bootstrap is repeatable. */
uint64_t statistics_random(uint64_t *state);

/* A percentile bootstrap interval of a statistic: draws `rounds` resamples of the n groups
 * (indices 0..n-1 drawn with replacement), calls estimate(resample, n, arg) for each, and
 * stores the (1 - level)/2 and (1 + level)/2 quantiles of the results in *low and *high.
 * Returns how many resamples gave a finite estimate (0: no interval). */
int bootstrap_interval(int n, int rounds, double level, uint64_t seed,
                       double (*estimate)(const int *resample, int n, void *arg), void *arg,
                       double *low, double *high);

#endif
