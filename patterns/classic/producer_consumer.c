#define _GNU_SOURCE
/* producer_consumer.c - the bounded buffer: producers and consumers, all separate processes,
 * share a ring of C slots in shared memory, coordinated by three semaphores (empty, full, mutex).
 *
 * Usage: producer_consumer [--producers P] [--consumers Q] [--items M] [--capacity C]
 *   --producers P  producer processes (default 2, 1..32)
 *   --consumers Q  consumer processes (default 2, 1..32)
 *   --items M      items each producer makes (default 20000)
 *   --capacity C   slots in the ring buffer (default 8, 1..4096)
 *   -h, --help     this text
 *
 * What to observe:
 *   - Nothing is lost or duplicated: the consumers together receive P*M items, and both the
 *     sum and an order-independent checksum of what they received match what was produced.
 *   - Each consumer sees any one producer's items in increasing order: the ring is FIFO.
 *   - "empty" starts at C and "full" at 0: a producer blocks on a full ring, a consumer on an
 *     empty one, and "mutex" keeps two processes from working on the indices at once.
 *
 * Python counterpart: multiprocessing.Queue (maxsize=C) is this whole program: put() blocks
 *   when full, get() when empty; a None per consumer is the usual "stop" item, as here.
 *
 * See also: condition_variable.c, counting_semaphore.c, readers_writers.c,
 *   lessons/07-classic-problems.md.
 */
#include <errno.h>
#include <getopt.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: producer_consumer [--producers P] [--consumers Q] [--items M] [--capacity C]\n"
    "  --producers P  producer processes (default 2, 1..32)\n"
    "  --consumers Q  consumer processes (default 2, 1..32)\n"
    "  --items M      items each producer makes (default 20000)\n"
    "  --capacity C   slots in the ring buffer (default 8, 1..4096)\n"
    "  -h, --help     this text\n";

enum { MAX_PROCESSES = 32, MAX_CAPACITY = 4096 };
/* A wait longer than this means a partner died or a post was lost. */
enum { WATCHDOG_SECONDS = 10 };

/* An item says who made it and its sequence number; producer -1 means "stop". */
struct item {
    int producer;
    long seq;
};

/* What each consumer found, written only by that consumer. */
struct tally {
    long count;
    long long sum;     /* of the item values */
    uint64_t checksum; /* sum of a hash of each value: catches a lost item plus a duplicate */
    long out_of_order; /* items of one producer seen after a later one */
};

/* The ring and its three semaphores, all in one MAP_SHARED mapping. */
struct shared {
    sem_t empty; /* free slots: producers wait on it */
    sem_t full;  /* filled slots: consumers wait on it */
    sem_t mutex; /* one process at a time moves head or tail */
    int head, tail, capacity;
    struct tally tally[MAX_PROCESSES];
    struct item ring[MAX_CAPACITY];
};

/* The value of an item, and a hash of it (splitmix64's finaliser: any change scatters bits). */
static long long item_value(int producer, long seq, long items)
{
    return (long long)producer * items + seq;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* sem_wait with a watchdog: stuck this long, the process says on what, and fails.
 * Producers, consumers and the parent all call it, so it ends with _exit: this program names
 * no IPC object, and the parent's children die with it through PR_SET_PDEATHSIG. */
static void wait_or_die(sem_t *sem, const char *name)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_REALTIME, &deadline) == -1) /* sem_timedwait's clock */
        die("clock_gettime");
    deadline.tv_sec += WATCHDOG_SECONDS;
    while (sem_timedwait(sem, &deadline) == -1) {
        if (errno == EINTR)
            continue;
        if (errno == ETIMEDOUT)
            die("waited %d s on \"%s\": a partner died or a post was lost", WATCHDOG_SECONDS, name);
        die("sem_timedwait(%s)", name);
    }
}

static void post_or_die(sem_t *sem, const char *name)
{
    if (sem_post(sem) == -1)
        die("sem_post(%s)", name);
}

/* put: wait for a free slot, then (under mutex) fill it, then announce one more full slot. */
static void ring_put(struct shared *shm, struct item item)
{
    wait_or_die(&shm->empty, "empty");
    wait_or_die(&shm->mutex, "mutex");
    shm->ring[shm->tail] = item;
    shm->tail = (shm->tail + 1) % shm->capacity;
    post_or_die(&shm->mutex, "mutex");
    post_or_die(&shm->full, "full");
}

/* get: the mirror image: wait for a full slot, empty it, announce one more free slot. */
static struct item ring_get(struct shared *shm)
{
    wait_or_die(&shm->full, "full");
    wait_or_die(&shm->mutex, "mutex");
    struct item item = shm->ring[shm->head];
    shm->head = (shm->head + 1) % shm->capacity;
    post_or_die(&shm->mutex, "mutex");
    post_or_die(&shm->empty, "empty");
    return item;
}

static void producer(struct shared *shm, int me, long items)
{
    for (long seq = 0; seq < items; seq++)
        ring_put(shm, (struct item){me, seq});
}

/* A consumer checks order per producer as it goes, and tallies what it received. */
static void consumer(struct shared *shm, int me, long items)
{
    long last_seq[MAX_PROCESSES]; /* per producer: the last sequence number this consumer saw */
    for (int p = 0; p < MAX_PROCESSES; p++)
        last_seq[p] = -1;
    struct tally *t = &shm->tally[me]; /* only this consumer writes here: no lock needed */
    for (;;) {
        struct item item = ring_get(shm);
        if (item.producer < 0)
            break; /* the stop item */
        if (item.seq <= last_seq[item.producer])
            t->out_of_order++;
        last_seq[item.producer] = item.seq;
        long long value = item_value(item.producer, item.seq, items);
        t->count++;
        t->sum += value;
        t->checksum += mix((uint64_t)value);
    }
    say("consumer %d: %ld items, %ld out of order\n", me, t->count, t->out_of_order);
}

/* Add up the consumers' tallies and compare them with what the producers must have made. */
static int check_totals(const struct shared *shm, int producers, int consumers, long items)
{
    long count = 0, disorder = 0;
    long long sum = 0, expected_sum = 0;
    uint64_t checksum = 0, expected_checksum = 0;
    for (int c = 0; c < consumers; c++) {
        count += shm->tally[c].count;
        sum += shm->tally[c].sum;
        checksum += shm->tally[c].checksum;
        disorder += shm->tally[c].out_of_order;
    }
    /* The expected values are computed, not collected: what every producer must have made. */
    for (int p = 0; p < producers; p++)
        for (long seq = 0; seq < items; seq++) {
            long long value = item_value(p, seq, items);
            expected_sum += value;
            expected_checksum += mix((uint64_t)value);
        }
    long expected_count = producers * items;
    printf("consumed %ld items (produced %ld)\n", count, expected_count);
    printf("sum %lld (produced %lld), checksum %016llx (produced %016llx)\n", sum, expected_sum,
           (unsigned long long)checksum, (unsigned long long)expected_checksum);
    int ok = count == expected_count && sum == expected_sum && checksum == expected_checksum &&
             disorder == 0;
    printf("out of order: %ld; result: %s\n", disorder, ok ? "correct" : "WRONG");
    return ok;
}

/* Start everyone, wait for the producers, then send one stop item per consumer. */
static int run(struct shared *shm, int producers, int consumers, long items)
{
    pid_t made[MAX_PROCESSES], eaten[MAX_PROCESSES];
    /* Consumers first: they block on "full" until the first item arrives, which is fine. */
    for (int c = 0; c < consumers; c++)
        if ((eaten[c] = start_child()) == 0) {
            consumer(shm, c, items);
            leave_child(EXIT_SUCCESS);
        }
    for (int p = 0; p < producers; p++)
        if ((made[p] = start_child()) == 0) {
            producer(shm, p, items);
            leave_child(EXIT_SUCCESS);
        }
    int failed = 0;
    for (int p = 0; p < producers; p++)
        failed += reap_child(made[p], "producer");
    /* Only now is every real item in the ring: a stop item sent earlier could overtake some. */
    for (int c = 0; c < consumers; c++)
        ring_put(shm, (struct item){-1, 0});
    for (int c = 0; c < consumers; c++)
        failed += reap_child(eaten[c], "consumer");
    return check_totals(shm, producers, consumers, items) && failed == 0;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    int producers = 2, consumers = 2, capacity = 8;
    long items = 20000;
    static const struct option options[] = {{"producers", required_argument, NULL, 'p'},
                                            {"consumers", required_argument, NULL, 'c'},
                                            {"items", required_argument, NULL, 'm'},
                                            {"capacity", required_argument, NULL, 'k'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":p:c:m:k:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p':
            producers = (int)parse_long(optarg, "--producers", 1, MAX_PROCESSES, usage);
            break;
        case 'c':
            consumers = (int)parse_long(optarg, "--consumers", 1, MAX_PROCESSES, usage);
            break;
        case 'm': items = parse_long(optarg, "--items", 1, 100000000, usage); break;
        case 'k': capacity = (int)parse_long(optarg, "--capacity", 1, MAX_CAPACITY, usage); break;
        default: help_or_bad_option(opt, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    struct shared *shm = map_shared(sizeof *shm); /* zero-filled */
    shm->capacity = capacity;
    /* pshared=1 for all three; empty starts at C (all free), full at 0, mutex at 1 (open). */
    if (sem_init(&shm->empty, 1, (unsigned)capacity) == -1 || sem_init(&shm->full, 1, 0) == -1 ||
        sem_init(&shm->mutex, 1, 1) == -1)
        die("sem_init");
    printf("producer_consumer: %d producers x %ld items, %d consumers, capacity %d\n", producers,
           items, consumers, capacity);
    int ok = run(shm, producers, consumers, items);
    if (sem_destroy(&shm->empty) == -1 || sem_destroy(&shm->full) == -1 ||
        sem_destroy(&shm->mutex) == -1)
        die("sem_destroy");
    unmap_shared(shm, sizeof *shm);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
