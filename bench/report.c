/* report.c - see report.h. */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis.h"
#include "bootstrap_fits.h"
#include "reduced_csv.h"
#include "support/output_file.h"

/* --- reading the data back ------------------------------------------------------------- */

struct reduced_point *load_reduced(const char *data_dir, const char *name, int *count)
{
    char path[4096], header[2048], line[2048];
    snprintf(path, sizeof path, "%s/%s.csv", data_dir, name);
    *count = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    if (!fgets(header, sizeof header, f)) { /* the column names (reduced_csv.h) */
        fclose(f);
        return NULL;
    }
    struct reduced_point *points = NULL;
    int n = 0, room = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == room) { /* as many points as the file holds */
            room = room ? 2 * room : 64;
            struct reduced_point *grown = realloc(points, sizeof *points * (size_t)room);
            if (!grown) {
                free(points);
                fclose(f);
                return NULL;
            }
            points = grown;
        }
        if (reduced_csv_parse(header, line, &points[n]) == 0)
            n++;
    }
    fclose(f);
    *count = n;
    return points;
}

/* --- where the machine changes (DATA/boundaries.tsv) ----------------------------------- */

struct boundary {
    int k;
    char what[48];
};
static struct boundary *boundaries;
static int nboundaries;

void report_load_boundaries(const char *data_dir)
{
    free(boundaries);
    boundaries = NULL;
    nboundaries = 0;
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/boundaries.tsv", data_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return; /* an older run, or one CPU: nothing to mark */
    int room = 0;
    while (fgets(line, sizeof line, f)) {
        int k, at;
        if (sscanf(line, "%d\t%n", &k, &at) != 1)
            continue;
        if (nboundaries == room) {
            room = room ? 2 * room : 4;
            struct boundary *grown = realloc(boundaries, sizeof *grown * (size_t)room);
            if (!grown)
                break;
            boundaries = grown;
        }
        line[strcspn(line, "\n")] = '\0';
        boundaries[nboundaries].k = k;
        snprintf(boundaries[nboundaries++].what, sizeof boundaries[0].what, "%s", line + at);
    }
    fclose(f);
}

/* What begins at k on the measured machine, or NULL. */
static const char *boundary_at(int k)
{
    for (int i = 0; i < nboundaries; i++)
        if (boundaries[i].k == k)
            return boundaries[i].what;
    return NULL;
}

/* A sentence naming the boundaries, or nothing. */
static void print_boundaries(FILE *out, int markdown)
{
    if (!nboundaries)
        return;
    fputs(markdown ? "\nWhere this machine changes (the dotted lines on the plots): "
                   : "  where the machine changes: ",
          out);
    for (int i = 0; i < nboundaries; i++)
        fprintf(out, "%s%s from k = %d", i ? ", " : "", boundaries[i].what, boundaries[i].k);
    fputs(markdown ? ". Expect the curves to bend there.\n" : "\n", out);
}

/* --- the summary table ----------------------------------------------------------------- */

const char *x_text(const struct workload *w, double x, char *text, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    if (w->x_label && strstr(w->x_label, "bytes") && x >= 1 && x == floor(x)) {
        while (unit < 4 && fmod(x, 1024) == 0 && x >= 1024) {
            x /= 1024;
            unit++;
        }
        snprintf(text, size, "%.0f %s", x, units[unit]);
    } else {
        snprintf(text, size, "%.10g", x);
    }
    return text;
}

/* The marks a point can carry, for both kinds of summary.  A point whose counted runs fell
 * short is LOW OVERLAP when its workers took turns, LOW CAPACITY when they ran together but
 * the machine did not give them k CPUs' worth of speed. */
const char *point_marks(const struct reduced_point *p)
{
    static char text[64];
    const char *short_of = !p->low_overlap               ? ""
                           : p->capacity < CAPACITY_GOOD ? " LOW CAPACITY"
                                                         : " LOW OVERLAP";
    snprintf(text, sizeof text, "%s%s%s", short_of, *short_of && p->wide_spread ? "," : "",
             p->wide_spread ? " WIDE SPREAD" : "");
    return text;
}

static void scaling_summary(FILE *out, const struct reduced_point *r, int n, int md)
{
    if (md)
        fprintf(out, "| series | cpus | workers | median s | spread | speedup (min-max) | "
                     "efficiency | CPU/wall | idle | overlap | capacity |\n"
                     "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    else
        fprintf(out, "  %-34s %4s %7s %9s %6s %7s %10s %8s %5s %7s %8s\n", "series", "cpus",
                "workers", "median s", "spread", "speedup", "efficiency", "cpu/wall", "idle",
                "overlap", "capacity");
    for (int i = 0; i < n; i++) {
        const struct reduced_point *p = &r[i];
        double cpu_per_wall = p->cpu_median_ns / p->wall_median_ns;
        char label[LABEL_SIZE + 16], cpus[64];
        point_label(&p->point, label, sizeof label);
        const char *begins = boundary_at(p->point.cpus);
        snprintf(cpus, sizeof cpus, "%d%s%s%s", p->point.cpus, begins ? " (" : "",
                 begins ? begins : "", begins ? ")" : "");
        if (md)
            fprintf(out,
                    "| %s | %s | %d | %.4f | %.0f%% | %.2f (%.2f-%.2f) | %.2f | %.2f | "
                    "%.0f%% | %.0f%% | %.0f%%%s |\n",
                    label, cpus, p->point.workers, p->figure_median, 100 * p->spread, p->speedup,
                    p->speedup_min, p->speedup_max, p->efficiency, cpu_per_wall, 100 * p->idle,
                    100 * p->overlap, 100 * p->capacity, point_marks(p));
        else
            fprintf(out,
                    "  %-34s %4d %7d %9.4f %5.0f%% %7.2f %10.2f %8.2f %4.0f%% %6.0f%% "
                    "%7.0f%%%s%s%s\n",
                    label, p->point.cpus, p->point.workers, p->figure_median, 100 * p->spread,
                    p->speedup, p->efficiency, cpu_per_wall, 100 * p->idle, 100 * p->overlap,
                    100 * p->capacity, point_marks(p), begins ? "  <- " : "", begins ? begins : "");
    }
    print_boundaries(out, md);
    fputs(
        md ? "\nSpread: interquartile range of the runs over their median. Idle: the share of "
             "the k CPUs' time no process of the run used. Overlap: how much of their lives "
             "the workers really had a CPU (below 90%, they took turns). Capacity: how fast the k "
             "CPUs computed together, just before the runs, against one alone (below 85%, the "
             "machine was not giving k CPUs' worth). Weak-scaling series show the scaled "
             "speedup k T(1) / T(k).\n"
           : "",
        out);
}

static void series_summary(FILE *out, const struct workload *w, const struct reduced_point *r,
                           int n, int md)
{
    const char *extra = w->extra_label;
    if (md)
        fprintf(out,
                "| series | x | workers | %s (min-max) | CPU/wall |%s%s%s\n"
                "|---|--:|--:|--:|--:|%s\n",
                w->figure_label, extra ? " " : "", extra ? extra : "", extra ? " |" : "",
                extra ? "--:|" : "");
    else
        fprintf(out, "  %-34s %12s %7s %14s %9s %s\n  (figure: %s)\n", "series", "x", "workers",
                "figure", "cpu/wall", extra ? extra : "", w->figure_label);
    for (int i = 0; i < n; i++) {
        const struct reduced_point *p = &r[i];
        double cpu_per_wall = p->cpu_median_ns / p->wall_median_ns;
        char x[32];
        x_text(w, p->point.x, x, sizeof x);
        if (md) {
            fprintf(out, "| %s | %s | %d | %.4g (%.4g-%.4g) | %.2f |", p->point.series, x,
                    p->point.workers, p->figure_median, p->figure_min, p->figure_max, cpu_per_wall);
            if (extra)
                fprintf(out, " %.3g |", p->extra_median);
        } else {
            fprintf(out, "  %-34s %12s %7d %14.4g %9.2f", p->point.series, x, p->point.workers,
                    p->figure_median, cpu_per_wall);
            if (extra)
                fprintf(out, " %.3g", p->extra_median);
            fputs(point_marks(p), out);
        }
        fputc('\n', out);
    }
}

/* The runs' notes, each distinct one once: what a run really used when it differs from what
 * was asked (a message split by a system limit, a point skipped on one CPU). */
static void print_notes(FILE *out, const struct reduced_point *r, int n, int markdown)
{
    int printed = 0;
    for (int i = 0; i < n; i++) {
        if (!r[i].note[0])
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(r[j].note, r[i].note) == 0;
        if (seen)
            continue;
        if (!printed++)
            fputs(markdown ? "\nNotes from the runs:\n\n" : "  notes:\n", out);
        char label[LABEL_SIZE + 16];
        point_label(&r[i].point, label, sizeof label);
        fprintf(out, markdown ? "- %s: %s\n" : "    %s: %s\n", label, r[i].note);
    }
}

/* The series the driver shrank to fit the time budget (point.size_scale below 1), once each:
 * the twin (2 per CPU) has its series' size, so it is not named again. */
static void print_problem_sizes(FILE *out, const struct reduced_point *r, int n, int markdown)
{
    int printed = 0;
    for (int i = 0; i < n; i++) {
        double scale = r[i].point.size_scale;
        if (scale <= 0 || scale >= 1 || r[i].point.per_cpu > 1)
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(r[j].point.series, r[i].point.series) == 0;
        if (seen)
            continue;
        if (!printed++)
            fputs(markdown ? "\nProblem sizes chosen for the time budget (the whole sweep at "
                             "the full size would not fit; speedups compare equal work):\n\n"
                           : "  problem sizes chosen for the time budget:\n",
                  out);
        fprintf(out,
                markdown ? "- %s: %.3g of the full size, its 2-per-CPU twin too\n"
                         : "    %s: %.3g of the full size, its 2-per-CPU twin too\n",
                r[i].point.series, scale);
    }
}

void print_summary(FILE *out, const struct workload *w, const struct reduced_point *r, int n,
                   int markdown)
{
    /* No point measured (a workload that had nothing to run here, such as MPI's without MPI):
     * no table, only the workload's own word on why. */
    if (n > 0 && w->shape == SHAPE_SCALING)
        scaling_summary(out, r, n, markdown);
    else if (n > 0)
        series_summary(out, w, r, n, markdown);
    if (w->shape == SHAPE_SCALING)
        print_problem_sizes(out, r, n, markdown);
    print_notes(out, r, n, markdown);
    if (w->summarize) {
        if (markdown)
            fputs("\n```\n", out);
        w->summarize(r, n, out);
        if (markdown)
            fputs("```\n", out);
    }
}

/* --- the fits -------------------------------------------------------------------------- */

/* The runs of one workload, from DATA/samples.csv: enough to resample (bootstrap_fits.h). */
struct run_record {
    char label[LABEL_SIZE + 16];
    int cpus, workers, counted;
    double wall_ns;
};

static struct run_record *load_runs(const char *data_dir, const char *workload, int *count)
{
    char path[4096], header[1024], line[1024];
    snprintf(path, sizeof path, "%s/samples.csv", data_dir);
    *count = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    struct run_record *runs = NULL;
    int room = 0;
    /* By the column table of samples.csv (reduced_csv.h), by name. */
    int known = fgets(header, sizeof header, f) != NULL;
    while (known && fgets(line, sizeof line, f)) {
        struct sample_row s;
        if (samples_csv_parse(header, line, &s) != 0 || strcmp(s.workload, workload) != 0)
            continue;
        if (*count == room) {
            room = room ? 2 * room : 256;
            struct run_record *grown = realloc(runs, sizeof *grown * (size_t)room);
            if (!grown)
                break;
            runs = grown;
        }
        struct run_record *r = &runs[(*count)++];
        snprintf(r->label, sizeof r->label, "%s", s.series);
        r->cpus = s.cpus;
        r->workers = s.workers;
        r->wall_ns = s.wall_ns;
        r->counted = s.counted;
    }
    fclose(f);
    return runs;
}

/* The wall times of one point's counted runs (all its runs if none counted) into out (room
 * for count); returns how many. */
static int runs_of(const struct run_record *runs, int count, const struct reduced_point *p,
                   double *out)
{
    char label[LABEL_SIZE + 16];
    point_label(&p->point, label, sizeof label);
    int n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) /* counted first; else whatever there was */
        for (int i = 0; i < count; i++)
            if (runs[i].cpus == p->point.cpus && runs[i].workers == p->point.workers &&
                (pass || runs[i].counted) && strcmp(runs[i].label, label) == 0)
                out[n++] = runs[i].wall_ns;
    return n;
}

/* Bootstrap intervals for the series whose points are r[first .. first + m - 1]. */
static struct fit_intervals series_intervals(const struct run_record *runs, int count,
                                             const struct reduced_point *r, int m)
{
    struct fit_intervals none = {0};
    double *cores = malloc(sizeof *cores * (size_t)m),
           *all = malloc(sizeof *all * (size_t)(count + 1));
    const double **per = malloc(sizeof *per * (size_t)m);
    int *n = malloc(sizeof *n * (size_t)m), base = -1, used = 0;
    if (!cores || !all || !per || !n) {
        free(cores), free(all), free(per), free(n);
        return none;
    }
    for (int j = 0; j < m; j++) {
        cores[j] = r[j].point.cpus;
        per[j] = all + used;
        n[j] = runs_of(runs, count, &r[j], all + used);
        used += n[j];
        if (r[j].point.cpus == 1 && r[j].point.workers == 1)
            base = j;
    }
    struct fit_intervals ci = bootstrap_fits(cores, per, n, m, base, 200, 0x5eed);
    free(cores), free(all), free(per), free(n);
    return ci;
}

/* The plain (not oversubscribed) series of a scaling workload, one at a time. */
static int is_oversubscribed(const struct point *p)
{
    return p->per_cpu > 1;
}

static void report_fits(FILE *md, FILE *fits, const struct reduced_point *r, int n,
                        const struct run_record *runs, int nruns)
{
    for (int i = 0; i < n; i++) {
        if (is_oversubscribed(&r[i].point) || (i > 0 && same_series(&r[i].point, &r[i - 1].point)))
            continue;
        if (r[i].point.weak) {
            fprintf(md,
                    "\n**%s** is weak scaling (the work grows with the workers): the laws "
                    "above describe a fixed job, so no model is fitted; a flat time, and a "
                    "scaled speedup on the ideal line, is the goal (Gustafson's view).\n",
                    r[i].point.series);
            continue;
        }
        double *cores = malloc(sizeof *cores * (size_t)n),
               *speedup = malloc(sizeof *speedup * (size_t)n);
        if (!cores || !speedup) {
            free(cores);
            free(speedup);
            continue;
        }
        int m = 0;
        for (int j = i; j < n && same_series(&r[j].point, &r[i].point); j++) {
            cores[m] = r[j].point.cpus;
            speedup[m++] = r[j].speedup;
        }
        fprintf(md, "\n**%s**\n\n", r[i].point.series);
        fprintf(md, "| cores | speedup | efficiency | Karp-Flatt serial fraction |\n"
                    "|--:|--:|--:|--:|\n");
        for (int j = 0; j < m; j++) {
            const char *begins = boundary_at((int)cores[j]);
            if (cores[j] > 1)
                fprintf(md, "| %g%s%s%s | %.2f | %.2f | %.3f |\n", cores[j], begins ? " (" : "",
                        begins ? begins : "", begins ? ")" : "", speedup[j], speedup[j] / cores[j],
                        karp_flatt(speedup[j], cores[j]));
        }
        struct amdahl_fit a = fit_amdahl(cores, speedup, m);
        struct usl_fit u = fit_usl(cores, speedup, m);
        struct fit_intervals ci = series_intervals(runs, nruns, &r[i], m);
        if (a.ok) {
            fprintf(md,
                    "\nAmdahl's law: serial fraction s = %.4f, so the speedup can never pass "
                    "%.1f (RMS error %.3f).\n",
                    a.serial_fraction, a.max_speedup, a.rms_error);
            if (ci.rounds)
                fprintf(md,
                        "Its 90%% bootstrap interval, from %d resamples of the runs: s from "
                        "%.4f to %.4f.\n",
                        ci.rounds, ci.s_low, ci.s_high);
            else
                fputs("One run per point: no interval (run with more repeats for one).\n", md);
            fprintf(fits, "%s\tamdahl\t%.8g\t0\n", r[i].point.series, a.serial_fraction);
        } else {
            fprintf(md,
                    "\nToo few core counts to fit a model: %d measured above 1 core, and "
                    "Amdahl's law needs %d, the Universal Scalability Law %d. Run the "
                    "benchmark on a machine with more CPUs to see the fits; the Karp-Flatt "
                    "column above is what these points can say.\n",
                    a.points, AMDAHL_MIN_POINTS, USL_MIN_POINTS);
        }
        if (u.ok) {
            fprintf(md,
                    "Universal Scalability Law: contention sigma = %.4f, coherency kappa = "
                    "%.6f (RMS error %.3f). ",
                    u.sigma, u.kappa, u.rms_error);
            if (u.peak_cores > 0)
                fprintf(md,
                        "Throughput would peak at about %.0f cores (speedup %.1f) and fall "
                        "beyond.\n",
                        u.peak_cores, u.peak_speedup);
            else
                fprintf(md,
                        "With no coherency cost the curve never peaks; it flattens "
                        "towards %.1f.\n",
                        u.sigma > 0 ? 1 / u.sigma : INFINITY);
            fprintf(fits, "%s\tusl\t%.8g\t%.8g\n", r[i].point.series, u.sigma, u.kappa);
            if (ci.rounds)
                fprintf(md,
                        "90%% bootstrap intervals: sigma from %.4f to %.4f, kappa from "
                        "%.6f to %.6f.\n",
                        ci.sigma_low, ci.sigma_high, ci.kappa_low, ci.kappa_high);
            fprintf(md, "%s\n", model_verdict(&a, &u, &ci));
        } else if (a.ok) {
            fprintf(md,
                    "The Universal Scalability Law needs %d core counts above 1; %d were "
                    "measured.\n",
                    USL_MIN_POINTS, u.points);
        }
        free(cores);
        free(speedup);
    }
}

/* --- the report ------------------------------------------------------------------------ */

static const struct workload *find_workload(const struct workload *const *table, const char *name)
{
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

static void copy_file(FILE *out, const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    char line[512];
    while (fgets(line, sizeof line, in))
        fprintf(out, "    %s", line);
    fclose(in);
}

static void report_plots(FILE *md, const struct workload *w)
{
    if (w->shape == SHAPE_SCALING) {
        fprintf(md, "\n![%s: speedup](%s-speedup.png)\n", w->title, w->name);
        fprintf(md, "\n![%s: efficiency](%s-efficiency.png)\n", w->title, w->name);
    } else {
        fprintf(md, "\n![%s](%s.png)\n", w->title, w->name);
        if (w->extra_label) {
            char extra[LABEL_SIZE];
            snprintf(extra, sizeof extra, "%s", w->extra_label);
            for (char *c = extra; *c; c++)
                if (*c == ' ')
                    *c = '-';
            fprintf(md, "\n![%s: %s](%s-%s.png)\n", w->title, w->extra_label, w->name, extra);
        }
    }
    if (w->observe)
        fprintf(md, "\n%s\n", w->observe);
}

/* A run on a simulated machine (machine.txt: "simulated: yes ...") closes with what it shows
 * and what it does not. */
static void closing_note(FILE *md, const char *data_dir)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/machine.txt", data_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "simulated: yes", 14) == 0) {
            line[strcspn(line, "\n")] = '\0';
            fprintf(md,
                    "\n## A simulated machine\n\nThis run did not have the CPUs it reports "
                    "(machine.txt: `%s`). support/cpus.c was told of another machine "
                    "(FORKLORE_SIMULATED_CPUS or FORKLORE_SYSTEM_ROOT) and pinned each "
                    "simulated CPU onto a real one, so every worker ran, on fewer CPUs than "
                    "the plan says. What the run shows: the plan, every workload's answers at "
                    "these worker counts, the data files, the plots and this report work at "
                    "this size. What it does not show: any time, speedup or fitted "
                    "parameter above; those mean nothing here.\n",
                    line);
            break;
        }
    fclose(f);
}

int write_report(const char *data_dir, const char *plots_dir, const struct workload *const *table)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/index.tsv", data_dir);
    FILE *index = fopen(path, "r");
    if (!index) {
        fprintf(stderr, "report: no benchmark data in %s: run 'make bench' first\n", data_dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/report.md", plots_dir);
    FILE *md = output_stream_open(path);
    if (!md) {
        fclose(index);
        fprintf(stderr, "report: cannot write %s: %s\n", path, output_file_reason(errno));
        return -1;
    }
    fprintf(md, "# forklore benchmark report\n\nWritten by `make bench` from the data in "
                "`plots/data/` (`make plots` rewrites it from the same data). Absolute times "
                "vary from run to run on a shared machine: compare the ratios, which were "
                "measured side by side in one run.\n\n## The machine\n\n");
    snprintf(path, sizeof path, "%s/machine.txt", data_dir);
    copy_file(md, path);
    report_load_boundaries(data_dir);
    while (fgets(line, sizeof line, index)) {
        char *name = strtok(line, "\t\n");
        const struct workload *w = name ? find_workload(table, name) : NULL;
        int n = -1;
        struct reduced_point *r = w ? load_reduced(data_dir, w->name, &n) : NULL;
        if (n <= 0) {
            free(r);
            continue;
        }
        fprintf(md, "\n## %s\n\n`%s`: ", w->title, w->name);
        fprintf(md, w->shape == SHAPE_SCALING ? "strong scaling across core counts, median of "
                                                "the counted runs.\n\n"
                                              : "medians of the counted runs.\n\n");
        print_summary(md, w, r, n, 1);
        report_plots(md, w);
        snprintf(path, sizeof path, "%s/%s.trace.json", data_dir, w->name);
        if (w->shape == SHAPE_SCALING && access(path, R_OK) == 0)
            fprintf(md,
                    "\nTimeline of one run at the largest core count, a span per task on "
                    "the row of the worker that ran it: `%s` (Chrome trace-event JSON: open "
                    "it in ui.perfetto.dev or chrome://tracing).\n",
                    path);
        if (w->shape == SHAPE_SCALING) {
            snprintf(path, sizeof path, "%s/%s.fits", data_dir, w->name);
            FILE *fits = output_stream_open(path);
            if (!fits) {
                free(r);
                continue;
            }
            fprintf(md, "\n### Models\n");
            int nruns;
            struct run_record *runs = load_runs(data_dir, w->name, &nruns);
            report_fits(md, fits, r, n, runs, nruns);
            free(runs);
            fclose(fits);
        }
        free(r);
    }
    fclose(index);
    closing_note(md, data_dir);
    if (ferror(md) | fclose(md)) {
        fprintf(stderr, "report: writing the report failed\n");
        return -1;
    }
    return 0;
}

/* --- comparing two runs ---------------------------------------------------------------- */

static const struct reduced_point *matching(const struct reduced_point *r, int n,
                                            const struct reduced_point *p)
{
    /* By label: a reference written by an older driver has only the label to go by. */
    char mine[LABEL_SIZE + 16], theirs[LABEL_SIZE + 16];
    point_label(&p->point, mine, sizeof mine);
    for (int i = 0; i < n; i++) {
        point_label(&r[i].point, theirs, sizeof theirs);
        if (strcmp(theirs, mine) == 0 && r[i].point.x == p->point.x &&
            r[i].point.workers == p->point.workers)
            return &r[i];
    }
    return NULL;
}

/* What two runs are compared on.  A scaling workload's figure is a wall time for a problem
 * whose size depends on the plan (quick or default) and on nothing else in common between two
 * machines, so it is compared by its speedup, which is a ratio; a series workload's figure is
 * already per operation. */
static void compared_range(const struct workload *w, const struct reduced_point *p, double *low,
                           double *median, double *high)
{
    if (w->shape == SHAPE_SCALING) {
        *low = p->speedup_min, *median = p->speedup, *high = p->speedup_max;
    } else {
        *low = p->figure_min, *median = p->figure_median, *high = p->figure_max;
    }
}

/* The "plan:" line of a run's machine.txt, or "". */
static void plan_of(const char *dir, char *plan, size_t size)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/machine.txt", dir);
    plan[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "plan: ", 6) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(plan, size, "%.100s", line + 6);
        }
    fclose(f);
}

int write_comparison(const char *data_dir, const char *reference_dir,
                     const struct workload *const *table, FILE *out)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/index.tsv", data_dir);
    FILE *index = fopen(path, "r");
    if (!index) {
        fprintf(stderr, "compare: no benchmark data in %s: run 'make bench' first\n", data_dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/machine.txt", reference_dir);
    FILE *machine = fopen(path, "r");
    if (!machine) {
        fclose(index);
        fprintf(stderr, "compare: no reference run in %s (machine.txt is missing)\n",
                reference_dir);
        return -1;
    }
    fprintf(out, "Comparing the last run (%s) with the reference run in %s:\n", data_dir,
            reference_dir);
    char plan[160], ref_plan[160];
    plan_of(data_dir, plan, sizeof plan);
    plan_of(reference_dir, ref_plan, sizeof ref_plan);
    if (strcmp(plan, ref_plan) != 0)
        fprintf(out,
                "  note: the runs used different plans (\"%s\" here, \"%s\" in the "
                "reference); scaling workloads are compared by speedup, which does not "
                "depend on the problem size, but the quick plan has fewer points\n",
                plan, ref_plan);
    fprintf(out, "  (scaling workloads are compared by their speedups, the others by their "
                 "figure per operation)\n");
    while (fgets(line, sizeof line, machine))
        fprintf(out, "  reference %s", line);
    fclose(machine);
    int compared = 0;
    while (fgets(line, sizeof line, index)) {
        char *name = strtok(line, "\t\n");
        const struct workload *w = name ? find_workload(table, name) : NULL;
        int n = -1, m = -1;
        struct reduced_point *mine = w ? load_reduced(data_dir, w->name, &n) : NULL;
        struct reduced_point *theirs = w ? load_reduced(reference_dir, w->name, &m) : NULL;
        if (n <= 0 || m <= 0) {
            free(mine);
            free(theirs);
            continue;
        }
        compared++;
        int matched = 0, different = 0;
        fprintf(out, "\n%s (%s):\n", w->title, w->name);
        for (int i = 0; i < n; i++) {
            const struct reduced_point *ref = matching(theirs, m, &mine[i]);
            if (!ref)
                continue;
            matched++;
            double lo, mid, hi, ref_lo, ref_mid, ref_hi;
            compared_range(w, &mine[i], &lo, &mid, &hi);
            compared_range(w, ref, &ref_lo, &ref_mid, &ref_hi);
            /* Different when the two runs' ranges (min to max) do not meet. */
            if (lo <= ref_hi && hi >= ref_lo)
                continue;
            different++;
            char label[LABEL_SIZE + 16];
            point_label(&mine[i].point, label, sizeof label);
            char x[32];
            fprintf(out,
                    "  differs: %s, x=%s, %d workers: %s %.4g here, %.4g in the reference "
                    "(%.2fx; ranges %.4g-%.4g and %.4g-%.4g do not meet)\n",
                    label, x_text(w, mine[i].point.x, x, sizeof x), mine[i].point.workers,
                    w->shape == SHAPE_SCALING ? "speedup" : "figure", mid, ref_mid, mid / ref_mid,
                    lo, hi, ref_lo, ref_hi);
        }
        fprintf(out, "  %d of %d matching points differ beyond their spread\n", different, matched);
        free(mine);
        free(theirs);
    }
    fclose(index);
    if (!compared)
        fprintf(out, "no workload was measured in both runs\n");
    return 0;
}
