/* test_bench.c - the benchmark driver: its options, and the data files it promises. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

Test(bench, help_and_list)
{
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
    char *cases[][4] = {{"bench", "--repeats", "0", NULL},
                        {"bench", "--only", "no_such_workload", NULL},
                        {"bench", "--bogus", NULL, NULL},
                        {"bench", "stray", NULL, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct program_run run;
        cr_assert_eq(run_program(cases[i], 10, &run), 0);
        cr_assert(exited_with(&run, 2), "%s %s: status %d", cases[i][1], cases[i][2] ? cases[i][2] : "",
                  run.status);
        cr_assert(strstr(run.err, "Usage: bench") != NULL);
        cr_assert_eq(count_lines_containing(run.err, "bench:"), 1, "one line of reason");
        program_run_free(&run);
    }
}

/* Read a whole small file into a malloc'd string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = calloc(1, 1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    (void)n;
    fclose(f);
    return text;
}

Test(bench, quick_run_writes_checked_data_for_every_point)
{
    char dir[] = "/tmp/forklore-bench-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = {"bench", "--quick", "--repeats", "1", "--only", "fork_join", "--data", dir,
                    NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0);
    cr_assert(exited_with(&run, 0), "bench failed: %s", run.err);
    cr_assert(strstr(run.out, "speedup") != NULL, "the summary table is printed");

    char path[256];
    snprintf(path, sizeof path, "%s/fork_join.csv", dir);
    char *csv = slurp(path);
    cr_assert_not_null(csv);
    cr_assert(strncmp(csv, "series,x,cpus,workers,samples,wall_median_ns", 44) == 0);
    /* One point per core count, and as many oversubscribed ones: at least k = 1 twice. */
    cr_assert_geq(count_lines_containing(csv, "fork-join"), 2);
    cr_assert_geq(count_lines_containing(csv, "2 per CPU"), 1);
    free(csv);

    const char *expected[] = {"machine.txt", "samples.csv", "fork_join.dat", "index.tsv"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, expected[i]);
        cr_assert_eq(access(path, R_OK), 0, "%s was written", expected[i]);
    }
    snprintf(path, sizeof path, "%s/machine.txt", dir);
    char *machine = slurp(path);
    cr_assert(strstr(machine, "usable cpus:") && strstr(machine, "kernel:") &&
              strstr(machine, "compiler:") && strstr(machine, "git revision:"));
    free(machine);
    program_run_free(&run);

    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    cr_assert_eq(system(command), 0);
}
