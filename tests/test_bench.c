/* test_bench.c - the benchmark driver: its options, and the data files it promises. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "reduced_csv.h"
#include "report.h"

Test(bench, help_and_list)
{
    skip_argument_checks_under_valgrind();
    char *help[] = {"bench", "--help", NULL};
    struct program_run run;
    cr_assert_eq(run_program(help, 10, &run), 0);
    cr_assert(exited_with(&run, 0));
    cr_assert(strstr(run.out, "Usage: bench") != NULL);
    program_run_free(&run);

    char *list[] = {"bench", "--list", NULL};
    cr_assert_eq(run_program(list, 10, &run), 0);
    cr_assert(exited_with(&run, 0));
    cr_assert(strstr(run.out, "fork_join") != NULL && strstr(run.out, "fork_cost") != NULL);
    program_run_free(&run);
}

Test(bench, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    char *cases[][4] = {{"bench", "--repeats", "0", NULL},
                        {"bench", "--only", "no_such_workload", NULL},
                        {"bench", "--bogus", NULL, NULL},
                        {"bench", "stray", NULL, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct program_run run;
        cr_assert_eq(run_program(cases[i], 10, &run), 0);
        cr_assert(exited_with(&run, 2), "%s %s: status %d", cases[i][1],
                  cases[i][2] ? cases[i][2] : "", run.status);
        cr_assert(strstr(run.err, "Usage: bench") != NULL);
        cr_assert_eq(count_lines_containing(run.err, "bench:"), 1, "one line of reason");
        program_run_free(&run);
    }
}

/* Issue 21: `--only ''` used to run nothing, exit 0 and overwrite the last report and index.tsv;
 * `--only 'fork_join,'` and `--list extra` were accepted.  Each is a usage error now, and the
 * files of the last run are left exactly as they were. */
Test(bench, empty_or_unknown_selection_is_a_usage_error_and_overwrites_nothing)
{
    char dir[256], path[512];
    make_temp_dir(dir, sizeof dir, "bench-selection");
    const char *kept[] = {"index.tsv", "report.md", "samples.csv"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, kept[i]);
        write_file(path, "the last run's data\n");
    }
    char *cases[][7] = {
        {"bench", "--only", "", "--data", dir, "--plots", dir},
        {"bench", "--only", "fork_join,", "--data", dir, "--plots", dir},
        {"bench", "--only", ",fork_join", "--data", dir, "--plots", dir},
        {"bench", "--only", "fork_join,,pool_scaling", "--data", dir, "--plots", dir},
        {"bench", "--only", "fork_join,nothing", "--data", dir, "--plots", dir},
        {"bench", "--list", "extra", "--data", dir, "--plots", dir}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[8];
        memcpy(argv, cases[i], sizeof cases[i]);
        argv[7] = NULL;
        struct program_run run;
        cr_assert_eq(run_program(argv, 20, &run), 0);
        cr_assert(exited_with(&run, 2), "%s '%s': status %d", argv[1], argv[2], run.status);
        cr_assert(strstr(run.err, "Usage: bench") != NULL, "%s '%s': the usage", argv[1], argv[2]);
        cr_assert_eq(count_lines_containing(run.err, "bench:"), 1, "one line of reason");
        cr_assert(strstr(run.out, "fork_join") == NULL, "--list extra lists nothing");
        program_run_free(&run);
        for (size_t k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/%s", dir, kept[k]);
            char *text = read_file(path, NULL);
            cr_assert_str_eq(text, "the last run's data\n", "%s '%s' left %s alone", argv[1],
                             argv[2], kept[k]);
            free(text);
        }
    }
    remove_dir(dir);
}

/* Issue 21: kill -TERM of `bench --quick --only pool_overhead` while the Python executor
 * co-process ran left its python3 workers alive under init.  The benchmark kills the co-process
 * (its cleanup, or the co-process's own death signal); the script's workers must then die with it.
 * Here the script is killed as the benchmark kills it, and every one of its workers, re-parented
 * to this test (a subreaper), must be gone within a generous bound. */
static int python_present(void)
{
    return system("python3 -c 'import multiprocessing, concurrent.futures' 2>/dev/null") == 0;
}

static void check_workers_die_with_script(const char *kind)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int to_script[2], from_script[2];
    cr_assert_eq(pipe(to_script), 0);
    cr_assert_eq(pipe(from_script), 0);
    pid_t script = fork();
    cr_assert_neq(script, -1);
    if (script == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(to_script[0], STDIN_FILENO);
        dup2(from_script[1], STDOUT_FILENO);
        close(to_script[1]);
        close(from_script[0]);
        execlp("python3", "python3", FORKLORE_ROOT "/bench/python_pool.py", "--kind", kind,
               "--workers", "3", (char *)0);
        _exit(127);
    }
    close(to_script[0]);
    close(from_script[1]);
    char line[64] = "";
    FILE *from = fdopen(from_script[0], "r");
    cr_assert(fgets(line, sizeof line, from) && strncmp(line, "ready", 5) == 0,
              "the script started its pool: \"%s\"", line);

    char path[64], *children;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", script, script);
    children = read_file(path, NULL);
    cr_assert_not_null(children, "%s is readable", path);
    pid_t workers[64];
    int n = 0;
    for (char *s = children, *end; n < 64 && (workers[n] = (pid_t)strtol(s, &end, 10)) > 0; s = end)
        n++;
    free(children);
    cr_assert_geq(n, 3, "%s: the pool's 3 workers are running (%d children)", kind, n);

    kill(script, SIGKILL); /* what the benchmark's cleanup and death signal do */
    cr_assert_eq(waitpid(script, NULL, 0), script);
    int alive = n;
    for (int tick = 0; alive > 0 && tick < 200; tick++) { /* 20 s: a bound, not a timing */
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        alive = 0;
        for (int i = 0; i < n; i++) {
            if (workers[i] <= 0)
                continue;
            if (waitpid(workers[i], NULL, WNOHANG) == workers[i] ||
                (errno == ECHILD && kill(workers[i], 0) == -1))
                workers[i] = 0;
            else
                alive++;
        }
    }
    for (int i = 0; i < n; i++)
        if (workers[i] > 0) {
            kill(workers[i], SIGKILL);
            waitpid(workers[i], NULL, 0);
        }
    fclose(from);
    close(to_script[1]);
    cr_assert_eq(alive, 0, "%s: %d of %d workers outlived the killed script", kind, alive, n);
}

Test(bench, python_pool_workers_die_with_the_script)
{
    if (!python_present())
        cr_skip_test("python3 with multiprocessing is not installed");
    if (under_valgrind())
        cr_skip_test("python3 is not what the memory gate checks");
    check_workers_die_with_script("executor");
    check_workers_die_with_script("pool");
}

/* The time budget: whatever the machine's speed, every point of the plan is either measured
 * (in the CSV) or named as left out on stdout, never both, never neither; k = 1 always runs. */
Test(bench, a_tight_budget_leaves_points_out_and_names_each)
{
    if (under_valgrind())
        cr_skip_test("a benchmark run is too heavy for memcheck");
    char dir[256], path[400];
    make_temp_dir(dir, sizeof dir, "bench-budget");
    char *argv[] = {"bench",     "--quick", "--repeats", "1",       "--budget", "1", "--only",
                    "fork_join", "--data",  dir,         "--plots", dir,        NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0);
    cr_assert(exited_with(&run, 0), "bench failed: %s", run.err);
    expect_text(run.out, "time budget: 1 s");
    snprintf(path, sizeof path, "%s/fork_join.csv", dir);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv);
    int measured = count_lines_containing(csv, "fork-join"), left_out = 0, planned = 0;
    char *line = line_containing(run.out, "left out by the time budget");
    if (line) {
        cr_assert(sscanf(strstr(line, "fork_join: "), "fork_join: %d of %d points", &left_out,
                         &planned) == 2,
                  "%s", line);
        free(line);
    }
    if (!planned) /* nothing was left out: every point of the plan is in the CSV */
        planned = measured;
    cr_assert_eq(measured + left_out, planned, "%d measured + %d left out of %d", measured,
                 left_out, planned);
    /* k = 1 of every plain series (fork_join has two: the striped split and weak scaling) is
     * measured, whatever the budget: rows at x = 1 on 1 CPU with 1 worker. */
    cr_assert_geq(count_lines_containing(csv, "\",1,1,1,"), 2, "%s", csv);
    free(csv);
    program_run_free(&run);
    remove_dir(dir);
}

/* A budget the full-size sweep cannot fit shrinks the problem instead of dropping points:
 * pool_schedule burns a fixed CPU time per run (50 ms under --quick), so six runs of each of
 * its k = 1 points pass a one-second budget on any machine.  Every point then carries a
 * size_scale below 1, the same for both series of a variant (its 2-per-CPU twin included),
 * and every answer still checks (bench stops on a wrong one). */
Test(bench, a_budget_too_small_for_the_full_size_shrinks_each_variant_alike)
{
    if (under_valgrind())
        cr_skip_test("a benchmark run is too heavy for memcheck");
    char dir[256], path[400];
    make_temp_dir(dir, sizeof dir, "bench-size");
    char *argv[] = {"bench",  "--quick", "--repeats",     "5",       "--budget",
                    "1",      "--only",  "pool_schedule", "--cores", "1",
                    "--data", dir,       "--plots",       dir,       NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0);
    cr_assert(exited_with(&run, 0), "bench failed: %s", run.err);
    expect_text(run.out, "problem size");
    expect_text(run.out, "chosen for the time budget");
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *report = read_file(path, NULL);
    cr_assert_not_null(report);
    expect_text(report, "Problem sizes chosen for the time budget");
    free(report);
    snprintf(path, sizeof path, "%s/pool_schedule.csv", dir);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv);
    double scale_of[8] = {0};
    int rows = 0;
    for (char *row = strchr(csv, '\n'); row && row[1]; row = strchr(row + 1, '\n')) {
        struct reduced_point q;
        char *end = strchr(row + 1, '\n');
        if (end)
            *end = '\0';
        cr_assert_eq(reduced_csv_parse(csv, row + 1, &q), 0, "%s", row + 1);
        if (end)
            *end = '\n';
        cr_assert(q.point.size_scale > 0 && q.point.size_scale < 1, "%s: scale %g", q.point.series,
                  q.point.size_scale);
        cr_assert(q.point.variant >= 0 && q.point.variant < 8);
        if (scale_of[q.point.variant] == 0)
            scale_of[q.point.variant] = q.point.size_scale;
        cr_assert_float_eq(q.point.size_scale, scale_of[q.point.variant], 1e-9,
                           "one size for a variant and its twin");
        rows++;
    }
    /* Both variants' k = 1 always run; their twins may still be left out on a busy machine. */
    cr_assert(rows >= 2 && rows <= 4, "two variants and their twins, at k = 1:\n%s", csv);
    free(csv);
    program_run_free(&run);
    remove_dir(dir);
}

Test(bench, quick_run_writes_checked_data_for_every_point)
{
    char top[256], dir[300], plots[300];
    make_temp_dir(top, sizeof top, "bench-test");
    /* Neither folder exists yet, as plots/data does not on a fresh clone. */
    snprintf(dir, sizeof dir, "%s/plots/data", top);
    snprintf(plots, sizeof plots, "%s/plots", top);
    char *argv[] = {"bench",  "--quick", "--repeats", "1",   "--only", "fork_join",
                    "--data", dir,       "--plots",   plots, NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0);
    cr_assert(exited_with(&run, 0), "bench failed: %s", run.err);
    cr_assert(strstr(run.out, "speedup") != NULL, "the summary table is printed");

    char path[512];
    snprintf(path, sizeof path, "%s/fork_join.csv", dir);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv);
    cr_assert(strncmp(csv, "series,x,cpus,workers,samples,wall_median_ns", 44) == 0);
    /* One point per core count, and as many oversubscribed ones: at least k = 1 twice. */
    cr_assert_geq(count_lines_containing(csv, "fork-join"), 2);
    cr_assert_geq(count_lines_containing(csv, "2 per CPU"), 1);
    free(csv);

    const char *expected[] = {"machine.txt", "samples.csv", "fork_join.dat", "index.tsv",
                              "fork_join.fits"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, expected[i]);
        cr_assert_eq(access(path, R_OK), 0, "%s was written", expected[i]);
    }
    snprintf(path, sizeof path, "%s/report.md", plots);
    cr_assert_eq(access(path, R_OK), 0, "the report was written beside the plots");
    snprintf(path, sizeof path, "%s/machine.txt", dir);
    char *machine = read_file(path, NULL);
    cr_assert(strstr(machine, "usable cpus:") && strstr(machine, "kernel:") &&
              strstr(machine, "compiler:") && strstr(machine, "git revision:"));
    free(machine);
    program_run_free(&run);

    remove_dir(top);
}

/* Write a scaling workload's data as the driver would, for a curve with known USL parameters,
 * measured at the given core counts. */
static void write_fake_scaling_data(const char *dir, const int *cores, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/index.tsv", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "fork_join\tscaling\tFake\tcores\tseconds\tns_per_op\t-\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/machine.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "cpu model: synthetic\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/fork_join.csv", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "series,x,cpus,workers,samples,wall_median_ns,wall_min_ns,wall_max_ns,"
               "cpu_median_ns,figure_median,figure_min,figure_max,speedup,speedup_min,"
               "speedup_max,efficiency,overlap,low_overlap,param,extra_median,weak,spread,"
               "wide_spread,idle,capacity,note\n");
    for (int i = 0; i < n; i++) {
        double k = cores[i], s = k / (1 + 0.05 * (k - 1) + 0.002 * k * (k - 1)), t = 1 / s;
        fprintf(f,
                "\"synthetic\",%g,%d,%d,5,%.0f,%.0f,%.0f,%.0f,%g,%g,%g,%g,%g,%g,%g,1,0,0,0,0,0,0,0,"
                "1,\"\"\n",
                k, cores[i], cores[i], t * 1e9, t * 1e9, t * 1e9, t * 1e9, t, t, t, s, s, s, s / k);
    }
    fclose(f);
}

static char *report_for(const char *dir)
{
    char *argv[] = {"bench", "--report-only", "--data", (char *)dir, "--plots", (char *)dir, NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 30, &run), 0);
    cr_assert(exited_with(&run, 0), "report failed: %s", run.err);
    program_run_free(&run);
    char path[512];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *text = read_file(path, NULL);
    cr_assert_not_null(text);
    return text;
}

Test(bench, report_fits_the_models_when_there_are_enough_core_counts)
{
    char dir[256];
    make_temp_dir(dir, sizeof dir, "report-test");
    const int cores[] = {1, 2, 4, 8, 16, 32};
    write_fake_scaling_data(dir, cores, 6);
    char *report = report_for(dir);
    cr_assert(strstr(report, "Universal Scalability Law: contention sigma = 0.0500, coherency "
                             "kappa = 0.002000") != NULL,
              "%s", report);
    cr_assert(strstr(report, "Amdahl's law: serial fraction") != NULL);
    cr_assert(strstr(report, "Karp-Flatt") != NULL);
    free(report);
    char path[512];
    snprintf(path, sizeof path, "%s/fork_join.fits", dir);
    char *fits = read_file(path, NULL);
    /* The CSV keeps 6 significant digits: the parameters come back to about that. */
    const char *usl = strstr(fits, "synthetic\tusl\t");
    cr_assert_not_null(usl, "%s", fits);
    double sigma, kappa;
    cr_assert_eq(sscanf(usl, "synthetic\tusl\t%lf\t%lf", &sigma, &kappa), 2);
    cr_assert_float_eq(sigma, 0.05, 1e-5);
    cr_assert_float_eq(kappa, 0.002, 1e-6);
    free(fits);
    remove_dir(dir);
}

Test(bench, report_says_plainly_when_there_are_too_few_core_counts)
{
    char dir[256];
    make_temp_dir(dir, sizeof dir, "report-test");
    const int cores[] = {1, 2};
    write_fake_scaling_data(dir, cores, 2);
    char *report = report_for(dir);
    cr_assert(strstr(report, "Too few core counts to fit a model") != NULL, "%s", report);
    cr_assert(strstr(report, "sigma =") == NULL, "no number pretends to be a fit");
    free(report);
    remove_dir(dir);
}

Test(bench, compare_names_exactly_the_points_that_differ_beyond_their_spread)
{
    char mine[256], theirs[256];
    make_temp_dir(mine, sizeof mine, "compare-test");
    make_temp_dir(theirs, sizeof theirs, "compare-ref");
    const int cores[] = {1, 2, 4, 8};
    write_fake_scaling_data(mine, cores, 4);
    write_fake_scaling_data(theirs, cores, 4);
    /* Make the reference's 4-core point 30% slower, everything else equal (zero spread). */
    char path[512];
    snprintf(path, sizeof path, "%s/fork_join.csv", theirs);
    char *csv = read_file(path, NULL);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        double x, t;
        int cpus, workers;
        if (sscanf(line, "\"synthetic\",%lf,%d,%d,5,%*f,%*f,%*f,%*f,%lf", &x, &cpus, &workers,
                   &t) == 4 &&
            cpus == 4)
            fprintf(f,
                    "\"synthetic\",4,4,4,5,%.0f,%.0f,%.0f,%.0f,%g,%g,%g,1,1,1,0.25,1,0,0,0,0,0,"
                    "0,0,1,\"\"\n",
                    t * 1.3e9, t * 1.3e9, t * 1.3e9, t * 1.3e9, t * 1.3, t * 1.3, t * 1.3);
        else
            fprintf(f, "%s\n", line);
    }
    fclose(f);
    free(csv);

    char *argv[] = {"bench", "--compare", theirs, "--data", mine, NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 30, &run), 0);
    cr_assert(exited_with(&run, 0), "compare failed: %s", run.err);
    cr_assert_eq(count_lines_containing(run.out, "differs:"), 1, "%s", run.out);
    cr_assert(strstr(run.out, "differs: synthetic, x=4, 4 workers") != NULL, "%s", run.out);
    cr_assert(strstr(run.out, "1 of 4 matching points differ beyond their spread") != NULL, "%s",
              run.out);
    program_run_free(&run);

    remove_dir(mine);
    remove_dir(theirs);
}

/* --- the reduced data's columns (bench/reduced_csv.h) ---------------------------------------- */

/* Every field written is read back as it was, notes with commas and quotes included. */
Test(bench, reduced_csv_round_trips_every_field)
{
    struct reduced_point p;
    memset(&p, 0, sizeof p);
    snprintf(p.point.series, sizeof p.point.series, "pipe, \"quoted\", different CPUs");
    p.point.x = 1048576;
    p.point.cpus = 3;
    p.point.workers = 6;
    p.point.per_cpu = 2;
    p.point.variant = 7;
    p.point.weak = 1;
    p.point.size_scale = 0.375;
    p.samples = 7, p.low_overlap = 1, p.wide_spread = 1;
    p.wall_median_ns = 123456789, p.wall_min_ns = 100000000, p.wall_max_ns = 200000000;
    p.cpu_median_ns = 246913578;
    p.figure_median = 0.123457, p.figure_min = 0.1, p.figure_max = 0.2;
    p.speedup = 1.5, p.speedup_min = 1.25, p.speedup_max = 1.75, p.efficiency = 0.5;
    p.overlap = 0.875, p.extra_median = 42.5, p.spread = 0.125, p.idle = 0.25;
    p.capacity = 0.875;
    snprintf(p.note, sizeof p.note, "split at 65536, then 4096; \"MSG_MAX\", 10");
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    cr_assert_not_null(f);
    reduced_csv_header(f);
    reduced_csv_row(f, &p);
    fclose(f);
    char *row = strchr(text, '\n') + 1;
    struct reduced_point q;
    cr_assert_eq(reduced_csv_parse(text, row, &q), 0, "%s", text);
    cr_assert_str_eq(q.point.series, p.point.series);
    cr_assert_str_eq(q.note, p.note, "the note, commas and quotes and all");
    cr_assert_eq(q.point.per_cpu, 2);
    cr_assert_eq(q.point.cpus, 3);
    cr_assert_eq(q.point.workers, 6);
    cr_assert_eq(q.point.variant, 7);
    cr_assert_eq(q.point.weak, 1);
    cr_assert_eq(q.samples, 7);
    cr_assert_eq(q.low_overlap, 1);
    cr_assert_eq(q.wide_spread, 1);
    const double want[] = {p.point.x,       p.wall_median_ns,  p.wall_min_ns, p.wall_max_ns,
                           p.cpu_median_ns, p.figure_median,   p.figure_min,  p.figure_max,
                           p.speedup,       p.speedup_min,     p.speedup_max, p.efficiency,
                           p.overlap,       p.extra_median,    p.spread,      p.idle,
                           p.capacity,      p.point.size_scale};
    const double got[] = {q.point.x,       q.wall_median_ns,  q.wall_min_ns, q.wall_max_ns,
                          q.cpu_median_ns, q.figure_median,   q.figure_min,  q.figure_max,
                          q.speedup,       q.speedup_min,     q.speedup_max, q.efficiency,
                          q.overlap,       q.extra_median,    q.spread,      q.idle,
                          q.capacity,      q.point.size_scale};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_float_eq(got[i], want[i], 1e-9 * (1 + fabs(want[i])), "field %zu", i);
    /* The label a reader sees carries the twin's suffix; identity came from the fields. */
    cr_assert(strstr(text, "\"pipe, \"\"quoted\"\", different CPUs, 2 per CPU\"") != NULL, "%s",
              text);
    free(text);
}

/* A file from an older driver (no variant or per_cpu columns, another order) still reads. */
Test(bench, reduced_csv_reads_columns_by_name)
{
    const char *header = "x,note,series,cpus\n";
    struct reduced_point q;
    cr_assert_eq(reduced_csv_parse(header, "4,\"a, b\",\"old series, 2 per CPU\",2\n", &q), 0);
    cr_assert_str_eq(q.point.series, "old series, 2 per CPU");
    cr_assert_str_eq(q.note, "a, b");
    cr_assert_eq(q.point.cpus, 2);
    cr_assert_float_eq(q.point.x, 4, 1e-12);
    cr_assert_eq(reduced_csv_parse(header, "4,\"unterminated,2\n", &q), -1);
}

Test(bench, sizes_in_bytes_are_written_with_binary_prefixes)
{
    struct workload sizes = {.name = "sizes", .x_label = "message size (bytes)"};
    struct workload counts = {.name = "counts", .x_label = "processes"};
    char text[32];
    cr_assert_str_eq(x_text(&sizes, 1048576, text, sizeof text), "1 MiB");
    cr_assert_str_eq(x_text(&sizes, 65536, text, sizeof text), "64 KiB");
    cr_assert_str_eq(x_text(&sizes, 64, text, sizeof text), "64 B");
    cr_assert_str_eq(x_text(&sizes, 1000, text, sizeof text), "1000 B");
    cr_assert_str_eq(x_text(&sizes, 1073741824, text, sizeof text), "1 GiB");
    cr_assert_str_eq(x_text(&counts, 1048576, text, sizeof text), "1048576");
}

/* samples.csv is written and read by its own column table: every field comes back, a label
 * with commas and quotes included, and a reader finds the columns by name. */
Test(bench, samples_csv_round_trips_every_field)
{
    struct sample_row in = {.x = 1048576,
                            .cpus = 3,
                            .workers = 6,
                            .run = 2,
                            .wall_ns = 123456789,
                            .cpu_ns = 98765432,
                            .ops = 1000,
                            .overlap = 0.875,
                            .counted = 1,
                            .extra = 0.25,
                            .capacity = 0.9};
    snprintf(in.workload, sizeof in.workload, "pool_scaling");
    snprintf(in.series, sizeof in.series, "fork-join, \"static\" split, 2 per CPU");
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    cr_assert_not_null(f);
    samples_csv_header(f);
    samples_csv_row(f, &in);
    fclose(f);
    char *row = strchr(text, '\n') + 1;
    struct sample_row out;
    cr_assert_eq(samples_csv_parse(text, row, &out), 0);
    cr_assert_str_eq(out.workload, in.workload);
    cr_assert_str_eq(out.series, in.series);
    cr_assert(out.x == in.x && out.cpus == in.cpus && out.workers == in.workers &&
              out.run == in.run && out.wall_ns == in.wall_ns && out.cpu_ns == in.cpu_ns &&
              out.ops == in.ops && out.overlap == in.overlap && out.counted == in.counted &&
              out.extra == in.extra && out.capacity == in.capacity);
    /* By name: the same row under a reordered header still reads. */
    struct sample_row again;
    cr_assert_eq(samples_csv_parse("wall_ns,workload\n", "42,\"fork_join\"\n", &again), 0);
    cr_assert_str_eq(again.workload, "fork_join");
    cr_assert(again.wall_ns == 42);
    free(text);
}
