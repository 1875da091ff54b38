/* test_lesson_processes.c - the answers to "Predict, then run" in lessons/01-processes.md (1-3),
 * 01a-wait-and-exec.md (4-12) and 01d-fork-join.md (13-14).
 * Each Test(lesson_processes, predict_N) runs the command question N shows and checks the
 * answer its <details> block gives: counts of lines, statuses, values; never a timing. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Run a program from build/bin; it must start and finish within the limit. */
static void run(char *const argv[], struct program_run *r)
{
    run_finished(r, argv, 60);
}

/* 0: the bare program the lesson opens with (lessons/examples/first_fork.c, built into
 * build/examples): the child names its parent, and the parent reaps it with status 7. */
Test(lesson_processes, first_fork)
{
    struct program_run r;
    run((char *[]){FORKLORE_BIN "/../examples/first_fork", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s%s", r.status, r.out, r.err);
    long child = 0, parent = 0, parent_again = 0, child_again = 0;
    cr_assert_eq(sscanf(r.out, "child %ld: my parent is %ld\nparent %ld: child %ld exited with 7\n",
                        &child, &parent, &parent_again, &child_again),
                 4, "%s", r.out);
    cr_assert_eq(parent, parent_again, "%s", r.out);
    cr_assert_eq(child, child_again, "%s", r.out);
    cr_assert_neq(child, parent, "%s", r.out);
    program_run_free(&r);
}

/* 1: three children, each with getppid() = the parent; the parent's values stay 1, 2, 3 and
 * every process prints the same three addresses. */
Test(lesson_processes, predict_1)
{
    struct program_run r;
    run((char *[]){"fork_basics", "--children", "3", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    long parent = 0;
    cr_assert_eq(sscanf(r.out, "fork_basics: parent pid %ld forks 3 children", &parent), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "fork() returned 0 -> I am child"), 3, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "-> I am the parent of child"), 3, "%s", r.out);
    char ppid[64];
    snprintf(ppid, sizeof ppid, " getppid()=%ld", parent);
    int with_ppid = count_lines_containing(r.out, ppid);
    cr_assert_eq(with_ppid, 3, "%d lines with \"%s\", not 3:\n%s", with_ppid, ppid, r.out);
    expect_text(r.out, "after the children wrote: global=1 heap=2 stack=3 at ");
    expect_text(r.out, "my values are unchanged");

    /* The addresses the parent printed before fork: the same in all 5 variable lines
     * (parent before, 3 children after writing, parent after). */
    char *before = line_containing(r.out, ": before fork: ");
    cr_assert_not_null(before, "%s", r.out);
    const char *addresses = strstr(before, " at global=");
    cr_assert_not_null(addresses, "%s", before);
    cr_assert_eq(count_lines_containing(r.out, addresses), 5, "same addresses everywhere:\n%s",
                 r.out);
    free(before);
    program_run_free(&r);
}

/* 2: without fflush the line comes out 1 + 3 times; with it, once.  The children's own
 * lines are never repeated. */
Test(lesson_processes, predict_2)
{
    struct program_run r;
    run((char *[]){"stdio_flush", "--mode", "broken", "--children", "3", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "before fork() [broken]"), 4, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "my own line"), 3, "%s", r.out);
    program_run_free(&r);

    run((char *[]){"stdio_flush", "--mode", "fixed", "--children", "3", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "before fork() [fixed]"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "my own line"), 3, "%s", r.out);
    program_run_free(&r);
}

/* 3: into a pipe stdio buffers fully on its own, so the bug shows without setvbuf: twice.
 * (run_program reads the program's stdout through a pipe, as `| cat` does.) */
Test(lesson_processes, predict_3)
{
    struct program_run r;
    run((char *[]){"stdio_flush", "--buffering", "default", "--mode", "broken", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    expect_text(r.out, "stdout fully buffered (stdio's choice: not a terminal)");
    cr_assert_eq(count_lines_containing(r.out, "before fork() [broken]"), 2, "%s", r.out);
    program_run_free(&r);
}

/* 4: _exit(42) arrives as raw status 0x2a00: the code sits in the second byte. */
Test(lesson_processes, predict_4)
{
    struct program_run r;
    run((char *[]){"wait_status", "--only", "exit", "--exit-code", "42", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    expect_text(r.out, "[exit] waitpid -> child ");
    expect_text(r.out, ", status 0x2a00: exited with 42\n");
    program_run_free(&r);
}

/* 5: SIGTERM gives 0x000f; abort() gives signal 6, with the 0x80 core bit exactly when the
 * program says the core was dumped (the machine decides whether it may dump one). */
Test(lesson_processes, predict_5)
{
    struct program_run r;
    run((char *[]){"wait_status", "--only", "signal", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    char expected[128];
    snprintf(expected, sizeof expected, ", status 0x%04x: killed by signal %d (%s)\n", SIGTERM,
             SIGTERM, strsignal(SIGTERM));
    expect_text(r.out, expected);
    program_run_free(&r);

    run((char *[]){"wait_status", "--only", "core", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    char *line = line_containing(r.out, "[core] waitpid -> child ");
    cr_assert_not_null(line, "%s", r.out);
    snprintf(expected, sizeof expected, "killed by signal %d (%s)", SIGABRT, strsignal(SIGABRT));
    expect_text(line, expected);
    int dumped = strstr(line, ", core dumped") != NULL;
    snprintf(expected, sizeof expected, ", status 0x%04x: ", SIGABRT | (dumped ? 0x80 : 0));
    expect_text(line, expected);
    expect_text(r.out, dumped ? "[core] the kernel dumped core: yes" : "dumped core: no");
    free(line);
    program_run_free(&r);
}

/* 6: one child, three reports: stopped (0x137f), continued (0xffff), exited (0x0000). */
Test(lesson_processes, predict_6)
{
    struct program_run r;
    run((char *[]){"wait_status", "--only", "stop", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "[stop] waitpid -> child "), 3, "%s", r.out);
    char stopped[128];
    snprintf(stopped, sizeof stopped, "status 0x%04x: stopped by signal %d", (SIGSTOP << 8) | 0x7f,
             SIGSTOP);
    const char *first = strstr(r.out, stopped);
    const char *second = strstr(r.out, "status 0xffff: continued");
    const char *third = strstr(r.out, "status 0x0000: exited with 0");
    cr_assert(first && second && third, "%s", r.out);
    cr_assert(first < second && second < third, "stopped, continued, exited, in that order:\n%s",
              r.out);
    program_run_free(&r);
}

/* 7: waitpid(-1) reaps in completion order: child 4 first, child 1 last, each exiting with
 * its own number. */
Test(lesson_processes, predict_7)
{
    struct program_run r;
    /* Steps of half a second: on a loaded machine a child may start late, but not that late. */
    run((char *[]){"wait_status", "--only", "order", "--children", "4", "--step-ms", "500", NULL},
        &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    for (int rank = 1; rank <= 4; rank++) {
        char expected[64];
        snprintf(expected, sizeof expected, "[order] reaped #%d: child %d (pid ", rank, 5 - rank);
        char *line = line_containing(r.out, expected);
        cr_assert_not_null(line, "no \"%s\" in:\n%s", expected, r.out);
        snprintf(expected, sizeof expected, "): exited with %d", 5 - rank);
        expect_text(line, expected);
        free(line);
    }
    program_run_free(&r);
}

/* 8: the exited, unreaped child shows state Z; after waitpid its /proc entry is gone. */
Test(lesson_processes, predict_8)
{
    struct program_run r;
    run((char *[]){"zombie_orphan", "--only", "zombie", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    long zombie = 0, gone = 0;
    char state = '?';
    const char *before = strstr(r.out, "[zombie] before reaping: /proc/");
    cr_assert_not_null(before, "%s", r.out);
    cr_assert_eq(
        sscanf(before, "[zombie] before reaping: /proc/%ld/stat state %c", &zombie, &state), 2,
        "%s", before);
    cr_assert_eq(state, 'Z', "%s", r.out);
    const char *after = strstr(r.out, "[zombie] after reaping: /proc/");
    cr_assert_not_null(after, "%s", r.out);
    cr_assert_eq(sscanf(after, "[zombie] after reaping: /proc/%ld/stat is gone", &gone), 1, "%s",
                 after);
    cr_assert_eq(gone, zombie, "%s", r.out);
    expect_text(after, "/stat is gone");
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

/* 9: the orphan's getppid() changes from the middle child to zombie_orphan itself (the
 * subreaper), not to 1, and zombie_orphan reaps it. */
Test(lesson_processes, predict_9)
{
    struct program_run r;
    run((char *[]){"zombie_orphan", "--only", "orphan", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    long top = 0, grandchild = 0, middle = 0, old_parent = 0, new_parent = 0;
    cr_assert_eq(sscanf(r.out, "zombie_orphan: parent %ld", &top), 1, "%s", r.out);
    const char *first = strstr(r.out, "[orphan] grandchild ");
    cr_assert_not_null(first, "%s", r.out);
    cr_assert_eq(sscanf(first, "[orphan] grandchild %ld: getppid() = %ld (the middle child)",
                        &grandchild, &middle),
                 2, "%s", first);
    char needle[96];
    snprintf(needle, sizeof needle, "[orphan] grandchild %ld: my parent ", grandchild);
    const char *later = strstr(r.out, needle);
    cr_assert_not_null(later, "%s", r.out);
    cr_assert_eq(sscanf(later + strlen(needle), "%ld exited; getppid() is now %ld", &old_parent,
                        &new_parent),
                 2, "%s", later);
    cr_assert_eq(old_parent, middle, "%s", r.out);
    cr_assert_eq(new_parent, top, "re-parented to zombie_orphan, not to init:\n%s", r.out);
    cr_assert_neq(new_parent, 1, "%s", r.out);
    snprintf(needle, sizeof needle, "reaped re-parented grandchild %ld: exited with 0", grandchild);
    expect_text(r.out, needle);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

/* 10: the grandchild that asked for PR_SET_PDEATHSIG dies of SIGKILL when its parent exits. */
Test(lesson_processes, predict_10)
{
    struct program_run r;
    run((char *[]){"zombie_orphan", "--only", "pdeathsig", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    char *middle = line_containing(r.out, "[pdeathsig] parent ");
    cr_assert_not_null(middle, "%s", r.out);
    expect_text(middle, "reaped middle child ");
    expect_text(middle, ": exited with 0");
    free(middle);
    char *grandchild = line_containing(r.out, "reaped grandchild ");
    cr_assert_not_null(grandchild, "%s", r.out);
    char expected[96];
    snprintf(expected, sizeof expected, ": killed by signal %d (%s)", SIGKILL, strsignal(SIGKILL));
    expect_text(grandchild, expected);
    free(grandchild);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

/* 11: exec_spawn exits as a shell's $? would be: 3, then 128 + 15 = 143. */
Test(lesson_processes, predict_11)
{
    struct program_run r;
    run((char *[]){"exec_spawn", "--", "sh", "-c", "exit 3", NULL}, &r);
    cr_assert(exited_with(&r, 3), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with status 3 -> a shell's $? would be 3"),
                 2, "one line per method:\n%s", r.out);
    program_run_free(&r);

    run((char *[]){"exec_spawn", "--", "sh", "-c", "kill -TERM $$", NULL}, &r);
    cr_assert(exited_with(&r, 128 + SIGTERM), "status %#x\n%s", r.status, r.out);
    char expected[128];
    snprintf(expected, sizeof expected, "killed by signal %d (%s) -> a shell's $? would be %d",
             SIGTERM, strsignal(SIGTERM), 128 + SIGTERM);
    cr_assert_eq(count_lines_containing(r.out, expected), 2, "%s", r.out);
    program_run_free(&r);
}

/* 12: a missing command: 127.  The fork-exec child reports it through its exit status; with
 * posix_spawn the error number comes back to the parent and there is no child to wait for. */
Test(lesson_processes, predict_12)
{
    struct program_run r;
    run((char *[]){"exec_spawn", "--", "no-such-command", NULL}, &r);
    cr_assert(exited_with(&r, 127), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "fork-exec: child "), 1, "%s", r.out);
    expect_text(r.out, "exited with status 127 -> a shell's $? would be 127");
    expect_text(r.err, "no-such-command: command not found");
    if (under_valgrind()) {
        /* valgrind turns posix_spawn's clone into a plain fork: the error cannot come back. */
        cr_assert_eq(count_lines_containing(r.out, "exited with status 127"), 2, "%s", r.out);
    } else {
        cr_assert_eq(count_lines_containing(r.out, "posix_spawn: child "), 0, "%s", r.out);
        cr_assert_eq(count_lines_containing(r.out,
                                            "posix_spawn: the error came back to the parent: "
                                            "No such file or directory"),
                     1, "%s", r.out);
    }
    program_run_free(&r);
}

/* 13: two workers, primes below 10^6.  Equal ranges: [0, 500000) holds 41538 primes and
 * [500000, 1000000) 36960.  Balanced ranges: worker 0 gets [0, 629960), 51337 primes, and
 * worker 1 the other 27161.  The total is 78498 either way, and it matches. */
Test(lesson_processes, predict_13)
{
    struct program_run r;
    run((char *[]){"fork_join", "--workers=2", "--limit=1000000", "--split=equal", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    expect_text(r.out, "worker 0 pid ");
    cr_assert_eq(count_lines_containing(r.out, "range [0, 500000) count 41538 in "), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "range [500000, 1000000) count 36960 in "), 1, "%s",
                 r.out);
    expect_text(r.out, "primes below 1000000: 78498 (sequential: 78498, known value: 78498) -- "
                       "match");
    program_run_free(&r);

    run((char *[]){"fork_join", "--workers=2", "--limit=1000000", "--split=balanced", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "range [0, 629960) count 51337 in "), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "range [629960, 1000000) count 27161 in "), 1, "%s",
                 r.out);
    expect_text(r.out, "primes below 1000000: 78498 (sequential: 78498, known value: 78498) -- "
                       "match");
    program_run_free(&r);
}

/* 14: a worker killed before it reports: no result for it, "killed by signal 9", exit 1. */
Test(lesson_processes, predict_14)
{
    struct program_run r;
    run((char *[]){"fork_join", "--workers=3", "--limit=20000", "--kill-worker=1", NULL}, &r);
    cr_assert(exited_with(&r, 1), "status %#x\n%s", r.status, r.out);
    char *worker = line_containing(r.out, "worker 1 pid ");
    cr_assert_not_null(worker, "%s", r.out);
    char expected[96];
    snprintf(expected, sizeof expected, "NO RESULT, killed by signal %d (%s)", SIGKILL,
             strsignal(SIGKILL));
    expect_text(worker, expected);
    free(worker);
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 2, "%s", r.out);
    expect_text(r.out, "1 of 3 workers failed (2 results arrived");
    cr_assert_eq(count_lines_containing(r.out, "-- match"), 0, "%s", r.out);
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}
