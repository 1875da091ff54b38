#define _GNU_SOURCE
/* wait_status.c - decode every way a child can end (or pause) with waitpid() and its status.
 *
 * Usage: wait_status [--only DEMO] [--children N] [--step-ms MS] [--exit-code N]
 *                    [--timeout S] [--help]
 *   -o, --only DEMO     run one demonstration: exit, signal, core, stop, poll or order
 *                       (default: all of them, in that order)
 *   -n, --children N    children in the "order" demo (default 4, from 1 to 32)
 *   -s, --step-ms MS    in "order", child k of N sleeps (N - k + 1) * MS milliseconds; in
 *                       "poll", the child sleeps MS after being told to go (default 100,
 *                       from 10 to 2000)
 *   -e, --exit-code N   the code the "exit" child passes to _exit (default 3, from 0 to 255)
 *   -t, --timeout S     watchdog: give up on any wait after S seconds (default 20, 1 to 3600)
 *   -h, --help          print this text and exit
 *
 * Exit status: 0 when every child ended the way its demonstration intends (some are meant to
 * be killed), 1 otherwise or when a call fails, 2 for bad usage.
 *
 * What to observe:
 *   - exit:   _exit(3) arrives as "exited with 3"; the raw status is 0x0300 (code << 8).
 *   - signal: SIGTERM kills the child: "killed by signal 15 (Terminated)", raw 0x000f.
 *   - core:   abort() raises SIGABRT, whose default action dumps core: "killed by signal 6
 *             (Aborted), core dumped", raw 0x0086 (0x80 is the core bit).  The child runs in a
 *             private temporary directory with RLIMIT_CORE raised, so the kernel's core file
 *             lands there; the program lists it and removes it, directory included.  If
 *             /proc/sys/kernel/core_pattern sends cores to a program (|...) or another
 *             directory, or under valgrind (which writes a vgcore file of its own), the
 *             child runs with RLIMIT_CORE=0 and the program says so.
 *   - stop:   with WUNTRACED, waitpid also reports a child that stopped (SIGSTOP, Ctrl-Z's
 *             SIGTSTP), raw 0x137f; with WCONTINUED, one that SIGCONT resumed, raw 0xffff.
 *             Neither ends the child: it must still be reaped later.
 *   - poll:   WNOHANG makes waitpid return 0 at once while the child is still running, so
 *             the parent can do other work between polls instead of blocking.
 *   - order:  waitpid(-1, ...) reaps whichever child finishes first: children started
 *             together and sleeping different times are reaped shortest sleep first, which
 *             is not the order they were forked in.
 *
 * Python counterpart: multiprocessing.Process.exitcode (N for an exit, -S for signal S;
 *   it does not report core dumps); os.waitpid, os.WIFEXITED, os.WEXITSTATUS, os.WIFSIGNALED,
 *   os.WTERMSIG, os.WCOREDUMP, os.WIFSTOPPED, os.WIFCONTINUED, os.WNOHANG, os.WUNTRACED,
 *   os.waitstatus_to_exitcode; multiprocessing.connection.wait() on Process.sentinel for
 *   "whichever finishes first".
 *
 * See also: fork_basics.c, zombie_orphan.c, exec_spawn.c, wait(2), waitpid(2), core(5),
 *   getrlimit(2), signal(7), lessons/01a-wait-and-exec.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/process.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/private_dir.h"

static const char usage[] =
    "Usage: wait_status [--only DEMO] [--children N] [--step-ms MS] [--exit-code N]\n"
    "                   [--timeout S] [--help]\n"
    "  -o, --only DEMO     exit, signal, core, stop, poll or order (default: all, in order)\n"
    "  -n, --children N    children in the order demo (default 4, from 1 to 32)\n"
    "  -s, --step-ms MS    sleep step of the order and poll demos (default 100, 10 to 2000)\n"
    "  -e, --exit-code N   code the exit demo's child passes to _exit (default 3, 0 to 255)\n"
    "  -t, --timeout S     watchdog on every wait, in seconds (default 20, 1 to 3600)\n"
    "  -h, --help          print this text and exit\n";

enum { MAX_CHILDREN = 32 };     /* the order demo keeps one line per child */
enum { POLLS_WHILE_HELD = 3 };  /* WNOHANG polls made while the child surely still runs */
enum { CORE_LIMIT = 64 << 20 }; /* RLIMIT_CORE for the crashing child: room for a small core */

struct settings {
    const char *only; /* NULL: every demo */
    int children, step_ms, exit_code, timeout_s;
};

/* ---- The watchdog: no wait in this program may block for ever. -------------------------- */

/* Set before each wait, read by the handler: a pointer to a constant string, so reading it
 * in the handler is safe (volatile: the compiler may not cache it in a register). */
static const char *volatile waiting_for = "nothing yet";

/* SIGALRM: say what we were waiting for, then die of SIGTERM, whose handler (cleanup.h) kills
 * and reaps the registered children.  write, strlen and raise are async-signal-safe. */
static void on_watchdog(int sig)
{
    (void)sig;
    static const char head[] = "wait_status: watchdog: gave up waiting for ";
    const char *what = waiting_for;
    ssize_t ignored = write(STDERR_FILENO, head, sizeof head - 1);
    ignored = write(STDERR_FILENO, what, strlen(what));
    ignored = write(STDERR_FILENO, "; killing the children\n", 23);
    (void)ignored;
    /* Nothing here can report a failure (a signal handler on the way out): on a failed
     * unblock, raise still marks SIGTERM pending, and it arrives when the demo unblocks it. */
    sigset_t term;
    (void)sigemptyset(&term);
    (void)sigaddset(&term, SIGTERM);
    (void)sigprocmask(SIG_UNBLOCK, &term, NULL); /* the core demo blocks it for a moment */
    raise(SIGTERM);
}

static void install_watchdog(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    if (sigemptyset(&sa.sa_mask) == -1 || sigaction(SIGALRM, &sa, NULL) == -1)
        die("sigaction(SIGALRM)");
}

/* ---- Small helpers: fork a child running fn, wait with a watchdog, report. -------------- */

/* What a child runs; it may return, and spawn then ends the child with _exit(0). */
typedef void child_fn(const void *arg);

/* fork() with the house rules.  The child gets a COPY of arg (fork copies the whole memory),
 * so the parent may pass a pointer to its own variables. */
static pid_t spawn(child_fn *fn, const void *arg)
{
    pid_t pid = start_child(); /* the flush, fork, die_with_parent of lesson 1 */
    if (pid == 0) {
        fn(arg);
        leave_child(EXIT_SUCCESS); /* _exit: never the parent's atexit handlers */
    }
    return pid;
}

/* Start the watchdog before a wait that might never end; `what` is what it reports. */
static void arm_watchdog(const char *what, const struct settings *s)
{
    waiting_for = what;
    alarm((unsigned)s->timeout_s);
}

static void disarm_watchdog(void)
{
    alarm(0);
}

/* waitpid under the watchdog.  A child that exited or was killed is reaped: forget it. */
static pid_t wait_for(pid_t pid, int *status, int options, const char *what,
                      const struct settings *s)
{
    arm_watchdog(what, s);
    /* pid -1 means "any child"; options 0 waits for an ending, WUNTRACED adds stops,
     * WCONTINUED adds resumptions, WNOHANG returns 0 at once if nothing happened yet. */
    pid_t got = waitpid(pid, status, options);
    if (got == -1)
        die("waitpid(%ld)", (long)pid);
    disarm_watchdog();
    if (got > 0 && (WIFEXITED(*status) || WIFSIGNALED(*status)))
        cleanup_forget_child(got); /* reaped: the pid may be reused, never signal it again */
    return got;
}

/* Print one status, raw and decoded; return 1 if it is what the demo expected. */
static int report(const char *demo, pid_t pid, int status, int as_expected)
{
    char how[128];
    describe_status(status, how, sizeof how);
    /* The raw number too: students can check the layout described in describe_status. */
    printf("[%s] waitpid -> child %ld, status 0x%04x: %s%s\n", demo, (long)pid, (unsigned)status,
           how, as_expected ? "" : "  <-- NOT what this demo expected");
    return as_expected;
}

static void make_pipe(int fds[2])
{
    if (pipe(fds) == -1)
        die("pipe");
}

/* A child blocks here until the parent closes the pipe's write end (read returns 0). */
static void wait_for_go(int read_fd)
{
    char byte;
    ssize_t n;
    while ((n = read(read_fd, &byte, 1)) == -1 && errno == EINTR)
        continue;
    if (n == -1)
        die("read");
}

/* Sleep ms milliseconds, resuming after a signal handler; -1 with errno on failure. */
static int sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* ---- exit and signal ---------------------------------------------------------------------- */

static void child_exits(const void *arg)
{
    int code = *(const int *)arg;
    printf("[exit] child %ld: calling _exit(%d)\n", (long)getpid(), code);
    if (fflush(stdout) == EOF)
        die("fflush");
    _exit(code);
}

static int demo_exit(const struct settings *s)
{
    printf("\n--- exit: the child ends itself with _exit(%d)\n", s->exit_code);
    int status;
    pid_t pid = spawn(child_exits, &s->exit_code);
    wait_for(pid, &status, 0, "the exit child", s);
    return report("exit", pid, status, WIFEXITED(status) && WEXITSTATUS(status) == s->exit_code);
}

static void child_waits_to_be_killed(const void *arg)
{
    (void)arg;
    if (signal(SIGTERM, SIG_DFL) == SIG_ERR) /* the default action of SIGTERM: die */
        die("signal");
    for (;;)
        pause(); /* until the parent's SIGTERM (or SIGKILL via die_with_parent) */
}

static int demo_signal(const struct settings *s)
{
    printf("\n--- signal: the parent sends SIGTERM to a child that waits in pause()\n");
    int status;
    pid_t pid = spawn(child_waits_to_be_killed, NULL);
    /* No need to wait until the child is in pause(): a signal is delivered whenever it
     * arrives, and SIGTERM's default action (or the handler inherited from cleanup.h, which
     * re-raises it) ends the child either way. */
    if (kill(pid, SIGTERM) == -1)
        die("kill(%ld, SIGTERM)", (long)pid);
    wait_for(pid, &status, 0, "the child sent SIGTERM", s);
    return report("signal", pid, status, WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

/* ---- core ----------------------------------------------------------------------------------- */

/* Where a core would go, decided before the child crashes. */
struct core_plan {
    char dir[PATH_MAX];  /* the private directory the child crashes in */
    char pattern[256];   /* /proc/sys/kernel/core_pattern, or why it could not be read */
    rlim_t limit;        /* the RLIMIT_CORE soft limit the child sets (0: no core) */
    const char *why_not; /* NULL when a core may land in dir; else why the child sets 0 */
};

/* The kernel's rule for naming (or piping) core files, see core(5).  Not being able to read
 * it is not an error: the demo then reports that it cannot tell where a core would go. */
static void read_core_pattern(char *buf, size_t size)
{
    FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
    if (f == NULL) {
        snprintf(buf, size, "(unreadable: %s)", strerror(errno));
        return;
    }
    if (fgets(buf, (int)size, f) == NULL)
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (fclose(f) == EOF)
        die("fclose");
}

/* A plain pattern such as "core" or "core.%p" names a file in the crashing process's current
 * directory: that is the only case where this demo can be sure to find and remove the core. */
static void plan_core(struct core_plan *plan)
{
    read_core_pattern(plan->pattern, sizeof plan->pattern);
    /* RLIMIT_CORE is the largest core the kernel will write; shells often set it to 0
     * (`ulimit -c 0`).  An unprivileged process may raise its soft limit up to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == -1)
        die("getrlimit(RLIMIT_CORE)");
    plan->limit =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > CORE_LIMIT ? CORE_LIMIT : rl.rlim_max;
    plan->why_not = NULL;
    const char *preload = getenv("LD_PRELOAD"); /* valgrind preloads its vgpreload_*.so */
    if (preload != NULL && strstr(preload, "vgpreload") != NULL)
        plan->why_not = "running under valgrind, which catches SIGABRT and would write its own "
                        "vgcore file (next to its --log-file, out of this demo's reach)";
    else if (plan->pattern[0] == '|')
        plan->why_not = "core_pattern pipes cores to a program, out of this demo's reach";
    else if (plan->pattern[0] == '(' || strchr(plan->pattern, '/') != NULL)
        plan->why_not = "core_pattern is unknown or names another directory, which this demo "
                        "will not clean";
    else if (plan->limit < 4096) /* the kernel needs at least a page for an ELF core */
        plan->why_not = "the hard RLIMIT_CORE is too small to dump a core";
    if (plan->why_not != NULL)
        plan->limit = 0;
    /* mkdtemp makes a new directory with a unique name, readable only by us: a file found in
     * it afterwards can only be this crash's core, never someone else's file. */
    if (make_private_dir(plan->dir, sizeof plan->dir, "core") == -1)
        die("mkdtemp(%s)", plan->dir);
}

static void child_aborts(const void *arg)
{
    const struct core_plan *plan = arg;
    if (chdir(plan->dir) == -1) /* a plain core_pattern writes the core in the cwd */
        die("chdir(%s)", plan->dir);
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == -1)
        die("getrlimit");
    rl.rlim_cur = plan->limit; /* the soft limit may rise up to the hard one, never above */
    if (setrlimit(RLIMIT_CORE, &rl) == -1)
        die("setrlimit(RLIMIT_CORE)");
    printf("[core] child %ld: RLIMIT_CORE=%llu, abort()\n", (long)getpid(),
           (unsigned long long)plan->limit);
    if (fflush(stdout) == EOF)
        die("fflush");
    abort(); /* raises SIGABRT, whose default action is "terminate and dump core" */
}

/* List and remove whatever the crash left in the private directory; return the file count. */
static int remove_core_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        die("opendir(%s)", dir);
    int files = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) == -1)
            die("stat(%s/%s)", dir, e->d_name);
        /* unlinkat relative to the open directory: no path to rebuild, no race on it. */
        if (unlinkat(dirfd(d), e->d_name, 0) == -1)
            die("unlink(%s/%s)", dir, e->d_name);
        printf("[core] found %s/%s (%lld bytes)%s: removed\n", dir, e->d_name,
               (long long)st.st_size,
               strncmp(e->d_name, "vgcore", 6) == 0 ? ", valgrind's own core file" : "");
        files++;
        errno = 0;
    }
    if (errno != 0) /* readdir returns NULL both at the end and on error: errno tells */
        die("readdir(%s)", dir);
    if (closedir(d) == -1)
        die("closedir(%s)", dir);
    if (rmdir(dir) == -1)
        die("rmdir(%s)", dir);
    return files;
}

/* Say plainly whether the kernel dumped core, and why not when it did not. */
static void explain_core(const struct core_plan *plan, int status, int files)
{
    int dumped = 0;
#ifdef WCOREDUMP
    dumped = WIFSIGNALED(status) && WCOREDUMP(status);
#endif
    if (dumped && plan->why_not == NULL)
        printf("[core] the kernel dumped core: yes, into %s\n", plan->dir);
    else if (dumped)
        printf("[core] the kernel dumped core: yes, but not here (%s)\n", plan->why_not);
    else if (plan->why_not != NULL)
        printf("[core] the kernel dumped core: no: %s, so the child ran with RLIMIT_CORE=0\n",
               plan->why_not);
    else if (files > 0)
        printf("[core] the kernel dumped core: no: a tool caught the signal first and wrote "
               "its own file\n");
    else
        printf("[core] the kernel dumped core: no: it declined (check ulimit -c, "
               "/proc/sys/fs/suid_dumpable, and that the process is dumpable)\n");
    printf("[core] removed %s: no core file left behind (%d file%s)\n", plan->dir, files,
           files == 1 ? "" : "s");
}

static int demo_core(const struct settings *s)
{
    printf("\n--- core: the child calls abort(); SIGABRT's default action dumps core\n");
    /* Ctrl-C must not leave the directory or a core behind: hold SIGINT, SIGTERM and SIGHUP
     * until the directory is gone (a few milliseconds; the watchdog still works).  SIGPIPE
     * too (`wait_status | head -1`): meanwhile a write to the closed pipe fails with EPIPE,
     * and the held signal ends the program once the directory is gone. */
    sigset_t hold, old;
    if (sigemptyset(&hold) == -1 || sigaddset(&hold, SIGINT) == -1 ||
        sigaddset(&hold, SIGTERM) == -1 || sigaddset(&hold, SIGHUP) == -1 ||
        sigaddset(&hold, SIGPIPE) == -1)
        die("sigaddset");
    if (sigprocmask(SIG_BLOCK, &hold, &old) == -1)
        die("sigprocmask");

    struct core_plan plan;
    plan_core(&plan);
    cleanup_add_name(IPC_DIRECTORY, plan.dir); /* a die() before the crash leaves it empty */
    printf("[core] core_pattern is \"%s\"; the child crashes in %s\n", plan.pattern, plan.dir);
    int status;
    pid_t pid = spawn(child_aborts, &plan); /* the child gets its own copy of plan */
    wait_for(pid, &status, 0, "the child that called abort()", s);
    int ok = report("core", pid, status, WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    explain_core(&plan, status, remove_core_files(plan.dir));
    cleanup_forget_name(plan.dir);

    if (fflush(stdout) == EOF) /* before a held Ctrl-C ends the program */
        die("fflush");
    if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
        die("sigprocmask");
    return ok;
}

/* ---- stop and continue ---------------------------------------------------------------------- */

static void child_stops_itself(const void *arg)
{
    const int *go = arg; /* go[0]: read end, go[1]: write end */
    close_or_die(go[1]); /* else our own write end would keep the pipe from ever ending */
    printf("[stop] child %ld: raise(SIGSTOP)\n", (long)getpid());
    if (fflush(stdout) == EOF)
        die("fflush");
    if (raise(SIGSTOP) != 0) /* the kernel stops us here until a SIGCONT */
        die("raise(SIGSTOP)");
    wait_for_go(go[0]); /* stay alive until the parent has seen "continued" */
}

static int demo_stop(const struct settings *s)
{
    printf("\n--- stop: WUNTRACED reports a stopped child, WCONTINUED a resumed one\n");
    int go[2], status, ok = 1;
    make_pipe(go);
    pid_t pid = spawn(child_stops_itself, go);
    close_or_die(go[0]); /* the parent only writes (closes) the go pipe */

    /* Without WUNTRACED this wait would not return for a stop: it would block until exit. */
    wait_for(pid, &status, WUNTRACED, "the child to stop", s);
    ok &= report("stop", pid, status, WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    if (kill(pid, SIGCONT) == -1)
        die("kill(%ld, SIGCONT)", (long)pid);
    /* The child cannot exit before this wait reports "continued": it is blocked on the pipe.
     * (Had it exited, the wait would report only the exit; the continuation would be lost.) */
    wait_for(pid, &status, WCONTINUED, "the child to continue", s);
    ok &= report("stop", pid, status, WIFCONTINUED(status));

    /* Stopped and continued are not endings: the child must still be reaped. */
    close_or_die(go[1]); /* the child reads end-of-file and returns, then _exit(0) */
    wait_for(pid, &status, 0, "the resumed child to exit", s);
    ok &= report("stop", pid, status, WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return ok;
}

/* ---- WNOHANG polling ------------------------------------------------------------------------ */

struct poll_child {
    int go[2];
    int sleep_ms;
};

static void child_polled(const void *arg)
{
    const struct poll_child *c = arg;
    close_or_die(c->go[1]);
    wait_for_go(c->go[0]);
    if (sleep_ms(c->sleep_ms) == -1) /* still running for a while after the go */
        die("nanosleep");
}

static int demo_poll(const struct settings *s)
{
    printf("\n--- poll: waitpid(pid, &status, WNOHANG) returns 0 while the child runs\n");
    struct poll_child c = {.sleep_ms = s->step_ms};
    make_pipe(c.go);
    pid_t pid = spawn(child_polled, &c);
    close_or_die(c.go[0]);

    /* The child is blocked on the pipe until we close it: these polls surely find it alive. */
    int status;
    for (int i = 1; i <= POLLS_WHILE_HELD; i++) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == -1)
            die("waitpid(WNOHANG)");
        printf("[poll] poll %d: waitpid(WNOHANG) returned %ld: %s\n", i, (long)got,
               got == 0 ? "still running, the parent is free to do other work" : "ended?!");
        if (got != 0)
            return report("poll", pid, status, 0);
    }
    close_or_die(c.go[1]);
    printf("[poll] parent closed the go pipe: the child sleeps %d ms, then exits\n", c.sleep_ms);

    arm_watchdog("the polled child to exit", s);
    int polls = 0; /* how many varies with the machine: printed, never tested */
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0) {
        polls++;
        if (sleep_ms(s->step_ms / 10 + 1) == -1) /* the "other work" between two polls */
            die("nanosleep");
    }
    if (got == -1)
        die("waitpid(WNOHANG)");
    disarm_watchdog();
    cleanup_forget_child(pid);
    printf("[poll] %d more polls returned 0 before the one that reaped the child\n", polls);
    return report("poll", pid, status, WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- reaping in completion order ------------------------------------------------------------ */

struct order_child {
    int go[2];
    int number;   /* 1..N, also the exit code */
    int sleep_ms; /* (N - number + 1) * step: the last forked sleeps least */
};

static void child_sleeps(const void *arg)
{
    const struct order_child *c = arg;
    close_or_die(c->go[1]);
    wait_for_go(c->go[0]); /* all start together, so only the sleep decides who ends first */
    if (sleep_ms(c->sleep_ms) == -1)
        die("nanosleep");
    _exit(c->number);
}

/* Reap `count` children with waitpid(-1): whichever ends first.  Return 1 if all as expected. */
static int reap_in_completion_order(const pid_t *pids, const struct order_child *c, int count,
                                    const struct settings *s)
{
    int ok = 1, in_order = 1, last_sleep = 0;
    for (int r = 1; r <= count; r++) {
        int status;
        /* -1: any child.  Only the order children are alive now (every earlier demo reaped
         * its own), so each return is one of them, in the order they ended. */
        pid_t pid = wait_for(-1, &status, 0, "the order children", s);
        int k = 0; /* which of ours is it? */
        while (k < count && pids[k] != pid)
            k++;
        if (k == count)
            die("waitpid(-1) returned %ld, not one of the order children", (long)pid);
        char how[128];
        describe_status(status, how, sizeof how);
        printf("[order] reaped #%d: child %d (pid %ld, slept %d ms): %s\n", r, c[k].number,
               (long)pid, c[k].sleep_ms, how);
        ok &= WIFEXITED(status) && WEXITSTATUS(status) == c[k].number;
        in_order &= c[k].sleep_ms >= last_sleep;
        last_sleep = c[k].sleep_ms;
    }
    printf("[order] reaped in completion order (shortest sleep first, the reverse of fork "
           "order): %s\n",
           in_order ? "yes" : "no: the machine was too busy; try a larger -s");
    return ok;
}

static int demo_order(const struct settings *s)
{
    printf("\n--- order: %d children start together; child k sleeps (%d - k + 1) * %d ms; "
           "waitpid(-1) reaps whichever ends first\n",
           s->children, s->children, s->step_ms);
    struct order_child c[MAX_CHILDREN];
    pid_t pids[MAX_CHILDREN];
    int go[2];
    make_pipe(go);
    /* One go pipe for all: each child closes its copy of the write end, the parent closes
     * its own after the last fork, and every child's read returns 0 at the same moment. */
    for (int k = 0; k < s->children; k++) {
        c[k] = (struct order_child){{go[0], go[1]}, k + 1, (s->children - k) * s->step_ms};
        pids[k] = spawn(child_sleeps, &c[k]);
        printf("[order] forked child %d: pid %ld, will sleep %d ms\n", k + 1, (long)pids[k],
               c[k].sleep_ms);
    }
    close_or_die(go[0]); /* end of file for all: they start now */
    close_or_die(go[1]);
    return reap_in_completion_order(pids, c, s->children, s);
}

/* ---- arguments and main --------------------------------------------------------------------- */

typedef int demo_fn(const struct settings *s);

static const struct {
    const char *name;
    demo_fn *run;
} demos[] = {
    {"exit", demo_exit}, {"signal", demo_signal}, {"core", demo_core},
    {"stop", demo_stop}, {"poll", demo_poll},     {"order", demo_order},
};
enum { DEMO_COUNT = sizeof demos / sizeof demos[0] };

static const char *parse_demo(const char *text)
{
    for (int i = 0; i < DEMO_COUNT; i++)
        if (strcmp(text, demos[i].name) == 0)
            return demos[i].name;
    usage_error(usage, "--only: expected exit, signal, core, stop, poll or order, got \"%s\"",
                text);
}

static struct settings parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {
        {"only", required_argument, NULL, 'o'},
        {"children", required_argument, NULL, 'n'},
        {"step-ms", required_argument, NULL, 's'},
        {"exit-code", required_argument, NULL, 'e'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct settings s = {NULL, 4, 100, 3, 20}; /* the defaults the usage text promises */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:n:s:e:t:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': s.only = parse_demo(optarg); break;
        case 'n': s.children = (int)parse_long(optarg, "--children", 1, MAX_CHILDREN, usage); break;
        case 's': s.step_ms = (int)parse_long(optarg, "--step-ms", 10, 2000, usage); break;
        case 'e': s.exit_code = (int)parse_long(optarg, "--exit-code", 0, 255, usage); break;
        case 't': s.timeout_s = (int)parse_long(optarg, "--timeout", 1, 3600, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return s;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    struct settings s = parse_arguments(argc, argv);
    cleanup_install(); /* Ctrl-C kills and reaps the registered children */
    install_watchdog();
    /* Line-buffered: each line leaves in one write(2), whole, whichever process prints it,
     * and what was printed is out even if a signal ends the program. */
    if (setvbuf(stdout, NULL, _IOLBF, 0) != 0)
        die("setvbuf");

    printf("wait_status: parent %ld, demos: %s, children %d, step %d ms, exit code %d, "
           "watchdog %d s\n",
           (long)getpid(), s.only ? s.only : "all", s.children, s.step_ms, s.exit_code,
           s.timeout_s);
    int failed = 0; /* demos whose child did not end as intended */
    for (int i = 0; i < DEMO_COUNT; i++)
        if (s.only == NULL || strcmp(s.only, demos[i].name) == 0)
            failed += !demos[i].run(&s);
    printf("\nwait_status: %s\n", failed == 0 ? "every child ended as its demo intended"
                                              : "some child did NOT end as intended");
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
