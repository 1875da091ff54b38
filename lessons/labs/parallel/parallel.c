#define _GNU_SOURCE
/* parallel.c - run the commands read from stdin, one per line, at most P at a time.
 * Lab 1 of forklore: lessons/labs/parallel/handout.md says what to build and how it is graded.
 *
 * Usage: parallel [-j P] [--help]
 *   -j, --jobs P   run at most P commands at once (default: the CPUs this process may use;
 *                  1 to 1024)
 *   -h, --help     this text
 *   Each non-blank line of stdin is one command, run as `/bin/sh -c LINE` with stdin
 *   /dev/null.  As each command ends, parallel prints one line to stdout:
 *       line N: status S
 *   where N is the command's line number in the input (blank lines count) and S is what a
 *   shell would put in $? (the exit code, or 128+SIG for a command killed by signal SIG).
 * Exit status: 0 if every command exited with 0, 1 otherwise, 2 for bad usage.  Ctrl-C kills
 *   and reaps the running commands, then parallel dies of SIGINT itself.
 *
 * GIVEN: the usage text, the argument parsing and read_command().  YOURS: everything marked
 * TODO.  Build and grade with `make grade LAB=parallel`.
 *
 * Python counterpart: concurrent.futures.ProcessPoolExecutor(max_workers=P) with a function
 *   calling subprocess.run(line, shell=True).returncode.
 *
 * See also: lessons/01-processes.md, patterns/processes/fork_join.c, wait_status.c,
 *   exec_spawn.c, xargs(1) -P.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: parallel [-j P] [--help]\n"
    "  Run each non-blank line of stdin with /bin/sh -c, at most P at a time, and print\n"
    "  \"line N: status S\" as each one ends (S as in the shell's $?).\n"
    "  -j, --jobs P   at most P commands at once (default: the usable CPUs; 1 to 1024)\n"
    "  -h, --help     this text\n"
    "Exit status: 0 if every command exited with 0, 1 otherwise, 2 for bad usage.\n";

/* A cap on -j: each running command is one process, and the cleanup registry holds 1024. */
enum { MAX_JOBS = 1024 };

/* ---- reading the commands (given) ----------------------------------------------------------- */

/* Read the next command into *text: the next line that is not blank, without its newline.
 * *number counts every line read, blank ones included, so it is the line number an editor
 * shows.  Returns 1 with a command, 0 at end of input.  *text is malloc'd by getline and
 * reused from call to call: free it once, at the end. */
static int read_command(FILE *in, char **text, size_t *capacity, long *number)
{
    ssize_t length;
    while ((length = getline(text, capacity, in)) != -1) {
        ++*number;
        if (length > 0 && (*text)[length - 1] == '\n')
            (*text)[length - 1] = '\0';
        if ((*text)[strspn(*text, " \t\r")] != '\0') /* anything but blanks: a command */
            return 1;
    }
    if (ferror(in))
        die("reading stdin");
    return 0;
}

/* ---- running the commands (yours) ------------------------------------------------------------
 *
 * TODO 1 (lesson 01, sections 1 and 5; exec_spawn.c): start one command.  Write
 *   static pid_t start_command(const char *text)
 * that flushes stdout, forks, and in the child: die_with_parent(), stdin from /dev/null
 * (open + dup2), then execl("/bin/sh", "sh", "-c", text, (char *)NULL); if that returns,
 * die_in_child() (never exit(): see the handout).  In the parent: cleanup_add_child(pid).
 *
 * TODO 2 (lesson 01, section 3; wait_status.c): report one ending.  Write
 *   static int shell_status(int wstatus)
 * (WIFEXITED -> WEXITSTATUS, WIFSIGNALED -> 128 + WTERMSIG) and print
 *   line N: status S
 * with fflush(stdout) after it.
 *
 * TODO 3 (the heart of the lab): keep at most `jobs` commands running.  Remember, for each
 * running command, its pid and its line number (an array of `jobs` slots).  Start commands
 * until every slot is busy; then waitpid(-1, ...) for ANY child, report it, free its slot,
 * and start the next line at once.  At the end of the input, wait for the ones still running.
 * After each waitpid, cleanup_forget_child(pid).
 */

/* Run every command of `in`, at most `jobs` at once.  Returns 1 if every command exited
 * with 0, else 0. */
static int run_all(FILE *in, long jobs)
{
    char *text = NULL;
    size_t capacity = 0;
    long number = 0;
    int all_ok = 1;
    (void)jobs; /* TODO 3: use it */
    while (read_command(in, &text, &capacity, &number)) {
        /* TODO 1-3: start the command on line `number` instead of this message. */
        fprintf(stderr, "parallel: not implemented yet: line %ld (%s) was not run\n", number, text);
        all_ok = 0;
    }
    free(text);
    return all_ok;
}

/* ---- the command line (given) ---------------------------------------------------------------- */

static long parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {
        {"jobs", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    long jobs = usable_cpu_count();
    opterr = 0; /* we print our own one-line reason, then the usage */
    int c;
    while ((c = getopt_long(argc, argv, ":j:h", options, NULL)) != -1) {
        switch (c) {
        case 'j': jobs = parse_long(optarg, "-j", 1, MAX_JOBS, usage); break;
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        case ':': usage_error(usage, "%s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument \"%s\" (the commands come on stdin)", argv[optind]);
    return jobs;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    long jobs = parse_arguments(argc, argv);
    cleanup_install(); /* Ctrl-C, kill, hang-up: kill and reap the registered children */
    return run_all(stdin, jobs) ? EXIT_SUCCESS : EXIT_FAILURE;
}
