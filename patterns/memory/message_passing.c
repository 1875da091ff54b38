#define _GNU_SOURCE
/* message_passing.c - one process writes data, then a flag; the other reads the flag, then the
 * data: can it see the flag set and the data not yet written?
 *
 * Usage: message_passing [options]
 *   -n, --trials N          trials (default 200000)
 *   -r, --release-acquire   store the flag with release, load it with acquire (default:
 *                           both relaxed, with only a compiler barrier between the two)
 *   -h, --help              this text
 *
 * The test (data and flag start at 0 in every trial):
 *     process 0 (writer):  data = 1;  flag = 1;       process 1 (reader):  r0 = flag;  r1 = data;
 * "r0=1 r1=0" (the flag without its data) is the forbidden outcome: the bug a hand-rolled
 * queue has when its "ready" flag can overtake the payload.
 *
 * What to observe:
 *   - On x86, "r0=1 r1=0" never appears, even with relaxed accesses: x86 (TSO) keeps stores in
 *     order (the store buffer is first in, first out) and does not let a load overtake an
 *     earlier load.  The program says which machine it ran on and what that means.
 *   - On ARM or POWER, relaxed accesses may show it: both the stores and the loads may be
 *     reordered.  --release-acquire forbids it everywhere: a release store publishes
 *     everything before it, and an acquire load that sees it sees all of that.  On x86 both
 *     orders compile to the same plain mov instructions: the ordering is free there.
 *   - With one usable CPU the program says it cannot show a reordering.
 *
 * Python counterpart: none (see memory/litmus.h); a multiprocessing.Queue or Pipe carries the
 * data and the "it is ready" in one message, so the question never arises.
 *
 * See also: lessons/05-locks.md, store_buffering.c, ../queues/shm_queue.c (a release store of
 * the slot's sequence number after the payload, an acquire load before reading it).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory/litmus.h"
#include "support/error.h"

static const char usage[] =
    "Usage: message_passing [options]\n"
    "  -n, --trials N          trials (default 200000)\n"
    "  -r, --release-acquire   store the flag with release, load it with acquire (default:\n"
    "                          relaxed, only a compiler barrier)\n"
    "  -h, --help              this text\n";

enum { BATCH = 4096 }; /* fresh variables per trial; process 0 counts and clears a batch */

struct page {
    struct litmus_barrier barrier;
    long trials;
    int release_acquire;
    long outcomes[2][2]; /* [r0 = flag][r1 = data] */
    _Alignas(64) atomic_int data[BATCH];
    _Alignas(64) atomic_int flag[BATCH];
    _Alignas(64) int result[2][BATCH];
};

static void write_message(const struct page *p, atomic_int *data, atomic_int *flag)
{
    atomic_store_explicit(data, 1, memory_order_relaxed);
    if (p->release_acquire) {
        atomic_store_explicit(flag, 1, memory_order_release); /* publishes data = 1 */
    } else {
        atomic_signal_fence(memory_order_seq_cst); /* only the compiler keeps the order */
        atomic_store_explicit(flag, 1, memory_order_relaxed);
    }
}

/* Returns flag * 2 + data as seen. */
static int read_message(const struct page *p, atomic_int *data, atomic_int *flag)
{
    int f;
    if (p->release_acquire) {
        f = atomic_load_explicit(flag, memory_order_acquire); /* sees what the release published */
    } else {
        f = atomic_load_explicit(flag, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    }
    return f * 2 + atomic_load_explicit(data, memory_order_relaxed);
}

/* Process 0, after a batch: count its outcomes and clear its variables. */
static void count_and_clear(void *page, int n)
{
    struct page *p = page;
    for (int i = 0; i < n; i++) {
        int seen = p->result[1][i];
        p->outcomes[seen / 2][seen % 2]++;
        atomic_store_explicit(&p->data[i], 0, memory_order_relaxed);
        atomic_store_explicit(&p->flag[i], 0, memory_order_relaxed);
    }
}

static void trial(void *page, int me, int i)
{
    struct page *p = page;
    if (me == 0)
        write_message(p, &p->data[i], &p->flag[i]);
    else
        p->result[1][i] = read_message(p, &p->data[i], &p->flag[i]);
}

static void trial_body(int me, void *page)
{
    struct page *p = page;
    litmus_batches(&p->barrier, me, p->trials, BATCH, trial, count_and_clear, p);
}

static void prepare(void *page, const struct litmus_options *opt)
{
    struct page *p = page;
    p->trials = opt->count;
    p->release_acquire = opt->fixed;
}

/* What this machine's memory model says about the forbidden outcome with relaxed accesses. */
static const char *machine_model(int *forbids)
{
#if defined(__x86_64__) || defined(__i386__)
    *forbids = 1;
    return "x86 (TSO): stores leave the store buffer in program order and a load is never "
           "reordered with an earlier load, so \"r0=1 r1=0\" cannot happen here, relaxed or not";
#elif defined(__aarch64__) || defined(__arm__) || defined(__powerpc__) || defined(__powerpc64__)
    *forbids = 0;
    return "a weakly ordered machine (ARM or POWER): stores may become visible out of order and "
           "loads may be satisfied out of order, so relaxed accesses may show \"r0=1 r1=0\"";
#else
    *forbids = 0;
    return "a machine this program does not know: its model decides whether relaxed accesses "
           "may show \"r0=1 r1=0\"";
#endif
}

static int report(const void *page, const struct litmus_cpus *cpus)
{
    const struct page *p = page;
    (void)cpus; /* litmus_choose_cpus has said what one CPU means */
    static const char *const meaning[2][2] = {
        {"read before the writer started", "saw the data, not yet the flag"},
        {"the flag without its data: forbidden", "the whole message"}};
    int forbids;
    const char *model = machine_model(&forbids);
    printf("trials: %ld, order: %s\n", p->trials,
           p->release_acquire ? "release store of the flag, acquire load of it"
                              : "relaxed (only a compiler barrier)");
    litmus_print_outcomes(p->outcomes, meaning);
    printf("machine: %s\n", model);
    long forbidden = p->outcomes[1][0];
    if (forbidden && (p->release_acquire || forbids)) {
        printf("BUG: \"r0=1 r1=0\" seen %ld times although the memory model forbids it\n",
               forbidden);
        return EXIT_FAILURE;
    }
    if (forbidden)
        printf("verdict: \"r0=1 r1=0\" seen %ld times: this machine reordered the message\n",
               forbidden);
    else
        printf("verdict: \"r0=1 r1=0\" never seen%s\n",
               p->release_acquire ? ": release-acquire forbids it on every machine"
               : forbids          ? ", as this machine's model guarantees"
                                  : " in this run");
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct litmus_options opt =
        litmus_parse_options(argc, argv, usage, "trials", 200000, "release-acquire", 'r');
    static const struct litmus_program program = {"message_passing", sizeof(struct page), prepare,
                                                  trial_body, report};
    return litmus_main(&program, &opt);
}
