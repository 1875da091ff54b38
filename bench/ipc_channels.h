/* ipc_channels.h - a two-way channel between a parent and the one child it forks, over any of
 * the transports the IPC workloads compare: a pipe, a FIFO, a socket pair, a POSIX message
 * queue and the shared-memory queue (lib/queues/shm_queue.h), general or single-producer
 * single-consumer.
 *
 * The order of calls, the same for every transport:
 *   ipc_channels_open       before fork: makes both directions (ab: parent to child, ba: back)
 *   ipc_channels_take_ends  after fork, in each process: its endpoint; the other's ends closed
 *   ipc_send, ipc_receive   move one message of n bytes, whole
 *   ipc_reap_peer           the parent reaps the child and says how it ended
 *   ipc_channels_close      the parent, after the reap: closes and removes what is left
 *
 * A message queue carries at most msgsize_max bytes per message (/proc/sys/fs/mqueue): a
 * larger message travels as several queue messages of mq_chunk bytes, and the size is never
 * cut.  A receiver's buffer needs mq_chunk bytes of slack beyond the message, since a piece
 * always lands whole.
 *
 * Every blocking hop of a message queue or shared-memory queue gives up after
 * IPC_WAIT_SECONDS (the peer is gone); a stream fails when the peer closes its end.  Nothing
 * is left behind: the message queues are unlinked as soon as they are open, the FIFOs are
 * registered with the support module's clean-up until ipc_channels_close removes them.
 */
#ifndef FORKLORE_IPC_CHANNELS_H
#define FORKLORE_IPC_CHANNELS_H

#include <limits.h>
#include <mqueue.h>
#include <stddef.h>
#include <sys/types.h>

struct shm_queue;

enum ipc_mechanism {
    IPC_BY_PIPE,
    IPC_BY_FIFO,
    IPC_BY_SOCKETPAIR,
    IPC_BY_MQUEUE,
    IPC_BY_SHM_QUEUE,
    IPC_BY_SHM_SPSC, /* the same queue made with shm_queue_create_spsc */
    IPC_MECHANISMS
};

/* "pipe", "FIFO", "socket pair", "POSIX message queue", "shm queue", "shm queue, SPSC": the
 * plots' series names. */
extern const char *const ipc_mechanism_names[IPC_MECHANISMS];

enum { IPC_WAIT_SECONDS = 20 }; /* a blocked hop longer than this means the peer is gone */

/* Everything made before fork, for both directions (ab: parent to child, ba: back). */
struct ipc_channels {
    enum ipc_mechanism mechanism;
    int ab[2], ba[2]; /* pipes; a socket pair uses ab only (it carries both directions) */
    char fifo_dir[PATH_MAX], fifo_ab[PATH_MAX + 8], fifo_ba[PATH_MAX + 8]; /* FIFOs' own folder */
    mqd_t mq_ab, mq_ba;
    struct shm_queue *q_ab, *q_ba;
    size_t mq_chunk; /* message queue: bytes per queue message, min(size, msgsize_max) */
};

/* One process's two ends: where it receives and where it sends. */
struct ipc_endpoint {
    enum ipc_mechanism mechanism;
    int in_fd, out_fd;   /* pipe, FIFO, socket pair */
    mqd_t in_mq, out_mq; /* message queue */
    struct shm_queue *in_q, *out_q;
    size_t mq_chunk; /* a message queue carries at most msgsize_max per message */
};

/* Make the channels for messages of `size` bytes; a shared-memory queue gets `ring_slots`
 * slots.  0, or -1 with errno set; on failure, ipc_channels_close(c, NULL) still applies. */
int ipc_channels_open(struct ipc_channels *c, enum ipc_mechanism m, size_t size, size_t ring_slots);

/* This process's ends after fork (child: 1 in the child, 0 in the parent).  0, or -1. */
int ipc_channels_take_ends(struct ipc_channels *c, int child, struct ipc_endpoint *e);

/* Send or receive exactly n bytes as one message.  0, or -1 (the peer is gone or an error). */
int ipc_send(const struct ipc_endpoint *e, const char *p, size_t n);
int ipc_receive(const struct ipc_endpoint *e, char *p, size_t n);

/* Put this process on one CPU (to keep the two ends on different CPUs): sched_setaffinity's
 * result. */
int ipc_pin_self(int cpu);

/* Reap the child `pid` (and forget it in the clean-up list); 0 if it exited with 0, else
 * -1 with "WHO exited with N" or "WHO was killed by signal S" in detail. */
int ipc_reap_peer(pid_t pid, const char *who, char *detail, size_t size);

/* The parent's clean-up after the child is reaped; e: the parent's ends, or NULL if none. */
void ipc_channels_close(struct ipc_channels *c, const struct ipc_endpoint *e);

#endif
