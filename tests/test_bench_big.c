/* test_bench_big.c - the benchmark on a machine far bigger than this one: every scaling
 * workload runs its point of 4 x 256 = 1024 workers (the oversubscribed twin at k = 512) and
 * checks its answer, on a simulated 512-CPU machine (FORKLORE_SIMULATED_CPUS, support/cpus.h)
 * whose CPUs map onto the real ones.  --smoke keeps each job small: what is tested is that no
 * array, table or limit breaks at that size, never how long it takes.  The driver itself
 * stops with a non-zero status on any wrong answer, so exit 0 plus the rows in the CSV is the
 * check.  Under the valgrind gate, where every traced process costs a large share of a CPU,
 * fork_join's point is 2 x 64 = 128 workers (simulated 64 CPUs): still past the old fixed
 * arrays of 100 records, and every fork_workers path traced. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Run `workload` at k simulated CPUs (and the twin's 2k workers); its CSV, malloc'd. */
static char *run_at(const char *workload, const char *dir, int k)
{
    char cores[16];
    snprintf(cores, sizeof cores, "%d", k);
    cr_assert_eq(setenv("FORKLORE_SIMULATED_CPUS", cores, 1), 0);
    char data[160], plots[160];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    char *argv[] = {"bench",  "--smoke", "--cores", cores, "--only", (char *)workload,
                    "--data", data,      "--plots", plots, NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 600, &run), 0);
    cr_assert(exited_with(&run, 0), "%s at %d workers: status %d: %s", workload, 2 * k, run.status,
              run.err);
    cr_assert(strstr(run.out, "SIMULATED MACHINE") != NULL, "the run says it was simulated");
    program_run_free(&run);
    char path[256];
    snprintf(path, sizeof path, "%s/%s.csv", data, workload);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv, "%s was written", path);
    return csv;
}

/* Rows of the CSV with `cpus` CPUs and `workers` workers (columns 3 and 4). */
static int rows_with(const char *csv, int cpus, int workers)
{
    int count = 0;
    for (const char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *end_of_series = strstr(line, "\",");
        int c = 0, w = 0;
        double x;
        if (end_of_series && sscanf(end_of_series + 2, "%lf,%d,%d", &x, &c, &w) == 3 && c == cpus &&
            w == workers)
            count++;
    }
    return count;
}

static void check(const char *workload, int series, int k)
{
    char dir[128];
    make_temp_dir(dir, sizeof dir, "bench-big");
    char *csv = run_at(workload, dir, k);
    cr_assert_eq(rows_with(csv, k, 2 * k), series, "%s: one %d-worker point per series:\n%s",
                 workload, 2 * k, csv);
    cr_assert_eq(rows_with(csv, k, k), series, "%s: and one of %d", workload, k);
    free(csv);
    remove_dir(dir);
}

/* fork_join: 1024 forked children, 1024 records through one pipe, 1024 spans.  The one the
 * valgrind gate runs too (at 128: see the top). */
Test(bench_big, fork_join_with_1024_workers)
{
    check("fork_join", 2, under_valgrind() ? 64 : 512);
}

/* pool_scaling: a process pool and a thread pool of 1024 (past the old limit of 256), the
 * fork-join split with one record per worker (the old stack array held 100), Python's pool. */
Test(bench_big, pool_scaling_with_1024_workers)
{
    if (under_valgrind())
        cr_skip_test("1024 traced pool workers take too long under valgrind; "
                     "bench_big/fork_join_with_1024_workers is the gate's big point");
    char dir[128];
    make_temp_dir(dir, sizeof dir, "bench-big");
    char *csv = run_at("pool_scaling", dir, 512);
    /* 4 series, 5 with Python: count what ran, then insist every series has both points. */
    int twins = rows_with(csv, 512, 1024);
    cr_assert_geq(twins, 4, "%s", csv);
    cr_assert_eq(rows_with(csv, 512, 512), twins, "%s", csv);
    free(csv);
    remove_dir(dir);
}

Test(bench_big, pool_schedule_with_1024_workers)
{
    if (under_valgrind())
        cr_skip_test("1024 traced pool workers take too long under valgrind; "
                     "bench_big/fork_join_with_1024_workers is the gate's big point");
    check("pool_schedule", 2, 512);
}
