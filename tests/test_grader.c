/* test_grader.c - the lab grader itself (lessons/labs/grader/), on a lab made to exercise it.
 *
 * tests/labs/grader_check/ has one test per way a test can end (passing, failing a check,
 * running past its limit, crashing, calling exit, leaving a process running, needing more CPUs
 * than the machine has, being stopped by its watchdog, printing characters JSON must escape): the
 * score, each explanation, the results.json and what is left running afterwards are checked here.
 * So are seeds (the same seed gives the same inputs), the test filter, a submission that does not
 * compile, an unknown lab, and the strictness of the JSON reader the checks rely on.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grading.h"

#define CHECK_HOME INSTRUCTOR "/grader_check"

static const char *test_output(const struct grading *g, const char *name)
{
    const struct json *t = test_result(g, name);
    cr_assert(t, "results.json has no test %s; the grader said:\n%s", name, g->run.out);
    return json_get(t, "output")->string;
}

Test(grader, scores_each_way_a_test_can_end_and_explains_it)
{
    SKIP_UNLESS_GRADING_HERE();
    struct grading g;
    grade(&g, "grader_check", CHECK_HOME, NULL, NULL, 120);
    expect_valid_results(&g, "grader_check");

    cr_expect(exited_with(&g.run, 1), "below full marks the grader exits 1");
    cr_expect_eq(g.score, 50,
                 "passes, leaves_a_process, runs_a_program, tells_output_held_from_not_finished "
                 "and watchdog_turned_off pass: 50 points");
    cr_expect_eq(g.max, 120, "needs_many_cpus (20 points) is left out of the total");
    cr_expect(test_passed(test_result(&g, "passes")));
    expect_text(test_output(&g, "fails_a_check"), "add(2, 2)\n  expected: 5\n  got:      4\n");
    expect_text(test_output(&g, "fails_with_several_lines"),
                "two lines\n  expected: line one\n            line two\n"
                "  got:      line one\n            line 2\n");
    expect_text(test_output(&g, "runs_past_its_limit"), "did not finish within its 1 s limit");
    expect_text(test_output(&g, "crashes"), "crashed: killed by signal 11");
    expect_text(test_output(&g, "calls_exit"), "exited with status 3");
    /* The watchdog's message, both lines, in place of a bare "did not finish". */
    expect_text(test_output(&g, "stopped_by_watchdog"),
                "the call did not return\nwithin its time\n");
    cr_expect(!strstr(test_output(&g, "stopped_by_watchdog"), "did not finish"), "%s",
              test_output(&g, "stopped_by_watchdog"));
    cr_expect(test_passed(test_result(&g, "watchdog_turned_off")), "%s",
              test_output(&g, "watchdog_turned_off"));
    cr_expect(test_passed(test_result(&g, "runs_a_program")), "%s",
              test_output(&g, "runs_a_program"));
    /* Every awkward character came through the JSON file intact; a control character is shown
     * as \ooo, so that none can move the cursor over the grader's lines. */
    expect_text(test_output(&g, "prints_awkward_characters"),
                "| quote \" backslash \\ tab \t bell \\007 unicode \xc3\xa9\n");
    expect_text(test_output(&g, "needs_many_cpus"), "not graded on this machine");
    expect_text(g.run.out, "[SKIP]");
    expect_text(g.run.out, "score: lab grader_check: 50/120 (20 points not graded");

    /* The process that escaped the test's group was killed and reaped, not left running. */
    char name[16];
    snprintf(name, sizeof name, "gcleft-%lu", g.seed % 1000000);
    cr_expect_eq(count_processes_named(name), 0,
                 "the process leaves_a_process started (named %s) is still there", name);
    grading_free(&g);
}

Test(grader, a_seed_replays_the_same_inputs_and_a_filter_picks_tests)
{
    SKIP_UNLESS_GRADING_HERE();
    const char *seed_a[] = {"SEED=4242", "TEST=passes", NULL};
    const char *seed_b[] = {"SEED=4243", "TEST=passes", NULL};
    struct grading a1, a2, b;
    grade(&a1, "grader_check", CHECK_HOME, NULL, seed_a, 60);
    grade(&a2, "grader_check", CHECK_HOME, NULL, seed_a, 60);
    grade(&b, "grader_check", CHECK_HOME, NULL, seed_b, 60);
    /* env(1) takes the last assignment of a name: these seeds win over grade()'s own. */
    const char *first = test_output(&a1, "passes"), *again = test_output(&a2, "passes");
    cr_expect_str_eq(first, again, "the same seed gave different inputs");
    cr_expect_str_neq(first, test_output(&b, "passes"), "another seed gave the same inputs");
    const struct json *tests = json_get(a1.results, "tests");
    cr_expect_eq(tests->count, 1, "TEST=passes graded %zu tests", tests->count);
    cr_expect(exited_with(&a1.run, 0), "full marks over the chosen tests exits 0:\n%s", a1.run.out);
    grading_free(&a1);
    grading_free(&a2);
    grading_free(&b);
}

Test(grader, a_submission_that_does_not_build_scores_zero_and_says_why)
{
    SKIP_UNLESS_GRADING_HERE();
    struct grading g;
    grade(&g, "grader_check", CHECK_HOME, CHECK_HOME "/does_not_build", NULL, 60);
    expect_valid_results(&g, "a failed build");
    cr_expect(!exited_with(&g.run, 0), "a failed build must not exit 0");
    expect_text(g.run.out, "did not build");
    /* The compiler's own words, at the line of `return a + b` (its semicolon is missing). */
    expect_text(g.run.out, "does_not_build/adder.c:6:");
    cr_expect_eq((int)json_get(g.results, "score")->number, 0);
    expect_text(json_get(g.results, "output")->string, "does_not_build/adder.c:6:");
    grading_free(&g);
}

Test(grader, an_unknown_lab_is_a_usage_error_that_lists_the_labs)
{
    SKIP_UNLESS_GRADING_HERE();
    struct program_run run;
    char *argv[] = {"/usr/bin/env", "LAB=no_such_lab", "bash", GRADE_SH, NULL};
    run_expect(&run, argv, 30, 2);
    expect_text(run.err, "no lab named 'no_such_lab'");
    expect_text(run.err, "one of: ");
    expect_text(run.err, "Usage: make grade LAB=NAME");
    program_run_free(&run);
}

/* ---- the results file reader is strict (it must be able to fail) ----------------------------- */

Test(grader, the_json_reader_refuses_what_is_not_json)
{
    const char *bad[] = {"{\"a\": 1,}", "{\"a\": \"line\nbreak\"}",
                         "[1, 2",       "{\"a\" 1}",
                         "\"\\x41\"",   "01",
                         "{} {}",       "{\"a\": tru}",
                         "[1.]",        ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[160];
        struct json *v = json_parse(bad[i], error, sizeof error);
        cr_expect(!v, "accepted %s", bad[i]);
        json_free(v);
    }
    char error[160];
    struct json *v = json_parse(" {\"s\": \"a\\\"b\\u00e9\\n\", \"n\": -1.5e2, \"l\": [true, "
                                "false, null, {}]} ",
                                error, sizeof error);
    cr_assert(v, "refused valid JSON: %s", error);
    cr_expect_str_eq(json_get(v, "s")->string, "a\"b\xc3\xa9\n");
    cr_expect_eq(json_get(v, "n")->number, -150.0);
    cr_expect_eq(json_get(v, "l")->count, 4);
    json_free(v);
}

Test(grader, the_format_check_refuses_a_results_file_gradescope_would_not_read)
{
    const char *bad[] = {
        "{\"tests\": []}",
        "{\"score\": 10, \"tests\": [{\"name\": \"a\", \"score\": 10, \"max_score\": 5, "
        "\"status\": \"passed\", \"output\": \"\"}]}",
        "{\"score\": 10, \"tests\": [{\"name\": \"a\", \"score\": 5, \"max_score\": 5, "
        "\"status\": \"passed\", \"output\": \"\"}]}",
        "{\"score\": 5, \"tests\": [{\"name\": \"a\", \"score\": 5, \"max_score\": 5, "
        "\"status\": \"ok\", \"output\": \"\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[160];
        struct json *v = json_parse(bad[i], error, sizeof error);
        cr_assert(v, "%s", error);
        cr_expect(gradescope_problem(v), "accepted %s", bad[i]);
        json_free(v);
    }
}
