/* test_zombie_orphan.c - a zombie shows as Z then is gone; an orphan is re-parented to the
 * subreaper and reaped; PR_SET_PDEATHSIG kills a child with its parent; nothing is left. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "harness.h"

static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 30);
    cr_assert(exited_with(r, 0), "status %#x\n%s%s", r->status, r->out, r->err);
    cr_assert_not_null(strstr(r->out, "[end] waitpid(-1, WNOHANG) failed with ECHILD"),
                       "the program itself found a child left:\n%s", r->out);
}

/* The pid zombie_orphan printed for itself in its first line. */
static long top_pid(const struct program_run *r)
{
    long pid = 0;
    cr_assert_eq(sscanf(r->out, "zombie_orphan: parent %ld", &pid), 1, "%s", r->out);
    return pid;
}

/* Scan the text after needle with fmt (sscanf); fail the test if needle is missing. */
#define SCAN_AFTER(text, needle, expected, fmt, ...)                                               \
    do {                                                                                           \
        const char *at_ = strstr((text), (needle));                                                \
        cr_assert_not_null(at_, "no \"%s\" in:\n%s", (needle), (text));                            \
        cr_assert_eq(sscanf(at_ + strlen(needle), fmt, __VA_ARGS__), (expected), "%s", at_);       \
    } while (0)

/* A process that was reaped no longer exists anywhere on the machine. */
static void assert_gone(long pid)
{
    cr_assert(kill((pid_t)pid, 0) == -1 && errno == ESRCH, "process %ld is still there", pid);
}

Test(zombie_orphan, a_zombie_shows_as_Z_then_is_gone_after_reaping)
{
    struct program_run r;
    run(&r, (char *[]){"zombie_orphan", "--only", "zombie", NULL});
    long before_pid, after_pid, reaped_pid;
    char state = '?';
    SCAN_AFTER(r.out, "[zombie] before reaping: /proc/", 2, "%ld/stat state %c", &before_pid,
               &state);
    cr_assert_eq(state, 'Z', "the exited, unreaped child is a zombie:\n%s", r.out);
    SCAN_AFTER(r.out, "reaped child ", 1, "%ld: exited with 0", &reaped_pid);
    SCAN_AFTER(r.out, "[zombie] after reaping: /proc/", 1, "%ld/stat is gone", &after_pid);
    cr_assert(before_pid == reaped_pid && reaped_pid == after_pid, "%s", r.out);
    cr_assert_not_null(strstr(r.out, "/stat is gone"), "%s", r.out);
    program_run_free(&r);
    assert_gone(after_pid);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(zombie_orphan, zombie_can_be_kept_for_a_look_with_ps)
{
    struct program_run r;
    run(&r, (char *[]){"zombie_orphan", "--only", "zombie", "--zombie-ms", "50", NULL});
    cr_assert_not_null(strstr(r.out, "keeping it 50 ms"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "stat state Z"), "%s", r.out);
    program_run_free(&r);
}

Test(zombie_orphan, an_orphan_is_reparented_to_the_subreaper_and_reaped)
{
    struct program_run r;
    run(&r, (char *[]){"zombie_orphan", "--only", "orphan", NULL});
    long top = top_pid(&r), grandchild, middle, first_parent, old_parent, new_parent, reaped;
    SCAN_AFTER(r.out, "[orphan] grandchild ", 2, "%ld: getppid() = %ld (the middle child)",
               &grandchild, &first_parent);
    SCAN_AFTER(r.out, "reaped middle child ", 1, "%ld: exited with 0", &middle);
    cr_assert_eq(first_parent, middle, "the grandchild's first parent is the middle child");

    char needle[64];
    snprintf(needle, sizeof needle, "[orphan] grandchild %ld: my parent ", grandchild);
    SCAN_AFTER(r.out, needle, 2, "%ld exited; getppid() is now %ld", &old_parent, &new_parent);
    cr_assert_eq(old_parent, middle);
    cr_assert_eq(new_parent, top, "re-parented to zombie_orphan, the subreaper:\n%s", r.out);
    cr_assert_neq(new_parent, first_parent, "the ppid changed");

    SCAN_AFTER(r.out, "reaped re-parented grandchild ", 1, "%ld: exited with 0", &reaped);
    cr_assert_eq(reaped, grandchild);
    cr_assert_not_null(strstr(r.out, "reaped here: yes"), "%s", r.out);
    program_run_free(&r);
    assert_gone(grandchild); /* no orphan left on the machine */
    assert_gone(middle);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(zombie_orphan, pdeathsig_kills_the_grandchild_with_its_parent)
{
    struct program_run r;
    run(&r, (char *[]){"zombie_orphan", "--only", "pdeathsig", NULL});
    long grandchild, parent, reaped;
    SCAN_AFTER(r.out, "[pdeathsig] grandchild ", 2,
               "%ld: prctl(PR_SET_PDEATHSIG, SIGKILL) done; parent is %ld", &grandchild, &parent);
    char needle[256], how[128];
    snprintf(needle, sizeof needle, "reaped middle child %ld: ", parent);
    cr_assert_not_null(strstr(r.out, needle), "the middle child exited normally:\n%s", r.out);
    snprintf(how, sizeof how, ": killed by signal %d (%s)", SIGKILL, strsignal(SIGKILL));
    SCAN_AFTER(r.out, "reaped grandchild ", 1, "%ld", &reaped);
    cr_assert_eq(reaped, grandchild);
    snprintf(needle, sizeof needle, "reaped grandchild %ld%s", grandchild, how);
    cr_assert_not_null(strstr(r.out, needle), "expected \"%s\" in:\n%s", needle, r.out);
    program_run_free(&r);
    assert_gone(grandchild);
}

Test(zombie_orphan, default_run_leaves_nothing_behind)
{
    struct program_run r;
    run(&r, (char *[]){"zombie_orphan", NULL});
    cr_assert_eq(count_lines_containing(r.out, ": yes"), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "NOT a zombie"), 0, "%s", r.out);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(zombie_orphan, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("zombie_orphan", "--help");
}

Test(zombie_orphan, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"zombie_orphan", "--only", "ghost", NULL}, "--only");
    assert_usage_error((char *[]){"zombie_orphan", "--zombie-ms", "-1", NULL}, "--zombie-ms");
    assert_usage_error((char *[]){"zombie_orphan", "--timeout", "0", NULL}, "--timeout");
    assert_usage_error((char *[]){"zombie_orphan", "--timeout", NULL}, "needs a value");
    assert_usage_error((char *[]){"zombie_orphan", "orphan", NULL}, "unexpected argument");
}

Test(zombie_orphan, unknown_option_exits_2)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"zombie_orphan", "--leave-orphans", NULL}, "unknown option");
}
