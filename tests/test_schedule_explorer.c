/* test_schedule_explorer.c - the schedule explorer: every scenario's counts are exact for each
 * bound, each shortest breaking schedule replays to the same failure, the fixed twins never
 * break, a given schedule prints the exact step table, and bad schedules are usage errors. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* One row of the summary table: schedules, broken, and the shortest breaking schedule. */
struct expected_row {
    const char *scenario;
    long schedules, broken;
    const char *shortest; /* "-" when nothing broke */
};

/* The counts, worked out by hand for the two-process scenarios (lessons/04-races.md shows the
 * six schedules of lost_update) and checked against the explorer for the buffer's three. */
static const struct expected_row bound_2[] = {
    {"lost_update", 6, 4, "A B B A"},
    {"locked_update", 2, 0, "-"},
    {"check_then_act", 6, 4, "A B B A"},
    {"create_exclusive", 2, 0, "-"},
    {"opposite_lock_order", 6, 2, "A B"},
    {"same_lock_order", 2, 0, "-"},
    {"one_condition", 30, 2, "B B B C C C A A A A A A A A B B B B B C C C"},
    {"if_wait", 28, 4, "B B B A A A A A C C C C C B B"},
    {"while_wait", 28, 0, "-"},
    {"peterson", 20, 0, "-"},
    {"flag_lock", 12, 2, "A B B B A A"},
};
static const struct expected_row bound_0[] = {
    {"lost_update", 2, 0, "-"},
    {"locked_update", 2, 0, "-"},
    {"check_then_act", 2, 0, "-"},
    {"create_exclusive", 2, 0, "-"},
    {"opposite_lock_order", 2, 0, "-"},
    {"same_lock_order", 2, 0, "-"},
    {"one_condition", 14, 2, "B B B C C C A A A A A A A A B B B B B C C C"},
    {"if_wait", 14, 2, "B B B A A A A A A A A C C C C C B B"},
    {"while_wait", 14, 0, "-"},
    {"peterson", 2, 0, "-"},
    {"flag_lock", 2, 0, "-"},
};
enum { SCENARIOS = sizeof bound_2 / sizeof bound_2[0] };

/* Run the summary for a bound and compare every row, and insist on nothing more. */
static void check_summary(const char *bound, const struct expected_row *rows)
{
    struct program_run r;
    run_expect(&r, (char *[]){"schedule_explorer", "--bound", (char *)bound, NULL}, 120, 0);
    for (int i = 0; i < SCENARIOS; i++) {
        char *line = line_containing(r.out, rows[i].scenario);
        cr_assert_not_null(line, "no row for %s:\n%s", rows[i].scenario, r.out);
        char name[64], shortest[512];
        int procs;
        long schedules, broken;
        int fields =
            sscanf(line, "%63s %d %ld %ld %511[^\n]", name, &procs, &schedules, &broken, shortest);
        cr_assert_eq(fields, 5, "%s", line);
        cr_assert_str_eq(name, rows[i].scenario);
        cr_assert_eq(schedules, rows[i].schedules, "bound %s, %s: %ld schedules", bound, name,
                     schedules);
        cr_assert_eq(broken, rows[i].broken, "bound %s, %s: %ld broken", bound, name, broken);
        cr_assert_str_eq(shortest, rows[i].shortest, "bound %s, %s", bound, name);
        free(line);
    }
    int lines = 0;
    for (const char *c = r.out; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, SCENARIOS + 2, "a heading, a header and a row per scenario:\n%s", r.out);
    program_run_free(&r);
}

Test(schedule_explorer, counts_with_the_default_bound_of_2, .timeout = 300)
{
    check_summary("2", bound_2);
    struct program_run r; /* the default is 2 */
    run_expect(&r, (char *[]){"schedule_explorer", NULL}, 120, 0);
    cr_assert(strstr(r.out, "every scenario, preemption bound 2\n"), "%s", r.out);
    program_run_free(&r);
}

Test(schedule_explorer, counts_without_preemption, .timeout = 300)
{
    check_summary("0", bound_0);
}

/* Without a bound, only the scenarios whose schedules need 3 or more preemptions grow. */
Test(schedule_explorer, counts_without_a_bound, .timeout = 300)
{
    struct expected_row unbounded[SCENARIOS];
    memcpy(unbounded, bound_2, sizeof unbounded);
    for (int i = 0; i < SCENARIOS; i++) {
        if (strcmp(unbounded[i].scenario, "peterson") == 0)
            unbounded[i].schedules = 26;
        if (strcmp(unbounded[i].scenario, "flag_lock") == 0)
            unbounded[i].schedules = 82, unbounded[i].broken = 12;
    }
    check_summary("all", unbounded);
}

/* The scenario's own report: the histogram by preemptions adds up to the schedules, and the
 * replay line names the shortest schedule; replaying it breaks the invariant the same way. */
static void check_replay_breaks(const char *scenario, const char *why)
{
    struct program_run r;
    run_expect(&r, (char *[]){"schedule_explorer", (char *)scenario, NULL}, 120, 0);
    char *line = line_containing(r.out, "replay: schedule_explorer ");
    cr_assert_not_null(line, "%s", r.out);
    char *open = strchr(line, '"'), *close = strrchr(line, '"');
    cr_assert(open && close && close > open, "%s", line);
    *close = '\0';
    char *shortest = line_containing(r.out, "shortest breaking schedule: ");
    cr_assert_not_null(shortest);
    expect_text(shortest, why);
    struct program_run replay;
    run_expect(&replay,
               (char *[]){"schedule_explorer", (char *)scenario, "--schedule", open + 1, NULL}, 60,
               0);
    char verdict[512];
    snprintf(verdict, sizeof verdict, "verdict: broken: %s", why);
    cr_assert_eq(count_lines_containing(replay.out, verdict), 1, "%s", replay.out);
    cr_assert_eq(count_lines_containing(replay.out, "(+: a step you did not give"), 0,
                 "the replay was complete:\n%s", replay.out);
    program_run_free(&replay);
    free(shortest);
    free(line);
    program_run_free(&r);
}

Test(schedule_explorer, every_shortest_breaking_schedule_replays, .timeout = 300)
{
    check_replay_breaks("lost_update", "lost an update (counter = 1, 2 increments)");
    check_replay_breaks("check_then_act", "2 processes believe they created the file");
    check_replay_breaks("opposite_lock_order", "deadlock: nobody can move: A waits at \"locks "
                                               "m2\", B waits at \"locks m1\"");
    check_replay_breaks("one_condition", "deadlock: nobody can move: A is asleep after \"waits "
                                         "on changed\", C is asleep after \"waits on changed\"");
    check_replay_breaks("if_wait", "took an item from an empty buffer (items = -1)");
    check_replay_breaks("flag_lock", "2 processes in the critical section at once");
}

Test(schedule_explorer, a_scenario_report_adds_up, .timeout = 120)
{
    struct program_run r;
    run_expect(&r, (char *[]){"schedule_explorer", "lost_update", NULL}, 60, 0);
    expect_text(r.out, "schedules: 6 (by preemptions: 0: 2; 1: 2; 2: 2;)\n");
    expect_text(r.out, "broken: 4 of 6\n");
    expect_text(r.out, "shortest breaking schedule: 4 steps, 1 preemption(s)");
    program_run_free(&r);
    run_expect(&r, (char *[]){"schedule_explorer", "peterson", "--bound", "all", NULL}, 60, 0);
    expect_text(r.out, "broken: 0 of 26\n");
    expect_text(r.out, "verdict: the invariant held in every schedule within the bound\n");
    cr_assert_eq(count_lines_containing(r.out, "replay:"), 0, "%s", r.out);
    program_run_free(&r);
}

static const char lost_update_table[] =
    "step  who  action                                          state\n"
    "   1  A    reads counter -> 0                              counter=0 A.reg=0 B.reg=0\n"
    "   2  B    reads counter -> 0                              counter=0 A.reg=0 B.reg=0\n"
    "   3  A    writes counter <- 1                             counter=1 A.reg=0 B.reg=0\n"
    "   4  B    writes counter <- 1                             counter=1 A.reg=0 B.reg=0\n"
    "verdict: broken: lost an update (counter = 1, 2 increments)\n";

/* The three spellings of one schedule give the same table, to the byte. */
Test(schedule_explorer, a_given_schedule_prints_its_exact_table)
{
    const char *spellings[] = {"A reads, B reads, A writes, B writes", "Ar Br Aw Bw", "A B A B"};
    for (size_t i = 0; i < 3; i++) {
        struct program_run r;
        run_expect(&r,
                   (char *[]){"schedule_explorer", "lost_update", "--schedule",
                              (char *)spellings[i], NULL},
                   30, 0);
        const char *table = strstr(r.out, "step  who");
        cr_assert_not_null(table, "%s", r.out);
        cr_assert_str_eq(table, lost_update_table, "\"%s\" gave:\n%s", spellings[i], r.out);
        program_run_free(&r);
    }
}

/* What the learner leaves out is run without preemption, and marked. */
Test(schedule_explorer, an_unfinished_schedule_is_completed_and_marked)
{
    struct program_run r;
    run_expect(&r, (char *[]){"schedule_explorer", "same_lock_order", "-s", "B", NULL}, 30, 0);
    cr_assert_eq(count_lines_containing(r.out, "  B+   "), 3, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "  A+   "), 4, "%s", r.out);
    expect_text(r.out, "verdict: holds: somebody can always move (no deadlock)\n");
    program_run_free(&r);
}

/* The file scenarios work on a real file in a private folder, which is gone afterwards. */
static void check_folder_removed(const char *out)
{
    const char *line = strstr(out, "folder: ");
    cr_assert_not_null(line, "%s", out);
    char folder[256];
    cr_assert_eq(sscanf(line, "folder: %255s", folder), 1);
    cr_assert(strstr(folder, "/tmp/forklore-schedule_explorer-"), "%s", folder);
    cr_assert_eq(access(folder, F_OK), -1, "%s was left behind", folder);
    cr_assert_eq(errno, ENOENT);
}

Test(schedule_explorer, file_scenarios_use_and_remove_a_private_folder, .timeout = 120)
{
    struct program_run r;
    run_expect(&r, (char *[]){"schedule_explorer", "check_then_act", "-s", "A B A B", NULL}, 30, 0);
    expect_text(r.out, "creates it (O_CREAT|O_TRUNC) -> \"I created it\"  file exists, "
                       "believers=2");
    check_folder_removed(r.out);
    program_run_free(&r);
    run_expect(&r, (char *[]){"schedule_explorer", "create_exclusive", "-s", "A B", NULL}, 30, 0);
    expect_text(r.out, "-> EEXIST: gives up");
    expect_text(r.out, "verdict: holds");
    check_folder_removed(r.out);
    program_run_free(&r);
    run_expect(&r, (char *[]){"schedule_explorer", "check_then_act", NULL}, 60, 0);
    check_folder_removed(r.out);
    program_run_free(&r);
}

Test(schedule_explorer, help_and_list)
{
    skip_argument_checks_under_valgrind();
    assert_help("schedule_explorer", "--help");
    assert_help("schedule_explorer", "-h");
    struct program_run r;
    run_expect(&r, (char *[]){"schedule_explorer", "--list", NULL}, 30, 0);
    cr_assert_eq(count_lines_containing(r.out, "  invariant: "), SCENARIOS, "%s", r.out);
    expect_text(r.out, "  B: 0 locks m2; 1 locks m1; 2 unlocks m1; 3 unlocks m2\n");
    program_run_free(&r);
}

Test(schedule_explorer, bad_arguments_and_schedules_are_usage_errors)
{
    skip_argument_checks_under_valgrind();
    assert_refuses_bad_arguments("schedule_explorer", "--bound", "two");
    assert_usage_error((char *[]){"schedule_explorer", "no_such_scenario", NULL},
                       "no scenario \"no_such_scenario\"");
    assert_usage_error((char *[]){"schedule_explorer", "-s", "A B", NULL}, "needs a SCENARIO");
    assert_usage_error((char *[]){"schedule_explorer", "lost_update", "-s", "Aw", NULL},
                       "step 1: A's next step is \"reads counter\", not \"w\"");
    assert_usage_error((char *[]){"schedule_explorer", "lost_update", "-s", "A A A", NULL},
                       "step 3: A has already finished");
    assert_usage_error((char *[]){"schedule_explorer", "lost_update", "-s", "A C", NULL},
                       "processes A to B, not C");
    assert_usage_error((char *[]){"schedule_explorer", "lost_update", "-s", "reads", NULL},
                       "a step starts with a process letter");
    assert_usage_error((char *[]){"schedule_explorer", "lost_update", "-s", "", NULL}, "empty");
    assert_usage_error((char *[]){"schedule_explorer", "opposite_lock_order", "-s", "A B A", NULL},
                       "step 3: A cannot move: it waits at \"locks m2\"");
    assert_usage_error(
        (char *[]){"schedule_explorer", "same_lock_order", "-s", "A A A A B B B B A", NULL},
        "step 9: A has already finished");
}

/* Run the explorer with these arguments; each of the texts (NULL-terminated) must be in its
 * output. */
static void expect_explorer(char *const args[], const char *const texts[])
{
    char *argv[8] = {"schedule_explorer"};
    int n = 1;
    while (args[n - 1] && n < 7) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    struct program_run r;
    run_expect(&r, argv, 60, 0);
    for (int i = 0; texts[i]; i++)
        expect_text(r.out, texts[i]);
    program_run_free(&r);
}

/* ---- lessons/04-races.md: predict, then run ----------------------------------------------------
 */

/* predict_6: of lost_update's 6 schedules, 4 lose an update. */
Test(lesson_races, predict_6, .timeout = 60)
{
    expect_explorer((char *[]){"lost_update", NULL}, (const char *[]){"broken: 4 of 6\n", NULL});
}

/* predict_7: the flag lock needs 2 preemptions to break: bound 1 finds nothing, bound 2 does. */
Test(lesson_races, predict_7, .timeout = 60)
{
    expect_explorer((char *[]){"flag_lock", "--bound", "1", NULL},
                    (const char *[]){"broken: 0 of 4\n", NULL});
    expect_explorer((char *[]){"flag_lock", "--bound", "2", NULL},
                    (const char *[]){"broken: 2 of 12\n", "6 steps, 2 preemption(s)", NULL});
}

/* predict_8: Peterson's lock: none of its 20 schedules (26 without a bound) lets both in. */
Test(lesson_races, predict_8, .timeout = 60)
{
    expect_explorer((char *[]){"peterson", NULL}, (const char *[]){"broken: 0 of 20\n", NULL});
}

/* ---- lessons/07-classic-problems.md: predict, then run -----------------------------------------
 */

/* predict_6: the opposite lock orders deadlock after two steps, one preemption. */
Test(lesson_classic, predict_6, .timeout = 60)
{
    expect_explorer((char *[]){"opposite_lock_order", NULL},
                    (const char *[]){"broken: 2 of 6\n",
                                     "shortest breaking schedule: 2 steps, 1 preemption(s): "
                                     "deadlock",
                                     NULL});
}

/* predict_7: the lost wake-up needs no preemption at all: bound 0 finds it. */
Test(lesson_classic, predict_7, .timeout = 60)
{
    expect_explorer((char *[]){"one_condition", "--bound", "0", NULL},
                    (const char *[]){"broken: 2 of 14\n", "0 preemption(s): deadlock", NULL});
}

/* predict_8: `if` breaks 4 of 28 schedules; `while` none of the same 28. */
Test(lesson_classic, predict_8, .timeout = 60)
{
    expect_explorer((char *[]){"if_wait", NULL}, (const char *[]){"broken: 4 of 28\n", NULL});
    expect_explorer((char *[]){"while_wait", NULL}, (const char *[]){"broken: 0 of 28\n", NULL});
}
