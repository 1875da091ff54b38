/* grade.c - the tests of Lab 4 (bounded_buffer): the bounded buffer in bounded_buffer.c.
 *
 * Every test runs producers and consumers as separate processes, forked by the test after it
 * created the buffer.  Consumers send what they got back through a pipe; only the test process
 * judges.  Whether a process is blocked is read from /proc/PID/stat (state 'S', asleep), never
 * guessed from a duration: a wrong put or get that returns at once is caught at once, and a
 * busy machine only makes the right one wait longer.
 *
 * The transfer tests start the producers first and let them fill the buffer until every one of
 * them is asleep on "full"; only then do the consumers start.  So the full case is exercised on
 * every run and every machine, not only when the scheduler happens to favour the producers.
 */
#define _GNU_SOURCE
#include "grader.h"
#include "bounded_buffer.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { ASLEEP_WAIT_S = 5 };    /* how long the test waits for a process to fall asleep */
enum { TRANSFER_WAIT_S = 30 }; /* how long a whole transfer may take */
enum { WAKE_WAIT_S = 10 };     /* how long a woken put or get may take to return */
enum { MAX_PER_SIDE = 8 };     /* most producers, and most consumers, in one transfer */
enum { QUIET_MS = 300 };       /* extra look, once a process sleeps, that nothing arrives */
enum { STALL_S = 1 };          /* no item for this long, everyone asleep: a deadlock */
static const long STOP = -1;   /* the item that tells a consumer to end; real items are >= 0 */

/* ---- small tools ------------------------------------------------------------------------------
 */

static void expect_succeeded(const char *who, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    if (WIFSIGNALED(status))
        grade_fail("%s was killed by signal %d (%s)", who, WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
    grade_fail("%s failed: a put or get returned -1 (its message is above)", who);
}

/* Fail unless every one of the processes falls asleep (or ends) within ASLEEP_WAIT_S: blocked
 * in the kernel and not running at all for a while (grade_process_blocked), which a put or
 * get that spins on sem_trywait, or naps in a loop, never is, on a quiet machine or a busy
 * one.  what says who they are ("the producers", "put number 4"), doing what. */
static void expect_asleep(const pid_t *pids, int count, const char *what)
{
    char state = 0;
    long runs = 0;
    int awake = grade_wait_blocked(pids, count, ASLEEP_WAIT_S, &state, &runs);
    if (awake < 0)
        return;
    char seen[96];
    if (state == 'S' || state == 'D')
        snprintf(seen, sizeof seen, "kept waking up (it ran %ld times in 0.2 s)", runs);
    else
        snprintf(seen, sizeof seen, "was running (state %c) at every look", state ? state : '?');
    grade_fail("%s did not fall asleep within %d s: process %d of them %s. A put into a full "
               "buffer, or a get from an empty one, must block (sem_wait), not spin on "
               "sem_trywait or nap in a loop",
               what, ASLEEP_WAIT_S * grade_timeout_scale(), awake + 1, seen);
}

/* Is something readable on fd within ms? */
static int arrives_within(int fd, long ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready;
    while ((ready = poll(&pfd, 1, (int)ms)) == -1 && errno == EINTR)
        continue;
    return ready > 0;
}

/* Read exactly size bytes from fd within seconds; 0 on success, -1 on end-of-file or timeout. */
static int read_within(int fd, void *buf, size_t size, double seconds)
{
    char *at = buf;
    double deadline = grade_now() + seconds * grade_timeout_scale();
    while (size > 0) {
        double left = deadline - grade_now();
        if (left <= 0 || !arrives_within(fd, (long)(left * 1000) + 1))
            return -1;
        ssize_t n = read(fd, at, size);
        if (n <= 0)
            return -1;
        at += n;
        size -= (size_t)n;
    }
    return 0;
}

/* The test's own put or get may block forever on a wrong buffer: a watchdog ends the test
 * with a message instead. */
static void test_put(struct bounded_buffer *b, long item, const char *why)
{
    grade_watchdog(WAKE_WAIT_S, "%s did not return within %d s", why,
                   WAKE_WAIT_S * grade_timeout_scale());
    int result = bounded_buffer_put(b, item);
    grade_watchdog_off();
    if (result != 0)
        grade_fail("bounded_buffer_put() in the test process returned %d (errno: %s)", result,
                   strerror(errno));
}

static long test_get(struct bounded_buffer *b, const char *why)
{
    long item = 0;
    grade_watchdog(WAKE_WAIT_S, "%s did not return within %d s", why,
                   WAKE_WAIT_S * grade_timeout_scale());
    int result = bounded_buffer_get(b, &item);
    grade_watchdog_off();
    if (result != 0)
        grade_fail("bounded_buffer_get() in the test process returned %d (errno: %s)", result,
                   strerror(errno));
    return item;
}

/* Mappings of the test process with the 's' (shared) flag in /proc/self/maps: a buffer every
 * process can see is in one (MAP_SHARED, anonymous or from shm_open); malloc'd memory or a
 * MAP_PRIVATE mapping is copied at fork, each process then has a buffer of its own. */
static int count_shared_mappings(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        grade_fail("the grader could not read /proc/self/maps: %s", strerror(errno));
    char line[512], perms[8];
    int shared = 0;
    while (fgets(line, sizeof line, maps))
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's')
            shared++;
    fclose(maps);
    return shared;
}

/* Set by create_or_fail: the last buffer made added no shared mapping (a hint for a stall). */
static int not_shared;

static struct bounded_buffer *create_or_fail(size_t capacity)
{
    errno = 0;
    int shared_before = count_shared_mappings();
    struct bounded_buffer *b = bounded_buffer_create(capacity);
    if (!b)
        grade_fail("bounded_buffer_create(%zu) returned NULL (errno: %s)", capacity,
                   strerror(errno));
    not_shared = count_shared_mappings() <= shared_before;
    return b;
}

static void destroy_or_fail(struct bounded_buffer *b)
{
    struct grade_shm_names names;
    grade_shm_names_in_use(&names);
    errno = 0;
    int result = bounded_buffer_destroy(b);
    if (result != 0)
        grade_fail("bounded_buffer_destroy(), after every other process had exited, returned %d "
                   "(errno: %s)",
                   result, strerror(errno));
    grade_expect_shm_names_gone(&names, "bounded_buffer_destroy()");
}

/* ---- producers and consumers -------------------------------------------------------------------
 */

/* Item number i of producer p: distinct for every (p, i), and not guessable (base is random). */
struct transfer {
    struct bounded_buffer *buffer;
    long base; /* value of item 0 of producer 0 */
    long per_producer;
    int producer;  /* set before each producer is forked */
    int consumers; /* stop items the stopper puts */
};

static long item_value(const struct transfer *t, int producer, long i)
{
    return t->base + (long)producer * t->per_producer + i;
}

static int producer(void *arg, int out)
{
    (void)out;
    struct transfer *t = arg;
    for (long i = 0; i < t->per_producer; i++)
        if (bounded_buffer_put(t->buffer, item_value(t, t->producer, i)) != 0) {
            dprintf(STDERR_FILENO, "producer %d: bounded_buffer_put() returned -1: %s\n",
                    t->producer, strerror(errno));
            return 1;
        }
    return 0;
}

static int stopper(void *arg, int out)
{
    (void)out;
    struct transfer *t = arg;
    for (int c = 0; c < t->consumers; c++)
        if (bounded_buffer_put(t->buffer, STOP) != 0) {
            dprintf(STDERR_FILENO, "putting a stop item: bounded_buffer_put() returned -1: %s\n",
                    strerror(errno));
            return 1;
        }
    return 0;
}

/* Get until a stop item, sending every item through the pipe, in order, in batches. */
static int consumer(void *arg, int out)
{
    struct transfer *t = arg;
    long batch[512];
    size_t used = 0;
    for (;;) {
        long item;
        if (bounded_buffer_get(t->buffer, &item) != 0) {
            dprintf(STDERR_FILENO, "consumer: bounded_buffer_get() returned -1: %s\n",
                    strerror(errno));
            return 1;
        }
        if (item != STOP)
            batch[used++] = item;
        if (used == sizeof batch / sizeof batch[0] || (item == STOP && used > 0)) {
            if (write(out, batch, used * sizeof batch[0]) != (ssize_t)(used * sizeof batch[0]))
                return 2; /* the test stopped reading: it has failed already */
            used = 0;
        }
        if (item == STOP)
            return 0;
    }
}

/* What has come out so far, checked item by item as it arrives: a wrong buffer fails the
 * test at its first wrong item instead of at the end. */
struct tally {
    const struct transfer *t;
    int producers, exact_order;
    unsigned char *seen; /* per item: got already? */
    long *last_seq;      /* per consumer and producer: the last item number got */
    long *got;           /* per consumer: items got */
    long received;
    char partial[MAX_PER_SIDE][sizeof(long)]; /* per consumer: a long split over two reads */
    size_t partial_len[MAX_PER_SIDE];
};

/* What a lost, doubled or reordered item most often means with several producers and
 * consumers at once. */
static const char RACE_HINT[] =
    "; two processes at the ring at once: is every put and get guarded by a mutex (a "
    "semaphore of 1, shared by the processes) around head and tail?";

static void check_item(struct tally *tally, int c, long item)
{
    const struct transfer *t = tally->t;
    long total = (long)tally->producers * t->per_producer, index = item - t->base;
    long k = tally->got[c]++;
    if (index < 0 || index >= total)
        grade_fail("consumer %d got %ld as its item %ld, and no producer put that%s", c, item,
                   k + 1, RACE_HINT);
    int p = (int)(index / t->per_producer);
    long seq = index % t->per_producer, *last = &tally->last_seq[c * tally->producers + p];
    if (tally->seen[index]++)
        grade_fail("producer %d's item %ld came out of the buffer twice (the second time to "
                   "consumer %d)%s",
                   p, seq, c, RACE_HINT);
    if (seq < *last)
        grade_fail("consumer %d got producer %d's item %ld after its item %ld: not in the order "
                   "they were put (first in, first out)%s",
                   c, p, seq, *last, RACE_HINT);
    if (tally->exact_order && seq != k)
        grade_fail("item %ld out of the buffer was the producer's item %ld (first in, first "
                   "out: expected its item %ld)",
                   k, seq, k);
    *last = seq;
    tally->received++;
}

static void take_bytes(struct tally *tally, int c, const char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tally->partial[c][tally->partial_len[c]++] = bytes[i];
        if (tally->partial_len[c] < sizeof(long))
            continue;
        long item;
        memcpy(&item, tally->partial[c], sizeof item);
        tally->partial_len[c] = 0;
        check_item(tally, c, item);
    }
}

/* Deadlock: every producer and consumer still at work is asleep, and has been for a while,
 * while nothing moves.  Waiting out the transfer's limit would only say "did not end". */
static void expect_not_deadlocked(const pid_t *producer_pids, const int *producer_done,
                                  int producers, const pid_t *consumer_pids, const int *fds,
                                  int consumers)
{
    int asleep_producers = 0, asleep_consumers = 0;
    for (int p = 0; p < producers; p++) {
        if (producer_done[p])
            continue;
        if (grade_process_blocked(producer_pids[p], 200, NULL, NULL) == 0)
            return;
        asleep_producers++;
    }
    for (int c = 0; c < consumers; c++) {
        if (fds[c] == -1)
            continue;
        if (grade_process_blocked(consumer_pids[c], 200, NULL, NULL) == 0)
            return;
        asleep_consumers++;
    }
    grade_fail("deadlock: for %d s nothing has moved, and every process is asleep: %d "
               "producer(s) in bounded_buffer_put, %d consumer(s) in bounded_buffer_get. Each "
               "waits for a post that never comes: a put that takes the mutex before waiting for "
               "a free slot (or a get before waiting for an item), a post on the wrong "
               "semaphore, or semaphores made with pshared 0, whose posts cannot wake another "
               "process%s",
               STALL_S * grade_timeout_scale(), asleep_producers, asleep_consumers,
               not_shared ? ". And bounded_buffer_create made no shared mapping (MAP_SHARED): "
                            "after fork each process has a copy of its own, so no item a "
                            "producer puts ever reaches a consumer"
                          : "");
}

/* The whole transfer: start the producers, wait until the buffer is full and all of them are
 * asleep, start the consumers, and read what they got until every pipe ends. */
static void transfer(size_t capacity, int producers, long per_producer, int consumers,
                     int exact_order)
{
    grade_note("capacity %zu; %d producer(s) x %ld items; %d consumer(s); the consumers start "
               "once the producers have filled the buffer and fallen asleep",
               capacity, producers, per_producer, consumers);
    struct transfer t = {create_or_fail(capacity), grade_random(1000, 1000000000L), per_producer, 0,
                         consumers};
    /* The few per-process arrays live on the stack: a helper forked from here _exits with a
     * copy of the test's memory, and a heap block it can no longer reach would show up as a
     * leak in the valgrind gate's log of that helper. */
    if (producers > MAX_PER_SIDE || consumers > MAX_PER_SIDE)
        grade_fail("the grader asked for %d producers and %d consumers; at most %d each", producers,
                   consumers, MAX_PER_SIDE);
    pid_t producer_pids[MAX_PER_SIDE], consumer_pids[MAX_PER_SIDE];
    int fds[MAX_PER_SIDE], statuses[2 * MAX_PER_SIDE], producer_done[MAX_PER_SIDE] = {0};
    struct pollfd pfds[MAX_PER_SIDE];
    long total = (long)producers * per_producer;
    struct tally tally = {&t,
                          producers,
                          exact_order,
                          calloc((size_t)total, 1),
                          malloc((size_t)(consumers * producers) * sizeof(long)),
                          calloc((size_t)consumers, sizeof(long)),
                          0,
                          {{0}},
                          {0}};
    if (!tally.seen || !tally.last_seq || !tally.got)
        grade_fail("the grader ran out of memory");
    for (int i = 0; i < consumers * producers; i++)
        tally.last_seq[i] = -1;
    for (int p = 0; p < producers; p++) {
        t.producer = p; /* the child gets its own copy of t at fork */
        producer_pids[p] = grade_spawn_piped(producer, &t, NULL);
    }
    expect_asleep(producer_pids, producers, "the producers, putting into a full buffer,");
    for (int c = 0; c < consumers; c++)
        consumer_pids[c] = grade_spawn_piped(consumer, &t, &fds[c]);

    /* Read every consumer's pipe as it fills (a full pipe would stall the consumer); send the
     * stop items once every producer has ended. */
    int open_pipes = consumers, producers_left = producers, stopper_status = 0;
    pid_t stopper_pid = 0;
    double deadline = grade_now() + TRANSFER_WAIT_S * grade_timeout_scale();
    double last_progress = grade_now();
    while (open_pipes > 0) {
        if (grade_now() - last_progress > STALL_S * grade_timeout_scale()) {
            expect_not_deadlocked(producer_pids, producer_done, producers, consumer_pids, fds,
                                  consumers);
            last_progress = grade_now(); /* some of them are awake: look again later */
        }
        if (grade_now() > deadline)
            grade_fail("the transfer did not end within %d s: %d producer(s) still putting, %d "
                       "consumer(s) still getting (items lost, or a process that was never "
                       "woken?)",
                       TRANSFER_WAIT_S, producers_left, open_pipes);
        for (int c = 0; c < consumers; c++)
            pfds[c] = (struct pollfd){fds[c], POLLIN, 0};
        if (poll(pfds, (nfds_t)consumers, 10) == -1 && errno != EINTR)
            grade_fail("the grader could not poll: %s", strerror(errno));
        for (int c = 0; c < consumers; c++) {
            if (fds[c] == -1 || !(pfds[c].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t n = read(fds[c], chunk, sizeof chunk);
            if (n > 0) {
                take_bytes(&tally, c, chunk, (size_t)n);
                last_progress = grade_now();
            } else {
                close(fds[c]);
                fds[c] = -1;
                open_pipes--;
            }
        }
        for (int p = 0; p < producers; p++)
            if (!producer_done[p] &&
                waitpid(producer_pids[p], &statuses[p], WNOHANG) == producer_pids[p]) {
                producer_done[p] = 1;
                producers_left--;
                char who[32];
                snprintf(who, sizeof who, "producer %d", p);
                expect_succeeded(who, statuses[p]);
            }
        /* Only now is every real item in the buffer: an earlier stop could overtake some. */
        if (producers_left == 0 && stopper_pid == 0)
            stopper_pid = grade_spawn_piped(stopper, &t, NULL);
    }
    if (grade_wait_children(&stopper_pid, &stopper_status, 1, WAKE_WAIT_S) > 0)
        grade_fail("the process putting the %d stop item(s) did not finish", consumers);
    expect_succeeded("the process putting the stop items", stopper_status);
    if (grade_wait_children(consumer_pids, statuses + producers, consumers, WAKE_WAIT_S) > 0)
        grade_fail("a consumer did not end after its pipe closed");
    for (int c = 0; c < consumers; c++) {
        char who[32];
        snprintf(who, sizeof who, "consumer %d", c);
        expect_succeeded(who, statuses[producers + c]);
    }

    /* Each item was checked as it came; all that is left is whether all of them came. */
    grade_expect_true(tally.received == total, "items got, each exactly once", "%ld of %ld%s",
                      tally.received, total, RACE_HINT);
    destroy_or_fail(t.buffer);
    free(tally.seen);
    free(tally.last_seq);
    free(tally.got);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static int put_three(void *arg, int out)
{
    (void)out;
    for (long i = 0; i < 3; i++)
        if (bounded_buffer_put(arg, 100 + i) != 0)
            return 1;
    return 0;
}

static void test_create_destroy(void)
{
    size_t bad[] = {0, BOUNDED_BUFFER_MAX_CAPACITY + 1};
    for (int i = 0; i < 2; i++) {
        errno = 0;
        struct bounded_buffer *b = bounded_buffer_create(bad[i]);
        if (b)
            grade_fail("bounded_buffer_create(%zu) must refuse (NULL, errno EINVAL); it made a "
                       "buffer",
                       bad[i]);
        grade_expect_string("errno after a capacity out of range", strerror(EINVAL),
                            strerror(errno));
    }
    size_t capacity = (size_t)grade_random(3, 64);
    grade_note("create(0) and create(%d) refused; create(%zu); a child puts 3 items, the test "
               "gets them; destroy; then 30 more create/destroy pairs",
               BOUNDED_BUFFER_MAX_CAPACITY + 1, capacity);
    struct bounded_buffer *b = create_or_fail(capacity);
    pid_t child = grade_spawn_piped(put_three, b, NULL);
    int status;
    if (grade_wait_children(&child, &status, 1, WAKE_WAIT_S) > 0)
        grade_fail("a child putting 3 items into an empty buffer of %zu did not finish", capacity);
    expect_succeeded("the child putting 3 items", status);
    for (long i = 0; i < 3; i++)
        grade_expect_long("the item the child put (is the buffer in memory that fork() "
                          "shares, MAP_SHARED?)",
                          100 + i, test_get(b, "bounded_buffer_get() of an item a child put"));
    destroy_or_fail(b);

    int fds = grade_count_open_fds(), maps = grade_count_mappings();
    for (int i = 0; i < 30; i++) {
        size_t size = i == 0 ? BOUNDED_BUFFER_MAX_CAPACITY : (size_t)grade_random(1, 4096);
        destroy_or_fail(create_or_fail(size));
    }
    grade_expect_long("open file descriptors after 30 more create/destroy pairs", fds,
                      grade_count_open_fds());
    grade_expect_long("memory mappings after 30 more create/destroy pairs (does destroy "
                      "munmap?)",
                      maps, grade_count_mappings());
    grade_expect_long("processes left behind", 0, grade_count_children());
}

static void test_fifo_one_to_one(void)
{
    transfer((size_t)grade_random(2, 16), 1, grade_random(500, 5000), 1, 1);
}

static void test_many_to_many(void)
{
    int most = 2 * grade_usable_cpus() + 1;
    if (most > MAX_PER_SIDE)
        most = MAX_PER_SIDE;
    /* Capacity 2 at least: with one slot, the semaphores alone let one process at a time at
     * the ring, and a buffer without its mutex would pass.  Many items, in several rounds: two
     * processes at the ring at once is rare per item, so a missing mutex shows only over
     * hundreds of thousands (one round of 100000 missed it about one time in six on a busy
     * 2-CPU machine; four rounds, about one time in a thousand).  Under valgrind, which runs
     * one process at a time anyway, one short round. */
    int rounds = grade_under_valgrind() ? 1 : 4;
    long items = grade_under_valgrind() ? 6000 : 60000;
    for (int round = 0; round < rounds; round++) {
        int producers = (int)grade_random(2, most), consumers = (int)grade_random(2, most);
        transfer((size_t)grade_random(2, 8), producers, grade_random(items, 2 * items) / producers,
                 consumers, 0);
    }
}

static void test_capacity_one(void)
{
    transfer(1, 2, grade_random(300, 1000), 2, 0);
}

/* Put items 0..count-1, writing each one's number to the pipe once its put has returned. */
struct counted_puts {
    struct bounded_buffer *buffer;
    long base, count;
};

static int put_and_report(void *arg, int out)
{
    struct counted_puts *job = arg;
    for (long i = 0; i < job->count; i++) {
        if (bounded_buffer_put(job->buffer, job->base + i) != 0) {
            dprintf(STDERR_FILENO, "bounded_buffer_put() returned -1: %s\n", strerror(errno));
            return 1;
        }
        if (write(out, &i, sizeof i) != sizeof i)
            return 2;
    }
    return 0;
}

static void test_put_blocks_when_full(void)
{
    size_t capacity = (size_t)grade_random(1, 8);
    long base = grade_random(0, 1000000);
    grade_note("capacity %zu: a producer puts %zu items with no consumer; the last put must "
               "wait until the test gets one",
               capacity, capacity + 1);
    struct counted_puts job = {create_or_fail(capacity), base, (long)capacity + 1};
    int fd;
    pid_t child = grade_spawn_piped(put_and_report, &job, &fd);
    for (size_t i = 0; i < capacity; i++) {
        long done;
        if (read_within(fd, &done, sizeof done, WAKE_WAIT_S) == -1)
            grade_fail("put number %zu into a buffer with room for %zu did not return within "
                       "%d s",
                       i + 1, capacity, WAKE_WAIT_S);
    }
    char what[96];
    snprintf(what, sizeof what, "put number %zu, into a full buffer,", capacity + 1);
    expect_asleep(&child, 1, what);
    long extra;
    if (arrives_within(fd, QUIET_MS) && read_within(fd, &extra, sizeof extra, 1) == 0)
        grade_fail("put number %zu returned although the buffer already held %zu items and "
                   "nobody had got any: put must wait while the buffer is full",
                   capacity + 1, capacity);
    grade_note("put number %zu is asleep, as it should be", capacity + 1);
    grade_expect_long("the first item out of the full buffer", base,
                      test_get(job.buffer, "bounded_buffer_get() from a full buffer"));
    if (read_within(fd, &extra, sizeof extra, WAKE_WAIT_S) == -1)
        grade_fail("after the test got an item, the waiting put did not return within %d s: "
                   "a get must wake a put waiting for room",
                   WAKE_WAIT_S);
    for (size_t i = 1; i <= capacity; i++)
        grade_expect_long("the next item out (first in, first out)", base + (long)i,
                          test_get(job.buffer, "bounded_buffer_get() from a full buffer"));
    int status;
    grade_wait_children(&child, &status, 1, WAKE_WAIT_S);
    expect_succeeded("the producer", status);
    close(fd);
    destroy_or_fail(job.buffer);
}

/* One get; its result and item go to the pipe.  A SIGUSR1 handler that does nothing is set up
 * first, so that the test can interrupt the wait. */
struct report {
    int result, error;
    long item;
};

static volatile sig_atomic_t signals_seen;
static void on_usr1(int sig)
{
    (void)sig;
    signals_seen++;
}

static void catch_usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: and sem_wait never restarts anyway */
    sigaction(SIGUSR1, &sa, NULL);
}

static int get_and_report(void *arg, int out)
{
    catch_usr1();
    struct report r = {0, 0, 0};
    r.result = bounded_buffer_get(arg, &r.item);
    r.error = r.result ? errno : 0;
    return write(out, &r, sizeof r) == sizeof r ? 0 : 2;
}

struct one_put {
    struct bounded_buffer *buffer;
    long item;
};

static int put_one_and_report(void *arg, int out)
{
    struct one_put *job = arg;
    catch_usr1();
    struct report r = {bounded_buffer_put(job->buffer, job->item), 0, job->item};
    r.error = r.result ? errno : 0;
    return write(out, &r, sizeof r) == sizeof r ? 0 : 2;
}

/* Nothing may come from fd while the process sleeps; fails with what came instead. */
static void expect_still_waiting(int fd, pid_t pid, const char *what)
{
    expect_asleep(&pid, 1, what);
    if (!arrives_within(fd, QUIET_MS))
        return;
    struct report r;
    if (read_within(fd, &r, sizeof r, 1) == -1)
        grade_fail("%s ended without reporting (crashed?)", what);
    if (r.result != 0)
        grade_fail("%s returned %d (errno: %s) instead of waiting", what, r.result,
                   strerror(r.error));
    grade_fail("%s returned (item %ld) instead of waiting", what, r.item);
}

static struct report expect_report(int fd, const char *what)
{
    struct report r;
    if (read_within(fd, &r, sizeof r, WAKE_WAIT_S) == -1)
        grade_fail("%s did not return within %d s of being able to", what, WAKE_WAIT_S);
    if (r.result != 0)
        grade_fail("%s returned %d (errno: %s)", what, r.result, strerror(r.error));
    return r;
}

static void test_get_blocks_when_empty(void)
{
    size_t capacity = (size_t)grade_random(1, 8);
    long x = grade_random(0, 1000000), y = x + grade_random(1, 1000);
    grade_note("capacity %zu, empty: two processes call get; the test puts %ld, then (once one get "
               "has returned it) %ld",
               capacity, x, y);
    struct bounded_buffer *b = create_or_fail(capacity);
    int fds[2];
    pid_t pids[2];
    for (int i = 0; i < 2; i++)
        pids[i] = grade_spawn_piped(get_and_report, b, &fds[i]);
    for (int i = 0; i < 2; i++)
        expect_still_waiting(fds[i], pids[i], "a get from an empty buffer");
    grade_note("both gets are asleep, as they should be");
    /* One put, one woken get; only then the second put, so that this test never needs the
     * buffer to hold two items (its capacity may be 1). */
    test_put(b, x, "bounded_buffer_put() into an empty buffer");
    struct pollfd both[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (poll(both, 2, WAKE_WAIT_S * 1000 * grade_timeout_scale()) <= 0)
        grade_fail("neither waiting get returned within %d s of a put", WAKE_WAIT_S);
    int first = (both[0].revents & (POLLIN | POLLHUP)) ? 0 : 1;
    grade_expect_long("the item the first woken get returned", x,
                      expect_report(fds[first], "a waiting get, after a put").item);
    expect_still_waiting(fds[1 - first], pids[1 - first], "the other get (one put, one item)");
    test_put(b, y, "bounded_buffer_put() into an empty buffer");
    grade_expect_long("the item the second waiting get returned", y,
                      expect_report(fds[1 - first], "a waiting get, after a put").item);
    int statuses[2];
    grade_wait_children(pids, statuses, 2, WAKE_WAIT_S);
    close(fds[0]);
    close(fds[1]);
    destroy_or_fail(b);
}

static void test_get_sleeps(void)
{
    long x = grade_random(0, 1000000);
    grade_note("a get waits on an empty buffer: it must fall asleep, judged by its state and "
               "the kernel's count of the times it ran (/proc/PID/stat, /proc/PID/schedstat)");
    struct bounded_buffer *b = create_or_fail((size_t)grade_random(1, 8));
    int fd;
    pid_t pid = grade_spawn_piped(get_and_report, b, &fd);
    expect_asleep(&pid, 1, "a get from an empty buffer");
    long runs = 0;
    char state = 0;
    grade_expect_true(grade_process_blocked(pid, 1000, &state, &runs) == 1,
                      "a waiting get must stay asleep for a whole second, not wake up again and "
                      "again",
                      "state %c, ran %ld times in 1 s", state ? state : '?', runs);
    test_put(b, x, "bounded_buffer_put() into an empty buffer");
    grade_expect_long("the item the waiting get returned", x,
                      expect_report(fd, "a waiting get, after a put").item);
    int status;
    grade_wait_children(&pid, &status, 1, WAKE_WAIT_S);
    close(fd);
    destroy_or_fail(b);
}

static void interrupt_three_times(pid_t pid)
{
    for (int i = 0; i < 3; i++) {
        kill(pid, SIGUSR1);
        grade_pause_ms(50);
    }
}

static void test_signal_resumes(void)
{
    long x = grade_random(0, 1000000), y = x + grade_random(1, 1000);
    grade_note("a get waiting on an empty buffer, then a put waiting on a full one (capacity "
               "1), each gets SIGUSR1 three times (its handler returns); both must go on "
               "waiting");
    struct bounded_buffer *b = create_or_fail(1);
    int fd;
    pid_t pid = grade_spawn_piped(get_and_report, b, &fd);
    expect_asleep(&pid, 1, "a get from an empty buffer");
    interrupt_three_times(pid);
    expect_still_waiting(fd, pid, "a get from an empty buffer, interrupted by signals,");
    test_put(b, x, "bounded_buffer_put() into an empty buffer");
    grade_expect_long("the item the interrupted get returned", x,
                      expect_report(fd, "an interrupted get, after a put").item);
    int status;
    grade_wait_children(&pid, &status, 1, WAKE_WAIT_S);
    close(fd);

    test_put(b, x, "bounded_buffer_put() into an empty buffer of capacity 1");
    struct one_put job = {b, y};
    pid = grade_spawn_piped(put_one_and_report, &job, &fd);
    expect_asleep(&pid, 1, "a put into a full buffer");
    interrupt_three_times(pid);
    expect_still_waiting(fd, pid, "a put into a full buffer, interrupted by signals,");
    grade_expect_long("the item in the full buffer", x,
                      test_get(b, "bounded_buffer_get() from a full buffer"));
    expect_report(fd, "an interrupted put, after a get");
    grade_expect_long("the item the interrupted put put", y,
                      test_get(b, "bounded_buffer_get() of the interrupted put's item"));
    grade_wait_children(&pid, &status, 1, WAKE_WAIT_S);
    close(fd);
    destroy_or_fail(b);
}

static const struct grade_test tests[] = {
    {"create_destroy",
     "create refuses bad capacities; the buffer is shared by fork; destroy "
     "leaves nothing behind",
     10, 30, 0, test_create_destroy},
    {"fifo_one_to_one", "one producer, one consumer: every item, in order", 15, 60, 0,
     test_fifo_one_to_one},
    {"many_to_many", "several producers and consumers: every item exactly once", 20, 60, 0,
     test_many_to_many},
    {"put_blocks_when_full", "put waits while the buffer is full, and a get wakes it", 15, 60, 0,
     test_put_blocks_when_full},
    {"get_blocks_when_empty", "get waits while the buffer is empty, and a put wakes it", 10, 60, 0,
     test_get_blocks_when_empty},
    {"get_sleeps", "a waiting get sleeps instead of spinning", 10, 60, 0, test_get_sleeps},
    {"capacity_one", "a buffer of capacity 1 with two producers and two consumers", 10, 60, 0,
     test_capacity_one},
    {"signal_resumes", "a signal does not end a waiting put or get", 10, 60, 0,
     test_signal_resumes},
};

const struct grade_lab grade_lab = {
    "bounded_buffer", "Lab 4: a bounded buffer between processes",
    "no program output is read: the tests call your functions and compare the items that come "
    "out of the buffer with those that went in.",
    tests, sizeof tests / sizeof tests[0]};
