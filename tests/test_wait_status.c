/* test_wait_status.c - every kind of child ending decoded: exit code, signal, core dump,
 * stopped and continued, WNOHANG polling, reaping in completion order. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"

static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 60);
    cr_assert(exited_with(r, 0), "status %#x\n%s%s", r->status, r->out, r->err);
    expect_text(r->out, "every child ended as its demo intended");
}

Test(wait_status, exit_code_is_decoded)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "exit", "--exit-code", "42", NULL});
    expect_text(r.out, "[exit] child ");
    expect_text(r.out, "status 0x2a00: exited with 42"); /* the code sits in the second byte */
    program_run_free(&r);
}

Test(wait_status, a_signal_death_is_decoded_with_its_name)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "signal", NULL});
    char expected[128];
    snprintf(expected, sizeof expected, "status 0x%04x: killed by signal %d (%s)\n", SIGTERM,
             SIGTERM, strsignal(SIGTERM));
    expect_text(r.out, expected); /* "\n" right after: no "core dumped" for SIGTERM */
    program_run_free(&r);
}

/* Could this machine let the program's child dump core into its own directory? */
static int machine_allows_core_here(void)
{
    if (under_valgrind()) /* under the valgrind gate: the program says why not */
        return 0;
    char pattern[256] = "";
    FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
    if (!f)
        return 0;
    if (!fgets(pattern, sizeof pattern, f))
        pattern[0] = '\0';
    fclose(f);
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == -1)
        return 0;
    return pattern[0] != '|' && strchr(pattern, '/') == NULL &&
           (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 1 << 20);
}

Test(wait_status, core_dump_is_decoded_and_no_core_file_is_left)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "core", NULL});
    char expected[128];
    snprintf(expected, sizeof expected, "killed by signal %d (%s)", SIGABRT, strsignal(SIGABRT));
    expect_text(r.out, expected);
    if (machine_allows_core_here()) {
        expect_text(r.out, ", core dumped");
        expect_text(r.out, "[core] the kernel dumped core: yes");
        cr_assert_geq(count_lines_containing(r.out, "[core] found "), 1, "%s", r.out);
    } else {
        /* The plain report of what happened, and of why not when no core was dumped. */
        expect_text(r.out, "[core] the kernel dumped core: ");
        if (strstr(r.out, ", core dumped") == NULL)
            expect_text(r.out, "[core] the kernel dumped core: no: ");
    }
    /* Whatever happened, the private directory and anything in it are gone. */
    const char *removed = strstr(r.out, "[core] removed /");
    cr_assert_not_null(removed, "%s", r.out);
    char dir[128];
    cr_assert_eq(sscanf(removed, "[core] removed %127[^:]:", dir), 1, "%s", removed);
    cr_assert_not_null(strstr(dir, "forklore-core-"), "%s", dir);
    cr_assert(access(dir, F_OK) == -1 && errno == ENOENT, "%s was left behind", dir);
    expect_text(r.out, "no core file left behind");
    program_run_free(&r);
}

Test(wait_status, stopped_and_continued_are_reported_then_the_child_is_reaped)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "stop", NULL});
    char expected[128];
    snprintf(expected, sizeof expected, "status 0x%04x: stopped by signal %d (%s)",
             (SIGSTOP << 8) | 0x7f, SIGSTOP, strsignal(SIGSTOP));
    expect_text(r.out, expected);
    expect_text(r.out, "status 0xffff: continued");
    const char *cont = strstr(r.out, ": continued"), *stop = strstr(r.out, ": stopped by");
    cr_assert(stop < cont, "stopped before continued:\n%s", r.out);
    cr_assert_not_null(strstr(cont, "status 0x0000: exited with 0"), "then reaped:\n%s", r.out);
    program_run_free(&r);
}

Test(wait_status, wnohang_returns_0_while_the_child_runs)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "poll", NULL});
    cr_assert_eq(count_lines_containing(r.out, "waitpid(WNOHANG) returned 0: still running"), 3,
                 "%s", r.out);
    expect_text(r.out, "[poll] waitpid -> child ");
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 1, "%s", r.out);
    program_run_free(&r);
}

Test(wait_status, children_are_reaped_in_the_order_they_finish)
{
    struct program_run r;
    /* Wide steps: the order must not depend on a busy machine (or valgrind). */
    run(&r,
        (char *[]){"wait_status", "--only", "order", "--children", "4", "--step-ms", "250", NULL});
    const char *line = r.out;
    for (int rank = 1; rank <= 4; rank++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "[order] reaped #%d: ", rank);
        line = strstr(line, prefix);
        cr_assert_not_null(line, "no %s in:\n%s", prefix, r.out);
        int child, slept, code;
        long pid;
        cr_assert_eq(sscanf(line + strlen(prefix),
                            "child %d (pid %ld, slept %d ms): exited with %d", &child, &pid, &slept,
                            &code),
                     4, "%s", line);
        /* Forked 1..4, child k sleeps (5 - k) steps: they finish 4, 3, 2, 1. */
        cr_assert_eq(child, 5 - rank, "reaped #%d was child %d:\n%s", rank, child, r.out);
        cr_assert_eq(slept, rank * 250);
        cr_assert_eq(code, child, "each child exits with its number");
        cr_assert_gt(pid, 0);
    }
    expect_text(r.out, "reaped in completion order (shortest sleep first, the reverse of fork "
                       "order): yes");
    program_run_free(&r);
}

Test(wait_status, default_run_decodes_everything_and_leaves_no_zombie)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", NULL});
    expect_text(r.out, "exited with 3");
    expect_text(r.out, "killed by signal");
    expect_text(r.out, "stopped by signal");
    expect_text(r.out, "continued");
    expect_text(r.out, "no core file left behind");
    cr_assert_eq(count_lines_containing(r.out, "NOT what this demo expected"), 0, "%s", r.out);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(wait_status, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("wait_status", "--help");
}

Test(wait_status, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"wait_status", "--only", "everything", NULL}, "--only");
    assert_usage_error((char *[]){"wait_status", "--children", "0", NULL}, "--children");
    assert_usage_error((char *[]){"wait_status", "--step-ms", "5", NULL}, "--step-ms");
    assert_usage_error((char *[]){"wait_status", "--exit-code", "256", NULL}, "--exit-code");
    assert_usage_error((char *[]){"wait_status", "--timeout", "soon", NULL}, "--timeout");
    assert_usage_error((char *[]){"wait_status", "--only", NULL}, "needs a value");
    assert_usage_error((char *[]){"wait_status", "core", NULL}, "unexpected argument");
}

Test(wait_status, unknown_option_exits_2)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"wait_status", "--no-such-option", NULL}, "unknown option");
}
