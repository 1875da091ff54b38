/* test_process_helpers.c - the process idiom in support/: process.h, full_io.h,
 * process_shared.h, and how die() leaves a child.
 *
 * Each test forks the children it needs with start_child(), which also makes them die with
 * this test process; children report only through their exit status or a pipe. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/process.h"
#include "support/private_dir.h"
#include "support/process_shared.h"
#include "support/watchdog.h"

/* The write end of a pipe that an atexit handler marks: it shows whether exit() ran. */
static int exit_marker_fd = -1;

static void mark_exit(void)
{
    if (exit_marker_fd >= 0 && write(exit_marker_fd, "x", 1) != 1)
        _exit(99);
}

static void quiet_stderr(void)
{
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull == -1 || dup2(devnull, STDERR_FILENO) == -1)
        _exit(98);
}

/* Fork a child that dies after failing a call; count the atexit handlers that ran in it. */
static int exit_handlers_run_by_dying_child(int child_claims_ownership, int *status)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    claim_owning_process(); /* the test process owns the program */
    cr_assert_eq(atexit(mark_exit), 0);
    pid_t pid = start_child();
    if (pid == 0) {
        close(fds[0]);
        exit_marker_fd = fds[1];
        quiet_stderr();
        if (child_claims_ownership)
            claim_owning_process();
        errno = EIO;
        die("a call that failed");
    }
    close(fds[1]);
    *status = wait_for_child(pid);
    char buf[8];
    ssize_t n = read(fds[0], buf, sizeof buf);
    close(fds[0]);
    return (int)n;
}

Test(process_helpers, die_in_a_forked_child_leaves_with_exit_status_1_and_no_atexit_handler)
{
    int status;
    cr_assert_eq(exit_handlers_run_by_dying_child(0, &status), 0,
                 "the parent's atexit handler ran in the child: die() called exit()");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

Test(process_helpers, die_in_the_owning_process_runs_its_atexit_handlers)
{
    int status;
    cr_assert_eq(exit_handlers_run_by_dying_child(1, &status), 1,
                 "die() in the owning process must leave through exit()");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

Test(process_helpers, describe_status_names_an_exit_a_signal_and_a_stop)
{
    char how[STATUS_TEXT_SIZE];
    pid_t pid = start_child();
    if (pid == 0)
        _exit(3);
    cr_assert_str_eq(describe_status(wait_for_child(pid), how, sizeof how), "exited with 3");

    pid = start_child();
    if (pid == 0) {
        raise(SIGKILL);
        _exit(0);
    }
    int status = wait_for_child(pid);
    cr_assert(!child_succeeded(status));
    cr_assert(strncmp(describe_status(status, how, sizeof how), "killed by signal 9 (", 20) == 0,
              "%s", how);

    pid = start_child();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    cr_assert_eq(waitpid(pid, &status, WUNTRACED), pid);
    cr_assert(strncmp(describe_status(status, how, sizeof how), "stopped by signal 19", 20) == 0,
              "%s", how);
    cr_assert_eq(kill(pid, SIGCONT), 0);
    cr_assert(child_succeeded(wait_for_child(pid)));
}

Test(process_helpers, reap_child_counts_a_failure_and_not_a_success)
{
    pid_t ok = start_child();
    if (ok == 0)
        leave_child(EXIT_SUCCESS);
    pid_t bad = start_child();
    if (bad == 0)
        leave_child(7);
    int saved = dup(STDERR_FILENO);
    quiet_stderr(); /* reap_child prints a line for the failure */
    int failed = reap_child(ok, "worker") + reap_child(bad, "worker");
    cr_assert_neq(dup2(saved, STDERR_FILENO), -1);
    close(saved);
    cr_assert_eq(failed, 1);
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "both children were reaped");
    cr_assert_eq(errno, ECHILD);
}

Test(process_helpers, read_all_gets_every_byte_written_in_pieces_then_stops_at_eof)
{
    enum { SIZE = 300000, PIECE = 7001 }; /* more than a pipe holds, in odd pieces */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = start_child();
    if (pid == 0) {
        close(fds[0]);
        static char out[SIZE];
        for (size_t i = 0; i < SIZE; i++)
            out[i] = (char)(i % 251);
        for (size_t at = 0; at < SIZE; at += PIECE)
            write_all(fds[1], out + at, at + PIECE <= SIZE ? PIECE : SIZE - at);
        leave_child(EXIT_SUCCESS);
    }
    close(fds[1]);
    static char in[SIZE + 1000];
    size_t got = read_all(fds[0], in, sizeof in);
    close(fds[0]);
    cr_assert(child_succeeded(wait_for_child(pid)));
    cr_assert_eq(got, (size_t)SIZE, "read_all stops only at end of file");
    for (size_t i = 0; i < SIZE; i++)
        cr_assert_eq(in[i], (char)(i % 251), "byte %zu", i);
}

Test(process_helpers, write_fully_reports_a_closed_reader_as_epipe)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    cr_assert_eq(write_fully(fds[1], "abc", 3), -1);
    cr_assert_eq(errno, EPIPE);
    close(fds[1]);
}

Test(process_helpers, say_writes_one_line_tagged_with_the_pid)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    int saved = dup(STDOUT_FILENO);
    cr_assert_neq(dup2(fds[1], STDOUT_FILENO), -1);
    say("hello %d\n", 42);
    cr_assert_neq(dup2(saved, STDOUT_FILENO), -1);
    close(saved);
    close(fds[1]);
    char buf[128] = {0}, want[64];
    cr_assert_gt(read(fds[0], buf, sizeof buf - 1), 0);
    close(fds[0]);
    snprintf(want, sizeof want, "[pid %ld] hello 42\n", (long)getpid());
    cr_assert_str_eq(buf, want);
}

/* Children add to one counter under a shared mutex: no update may be lost. */
Test(process_helpers, a_shared_mutex_in_shared_memory_guards_a_counter_across_processes)
{
    enum { CHILDREN = 4, ADDS = 20000 };
    struct box {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        long counter;
    } *box = map_shared(sizeof *box);
    cr_assert_eq(box->counter, 0, "shared memory starts zeroed");
    init_shared_mutex(&box->lock);
    init_shared_cond(&box->changed);
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = start_child();
        if (pids[c] == 0) {
            for (int i = 0; i < ADDS; i++) {
                if (pthread_mutex_lock(&box->lock) != 0)
                    _exit(2);
                box->counter++;
                pthread_cond_broadcast(&box->changed);
                if (pthread_mutex_unlock(&box->lock) != 0)
                    _exit(2);
            }
            leave_child(EXIT_SUCCESS);
        }
    }
    for (int c = 0; c < CHILDREN; c++)
        cr_assert(child_succeeded(wait_for_child(pids[c])));
    cr_assert_eq(box->counter, (long)CHILDREN * ADDS);
    pthread_cond_destroy(&box->changed);
    pthread_mutex_destroy(&box->lock);
    unmap_shared(box, sizeof *box);
}

/* A bad close ends the process: here close(-1), the descriptor of an open() that failed.
 * (Not a number closed a moment ago: under valgrind, its own log file may take it again.) */
Test(process_helpers, close_or_die_ends_a_child_whose_close_fails)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    close_or_die(fds[0]);
    close_or_die(fds[1]);
    cr_assert_eq(fcntl(fds[1], F_GETFD), -1, "closed for real");
    pid_t pid = start_child();
    if (pid == 0) {
        quiet_stderr();
        close_or_die(-1); /* EBADF */
        leave_child(EXIT_SUCCESS);
    }
    int status = wait_for_child(pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "the bad close was not caught");
}

Test(process_helpers, deadline_after_ns_keeps_tv_nsec_below_a_second_and_lies_ahead)
{
    struct timespec now;
    cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    const int64_t waits[] = {0, 1, 999999999, 1000000000, 1500000000, 61999999999LL};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        struct timespec d = deadline_after_ns(CLOCK_MONOTONIC, waits[i]);
        cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000, "tv_nsec %ld", d.tv_nsec);
        int64_t ahead = (int64_t)(d.tv_sec - now.tv_sec) * 1000000000 + (d.tv_nsec - now.tv_nsec);
        cr_assert_geq(ahead, waits[i], "a deadline %lld ns away is %lld ns ahead",
                      (long long)waits[i], (long long)ahead);
    }
}

/* A run that hangs is ended by the watchdog: one line on stderr, then death by SIGTERM. */
Test(process_helpers, the_watchdog_names_itself_and_ends_a_hung_run_with_sigterm)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = start_child();
    if (pid == 0) {
        if (dup2(fds[1], STDERR_FILENO) == -1)
            _exit(98);
        start_watchdog(1, "the test hung on purpose");
        for (;;)
            pause(); /* the hang */
    }
    close_or_die(fds[1]);
    char text[256] = {0};
    size_t got = read_all(fds[0], text, sizeof text - 1);
    close_or_die(fds[0]);
    int status = wait_for_child(pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
    cr_assert_gt(got, 0);
    cr_assert(strstr(text, ": watchdog: the test hung on purpose\n") != NULL, "%s", text);
}

Test(process_helpers, a_private_dir_is_new_mode_0700_and_named_after_its_maker)
{
    char a[4096], b[4096], prefix[4200];
    cr_assert_eq(make_private_dir(a, sizeof a, "helpers-test"), 0);
    cr_assert_eq(make_private_dir(b, sizeof b, "helpers-test"), 0);
    cr_assert_str_neq(a, b, "mkdtemp gives a new name each time");
    snprintf(prefix, sizeof prefix, "%s/forklore-helpers-test-%ld-", temp_root(), (long)getpid());
    cr_assert(strncmp(a, prefix, strlen(prefix)) == 0, "%s does not start %s", a, prefix);
    struct stat st;
    cr_assert_eq(lstat(a, &st), 0);
    cr_assert(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "mode %o", st.st_mode);
    cr_assert_eq(rmdir(a), 0);
    cr_assert_eq(rmdir(b), 0);
    char tiny[8];
    cr_assert_eq(make_private_dir(tiny, sizeof tiny, "helpers-test"), -1);
    cr_assert_eq(errno, ENAMETOOLONG);
}
