/* bootstrap_fits.c - see bootstrap_fits.h. */
#include "bootstrap_fits.h"

#include <math.h>
#include <stdlib.h>

#include "statistics.h"

/* The median of n draws (with replacement) from values[0..count-1]. */
static double resampled_median(const double *values, int count, double *scratch, uint64_t *seed)
{
    for (int i = 0; i < count; i++)
        scratch[i] = values[statistics_random(seed) % (uint64_t)count];
    return median_of(scratch, count);
}

static void interval(double *values, int n, double *low, double *high)
{
    (void)median_of(values, n); /* for its sorting */
    *low = quantile_of_sorted(values, n, 0.05);
    *high = quantile_of_sorted(values, n, 0.95);
}

struct fit_intervals bootstrap_fits(const double *cores, const double *const *runs,
                                    const int *nruns, int m, int base, int rounds, uint64_t seed)
{
    struct fit_intervals ci = {0};
    int most = 0, several = 0;
    for (int j = 0; j < m; j++) {
        most = nruns[j] > most ? nruns[j] : most;
        several |= nruns[j] > 1;
    }
    if (!several || m < 2 || base < 0 || base >= m || nruns[base] < 1 || rounds < 1)
        return ci; /* one run per point: nothing to resample */
    double *scratch = malloc(sizeof *scratch * (size_t)most);
    double *time = malloc(sizeof *time * (size_t)m), *speedup = malloc(sizeof *speedup * (size_t)m);
    double *s = malloc(sizeof *s * (size_t)rounds), *sigma = malloc(sizeof *sigma * (size_t)rounds);
    double *kappa = malloc(sizeof *kappa * (size_t)rounds);
    int done = 0;
    for (int r = 0; scratch && time && speedup && s && sigma && kappa && r < rounds; r++) {
        int usable = 1;
        for (int j = 0; j < m; j++) {
            time[j] = nruns[j] > 0 ? resampled_median(runs[j], nruns[j], scratch, &seed) : NAN;
            usable &= nruns[j] > 0;
        }
        if (!usable)
            break;
        for (int j = 0; j < m; j++)
            speedup[j] = time[base] / time[j];
        struct amdahl_fit a = fit_amdahl(cores, speedup, m);
        struct usl_fit u = fit_usl(cores, speedup, m);
        if (!a.ok)
            break;
        s[done] = a.serial_fraction;
        sigma[done] = u.ok ? u.sigma : NAN;
        kappa[done] = u.ok ? u.kappa : NAN;
        done++;
    }
    if (done > 0) {
        ci.rounds = done;
        interval(s, done, &ci.s_low, &ci.s_high);
        if (!isnan(sigma[0])) {
            interval(sigma, done, &ci.sigma_low, &ci.sigma_high);
            interval(kappa, done, &ci.kappa_low, &ci.kappa_high);
        }
    }
    free(scratch);
    free(time);
    free(speedup);
    free(s);
    free(sigma);
    free(kappa);
    return ci;
}

const char *model_verdict(const struct amdahl_fit *a, const struct usl_fit *u,
                          const struct fit_intervals *ci)
{
    if (!a->ok || !u->ok)
        return "Too few core counts to choose between Amdahl's law and the USL.";
    /* The USL has one parameter more: it must earn it, by fitting clearly better with a
     * coherency term that stays above 0 across its interval. */
    int better = u->rms_error < 0.8 * a->rms_error;
    if (ci->rounds == 0)
        return better && u->kappa > 0
                   ? "The USL fits better than Amdahl's law, but with one run per point there is "
                     "no interval to say whether its coherency term is real: rerun with more "
                     "repeats before trusting the peak."
                   : "The data cannot tell Amdahl's law from the USL: the USL fits no better, and "
                     "with one run per point there is no interval either.";
    if (ci->kappa_low <= 1e-9)
        return "The data cannot tell Amdahl's law from the USL: the coherency term's interval "
               "reaches 0, so a peak the USL draws is not a prediction.";
    if (!better)
        return "The data cannot tell Amdahl's law from the USL: the coherency term stays above 0 "
               "across its interval, but the USL fits barely better than Amdahl's law.";
    return "The USL fits clearly better than Amdahl's law and its coherency term stays above 0 "
           "across its interval: the cost grows with the workers (communication, contention), "
           "which Amdahl's law does not model.";
}
