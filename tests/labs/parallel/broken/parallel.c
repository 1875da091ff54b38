#define _GNU_SOURCE
/* parallel.c - run the commands read from stdin, one per line, at most P at a time
 * (BROKEN version of lab 1's solution, for the grader's own tests: see FAILS).
 *
 * THE MISTAKE: it runs the commands in batches.  It starts P, then waits for ALL P to end
 * before it starts the next P, so one slow command leaves P-1 slots idle.  Everything else
 * is right: the limit holds, every status is right, everything is reaped.
 *
 * Usage: parallel [-j P] [--help]
 *   -j, --jobs P   run at most P commands at once (default: the CPUs this process may use;
 *                  1 to 1024)
 *   -h, --help     this text
 *   Each non-blank line of stdin is one command, run as `/bin/sh -c LINE` with stdin
 *   /dev/null.  As each command ends, parallel prints one line to stdout:
 *       line N: status S
 *   where N is the command's line number in the input (blank lines count) and S is what a
 *   shell would put in $? (the exit code, or 128+SIG for a command killed by signal SIG, in
 *   which case "(killed by signal SIG, NAME)" follows).
 * Exit status: 0 if every command exited with 0, 1 otherwise (or if parallel itself failed),
 *   2 for bad usage.  Ctrl-C kills and reaps the running commands, then parallel dies of
 *   SIGINT itself.
 *
 * What to observe:
 *   - The slots: P commands start at once; from then on each waitpid(-1, ...) that returns
 *     frees one slot, and the next line starts at once, whatever the others are doing.
 *     `printf 'sleep 3\nsleep 1\nsleep 1\nsleep 1\n' | parallel -j 2` takes 3 s, not 4.
 *   - The reports come in the order commands finish, not the input order (except with -j 1).
 *   - Every child is reaped by the waitpid that reports it: no zombies, even for a long run.
 *
 * Python counterpart: concurrent.futures.ProcessPoolExecutor(max_workers=P) or
 *   multiprocessing.Pool(P).imap_unordered(...) with a function calling
 *   subprocess.run(line, shell=True).returncode; a Pool keeps P worker processes alive and
 *   hands them tasks, where this program forks one process per command and keeps at most P.
 *
 * See also: lessons/01-processes.md, patterns/processes/fork_join.c, wait_status.c,
 *   exec_spawn.c, xargs(1) -P, GNU parallel(1).
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

/* One running command: the slot is free when pid is 0. */
struct slot {
    pid_t pid;
    long line; /* its line number, for the report */
};

/* ---- reading the commands (given in the starter) ---------------------------------------- */

/* Read the next command into *text: the next line that is not blank, without its newline.
 * *number counts every line read, blank ones included, so it is the line number an editor
 * shows.  Returns 1 with a command, 0 at end of input. */
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

/* ---- starting one command ------------------------------------------------------------------ */

/* Block the signals that run the cleanup handler, so that "forked" and "registered" (or
 * "reaped" and "forgotten") happen together as far as Ctrl-C can tell. */
static void block_interrupts(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, old) == -1)
        die("sigprocmask");
}

static void restore_signals(const sigset_t *old)
{
    if (sigprocmask(SIG_SETMASK, old, NULL) == -1)
        die("sigprocmask");
}

/* In the child: stdin from /dev/null, then become /bin/sh -c LINE.  Never returns. */
static _Noreturn void run_command(const char *text, pid_t parent, const sigset_t *old_mask)
{
    die_with_parent(parent); /* parallel gone (even by SIGKILL): the command goes too */
    /* The mask survives exec: the command must not start with Ctrl-C blocked. */
    if (sigprocmask(SIG_SETMASK, old_mask, NULL) == -1)
        die_in_child("sigprocmask");
    /* Our stdin holds the commands still to come: a command that reads stdin (cat, read)
     * would swallow them.  It gets an empty input instead, as with xargs. */
    int null = open("/dev/null", O_RDONLY);
    if (null == -1 || dup2(null, STDIN_FILENO) == -1)
        die_in_child("/dev/null as stdin");
    if (null != STDIN_FILENO)
        close(null);
    execl("/bin/sh", "sh", "-c", text, (char *)NULL);
    /* _exit, not exit: exit() would flush our copy of the parent's stdin buffer, and glibc
     * then seeks the shared input back, so the parent would read some lines twice. */
    die_in_child("exec /bin/sh"); /* the shell's own "cannot run" status is 127; ours is 1 */
}

/* Fork one command; returns its pid. */
static pid_t start_command(const char *text)
{
    sigset_t old_mask;
    block_interrupts(&old_mask);
    fflush(stdout); /* else a child could print our buffered reports a second time */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        die("fork"); /* exit() runs the cleanup: the commands already running are reaped */
    if (pid == 0)
        run_command(text, parent, &old_mask);
    cleanup_add_child(pid); /* from now on Ctrl-C kills and reaps it */
    restore_signals(&old_mask);
    return pid;
}

/* ---- reaping and reporting ---------------------------------------------------------------- */

/* The shell's $? for a wait status: the exit code, or 128 + the signal. */
static int shell_status(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 255; /* stopped or continued: not asked for (no WUNTRACED), never seen */
}

static void report(long line, int wstatus)
{
    printf("line %ld: status %d", line, shell_status(wstatus));
    if (WIFSIGNALED(wstatus))
        printf(" (killed by signal %d, %s%s)", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)),
               WCOREDUMP(wstatus) ? ", core dumped" : "");
    printf("\n");
    /* Out at once: the reader sees each end as it happens, and no fork copies the line. */
    if (fflush(stdout) == EOF)
        die("writing the report");
}

/* Wait for whichever running command ends first, report it and free its slot.
 * Returns 1 if it exited with 0. */
static int reap_one(struct slot *slots, long jobs)
{
    int wstatus;
    pid_t pid;
    sigset_t old_mask;
    /* waitpid(-1): ANY child.  Waiting for the oldest one instead would leave free slots idle
     * while it runs: that is the batching this lab is about. */
    while ((pid = waitpid(-1, &wstatus, 0)) == -1)
        if (errno != EINTR)
            die("waitpid");
    block_interrupts(&old_mask);
    cleanup_forget_child(pid); /* reaped: the pid is free for the system to reuse */
    restore_signals(&old_mask);
    for (long k = 0; k < jobs; k++)
        if (slots[k].pid == pid) {
            report(slots[k].line, wstatus);
            slots[k].pid = 0;
            return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
        }
    die("waitpid returned pid %ld, which is none of our commands", (long)pid);
}

/* ---- the loop --------------------------------------------------------------------------- */

/* BROKEN: start a batch of up to `jobs` commands, wait until the whole batch has ended, then
 * start the next batch.  Returns 1 if every command exited with 0. */
static int run_all(FILE *in, long jobs)
{
    struct slot *slots = calloc((size_t)jobs, sizeof *slots);
    if (slots == NULL)
        die("calloc");
    char *text = NULL;
    size_t capacity = 0;
    long number = 0;
    int all_ok = 1, more = 1;
    while (more) {
        long started = 0;
        while (started < jobs && (more = read_command(in, &text, &capacity, &number))) {
            slots[started].pid = start_command(text);
            slots[started].line = number;
            started++;
        }
        for (long k = 0; k < started; k++) /* THE BUG: the whole batch, before any refill */
            all_ok &= reap_one(slots, jobs);
    }
    free(text);
    free(slots);
    return all_ok;
}

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
    cleanup_install(); /* Ctrl-C, kill, hang-up: kill and reap the running commands */
    return run_all(stdin, jobs) ? EXIT_SUCCESS : EXIT_FAILURE;
}
