/* test_queues.c - the queue programs (mqueue_demo, shm_queue_demo) and the "predict, then run"
 * questions of lessons/03-queues-and-shared-memory.md and lessons/05b-inside-the-queue.md. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "queues/shm_queue.h"

enum { TIME_LIMIT = 30 }; /* seconds; the harness scales it under valgrind */

static void run_ok(char *const argv[], struct program_run *run)
{
    run_finished(run, argv, TIME_LIMIT);
}

static long read_proc_limit(const char *file)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", file);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot read %s", path);
    long value = -1;
    cr_assert_eq(fscanf(f, "%ld", &value), 1);
    fclose(f);
    return value;
}

/* The text after `label` on the first line containing it, up to the end of that line. */
static void copy_after(const char *text, const char *label, char *out, size_t size)
{
    const char *at = strstr(text, label);
    cr_assert_not_null(at, "no \"%s\" in the output:\n%s", label, text);
    at += strlen(label);
    size_t n = strcspn(at, ":; \n");
    cr_assert_lt(n, size);
    memcpy(out, at, n);
    out[n] = '\0';
}

/* --- both programs: the command-line conventions ------------------------------------------- */

static void check_command_line(char *program, char *bad_option, char *bad_value)
{
    assert_help(program, "--help");
    /* The reason names the option, and the usage follows on stderr. */
    assert_usage_error((char *[]){program, bad_option, bad_value, NULL}, bad_option);
    assert_usage_error((char *[]){program, "--no-such-option", NULL}, "unknown option");
    assert_usage_error((char *[]){program, "stray", NULL}, NULL);
}

Test(queues, mqueue_demo_command_line)
{
    check_command_line("mqueue_demo", "--max-messages", "0");
}

Test(queues, shm_queue_demo_command_line)
{
    check_command_line("shm_queue_demo", "--slot-size", "23"); /* smaller than a header */
}

/* --- mqueue_demo ------------------------------------------------------------------------ */

Test(queues, mqueue_demo_reports_the_limits_from_proc)
{
    struct program_run run;
    char *argv[] = {"mqueue_demo", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0), "stderr: %s", run.err);
    char expected[64];
    snprintf(expected, sizeof expected, "msg_max %ld,", read_proc_limit("msg_max"));
    cr_assert_not_null(strstr(run.out, expected), "want \"%s\" in:\n%s", expected, run.out);
    snprintf(expected, sizeof expected, "msgsize_max %ld,", read_proc_limit("msgsize_max"));
    cr_assert_not_null(strstr(run.out, expected));
    snprintf(expected, sizeof expected, "queues_max %ld ", read_proc_limit("queues_max"));
    cr_assert_not_null(strstr(run.out, expected));
    cr_assert_not_null(strstr(run.out, "mq_maxmsg 8, mq_msgsize 256 (as asked)"));
    program_run_free(&run);
}

Test(queues, mqueue_demo_eagain_etimedout_and_blocking)
{
    struct program_run run;
    char *argv[] = {"mqueue_demo", "--timeout-ms", "50", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0), "stderr: %s", run.err);
    cr_assert_eq(count_lines_containing(run.out, "mq_receive on the empty queue: EAGAIN"), 1);
    cr_assert_eq(count_lines_containing(run.out, "8 sends fit, the next mq_send: EAGAIN"), 1);
    cr_assert_eq(count_lines_containing(run.out, "drained 8 messages, then EAGAIN"), 1);
    cr_assert_eq(count_lines_containing(run.out, "in mq_receive, then got \"go\""), 1);
    cr_assert_eq(count_lines_containing(run.out, "ETIMEDOUT after"), 1);
    cr_assert_eq(count_lines_containing(run.out, "(asked 50 ms)"), 1);
    program_run_free(&run);
}

Test(queues, mqueue_demo_unlinks_its_queue)
{
    struct program_run run;
    char *argv[] = {"mqueue_demo", "-t", "1", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0));
    char name[96];
    copy_after(run.out, "queue /", name + 1, sizeof name - 1);
    name[0] = '/';
    cr_assert_not_null(strstr(run.out, name), "the unlinked line names %s", name);
    errno = 0;
    mqd_t mq = mq_open(name, O_RDONLY);
    cr_assert_eq(mq, (mqd_t)-1, "%s still exists", name);
    cr_assert_eq(errno, ENOENT, "mq_open(%s): %s", name, strerror(errno));
    cr_assert_eq(count_my_zombies(), 0);
    program_run_free(&run);
}

/* Above a limit: EINVAL with the limit named, or, for a privileged process, a plain note. */
static void check_above_limit(char *option, const char *limit_file)
{
    long limit = read_proc_limit(limit_file);
    char value[32], request[96];
    snprintf(value, sizeof value, "%ld", limit + 1);
    snprintf(request, sizeof request, "%s %ld is above %s %ld", option, limit + 1, limit_file,
             limit);
    struct program_run run;
    char *argv[] = {"mqueue_demo", option, value, "-t", "1", NULL};
    run_ok(argv, &run);
    cr_assert_not_null(strstr(run.out, request), "want \"%s\" in:\n%s", request, run.out);
    if (exited_with(&run, 1)) {
        cr_assert_not_null(strstr(run.err, "EINVAL"), "stderr: %s", run.err);
        cr_assert_not_null(strstr(run.err, limit_file));
        cr_assert_not_null(strstr(run.err, "not made smaller"));
    } else {
        cr_assert(exited_with(&run, 0));
        cr_assert_not_null(strstr(run.out, "CAP_SYS_RESOURCE"), "a privileged run says why");
        cr_assert_not_null(strstr(run.out, "(as asked)"), "and the size was not clamped");
    }
    program_run_free(&run);
}

Test(queues, mqueue_demo_names_the_limit_a_request_is_above)
{
    check_above_limit("--max-messages", "msg_max");
    check_above_limit("--message-size", "msgsize_max");
}

/* --- shm_queue_demo -------------------------------------------------------------------------- */

Test(queues, shm_queue_demo_default_checks_every_message)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0), "stdout:\n%s\nstderr:\n%s", run.out, run.err);
    cr_assert_eq(count_lines_containing(run.out, "pushed 20000 messages"), 2);
    cr_assert_eq(count_lines_containing(run.out, "then saw the queue closed"), 2);
    cr_assert_eq(count_lines_containing(run.out, "join: every message has been marked done"), 1);
    cr_assert_eq(count_lines_containing(run.out, "40000 of 40000 messages arrived"), 1);
    cr_assert_eq(count_lines_containing(run.out, "each message exactly once, in order"), 1);
    cr_assert_eq(count_my_zombies(), 0);
    program_run_free(&run);
}

Test(queues, shm_queue_demo_many_sides_and_big_slots)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", "-p", "4",  "-c", "3", "-n",
                    "3000",           "-s", "4K", "-q", "5", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0), "stdout:\n%s\nstderr:\n%s", run.out, run.err);
    cr_assert_eq(count_lines_containing(run.out, "12000 of 12000 messages arrived"), 1);
    cr_assert_eq(count_lines_containing(run.out, "then saw the queue closed"), 3);
    program_run_free(&run);
}

Test(queues, shm_queue_demo_zero_copy_checks_every_message_in_place)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", "--zero-copy", "-p", "3",  "-c", "2", "-n",
                    "2000",           "-s",          "1K", "-q", "4",  NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0), "stdout:\n%s\nstderr:\n%s", run.out, run.err);
    cr_assert_eq(count_lines_containing(run.out, "6000 of 6000 messages arrived"), 1);
    cr_assert_eq(count_lines_containing(run.out, "then saw the queue closed"), 2);
    program_run_free(&run);
}

/* --- lesson 03: predict, then run ------------------------------------------------------------- */

/* Q1: the order in which the six prioritised messages come out. */
Test(lesson_queues, predict_1)
{
    struct program_run run;
    char *argv[] = {"mqueue_demo", "-t", "1", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0));
    const char *expected[] = {"#2 p9", "#5 p9", "#1 p5", "#3 p5", "#0 p1", "#4 p0"};
    const char *at = run.out;
    for (int i = 0; i < 6; i++) {
        char line[64];
        snprintf(line, sizeof line, "received \"%s\"", expected[i]);
        const char *found = strstr(at, line);
        cr_assert_not_null(found, "%s should come out in place %d:\n%s", expected[i], i + 1,
                           run.out);
        at = found + 1;
    }
    program_run_free(&run);
}

/* Q2: with room for 3 messages, how many non-blocking sends succeed? */
Test(lesson_queues, predict_2)
{
    struct program_run run;
    char *argv[] = {"mqueue_demo", "--max-messages", "3", "-t", "1", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "3 sends fit, the next mq_send: EAGAIN"), 1);
    cr_assert_eq(count_lines_containing(run.out, "priority: received"), 3,
                 "the priority step sends only what fits");
    program_run_free(&run);
}

/* Q3: one message more than msg_max: refused with EINVAL (an ordinary user), never clamped. */
Test(lesson_queues, predict_3)
{
    check_above_limit("--max-messages", "msg_max");
}

/* Q4: three producers, one consumer: all messages, and each producer's in order. */
Test(lesson_queues, predict_4)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", "-p", "3", "-c", "1", "-n", "1000", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "took 3000 messages"), 1);
    cr_assert_eq(count_lines_containing(run.out, "0 out of order"), 1);
    program_run_free(&run);
}

/* Q5: a ring of only two slots loses nothing: producers wait instead. */
Test(lesson_queues, predict_5)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", "-q", "2", "-n", "5000", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "10000 of 10000 messages arrived"), 1);
    cr_assert_eq(count_lines_containing(run.out, "each message exactly once"), 1);
    program_run_free(&run);
}

/* Q6: after a --named run, nothing of the queue is left in /dev/shm. */
Test(lesson_queues, predict_6)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", "--named", "-n", "2000", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 0), "stderr: %s", run.err);
    cr_assert_eq(count_lines_containing(run.out, "/forklore-queue-"), 1);
    char name[96];
    copy_after(run.out, "bytes, /", name, sizeof name);
    char entry[128];
    snprintf(entry, sizeof entry, "%s", name);
    cr_assert_eq(count_dir_entries_containing("/dev/shm", entry), 0, "%s left behind", entry);
    cr_assert_eq(count_abandoned_ipc("/dev/shm", "queue"), 0, "a queue whose creator is gone");
    program_run_free(&run);
}

/* --- lesson 05b: predict, then run ------------------------------------------------------------ */

/* Q1: a ring of one slot is refused, by the demo's argument check and by the queue itself: with
 * capacity 1, the sequence number pos + 1 would mean both "full, for the consumer of pos" and
 * "free, for the producer of pos + 1". */
Test(lesson_inside_queue, predict_1)
{
    struct program_run run;
    char *argv[] = {"shm_queue_demo", "-q", "1", NULL};
    run_ok(argv, &run);
    cr_assert(exited_with(&run, 2), "stderr: %s", run.err);
    cr_assert_eq(count_lines_containing(run.err, "from 2 to"), 1, "stderr: %s", run.err);
    program_run_free(&run);

    struct shm_queue *q = NULL;
    cr_assert_eq(shm_queue_create(&q, NULL, 64, 1), EINVAL);
    cr_assert_eq(shm_queue_create(&q, NULL, 64, 2), 0);
    cr_assert_eq(shm_queue_destroy(q), 0);
}
