/* test_queues_bench.c - the ipc_latency and ipc_throughput workloads run, check their own
 * answers (the driver stops on a wrong one), cover every mechanism, and leave nothing behind.
 * Timings are not asserted: only that each point was measured and checked. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support/private_dir.h"

/* Run one workload's quick plan once into a fresh directory; return its CSV text. */
static char *run_workload(const char *name, char *dir, size_t size)
{
    make_temp_dir(dir, size, name);
    char *argv[] = {"bench",  "--quick", "--repeats", "1", "--only", (char *)name,
                    "--data", dir,       "--plots",   dir, NULL}; /* the report too: never over the
                                                                     real plots/ */
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0);
    cr_assert_not(run.timed_out, "%s timed out", name);
    cr_assert(exited_with(&run, 0), "bench --only %s failed:\n%s", name, run.err);
    program_run_free(&run);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.csv", dir, name);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv, "%s was not written", path);
    return csv;
}

static const char *const mechanisms[] = {"\"pipe", "\"FIFO", "\"socket pair",
                                         "\"POSIX message queue", "\"shm queue"};

Test(queues_bench, ipc_latency_measures_every_mechanism_and_leaves_nothing)
{
    char dir[4096];
    char *csv = run_workload("ipc_latency", dir, sizeof dir);
    for (int i = 0; i < 5; i++)
        cr_assert_geq(count_lines_containing(csv, mechanisms[i]), 1, "%s measured",
                      mechanisms[i] + 1);
    cr_assert_eq(count_lines_containing(csv, ", same CPU\""), 5, "one quick point each");
    free(csv);
    remove_dir(dir);
    /* Names carry their creator's pid: one whose creator is gone was left behind.  (Counting
     * all names would trip over the other bench test, which runs at the same time.) */
    cr_assert_eq(count_abandoned_ipc("/dev/shm", "bench"), 0);
    cr_assert_eq(count_abandoned_ipc(temp_root(), "bench-fifo"), 0);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(queues_bench, ipc_throughput_checks_every_mechanism_and_the_reference)
{
    char dir[4096];
    char *csv = run_workload("ipc_throughput", dir, sizeof dir);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(count_lines_containing(csv, mechanisms[i]), 4, "%s: 4 sizes in quick",
                     mechanisms[i] + 1);
    cr_assert_eq(count_lines_containing(csv, "\"memcpy, one core (reference)\""), 4);
    free(csv);
    remove_dir(dir);
    cr_assert_eq(count_my_zombies(), 0);
}
