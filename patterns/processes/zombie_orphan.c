#define _GNU_SOURCE
/* zombie_orphan.c - a zombie made visible, an orphan re-parented and reaped, and
 * PR_SET_PDEATHSIG, the cure when an orphan would be a bug.
 *
 * Usage: zombie_orphan [--only DEMO] [--zombie-ms MS] [--timeout S] [--help]
 *   -o, --only DEMO     run one demonstration: zombie, orphan or pdeathsig
 *                       (default: all three, in that order)
 *   -z, --zombie-ms MS  keep the zombie unreaped for MS milliseconds, time enough to look at
 *                       it with `ps -o pid,ppid,stat,cmd --ppid PID` (default 0, up to 60000)
 *   -t, --timeout S     watchdog: give up on any wait after S seconds (default 10, 1 to 3600)
 *   -h, --help          print this text and exit
 *
 * Exit status: 0 when every process behaved as its demonstration intends, 1 otherwise or
 * when a call fails, 2 for bad usage.
 *
 * What to observe:
 *   - zombie: a child that has exited stays in the process table, state Z in
 *     /proc/PID/stat, until its parent collects its exit status.  waitid(..., WNOWAIT)
 *     waits for the exit without collecting it, so the zombie can be shown; waitpid then
 *     reaps it and /proc/PID disappears.  A parent that never waits fills the table with them.
 *   - orphan: a "middle" child forks a grandchild and exits.  The grandchild's getppid()
 *     changes from the middle child's pid to the pid of its new parent.  Normally that is init
 *     (pid 1) or the nearest "child subreaper"; this program makes itself a subreaper
 *     (prctl(PR_SET_CHILD_SUBREAPER)), so the orphan comes back to it and is reaped here.
 *   - pdeathsig: a grandchild that asked prctl(PR_SET_PDEATHSIG, SIGKILL) is killed when its
 *     parent exits: it comes back "killed by signal 9".  Use it for a helper process that
 *     must never outlive the process it serves.
 *   - at the end, waitpid(-1, WNOHANG) fails with ECHILD: no child left, running or zombie.
 *
 * Python counterpart: a finished multiprocessing.Process stays a zombie until join() (or
 *   multiprocessing.active_children(), which joins finished ones); Process.daemon=True
 *   children are terminated when the parent exits normally; there is no portable pdeathsig
 *   (on Linux: ctypes prctl, or os.register_at_fork + a watchdog thread).
 *
 * See also: fork_basics.c, wait_status.c, proc(5) (/proc/PID/stat), prctl(2)
 *   (PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG), waitid(2) (WNOWAIT), lessons/01a-wait-and-exec.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/process.h"
#include "support/full_io.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: zombie_orphan [--only DEMO] [--zombie-ms MS] [--timeout S] [--help]\n"
    "  -o, --only DEMO     zombie, orphan or pdeathsig (default: all three, in order)\n"
    "  -z, --zombie-ms MS  keep the zombie unreaped MS ms, to see it with ps (default 0)\n"
    "  -t, --timeout S     watchdog on every wait, in seconds (default 10, 1 to 3600)\n"
    "  -h, --help          print this text and exit\n";

struct settings {
    const char *only; /* NULL: every demo */
    int zombie_ms, timeout_s;
};

/* ---- Shared helpers: status in words, the watchdog, pipes, /proc. ----------------------- */

/* Set before each wait, read by the watchdog's handler (a pointer to a constant string). */
static const char *volatile waiting_for = "nothing yet";

/* SIGALRM: say what we waited for, then die of SIGTERM, whose handler (cleanup.h) kills and
 * reaps the registered children.  Only async-signal-safe calls here. */
static void on_watchdog(int sig)
{
    (void)sig;
    static const char head[] = "zombie_orphan: watchdog: gave up waiting for ";
    const char *what = waiting_for;
    ssize_t ignored = write(STDERR_FILENO, head, sizeof head - 1);
    ignored = write(STDERR_FILENO, what, strlen(what));
    ignored = write(STDERR_FILENO, "; killing the children\n", 23);
    (void)ignored;
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

/* waitpid for one child under the watchdog, reaping it; print and return its status. */
static int reap(pid_t pid, const char *demo, const char *who, const struct settings *s)
{
    int status;
    waiting_for = who;
    alarm((unsigned)s->timeout_s); /* the watchdog: no wait here may block for ever */
    if (waitpid(pid, &status, 0) == -1)
        die("waitpid(%ld)", (long)pid);
    alarm(0);
    cleanup_forget_child(pid); /* reaped: its pid may be reused, never signal it again */
    char how[128];
    describe_status(status, how, sizeof how);
    printf("[%s] parent %ld reaped %s %ld: %s\n", demo, (long)getpid(), who, (long)pid, how);
    return status;
}

/* Write or read one pid through a pipe (the grandchild's pid, or a "ready" token). */
static void send_pid(int fd, pid_t pid)
{
    /* A pipe write of a few bytes is all-or-nothing (below PIPE_BUF): no partial writes. */
    if (write(fd, &pid, sizeof pid) != (ssize_t)sizeof pid)
        die("write");
}

static pid_t receive_pid(int fd, const char *what)
{
    pid_t pid;
    ssize_t n;
    while ((n = read(fd, &pid, sizeof pid)) == -1 && errno == EINTR)
        continue;
    if (n == -1)
        die("read(%s)", what);
    if (n != (ssize_t)sizeof pid) /* end of file or a short read: errno does not apply */
        die_with_code(-1, "read(%s): %s", what,
                      n == 0 ? "the writer ended without sending it" : "short read");
    return pid;
}

/* The state letter from /proc/PID/stat ("R", "S", "Z", ...), or 0 if PID no longer exists.
 * The command name in parentheses may contain spaces: the state follows the LAST ')'. */
static char process_state(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        die("fopen(%s)", path);
    }
    char *got = fgets(line, sizeof line, f);
    if (fclose(f) == EOF)
        die("fclose(%s)", path);
    if (got == NULL)
        return 0; /* the process went away between open and read */
    char *paren = strrchr(line, ')');
    if (paren == NULL || paren[1] != ' ')
        die_with_code(-1, "%s: unexpected format", path);
    return paren[2];
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1)
        if (errno != EINTR)
            die("nanosleep");
}

/* ---- zombie ------------------------------------------------------------------------------- */

static int demo_zombie(const struct settings *s)
{
    printf("\n--- zombie: a child that has exited but has not been reaped yet\n");
    pid_t pid = start_child();
    if (pid == 0) { /* the child: end at once; from now until the wait below it is a zombie */
        printf("[zombie] child %ld: _exit(0) at once\n", (long)getpid());
        if (fflush(stdout) == EOF)
            die("fflush");
        _exit(0);
    }
    /* WNOWAIT: wait until the child has exited, but leave it unreaped (a zombie). */
    siginfo_t info;
    memset(&info, 0, sizeof info);
    waiting_for = "the zombie child to exit";
    alarm((unsigned)s->timeout_s);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == -1)
        die("waitid(WNOWAIT)");
    alarm(0);
    printf("[zombie] waitid(WEXITED | WNOWAIT): child %ld has exited; not reaped yet\n",
           (long)info.si_pid);

    /* The process is gone (memory, files freed), but its entry with the exit status stays
     * until the parent reads it: that leftover entry is the zombie. */
    char before = process_state(pid);
    printf("[zombie] before reaping: /proc/%ld/stat state %c%s\n", (long)pid, before ? before : '-',
           before == 'Z' ? " (zombie: gone, but its exit status waits for the parent)"
                         : "  <-- NOT a zombie?!");
    if (s->zombie_ms > 0) {
        printf("[zombie] keeping it %d ms: try  ps -o pid,ppid,stat,cmd --ppid %ld\n", s->zombie_ms,
               (long)getpid());
        if (fflush(stdout) == EOF)
            die("fflush");
        sleep_ms(s->zombie_ms);
    }
    int status = reap(pid, "zombie", "child", s); /* collecting the status frees the entry */
    char after = process_state(pid);
    printf("[zombie] after reaping: /proc/%ld/stat %s\n", (long)pid,
           after == 0 ? "is gone: waitpid collected the status and the kernel freed the entry"
                      : "still exists?!");
    return before == 'Z' && after == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- orphan --------------------------------------------------------------------------------- */

/* The grandchild of the orphan demo: it sees its parent exit and its getppid() change. */
static _Noreturn void run_orphan_grandchild(pid_t top, int ready_fd, int timeout_s)
{
    pid_t first = getppid(); /* the middle child */
    printf("[orphan] grandchild %ld: getppid() = %ld (the middle child)\n", (long)getpid(),
           (long)first);
    if (fflush(stdout) == EOF)
        die("fflush");
    send_pid(ready_fd, getpid()); /* tell the middle child it may exit now */
    close_or_die(ready_fd);

    /* Re-parenting happens inside the kernel as the middle child exits: poll, bounded. */
    struct timespec pause_1ms = {0, 1000000L};
    for (long waited_ms = 0; getppid() == first; waited_ms++) {
        if (waited_ms > timeout_s * 1000L) {
            errno = ETIMEDOUT;
            die_with_code(-1, "grandchild: getppid() still %ld after %d s", (long)first, timeout_s);
        }
        if (nanosleep(&pause_1ms, NULL) == -1 && errno != EINTR)
            die("nanosleep");
    }
    pid_t now = getppid(); /* the subreaper (us), or init if there were no subreaper */
    die_with_parent(now);  /* from here on, an orphan would be a bug: die with the new parent */
    printf("[orphan] grandchild %ld: my parent %ld exited; getppid() is now %ld%s\n",
           (long)getpid(), (long)first, (long)now,
           now == top ? " (zombie_orphan itself, the subreaper)"
           : now == 1 ? " (init)"
                      : " (another subreaper)");
    if (fflush(stdout) == EOF)
        die("fflush");
    _exit(now == top ? 0 : 3);
}

/* The grandchild of the pdeathsig demo: it asks to be killed when its parent dies, then
 * waits for ever.  Its parent exits at once, so "for ever" is a few milliseconds.
 * Two traps: the setting is per process and NOT inherited by fork (each child sets its own),
 * and "parent dies" means the parent THREAD that forked us exits: fork from a long-lived
 * thread (here, the only one). */
static _Noreturn void run_pdeathsig_grandchild(pid_t parent, int ready_fd)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) /* SIGKILL from the kernel when parent dies */
        die("prctl(PR_SET_PDEATHSIG)");
    if (getppid() != parent) /* it died before prctl: the signal will never come */
        _exit(EXIT_FAILURE);
    printf("[pdeathsig] grandchild %ld: prctl(PR_SET_PDEATHSIG, SIGKILL) done; parent is %ld;"
           " pause() for ever\n",
           (long)getpid(), (long)parent);
    if (fflush(stdout) == EOF)
        die("fflush");
    send_pid(ready_fd, getpid());
    for (;;)
        pause();
}

/* The middle child of both demos: fork a grandchild, wait until it is ready, tell the top
 * process its pid, exit without waiting for it. */
static _Noreturn void run_middle(const char *demo, pid_t top, int to_top_fd, int timeout_s)
{
    pid_t middle = getpid();
    int ready[2];
    if (pipe(ready) == -1)
        die("pipe");
    if (fflush(stdout) == EOF)
        die("fflush");
    pid_t grandchild = fork();
    if (grandchild == -1)
        die("fork");
    if (grandchild == 0) {
        close_or_die(ready[0]);
        close_or_die(to_top_fd);
        if (strcmp(demo, "orphan") == 0)
            run_orphan_grandchild(top, ready[1], timeout_s);
        run_pdeathsig_grandchild(middle, ready[1]);
    }
    close_or_die(ready[1]); /* keep only the grandchild's write end: EOF if it dies */
    /* Wait for "ready": the grandchild must have looked at its first parent (orphan) or set
     * PR_SET_PDEATHSIG (pdeathsig) before this process exits, or the demo shows nothing. */
    pid_t token;
    ssize_t got = read(ready[0], &token, sizeof token);
    if (got == -1)
        die("read(ready)");
    if (got != (ssize_t)sizeof token) /* end of file: errno does not apply */
        die_with_code(-1, "read(ready): the grandchild ended without saying it was ready");
    send_pid(to_top_fd, grandchild); /* the top process learns whom it will reap */
    printf("[%s] middle %ld: grandchild %ld is ready; exiting without waiting for it\n", demo,
           (long)getpid(), (long)grandchild);
    if (fflush(stdout) == EOF)
        die("fflush");
    _exit(0); /* without waiting for the grandchild: that is what makes it an orphan */
}

/* Run one middle child and its grandchild; return the grandchild's pid, read from the pipe. */
static pid_t start_middle_and_grandchild(const char *demo, pid_t *middle, const struct settings *s)
{
    int to_top[2];
    if (pipe(to_top) == -1)
        die("pipe");
    pid_t top = getpid(); /* the grandchild compares its new parent with this */
    *middle = start_child();
    if (*middle == 0) {
        close_or_die(to_top[0]);
        run_middle(demo, top, to_top[1], s->timeout_s);
    }
    close_or_die(to_top[1]);
    /* read blocks until the middle child writes, or returns 0 if it died first: bounded by
     * the watchdog either way. */
    waiting_for = "the middle child to send the grandchild's pid";
    alarm((unsigned)s->timeout_s);
    pid_t grandchild = receive_pid(to_top[0], "grandchild pid");
    alarm(0);
    close_or_die(to_top[0]);
    /* Not our child yet, but soon: on Ctrl-C, kill it too (waitpid just fails if not ours). */
    cleanup_add_child(grandchild);
    return grandchild;
}

static int demo_orphan(const struct settings *s)
{
    printf("\n--- orphan: a middle child forks a grandchild, then exits before it\n");
    pid_t middle;
    pid_t grandchild = start_middle_and_grandchild("orphan", &middle, s);
    int m = reap(middle, "orphan", "middle child", s);
    /* The kernel re-parented the grandchild before it reported the middle child's exit:
     * it is our child now, and waitpid works on it. */
    int g = reap(grandchild, "orphan", "re-parented grandchild", s);
    int ok = WIFEXITED(m) && WEXITSTATUS(m) == 0 && WIFEXITED(g) && WEXITSTATUS(g) == 0;
    printf("[orphan] grandchild re-parented to this subreaper and reaped here: %s\n",
           ok ? "yes" : "NO");
    return ok;
}

static int demo_pdeathsig(const struct settings *s)
{
    printf("\n--- pdeathsig: a grandchild that must not outlive its parent\n");
    pid_t middle;
    pid_t grandchild = start_middle_and_grandchild("pdeathsig", &middle, s);
    int m = reap(middle, "pdeathsig", "middle child", s);
    /* As the middle child exited, the kernel re-parented the grandchild to us AND sent it
     * the SIGKILL it asked for: we reap a process killed by signal 9.  Without the
     * subreaper, init would have reaped it and we would see nothing. */
    int g = reap(grandchild, "pdeathsig", "grandchild", s);
    int ok = WIFEXITED(m) && WEXITSTATUS(m) == 0 && WIFSIGNALED(g) && WTERMSIG(g) == SIGKILL;
    printf("[pdeathsig] grandchild killed by SIGKILL when its parent exited: %s\n",
           ok ? "yes" : "NO");
    return ok;
}

/* ---- the end: prove nothing is left --------------------------------------------------------- */

/* waitpid(-1, WNOHANG) is the definitive test: ECHILD means no child at all, 0 means a child
 * still runs, a pid means there was an unreaped zombie (now reaped by this very call). */
static int no_child_left(void)
{
    int status;
    pid_t got = waitpid(-1, &status, WNOHANG);
    if (got == -1 && errno == ECHILD) {
        printf("\n[end] waitpid(-1, WNOHANG) failed with ECHILD: no child left, running or "
               "zombie\n");
        return 1;
    }
    if (got == -1)
        die("waitpid(-1, WNOHANG)");
    printf("\n[end] a child is still %s  <-- a bug\n", got == 0 ? "running" : "a zombie");
    return 0;
}

/* ---- arguments and main --------------------------------------------------------------------- */

typedef int demo_fn(const struct settings *s);

static const struct {
    const char *name;
    demo_fn *run;
} demos[] = {{"zombie", demo_zombie}, {"orphan", demo_orphan}, {"pdeathsig", demo_pdeathsig}};
enum { DEMO_COUNT = sizeof demos / sizeof demos[0] };

static const char *parse_demo(const char *text)
{
    for (int i = 0; i < DEMO_COUNT; i++)
        if (strcmp(text, demos[i].name) == 0)
            return demos[i].name;
    usage_error(usage, "--only: expected zombie, orphan or pdeathsig, got \"%s\"", text);
}

static struct settings parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {
        {"only", required_argument, NULL, 'o'},
        {"zombie-ms", required_argument, NULL, 'z'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct settings s = {NULL, 0, 10}; /* the defaults the usage text promises */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:z:t:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': s.only = parse_demo(optarg); break;
        case 'z': s.zombie_ms = (int)parse_long(optarg, "--zombie-ms", 0, 60000, usage); break;
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
    /* Line-buffered: each line leaves in one write(2), whole, whichever process prints it. */
    if (setvbuf(stdout, NULL, _IOLBF, 0) != 0)
        die("setvbuf");

    /* Orphans anywhere below this process now come back to it instead of going to init.
     * Service managers (systemd --user), container inits and build tools do this so that no
     * descendant escapes them; here it lets us reap, and show, the re-parented grandchild. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
        die("prctl(PR_SET_CHILD_SUBREAPER)");
    printf("zombie_orphan: parent %ld (a child subreaper), demos: %s, zombie kept %d ms, "
           "watchdog %d s\n",
           (long)getpid(), s.only ? s.only : "all", s.zombie_ms, s.timeout_s);

    int failed = 0; /* demos in which some process did not behave as intended */
    for (int i = 0; i < DEMO_COUNT; i++)
        if (s.only == NULL || strcmp(s.only, demos[i].name) == 0)
            failed += !demos[i].run(&s);
    failed += !no_child_left();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
