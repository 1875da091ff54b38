/* test_analysis.c - the model fits, on synthetic curves whose parameters are known. */
#include <criterion/criterion.h>

#include <math.h>

#include "analysis.h"

static const double cores[] = {1, 2, 3, 4, 6, 8, 16, 32, 64};
enum { N = sizeof cores / sizeof cores[0] };

Test(analysis, amdahl_recovers_a_known_serial_fraction)
{
    double speedup[N];
    for (int i = 0; i < N; i++)
        speedup[i] = amdahl_speedup(0.05, cores[i]);
    struct amdahl_fit fit = fit_amdahl(cores, speedup, N);
    cr_assert(fit.ok);
    cr_assert_float_eq(fit.serial_fraction, 0.05, 1e-9);
    cr_assert_float_eq(fit.max_speedup, 20.0, 1e-6);
    cr_assert_lt(fit.rms_error, 1e-9);
}

Test(analysis, amdahl_with_noise_stays_close)
{
    double speedup[N];
    for (int i = 0; i < N; i++) /* +-2%, alternating */
        speedup[i] = amdahl_speedup(0.10, cores[i]) * (i % 2 ? 1.02 : 0.98);
    struct amdahl_fit fit = fit_amdahl(cores, speedup, N);
    cr_assert(fit.ok);
    cr_assert_float_eq(fit.serial_fraction, 0.10, 0.01);
}

Test(analysis, usl_recovers_contention_coherency_and_the_peak)
{
    double speedup[N];
    for (int i = 0; i < N; i++)
        speedup[i] = usl_speedup(0.03, 0.0005, cores[i]);
    struct usl_fit fit = fit_usl(cores, speedup, N);
    cr_assert(fit.ok);
    cr_assert_float_eq(fit.sigma, 0.03, 1e-9);
    cr_assert_float_eq(fit.kappa, 0.0005, 1e-12);
    cr_assert_float_eq(fit.peak_cores, sqrt(0.97 / 0.0005), 1e-6);
    cr_assert_float_eq(fit.peak_speedup, usl_speedup(0.03, 0.0005, fit.peak_cores), 1e-9);
}

Test(analysis, usl_without_coherency_has_no_peak)
{
    double speedup[N];
    for (int i = 0; i < N; i++)
        speedup[i] = usl_speedup(0.2, 0, cores[i]);
    struct usl_fit fit = fit_usl(cores, speedup, N);
    cr_assert(fit.ok);
    cr_assert_float_eq(fit.sigma, 0.2, 1e-9);
    cr_assert_float_eq(fit.kappa, 0, 1e-12);
    cr_assert_eq(fit.peak_cores, 0);
}

Test(analysis, perfect_scaling_gives_zero_parameters)
{
    double speedup[N];
    for (int i = 0; i < N; i++)
        speedup[i] = cores[i];
    cr_assert_float_eq(fit_amdahl(cores, speedup, N).serial_fraction, 0, 1e-12);
    struct usl_fit fit = fit_usl(cores, speedup, N);
    cr_assert_float_eq(fit.sigma, 0, 1e-12);
    cr_assert_float_eq(fit.kappa, 0, 1e-12);
}

Test(analysis, too_few_core_counts_refuse_to_fit)
{
    /* This machine's case: k = 1 and k = 2 only. */
    const double two[] = {1, 2}, s2[] = {1, 1.9};
    struct amdahl_fit a = fit_amdahl(two, s2, 2);
    struct usl_fit u = fit_usl(two, s2, 2);
    cr_assert_not(a.ok);
    cr_assert_eq(a.points, 1);
    cr_assert_not(u.ok);
    /* Three core counts: enough for Amdahl, not for the USL. */
    const double three[] = {1, 2, 4}, s3[] = {1, 1.9, 3.4};
    cr_assert(fit_amdahl(three, s3, 3).ok);
    cr_assert_not(fit_usl(three, s3, 3).ok);
}

Test(analysis, karp_flatt_matches_amdahl_on_an_amdahl_curve)
{
    for (int i = 1; i < N; i++)
        cr_assert_float_eq(karp_flatt(amdahl_speedup(0.07, cores[i]), cores[i]), 0.07, 1e-9);
    /* Perfect speedup: no serial part. */
    cr_assert_float_eq(karp_flatt(2.0, 2.0), 0, 1e-12);
}
