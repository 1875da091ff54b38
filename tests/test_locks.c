/* test_locks.c - the lock programs: exact counts in repeated runs, the robust mutex's
 * EOWNERDEAD and ENOTRECOVERABLE, the mutex types' answers, file-lock exclusion and EAGAIN,
 * the init race fixed, nothing left in /dev/shm or /tmp, and the lesson's predictions. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "support/cpus.h"

static void pin_to_one_cpu(void)
{
    int ids[1024];
    cr_assert_geq(usable_cpu_ids(ids, 1024), 1);
    pin_to_cpus(ids, 1);
}

/* How many lines contain both needles (a line's subject and its result). */
static int count_lines_with_both(const char *text, const char *a, const char *b)
{
    int count = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (memmem(line, len, a, strlen(a)) && memmem(line, len, b, strlen(b)))
            count++;
        line = end ? end + 1 : NULL;
    }
    return count;
}

/* ---- usage, for every lock program ---------------------------------------------------------- */

static const char *const programs[] = {"pshared_mutex", "robust_mutex",   "recursive_mutex",
                                       "file_locks",    "atomic_counter", "spin_locks",
                                       "init_race"};

Test(locks, help_exits_0_with_usage)
{
    skip_argument_checks_under_valgrind();
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        struct program_run r;
        run_expect(&r, (char *[]){(char *)programs[i], "--help", NULL}, 10, 0);
        cr_assert(strstr(r.out, "Usage:"), "%s --help:\n%s", programs[i], r.out);
        program_run_free(&r);
    }
}

static void check_bad(char *const argv[])
{
    struct program_run r;
    run_expect(&r, argv, 10, 2);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", argv[0]);
    cr_assert_eq(strncmp(r.err, prefix, strlen(prefix)), 0, "%s: no reason line:\n%s", argv[0],
                 r.err);
    cr_assert(strstr(r.err, "\nUsage:"), "%s: no usage:\n%s", argv[0], r.err);
    program_run_free(&r);
}

Test(locks, bad_arguments_exit_2)
{
    skip_argument_checks_under_valgrind();
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        check_bad((char *[]){(char *)programs[i], "--no-such-option", NULL});
        check_bad((char *[]){(char *)programs[i], "stray", NULL});
    }
    check_bad((char *[]){"pshared_mutex", "--workers", "0", NULL});
    check_bad((char *[]){"pshared_mutex", "--iterations", NULL});
    check_bad((char *[]){"robust_mutex", "--scenario", "ignore", NULL});
    check_bad((char *[]){"recursive_mutex", "--type", "adaptive", NULL});
    check_bad((char *[]){"file_locks", "--demo", "lockf", NULL});
    check_bad((char *[]){"file_locks", "--iterations", "-5", NULL});
    check_bad((char *[]){"atomic_counter", "--mode", "volatile", NULL});
    check_bad((char *[]){"spin_locks", "--lock", "mcs", NULL});
    check_bad((char *[]){"init_race", "--sync", "maybe", NULL});
    check_bad((char *[]){"init_race", "--stagger-ms", "x", NULL});
}

/* ---- exact counts --------------------------------------------------------------------------- */

Test(locks, pshared_mutex_is_exact_in_20_runs, .timeout = 300)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"pshared_mutex", "--runs", "20", "--workers", "3", "--iterations",
                          "20000", NULL},
               120, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: exact"), 20, "%s", r.out);
    cr_assert(strstr(r.out, "summary: 20 of 20 run(s) exact"), "%s", r.out);
    program_run_free(&r);
}

Test(locks, atomic_counter_is_exact_in_20_runs, .timeout = 300)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"atomic_counter", "--mode", "atomic", "--runs", "20", "--workers", "3",
                          "--iterations", "100000", NULL},
               120, 0);
    cr_assert_eq(count_lines_containing(r.out, "atomic verdict: exact"), 20, "%s", r.out);
    program_run_free(&r);
}

static void check_spin_locks(const char *workers)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"spin_locks", "--runs", "10", "--workers", (char *)workers,
                          "--iterations", "20000", NULL},
               120, 0);
    cr_assert_eq(count_lines_containing(r.out, "tas    verdict: exact"), 10, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "ticket verdict: exact"), 10, "%s", r.out);
    program_run_free(&r);
}

Test(locks, spin_and_ticket_locks_are_exact, .timeout = 300)
{
    check_spin_locks("3");
}

/* More spinners than CPUs: the sched_yield back-off must let the holder run. */
Test(locks, spin_and_ticket_locks_are_exact_on_one_cpu, .timeout = 300)
{
    pin_to_one_cpu();
    check_spin_locks("4");
}

/* ---- robust, recursive, error-checking ---------------------------------------------- */

Test(locks, robust_mutex_recovers_after_its_holder_is_killed, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"robust_mutex", "--scenario", "repair", NULL}, 30, 0);
    cr_assert_eq(count_lines_containing(r.out, "killed by signal 9"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "sum 90, should be 100"), 1, "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "parent: pthread_mutex_lock", "EOWNERDEAD"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_with_both(r.out, "(another process)", "-> 0 (success)"), 1, "%s",
                 r.out);
    cr_assert(strstr(r.out, "verdict: repair worked: account from=100 to=0 (sum 100)"), "%s",
              r.out);
    cr_assert_null(strstr(r.out, "ENOTRECOVERABLE"), "%s", r.out);
    program_run_free(&r);
}

Test(locks, robust_mutex_without_consistent_becomes_not_recoverable, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"robust_mutex", "--scenario", "abandon", NULL}, 30, 0);
    cr_assert_eq(count_lines_with_both(r.out, "parent: pthread_mutex_lock", "EOWNERDEAD"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_with_both(r.out, "(another process)", "ENOTRECOVERABLE"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "parent: pthread_mutex_lock -> ENOTRECOVERABLE"), 1,
                 "%s", r.out);
    program_run_free(&r);
}

Test(locks, recursive_errorcheck_and_normal_mutexes_answer_as_documented, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"recursive_mutex", NULL}, 30, 0);
    cr_assert(strstr(r.out, "verdict: every result as expected"), "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "UNEXPECTED"), 0, "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "other process  pthread_mutex_trylock", "EBUSY"), 2,
                 "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "pthread_mutex_lock", "EDEADLK"), 1, "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "other process  pthread_mutex_unlock", "EPERM"), 1,
                 "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "pthread_mutex_timedlock", "ETIMEDOUT"), 1, "%s",
                 r.out);
    program_run_free(&r);
}

/* ---- file locks ----------------------------------------------------------------------------- */

static void check_file_removed(const char *out)
{
    const char *line = strstr(out, "file: ");
    cr_assert_not_null(line, "%s", out);
    char file[256];
    cr_assert_eq(sscanf(line, "file: %255s", file), 1);
    cr_assert_eq(access(file, F_OK), -1, "%s left behind", file);
    char *slash = strrchr(file, '/');
    *slash = '\0';
    cr_assert_eq(access(file, F_OK), -1, "directory %s left behind", file);
    cr_assert_eq(errno, ENOENT);
}

Test(locks, file_locks_exclude_and_say_eagain, .timeout = 120)
{
    struct program_run r;
    run_expect(&r, (char *[]){"file_locks", NULL}, 60, 0);
    cr_assert(strstr(r.out, "verdict: every result as expected"), "%s", r.out);
    cr_assert_eq(
        count_lines_with_both(r.out, "parent         flock(LOCK_EX|LOCK_NB)", "EWOULDBLOCK"), 1,
        "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "flock(LOCK_EX), blocking", "-> 0"), 1, "%s", r.out);
    cr_assert_eq(count_lines_with_both(r.out, "F_SETLK F_WRLCK bytes 50-149", "-> EAGAIN"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_with_both(r.out, "F_SETLK F_WRLCK bytes 100-199", "-> 0"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_with_both(r.out, "F_SETLKW F_WRLCK bytes 0-99", "-> 0"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "counter [flock]: verdict: exact"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "counter [fcntl]: verdict: exact"), 1, "%s", r.out);
    check_file_removed(r.out);
    program_run_free(&r);
}

Test(locks, file_lock_counters_are_exact_with_many_workers, .timeout = 120)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"file_locks", "--demo", "counter", "--workers", "5", "--iterations",
                          "300", NULL},
               60, 0);
    cr_assert(strstr(r.out, "counter [flock]: verdict: exact (value 1500 of 1500)"), "%s", r.out);
    cr_assert(strstr(r.out, "counter [fcntl]: verdict: exact (value 1500 of 1500)"), "%s", r.out);
    check_file_removed(r.out);
    program_run_free(&r);
}

/* ---- the initialization race ---------------------------------------------------------------- */

/* Every object the run named must be gone from /dev/shm. */
static void check_objects_unlinked(const char *out)
{
    int objects = 0;
    for (const char *p = strstr(out, "(/dev/shm/"); p; p = strstr(p + 1, "(/dev/shm/")) {
        char path[256];
        cr_assert_eq(sscanf(p + 1, "%255[^)]", path), 1);
        cr_assert_eq(access(path, F_OK), -1, "%s left behind", path);
        objects++;
    }
    cr_assert_gt(objects, 0, "no object named in:\n%s", out);
}

Test(locks, init_race_fixed_is_always_consistent, .timeout = 300)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"init_race", "--sync", "excl", "--runs", "20", "--stagger-ms", "0",
                          "--workers", "3", "--iterations", "200", NULL},
               120, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: consistent"), 20, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "initialised 1 time(s); inside together 0"), 20,
                 "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "with O_EXCL: I initialised"), 20, "%s", r.out);
    check_objects_unlinked(r.out);
    program_run_free(&r);
    run_expect(&r, (char *[]){"init_race", "--sync", "excl", "--runs", "3", NULL}, 60, 0);
    cr_assert_eq(count_lines_containing(r.out, "verdict: consistent"), 3, "%s", r.out);
    check_objects_unlinked(r.out);
    program_run_free(&r);
}

Test(locks, init_race_broken_initialises_twice_and_cleans_up, .timeout = 120)
{
    struct program_run r;
    run_expect(&r, (char *[]){"init_race", "--sync", "none", NULL}, 60, 0);
    cr_assert_eq(count_lines_containing(r.out, "initialised the mutex"), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "initialised 2 time(s)"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "verdict: BROKEN"), 1, "%s", r.out);
    check_objects_unlinked(r.out);
    program_run_free(&r);
}

/* Ctrl-C in the middle of a run: the program dies of SIGINT, its workers are reaped and the
 * named object is unlinked by the cleanup module. */
Test(locks, init_race_ctrl_c_leaves_nothing_behind, .timeout = 300)
{
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t me = getpid();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) { /* the child only execs: it never asserts */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != me)
            _exit(126);
        if (dup2(out[1], STDOUT_FILENO) == -1)
            _exit(126);
        close(out[0]);
        close(out[1]);
        execl(FORKLORE_BIN "/init_race", "init_race", "--sync", "excl", "--iterations", "1000000",
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *from = fdopen(out[0], "r");
    cr_assert_not_null(from);
    char line[512], path[256] = "";
    int attached = 0;
    while (!attached && fgets(line, sizeof line, from)) { /* until a worker holds the object */
        const char *p = strstr(line, "(/dev/shm/");
        if (p)
            cr_assert_eq(sscanf(p + 1, "%255[^)]", path), 1);
        attached = strstr(line, "I initialised") != NULL;
    }
    cr_assert(attached && path[0], "init_race never reported its object");
    cr_assert_eq(access(path, F_OK), 0, "%s should exist while the workers run", path);
    cr_assert_eq(kill(pid, SIGINT), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    fclose(from);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "wait status %#x", status);
    cr_assert_eq(access(path, F_OK), -1, "%s left behind after Ctrl-C", path);
    cr_assert_eq(count_my_zombies(), 0);
}

/* ---- default runs --------------------------------------------------------------------------- */

Test(locks, default_runs_exit_0, .timeout = 300)
{
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        struct program_run r;
        run_expect(&r, (char *[]){(char *)programs[i], NULL}, 60, 0);
        program_run_free(&r);
    }
}

/* ---- the lesson's predictions (lessons/05-locks.md) ---------------------------------------- */

/* Q1: the holder is killed; the next pthread_mutex_lock returns EOWNERDEAD (and holds the lock). */
Test(lesson_locks, predict_1, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"robust_mutex", "--scenario", "repair", NULL}, 30, 0);
    cr_assert(strstr(r.out, "parent: pthread_mutex_lock -> EOWNERDEAD"), "%s", r.out);
    program_run_free(&r);
}

/* Q2: unlocked without pthread_mutex_consistent: another process gets ENOTRECOVERABLE. */
Test(lesson_locks, predict_2, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"robust_mutex", "--scenario", "abandon", NULL}, 30, 0);
    cr_assert_eq(count_lines_with_both(r.out, "(another process)", "ENOTRECOVERABLE"), 1, "%s",
                 r.out);
    program_run_free(&r);
}

/* Q3: recursive mutex locked twice, unlocked once: another process's trylock still gets EBUSY. */
Test(lesson_locks, predict_3, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"recursive_mutex", "--type", "recursive", NULL}, 30, 0);
    cr_assert(
        strstr(r.out, "other process  pthread_mutex_trylock    -> EBUSY     (still held once)"),
        "%s", r.out);
    program_run_free(&r);
}

/* Q4: one process, two open()s of one file, flock on both: the second gets EWOULDBLOCK. */
Test(lesson_locks, predict_4, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"file_locks", "--demo", "semantics", NULL}, 30, 0);
    cr_assert_eq(
        count_lines_with_both(r.out, "parent fd b    flock(LOCK_EX|LOCK_NB)", "EWOULDBLOCK"), 1,
        "%s", r.out);
    program_run_free(&r);
}

/* Q5: an fcntl lock taken through fd a; fd b of the same file closed: the lock is gone. */
Test(lesson_locks, predict_5, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"file_locks", "--demo", "semantics", NULL}, 30, 0);
    cr_assert_eq(count_lines_with_both(r.out, "other process", "-> 0  (closing fd b dropped"), 1,
                 "%s", r.out);
    program_run_free(&r);
}

/* Q6: every process initialising: "initialised 2 time(s)", and the count comes out wrong. */
Test(lesson_locks, predict_6, .timeout = 60)
{
    struct program_run r;
    run_expect(&r, (char *[]){"init_race", "--sync", "none", NULL}, 30, 0);
    cr_assert(strstr(r.out, "initialised 2 time(s)"), "%s", r.out);
    cr_assert(strstr(r.out, "verdict: BROKEN"), "%s", r.out);
    program_run_free(&r);
}
