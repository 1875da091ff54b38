#define _GNU_SOURCE
/* exec_spawn.c - start another program the two ways Unix offers, fork()+execvp() and
 * posix_spawnp(), and report its exit status the way a shell does.
 *
 * Usage: exec_spawn [--method=fork-exec|posix_spawn|both] [--output=FILE] [--new-group]
 *                   [-- COMMAND [ARG...]]
 *   -m, --method=M     fork-exec, posix_spawn, or both one after the other (default: both)
 *   -o, --output=FILE  the child appends its standard output to FILE, like the shell's
 *                      `COMMAND >> FILE` (default: the child writes where exec_spawn writes)
 *   -g, --new-group    the child leads a new process group, as a shell puts each job in one
 *   -h, --help         this text
 *   COMMAND [ARG...]   what to run, after `--` (default: echo hello from a child process);
 *                      a name without a slash is looked up in $PATH, as a shell does
 *
 * Exit status: what a shell would put in $? for the command: N if it exited with N, 128+S if
 * signal S killed it, 127 if the command was not found, 126 if it was found but could not be
 * run.  With both methods, the first non-zero one.  1 if exec_spawn itself failed, 2 for bad
 * usage (so a command that exits 1 or 2 looks the same: shells share that ambiguity).
 *
 * What to observe:
 *   - fork() copies the parent; exec replaces the copy's program, keeping its pid and its open
 *     files.  Between the two, the child runs the parent's code and may change its own state
 *     (redirect stdout, change process group, directory, signal mask) without touching the
 *     parent: that gap is why a shell forks and then execs.  Try --output=/dev/null.
 *   - posix_spawnp() does fork+exec in one call; the same changes are requested beforehand as
 *     "file actions" and "attributes", because no code of yours runs in between.
 *   - exec_spawn -- no-such-command: the fork-exec child is already running when exec fails,
 *     so it can only report through its exit status (127, as a shell does); posix_spawnp
 *     returns the error number to the parent, and no child remains to wait for.
 *   - exec_spawn -- sh -c 'exit 3'         ->  3
 *     exec_spawn -- sh -c 'kill -TERM $$'  ->  128 + 15 = 143, "killed by signal 15"
 *   - strace -f -e trace=clone,clone3,vfork,execve,wait4 build/bin/exec_spawn: glibc builds
 *     posix_spawn on clone(CLONE_VM|CLONE_VFORK): the child borrows the parent's memory
 *     (nothing is copied) until it execs, and writes a failed exec's errno there for the
 *     parent to read.  Under valgrind, which turns that clone into a plain fork, the error
 *     cannot come back, and a missing command shows up as a child exiting with 127 instead.
 *
 * Python counterpart: os.fork() + os.execvp(), os.posix_spawnp(), subprocess.run(cmd,
 *   stdout=f) (which forks and redirects in the child exactly like this);
 *   multiprocessing's "spawn" and "forkserver" start methods exec a fresh interpreter, while
 *   "fork" does not exec at all.
 *
 * See also: fork_join.c (fork without exec), execve(2), posix_spawn(3), wait(2), setpgid(2),
 *   bash(1) "EXIT STATUS".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/full_io.h"

/* The statuses a shell gives a command it could not run (POSIX, "Command Search and
 * Execution"): not found, or found but not executable. */
enum { STATUS_NOT_FOUND = 127, STATUS_CANNOT_EXECUTE = 126 };

/* Which way(s) to start the command; bit flags so "both" is simply the two ORed. */
enum method { METHOD_FORK_EXEC = 1, METHOD_POSIX_SPAWN = 2, METHOD_BOTH = 3 };

/* What the child should change about itself before the new program starts. */
struct child_setup {
    const char *output; /* append stdout to this file, or NULL to inherit it */
    int new_group;      /* 1: lead a new process group */
};

static const char usage[] =
    "Usage: exec_spawn [--method=fork-exec|posix_spawn|both] [--output=FILE] [--new-group]\n"
    "                  [-- COMMAND [ARG...]]\n"
    "  -m, --method=M     fork-exec, posix_spawn, or both one after the other (default: both)\n"
    "  -o, --output=FILE  the child appends its stdout to FILE, like `COMMAND >> FILE`\n"
    "  -g, --new-group    the child leads a new process group, as a shell does for a job\n"
    "  -h, --help         this text\n"
    "  COMMAND [ARG...]   what to run (default: echo hello from a child process)\n"
    "Exit status: the command's, as a shell reports it: N, 128+signal, 127 not found,\n"
    "126 not executable; 1 if exec_spawn failed, 2 for bad usage.\n";

/* Used when no command is given: echo exists on every Unix machine and does no harm. */
static char *default_command[] = {"echo", "hello", "from", "a", "child", "process", NULL};

/* posix_spawnp passes the environment explicitly; fork+exec inherits it implicitly. */
extern char **environ;

/* Print the command as a shell user would type it, quoting words that hold spaces. */
static void print_command(const char *method, char *const argv[])
{
    printf("%s: parent %ld runs:", method, (long)getpid());
    for (int i = 0; argv[i] != NULL; i++)
        printf(strpbrk(argv[i], " \t'\"$") ? " '%s'" : " %s", argv[i]);
    printf("\n");
}

/* A wait status becomes the number a shell shows in $?: the exit code, or 128 + signal. */
static int shell_status(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus); /* so `kill -9` shows up as 137 */
    return 1;                           /* stopped or continued: we never ask for those */
}

/* Decode a child's wait status in words, then the shell's number for it. */
static void report_status(const char *method, pid_t pid, int wstatus)
{
    if (WIFEXITED(wstatus))
        printf("%s: child %ld exited with status %d", method, (long)pid, WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        printf("%s: child %ld was killed by signal %d (%s)%s", method, (long)pid, WTERMSIG(wstatus),
               strsignal(WTERMSIG(wstatus)), WCOREDUMP(wstatus) ? ", core dumped" : "");
    else
        printf("%s: child %ld changed state (raw status %#x)", method, (long)pid, wstatus);
    printf(" -> a shell's $? would be %d\n", shell_status(wstatus));
}

/* The shell's rule for a failed exec: "not found" is 127, anything else (no permission, not
 * an executable format, a directory...) is 126. */
static int exec_failure_status(int err)
{
    return (err == ENOENT || err == ENOTDIR) ? STATUS_NOT_FOUND : STATUS_CANNOT_EXECUTE;
}

/* In the fork-exec child, after exec failed.  This process is a copy of exec_spawn that has
 * nowhere to return to: it says why on stderr (one write, async-signal-safe) and leaves with
 * _exit, so it neither flushes the parent's copied stdio buffers nor runs its atexit handlers.
 * The exit status is its only channel back to the parent. */
static _Noreturn void exec_failed(const char *command)
{
    int err = errno;
    char message[512];
    int len = snprintf(message, sizeof message, "%s: %s: %s\n", program_name(), command,
                       err == ENOENT ? "command not found" : strerror(err));
    if (len > 0) {
        ssize_t ignored = write(STDERR_FILENO, message,
                                (size_t)len < sizeof message ? (size_t)len : sizeof message - 1);
        (void)ignored; /* nowhere left to report a failed report */
    }
    _exit(exec_failure_status(err));
}

/* In the fork-exec child, before exec: the changes a shell makes for `cmd >> FILE` or for a
 * new job.  They touch only this process; the parent's stdout and group stay as they were. */
static void set_up_child(const struct child_setup *setup)
{
    if (setup->new_group && setpgid(0, 0) == -1)
        die("setpgid");
    if (setup->output != NULL) {
        /* O_CLOEXEC: the descriptor open() returns must not leak into the new program; the
         * copy dup2 makes on 1 has no close-on-exec flag, so stdout survives the exec. */
        /* O_NOFOLLOW: append to the file named, never through a link planted at its name. */
        int fd = open(setup->output, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd == -1)
            die("open %s", setup->output); /* status 1, as `cmd >> /bad/path` in sh */
        if (dup2(fd, STDOUT_FILENO) == -1)
            die("dup2");
        close_or_die(fd);
    }
}

/* With --new-group, show that the child really has a group of its own.  The parent calls
 * setpgid too, as shells do: whichever of the two runs first, the group exists before the
 * parent relies on it.  EACCES means the child has already exec'd (and so already did it). */
static void show_group(const char *method, pid_t pid, const struct child_setup *setup)
{
    if (!setup->new_group)
        return;
    if (setpgid(pid, pid) == -1 && errno != EACCES && errno != ESRCH)
        die("setpgid %ld", (long)pid);
    pid_t group = getpgid(pid); /* still works on a zombie: it is not reaped yet */
    if (group == -1)
        die("getpgid %ld", (long)pid);
    printf("%s: child %ld is in process group %ld; exec_spawn stays in group %ld\n", method,
           (long)pid, (long)group, (long)getpgrp());
}

/* Method 1, the shell's way: fork a copy, let the copy set itself up, then exec. */
static int run_fork_exec(char *const argv[], const struct child_setup *setup)
{
    const char *method = "fork-exec";
    print_command(method, argv);
    pid_t pid = start_child(); /* flush, fork, die with the parent, register for Ctrl-C */
    if (pid == 0) {
        /* start_child's death signal survives exec: if exec_spawn dies, so does the command. */
        set_up_child(setup);
        execvp(argv[0], argv); /* returns only on failure */
        exec_failed(argv[0]);
    }
    show_group(method, pid, setup);
    int wstatus = wait_for_child(pid);
    report_status(method, pid, wstatus);
    return shell_status(wstatus);
}

/* The same child set-up, said in advance: posix_spawn runs no code of ours in the child.
 * child_mask is the signal mask the new program should start with. */
static void describe_spawn(const struct child_setup *setup, const sigset_t *child_mask,
                           posix_spawn_file_actions_t *actions, posix_spawnattr_t *attributes)
{
    int err;
    if ((err = posix_spawn_file_actions_init(actions)) != 0)
        die_with_code(err, "posix_spawn_file_actions_init");
    if ((err = posix_spawnattr_init(attributes)) != 0)
        die_with_code(err, "posix_spawnattr_init");
    if (setup->output != NULL) {
        err = posix_spawn_file_actions_addopen(actions, STDOUT_FILENO, setup->output,
                                               O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
        if (err != 0)
            die_with_code(err, "posix_spawn_file_actions_addopen");
    }
    short flags = POSIX_SPAWN_SETSIGMASK;
    if ((err = posix_spawnattr_setsigmask(attributes, child_mask)) != 0)
        die_with_code(err, "posix_spawnattr_setsigmask");
    if (setup->new_group) { /* group 0 means "a new group named after the child's pid" */
        if ((err = posix_spawnattr_setpgroup(attributes, 0)) != 0)
            die_with_code(err, "posix_spawnattr_setpgroup");
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    if ((err = posix_spawnattr_setflags(attributes, flags)) != 0)
        die_with_code(err, "posix_spawnattr_setflags");
}

/* Block or restore Ctrl-C and its kin (SIGINT, SIGTERM, SIGHUP). */
static void block_interruptions(sigset_t *previous)
{
    sigset_t interrupting;
    if (sigemptyset(&interrupting) == -1 || sigaddset(&interrupting, SIGINT) == -1 ||
        sigaddset(&interrupting, SIGTERM) == -1 || sigaddset(&interrupting, SIGHUP) == -1)
        die("sigaddset");
    if (sigprocmask(SIG_BLOCK, &interrupting, previous) == -1)
        die("sigprocmask");
}

/* Method 2: one call.  Failure to run the command comes back as a return value (an error
 * number, not errno), because glibc's child tells its parent before the call returns. */
static int run_posix_spawn(char *const argv[], const struct child_setup *setup)
{
    const char *method = "posix_spawn";
    print_command(method, argv);
    /* A spawned child cannot ask for PR_SET_PDEATHSIG, so only the cleanup registry stands
     * between Ctrl-C and an orphan.  Hold Ctrl-C back until the child is registered; the
     * child itself starts with the mask we had, not with Ctrl-C blocked. */
    sigset_t previous;
    block_interruptions(&previous);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    describe_spawn(setup, &previous, &actions, &attributes);
    flush_or_die(stdout); /* the command writes to the same stdout: keep our lines before its own */
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &actions, &attributes, argv, environ);
    if (err == 0)
        cleanup_add_child(pid);
    if (sigprocmask(SIG_SETMASK, &previous, NULL) == -1) /* a held Ctrl-C lands here */
        die("sigprocmask");
    /* The two destroys cannot fail on initialised objects (glibc returns 0 always). */
    (void)posix_spawn_file_actions_destroy(&actions);
    (void)posix_spawnattr_destroy(&attributes);
    if (err != 0) {
        /* No child is left to wait for: glibc has already reaped the one that failed.  The
         * number does not say which step failed: the exec, or a file action such as the
         * open() of --output (which a shell would report with status 1). */
        note("posix_spawnp: %s%s%s: %s", argv[0], setup->output ? " >> " : "",
             setup->output ? setup->output : "", strerror(err));
        printf("%s: the error came back to the parent: %s (errno %d) -> a shell's $? would "
               "be %d\n",
               method, strerror(err), err, exec_failure_status(err));
        return exec_failure_status(err);
    }
    show_group(method, pid, setup);
    int wstatus = wait_for_child(pid);
    report_status(method, pid, wstatus);
    return shell_status(wstatus);
}

/* The words --method takes, and what each means. */
static const char *const method_words[] = {"fork-exec", "posix_spawn", "both", NULL};
static const enum method method_values[] = {METHOD_FORK_EXEC, METHOD_POSIX_SPAWN, METHOD_BOTH};

/* Options, then the command after `--`.  The leading '+' stops getopt at the first word that
 * is not an option, so the command's own options (ls -l) are never taken for ours. */
static char **parse_arguments(int argc, char *argv[], enum method *method,
                              struct child_setup *setup)
{
    static const struct option options[] = {{"method", required_argument, NULL, 'm'},
                                            {"output", required_argument, NULL, 'o'},
                                            {"new-group", no_argument, NULL, 'g'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0; /* we print our own one-line reason, then the usage */
    int c;
    while ((c = getopt_long(argc, argv, "+:m:o:gh", options, NULL)) != -1) {
        switch (c) {
        case 'm':
            *method = method_values[parse_choice(optarg, "--method", method_words, usage)];
            break;
        case 'o':
            if (!*optarg)
                usage_error(usage, "--output wants a file name, not an empty string");
            setup->output = optarg;
            break;
        case 'g': setup->new_group = 1; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    if (optind == argc)
        return default_command;
    /* getopt consumed the `--` if there was one; without it, a bare word is a mistake we
     * would rather name than guess at. */
    if (strcmp(argv[optind - 1], "--") != 0)
        usage_error(usage, "unexpected argument \"%s\" (put the command after --)", argv[optind]);
    return &argv[optind];
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    enum method method = METHOD_BOTH;
    struct child_setup setup = {NULL, 0};
    char **command = parse_arguments(argc, argv, &method, &setup);
    if (command[0] == NULL || command[0][0] == '\0')
        usage_error(usage, "the command after -- is empty");

    int status = 0; /* with both methods, the first non-zero status is the one reported */
    if (method & METHOD_FORK_EXEC)
        status = run_fork_exec(command, &setup);
    if (method & METHOD_POSIX_SPAWN) {
        int spawned = run_posix_spawn(command, &setup);
        if (status == 0)
            status = spawned;
    }
    return status;
}
