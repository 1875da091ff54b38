/* grade_test_main.c - main() of a lab's test program: runs one test of the lab, in the sandbox.
 *
 * Usage (the grader starts it; nobody else needs to):
 *   grade-tests --test NAME --seed N --build DIR --temp DIR
 *   with this run's token on descriptor 4 and the report channel on descriptor 3
 *   (grade_channel.h).
 *
 * The test program is built from this file, grade_api.c, grade_inspect.c, the lab's grade.c and
 * the student's library files; the student's programs are run from --build.  Everything the
 * student wrote runs in this process or below it, never in the grader's: the worst it can do
 * is fail its own test.  A test passes only when its run() returns here and the verdict record
 * goes out with the token, which was read and its descriptor closed before any student code
 * ran (the build refuses student files with constructors, which would run before main).
 */
#define _GNU_SOURCE
#include "grade_channel.h"
#include "grader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char usage[] =
    "Usage: grade-tests --test NAME --seed N --build DIR --temp DIR\n"
    "  One test of this lab, as the grader runs it: the token on descriptor 4, the records\n"
    "  on descriptor 3 (lessons/labs/grader/grade_channel.h).  Run `make grade` instead.\n";

/* Read the token whole, then close its descriptor: no later code can read it there. */
static int read_token(char *token)
{
    size_t got = 0;
    while (got < GRADE_TOKEN_LENGTH) {
        ssize_t n = read(GRADE_TOKEN_FD, token + got, GRADE_TOKEN_LENGTH - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    token[GRADE_TOKEN_LENGTH] = '\0';
    close(GRADE_TOKEN_FD);
    return strspn(token, "0123456789abcdef") == GRADE_TOKEN_LENGTH ? 0 : -1;
}

/* The code under test sees 0, 1, 2 and nothing of the grader's; the report channel stays,
 * closed on exec, so the student's programs never inherit it. */
static int tidy_descriptors(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    int keep = dirfd(dir);
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd > STDERR_FILENO && fd != keep && fd != GRADE_REPORT_FD)
            close(fd);
    }
    closedir(dir);
    /* One stream for the code's output, in the order it was written. */
    if (dup2(STDOUT_FILENO, STDERR_FILENO) == -1)
        return -1;
    return fcntl(GRADE_REPORT_FD, F_SETFD, FD_CLOEXEC);
}

static const struct grade_test *find_test(const char *name)
{
    for (size_t i = 0; i < grade_lab.count; i++)
        if (strcmp(grade_lab.tests[i].name, name) == 0)
            return &grade_lab.tests[i];
    return NULL;
}

int main(int argc, char **argv)
{
    char token[GRADE_TOKEN_LENGTH + 1];
    /* First, before any option or any of the student's code: the secret, and a process that a
     * program of the student's (same user) cannot ptrace or read the memory of. */
    int have_token = read_token(token) == 0;
    if (prctl(PR_SET_DUMPABLE, 0) == -1 || prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
        have_token = 0;
    const char *name = NULL, *build = NULL, *temp = NULL, *seed_text = NULL;
    static const struct option options[] = {
        {"test", required_argument, 0, 't'},  {"seed", required_argument, 0, 's'},
        {"build", required_argument, 0, 'b'}, {"temp", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    for (int opt; (opt = getopt_long(argc, argv, "", options, NULL)) != -1;) {
        switch (opt) {
        case 't': name = optarg; break;
        case 's': seed_text = optarg; break;
        case 'b': build = optarg; break;
        case 'd': temp = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    const struct grade_test *test = name ? find_test(name) : NULL;
    if (!test || !seed_text || !build || !temp || optind < argc) {
        fprintf(stderr, "grade-tests: %s\n%s", name && !test ? "no such test" : "missing option",
                usage);
        return 2;
    }
    if (!have_token) {
        fprintf(stderr, "grade-tests: no token on descriptor %d: start it through the grader\n",
                GRADE_TOKEN_FD);
        return 2;
    }
    if (tidy_descriptors() == -1 || prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
        perror("grade-tests: set-up");
        return 1;
    }
    grade_api_begin(strtoul(seed_text, NULL, 10), test->name, build, temp, token);
    explicit_bzero(token, sizeof token); /* the one copy left is grade_api.c's */
    test->run();
    grade_api_end(GRADE_RECORD_PASSED);
}
