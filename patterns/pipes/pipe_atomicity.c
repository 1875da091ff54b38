#define _GNU_SOURCE
/* pipe_atomicity.c - concurrent writes of at most PIPE_BUF bytes never interleave; bigger ones can.
 *
 * Usage: pipe_atomicity [--writers N] [--records N] [--size BYTES] [--pipe-size BYTES]
 *   -w, --writers N        concurrent writer processes (default 4, 1..26)
 *   -r, --records N        records each writer writes (default 200, 1..1000000)
 *   -s, --size BYTES       record size; K and M suffixes work.  Without it, two runs:
 *                          512 bytes (under PIPE_BUF) and 128K (over it).  Writers x
 *                          records x size is at most 4 GiB, and the run has a watchdog
 *   -p, --pipe-size BYTES  set the pipe's capacity with fcntl(F_SETPIPE_SZ) first (an
 *                          amplifier: a small pipe fills sooner, so big writes split more)
 *   -h, --help             this text
 *
 * What to observe:
 *   - Each writer writes records filled with its own letter (A, B, C...) with ONE write()
 *     call per record.  The reader reads the stream back in record-sized pieces and counts
 *     the pieces that mix letters: "torn" records.
 *   - POSIX promises that a write of at most PIPE_BUF bytes (4096 on Linux) lands in the
 *     pipe as one piece: 0 torn records, always, however many writers.
 *   - A bigger write may be split: when the pipe is full, the writer sleeps half-way and
 *     another writer's bytes can get in between.  Tearing is ALLOWED above PIPE_BUF, not
 *     guaranteed: the program says so when a run happened to show none.
 *   - No byte is ever lost: every letter's byte count comes out exact in both cases.
 *   - Exits 0 unless a record of at most PIPE_BUF bytes was torn, bytes went missing, or a
 *     writer failed.
 *
 * Python counterpart: Connection.send() on a Pipe() shared by several processes is not
 *   safe for big messages for exactly this reason; multiprocessing.Queue puts a lock
 *   around its pipe's writes.  os.write() on an os.pipe() follows the same PIPE_BUF rule.
 *
 * See also: fifo_client_server.c (why requests stay under PIPE_BUF), socketpair_duplex.c
 *   (SOCK_SEQPACKET keeps whole messages at any size), pipe(7) "PIPE_BUF".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
#include "support/watchdog.h"

static const char usage[] =
    "Usage: pipe_atomicity [--writers N] [--records N] [--size BYTES] [--pipe-size BYTES]\n"
    "  -w, --writers N        concurrent writers (default 4, 1..26)\n"
    "  -r, --records N        records per writer (default 200, 1..1000000)\n"
    "  -s, --size BYTES       record size (default: two runs, 512 and 128K); writers x\n"
    "                         records x size is at most 4G\n"
    "  -p, --pipe-size BYTES  set the pipe capacity first (F_SETPIPE_SZ), e.g. 4K\n"
    "  -h, --help             this text\n";

/* One letter per writer, so the alphabet limits the writers. */
enum { MAX_WRITERS = 26 };

/* The biggest record: the reader and each writer hold one in memory. */
#define MAX_RECORD_SIZE (16LL * 1024 * 1024)
/* The most bytes one run sends through the pipe (a few seconds' worth), and its time limit. */
#define MAX_TOTAL_BYTES (4LL << 30)
enum { WATCHDOG_SECONDS = 300 };

/* What the reader found. */
struct tally {
    long records, torn;
    long long bytes_per_writer[MAX_WRITERS];
};

/* A writer: `records` records of its own letter, one write() call each. */
static _Noreturn void writer(int fd, int index, long records, size_t size)
{
    char *record = malloc(size);
    if (!record)
        die("malloc");
    memset(record, 'A' + index, size); /* the whole record is this writer's letter */
    for (long i = 0; i < records; i++) /* one write() per record: the unit POSIX talks about */
        write_all(fd, record, size);   /* a signal may cut a big write short: write_all loops */
    free(record);
    _exit(0);
}

/* The reader: cut the stream into record-sized pieces and check each is one letter. */
static void read_and_check(int fd, size_t size, struct tally *t)
{
    char *record = malloc(size);
    if (!record)
        die("malloc");
    size_t got;
    while ((got = read_all(fd, record, size)) > 0) { /* size bytes, fewer only at EOF */
        int torn = got < size; /* a short last piece cannot be a whole record */
        for (size_t i = 0; i < got; i++) {
            int w = record[i] - 'A';
            if (w < 0 || w >= MAX_WRITERS)
                die("byte %zu of a record is not a writer's letter", i);
            t->bytes_per_writer[w]++;       /* completeness: counted whatever the tearing */
            torn |= record[i] != record[0]; /* another writer's byte inside this record */
        }
        t->records++;
        t->torn += torn;
    }
    free(record);
}

/* Start the writers, read everything, reap them.  Returns 1 if every writer exited 0. */
static int run_writers(int writers, long records, size_t size, long pipe_size, struct tally *t)
{
    int fds[2];
    if (pipe(fds) == -1)
        die("pipe");
    if (pipe_size > 0 && fcntl(fds[1], F_SETPIPE_SZ, (int)pipe_size) == -1)
        die("fcntl(F_SETPIPE_SZ, %ld)", pipe_size);
    int capacity = fcntl(fds[1], F_GETPIPE_SZ); /* the kernel may round the request up */
    if (capacity == -1)
        die("fcntl(F_GETPIPE_SZ)");
    printf("run: %d writers x %ld records of %zu bytes, pipe capacity %d, PIPE_BUF %d\n", writers,
           records, size, capacity, PIPE_BUF);
    pid_t pids[MAX_WRITERS];
    for (int i = 0; i < writers; i++)
        if ((pids[i] = start_child()) == 0) {
            close_or_die(fds[0]);
            writer(fds[1], i, records, size);
        }
    close_or_die(fds[1]); /* the reader's EOF must come when the LAST writer exits */
    read_and_check(fds[0], size, t);
    close_or_die(fds[0]);
    int all_ok = 1; /* a writer that failed would explain missing bytes: check them all */
    for (int i = 0; i < writers; i++)
        if (reap_child(pids[i], "writer"))
            all_ok = 0;
    return all_ok;
}

/* One experiment with its verdict.  Returns 1 if nothing happened that POSIX forbids. */
static int experiment(int writers, long records, size_t size, long pipe_size)
{
    struct tally t;
    memset(&t, 0, sizeof t);
    int ok = run_writers(writers, records, size, pipe_size, &t);
    long long expected = (long long)records * (long long)size; /* per writer, exactly */
    for (int i = 0; i < writers; i++)
        if (t.bytes_per_writer[i] != expected) {
            printf("  writer %c: %lld bytes arrived, %lld written\n", 'A' + i,
                   t.bytes_per_writer[i], expected);
            ok = 0;
        }
    printf("  read %ld records, %ld torn; every writer's bytes %s\n", t.records, t.torn,
           ok ? "all arrived" : "NOT all arrived");
    if (size <= PIPE_BUF) { /* the promise: a torn record here would be a kernel bug */
        printf("  verdict: %s\n", t.torn == 0 ? "no torn record: writes <= PIPE_BUF are atomic"
                                              : "TORN below PIPE_BUF: this breaks POSIX");
        return ok && t.torn == 0;
    }
    if (t.torn > 0)
        printf("  verdict: %ld torn: writes > PIPE_BUF may interleave, and here they did\n",
               t.torn);
    else
        printf("  verdict: no torn record this time; above PIPE_BUF tearing is allowed, not "
               "guaranteed (try more --writers, --records or --pipe-size 4K)\n");
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    int writers = 4;
    long records = 200, pipe_size = 0;
    long long size = 0; /* 0: the two default runs */
    static const struct option options[] = {
        {"writers", required_argument, 0, 'w'}, {"records", required_argument, 0, 'r'},
        {"size", required_argument, 0, 's'},    {"pipe-size", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":w:r:s:p:h", options, NULL)) != -1) {
        switch (c) {
        case 'w': writers = (int)parse_long(optarg, "--writers", 1, MAX_WRITERS, usage); break;
        case 'r': records = parse_long(optarg, "--records", 1, 1000000, usage); break;
        case 's': size = parse_size(optarg, "--size", 1, MAX_RECORD_SIZE, usage); break;
        case 'p': pipe_size = (long)parse_size(optarg, "--pipe-size", 4096, 1 << 20, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    /* Each value may be in range while their product is not (16M x 1000000 x 26 is 436 TB):
     * the whole stream is capped, and the run has a watchdog. */
    double total = (double)writers * (double)records * (double)(size ? size : 128 * 1024);
    if (total > (double)MAX_TOTAL_BYTES)
        usage_error(usage,
                    "--writers x --records x --size is %.3g bytes: at most %lld GiB go "
                    "through the pipe in one run",
                    total, MAX_TOTAL_BYTES >> 30);
    start_watchdog(WATCHDOG_SECONDS, "still writing after the time limit; stopping");
    /* Each run prints the sizes it really used (the kernel may round a pipe size up). */
    printf("pipe_atomicity: writers=%d records=%ld%s\n", writers, records,
           size ? "" : " (x10 for the 512-byte run)");
    int ok = 1;
    if (size)
        ok = experiment(writers, records, (size_t)size, pipe_size);
    else
        ok = experiment(writers, records * 10, 512, pipe_size) &
             experiment(writers, records, 128 * 1024, pipe_size);
    return ok ? 0 : 1;
}
