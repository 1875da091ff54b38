#define _GNU_SOURCE
/* mqueue_demo.c - POSIX message queues: the kernel keeps whole messages, hands them out by
 * priority, and can block, refuse (EAGAIN) or time out; its limits are read and reported.
 *
 * Usage: mqueue_demo [options]
 *   -m, --max-messages N   messages the queue may hold, mq_maxmsg (default 8)
 *   -s, --message-size B   largest message in bytes, mq_msgsize (default 256)
 *   -t, --timeout-ms MS    how long the timed receive waits (default 200)
 *   -h, --help             this text
 *
 * What to observe:
 *   - The limits come from /proc/sys/fs/mqueue (msg_max, msgsize_max, queues_max).  Ask for
 *     more (say -m 11 with msg_max 10): an ordinary user gets EINVAL and the program names the
 *     limit; a privileged process (CAP_SYS_RESOURCE, e.g. root) is allowed past msg_max and the
 *     program says so.  Nothing is ever quietly made smaller.
 *   - Messages come out highest priority first, and in send order within one priority.
 *   - With O_NONBLOCK, a receive from an empty queue and a send to a full one fail with
 *     EAGAIN; without it they wait.  mq_timedreceive gives up with ETIMEDOUT.
 *   - While it runs, `ls /dev/mqueue` (after `mount -t mqueue none /dev/mqueue`) shows the
 *     queue, and `cat /dev/mqueue/NAME` its size and waiters.  Afterwards nothing is left.
 *
 * Python counterpart: the third-party posix_ipc.MessageQueue (send(msg, priority=...),
 *   receive(timeout=...), unlink()).  multiprocessing.Queue has no priorities; its put_nowait /
 *   get(timeout=...) raise queue.Full / queue.Empty where these calls return EAGAIN / ETIMEDOUT.
 *
 * See also: mq_overview(7), mq_open(3), shm_queue_demo.c (a queue in shared memory),
 *   lessons/03-queues-and-shared-memory.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/process.h"

static const char usage[] =
    "Usage: mqueue_demo [options]\n"
    "  -m, --max-messages N   messages the queue may hold, mq_maxmsg (default 8)\n"
    "  -s, --message-size B   largest message in bytes, mq_msgsize (default 256)\n"
    "  -t, --timeout-ms MS    how long the timed receive waits (default 200)\n"
    "  -h, --help             this text\n";

enum { CAP_SYS_RESOURCE_BIT = 24 }; /* from linux/capability.h: lets a process pass msg_max */
enum { PRIORITY_MESSAGES = 6 };     /* how many messages the priority demonstration sends */
enum { WATCHDOG_SECONDS = 30 };     /* a blocked child that waits this long is stuck */
enum { SHORTEST_TEXT = 8 };         /* "#5 p9" and its NUL, the priority messages */

struct options {
    long max_messages, message_size, timeout_ms;
};

/* The limits in /proc/sys/fs/mqueue (-1 where a file could not be read). */
struct limits {
    long msg_max, msgsize_max, queues_max, msg_default, msgsize_default;
};

/* --- limits --------------------------------------------------------------------------------- */

static long read_limit(const char *file)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", file);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1; /* an old kernel or a locked-down /proc: report "unknown" */
    long value = -1;
    if (fscanf(f, "%ld", &value) != 1)
        value = -1;
    fclose_or_die(f);
    return value;
}

/* Does this process hold CAP_SYS_RESOURCE?  Read the effective set from /proc/self/status.
 * The capability decides, not the user id: root inside a container often lacks it. */
static int has_cap_sys_resource(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long long effective = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &effective) == 1)
            break;
    fclose_or_die(f);
    return (effective >> CAP_SYS_RESOURCE_BIT) & 1;
}

/* The kernel reserves room for mq_maxmsg messages of mq_msgsize bytes when a queue is made,
 * so it caps both per queue (msg_max, msgsize_max), caps the number of queues (queues_max),
 * and charges the bytes to the user against RLIMIT_MSGQUEUE (EMFILE when that runs out). */
static struct limits report_limits(void)
{
    struct limits l = {read_limit("msg_max"), read_limit("msgsize_max"), read_limit("queues_max"),
                       read_limit("msg_default"), read_limit("msgsize_default")};
    struct rlimit bytes;
    if (getrlimit(RLIMIT_MSGQUEUE, &bytes) == -1)
        die("getrlimit(RLIMIT_MSGQUEUE)");
    printf("limits (/proc/sys/fs/mqueue): msg_max %ld, msgsize_max %ld, queues_max %ld "
           "(defaults: msg_default %ld, msgsize_default %ld)\n",
           l.msg_max, l.msgsize_max, l.queues_max, l.msg_default, l.msgsize_default);
    if (bytes.rlim_cur == RLIM_INFINITY)
        printf("limits: RLIMIT_MSGQUEUE unlimited bytes of queues per user\n");
    else
        printf("limits: RLIMIT_MSGQUEUE %llu bytes of queues per user\n",
               (unsigned long long)bytes.rlim_cur);
    return l;
}

/* Say plainly which part of the request is above which limit; returns how many are. */
static int report_excess(const struct options *o, const struct limits *l)
{
    int above = 0;
    if (l->msg_max >= 0 && o->max_messages > l->msg_max) {
        printf("request: --max-messages %ld is above msg_max %ld\n", o->max_messages, l->msg_max);
        above++;
    }
    if (l->msgsize_max >= 0 && o->message_size > l->msgsize_max) {
        printf("request: --message-size %ld is above msgsize_max %ld\n", o->message_size,
               l->msgsize_max);
        above++;
    }
    return above;
}

/* --- opening ----------------------------------------------------------------------------- */

/* mq_open with exactly the attributes asked for; a refusal names the limit behind it. */
static mqd_t open_queue(const char *name, const struct options *o, const struct limits *l)
{
    int above = report_excess(o, l);
    struct mq_attr attr = {.mq_maxmsg = o->max_messages, .mq_msgsize = o->message_size};
    cleanup_add_name(IPC_MQUEUE, name); /* before creating: a Ctrl-C right after is covered */
    /* O_EXCL: we want a queue of our own, never someone else's with other sizes. */
    mqd_t mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (mq == (mqd_t)-1) {
        if (errno == EINVAL && above && !has_cap_sys_resource())
            die("mq_open: EINVAL: the request is above msg_max %ld / msgsize_max %ld "
                "(see the request line above); it is not made smaller for you",
                l->msg_max, l->msgsize_max);
        if (errno == EINVAL) /* privileged, or within msg_max: past the kernel's own ceiling */
            die("mq_open: EINVAL: above the kernel's fixed ceiling (HARD_MSGMAX 65536 messages, "
                "HARD_MSGSIZEMAX 16 MiB) that even a privileged process cannot pass");
        if (errno == EMFILE)
            die("mq_open: EMFILE: %ld x %ld bytes is more than RLIMIT_MSGQUEUE allows",
                o->max_messages, o->message_size);
        if (errno == ENOSPC)
            die("mq_open: ENOSPC: queues_max %ld queues already exist", l->queues_max);
        die("mq_open(%s)", name);
    }
    if (above) /* allowed past msg_max / msgsize_max: say why, do not pretend it was normal */
        printf("note: mq_open accepted it because this process %s CAP_SYS_RESOURCE, which "
               "ignores msg_max and msgsize_max; an ordinary user gets EINVAL\n",
               has_cap_sys_resource() ? "has" : "apparently has");
    /* Read back what the kernel made: the proof that nothing was quietly adjusted. */
    struct mq_attr got;
    if (mq_getattr(mq, &got) == -1)
        die("mq_getattr");
    printf("queue %s: mq_maxmsg %ld, mq_msgsize %ld (as asked)\n", name, (long)got.mq_maxmsg,
           (long)got.mq_msgsize);
    return mq;
}

/* --- priorities ---------------------------------------------------------------------------- */

static const unsigned priorities[PRIORITY_MESSAGES] = {1, 5, 9, 5, 0, 9};

/* The child: send messages tagged with their send order and priority, then leave. */
static void send_with_priorities(mqd_t mq, int count, long message_size)
{
    for (int i = 0; i < count; i++) {
        char text[32]; /* "#5 p9" needs SHORTEST_TEXT; room to spare for the compiler */
        snprintf(text, sizeof text, "#%d p%u", i, priorities[i]);
        (void)message_size; /* the caller checked that SHORTEST_TEXT bytes fit */
        /* Sent one after the other without a reader: they pile up in the queue, which holds
         * at least as many as we send (the caller made sure). */
        if (mq_send(mq, text, strlen(text) + 1, priorities[i]) == -1)
            die("mq_send");
    }
}

/* Start a child that runs fn(mq, count, size) under a watchdog, and leaves. */
static pid_t start_queue_child(void (*fn)(mqd_t, int, long), mqd_t mq, int count, long size)
{
    pid_t pid = start_child();
    if (pid == 0) {
        alarm(WATCHDOG_SECONDS); /* a child stuck in a blocking call dies of SIGALRM */
        fn(mq, count, size);
        leave_child(EXIT_SUCCESS); /* not exit(): the atexit handler would unlink our queue */
    }
    return pid;
}

/* Receive what the child sent and check the order: priority down, send order within one. */
static int show_priorities(mqd_t mq, const struct options *o)
{
    long message_size = o->message_size;
    if (message_size < SHORTEST_TEXT) {
        printf("priority: skipped, messages of %ld bytes cannot hold \"#5 p9\"\n", message_size);
        return 0;
    }
    /* No more than the queue holds: we reap the child before receiving anything. */
    int count = o->max_messages < PRIORITY_MESSAGES ? (int)o->max_messages : PRIORITY_MESSAGES;
    /* Reap the sender before the first receive: all messages are queued by then, so the
     * order we see is the queue's doing, not a matter of who ran first. */
    if (reap_child(start_queue_child(send_with_priorities, mq, count, message_size), "sender"))
        return 1;
    char *buffer = malloc((size_t)message_size + 1); /* mq_receive needs >= mq_msgsize */
    if (buffer == NULL)
        die("malloc");
    int in_order = 1, previous_priority = 1 << 30, previous_index = -1;
    for (int i = 0; i < count; i++) {
        unsigned priority;
        ssize_t n = mq_receive(mq, buffer, (size_t)message_size, &priority);
        if (n == -1)
            die("mq_receive");
        buffer[n] = '\0';
        int index = -1; /* the send order, written by the child as "#N" */
        sscanf(buffer, "#%d", &index);
        printf("priority: received \"%s\" (priority %u)\n", buffer, priority);
        /* In order: priorities never rise, and equal priorities keep their send order. */
        if ((int)priority > previous_priority ||
            ((int)priority == previous_priority && index < previous_index))
            in_order = 0;
        previous_priority = (int)priority;
        previous_index = index;
    }
    free(buffer);
    printf("priority: highest first, send order within a priority: %s\n", in_order ? "yes" : "NO");
    return !in_order;
}

/* --- non-blocking, blocking, timed ---------------------------------------------------------- */

/* A second descriptor with O_NONBLOCK: the flag belongs to the open queue description. */
static int show_nonblocking(const char *name, const struct options *o)
{
    mqd_t mq = mq_open(name, O_RDWR | O_NONBLOCK);
    if (mq == (mqd_t)-1)
        die("mq_open(%s, O_NONBLOCK)", name);
    char *buffer = malloc((size_t)o->message_size);
    if (buffer == NULL)
        die("malloc");
    /* Empty: a blocking descriptor would sleep here; this one answers at once. */
    if (mq_receive(mq, buffer, (size_t)o->message_size, NULL) != -1 || errno != EAGAIN)
        die("mq_receive on an empty O_NONBLOCK queue should fail with EAGAIN");
    printf("non-blocking: mq_receive on the empty queue: EAGAIN\n");
    long sent = 0;
    /* Fill it: the send after the last free place fails instead of waiting for a reader. */
    while (mq_send(mq, "x", 1, 0) == 0)
        sent++;
    if (errno != EAGAIN)
        die("mq_send");
    printf("non-blocking: %ld sends fit, the next mq_send: EAGAIN (full at mq_maxmsg %ld)\n", sent,
           o->max_messages);
    long received = 0; /* empty it again, so the next steps start from an empty queue */
    while (mq_receive(mq, buffer, (size_t)o->message_size, NULL) != -1)
        received++;
    if (errno != EAGAIN)
        die("mq_receive");
    printf("non-blocking: drained %ld messages, then EAGAIN again\n", received);
    free(buffer);
    if (mq_close(mq) == -1)
        die("mq_close");
    return sent != o->max_messages || received != sent;
}

/* The child: a plain mq_receive on an empty queue waits for the parent's send. */
static void receive_and_wait(mqd_t mq, int unused, long message_size)
{
    (void)unused;
    char *buffer = malloc((size_t)message_size + 1);
    if (buffer == NULL)
        die("malloc");
    int64_t start = monotonic_ns(); /* how long the call sleeps shows that it blocked */
    ssize_t n = mq_receive(mq, buffer, (size_t)message_size, NULL);
    if (n == -1)
        die("mq_receive");
    buffer[n] = '\0';
    printf("blocking: child pid %d waited %.0f ms in mq_receive, then got \"%s\"\n", (int)getpid(),
           (double)(monotonic_ns() - start) / 1e6, buffer);
    free(buffer);
}

static int show_blocking(mqd_t mq, const struct options *o)
{
    pid_t child = start_queue_child(receive_and_wait, mq, 0, o->message_size);
    /* Let it block first.  Not needed for correctness: had we sent first, its receive would
     * simply find the message waiting. */
    sleep_ns(100 * 1000000LL);
    const char *text = o->message_size >= 3 ? "go" : "g"; /* "go" and its NUL must fit */
    printf("blocking: parent pid %d sends \"%s\"\n", (int)getpid(), text);
    flush_or_die(stdout); /* so this line comes out before the child's */
    if (mq_send(mq, text, strlen(text) + (o->message_size >= 3), 0) == -1)
        die("mq_send");
    return reap_child(child, "receiver");
}

/* mq_timedreceive takes an absolute CLOCK_REALTIME deadline, not a duration. */
static int show_timed(mqd_t mq, const struct options *o)
{
    struct timespec deadline = deadline_after_ns(CLOCK_REALTIME, o->timeout_ms * 1000000LL);
    char *buffer = malloc((size_t)o->message_size);
    if (buffer == NULL)
        die("malloc");
    int64_t start = monotonic_ns(); /* measured on the monotonic clock, which never jumps */
    ssize_t n = mq_timedreceive(mq, buffer, (size_t)o->message_size, NULL, &deadline);
    int err = errno;
    free(buffer);
    if (n != -1 || err != ETIMEDOUT) {
        errno = err;
        die("mq_timedreceive on an empty queue should fail with ETIMEDOUT");
    }
    printf("timed: mq_timedreceive on the empty queue: ETIMEDOUT after %.0f ms (asked %ld ms)\n",
           (double)(monotonic_ns() - start) / 1e6, o->timeout_ms);
    return 0;
}

/* --- main ----------------------------------------------------------------------------- */

static struct options parse_options(int argc, char **argv)
{
    struct options o = {.max_messages = 8, .message_size = 256, .timeout_ms = 200};
    static const struct option long_options[] = {{"max-messages", required_argument, 0, 'm'},
                                                 {"message-size", required_argument, 0, 's'},
                                                 {"timeout-ms", required_argument, 0, 't'},
                                                 {"help", no_argument, 0, 'h'},
                                                 {0, 0, 0, 0}};
    opterr = 0; /* we print our own one-line reasons */
    int c;
    while ((c = getopt_long(argc, argv, ":m:s:t:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'm': o.max_messages = parse_long(optarg, "--max-messages", 1, 1 << 20, usage); break;
        case 's':
            o.message_size = (long)parse_size(optarg, "--message-size", 1, 1 << 26, usage);
            break;
        case 't': o.timeout_ms = parse_long(optarg, "--timeout-ms", 1, 60000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return o;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct options o = parse_options(argc, argv);
    cleanup_install();
    struct limits limits = report_limits();
    char name[96];
    unique_ipc_name(name, sizeof name, "mqueue");
    mqd_t mq = open_queue(name, &o, &limits);
    /* One queue for every step; each step leaves it empty for the next. */
    int failed = show_priorities(mq, &o);
    failed |= show_nonblocking(name, &o);
    failed |= show_blocking(mq, &o);
    failed |= show_timed(mq, &o);
    if (mq_close(mq) == -1) /* our descriptor; the child's copies closed when it exited */
        die("mq_close");
    if (mq_unlink(name) == -1) /* the name goes now; the queue when the last descriptor closes */
        die("mq_unlink(%s)", name);
    cleanup_forget_name(name);
    printf("unlinked %s\n", name);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
