/* test_exec_spawn.c - exec_spawn reports statuses as a shell does, and redirects in the child. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "harness.h"
#include "support/private_dir.h"

/* Lines of text equal to line (not merely containing it). */
static int count_exact_lines(const char *text, const char *line)
{
    int count = 0;
    size_t len = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, line, len) == 0)
            count++;
        p = end ? end + 1 : NULL;
    }
    return count;
}

/* Run exec_spawn with the given arguments (NULL-terminated after argv[0]). */
static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 30);
}

Test(exec_spawn, default_run_echoes_once_per_method)
{
    struct program_run r;
    run(&r, (char *[]){"exec_spawn", NULL});
    cr_assert(exited_with(&r, 0), "status %#x, stderr:\n%s", r.status, r.err);
    cr_assert_eq(count_exact_lines(r.out, "hello from a child process"), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "fork-exec: child"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "posix_spawn: child"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with status 0"), 2, "%s", r.out);
    program_run_free(&r);
}

/* The command's exit code is passed on unchanged, by either method. */
Test(exec_spawn, exit_code_3_is_reported_as_3)
{
    const char *methods[] = {"--method=fork-exec", "--method=posix_spawn", "--method=both"};
    for (size_t i = 0; i < 3; i++) {
        struct program_run r;
        run(&r, (char *[]){"exec_spawn", (char *)methods[i], "--", "sh", "-c", "exit 3", NULL});
        cr_assert(exited_with(&r, 3), "%s: status %#x\n%s", methods[i], r.status, r.out);
        cr_assert_geq(count_lines_containing(r.out, "exited with status 3"), 1, "%s", r.out);
        program_run_free(&r);
    }
}

/* A command killed by signal S gives 128 + S, and the report names the signal. */
Test(exec_spawn, killed_command_is_reported_as_128_plus_signal)
{
    const char *methods[] = {"--method=fork-exec", "--method=posix_spawn"};
    for (size_t i = 0; i < 2; i++) {
        struct program_run r;
        run(&r,
            (char *[]){"exec_spawn", (char *)methods[i], "--", "sh", "-c", "kill -TERM $$", NULL});
        cr_assert(exited_with(&r, 128 + SIGTERM), "%s: status %#x\n%s", methods[i], r.status,
                  r.out);
        char expected[64];
        snprintf(expected, sizeof expected, "killed by signal %d", SIGTERM);
        cr_assert_eq(count_lines_containing(r.out, expected), 1, "%s", r.out);
        program_run_free(&r);
    }
}

/* fork-exec: the child is already running when exec fails, so it exits 127 like a shell. */
Test(exec_spawn, missing_command_fork_exec_child_exits_127)
{
    struct program_run r;
    run(&r, (char *[]){"exec_spawn", "--method=fork-exec", "--", "forklore-no-such-command", NULL});
    cr_assert(exited_with(&r, 127), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with status 127"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.err, "command not found"), 1, "%s", r.err);
    program_run_free(&r);
}

/* posix_spawn: the error number comes back to the parent, and no child status is reported.
 * Except under valgrind (the valgrind gate runs this suite with --trace-children=yes, and
 * under_valgrind() says so): glibc's posix_spawn cannot hand an exec error back there, since
 * valgrind turns its clone(CLONE_VM|CLONE_VFORK) into a plain fork, so the error word the child
 * writes lands in its own copy of memory and the failed child shows up as an ordinary exit
 * with status 127. */
Test(exec_spawn, missing_command_posix_spawn_returns_the_error)
{
    struct program_run r;
    run(&r,
        (char *[]){"exec_spawn", "--method=posix_spawn", "--", "forklore-no-such-command", NULL});
    cr_assert(exited_with(&r, 127), "status %#x\n%s", r.status, r.out);
    if (under_valgrind()) {
        cr_assert_eq(count_lines_containing(r.out, "exited with status 127"), 1, "%s", r.out);
    } else {
        cr_assert_eq(count_lines_containing(r.out, "the error came back to the parent"), 1, "%s",
                     r.out);
        cr_assert_eq(count_lines_containing(r.out, "exited with status"), 0, "%s", r.out);
        cr_assert_eq(count_lines_containing(r.err, "No such file or directory"), 1, "%s", r.err);
    }
    program_run_free(&r);
}

/* Found but not executable: 126 either way. */
Test(exec_spawn, file_that_is_not_executable_gives_126)
{
    struct program_run r;
    run(&r, (char *[]){"exec_spawn", "--", "/etc/passwd", NULL});
    cr_assert(exited_with(&r, 126), "status %#x\n%s", r.status, r.out);
    program_run_free(&r);
}

/* Make an empty temporary file and return its name in buf. */
static void make_temp_file(char *buf, size_t size)
{
    snprintf(buf, size, "%s/forklore-exec-spawn-test-XXXXXX", temp_root());
    int fd = mkstemp(buf);
    cr_assert_neq(fd, -1, "mkstemp");
    close(fd);
}

/* The child's stdout goes to the file; the parent's stays where it was. */
Test(exec_spawn, redirection_in_the_child_leaves_the_parent_alone)
{
    const char *methods[] = {"--method=fork-exec", "--method=posix_spawn", "--method=both"};
    const int lines_in_file[] = {1, 1, 2}; /* both methods append to the same file */
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        make_temp_file(path, sizeof path);
        struct program_run r;
        run(&r, (char *[]){"exec_spawn", (char *)methods[i], "--output", path, "--", "echo",
                           "forklore-redirected-marker", NULL});
        char *file = read_file(path, NULL);
        unlink(path);
        cr_assert_not_null(file, "cannot read %s", path);
        cr_assert(exited_with(&r, 0), "%s: status %#x\n%s", methods[i], r.status, r.err);
        cr_assert_eq(count_exact_lines(file, "forklore-redirected-marker"), lines_in_file[i],
                     "%s: file holds:\n%s", methods[i], file);
        cr_assert_eq(count_exact_lines(r.out, "forklore-redirected-marker"), 0,
                     "%s: the marker reached exec_spawn's own stdout:\n%s", methods[i], r.out);
        free(file);
        program_run_free(&r);
    }
}

/* --new-group: the child leads a process group named after its own pid. */
Test(exec_spawn, new_group_child_leads_its_own_group)
{
    struct program_run r;
    run(&r, (char *[]){"exec_spawn", "--new-group", "--", "true", NULL});
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.err);
    int groups = 0;
    for (const char *p = r.out; (p = strstr(p, "child ")) != NULL; p++) {
        long child, group;
        if (sscanf(p, "child %ld is in process group %ld", &child, &group) == 2) {
            cr_assert_eq(child, group, "%s", r.out);
            cr_assert_neq(group, (long)getpgrp(), "%s", r.out);
            groups++;
        }
    }
    cr_assert_eq(groups, 2, "one group line per method:\n%s", r.out);
    program_run_free(&r);
}

Test(exec_spawn, leaves_no_zombie_or_orphan)
{
    /* A subreaper inherits the orphans of its descendants: anything exec_spawn failed to
     * reap, or left running, would become this test's child and be counted. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    struct program_run r;
    run(&r, (char *[]){"exec_spawn", "--", "sh", "-c", "exit 5", NULL});
    cr_assert(exited_with(&r, 5));
    program_run_free(&r);
    run(&r, (char *[]){"exec_spawn", "--", "forklore-no-such-command", NULL});
    cr_assert(exited_with(&r, 127));
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
    cr_assert_eq(count_my_children(), 0);
}

Test(exec_spawn, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("exec_spawn", "--help");
}

Test(exec_spawn, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    char *cases[][4] = {
        {"exec_spawn", "--method=sideways", NULL},
        {"exec_spawn", "--method", NULL},
        {"exec_spawn", "--output", NULL},
        {"exec_spawn", "stray", NULL}, /* a command without -- */
        {"exec_spawn", "--bogus", NULL},
        {"exec_spawn", "-x", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_usage_error(cases[i], NULL);
    struct program_run r;
    run(&r, (char *[]){"exec_spawn", "--bogus", NULL});
    cr_assert_eq(count_lines_containing(r.err, "unknown option --bogus"), 1, "%s", r.err);
    program_run_free(&r);
}
