#define _GNU_SOURCE
/* poll_mux.c - one process reading many pipes at once with poll(), until every one hits EOF.
 *
 * Usage: poll_mux [--children N] [--messages N] [--interval MS] [--watchdog SECONDS]
 *   -c, --children N        writer children, one pipe each (default 4, 1..256)
 *   -m, --messages N        lines each child writes (default 20, 1..1000000)
 *   -i, --interval MS       child i waits (i+1) x MS milliseconds between lines, so the
 *                           children write at different rates (default 5, 0..1000)
 *   -w, --watchdog SECONDS  give up if no pipe has news for this long (default 10, 1..600)
 *   -h, --help              this text
 *
 * What to observe:
 *   - A blocking read() on one pipe would stall the parent while the other children's
 *     pipes fill up.  poll() instead sleeps until ANY of the pipes is readable (or hung up)
 *     and says which ones: the parent reads only those, never blocking.
 *   - The fast child finishes first; its pipe reports POLLHUP, read() returns 0, and the
 *     parent stops watching it (a negative fd in the poll set is skipped).  The loop ends
 *     when every pipe has reached EOF.
 *   - A read() may end in the middle of a line, so each child has its own line buffer.
 *   - The per-child counts must equal --messages, each child's lines in order: a pipe
 *     keeps the order of what one writer wrote.
 *   - "wakeups" counts poll() returns: with slow writers one wakeup often carries one line,
 *     with fast ones several lines (or several pipes) arrive per wakeup.
 *
 * Python counterpart: multiprocessing.connection.wait([conn1, conn2, ...], timeout) returns
 *   the connections that are ready, exactly like poll(); Connection.poll(timeout) asks the
 *   same question of one connection.  The selectors module wraps poll/epoll for os.pipe fds.
 *
 * See also: pipe_eof.c (EOF needs every write end closed), poll(2), select(2), epoll(7).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"

static const char usage[] =
    "Usage: poll_mux [--children N] [--messages N] [--interval MS] [--watchdog SECONDS]\n"
    "  -c, --children N        writer children, one pipe each (default 4, 1..256)\n"
    "  -m, --messages N        lines per child (default 20, 1..1000000)\n"
    "  -i, --interval MS       child i sleeps (i+1) x MS ms between lines (default 5, 0..1000)\n"
    "  -w, --watchdog SECONDS  give up after this long without news (default 10, 1..600)\n"
    "  -h, --help              this text\n";

enum { MAX_CHILDREN = 256, LINE_SIZE = 64 };

/* What the parent knows about one child's pipe. */
struct source {
    pid_t pid;
    long lines, out_of_order;
    int eof_rank;            /* 1 for the first pipe to reach EOF, 2 for the next... */
    char partial[LINE_SIZE]; /* the start of a line whose end has not arrived yet */
    size_t partial_len;
};

/* A child: `messages` lines, one write() each, at its own pace; then exit (closing the pipe). */
static _Noreturn void writer(int fd, int index, long messages, long interval_ms)
{
    for (long seq = 0; seq < messages; seq++) {
        char line[LINE_SIZE];
        int len = snprintf(line, sizeof line, "%d %ld\n", index, seq);
        if (write(fd, line, (size_t)len) != len) /* short lines: one write is one line */
            die("write");
        sleep_ns((int64_t)(index + 1) * interval_ms * 1000000);
    }
    _exit(0);
}

/* Fork the children; fds[i] gets the read end of child i's pipe. */
static void start_children(struct source *src, struct pollfd *fds, int children, long messages,
                           long interval_ms)
{
    for (int i = 0; i < children; i++) {
        int p[2];
        if (pipe(p) == -1)
            die("pipe");
        pid_t pid = start_child();
        if (pid == 0) {
            close_or_die(p[0]);
            /* The read ends of the EARLIER children's pipes were inherited too: harmless
             * here (they are read ends), but a write end kept like this would block EOF. */
            writer(p[1], i, messages, interval_ms);
        }
        close_or_die(p[1]); /* only the child writes: our copy would hide its EOF */
        src[i].pid = pid;
        fds[i] = (struct pollfd){.fd = p[0], .events = POLLIN};
    }
}

/* Split freshly read bytes into lines and check each "INDEX SEQ" against the count so far. */
static void take_bytes(struct source *s, int index, const char *bytes, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (bytes[k] != '\n') {
            if (s->partial_len < LINE_SIZE - 1)
                s->partial[s->partial_len++] = bytes[k];
            continue;
        }
        s->partial[s->partial_len] = '\0';
        int who;
        long seq;
        if (sscanf(s->partial, "%d %ld", &who, &seq) != 2 || who != index || seq != s->lines)
            s->out_of_order++;
        s->lines++;
        s->partial_len = 0;
    }
}

/* Read whatever one ready pipe holds.  Returns 0 once that pipe is at EOF. */
static int drain_one(struct pollfd *p, struct source *s, int index)
{
    static int eofs_seen;
    char buf[256]; /* small on purpose: reads often end mid-line */
    ssize_t n = read(p->fd, buf, sizeof buf);
    if (n == -1 && errno == EINTR)
        return 1;
    if (n == -1)
        die("read from child %d", index);
    if (n == 0) {
        close_or_die(p->fd);
        p->fd = -1; /* poll() skips negative descriptors: stop watching this pipe */
        s->eof_rank = ++eofs_seen;
        return 0;
    }
    take_bytes(s, index, buf, (size_t)n);
    return 1;
}

/* The multiplexing loop.  Returns the number of poll() wakeups, or -1 if the watchdog fired. */
static long multiplex(struct pollfd *fds, struct source *src, int children, int watchdog_s)
{
    int open_pipes = children;
    long wakeups = 0;
    while (open_pipes > 0) {
        int ready = poll(fds, (nfds_t)children, watchdog_s * 1000);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            die("poll");
        if (ready == 0) {
            printf("[parent %ld] watchdog: no news for %ds, %d pipes still open:", (long)getpid(),
                   watchdog_s, open_pipes);
            for (int i = 0; i < children; i++)
                if (fds[i].fd >= 0)
                    printf(" child %d (pid %ld)", i, (long)src[i].pid);
            printf("\n");
            return -1;
        }
        wakeups++;
        /* POLLHUP without POLLIN means the writer is gone and the pipe is empty: the read
         * below then returns 0.  Check both, or a hung-up pipe would be polled forever. */
        for (int i = 0; i < children; i++)
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                open_pipes -= !drain_one(&fds[i], &src[i], i);
    }
    return wakeups;
}

/* Reap every child, print its tally.  Returns 1 if every count and status is right. */
static int report(struct source *src, int children, long messages)
{
    int ok = 1;
    for (int i = 0; i < children; i++) {
        int status = wait_for_child(src[i].pid);
        int good = child_succeeded(status) && src[i].lines == messages && src[i].out_of_order == 0;
        char how[STATUS_TEXT_SIZE];
        describe_status(status, how, sizeof how);
        printf("[parent %ld] child %d (pid %ld): %ld lines, %ld out of order, EOF #%d, %s\n",
               (long)getpid(), i, (long)src[i].pid, src[i].lines, src[i].out_of_order,
               src[i].eof_rank, how);
        ok &= good;
    }
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    int children = 4, watchdog_s = 10;
    long messages = 20, interval_ms = 5;
    static const struct option options[] = {
        {"children", required_argument, 0, 'c'}, {"messages", required_argument, 0, 'm'},
        {"interval", required_argument, 0, 'i'}, {"watchdog", required_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":c:m:i:w:h", options, NULL)) != -1) {
        switch (c) {
        case 'c': children = (int)parse_long(optarg, "--children", 1, MAX_CHILDREN, usage); break;
        case 'm': messages = parse_long(optarg, "--messages", 1, 1000000, usage); break;
        case 'i': interval_ms = parse_long(optarg, "--interval", 0, 1000, usage); break;
        case 'w': watchdog_s = (int)parse_long(optarg, "--watchdog", 1, 600, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    printf("poll_mux: children=%d messages=%ld interval=%ldms watchdog=%ds\n", children, messages,
           interval_ms, watchdog_s);

    static struct source src[MAX_CHILDREN];
    static struct pollfd fds[MAX_CHILDREN];
    start_children(src, fds, children, messages, interval_ms);
    long wakeups = multiplex(fds, src, children, watchdog_s);
    for (int i = 0; i < children; i++) /* after a watchdog, some pipes are still open */
        if (fds[i].fd >= 0)
            close_or_die(fds[i].fd);
    if (wakeups < 0) /* the children are stuck: the registry kills and reaps them at exit */
        return 1;
    int ok = report(src, children, messages);
    printf("poll_mux: %ld poll() wakeups for %ld lines; %s\n", wakeups, messages * children,
           ok ? "every line arrived once, in order" : "FAILED");
    return ok ? 0 : 1;
}
