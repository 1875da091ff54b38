#define _GNU_SOURCE
/* signal_delivery.c - what happens between kill() and a handler: blocking, pending, queueing,
 * and what a handler does to the system call it interrupts.
 *
 * Usage: signal_delivery [--only DEMO] [--count N] [--tick-ms MS]
 *   -o, --only DEMO   queue or eintr (default: both, in that order)
 *   -n, --count N     queue: how many times the child sends each signal (default 5, 1..1000)
 *   -t, --tick-ms MS  eintr: the interval timer's period (default 20, 1..1000)
 *   -h, --help        this text
 *
 * What to observe:
 *   - queue: the parent blocks SIGUSR1 and SIGRTMIN, then a child sends each N times and
 *     exits.  While blocked, a signal is only *pending*: sigpending() lists both.  Once the
 *     parent unblocks them, SIGUSR1's handler runs once (a standard signal is one bit per
 *     signal: five kills set the same bit) and SIGRTMIN's runs N times (real-time signals are
 *     queued, each with a value: the handler sees 1, 2, ... N in order).
 *   - eintr: the parent reads an empty pipe while an interval timer sends SIGALRM every MS.
 *     Three ways to install the handler:
 *       sigaction without SA_RESTART: the first tick makes read() fail with EINTR;
 *       sigaction with SA_RESTART:    the kernel restarts read() after each handler, and it
 *                                     returns the data a child writes after several ticks;
 *       signal():                     glibc's signal() sets SA_RESTART, so: the same as above.
 *   - The program exits 0 when every demo saw what it predicts, 1 otherwise.
 *
 * Python counterpart: signal.signal() installs a C handler that only sets a flag; the Python
 *   handler runs later, between bytecodes, in the main thread.  Since Python 3.5 (PEP 475) an
 *   interrupted os.read() is retried for you unless the handler raises, so Python code never
 *   sees EINTR.  signal.pthread_sigmask() and signal.sigpending() are the calls used here.
 *
 * See also: sigchld_reaper.c, signal_inheritance.c, graceful_shutdown.c, signal(7),
 *   sigaction(2), sigprocmask(2), sigqueue(3), lessons/01b-signals.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: signal_delivery [--only DEMO] [--count N] [--tick-ms MS]\n"
    "  -o, --only DEMO   queue or eintr (default: both)\n"
    "  -n, --count N     queue: times the child sends each signal (default 5, 1..1000)\n"
    "  -t, --tick-ms MS  eintr: the timer's period in milliseconds (default 20, 1..1000)\n"
    "  -h, --help        this text\n";

/* Longest any wait in this program may take before the watchdog ends it (default SIGALRM is
 * not usable here: the eintr demo owns SIGALRM, so the watchdog is a timeout in the child). */
enum { WATCHDOG_SECONDS = 20 };

/* ---- queue: standard signals merge, real-time signals queue ---------------------------- */

/* Written by the handlers, read by main after unblocking: sig_atomic_t and volatile, the only
 * object type C promises a handler may write safely. */
static volatile sig_atomic_t usr1_runs, rt_runs, rt_in_order = 1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_runs++;
}

/* SA_SIGINFO: the handler also gets who sent the signal and, for sigqueue(), its value. */
static void on_rt(int sig, siginfo_t *info, void *context)
{
    (void)sig, (void)context;
    rt_runs++;
    if (info->si_value.sival_int != rt_runs) /* values arrive in the order they were sent */
        rt_in_order = 0;
}

static void install(int sig, void (*plain)(int), void (*with_info)(int, siginfo_t *, void *),
                    int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (with_info) {
        sa.sa_sigaction = with_info;
        flags |= SA_SIGINFO;
    } else {
        sa.sa_handler = plain;
    }
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask); /* the signal itself is blocked during its handler anyway */
    if (sigaction(sig, &sa, NULL) == -1)
        die("sigaction(%s)", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

/* fork() with the habits every child here needs: flushed output, registered for Ctrl-C
 * before a signal can arrive (cleanup_fork holds them meanwhile), dying with its parent. */
static pid_t start_child(void)
{
    fflush(stdout); /* else the child inherits unflushed output and prints it again */
    return cleanup_fork();
}

static int demo_queue(int count)
{
    printf(
        "-- queue: a child sends SIGUSR1 and SIGRTMIN %d times each while the parent blocks them\n",
        count);
    install(SIGUSR1, on_usr1, NULL, 0);
    install(SIGRTMIN, NULL, on_rt, 0);
    sigset_t both, old;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGRTMIN);
    /* Block before fork: a signal the child sends at once must find them blocked already. */
    if (sigprocmask(SIG_BLOCK, &both, &old) == -1)
        die("sigprocmask");
    pid_t parent = getpid();
    pid_t child = start_child();
    if (child == 0) {
        for (int i = 1; i <= count; i++) {
            if (kill(parent, SIGUSR1) == -1)
                die_in_child("kill(SIGUSR1)");
            /* sigqueue carries a value; beyond RLIMIT_SIGPENDING queued signals it fails with
             * EAGAIN, and the child says so instead of pretending all were sent. */
            if (sigqueue(parent, SIGRTMIN, (union sigval){.sival_int = i}) == -1)
                die_in_child("sigqueue(SIGRTMIN) number %d", i);
        }
        _exit(0);
    }
    int status = cleanup_reap(child); /* after this, every signal the child sent is pending here */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("[parent] the sender failed (status 0x%04x)\n", (unsigned)status);
        return 0;
    }
    sigset_t pending;
    if (sigpending(&pending) == -1)
        die("sigpending");
    printf("[parent] child %ld sent them all; pending now: SIGUSR1 %s, SIGRTMIN %s\n", (long)child,
           sigismember(&pending, SIGUSR1) ? "yes" : "no",
           sigismember(&pending, SIGRTMIN) ? "yes" : "no");
    printf("[parent] handler runs so far: SIGUSR1 %d, SIGRTMIN %d (both blocked)\n", (int)usr1_runs,
           (int)rt_runs);
    /* Unblocking delivers what is pending before sigprocmask returns. */
    if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
        die("sigprocmask");
    printf("[parent] after unblocking: SIGUSR1 handler ran %d time(s) for %d sent; SIGRTMIN "
           "handler ran %d time(s) for %d sent, values %s\n",
           (int)usr1_runs, count, (int)rt_runs, count, rt_in_order ? "in order" : "OUT OF ORDER");
    int ok = usr1_runs == 1 && rt_runs == count && rt_in_order;
    printf("[parent] %s\n", ok ? "standard signals merged into one, real-time signals queued: as "
                                 "expected"
                               : "NOT what this demo predicts");
    return ok;
}

/* ---- eintr: a handler interrupts a blocked read() -------------------------------------- */

static volatile sig_atomic_t ticks;
static int tick_report_fd = -1; /* the handler tells the child about each tick through it */

/* write() is async-signal-safe; errno is saved because the interrupted code may read it. */
static void on_tick(int sig)
{
    (void)sig;
    int saved = errno;
    ticks++;
    char byte = 't';
    ssize_t ignored = write(tick_report_fd, &byte, 1);
    (void)ignored; /* a full pipe only means the child has heard enough ticks */
    errno = saved;
}

static void set_timer(int period_ms)
{
    struct itimerval t = {{0, 0}, {0, 0}};
    t.it_interval.tv_sec = period_ms / 1000;
    t.it_interval.tv_usec = (period_ms % 1000) * 1000;
    t.it_value = t.it_interval; /* period_ms 0: both zero, which disarms the timer */
    if (setitimer(ITIMER_REAL, &t, NULL) == -1)
        die("setitimer");
}

/* The child waits for `ticks_first` tick reports, then writes the data the parent waits for.
 * In the EINTR variant the parent has given up by then; it reads the data afterwards. */
static _Noreturn void data_writer(int ticks_in, int data_out, int ticks_first)
{
    alarm(WATCHDOG_SECONDS); /* a parent that never ticks cannot keep this child for ever */
    char byte;
    for (int heard = 0; heard < ticks_first;) {
        ssize_t n = read(ticks_in, &byte, 1);
        if (n == 1)
            heard++;
        else if (n == 0) /* the parent closed its end: nothing more to wait for */
            break;
        else if (errno != EINTR)
            die_in_child("read(ticks)");
    }
    static const char data[] = "hello";
    if (write(data_out, data, sizeof data - 1) == -1)
        die_in_child("write(data)");
    _exit(0);
}

enum install_way { WAY_SIGACTION, WAY_SA_RESTART, WAY_SIGNAL };

static int eintr_variant(enum install_way way, int tick_ms)
{
    static const char *const names[] = {"sigaction without SA_RESTART", "sigaction with SA_RESTART",
                                        "signal() (glibc)"};
    int ticks_pipe[2], data_pipe[2];
    if (pipe(ticks_pipe) == -1 || pipe(data_pipe) == -1)
        die("pipe");
    enum { TICKS_BEFORE_DATA = 3 };
    pid_t child = start_child();
    if (child == 0) {
        close_or_die(ticks_pipe[1]);
        close_or_die(data_pipe[0]);
        /* Without SA_RESTART no data may come before the parent gives up, however late the
         * parent reaches read(): that child writes only at end of file on the ticks. */
        data_writer(ticks_pipe[0], data_pipe[1],
                    way == WAY_SIGACTION ? INT_MAX : TICKS_BEFORE_DATA);
    }
    close_or_die(ticks_pipe[0]);
    close_or_die(data_pipe[1]);
    tick_report_fd = ticks_pipe[1];
    ticks = 0;
    if (way == WAY_SIGNAL) {
        if (signal(SIGALRM, on_tick) == SIG_ERR)
            die("signal(SIGALRM)");
    } else {
        install(SIGALRM, on_tick, NULL, way == WAY_SA_RESTART ? SA_RESTART : 0);
    }
    set_timer(tick_ms);
    char buf[16];
    ssize_t n = read(data_pipe[0], buf, sizeof buf); /* blocks: the child writes only later */
    int saved = errno;
    set_timer(0);
    int seen_ticks = (int)ticks;
    int ok;
    if (n == -1 && saved == EINTR) {
        printf("[%s] read() failed after %d tick(s): %s (EINTR)\n", names[way], seen_ticks,
               strerror(saved));
        ok = way == WAY_SIGACTION;
    } else if (n > 0) {
        printf("[%s] read() returned %zd bytes \"%.*s\" after %d tick(s): restarted, no EINTR\n",
               names[way], n, (int)n, buf, seen_ticks);
        ok = way != WAY_SIGACTION && seen_ticks >= TICKS_BEFORE_DATA;
    } else if (n == 0) { /* end of file: errno has nothing to say */
        die_with_code(-1, "read(data): end of file: the child that writes the data ended "
                          "before it wrote");
    } else {
        errno = saved;
        die("read(data)");
    }
    close_or_die(ticks_pipe[1]); /* a child still counting ticks now sees end of file and writes */
    tick_report_fd = -1;
    ssize_t rest;
    while ((rest = read(data_pipe[0], buf, sizeof buf)) > 0 || (rest == -1 && errno == EINTR))
        continue; /* drain whatever the child wrote after we stopped waiting */
    close_or_die(data_pipe[0]);
    int status = cleanup_reap(child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ok = 0;
    if (signal(SIGALRM, SIG_DFL) == SIG_ERR)
        die("signal(SIGALRM)");
    return ok;
}

static int demo_eintr(int tick_ms)
{
    printf("-- eintr: read() from an empty pipe while SIGALRM arrives every %d ms\n", tick_ms);
    int ok = eintr_variant(WAY_SIGACTION, tick_ms);
    ok &= eintr_variant(WAY_SA_RESTART, tick_ms);
    ok &= eintr_variant(WAY_SIGNAL, tick_ms);
    printf("[parent] %s\n", ok ? "EINTR without SA_RESTART, restarted with it and with signal(): "
                                 "as expected"
                               : "NOT what this demo predicts");
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C kills and reaps the registered children */
    enum { QUEUE, EINTR_DEMO, BOTH = -1 };
    static const char *const demos[] = {"queue", "eintr", NULL}; /* QUEUE, EINTR_DEMO */
    int chosen = BOTH;
    int count = 5, tick_ms = 20;
    static const struct option options[] = {{"only", required_argument, 0, 'o'},
                                            {"count", required_argument, 0, 'n'},
                                            {"tick-ms", required_argument, 0, 't'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:n:t:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': chosen = parse_choice(optarg, "--only", demos, usage); break;
        case 'n': count = (int)parse_long(optarg, "--count", 1, 1000, usage); break;
        case 't': tick_ms = (int)parse_long(optarg, "--tick-ms", 1, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    printf("signal_delivery: pid %ld, SIGRTMIN is %d here\n", (long)getpid(), SIGRTMIN);
    int ok = 1;
    if (chosen == BOTH || chosen == QUEUE)
        ok &= demo_queue(count);
    if (chosen == BOTH || chosen == EINTR_DEMO)
        ok &= demo_eintr(tick_ms);
    return ok ? 0 : 1;
}
