/* test_queues_bench.c - the IPC workloads (ipc_latency, ipc_throughput, ipc_wakeup, ipc_ladder)
 * run, check their own answers (the driver stops on a wrong one), cover every mechanism and
 * reference, print every target met or not, and leave nothing behind.  Timings are not
 * asserted: only that each point was measured and checked, and that each target is judged. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support/cpus.h"
#include "support/private_dir.h"

/* Run one workload's quick plan once into a fresh directory; return what bench printed, its
 * summary included (the report too goes into dir: never over the real plots/). */
static char *run_for_summary(const char *name, char *dir, size_t size)
{
    make_temp_dir(dir, size, name);
    char *argv[] = {"bench",  "--quick", "--repeats", "1", "--only", (char *)name,
                    "--data", dir,       "--plots",   dir, NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0);
    cr_assert_not(run.timed_out, "%s timed out", name);
    cr_assert(exited_with(&run, 0), "bench --only %s failed:\n%s", name, run.err);
    size_t length = run.out_len + run.err_len + 2;
    char *text = malloc(length);
    cr_assert_not_null(text);
    snprintf(text, length, "%s\n%s", run.out, run.err);
    program_run_free(&run);
    return text;
}

/* The same, returning the CSV the run wrote. */
static char *run_workload(const char *name, char *dir, size_t size)
{
    free(run_for_summary(name, dir, size));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.csv", dir, name);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv, "%s was not written", path);
    return csv;
}

/* How many lines mention `what` and judge a target: "met" or "MISSED" after a colon. */
static int judged(const char *text, const char *what)
{
    int n = 0;
    for (const char *line = text; *line;) {
        size_t length = strcspn(line, "\n");
        char copy[1024];
        snprintf(copy, sizeof copy, "%.*s", (int)(length < sizeof copy ? length : sizeof copy - 1),
                 line);
        n += strstr(copy, what) && (strstr(copy, ": met") || strstr(copy, ": MISSED"));
        line += length + (line[length] == '\n');
    }
    return n;
}

/* Each series' name as the CSV quotes it, closing quote included (so "shm queue" is not
 * counted again in "shm queue, SPSC"). */
static const char *const mechanisms[] = {"\"pipe",        "\"FIFO",
                                         "\"socket pair", "\"POSIX message queue",
                                         "\"shm queue",   "\"shm queue, SPSC"};
enum { MECHANISMS = sizeof mechanisms / sizeof mechanisms[0] };

Test(queues_bench, ipc_latency_measures_every_mechanism_and_leaves_nothing)
{
    char dir[4096];
    char *csv = run_workload("ipc_latency", dir, sizeof dir);
    for (int i = 0; i < MECHANISMS; i++)
        cr_assert_geq(count_lines_containing(csv, mechanisms[i]), 1, "%s measured",
                      mechanisms[i] + 1);
    cr_assert_eq(count_lines_containing(csv, ", same CPU\""), MECHANISMS, "one quick point each");
    if (usable_cpu_count() >= 2)
        cr_assert_eq(count_lines_containing(csv, "\"reference: a cache line's round trip"), 1);
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
    char name[64];
    for (int i = 0; i < MECHANISMS; i++) {
        snprintf(name, sizeof name, "%s\"", mechanisms[i]);
        cr_assert_eq(count_lines_containing(csv, name), 4, "%s: 4 sizes in quick", name);
    }
    cr_assert_eq(count_lines_containing(csv, "\"shm queue, batches of 32\""), 4);
    cr_assert_eq(count_lines_containing(csv, "\"shm queue, zero copy\""), 4);
    cr_assert_eq(count_lines_containing(csv, "\"memcpy, one core (reference)\""), 4);
    if (usable_cpu_count() >= 2)
        cr_assert_eq(count_lines_containing(csv, "\"reference: 64 B cache lines"), 1,
                     "the line stream: at 64 B only");
    free(csv);
    remove_dir(dir);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(queues_bench, the_throughput_and_latency_targets_are_each_printed_met_or_missed)
{
    char dir[4096];
    char *text = run_for_summary("ipc_throughput", dir, sizeof dir);
    cr_assert_eq(judged(text, "64 B stream, shm queue: "), 1, "the 20x target:\n%s", text);
    cr_assert_eq(judged(text, "64 B stream, shm queue, batches of 32"), 1, "the 50x target");
    cr_assert_eq(judged(text, "64 KiB stream, shm queue: "), 1, "the 50%% target");
    cr_assert_eq(judged(text, "64 KiB stream, shm queue, zero copy"), 1, "the 80%% target");
    cr_assert(strstr(text, "of CPU per message"), "CPU time per message is printed");
    free(text);
    remove_dir(dir);
    if (usable_cpu_count() < 2)
        return; /* the round trip between CPUs and its reference need two */
    text = run_for_summary("ipc_latency", dir, sizeof dir);
    cr_assert_eq(judged(text, "round trip between CPUs, shm queue"), 2, "general and SPSC:\n%s",
                 text);
    cr_assert(strstr(text, "hardware reference: a cache line's round trip"));
    free(text);
    remove_dir(dir);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(queues_bench, ipc_wakeup_and_ipc_ladder_measure_every_series_and_leave_nothing)
{
    if (usable_cpu_count() < 2)
        return; /* both plan nothing on one CPU: wake-ups and lines between two CPUs */
    char dir[4096];
    char *csv = run_workload("ipc_wakeup", dir, sizeof dir);
    static const char *const wakers[] = {"\"pipe\"", "\"futex\"", "\"shm queue\""};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(count_lines_containing(csv, wakers[i]), 2, "%s: p50 and p99", wakers[i]);
    free(csv);
    remove_dir(dir);
    char *text = run_for_summary("ipc_wakeup", dir, sizeof dir);
    cr_assert_eq(judged(text, "p99 wake-up"), 1, "the p99 target:\n%s", text);
    cr_assert_eq(judged(text, "CPU while idle:"), 1, "the idle target");
    free(text);
    remove_dir(dir);
    csv = run_workload("ipc_ladder", dir, sizeof dir);
    cr_assert_eq(count_lines_containing(csv, "\"stream, ns per 56 B message\""), 6);
    cr_assert_eq(count_lines_containing(csv, "\"round trip, ns per message there and back\""), 6);
    free(csv);
    remove_dir(dir);
    cr_assert_eq(count_abandoned_ipc("/dev/shm", "bench"), 0);
    cr_assert_eq(count_my_zombies(), 0);
}
