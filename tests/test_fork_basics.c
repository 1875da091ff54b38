/* test_fork_basics.c - fork returns twice, getppid is the parent, a child's writes stay its own. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 30);
}

/* The n-th line (from 0) that contains needle, copied into buf; 0 if there is none. */
static int nth_line_containing(const char *text, const char *needle, int n, char *buf, size_t size)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (memmem(line, len, needle, strlen(needle)) != NULL && n-- == 0) {
            snprintf(buf, size, "%.*s", (int)len, line);
            return 1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* "... at global=0x... heap=0x... stack=0x..." : the addresses part of a variables line. */
static const char *addresses(const char *line)
{
    const char *at = strstr(line, " at global=");
    cr_assert_not_null(at, "no addresses in: %s", line);
    return at;
}

/* Check a whole run with `children` children; the heart of the demonstration. */
static void check_fork_basics(const struct program_run *r, int children)
{
    cr_assert(exited_with(r, 0), "status %#x\n%s%s", r->status, r->out, r->err);
    long parent = 0;
    const char *head = strstr(r->out, "fork_basics: parent pid ");
    cr_assert_not_null(head, "%s", r->out);
    cr_assert_eq(sscanf(head, "fork_basics: parent pid %ld forks", &parent), 1);

    char before[512], after[512], line[512];
    cr_assert(nth_line_containing(r->out, ": before fork: ", 0, before, sizeof before));
    int g, h, s;
    char fmt[128];
    snprintf(fmt, sizeof fmt, "parent %ld: before fork: global=%%d heap=%%d stack=%%d", parent);
    cr_assert_eq(sscanf(before, fmt, &g, &h, &s), 3, "%s", before);
    cr_assert(g == 1 && h == 2 && s == 3, "%s", before);

    cr_assert_eq(count_lines_containing(r->out, "fork() returned 0 -> I am child"), children);
    for (int i = 0; i < children; i++) {
        long pid, self, ppid;
        int number;
        cr_assert(
            nth_line_containing(r->out, "fork() returned 0 -> I am child", i, line, sizeof line),
            "%s", r->out);
        cr_assert_eq(sscanf(line,
                            "child %ld: fork() returned 0 -> I am child %d; getpid()=%ld "
                            "getppid()=%ld",
                            &pid, &number, &self, &ppid),
                     4, "%s", line);
        cr_assert_eq(self, pid, "%s", line);
        cr_assert_eq(ppid, parent, "a child's getppid() is the parent's pid: %s", line);

        /* That child's write: its own new values, at the parent's addresses. */
        char wrote[64];
        snprintf(wrote, sizeof wrote, "child %ld: wrote: ", pid);
        cr_assert(nth_line_containing(r->out, wrote, 0, line, sizeof line), "%s", r->out);
        long wrote_pid;
        snprintf(fmt, sizeof fmt, "child %%ld: wrote: global=%%d heap=%%d stack=%%d");
        cr_assert_eq(sscanf(line, fmt, &wrote_pid, &g, &h, &s), 4, "%s", line);
        cr_assert_eq(wrote_pid, pid, "%s", r->out);
        cr_assert(g == 100 * number + 1 && h == 100 * number + 2 && s == 100 * number + 3, "%s",
                  line);
        cr_assert_str_eq(addresses(line), addresses(before), "same virtual addresses");
    }

    /* The parent's view after every child wrote and was reaped: unchanged. */
    const char *tail = strstr(r->out, "after the children wrote:");
    cr_assert_not_null(tail, "%s", r->out);
    snprintf(after, sizeof after, "%.*s", (int)strcspn(tail, "\n"), tail);
    cr_assert_eq(sscanf(after, "after the children wrote: global=%d heap=%d stack=%d", &g, &h, &s),
                 3, "%s", after);
    cr_assert(g == 1 && h == 2 && s == 3, "the child's writes leaked into the parent: %s", after);
    cr_assert_str_eq(addresses(after), addresses(before));
    cr_assert_eq(count_lines_containing(r->out, ": exited with 0"), children, "%s", r->out);
    cr_assert_eq(count_lines_containing(r->out, "unchanged: each child wrote to its own copy"), 1);
}

Test(fork_basics, child_writes_are_invisible_to_the_parent)
{
    struct program_run r;
    run(&r, (char *[]){"fork_basics", NULL});
    check_fork_basics(&r, 2);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(fork_basics, every_child_of_many_sees_its_own_copy)
{
    struct program_run r;
    run(&r, (char *[]){"fork_basics", "--children", "5", NULL});
    check_fork_basics(&r, 5);
    program_run_free(&r);
}

Test(fork_basics, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("fork_basics", "--help");
}

Test(fork_basics, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"fork_basics", "--children", "0", NULL}, "--children");
    assert_usage_error((char *[]){"fork_basics", "--children", "two", NULL}, "--children");
    assert_usage_error((char *[]){"fork_basics", "--children", "65", NULL}, "--children");
    assert_usage_error((char *[]){"fork_basics", "--children", NULL}, "needs a value");
    assert_usage_error((char *[]){"fork_basics", "stray", NULL}, "unexpected argument");
}

Test(fork_basics, unknown_option_exits_2)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"fork_basics", "--frobnicate", NULL}, "unknown option");
    assert_usage_error((char *[]){"fork_basics", "-x", NULL}, "unknown option");
}
