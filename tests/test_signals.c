/* test_signals.c - the programs of patterns/signals and the answers to lessons/01b-signals.md
 * "Predict, then run" (Test(lesson_signals, predict_N)), and the promise every signal program
 * (and lesson 02b's shared-memory programs) makes: interrupted at any moment, it leaves no
 * child, no zombie and no object behind. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void run(char *const argv[], struct program_run *r)
{
    run_finished(r, argv, 60);
}

/* 1: SIGUSR1 sent 5 times while blocked runs its handler once; SIGRTMIN runs it 5 times. */
Test(lesson_signals, predict_1)
{
    struct program_run r;
    run((char *[]){"signal_delivery", "--only", "queue", "--count", "5", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    expect_text(r.out, "pending now: SIGUSR1 yes, SIGRTMIN yes");
    expect_text(r.out, "handler runs so far: SIGUSR1 0, SIGRTMIN 0");
    expect_text(r.out, "SIGUSR1 handler ran 1 time(s) for 5 sent; SIGRTMIN handler ran 5 time(s) "
                       "for 5 sent, values in order");
    program_run_free(&r);
}

/* 2: only the sigaction without SA_RESTART sees EINTR; signal() behaves like SA_RESTART. */
Test(lesson_signals, predict_2)
{
    struct program_run r;
    run((char *[]){"signal_delivery", "--only", "eintr", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "(EINTR)"), 1, "%s", r.out);
    expect_text(r.out, "[sigaction without SA_RESTART] read() failed after ");
    expect_text(r.out, "[sigaction with SA_RESTART] read() returned 5 bytes \"hello\"");
    expect_text(r.out, "[signal() (glibc)] read() returned 5 bytes \"hello\"");
    program_run_free(&r);
}

/* 3: five children end while SIGCHLD is blocked: one handler call; broken reaps 1, fixed 5. */
Test(lesson_signals, predict_3)
{
    struct program_run r;
    run((char *[]){"sigchld_reaper", "--mode", "broken", "--children", "5", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    expect_text(r.out, "handler ran 1 time(s) and reaped 1 of 5; zombies left: 4");
    expect_text(r.out, "reaped the 4 left behind from main");
    program_run_free(&r);
    run((char *[]){"sigchld_reaper", "--mode", "fixed", "--children", "5", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    expect_text(r.out, "handler ran 1 time(s) and reaped 5 of 5; zombies left: 0");
    program_run_free(&r);
    cr_assert_eq(count_my_zombies(), 0);
}

/* 4: SIGCHLD ignored: no zombies, and waitpid fails with ECHILD. */
Test(lesson_signals, predict_4)
{
    struct program_run r;
    run((char *[]){"sigchld_reaper", "--mode", "ignore", "--children", "5", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    char expected[128];
    snprintf(expected, sizeof expected, "waitpid(-1) -> -1 (%s); zombies: 0", strerror(ECHILD));
    expect_text(r.out, expected);
    program_run_free(&r);
}

/* 5: fork keeps handler, ignore and mask but not the pending SIGWINCH; exec resets the
 * handler to the default and keeps the rest, pending signal included (natively). */
Test(lesson_signals, predict_5)
{
    struct program_run r;
    run((char *[]){"signal_inheritance", NULL}, &r);
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    const char *fork_lines = strstr(r.out, "[after fork ");
    const char *exec_lines = strstr(r.out, "[after exec ");
    cr_assert(fork_lines && exec_lines && fork_lines < exec_lines, "%s", r.out);
    char *line = line_containing(fork_lines, "SIGUSR1   action");
    expect_text(line, "action handler");
    free(line);
    line = line_containing(fork_lines, "SIGWINCH  action");
    expect_text(line, "blocked yes pending no");
    free(line);
    line = line_containing(exec_lines, "SIGUSR1   action");
    expect_text(line, "action default");
    free(line);
    line = line_containing(exec_lines, "SIGUSR2   action");
    expect_text(line, "action ignored");
    free(line);
    line = line_containing(exec_lines, "SIGWINCH  action");
    expect_text(line, under_valgrind() ? "blocked yes" : "blocked yes pending yes");
    free(line);
    program_run_free(&r);
}

/* 6: a worker that ignores SIGTERM is SIGKILLed after the grace period; the others write
 * their counts; the supervisor exits 1 and still removes everything. */
Test(lesson_signals, predict_6)
{
    struct program_run r;
    run((char *[]){"graceful_shutdown", "--stubborn", "--grace-ms", "300", NULL}, &r);
    cr_assert(exited_with(&r, 1), "status %#x\n%s", r.status, r.out);
    char expected[96];
    snprintf(expected, sizeof expected, ") killed by signal %d (%s)", SIGKILL, strsignal(SIGKILL));
    char *line = line_containing(r.out, "[supervisor] worker 0 (pid ");
    expect_text(line, expected);
    free(line);
    expect_text(r.out, "worker(s) still running after 300 ms: kill(-");
    expect_text(r.out, "results file: 2 line(s), 2 matching the heartbeat board");
    expect_text(r.out, "[supervisor] removed ");
    program_run_free(&r);
    cr_assert_eq(count_abandoned_ipc("/dev/shm", "shutdown"), 0);
}

/* 7: SIGKILLed half-way, worker 0 is reported through SIGCHLD; the run goes on, exits 1. */
Test(lesson_signals, predict_7)
{
    struct program_run r;
    run((char *[]){"graceful_shutdown", "--kill-one", "--wakeup", "self-pipe", NULL}, &r);
    cr_assert(exited_with(&r, 1), "status %#x\n%s", r.status, r.out);
    const char *killed = strstr(r.out, "[supervisor] worker 0 (pid ");
    const char *alarm_line = strstr(r.out, "got ALRM: stopping");
    cr_assert(killed && alarm_line && killed < alarm_line, "reported before the end:\n%s", r.out);
    expect_text(r.out, "results file: 2 line(s), 2 matching the heartbeat board");
    program_run_free(&r);
}

/* The default run: every worker honours SIGTERM, both ways of waking the loop. */
Test(signals, graceful_shutdown_stops_every_worker_with_sigterm)
{
    const char *ways[] = {"signalfd", "self-pipe"};
    for (int i = 0; i < 2; i++) {
        struct program_run r;
        run((char *[]){"graceful_shutdown", "--workers", "4", "--wakeup", (char *)ways[i], NULL},
            &r);
        cr_assert(exited_with(&r, 0), "%s: status %#x\n%s", ways[i], r.status, r.out);
        cr_assert_eq(count_lines_containing(r.out, ") exited with 0"), 4, "%s", r.out);
        expect_text(r.out, "results file: 4 line(s), 4 matching the heartbeat board");
        program_run_free(&r);
    }
}

Test(signals, programs_refuse_bad_values)
{
    skip_argument_checks_under_valgrind();
    assert_refuses_bad_arguments("signal_delivery", "--count", "0");
    assert_refuses_bad_arguments("sigchld_reaper", "--children", "1");
    assert_refuses_bad_arguments("graceful_shutdown", "--wakeup", "carrier-pigeon");
    assert_usage_error((char *[]){"signal_delivery", "--only", "everything", NULL}, "--only");
    assert_usage_error((char *[]){"sigchld_reaper", "--mode", "sometimes", NULL}, "--mode");
}

/* ---- Interrupted at any moment -------------------------------------------------------------- */

/* Start a program with its output thrown away; it dies with this test process. */
static pid_t start_quietly(char *const argv[])
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(126);
        int null = open("/dev/null", O_RDWR);
        if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 || dup2(null, 2) == -1)
            _exit(126);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", FORKLORE_BIN, argv[0]);
        execv(path, argv);
        _exit(127);
    }
    return pid;
}

/* Folders named /tmp/forklore-shutdown-PID-* for this pid. */
static int leftover_folders(pid_t pid)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "/tmp/forklore-shutdown-%ld-*", (long)pid);
    glob_t g;
    int n = glob(pattern, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
    globfree(&g);
    return n;
}

/* System V segments whose creator was pid still present (/proc/sysvipc/shm: cpid column). */
static int leftover_sysv_segments(pid_t pid)
{
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    if (!f)
        return 0; /* no System V IPC on this kernel: nothing can be left */
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof line, f)) /* the header */
        line[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        long key, id, size, cpid;
        unsigned long perms;
        if (sscanf(line, "%ld %ld %lo %ld %ld", &key, &id, &perms, &size, &cpid) == 5 &&
            cpid == (long)pid)
            n++;
    }
    fclose(f);
    return n;
}

/* Wait for pid at most limit_s seconds (scaled like the harness's limits); SIGKILL after. */
static int wait_with_limit(pid_t pid, int limit_s, int *status)
{
    const char *scale_text = getenv("FORKLORE_TIMEOUT_SCALE");
    long scale = scale_text ? atol(scale_text) : 1;
    long polls = (long)limit_s * 100 * (scale > 0 ? scale : 1);
    for (long i = 0; i < polls; i++) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid)
            return 1;
        cr_assert(got == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        struct timespec ten_ms = {0, 10000000};
        nanosleep(&ten_ms, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return 0;
}

/* Each run: SIGINT or SIGTERM after a random delay from 0 to the program's usual run time
 * (every failure message names the seed that replays the run).
 * Whenever it lands, the program must end (of that signal, or normally if it was done), and
 * leave no process (this test is their subreaper, so an orphan would be its child) and no
 * name in /dev/shm or /tmp. */
Test(signals, interrupted_at_random_moments_they_leave_nothing_behind, .timeout = 600)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    struct {
        char *argv[8];
        int span_ms; /* a little over the program's usual run time */
    } programs[] = {
        {{"signal_delivery", NULL}, 200},
        {{"sigchld_reaper", "--children", "20", NULL}, 100},
        {{"signal_inheritance", NULL}, 50},
        {{"graceful_shutdown", "--run-ms", "200", NULL}, 300},
        {{"graceful_shutdown", "--run-ms", "200", "--wakeup", "self-pipe", "--stubborn", NULL},
         400},
        /* Lesson 02b's programs own named objects and a System V segment: the same promise. */
        {{"shm_objects", NULL}, 60},
        {{"shared_mapping", NULL}, 20},
    };
    /* FORKLORE_INTERRUPT_SEED=N replays the moments of an earlier run. */
    const char *replay = getenv("FORKLORE_INTERRUPT_SEED");
    const unsigned first_seed =
        replay ? (unsigned)strtoul(replay, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    unsigned seed = first_seed;
    int runs = under_valgrind() ? 2 : 12;
    for (size_t p = 0; p < sizeof programs / sizeof programs[0]; p++) {
        for (int i = 0; i < runs; i++) {
            /* A third of the runs within the first 2 ms, where a program is creating what it
             * will own: the moments a careless program leaks from. */
            unsigned span_us = i % 3 == 0 ? 2000 : (unsigned)programs[p].span_ms * 1000;
            int delay_us = (int)(rand_r(&seed) % span_us);
            int sig = i % 2 ? SIGTERM : SIGINT;
            pid_t pid = start_quietly(programs[p].argv);
            usleep((useconds_t)delay_us);
            kill(pid, sig);
            int status = 0;
            int ended = wait_with_limit(pid, 30, &status);
            char what[160];
            snprintf(what, sizeof what, "%s, %s after %d us (FORKLORE_INTERRUPT_SEED=%u, run %d)",
                     programs[p].argv[0], strsignal(sig), delay_us, first_seed, i);
            cr_assert(ended, "%s: still running 30 s later", what);
            cr_assert(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == sig),
                      "%s: status %#x", what, status);
            cr_assert_eq(count_my_children(), 0, "%s: left a process behind", what);
            cr_assert_eq(count_abandoned_ipc("/dev/shm", "shutdown") +
                             count_abandoned_ipc("/dev/shm", "shm"),
                         0, "%s: left a /dev/shm object", what);
            cr_assert_eq(leftover_sysv_segments(pid), 0, "%s: left a System V segment", what);
            cr_assert_eq(leftover_folders(pid), 0, "%s: left a folder in /tmp", what);
        }
    }
}
