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
    cr_assert_eq(run_program(argv, 60, r), 0, "could not start %s", argv[0]);
    cr_assert_not(r->timed_out, "%s timed out; stdout:\n%s", argv[0], r->out);
    cr_assert(exited_with(r, 0), "status %#x\n%s%s", r->status, r->out, r->err);
    cr_assert_not_null(strstr(r->out, "every child ended as its demo intended"), "%s", r->out);
}

static void expect_text(const struct program_run *r, const char *text)
{
    cr_assert_not_null(strstr(r->out, text), "expected \"%s\" in:\n%s", text, r->out);
}

Test(wait_status, exit_code_is_decoded)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "exit", "--exit-code", "42", NULL});
    expect_text(&r, "[exit] child ");
    expect_text(&r, "status 0x2a00: exited with 42"); /* the code sits in the second byte */
    program_run_free(&r);
}

Test(wait_status, a_signal_death_is_decoded_with_its_name)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "signal", NULL});
    char expected[128];
    snprintf(expected, sizeof expected, "status 0x%04x: killed by signal %d (%s)\n", SIGTERM,
             SIGTERM, strsignal(SIGTERM));
    expect_text(&r, expected); /* "\n" right after: no "core dumped" for SIGTERM */
    program_run_free(&r);
}

/* Could this machine let the program's child dump core into its own directory? */
static int machine_allows_core_here(void)
{
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) /* under the valgrind gate: it says why not */
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
    expect_text(&r, expected);
    if (machine_allows_core_here()) {
        expect_text(&r, ", core dumped");
        expect_text(&r, "[core] the kernel dumped core: yes");
        cr_assert_geq(count_lines_containing(r.out, "[core] found "), 1, "%s", r.out);
    } else {
        /* The plain report of what happened, and of why not when no core was dumped. */
        expect_text(&r, "[core] the kernel dumped core: ");
        if (strstr(r.out, ", core dumped") == NULL)
            expect_text(&r, "[core] the kernel dumped core: no: ");
    }
    /* Whatever happened, the private directory and anything in it are gone. */
    const char *removed = strstr(r.out, "[core] removed /");
    cr_assert_not_null(removed, "%s", r.out);
    char dir[128];
    cr_assert_eq(sscanf(removed, "[core] removed %127[^:]:", dir), 1, "%s", removed);
    cr_assert_not_null(strstr(dir, "forklore-core-"), "%s", dir);
    cr_assert(access(dir, F_OK) == -1 && errno == ENOENT, "%s was left behind", dir);
    expect_text(&r, "no core file left behind");
    program_run_free(&r);
}

Test(wait_status, stopped_and_continued_are_reported_then_the_child_is_reaped)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", "--only", "stop", NULL});
    char expected[128];
    snprintf(expected, sizeof expected, "status 0x%04x: stopped by signal %d (%s)",
             (SIGSTOP << 8) | 0x7f, SIGSTOP, strsignal(SIGSTOP));
    expect_text(&r, expected);
    expect_text(&r, "status 0xffff: continued");
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
    expect_text(&r, "[poll] waitpid -> child ");
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 1, "%s", r.out);
    program_run_free(&r);
}

Test(wait_status, children_are_reaped_in_the_order_they_finish)
{
    struct program_run r;
    /* Wide steps: the order must not depend on a busy machine (or valgrind). */
    run(&r, (char *[]){"wait_status", "--only", "order", "--children", "4", "--step-ms", "250",
                       NULL});
    const char *line = r.out;
    for (int rank = 1; rank <= 4; rank++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "[order] reaped #%d: ", rank);
        line = strstr(line, prefix);
        cr_assert_not_null(line, "no %s in:\n%s", prefix, r.out);
        int child, slept, code;
        long pid;
        cr_assert_eq(sscanf(line + strlen(prefix), "child %d (pid %ld, slept %d ms): exited with %d",
                            &child, &pid, &slept, &code), 4, "%s", line);
        /* Forked 1..4, child k sleeps (5 - k) steps: they finish 4, 3, 2, 1. */
        cr_assert_eq(child, 5 - rank, "reaped #%d was child %d:\n%s", rank, child, r.out);
        cr_assert_eq(slept, rank * 250);
        cr_assert_eq(code, child, "each child exits with its number");
        cr_assert_gt(pid, 0);
    }
    expect_text(&r, "reaped in completion order (shortest sleep first, the reverse of fork "
                    "order): yes");
    program_run_free(&r);
}

Test(wait_status, default_run_decodes_everything_and_leaves_no_zombie)
{
    struct program_run r;
    run(&r, (char *[]){"wait_status", NULL});
    expect_text(&r, "exited with 3");
    expect_text(&r, "killed by signal");
    expect_text(&r, "stopped by signal");
    expect_text(&r, "continued");
    expect_text(&r, "no core file left behind");
    cr_assert_eq(count_lines_containing(r.out, "NOT what this demo expected"), 0, "%s", r.out);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(wait_status, help_prints_usage_and_exits_0)
{
    struct program_run r;
    cr_assert_eq(run_program((char *[]){"wait_status", "--help", NULL}, 30, &r), 0);
    cr_assert(exited_with(&r, 0));
    cr_assert_not_null(strstr(r.out, "Usage:"), "%s", r.out);
    program_run_free(&r);
}

static void check_usage_error(char *const argv[], const char *reason)
{
    struct program_run r;
    cr_assert_eq(run_program(argv, 30, &r), 0);
    cr_assert(exited_with(&r, 2), "%s: status %#x", argv[1], r.status);
    cr_assert_not_null(strstr(r.err, "Usage:"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, reason), "expected \"%s\" in:\n%s", reason, r.err);
    cr_assert_eq(r.out_len, 0, "nothing on stdout: %s", r.out);
    program_run_free(&r);
}

Test(wait_status, bad_arguments_exit_2_with_usage)
{
    check_usage_error((char *[]){"wait_status", "--only", "everything", NULL}, "--only");
    check_usage_error((char *[]){"wait_status", "--children", "0", NULL}, "--children");
    check_usage_error((char *[]){"wait_status", "--step-ms", "5", NULL}, "--step-ms");
    check_usage_error((char *[]){"wait_status", "--exit-code", "256", NULL}, "--exit-code");
    check_usage_error((char *[]){"wait_status", "--timeout", "soon", NULL}, "--timeout");
    check_usage_error((char *[]){"wait_status", "--only", NULL}, "needs a value");
    check_usage_error((char *[]){"wait_status", "core", NULL}, "unexpected argument");
}

Test(wait_status, unknown_option_exits_2)
{
    check_usage_error((char *[]){"wait_status", "--no-such-option", NULL}, "unknown option");
}
