/* reduced_csv.h - the columns of the reduced data, declared once.
 *
 * One table (reduced_csv.c) names every column of DATA/NAME.csv, says which field of struct
 * reduced_point it holds and how it is printed, and marks the columns that also go to the
 * gnuplot file DATA/NAME.dat.  The driver writes with it, the report and --compare read with
 * it (by the names in the file's header, so a file with more, fewer or reordered columns
 * still reads), and bench/plot.sh finds the .dat columns by the names in its header line.
 *
 * CSV as RFC 4180 has it: a text field is quoted, a quote inside it doubled, and a comma or a
 * quote inside a quoted field is part of the text.  The column "series" is the label a reader
 * sees ("fork-join, striped split, 2 per CPU"); identity is "series_name" (the series without
 * the suffix) and "per_cpu", so nothing is parsed back out of a label.
 */
#ifndef FORKLORE_REDUCED_CSV_H
#define FORKLORE_REDUCED_CSV_H

#include <stdio.h>

#include "workload.h"

/* The header line of NAME.csv, and one point as a row. */
void reduced_csv_header(FILE *csv);
void reduced_csv_row(FILE *csv, const struct reduced_point *p);

/* Read a row by the column names of `header` (the file's first line, newline included or
 * not) into *p.  Unknown columns are skipped; a missing one leaves its field 0 (a file from an
 * older driver).  0, or -1 if the row does not parse or has no series. */
int reduced_csv_parse(const char *header, const char *row, struct reduced_point *p);

/* The gnuplot file: a block header (the series' label and the column names), and one row. */
void reduced_dat_block_header(FILE *dat, const struct reduced_point *p, int first);
void reduced_dat_row(FILE *dat, const struct reduced_point *p);

/* One run as DATA/samples.csv holds it: every run of every point, counted or not. */
struct sample_row {
    char workload[LABEL_SIZE];
    char series[LABEL_SIZE + 16]; /* the point's label (point_label) */
    double x;
    int cpus, workers, run; /* run: 1, 2, ... after the warm-up */
    double wall_ns, cpu_ns, ops, overlap;
    int counted; /* 1 if the run counts (its overlap and capacity were good) */
    double extra, capacity;
};

/* samples.csv by its own column table: the header, one run, and a row read by the names of
 * `header` (0, or -1 if it does not parse or names no workload). */
void samples_csv_header(FILE *csv);
void samples_csv_row(FILE *csv, const struct sample_row *r);
int samples_csv_parse(const char *header, const char *row, struct sample_row *r);

/* Split one CSV line into fields, in place: quotes removed, "" made ", each field
 * NUL-terminated.  Returns how many (at most max), or -1 for an unterminated quote. */
int csv_split(char *line, char **fields, int max);

/* Write text as one quoted CSV field. */
void csv_quoted(FILE *f, const char *text);

#endif
