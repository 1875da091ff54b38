/* plan.h - which core counts the benchmark sweeps, from the machine's topology.
 *
 * A scaling curve needs enough points to fit a model to (Amdahl's two parameters, the USL's
 * three), and points where the machine changes character: the last core before SMT siblings
 * start sharing cores, the first efficiency core, the first CPU of a second socket or NUMA
 * node.  The rule (lessons/09-benchmarking.md restates it):
 *
 *   default  every k from 1 to 8, then about four per doubling (k = round(8 * 2^(i/4)));
 *   quick    every k from 1 to 2, then the powers of two;
 *   both     with each boundary b (the sweep position where SMT, efficiency cores or a second
 *            socket begins) and b - 1 the point before it, and the full usable count.
 *
 * For 64 CPUs without topology the default is 1-8 10 11 13 16 19 23 27 32 38 45 54 64.
 */
#ifndef FORKLORE_PLAN_H
#define FORKLORE_PLAN_H

#include "support/cpus.h"

/* The counts 1..n by the rule above, without boundaries: a malloc'd array (free it), ascending;
 * *count gets its length. */
int *plan_count_sweep(int n, int quick, int *count);

/* The core counts for this machine: t->usable CPUs, the boundaries t marks (those beyond the
 * usable count left out).  A malloc'd array, ascending; *count gets its length. */
int *plan_core_sweep(const struct cpu_topology *t, int quick, int *count);

/* The order to measure a sweep in when time may run out (the benchmark's time budget): k = 1
 * first (every speedup is over it), then the largest count, then the boundaries t marks, then,
 * again and again, the count farthest (on a log scale) from every one already chosen.  A budget
 * that stops the sweep early so keeps its ends, its boundaries and an even spread, never just
 * its small counts.  Fills order[0..n-1] with ks[] (ascending, as plan_core_sweep gives it)
 * rearranged; t may be NULL (no boundaries). */
void plan_measure_order(const struct cpu_topology *t, const int *ks, int n, int *order);

/* The time budget of a plan, in seconds, or 0 for none: the targets the benchmark is built to
 * (the default plan in 5 minutes, --quick in 30 s, on any machine to 256 CPUs), less a margin
 * for the report and the plots.  --smoke (quick 2) has none: it runs every point, for tests. */
double plan_budget_s(int quick);

/* What begins at sweep position k: "SMT siblings", "efficiency cores", "second socket" (or
 * "second NUMA node"), or NULL.  For the plots' and the summary's marks. */
const char *plan_boundary_at(const struct cpu_topology *t, int k);

#endif
