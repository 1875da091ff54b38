/* test_lesson_bench.c - the answers to the "predict, then run" questions of
 * lessons/09-benchmarking.md (1-3), lessons/09b-timing-and-overlap.md (4) and
 * lessons/09c-reading-results.md (5-10).
 *
 * Every answer is checked by behaviour, never by a time: which core counts the driver sweeps
 * and under what names, how many runs it counts, how it derives speedups from its own medians,
 * what the report says for a given set of core counts, the Karp-Flatt values and the USL peak
 * on synthetic data, what `--compare` lists, and that a wrong answer stops the driver.  Real
 * runs use the quick plan of one workload and write into private temporary folders.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "plan.h"
#include "support/cpus.h"
#include "workload.h" /* CAPACITY_GOOD */

/* --- helpers ---------------------------------------------------------------------------- */

/* Read a whole small file into a malloc'd string (NULL if it cannot be read). */
static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return read_file(path, NULL);
}

static void write_file_in(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, text);
}

/* Run bench with these arguments and --data DIR --plots DIR; the run is returned. */
static void run_bench(char *const *args, int nargs, const char *dir, int timeout_s,
                      struct program_run *run)
{
    char *argv[16];
    int n = 0;
    argv[n++] = "bench";
    for (int i = 0; i < nargs && n < 11; i++)
        argv[n++] = args[i];
    argv[n++] = "--data";
    argv[n++] = (char *)dir;
    argv[n++] = "--plots";
    argv[n++] = (char *)dir;
    argv[n] = NULL;
    cr_assert_eq(run_program(argv, timeout_s, run), 0, "bench could not be started");
}

/* One reduced point of NAME.csv: the columns these tests read. */
struct row {
    char series[80];
    double x, wall_median, wall_min, wall_max, speedup, capacity;
    int cpus, workers, samples, low_overlap, weak;
};

/* Parse NAME.csv as the driver writes it (write_reduced): returns the number of rows. */
static int read_rows(const char *csv, struct row *rows, int max)
{
    int n = 0;
    const char *line = strchr(csv, '\n'); /* skip the header */
    while (line && line[1] && n < max) {
        line++;
        struct row *r = &rows[n];
        memset(r, 0, sizeof *r);
        const char *end = strstr(line + 1, "\",");
        cr_assert(line[0] == '"' && end, "a quoted series: %.60s", line);
        snprintf(r->series, sizeof r->series, "%.*s", (int)(end - line - 1), line + 1);
        double cpu, fig, fmin, fmax, smin, smax, eff, overlap, extra, spread, idle;
        long param;
        int wide;
        int got = sscanf(end + 2,
                         "%lf,%d,%d,%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,"
                         "%d,%ld,%lf,%d,%lf,%d,%lf,%lf",
                         &r->x, &r->cpus, &r->workers, &r->samples, &r->wall_median, &r->wall_min,
                         &r->wall_max, &cpu, &fig, &fmin, &fmax, &r->speedup, &smin, &smax, &eff,
                         &overlap, &r->low_overlap, &param, &extra, &r->weak, &spread, &wide, &idle,
                         &r->capacity);
        cr_assert_eq(got, 24, "a reduced row: %.80s", line);
        n++;
        line = strchr(line, '\n');
    }
    return n;
}

/* The quick sweep for this machine, as the planner gives it (tests/test_plan.c checks the
 * planner's rule itself for 1 to 1024 CPUs and for the topology fixtures). */
static int expected_sweep(int *ks, int max)
{
    struct cpu_topology t;
    cpu_topology_read(&t);
    int count;
    int *sweep = plan_core_sweep(&t, 1, &count);
    cr_assert_leq(count, max);
    memcpy(ks, sweep, sizeof *ks * (size_t)count);
    free(sweep);
    cpu_topology_free(&t);
    return count;
}

static int usable_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    return CPU_COUNT(&set);
}

/* The quick fork_join plan with one counted run per point, into dir; its rows. */
static int quick_fork_join(const char *dir, int repeats_one, struct row *rows, int max)
{
    char *with_one[] = {"--quick", "--repeats", "1", "--only", "fork_join"};
    char *plain[] = {"--quick", "--only", "fork_join"};
    struct program_run run;
    if (repeats_one)
        run_bench(with_one, 5, dir, 180, &run);
    else
        run_bench(plain, 3, dir, 180, &run);
    cr_assert(exited_with(&run, 0), "bench failed (status %d): %s", run.status, run.err);
    program_run_free(&run);
    char *csv = slurp(dir, "fork_join.csv");
    cr_assert_not_null(csv, "fork_join.csv was written");
    int n = read_rows(csv, rows, max);
    free(csv);
    return n;
}

/* The core counts of one series, in the order they appear. */
static int cores_of(const struct row *rows, int n, const char *series, int *ks)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].series, series) == 0)
            ks[count++] = rows[i].cpus;
    return count;
}

/* --- synthetic data for --report-only and --compare ------------------------------------- */

static const char csv_header[] =
    "series,x,cpus,workers,samples,wall_median_ns,wall_min_ns,wall_max_ns,cpu_median_ns,"
    "figure_median,figure_min,figure_max,speedup,speedup_min,speedup_max,efficiency,overlap,"
    "low_overlap,param,extra_median,weak,spread,wide_spread,idle,capacity,note\n";

/* A scaling workload's data as the driver would write it: one series, the given core counts
 * and speedups (T(1) = 1 s), ranges of +-half_range around each time. */
static void write_scaling_data(const char *dir, const char *series, const int *cores,
                               const double *speedup, int n, int weak, double half_range)
{
    write_file_in(dir, "index.tsv",
                  "fork_join\tscaling\tSynthetic\tcores\tseconds\tns_per_op\t-\n");
    write_file_in(dir, "machine.txt", "cpu model: synthetic\n");
    static char csv[16384];
    int used = snprintf(csv, sizeof csv, "%s", csv_header);
    for (int i = 0; i < n; i++) {
        double k = cores[i], s = speedup[i];
        double t = weak ? k / s : 1 / s; /* weak: s = k T(1) / T(k) */
        double lo = t * (1 - half_range), hi = t * (1 + half_range);
        used += snprintf(csv + used, sizeof csv - (size_t)used,
                         "\"%s\",%g,%d,%d,5,%.0f,%.0f,%.0f,%.0f,%g,%g,%g,%g,%g,%g,%g,1,0,0,0,%d,0,"
                         "0,0,1,\"\"\n",
                         series, k, cores[i], cores[i], t * 1e9, lo * 1e9, hi * 1e9, t * 1e9, t, lo,
                         hi, s, s * (1 - half_range) / (1 + half_range),
                         s * (1 + half_range) / (1 - half_range), s / k, weak);
    }
    write_file_in(dir, "fork_join.csv", csv);
}

static char *report_only(const char *dir)
{
    char *args[] = {"--report-only"};
    struct program_run run;
    run_bench(args, 1, dir, 30, &run);
    cr_assert(exited_with(&run, 0), "--report-only failed: %s", run.err);
    program_run_free(&run);
    char *report = slurp(dir, "report.md");
    cr_assert_not_null(report, "report.md was written");
    return report;
}

/* --- the questions ---------------------------------------------------------------------- */

/* 1. The core counts swept follow the CPUs this process may use (sched_getaffinity). */
Test(lesson_bench, predict_1)
{
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-sweep");
    struct row rows[128];
    int n = quick_fork_join(dir, 1, rows, 128);
    int want[64], got[64];
    int nwant = expected_sweep(want, 64);
    int ngot = cores_of(rows, n, "fork-join, striped split", got);
    cr_assert_eq(ngot, nwant, "%d core counts swept, expected %d", ngot, nwant);
    for (int i = 0; i < nwant; i++)
        cr_assert_eq(got[i], want[i], "core count %d: %d, expected %d", i, got[i], want[i]);
    for (int i = 0; i < n; i++) /* x is the core count */
        cr_assert_eq((int)rows[i].x, rows[i].cpus);
    char *machine = slurp(dir, "machine.txt");
    char expected[64];
    snprintf(expected, sizeof expected, "usable cpus: %d (of %ld online)", usable_cpus(),
             sysconf(_SC_NPROCESSORS_ONLN));
    cr_assert(strstr(machine, expected) != NULL, "%s", machine);
    free(machine);
    remove_dir(dir);
}

/* 2. Under `taskset -c 0` (one allowed CPU), only k = 1 is swept, and the report says there
 *    is nothing to fit. */
Test(lesson_bench, predict_2)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int first = 0;
    while (!CPU_ISSET(first, &set))
        first++;
    CPU_ZERO(&set);
    CPU_SET(first, &set);
    cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0); /* bench inherits it */

    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-taskset");
    struct row rows[64];
    int n = quick_fork_join(dir, 1, rows, 64);
    cr_assert_eq(n, 4, "2 series and their 2-per-CPU twins, one core count each: %d rows", n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(rows[i].cpus, 1, "%s: %d CPUs", rows[i].series, rows[i].cpus);
    char *machine = slurp(dir, "machine.txt");
    cr_assert(strstr(machine, "usable cpus: 1 (of ") != NULL, "%s", machine);
    free(machine);
    char *report = slurp(dir, "report.md");
    cr_assert(strstr(report, "Too few core counts to fit a model: 0 measured above 1 core") != NULL,
              "%s", report);
    free(report);
    remove_dir(dir);
}

/* 3. --quick counts 3 runs per point after one warm-up that is not recorded. */
Test(lesson_bench, predict_3)
{
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-quick");
    char *args[] = {"--quick", "--only", "fork_join"};
    struct program_run run;
    run_bench(args, 3, dir, 180, &run);
    cr_assert(exited_with(&run, 0), "bench failed: %s", run.err);
    cr_assert(strstr(run.out, "quick plan, 3 runs per point (+1 warm-up)") != NULL, "%s", run.out);
    program_run_free(&run);
    char *machine = slurp(dir, "machine.txt");
    cr_assert(strstr(machine, "plan: quick, 3 counted runs per point after 1 warm-up") != NULL);
    free(machine);

    /* samples.csv: one row per timed run, numbered from 1 (the warm-up is not there), at most
     * 3 x 3 runs per point; every reduced point keeps at least 3. */
    char *samples = slurp(dir, "samples.csv");
    cr_assert_not_null(samples);
    char previous[160] = "";
    int previous_run = 0, lines = 0;
    for (char *line = strtok(samples, "\n"); line; line = strtok(NULL, "\n")) {
        if (lines++ == 0)
            continue; /* the header */
        char *after_series = strstr(strstr(line, "\",") + 2, "\",");
        cr_assert_not_null(after_series, "%s", line);
        double x;
        int cpus, workers, number;
        cr_assert_eq(sscanf(after_series + 2, "%lf,%d,%d,%d", &x, &cpus, &workers, &number), 4);
        char point[160];
        snprintf(point, sizeof point, "%.*s/%d/%d", (int)(after_series - line), line, cpus,
                 workers);
        int same = strcmp(point, previous) == 0;
        cr_assert_eq(number, same ? previous_run + 1 : 1, "runs numbered from 1: %s", line);
        cr_assert_leq(number, 9, "the try bound is 3 x the repeats: %s", line);
        snprintf(previous, sizeof previous, "%s", point);
        previous_run = number;
    }
    free(samples);
    struct row rows[128];
    char *csv = slurp(dir, "fork_join.csv");
    int n = read_rows(csv, rows, 128);
    free(csv);
    /* Under memcheck the 24 s budget runs out early, and a point measured past its deadline
     * keeps what it has, one run at least (the driver's rule): only natively are 3 sure. */
    int least = under_valgrind() ? 1 : 3;
    for (int i = 0; i < n; i++) {
        cr_assert_geq(rows[i].samples, least, "%s k=%d: %d runs", rows[i].series, rows[i].cpus,
                      rows[i].samples);
        cr_assert_leq(rows[i].samples, 9, "the try bound is 3 x the repeats");
    }
    remove_dir(dir);
}

/* 4. Beside every k, the oversubscribed twin runs 2k workers on k CPUs, and its runs always
 *    count: taking turns is what it measures. */
Test(lesson_bench, predict_4)
{
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-oversub");
    struct row rows[128];
    int n = quick_fork_join(dir, 1, rows, 128);
    int plain[64], twin[64];
    int np = cores_of(rows, n, "fork-join, striped split", plain);
    int nt = cores_of(rows, n, "fork-join, striped split, 2 per CPU", twin);
    cr_assert_eq(np, nt, "one oversubscribed point per core count");
    for (int i = 0; i < n; i++) {
        int oversubscribed = strstr(rows[i].series, ", 2 per CPU") != NULL;
        cr_assert_eq(rows[i].workers, (oversubscribed ? 2 : 1) * rows[i].cpus, "%s, k=%d",
                     rows[i].series, rows[i].cpus);
        /* Short of counted runs only when the capacity probe failed (LOW CAPACITY, which
         * valgrind's slowdown can cause), never for taking turns (LOW OVERLAP). */
        if (oversubscribed)
            cr_assert(!rows[i].low_overlap || rows[i].capacity < CAPACITY_GOOD,
                      "%s, k=%d: marked LOW OVERLAP (capacity %.2f)", rows[i].series, rows[i].cpus,
                      rows[i].capacity);
    }
    /* In samples.csv, every oversubscribed run is counted (column "counted" = 1) unless the
     * machine's capacity probe failed (column "capacity" below 0.85): turn-taking alone never
     * disqualifies it.  The last three columns are counted, extra, capacity. */
    char *samples = slurp(dir, "samples.csv");
    for (char *line = strtok(samples, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, ", 2 per CPU"))
            continue;
        int commas = 0;
        const char *field = line + strlen(line);
        while (field > line && commas < 3)
            if (*--field == ',')
                commas++;
        int counted = -1;
        double extra = 0, capacity = 0;
        cr_assert_eq(sscanf(field, ",%d,%lf,%lf", &counted, &extra, &capacity), 3, "%s", line);
        cr_assert(counted == 1 || capacity < 0.85, "an oversubscribed run was not counted: %s",
                  line);
    }
    free(samples);
    remove_dir(dir);
}

/* 5. The weak series' speedup is the scaled speedup workers * T(1) / T(k), from the medians;
 *    the strong series' is T(1) / T(k). */
Test(lesson_bench, predict_5)
{
    /* The question's numbers, by hand: T(2) = 1.25 T(1) gives 2 / 1.25 = 1.6. */
    cr_assert_float_eq(2 * 1.0 / 1.25, 1.6, 1e-12);

    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-weak");
    struct row rows[128];
    int n = quick_fork_join(dir, 1, rows, 128);
    int checked = 0;
    for (int i = 0; i < n; i++) {
        const struct row *base = NULL;
        const char *family = rows[i].weak ? "fork-join, weak scaling" : "fork-join, striped split";
        for (int j = 0; j < n && !base; j++)
            if (strcmp(rows[j].series, family) == 0 && rows[j].cpus == 1)
                base = &rows[j];
        cr_assert_not_null(base, "the k = 1 point of %s", family);
        double scale = rows[i].weak ? rows[i].workers : 1;
        double want = scale * base->wall_median / rows[i].wall_median;
        cr_assert_float_eq(rows[i].speedup, want, 1e-3 * want + 1e-4, "%s, k=%d: %g, expected %g",
                           rows[i].series, rows[i].cpus, rows[i].speedup, want);
        checked += rows[i].weak;
    }
    cr_assert_geq(checked, 2, "the weak series and its twin were measured");

    /* The report fits no model to a weak series, and says why. */
    char *report = report_only(dir);
    cr_assert(strstr(report, "**fork-join, weak scaling** is weak scaling") != NULL, "%s", report);
    cr_assert(strstr(report, "Gustafson") != NULL);
    free(report);
    remove_dir(dir);
}

/* 6. With core counts {1, 2} nothing is fitted; {1, 2, 3} fits Amdahl only; {1, 2, 3, 4} both. */
Test(lesson_bench, predict_6)
{
    const int cores[] = {1, 2, 3, 4};
    const double speedup[] = {1, 1.9, 2.7, 3.4};
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-fits");

    write_scaling_data(dir, "synthetic", cores, speedup, 2, 0, 0);
    char *report = report_only(dir);
    cr_assert(strstr(report, "Too few core counts to fit a model: 1 measured above 1 core") != NULL,
              "%s", report);
    cr_assert(strstr(report, "Amdahl's law: serial") == NULL && strstr(report, "sigma =") == NULL);
    free(report);

    write_scaling_data(dir, "synthetic", cores, speedup, 3, 0, 0);
    report = report_only(dir);
    cr_assert(strstr(report, "Amdahl's law: serial fraction s = ") != NULL, "%s", report);
    cr_assert(strstr(report, "The Universal Scalability Law needs 3 core counts above 1; 2 were "
                             "measured.") != NULL,
              "%s", report);
    free(report);

    write_scaling_data(dir, "synthetic", cores, speedup, 4, 0, 0);
    report = report_only(dir);
    cr_assert(strstr(report, "Amdahl's law: serial fraction s = ") != NULL);
    cr_assert(strstr(report, "Universal Scalability Law: contention sigma = ") != NULL, "%s",
              report);
    cr_assert(strstr(report, "Too few core counts") == NULL);
    free(report);
    remove_dir(dir);
}

/* 7. Karp-Flatt per core count, by hand: speedups 1.8, 2.5, 2.9 on 2, 4, 8 cores. */
Test(lesson_bench, predict_7)
{
    const int cores[] = {1, 2, 4, 8};
    const double speedup[] = {1, 1.8, 2.5, 2.9};
    /* e = (1/S - 1/k) / (1 - 1/k) */
    const double by_hand[] = {0, (1 / 1.8 - 0.5) / 0.5, (1 / 2.5 - 0.25) / 0.75,
                              (1 / 2.9 - 0.125) / 0.875};
    const char *rows[] = {NULL, "| 2 | 1.80 | 0.90 | 0.111 |", "| 4 | 2.50 | 0.62 | 0.200 |",
                          "| 8 | 2.90 | 0.36 | 0.251 |"};
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-karp");
    write_scaling_data(dir, "synthetic", cores, speedup, 4, 0, 0);
    char *report = report_only(dir);
    for (int i = 1; i < 4; i++) {
        char printed[16];
        snprintf(printed, sizeof printed, "%.3f |", by_hand[i]);
        cr_assert(strstr(rows[i], printed) != NULL, "by hand %s, row %s", printed, rows[i]);
        cr_assert(strstr(report, rows[i]) != NULL, "row %s in:\n%s", rows[i], report);
        if (i > 1)
            cr_assert_gt(by_hand[i], by_hand[i - 1], "the serial fraction grows with k");
    }
    free(report);
    remove_dir(dir);
}

/* 8. The USL peak: sigma = 0.05, kappa = 0.002 gives k* = sqrt(0.95 / 0.002), about 22. */
Test(lesson_bench, predict_8)
{
    const int cores[] = {1, 2, 4, 8, 16, 32};
    double speedup[6];
    for (int i = 0; i < 6; i++) {
        double k = cores[i];
        speedup[i] = k / (1 + 0.05 * (k - 1) + 0.002 * k * (k - 1));
    }
    double peak = sqrt(0.95 / 0.002);
    cr_assert(peak > 21.5 && peak < 22.5);
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-usl");
    write_scaling_data(dir, "synthetic", cores, speedup, 6, 0, 0);
    char *report = report_only(dir);
    cr_assert(strstr(report, "Throughput would peak at about 22 cores") != NULL, "%s", report);
    /* The 32-core point measured below the 16-core one: past the peak, more is slower. */
    cr_assert_lt(speedup[5], speedup[4]);
    free(report);
    remove_dir(dir);
}

/* 9. --compare lists a point only when the two runs' min-max ranges do not meet: a median
 *    10% slower with ranges of +-8% is not listed, one 30% slower is. */
Test(lesson_bench, predict_9)
{
    const int cores[] = {1, 2, 4, 8};
    const double mine_s[] = {1, 1.9, 3.6, 6.4};
    double near[4], far[4];
    for (int i = 0; i < 4; i++) {
        near[i] = i == 2 ? mine_s[i] / 1.1 : mine_s[i]; /* 4 cores: time 1.1x */
        far[i] = i == 2 ? mine_s[i] / 1.3 : mine_s[i];  /* 4 cores: time 1.3x */
    }
    char mine[128], theirs[128];
    make_temp_dir(mine, sizeof mine, "lesson-bench-mine");
    make_temp_dir(theirs, sizeof theirs, "lesson-bench-ref");
    write_scaling_data(mine, "synthetic", cores, mine_s, 4, 0, 0.03);

    for (int round = 0; round < 2; round++) {
        write_scaling_data(theirs, "synthetic", cores, round ? far : near, 4, 0, 0.03);
        char *argv[] = {"bench", "--compare", theirs, "--data", mine, NULL};
        struct program_run run;
        cr_assert_eq(run_program(argv, 30, &run), 0);
        cr_assert(exited_with(&run, 0), "compare failed: %s", run.err);
        int expected = round ? 1 : 0;
        cr_assert_eq(count_lines_containing(run.out, "differs:"), expected, "%s", run.out);
        char summary[64];
        snprintf(summary, sizeof summary, "%d of 4 matching points differ", expected);
        cr_assert(strstr(run.out, summary) != NULL, "%s", run.out);
        if (round)
            cr_assert(strstr(run.out, "differs: synthetic, x=4, 4 workers") != NULL, "%s", run.out);
        program_run_free(&run);
    }
    remove_dir(mine);
    remove_dir(theirs);
}

/* 10. A wrong answer stops the driver: a stand-in python3 whose pool answers 7 primes. */
Test(lesson_bench, predict_10)
{
    char dir[128];
    make_temp_dir(dir, sizeof dir, "lesson-bench-wrong");
    char bin[256];
    snprintf(bin, sizeof bin, "%s/bin", dir);
    cr_assert_eq(mkdir(bin, 0755), 0);
    /* `python3 -c ...` (the availability check) succeeds; as the pool co-process it says
     * ready, then answers every command with a wrong count. */
    write_file_in(bin, "python3",
                  "#!/bin/sh\n"
                  "[ \"$1\" = -c ] && exit 0\n"
                  "echo ready\n"
                  "while read -r command; do echo 'seconds 0.001 value 7'; done\n");
    char script[300];
    snprintf(script, sizeof script, "%s/python3", bin);
    cr_assert_eq(chmod(script, 0755), 0);
    const char *path = getenv("PATH");
    char new_path[4096];
    snprintf(new_path, sizeof new_path, "%s:%s", bin, path ? path : "/usr/bin:/bin");
    cr_assert_eq(setenv("PATH", new_path, 1), 0); /* this test's process only */

    char *args[] = {"--quick", "--repeats", "1", "--only", "pool_scaling"};
    struct program_run run;
    run_bench(args, 5, dir, 180, &run);
    cr_assert(exited_with(&run, 1), "status %d; stderr: %s", run.status, run.err);
    cr_assert(strstr(run.err, "Python multiprocessing.Pool") != NULL, "%s", run.err);
    cr_assert(strstr(run.err, "WRONG RESULT: primes below 200000: 7") != NULL, "%s", run.err);
    cr_assert(strstr(run.err, "refusing to report a wrong answer; stopping") != NULL);
    program_run_free(&run);
    char probe[300];
    snprintf(probe, sizeof probe, "%s/report.md", dir);
    cr_assert_neq(access(probe, F_OK), 0, "no report for a run that stopped");
    snprintf(probe, sizeof probe, "%s/pool_scaling.csv", dir);
    cr_assert_neq(access(probe, F_OK), 0, "no reduced data either");
    cr_assert_eq(count_my_zombies(), 0);
    remove_dir(dir);
}
