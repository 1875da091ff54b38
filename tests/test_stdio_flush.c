/* test_stdio_flush.c - without fflush before fork a buffered line is repeated by every child;
 * with it, the line appears once. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "harness.h"

/* The marked line of each mode; narration never contains these exact words. */
#define BROKEN_LINE "before fork() [broken]"
#define FIXED_LINE "before fork() [fixed]"

static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 30);
    cr_assert(exited_with(r, 0), "status %#x\n%s%s", r->status, r->out, r->err);
}

Test(stdio_flush, broken_mode_repeats_the_line_once_per_child)
{
    struct program_run r;
    run(&r, (char *[]){"stdio_flush", "--mode", "broken", NULL});
    cr_assert_eq(count_lines_containing(r.out, BROKEN_LINE), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, FIXED_LINE), 0, "%s", r.out);
    /* The child's own line is not duplicated: only what was buffered before fork is. */
    cr_assert_eq(count_lines_containing(r.out, "my own line"), 1, "%s", r.out);
    program_run_free(&r);

    run(&r, (char *[]){"stdio_flush", "--mode", "broken", "--children", "3", NULL});
    cr_assert_eq(count_lines_containing(r.out, BROKEN_LINE), 4, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "my own line"), 3, "%s", r.out);
    program_run_free(&r);
}

Test(stdio_flush, fixed_mode_prints_each_line_once)
{
    struct program_run r;
    run(&r, (char *[]){"stdio_flush", "--mode", "fixed", NULL});
    cr_assert_eq(count_lines_containing(r.out, FIXED_LINE), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, BROKEN_LINE), 0, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "my own line"), 1, "%s", r.out);
    program_run_free(&r);

    run(&r, (char *[]){"stdio_flush", "--mode", "fixed", "--children", "3", NULL});
    cr_assert_eq(count_lines_containing(r.out, FIXED_LINE), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "my own line"), 3, "%s", r.out);
    program_run_free(&r);
}

Test(stdio_flush, default_run_shows_the_bug_then_the_fix)
{
    struct program_run r;
    run(&r, (char *[]){"stdio_flush", NULL});
    cr_assert_eq(count_lines_containing(r.out, BROKEN_LINE), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, FIXED_LINE), 1, "%s", r.out);
    const char *broken = strstr(r.out, BROKEN_LINE), *fixed = strstr(r.out, FIXED_LINE);
    cr_assert(broken && fixed && broken < fixed, "the bug comes first:\n%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 2, "%s", r.out);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

/* Through a pipe (how the tests run it) stdio buffers fully on its own: no setvbuf needed. */
Test(stdio_flush, a_pipe_is_fully_buffered_without_setvbuf)
{
    struct program_run r;
    run(&r, (char *[]){"stdio_flush", "--buffering", "default", NULL});
    cr_assert_not_null(strstr(r.out, "fully buffered (stdio's choice: not a terminal)"), "%s",
                       r.out);
    cr_assert_eq(count_lines_containing(r.out, BROKEN_LINE), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, FIXED_LINE), 1, "%s", r.out);
    program_run_free(&r);
}

Test(stdio_flush, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("stdio_flush", "--help");
}

Test(stdio_flush, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"stdio_flush", "--mode", "sometimes", NULL}, "--mode");
    assert_usage_error((char *[]){"stdio_flush", "--buffering", "none", NULL}, "--buffering");
    assert_usage_error((char *[]){"stdio_flush", "--children", "0", NULL}, "--children");
    assert_usage_error((char *[]){"stdio_flush", "--children", "17", NULL}, "--children");
    assert_usage_error((char *[]){"stdio_flush", "--mode", NULL}, "needs a value");
    assert_usage_error((char *[]){"stdio_flush", "extra", NULL}, "unexpected argument");
}

Test(stdio_flush, unknown_option_exits_2)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"stdio_flush", "--flush-never", NULL}, "unknown option");
}
