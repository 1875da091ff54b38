/* test_analysis.c - the model fits, on synthetic curves whose parameters are known. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "analysis.h"
#include "bootstrap_fits.h"

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

/* --- intervals and the verdict (bootstrap_fits.h) ------------------------------------------- */

/* Five runs per core count whose times follow a law, each off by a fixed pattern of up to
 * +-3% (no randomness in the test: the same data every time). */
static void runs_from(double (*law)(double, double, double), double p1, double p2,
                      const double *cores, int m, double runs[][5], const double *ptrs[],
                      int nruns[])
{
    static const double wobble[5] = {-0.03, -0.01, 0, 0.015, 0.03};
    for (int j = 0; j < m; j++) {
        double t = 1.0 / law(p1, p2, cores[j]); /* T(1) = 1 */
        for (int i = 0; i < 5; i++)
            runs[j][i] = t * (1 + wobble[(i + j) % 5]);
        ptrs[j] = runs[j];
        nruns[j] = 5;
    }
}

static double amdahl_law(double s, double unused, double k)
{
    (void)unused;
    return amdahl_speedup(s, k);
}

static double usl_law(double sigma, double kappa, double k)
{
    return usl_speedup(sigma, kappa, k);
}

static void fit_all(const double *cores, const double *const *ptrs, const int *nruns, int m,
                    struct amdahl_fit *a, struct usl_fit *u, struct fit_intervals *ci)
{
    double speedup[16];
    for (int j = 0; j < m; j++) { /* medians: the middle of the five */
        double sorted[5];
        memcpy(sorted, ptrs[j], sizeof sorted);
        for (int x = 0; x < 5; x++)
            for (int y = x + 1; y < 5; y++)
                if (sorted[y] < sorted[x]) {
                    double t = sorted[x];
                    sorted[x] = sorted[y], sorted[y] = t;
                }
        speedup[j] = 1.0 / sorted[2];
    }
    for (int j = m - 1; j >= 0; j--)
        speedup[j] /= speedup[0];
    *a = fit_amdahl(cores, speedup, m);
    *u = fit_usl(cores, speedup, m);
    *ci = bootstrap_fits(cores, ptrs, nruns, m, 0, 300, 42);
}

Test(analysis, bootstrap_interval_brackets_amdahl_and_cannot_tell_it_from_the_usl)
{
    const double cores[] = {1, 2, 3, 4, 6, 8, 16, 32};
    enum { M = 8 };
    double runs[M][5];
    const double *ptrs[M];
    int nruns[M];
    runs_from(amdahl_law, 0.05, 0, cores, M, runs, ptrs, nruns);
    struct amdahl_fit a;
    struct usl_fit u;
    struct fit_intervals ci;
    fit_all(cores, ptrs, nruns, M, &a, &u, &ci);
    cr_assert_eq(ci.rounds, 300);
    cr_assert(ci.s_low <= 0.05 && ci.s_high >= 0.05, "s in [%g, %g]", ci.s_low, ci.s_high);
    cr_assert(ci.s_high - ci.s_low < 0.03, "a tight interval for 3%% noise: [%g, %g]", ci.s_low,
              ci.s_high);
    const char *verdict = model_verdict(&a, &u, &ci);
    cr_assert(strstr(verdict, "cannot tell Amdahl's law from the USL") != NULL, "%s", verdict);
}

Test(analysis, a_real_coherency_cost_is_told_apart)
{
    const double cores[] = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64};
    enum { M = 10 };
    double runs[M][5];
    const double *ptrs[M];
    int nruns[M];
    runs_from(usl_law, 0.02, 0.002, cores, M, runs, ptrs, nruns); /* peaks near 22 cores */
    struct amdahl_fit a;
    struct usl_fit u;
    struct fit_intervals ci;
    fit_all(cores, ptrs, nruns, M, &a, &u, &ci);
    cr_assert(ci.kappa_low > 0, "kappa in [%g, %g]", ci.kappa_low, ci.kappa_high);
    cr_assert(ci.kappa_low <= 0.002 && ci.kappa_high >= 0.002, "kappa in [%g, %g]", ci.kappa_low,
              ci.kappa_high);
    const char *verdict = model_verdict(&a, &u, &ci);
    cr_assert(strstr(verdict, "USL fits clearly better") != NULL, "%s", verdict);
}

Test(analysis, one_run_per_point_gives_no_interval)
{
    const double cores[] = {1, 2, 4, 8};
    const double one[] = {1.0}, two[] = {0.55}, four[] = {0.3}, eight[] = {0.2};
    const double *ptrs[] = {one, two, four, eight};
    const int nruns[] = {1, 1, 1, 1};
    struct fit_intervals ci = bootstrap_fits(cores, ptrs, nruns, 4, 0, 100, 1);
    cr_assert_eq(ci.rounds, 0);
}
