/* analysis.h - reading a speedup curve: Amdahl's law, the Universal Scalability Law, and the
 * Karp-Flatt serial fraction.
 *
 * Amdahl:  S(k) = 1 / (s + (1 - s) / k)             s: the serial fraction of the work.
 *          The curve flattens towards 1/s and never comes down.
 * USL:     S(k) = k / (1 + sigma (k - 1) + kappa k (k - 1))
 *          sigma: contention (waiting for a shared resource: Amdahl's s again);
 *          kappa: coherency (every worker paying to agree with every other: cache lines
 *          bouncing, messages); with kappa > 0 the curve peaks at k* = sqrt((1 - sigma) / kappa)
 *          and then falls: adding cores makes the job slower.
 * Karp-Flatt: e(k) = (1/S - 1/k) / (1 - 1/k), the serial fraction each measured point implies.
 *          Constant e: the job really has a fixed serial part; e growing with k: overhead that
 *          grows with the workers (communication, contention), which Amdahl does not model.
 *
 * Both laws are fitted by least squares after the usual linearisation (both are linear in
 * their parameters once written as 1/S or k/S).  A fit needs more points than parameters, and
 * the point k = 1 carries no information (S(1) = 1 by definition), so Amdahl needs at least
 * two core counts beyond 1 and the USL at least three.  With fewer, the fit says so instead
 * of printing a number that only restates the data.
 */
#ifndef FORKLORE_ANALYSIS_H
#define FORKLORE_ANALYSIS_H

enum { AMDAHL_MIN_POINTS = 2, USL_MIN_POINTS = 3 }; /* core counts k > 1 */

struct amdahl_fit {
    int ok;                 /* 0: too few core counts (see points) */
    int points;             /* core counts beyond 1 used */
    double serial_fraction; /* s, in [0, 1] */
    double max_speedup;     /* 1 / s (infinite when s = 0) */
    double rms_error;       /* root mean square of speedup residuals */
};

struct usl_fit {
    int ok;
    int points;
    double sigma, kappa; /* both >= 0 */
    double peak_cores;   /* k* where the curve peaks; 0 if it never does (kappa = 0) */
    double peak_speedup; /* S(k*) */
    double rms_error;
};

/* cores[i] and speedup[i] for i < n; points with cores <= 1 are ignored. */
struct amdahl_fit fit_amdahl(const double *cores, const double *speedup, int n);
struct usl_fit fit_usl(const double *cores, const double *speedup, int n);

double amdahl_speedup(double serial_fraction, double cores);
double usl_speedup(double sigma, double kappa, double cores);

/* The serial fraction implied by one measured point (cores > 1). */
double karp_flatt(double speedup, double cores);

#endif
