/* grader.c - main() of every lab's grader: runs each of the lab's tests as a separate test
 * program in a sandbox, scores them, explains each lost point, and writes Gradescope's
 * results.json.  See grader.h for what a lab provides.
 *
 * Usage: grade [--test PATTERN] [--seed N] [--json FILE] [--log FILE] [--hide DIR]... [--list]
 *
 * Who runs what.  This program holds no student code: it is linked with the lab's grade.c for
 * its table of tests and with the lab's given (starter) files, never calling either.  For each
 * test it starts build/.../grade-tests (grade_test_main.c: the same grade.c with the student's
 * files) through the process runner, inside the sandbox (sandbox.h), with a fresh secret token
 * on one descriptor and the report channel on another (grade_channel.h).  A test passes only
 * when a "passed" record with that token comes back; whatever the student's code printed is
 * collected apart, shown as "| " lines, and kept whole in the log file.  When the test program
 * ends or runs out of time, everything it started is killed and reaped; only then, after the
 * last test, is results.json written, by this process alone.
 */
#define _GNU_SOURCE
#include "grade_channel.h"
#include "grader.h"
#include "sandbox.h"
#include "support/output_file.h"
#include "support/process_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "Usage: grade [--test PATTERN] [--seed N] [--json FILE] [--log FILE] [--hide DIR]... [--list]\n"
    "  Run this lab's graded tests (normally through `make grade LAB=NAME`).\n"
    "  --test PATTERN  only the tests whose name matches PATTERN (a shell glob)\n"
    "  --seed N        the seed of the random inputs (default: from the clock; printed)\n"
    "  --json FILE     where to write the results in Gradescope's format\n"
    "                  (default: results.json beside this program)\n"
    "  --log FILE      where to keep everything each test printed (default: none)\n"
    "  --hide DIR      a folder the code under test must not see (up to 8)\n"
    "  --list          list the tests with their points and time limits, run nothing\n"
    "Exit status: 0 with full marks, 1 otherwise, 2 for bad usage, 130 when interrupted.\n";

enum { SHOWN_OUTPUT_LINES = 8, KEPT_OUTPUT = 1 << 20 };

struct options {
    const char *pattern, *json, *log;
    unsigned long seed;
    int list;
};

struct result {
    int score;
    int graded;   /* 0: not graded on this machine (min_cpus, grade_skip) */
    int shown;    /* the output has a line to show even if the test passed */
    char *output; /* the lines shown under the test */
    double seconds;
};

static char build_dir[PATH_MAX];
static struct sandbox box;
static FILE *log_file;
static volatile int interrupted; /* set by on_signal: stop the test, clean up, leave */

static void on_signal(int sig)
{
    interrupted = sig;
}

/* ---- one test: start it, read its records, judge ------------------------------------------ */

/* A fresh token, so a record from an earlier run, or guessed, never counts. */
static int make_token(char *token)
{
    unsigned char bytes[GRADE_TOKEN_LENGTH / 2];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return -1;
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf(token + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

/* Start the test program in the sandbox and collect all it says.  -1: it could not start. */
static int start_test(const struct grade_test *test, const char *token, unsigned long seed,
                      double limit, struct runner_result *run)
{
    int token_pipe[2];
    if (pipe2(token_pipe, O_CLOEXEC) == -1)
        return -1;
    ssize_t n = write(token_pipe[1], token, GRADE_TOKEN_LENGTH); /* a pipe holds it all */
    close(token_pipe[1]);
    char program[PATH_MAX + 16], seed_text[32];
    snprintf(program, sizeof program, "%s/grade-tests", build_dir);
    snprintf(seed_text, sizeof seed_text, "%lu", seed);
    char *argv[] = {program,   "--test",  (char *)test->name, "--seed",     seed_text,
                    "--build", build_dir, "--temp",           box.temp_dir, NULL};
    struct runner_options options = {
        .argv = argv,
        .timeout_s = limit,
        .own_group = 1,
        .channel = 1,
        .pass_fd = token_pipe[0],
        .pass_fd_at = GRADE_TOKEN_FD,
        .max_output = KEPT_OUTPUT,
        .output_grace_s = 0.5,
        .cancel = &interrupted,
        .before_exec = sandbox_enter,
        .arg = &box,
    };
    int status = n == GRADE_TOKEN_LENGTH ? runner_run(&options, run) : -1;
    close(token_pipe[0]);
    return status;
}

/* The records (grade_channel.h) with this run's token: the lines to show go into shown, the
 * verdict is returned (0: none came).  Any other line there is counted as forged. */
static int read_records(const char *channel, const char *token, struct grade_text *shown,
                        int *always, int *forged)
{
    int verdict = 0;
    for (const char *line = channel; *line;) {
        size_t len = strcspn(line, "\n");
        if (len < GRADE_TOKEN_LENGTH + 3 || memcmp(line, token, GRADE_TOKEN_LENGTH) != 0 ||
            line[GRADE_TOKEN_LENGTH] != ' ' || line[GRADE_TOKEN_LENGTH + 2] != ' ') {
            ++*forged;
        } else {
            char kind = line[GRADE_TOKEN_LENGTH + 1];
            const char *text = line + GRADE_TOKEN_LENGTH + 3;
            size_t text_len = len - GRADE_TOKEN_LENGTH - 3;
            if (kind == GRADE_RECORD_NOTE || kind == GRADE_RECORD_SHOW) {
                *always |= kind == GRADE_RECORD_SHOW;
                grade_text_add(shown, "%.*s\n", (int)text_len, text);
            } else if (!verdict) {
                verdict = kind; /* the first verdict stands */
            }
        }
        line += len + (line[len] == '\n');
    }
    return verdict;
}

/* One line of the code's output as shown: control characters as \ooo, so that none of them
 * (a carriage return, a terminal escape) can move the cursor over the grader's own lines. */
static void quote_line(struct grade_text *shown, const char *line, size_t len)
{
    grade_text_add(shown, "| ");
    for (size_t i = 0; i < len && i < 200; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            grade_text_add(shown, "\\%03o", c);
        else
            grade_text_add(shown, "%c", c);
    }
    grade_text_add(shown, "\n");
}

/* What the code under test printed, as a short quoted excerpt. */
static void quote_output(struct grade_text *shown, const char *out, size_t dropped)
{
    size_t lines = 0;
    for (const char *line = out; *line;) {
        size_t len = strcspn(line, "\n");
        if (len > 0 && lines++ < SHOWN_OUTPUT_LINES)
            quote_line(shown, line, len);
        line += len + (line[len] == '\n');
    }
    if (lines > SHOWN_OUTPUT_LINES)
        grade_text_add(shown, "| (%zu more lines the code under test printed%s%s)\n",
                       lines - SHOWN_OUTPUT_LINES, log_file ? ": all in the log, " : "",
                       log_file ? "named below" : "");
    if (dropped)
        grade_text_add(shown, "| (and %zu bytes more, past %d MiB, thrown away unread)\n", dropped,
                       KEPT_OUTPUT >> 20);
}

/* Why a test that sent no verdict failed, from how its program ended. */
static void explain_no_verdict(struct grade_text *why, const struct runner_result *run,
                               double limit)
{
    int status = run->status;
    if (run->timed_out)
        grade_text_add(why,
                       "did not finish within its %.0f s limit: something waited forever (a "
                       "pipe end left open, a lock never released, a child never reaped?)\n",
                       limit);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
        grade_text_add(why,
                       "(the grader could not start the test in its sandbox: tell your "
                       "instructor) %s\n",
                       run->err);
    else if (WIFEXITED(status))
        grade_text_add(why,
                       "the test process ended (exited with status %d) before the test was "
                       "done: the code under test called exit() or _exit() where it should "
                       "have returned, or ended the test process another way\n",
                       WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        grade_text_add(why, "crashed: killed by signal %d (%s)\n", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
}

/* Score the test from its verdict record, and say everything the student should see. */
static void judge(const struct grade_test *test, const struct runner_result *run, const char *token,
                  double limit, struct result *result)
{
    struct grade_text shown = {0};
    int forged = 0;
    int verdict = read_records(run->channel, token, &shown, &result->shown, &forged);
    quote_output(&shown, run->out, run->dropped);
    if (forged) {
        verdict = GRADE_RECORD_FAILED;
        grade_text_add(&shown,
                       "%d line%s on the grader's report channel did not carry this "
                       "run's token: the code under test wrote %s, so the test fails\n",
                       forged, forged == 1 ? "" : "s", forged == 1 ? "it" : "them");
    }
    if (verdict == GRADE_RECORD_PASSED) {
        result->score = test->points;
    } else if (verdict == GRADE_RECORD_SKIPPED) {
        result->graded = 0;
        grade_text_add(&shown, "(not graded on this machine: its points are left out of the "
                               "total)\n");
    } else if (verdict == GRADE_RECORD_BROKE)
        grade_text_add(&shown, "(the grader itself failed here: tell your instructor)\n");
    else if (verdict != GRADE_RECORD_FAILED)
        explain_no_verdict(&shown, run, limit);
    grade_text_add(&shown, "%s", "");
    result->output = shown.data;
}

/* Everything the test printed and said, whole, in the log. */
static void log_test(const struct grade_test *test, const struct runner_result *run)
{
    if (!log_file)
        return;
    fprintf(log_file, "==== %s: %s (%.1f s)\n", test->name, test->title, run->seconds);
    fwrite(run->out, 1, run->out_len, log_file);
    if (run->err_len)
        fwrite(run->err, 1, run->err_len, log_file);
    fprintf(log_file, "%s==== end of %s\n",
            run->out_len && run->out[run->out_len - 1] != '\n' ? "\n" : "", test->name);
}

static void run_test(const struct grade_test *test, unsigned long seed, struct result *result)
{
    memset(result, 0, sizeof *result);
    result->graded = 1;
    int cpus = grade_usable_cpus();
    if (test->min_cpus > cpus) {
        result->graded = 0;
        if (asprintf(&result->output,
                     "not graded on this machine: the test needs at least %d CPUs and this "
                     "process may use %d; its %d points are left out of the total\n",
                     test->min_cpus, cpus, test->points) == -1)
            result->output = NULL;
        return;
    }
    double limit = (double)test->timeout_s * grade_timeout_scale();
    char token[GRADE_TOKEN_LENGTH + 1];
    struct runner_result run;
    if (make_token(token) == -1 || sandbox_begin_test(&box, limit) == -1 ||
        start_test(test, token, seed, limit, &run) == -1) {
        fprintf(stderr, "grade: cannot start test %s: %s\n", test->name, strerror(errno));
        sandbox_end_test(&box);
        exit(1);
    }
    sandbox_end_test(&box); /* everything it started is gone before it is judged */
    result->seconds = run.seconds;
    log_test(test, &run);
    judge(test, &run, token, limit, result);
    runner_result_free(&run);
}

/* ---- results.json ---------------------------------------------------------------------------- */

static void json_string(FILE *file, const char *text)
{
    fputc('"', file);
    for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(file, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", file);
        else if (*c == '\t')
            fputs("\\t", file);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(file, "\\u%04x", *c);
        else
            fputc(*c, file);
    }
    fputc('"', file);
}

static void json_test(FILE *file, int number, const struct grade_test *t, const struct result *r)
{
    fprintf(file, "%s\n    {\"number\": \"%d\", \"name\": ", number > 1 ? "," : "", number);
    json_string(file, t->name);
    fprintf(file, ", \"score\": %d, \"max_score\": %d, \"status\": \"%s\", \"output\": ", r->score,
            r->graded ? t->points : 0, !r->graded || r->score == t->points ? "passed" : "failed");
    char *text = NULL;
    if (asprintf(&text, "%s\n%s", t->title, r->output ? r->output : "") == -1)
        text = NULL;
    json_string(file, text);
    free(text);
    fprintf(file, ", \"visibility\": \"visible\"}");
}

static int write_json(const char *path, const struct result *results, const int *selected,
                      int score, double seconds, const char *summary)
{
    /* Never a rename over whatever the path names: --json /dev/null must leave the device be. */
    struct output_file out;
    if (output_file_open(&out, path) == -1)
        return -1;
    FILE *file = out.stream;
    fprintf(file, "{\n  \"score\": %d,\n  \"execution_time\": %.0f,\n  \"output\": ", score,
            seconds + 0.5);
    json_string(file, summary);
    fprintf(file, ",\n  \"tests\": [");
    for (size_t i = 0, number = 0; i < grade_lab.count; i++)
        if (selected[i])
            json_test(file, (int)++number, &grade_lab.tests[i], &results[i]);
    fprintf(file, "\n  ]\n}\n");
    return output_file_commit(&out);
}

/* ---- main ------------------------------------------------------------------------------------ */

static void print_indented(const char *text)
{
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        printf("         %.*s\n", (int)len, line);
        line += len + (line[len] == '\n');
    }
}

/* Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option long_options[] = {
        {"test", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {"json", required_argument, 0, 'j'}, {"log", required_argument, 0, 'g'},
        {"hide", required_argument, 0, 'd'}, {"list", no_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    o->seed = (unsigned long)time(NULL) % 1000000;
    for (int opt; (opt = getopt_long(argc, argv, "t:s:j:g:d:lh", long_options, NULL)) != -1;) {
        char *end;
        switch (opt) {
        case 't': o->pattern = optarg; break;
        case 's':
            errno = 0;
            o->seed = strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "grade: --seed wants a whole number, not '%s'\n%s", optarg, usage);
                return 2;
            }
            break;
        case 'j': o->json = optarg; break;
        case 'g': o->log = optarg; break;
        case 'd':
            if (box.hidden_count == SANDBOX_MAX_HIDDEN) {
                fprintf(stderr, "grade: at most %d --hide folders\n%s", SANDBOX_MAX_HIDDEN, usage);
                return 2;
            }
            box.hidden[box.hidden_count++] = optarg;
            break;
        case 'l': o->list = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "grade: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    return -1;
}

/* Mark the tests the pattern picks; returns how many.  With --list, print them. */
static int select_tests(const struct options *o, int *selected)
{
    int chosen = 0;
    for (size_t i = 0; i < grade_lab.count; i++) {
        const struct grade_test *t = &grade_lab.tests[i];
        selected[i] = !o->pattern || fnmatch(o->pattern, t->name, 0) == 0;
        chosen += selected[i];
        if (selected[i] && o->list)
            printf("%-28s %3d points, %3d s  %s\n", t->name, t->points, t->timeout_s, t->title);
    }
    return chosen;
}

/* The build folder, from where this program is; the default results path beside it. */
static int find_build_dir(void)
{
    ssize_t n = readlink("/proc/self/exe", build_dir, sizeof build_dir - 1);
    if (n == -1) {
        perror("grade: readlink /proc/self/exe");
        return -1;
    }
    build_dir[n] = '\0';
    *strrchr(build_dir, '/') = '\0';
    box.build_dir = build_dir;
    /* The submission's other files were copied beside the build (grade.sh); a grader run by
     * hand, as the valgrind gate runs it, finds them there too. */
    char copies[PATH_MAX + 8];
    snprintf(copies, sizeof copies, "%s/src", build_dir);
    return getenv("FORKLORE_LAB_SRC") ? 0 : setenv("FORKLORE_LAB_SRC", copies, 1);
}

/* Signals that end the grading early still end it cleanly: the running test is killed and
 * its temp folder removed (the runner notices the flag within 50 ms). */
static int catch_signals(void)
{
    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &action, NULL) == -1)
            return -1;
    /* Orphans of the code under test come back here (not to init), to be killed and reaped. */
    return prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void print_result(const struct grade_test *t, const struct result *r, int picked)
{
    if (r->graded)
        printf("[%s] %3d/%-3d %-28s %s\n", r->score == t->points ? "PASS" : "FAIL", r->score,
               t->points, t->name, t->title);
    else
        printf("[SKIP]   -/%-3d %-28s %s\n", t->points, t->name, t->title);
    if (r->output && *r->output && (r->score != t->points || !r->graded || picked || r->shown))
        print_indented(r->output);
    fflush(stdout);
}

/* Run the selected tests; totals into score, max and skipped. */
static void run_all(const struct options *o, const int *selected, struct result *results,
                    int *score, int *max, int *skipped)
{
    for (size_t i = 0; i < grade_lab.count && !interrupted; i++) {
        if (!selected[i])
            continue;
        const struct grade_test *t = &grade_lab.tests[i];
        run_test(t, o->seed, &results[i]);
        if (interrupted)
            break;
        if (results[i].graded)
            *score += results[i].score, *max += t->points;
        else
            *skipped += t->points;
        print_result(t, &results[i], o->pattern != NULL);
    }
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int status = parse_options(argc, argv, &o);
    if (status != -1)
        return status;
    int *selected = calloc(grade_lab.count, sizeof *selected);
    struct result *results = calloc(grade_lab.count, sizeof *results);
    if (!selected || !results || find_build_dir() == -1)
        return 1;
    if (select_tests(&o, selected) == 0) {
        fprintf(stderr, "grade: no test of lab %s matches '%s' (--list names them)\n%s",
                grade_lab.name, o.pattern, usage);
        return 2;
    }
    if (o.list)
        return 0;
    char default_json[PATH_MAX + 16];
    snprintf(default_json, sizeof default_json, "%s/results.json", build_dir);
    const char *json = o.json ? o.json : default_json;
    struct output_file log;
    if (catch_signals() == -1 || (o.log && output_file_open(&log, o.log) == -1)) {
        fprintf(stderr, "grade: cannot set up: %s\n",
                o.log ? output_file_reason(errno) : strerror(errno));
        return 1;
    }
    log_file = o.log ? log.stream : NULL;
    sandbox_probe(&box);
    printf("grading lab %s: %s\n", grade_lab.name, grade_lab.title);
    printf("seed %lu: these exact inputs again with SEED=%lu\n", o.seed, o.seed);
    printf("%s\n", box.description);
    printf("output order relied on: %s\n\n", grade_lab.ordering);
    fflush(stdout);

    double start = grade_now();
    int score = 0, max = 0, skipped = 0;
    run_all(&o, selected, results, &score, &max, &skipped);
    if (log_file && output_file_commit(&log) == -1)
        fprintf(stderr, "grade: cannot write %s: %s\n", o.log, output_file_reason(errno));
    if (interrupted) {
        fprintf(stderr,
                "\ngrade: interrupted by signal %d: the running test was stopped and "
                "cleaned up; no results were written\n",
                interrupted);
        return 130;
    }
    double seconds = grade_now() - start;
    char summary[512];
    int written = snprintf(summary, sizeof summary, "lab %s: %d/%d", grade_lab.name, score, max);
    if (skipped)
        snprintf(summary + written, sizeof summary - (size_t)written,
                 " (%d points not graded on this machine: see the SKIP lines)", skipped);
    printf("\nscore: %s, in %.1f s\n", summary, seconds);
    if (o.log)
        printf("log: %s (everything each test printed)\n", o.log);
    if (write_json(json, results, selected, score, seconds, summary) == -1) {
        fprintf(stderr, "grade: cannot write %s: %s\n", json, output_file_reason(errno));
        return 1;
    }
    printf("results: %s\n", json);
    for (size_t i = 0; i < grade_lab.count; i++)
        free(results[i].output);
    free(results);
    free(selected);
    return score == max ? 0 : 1;
}
