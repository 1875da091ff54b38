/* grade_api.c - what a lab's tests call (grader.h), in the test program.
 *
 * This file runs inside the test program, beside the student's code, in the sandbox: nothing
 * here can write results or decide a score.  It reports to the grader only through records on
 * the report channel, each carrying the token of this run (grade_channel.h); a test's verdict
 * is the last record it sends.  The grader itself (grader.c) links this file too, for the
 * symbols the lab's grade.c names, but never calls it.
 */
#define _GNU_SOURCE
#include "grader.h"
#include "grade_channel.h"
#include "support/process_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the state a test process sees ---------------------------------------------------------- */

static unsigned long run_seed;
static char build_dir[PATH_MAX];
static char temp_dir[PATH_MAX];
static char token[GRADE_TOKEN_LENGTH + 1]; /* this run's secret (grade_channel.h) */

static uint64_t mix(uint64_t x) /* splitmix64's finaliser: a good hash of one number */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t random_state;

long grade_random(long low, long high)
{
    if (high <= low)
        return low;
    random_state = mix(random_state);
    return low + (long)(random_state % (uint64_t)(high - low + 1));
}

unsigned long grade_seed(void)
{
    return run_seed;
}
const char *grade_build_dir(void)
{
    return build_dir;
}
const char *grade_temp_dir(void)
{
    return temp_dir;
}

int grade_channel_fd(void)
{
    return GRADE_REPORT_FD;
}

int grade_timeout_scale(void)
{
    const char *text = getenv("FORKLORE_TIMEOUT_SCALE");
    int scale = text ? atoi(text) : 1;
    return scale > 0 ? scale : 1;
}

int grade_under_valgrind(void)
{
    /* valgrind announces itself to the programs it runs through its preloaded library. */
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload") != NULL;
}

int grade_usable_cpus(void)
{
    cpu_set_t set;
    int count = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        count = CPU_COUNT(&set);
    const char *limit = getenv("FORKLORE_GRADE_CPUS");
    if (limit && atoi(limit) > 0 && atoi(limit) < count)
        count = atoi(limit);
    return count;
}

/* ---- reporting, in a test ------------------------------------------------------------------- */

/* One record (grade_channel.h) into buffer: token, kind, one line of text.  Returns its length. */
static size_t format_record(char *buffer, size_t size, char kind, const char *line, size_t len)
{
    size_t room = size - GRADE_TOKEN_LENGTH - 4;
    if (len > room)
        len = room;
    memcpy(buffer, token, GRADE_TOKEN_LENGTH);
    buffer[GRADE_TOKEN_LENGTH] = ' ';
    buffer[GRADE_TOKEN_LENGTH + 1] = kind;
    buffer[GRADE_TOKEN_LENGTH + 2] = ' ';
    memcpy(buffer + GRADE_TOKEN_LENGTH + 3, line, len);
    buffer[GRADE_TOKEN_LENGTH + 3 + len] = '\n';
    return GRADE_TOKEN_LENGTH + 4 + len;
}

static void send_record(char kind, const char *line, size_t len)
{
    char record[GRADE_RECORD_MAX];
    size_t n = format_record(record, sizeof record, kind, line, len);
    /* One write: a record never interleaves with another process's. */
    while (write(GRADE_REPORT_FD, record, n) == -1 && errno == EINTR)
        continue;
}

/* Send text as records of this kind, the first line after label, the others indented to match. */
static void say_lines_as(char kind, const char *label, const char *text)
{
    size_t indent = strlen(label);
    for (const char *line = text;;) {
        size_t len = strcspn(line, "\n");
        char shown[GRADE_RECORD_MAX];
        int n = snprintf(shown, sizeof shown, "%*s%.*s", (int)indent, line == text ? label : "",
                         (int)len, line);
        send_record(kind, shown,
                    n < 0                       ? 0
                    : (size_t)n >= sizeof shown ? sizeof shown - 1
                                                : (size_t)n);
        if (line[len] == '\0' || line[len + 1] == '\0')
            break;
        line += len + 1;
    }
}

static void say_lines(const char *label, const char *text)
{
    say_lines_as(GRADE_RECORD_NOTE, label, text);
}

static void say(char kind, const char *fmt, va_list ap)
{
    char text[4096];
    vsnprintf(text, sizeof text, fmt, ap);
    say_lines_as(kind, "", text);
}

_Noreturn void grade_api_end(enum grade_record_kind verdict)
{
    fflush(stdout); /* what the test printed goes out before its verdict */
    fflush(stderr);
    send_record((char)verdict, "", 0);
    _exit(0); /* the status means nothing to the grader: only the verdict record counts */
}

void grade_api_begin(unsigned long seed, const char *test_name, const char *build, const char *temp,
                     const char *secret)
{
    run_seed = seed;
    snprintf(build_dir, sizeof build_dir, "%s", build);
    snprintf(temp_dir, sizeof temp_dir, "%s", temp);
    snprintf(token, sizeof token, "%s", secret);
    /* The test's inputs depend on the seed and its name only. */
    random_state = run_seed;
    for (const char *c = test_name; *c; c++)
        random_state = mix(random_state ^ (unsigned char)*c);
}

void grade_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(GRADE_RECORD_SHOW, fmt, ap);
    va_end(ap);
}

_Noreturn void grade_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(GRADE_RECORD_NOTE, fmt, ap);
    va_end(ap);
    grade_api_end(GRADE_RECORD_SKIPPED);
}

void grade_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(GRADE_RECORD_NOTE, fmt, ap);
    va_end(ap);
}

_Noreturn static void end_failed(void)
{
    grade_api_end(GRADE_RECORD_FAILED);
}

_Noreturn void grade_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(GRADE_RECORD_NOTE, fmt, ap);
    va_end(ap);
    end_failed();
}

static void fail_lines(const char *what, const char *expected, const char *got)
{
    say_lines("", what);
    say_lines("  expected: ", expected);
    say_lines("  got:      ", got);
    end_failed();
}

void grade_expect_long(const char *what, long expected, long got)
{
    if (expected == got)
        return;
    char e[32], g[32];
    snprintf(e, sizeof e, "%ld", expected);
    snprintf(g, sizeof g, "%ld", got);
    fail_lines(what, e, g);
}

void grade_expect_string(const char *what, const char *expected, const char *got)
{
    if (got && strcmp(expected, got) == 0)
        return;
    fail_lines(what, expected, got ? got : "(nothing)");
}

void grade_expect_true(int condition, const char *what, const char *detail_fmt, ...)
{
    if (condition)
        return;
    char detail[1024];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    say_lines("", what);
    say_lines("  got:      ", detail);
    end_failed();
}

/* ---- small tools, in a test ----------------------------------------------------------------- */

double grade_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        grade_fail("the grader could not read the clock: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void grade_pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        continue;
}

static void text_append(struct grade_text *t, const char *bytes, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown)
            grade_fail("the grader ran out of memory");
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, bytes, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void grade_text_add(struct grade_text *text, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        grade_fail("the grader could not format its text: %s", strerror(errno));
    text_append(text, "", 0); /* room for the NUL, and data is never NULL after */
    char *piece = malloc((size_t)n + 1);
    if (!piece)
        grade_fail("the grader ran out of memory");
    va_start(ap, fmt);
    vsnprintf(piece, (size_t)n + 1, fmt, ap);
    va_end(ap);
    text_append(text, piece, (size_t)n);
    free(piece);
}

/* The watchdog's whole output, as records ready for one write() each: the handler may run
 * anywhere in the test (inside stdio or malloc), so it only calls write() and _exit(). */
static char watchdog_output[4096];
static size_t watchdog_length;

static void on_watchdog(int sig)
{
    (void)sig;
    ssize_t written = write(GRADE_REPORT_FD, watchdog_output, watchdog_length);
    (void)written; /* nothing better to do if the channel to the grader is gone */
    _exit(0);
}

void grade_watchdog(int seconds, const char *fmt, ...)
{
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* Each line of the message as a note record, then the verdict record. */
    size_t length = 0, room = sizeof watchdog_output - 2 * (GRADE_TOKEN_LENGTH + 4);
    for (const char *line = message; length < room;) {
        size_t n = strcspn(line, "\n");
        length +=
            format_record(watchdog_output + length, room - length, GRADE_RECORD_NOTE, line, n);
        if (line[n] != '\n' || line[n + 1] == '\0')
            break;
        line += n + 1;
    }
    length += format_record(watchdog_output + length, sizeof watchdog_output - length,
                            GRADE_RECORD_FAILED, "", 0);
    watchdog_length = length;
    fflush(stdout); /* what the test printed so far comes before the watchdog's lines */
    struct sigaction action = {0};
    action.sa_handler = on_watchdog;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGALRM, &action, NULL) == -1)
        grade_fail("the grader could not set its watchdog: %s", strerror(errno));
    alarm((unsigned)(seconds * grade_timeout_scale()));
}

void grade_watchdog_off(void)
{
    alarm(0);
}

/* ---- running a program, in a test ------------------------------------------------------------ */

static void broke(const char *call) /* the grader's own call failed: not the student's fault */
{
    char line[512];
    int n = snprintf(line, sizeof line, "the grader could not %s: %s", call, strerror(errno));
    send_record(GRADE_RECORD_NOTE, line, n < 0 ? 0 : (size_t)n);
    grade_api_end(GRADE_RECORD_BROKE);
}

void grade_run(char *const argv[], const char *input, int timeout_s, struct grade_run *run)
{
    memset(run, 0, sizeof *run);
    char path[PATH_MAX];
    int length = strchr(argv[0], '/') ? snprintf(path, sizeof path, "%s", argv[0])
                                      : snprintf(path, sizeof path, "%s/%s", build_dir, argv[0]);
    if (length < 0 || (size_t)length >= sizeof path)
        grade_fail("the path of %s is too long", argv[0]);
    /* The process runner writes the input while it reads both outputs, so a program that
     * echoes more than a pipe holds cannot stall; it ends the run when the program ends, and
     * says so when something the program started still holds its output open. */
    struct runner_options options = {
        .argv = argv,
        .path = path,
        .input = input,
        .timeout_s = timeout_s * grade_timeout_scale(),
        .output_grace_s = 1.0 * grade_timeout_scale(),
    };
    struct runner_result result;
    if (runner_run(&options, &result) == -1)
        broke("run a program");
    run->status = result.status;
    run->timed_out = result.timed_out;
    run->output_held = result.output_held;
    run->out = result.out, run->out_len = result.out_len;
    run->err = result.err, run->err_len = result.err_len;
    run->seconds = result.seconds;
    if (WIFEXITED(run->status) && WEXITSTATUS(run->status) == 127 && strstr(run->err, "cannot run"))
        grade_fail("%s", run->err);
}

void grade_run_free(struct grade_run *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

const char *grade_describe_status(const struct grade_run *run)
{
    static char text[256];
    char status[128];
    if (run->timed_out)
        snprintf(text, sizeof text, "did not finish in time (killed after %.1f s)", run->seconds);
    else if (run->output_held)
        snprintf(text, sizeof text,
                 "%s, but its output stayed open after it ended: a process it started still "
                 "held its stdout or stderr",
                 runner_describe_status(run->status, status, sizeof status));
    else
        snprintf(text, sizeof text, "%s",
                 runner_describe_status(run->status, status, sizeof status));
    return text;
}

void grade_expect_exit(const char *what, const struct grade_run *run, int code)
{
    if (!run->timed_out && !run->output_held && WIFEXITED(run->status) &&
        WEXITSTATUS(run->status) == code)
        return;
    char expected[64], got[512];
    snprintf(expected, sizeof expected, "exited with status %d", code);
    /* The first line of stderr usually says why. */
    size_t first = strcspn(run->err ? run->err : "", "\n");
    snprintf(got, sizeof got, "%s%s%.*s", grade_describe_status(run), first ? "; stderr: " : "",
             (int)(first > 300 ? 300 : first), run->err ? run->err : "");
    fail_lines(what, expected, got);
}

/* The command line as one string, for saying what was run: "parallel -j ''" and the like. */
static void command_line(char *const argv[], char *text, size_t size)
{
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; argv[i] && used < size; i++) {
        const char *arg = argv[i];
        int plain = arg[0] != '\0' && strcspn(arg, " \t'\"\\$;|&") == strlen(arg);
        int n = snprintf(text + used, size - used, plain ? "%s%s" : "%s'%s'", i ? " " : "", arg);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void grade_expect_usage_error(char *const argv[], const char *input)
{
    char shown[512], what[600];
    command_line(argv, shown, sizeof shown);
    struct grade_run run;
    grade_run(argv, input, 10, &run);
    snprintf(what, sizeof what, "%s: the exit status for bad arguments", shown);
    grade_expect_exit(what, &run, 2);
    snprintf(what, sizeof what, "%s: the usage (\"Usage: ...\") on stderr", shown);
    grade_expect_true(strstr(run.err, "Usage:") != NULL, what, "stderr: %.300s",
                      run.err_len ? run.err : "(nothing)");
    grade_run_free(&run);
}

void grade_expect_help(const char *program)
{
    char what[300];
    struct grade_run run;
    grade_run((char *[]){(char *)program, "--help", NULL}, NULL, 10, &run);
    snprintf(what, sizeof what, "%s --help: the exit status", program);
    grade_expect_exit(what, &run, 0);
    snprintf(what, sizeof what, "%s --help: the usage (\"Usage: ...\") on stdout", program);
    grade_expect_true(strstr(run.out, "Usage:") != NULL, what, "stdout: %.300s",
                      run.out_len ? run.out : "(nothing)");
    grade_run_free(&run);
}

int grade_count_children(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *file = fopen(path, "r");
    if (!file)
        broke("read /proc/self/task/PID/children");
    int count = 0, pid;
    while (fscanf(file, "%d", &pid) == 1)
        count++;
    fclose(file);
    return count;
}
