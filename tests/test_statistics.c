/* test_statistics.c - the benchmark's statistics module and its fork-workers helper, by
 * behaviour: values on known data, and what is left behind (no child) when a worker fails. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork_workers.h"
#include "statistics.h"

Test(statistics, median_of_odd_and_even_counts)
{
    double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2};
    cr_assert_float_eq(median_of(odd, 3), 3, 1e-12);
    cr_assert_float_eq(median_of(even, 4), 2.5, 1e-12);
    cr_assert_float_eq(odd[0], 1, 1e-12, "median_of sorts in place");
}

Test(statistics, quantiles_interpolate_between_neighbours)
{
    const double sorted[] = {10, 20, 30, 40, 50};
    cr_assert_float_eq(quantile_of_sorted(sorted, 5, 0), 10, 1e-12);
    cr_assert_float_eq(quantile_of_sorted(sorted, 5, 0.25), 20, 1e-12);
    cr_assert_float_eq(quantile_of_sorted(sorted, 5, 0.375), 25, 1e-12);
    cr_assert_float_eq(quantile_of_sorted(sorted, 5, 1), 50, 1e-12);
}

/* One wild run moves a mean by a lot and the IQR over the median not at all. */
Test(statistics, relative_iqr_ignores_one_outlier)
{
    const double runs[] = {100, 101, 99, 100, 100, 1000};
    double before[6];
    memcpy(before, runs, sizeof runs);
    double spread = relative_iqr(runs, 6);
    cr_assert(spread < 0.02, "spread %g", spread);
    cr_assert_eq(memcmp(before, runs, sizeof runs), 0, "the values are left as they were");
    cr_assert_float_eq(relative_iqr(runs, 0), 0, 1e-12);
}

static double mean_of_resample(const int *resample, int n, void *arg)
{
    const double *values = arg;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += values[resample[i]];
    return sum / n;
}

/* A bootstrap interval of the mean brackets the mean, is repeatable for a seed, and is a
 * point when every value is the same. */
Test(statistics, bootstrap_interval_of_a_mean)
{
    double values[40];
    for (int i = 0; i < 40; i++)
        values[i] = i % 2 ? 9 : 11; /* mean 10 */
    double lo, hi, lo2, hi2;
    cr_assert_eq(bootstrap_interval(40, 500, 0.9, 7, mean_of_resample, values, &lo, &hi), 500);
    cr_assert(lo < 10 && hi > 10 && lo > 9 && hi < 11, "[%g, %g]", lo, hi);
    bootstrap_interval(40, 500, 0.9, 7, mean_of_resample, values, &lo2, &hi2);
    cr_assert(lo == lo2 && hi == hi2, "the same seed gives the same interval");
    for (int i = 0; i < 40; i++)
        values[i] = 3;
    bootstrap_interval(40, 100, 0.9, 1, mean_of_resample, values, &lo, &hi);
    cr_assert_float_eq(lo, 3, 1e-12);
    cr_assert_float_eq(hi, 3, 1e-12);
    cr_assert_eq(bootstrap_interval(0, 100, 0.9, 1, mean_of_resample, values, &lo, &hi), 0);
    cr_assert(isnan(lo) && isnan(hi), "no data, no interval");
}

/* --- fork_workers -------------------------------------------------------------------------- */

static int square_worker(int index, void *arg, void *record)
{
    (void)arg;
    long value = (long)index * index;
    memcpy(record, &value, sizeof value);
    return 0;
}

static int failing_worker(int index, void *arg, void *record)
{
    (void)record;
    return index == *(int *)arg ? 7 : 0; /* one worker fails, with status 7 */
}

static void assert_no_child_left(void)
{
    errno = 0;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child is still there");
    cr_assert_eq(errno, ECHILD);
}

Test(statistics, fork_workers_collects_one_record_per_worker_by_index)
{
    enum { N = 300 }; /* more workers than a pipe buffer has records of this size */
    long records[N];
    char detail[160] = "";
    struct fork_workers_job job = {N, sizeof records[0], square_worker, NULL};
    cr_assert_eq(fork_workers(&job, records, detail, sizeof detail), 0, "%s", detail);
    for (long i = 0; i < N; i++)
        cr_assert_eq(records[i], i * i, "record %ld", i);
    assert_no_child_left();
}

Test(statistics, fork_workers_reports_a_failed_worker_and_reaps_all)
{
    long records[8];
    char detail[160] = "";
    int bad = 5;
    struct fork_workers_job job = {8, sizeof records[0], failing_worker, &bad};
    cr_assert_eq(fork_workers(&job, records, detail, sizeof detail), -1);
    cr_assert(strstr(detail, "1 of 8 workers failed") != NULL, "%s", detail);
    assert_no_child_left();
}

Test(statistics, fork_workers_refuses_a_record_larger_than_one_atomic_write)
{
    static char records[2][FORK_WORKERS_MAX_RECORD + 1];
    char detail[160] = "";
    struct fork_workers_job job = {2, FORK_WORKERS_MAX_RECORD + 1, square_worker, NULL};
    cr_assert_eq(fork_workers(&job, records, detail, sizeof detail), -1);
    cr_assert(strstr(detail, "records") != NULL, "%s", detail);
    assert_no_child_left();
}
