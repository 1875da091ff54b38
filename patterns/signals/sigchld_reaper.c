#define _GNU_SOURCE
/* sigchld_reaper.c - reaping children from a SIGCHLD handler: one wait per signal loses
 * children, a loop of WNOHANG waits does not, and SIG_IGN makes the kernel reap them.
 *
 * Usage: sigchld_reaper [--mode MODE] [--children N]
 *   -m, --mode MODE    all (default): broken, fixed, then ignore
 *                      broken: the handler calls waitpid() once per SIGCHLD
 *                      fixed:  the handler loops on waitpid(-1, WNOHANG) until none is left
 *                      ignore: SIGCHLD set to SIG_IGN; nobody waits
 *   -n, --children N   children started at once (default 5, from 2 to 1000: the
 *                      cleanup registry that kills them on Ctrl-C holds 1024)
 *   -h, --help         this text
 *
 * What to observe:
 *   - The parent blocks SIGCHLD, starts N children that exit at once, and waits (without
 *     reaping, waitid with WNOWAIT) until all N are zombies.  N SIGCHLDs were sent, but a
 *     standard signal is one bit: only one is pending.  Then it unblocks SIGCHLD.
 *   - broken: the handler runs once and reaps one child; N-1 stay zombies (the program counts
 *     them, then reaps them itself).  In a server that relies on the handler, they would stay
 *     until the next SIGCHLD, or for ever.
 *   - fixed: the handler runs once and reaps all N: "a signal arrived" means "at least one
 *     child changed state", so the handler collects until waitpid says there is no more.
 *   - ignore: with SIGCHLD ignored, children never become zombies and waitpid() fails with
 *     ECHILD once they are gone: nobody can learn their exit codes.
 *   - The program exits 0 when each mode behaved as described, 1 otherwise.
 *
 * Python counterpart: multiprocessing installs no SIGCHLD handler: Process.join() and
 *   Process.exitcode call waitpid on that one pid (os.waitpid(pid, os.WNOHANG) to poll), and
 *   multiprocessing.active_children() reaps the finished ones.  A handler set with
 *   signal.signal(signal.SIGCHLD, ...) runs in the main thread only, between bytecodes, and
 *   must loop on os.waitpid(-1, os.WNOHANG) for the same reason as here.
 *
 * See also: signal_delivery.c (why signals merge), ../processes/zombie_orphan.c, wait(2),
 *   sigaction(2) (SA_NOCLDWAIT), lessons/01b-signals.md.
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

static const char usage[] = "Usage: sigchld_reaper [--mode MODE] [--children N]\n"
                            "  -m, --mode MODE    all (default), broken, fixed or ignore\n"
                            "  -n, --children N   children started at once (default 5, 2..1000)\n"
                            "  -h, --help         this text\n";

enum reap_mode { MODE_BROKEN, MODE_FIXED, MODE_IGNORE };
static const char *const mode_names[] = {"broken", "fixed", "ignore", "all", NULL};
enum { MODE_ALL = 3 }; /* --mode all: the three above in turn */

/* What the handler did, for main to print later (printf is not safe inside a handler). */
static volatile sig_atomic_t handler_runs, reaped_by_handler;

/* The bug: one SIGCHLD, one wait.  Signals that arrived while one was pending are gone. */
static void reap_one(int sig)
{
    (void)sig;
    int saved = errno; /* waitpid may set errno under the feet of the interrupted code */
    handler_runs++;
    pid_t pid = waitpid(-1, NULL, WNOHANG);
    if (pid > 0) {
        reaped_by_handler++;
        cleanup_forget_child(pid); /* plain stores into an array: safe in a handler */
    }
    errno = saved;
}

/* The fix: collect every child that has finished, however many signals that took. */
static void reap_all(int sig)
{
    (void)sig;
    int saved = errno;
    handler_runs++;
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
        reaped_by_handler++;
        cleanup_forget_child(pid);
    }
    errno = saved;
}

static void set_sigchld(enum reap_mode mode)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mode == MODE_BROKEN ? reap_one : mode == MODE_FIXED ? reap_all : SIG_IGN;
    /* SA_RESTART: a read() in the main program should not fail because a child ended.
     * SA_NOCLDSTOP: no SIGCHLD for a child that is merely stopped (Ctrl-Z). */
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        die("sigaction(SIGCHLD)");
}

/* Start n children that exit at once with codes 1, 2, ...; their pids go into pids[]. */
static void start_children(pid_t *pids, int n)
{
    fflush(stdout); /* else each child would inherit and print the parent's buffered lines */
    for (int i = 0; i < n; i++) {
        pids[i] = cleanup_fork(); /* registered for Ctrl-C before any signal can arrive */
        if (pids[i] == 0)
            _exit((i + 1) & 0xff);
    }
}

/* Is pid a zombie of ours?  WNOWAIT looks at the exit status and leaves the child unreaped. */
static int is_zombie(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1)
        return 0; /* ECHILD: reaped already (or never ours) */
    return info.si_pid == pid;
}

/* broken and fixed: N children end while SIGCHLD is blocked; then one delivery. */
static int run_handler_mode(enum reap_mode mode, int n)
{
    printf("-- %s: %d children exit while SIGCHLD is blocked, then it is unblocked\n",
           mode_names[mode], n);
    handler_runs = reaped_by_handler = 0;
    set_sigchld(mode);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, &old) == -1)
        die("sigprocmask");
    pid_t *pids = malloc((size_t)n * sizeof *pids);
    if (!pids)
        die("malloc(%d pids)", n);
    start_children(pids, n);
    for (int i = 0; i < n; i++) { /* wait for each to be a zombie, reaping none */
        siginfo_t info;
        while (waitid(P_PID, (id_t)pids[i], &info, WEXITED | WNOWAIT) == -1)
            if (errno != EINTR)
                die("waitid");
    }
    printf("[parent] all %d children have exited; SIGCHLD pending once, handler runs so far: %d\n",
           n, (int)handler_runs);
    if (sigprocmask(SIG_SETMASK, &old, NULL) == -1) /* the one pending SIGCHLD runs here */
        die("sigprocmask");
    int zombies = 0;
    for (int i = 0; i < n; i++)
        zombies += is_zombie(pids[i]);
    printf("[parent] handler ran %d time(s) and reaped %d of %d; zombies left: %d\n",
           (int)handler_runs, (int)reaped_by_handler, n, zombies);
    int expected = mode == MODE_BROKEN ? n - 1 : 0;
    int ok = handler_runs == 1 && zombies == expected && reaped_by_handler + zombies == n;
    /* Leave nothing behind either way: reap what the handler missed. */
    for (int i = 0; i < n; i++)
        if (is_zombie(pids[i])) {
            while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
                continue;
            cleanup_forget_child(pids[i]);
        }
    if (zombies)
        printf("[parent] reaped the %d left behind from main\n", zombies);
    printf("[parent] %s\n", ok ? (mode == MODE_BROKEN ? "one wait per signal lost children, as "
                                                        "expected"
                                                      : "the loop reaped every child, as expected")
                               : "NOT what this mode predicts");
    if (signal(SIGCHLD, SIG_DFL) == SIG_ERR)
        die("signal(SIGCHLD)");
    free(pids);
    return ok;
}

/* ignore: the kernel reaps; waitpid() has nothing to wait for once they are gone. */
static int run_ignore_mode(int n)
{
    printf("-- ignore: SIGCHLD set to SIG_IGN, %d children exit, nobody reaps them\n", n);
    set_sigchld(MODE_IGNORE);
    pid_t *pids = malloc((size_t)n * sizeof *pids);
    if (!pids)
        die("malloc(%d pids)", n);
    start_children(pids, n);
    /* With SIGCHLD ignored, waitpid blocks until every child is gone, then fails: ECHILD. */
    int status;
    pid_t got;
    while ((got = waitpid(-1, &status, 0)) == -1 && errno == EINTR)
        continue;
    int err = errno;
    int zombies = 0;
    for (int i = 0; i < n; i++) {
        zombies += is_zombie(pids[i]);
        cleanup_forget_child(pids[i]);
    }
    printf("[parent] waitpid(-1) -> %ld (%s); zombies: %d; their exit codes are lost\n", (long)got,
           got == -1 ? strerror(err) : "a child was reaped after all", zombies);
    int ok = got == -1 && err == ECHILD && zombies == 0;
    printf("[parent] %s\n", ok ? "the kernel reaped them as they exited, as expected"
                               : "NOT what this mode predicts");
    if (signal(SIGCHLD, SIG_DFL) == SIG_ERR)
        die("signal(SIGCHLD)");
    free(pids);
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C kills and reaps the children not reaped yet */
    int chosen = MODE_ALL;
    int children = 5;
    static const struct option options[] = {{"mode", required_argument, 0, 'm'},
                                            {"children", required_argument, 0, 'n'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:n:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': chosen = parse_choice(optarg, "--mode", mode_names, usage); break;
        case 'n': children = (int)parse_long(optarg, "--children", 2, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int all = chosen == MODE_ALL;

    printf("sigchld_reaper: pid %ld, mode %s, %d children\n", (long)getpid(), mode_names[chosen],
           children);
    int ok = 1;
    if (all || chosen == MODE_BROKEN)
        ok &= run_handler_mode(MODE_BROKEN, children);
    if (all || chosen == MODE_FIXED)
        ok &= run_handler_mode(MODE_FIXED, children);
    if (all || chosen == MODE_IGNORE)
        ok &= run_ignore_mode(children);
    return ok ? 0 : 1;
}
