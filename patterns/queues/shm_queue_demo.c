#define _GNU_SOURCE
/* shm_queue_demo.c - producers and consumers pass numbered messages through a bounded queue in
 * shared memory; every message is counted and checksummed, and a join() waits for the work.
 *
 * Usage: shm_queue_demo [options]
 *   -p, --producers N     producer processes (default 2)
 *   -c, --consumers N     consumer processes (default 2)
 *   -n, --messages N      messages each producer sends (default 20000)
 *   -s, --slot-size B     bytes in each message (and slot), 24 .. 1M (default 64)
 *   -q, --capacity N      slots in the ring, 2 .. 1048576 (default 64)
 *       --named           put the queue in /dev/shm under a unique name; the children
 *                         attach to it by name (default: an anonymous mapping they inherit)
 *       --zero-copy       producers write each message inside its slot (reserve, commit) and
 *                         consumers check it there (borrow, release): no copy in or out
 *   -h, --help            this text
 *
 * What to observe:
 *   - The consumers share the messages between them in no fixed way (run it twice), yet the
 *     totals always match: each message arrives exactly once.
 *   - Each consumer sees any one producer's messages in the order they were sent: the queue
 *     is FIFO, even with several processes on each side.
 *   - join() returns when every message has been marked done, before the queue is closed;
 *     close() then lets the consumers drain and stop.
 *   - `strace -f -e trace=futex ./build/bin/shm_queue_demo` shows few futex calls: a
 *     process enters the kernel only when the queue is full or empty, not per message.
 *   - With --named, `ls /dev/shm` while it runs (add -n 10000000) shows forklore-queue-PID-0.
 *
 * Python counterpart: multiprocessing.JoinableQueue: put() / get() / task_done() / join(),
 *   and Queue.close().  Python's queue pickles each object and sends it down a pipe through a
 *   feeder thread; this one copies bytes into a ring in shared memory.
 *
 * See also: lib/queues/shm_queue.h (the library), mqueue_demo.c (the kernel's queues),
 *   lessons/03-queues-and-shared-memory.md (using the queue), lessons/05b-inside-the-queue.md
 *   (how it works).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queues/shm_queue.h"
#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: shm_queue_demo [options]\n"
    "  -p, --producers N     producer processes (default 2)\n"
    "  -c, --consumers N     consumer processes (default 2)\n"
    "  -n, --messages N      messages each producer sends (default 20000)\n"
    "  -s, --slot-size B     bytes in each message (and slot), 24 .. 1M (default 64)\n"
    "  -q, --capacity N      slots in the ring, 2 .. 1048576 (default 64)\n"
    "      --named           put the queue in /dev/shm under a unique name; the children\n"
    "                        attach to it by name (default: an anonymous mapping they inherit)\n"
    "      --zero-copy       write and read each message inside its slot: no copy in or out\n"
    "  -h, --help            this text\n";

enum { MAX_PROCESSES = 64 };    /* per side: plenty for a demonstration */
enum { WATCHDOG_SECONDS = 60 }; /* no progress for this long means something is stuck */
static const int64_t SECOND = 1000000000;

struct options {
    long producers, consumers, messages, capacity;
    long long slot_size;
    int named;
    int zero_copy; /* reserve/commit and borrow/release instead of push and pop */
};

/* The start of every message; the rest of the slot is filler the consumer checks too. */
struct message_head {
    uint64_t producer, sequence;
};

/* What a consumer sends back to the parent through a pipe (smaller than PIPE_BUF: atomic). */
struct tally {
    uint64_t count, id_sum, id_hash; /* two checksums: a sum, and an xor of hashed ids */
    uint64_t out_of_order, damaged;  /* should both stay 0 */
};

/* --- the messages ---------------------------------------------------------------------- */

/* Every message has a unique id; a mixing hash makes a loss and a duplicate unlikely to
 * cancel out in the xor checksum. */
static uint64_t message_id(const struct options *o, uint64_t producer, uint64_t sequence)
{
    return producer * (uint64_t)o->messages + sequence;
}

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* Fill the body after the head with a byte that depends on the sequence number. */
static void fill_message(unsigned char *m, size_t size, uint64_t producer, uint64_t sequence)
{
    struct message_head head = {producer, sequence};
    memcpy(m, &head, sizeof head);
    memset(m + sizeof head, (int)(sequence & 0xff), size - sizeof head);
}

/* A copy torn by a race would mix two messages: check the last byte matches the head. */
static int message_intact(const unsigned char *m, size_t size, const struct message_head *h)
{
    return m[size - 1] == (unsigned char)(h->sequence & 0xff);
}

/* --- the children -------------------------------------------------------------------------- */

/* In --named mode a child opens the queue by name, as an unrelated process would; otherwise
 * it uses the handle (and mapping) it inherited across fork. */
static struct shm_queue *child_queue(struct shm_queue *inherited, const char *name)
{
    if (name == NULL)
        return inherited;
    struct shm_queue *q;
    int err = shm_queue_attach(&q, name);
    if (err != 0) {
        errno = err;
        die("shm_queue_attach(%s)", name);
    }
    return q;
}

/* Zero copy: the message is made inside the slot it will be read from. */
static int push_in_place(struct shm_queue *q, size_t size, uint64_t producer, uint64_t sequence)
{
    struct shm_queue_ticket ticket;
    int err = shm_queue_reserve(q, &ticket, WATCHDOG_SECONDS * SECOND);
    if (err != 0)
        return err;
    fill_message(ticket.data, size, producer, sequence);
    return shm_queue_commit(q, &ticket, size);
}

static void run_producer(struct shm_queue *q, const struct options *o, uint64_t producer)
{
    size_t size = (size_t)o->slot_size;
    unsigned char *m = malloc(size);
    if (m == NULL)
        die("malloc");
    for (uint64_t i = 0; i < (uint64_t)o->messages; i++) {
        if (!o->zero_copy)
            fill_message(m, size, producer, i);
        /* Blocks while the ring is full: the producer cannot run ahead of the consumers by
         * more than `capacity` messages.  A timed push is the watchdog. */
        int err = o->zero_copy ? push_in_place(q, size, producer, i)
                               : shm_queue_push_timed(q, m, size, WATCHDOG_SECONDS * SECOND);
        if (err != 0) {
            errno = err;
            die("producer %d: push of message %lu (queue holds %zu)", (int)getpid(),
                (unsigned long)i, shm_queue_count(q));
        }
    }
    free(m);
    printf("producer pid %d: pushed %ld messages\n", (int)getpid(), o->messages);
}

/* Count and checksum one message; note if a producer's messages arrive out of order. */
static void tally_message(struct tally *t, uint64_t *last_sequence, const struct options *o,
                          const unsigned char *m)
{
    struct message_head h;
    memcpy(&h, m, sizeof h); /* memcpy, not a cast: the buffer need not be aligned */
    if (h.producer >= (uint64_t)o->producers || !message_intact(m, (size_t)o->slot_size, &h)) {
        t->damaged++;
        return;
    }
    /* last_sequence holds sequence + 1 (0: none seen yet) for each producer. */
    if (h.sequence + 1 <= last_sequence[h.producer])
        t->out_of_order++;
    last_sequence[h.producer] = h.sequence + 1;
    uint64_t id = message_id(o, h.producer, h.sequence);
    t->count++;
    t->id_sum += id;
    t->id_hash ^= hash64(id + 1);
}

/* Zero copy: check each message where it lies, then give its slot back; the end of the
 * stream (EPIPE) or an error is returned. */
static int consume_in_place(struct shm_queue *q, const struct options *o, struct tally *t,
                            uint64_t *last)
{
    for (;;) {
        struct shm_queue_ticket ticket;
        int err = shm_queue_borrow(q, &ticket, WATCHDOG_SECONDS * SECOND);
        if (err != 0)
            return err;
        if (ticket.length == (size_t)o->slot_size)
            tally_message(t, last, o, ticket.data);
        else
            t->damaged++;
        if ((err = shm_queue_release(q, &ticket)) != 0 || (err = shm_queue_task_done(q)) != 0)
            return err;
    }
}

static void run_consumer(struct shm_queue *q, const struct options *o, int report_fd)
{
    size_t size = (size_t)o->slot_size, length;
    unsigned char *m = malloc(size);
    uint64_t *last = calloc((size_t)o->producers, sizeof *last);
    if (m == NULL || last == NULL)
        die("malloc");
    struct tally t = {0}; /* kept locally: no shared counter to fight over per message */
    int err = o->zero_copy ? consume_in_place(q, o, &t, last) : 0;
    /* Pop until the queue is closed AND empty (EPIPE): that is the end of the stream. */
    while (err == 0 &&
           (err = shm_queue_pop_timed(q, m, size, &length, WATCHDOG_SECONDS * SECOND)) == 0) {
        tally_message(&t, last, o, m);
        if ((err = shm_queue_task_done(q)) != 0) { /* JoinableQueue: this one is dealt with */
            errno = err;
            die("shm_queue_task_done");
        }
    }
    if (err != EPIPE) {
        errno = err;
        die("consumer %d: pop after %lu messages (queue holds %zu, closed: %d)", (int)getpid(),
            (unsigned long)t.count, shm_queue_count(q), shm_queue_is_closed(q));
    }
    printf("consumer pid %d: took %lu messages, then saw the queue closed\n", (int)getpid(),
           (unsigned long)t.count);
    if (write(report_fd, &t, sizeof t) != (ssize_t)sizeof t)
        die("write to the parent");
    free(last);
    free(m);
}

/* fork one child that runs a producer (report_fd < 0) or a consumer. */
static pid_t start_queue_child(struct shm_queue *q, const char *name, const struct options *o,
                               uint64_t producer, int report_fd)
{
    pid_t pid = start_child();
    if (pid == 0) {
        struct shm_queue *mine = child_queue(q, name);
        if (report_fd < 0)
            run_producer(mine, o, producer);
        else
            run_consumer(mine, o, report_fd);
        int err = name != NULL ? shm_queue_detach(mine) : 0; /* only what we attached */
        check_error_number(err, "shm_queue_detach");
        leave_child(EXIT_SUCCESS); /* _exit: no atexit handlers (they would unlink the queue) */
    }
    return pid;
}

/* --- the parent ---------------------------------------------------------------------------- */

/* Add up what the consumers sent and compare with what the producers sent. */
static int check_tallies(int report_fd, const struct options *o)
{
    struct tally total = {0}, t;
    /* Each report is one write() smaller than PIPE_BUF, so reports never interleave. */
    while (read(report_fd, &t, sizeof t) == (ssize_t)sizeof t) {
        total.count += t.count;
        total.id_sum += t.id_sum;
        total.id_hash ^= t.id_hash;
        total.out_of_order += t.out_of_order;
        total.damaged += t.damaged;
    }
    /* What the consumers should have seen between them: every id from 0 to n - 1 once. */
    uint64_t n = (uint64_t)o->producers * (uint64_t)o->messages, hash = 0;
    for (uint64_t id = 0; id < n; id++)
        hash ^= hash64(id + 1);
    int ok = total.count == n && total.id_sum == n * (n - 1) / 2 && total.id_hash == hash &&
             total.out_of_order == 0 && total.damaged == 0;
    printf("check: %lu of %lu messages arrived, sum %s, hash %s, %lu out of order, "
           "%lu damaged: %s\n",
           (unsigned long)total.count, (unsigned long)n,
           total.id_sum == n * (n - 1) / 2 ? "matches" : "WRONG",
           total.id_hash == hash ? "matches" : "WRONG", (unsigned long)total.out_of_order,
           (unsigned long)total.damaged, ok ? "each message exactly once, in order" : "FAILED");
    return ok;
}

static struct options parse_options(int argc, char **argv)
{
    struct options o = {.producers = 2,
                        .consumers = 2,
                        .messages = 20000,
                        .capacity = 64,
                        .slot_size = 64,
                        .named = 0};
    static const struct option long_options[] = {{"producers", required_argument, 0, 'p'},
                                                 {"consumers", required_argument, 0, 'c'},
                                                 {"messages", required_argument, 0, 'n'},
                                                 {"slot-size", required_argument, 0, 's'},
                                                 {"capacity", required_argument, 0, 'q'},
                                                 {"named", no_argument, 0, 'N'},
                                                 {"zero-copy", no_argument, 0, 'Z'},
                                                 {"help", no_argument, 0, 'h'},
                                                 {0, 0, 0, 0}};
    opterr = 0; /* we print our own one-line reasons */
    int c;
    while ((c = getopt_long(argc, argv, ":p:c:n:s:q:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'p': o.producers = parse_long(optarg, "--producers", 1, MAX_PROCESSES, usage); break;
        case 'c': o.consumers = parse_long(optarg, "--consumers", 1, MAX_PROCESSES, usage); break;
        case 'n': o.messages = parse_long(optarg, "--messages", 1, 1000000000L, usage); break;
        case 's': o.slot_size = parse_size(optarg, "--slot-size", 24, 1 << 20, usage); break;
        case 'q': o.capacity = parse_long(optarg, "--capacity", 2, 1 << 20, usage); break;
        case 'N': o.named = 1; break;
        case 'Z': o.zero_copy = 1; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    /* Each value may be in range while the two together are not: say which limit, not a bare
     * "Invalid argument" from shm_queue_create. */
    double bytes = (double)o.slot_size * (double)o.capacity;
    if (bytes > (double)SHM_QUEUE_MAX_BYTES)
        usage_error(usage,
                    "--slot-size %lld x --capacity %ld is %.1f GiB: one queue's mapping "
                    "holds at most %.0f GiB (SHM_QUEUE_MAX_BYTES)",
                    o.slot_size, o.capacity, bytes / (1 << 30),
                    (double)SHM_QUEUE_MAX_BYTES / (1 << 30));
    return o;
}

/* Make the queue: anonymous (inherited over fork) or named (registered for clean-up). */
static struct shm_queue *make_queue(const struct options *o, char *name, size_t name_size)
{
    struct shm_queue *q;
    /* Anonymous is the simple case (nothing to unlink); named shows what an unrelated
     * process would do, and puts the queue where `ls /dev/shm` can see it. */
    if (o->named) {
        unique_ipc_name(name, name_size, "queue");
        cleanup_add_name(IPC_SHM, name); /* before creating: a Ctrl-C right after is covered */
    }
    int err =
        shm_queue_create(&q, o->named ? name : NULL, (size_t)o->slot_size, (size_t)o->capacity);
    if (err == ENOSPC && o->named) { /* the pages were reserved at creation: say where */
        char room[128] = "/dev/shm";
        int dir = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir != -1) {
            describe_file_room(dir, room, sizeof room);
            (void)close(dir); /* only read from: nothing to lose */
        }
        die_with_code(err,
                      "shm_queue_create: %ld slots of %lld bytes (%.1f MiB) do not fit in "
                      "%s",
                      o->capacity, o->slot_size,
                      (double)o->slot_size * (double)o->capacity / (1024.0 * 1024.0), room);
    }
    if (err != 0)
        die_with_code(err, "shm_queue_create(slot size %lld, capacity %ld)", o->slot_size,
                      o->capacity);
    printf("queue: %ld slots of %lld bytes, %s; %ld producers x %ld messages, %ld consumers\n",
           o->capacity, o->slot_size, o->named ? name : "anonymous shared mapping", o->producers,
           o->messages, o->consumers);
    return q;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct options o = parse_options(argc, argv);
    cleanup_install();
    char name[96];
    struct shm_queue *q = make_queue(&o, name, sizeof name);
    int reports[2];
    if (pipe(reports) == -1)
        die("pipe");
    pid_t consumers[MAX_PROCESSES], producers[MAX_PROCESSES];
    /* Consumers first: they find the queue empty and go to sleep on its futex, so the first
     * pushes already exercise the wake-up path. */
    for (long i = 0; i < o.consumers; i++)
        consumers[i] = start_queue_child(q, o.named ? name : NULL, &o, 0, reports[1]);
    for (long i = 0; i < o.producers; i++)
        producers[i] = start_queue_child(q, o.named ? name : NULL, &o, (uint64_t)i, -1);
    int failed = 0;
    /* A producer that exited has pushed all its messages: every push returned. */
    for (long i = 0; i < o.producers; i++)
        failed |= reap_child(producers[i], "producer");
    /* JoinableQueue.join(): wait until every pushed message has been task_done()'d. */
    /* If a producer failed, some messages never came: join would wait for nothing. */
    int err = failed ? 0 : shm_queue_join_timed(q, WATCHDOG_SECONDS * SECOND);
    if (err != 0)
        die_with_code(err, "join: still %zu queued after %d s", shm_queue_count(q),
                      WATCHDOG_SECONDS);
    if (!failed)
        printf("join: every message has been marked done; %zu left in the queue\n",
               shm_queue_count(q));
    flush_or_die(stdout); /* before the consumers' closing lines, which they print themselves */
    if ((err = shm_queue_close(q)) != 0) /* producers done: consumers drain, then see EPIPE */
        die_with_code(err, "shm_queue_close");
    for (long i = 0; i < o.consumers; i++)
        failed |= reap_child(consumers[i], "consumer");
    close_or_die(reports[1]); /* our copy: now read() sees end-of-file after the reports */
    int ok = check_tallies(reports[0], &o);
    close_or_die(reports[0]);
    /* All children are reaped: nobody uses the queue any more. */
    if ((err = shm_queue_destroy(q)) != 0)
        die_with_code(err, "shm_queue_destroy");
    if (o.named)
        cleanup_forget_name(name); /* unlinked by shm_queue_destroy */
    return ok && !failed ? EXIT_SUCCESS : EXIT_FAILURE;
}
