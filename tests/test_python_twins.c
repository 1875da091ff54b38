/* test_python_twins.c - the Python twins in lessons/python/ and the answers to their questions
 * (lessons/python/README.md "Predict, then run": Test(lesson_python, predict_N)).
 *
 * Each twin runs as `/usr/bin/env python3 lessons/python/NAME.py`: python3 from PATH, as a
 * reader would run it (tools/ensure_deps.sh installs it when missing).  Going through
 * /usr/bin/env also keeps the interpreter out of valgrind's tracing in the valgrind gate (it
 * skips what runs from /usr/bin): memcheck has nothing to say about CPython, only slowness. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support/cpus.h"

/* Run a twin with up to three arguments; it must exit 0. */
static void twin(struct program_run *r, const char *name, const char *a1, const char *a2)
{
    char script[512];
    snprintf(script, sizeof script, "%s/lessons/python/%s", FORKLORE_ROOT, name);
    char *argv[] = {"/usr/bin/env", "python3", script, (char *)a1, (char *)a2, NULL};
    run_finished(r, argv, 180);
    cr_assert(exited_with(r, 0), "%s: status %#x\n%s%s", name, r->status, r->out, r->err);
}

/* 1: without a flush, the line from before os.fork() comes out twice, both times with the
 * parent's pid; flushed, once. */
Test(lesson_python, predict_1)
{
    struct program_run r;
    twin(&r, "stdio_fork.py", NULL, NULL);
    cr_assert_eq(count_lines_containing(r.out, "before os.fork() (not flushed)"), 2, "%s", r.out);
    char *line = line_containing(r.out, "] before os.fork()");
    char *again = line ? strstr(strstr(r.out, line) + strlen(line), line) : NULL;
    cr_assert_not_null(again, "the same line, the parent's pid included, twice:\n%s", r.out);
    free(line);
    program_run_free(&r);
    twin(&r, "stdio_fork.py", "--flush", NULL);
    cr_assert_eq(count_lines_containing(r.out, "before os.fork() (flushed)"), 1, "%s", r.out);
    program_run_free(&r);
}

/* 2: exitcode 0, 3, -9, -15; the raw status of a SIGKILLed child is 0x0009. */
Test(lesson_python, predict_2)
{
    struct program_run r;
    twin(&r, "exitcode_sigkill.py", NULL, NULL);
    expect_text(r.out, "[returns] exitcode 0\n");
    expect_text(r.out, "[sys.exit(3)] exitcode 3\n");
    expect_text(r.out, "[kill()] exitcode -9\n");
    expect_text(r.out, "[terminate()] exitcode -15\n");
    expect_text(r.out, "raw status 0x0009, waitstatus_to_exitcode -9");
    program_run_free(&r);
}

/* 3: with the lock held around +=, exactly P * N.  Without it, the program reports what it
 * saw; the loss is checked where there are two CPUs to race on (it is likely, not certain,
 * so the check is "some run of three lost some"). */
Test(lesson_python, predict_3)
{
    int lost_somewhere = 0;
    for (int attempt = 0; attempt < 3 && !lost_somewhere; attempt++) {
        struct program_run r;
        twin(&r, "value_lost_update.py", NULL, NULL);
        expect_text(r.out, "[with get_lock(): value += 1] expected 80000, got 80000, lost 0");
        char *line = line_containing(r.out, "[value += 1] expected 80000, got ");
        cr_assert_not_null(line, "%s", r.out);
        long got = -1;
        cr_assert_eq(sscanf(line, "[value += 1] expected 80000, got %ld", &got), 1, "%s", line);
        cr_assert(got > 0 && got <= 80000, "%s", line);
        lost_somewhere = got < 80000;
        free(line);
        program_run_free(&r);
    }
    /* One CPU: the processes take turns in whole time slices and a loss needs a preemption
     * between the read and the write; likely, but not something to insist on. */
    if (usable_cpu_count() > 1)
        cr_assert(lost_somewhere, "value += 1 never lost an update in three runs of 4 x 20000");
}

/* 4: Pool loses the killed task (TimeoutError) but runs later ones; the executor breaks. */
Test(lesson_python, predict_4)
{
    struct program_run r;
    twin(&r, "pool_sigkill.py", "--wait", "2");
    expect_text(r.out, "[Pool] the task that did not die: 10\n");
    expect_text(r.out, "[Pool] the killed task: no result after 2 s (TimeoutError)");
    expect_text(r.out, "[Pool] a task submitted afterwards: 14 ");
    expect_text(r.out, "[ProcessPoolExecutor] BrokenProcessPool: BrokenProcessPool\n");
    expect_text(r.out, "[ProcessPoolExecutor] a later submit: BrokenProcessPool too\n");
    program_run_free(&r);
}

/* 5: join before get with 1 MiB in the queue: still alive; get first: fine.  100 bytes: the
 * broken order works. */
Test(lesson_python, predict_5)
{
    struct program_run r;
    twin(&r, "queue_join_deadlock.py", NULL, NULL);
    expect_text(r.out, "the child is still alive: deadlocked");
    expect_text(r.out, "[fixed] got 1048576 bytes; child exitcode 0");
    program_run_free(&r);
    twin(&r, "queue_join_deadlock.py", "--size", "100");
    expect_text(r.out, "the child is gone");
    program_run_free(&r);
}

/* 6: a Lock is a named semaphore in /dev/shm under spawn and forkserver, none under fork;
 * SharedMemory is a /dev/shm file under all three until unlink(). */
Test(lesson_python, predict_6)
{
    struct program_run r;
    twin(&r, "dev_shm_objects.py", NULL, NULL);
    expect_text(r.out, "[fork] Lock: 0 named semaphore(s) in /dev/shm");
    expect_text(r.out, "[spawn] Lock: 1 named semaphore(s) in /dev/shm");
    expect_text(r.out, "[forkserver] Lock: 1 named semaphore(s) in /dev/shm");
    cr_assert_eq(count_lines_containing(r.out, "exists: True; a child attached by name and read "
                                               "b'hello'"),
                 3, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "after unlink(): gone: True"), 3, "%s", r.out);
    program_run_free(&r);
}

/* 7: guarded, the spawn child re-runs the top level (as __mp_main__) and works; unguarded,
 * it refuses with RuntimeError and exits 1. */
Test(lesson_python, predict_7)
{
    struct program_run r;
    twin(&r, "main_guard.py", NULL, NULL);
    expect_text(r.out, "(__name__ = __mp_main__)");
    expect_text(r.out, "the child's work runs");
    expect_text(r.out, "[guarded] RuntimeError about the bootstrapping phase in the child: False");
    expect_text(r.out, "[unguarded] RuntimeError about the bootstrapping phase in the child: True");
    const char *unguarded = strstr(r.out, "== unguarded");
    cr_assert_not_null(unguarded, "%s", r.out);
    expect_text(unguarded, "child exitcode 1");
    cr_assert_null(strstr(unguarded, "the child's work runs"), "%s", r.out);
    program_run_free(&r);
}

/* 8: fork copies STATE, one thread, the held lock and runs the hook; spawn and forkserver
 * start fresh. */
Test(lesson_python, predict_8)
{
    struct program_run r;
    twin(&r, "start_methods.py", NULL, NULL);
    expect_text(r.out, "STATE='changed by the parent' threads=1 lock_free=False "
                       "at_fork_hook_ran=True");
    cr_assert_eq(count_lines_containing(r.out, "STATE='as imported' threads=1 lock_free=True "
                                               "at_fork_hook_ran=False"),
                 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "] exitcode 0"), 3, "%s", r.out);
    program_run_free(&r);
}
