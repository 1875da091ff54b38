#define _GNU_SOURCE
/* file_locks.c - the two kinds of file lock between processes, flock() and fcntl() record
 * locks: exclusion, blocking and non-blocking requests, byte ranges, and the semantic
 * difference that bites (whose lock is it, and what releases it).
 *
 * Usage: file_locks [options]
 *   -d, --demo D         flock | fcntl | semantics | counter | all (default all)
 *   -w, --workers P      processes in the counter demo (default 2)
 *   -n, --iterations N   locked increments per process in the counter demo (default 500)
 *   -h, --help           this text
 *
 * What to observe:
 *   - flock: while another process holds LOCK_EX, LOCK_EX|LOCK_NB fails with EWOULDBLOCK and
 *     a plain LOCK_EX waits until it is released.
 *   - fcntl: locks cover byte ranges.  A request overlapping a held range fails with EAGAIN
 *     (F_SETLK) or waits (F_SETLKW); a disjoint range is granted; F_GETLK names the holder.
 *   - semantics: a flock lock belongs to the open file description (two open() calls in ONE
 *     process conflict with each other); an fcntl lock belongs to the process (its two fds
 *     never conflict), and closing ANY fd of the file drops ALL the process's fcntl locks on
 *     it, even one taken through another fd.  Open-file-description locks (F_OFD_SETLK)
 *     combine byte ranges with flock's ownership and do not have that trap.
 *   - counter: a number kept in a file, read-incremented-written by several processes under
 *     each kind of lock: exact.
 *   - The kernel drops every lock of a process that dies: no robust-mutex dance is needed.
 *
 * Python counterpart: fcntl.flock(f, fcntl.LOCK_EX) and fcntl.lockf(f, fcntl.LOCK_EX, len,
 * start) (lockf is fcntl record locking underneath), between multiprocessing.Process objects.
 *
 * See also: lessons/05-locks.md, robust_mutex.c, flock(2), fcntl(2) "Advisory record
 * locking" and "Open file description locks", /proc/locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/private_dir.h"
#include "support/process.h"
#include "support/parse.h"
#include "support/private_dir.h"

static const char usage[] =
    "Usage: file_locks [options]\n"
    "  -d, --demo D         flock | fcntl | semantics | counter | all (default all)\n"
    "  -w, --workers P      processes in the counter demo (default 2)\n"
    "  -n, --iterations N   locked increments per process in the counter demo (default 500)\n"
    "  -h, --help           this text\n";

enum { MAX_WORKERS = 64 };
enum { WATCHDOG_SECONDS = 10 }; /* a blocking lock request must not wait forever */
static const long HOLD_AFTER_RELEASE_US = 100000; /* the holder lingers, so waiters really wait */

/* The private directory and the file we lock; the cleanup registry removes both on any exit. */
static char temp_dir[PATH_MAX], path[PATH_MAX + 16];
static int unexpected; /* results that differ from what the man pages promise */
static volatile sig_atomic_t watchdog_fired;

static const char *error_name(int err, int is_flock)
{
    switch (err) {
    case 0: return "0";
    case EAGAIN: return is_flock ? "EWOULDBLOCK" : "EAGAIN"; /* the same number on Linux */
    case EACCES: return "EACCES";
    case EINTR: return "EINTR";
    default: return strerror(err);
    }
}

/* Print one request and its result; count a result other than the expected one. */
static void show(const char *who, const char *call, int err, int expected, const char *note)
{
    printf("  %-14s %-40s -> %s%s%s\n", who, call, error_name(err, strncmp(call, "flock", 5) == 0),
           *note ? "  " : "", note);
    if (err != expected) {
        printf("  UNEXPECTED: expected %s\n", error_name(expected, strncmp(call, "flock", 5) == 0));
        unexpected++;
    }
}

/* ---- the two lock calls, each returning 0 or an error number -------------------------------- */

/* flock(2) sets errno; returning it instead lets show() compare it with the expected one. */
static int do_flock(int fd, int operation)
{
    return flock(fd, operation) == -1 ? errno : 0;
}

/* cmd: F_SETLK, F_SETLKW, F_OFD_SETLK...; type: F_WRLCK, F_RDLCK, F_UNLCK.  len 0 = to EOF. */
static int do_fcntl(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl); /* OFD locks require l_pid == 0 */
    fl.l_type = type;
    fl.l_whence = SEEK_SET; /* l_start counts from the beginning of the file */
    fl.l_start = start;
    fl.l_len = len;
    /* F_SETLK fails at once on a conflict; F_SETLKW sleeps until the range is free. */
    return fcntl(fd, cmd, &fl) == -1 ? errno : 0;
}

/* A new open file description of the file (in_child: report failures the child's way). */
static int open_file(int in_child)
{
    int fd = open(path, O_RDWR); /* O_RDWR: an fcntl write lock needs a writable fd */
    if (fd == -1 && in_child)
        die("open %s", path);
    if (fd == -1)
        die("open %s", path);
    return fd;
}

/* ---- helpers: a process that holds a lock, a process that tries one ------------------------- */

enum api { FLOCK, FCNTL };

struct holder {
    pid_t pid;
    int control; /* the parent closes it to say "release now" */
};

/* Start a child that takes an exclusive lock (all of the file for flock, bytes
 * [start, start+len) for fcntl), reports "held", and keeps it until told to release. */
static struct holder start_holder(enum api api, off_t start, off_t len)
{
    int report[2], control[2];
    if (pipe(report) == -1 || pipe(control) == -1)
        die("pipe");
    pid_t pid = start_child(); /* it dies with us: else it would hold the lock forever */
    if (pid == 0) {
        /* Our own copy of control[1] would keep read() below from seeing end of file. */
        close_or_die(report[0]);
        close_or_die(control[1]);
        int fd = open_file(1), err = api == FLOCK ? do_flock(fd, LOCK_EX)
                                                  : do_fcntl(fd, F_SETLKW, F_WRLCK, start, len);
        check_error_number(err, "holder: lock");
        char byte;
        if (write(report[1], "L", 1) != 1 || read(control[0], &byte, 1) == -1)
            die("holder: pipe");
        sleep_ns((int64_t)HOLD_AFTER_RELEASE_US *
                 1000); /* keep it a moment: the parent is about to block on it */
        err = api == FLOCK ? do_flock(fd, LOCK_UN) : do_fcntl(fd, F_SETLK, F_UNLCK, start, len);
        check_error_number(err, "holder: unlock");
        _exit(0);
    }
    /* Closed here so that read() sees end of file if the holder dies before reporting. */
    close_or_die(report[1]);
    close_or_die(control[0]);
    char byte;
    if (read(report[0], &byte, 1) != 1) /* wait until it really holds the lock */
        die("holder did not report");
    close_or_die(report[0]);
    return (struct holder){pid, control[1]};
}

static void release_holder(struct holder *h)
{
    close_or_die(h->control); /* its read() returns 0: "release" */
}

/* A child tries a non-blocking exclusive lock on its own open of the file; returns the result. */
static int probe(enum api api, off_t start, off_t len)
{
    pid_t pid = start_child();
    if (pid == 0) {
        int fd = open_file(1); /* its own open: a new description, as a stranger would have */
        _exit(api == FLOCK ? do_flock(fd, LOCK_EX | LOCK_NB)
                           : do_fcntl(fd, F_SETLK, F_WRLCK, start, len)); /* exit drops it */
    }
    int status = wait_for_child(pid);
    if (!WIFEXITED(status)) {
        char how[STATUS_TEXT_SIZE];
        note("probe pid %ld %s", (long)pid, describe_status(status, how, sizeof how));
        exit(EXIT_FAILURE);
    }
    return WEXITSTATUS(status);
}

/* A blocking request, under the watchdog: SIGALRM interrupts it (EINTR) instead of a hang. */
static int blocking(enum api api, int fd, off_t start, off_t len)
{
    alarm(WATCHDOG_SECONDS);
    int err = api == FLOCK ? do_flock(fd, LOCK_EX) : do_fcntl(fd, F_SETLKW, F_WRLCK, start, len);
    alarm(0);
    if (err == EINTR && watchdog_fired)
        printf("  watchdog: still blocked after %d s: the holder never released\n",
               WATCHDOG_SECONDS);
    return err;
}

/* ---- the demonstrations ------------------------------------------------------------------ */

static void demo_flock(void)
{
    struct holder h = start_holder(FLOCK, 0, 0); /* returns once the child holds LOCK_EX */
    printf("flock: pid %ld holds LOCK_EX on the whole file\n", (long)h.pid);
    int fd = open_file(0);
    /* LOCK_NB: ask, do not wait.  Without it this call would block until the holder lets go. */
    show("parent", "flock(LOCK_EX|LOCK_NB)", do_flock(fd, LOCK_EX | LOCK_NB), EAGAIN,
         "(held by the other process)");
    show("parent", "flock(LOCK_SH|LOCK_NB)", do_flock(fd, LOCK_SH | LOCK_NB), EAGAIN,
         "(a shared lock conflicts with an exclusive one)");
    release_holder(&h); /* the holder lets go ~100 ms from now: we block until then */
    show("parent", "flock(LOCK_EX), blocking", blocking(FLOCK, fd, 0, 0), 0,
         "(waited until the holder released)");
    unexpected += reap_child(h.pid, "holder");
    close_or_die(fd); /* closing the last fd of this open file description unlocks */
}

static void demo_fcntl(void)
{
    struct holder h = start_holder(FCNTL, 0, 100);
    printf("fcntl: pid %ld holds F_WRLCK on bytes 0-99\n", (long)h.pid);
    int fd = open_file(0);
    /* F_GETLK: "could I lock this?"  If not, fl is overwritten with the conflicting lock. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 100};
    if (fcntl(fd, F_GETLK, &fl) == -1)
        die("fcntl(F_GETLK)");
    printf("  %-14s %-40s -> pid %ld holds bytes %ld-%ld\n", "parent", "F_GETLK bytes 50-149",
           (long)fl.l_pid, (long)fl.l_start, (long)(fl.l_start + fl.l_len - 1));
    if (fl.l_pid != h.pid)
        unexpected++;
    show("parent", "F_SETLK F_WRLCK bytes 50-149", do_fcntl(fd, F_SETLK, F_WRLCK, 50, 100), EAGAIN,
         "(overlaps 0-99)");
    show("parent", "F_SETLK F_RDLCK bytes 0-9", do_fcntl(fd, F_SETLK, F_RDLCK, 0, 10), EAGAIN,
         "(even a read lock conflicts with a write lock)");
    show("parent", "F_SETLK F_WRLCK bytes 100-199", do_fcntl(fd, F_SETLK, F_WRLCK, 100, 100), 0,
         "(disjoint range: granted)");
    release_holder(&h); /* F_SETLKW sleeps in the kernel until the range is free */
    show("parent", "F_SETLKW F_WRLCK bytes 0-99", blocking(FCNTL, fd, 0, 100), 0,
         "(waited until the holder released)");
    unexpected += reap_child(h.pid, "holder");
    close_or_die(fd);
}

/* Who owns a lock, and what releases it. */
static void demo_semantics(void)
{
    printf("semantics: flock locks belong to an open file description\n");
    int a = open_file(0), b = open_file(0); /* two open() calls: two descriptions */
    show("parent fd a", "flock(LOCK_EX|LOCK_NB)", do_flock(a, LOCK_EX | LOCK_NB), 0, "");
    show("parent fd b", "flock(LOCK_EX|LOCK_NB)", do_flock(b, LOCK_EX | LOCK_NB), EAGAIN,
         "(same process, other description: conflict!)");
    int c = open_file(0);
    close_or_die(c); /* closing an unrelated fd of the file does not touch a's lock */
    show("other process", "flock(LOCK_EX|LOCK_NB)", probe(FLOCK, 0, 0), EAGAIN,
         "(still held after closing another fd)");
    close_or_die(a);
    close_or_die(b);

    printf("semantics: fcntl locks belong to the process\n");
    a = open_file(0);
    b = open_file(0); /* the same two descriptions as above, but now fcntl locks */
    /* Length 0 means "to the end of the file, however long it grows": the whole file. */
    show("parent fd a", "F_SETLK F_WRLCK whole file", do_fcntl(a, F_SETLK, F_WRLCK, 0, 0), 0, "");
    show("parent fd b", "F_SETLK F_WRLCK whole file", do_fcntl(b, F_SETLK, F_WRLCK, 0, 0), 0,
         "(same process: no conflict)");
    show("other process", "F_SETLK F_WRLCK whole file", probe(FCNTL, 0, 0), EAGAIN, "(held)");
    close_or_die(b); /* the trap: closing ANY fd of the file drops all our fcntl locks */
    show("other process", "F_SETLK F_WRLCK whole file", probe(FCNTL, 0, 0), 0,
         "(closing fd b dropped the lock taken through fd a!)");
    close_or_die(a);

    printf("semantics: OFD locks (F_OFD_SETLK) belong to the open file description\n");
    a = open_file(0);
    b = open_file(0);
    /* F_OFD_SETLK: a byte-range lock owned by the open file description, like flock's. */
    show("parent fd a", "F_OFD_SETLK F_WRLCK whole file", do_fcntl(a, F_OFD_SETLK, F_WRLCK, 0, 0),
         0, "");
    close_or_die(b);
    show("other process", "F_SETLK F_WRLCK whole file", probe(FCNTL, 0, 0), EAGAIN,
         "(closing fd b did not drop the OFD lock)");
    close_or_die(a);
}

/* ---- a counter in a file, under each kind of lock ------------------------------------------ */

/* Lock or unlock the whole file with either API, blocking (the workers must take turns). */
static int lock_whole_file(enum api api, int fd, short type)
{
    if (api == FLOCK)
        return do_flock(fd, type == F_UNLCK ? LOCK_UN : LOCK_EX);
    return do_fcntl(fd, type == F_UNLCK ? F_SETLK : F_SETLKW, type, 0, 0);
}

/* Read the number, add one, write it back: the read-modify-write the lock must protect. */
static _Noreturn void counter_worker(enum api api, long iterations)
{
    int fd = open_file(1); /* each worker its own open: flock needs separate descriptions */
    for (long i = 0; i < iterations; i++) {
        int err = lock_whole_file(api, fd, F_WRLCK);
        if (err == EINTR)
            die("watchdog: still waiting for the file lock after %d s", WATCHDOG_SECONDS);
        check_error_number(err, "lock");
        char text[32] = "";
        if (pread(fd, text, sizeof text - 1, 0) == -1)
            die("pread");
        int len = snprintf(text, sizeof text, "%020ld\n", strtol(text, NULL, 10) + 1);
        if (pwrite(fd, text, (size_t)len, 0) != len) /* fixed width: no stale digits left */
            die("pwrite");
        if ((err = lock_whole_file(api, fd, F_UNLCK)) != 0) {
            errno = err;
            die("unlock");
        }
    }
    _exit(0);
}

static void demo_counter(enum api api, int workers, long iterations)
{
    int fd = open(path, O_RDWR | O_TRUNC); /* empty file: strtol reads it as 0 */
    if (fd == -1)
        die("open %s", path);
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        if ((pids[i] = start_child()) == 0) {
            alarm(WATCHDOG_SECONDS); /* fresh in the child: alarms are not inherited */
            counter_worker(api, iterations);
        }
    for (int i = 0; i < workers; i++) /* after this, every write of every worker is in the file */
        unexpected += reap_child(pids[i], "counter worker");
    char text[32] = "";
    if (pread(fd, text, sizeof text - 1, 0) == -1 || close(fd) == -1)
        die("pread %s", path);
    long value = strtol(text, NULL, 10), expected = workers * iterations;
    printf("counter [%s]: verdict: %s (value %ld of %ld)\n", api == FLOCK ? "flock" : "fcntl",
           value == expected ? "exact" : "WRONG", value, expected);
    unexpected += value != expected;
}

/* ---- the private directory; main ------------------------------------------------------------ */

static void on_watchdog(int sig)
{
    (void)sig;
    watchdog_fired = 1; /* the blocked call returns EINTR; the caller reports */
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    static const char *const demos[] = {"flock", "fcntl", "semantics", "counter", "all", NULL};
    enum { ALL_DEMOS = 4 }; /* the index of "all" */
    int chosen = ALL_DEMOS;
    int workers = 2;
    long iterations = 500;
    static const struct option longs[] = {{"demo", required_argument, 0, 'd'},
                                          {"workers", required_argument, 0, 'w'},
                                          {"iterations", required_argument, 0, 'n'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":d:w:n:h", longs, NULL)) != -1) {
        switch (c) {
        case 'd': chosen = parse_choice(optarg, "--demo", demos, usage); break;
        case 'w': workers = (int)parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': iterations = parse_long(optarg, "--iterations", 1, 10000000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int all = chosen == ALL_DEMOS;
    cleanup_install(); /* Ctrl-C kills and reaps the holders and workers */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog; /* no SA_RESTART: a blocked lock call returns EINTR */
    if (sigaction(SIGALRM, &sa, NULL) == -1)
        die("sigaction");
    if (make_private_dir(temp_dir, sizeof temp_dir, "file_locks") == -1)
        die("mkdtemp %s", temp_dir);
    cleanup_add_name(IPC_DIRECTORY, temp_dir); /* gone on every exit path, Ctrl-C included */
    snprintf(path, sizeof path, "%s/locked-file", temp_dir);
    cleanup_add_name(IPC_PATH, path); /* removed before the folder, on Ctrl-C too */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1)
        die("create %s", path);
    close_or_die(fd);
    printf("file: %s\n", path);
    if (all || chosen == 0)
        demo_flock();
    if (all || chosen == 1)
        demo_fcntl();
    if (all || chosen == 2)
        demo_semantics();
    if (all || chosen == 3) {
        demo_counter(FLOCK, workers, iterations);
        demo_counter(FCNTL, workers, iterations);
    }
    if (unlink(path) == -1)
        die("unlink %s", path);
    cleanup_forget_name(path);
    if (rmdir(temp_dir) == -1)
        die("rmdir %s", temp_dir);
    cleanup_forget_name(temp_dir);
    printf("verdict: %s\n", unexpected ? "UNEXPECTED results above" : "every result as expected");
    return unexpected ? EXIT_FAILURE : EXIT_SUCCESS;
}
