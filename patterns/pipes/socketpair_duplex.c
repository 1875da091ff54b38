#define _GNU_SOURCE
/* socketpair_duplex.c - a socket pair as one two-way channel, with whole messages.
 *
 * Usage: socketpair_duplex [--frames N] [--max-size BYTES] [--writers N] [--messages N]
 *   -f, --frames N        request/reply frames in part 1 (default 200, 1..1000000)
 *   -s, --max-size BYTES  largest payload, K suffix works (default 16K, 1..64K)
 *   -w, --writers N       concurrent writers in part 2 (default 3, 1..64)
 *   -m, --messages N      messages per writer in part 2 (default 200, 1..1000000)
 *   -h, --help            this text
 *
 * What to observe:
 *   - Part 1, SOCK_STREAM: ONE socketpair() gives two connected descriptors, and each is
 *     both readable and writable: the parent sends frames and reads replies on sv[0], the
 *     child does the opposite on sv[1].  (With pipes that takes two pipes: pipe_basics.)
 *   - A stream has no message boundaries: one read() may return half a frame or a frame
 *     and a half.  So every frame starts with its length, and read_fully() loops until it
 *     has exactly that many bytes.  The child checks every frame's checksum and echoes it.
 *   - Part 2, SOCK_SEQPACKET: the kernel keeps each send() a separate message of any size
 *     up to the socket buffer, and delivers it whole to one recv().  Several writers share
 *     one end, and the reader never sees two messages mixed: compare pipe_atomicity,
 *     where writes over PIPE_BUF may tear.  Each writer's messages also arrive in order.
 *   - Exits 0 when every frame and message arrived once, whole, and in order.
 *
 * Python counterpart: multiprocessing.Pipe() (duplex=True, the default) is a socketpair;
 *   Connection.send_bytes() writes a length prefix then the bytes, and recv_bytes() reads
 *   the prefix and then exactly that many bytes, which is part 1 of this program.
 *
 * See also: pipe_basics.c, pipe_atomicity.c, socketpair(2), unix(7) "SOCK_SEQPACKET".
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"

static const char usage[] =
    "Usage: socketpair_duplex [--frames N] [--max-size BYTES] [--writers N] [--messages N]\n"
    "  -f, --frames N        request/reply frames, part 1 (default 200, 1..1000000)\n"
    "  -s, --max-size BYTES  largest payload (default 16K, 1..64K)\n"
    "  -w, --writers N       concurrent writers, part 2 (default 3, 1..64)\n"
    "  -m, --messages N      messages per writer, part 2 (default 200, 1..1000000)\n"
    "  -h, --help            this text\n";

/* The largest payload: one buffer of this size lives on each side. */
enum { MAX_PAYLOAD = 64 * 1024 };

/* Part 2's message header: who sent it, its number, and how long the payload is. */
struct message_header {
    uint32_t writer, seq, length;
};

/* --- framing over a byte stream ------------------------------------------------------- */

/* A frame is a 4-byte length, then that many bytes. */
static int send_frame(int fd, const void *payload, uint32_t length)
{
    /* Two writes are fine here: only one process writes to this end of the stream.
     * With several writers on a stream, the header of one could land between another's
     * header and payload; part 2 avoids that with SOCK_SEQPACKET. */
    if (write_fully(fd, &length, sizeof length) == -1)
        return -1;
    return write_fully(fd, payload, length);
}

/* Receive one frame into buf (capacity size).  1 on success, 0 on EOF before the first byte,
 * -1 on an error or EOF in the middle (a torn frame: the sender died half-way). */
static int recv_frame(int fd, void *buf, size_t size, uint32_t *length)
{
    ssize_t got = read_fully(fd, length, sizeof *length);
    if (got == 0)
        return 0; /* EOF between frames: the normal end */
    if (got != sizeof *length || *length > size)
        return -1; /* torn, or a corrupt length: better to stop than to overrun buf */
    return read_fully(fd, buf, *length) == (ssize_t)*length ? 1 : -1;
}

static uint32_t checksum(const unsigned char *p, size_t n)
{
    uint32_t sum = 2166136261u; /* FNV-1a: cheap, and sensitive to order */
    for (size_t i = 0; i < n; i++)
        sum = (sum ^ p[i]) * 16777619u;
    return sum;
}

/* Frame i's length, computable by both sides: spread over 1..max_size (7919 is prime, so
 * the lengths do not repeat in a short cycle). */
static uint32_t frame_length(long i, long max_size)
{
    return (uint32_t)((i * 7919) % max_size + 1);
}

/* Frame i's content: varies with i and position, so a shifted or mixed frame is caught. */
static void fill_frame(unsigned char *buf, uint32_t length, long i)
{
    for (uint32_t k = 0; k < length; k++)
        buf[k] = (unsigned char)(i + k * 31);
}

/* --- part 1: one stream socket pair, both directions ------------------------------------ */

/* The child: read each frame, answer with a frame holding its number and checksum. */
static _Noreturn void echo_child(int fd, long max_size)
{
    unsigned char *buf = malloc(MAX_PAYLOAD);
    if (!buf)
        die("malloc");
    long frames = 0;
    uint32_t length;
    int r; /* 1: a frame, 0: clean EOF (the parent closed its end), -1: broken */
    while ((r = recv_frame(fd, buf, MAX_PAYLOAD, &length)) == 1) {
        uint32_t answer[2] = {length, checksum(buf, length)}; /* proves we saw every byte */
        if (send_frame(fd, answer, sizeof answer) == -1)
            die("write");
        frames++;
    }
    free(buf);
    if (r == -1)
        die("read frame %ld (torn or too long for %ld)", frames, max_size);
    printf("[child %ld] answered %ld frames, then EOF\n", (long)getpid(), frames);
    leave_child(0);
}

/* The parent: send frames of many sizes, check each echo.  Returns the good replies. */
static long talk_to_child(int fd, long frames, long max_size)
{
    unsigned char *buf = malloc(MAX_PAYLOAD);
    if (!buf)
        die("malloc");
    long good = 0;
    for (long i = 0; i < frames; i++) {
        uint32_t length = frame_length(i, max_size), answer[2], answer_length;
        fill_frame(buf, length, i);
        if (send_frame(fd, buf, length) == -1)
            die("write frame %ld", i);
        /* Lockstep, one frame out and one reply back: neither side can fill the socket
         * buffer while the other is also writing, so this cannot deadlock. */
        if (recv_frame(fd, answer, sizeof answer, &answer_length) != 1)
            die("read reply %ld", i);
        good += answer_length == sizeof answer && answer[0] == length &&
                answer[1] == checksum(buf, length);
    }
    free(buf);
    return good;
}

static int duplex_stream(long frames, long max_size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        die("socketpair");
    pid_t pid = start_child();
    if (pid == 0) {
        close_or_die(sv[0]); /* each side keeps one end: the pair is already two-way */
        echo_child(sv[1], max_size);
    }
    close_or_die(sv[1]);
    long good = talk_to_child(sv[0], frames, max_size);
    close_or_die(sv[0]); /* EOF for the child's next recv_frame */
    int ok = !reap_child(pid, "echo child");
    printf("[parent %ld] %ld of %ld frames echoed whole and correct\n", (long)getpid(), good,
           frames);
    return ok && good == frames;
}

/* --- part 2: many writers, one SOCK_SEQPACKET end, whole messages ------------------------ */

/* A writer: messages of varied sizes, payload filled with the writer's own byte. */
static _Noreturn void seqpacket_writer(int fd, uint32_t writer, long messages, long max_size)
{
    char *msg = malloc(sizeof(struct message_header) + MAX_PAYLOAD);
    if (!msg)
        die("malloc");
    for (long i = 0; i < messages; i++) {
        struct message_header h = {writer, (uint32_t)i, frame_length(i + writer, max_size)};
        memcpy(msg, &h, sizeof h); /* header and payload in ONE buffer, sent by ONE call */
        memset(msg + sizeof h, 'A' + (int)(writer % 26), h.length);
        /* One send() is one message: the kernel never splits or merges it. */
        ssize_t n;
        while ((n = send(fd, msg, sizeof h + h.length, 0)) == -1 && errno == EINTR)
            continue;
        if (n != (ssize_t)(sizeof h + h.length))
            die("send message %ld", i);
    }
    free(msg);
    _exit(0);
}

/* Is this received message whole, from a known writer, next in that writer's order? */
static int check_message(const char *msg, ssize_t n, long writers, uint32_t *next_seq)
{
    struct message_header h;
    if (n < (ssize_t)sizeof h)
        return 0;
    memcpy(&h, msg, sizeof h);
    if (h.writer >= (uint32_t)writers || n != (ssize_t)(sizeof h + h.length) ||
        h.seq != next_seq[h.writer])
        return 0;
    next_seq[h.writer]++; /* per writer, order is kept; between writers, anything goes */
    for (uint32_t k = 0; k < h.length; k++) /* one stranger's byte would mean a torn message */
        if (msg[sizeof h + k] != 'A' + (int)(h.writer % 26))
            return 0;
    return 1;
}

/* The reader: one recv() per message until every writer has closed its end. */
static long read_messages(int fd, long writers, long *bad)
{
    /* Room for the biggest message: a smaller buffer would silently cut a SEQPACKET
     * message short (MSG_TRUNC below makes recv report the full length so we notice). */
    size_t size = sizeof(struct message_header) + MAX_PAYLOAD;
    char *msg = malloc(size);
    uint32_t *next_seq = calloc((size_t)writers, sizeof *next_seq);
    if (!msg || !next_seq)
        die("malloc");
    long received = 0;
    for (;;) {
        ssize_t n = recv(fd, msg, size, MSG_TRUNC); /* MSG_TRUNC: report the real length */
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("recv");
        if (n == 0)
            break; /* every writer's end is closed */
        received++;
        *bad += !check_message(msg, n, writers, next_seq);
    }
    free(msg);
    free(next_seq);
    return received;
}

static int concurrent_seqpacket(long writers, long messages, long max_size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
        die("socketpair(SOCK_SEQPACKET)");
    pid_t pids[64]; /* --writers is at most 64 */
    for (long w = 0; w < writers; w++) {
        pids[w] = start_child();
        if (pids[w] == 0) {
            close_or_die(sv[0]);
            seqpacket_writer(sv[1], (uint32_t)w, messages, max_size);
        }
    }
    close_or_die(sv[1]); /* the writers hold the only copies now: EOF comes after the last one */
    long bad = 0, received = read_messages(sv[0], writers, &bad);
    close_or_die(sv[0]);
    int ok = 1;
    for (long w = 0; w < writers; w++)
        ok &= !reap_child(pids[w], "writer");
    printf("[parent %ld] %ld messages from %ld writers (%ld expected), %ld torn or out of "
           "order\n",
           (long)getpid(), received, writers, writers * messages, bad);
    return ok && bad == 0 && received == writers * messages;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    long frames = 200, max_size = 16 * 1024, writers = 3, messages = 200;
    static const struct option options[] = {
        {"frames", required_argument, 0, 'f'},  {"max-size", required_argument, 0, 's'},
        {"writers", required_argument, 0, 'w'}, {"messages", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":f:s:w:m:h", options, NULL)) != -1) {
        switch (c) {
        case 'f': frames = parse_long(optarg, "--frames", 1, 1000000, usage); break;
        case 's': max_size = (long)parse_size(optarg, "--max-size", 1, MAX_PAYLOAD, usage); break;
        case 'w': writers = parse_long(optarg, "--writers", 1, 64, usage); break;
        case 'm': messages = parse_long(optarg, "--messages", 1, 1000000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    printf("socketpair_duplex: frames=%ld max-size=%ld writers=%ld messages=%ld\n", frames,
           max_size, writers, messages);
    printf("-- part 1: SOCK_STREAM pair, length-prefixed frames both ways\n");
    int ok = duplex_stream(frames, max_size);
    printf("-- part 2: SOCK_SEQPACKET pair, %ld concurrent writers\n", writers);
    ok &= concurrent_seqpacket(writers, messages, max_size);
    printf("socketpair_duplex: %s\n",
           ok ? "every frame and message arrived whole, in order" : "FAILED");
    return ok ? 0 : 1;
}
