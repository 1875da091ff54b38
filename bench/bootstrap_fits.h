/* bootstrap_fits.h - how sure a fitted Amdahl or USL parameter is, from the runs themselves.
 *
 * A fit to the medians gives one number per parameter and no idea of its error.  The percentile
 * bootstrap gives one without assuming the errors are normal: draw, for every core count, as
 * many runs as it had, with replacement; take their median; recompute the speedups and refit.
 * Repeated a few hundred times, the middle 90% of the refitted values is the interval.  With
 * one run per point there is nothing to resample, and the interval is reported as missing.
 *
 * The verdict then says what the data can tell: the USL adds a coherency term kappa to Amdahl's
 * serial fraction; if kappa's interval reaches 0, or the USL fits no better, the data cannot
 * tell the two laws apart, and a peak the USL predicts is not a prediction.
 */
#ifndef FORKLORE_BOOTSTRAP_FITS_H
#define FORKLORE_BOOTSTRAP_FITS_H

#include <stdint.h>

#include "analysis.h"

struct fit_intervals {
    int rounds;                   /* resamples refitted; 0: no interval */
    double s_low, s_high;         /* Amdahl's serial fraction */
    double sigma_low, sigma_high; /* USL contention */
    double kappa_low, kappa_high; /* USL coherency */
};

/* runs[j] holds nruns[j] wall times measured at cores[j] (j < m); base is the index of the
 * one-core point the speedups divide by.  90% intervals from `rounds` resamples. */
struct fit_intervals bootstrap_fits(const double *cores, const double *const *runs,
                                    const int *nruns, int m, int base, int rounds, uint64_t seed);

/* Which law the data support: one sentence, ending in a full stop. */
const char *model_verdict(const struct amdahl_fit *a, const struct usl_fit *u,
                          const struct fit_intervals *ci);

#endif
