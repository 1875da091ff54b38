/* test_pipes_lesson.c - the answers to lessons/02-pipes-and-fifos.md "Predict, then run".
 * Each Test(lesson_pipes, predict_N) runs the lesson's command and checks the answer given
 * in its <details> block. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void run(char *const argv[], struct program_run *r)
{
    run_finished(r, argv, 30);
}

/* 1: a reader holding its own write end never sees EOF; the watchdog names it. */
Test(lesson_pipes, predict_1)
{
    struct program_run r;
    run((char *[]){"pipe_eof", "--mode=broken", NULL}, &r);
    cr_assert_null(strstr(r.out, "EOF after"), "%s", r.out);
    cr_assert(strstr(r.out, "a write end is still open in pid"), "%s", r.out);
    cr_assert(strstr(r.out, "(the reader itself)"), "%s", r.out);
    program_run_free(&r);
}

/* 2: `false | true` is 0, and 1 with pipefail. */
Test(lesson_pipes, predict_2)
{
    struct program_run r;
    run((char *[]){"pipeline", "false", "|", "true", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status 0x%x", r.status);
    program_run_free(&r);
    run((char *[]){"pipeline", "--pipefail", "false", "|", "true", NULL}, &r);
    cr_assert(exited_with(&r, 1), "status 0x%x", r.status);
    program_run_free(&r);
}

/* 3: default SIGPIPE kills before write() returns; ignored, write() reports EPIPE. */
Test(lesson_pipes, predict_3)
{
    struct program_run r;
    run((char *[]){"sigpipe", "--mode=default", NULL}, &r);
    cr_assert(strstr(r.out, "killed by signal 13 (Broken pipe)"), "%s", r.out);
    cr_assert_null(strstr(r.out, "(EPIPE)"));
    program_run_free(&r);
    run((char *[]){"sigpipe", "--mode=ignore", NULL}, &r);
    cr_assert(strstr(r.out, "write failed after"), "%s", r.out);
    cr_assert(strstr(r.out, "(EPIPE)"));
    cr_assert(strstr(r.out, "exited with 0"));
    program_run_free(&r);
}

/* 4: 0 torn at PIPE_BUF; torn records with 8 KiB writes into a 4 KiB pipe; no bytes lost. */
Test(lesson_pipes, predict_4)
{
    struct program_run r;
    run((char *[]){"pipe_atomicity", "--writers", "8", "--size", "4096", NULL}, &r);
    cr_assert(exited_with(&r, 0));
    cr_assert(strstr(r.out, ", 0 torn; every writer's bytes all arrived"), "%s", r.out);
    program_run_free(&r);
    run((char *[]){"pipe_atomicity", "--size", "8K", "--pipe-size", "4K", NULL}, &r);
    cr_assert(exited_with(&r, 0));
    cr_assert(strstr(r.out, "may interleave, and here they did"), "%s", r.out);
    cr_assert(strstr(r.out, "every writer's bytes all arrived"), "%s", r.out);
    program_run_free(&r);
}

/* 5: the fastest child reaches EOF first; every child delivers every line. */
Test(lesson_pipes, predict_5)
{
    struct program_run r;
    run((char *[]){"poll_mux", "--children", "3", "--interval", "20", NULL}, &r);
    cr_assert(exited_with(&r, 0));
    char *first = line_containing(r.out, "child 0 (pid");
    cr_assert_not_null(first, "%s", r.out);
    cr_assert(strstr(first, "EOF #1"), "%s", first);
    free(first);
    cr_assert_eq(count_lines_containing(r.out, ": 20 lines, 0 out of order"), 3, "%s", r.out);
    program_run_free(&r);
}

/* 6: a client without a server exits 1, asks if the server runs, and leaves nothing. */
Test(lesson_pipes, predict_6)
{
    char dir[4096];
    make_temp_dir(dir, sizeof dir, "test-lesson");
    struct program_run r;
    run((char *[]){"fifo_client_server", "--role=client", "--dir", dir, NULL}, &r);
    cr_assert(exited_with(&r, 1), "status 0x%x", r.status);
    cr_assert(strstr(r.err, "is the server running?"), "%s", r.err);
    cr_assert_eq(rmdir(dir), 0, "the client left something in %s", dir);
    program_run_free(&r);
}
