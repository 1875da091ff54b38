/* grade_channel.h - the contract between the grader (grader.c) and a lab's test program
 * (grade_test_main.c + grade_api.c + the lab's grade.c + the student's code).
 *
 * The grader runs each test as a separate program in the sandbox (sandbox.h).  The test program
 * reads this run's secret token from GRADE_TOKEN_FD before any of the student's code has run
 * (the build refuses student files with constructors), closes that descriptor, and from then on
 * writes every line meant for the grader as a record on GRADE_REPORT_FD:
 *
 *     TOKEN ' ' KIND ' ' TEXT '\n'
 *
 * one line of text per record, each record written with one write() (at most PIPE_BUF bytes,
 * so records from several processes never interleave).  A test has passed only when a
 * GRADE_PASSED record with the right token arrived: an exit status alone never passes, and a
 * record with any other token is counted as tampering.  The student's own output goes to the
 * test program's stdout and stderr, which the grader collects apart from this channel.
 */
#ifndef FORKLORE_GRADE_CHANNEL_H
#define FORKLORE_GRADE_CHANNEL_H

#include "support/process_runner.h"

enum {
    GRADE_REPORT_FD = RUNNER_CHANNEL_FD, /* records, test program -> grader */
    GRADE_TOKEN_FD = 4,                  /* the token, grader -> test program, then closed */
    GRADE_TOKEN_LENGTH = 32,             /* hex digits: 128 random bits */
    GRADE_RECORD_MAX = 4000,             /* bytes of one record, under PIPE_BUF */
};

/* The kind of a record: a line of text, or the test's verdict (the last record it sends). */
enum grade_record_kind {
    GRADE_RECORD_NOTE = 'N',    /* shown when the test fails or was picked with TEST= */
    GRADE_RECORD_SHOW = 'R',    /* shown always (grade_report) */
    GRADE_RECORD_PASSED = 'P',  /* verdict: every check held */
    GRADE_RECORD_FAILED = 'F',  /* verdict: a check failed (the lines before say which) */
    GRADE_RECORD_SKIPPED = 'S', /* verdict: not graded on this machine */
    GRADE_RECORD_BROKE = 'B',   /* verdict: the grader's own call failed */
};

/* In the test program: set the state the grade_*() calls read, before the test runs. */
void grade_api_begin(unsigned long seed, const char *test_name, const char *build_dir,
                     const char *temp_dir, const char *token);

/* In the test program: send the verdict and end the test program (_exit, so that no atexit
 * handler or destructor of the student's runs after it). */
_Noreturn void grade_api_end(enum grade_record_kind verdict);

#endif
