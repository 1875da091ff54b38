/* test_pipes.c - the pipes family: pipes, pipelines, EOF, SIGPIPE, atomicity, FIFOs,
 * socket pairs and poll().  Suites: pipes, fifo, socketpair, poll. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Run a program (argv[0] names it in build/bin) and fail the test if it could not start. */
static void run(char *const argv[], int timeout_s, struct program_run *r)
{
    cr_assert_eq(run_program(argv, timeout_s, r), 0, "could not start %s", argv[0]);
    cr_assert(!r->timed_out, "%s timed out\nstdout:\n%s\nstderr:\n%s", argv[0], r->out, r->err);
}

static void assert_exit(const struct program_run *r, int code, const char *what)
{
    cr_assert(exited_with(r, code), "%s: expected exit %d, status 0x%x\nstdout:\n%s\nstderr:\n%s",
              what, code, r->status, r->out, r->err);
}

/* The directory a fifo_client_server run printed as "dir=PATH ". */
static void printed_dir(const char *out, char *dir, size_t size)
{
    const char *p = strstr(out, "dir=");
    cr_assert_not_null(p, "no dir= in output:\n%s", out);
    p += 4;
    size_t n = strcspn(p, " \n");
    cr_assert(n > 0 && n < size);
    memcpy(dir, p, n);
    dir[n] = '\0';
}

static int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const char *const programs[] = {"pipe_basics",       "pipeline",       "pipe_eof",
                                       "sigpipe",           "pipe_atomicity", "fifo_client_server",
                                       "socketpair_duplex", "poll_mux"};
enum { PROGRAM_COUNT = sizeof programs / sizeof programs[0] };

/* --- every program: --help and bad arguments ---------------------------------------------- */

Test(pipes, every_program_prints_usage_for_help)
{
    skip_argument_checks_under_valgrind();
    for (int i = 0; i < PROGRAM_COUNT; i++) {
        struct program_run r;
        run((char *[]){(char *)programs[i], "--help", NULL}, 10, &r);
        assert_exit(&r, 0, programs[i]);
        cr_assert(strstr(r.out, "Usage:"), "%s --help: no Usage: on stdout", programs[i]);
        program_run_free(&r);
    }
}

Test(pipes, every_program_rejects_an_unknown_option_with_status_2)
{
    skip_argument_checks_under_valgrind();
    for (int i = 0; i < PROGRAM_COUNT; i++) {
        struct program_run r;
        run((char *[]){(char *)programs[i], "--no-such-option", NULL}, 10, &r);
        assert_exit(&r, 2, programs[i]);
        cr_assert(strstr(r.err, "unknown option"), "%s: reason missing:\n%s", programs[i], r.err);
        cr_assert(strstr(r.err, "Usage:"), "%s: usage missing on stderr", programs[i]);
        cr_assert_eq(r.out_len, 0, "%s printed to stdout before rejecting", programs[i]);
        program_run_free(&r);
    }
}

Test(pipes, bad_values_and_stray_arguments_exit_2)
{
    skip_argument_checks_under_valgrind();
    char *const cases[][4] = {
        {"pipe_basics", "--messages", "zero", NULL},
        {"pipe_basics", "stray", NULL},
        {"pipe_eof", "--mode", "sometimes", NULL},
        {"pipe_eof", "--watchdog", "-1", NULL},
        {"sigpipe", "--mode", "maybe", NULL},
        {"pipe_atomicity", "--writers", "27", NULL},
        {"pipe_atomicity", "--size", "12Q", NULL},
        {"fifo_client_server", "--role", "x", NULL},
        {"fifo_client_server", "--role=client", NULL},
        {"fifo_client_server", "--clients", "0", NULL},
        {"socketpair_duplex", "--max-size", "1M", NULL},
        {"poll_mux", "--children", "many", NULL},
        {"poll_mux", "--interval", NULL},
        {"pipeline", "ls", "|", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct program_run r;
        run(cases[i], 10, &r);
        assert_exit(&r, 2, cases[i][0]);
        cr_assert(strstr(r.err, "Usage:"), "%s %s: no usage", cases[i][0], cases[i][1]);
        cr_assert(strchr(r.err, '\n') && strchr(r.err, '\n') != r.err, "no one-line reason");
        program_run_free(&r);
    }
}

/* --- pipe_basics -------------------------------------------------------------------------- */

Test(pipes, basics_every_line_arrives_once_in_order)
{
    struct program_run r;
    run((char *[]){"pipe_basics", "--messages", "20000", "--requests", "300", NULL}, 30, &r);
    assert_exit(&r, 0, "pipe_basics");
    cr_assert(strstr(r.out, "read 20000 lines, then EOF; 0 out of order"), "%s", r.out);
    cr_assert(strstr(r.out, "300 of 300 replies correct"), "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 2);
    cr_assert_eq(count_my_zombies(), 0);
    program_run_free(&r);
}

/* --- pipeline ----------------------------------------------------------------------------- */

/* What /bin/sh prints for a command line. */
static char *shell_output(const char *command)
{
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    cr_assert_eq(pclose(p), 0);
    return buf;
}

Test(pipes, pipeline_default_output_equals_the_shells)
{
    struct program_run r;
    run((char *[]){"pipeline", NULL}, 10, &r);
    assert_exit(&r, 0, "pipeline");
    const char *expected =
        shell_output("printf 'pear\\napple\\npear\\nfig\\napple\\npear\\n' | sort | uniq -c");
    cr_assert_str_eq(r.out, expected);
    cr_assert_eq(count_lines_containing(r.err, "exited with 0"), 3);
    program_run_free(&r);
}

Test(pipes, pipeline_of_given_commands_equals_the_shells)
{
    struct program_run r;
    run((char *[]){"pipeline", "printf", "c\\nb\\na\\nb\\n", "|", "sort", "-r", "|", "uniq", "|",
                   "tr", "a-z", "A-Z", NULL},
        10, &r);
    assert_exit(&r, 0, "pipeline");
    const char *expected = shell_output("printf 'c\\nb\\na\\nb\\n' | sort -r | uniq | tr a-z A-Z");
    cr_assert_str_eq(r.out, expected);
    cr_assert(strstr(r.err, "4 stages"));
    program_run_free(&r);
}

Test(pipes, pipeline_status_is_the_last_stage_unless_pipefail)
{
    struct program_run r;
    run((char *[]){"pipeline", "false", "|", "true", NULL}, 10, &r);
    assert_exit(&r, 0, "false | true");
    cr_assert(strstr(r.err, "stage 1 (false)") && strstr(r.err, "exited with 1"), "%s", r.err);
    program_run_free(&r);
    run((char *[]){"pipeline", "--pipefail", "false", "|", "true", NULL}, 10, &r);
    assert_exit(&r, 1, "pipefail false | true");
    program_run_free(&r);
}

Test(pipes, pipeline_reports_a_stage_killed_by_sigpipe)
{
    struct program_run r;
    run((char *[]){"pipeline", "--pipefail", "yes", "|", "head", "-n", "2", NULL}, 10, &r);
    cr_assert_str_eq(r.out, "y\ny\n");
    cr_assert(strstr(r.err, "killed by signal 13"), "%s", r.err);
    assert_exit(&r, 141, "yes | head with pipefail"); /* 128 + SIGPIPE, like bash */
    program_run_free(&r);
}

Test(pipes, pipeline_command_not_found_is_127)
{
    struct program_run r;
    run((char *[]){"pipeline", "no-such-command-forklore", NULL}, 10, &r);
    assert_exit(&r, 127, "missing command");
    program_run_free(&r);
}

/* --- pipe_eof ------------------------------------------------------------------------------ */

Test(pipes, eof_fixed_mode_reaches_eof)
{
    struct program_run r;
    run((char *[]){"pipe_eof", "--mode=fixed", "--lines", "500", NULL}, 10, &r);
    assert_exit(&r, 0, "pipe_eof fixed");
    cr_assert(strstr(r.out, "EOF after"), "%s", r.out);
    cr_assert_null(strstr(r.out, "still waiting"));
    program_run_free(&r);
}

Test(pipes, eof_broken_reader_is_caught_by_the_watchdog)
{
    struct program_run r;
    run((char *[]){"pipe_eof", "--mode=broken", "--watchdog", "0.2", NULL}, 10, &r);
    assert_exit(&r, 0, "pipe_eof broken (detected as predicted)");
    cr_assert(strstr(r.out, "reader still waiting after 0.2s: a write end is still open in pid"),
              "%s", r.out);
    cr_assert(strstr(r.out, "(the reader itself)"), "%s", r.out);
    cr_assert(strstr(r.out, "exited with 3"));
    cr_assert_null(strstr(r.out, "EOF after"));
    program_run_free(&r);
}

Test(pipes, eof_broken_parent_names_the_parent)
{
    struct program_run r;
    run((char *[]){"pipe_eof", "--mode=broken-parent", "--watchdog", "0.2", NULL}, 10, &r);
    assert_exit(&r, 0, "pipe_eof broken-parent");
    cr_assert(strstr(r.out, "(the parent)"), "%s", r.out);
    program_run_free(&r);
}

Test(pipes, eof_default_shows_the_hang_then_the_fix)
{
    struct program_run r;
    run((char *[]){"pipe_eof", NULL}, 10, &r);
    assert_exit(&r, 0, "pipe_eof default");
    const char *hang = strstr(r.out, "still waiting"), *fix = strstr(r.out, "EOF after");
    cr_assert(hang && fix && hang < fix, "%s", r.out);
    program_run_free(&r);
}

/* --- sigpipe ------------------------------------------------------------------------------- */

Test(pipes, sigpipe_kills_a_writer_without_a_reader)
{
    struct program_run r;
    run((char *[]){"sigpipe", "--mode=default", NULL}, 20, &r);
    assert_exit(&r, 0, "sigpipe default");
    cr_assert(strstr(r.out, "killed by signal 13"), "%s", r.out);
    cr_assert_null(strstr(r.out, "EPIPE"), "a killed writer cannot report EPIPE");
    program_run_free(&r);
}

Test(pipes, sigpipe_ignored_turns_into_epipe)
{
    struct program_run r;
    run((char *[]){"sigpipe", "--mode=ignore", NULL}, 20, &r);
    assert_exit(&r, 0, "sigpipe ignore");
    cr_assert(strstr(r.out, "(EPIPE); exiting cleanly"), "%s", r.out);
    cr_assert_null(strstr(r.out, "killed by signal"));
    program_run_free(&r);
}

/* --- pipe_atomicity ------------------------------------------------------------------------ */

Test(pipes, atomicity_records_up_to_pipe_buf_are_never_torn)
{
    const char *sizes[] = {"100", "512", "4096"};
    for (int i = 0; i < 3; i++) {
        struct program_run r;
        run((char *[]){"pipe_atomicity", "--writers", "8", "--records", "2000", "--size",
                       (char *)sizes[i], NULL},
            60, &r);
        assert_exit(&r, 0, sizes[i]);
        cr_assert(strstr(r.out, "16000 records, 0 torn; every writer's bytes all arrived"), "%s",
                  r.out);
        program_run_free(&r);
    }
}

/* The amplified broken case: records twice the pipe's capacity must be split. */
Test(pipes, atomicity_records_above_pipe_buf_tear_when_amplified)
{
    struct program_run r;
    run((char *[]){"pipe_atomicity", "--writers", "4", "--records", "300", "--size", "8K",
                   "--pipe-size", "4K", NULL},
        60, &r);
    assert_exit(&r, 0, "pipe_atomicity big");
    cr_assert(strstr(r.out, "every writer's bytes all arrived"), "%s", r.out);
    cr_assert(strstr(r.out, "may interleave, and here they did"), "%s", r.out);
    program_run_free(&r);
}

/* --- fifo_client_server --------------------------------------------------------------------- */

Test(fifo, default_run_answers_every_client_and_removes_its_directory)
{
    struct program_run r;
    run((char *[]){"fifo_client_server", NULL}, 30, &r);
    assert_exit(&r, 0, "fifo default");
    cr_assert_eq(count_lines_containing(r.out, "3 of 3 replies correct"), 4, "%s", r.out);
    cr_assert(strstr(r.out, "served 12 requests"));
    char dir[256];
    printed_dir(r.out, dir, sizeof dir);
    cr_assert(!path_exists(dir), "%s was left behind", dir);
    program_run_free(&r);
}

Test(fifo, many_clients_many_requests)
{
    struct program_run r;
    run((char *[]){"fifo_client_server", "--clients", "32", "--requests", "200", NULL}, 60, &r);
    assert_exit(&r, 0, "fifo 32 clients");
    cr_assert_eq(count_lines_containing(r.out, "200 of 200 replies correct"), 32);
    cr_assert(strstr(r.out, "served 6400 requests"));
    char dir[256];
    printed_dir(r.out, dir, sizeof dir);
    cr_assert(!path_exists(dir));
    program_run_free(&r);
}

/* Server and client as two separate programs meeting in a directory the test made. */
Test(fifo, separate_server_and_client_programs_meet_by_name)
{
    char dir[4096], fifo[4200];
    make_temp_dir(dir, sizeof dir, "test-fifo");
    snprintf(fifo, sizeof fifo, "%s/server.fifo", dir);
    pid_t test = getpid(), server = fork();
    cr_assert_neq(server, -1);
    if (server == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != test)
            _exit(126);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execl(FORKLORE_BIN "/fifo_client_server", "fifo_client_server", "--role=server", "--dir",
              dir, "--count", "5", "--idle", "20", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !path_exists(fifo); i++) /* wait for the server's mkfifo */
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    struct program_run r;
    run((char *[]){"fifo_client_server", "--role=client", "--dir", dir, "--requests", "5", NULL},
        30, &r);
    int status;
    cr_assert_eq(waitpid(server, &status, 0), server);
    assert_exit(&r, 0, "client");
    cr_assert(strstr(r.out, "5 of 5 replies correct"), "%s", r.out);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server status 0x%x", status);
    cr_assert(!path_exists(fifo), "the server left its FIFO");
    cr_assert_eq(rmdir(dir), 0, "the directory is not empty");
    program_run_free(&r);
}

Test(fifo, client_without_server_fails_cleanly)
{
    char dir[4096];
    make_temp_dir(dir, sizeof dir, "test-fifo");
    struct program_run r;
    run((char *[]){"fifo_client_server", "--role=client", "--dir", dir, "--idle", "1", NULL}, 20,
        &r);
    assert_exit(&r, 1, "client without server");
    cr_assert(strstr(r.err, "is the server running?"), "%s", r.err);
    cr_assert_eq(rmdir(dir), 0, "the client left its FIFO behind");
    program_run_free(&r);
}

/* Ctrl-C in the middle: the FIFOs and the directory must go, and the children too. */
Test(fifo, sigint_leaves_nothing_behind)
{
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t test = getpid(), pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != test)
            _exit(126);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(FORKLORE_BIN "/fifo_client_server", "fifo_client_server", "--clients", "32",
              "--requests", "10000", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char first[512] = {0};
    ssize_t n = read(out[0], first, sizeof first - 1); /* flushed before the first fork */
    cr_assert_gt(n, 0);
    nanosleep(&(struct timespec){0, 100000000}, NULL); /* let the clients make their FIFOs */
    kill(pid, SIGINT);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(out[0]);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
              "expected death by SIGINT, status 0x%x", status);
    char dir[256];
    printed_dir(first, dir, sizeof dir);
    cr_assert(!path_exists(dir), "%s left behind after SIGINT", dir);
    cr_assert_eq(count_my_zombies(), 0);
}

/* --- socketpair_duplex ---------------------------------------------------------------------- */

Test(socketpair, default_run_frames_and_messages_arrive_whole)
{
    struct program_run r;
    run((char *[]){"socketpair_duplex", NULL}, 30, &r);
    assert_exit(&r, 0, "socketpair default");
    cr_assert(strstr(r.out, "200 of 200 frames echoed whole and correct"), "%s", r.out);
    cr_assert(strstr(r.out, "600 messages from 3 writers (600 expected), 0 torn or out of order"),
              "%s", r.out);
    program_run_free(&r);
}

Test(socketpair, big_frames_and_many_concurrent_writers)
{
    struct program_run r;
    run((char *[]){"socketpair_duplex", "--max-size", "64K", "--frames", "1000", "--writers", "8",
                   "--messages", "1000", NULL},
        60, &r);
    assert_exit(&r, 0, "socketpair big");
    cr_assert(strstr(r.out, "1000 of 1000 frames"), "%s", r.out);
    cr_assert(strstr(r.out, "8000 messages from 8 writers (8000 expected), 0 torn"), "%s", r.out);
    program_run_free(&r);
}

/* --- poll_mux -------------------------------------------------------------------------------- */

Test(poll, default_counts_match)
{
    struct program_run r;
    run((char *[]){"poll_mux", NULL}, 30, &r);
    assert_exit(&r, 0, "poll_mux default");
    cr_assert_eq(count_lines_containing(r.out, ": 20 lines, 0 out of order, EOF #"), 4, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 4);
    program_run_free(&r);
}

Test(poll, many_fast_children_every_line_once_in_order)
{
    struct program_run r;
    run((char *[]){"poll_mux", "--children", "50", "--messages", "2000", "--interval", "0", NULL},
        60, &r);
    assert_exit(&r, 0, "poll_mux 50");
    cr_assert_eq(count_lines_containing(r.out, ": 2000 lines, 0 out of order"), 50);
    cr_assert(strstr(r.out, "for 100000 lines; every line arrived once, in order"));
    program_run_free(&r);
}
