/* statistics.c - see statistics.h. */
#include "statistics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_of(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double quantile_of_sorted(const double *sorted, int n, double q)
{
    double at = q * (n - 1);
    int below = (int)at;
    if (below + 1 >= n)
        return sorted[n - 1];
    return sorted[below] + (at - below) * (sorted[below + 1] - sorted[below]);
}

double relative_iqr(const double *values, int n)
{
    if (n < 1)
        return 0;
    double *sorted = malloc(sizeof *sorted * (size_t)n);
    if (!sorted)
        return NAN;
    memcpy(sorted, values, sizeof *sorted * (size_t)n);
    double median = median_of(sorted, n); /* sorts */
    double iqr = quantile_of_sorted(sorted, n, 0.75) - quantile_of_sorted(sorted, n, 0.25);
    free(sorted);
    return median > 0 ? iqr / median : 0;
}

uint64_t statistics_random(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u; /* never stuck at 0 */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

int bootstrap_interval(int n, int rounds, double level, uint64_t seed,
                       double (*estimate)(const int *resample, int n, void *arg), void *arg,
                       double *low, double *high)
{
    *low = *high = NAN;
    if (n < 1 || rounds < 1)
        return 0;
    int *resample = malloc(sizeof *resample * (size_t)n);
    double *estimates = malloc(sizeof *estimates * (size_t)rounds);
    int good = 0;
    for (int r = 0; resample && estimates && r < rounds; r++) {
        for (int i = 0; i < n; i++)
            resample[i] = (int)(statistics_random(&seed) % (uint64_t)n);
        double e = estimate(resample, n, arg);
        if (isfinite(e))
            estimates[good++] = e;
    }
    if (good > 0) {
        qsort(estimates, (size_t)good, sizeof *estimates, compare_double);
        *low = quantile_of_sorted(estimates, good, (1 - level) / 2);
        *high = quantile_of_sorted(estimates, good, (1 + level) / 2);
    }
    free(resample);
    free(estimates);
    return good;
}
