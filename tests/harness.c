/* harness.c - see harness.h. */
#define _GNU_SOURCE
#include "harness.h"
#include "support/private_dir.h"
#include "support/process_runner.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FORKLORE_BIN
#error "FORKLORE_BIN (the folder of the built programs) is set by the Makefile"
#endif

struct buffer {
    char *data;
    size_t len, cap;
};

static int buffer_append(struct buffer *b, const char *bytes, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* In the child, before exec: die with the test, and be sure the test had not died already. */
static int die_with_test(void *parent)
{
    return prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != *(pid_t *)parent ? -1 : 0;
}

/* The suite's runs go through the same process runner as the lab grader's
 * (support/process_runner.h); what differs is only that a program's output is read until it
 * closes, within the deadline: a demonstration's orphan may print after its parent exited. */
int run_program(char *const argv[], int timeout_s, struct program_run *run)
{
    memset(run, 0, sizeof *run);
    /* The test process becomes a subreaper: whatever a program orphans comes back to it, so a
     * leaked grandchild shows up in count_my_zombies() instead of vanishing into init. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
        return -1;
    char path[4096];
    if (strchr(argv[0], '/'))
        snprintf(path, sizeof path, "%s", argv[0]);
    else
        snprintf(path, sizeof path, "%s/%s", FORKLORE_BIN, argv[0]);
    /* Under valgrind everything runs many times slower: the gate sets a scale. */
    const char *scale_text = getenv("FORKLORE_TIMEOUT_SCALE");
    long long scale = scale_text ? atoll(scale_text) : 1;
    double limit = (double)timeout_s * (double)(scale > 0 ? scale : 1);
    pid_t parent = getpid();
    struct runner_options options = {
        .argv = argv,
        .path = path,
        .timeout_s = limit,
        .output_grace_s = limit,
        .before_exec = die_with_test,
        .arg = &parent,
    };
    struct runner_result result;
    if (runner_run(&options, &result) == -1)
        return -1;
    run->status = result.status;
    run->timed_out = result.timed_out || result.output_held;
    run->out = result.out;
    run->out_len = result.out_len;
    run->err = result.err;
    run->err_len = result.err_len;
    return 0;
}

void program_run_free(struct program_run *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

int exited_with(const struct program_run *run, int code)
{
    return !run->timed_out && WIFEXITED(run->status) && WEXITSTATUS(run->status) == code;
}

int count_lines_containing(const char *text, const char *needle)
{
    int count = 0;
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = memmem(line, len, needle, strlen(needle));
        if (hit)
            count++;
        line = end ? end + 1 : NULL;
    }
    return count;
}

int count_dir_entries_containing(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no /dev/mqueue mounted: nothing can be left there */
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, needle))
            count++;
    closedir(d);
    return count;
}

int count_abandoned_ipc(const char *dir, const char *tag)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "forklore-%s-", tag);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *at = strstr(e->d_name, prefix);
        if (!at)
            continue;
        long pid = strtol(at + strlen(prefix), NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH)
            count++;
    }
    closedir(d);
    return count;
}

int count_my_zombies(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int zombies = 0, child;
    while (fscanf(f, "%d", &child) == 1) {
        char stat_path[64], line[512];
        snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", child);
        FILE *s = fopen(stat_path, "r");
        if (!s)
            continue;
        if (fgets(line, sizeof line, s)) {
            char *paren = strrchr(line, ')'); /* the command name may hold spaces */
            if (paren && paren[1] == ' ' && paren[2] == 'Z')
                zombies++;
        }
        fclose(s);
    }
    fclose(f);
    return zombies;
}

/* ---- assertions ------------------------------------------------------------------------------ */

void run_finished(struct program_run *run, char *const argv[], int timeout_s)
{
    cr_assert_eq(run_program(argv, timeout_s, run), 0, "could not start %s", argv[0]);
    cr_assert_not(run->timed_out, "%s timed out; stdout:\n%s\nstderr:\n%s", argv[0], run->out,
                  run->err);
}

void run_expect(struct program_run *run, char *const argv[], int timeout_s, int code)
{
    run_finished(run, argv, timeout_s);
    cr_assert(exited_with(run, code),
              "%s: wait status %#x, expected exit %d\nstdout:\n%s\nstderr:\n%s", argv[0],
              run->status, code, run->out, run->err);
    cr_assert_eq(count_my_zombies(), 0, "zombies left after %s", argv[0]);
}

/* Quick runs: a program that only prints its usage takes milliseconds. */
enum { USAGE_TIMEOUT_S = 30 };

void assert_help(const char *program, const char *flag)
{
    struct program_run run;
    run_expect(&run, (char *[]){(char *)program, (char *)flag, NULL}, USAGE_TIMEOUT_S, 0);
    cr_assert_not_null(strstr(run.out, "Usage:"), "%s %s: no usage on stdout:\n%s", program, flag,
                       run.out);
    program_run_free(&run);
}

/* argv as one line, for failure messages. */
static void join_words(char *const argv[], char *line, size_t size)
{
    size_t used = 0;
    line[0] = '\0';
    for (int i = 0; argv[i] != NULL && used < size; i++)
        used += (size_t)snprintf(line + used, size - used, "%s'%s'", i ? " " : "", argv[i]);
}

void assert_usage_error(char *const argv[], const char *reason)
{
    char command[512];
    join_words(argv, command, sizeof command);
    struct program_run run;
    run_expect(&run, argv, USAGE_TIMEOUT_S, 2);
    cr_assert_not_null(strstr(run.err, "Usage:"), "%s: no usage on stderr:\n%s", command, run.err);
    if (reason != NULL)
        cr_assert_not_null(strstr(run.err, reason), "%s: expected \"%s\" in:\n%s", command, reason,
                           run.err);
    cr_assert_eq(run.out_len, 0, "%s wrote to stdout:\n%s", command, run.out);
    program_run_free(&run);
}

void assert_refuses_bad_arguments(const char *program, const char *option, const char *bad_value)
{
    assert_usage_error((char *[]){(char *)program, (char *)option, (char *)bad_value, NULL}, NULL);
    assert_usage_error((char *[]){(char *)program, (char *)option, NULL}, NULL);
    assert_usage_error((char *[]){(char *)program, "stray", NULL}, NULL);
}

void expect_text(const char *text, const char *needle)
{
    cr_assert_not_null(strstr(text, needle), "expected \"%s\" in:\n%s", needle, text);
}

int count_my_children(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "fopen %s", path);
    int children = 0, child;
    while (fscanf(f, "%d", &child) == 1)
        children++;
    fclose(f);
    return children;
}

void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_neq(fputs(text, f), EOF, "writing %s", path);
    cr_assert_eq(fclose(f), 0, "writing %s", path);
}

long sieve_prime_count(long from, long to)
{
    if (to < 3)
        return 0; /* no prime below 2 */
    char *composite = calloc((size_t)to, 1);
    cr_assert_not_null(composite, "out of memory for a sieve below %ld", to);
    long count = 0;
    for (long i = 2; i < to; i++) {
        if (composite[i])
            continue;
        count += i >= from;
        for (long j = i * i; j < to; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}

char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buffer text = {0};
    cr_assert_eq(buffer_append(&text, "", 0), 0, "out of memory reading %s", path);
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert_eq(buffer_append(&text, chunk, got), 0, "out of memory reading %s", path);
    cr_assert_not(ferror(f), "reading %s", path);
    fclose(f);
    if (size)
        *size = text.len;
    return text.data;
}

char *line_containing(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    if (!hit)
        return NULL;
    const char *start = hit, *end = strchr(hit, '\n');
    while (start > text && start[-1] != '\n')
        start--;
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

int under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

void skip_argument_checks_under_valgrind(void)
{
    if (under_valgrind())
        cr_skip_test("command-line checks: cli/ runs this path under memcheck for every program");
}

void make_temp_dir(char *dir, size_t size, const char *tag)
{
    cr_assert_eq(make_private_dir(dir, size, tag), 0, "mkdtemp %s: %s", dir, strerror(errno));
}

void remove_dir(const char *dir)
{
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    cr_assert_eq(system(command), 0, "removing %s", dir);
}
