#define _GNU_SOURCE
/* pipeline.c - run `a | b | c` the way a shell does: one child per stage, wired with pipe and dup2.
 *
 * Usage: pipeline [--pipefail] [--] [COMMAND [ARG...] ['|' COMMAND [ARG...]]...]
 *   --pipefail   exit with the status of the last stage that failed (bash's `set -o pipefail`),
 *                instead of the status of the last stage (what sh does)
 *   -h, --help   this text
 *   Stages are separated by a `|` argument (quote it: '|').  Without commands, runs
 *     printf 'pear\napple\npear\nfig\napple\npear\n' | sort | uniq -c
 *   Commands are found on $PATH, as the shell finds them.
 *
 * What to observe:
 *   - The stages' output reaches stdout exactly as the shell would print it; the report of
 *     each stage goes to stderr, so `pipeline ... 2>/dev/null` is byte-for-byte the shell's.
 *   - N stages need N-1 pipes.  Each child dup2()s its pipe ends onto 0 and 1 and then closes
 *     EVERY pipe descriptor, and the parent closes all of them too.  Forget one and a stage
 *     never sees EOF (sort waits for input forever): see pipe_eof.
 *   - All stages run at the same time; the parent waits for all of them and reports each
 *     status like a shell: exited with N, or killed by a signal (shown as 128+N).
 *   - `pipeline false '|' true` exits 0, `pipeline --pipefail false '|' true` exits 1.
 *   - A command that cannot be run exits 127, as in the shell ("command not found").
 *
 * Python counterpart: subprocess.Popen(..., stdout=PIPE) chained with stdin=prev.stdout
 *   (closing prev.stdout in the parent afterwards, for the same EOF reason); os.pipe +
 *   os.dup2 + os.execvp in os.fork()ed children is exactly what this program does.
 *
 * See also: pipe_basics.c, pipe_eof.c, dup2(2), execvp(3), bash(1) "Pipelines".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/full_io.h"

static const char usage[] =
    "Usage: pipeline [--pipefail] [--] [COMMAND [ARG...] ['|' COMMAND [ARG...]]...]\n"
    "  --pipefail   exit with the last failing stage's status, not the last stage's\n"
    "  -h, --help   this text\n"
    "Stages are separated by a '|' argument.  Without commands, runs\n"
    "  printf 'pear\\napple\\npear\\nfig\\napple\\npear\\n' | sort | uniq -c\n";

/* A stage is a slice of argv: the words from its command up to the next "|". */
struct stage {
    char **argv; /* NULL-terminated (the "|" argument is overwritten with NULL) */
    pid_t pid;
    int status;
};

/* Enough for any pipeline typed by hand; each stage costs one process and one pipe. */
enum { MAX_STAGES = 64 };

/* The exit code a shell shows for a wait status: N, or 128+signal. */
static int shell_code(int status)
{
    if (WIFEXITED(status)) /* it called exit/_exit: the low 8 bits of its code */
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

/* Split words at "|" arguments into stages.  Returns the number of stages. */
static int split_stages(char **words, int count, struct stage *stages)
{
    int n = 0;
    stages[n++].argv = words;
    for (int i = 0; i < count; i++) {
        if (strcmp(words[i], "|") != 0)
            continue;
        if (n == MAX_STAGES)
            usage_error(usage, "more than %d stages", MAX_STAGES);
        words[i] = NULL; /* ends the previous stage's argv */
        stages[n++].argv = &words[i + 1];
    }
    for (int s = 0; s < n; s++)
        if (stages[s].argv[0] == NULL)
            usage_error(usage, "stage %d is empty (two '|' in a row, or one at an end)", s + 1);
    return n;
}

/* In the child of stage s: stdin from the previous pipe, stdout into the next, then exec. */
static _Noreturn void run_stage(struct stage *stage, int s, int n, int pipes[][2])
{
    if (s > 0 && dup2(pipes[s - 1][0], STDIN_FILENO) == -1)
        die("dup2 stdin");
    if (s < n - 1 && dup2(pipes[s][1], STDOUT_FILENO) == -1)
        die("dup2 stdout");
    /* Now 0 and 1 are the copies we keep: close every original pipe descriptor, including
     * ones that belong to other stages, or their readers would never see EOF. */
    for (int i = 0; i < n - 1; i++) {
        close_or_die(pipes[i][0]);
        close_or_die(pipes[i][1]);
    }
    if (signal(SIGPIPE, SIG_DFL) == SIG_ERR) /* die quietly when the reader quits early */
        die("signal(SIGPIPE)");
    execvp(stage->argv[0], stage->argv);
    /* Only reached if exec failed: 127 is the shell's "command not found". */
    char msg[256];
    int len = snprintf(msg, sizeof msg, "pipeline: %s: %s\n", stage->argv[0], strerror(errno));
    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) == -1)
        _exit(126);
    _exit(errno == ENOENT ? 127 : 126);
}

/* Make the pipes, fork every stage, close the parent's copies. */
static void start_pipeline(struct stage *stages, int n)
{
    int pipes[MAX_STAGES][2];
    for (int i = 0; i < n - 1; i++)
        if (pipe(pipes[i]) == -1)
            die("pipe");
    for (int s = 0; s < n; s++)
        if ((stages[s].pid = start_child()) == 0)
            run_stage(&stages[s], s, n, pipes);
    /* The parent reads and writes none of the pipes: every copy it holds would keep a
     * stage waiting for EOF. */
    for (int i = 0; i < n - 1; i++) {
        close_or_die(pipes[i][0]);
        close_or_die(pipes[i][1]);
    }
}

/* Wait for every stage (in any order, as they finish), then report in stage order. */
static void wait_pipeline(struct stage *stages, int n)
{
    for (int done = 0; done < n;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == -1 && errno == EINTR)
            continue;
        if (pid == -1)
            die("waitpid");
        for (int s = 0; s < n; s++)
            if (stages[s].pid == pid) {
                stages[s].status = status;
                cleanup_forget_child(pid); /* reaped: its pid may now be reused by anyone */
                done++;
            }
    }
}

/* Print each stage like a shell would report it, and return the pipeline's exit code. */
static int report(const struct stage *stages, int n, int pipefail)
{
    int last_failure = 0;
    for (int s = 0; s < n; s++) {
        int status = stages[s].status, code = shell_code(status);
        char how[STATUS_TEXT_SIZE];
        fprintf(stderr, "pipeline: stage %d (%s) pid %ld: %s -> %d\n", s + 1, stages[s].argv[0],
                (long)stages[s].pid, describe_status(status, how, sizeof how), code);
        if (code != 0)
            last_failure = code;
    }
    int last = shell_code(stages[n - 1].status);
    fprintf(stderr, "pipeline: status %d (last stage, as sh reports it), %d with pipefail%s\n",
            last, last_failure, pipefail ? " (used)" : "");
    return pipefail ? last_failure : last;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    int pipefail = 0;
    static const struct option options[] = {
        {"pipefail", no_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* "+" stops at the first command word, so `uniq -c` keeps its own options. */
    while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
        switch (c) {
        case 'p': pipefail = 1; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    static char *default_words[] = {
        "printf", "pear\\napple\\npear\\nfig\\napple\\npear\\n", "|", "sort", "|", "uniq", "-c",
        NULL};
    char **words = optind < argc ? &argv[optind] : default_words;
    int count = optind < argc ? argc - optind : 7;

    struct stage stages[MAX_STAGES];
    memset(stages, 0, sizeof stages);
    int n = split_stages(words, count, stages);
    fprintf(stderr, "pipeline: %d stage%s%s\n", n, n == 1 ? "" : "s", pipefail ? ", pipefail" : "");
    start_pipeline(stages, n);
    wait_pipeline(stages, n);
    return report(stages, n, pipefail);
}
