/* test_races.c - lost_update and check_then_act: the broken variants really break (amplified,
 * on one CPU too), the fixed ones are exact run after run, the replay trace is exact, and the
 * lesson's predictions hold. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "support/cpus.h"
#include "support/private_dir.h"

/* This test process (and so the programs it starts) may use only its first usable CPU. */
static void pin_to_one_cpu(void)
{
    int ids[1024];
    int n = usable_cpu_ids(ids, 1024);
    cr_assert_geq(n, 1);
    pin_to_cpus(ids, 1);
    cr_assert_eq(usable_cpu_count(), 1);
}

/* The text after the line that starts with prefix (NULL if there is no such line). */
static const char *after_line(const char *text, const char *prefix)
{
    const char *hit = strstr(text, prefix);
    if (!hit)
        return NULL;
    const char *end = strchr(hit, '\n');
    return end ? end + 1 : hit + strlen(hit);
}

/* ---- usage ---------------------------------------------------------------------------------- */

static void check_help(const char *program)
{
    struct program_run r;
    run_expect(&r, (char *[]){(char *)program, "--help", NULL}, 10, 0);
    cr_assert(strstr(r.out, "Usage:"), "%s --help printed:\n%s", program, r.out);
    program_run_free(&r);
    run_expect(&r, (char *[]){(char *)program, "-h", NULL}, 10, 0);
    cr_assert(strstr(r.out, "Usage:"));
    program_run_free(&r);
}

/* A bad argument: exit 2, a one-line reason naming the program, then the usage, on stderr. */
static void check_bad(char *const argv[])
{
    struct program_run r;
    run_expect(&r, argv, 10, 2);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", argv[0]);
    cr_assert_eq(strncmp(r.err, prefix, strlen(prefix)), 0, "no reason line:\n%s", r.err);
    cr_assert(strstr(r.err, "\nUsage:"), "no usage after the reason:\n%s", r.err);
    cr_assert_eq(r.out_len, 0, "bad usage wrote to stdout:\n%s", r.out);
    program_run_free(&r);
}

Test(races, help_exits_0_with_usage)
{
    skip_argument_checks_under_valgrind();
    check_help("lost_update");
    check_help("check_then_act");
}

Test(races, bad_arguments_exit_2)
{
    skip_argument_checks_under_valgrind();
    check_bad((char *[]){"lost_update", "--bogus", NULL});
    check_bad((char *[]){"lost_update", "--workers", "1", NULL});
    check_bad((char *[]){"lost_update", "--workers", "two", NULL});
    check_bad((char *[]){"lost_update", "--iterations", NULL});
    check_bad((char *[]){"lost_update", "--sync", "spinlock", NULL});
    check_bad((char *[]){"lost_update", "--runs", "0", NULL});
    check_bad((char *[]){"lost_update", "stray", NULL});
    check_bad((char *[]){"check_then_act", "--workers", "1", NULL});
    check_bad((char *[]){"check_then_act", "-x", NULL});
    check_bad((char *[]){"check_then_act", "--runs", "lots", NULL});
    check_bad((char *[]){"check_then_act", "stray", NULL});
}

Test(races, bad_replay_schedules_exit_2)
{
    skip_argument_checks_under_valgrind();
    const char *bad[] = {"",        "Ar Ar Aw", "Aw",    "Ar",      "Cr Cw",
                         "A jumps", "Ar Bx",    "Ar, B", "Ar Aw Aw"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_bad((char *[]){"lost_update", "--replay", (char *)bad[i], NULL});
}

/* ---- lost_update ---------------------------------------------------------------------------- */

/* The fixed variants: exact in every one of 20 runs, with and without the amplifier. */
static void check_exact_runs(const char *sync, const char *amplify, const char *iterations)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"lost_update", "--sync", (char *)sync, "--runs", "20", "--workers", "3",
                          "--iterations", (char *)iterations, (char *)amplify, NULL},
               120, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: exact"), 20, "sync=%s:\n%s", sync, r.out);
    cr_assert_eq(count_lines_containing(r.out, "verdict: lost"), 0, "%s", r.out);
    cr_assert(strstr(r.out, "summary: wrong in 0 of 20 runs"), "%s", r.out);
    program_run_free(&r);
}

Test(races, fixed_variants_are_exact_in_20_runs, .timeout = 600)
{
    check_exact_runs("mutex", NULL, "20000");
    check_exact_runs("atomic", NULL, "20000");
    check_exact_runs("semaphore", NULL, "20000");
    check_exact_runs("mutex", "--amplify", "1000");
    check_exact_runs("semaphore", "--amplify", "1000");
    check_exact_runs("atomic", "--amplify", "1000");
}

/* The broken variant, amplified, loses updates: on all CPUs and on one.  Every run loses,
 * except a run the program itself flags as "hardly raced" (it can happen when the machine is
 * very busy, or under valgrind, that one worker finishes before the other starts). */
static void check_loses_every_run(void)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"lost_update", "--amplify", "--runs", "5", "--iterations", "5000", NULL},
               120, 0);
    int lost = count_lines_containing(r.out, "verdict: lost");
    int flagged = count_lines_containing(r.out, "must not be read as \"safe\"");
    cr_assert_geq(lost, 1, "no run lost an update:\n%s", r.out);
    cr_assert_eq(lost + flagged, 5, "an exact run that was not flagged as low-overlap:\n%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "summary: wrong in "), 1, "%s", r.out);
    program_run_free(&r);
}

Test(races, broken_variant_loses_updates_when_amplified, .timeout = 300)
{
    check_loses_every_run();
}

Test(races, broken_variant_loses_updates_on_one_cpu_when_amplified, .timeout = 300)
{
    pin_to_one_cpu();
    check_loses_every_run();
}

/* On one CPU without the amplifier the program says it can hardly show the race, and an exact
 * result comes with the warning not to read it as safe. */
Test(races, one_cpu_without_amplifier_says_so, .timeout = 120)
{
    pin_to_one_cpu();
    struct program_run r;
    run_expect(&r, (char *[]){"lost_update", "--iterations", "100000", NULL}, 60, 0);
    cr_assert_eq(count_lines_containing(r.out, "note: one usable CPU"), 1, "%s", r.out);
    if (strstr(r.out, "verdict: exact"))
        cr_assert_eq(count_lines_containing(r.out, "must not be read as \"safe\""), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "overlap:"), 1, "%s", r.out);
    program_run_free(&r);
}

/* The --runs summary carries min/median/max, and the parameters used are printed. */
Test(races, runs_summary_and_parameters, .timeout = 120)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"lost_update", "--runs", "3", "--workers", "2", "--iterations", "1000",
                          "--amplify", NULL},
               60, 0);
    cr_assert(strstr(r.out, "2 workers x 1000 increments, sync=none, amplify=on"), "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, ": verdict: "), 3, "a verdict per run:\n%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, ": overlap: "), 3, "an overlap line per run:\n%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "summary: wrong in "), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "lost per run: min "), 1, "%s", r.out);
    program_run_free(&r);
}

static const char lost_trace[] = "step  action     counter  A.reg  B.reg\n"
                                 "   1  A reads          0      0      -\n"
                                 "   2  B reads          0      0      0\n"
                                 "   3  A writes         1      0      0\n"
                                 "   4  B writes         1      0      0\n"
                                 "verdict: lost 1 of 2 updates (counter = 1)\n";

/* The replay of the classic lost update, long and compact spellings: the same exact trace. */
Test(races, replay_trace_matches_exactly)
{
    const char *spellings[] = {"A reads, B reads, A writes, B writes", "Ar Br Aw Bw",
                               "a read; b read; a write; b write"};
    for (size_t i = 0; i < 3; i++) {
        struct program_run r;
        run_expect(&r, (char *[]){"lost_update", "--replay", (char *)spellings[i], NULL}, 30, 0);
        const char *trace = after_line(r.out, "replay: ");
        cr_assert_not_null(trace, "%s", r.out);
        cr_assert_str_eq(trace, lost_trace, "schedule \"%s\" gave:\n%s", spellings[i], r.out);
        program_run_free(&r);
    }
}

Test(races, replay_of_a_serial_schedule_is_exact)
{
    struct program_run r;
    run_expect(&r, (char *[]){"lost_update", "--replay", "Ar Aw Br Bw", NULL}, 30, 0);
    const char *trace = after_line(r.out, "replay: ");
    cr_assert_not_null(trace);
    cr_assert_str_eq(trace,
                     "step  action     counter  A.reg  B.reg\n"
                     "   1  A reads          0      0      -\n"
                     "   2  A writes         1      0      -\n"
                     "   3  B reads          1      0      1\n"
                     "   4  B writes         2      0      1\n"
                     "verdict: exact (counter = 2, 2 increments)\n",
                     "%s", r.out);
    program_run_free(&r);
}

/* ---- check_then_act ------------------------------------------------------------------------- */

/* The private directory the program printed must be gone. */
static void check_directory_removed(const char *out)
{
    const char *line = strstr(out, "directory: ");
    cr_assert_not_null(line, "%s", out);
    char dir[256];
    cr_assert_eq(sscanf(line, "directory: %255s", dir), 1);
    cr_assert(strncmp(dir, temp_root(), strlen(temp_root())) == 0 &&
                  strstr(dir, "/forklore-check_then_act-"),
              "%s is not a private folder in %s", dir, temp_root());
    cr_assert_eq(access(dir, F_OK), -1, "%s was left behind", dir);
    cr_assert_eq(errno, ENOENT);
}

Test(races, check_then_act_broken_has_several_winners_when_amplified, .timeout = 120)
{
    struct program_run r;
    run_expect(&r, (char *[]){"check_then_act", "--amplify", "--runs", "3", NULL}, 60, 0);
    cr_assert_eq(count_lines_containing(r.out, "winners: 2 (each believes"), 3, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "I created it"), 6, "%s", r.out);
    check_directory_removed(r.out);
    program_run_free(&r);
}

Test(races, check_then_act_fixed_has_exactly_one_winner, .timeout = 120)
{
    struct program_run r;
    run_expect(
        &r,
        (char *[]){"check_then_act", "--fix", "--amplify", "--workers", "4", "--runs", "5", NULL},
        60, 0);
    cr_assert_eq(count_lines_containing(r.out, "winners: 1"), 5, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "I created it"), 5, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "somebody else created it"), 15, "%s", r.out);
    cr_assert(strstr(r.out, "verdict: 0 of 5 run(s)"), "%s", r.out);
    check_directory_removed(r.out);
    program_run_free(&r);
    run_expect(&r, (char *[]){"check_then_act", "--fix", "--runs", "20", NULL}, 60, 0);
    cr_assert_eq(count_lines_containing(r.out, "winners: 1"), 20, "%s", r.out);
    check_directory_removed(r.out);
    program_run_free(&r);
}

/* Default runs: unattended, exit 0, nothing left behind. */
Test(races, default_runs_finish_cleanly, .timeout = 120)
{
    struct program_run r;
    run_expect(&r, (char *[]){"lost_update", NULL}, 60, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: "), 1, "%s", r.out);
    program_run_free(&r);
    run_expect(&r, (char *[]){"check_then_act", NULL}, 60, 0);
    check_directory_removed(r.out);
    program_run_free(&r);
}

/* ---- the lesson's predictions (lessons/04-races.md) ------------------------------------------ */

/* Q1: "Ar Br Aw Bw": two increments, the counter ends at 1. */
Test(lesson_races, predict_1)
{
    struct program_run r;
    run_expect(&r, (char *[]){"lost_update", "--replay", "Ar Br Aw Bw", NULL}, 30, 0);
    cr_assert(strstr(r.out, "verdict: lost 1 of 2 updates (counter = 1)"), "%s", r.out);
    program_run_free(&r);
}

/* Q2: "Ar Br Aw Ar Aw Bw": three increments, B's late write throws two away: counter 1. */
Test(lesson_races, predict_2)
{
    struct program_run r;
    run_expect(&r, (char *[]){"lost_update", "--replay", "Ar Br Aw Ar Aw Bw", NULL}, 30, 0);
    cr_assert(strstr(r.out, "verdict: lost 2 of 3 updates (counter = 1)"), "%s", r.out);
    program_run_free(&r);
}

/* Q3: --sync=atomic --amplify is still exact: an atomic increment has no window to widen. */
Test(lesson_races, predict_3, .timeout = 120)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"lost_update", "--sync=atomic", "--amplify", "--runs", "5",
                          "--iterations", "10000", NULL},
               60, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: exact"), 5, "%s", r.out);
    program_run_free(&r);
}

/* Q4: three racers, amplified check-then-act: all three believe they created the file. */
Test(lesson_races, predict_4, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"check_then_act", "--amplify", "--workers", "3", NULL}, 30, 0);
    cr_assert_eq(count_lines_containing(r.out, "I created it"), 3, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "the file holds pid"), 1, "%s", r.out);
    program_run_free(&r);
}

/* Q5: mutex, amplified, on one CPU: exact (the yield happens while the lock is held). */
Test(lesson_races, predict_5, .timeout = 120)
{
    pin_to_one_cpu();
    struct program_run r;
    run_expect(&r,
               (char *[]){"lost_update", "--sync=mutex", "--amplify", "--runs", "3", "--iterations",
                          "2000", NULL},
               60, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: exact"), 3, "%s", r.out);
    program_run_free(&r);
}
