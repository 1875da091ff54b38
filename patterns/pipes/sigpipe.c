#define _GNU_SOURCE
/* sigpipe.c - writing to a pipe nobody reads: SIGPIPE kills the writer, or write() gets EPIPE.
 *
 * Usage: sigpipe [--mode MODE] [--watchdog SECONDS]
 *   -m, --mode MODE        both (default): default first, then ignore
 *                          default: SIGPIPE left at its default action (terminate)
 *                          ignore: the writer ignores SIGPIPE and checks write()'s errors
 *   -w, --watchdog SECONDS longest the writer may run before it reports and stops (default 10)
 *   -h, --help             this text
 *
 * What to observe:
 *   - The reader reads one chunk and exits, like `head -1` in `yes | head -1`.  The writer
 *     keeps writing.  Once the last read end is closed the kernel has nowhere to put the
 *     data, and the next write() sends the writer SIGPIPE.
 *   - "default": the writer dies of the signal; the parent's waitpid() sees
 *     "killed by signal 13 (Broken pipe)", and the writer never prints its last line.
 *   - "ignore": with SIGPIPE ignored, the same write() returns -1 with errno EPIPE and the
 *     writer can say so and exit cleanly.  Servers do this so one vanished client cannot
 *     kill them.  (Shells report the default case as exit status 128+13 = 141.)
 *   - The program exits 0 when the writer ended as the mode predicts, 1 otherwise.
 *
 * Python counterpart: Python ignores SIGPIPE at startup, so os.write() on a pipe without a
 *   reader raises BrokenPipeError (EPIPE) and Connection.send() raises BrokenPipeError too.
 *
 * See also: pipe_eof.c (the other end: no writer left), signal(7), pipe(7).
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
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"

static const char usage[] =
    "Usage: sigpipe [--mode MODE] [--watchdog SECONDS]\n"
    "  -m, --mode MODE        both (default), default, ignore\n"
    "  -w, --watchdog SECONDS longest the writer may run (default 10, 1..600)\n"
    "  -h, --help             this text\n";

/* The writer's exit codes when it is not killed. */
enum { WRITER_SAW_EPIPE = 0, WRITER_WATCHDOG = 3 };

/* The reader takes one chunk and leaves, closing the only read end with its exit. */
static _Noreturn void reader(int read_fd)
{
    char buf[64];
    ssize_t n;
    while ((n = read(read_fd, buf, sizeof buf)) == -1 && errno == EINTR)
        continue;
    if (n == -1)
        die("read");
    printf("[reader %ld] read %zd bytes and exits without reading the rest\n", (long)getpid(), n);
    leave_child(0);
}

/* The writer writes forever; only SIGPIPE, EPIPE or the watchdog stop it. */
static _Noreturn void writer(int write_fd, int ignore_sigpipe, int watchdog_s)
{
    /* Set the action either way: a program started from Python inherits SIGPIPE ignored. */
    if (signal(SIGPIPE, ignore_sigpipe ? SIG_IGN : SIG_DFL) == SIG_ERR)
        die("signal(SIGPIPE)");
    alarm((unsigned)watchdog_s); /* default SIGALRM action ends a writer that never stops */
    const char line[] = "y\n";
    for (long writes = 0;; writes++) {
        if (write(write_fd, line, sizeof line - 1) != -1)
            continue;
        if (errno == EINTR)
            continue;
        if (errno == EPIPE) { /* only reached when SIGPIPE is ignored (or handled) */
            printf("[writer %ld] write failed after %ld writes: %s (EPIPE); exiting cleanly\n",
                   (long)getpid(), writes, strerror(errno));
            leave_child(WRITER_SAW_EPIPE);
        }
        die("write");
    }
}

/* One run: a reader that quits early, a writer that does not. */
static int run_mode(int ignore_sigpipe, int watchdog_s)
{
    printf("-- mode %s: SIGPIPE %s in the writer\n", ignore_sigpipe ? "ignore" : "default",
           ignore_sigpipe ? "ignored" : "left at its default action");
    int fds[2];
    if (pipe(fds) == -1)
        die("pipe");
    pid_t reader_pid = start_child();
    if (reader_pid == 0) {
        close_or_die(fds[1]);
        reader(fds[0]);
    }
    pid_t writer_pid = start_child();
    if (writer_pid == 0) {
        close_or_die(
            fds[0]); /* the writer must not hold a read end, or it would be its own reader */
        writer(fds[1], ignore_sigpipe, watchdog_s);
    }
    close_or_die(fds[0]); /* and neither may the parent: the reader's copy must be the last one */
    close_or_die(fds[1]);
    report_child(reader_pid, "reader");
    int status = report_child(writer_pid, "writer");
    int as_predicted = ignore_sigpipe ? WIFEXITED(status) && WEXITSTATUS(status) == WRITER_SAW_EPIPE
                                      : WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE;
    printf("[parent %ld] %s\n", (long)getpid(),
           as_predicted ? (ignore_sigpipe ? "the writer saw EPIPE and exited, as expected"
                                          : "the writer was killed by SIGPIPE, as expected")
                        : "NOT what this mode predicts");
    return as_predicted;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    const char *mode = "both";
    int watchdog_s = 10;
    static const struct option options[] = {{"mode", required_argument, 0, 'm'},
                                            {"watchdog", required_argument, 0, 'w'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":m:w:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': mode = optarg; break;
        case 'w': watchdog_s = (int)parse_long(optarg, "--watchdog", 1, 600, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    int both = strcmp(mode, "both") == 0;
    if (!both && strcmp(mode, "default") != 0 && strcmp(mode, "ignore") != 0)
        usage_error(usage, "--mode: expected both, default or ignore, got \"%s\"", mode);

    printf("sigpipe: mode=%s watchdog=%ds\n", mode, watchdog_s);
    int ok = 1;
    if (both || strcmp(mode, "default") == 0)
        ok &= run_mode(0, watchdog_s);
    if (both || strcmp(mode, "ignore") == 0)
        ok &= run_mode(1, watchdog_s);
    return ok ? 0 : 1;
}
