/* report.h - the benchmark report: one Markdown file beside the plots.
 *
 * Written from the data files alone (DATA/index.tsv, DATA/NAME.csv, DATA/machine.txt), so that
 * `make bench` (after a run) and `make plots` (redrawing the last run) produce the same report.
 * It holds the machine, each workload's summary table, its plots with what to observe in them,
 * and for scaling workloads the fitted models (Amdahl, USL) and the Karp-Flatt serial fraction
 * per core count, or a plain note when there are too few core counts to fit.  The fitted
 * parameters also go to DATA/NAME.fits, which bench/plot.sh reads to draw the fitted curves.
 */
#ifndef FORKLORE_REPORT_H
#define FORKLORE_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "workload.h"

/* Load a workload's reduced points from DATA/NAME.csv into a malloc'd array (free it); *count
 * gets how many, or -1 (and NULL is returned) if there is no such file. */
struct reduced_point *load_reduced(const char *data_dir, const char *name, int *count);

/* The marks a point carries in summaries and progress lines: " LOW OVERLAP" or " LOW CAPACITY"
 * (its counted runs fell short, and why), " WIDE SPREAD", or "".  A static buffer. */
const char *point_marks(const struct reduced_point *p);

/* A point's x as the reader wants it: a size in bytes as "64 B", "4 KiB", "1 MiB" (exact
 * multiples of 1024 only), anything else as a number.  Returns text. */
const char *x_text(const struct workload *w, double x, char *text, size_t size);

/* Read DATA/boundaries.tsv (where SMT siblings, efficiency cores, a second socket begin), which
 * the summaries then mark; write_report reads it itself. */
void report_load_boundaries(const char *data_dir);

/* Print a workload's summary: a plain-text table (markdown = 0) or a Markdown table. */
void print_summary(FILE *out, const struct workload *w, const struct reduced_point *r, int n,
                   int markdown);

/* Write DATA/NAME.fits for every scaling workload in the index, and PLOTS/report.md.
 * Returns 0, or -1 with a message on stderr. */
int write_report(const char *data_dir, const char *plots_dir, const struct workload *const *table);

/* Compare the last run in DATA with an earlier or reference run in REFERENCE: for every
 * workload in both, list the points (same series, x and workers) whose ranges (min to max of
 * the counted runs) do not meet.  bench/plot.sh --compare draws both runs on the same axes. */
int write_comparison(const char *data_dir, const char *reference_dir,
                     const struct workload *const *table, FILE *out);

#endif
