/* test_shm_queue.c - the shared-memory queue library (lib/queues/shm_queue.h).
 *
 * Each test forks the producers and consumers it needs; the children report through their
 * exit status or a pipe, and only this process asserts.  Children get PR_SET_PDEATHSIG so a
 * failed assertion (which ends the test process) never leaves them running.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "queues/shm_queue.h"
#include "support/cleanup.h"

enum { SECOND = 1000000000 };

/* Fork a child that dies with the test; the child runs body(arg) and _exits with its value. */
static pid_t fork_child(int (*body)(struct shm_queue *, long), struct shm_queue *q, long arg)
{
    fflush(stdout);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(body(q, arg));
    }
    return pid;
}

/* Reap pid and return its exit code (or 100 + signal number if it was killed). */
static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static struct shm_queue *new_queue(size_t slot_size, size_t capacity)
{
    struct shm_queue *q = NULL;
    int err = shm_queue_create(&q, NULL, slot_size, capacity);
    cr_assert_eq(err, 0, "shm_queue_create: %s", strerror(err));
    return q;
}

/* --- argument checking ----------------------------------------------------------------- */

Test(shm_queue, create_rejects_bad_sizes_and_names)
{
    struct shm_queue *q = NULL;
    cr_assert_eq(shm_queue_create(&q, NULL, 0, 8), EINVAL, "slot size 0");
    cr_assert_eq(shm_queue_create(&q, NULL, 64, 0), EINVAL, "capacity 0");
    cr_assert_eq(shm_queue_create(&q, NULL, 64, 1), EINVAL, "capacity 1");
    cr_assert_eq(shm_queue_create(&q, NULL, SHM_QUEUE_MAX_SLOT_SIZE + 1, 2), EINVAL);
    cr_assert_eq(shm_queue_create(&q, NULL, 64, SHM_QUEUE_MAX_CAPACITY + 1), EINVAL);
    cr_assert_eq(shm_queue_create(&q, NULL, SHM_QUEUE_MAX_SLOT_SIZE, 1 << 20), EINVAL,
                 "a product over SHM_QUEUE_MAX_BYTES");
    cr_assert_eq(shm_queue_create(&q, "no-slash", 64, 8), EINVAL);
    cr_assert_eq(shm_queue_create(&q, "/a/b", 64, 8), EINVAL);
    cr_assert_eq(shm_queue_create(NULL, NULL, 64, 8), EINVAL);
    cr_assert_null(q, "no handle is made on failure");
}

Test(shm_queue, sizes_are_kept_exactly_and_long_messages_are_refused)
{
    struct shm_queue *q = new_queue(100, 6); /* not powers of two: nothing is rounded */
    cr_assert_eq(shm_queue_slot_size(q), 100);
    cr_assert_eq(shm_queue_capacity(q), 6);
    char big[101] = {0};
    cr_assert_eq(shm_queue_try_push(q, big, 101), EMSGSIZE);
    cr_assert_eq(shm_queue_try_push(q, big, 100), 0);
    cr_assert_eq(shm_queue_try_push(q, NULL, 0), 0, "an empty message is a message");
    cr_assert_eq(shm_queue_count(q), 2);
    char small[10];
    size_t length = 0;
    cr_assert_eq(shm_queue_try_pop(q, small, sizeof small, &length), EMSGSIZE);
    cr_assert_eq(length, 100, "the real length is reported when truncated");
    cr_assert_eq(shm_queue_try_pop(q, small, sizeof small, &length), 0);
    cr_assert_eq(length, 0);
    cr_assert_eq(shm_queue_push_timed(q, big, 1, -1), EINVAL, "negative timeout");
    cr_assert_eq(shm_queue_pop_timed(q, small, sizeof small, NULL, -1), EINVAL);
    cr_assert_eq(shm_queue_join_timed(q, -1), EINVAL);
    cr_assert_eq(shm_queue_detach(q), 0);
}

/* --- non-blocking and timed ----------------------------------------------------------------- */

Test(shm_queue, try_push_on_full_and_try_pop_on_empty_give_eagain)
{
    struct shm_queue *q = new_queue(8, 4);
    uint64_t v = 0;
    cr_assert_eq(shm_queue_try_pop(q, &v, sizeof v, NULL), EAGAIN);
    for (v = 0; v < 4; v++)
        cr_assert_eq(shm_queue_try_push(q, &v, sizeof v), 0);
    cr_assert_eq(shm_queue_try_push(q, &v, sizeof v), EAGAIN, "fifth push into 4 slots");
    cr_assert_eq(shm_queue_count(q), 4);
    shm_queue_detach(q);
}

Test(shm_queue, timed_calls_return_etimedout)
{
    struct shm_queue *q = new_queue(8, 2);
    uint64_t v = 7;
    cr_assert_eq(shm_queue_pop_timed(q, &v, sizeof v, NULL, SECOND / 20), ETIMEDOUT);
    cr_assert_eq(shm_queue_pop_timed(q, &v, sizeof v, NULL, 0), ETIMEDOUT, "timeout 0");
    cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert_eq(shm_queue_push_timed(q, &v, sizeof v, SECOND / 20), ETIMEDOUT);
    cr_assert_eq(shm_queue_join_timed(q, SECOND / 20), ETIMEDOUT, "2 tasks unfinished");
    cr_assert_eq(shm_queue_pop_timed(q, &v, sizeof v, NULL, SECOND / 20), 0);
    shm_queue_detach(q);
}

/* --- order and load -------------------------------------------------------------------------- */

enum { FIFO_COUNT = 20000 };

static int push_sequence(struct shm_queue *q, long count)
{
    for (uint64_t i = 0; i < (uint64_t)count; i++)
        if (shm_queue_push(q, &i, sizeof i) != 0)
            return 1;
    return 0;
}

Test(shm_queue, one_producer_one_consumer_keeps_fifo_order)
{
    struct shm_queue *q = new_queue(sizeof(uint64_t), 8); /* small: full and empty often */
    pid_t producer = fork_child(push_sequence, q, FIFO_COUNT);
    uint64_t expected = 0, v;
    for (; expected < FIFO_COUNT; expected++) {
        int err = shm_queue_pop_timed(q, &v, sizeof v, NULL, 60LL * SECOND);
        cr_assert_eq(err, 0, "pop %lu: %s", (unsigned long)expected, strerror(err));
        cr_assert_eq(v, expected, "message %lu arrived in position %lu", (unsigned long)v,
                     (unsigned long)expected);
    }
    cr_assert_eq(reap(producer), 0);
    cr_assert_eq(shm_queue_try_pop(q, &v, sizeof v, NULL), EAGAIN, "nothing extra");
    shm_queue_detach(q);
}

/* What each consumer reports through the pipe. */
struct tally {
    uint64_t count, sum, xor_hash;
    uint64_t out_of_order; /* a producer's messages seen out of its order by this consumer */
};

enum { PRODUCERS = 3, CONSUMERS = 3, PER_PRODUCER = 10000 };

static uint64_t hash64(uint64_t x) /* so that a duplicate plus a loss cannot cancel out */
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int produce_tagged(struct shm_queue *q, long producer)
{
    for (uint64_t i = 0; i < PER_PRODUCER; i++) {
        uint64_t message[2] = {(uint64_t)producer, i};
        if (shm_queue_push(q, message, sizeof message) != 0)
            return 1;
    }
    return 0;
}

static int result_pipe[2];

/* The test process, once every consumer is reaped: close its write end and add up the tally
 * each consumer sent. */
static struct tally collect_tallies(void)
{
    close(result_pipe[1]);
    struct tally total = {0}, t;
    while (read(result_pipe[0], &t, sizeof t) == (ssize_t)sizeof t) {
        total.count += t.count;
        total.sum += t.sum;
        total.xor_hash ^= t.xor_hash;
        total.out_of_order += t.out_of_order;
    }
    close(result_pipe[0]);
    return total;
}

static int consume_until_closed(struct shm_queue *q, long unused)
{
    (void)unused;
    struct tally t = {0};
    int64_t last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    uint64_t message[2];
    int err;
    while ((err = shm_queue_pop_timed(q, message, sizeof message, NULL, 60LL * SECOND)) == 0) {
        if (message[0] >= PRODUCERS)
            return 2;
        if ((int64_t)message[1] <= last[message[0]])
            t.out_of_order++;
        last[message[0]] = (int64_t)message[1];
        uint64_t id = message[0] * PER_PRODUCER + message[1];
        t.count++;
        t.sum += id;
        t.xor_hash ^= hash64(id + 1);
        shm_queue_task_done(q);
    }
    if (err != EPIPE)
        return 3; /* a timeout: the watchdog saw no end of stream */
    return write(result_pipe[1], &t, sizeof t) == (ssize_t)sizeof t ? 0 : 4;
}

Test(shm_queue, many_producers_many_consumers_deliver_each_message_once)
{
    struct shm_queue *q = new_queue(2 * sizeof(uint64_t), 16);
    cr_assert_eq(pipe(result_pipe), 0);
    pid_t consumers[CONSUMERS], producers[PRODUCERS];
    for (int c = 0; c < CONSUMERS; c++)
        consumers[c] = fork_child(consume_until_closed, q, 0);
    for (int p = 0; p < PRODUCERS; p++)
        producers[p] = fork_child(produce_tagged, q, p);
    for (int p = 0; p < PRODUCERS; p++)
        cr_assert_eq(reap(producers[p]), 0, "producer %d", p);
    cr_assert_eq(shm_queue_join_timed(q, 60LL * SECOND), 0, "join after all were consumed");
    cr_assert_eq(shm_queue_close(q), 0);
    for (int c = 0; c < CONSUMERS; c++)
        cr_assert_eq(reap(consumers[c]), 0, "consumer %d", c);
    struct tally total = collect_tallies();
    uint64_t n = (uint64_t)PRODUCERS * PER_PRODUCER, expected_xor = 0;
    for (uint64_t id = 0; id < n; id++)
        expected_xor ^= hash64(id + 1);
    cr_assert_eq(total.count, n, "count %lu, expected %lu", (unsigned long)total.count,
                 (unsigned long)n);
    cr_assert_eq(total.sum, n * (n - 1) / 2, "checksum (sum of ids)");
    cr_assert_eq(total.xor_hash, expected_xor, "checksum (xor of hashed ids)");
    cr_assert_eq(total.out_of_order, 0, "each producer's messages stay in order");
    cr_assert_eq(count_my_zombies(), 0);
    shm_queue_detach(q);
}

/* --- blocking ---------------------------------------------------------------------------- */

static int signal_pipe[2];

/* Push one message (blocking), then say so on the pipe; exit 0 if the push worked. */
static int push_then_signal(struct shm_queue *q, long value)
{
    uint64_t v = (uint64_t)value;
    int err = shm_queue_push(q, &v, sizeof v);
    char code = (char)err;
    return write(signal_pipe[1], &code, 1) == 1 && err == 0 ? 0 : 1;
}

/* Pop one message (blocking), then report its value (or the error) on the pipe. */
static int pop_then_signal(struct shm_queue *q, long unused)
{
    (void)unused;
    uint64_t v = 0;
    int err = shm_queue_pop(q, &v, sizeof v, NULL);
    char code = err ? (char)err : (char)v;
    return write(signal_pipe[1], &code, 1) == 1 ? 0 : 1;
}

/* Has the child written to the signal pipe within ms milliseconds? */
static int signalled_within(int ms)
{
    struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

static char read_signal(void)
{
    char code = -1;
    cr_assert_eq(read(signal_pipe[0], &code, 1), 1);
    return code;
}

Test(shm_queue, a_producer_blocked_on_a_full_queue_is_released_by_a_pop)
{
    struct shm_queue *q = new_queue(8, 2);
    uint64_t v = 1;
    cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert_eq(pipe(signal_pipe), 0);
    pid_t child = fork_child(push_then_signal, q, 3);
    cr_assert_not(signalled_within(300), "the push into a full queue must block");
    cr_assert_eq(shm_queue_pop(q, &v, sizeof v, NULL), 0);
    cr_assert(signalled_within(60000), "the pop must release the blocked producer");
    cr_assert_eq(read_signal(), 0);
    cr_assert_eq(reap(child), 0);
    cr_assert_eq(shm_queue_count(q), 2);
    shm_queue_detach(q);
}

Test(shm_queue, a_consumer_blocked_on_an_empty_queue_is_released_by_a_push)
{
    struct shm_queue *q = new_queue(8, 2);
    cr_assert_eq(pipe(signal_pipe), 0);
    pid_t child = fork_child(pop_then_signal, q, 0);
    cr_assert_not(signalled_within(300), "the pop from an empty queue must block");
    uint64_t v = 42;
    cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert(signalled_within(60000), "the push must release the blocked consumer");
    cr_assert_eq(read_signal(), 42);
    cr_assert_eq(reap(child), 0);
    shm_queue_detach(q);
}

/* --- close ------------------------------------------------------------------------------ */

Test(shm_queue, after_close_consumers_drain_then_see_closed_and_pushes_fail)
{
    struct shm_queue *q = new_queue(8, 8);
    for (uint64_t v = 10; v < 13; v++)
        cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert_not(shm_queue_is_closed(q));
    cr_assert_eq(shm_queue_close(q), 0);
    cr_assert(shm_queue_is_closed(q));
    cr_assert_eq(shm_queue_close(q), 0, "closing twice is harmless");
    uint64_t v = 99;
    cr_assert_eq(shm_queue_try_push(q, &v, sizeof v), EPIPE);
    cr_assert_eq(shm_queue_push(q, &v, sizeof v), EPIPE);
    for (uint64_t expected = 10; expected < 13; expected++) {
        cr_assert_eq(shm_queue_pop(q, &v, sizeof v, NULL), 0, "drain after close");
        cr_assert_eq(v, expected);
    }
    cr_assert_eq(shm_queue_pop(q, &v, sizeof v, NULL), EPIPE, "then: closed");
    cr_assert_eq(shm_queue_try_pop(q, &v, sizeof v, NULL), EPIPE);
    cr_assert_eq(shm_queue_pop_timed(q, &v, sizeof v, NULL, SECOND), EPIPE);
    shm_queue_detach(q);
}

Test(shm_queue, close_wakes_every_blocked_consumer_and_producer)
{
    struct shm_queue *empty = new_queue(8, 2), *full = new_queue(8, 2);
    uint64_t v = 1;
    shm_queue_push(full, &v, sizeof v);
    shm_queue_push(full, &v, sizeof v);
    cr_assert_eq(pipe(signal_pipe), 0);
    pid_t children[4];
    children[0] = fork_child(pop_then_signal, empty, 0);
    children[1] = fork_child(pop_then_signal, empty, 0);
    children[2] = fork_child(push_then_signal, full, 5);
    children[3] = fork_child(push_then_signal, full, 6);
    cr_assert_not(signalled_within(300), "all four must block");
    shm_queue_close(empty);
    shm_queue_close(full);
    for (int i = 0; i < 4; i++) {
        cr_assert(signalled_within(60000), "close must wake waiter %d", i);
        cr_assert_eq(read_signal(), EPIPE, "a woken waiter sees the queue closed");
    }
    cr_assert_eq(reap(children[0]), 0);
    cr_assert_eq(reap(children[1]), 0);
    cr_assert_eq(reap(children[2]), 1, "the push failed");
    cr_assert_eq(reap(children[3]), 1, "the push failed");
    shm_queue_detach(empty);
    shm_queue_detach(full);
}

/* --- task_done / join ------------------------------------------------------------------------ */

/* Pop `count` messages, call task_done after each, then exit. */
static int pop_and_mark_done(struct shm_queue *q, long count)
{
    uint64_t v;
    for (long i = 0; i < count; i++) {
        if (shm_queue_pop_timed(q, &v, sizeof v, NULL, 60LL * SECOND) != 0)
            return 1;
        usleep(1000); /* "work" on it, so join really has to wait */
        if (shm_queue_task_done(q) != 0)
            return 2;
    }
    return 0;
}

Test(shm_queue, join_waits_until_every_task_is_done)
{
    struct shm_queue *q = new_queue(8, 16);
    cr_assert_eq(shm_queue_join_timed(q, 0), 0, "no tasks: join returns at once");
    cr_assert_eq(shm_queue_task_done(q), EINVAL, "task_done without a task");
    for (uint64_t v = 0; v < 10; v++)
        cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    pid_t worker = fork_child(pop_and_mark_done, q, 10);
    cr_assert_eq(shm_queue_join_timed(q, 60LL * SECOND), 0);
    cr_assert_eq(shm_queue_count(q), 0, "join returned only after all were taken");
    cr_assert_eq(reap(worker), 0);
    cr_assert_eq(shm_queue_task_done(q), EINVAL, "task_done called too many times");
    cr_assert_eq(shm_queue_join(q), 0);
    shm_queue_detach(q);
}

/* --- named queues ------------------------------------------------------------------------ */

static char queue_name[96];

/* Attach by name (as an unrelated process would) and push `count` numbers. */
static int attach_and_push(struct shm_queue *unused, long count)
{
    (void)unused;
    struct shm_queue *q;
    if (shm_queue_attach(&q, queue_name) != 0)
        return 1;
    int failed = push_sequence(q, count);
    shm_queue_detach(q);
    return failed ? 2 : 0;
}

Test(shm_queue, a_named_queue_is_attached_by_name_and_leaves_nothing_in_dev_shm)
{
    unique_ipc_name(queue_name, sizeof queue_name, "test-queue");
    int before = count_dir_entries_containing("/dev/shm", queue_name + 1);
    struct shm_queue *q = NULL, *again = NULL;
    cr_assert_eq(shm_queue_create(&q, queue_name, 16, 4), 0);
    cr_assert_eq(count_dir_entries_containing("/dev/shm", queue_name + 1), before + 1);
    cr_assert_eq(shm_queue_create(&again, queue_name, 16, 4), EEXIST);
    pid_t child = fork_child(attach_and_push, NULL, 100);
    uint64_t v;
    for (uint64_t expected = 0; expected < 100; expected++) {
        cr_assert_eq(shm_queue_pop_timed(q, &v, sizeof v, NULL, 60LL * SECOND), 0);
        cr_assert_eq(v, expected);
    }
    cr_assert_eq(reap(child), 0);
    cr_assert_eq(shm_queue_destroy(q), 0);
    cr_assert_eq(count_dir_entries_containing("/dev/shm", queue_name + 1), before);
    cr_assert_eq(shm_queue_attach(&again, queue_name), ENOENT, "the name is gone");
    cr_assert_eq(shm_queue_unlink(queue_name), ENOENT);
    cr_assert_eq(count_my_zombies(), 0);
}

Test(shm_queue, attach_refuses_an_object_that_is_not_a_queue)
{
    unique_ipc_name(queue_name, sizeof queue_name, "test-notqueue");
    int fd = shm_open(queue_name, O_CREAT | O_EXCL | O_RDWR, 0600);
    cr_assert_neq(fd, -1);
    cr_assert_eq(ftruncate(fd, 4096), 0);
    close(fd);
    struct shm_queue *q = NULL;
    int err = shm_queue_attach(&q, queue_name);
    shm_unlink(queue_name);
    cr_assert(err == EAGAIN || err == EINVAL, "attach: %s", strerror(err));
    cr_assert_null(q);
}

/* --- the fast paths: batches, zero copy, the SPSC mode ------------------------------------ */

/* How a test child moves its messages: one at a time, in batches, or in place. */
enum path { SINGLE, BATCH, ZERO_COPY };
enum { BATCH_SIZE = 7 }; /* not a divisor of the capacities: batches wrap around the ring */

/* Push `count` two-word messages {tag, i} (i = 0 .. count-1) along `way`.  0 on success. */
static int push_tagged_along(struct shm_queue *q, uint64_t tag, uint64_t count, enum path way)
{
    uint64_t i = 0;
    while (i < count) {
        int err = 0;
        if (way == BATCH) {
            uint64_t batch[BATCH_SIZE][2];
            size_t n = count - i < BATCH_SIZE ? (size_t)(count - i) : BATCH_SIZE, pushed = 0;
            for (size_t k = 0; k < n; k++)
                batch[k][0] = tag, batch[k][1] = i + k;
            err = shm_queue_push_batch(q, batch, sizeof batch[0], n, &pushed, 60LL * SECOND);
            i += pushed;
        } else if (way == ZERO_COPY) {
            struct shm_queue_ticket t;
            err = shm_queue_reserve(q, &t, 60LL * SECOND);
            if (!err) {
                uint64_t message[2] = {tag, i};
                memcpy(t.data, message, sizeof message); /* written in the slot itself */
                err = shm_queue_commit(q, &t, sizeof message);
                i++;
            }
        } else {
            uint64_t message[2] = {tag, i};
            err = shm_queue_push_timed(q, message, sizeof message, 60LL * SECOND);
            i++;
        }
        if (err)
            return 1;
    }
    return 0;
}

/* Take one or more messages along `way` into out[][2]; how many in *n.  0, EPIPE or an error. */
static int pop_along(struct shm_queue *q, enum path way, uint64_t out[][2], size_t *n)
{
    *n = 0;
    if (way == BATCH) {
        size_t lengths[BATCH_SIZE];
        int err = shm_queue_pop_batch(q, out, sizeof out[0], BATCH_SIZE, lengths, n, 60LL * SECOND);
        for (size_t k = 0; err == 0 && k < *n; k++)
            if (lengths[k] != sizeof out[0])
                return EBADMSG;
        return err;
    }
    if (way == ZERO_COPY) {
        struct shm_queue_ticket t;
        int err = shm_queue_borrow(q, &t, 60LL * SECOND);
        if (err)
            return err;
        if (t.length != sizeof out[0])
            return EBADMSG;
        memcpy(out[0], t.data, sizeof out[0]); /* read in place, then give the slot back */
        *n = 1;
        return shm_queue_release(q, &t);
    }
    size_t length = 0;
    int err = shm_queue_pop_timed(q, out[0], sizeof out[0], &length, 60LL * SECOND);
    if (!err && length != sizeof out[0])
        return EBADMSG;
    *n = err ? 0 : 1;
    return err;
}

/* A child's arguments pack the path and the producer's tag: arg = way * 100 + tag. */
static int produce_along(struct shm_queue *q, long arg)
{
    return push_tagged_along(q, (uint64_t)(arg % 100), PER_PRODUCER, (enum path)(arg / 100));
}

/* Consume until end of stream along the path in arg, tallying as consume_until_closed does. */
static int consume_along(struct shm_queue *q, long arg)
{
    struct tally t = {0};
    int64_t last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    uint64_t got[BATCH_SIZE][2];
    size_t n;
    int err;
    while ((err = pop_along(q, (enum path)arg, got, &n)) == 0) {
        for (size_t k = 0; k < n; k++) {
            if (got[k][0] >= PRODUCERS || got[k][1] >= PER_PRODUCER)
                return 2;
            if ((int64_t)got[k][1] <= last[got[k][0]])
                t.out_of_order++;
            last[got[k][0]] = (int64_t)got[k][1];
            uint64_t id = got[k][0] * PER_PRODUCER + got[k][1];
            t.count++;
            t.sum += id;
            t.xor_hash ^= hash64(id + 1);
            if (shm_queue_task_done(q) != 0)
                return 5;
        }
    }
    if (err != EPIPE)
        return 3;
    return write(result_pipe[1], &t, sizeof t) == (ssize_t)sizeof t ? 0 : 4;
}

/* Run `producers` and `consumers` children along the paths; join, close; check that every
 * message arrived exactly once and in each producer's order. */
static void exactly_once_along(struct shm_queue *q, int producers, enum path push_way,
                               int consumers, enum path pop_way)
{
    cr_assert_eq(pipe(result_pipe), 0);
    pid_t consumer[CONSUMERS], producer[PRODUCERS];
    for (int c = 0; c < consumers; c++)
        consumer[c] = fork_child(consume_along, q, pop_way);
    for (int p = 0; p < producers; p++)
        producer[p] = fork_child(produce_along, q, (long)push_way * 100 + p);
    for (int p = 0; p < producers; p++)
        cr_assert_eq(reap(producer[p]), 0, "producer %d", p);
    cr_assert_eq(shm_queue_join_timed(q, 60LL * SECOND), 0, "join after all were consumed");
    cr_assert_eq(shm_queue_close(q), 0);
    for (int c = 0; c < consumers; c++)
        cr_assert_eq(reap(consumer[c]), 0, "consumer %d", c);
    struct tally total = collect_tallies();
    uint64_t expected_count = 0, expected_sum = 0, expected_xor = 0;
    for (int p = 0; p < producers; p++)
        for (uint64_t i = 0; i < PER_PRODUCER; i++) {
            uint64_t id = (uint64_t)p * PER_PRODUCER + i;
            expected_count++;
            expected_sum += id;
            expected_xor ^= hash64(id + 1);
        }
    cr_assert_eq(total.count, expected_count, "count %lu, expected %lu", (unsigned long)total.count,
                 (unsigned long)expected_count);
    cr_assert_eq(total.sum, expected_sum, "checksum (sum of ids)");
    cr_assert_eq(total.xor_hash, expected_xor, "checksum (xor of hashed ids)");
    cr_assert_eq(total.out_of_order, 0, "each producer's messages stay in order");
    cr_assert_eq(count_my_zombies(), 0);
    shm_queue_detach(q);
}

Test(shm_queue, batches_between_many_producers_and_consumers_deliver_each_message_once)
{
    exactly_once_along(new_queue(2 * sizeof(uint64_t), 16), PRODUCERS, BATCH, CONSUMERS, BATCH);
}

Test(shm_queue, zero_copy_between_many_producers_and_consumers_delivers_each_message_once)
{
    exactly_once_along(new_queue(2 * sizeof(uint64_t), 16), PRODUCERS, ZERO_COPY, CONSUMERS,
                       ZERO_COPY);
}

Test(shm_queue, batches_single_calls_and_zero_copy_mix_on_one_queue)
{
    if (under_valgrind())
        return; /* 60000 messages through six processes: the two tests above cover memcheck */
    /* Batch producers, zero-copy consumers; then the other way round. */
    exactly_once_along(new_queue(2 * sizeof(uint64_t), 5), PRODUCERS, BATCH, CONSUMERS, ZERO_COPY);
    exactly_once_along(new_queue(2 * sizeof(uint64_t), 5), PRODUCERS, ZERO_COPY, CONSUMERS, BATCH);
}

static struct shm_queue *new_spsc_queue(size_t slot_size, size_t capacity)
{
    struct shm_queue *q = NULL;
    int err = shm_queue_create_spsc(&q, NULL, slot_size, capacity);
    cr_assert_eq(err, 0, "shm_queue_create_spsc: %s", strerror(err));
    cr_assert(shm_queue_is_spsc(q));
    return q;
}

Test(shm_queue, spsc_delivers_each_message_once_in_order_along_every_path)
{
    enum path ways[] = {SINGLE, BATCH, ZERO_COPY};
    int kinds = under_valgrind() ? 1 : 3; /* memcheck: the single path only (it is slow) */
    for (int a = 0; a < kinds; a++)
        for (int b = 0; b < kinds; b++) /* a small ring: full and empty all the time */
            exactly_once_along(new_spsc_queue(2 * sizeof(uint64_t), 4), 1, ways[a], 1, ways[b]);
}

Test(shm_queue, a_batch_takes_what_fits_and_keeps_the_order)
{
    struct shm_queue *queues[] = {new_queue(8, 4), new_spsc_queue(8, 4)};
    for (int k = 0; k < 2; k++) {
        struct shm_queue *q = queues[k];
        uint64_t in[6] = {10, 11, 12, 13, 14, 15}, out[6] = {0};
        size_t pushed = 99, popped = 99, lengths[6];
        cr_assert_eq(shm_queue_push_batch(q, in, 8, 6, &pushed, 0), 0);
        cr_assert_eq(pushed, 4, "a ring of 4 takes 4 of 6");
        cr_assert_eq(shm_queue_push_batch(q, in + 4, 8, 2, &pushed, 0), EAGAIN, "full");
        cr_assert_eq(pushed, 0);
        cr_assert_eq(shm_queue_push_batch(q, in + 4, 8, 2, &pushed, 1000000), ETIMEDOUT);
        cr_assert_eq(shm_queue_pop_batch(q, out, 8, 3, lengths, &popped, 0), 0);
        cr_assert_eq(popped, 3);
        cr_assert_eq(shm_queue_push_batch(q, in + 4, 8, 2, &pushed, 0), 0);
        cr_assert_eq(pushed, 2, "three free slots, two asked for");
        cr_assert_eq(shm_queue_pop_batch(q, out + 3, 8, 6, lengths + 3, &popped, -1), 0);
        cr_assert_eq(popped, 3, "what was there, not what was asked for");
        for (int i = 0; i < 6; i++) {
            cr_assert_eq(out[i], in[i], "message %d", i);
            cr_assert_eq(lengths[i], 8);
        }
        cr_assert_eq(shm_queue_pop_batch(q, out, 8, 6, NULL, &popped, 0), EAGAIN, "empty");
        cr_assert_eq(shm_queue_pop_batch(q, out, 8, 6, NULL, &popped, 1000000), ETIMEDOUT);
        cr_assert_eq(shm_queue_push_batch(q, in, 9, 1, &pushed, 0), EMSGSIZE, "longer than a slot");
        cr_assert_eq(shm_queue_push_batch(q, in, 8, 0, &pushed, 0), EINVAL, "an empty batch");
        /* A message cut to the buffer is counted and said so. */
        cr_assert_eq(shm_queue_push_batch(q, in, 8, 2, &pushed, 0), 0);
        uint32_t small[2];
        cr_assert_eq(shm_queue_pop_batch(q, small, 4, 2, lengths, &popped, 0), EMSGSIZE);
        cr_assert_eq(popped, 2);
        cr_assert_eq(lengths[0], 8, "the real length");
        cr_assert_eq(shm_queue_join_timed(q, 0), ETIMEDOUT, "8 pushed, none done");
        shm_queue_detach(q);
    }
}

Test(shm_queue, zero_copy_tickets_are_used_once_and_hold_their_place)
{
    struct shm_queue *q = new_queue(16, 2);
    struct shm_queue_ticket first, second, third;
    cr_assert_eq(shm_queue_reserve(q, &first, 0), 0);
    cr_assert_eq(first.length, 16, "a reservation offers the whole slot");
    cr_assert_eq(shm_queue_reserve(q, &second, 0), 0);
    cr_assert_eq(shm_queue_reserve(q, &third, 0), EAGAIN, "both slots reserved: full");
    cr_assert_eq(shm_queue_reserve(q, &third, 1000000), ETIMEDOUT);
    memcpy(second.data, "second", 7);
    cr_assert_eq(shm_queue_commit(q, &second, 7), 0);
    struct shm_queue_ticket read;
    cr_assert_eq(shm_queue_borrow(q, &read, 0), EAGAIN,
                 "the first reservation holds the order: nothing to read before it commits");
    cr_assert_eq(shm_queue_commit(q, &first, 17), EMSGSIZE, "longer than the slot");
    memcpy(first.data, "first", 6);
    cr_assert_eq(shm_queue_commit(q, &first, 6), 0);
    cr_assert_eq(shm_queue_commit(q, &first, 6), EINVAL, "a ticket commits once");
    cr_assert_eq(shm_queue_borrow(q, &read, 0), 0);
    cr_assert_eq(read.length, 6);
    cr_assert_str_eq(read.data, "first");
    cr_assert_eq(shm_queue_release(q, &read), 0);
    cr_assert_eq(shm_queue_release(q, &read), EINVAL, "a ticket releases once");
    cr_assert_eq(shm_queue_close(q), 0);
    cr_assert_eq(shm_queue_reserve(q, &third, 0), EPIPE, "no reservation after close");
    cr_assert_eq(shm_queue_borrow(q, &read, -1), 0, "what was committed is still delivered");
    cr_assert_str_eq(read.data, "second");
    cr_assert_eq(shm_queue_release(q, &read), 0);
    cr_assert_eq(shm_queue_borrow(q, &read, -1), EPIPE, "closed and drained");
    shm_queue_detach(q);
}

/* Wait for end of stream along the path in arg; report the code on the signal pipe. */
static int wait_for_end_along(struct shm_queue *q, long arg)
{
    uint64_t got[BATCH_SIZE][2];
    size_t n;
    int err = pop_along(q, (enum path)arg, got, &n);
    char code = (char)err;
    return write(signal_pipe[1], &code, 1) == 1 ? 0 : 1;
}

Test(shm_queue, close_releases_consumers_blocked_in_a_batch_or_a_borrow)
{
    for (int k = 0; k < 2; k++) { /* k = 0: the general queue, 1: the SPSC mode */
        enum path ways[] = {BATCH, ZERO_COPY};
        for (int w = 0; w < 2; w++) {
            cr_assert_eq(pipe(signal_pipe), 0);
            struct shm_queue *q = k == 0 ? new_queue(16, 4) : new_spsc_queue(16, 4);
            pid_t child = fork_child(wait_for_end_along, q, ways[w]);
            cr_assert_not(signalled_within(200), "an empty open queue must block");
            cr_assert_eq(shm_queue_close(q), 0);
            cr_assert(signalled_within(60000), "close must release the blocked consumer");
            cr_assert_eq(read_signal(), EPIPE);
            cr_assert_eq(reap(child), 0);
            close(signal_pipe[0]);
            close(signal_pipe[1]);
            size_t pushed;
            uint64_t m[2] = {0};
            cr_assert_eq(shm_queue_push_batch(q, m, sizeof m, 1, &pushed, 0), EPIPE);
            shm_queue_detach(q);
        }
    }
}

Test(shm_queue, spsc_close_after_the_last_push_ends_the_stream_after_the_rest)
{
    struct shm_queue *q = new_spsc_queue(8, 4);
    for (uint64_t v = 0; v < 3; v++)
        cr_assert_eq(shm_queue_push(q, &v, sizeof v), 0);
    cr_assert_eq(shm_queue_close(q), 0);
    cr_assert(shm_queue_is_closed(q));
    uint64_t v = 9;
    cr_assert_eq(shm_queue_try_push(q, &v, sizeof v), EPIPE);
    for (uint64_t expected = 0; expected < 3; expected++) {
        cr_assert_eq(shm_queue_pop(q, &v, sizeof v, NULL), 0);
        cr_assert_eq(v, expected);
        cr_assert_eq(shm_queue_task_done(q), 0);
    }
    cr_assert_eq(shm_queue_pop(q, &v, sizeof v, NULL), EPIPE);
    cr_assert_eq(shm_queue_join_timed(q, 0), 0);
    cr_assert_eq(shm_queue_task_done(q), EINVAL);
    shm_queue_detach(q);
}
