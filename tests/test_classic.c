/* test_classic.c - patterns/classic: producer-consumer, readers-writers, dining philosophers
 * (the deadlock caught with its cycle, and both fixes), the reusable barrier; and the "predict,
 * then run" questions of lessons/07-classic-problems.md (suite lesson_classic).
 * Only correctness is asserted: the waiting times readers_writers prints are never checked. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Generous: the default runs take about a second natively. */
enum { TIMEOUT_S = 60 };

/* Run a program; it must not hit the time limit nor leave a zombie in the test process. */
static void run_checked(char *const argv[], struct program_run *run)
{
    run_finished(run, argv, TIMEOUT_S);
    cr_assert_eq(count_my_zombies(), 0);
}

/* Every number printed after key (up to max of them) goes into values; returns how many. */
static int numbers_after(const char *text, const char *key, long *values, int max)
{
    int n = 0;
    for (const char *at = strstr(text, key); at != NULL && n < max; at = strstr(at + 1, key))
        if (sscanf(at + strlen(key), "%ld", &values[n]) == 1)
            n++;
    return n;
}

/* Every process whose pid was printed after key must be gone: killed or finished, and reaped. */
static void assert_pids_after_gone(const char *text, const char *key)
{
    long pids[256];
    int n = numbers_after(text, key, pids, 256);
    cr_assert_gt(n, 0, "no \"%s\" in the output", key);
    for (int i = 0; i < n; i++)
        cr_assert(kill((pid_t)pids[i], 0) == -1 && errno == ESRCH, "pid %ld outlived the run",
                  pids[i]);
}

/* ---- producer_consumer -------------------------------------------------------------------- */

Test(classic, producer_consumer_counts_and_checksums_match)
{
    struct program_run run;
    char *argv[] = {"producer_consumer", "--producers", "3",          "--consumers", "2",
                    "--items",           "5000",        "--capacity", "4",           NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "consumed 15000 items (produced 15000)"), 1, "%s",
                 run.out);
    cr_assert_eq(count_lines_containing(run.out, "out of order: 0; result: correct"), 1);
    /* The checksum line prints both values: they must be the same text. */
    char got[32], made[32];
    const char *at = strstr(run.out, "checksum ");
    cr_assert_not_null(at);
    cr_assert_eq(sscanf(at, "checksum %31s (produced %31[0-9a-f])", got, made), 2);
    cr_assert_str_eq(got, made);
    program_run_free(&run);
}

/* ---- readers_writers ---------------------------------------------------------------------- */

Test(classic, readers_writers_invariant_holds_under_both_policies)
{
    struct program_run run;
    char *argv[] = {"readers_writers", "--readers", "3",          "--writers", "3", "--ops", "25",
                    "--hold-us",       "300",       "--think-us", "100",       NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "reader preference"), 1);
    cr_assert_eq(count_lines_containing(run.out, "writer preference"), 1);
    cr_assert_eq(count_lines_containing(run.out, "| violations 0, torn reads 0"), 2, "%s", run.out);
    program_run_free(&run);
}

Test(classic, readers_writers_without_a_lock_is_caught)
{
    struct program_run run;
    char *argv[] = {"readers_writers", "--policy", "none", "--ops", "20", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    long violations[1];
    cr_assert_eq(numbers_after(run.out, "| violations ", violations, 1), 1);
    cr_assert_gt(violations[0], 0, "the broken baseline showed no violation:\n%s", run.out);
    program_run_free(&run);
}

/* ---- dining_philosophers ------------------------------------------------------------------ */

Test(classic, dining_philosophers_deadlock_is_detected_with_its_cycle)
{
    struct program_run run;
    char *argv[] = {"dining_philosophers", "--mode", "deadlock", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 3), "status %d:\n%s", run.status, run.out);
    cr_assert_eq(count_lines_containing(run.out,
                                        "deadlock: P0 waits for fork 1 held by P1, P1 waits for "
                                        "fork 2 held by P2, P2 waits for fork 3 held by P3, P3 "
                                        "waits for fork 4 held by P4, P4 waits for fork 0 held "
                                        "by P0"),
                 1, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "killed and reaped 5 philosophers"), 1);
    assert_pids_after_gone(run.out, " is pid ");
    program_run_free(&run);
}

Test(classic, dining_philosophers_resource_ordering_finishes)
{
    struct program_run run;
    char *argv[] = {"dining_philosophers", "--mode", "ordered", "--meals", "5", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "status %d:\n%s", run.status, run.out);
    cr_assert_eq(count_lines_containing(run.out, "every philosopher ate 5 meals: yes"), 1);
    cr_assert_eq(count_lines_containing(run.out, "deadlock"), 0);
    assert_pids_after_gone(run.out, " is pid ");
    program_run_free(&run);
}

Test(classic, dining_philosophers_waiter_finishes)
{
    struct program_run run;
    char *argv[] = {"dining_philosophers", "--mode", "waiter", "--philosophers", "7", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "status %d:\n%s", run.status, run.out);
    cr_assert_eq(count_lines_containing(run.out, "every philosopher ate 3 meals: yes"), 1);
    assert_pids_after_gone(run.out, " is pid ");
    program_run_free(&run);
}

Test(classic, dining_philosophers_default_run_shows_all_three)
{
    struct program_run run;
    char *argv[] = {"dining_philosophers", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "status %d:\n%s", run.status, run.out);
    cr_assert_eq(count_lines_containing(run.out, "summary: deadlock detected, both fixes "
                                                 "finished: yes"),
                 1, "%s", run.out);
    assert_pids_after_gone(run.out, " is pid ");
    program_run_free(&run);
}

/* ---- reusable_barrier --------------------------------------------------------------------- */

Test(classic, reusable_barrier_never_lets_anyone_run_ahead)
{
    struct program_run run;
    char *argv[] = {"reusable_barrier", "--workers", "5", "--rounds", "200",
                    "--work-us",        "50",        NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "generations completed: 200 (rounds 200); "
                                                 "serial arrivals: 200; ran ahead: 0"),
                 1, "%s", run.out);
    program_run_free(&run);
}

Test(classic, naive_barrier_lets_workers_run_ahead)
{
    struct program_run run;
    char *argv[] = {"reusable_barrier", "--naive", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    long ran_ahead[1];
    cr_assert_eq(numbers_after(run.out, "ran ahead: ", ran_ahead, 1), 1);
    cr_assert_gt(ran_ahead[0], 0, "%s", run.out);
    program_run_free(&run);
}

/* ---- every program: --help, bad arguments --------------------------------------------------- */

static const char *const programs[][3] = {
    {"producer_consumer", "--capacity", "0"},
    {"readers_writers", "--ops", "many"},
    {"dining_philosophers", "--philosophers", "1"},
    {"reusable_barrier", "--workers", "1"},
};

Test(classic, every_program_has_help_and_refuses_bad_arguments)
{
    skip_argument_checks_under_valgrind();
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        char *name = (char *)programs[i][0];
        assert_help(name, "-h");
        char *unknown[] = {name, "--frobnicate", NULL};
        assert_usage_error(unknown, NULL);
        assert_refuses_bad_arguments(name, programs[i][1], programs[i][2]);
    }
    char *bad_mode[] = {"dining_philosophers", "--mode", "chaos", NULL};
    assert_usage_error(bad_mode, NULL);
    char *bad_policy[] = {"readers_writers", "--policy", "fair", NULL};
    assert_usage_error(bad_policy, NULL);
}

/* Nothing in /dev/shm: these programs use anonymous shared memory only, so a run must not
 * add a forklore entry there.  Only entries carrying this run's pid could be ours. */
Test(classic, nothing_is_left_in_dev_shm)
{
    char *names[] = {"producer_consumer", "readers_writers", "reusable_barrier"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct program_run run;
        char *argv[] = {names[i], NULL};
        run_checked(argv, &run);
        cr_assert(exited_with(&run, 0), "%s: %s", names[i], run.out);
        long pid[1];
        if (numbers_after(run.out, "[pid ", pid, 1) == 1) {
            char needle[32];
            snprintf(needle, sizeof needle, "-%ld-", pid[0]);
            cr_assert_eq(count_dir_entries_containing("/dev/shm", needle), 0);
        }
        program_run_free(&run);
    }
}

/* ---- lessons/07-classic-problems.md: predict, then run -------------------------------------- */

/* predict_1: a ring of one slot is slow but still correct. */
Test(lesson_classic, predict_1)
{
    struct program_run run;
    char *argv[] = {"producer_consumer", "--capacity", "1", "--items", "2000", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "consumed 4000 items (produced 4000)"), 1);
    cr_assert_eq(count_lines_containing(run.out, "result: correct"), 1);
    program_run_free(&run);
}

/* predict_2: without the lock, writers meet readers (violations) and readers see torn records. */
Test(lesson_classic, predict_2)
{
    struct program_run run;
    char *argv[] = {"readers_writers", "--policy", "none", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    long violations[1], torn[1];
    cr_assert_eq(numbers_after(run.out, "| violations ", violations, 1), 1);
    cr_assert_eq(numbers_after(run.out, "torn reads ", torn, 1), 1);
    cr_assert_gt(violations[0], 0);
    cr_assert_gt(torn[0], 0, "%s", run.out);
    program_run_free(&run);
}

/* predict_3: three philosophers deadlock the same way; the cycle has three links; status 3. */
Test(lesson_classic, predict_3)
{
    struct program_run run;
    char *argv[] = {"dining_philosophers", "--mode", "deadlock", "--philosophers", "3", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 3), "status %d", run.status);
    cr_assert_eq(count_lines_containing(run.out, "deadlock: P0 waits for fork 1 held by P1, P1 "
                                                 "waits for fork 2 held by P2, P2 waits for fork "
                                                 "0 held by P0"),
                 1, "%s", run.out);
    program_run_free(&run);
}

/* predict_4: two philosophers, two forks, ordered: both want fork 0 first, so it finishes. */
Test(lesson_classic, predict_4)
{
    struct program_run run;
    char *argv[] = {"dining_philosophers", "--mode", "ordered", "--philosophers", "2", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "status %d:\n%s", run.status, run.out);
    cr_assert_eq(count_lines_containing(run.out, "every philosopher ate 3 meals: yes"), 1);
    program_run_free(&run);
}

/* predict_5: the naive barrier holds for round 0 only; one serial arrival in all. */
Test(lesson_classic, predict_5)
{
    struct program_run run;
    char *argv[] = {"reusable_barrier", "--naive", "--rounds", "10", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "serial arrivals: 1;"), 1, "%s", run.out);
    program_run_free(&run);
}
