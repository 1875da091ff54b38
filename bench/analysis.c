/* analysis.c - see analysis.h. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>

double amdahl_speedup(double s, double k)
{
    return 1.0 / (s + (1.0 - s) / k);
}

double usl_speedup(double sigma, double kappa, double k)
{
    return k / (1.0 + sigma * (k - 1.0) + kappa * k * (k - 1.0));
}

double karp_flatt(double speedup, double k)
{
    return (1.0 / speedup - 1.0 / k) / (1.0 - 1.0 / k);
}

/* Amdahl rewritten: 1/S - 1/k = s (1 - 1/k), a line through the origin in s. */
struct amdahl_fit fit_amdahl(const double *cores, const double *speedup, int n)
{
    struct amdahl_fit fit = {0};
    double ab = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        if (cores[i] <= 1.0 || speedup[i] <= 0)
            continue;
        double a = 1.0 / speedup[i] - 1.0 / cores[i], b = 1.0 - 1.0 / cores[i];
        ab += a * b;
        bb += b * b;
        fit.points++;
    }
    if (fit.points < AMDAHL_MIN_POINTS)
        return fit;
    double s = ab / bb;
    fit.serial_fraction = s < 0 ? 0 : s > 1 ? 1 : s;
    fit.max_speedup = fit.serial_fraction > 0 ? 1.0 / fit.serial_fraction : INFINITY;
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (cores[i] > 1.0 && speedup[i] > 0) {
            double r = speedup[i] - amdahl_speedup(fit.serial_fraction, cores[i]);
            sum += r * r;
        }
    fit.rms_error = sqrt(sum / fit.points);
    fit.ok = 1;
    return fit;
}

/* Least squares for y = p x1 + q x2 (no intercept), optionally with one of p, q held at 0. */
static void two_parameter_fit(const double *x1, const double *x2, const double *y, int n, int hold,
                              double *p, double *q)
{
    double s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
    for (int i = 0; i < n; i++) {
        s11 += x1[i] * x1[i];
        s12 += x1[i] * x2[i];
        s22 += x2[i] * x2[i];
        s1y += x1[i] * y[i];
        s2y += x2[i] * y[i];
    }
    double det = s11 * s22 - s12 * s12;
    if (hold == 0 && fabs(det) > 1e-12 * (s11 * s22 + 1e-300)) {
        *p = (s1y * s22 - s2y * s12) / det;
        *q = (s2y * s11 - s1y * s12) / det;
    } else if (hold == 2 || (hold == 0 && s11 > 0)) { /* q held at 0 */
        *p = s11 > 0 ? s1y / s11 : 0;
        *q = 0;
    } else { /* p held at 0 */
        *p = 0;
        *q = s22 > 0 ? s2y / s22 : 0;
    }
}

/* USL rewritten: k/S - 1 = sigma (k - 1) + kappa k (k - 1), linear in sigma and kappa.
 * Both must be >= 0: if the free fit makes one negative, it is held at 0 and the other refit. */
struct usl_fit fit_usl(const double *cores, const double *speedup, int n)
{
    struct usl_fit fit = {0};
    /* One row per core count: as many as the sweep had. */
    double *x1 = malloc(sizeof *x1 * (size_t)(n > 0 ? n : 1));
    double *x2 = malloc(sizeof *x2 * (size_t)(n > 0 ? n : 1));
    double *y = malloc(sizeof *y * (size_t)(n > 0 ? n : 1));
    int m = 0;
    for (int i = 0; x1 && x2 && y && i < n; i++) {
        if (cores[i] <= 1.0 || speedup[i] <= 0)
            continue;
        x1[m] = cores[i] - 1.0;
        x2[m] = cores[i] * (cores[i] - 1.0);
        y[m] = cores[i] / speedup[i] - 1.0;
        m++;
    }
    fit.points = m;
    double sigma = 0, kappa = 0;
    if (m >= USL_MIN_POINTS) {
        two_parameter_fit(x1, x2, y, m, 0, &sigma, &kappa);
        if (sigma < 0)
            two_parameter_fit(x1, x2, y, m, 1, &sigma, &kappa);
        if (kappa < 0)
            two_parameter_fit(x1, x2, y, m, 2, &sigma, &kappa);
    }
    free(x1);
    free(x2);
    free(y);
    if (m < USL_MIN_POINTS)
        return fit;
    fit.sigma = sigma < 0 ? 0 : sigma;
    fit.kappa = kappa < 0 ? 0 : kappa;
    if (fit.kappa > 0 && fit.sigma < 1) {
        fit.peak_cores = sqrt((1.0 - fit.sigma) / fit.kappa);
        fit.peak_speedup = usl_speedup(fit.sigma, fit.kappa, fit.peak_cores);
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (cores[i] > 1.0 && speedup[i] > 0) {
            double r = speedup[i] - usl_speedup(fit.sigma, fit.kappa, cores[i]);
            sum += r * r;
        }
    fit.rms_error = sqrt(sum / m);
    fit.ok = 1;
    return fit;
}
