/* test_fork_threads.c - patterns/threads and the benchmark of Python's start methods, and the
 * C answers to lessons/01c-fork-threads-and-start-methods.md "Predict, then run"
 * (Test(lesson_start_methods, predict_N); the Python answers are in test_python_twins.c). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* 1: the parent has 2 threads, the child 1; the child's copy of the lock is held by a thread
 * it does not have, so it sleeps for ever: the parent proves it and kills it. */
Test(lesson_start_methods, predict_1)
{
    struct program_run r;
    run_finished(&r, (char *[]){"fork_with_threads", "--fix", "none", NULL}, 120);
    cr_assert(exited_with(&r, 0), "status %#x\n%s%s", r.status, r.out, r.err);
    expect_text(r.out, "holds library_lock; Threads: 2; forking");
    expect_text(r.out, "] Threads: 1; taking library_lock...");
    cr_assert_eq(count_lines_containing(r.out, "took library_lock"), 0, "%s", r.out);
    expect_text(r.out, ": deadlocked");
    char killed[64];
    snprintf(killed, sizeof killed, "killed by signal %d (%s)", SIGKILL, strsignal(SIGKILL));
    expect_text(r.out, killed);
    program_run_free(&r);
}

/* 2: exec at once and posix_spawn: a new program, one thread, a fresh lock taken at once. */
Test(lesson_start_methods, predict_2)
{
    const char *fixes[] = {"exec", "spawn"};
    for (int i = 0; i < 2; i++) {
        struct program_run r;
        run_finished(&r, (char *[]){"fork_with_threads", "--fix", (char *)fixes[i], NULL}, 120);
        cr_assert(exited_with(&r, 0), "%s: status %#x\n%s%s", fixes[i], r.status, r.out, r.err);
        expect_text(r.out, "] a new program: Threads: 1; taking library_lock...");
        expect_text(r.out, "] took library_lock");
        cr_assert_eq(count_lines_containing(r.out, "deadlocked"), 0, "%s", r.out);
        program_run_free(&r);
    }
}

/* 3: pthread_atfork: the forked child (not a new program) takes the lock. */
Test(lesson_start_methods, predict_3)
{
    struct program_run r;
    run_finished(&r, (char *[]){"fork_with_threads", "--fix", "atfork", NULL}, 120);
    cr_assert(exited_with(&r, 0), "status %#x\n%s%s", r.status, r.out, r.err);
    expect_text(r.out, "] Threads: 1; taking library_lock...");
    expect_text(r.out, "] took library_lock");
    cr_assert_eq(count_lines_containing(r.out, "a new program"), 0, "%s", r.out);
    program_run_free(&r);
}

Test(fork_threads, refuses_bad_values)
{
    skip_argument_checks_under_valgrind();
    assert_refuses_bad_arguments("fork_with_threads", "--fix", "prayer");
    assert_refuses_bad_arguments("fork_with_threads", "--timeout-ms", "5");
}

/* The benchmark's Python start-method workload runs, checks every process's exit code, and
 * writes one series per start method. */
Test(fork_threads, python_start_workload_measures_each_method, .timeout = 600)
{
    if (under_valgrind())
        cr_skip_test("python3 runs untraced; the workload is checked in the native run");
    char top[256], data[300];
    make_temp_dir(top, sizeof top, "pystart");
    snprintf(data, sizeof data, "%s/data", top);
    struct program_run r;
    run_finished(&r,
                 (char *[]){"bench", "--quick", "--repeats", "1", "--only", "python_start",
                            "--data", data, "--plots", top, NULL},
                 300);
    cr_assert(exited_with(&r, 0), "status %#x\n%s%s", r.status, r.out, r.err);
    char path[400];
    snprintf(path, sizeof path, "%s/python_start.csv", data);
    char *csv = read_file(path, NULL);
    cr_assert_not_null(csv, "no %s:\n%s", path, r.out);
    const char *methods[] = {"\"fork\",", "\"spawn\",", "\"forkserver\","};
    for (int i = 0; i < 3; i++) /* one line per batch size: 2 in the quick plan */
        cr_assert_eq(count_lines_containing(csv, methods[i]), 2, "%s:\n%s", methods[i], csv);
    expect_text(r.out, "start + join, per process, at the largest batch:");
    free(csv);
    program_run_free(&r);
    remove_dir(top);
}
