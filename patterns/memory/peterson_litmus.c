#define _GNU_SOURCE
/* peterson_litmus.c - Peterson's lock run for real by two processes: correct in every schedule
 * (schedule_explorer peterson), broken on real hardware until a fence is added.
 *
 * Usage: peterson_litmus [options]
 *   -n, --iterations N   lock/unlock rounds per process (default 100000)
 *   -f, --fence          a seq_cst fence between "flag[me] = 1; turn = other" and the spin
 *   -h, --help           this text
 *
 * The lock, for process me and the other one:
 *     flag[me] = 1;  turn = other;  while (flag[other] && turn == other) ;   ... unlock: flag[me] =
 * 0 Both processes meet at a barrier before each round, so that they take the lock at the same
 * moment.  Inside, each adds 1 to a plain shared counter (a load and a store) and counts, with
 * an atomic, how many processes are inside.
 *
 * What to observe:
 *   - Without --fence, on 2 CPUs: "both inside" is seen, and the counter ends short of 2 x N.
 *     The stores and loads are release and acquire, which on x86 are plain movs: each
 *     process's "flag[me] = 1" waits in its store buffer while its load of flag[other] reads
 *     the old 0, exactly as in store_buffering.  Release/acquire orders store-store and
 *     load-load, not store-then-load, and Peterson needs store-then-load.
 *   - With --fence the store buffer drains before the spin reads: never two inside, the
 *     counter exact.
 *   - With one usable CPU the program says it cannot show the effect (and the lock holds).
 *
 * Python counterpart: none (see memory/litmus.h); multiprocessing.Lock is a POSIX semaphore,
 * whose atomic instructions are full barriers: nobody should write Peterson's lock for use.
 *
 * See also: lessons/05-locks.md, store_buffering.c, ../races/schedule_explorer.c (peterson).
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory/litmus.h"
#include "support/error.h"

static const char usage[] =
    "Usage: peterson_litmus [options]\n"
    "  -n, --iterations N   lock/unlock rounds per process (default 100000)\n"
    "  -f, --fence          a seq_cst fence between the two stores and the spin\n"
    "  -h, --help           this text\n";

enum { SPINS_BEFORE_YIELD = 1 << 10 }; /* on one CPU the holder runs only if we yield */

struct page {
    struct litmus_barrier barrier;
    long iterations;
    int fence;
    _Alignas(64) atomic_int flag[2];
    _Alignas(64) atomic_int turn;
    _Alignas(64) atomic_int inside;     /* processes in the critical section right now */
    atomic_long both_inside;            /* times a process entered and found the other there */
    _Alignas(64) volatile long counter; /* plain: the lock alone must protect it */
};

static void peterson_lock(struct page *p, int me)
{
    int other = 1 - me;
    atomic_store_explicit(&p->flag[me], 1, memory_order_release); /* I want in */
    atomic_store_explicit(&p->turn, other, memory_order_release); /* after you */
    if (p->fence)
        atomic_thread_fence(memory_order_seq_cst); /* both stores visible before I look */
    else
        atomic_signal_fence(
            memory_order_seq_cst); /* the compiler keeps the order; the CPU need not */
    for (long spins = 1; atomic_load_explicit(&p->flag[other], memory_order_acquire) &&
                         atomic_load_explicit(&p->turn, memory_order_acquire) == other;
         spins++)
        if (spins % SPINS_BEFORE_YIELD == 0)
            sched_yield();
}

static void peterson_unlock(struct page *p, int me)
{
    atomic_store_explicit(&p->flag[me], 0, memory_order_release); /* publishes my updates */
}

static void rounds_body(int me, void *shared)
{
    struct page *p = shared;
    for (long i = 0; i < p->iterations; i++) {
        /* Both reach the lock at the same moment in every round: the race is in the lock's
         * first instructions, and a process already spinning has long drained its stores. */
        litmus_barrier_wait(&p->barrier, me, i + 1);
        peterson_lock(p, me);
        if (atomic_fetch_add(&p->inside, 1) != 0) /* the other is inside too */
            atomic_fetch_add(&p->both_inside, 1);
        p->counter = p->counter + 1; /* load, add, store: loses updates if not alone */
        atomic_fetch_sub(&p->inside, 1);
        peterson_unlock(p, me);
    }
}

static void prepare(void *page, const struct litmus_options *opt)
{
    struct page *p = page;
    p->iterations = opt->count;
    p->fence = opt->fixed;
}

static int report(const void *page, const struct litmus_cpus *cpus)
{
    const struct page *p = page;
    long expected = 2 * p->iterations, both = atomic_load(&p->both_inside);
    printf("iterations: %ld per process, %s\n", p->iterations,
           p->fence ? "with a seq_cst fence before the spin"
                    : "release stores and acquire loads, no fence");
    printf("both inside: %ld times\n", both);
    printf("counter: %ld of %ld (lost %ld)\n", p->counter, expected, expected - p->counter);
    int broken = both != 0 || p->counter != expected;
    if (broken && p->fence) {
        printf("BUG: mutual exclusion failed although fenced\n");
        return EXIT_FAILURE;
    }
    if (broken)
        printf("verdict: mutual exclusion broken: each process's store to its flag was still "
               "in its store buffer when the other read it\n");
    else if (p->fence)
        printf("verdict: exact: the fence makes Peterson's lock correct\n");
    else
        printf("verdict: exact in this run%s\n",
               cpus->distinct ? " (try more --iterations)" : ": one CPU cannot show the bug");
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct litmus_options opt =
        litmus_parse_options(argc, argv, usage, "iterations", 100000, "fence", 'f');
    static const struct litmus_program program = {"peterson_litmus", sizeof(struct page), prepare,
                                                  rounds_body, report};
    return litmus_main(&program, &opt);
}
