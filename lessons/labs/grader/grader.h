/* grader.h - the framework every lab's grade.c is written against.
 *
 * `make grade LAB=NAME` builds the lab from scratch into two programs (grade.sh): the grader
 * (grader.c), which holds no student code, and the test program (grade_test_main.c), which is
 * the lab's grade.c linked with the student's library files.  A lab is a table of tests; each
 * test is worth some points, and the grader runs each as a separate run of the test program,
 * in the sandbox (sandbox.h), under a time limit:
 *
 *   - a test passes by returning from run(): the test program then reports "passed" with a
 *     token only it and the grader know (grade_channel.h); no exit status ever passes a test;
 *   - it fails through grade_fail() or one of the grade_expect_*() checks, which report what
 *     was expected and what came instead, then end the test;
 *   - a test that runs past its limit, crashes, or ends without reporting (the code under test
 *     called exit()) fails, and the grader says which of these happened;
 *   - when a test ends, whatever it started (the student's children included) is killed and
 *     reaped, and its private /tmp and /dev/shm vanish, so one broken test cannot hang or
 *     poison the next.
 *
 * The grader prints one line per test with its points, the reasons for every lost point, and
 * the total; it writes the same in Gradescope's results.json format, alone and last; it exits
 * 0 only with full marks.  Inputs come from a seed the header prints, so a failure can be
 * replayed exactly (`make grade LAB=NAME SEED=N TEST=name`).
 *
 * Everything below marked "in a test" may be called only from a test's run() function, which
 * runs in the test program, with stdin from /dev/null, stdout and stderr both going to the
 * grader's collection of what the code printed, and besides those only the report channel
 * open (grade_channel_fd()).  Two environment variables tell a test where to look beyond the
 * build folder: FORKLORE_LAB_SRC, a copy of the submission's other files (written answers,
 * data), and FORKLORE_ROOT, the top of the repository (its tests/labs/ hidden).
 */
#ifndef FORKLORE_GRADER_H
#define FORKLORE_GRADER_H

#include <stddef.h>
#include <sys/types.h>

struct grade_test {
    const char *name;  /* [a-z0-9_]: the TEST= filter and the results file use it */
    const char *title; /* one line: what the test checks */
    int points;
    int timeout_s; /* scaled by $FORKLORE_TIMEOUT_SCALE when that is set */
    int min_cpus;  /* 0 for any machine; else not graded with fewer usable CPUs */
    void (*run)(void);
};

struct grade_lab {
    const char *name;     /* the LAB= name, which is also the folder's name */
    const char *title;    /* "Lab 1: a parallel command runner" */
    const char *ordering; /* what this grader relies on in the order of any output it
                             reads, in one or two sentences; printed in the header */
    const struct grade_test *tests;
    size_t count;
};

/* Each lab's grade.c defines this. */
extern const struct grade_lab grade_lab;

/* ---- in a test: reporting ------------------------------------------------------------------ */

/* A line of context (what was run, with which inputs), shown under the test's result when it
 * fails, or when it was picked with TEST=.  Keep it short.  These lines, like every message
 * below, reach the grader on the report channel, never mixed with what the code printed. */
void grade_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A line shown under the result always, passed or not: a measurement the student should see
 * (the times and the ratio of a speedup gate). */
void grade_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* End the test as not graded on this machine, for a reason that is the machine's and not the
 * code's (it is too busy to measure a speedup): its points are left out of the total and the
 * reason is shown, as for a test whose min_cpus the machine does not have. */
_Noreturn void grade_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fail the test now with one line saying what went wrong. */
_Noreturn void grade_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fail unless got == expected, printing "what", then "expected: ..." and "got: ..." lines. */
void grade_expect_long(const char *what, long expected, long got);
void grade_expect_string(const char *what, const char *expected, const char *got);

/* Fail with "what" unless condition holds; detail (printf-style) becomes the "got:" line. */
void grade_expect_true(int condition, const char *what, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- in a test: inputs ------------------------------------------------------------------- */

/* A random number in [low, high], from the run's seed and the test's name: the same SEED gives
 * a test the same inputs whether it runs alone (TEST=) or with the others. */
long grade_random(long low, long high);

/* The run's seed (printed in the header). */
unsigned long grade_seed(void);

/* The folder the lab was built into: the student's programs are there by their names. */
const char *grade_build_dir(void);

/* A fresh empty folder for this test, removed with everything in it after the test. */
const char *grade_temp_dir(void);

/* CPUs this process may run on (sched_getaffinity), or $FORKLORE_GRADE_CPUS when set lower
 * (to try a test's single-CPU path on a bigger machine). */
int grade_usable_cpus(void);

/* ---- in a test: running the student's programs ----------------------------------------------- */

struct grade_run {
    int status;      /* raw wait status */
    int timed_out;   /* 1 if killed at the time limit */
    int output_held; /* 1 if it ended but something it started kept its stdout/stderr open
                        (for a second, scaled): the run stops there, and says so */
    char *out, *err; /* what it wrote, NUL-terminated, malloc'd */
    size_t out_len, err_len;
    double seconds; /* wall time */
};

/* Run argv (argv[0] is a path, or a name looked up in the build folder when it has no '/'),
 * with input on its stdin (NULL: /dev/null), for at most timeout_s seconds (scaled as the
 * tests' limits are).  Fails the test if the program cannot be started. */
void grade_run(char *const argv[], const char *input, int timeout_s, struct grade_run *run);
void grade_run_free(struct grade_run *run);

/* "exited with status 3", "killed by signal 9 (Killed)", "did not finish in time (killed after
 * 5.0 s)". */
const char *grade_describe_status(const struct grade_run *run);

/* Fail unless the run exited (not killed, not timed out) with this status; says what it did
 * instead, with the first line of its stderr (up to 300 characters). */
void grade_expect_exit(const char *what, const struct grade_run *run, int code);

/* The suite's rule for a command-line program, checked as every lab states it: bad arguments
 * get one line saying why and the usage ("Usage: ...") on stderr, exit status 2;
 * --help prints the usage on stdout, exit status 0.  grade_expect_usage_error runs argv with
 * input on stdin (NULL: /dev/null) and fails unless the first holds; grade_expect_help runs
 * "program --help" and fails unless the second does.  Each says what it ran. */
void grade_expect_usage_error(char *const argv[], const char *input);
void grade_expect_help(const char *program);

/* Children of this test process right now, any state (the grader is a subreaper, so whatever
 * the student's program left running or unreaped is counted here too). */
int grade_count_children(void);

/* The one descriptor beyond 0, 1 and 2 that the test process holds on its own: the grader's
 * report channel (close-on-exec, so no program the test runs inherits it).  A test that closes
 * every other descriptor must leave this one open, or its verdict never reaches the grader. */
int grade_channel_fd(void);

/* Time limits are multiplied by this ($FORKLORE_TIMEOUT_SCALE, default 1). */
int grade_timeout_scale(void);

/* 1 when the test runs under valgrind (the valgrind gate grades the reference solutions under
 * memcheck): for the rare check that valgrind itself makes meaningless, which then calls
 * grade_skip and says why. */
int grade_under_valgrind(void);

/* ---- in a test: small tools ------------------------------------------------------------------ */

/* Seconds on the monotonic clock, for deadlines. */
double grade_now(void);

/* Sleep for ms milliseconds, going back to sleep after a signal handler runs. */
void grade_pause_ms(long ms);

/* A growing string for inputs and expected outputs.  Start from {0}; after the first add, data
 * is NUL-terminated and malloc'd (free it).  Running out of memory fails the test. */
struct grade_text {
    char *data;
    size_t len, cap;
};
void grade_text_add(struct grade_text *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A watchdog over a call in the test process that may never return on wrong code (taking the
 * student's lock, a get from an empty buffer): when the call is still running after seconds
 * (scaled as the tests' limits are), the test fails with the message, instead of waiting for
 * the grader's time limit and a bare "did not finish".  The message is formatted now; when the
 * watchdog fires it only write()s it and _exit()s, both async-signal-safe, so it is safe
 * wherever the test was stopped (inside stdio or malloc included).  It uses SIGALRM.  Call
 * grade_watchdog_off() as soon as the call returns. */
void grade_watchdog(int seconds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void grade_watchdog_off(void);

/* ---- in a test: processes it starts and what they hold (grade_inspect.c) -----------------------
 */

/* Fork a helper process that runs body(arg) and _exit()s with what it returns (0 for success;
 * it says why it failed on stderr, which the grader shows).  It is killed if the test process
 * dies.  Only the test process judges: a helper never calls grade_fail or grade_expect_*. */
pid_t grade_spawn(int (*body)(void *arg), void *arg);

/* The same, with a pipe back to the test: body gets the write end, *read_end the read end
 * (the test's copy of the write end is closed, so it sees end of file when the helper ends). */
pid_t grade_spawn_piped(int (*body)(void *arg, int out_fd), void *arg, int *read_end);

/* Wait up to seconds (scaled) for these processes; statuses[i] gets each one's wait status.
 * Returns how many were still running at the deadline: those are killed with SIGKILL and
 * reaped, and their statuses say so. */
int grade_wait_children(const pid_t *pids, int *statuses, int count, double seconds);

/* A process's state letter from /proc/PID/stat: 'R' running or runnable, 'S' asleep, 'Z' ended
 * but not reaped; 0 when it cannot be read (it is gone).  With cpu_ticks non-NULL, also the
 * CPU time it has used (user + system, in clock ticks), or -1. */
char grade_process_state(pid_t pid, long *cpu_ticks);

/* Whether pid is blocked: asleep ('S', or 'D' in the kernel) at the start and at the end of a
 * window of window_ms, and not run once in between, by the kernel's own count of the times it
 * ran on a CPU (/proc/PID/schedstat; its context switches in /proc/PID/status where schedstat
 * is missing).  A process that spins is never asleep; one that naps in a loop (usleep,
 * sched_yield, poll with a timeout of 0, waitpid WNOHANG) runs again and again.  Neither
 * passes, however busy the machine is: no CPU time per second is measured.  Returns 1 blocked,
 * 0 not, -1 gone (ended or reaped); *state and *runs (may be NULL) say what was seen: the
 * last state letter, and how many times it ran during the window. */
int grade_process_blocked(pid_t pid, long window_ms, char *state, long *runs);

/* Wait up to seconds (scaled) until each of the processes is blocked (as above, over a window
 * of 200 ms) or gone.  Returns -1 when all are, else the index of one that never was, with
 * *state and *runs (may be NULL) from its last look. */
int grade_wait_blocked(const pid_t *pids, int count, double seconds, char *state, long *runs);

/* Descriptors open in the test process, and memory mappings it has, right now: compare before
 * and after the student's create / destroy to find a leak. */
int grade_count_open_fds(void);
int grade_count_mappings(void);

/* The files in /dev/shm the test process maps right now (a named shared memory object or a
 * named semaphore shows up in /proc/self/maps).  Take them before the student's destroy, then
 * check that destroy removed every one. */
enum { GRADE_MAX_SHM_NAMES = 16 };
struct grade_shm_names {
    int count;
    char path[GRADE_MAX_SHM_NAMES][288]; /* "/dev/shm/" and a name of up to NAME_MAX */
};
void grade_shm_names_in_use(struct grade_shm_names *names);
void grade_expect_shm_names_gone(const struct grade_shm_names *names, const char *call);

#endif
