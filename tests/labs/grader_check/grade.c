/* grade.c - a lab that exercises the grader itself (tests/test_labs.c runs it with LAB_HOME).
 *
 * One test per way a test can end: passing, failing a check, running past its limit, crashing,
 * calling exit(), leaving a process behind, needing more CPUs than any machine has, being
 * stopped by its watchdog (and one whose watchdog was turned off in time); and one
 * whose output holds every character results.json must escape.  The expected score and lines
 * are asserted in tests/test_labs.c.
 */
#define _GNU_SOURCE
#include "grader.h"

#include "adder.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void passes(void)
{
    long a = grade_random(1, 1000000), b = grade_random(1, 1000000);
    grade_note("inputs %ld and %ld", a, b);
    grade_expect_long("add(a, b)", a + b, add(a, b));
}

static void fails_a_check(void)
{
    grade_expect_long("add(2, 2)", 5, add(2, 2));
}

static void runs_past_its_limit(void)
{
    for (;;)
        pause();
}

static void crashes(void)
{
    raise(SIGSEGV);
}

static void calls_exit(void)
{
    exit(3);
}

/* A process that escapes the test's process group and outlives the test: the grader must kill
 * it.  It names itself "gcleft-SEED" (its pid means nothing outside the sandbox's PID
 * namespace), and tests/test_grader.c looks for that name afterwards. */
static void leaves_a_process(void)
{
    char name[16];
    snprintf(name, sizeof name, "gcleft-%lu", grade_seed() % 1000000);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        grade_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        setsid();
        prctl(PR_SET_NAME, name);
        for (;;)
            pause();
    }
}

static void fails_with_several_lines(void)
{
    grade_expect_string("two lines", "line one\nline two", "line one\nline 2");
}

/* Feeds a program more than a pipe holds while it echoes it back: the grader must read and
 * write at the same time. */
static void runs_a_program(void)
{
    size_t size = 4 << 20;
    char *input = malloc(size + 1);
    if (!input)
        grade_fail("out of memory");
    for (size_t i = 0; i < size; i++)
        input[i] = (char)('a' + i % 26);
    input[size] = '\0';
    struct grade_run run;
    grade_run((char *[]){"echo_input", NULL}, input, 10, &run);
    grade_expect_exit("echo_input", &run, 0);
    grade_expect_long("bytes echo_input wrote", (long)size, (long)run.out_len);
    grade_expect_true(memcmp(run.out, input, size) == 0, "what echo_input wrote", "other bytes");
    grade_run_free(&run);
    free(input);
}

/* A program that exits while a child of its own still holds its stdout: the run ends a second
 * after the exit, and says that, not "did not finish". */
static void tells_output_held_from_not_finished(void)
{
    struct grade_run run;
    grade_run((char *[]){"/bin/sh", "-c", "sleep 5 & exit 0", NULL}, NULL, 10, &run);
    grade_expect_true(run.output_held && !run.timed_out && run.seconds < 5,
                      "a program whose child keeps its stdout open: ended, output held",
                      "%s, after %.1f s", grade_describe_status(&run), run.seconds);
    grade_expect_true(strstr(grade_describe_status(&run), "output stayed open") != NULL,
                      "the description says so", "%s", grade_describe_status(&run));
    grade_run_free(&run);
}

static void prints_awkward_characters(void)
{
    printf("quote \" backslash \\ tab \t bell \a unicode \xc3\xa9\n");
    fflush(stdout);
    grade_fail("a line with \"quotes\", a \\ and a tab\t");
}

static void needs_many_cpus(void) {}

/* A call that never returns, stopped by the watchdog wherever it happens to be: this one is
 * busy in malloc and stdio, where a handler that called them itself could deadlock. */
static void stopped_by_watchdog(void)
{
    grade_watchdog(1, "the call did not return\nwithin its time");
    for (unsigned long i = 0;; i++) {
        char *text = malloc(64 + i % 512);
        if (!text)
            grade_fail("out of memory");
        snprintf(text, 64, "round %lu", i);
        free(text);
    }
}

/* A watchdog turned off in time must not fire later. */
static void watchdog_turned_off(void)
{
    grade_watchdog(1, "fired after grade_watchdog_off()");
    grade_watchdog_off();
    grade_pause_ms(1500);
}

static const struct grade_test tests[] = {
    {"passes", "a test that passes", 10, 10, 0, passes},
    {"fails_a_check", "a check that fails", 10, 10, 0, fails_a_check},
    {"fails_with_several_lines", "a check of text that fails", 10, 10, 0, fails_with_several_lines},
    {"runs_past_its_limit", "a test that never ends", 10, 1, 0, runs_past_its_limit},
    {"crashes", "a test that crashes", 10, 10, 0, crashes},
    {"calls_exit", "a test that calls exit", 10, 10, 0, calls_exit},
    {"leaves_a_process", "a test that leaves a process running", 10, 10, 0, leaves_a_process},
    {"runs_a_program", "a test that runs a program", 10, 10, 0, runs_a_program},
    {"prints_awkward_characters", "output JSON must escape", 10, 10, 0, prints_awkward_characters},
    {"tells_output_held_from_not_finished", "a program that exits with its output still open", 10,
     10, 0, tells_output_held_from_not_finished},
    {"needs_many_cpus", "a test for a machine with 100000 CPUs", 20, 10, 100000, needs_many_cpus},
    {"stopped_by_watchdog", "a call stopped by the watchdog", 10, 10, 0, stopped_by_watchdog},
    {"watchdog_turned_off", "a watchdog turned off in time", 10, 10, 0, watchdog_turned_off},
};

const struct grade_lab grade_lab = {
    "grader_check", "the grader's own check",       "none: the programs here print one line",
    tests,          sizeof tests / sizeof tests[0],
};
