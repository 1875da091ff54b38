#define _GNU_SOURCE
/* graceful_shutdown.c - a supervisor that stops its workers cleanly on Ctrl-C, a timer or a
 * dead worker: signals read in the main loop (signalfd or the self-pipe trick), SIGTERM to a
 * process group, SIGKILL after a grace period, and every object removed before it dies.
 *
 * Usage: graceful_shutdown [--workers N] [--run-ms MS] [--grace-ms MS] [--wakeup HOW]
 *                          [--stubborn] [--kill-one]
 *   -n, --workers N    worker processes (default 3, from 1 to 1000)
 *   -r, --run-ms MS    how long the workers run before the timer stops them (default 300)
 *   -g, --grace-ms MS  how long a worker may take to honour SIGTERM before SIGKILL (default 1000)
 *   -w, --wakeup HOW   signalfd (default) or self-pipe: how signals reach the main loop
 *   -s, --stubborn     worker 0 ignores SIGTERM, so the grace period runs out
 *   -k, --kill-one     the supervisor SIGKILLs worker 0 half-way, as the OOM killer would
 *   -h, --help         this text
 *
 * What to observe:
 *   - The first thing main does is block SIGINT, SIGTERM, SIGHUP, SIGCHLD and SIGALRM.  Only
 *     then does it create anything: a shared-memory object (/dev/shm/forklore-shutdown-PID-0)
 *     where each worker counts its heartbeats, and a private folder (/tmp/forklore-shutdown-
 *     PID-XXXXXX) with a results file.  A signal that arrives at any moment after that waits,
 *     pending, until the loop reads it: there is no moment at which Ctrl-C finds a half-made
 *     state.  (Before it, the default action ends a process that owns nothing yet.)
 *   - The workers share one process group, not the terminal's: Ctrl-C reaches the supervisor
 *     only, and the supervisor decides.  It sends SIGTERM to the whole group with one
 *     kill(-pgid, SIGTERM); each worker's handler sets a flag, the worker writes its count to
 *     the results file and exits 0.
 *   - With --stubborn, worker 0 ignores SIGTERM: after --grace-ms the supervisor sends SIGKILL,
 *     which cannot be caught or ignored, and reports "killed by signal 9".
 *   - With --kill-one, SIGCHLD tells the loop that worker 0 died early; the others go on.
 *   - Interrupted (Ctrl-C, kill), the supervisor stops the workers the same way, removes the
 *     object and the folder, then dies of the signal it got, so the shell sees 130 for SIGINT.
 *   - Exit status: 0 when every worker stopped on SIGTERM and its count was checked, 1 when
 *     one had to be killed or died early, 128+S when signal S interrupted the run.
 *
 * Python counterpart: signal.set_wakeup_fd(fd) is the self-pipe trick (asyncio uses it);
 *   Python handlers run in the main thread only.  In multiprocessing.Pool, Ctrl-C reaches every
 *   worker (they share the terminal's process group) and each raises KeyboardInterrupt;
 *   pool.terminate() sends SIGTERM to each worker; Process.kill() sends SIGKILL.
 *
 * See also: ../support/cleanup.c (the same clean-up, done inside a signal handler),
 *   signal_delivery.c, signalfd(2), setpgid(2), kill(2), lessons/01b-signals.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: graceful_shutdown [--workers N] [--run-ms MS] [--grace-ms MS] [--wakeup HOW]\n"
    "                         [--stubborn] [--kill-one]\n"
    "  -n, --workers N    worker processes (default 3, 1..1000)\n"
    "  -r, --run-ms MS    run time before the timer stops them (default 300, 1..600000)\n"
    "  -g, --grace-ms MS  time to honour SIGTERM before SIGKILL (default 1000, 1..60000)\n"
    "  -w, --wakeup HOW   signalfd (default) or self-pipe\n"
    "  -s, --stubborn     worker 0 ignores SIGTERM\n"
    "  -k, --kill-one     SIGKILL worker 0 half-way through the run\n"
    "  -h, --help         this text\n";

struct settings {
    int workers, run_ms, grace_ms, use_signalfd, stubborn, kill_one;
};

/* Heartbeats, one counter per worker, in a named shared-memory object: a supervisor that
 * wanted to watch for a stuck worker would read them; here they are checked at the end. */
struct board {
    long workers;
    _Atomic long beats[]; /* beats[k]: worker k's count so far */
};

/* ---- How signals reach the main loop ------------------------------------------------------ */

/* Either a signalfd (signals stay blocked and are read like data) or the read end of a pipe
 * that a handler writes the signal number into (the self-pipe trick). */
static int wakeup_fd = -1;
static int self_pipe_write = -1;
static int use_signalfd;

/* The only thing the handler does: one write(), which is async-signal-safe. */
static void on_signal_to_pipe(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    ssize_t ignored = write(self_pipe_write, &byte, 1); /* full pipe: a wakeup is queued anyway */
    (void)ignored;
    errno = saved;
}

static void watched_signals(sigset_t *set)
{
    sigemptyset(set);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(set, sigs[i]);
}

static void wakeup_open(void)
{
    sigset_t set;
    watched_signals(&set);
    if (use_signalfd) {
        wakeup_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (wakeup_fd == -1)
            die("signalfd");
        return; /* the signals stay blocked: the kernel keeps them for read() */
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) /* non-blocking: a handler must never block */
        die("pipe2");
    wakeup_fd = fds[0];
    self_pipe_write = fds[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal_to_pipe;
    sa.sa_flags = SA_RESTART; /* a write() in the loop is never cut short by a wakeup */
    sigfillset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&set, sig) == 1 && sigaction(sig, &sa, NULL) == -1)
            die("sigaction(%d)", sig);
    /* Now unblock: what arrived while blocked is delivered here and lands in the pipe. */
    if (sigprocmask(SIG_UNBLOCK, &set, NULL) == -1)
        die("sigprocmask");
}

/* The next signal, or 0 if none came within timeout_ms (-1: wait as long as it takes). */
static int wakeup_next(int timeout_ms)
{
    for (;;) {
        if (use_signalfd) {
            struct signalfd_siginfo info;
            if (read(wakeup_fd, &info, sizeof info) == (ssize_t)sizeof info)
                return (int)info.ssi_signo;
        } else {
            unsigned char byte;
            if (read(wakeup_fd, &byte, 1) == 1)
                return byte;
        }
        if (errno != EAGAIN && errno != EINTR)
            die("read(wakeup)");
        struct pollfd p = {wakeup_fd, POLLIN, 0};
        int n = poll(&p, 1, timeout_ms);
        if (n == 0)
            return 0;
        if (n == -1 && errno != EINTR)
            die("poll");
    }
}

/* ---- The workers ------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested;

static void on_sigterm(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Count heartbeats until SIGTERM, then write the count to the results file and exit 0. */
static _Noreturn void worker(int k, struct board *board, int results_fd, int ignore_sigterm)
{
    close_or_die(wakeup_fd); /* the supervisor's wakeup is not this process's business */
    if (self_pipe_write != -1)
        close_or_die(self_pipe_write);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ignore_sigterm ? SIG_IGN : on_sigterm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) == -1)
        die_in_child("sigaction(SIGTERM)");
    sa.sa_handler = SIG_DFL; /* the rest as a fresh program would have them */
    const int reset[] = {SIGINT, SIGHUP, SIGCHLD, SIGALRM};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        if (sigaction(reset[i], &sa, NULL) == -1)
            die_in_child("sigaction");
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) == -1) /* fork copied the supervisor's mask */
        die_in_child("sigprocmask");
    const struct timespec beat = {0, 1000000}; /* 1 ms */
    long mine = 0;
    while (!stop_requested) {
        atomic_store(&board->beats[k], ++mine);
        nanosleep(&beat, NULL); /* SIGTERM cuts it short with EINTR: the loop test sees it */
    }
    char line[96];
    int len = snprintf(line, sizeof line, "worker %d pid %ld beats %ld\n", k, (long)getpid(), mine);
    /* One write on an O_APPEND file: the lines of different workers never mix. */
    if (write(results_fd, line, (size_t)len) != len)
        die_in_child("write(results)");
    _exit(0);
}

struct worker_slot {
    pid_t pid;
    int status, reaped;
};

/* Start worker k in the group pgid (0: a new group led by this worker). */
static pid_t start_worker(int k, pid_t pgid, struct board *board, int results_fd, int stubborn)
{
    /* Hold the signals across fork: a SIGTERM sent before the child has its own handler must
     * wait, pending, for that handler (with the self-pipe, the inherited handler would write
     * it into the supervisor's pipe and the worker would never hear it). */
    sigset_t watched, old;
    watched_signals(&watched);
    if (sigprocmask(SIG_BLOCK, &watched, &old) == -1)
        die("sigprocmask");
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        die("fork (worker %d)", k);
    if (pid == 0) {
        die_with_parent(parent);
        if (setpgid(0, pgid) == -1) /* both sides call it: whichever runs first wins the race */
            die_in_child("setpgid");
        worker(k, board, results_fd, stubborn);
    }
    cleanup_add_child(pid);
    if (setpgid(pid, pgid ? pgid : pid) == -1 && errno != EACCES && errno != ESRCH)
        die("setpgid(worker %d)", k);
    if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
        die("sigprocmask");
    return pid;
}

/* Reap every worker that has ended, without blocking; returns how many are still running. */
static int reap_finished(struct worker_slot *w, int n)
{
    int running = 0;
    for (int k = 0; k < n; k++) {
        if (w[k].reaped)
            continue;
        pid_t got = waitpid(w[k].pid, &w[k].status, WNOHANG);
        if (got == -1 && errno != EINTR)
            die("waitpid(worker %d)", k);
        if (got == w[k].pid) {
            w[k].reaped = 1;
            cleanup_forget_child(w[k].pid);
            if (WIFSIGNALED(w[k].status))
                printf("[supervisor] worker %d (pid %ld) killed by signal %d (%s)\n", k,
                       (long)w[k].pid, WTERMSIG(w[k].status), strsignal(WTERMSIG(w[k].status)));
            else
                printf("[supervisor] worker %d (pid %ld) exited with %d\n", k, (long)w[k].pid,
                       WEXITSTATUS(w[k].status));
        } else {
            running++;
        }
    }
    return running;
}

/* SIGTERM to the group; SIGKILL to it after the grace period; every worker reaped.  Other
 * signals that arrive meanwhile (a second Ctrl-C) change nothing: we are already stopping. */
static void stop_workers(struct worker_slot *w, int n, pid_t pgid, int grace_ms)
{
    if (reap_finished(w, n) == 0)
        return;
    printf("[supervisor] kill(-%ld, SIGTERM): asking the whole group to stop\n", (long)pgid);
    if (kill(-pgid, SIGTERM) == -1 && errno != ESRCH)
        die("kill(-%ld, SIGTERM)", (long)pgid);
    int64_t deadline = monotonic_ns() + (int64_t)grace_ms * 1000000;
    int running;
    while ((running = reap_finished(w, n)) > 0) {
        int64_t left_ms = (deadline - monotonic_ns()) / 1000000;
        if (left_ms <= 0)
            break;
        wakeup_next((int)left_ms); /* a SIGCHLD, or the deadline */
    }
    if (running > 0) {
        printf("[supervisor] %d worker(s) still running after %d ms: kill(-%ld, SIGKILL)\n",
               running, grace_ms, (long)pgid);
        if (kill(-pgid, SIGKILL) == -1 && errno != ESRCH)
            die("kill(-%ld, SIGKILL)", (long)pgid);
        for (int k = 0; k < n; k++)
            while (!w[k].reaped && waitpid(w[k].pid, &w[k].status, 0) == -1)
                if (errno != EINTR)
                    die("waitpid");
        for (int k = 0; k < n; k++)
            if (!w[k].reaped) {
                w[k].reaped = 1;
                cleanup_forget_child(w[k].pid);
                printf("[supervisor] worker %d (pid %ld) killed by signal %d (%s)\n", k,
                       (long)w[k].pid, WTERMSIG(w[k].status), strsignal(WTERMSIG(w[k].status)));
            }
    }
}

/* ---- What the run owns, and taking it down ------------------------------------------------ */

struct resources {
    char shm_name[96]; /* /forklore-shutdown-PID-0 */
    char dir[64];      /* /tmp/forklore-shutdown-PID-XXXXXX */
    char results[96];  /* DIR/results */
    struct board *board;
    size_t board_size;
    int results_fd;
};

/* Each object is registered with the clean-up module as soon as it exists, so that die() on
 * any later line (an atexit handler) still removes it. */
static void create_resources(struct resources *r, int workers)
{
    unique_ipc_name(r->shm_name, sizeof r->shm_name, "shutdown");
    int fd = shm_open(r->shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1)
        die("shm_open(%s)", r->shm_name);
    cleanup_add_name(IPC_SHM, r->shm_name);
    r->board_size = sizeof *r->board + (size_t)workers * sizeof r->board->beats[0];
    reserve_shared_file_or_die(fd, (off_t)r->board_size, r->shm_name); /* not SIGBUS later */
    r->board = mmap(NULL, r->board_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r->board == MAP_FAILED)
        die("mmap(%s)", r->shm_name);
    close_or_die(fd); /* the mapping keeps the object; the name keeps it findable */
    r->board->workers = workers;

    snprintf(r->dir, sizeof r->dir, "/tmp/forklore-shutdown-%ld-XXXXXX", (long)getpid());
    if (!mkdtemp(r->dir)) /* mode 0700, a name nobody else has: safe from other users */
        die("mkdtemp(%s)", r->dir);
    cleanup_add_name(IPC_DIRECTORY, r->dir);
    snprintf(r->results, sizeof r->results, "%s/results", r->dir);
    cleanup_add_name(IPC_PATH, r->results); /* before it exists: unlinking nothing is harmless */
    r->results_fd = open(r->results, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (r->results_fd == -1)
        die("open(%s)", r->results);
}

/* Read the results back and compare each worker's line with its heartbeat counter. */
static int check_results(const struct resources *r, const struct worker_slot *w, int n)
{
    FILE *f = fopen(r->results, "r");
    if (!f)
        die("fopen(%s)", r->results);
    int lines = 0, matching = 0, k;
    long pid, beats;
    while (fscanf(f, "worker %d pid %ld beats %ld\n", &k, &pid, &beats) == 3) {
        lines++;
        if (k >= 0 && k < n && pid == (long)w[k].pid && beats == atomic_load(&r->board->beats[k]))
            matching++;
    }
    fclose(f);
    printf("[supervisor] results file: %d line(s), %d matching the heartbeat board\n", lines,
           matching);
    return lines == matching;
}

static void remove_resources(struct resources *r)
{
    close_or_die(r->results_fd);
    if (unlink(r->results) == -1)
        die("unlink(%s)", r->results);
    cleanup_forget_name(r->results);
    if (rmdir(r->dir) == -1)
        die("rmdir(%s)", r->dir);
    cleanup_forget_name(r->dir);
    if (munmap(r->board, r->board_size) == -1)
        die("munmap");
    if (shm_unlink(r->shm_name) == -1)
        die("shm_unlink(%s)", r->shm_name);
    cleanup_forget_name(r->shm_name);
    printf("[supervisor] removed %s, %s and /dev/shm%s\n", r->results, r->dir, r->shm_name);
}

/* ---- The supervisor ----------------------------------------------------------------------- */

/* One SIGALRM, ms from now (no interval: the loop re-arms it when it wants another). */
static void set_timer_ms(int ms)
{
    struct itimerval once = {.it_value = {ms / 1000, (ms % 1000) * 1000}};
    if (setitimer(ITIMER_REAL, &once, NULL) == -1)
        die("setitimer");
}

/* Run until the timer, a terminating signal, or every worker has died; returns the signal that
 * ended the run (SIGALRM for the timer, 0 if the workers all died first). */
static int supervise(const struct settings *s, struct worker_slot *w)
{
    set_timer_ms(s->kill_one ? s->run_ms / 2 : s->run_ms);
    int killed_one = 0;
    for (;;) {
        int sig = wakeup_next(-1);
        if (sig == SIGCHLD) { /* some worker ended: who, and how? */
            if (reap_finished(w, s->workers) == 0)
                return 0;
            continue;
        }
        if (sig == SIGALRM && s->kill_one && !killed_one) {
            killed_one = 1;
            printf("[supervisor] half-way: kill(%ld, SIGKILL) on worker 0\n", (long)w[0].pid);
            if (kill(w[0].pid, SIGKILL) == -1)
                die("kill");
            set_timer_ms(s->run_ms - s->run_ms / 2);
            continue;
        }
        if (sig != 0) {
            printf("[supervisor] got %s: stopping\n", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
            return sig;
        }
    }
}

static void parse_arguments(int argc, char *argv[], struct settings *s)
{
    static const struct option options[] = {
        {"workers", required_argument, 0, 'n'},  {"run-ms", required_argument, 0, 'r'},
        {"grace-ms", required_argument, 0, 'g'}, {"wakeup", required_argument, 0, 'w'},
        {"stubborn", no_argument, 0, 's'},       {"kill-one", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":n:r:g:w:skh", options, NULL)) != -1) {
        switch (c) {
        case 'n': s->workers = (int)parse_long(optarg, "--workers", 1, 1000, usage); break;
        case 'r': s->run_ms = (int)parse_long(optarg, "--run-ms", 1, 600000, usage); break;
        case 'g': s->grace_ms = (int)parse_long(optarg, "--grace-ms", 1, 60000, usage); break;
        case 'w':
            if (strcmp(optarg, "signalfd") != 0 && strcmp(optarg, "self-pipe") != 0)
                usage_error(usage, "--wakeup: expected signalfd or self-pipe, got \"%s\"", optarg);
            s->use_signalfd = strcmp(optarg, "signalfd") == 0;
            break;
        case 's': s->stubborn = 1; break;
        case 'k': s->kill_one = 1; break;
        case 'h': fputs(usage, stdout); exit(0);
        case ':': usage_error(usage, "%s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument \"%s\"", argv[optind]);
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    /* First of all, before anything exists that would need removing: hold the signals. */
    sigset_t watched;
    watched_signals(&watched);
    if (sigprocmask(SIG_BLOCK, &watched, NULL) == -1)
        die("sigprocmask");
    struct settings s = {3, 300, 1000, 1, 0, 0};
    parse_arguments(argc, argv, &s);
    use_signalfd = s.use_signalfd;
    cleanup_install(); /* its atexit handler covers die(); our loop handles the signals */
    wakeup_open();

    struct resources r;
    create_resources(&r, s.workers);
    /* File-scope, so that a worker leaving with _exit still holds a pointer to it (else
     * valgrind calls the copy it inherited lost). */
    static struct worker_slot *w;
    w = calloc((size_t)s.workers, sizeof *w);
    if (!w)
        die("calloc");
    printf("graceful_shutdown: supervisor %ld, %d workers, run %d ms, grace %d ms, wakeup %s\n",
           (long)getpid(), s.workers, s.run_ms, s.grace_ms,
           use_signalfd ? "signalfd" : "self-pipe");
    pid_t pgid = 0;
    for (int k = 0; k < s.workers; k++) {
        w[k].pid = start_worker(k, pgid, r.board, r.results_fd, s.stubborn && k == 0);
        if (k == 0)
            pgid = w[0].pid; /* the first worker leads the group; the rest join it */
    }
    printf("[supervisor] workers in process group %ld; terminal signals reach only me\n",
           (long)pgid);
    int sig = supervise(&s, w);
    stop_workers(w, s.workers, pgid, s.grace_ms);
    int clean = 1;
    for (int k = 0; k < s.workers; k++)
        clean &= WIFEXITED(w[k].status) && WEXITSTATUS(w[k].status) == 0;
    clean &= check_results(&r, w, s.workers);
    remove_resources(&r);
    free(w);
    if (sig != 0 && sig != SIGALRM) {
        /* Die of the signal that stopped us, so whoever started us learns why (130 for SIGINT).
         * It is blocked (signalfd) or handled (self-pipe): set the default, then unblock. */
        printf("[supervisor] everything removed; now dying of %s as asked\n", sigabbrev_np(sig));
        fflush(stdout);
        if (signal(sig, SIG_DFL) == SIG_ERR)
            die("signal");
        sigset_t just;
        sigemptyset(&just);
        sigaddset(&just, sig);
        raise(sig); /* pending while blocked; delivered by the unblock below */
        if (sigprocmask(SIG_UNBLOCK, &just, NULL) == -1)
            die("sigprocmask");
    }
    printf("[supervisor] %s\n", clean ? "every worker stopped on SIGTERM and reported its count"
                                      : "NOT every worker stopped cleanly");
    return clean ? 0 : 1;
}
