#define _GNU_SOURCE
/* pipe_eof.c - a reader sees end of file only when EVERY write end of the pipe is closed.
 *
 * Usage: pipe_eof [--mode MODE] [--watchdog SECONDS] [--lines N]
 *   -m, --mode MODE        both (default): the broken reader, then the fixed one
 *                          fixed: every process closes the ends it does not use
 *                          broken: the reader forgets to close its own copy of the write end
 *                          broken-parent: the parent forgets to close its write end
 *                          all: broken, broken-parent, then fixed
 *   -w, --watchdog SECONDS how long the reader waits for more data before it gives up and
 *                          reports who still holds a write end (default 1.0, 0.1..60)
 *   -l, --lines N          lines the parent writes before closing (default 3, 1..10000)
 *   -h, --help             this text
 *
 * What to observe:
 *   - fork() copies the file descriptor table, so after fork() BOTH processes hold both
 *     ends.  The parent writes its lines and closes its write end, but in "broken" mode the
 *     reader still holds a write end itself, so read() can never return 0: the kernel cannot
 *     know that nobody will write any more.  The reader's watchdog (a poll() timeout) fires,
 *     and the reader looks in /proc/PID/fd for who still has the pipe open for writing.
 *   - In "broken-parent" mode the holder is the parent, which waits for the reader to finish
 *     while still holding the write end: without the watchdog, both would wait forever.
 *   - In "fixed" mode the same reader gets EOF right after the last line.
 *   - The program exits 0 when each mode behaved as described (the broken ones detected by
 *     the watchdog, the fixed one reaching EOF), 1 otherwise.
 *
 * Python counterpart: with multiprocessing.Pipe(duplex=False), the child must call
 *   w.close() on its copy of the writing Connection, or r.recv() never raises EOFError;
 *   the same rule holds for os.pipe() file descriptors passed to a child.
 *
 * See also: pipe_basics.c, sigpipe.c (the opposite case: no reader left), pipe(7) "I/O on
 *   pipes and FIFOs", lessons/02-pipes-and-fifos.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"

static const char usage[] =
    "Usage: pipe_eof [--mode MODE] [--watchdog SECONDS] [--lines N]\n"
    "  -m, --mode MODE        both (default), fixed, broken, broken-parent, all\n"
    "  -w, --watchdog SECONDS how long the reader waits before reporting (default 1.0)\n"
    "  -l, --lines N          lines the parent writes (default 3, 1..10000)\n"
    "  -h, --help             this text\n";

/* Who forgets to close a write end. */
enum mode { FIXED, BROKEN_READER, BROKEN_PARENT };
static const char *const mode_names[] = {"fixed", "broken", "broken-parent"};

/* The reader's exit codes: EOF reached, or the watchdog gave up waiting. */
enum { READER_GOT_EOF = 0, READER_WATCHDOG = 3 };

/* Is /proc/PID/fd/FD the write end of the pipe with this inode?  fdinfo's "flags:" line
 * holds the open flags in octal; the write end was opened O_WRONLY. */
static int is_write_end(const char *pid, const char *fd, ino_t inode)
{
    char path[600], target[64], expected[64]; /* d_name may be 255 bytes */
    snprintf(path, sizeof path, "/proc/%s/fd/%s", pid, fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n == -1)
        return 0; /* the process or descriptor went away, or is not ours to inspect */
    target[n] = '\0';
    snprintf(expected, sizeof expected, "pipe:[%lu]", (unsigned long)inode);
    if (strcmp(target, expected) != 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%s/fdinfo/%s", pid, fd);
    FILE *info = fopen(path, "r");
    if (!info)
        return 0;
    unsigned flags = 0;
    char line[128];
    while (fgets(line, sizeof line, info))
        if (sscanf(line, "flags: %o", &flags) == 1)
            break;
    fclose_or_die(info);
    return (flags & O_ACCMODE) == O_WRONLY;
}

/* Append to buf every process (of ours) that holds a write end of this pipe. */
static void find_write_holders(ino_t inode, char *buf, size_t size)
{
    buf[0] = '\0';
    DIR *proc = opendir("/proc");
    if (!proc) {
        snprintf(buf, size, "(cannot read /proc: %s)", strerror(errno));
        return;
    }
    struct dirent *p;
    while ((p = readdir(proc)) != NULL) {
        if (p->d_name[0] < '0' || p->d_name[0] > '9')
            continue; /* only the numbered entries of /proc are processes */
        char fd_dir[300];
        snprintf(fd_dir, sizeof fd_dir, "/proc/%s/fd", p->d_name);
        DIR *fds = opendir(fd_dir);
        if (!fds)
            continue; /* another user's process: we may not look, and it is not ours */
        struct dirent *f;
        while ((f = readdir(fds)) != NULL) {
            if (f->d_name[0] == '.' || !is_write_end(p->d_name, f->d_name, inode))
                continue;
            long pid = strtol(p->d_name, NULL, 10);
            const char *who = pid == (long)getpid()    ? " (the reader itself)"
                              : pid == (long)getppid() ? " (the parent)"
                                                       : "";
            size_t used = strlen(buf);
            snprintf(buf + used, size - used, "%spid %ld fd %s%s", used ? ", " : "", pid, f->d_name,
                     who);
        }
        closedir(fds);
    }
    closedir(proc);
    if (buf[0] == '\0')
        snprintf(buf, size, "(no process found)");
}

/* The reader: copy lines until EOF, but never wait longer than the watchdog for the next. */
static _Noreturn void reader(int read_fd, int watchdog_ms, double watchdog_s)
{
    long bytes = 0;
    for (;;) {
        struct pollfd p = {read_fd, POLLIN, 0};
        int ready = poll(&p, 1, watchdog_ms); /* the watchdog: a bounded wait, not a hang */
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            die("poll");
        if (ready == 0) {
            struct stat st;
            if (fstat(read_fd, &st) == -1)
                die("fstat");
            char holders[512];
            find_write_holders(st.st_ino, holders, sizeof holders);
            printf("[reader %ld] reader still waiting after %.1fs: a write end is still open "
                   "in %s\n",
                   (long)getpid(), watchdog_s, holders);
            leave_child(READER_WATCHDOG);
        }
        char buf[256];
        ssize_t n = read(read_fd, buf, sizeof buf);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("read");
        if (n == 0) { /* EOF: the kernel knows no write end is left anywhere */
            printf("[reader %ld] EOF after %ld bytes: every write end is closed\n", (long)getpid(),
                   bytes);
            leave_child(READER_GOT_EOF);
        }
        bytes += n; /* data: keep reading; the watchdog restarts for the next wait */
    }
}

/* Write `lines` short lines; a write error here is the parent's own failure. */
static void write_lines(int fd, long lines)
{
    for (long i = 0; i < lines; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "line %ld\n", i);
        if (write(fd, line, (size_t)len) != len) /* a short line fits the pipe whole */
            die("write");
    }
}

/* Run one mode and return 1 if the reader ended the way the mode predicts. */
static int run_mode(enum mode mode, long lines, double watchdog_s)
{
    printf("-- mode %s\n", mode_names[mode]);
    int fds[2];
    if (pipe(fds) == -1)
        die("pipe");
    pid_t pid = start_child();
    if (pid == 0) {
        if (mode != BROKEN_READER)
            close_or_die(fds[1]); /* THE fix: the reader never writes, so it drops its write end */
        reader(fds[0], (int)(watchdog_s * 1000), watchdog_s);
    }
    close_or_die(fds[0]);
    write_lines(fds[1], lines);
    printf("[parent %ld] wrote %ld lines\n", (long)getpid(), lines);
    flush_or_die(stdout); /* show it now, not after the reader's watchdog report */
    if (mode != BROKEN_PARENT && close(fds[1]) == -1) /* broken-parent "forgets" this */
        die("close");
    int status = wait_for_child(pid);
    if (mode == BROKEN_PARENT)
        close_or_die(fds[1]); /* too late for the reader, but nothing may leak */
    char how[STATUS_TEXT_SIZE];
    describe_status(status, how, sizeof how);
    /* The demonstration worked if the fixed reader saw EOF and a broken one was caught. */
    int expected = mode == FIXED ? READER_GOT_EOF : READER_WATCHDOG;
    int as_predicted = WIFEXITED(status) && WEXITSTATUS(status) == expected;
    printf("[parent %ld] reader %ld %s: %s\n", (long)getpid(), (long)pid, how,
           as_predicted ? (mode == FIXED ? "finished at EOF, as expected"
                                         : "hang detected by the watchdog, as expected")
                        : "NOT what this mode predicts");
    return as_predicted;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    const char *mode = "both";
    double watchdog_s = 1.0;
    long lines = 3;
    static const struct option options[] = {{"mode", required_argument, 0, 'm'},
                                            {"watchdog", required_argument, 0, 'w'},
                                            {"lines", required_argument, 0, 'l'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":m:w:l:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': mode = optarg; break; /* checked below, before anything runs */
        case 'w': watchdog_s = parse_double(optarg, "--watchdog", 0.1, 60, usage); break;
        case 'l': lines = parse_long(optarg, "--lines", 1, 10000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    static const char *const known[] = {"both", "fixed", "broken", "broken-parent", "all"};
    int known_mode = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        known_mode |= strcmp(mode, known[i]) == 0;
    if (!known_mode)
        usage_error(usage, "--mode: expected both, fixed, broken, broken-parent or all, got \"%s\"",
                    mode);
    int ok = 1;
    printf("pipe_eof: mode=%s watchdog=%.1fs lines=%ld\n", mode, watchdog_s, lines);
    if (strcmp(mode, "fixed") == 0)
        ok = run_mode(FIXED, lines, watchdog_s);
    else if (strcmp(mode, "broken") == 0)
        ok = run_mode(BROKEN_READER, lines, watchdog_s);
    else if (strcmp(mode, "broken-parent") == 0)
        ok = run_mode(BROKEN_PARENT, lines, watchdog_s);
    else if (strcmp(mode, "both") == 0)
        ok = run_mode(BROKEN_READER, lines, watchdog_s) & run_mode(FIXED, lines, watchdog_s);
    else /* all */
        ok = run_mode(BROKEN_READER, lines, watchdog_s) &
             run_mode(BROKEN_PARENT, lines, watchdog_s) & run_mode(FIXED, lines, watchdog_s);
    return ok ? 0 : 1;
}
