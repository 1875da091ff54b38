/* test_semaphores.c - patterns/semaphores: named and unnamed semaphores, counting and bounded
 * semaphores, a process-shared condition variable, barrier and event; and the "predict, then
 * run" questions of lessons/06-semaphores-and-conditions.md (suite lesson_semaphores). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Generous: the default runs take well under a second natively. */
enum { TIMEOUT_S = 30 };

/* Run a program, and check the things every run must satisfy: it was not killed by the time
 * limit, and it left no zombie behind in the test process. */
static void run_checked(char *const argv[], struct program_run *run)
{
    run_finished(run, argv, TIMEOUT_S);
    cr_assert_eq(count_my_zombies(), 0);
}

/* The number that follows the first occurrence of key in text, or -1. */
static long number_after(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    long value = -1;
    if (at == NULL || sscanf(at + strlen(key), "%ld", &value) != 1)
        return -1;
    return value;
}

/* A process whose pid was printed after key must be gone (reaped by the program). */
static void assert_pids_after_gone(const char *text, const char *key)
{
    for (const char *at = strstr(text, key); at != NULL; at = strstr(at + 1, key)) {
        long pid = -1;
        if (sscanf(at + strlen(key), "%ld", &pid) == 1 && pid > 0)
            cr_assert(kill((pid_t)pid, 0) == -1 && errno == ESRCH, "pid %ld outlived the run", pid);
    }
}

/* ---- named_semaphore ---------------------------------------------------------------------- */

Test(semaphores, named_semaphore_counts_exactly_and_unlinks_its_name)
{
    struct program_run run;
    char *argv[] = {"named_semaphore", "--workers", "3", "--rounds", "5000", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "status %d, stdout:\n%s", run.status, run.out);
    cr_assert_eq(count_lines_containing(run.out, "counter = 15000, expected"), 2);
    cr_assert_eq(count_lines_containing(run.out, "exists"), 1, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "is gone"), 1, "%s", run.out);
    /* The exact name this run used must be gone from /dev/shm. */
    char name[128] = "";
    const char *at = strstr(run.out, "(file /dev/shm/");
    cr_assert_not_null(at);
    cr_assert_eq(sscanf(at, "(file /dev/shm/%127[^)])", name), 1);
    cr_assert_eq(count_dir_entries_containing("/dev/shm", name), 0, "%s left behind", name);
    cr_assert_eq(count_abandoned_ipc("/dev/shm", "sem"), 0, "a semaphore whose creator is gone");
    program_run_free(&run);
}

/* Ctrl-C in the middle of a run: the program dies of SIGINT, and its semaphore's name is
 * unlinked by the cleanup handler anyway.  The program is started by hand here (run_program
 * cannot send a signal mid-run); its child is killed with the test if the test dies. */
Test(semaphores, named_semaphore_interrupted_leaves_nothing_in_dev_shm)
{
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(126);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(FORKLORE_BIN "/named_semaphore", "named_semaphore", "--kind", "named", "--rounds",
              "100000000", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    /* Read until the workers are running (the program says the file exists), or give up. */
    char text[4096] = "";
    size_t used = 0;
    const char *scale = getenv("FORKLORE_TIMEOUT_SCALE");
    int limit_ms = 10000 * (scale ? atoi(scale) : 1);
    struct pollfd pfd = {out[0], POLLIN, 0};
    while (strstr(text, " exists") == NULL && used < sizeof text - 1 &&
           poll(&pfd, 1, limit_ms) == 1) {
        ssize_t got = read(out[0], text + used, sizeof text - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
        text[used] = '\0';
    }
    int running = strstr(text, " exists") != NULL;
    kill(pid, running ? SIGINT : SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(out[0]);
    cr_assert(running, "the program never reported its semaphore:\n%s", text);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %d", status);
    char name[128] = "";
    const char *at = strstr(text, "(file /dev/shm/");
    cr_assert_not_null(at);
    cr_assert_eq(sscanf(at, "(file /dev/shm/%127[^)])", name), 1);
    cr_assert_eq(count_dir_entries_containing("/dev/shm", name), 0, "%s left behind", name);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(semaphores, unnamed_semaphore_needs_no_name)
{
    struct program_run run;
    char *argv[] = {"named_semaphore", "--kind", "unnamed", "--rounds", "3000", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "counter = 12000, expected"), 1);
    cr_assert_eq(count_lines_containing(run.out, "/dev/shm"), 0);
    program_run_free(&run);
}

/* ---- counting_semaphore ------------------------------------------------------------------- */

Test(semaphores, counting_semaphore_never_exceeds_its_limit)
{
    struct program_run run;
    char *argv[] = {"counting_semaphore", "--workers", "8", "--limit", "3", "--uses", "10", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    long peak = number_after(run.out, "peak concurrent users = ");
    cr_assert(peak >= 1 && peak <= 3, "peak %ld with limit 3:\n%s", peak, run.out);
    cr_assert_eq(number_after(run.out, "completed uses = "), 80);
    program_run_free(&run);
}

Test(semaphores, counting_semaphore_timed_wait_times_out)
{
    struct program_run run;
    char *argv[] = {"counting_semaphore", "--workers", "2", "--uses", "2",
                    "--timeout-ms",       "50",        NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "sem_timedwait gave up after"), 1, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "ETIMEDOUT"), 1);
    program_run_free(&run);
}

/* ---- bounded_semaphore -------------------------------------------------------------------- */

Test(semaphores, bounded_semaphore_refuses_over_release)
{
    struct program_run run;
    char *argv[] = {"bounded_semaphore", "--bound", "2", "--extra-releases", "3", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "release refused: EOVERFLOW"), 3, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "plain sem_t value = 5"), 1, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "bounded value = 2, refused releases = 3"), 1);
    cr_assert_eq(count_lines_containing(run.out, "ACCEPTED"), 0);
    program_run_free(&run);
}

/* ---- condition_variable ------------------------------------------------------------------- */

Test(semaphores, condition_variable_handshake_delivers_every_item_once)
{
    struct program_run run;
    char *argv[] = {"condition_variable", "--consumers", "4", "--items", "3000", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "received 3000 items (expected 3000), sum 4501500 "
                                                 "(expected 4501500): correct"),
                 1, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "] consumer "), 4);
    cr_assert_eq(count_lines_containing(run.out, "timed wait on CLOCK_MONOTONIC: ETIMEDOUT"), 1);
    assert_pids_after_gone(run.out, "[pid ");
    program_run_free(&run);
}

/* ---- barrier ------------------------------------------------------------------------------ */

Test(semaphores, barrier_rounds_have_one_serial_process_and_no_run_ahead)
{
    struct program_run run;
    char *argv[] = {"barrier", "--workers", "5", "--rounds", "7", "--work-us", "500", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "all 5 arrived; worker"), 7, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "7 rounds completed; ran ahead: 0; rounds "
                                                 "without exactly one serial worker: 0"),
                 1);
    program_run_free(&run);
}

/* ---- event -------------------------------------------------------------------------------- */

Test(semaphores, event_wakes_every_waiter_and_a_cleared_wait_times_out)
{
    struct program_run run;
    char *argv[] = {"event", "--waiters", "5", "--delay-ms", "20", "--timeout-ms", "50", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0), "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "event is set"), 5, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "5 of 5 waiters saw the event set"), 1);
    cr_assert_eq(count_lines_containing(run.out, "is_set = 0; event_wait(50 ms) returned false"), 1,
                 "%s", run.out);
    program_run_free(&run);
}

/* ---- every program: --help, bad arguments --------------------------------------------------- */

/* Each program with one option that takes a number, and a value it must refuse. */
static const char *const programs[][3] = {
    {"named_semaphore", "--workers", "0"},  {"counting_semaphore", "--limit", "lots"},
    {"bounded_semaphore", "--bound", "-1"}, {"condition_variable", "--consumers", "65"},
    {"barrier", "--rounds", "1x"},          {"event", "--waiters", ""},
};

Test(semaphores, every_program_has_help_and_refuses_bad_arguments)
{
    skip_argument_checks_under_valgrind();
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        char *name = (char *)programs[i][0];
        assert_help(name, "--help");
        char *unknown[] = {name, "--no-such-option", NULL};
        assert_usage_error(unknown, NULL);
        assert_refuses_bad_arguments(name, programs[i][1], programs[i][2]);
    }
    struct program_run run;
    char *bad_kind[] = {"named_semaphore", "--kind", "both-and-more", NULL};
    run_checked(bad_kind, &run);
    cr_assert(exited_with(&run, 2));
    program_run_free(&run);
}

/* ---- lessons/06-semaphores-and-conditions.md: predict, then run ----------------------------- */

/* predict_1: while the named semaphore is open, and after sem_unlink, is its file there? */
Test(lesson_semaphores, predict_1)
{
    struct program_run run;
    char *argv[] = {"named_semaphore", "--kind", "named", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "while the workers run, /dev/shm/sem."), 1);
    cr_assert_eq(count_lines_containing(run.out, " exists"), 1, "%s", run.out);
    cr_assert_eq(count_lines_containing(run.out, "after sem_unlink"), 1);
    cr_assert_eq(count_lines_containing(run.out, " is gone"), 1, "%s", run.out);
    program_run_free(&run);
}

/* predict_2: --limit 1 turns the counting semaphore into a lock: the peak is exactly 1. */
Test(lesson_semaphores, predict_2)
{
    struct program_run run;
    char *argv[] = {"counting_semaphore", "--limit", "1", "--uses", "5", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(number_after(run.out, "peak concurrent users = "), 1, "%s", run.out);
    program_run_free(&run);
}

/* predict_3: two releases without an acquire: the plain value becomes K+2, the bounded one
 * refuses both and stays at K. */
Test(lesson_semaphores, predict_3)
{
    struct program_run run;
    char *argv[] = {"bounded_semaphore", "--extra-releases", "2", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out,
                                        "plain sem_t value = 4 (the limit is silently "
                                        "broken), bounded value = 2, refused releases = 2"),
                 1, "%s", run.out);
    program_run_free(&run);
}

/* predict_4: an event set before anyone waits is not lost: every waiter goes straight on. */
Test(lesson_semaphores, predict_4)
{
    struct program_run run;
    char *argv[] = {"event", "--set-early", "--waiters", "3", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "before starting the waiters: is_set = 1"), 1);
    cr_assert_eq(count_lines_containing(run.out, "3 of 3 waiters saw the event set"), 1);
    program_run_free(&run);
}

/* predict_5: exactly one PTHREAD_BARRIER_SERIAL_THREAD per round, however many workers. */
Test(lesson_semaphores, predict_5)
{
    struct program_run run;
    char *argv[] = {"barrier", "--workers", "3", "--rounds", "4", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "got PTHREAD_BARRIER_SERIAL_THREAD"), 4);
    program_run_free(&run);
}

/* predict_6: with one consumer, the sum is still right; the while loop is still needed in
 * principle (spurious wakeups), so the program keeps it either way. */
Test(lesson_semaphores, predict_6)
{
    struct program_run run;
    char *argv[] = {"condition_variable", "--consumers", "1", "--items", "500", NULL};
    run_checked(argv, &run);
    cr_assert(exited_with(&run, 0));
    cr_assert_eq(count_lines_containing(run.out, "received 500 items (expected 500), sum 125250 "
                                                 "(expected 125250): correct"),
                 1, "%s", run.out);
    program_run_free(&run);
}
