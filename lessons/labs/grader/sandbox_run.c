/* sandbox_run.c - run one command in the grader's sandbox (sandbox.h): how grade.sh compiles
 * the student's files.
 *
 * Usage: grade-sandbox --build DIR [--hide DIR]... -- COMMAND [ARG]...
 *   DIR (--build) stays reachable, read-only; each --hide DIR is hidden under an empty mount.
 *   The command's stdout and stderr are ours; we exit with its status (128+SIG if killed).
 *
 * The compiler reads whatever the source asks it to: `#include "/abs/path/solution.c"`, an
 * assembler `.incbin`, a path built from __FILE__ and "../..".  Run outside the sandbox, as the
 * grader, that would read the instructors' reference solutions or another student's files at
 * compile time, and the object would carry them into the tests.  In the sandbox those folders
 * are hidden and the rest of the machine is read-only, so the compiler sees what the tests see.
 * The compiler may write only the sandbox's private /tmp: grade.sh has it put the object there
 * and `cat` it to stdout, which is a file the grader opened outside.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
    "Usage: grade-sandbox --build DIR [--hide DIR]... -- COMMAND [ARG]...\n"
    "  Run COMMAND in the lab grader's sandbox (lessons/labs/grader/sandbox.h), DIR read-only\n"
    "  and each --hide DIR hidden; exit with its status.  grade.sh compiles with it.\n";

enum { COMPILE_LIMIT_S = 120 }; /* RLIMIT_CPU for one compiler run */

static _Noreturn void bad_usage(const char *why)
{
    fprintf(stderr, "grade-sandbox: %s\n%s", why, usage);
    exit(2);
}

int main(int argc, char **argv)
{
    struct sandbox box = {0};
    static const struct option options[] = {{"build", required_argument, 0, 'b'},
                                            {"hide", required_argument, 0, 'x'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    for (int opt; (opt = getopt_long(argc, argv, "+", options, NULL)) != -1;) {
        switch (opt) {
        case 'b': box.build_dir = optarg; break;
        case 'x':
            if (box.hidden_count == SANDBOX_MAX_HIDDEN)
                bad_usage("too many --hide folders");
            box.hidden[box.hidden_count++] = optarg;
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: bad_usage("unknown option");
        }
    }
    if (!box.build_dir || optind >= argc)
        bad_usage(box.build_dir ? "no command given" : "--build DIR is required");
    sandbox_probe(&box);
    if (sandbox_begin_test(&box, COMPILE_LIMIT_S) == -1) {
        perror("grade-sandbox: the temp folder");
        return 1;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child == -1) {
        perror("grade-sandbox: fork");
        return 1;
    }
    if (child == 0) {
        if (sandbox_enter(&box) == -1)
            _exit(126);
        execvp(argv[optind], &argv[optind]);
        dprintf(STDERR_FILENO, "grade-sandbox: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(child, &status, 0) == -1)
        if (errno != EINTR) {
            perror("grade-sandbox: waitpid");
            return 1;
        }
    sandbox_end_test(&box); /* whatever the command left running, killed and reaped */
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
