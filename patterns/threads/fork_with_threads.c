#define _GNU_SOURCE
/* fork_with_threads.c - fork() in a process with threads copies one thread and every lock:
 * a lock another thread held at that moment stays locked in the child for ever.  Then the
 * three fixes: exec at once, posix_spawn, and pthread_atfork.
 *
 * Usage: fork_with_threads [--fix FIX] [--timeout-ms MS] [--child-report]
 *   -f, --fix FIX         none, exec, spawn or atfork (default: all four, in that order)
 *   -t, --timeout-ms MS   watchdog: the longest the parent waits for a child to take the
 *                         lock before it calls it deadlocked and kills it (default 20000)
 *   -c, --child-report    (what the exec and spawn fixes run this program as) report this
 *                         process's thread count and take a fresh lock, then exit
 *   -h, --help            this text
 *
 * What to observe:
 *   - A helper thread stands for any library with a lock of its own (a logger, an allocator, a
 *     DNS resolver's cache): it takes `library_lock` and holds it until told to let go.  The
 *     main thread forks while the helper holds it, then tells it to let go.
 *   - none:   the child has one thread (Threads: 1 in /proc/self/status): fork copies the
 *             calling thread only.  But it has the whole memory, and in it the lock, locked,
 *             by a thread that does not exist in the child.  Its pthread_mutex_lock never
 *             returns.  The parent sees the child's one thread asleep in futex_wait
 *             (/proc/PID/wchan) with nobody left to wake it, says so, and SIGKILLs it.
 *   - exec:   the child calls only async-signal-safe functions between fork and execv; the
 *             new program has new memory and new, unlocked locks.
 *   - spawn:  posix_spawn is fork + exec in one call, with no user code in between.
 *   - atfork: pthread_atfork(prepare, parent, child): the prepare handler takes the lock
 *             before fork (main tells the helper to let go first, or prepare would wait for
 *             ever), the other two release it on each side after: the child can lock.
 *   - The program exits 0 when each variant behaved as described, 1 otherwise.
 *
 * Python counterpart: Python 3.12 warns "This process is multi-threaded, use of fork() may
 *   lead to deadlocks in the child" (a DeprecationWarning) when os.fork() or the fork start
 *   method runs with other threads alive; 3.14 made forkserver the default on Linux for this
 *   reason.  os.register_at_fork(before=..., after_in_parent=..., after_in_child=...) is
 *   pthread_atfork; the spawn start method is the exec fix; subprocess uses posix_spawn or
 *   fork + exec with no Python code in between.
 *
 * See also: start_methods.c (what Python's three start methods copy), ../processes/exec_spawn.c,
 *   pthread_atfork(3), fork(2) ("the child process is created with a single thread"),
 *   signal-safety(7), lessons/01c-fork-threads-and-start-methods.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: fork_with_threads [--fix FIX] [--timeout-ms MS] [--child-report]\n"
    "  -f, --fix FIX        none, exec, spawn or atfork (default: all four)\n"
    "  -t, --timeout-ms MS  watchdog: longest wait for a child (default 20000, 10..600000)\n"
    "  -c, --child-report   report thread count and take a fresh lock, then exit\n"
    "  -h, --help           this text\n";

extern char **environ;

enum fix { FIX_NONE, FIX_EXEC, FIX_SPAWN, FIX_ATFORK };
static const char *const fix_names[] = {"none", "exec", "spawn", "atfork", NULL};

/* The library's lock: a plain, default mutex, as most are. */
static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- The helper thread -------------------------------------------------------------------- */

/* Each round, on main's word: the helper takes the lock, says so, and holds it until main
 * tells it to let go; then it waits for the next round.  So main forks while the lock is held
 * every time, however the two threads are scheduled, and the helper never takes the lock back
 * from under a prepare handler that is waiting for it. */
struct helper {
    pthread_t thread;
    int holding_pipe[2]; /* helper -> main: a byte each time it has just taken the lock */
    int command_pipe[2]; /* main -> helper: "n" start a round, "r" let go */
    atomic_int stop;     /* set by main before its last "n" */
};

static char next_command(struct helper *h)
{
    char byte;
    ssize_t n;
    while ((n = read(h->command_pipe[0], &byte, 1)) == -1 && errno == EINTR)
        continue;
    if (n != 1)
        die("helper: read");
    return byte;
}

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    while (next_command(h) == 'n' && !atomic_load(&h->stop)) {
        int err = pthread_mutex_lock(&library_lock);
        if (err)
            die_with_code(err, "helper: pthread_mutex_lock");
        if (write(h->holding_pipe[1], "h", 1) != 1) /* "I hold it now" */
            die("helper: write");
        next_command(h); /* "r" */
        pthread_mutex_unlock(&library_lock);
    }
    return NULL;
}

static void tell_helper(struct helper *h, const char *command)
{
    if (write(h->command_pipe[1], command, 1) != 1)
        die("write(helper command)");
}

/* Start the helper with the terminating signals blocked in it, so that Ctrl-C's handler runs
 * in the main thread only (a signal sent to a process goes to any thread not blocking it). */
static void helper_start(struct helper *h)
{
    atomic_init(&h->stop, 0);
    if (pipe(h->holding_pipe) == -1 || pipe(h->command_pipe) == -1)
        die("pipe");
    sigset_t old;
    cleanup_hold_signals(&old); /* the new thread inherits this mask */
    int err = pthread_create(&h->thread, NULL, helper_main, h);
    cleanup_release_signals(&old);
    if (err)
        die_with_code(err, "pthread_create");
}

/* Start a round and block until the helper holds the lock. */
static void helper_take_lock(struct helper *h)
{
    tell_helper(h, "n");
    char byte;
    ssize_t n;
    while ((n = read(h->holding_pipe[0], &byte, 1)) == -1 && errno == EINTR)
        continue;
    if (n != 1)
        die("read(holding)");
}

static void helper_stop(struct helper *h)
{
    atomic_store(&h->stop, 1);
    tell_helper(h, "n"); /* it is waiting for a round: this one finds the stop */
    int err = pthread_join(h->thread, NULL);
    if (err)
        die_with_code(err, "pthread_join");
    for (int i = 0; i < 2; i++) {
        close_or_die(h->holding_pipe[i]);
        close_or_die(h->command_pipe[i]);
    }
}

/* ---- What a child does -------------------------------------------------------------------- */

/* "Threads:" from /proc/self/status: how many threads this process has right now. */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* A child made by fork: report, then try the lock.  Tells the parent on done_fd: "t" just
 * before taking the lock, "l" once it has it. */
static _Noreturn void forked_child(int done_fd)
{
    printf("[child %ld] Threads: %d; taking library_lock...\n", (long)getpid(), thread_count());
    fflush(stdout);
    if (write(done_fd, "t", 1) != 1)
        die_in_child("write");
    int err = pthread_mutex_lock(&library_lock); /* a copy of a lock someone else held */
    if (err)
        die_in_child("pthread_mutex_lock: %s", strerror(err));
    printf("[child %ld] took library_lock\n", (long)getpid());
    fflush(stdout);
    if (write(done_fd, "l", 1) != 1)
        die_in_child("write");
    _exit(0);
}

/* The program the exec and spawn fixes start: a fresh image, fresh locks. */
static int child_report(void)
{
    printf("[child %ld] a new program: Threads: %d; taking library_lock...\n", (long)getpid(),
           thread_count());
    int err = pthread_mutex_lock(&library_lock);
    if (err)
        die_with_code(err, "pthread_mutex_lock");
    printf("[child %ld] took library_lock\n", (long)getpid());
    pthread_mutex_unlock(&library_lock);
    return 0;
}

/* ---- The parent: fork while the lock is held, then see whether the child gets it --------- */

static char self_path[PATH_MAX];

static void prepare_fork(void)
{
    pthread_mutex_lock(&library_lock);
}

static void after_fork(void)
{
    pthread_mutex_unlock(&library_lock);
}

/* Is pid's one thread asleep on a futex, the system call under a contended mutex?  A process
 * with a single thread asleep there has nobody left to wake it: that is a proof of deadlock,
 * not a guess from a timeout.  (0 also when /proc/PID/wchan says nothing, as on kernels that
 * hide it: then only the watchdog decides.) */
static int asleep_on_futex(pid_t pid)
{
    char path[64], wchan[64] = "", stat[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/wchan", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(wchan, sizeof wchan, f))
        wchan[0] = '\0';
    fclose(f);
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(stat, sizeof stat, f))
        stat[0] = '\0';
    fclose(f);
    const char *state = strrchr(stat, ')'); /* "pid (name) S ...": the state follows the name */
    return strstr(wchan, "futex") && state && state[1] == ' ' && state[2] == 'S';
}

/* What became of the child's attempt: 1 it took the lock (or, exec'd, ran to its end), 0 it
 * is deadlocked (proved, or still stuck when the watchdog ran out). */
static int child_got_lock(int fd, pid_t pid, int forked, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int started = !forked; /* a forked child says "t" before it tries */
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int n = poll(&p, 1, 10);
        if (n == -1 && errno != EINTR)
            die("poll");
        if (n == 1) {
            char byte;
            ssize_t got = read(fd, &byte, 1);
            if (got <= 0 || byte == 'l')
                return 1; /* took it, or exited (end of file) */
            started = 1;  /* "t": it is about to take the lock */
            continue;
        }
        if (started && forked && asleep_on_futex(pid)) {
            printf("[parent %ld] child %ld: its only thread sleeps in futex_wait on library_lock,"
                   " and no thread is left in it to unlock it: deadlocked\n",
                   (long)getpid(), (long)pid);
            return 0;
        }
    }
    printf("[parent %ld] child %ld: still without the lock after %d ms: deadlocked\n",
           (long)getpid(), (long)pid, timeout_ms);
    return 0;
}

static int run_fix(enum fix fix, struct helper *h, int timeout_ms)
{
    printf("-- %s\n", fix_names[fix]);
    int done[2]; /* the child's "I took the lock" (or, after exec, just its end of file) */
    if (pipe(done) == -1)
        die("pipe");
    char *args[] = {self_path, "--child-report", NULL}; /* built before fork: no malloc after */
    helper_take_lock(h);
    printf("[parent %ld] the helper thread holds library_lock; Threads: %d; forking\n",
           (long)getpid(), thread_count());
    fflush(stdout);
    if (fix == FIX_ATFORK)
        tell_helper(h, "r"); /* prepare takes the lock the moment the helper lets go */
    pid_t pid;
    if (fix == FIX_SPAWN) {
        posix_spawn_file_actions_t actions; /* the child's stdout is ours; done[1] its marker */
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addclose(&actions, done[0]);
        sigset_t old;
        cleanup_hold_signals(&old); /* registered before a Ctrl-C can find it unknown */
        int err = posix_spawn(&pid, self_path, &actions, NULL, args, environ);
        if (err == 0)
            cleanup_add_child(pid);
        cleanup_release_signals(&old);
        posix_spawn_file_actions_destroy(&actions);
        if (err)
            die_with_code(err, "posix_spawn(%s)", self_path);
    } else {
        pid = cleanup_fork();
        if (pid == 0) {
            /* Only async-signal-safe calls here (this process has threads), so no message on
             * failure; a pipe end whose close failed is still closed (close(2), NOTES). */
            (void)close(done[0]);
            if (fix != FIX_EXEC)
                forked_child(done[1]);
            /* Between fork and exec: async-signal-safe calls only (execv is one). */
            execv(self_path, args);
            _exit(127);
        }
    }
    close_or_die(done[1]);
    if (fix != FIX_ATFORK)
        tell_helper(h, "r"); /* in the parent the helper lets go; in a forked child it never will */
    int finished = child_got_lock(done[0], pid, fix == FIX_NONE || fix == FIX_ATFORK, timeout_ms);
    close_or_die(done[0]);
    if (!finished) {
        printf("[parent %ld] the thread that held the lock was not copied; kill(%ld, SIGKILL)\n",
               (long)getpid(), (long)pid);
        if (kill(pid, SIGKILL) == -1)
            die("kill");
    }
    int status = cleanup_reap(pid);
    if (WIFSIGNALED(status))
        printf("[parent %ld] child %ld killed by signal %d (%s)\n", (long)getpid(), (long)pid,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        printf("[parent %ld] child %ld exited with %d\n", (long)getpid(), (long)pid,
               WEXITSTATUS(status));
    int clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    int ok = fix == FIX_NONE ? !finished && WIFSIGNALED(status) : finished && clean_exit;
    printf("[parent %ld] %s\n", (long)getpid(),
           !ok               ? "NOT what this variant predicts"
           : fix == FIX_NONE ? "the child deadlocked on a copied lock, as expected"
                             : "the child got the lock, as expected");
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    int chosen = -1; /* one fix, or -1 for all four */
    int timeout_ms = 20000, report = 0;
    static const struct option options[] = {{"fix", required_argument, 0, 'f'},
                                            {"timeout-ms", required_argument, 0, 't'},
                                            {"child-report", no_argument, 0, 'c'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:t:ch", options, NULL)) != -1) {
        switch (c) {
        case 'f': chosen = parse_choice(optarg, "--fix", fix_names, usage); break;
        case 't': timeout_ms = (int)parse_long(optarg, "--timeout-ms", 10, 600000, usage); break;
        case 'c': report = 1; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    if (report)
        return child_report();
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n == -1)
        die("readlink(/proc/self/exe)");
    self_path[n] = '\0';

    cleanup_install(); /* Ctrl-C kills and reaps the child, deadlocked or not */
    printf("fork_with_threads: a helper thread holds library_lock at each fork; watchdog %d ms\n",
           timeout_ms);
    struct helper h;
    helper_start(&h);
    int ok = 1;
    /* atfork last: a handler cannot be removed once registered, and it would change the
     * variants that follow (posix_spawn runs no fork handlers; fork + exec would). */
    for (int f = FIX_NONE; f <= FIX_ATFORK; f++) {
        if (chosen >= 0 && chosen != f)
            continue;
        if (f == FIX_ATFORK) {
            int err = pthread_atfork(prepare_fork, after_fork, after_fork);
            if (err)
                die_with_code(err, "pthread_atfork");
        }
        ok &= run_fix((enum fix)f, &h, timeout_ms);
    }
    helper_stop(&h);
    return ok ? 0 : 1;
}
