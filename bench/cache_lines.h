/* cache_lines.h - the hardware's own limits for the IPC workloads, measured in the same run as
 * the queues they judge: two processes on two CPUs that share nothing but cache lines.
 *
 *   cache_line_round_trips  one 64-byte line passed back and forth: A writes a number, B waits
 *                           to see it and writes the next, A waits for that.  A round trip is
 *                           two transfers of the line between the cores; half of it is the
 *                           one-way transfer, the floor for any message's latency.
 *   cache_line_stream       a ring of 64-byte lines that A writes and B reads, each line
 *                           carrying its own sequence number (B's only signal), with B telling
 *                           A how far it has read every 16 lines: the floor for a stream of
 *                           64-byte messages, since a queue must at least move the line.
 *
 * Both sides spin (that is the point: no system call, no sleep), check what they saw (the
 * numbers must arrive in order), and give up after IPC_WAIT_SECONDS if the other side is gone.
 * The child is forked, pinned, reaped inside the call; the caller's affinity is restored.
 * Each returns the round trips or lines done in about budget_ns, or -1 with a reason in
 * detail (a failed system call, a wrong number, a lost peer).
 *
 * Two spinners are what a loaded machine's scheduler treats worst: when a third process wants
 * one of the CPUs, a spinner runs out its time slice and the other spins on a line nobody
 * writes, and the average over the run says more about the other process than about the
 * hardware.  So the calls also time the run in stretches (256 round trips, 2048 lines) and
 * give the median stretch in *typical_ns (ns per round trip or per line): stretches in which
 * a spinner was preempted fall above it, and so do moments when a virtual machine's host put
 * both virtual CPUs on one physical core for a while (much faster than two cores) below it.
 * It is the harder figure for a queue to approach, since the queue's own figure is its
 * average over the whole run, preemptions included.
 */
#ifndef FORKLORE_CACHE_LINES_H
#define FORKLORE_CACHE_LINES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Spin until *word >= want (ACQUIRE), the value seen in *seen; 0, or -1 once
 * IPC_WAIT_SECONDS have passed (the other side is gone).  The ladder's rings use it too. */
int spin_until_at_least(_Atomic uint64_t *word, uint64_t want, uint64_t *seen);

long cache_line_round_trips(const int cpus[2], int64_t budget_ns, double *typical_ns, char *detail,
                            size_t size);
long cache_line_stream(const int cpus[2], int64_t budget_ns, double *typical_ns, char *detail,
                       size_t size);

#endif
