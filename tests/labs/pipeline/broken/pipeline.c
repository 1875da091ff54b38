#define _GNU_SOURCE
/* pipeline.c - run `CMD1 | CMD2 | ...` the way a shell does, each stage with /bin/sh -c
 * (BROKEN version of lab 2's solution, for the grader's own tests: see FAILS).
 *
 * THE MISTAKE: a stage keeps the read end of its own output pipe.  The child dup2()s the
 * write end onto stdout and closes the original, but forgets the read end that came with
 * the same pipe() (it belongs to the next stage).  Every write end is closed where it
 * should be, so EOF still works and most pipelines run fine; but a writer that holds a read
 * end of its own pipe never gets SIGPIPE, so `yes | head -n 3` never ends.
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
 * What to observe:
 *   - N stages, N-1 pipes, made one at a time: when stage s is forked the parent holds only
 *     the read end left over from stage s-1 and the two ends of the new pipe, and closes
 *     its copies as soon as the child has them.  Every pipe end then lives in exactly one
 *     process, so EOF and SIGPIPE work as in the shell: `pipeline yes 'head -n 3'` ends.
 *   - ls -l /proc/PID/fd of any stage shows 0, 1 and 2 only.
 *   - Nothing is printed but what the last stage prints: `pipeline A B 2>/dev/null` is
 *     byte-for-byte `A | B`.
 *
 * Python counterpart: p1 = subprocess.Popen(cmd1, shell=True, stdout=PIPE); p2 =
 *   subprocess.Popen(cmd2, shell=True, stdin=p1.stdout, stdout=PIPE); p1.stdout.close() ...;
 *   then wait() for each, and the last one's returncode (-SIG for a signal, not 128+SIG).
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

/* ---- one stage, in its child ---------------------------------------------------------------- */

/* Put `from` onto `to` (0 or 1) and close the original, unless it already is `to`. */
static void move_fd(int from, int to)
{
    if (from == to)
        return;
    if (dup2(from, to) == -1)
        die_in_child("dup2");
    if (close(from) == -1)
        die_in_child("close");
}

/* In the child of one stage: read from `in`, write to `out`, close `unused` (the read end of
 * our own output pipe, which belongs to the next stage), then become /bin/sh -c CMD. */
static _Noreturn void run_stage(const char *command, int in, int out, int unused, pid_t parent,
                                const sigset_t *old_mask)
{
    die_with_parent(parent);
    /* A signal mask and ignored signals survive exec: give the command the usual ones.  (A
     * stage that inherited an ignored SIGPIPE would not die when its reader quits.) */
    if (sigprocmask(SIG_SETMASK, old_mask, NULL) == -1 || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
        die_in_child("signals");
    (void)unused; /* THE BUG: the read end of our own output pipe stays open in this stage */
    move_fd(in, STDIN_FILENO);
    move_fd(out, STDOUT_FILENO);
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    die_in_child("exec /bin/sh"); /* never happens in practice: sh itself says 127 */
}

/* ---- the parent ------------------------------------------------------------------------------ */

/* Fork every stage, wiring each to the next with a new pipe.  pids[s] gets stage s's pid. */
static void start_stages(char *const commands[], int n, pid_t *pids)
{
    /* Ctrl-C waits until every stage is forked AND registered for the cleanup, so none can
     * slip through between the two (it would be killed with us, but never reaped). */
    sigset_t interrupts, old_mask;
    sigemptyset(&interrupts);
    sigaddset(&interrupts, SIGINT);
    sigaddset(&interrupts, SIGTERM);
    sigaddset(&interrupts, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &interrupts, &old_mask) == -1)
        die("sigprocmask");
    pid_t parent = getpid();
    int in = STDIN_FILENO; /* what the next stage reads: our stdin, then each pipe in turn */
    for (int s = 0; s < n; s++) {
        int fds[2] = {-1, -1};
        int out = STDOUT_FILENO; /* the last stage writes our stdout */
        if (s < n - 1) {
            if (pipe(fds) == -1)
                die("pipe");
            out = fds[1];
        }
        fflush(stdout); /* nothing buffered may be copied into the child */
        pid_t pid = fork();
        if (pid == -1)
            die("fork"); /* exit() runs the cleanup: the stages already started are reaped */
        if (pid == 0)
            run_stage(commands[s], in, out, fds[0], parent, &old_mask);
        cleanup_add_child(pid);
        pids[s] = pid;
        /* The child has its copies now.  Ours must go at once, or they leak into the next
         * stages too, and the readers of these pipes never see EOF. */
        if (in != STDIN_FILENO && close(in) == -1)
            die("close");
        if (out != STDOUT_FILENO && close(out) == -1)
            die("close");
        in = fds[0]; /* the next stage reads what this one writes */
    }
    if (sigprocmask(SIG_SETMASK, &old_mask, NULL) == -1)
        die("sigprocmask");
}

/* The shell's $? for a wait status. */
static int shell_status(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 255;
}

/* Reap every stage, in whatever order they end.  Returns the last stage's $? status. */
static int wait_stages(const pid_t *pids, int n)
{
    int last = 0;
    for (int left = n; left > 0;) {
        int wstatus;
        pid_t pid = waitpid(-1, &wstatus, 0);
        if (pid == -1 && errno == EINTR)
            continue;
        if (pid == -1)
            die("waitpid");
        cleanup_forget_child(pid);
        if (pid == pids[n - 1])
            last = shell_status(wstatus);
        left--;
    }
    return last;
}

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
    cleanup_install(); /* Ctrl-C: kill and reap the stages */
    int n = argc - first;
    pid_t pids[MAX_STAGES];
    start_stages(&argv[first], n, pids);
    return wait_stages(pids, n);
}
