/* reduced_csv.c - see reduced_csv.h. */
#define _GNU_SOURCE
#include "reduced_csv.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind {
    TEXT,    /* char[size] at offset */
    NUMBER,  /* double at offset */
    INTEGER, /* int at offset */
    LONGINT, /* long at offset */
    LABEL,   /* written: point_label(); read: nothing (variant and per_cpu carry identity) */
    DERIVED, /* written: derive(p); read: nothing */
};

struct column {
    const char *name;
    enum kind kind;
    size_t offset, size;
    const char *format; /* numbers: how many digits the figure deserves */
    int in_dat;         /* also a column of NAME.dat */
    double (*derive)(const struct reduced_point *p);
};

static double cpu_per_wall(const struct reduced_point *p)
{
    return p->wall_median_ns > 0 ? p->cpu_median_ns / p->wall_median_ns : 0;
}

#define AT(field) offsetof(struct reduced_point, field)
#define TEXT_AT(field) AT(field), sizeof(((struct reduced_point *)0)->field)

/* The order of NAME.csv.  New columns go at the end, so that a reader that counts columns
 * (an older script, a lab's grader) still finds the old ones where they were. */
static const struct column columns[] = {
    {"series", LABEL, 0, 0, NULL, 0, NULL},
    {"x", NUMBER, AT(point.x), 0, "%.15g", 1, NULL}, /* 1 MiB is 1048576, not 1.04858e+06 */
    {"cpus", INTEGER, AT(point.cpus), 0, "%d", 0, NULL},
    {"workers", INTEGER, AT(point.workers), 0, "%d", 0, NULL},
    {"samples", INTEGER, AT(samples), 0, "%d", 0, NULL},
    {"wall_median_ns", NUMBER, AT(wall_median_ns), 0, "%.0f", 0, NULL},
    {"wall_min_ns", NUMBER, AT(wall_min_ns), 0, "%.0f", 0, NULL},
    {"wall_max_ns", NUMBER, AT(wall_max_ns), 0, "%.0f", 0, NULL},
    {"cpu_median_ns", NUMBER, AT(cpu_median_ns), 0, "%.0f", 0, NULL},
    {"figure_median", NUMBER, AT(figure_median), 0, "%.6g", 1, NULL},
    {"figure_min", NUMBER, AT(figure_min), 0, "%.6g", 1, NULL},
    {"figure_max", NUMBER, AT(figure_max), 0, "%.6g", 1, NULL},
    {"speedup", NUMBER, AT(speedup), 0, "%.4f", 1, NULL},
    {"speedup_min", NUMBER, AT(speedup_min), 0, "%.4f", 1, NULL},
    {"speedup_max", NUMBER, AT(speedup_max), 0, "%.4f", 1, NULL},
    {"efficiency", NUMBER, AT(efficiency), 0, "%.4f", 1, NULL},
    {"overlap", NUMBER, AT(overlap), 0, "%.3f", 0, NULL},
    {"low_overlap", INTEGER, AT(low_overlap), 0, "%d", 0, NULL},
    {"variant", INTEGER, AT(point.variant), 0, "%d", 0, NULL},
    {"extra_median", NUMBER, AT(extra_median), 0, "%g", 1, NULL},
    {"weak", INTEGER, AT(point.weak), 0, "%d", 0, NULL},
    {"spread", NUMBER, AT(spread), 0, "%.4f", 0, NULL},
    {"wide_spread", INTEGER, AT(wide_spread), 0, "%d", 0, NULL},
    {"idle", NUMBER, AT(idle), 0, "%.4f", 0, NULL},
    {"capacity", NUMBER, AT(capacity), 0, "%.3f", 0, NULL},
    {"note", TEXT, TEXT_AT(note), NULL, 0, NULL},
    {"series_name", TEXT, TEXT_AT(point.series), NULL, 0, NULL},
    {"per_cpu", INTEGER, AT(point.per_cpu), 0, "%d", 0, NULL},
    {"size_scale", NUMBER, AT(point.size_scale), 0, "%.4g", 0, NULL},
    {"cpu_per_wall", DERIVED, 0, 0, "%.4f", 1, cpu_per_wall},
};
enum { COLUMNS = sizeof columns / sizeof columns[0] };

void csv_quoted(FILE *f, const char *text)
{
    fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

/* One value of a row; base is the row's struct (a reduced_point for LABEL and DERIVED). */
static void write_value(FILE *f, const struct column *c, const void *row)
{
    const char *base = row;
    const struct reduced_point *p = row;
    char label[LABEL_SIZE + 16];
    switch (c->kind) {
    case TEXT: csv_quoted(f, base + c->offset); break;
    case LABEL:
        point_label(&p->point, label, sizeof label);
        csv_quoted(f, label);
        break;
    case NUMBER: fprintf(f, c->format, *(const double *)(const void *)(base + c->offset)); break;
    case INTEGER: fprintf(f, c->format, *(const int *)(const void *)(base + c->offset)); break;
    case LONGINT: fprintf(f, c->format, *(const long *)(const void *)(base + c->offset)); break;
    case DERIVED: fprintf(f, c->format, c->derive(p)); break;
    }
}

void reduced_csv_header(FILE *csv)
{
    for (int i = 0; i < COLUMNS; i++)
        fprintf(csv, "%s%s", i ? "," : "", columns[i].name);
    fputc('\n', csv);
}

void reduced_csv_row(FILE *csv, const struct reduced_point *p)
{
    for (int i = 0; i < COLUMNS; i++) {
        if (i)
            fputc(',', csv);
        write_value(csv, &columns[i], p);
    }
    fputc('\n', csv);
}

int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *in = line, *out = line;
    for (;;) {
        if (n == max)
            return n;
        fields[n++] = out;
        if (*in == '"') { /* quoted: up to the lone closing quote */
            for (in++;; in++) {
                if (*in == '\0')
                    return -1;
                if (*in == '"' && in[1] == '"')
                    in++;
                else if (*in == '"')
                    break;
                *out++ = *in;
            }
            in++;
        }
        while (*in && *in != ',' && *in != '\n' && *in != '\r')
            *out++ = *in++;
        char at = *in;
        *out++ = '\0';
        if (at != ',')
            return n;
        in++;
    }
}

static int column_named(const char *name)
{
    for (int i = 0; i < COLUMNS; i++)
        if (strcmp(columns[i].name, name) == 0)
            return i;
    return -1;
}

static void read_value(const struct column *c, const char *text, void *row)
{
    char *base = row;
    switch (c->kind) {
    case TEXT: snprintf(base + c->offset, c->size, "%s", text); break;
    case NUMBER: *(double *)(void *)(base + c->offset) = strtod(text, NULL); break;
    case INTEGER: *(int *)(void *)(base + c->offset) = (int)strtol(text, NULL, 10); break;
    case LONGINT: *(long *)(void *)(base + c->offset) = strtol(text, NULL, 10); break;
    case LABEL:
    case DERIVED: break;
    }
}

int reduced_csv_parse(const char *header, const char *row, struct reduced_point *p)
{
    memset(p, 0, sizeof *p);
    char *names_copy = strdup(header), *row_copy = strdup(row);
    int err = -1;
    if (!names_copy || !row_copy)
        goto out;
    enum { MOST = 128 };
    char *names[MOST], *values[MOST];
    int nnames = csv_split(names_copy, names, MOST);
    int nvalues = csv_split(row_copy, values, MOST);
    if (nnames < 1 || nvalues < 1)
        goto out;
    const char *series = NULL;
    int has_variant = 0;
    for (int i = 0; i < nnames && i < nvalues; i++) {
        int c = column_named(names[i]);
        if (c < 0)
            continue;
        if (columns[c].kind == LABEL)
            series = values[i];
        has_variant |= strcmp(names[i], "series_name") == 0;
        read_value(&columns[c], values[i], p);
    }
    if (!series || !*series)
        goto out;
    if (!has_variant) /* an older file: the label is all there is */
        snprintf(p->point.series, sizeof p->point.series, "%s", series);
    err = 0;
out:
    free(names_copy);
    free(row_copy);
    return err;
}

void reduced_dat_block_header(FILE *dat, const struct reduced_point *p, int first)
{
    char label[LABEL_SIZE + 16];
    point_label(&p->point, label, sizeof label);
    fprintf(dat, "%s# series: %s\n#", first ? "" : "\n\n", label);
    for (int i = 0; i < COLUMNS; i++)
        if (columns[i].in_dat)
            fprintf(dat, " %s", columns[i].name);
    fputc('\n', dat);
}

void reduced_dat_row(FILE *dat, const struct reduced_point *p)
{
    int first = 1;
    for (int i = 0; i < COLUMNS; i++)
        if (columns[i].in_dat) {
            if (!first)
                fputc(' ', dat);
            write_value(dat, &columns[i], p);
            first = 0;
        }
    fputc('\n', dat);
}

/* --- samples.csv: every run, by the same kind of table ------------------------------------ */

#define RUN_AT(field) offsetof(struct sample_row, field)
#define RUN_TEXT_AT(field) RUN_AT(field), sizeof(((struct sample_row *)0)->field)

static const struct column sample_columns[] = {
    {"workload", TEXT, RUN_TEXT_AT(workload), NULL, 0, NULL},
    {"series", TEXT, RUN_TEXT_AT(series), NULL, 0, NULL},
    {"x", NUMBER, RUN_AT(x), 0, "%.15g", 0, NULL},
    {"cpus", INTEGER, RUN_AT(cpus), 0, "%d", 0, NULL},
    {"workers", INTEGER, RUN_AT(workers), 0, "%d", 0, NULL},
    {"run", INTEGER, RUN_AT(run), 0, "%d", 0, NULL},
    {"wall_ns", NUMBER, RUN_AT(wall_ns), 0, "%.0f", 0, NULL},
    {"cpu_ns", NUMBER, RUN_AT(cpu_ns), 0, "%.0f", 0, NULL},
    {"ops", NUMBER, RUN_AT(ops), 0, "%.0f", 0, NULL},
    {"overlap", NUMBER, RUN_AT(overlap), 0, "%.3f", 0, NULL},
    {"counted", INTEGER, RUN_AT(counted), 0, "%d", 0, NULL},
    {"extra", NUMBER, RUN_AT(extra), 0, "%g", 0, NULL},
    {"capacity", NUMBER, RUN_AT(capacity), 0, "%.3f", 0, NULL},
};
enum { SAMPLE_COLUMNS = sizeof sample_columns / sizeof sample_columns[0] };

void samples_csv_header(FILE *csv)
{
    for (int i = 0; i < SAMPLE_COLUMNS; i++)
        fprintf(csv, "%s%s", i ? "," : "", sample_columns[i].name);
    fputc('\n', csv);
}

void samples_csv_row(FILE *csv, const struct sample_row *r)
{
    for (int i = 0; i < SAMPLE_COLUMNS; i++) {
        if (i)
            fputc(',', csv);
        write_value(csv, &sample_columns[i], r);
    }
    fputc('\n', csv);
}

int samples_csv_parse(const char *header, const char *row, struct sample_row *r)
{
    memset(r, 0, sizeof *r);
    char *names_copy = strdup(header), *row_copy = strdup(row);
    int err = -1;
    enum { MOST = 64 };
    char *names[MOST], *values[MOST];
    int nnames = names_copy ? csv_split(names_copy, names, MOST) : -1;
    int nvalues = row_copy ? csv_split(row_copy, values, MOST) : -1;
    for (int i = 0; i < nnames && i < nvalues; i++)
        for (int c = 0; c < SAMPLE_COLUMNS; c++)
            if (strcmp(sample_columns[c].name, names[i]) == 0)
                read_value(&sample_columns[c], values[i], r);
    if (nnames > 0 && nvalues > 0 && r->workload[0])
        err = 0;
    free(names_copy);
    free(row_copy);
    return err;
}
