/* ipc_channels.c - see ipc_channels.h. */
#define _GNU_SOURCE
#include "ipc_channels.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queues/shm_queue.h"
#include "support/cleanup.h"
#include "support/private_dir.h"

const char *const ipc_mechanism_names[IPC_MECHANISMS] = {
    "pipe", "FIFO", "socket pair", "POSIX message queue", "shm queue", "shm queue, SPSC"};

static int is_shm_queue(enum ipc_mechanism m)
{
    return m == IPC_BY_SHM_QUEUE || m == IPC_BY_SHM_SPSC;
}

/* --- moving one message ----------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1; /* 0: the peer closed its end early */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static struct timespec deadline_from_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t); /* mq_timed* deadlines are on CLOCK_REALTIME */
    t.tv_sec += IPC_WAIT_SECONDS;
    return t;
}

int ipc_send(const struct ipc_endpoint *e, const char *p, size_t n)
{
    if (is_shm_queue(e->mechanism))
        return shm_queue_push_timed(e->out_q, p, n, IPC_WAIT_SECONDS * 1000000000LL) ? -1 : 0;
    if (e->mechanism != IPC_BY_MQUEUE)
        return write_all(e->out_fd, p, n);
    for (size_t done = 0; done < n; done += e->mq_chunk) { /* chunks of msgsize_max at most */
        struct timespec t = deadline_from_now();
        size_t c = n - done < e->mq_chunk ? n - done : e->mq_chunk;
        if (mq_timedsend(e->out_mq, p + done, c, 0, &t) == -1)
            return -1;
    }
    return 0;
}

int ipc_receive(const struct ipc_endpoint *e, char *p, size_t n)
{
    if (is_shm_queue(e->mechanism)) {
        size_t length;
        int err = shm_queue_pop_timed(e->in_q, p, n, &length, IPC_WAIT_SECONDS * 1000000000LL);
        return err || length != n ? -1 : 0;
    }
    if (e->mechanism != IPC_BY_MQUEUE)
        return read_all(e->in_fd, p, n);
    for (size_t done = 0; done < n;) {
        struct timespec t = deadline_from_now();
        ssize_t r = mq_timedreceive(e->in_mq, p + done, e->mq_chunk, NULL, &t);
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* --- making the channels ------------------------------------------------------------------ */

static long read_mqueue_limit(const char *file, long fallback)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", file);
    FILE *f = fopen(path, "r");
    long v = fallback;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = fallback;
        fclose(f);
    }
    return v;
}

/* A queue that carries messages of up to `chunk` bytes.  Unlinked at once: the descriptors
 * (inherited by the child) keep it alive, and nothing can be left in /dev/mqueue. */
static mqd_t open_unlinked_mqueue(size_t chunk)
{
    char name[96];
    unique_ipc_name(name, sizeof name, "bench-mq");
    long depth = read_mqueue_limit("msg_max", 10);
    struct mq_attr attr = {.mq_maxmsg = depth < 10 ? depth : 10, .mq_msgsize = (long)chunk};
    mqd_t mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (mq != (mqd_t)-1)
        mq_unlink(name);
    return mq;
}

/* The two FIFOs, in a folder of their own (mode 0700), so nobody can plant a node at their
 * names first; the registry removes them and it on Ctrl-C before both ends are open. */
static int make_fifos(struct ipc_channels *c)
{
    if (make_private_dir(c->fifo_dir, sizeof c->fifo_dir, "bench-fifo") == -1) {
        c->fifo_dir[0] = '\0';
        return -1;
    }
    cleanup_add_name(IPC_DIRECTORY, c->fifo_dir);
    snprintf(c->fifo_ab, sizeof c->fifo_ab, "%s/ab", c->fifo_dir);
    snprintf(c->fifo_ba, sizeof c->fifo_ba, "%s/ba", c->fifo_dir);
    for (int i = 0; i < 2; i++) {
        char *path = i ? c->fifo_ba : c->fifo_ab;
        if (mkfifo(path, 0600) == -1) {
            path[0] = '\0';
            return -1;
        }
        cleanup_add_name(IPC_PATH, path);
    }
    return 0;
}

int ipc_channels_open(struct ipc_channels *c, enum ipc_mechanism m, size_t size, size_t ring_slots)
{
    memset(c, 0, sizeof *c);
    c->mechanism = m;
    switch (m) {
    case IPC_BY_PIPE: return pipe(c->ab) == -1 || pipe(c->ba) == -1 ? -1 : 0;
    case IPC_BY_SOCKETPAIR: return socketpair(AF_UNIX, SOCK_STREAM, 0, c->ab);
    case IPC_BY_FIFO: return make_fifos(c);
    case IPC_BY_MQUEUE: {
        size_t limit = (size_t)read_mqueue_limit("msgsize_max", 8192);
        c->mq_chunk = size < limit ? size : limit; /* larger messages go in several pieces */
        c->mq_ab = open_unlinked_mqueue(c->mq_chunk);
        c->mq_ba = open_unlinked_mqueue(c->mq_chunk);
        return c->mq_ab == (mqd_t)-1 || c->mq_ba == (mqd_t)-1 ? -1 : 0;
    }
    case IPC_BY_SHM_QUEUE:
    case IPC_BY_SHM_SPSC: { /* each direction has one sender and one receiver */
        int (*create)(struct shm_queue **, const char *, size_t, size_t) =
            m == IPC_BY_SHM_SPSC ? shm_queue_create_spsc : shm_queue_create;
        int err = create(&c->q_ab, NULL, size, ring_slots);
        if (!err)
            err = create(&c->q_ba, NULL, size, ring_slots);
        errno = err;
        return err ? -1 : 0;
    }
    default: return -1;
    }
}

/* The ends that belong to the other process are closed.  The FIFOs are opened in the same
 * order on both sides (ab, then ba), so neither open() waits for an open the other side has
 * not reached. */
int ipc_channels_take_ends(struct ipc_channels *c, int child, struct ipc_endpoint *e)
{
    memset(e, 0, sizeof *e);
    e->mechanism = c->mechanism;
    e->mq_chunk = c->mq_chunk;
    switch (c->mechanism) {
    case IPC_BY_PIPE:
        close(child ? c->ab[1] : c->ab[0]);
        close(child ? c->ba[0] : c->ba[1]);
        e->in_fd = child ? c->ab[0] : c->ba[0];
        e->out_fd = child ? c->ba[1] : c->ab[1];
        return 0;
    case IPC_BY_SOCKETPAIR:
        close(c->ab[child ? 0 : 1]);
        e->in_fd = e->out_fd = c->ab[child ? 1 : 0];
        return 0;
    case IPC_BY_FIFO:
        e->in_fd = e->out_fd = -1;
        if (child) {
            e->in_fd = open(c->fifo_ab, O_RDONLY);
            e->out_fd = open(c->fifo_ba, O_WRONLY);
        } else {
            e->out_fd = open(c->fifo_ab, O_WRONLY);
            e->in_fd = open(c->fifo_ba, O_RDONLY);
        }
        return e->in_fd == -1 || e->out_fd == -1 ? -1 : 0;
    case IPC_BY_MQUEUE:
        e->in_mq = child ? c->mq_ab : c->mq_ba;
        e->out_mq = child ? c->mq_ba : c->mq_ab;
        return 0;
    case IPC_BY_SHM_QUEUE:
    case IPC_BY_SHM_SPSC:
        e->in_q = child ? c->q_ab : c->q_ba;
        e->out_q = child ? c->q_ba : c->q_ab;
        return 0;
    default: return -1;
    }
}

void ipc_channels_close(struct ipc_channels *c, const struct ipc_endpoint *e)
{
    enum ipc_mechanism m = c->mechanism;
    if (e && (m == IPC_BY_PIPE || m == IPC_BY_SOCKETPAIR || m == IPC_BY_FIFO)) {
        if (e->in_fd > 0)
            close(e->in_fd);
        if (e->out_fd > 0 && e->out_fd != e->in_fd)
            close(e->out_fd);
    }
    if (m == IPC_BY_FIFO)
        for (int i = 0; i < 2; i++) {
            const char *path = i ? c->fifo_ba : c->fifo_ab;
            if (path[0]) {
                unlink(path); /* our own FIFO: nothing to do if it is already gone */
                cleanup_forget_name(path);
            }
        }
    if (m == IPC_BY_FIFO && c->fifo_dir[0]) {
        rmdir(c->fifo_dir); /* our own folder, now empty */
        cleanup_forget_name(c->fifo_dir);
    }
    if (m == IPC_BY_MQUEUE) {
        if (c->mq_ab != (mqd_t)-1 && c->mq_ab != 0)
            mq_close(c->mq_ab);
        if (c->mq_ba != (mqd_t)-1 && c->mq_ba != 0)
            mq_close(c->mq_ba);
    }
    if (c->q_ab)
        shm_queue_detach(c->q_ab);
    if (c->q_ba)
        shm_queue_detach(c->q_ba);
}

/* --- placing and reaping the peer ---------------------------------------------------------- */

int ipc_pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int ipc_reap_peer(pid_t pid, const char *who, char *detail, size_t size)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    cleanup_forget_child(pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(detail, size, "%s exited with %d", who, WEXITSTATUS(status));
    else
        snprintf(detail, size, "%s was killed by signal %d", who, WTERMSIG(status));
    return -1;
}
