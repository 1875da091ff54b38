#define _GNU_SOURCE
/* pipe_basics.c - a pipe from parent to child, then two pipes for request and reply.
 *
 * Usage: pipe_basics [--messages N] [--requests N]
 *   -m, --messages N   lines the parent sends down the one-way pipe (default 5, 1..100000)
 *   -r, --requests N   requests in the two-pipe request/reply part (default 5, 1..100000)
 *   -h, --help         this text
 *
 * What to observe:
 *   - Part 1: the child reads until read() returns 0 (end of file), which happens only after
 *     the parent closed its write end: the child counts every line, in the order sent.
 *   - Part 2: a pipe carries bytes one way only, so a conversation needs two: the parent
 *     writes "n" on the request pipe and reads "n n*n" back on the reply pipe.
 *   - Each process closes the ends it does not use right after fork().  Try removing one of
 *     those close() calls and the program hangs (pipe_eof shows why, with a watchdog).
 *
 * Python counterpart: multiprocessing.Pipe(duplex=False) for part 1 (a one-way Connection
 *   pair); Pipe() (duplex) for part 2, which Python builds on a socket pair, not two pipes;
 *   os.pipe() is the raw call used here.
 *
 * See also: pipe_eof.c (why unused ends must be closed), socketpair_duplex.c (one duplex
 *   channel instead of two pipes), lessons/02-pipes-and-fifos.md, pipe(7).
 */
#include <errno.h>
#include <getopt.h>
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
    "Usage: pipe_basics [--messages N] [--requests N]\n"
    "  -m, --messages N   lines sent down the one-way pipe (default 5, 1..100000)\n"
    "  -r, --requests N   request/reply round trips over two pipes (default 5, 1..100000)\n"
    "  -h, --help         this text\n";

/* A line of text is at most this long: small enough for a stack buffer. */
enum { LINE_MAX_BYTES = 128 };

/* Part 1, child side: read until EOF and check every line arrived once, in order. */
static _Noreturn void one_way_reader(int read_fd, long expected)
{
    FILE *in = fdopen(read_fd, "r"); /* stdio splits the byte stream into lines for us */
    if (!in)
        die("fdopen");
    char line[LINE_MAX_BYTES];
    long got = 0, out_of_order = 0;
    while (fgets(line, sizeof line, in)) { /* NULL at EOF: every write end is closed */
        long seq = -1;
        if (sscanf(line, "message %ld", &seq) != 1 || seq != got)
            out_of_order++;
        got++;
    }
    if (ferror(in))
        die("read");
    printf("[child %ld] read %ld lines, then EOF; %ld out of order\n", (long)getpid(), got,
           out_of_order);
    fclose_or_die(in);
    leave_child(got == expected && out_of_order == 0 ? 0 : 1);
}

/* Part 1: parent -> child over one pipe. */
static int one_way(long messages)
{
    int fds[2]; /* fds[0] is the read end, fds[1] the write end */
    if (pipe(fds) == -1)
        die("pipe");
    pid_t pid = start_child();
    if (pid == 0) {
        close_or_die(fds[1]); /* the child only reads: keeping this would block its EOF forever */
        one_way_reader(fds[0], messages);
    }
    close_or_die(fds[0]); /* the parent only writes */
    for (long i = 0; i < messages; i++) {
        char line[LINE_MAX_BYTES];
        int len = snprintf(line, sizeof line, "message %ld\n", i);
        write_all(fds[1], line, (size_t)len);
    }
    printf("[parent %ld] wrote %ld lines, closing the write end\n", (long)getpid(), messages);
    flush_or_die(stdout); /* keep the printed story in the order it happened */
    close_or_die(fds[1]); /* the last write end closes: the child's read() returns 0 */
    return child_succeeded(report_child(pid, "reader child"));
}

/* Part 2, child side: answer "n" with "n n*n" until the request pipe reaches EOF. */
static _Noreturn void squarer(int request_fd, int reply_fd)
{
    FILE *in = fdopen(request_fd, "r");
    if (!in)
        die("fdopen");
    char line[LINE_MAX_BYTES];
    long served = 0;
    while (fgets(line, sizeof line, in)) {
        long n = strtol(line, NULL, 10);
        char reply[LINE_MAX_BYTES];
        int len = snprintf(reply, sizeof reply, "%ld %ld\n", n, n * n);
        write_all(reply_fd, reply, (size_t)len); /* unbuffered: the parent waits for it */
        served++;
    }
    printf("[child %ld] served %ld requests, request pipe at EOF\n", (long)getpid(), served);
    fclose_or_die(in);
    close_or_die(reply_fd);
    leave_child(0);
}

/* Part 2: one request at a time, each answer read before the next question. */
static int request_reply(long requests)
{
    int request[2], reply[2];
    if (pipe(request) == -1 || pipe(reply) == -1)
        die("pipe");
    pid_t pid = start_child();
    if (pid == 0) {
        close_or_die(request[1]); /* child reads requests and writes replies: */
        close_or_die(reply[0]);   /* close the two ends it will never use */
        squarer(request[0], reply[1]);
    }
    close_or_die(request[0]);
    close_or_die(reply[1]);
    FILE *answers = fdopen(reply[0], "r");
    if (!answers)
        die("fdopen");
    long correct = 0;
    for (long i = 1; i <= requests; i++) {
        char line[LINE_MAX_BYTES];
        int len = snprintf(line, sizeof line, "%ld\n", i);
        write_all(request[1], line, (size_t)len);
        long n, square;
        if (!fgets(line, sizeof line, answers) || sscanf(line, "%ld %ld", &n, &square) != 2)
            die_with_code(-1, "reply %ld: the child closed the reply pipe early", i);
        if (n == i && square == i * i)
            correct++;
    }
    printf("[parent %ld] %ld of %ld replies correct\n", (long)getpid(), correct, requests);
    close_or_die(request[1]); /* EOF on the request pipe tells the child to finish */
    fclose_or_die(answers);
    return child_succeeded(report_child(pid, "squarer child")) && correct == requests;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    long messages = 5, requests = 5;
    static const struct option options[] = {{"messages", required_argument, 0, 'm'},
                                            {"requests", required_argument, 0, 'r'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":m:r:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': messages = parse_long(optarg, "--messages", 1, 100000, usage); break;
        case 'r': requests = parse_long(optarg, "--requests", 1, 100000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    printf("pipe_basics: messages=%ld requests=%ld\n", messages, requests);
    printf("-- part 1: one pipe, parent -> child\n");
    int ok = one_way(messages);
    printf("-- part 2: two pipes, request -> child, reply -> parent\n");
    ok &= request_reply(requests);
    printf("pipe_basics: %s\n", ok ? "all messages arrived once, in order" : "FAILED");
    return ok ? 0 : 1;
}
