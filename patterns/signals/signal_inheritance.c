#define _GNU_SOURCE
/* signal_inheritance.c - what fork() and exec() keep of a process's signal state: handlers,
 * ignored signals, the mask, and pending signals.
 *
 * Usage: signal_inheritance [--report LABEL]
 *   -r, --report LABEL  print this process's signal state under LABEL and exit (what the
 *                       program runs itself as after exec; useful on its own too)
 *   -h, --help          this text
 *
 * What to observe: the parent catches SIGUSR1 with a handler, ignores SIGUSR2, blocks
 * SIGWINCH and sends itself one, so that SIGWINCH is pending.  Then three reports:
 *   - parent:      SIGUSR1 handler, SIGUSR2 ignored, SIGWINCH blocked and pending.
 *   - after fork:  the child has the same handler, the same ignored signal and the same mask,
 *                  but nothing pending: pending signals belong to the process they were sent
 *                  to, and the child is a new process.
 *   - after exec:  the child, pending a SIGWINCH of its own, execs this program.  SIGUSR1 is
 *                  back to the default action (the handler's code is gone with the old
 *                  program), SIGUSR2 is still ignored, SIGWINCH still blocked and still
 *                  pending: exec replaces the program, not the process.
 *   - The program exits 0 when every report matches those rules, 1 otherwise.
 * This is how `nohup cmd` works (it ignores SIGHUP, then execs cmd), and why a program started
 * from Python sees SIGPIPE ignored unless subprocess's restore_signals=True (the default)
 * puts it back.
 *
 * Python counterpart: signal.getsignal(), signal.pthread_sigmask(signal.SIG_BLOCK, []) and
 *   signal.sigpending() read the same state; os.fork() and os.execv() follow these rules;
 *   multiprocessing's fork children keep the parent's Python handlers, spawn children start
 *   with fresh ones.
 *
 * See also: signal_delivery.c, ../processes/exec_spawn.c, fork(2) and execve(2) (the lists of
 *   what is kept), signal(7), lessons/01b-signals.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"

static const char usage[] =
    "Usage: signal_inheritance [--report LABEL]\n"
    "  -r, --report LABEL  print this process's signal state under LABEL and exit\n"
    "  -h, --help          this text\n";

/* The three signals the demo sets up, one for each kind of state. */
enum { CAUGHT = SIGUSR1, IGNORED = SIGUSR2, BLOCKED = SIGWINCH };

static void on_usr1(int sig)
{
    (void)sig;
}

/* What one process holds for one signal. */
struct signal_state {
    const char *action; /* "default", "ignored" or "handler" */
    int blocked, pending;
};

static struct signal_state state_of(int sig)
{
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) == -1) /* a null new action: only read the current one */
        die("sigaction(%d)", sig);
    sigset_t mask, pending;
    if (sigprocmask(SIG_BLOCK, NULL, &mask) == -1) /* a null set: only read the mask */
        die("sigprocmask");
    if (sigpending(&pending) == -1)
        die("sigpending");
    struct signal_state s;
    s.action = sa.sa_handler == SIG_DFL   ? "default"
               : sa.sa_handler == SIG_IGN ? "ignored"
                                          : "handler";
    s.blocked = sigismember(&mask, sig);
    s.pending = sigismember(&pending, sig);
    return s;
}

/* valgrind announces itself to the programs it runs through LD_PRELOAD. */
static int under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload");
}

/* One line per signal, then 1 if the state is what `expected` (one letter per signal: the
 * action's first letter, then B/-, then P/-) says. */
static int report(const char *label, const char *const expected[3])
{
    static const int sigs[3] = {CAUGHT, IGNORED, BLOCKED};
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        struct signal_state s = state_of(sigs[i]);
        char got[4] = {s.action[0], s.blocked ? 'B' : '-', s.pending ? 'P' : '-', '\0'};
        printf("[%s %ld] SIG%-6s action %-7s blocked %-3s pending %s\n", label, (long)getpid(),
               sigabbrev_np(sigs[i]), s.action, s.blocked ? "yes" : "no", s.pending ? "yes" : "no");
        if (expected && strcmp(got, expected[i]) != 0)
            ok = 0;
        if (expected && strcmp(label, "after exec") == 0 && got[1] == 'B' && !s.pending &&
            under_valgrind()) {
            /* valgrind takes the signals sent to its program into a queue of its own, which
             * its exec does not carry over; a native run keeps them. */
            printf("[%s %ld] (under valgrind, which drops pending signals at exec: not checked)\n",
                   label, (long)getpid());
            ok = strncmp(got, expected[i], 2) == 0;
        }
    }
    fflush(stdout);
    return ok;
}

static void send_self_pending(void)
{
    if (kill(getpid(), BLOCKED) == -1) /* blocked, so it stays pending instead of arriving */
        die("kill");
}

/* The path of this program, to exec it again (argv[0] may be a bare name found in $PATH). */
static void own_path(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n == -1)
        die("readlink(/proc/self/exe)");
    buf[n] = '\0';
}

static int run_demo(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(CAUGHT, &sa, NULL) == -1)
        die("sigaction(SIGUSR1)");
    if (signal(IGNORED, SIG_IGN) == SIG_ERR)
        die("signal(SIGUSR2)");
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, BLOCKED);
    if (sigprocmask(SIG_BLOCK, &block, NULL) == -1)
        die("sigprocmask");
    send_self_pending();

    static const char *const in_parent[3] = {"h--", "i--", "dBP"};
    static const char *const after_fork[3] = {"h--", "i--", "dB-"};
    int ok = report("parent", in_parent);
    char self[PATH_MAX];
    own_path(self, sizeof self);
    fflush(stdout);
    pid_t pid = cleanup_fork(); /* registered for Ctrl-C before any signal can arrive */
    if (pid == 0) {
        /* The child reports through its exit status: 3 if fork's rules did not hold, else
         * whatever the exec'd program says about exec's. */
        if (!report("after fork", after_fork))
            _exit(3);
        send_self_pending(); /* now pending in the child too, to see what exec does with it */
        char *args[] = {self, "--report", "after exec", NULL};
        execv(self, args);
        die_in_child("execv %s", self);
    }
    int status = cleanup_reap(pid);
    /* 0 only if the child's report after fork and the exec'd program's both matched. */
    int child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    ok &= child_ok;
    printf("[parent %ld] %s\n", (long)getpid(),
           ok ? "fork kept handlers, ignored signals and the mask but not what was pending; exec "
                "reset the handler and kept the rest: as expected"
              : "NOT what fork(2) and execve(2) promise");
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    const char *report_label = NULL;
    static const struct option options[] = {
        {"report", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":r:h", options, NULL)) != -1) {
        switch (c) {
        case 'r': report_label = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': usage_error(usage, "%s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument \"%s\"", argv[optind]);
    if (report_label) {
        /* Run by the demo after exec: the state exec must have left. */
        static const char *const after_exec[3] = {"d--", "i--", "dBP"};
        int exec_ok = report(report_label, after_exec);
        /* On its own, from a shell, nothing is expected: say what was found and exit 0. */
        return strcmp(report_label, "after exec") != 0 || exec_ok ? 0 : 1;
    }
    cleanup_install(); /* Ctrl-C kills and reaps the child */
    printf("signal_inheritance: SIGUSR1 caught, SIGUSR2 ignored, SIGWINCH blocked and sent\n");
    return run_demo() ? 0 : 1;
}
