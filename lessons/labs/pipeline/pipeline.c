#define _GNU_SOURCE
/* pipeline.c - run `CMD1 | CMD2 | ...` the way a shell does, each stage with /bin/sh -c.
 * Lab 2 of forklore: lessons/labs/pipeline/handout.md says what to build and how it is graded.
 *
 * Usage: pipeline [--help] [--] CMD1 [CMD2 ...]
 *   Each argument is one stage, a shell command line: pipeline 'tr a-z A-Z' 'sort' 'uniq -c'
 *   runs what `tr a-z A-Z | sort | uniq -c` runs.  The first stage reads pipeline's stdin,
 *   the last writes pipeline's stdout; every stage runs at the same time.
 *   -h, --help   this text
 * Exit status: the last stage's, as the shell's $? shows it (its exit code, 128+SIG if signal
 *   SIG killed it, 127 if its command cannot be found); 1 if pipeline itself failed; 2 for
 *   bad usage (no stage, or an empty one).
 *
 * GIVEN: the usage text and the argument parsing.  YOURS: everything marked TODO.  Build and
 * grade with `make grade LAB=pipeline`.
 *
 * Python counterpart: subprocess.Popen(cmd, shell=True, stdin=prev.stdout, stdout=PIPE) for
 *   each stage, closing prev.stdout in the parent.
 *
 * See also: lessons/02-pipes-and-fifos.md, patterns/pipes/pipeline.c, pipe_eof.c, sigpipe.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"

static const char usage[] =
    "Usage: pipeline [--help] [--] CMD1 [CMD2 ...]\n"
    "  Run CMD1 | CMD2 | ... with each stage as /bin/sh -c CMD, all at the same time.\n"
    "  -h, --help   this text\n"
    "Exit status: the last stage's, as in the shell's $? (128+SIG for a signal, 127 if its\n"
    "command cannot be found); 1 if pipeline itself fails; 2 for bad usage.\n";

/* Each stage costs a process and a pipe: more than this is surely a mistake. */
enum { MAX_STAGES = 256 };

/* ---- running the stages (yours) --------------------------------------------------------------
 *
 * TODO 1 (lesson 02, section 2; patterns/pipes/pipeline.c): start the stages.  For each
 * stage s: unless it is the last, make a pipe for its output.  fflush(stdout), fork.  In the
 * child: die_with_parent(), dup2 the read end of the previous pipe onto 0 (the first stage
 * keeps pipeline's stdin) and the write end of the new pipe onto 1 (the last stage keeps
 * pipeline's stdout), close every pipe descriptor it still holds, and
 * execl("/bin/sh", "sh", "-c", command, (char *)NULL).  In the parent: cleanup_add_child(),
 * then close the ends that now belong to the child at once.
 *
 * TODO 2 (lesson 02, section 3): check every pipe end lives in exactly one process.  A write
 * end left in the parent or in another stage: a reader never sees EOF and pipeline hangs.  A
 * read end left in a writer: SIGPIPE never comes, and `yes | head` hangs.
 *
 * TODO 3 (lesson 01, section 3): wait for EVERY stage (waitpid(-1, ...) until all are
 * reaped, cleanup_forget_child each), and return the last stage's status as the shell's $?:
 * WEXITSTATUS, or 128 + WTERMSIG.
 */

/* Run commands[0] | commands[1] | ... | commands[n-1].  Returns the last stage's status as
 * the shell's $? shows it. */
static int run_pipeline(char *const commands[], int n)
{
    /* TODO 1-3: replace this message with the pipeline. */
    fprintf(stderr, "pipeline: not implemented yet: %d stage%s, the first is \"%s\"\n", n,
            n == 1 ? "" : "s", commands[0]);
    return EXIT_FAILURE;
}

/* ---- the command line (given) ---------------------------------------------------------------- */

/* Options (only --help), then the stages.  Returns the index of the first stage. */
static int parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int c;
    /* "+": stop at the first stage, so a stage may be written `sort -r` without quoting
     * the option away from us. */
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind == argc)
        usage_error(usage, "no command given");
    if (argc - optind > MAX_STAGES)
        usage_error(usage, "more than %d stages", MAX_STAGES);
    for (int i = optind; i < argc; i++)
        if (argv[i][strspn(argv[i], " \t\n")] == '\0')
            usage_error(usage, "stage %d is empty", i - optind + 1);
    return optind;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    int first = parse_arguments(argc, argv);
    cleanup_install(); /* Ctrl-C: kill and reap the registered children */
    return run_pipeline(&argv[first], argc - first);
}
