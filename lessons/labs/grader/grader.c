/* grader.c - main() of every lab's grader: runs the lab's tests, scores them, explains each lost
 * point, and writes Gradescope's results.json.  See grader.h for what a lab provides.
 *
 * Usage: grade [--test PATTERN] [--seed N] [--json FILE] [--list] [--help]
 *
 * How a test runs: the grader forks; the child makes itself a process group and a subreaper,
 * sends its stdout and stderr into a pipe back to the grader, and calls the test's run().  The
 * grader reads that pipe until the child ends or its time is up, then kills the whole group
 * (and any orphan that came back to the grader) and reaps everything, before the next test.
 */
#define _GNU_SOURCE
#include "grader.h"
#include "support/output_file.h"
#include "support/private_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "Usage: grade [--test PATTERN] [--seed N] [--json FILE] [--list] [--help]\n"
    "  Run this lab's graded tests (normally through `make grade LAB=NAME`).\n"
    "  --test PATTERN  only the tests whose name matches PATTERN (a shell glob)\n"
    "  --seed N        the seed of the random inputs (default: from the clock; printed)\n"
    "  --json FILE     where to write the results in Gradescope's format\n"
    "                  (default: results.json beside this program)\n"
    "  --list          list the tests with their points and time limits, run nothing\n"
    "Exit status: 0 with full marks, 1 otherwise, 2 for bad usage.\n";

/* Test exit codes, between the test process and the grader. */
enum { TEST_PASSED = 0, TEST_FAILED = 97, TEST_BROKE = 98, TEST_SKIPPED = 99 };

/* The grader's own lines in a test's output start with "\001G " (a note) or "\001R " (a line
 * to show even when the test passes): the code under test may print on the same pipe. */

/* ---- the state a test process sees ---------------------------------------------------------- */

static unsigned long run_seed;
static char build_dir[PATH_MAX];
static char temp_dir[PATH_MAX];

static uint64_t mix(uint64_t x)   /* splitmix64's finaliser: a good hash of one number */
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

unsigned long grade_seed(void) { return run_seed; }
const char *grade_build_dir(void) { return build_dir; }
const char *grade_temp_dir(void) { return temp_dir; }

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

/* A test's stdout is the pipe to the grader; the student's code may write there too, so the
 * grader's own lines are marked with a prefix the grader picks out ("\001G "). */
/* Print text as grader lines, the first after label, the others indented to match. */
static void say_lines_marked(char mark, const char *label, const char *text)
{
    size_t indent = strlen(label);
    for (const char *line = text;;) {
        size_t len = strcspn(line, "\n");
        dprintf(STDOUT_FILENO, "\001%c %*s%.*s\n", mark, (int)indent, line == text ? label : "",
                (int)len, line);
        if (line[len] == '\0' || line[len + 1] == '\0')
            break;
        line += len + 1;
    }
}

static void say_lines(const char *label, const char *text)
{
    say_lines_marked('G', label, text);
}

static void say(char mark, const char *fmt, va_list ap)
{
    char text[4096];
    vsnprintf(text, sizeof text, fmt, ap);
    fflush(stdout);
    say_lines_marked(mark, "", text);
}

void grade_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say('R', fmt, ap);
    va_end(ap);
}

_Noreturn void grade_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say('G', fmt, ap);
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    _exit(TEST_SKIPPED);
}

void grade_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say('G', fmt, ap);
    va_end(ap);
}

_Noreturn static void end_failed(void)
{
    fflush(stdout);
    fflush(stderr);
    _exit(TEST_FAILED);
}

_Noreturn void grade_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say('G', fmt, ap);
    va_end(ap);
    end_failed();
}

static void fail_lines(const char *what, const char *expected, const char *got)
{
    fflush(stdout);
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
    fflush(stdout);
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
    text_append(text, "", 0);              /* room for the NUL, and data is never NULL after */
    char *piece = malloc((size_t)n + 1);
    if (!piece)
        grade_fail("the grader ran out of memory");
    va_start(ap, fmt);
    vsnprintf(piece, (size_t)n + 1, fmt, ap);
    va_end(ap);
    text_append(text, piece, (size_t)n);
    free(piece);
}

/* The watchdog's whole output, marked as the grader's lines, ready for one write(). */
static char watchdog_output[2048];
static size_t watchdog_length;

static void on_watchdog(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here: the test may have been stopped anywhere. */
    ssize_t written = write(STDOUT_FILENO, watchdog_output, watchdog_length);
    (void)written;   /* nothing better to do if the pipe to the grader is gone */
    _exit(TEST_FAILED);
}

void grade_watchdog(int seconds, const char *fmt, ...)
{
    char message[sizeof watchdog_output - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* Each line of the message as a grader line, "\001G " in front. */
    size_t length = 0;
    for (const char *line = message; length < sizeof watchdog_output - 8;) {
        size_t n = strcspn(line, "\n");
        if (n > sizeof watchdog_output - 8 - length)
            n = sizeof watchdog_output - 8 - length;
        memcpy(watchdog_output + length, "\001G ", 3);
        memcpy(watchdog_output + length + 3, line, n);
        length += 3 + n;
        watchdog_output[length++] = '\n';
        if (line[n] != '\n' || line[n + 1] == '\0')
            break;
        line += n + 1;
    }
    watchdog_length = length;
    fflush(stdout);   /* what the test printed so far comes before the watchdog's lines */
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

static void broke(const char *call)   /* the grader's own call failed: not the student's fault */
{
    dprintf(STDOUT_FILENO, "\001G the grader could not %s: %s\n", call, strerror(errno));
    _exit(TEST_BROKE);
}

static void exec_in_child(char *const argv[], int in_fd, int out_fd, int err_fd)
{
    if (dup2(in_fd, STDIN_FILENO) == -1 || dup2(out_fd, STDOUT_FILENO) == -1 ||
        dup2(err_fd, STDERR_FILENO) == -1)
        _exit(126);
    char path[PATH_MAX];
    int length = strchr(argv[0], '/') ? snprintf(path, sizeof path, "%s", argv[0])
                                      : snprintf(path, sizeof path, "%s/%s", build_dir, argv[0]);
    if (length < 0 || (size_t)length >= sizeof path)
        _exit(126);
    execv(path, argv);
    dprintf(STDERR_FILENO, "cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
}

/* Feed input, collect stdout and stderr, until the program ends or the deadline passes. */
static void pump(pid_t pid, int in_fd, int out_fd, int err_fd, const char *input, double deadline,
                 struct grade_run *run)
{
    struct grade_text out = {0}, err = {0};
    size_t input_len = input ? strlen(input) : 0, sent = 0;
    if (in_fd != -1 && input_len == 0) {
        close(in_fd);
        in_fd = -1;
    }
    while (out_fd != -1 || err_fd != -1 || in_fd != -1) {
        struct pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        double left = deadline - grade_now();
        if (left <= 0) {
            run->timed_out = 1;
            break;
        }
        int ready = poll(fds, 3, (int)(left * 1000) + 1);
        if (ready == -1 && errno != EINTR)
            broke("poll the program's output");
        for (int i = 0; i < 2 && ready > 0; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                text_append(i == 0 ? &out : &err, chunk, (size_t)n);
            } else {
                close(fds[i].fd);
                *(i == 0 ? &out_fd : &err_fd) = -1;
            }
        }
        if (ready > 0 && in_fd != -1 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in_fd, input + sent, input_len - sent);
            if (n > 0)
                sent += (size_t)n;
            /* EPIPE: it stopped reading, which is its business; EAGAIN: the pipe is full. */
            if ((n == -1 && errno != EAGAIN && errno != EINTR) || sent == input_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    if (run->timed_out)
        kill(pid, SIGKILL);
    if (out_fd != -1)
        close(out_fd);
    if (err_fd != -1)
        close(err_fd);
    if (in_fd != -1)
        close(in_fd);
    while (waitpid(pid, &run->status, 0) == -1)
        if (errno != EINTR)
            broke("wait for the program");
    text_append(&out, "", 0);
    text_append(&err, "", 0);
    run->out = out.data;
    run->out_len = out.len;
    run->err = err.data;
    run->err_len = err.len;
}

void grade_run(char *const argv[], const char *input, int timeout_s, struct grade_run *run)
{
    memset(run, 0, sizeof *run);
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1)
        broke("make pipes");
    /* Our end of the program's stdin must not block: a program that echoes its input fills
     * its stdout while we are still writing, and we must go on reading that to let it go on. */
    if (fcntl(in[1], F_SETFL, O_NONBLOCK) == -1)
        broke("make the input pipe non-blocking");
    /* Writing to a program that stopped reading must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    fflush(NULL);
    double start = grade_now();
    pid_t pid = fork();
    if (pid == -1)
        broke("fork");
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);   /* the program gets the usual SIGPIPE behaviour */
        exec_in_child(argv, in[0], out[1], err[1]);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    pump(pid, in[1], out[0], err[0], input, start + timeout_s * grade_timeout_scale(), run);
    run->seconds = grade_now() - start;
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
    static char text[128];
    if (run->timed_out)
        snprintf(text, sizeof text, "did not finish in time (killed after %.1f s)", run->seconds);
    else if (WIFEXITED(run->status))
        snprintf(text, sizeof text, "exited with status %d", WEXITSTATUS(run->status));
    else if (WIFSIGNALED(run->status))
        snprintf(text, sizeof text, "killed by signal %d (%s)%s", WTERMSIG(run->status),
                 strsignal(WTERMSIG(run->status)), WCOREDUMP(run->status) ? ", core dumped" : "");
    else
        snprintf(text, sizeof text, "ended with wait status %#x", run->status);
    return text;
}

void grade_expect_exit(const char *what, const struct grade_run *run, int code)
{
    if (!run->timed_out && WIFEXITED(run->status) && WEXITSTATUS(run->status) == code)
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
    snprintf(what, sizeof what, "%s --help: the usage (\"Usage: ...\") on stdout",
             program);
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

/* ---- the grader: one test ------------------------------------------------------------------- */

struct result {
    int score;
    int graded;          /* 0: not graded on this machine (min_cpus, grade_skip) */
    int shown;           /* the output has a line to show even if the test passed */
    char *output;        /* the lines shown under the test */
    double seconds;
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void kill_leftovers(pid_t group)
{
    kill(-group, SIGKILL);   /* the test and everything it started in its group */
    /* Anything that left the group (setsid) and was orphaned came back to us: kill it too. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *file = fopen(path, "r");
    if (file) {
        int pid;
        while (fscanf(file, "%d", &pid) == 1)
            kill(pid, SIGKILL);
        fclose(file);
    }
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
}

/* The grader may have been started holding descriptors of its own parent's (make's jobserver,
 * an editor's): the code under test must see only 0, 1 and 2. */
static void close_inherited_descriptors(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        broke("list /proc/self/fd");
    int keep = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd > STDERR_FILENO && fd != keep)
            close(fd);
    }
    closedir(dir);
}

_Noreturn static void test_child(const struct grade_test *test, int out_fd)
{
    if (setpgid(0, 0) == -1 || prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
        prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
        broke("set up the test process");
    if (dup2(out_fd, STDOUT_FILENO) == -1 || dup2(out_fd, STDERR_FILENO) == -1)
        broke("redirect the test's output");
    close(out_fd);
    close_inherited_descriptors();
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull == -1 || dup2(devnull, STDIN_FILENO) == -1)
        broke("open /dev/null");
    close(devnull);
    /* The test's inputs depend on the seed and its name only. */
    random_state = run_seed;
    for (const char *c = test->name; *c; c++)
        random_state = mix(random_state ^ (unsigned char)*c);
    test->run();
    fflush(stdout);
    fflush(stderr);
    _exit(TEST_PASSED);
}

/* Keep the grader's lines ("\001G " prefix) as they are, and the program's own output, which
 * can be long, as a short quoted excerpt. */
static char *tidy_output(const char *raw, int *always_shown)
{
    struct grade_text mine = {0};
    size_t other = 0, shown = 0;
    for (const char *line = raw; *line;) {
        size_t len = strcspn(line, "\n");
        if (strncmp(line, "\001R ", 3) == 0)
            *always_shown = 1;
        if (strncmp(line, "\001G ", 3) == 0 || strncmp(line, "\001R ", 3) == 0) {
            text_append(&mine, line + 3, len - 3);
            text_append(&mine, "\n", 1);
        } else if (len > 0) {
            other++;
            if (shown < 8) {
                text_append(&mine, "| ", 2);
                text_append(&mine, line, len > 200 ? 200 : len);
                text_append(&mine, "\n", 1);
                shown++;
            }
        }
        line += len + (line[len] == '\n');
    }
    if (other > shown) {
        char more[96];
        snprintf(more, sizeof more, "| (%zu more lines the code under test printed)\n",
                 other - shown);
        text_append(&mine, more, strlen(more));
    }
    text_append(&mine, "", 0);
    return mine.data;
}

static void run_test(const struct grade_test *test, struct result *result)
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
    if (make_private_dir(temp_dir, sizeof temp_dir, "grade") == -1) {
        perror("grade: mkdtemp");
        exit(1);
    }
    int fds[2];
    if (pipe(fds) == -1) {
        perror("grade: pipe");
        exit(1);
    }
    fflush(NULL);
    double start = grade_now();
    pid_t pid = fork();
    if (pid == -1) {
        perror("grade: fork");
        exit(1);
    }
    if (pid == 0) {
        close(fds[0]);
        test_child(test, fds[1]);
    }
    setpgid(pid, pid);   /* also here, so the group exists whichever of us runs first */
    close(fds[1]);

    struct grade_text raw = {0};
    double limit = (double)test->timeout_s * grade_timeout_scale();
    int timed_out = 0, status = 0, ended = 0, open_pipe = 1;
    /* Read what the test prints until the test process ends.  The pipe alone cannot tell: a
     * child the code under test left running may hold it open long after the test returned. */
    while (!ended) {
        double left = start + limit - grade_now();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {open_pipe ? fds[0] : -1, POLLIN, 0};
        int ready = poll(&pfd, 1, left > 0.05 ? 50 : (int)(left * 1000) + 1);
        if (ready > 0) {
            char chunk[8192];
            ssize_t n = read(fds[0], chunk, sizeof chunk);
            if (n > 0 && raw.len < (1 << 20))
                text_append(&raw, chunk, (size_t)n);
            if (n <= 0)
                open_pipe = 0;
        }
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            ended = 1;
        else if (done == -1 && errno != EINTR)
            break;
    }
    if (ended && open_pipe) {   /* what the test wrote just before it ended */
        int flags = fcntl(fds[0], F_GETFL);
        fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
        char chunk[8192];
        ssize_t n;
        while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
            if (raw.len < (1 << 20))
                text_append(&raw, chunk, (size_t)n);
    }
    kill_leftovers(pid);
    close(fds[0]);
    result->seconds = grade_now() - start;
    nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    text_append(&raw, "", 0);

    char *output = tidy_output(raw.data, &result->shown);
    free(raw.data);
    const char *verdict = NULL;
    char verdict_text[256];
    if (timed_out) {
        snprintf(verdict_text, sizeof verdict_text,
                 "did not finish within its %.0f s limit: something waited forever (a pipe end "
                 "left open, a lock never released, a child never reaped?)",
                 limit);
        verdict = verdict_text;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_PASSED) {
        result->score = test->points;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_FAILED) {
        verdict = "";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIPPED) {
        result->graded = 0;
        verdict = "(not graded on this machine: its points are left out of the total)";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_BROKE) {
        verdict = "(the grader itself failed here: tell your instructor)";
    } else if (WIFEXITED(status)) {
        snprintf(verdict_text, sizeof verdict_text,
                 "the test process exited with status %d: the code under test called exit() "
                 "where it should have returned",
                 WEXITSTATUS(status));
        verdict = verdict_text;
    } else if (WIFSIGNALED(status)) {
        snprintf(verdict_text, sizeof verdict_text, "crashed: killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
        verdict = verdict_text;
    }
    if (verdict && *verdict) {
        size_t len = strlen(output) + strlen(verdict) + 2;
        char *joined = malloc(len);
        if (joined) {
            snprintf(joined, len, "%s%s\n", output, verdict);
            free(output);
            output = joined;
        }
    }
    result->output = output;
}

/* ---- the grader: results.json --------------------------------------------------------------- */

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
    int first = 1, number = 0;
    for (size_t i = 0; i < grade_lab.count; i++) {
        if (!selected[i])
            continue;
        const struct grade_test *t = &grade_lab.tests[i];
        const struct result *r = &results[i];
        number++;
        fprintf(file, "%s\n    {\"number\": \"%d\", \"name\": ", first ? "" : ",", number);
        json_string(file, t->name);
        fprintf(file, ", \"score\": %d, \"max_score\": %d, \"status\": \"%s\", \"output\": ",
                r->score, r->graded ? t->points : 0,
                !r->graded || r->score == t->points ? "passed" : "failed");
        char *text = NULL;
        if (asprintf(&text, "%s\n%s", t->title, r->output ? r->output : "") == -1)
            text = NULL;
        json_string(file, text);
        free(text);
        fprintf(file, ", \"visibility\": \"visible\"}");
        first = 0;
    }
    fprintf(file, "\n  ]\n}\n");
    return output_file_commit(&out);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void print_indented(const char *text)
{
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        printf("         %.*s\n", (int)len, line);
        line += len + (line[len] == '\n');
    }
}

int main(int argc, char **argv)
{
    const char *pattern = NULL, *json = NULL;
    int list = 0, have_seed = 0;
    static const struct option options[] = {
        {"test", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {"json", required_argument, 0, 'j'}, {"list", no_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "t:s:j:lh", options, NULL)) != -1) {
        switch (opt) {
        case 't': pattern = optarg; break;
        case 's': {
            char *end;
            errno = 0;
            run_seed = strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "grade: --seed wants a whole number, not '%s'\n%s", optarg, usage);
                return 2;
            }
            have_seed = 1;
            break;
        }
        case 'j': json = optarg; break;
        case 'l': list = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "grade: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }

    /* The student's programs were built beside this one. */
    ssize_t n = readlink("/proc/self/exe", build_dir, sizeof build_dir - 1);
    if (n == -1) {
        perror("grade: readlink /proc/self/exe");
        return 1;
    }
    build_dir[n] = '\0';
    *strrchr(build_dir, '/') = '\0';
    char default_json[PATH_MAX + 16];
    snprintf(default_json, sizeof default_json, "%s/results.json", build_dir);
    if (!json)
        json = default_json;

    int *selected = calloc(grade_lab.count, sizeof *selected);
    struct result *results = calloc(grade_lab.count, sizeof *results);
    if (!selected || !results) {
        perror("grade: calloc");
        return 1;
    }
    int chosen = 0;
    for (size_t i = 0; i < grade_lab.count; i++) {
        selected[i] = !pattern || fnmatch(pattern, grade_lab.tests[i].name, 0) == 0;
        chosen += selected[i];
    }
    if (chosen == 0) {
        fprintf(stderr, "grade: no test of lab %s matches '%s' (--list names them)\n%s",
                grade_lab.name, pattern, usage);
        return 2;
    }
    if (list) {
        for (size_t i = 0; i < grade_lab.count; i++)
            if (selected[i])
                printf("%-28s %3d points, %3d s  %s\n", grade_lab.tests[i].name,
                       grade_lab.tests[i].points, grade_lab.tests[i].timeout_s,
                       grade_lab.tests[i].title);
        return 0;
    }
    if (!have_seed)
        run_seed = (unsigned long)time(NULL) % 1000000;

    /* Orphans of the student's programs come back here (not to init), to be reaped. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
        perror("grade: prctl");
        return 1;
    }
    printf("grading lab %s: %s\n", grade_lab.name, grade_lab.title);
    printf("seed %lu: these exact inputs again with SEED=%lu\n", run_seed, run_seed);
    printf("output order relied on: %s\n\n", grade_lab.ordering);
    fflush(stdout);

    double start = grade_now();
    int score = 0, max = 0, skipped_points = 0;
    for (size_t i = 0; i < grade_lab.count; i++) {
        if (!selected[i])
            continue;
        const struct grade_test *t = &grade_lab.tests[i];
        run_test(t, &results[i]);
        struct result *r = &results[i];
        if (r->graded) {
            score += r->score;
            max += t->points;
            printf("[%s] %3d/%-3d %-28s %s\n", r->score == t->points ? "PASS" : "FAIL", r->score,
                   t->points, t->name, t->title);
        } else {
            skipped_points += t->points;
            printf("[SKIP]   -/%-3d %-28s %s\n", t->points, t->name, t->title);
        }
        if (r->output && *r->output && (r->score != t->points || !r->graded || pattern || r->shown))
            print_indented(r->output);
        fflush(stdout);
    }
    double seconds = grade_now() - start;
    char summary[512];
    int written = snprintf(summary, sizeof summary, "lab %s: %d/%d", grade_lab.name, score, max);
    if (skipped_points)
        snprintf(summary + written, sizeof summary - (size_t)written,
                 " (%d points not graded on this machine: see the SKIP lines)", skipped_points);
    printf("\nscore: %s, in %.1f s\n", summary, seconds);
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
