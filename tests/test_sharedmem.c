/* test_sharedmem.c - the programs of patterns/sharedmem and the answers to
 * lessons/02b-shared-memory.md "Predict, then run" (Test(lesson_shared_memory, predict_N)). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void run_ok(char *const argv[], struct program_run *r)
{
    run_finished(r, argv, 60);
    cr_assert(exited_with(r, 0), "%s: status %#x\n%s%s", argv[0], r->status, r->out, r->err);
}

/* 1: MAP_SHARED: the child sees the parent's 7, the parent then sees the child's 42. */
Test(lesson_shared_memory, predict_1)
{
    struct program_run r;
    run_ok((char *[]){"shared_mapping", "--only", "shared", NULL}, &r);
    expect_text(r.out, "sees counter=7 note=\"set by the parent before fork\"");
    expect_text(r.out, "after the child exited: counter=42 note=\"written by child ");
    program_run_free(&r);
}

/* 2: MAP_PRIVATE and the heap: the child sees 1, the parent keeps 7. */
Test(lesson_shared_memory, predict_2)
{
    const char *kinds[] = {"private", "heap"};
    for (int i = 0; i < 2; i++) {
        struct program_run r;
        run_ok((char *[]){"shared_mapping", "--only", (char *)kinds[i], NULL}, &r);
        expect_text(r.out, "sees counter=1 note=\"set by the parent before fork\"");
        expect_text(r.out, "after the child exited: counter=7 note=\"set by the parent");
        program_run_free(&r);
    }
}

/* 3: a program that knows only the name reads the greeting and replies; after shm_unlink
 * the name is gone from /dev/shm. */
Test(lesson_shared_memory, predict_3)
{
    struct program_run r;
    run_ok((char *[]){"shm_objects", "--only", "attach", NULL}, &r);
    expect_text(r.out, "exists: yes");
    expect_text(r.out, "by name, read \"hello from pid ");
    expect_text(r.out, "the reply in shared memory: \"hello back from pid ");
    expect_text(r.out, "after shm_unlink: /dev/shm/forklore-shm-");
    char *line = line_containing(r.out, "after shm_unlink");
    expect_text(line, "exists: no");
    free(line);
    program_run_free(&r);
    cr_assert_eq(count_abandoned_ipc("/dev/shm", "shm"), 0);
}

/* 4: unlinked at once: by name, ENOENT (exit 1); through an inherited mapping, shared. */
Test(lesson_shared_memory, predict_4)
{
    struct program_run r;
    run_ok((char *[]){"shm_objects", "--only", "unlink", NULL}, &r);
    char expected[128];
    snprintf(expected, sizeof expected, "): %s\n", strerror(ENOENT));
    expect_text(r.out, expected);
    expect_text(r.out, "a program coming by name exited with 1");
    expect_text(r.out, "wrote through the inherited mapping: \"forked child ");
    program_run_free(&r);
}

/* 5: byte 0 of a one-page object is fine; byte 4096 of the two-page mapping is SIGBUS, and
 * so is byte 0 once the object has been truncated to nothing. */
Test(lesson_shared_memory, predict_5)
{
    struct program_run r;
    run_ok((char *[]){"shm_objects", "--only", "sigbus", NULL}, &r);
    expect_text(r.out, "touching byte 0 (page 1 of 1) exited with 0");
    char expected[160];
    snprintf(expected, sizeof expected,
             "touching byte %ld (past the object's end) killed by "
             "signal %d (%s)",
             sysconf(_SC_PAGESIZE), SIGBUS, strsignal(SIGBUS));
    expect_text(r.out, expected);
    snprintf(expected, sizeof expected,
             "after ftruncate(0), a child touching byte 0 killed by "
             "signal %d",
             SIGBUS);
    expect_text(r.out, expected);
    program_run_free(&r);
}

/* 6: IPC_RMID right after shmat: marked for removal while still attached once; a forked
 * child shares it; after the last shmdt the id no longer exists. */
Test(lesson_shared_memory, predict_6)
{
    struct program_run r;
    run_ok((char *[]){"shm_objects", "--only", "sysv", NULL}, &r);
    expect_text(r.out, "attached 1 time(s), marked for removal: yes");
    expect_text(r.out, "the parent reads \"child ");
    expect_text(r.out, ": no such segment");
    program_run_free(&r);
}

Test(sharedmem, attach_to_a_missing_name_says_why_and_fails)
{
    struct program_run r;
    run_finished(&r, (char *[]){"shm_objects", "--attach", "/forklore-no-such-object", NULL}, 20);
    cr_assert(exited_with(&r, 1), "status %#x", r.status);
    expect_text(r.out, "shm_open(/forklore-no-such-object): ");
    program_run_free(&r);
}

Test(sharedmem, programs_refuse_bad_values)
{
    skip_argument_checks_under_valgrind();
    assert_refuses_bad_arguments("shared_mapping", "--only", "public");
    assert_refuses_bad_arguments("shm_objects", "--only", "everything");
}
