#define _GNU_SOURCE
/* store_buffering.c - two processes each store 1 to their own flag and then load the other's;
 * on real hardware both can read 0, an outcome no interleaving of the four steps allows.
 *
 * Usage: store_buffering [options]
 *   -n, --trials N   trials (default 200000)
 *   -f, --fence      a seq_cst fence between each store and the load that follows it
 *   -h, --help       this text
 *
 * The test (x and y start at 0 in every trial; r0 and r1 are each process's result):
 *     process 0:  x = 1;  r0 = y;          process 1:  y = 1;  r1 = x;
 * Under sequential consistency (one global order of the four steps, as schedule_explorer
 * assumes) some store comes first, so at least one load sees a 1: "r0=0 r1=0" is impossible.
 *
 * What to observe:
 *   - Without --fence, on x86 with 2 CPUs, "r0=0 r1=0" appears, typically a few hundred to a
 *     few thousand times in 200000 trials.  Each CPU puts its store in its store buffer and
 *     runs the load at once, before the store has reached the cache the other CPU reads.
 *   - With --fence (mfence on x86, dmb on ARM) a CPU waits for its store buffer to drain before
 *     it loads: "r0=0 r1=0" never appears.  The accesses are C11 atomics either way; without
 *     the fence they are relaxed, with only a compiler barrier, so the compiler keeps their
 *     order and what you see is the hardware's doing.
 *   - With one usable CPU (taskset -c 0) the program says it cannot show the effect, and the
 *     count is 0: a CPU always sees its own stores.
 *
 * Python counterpart: none (see memory/litmus.h); multiprocessing.Value with a lock makes every
 * access go through a semaphore, which is a full barrier.
 *
 * See also: lessons/05-locks.md (the store buffer), message_passing.c, peterson_litmus.c,
 * ../races/schedule_explorer.c (peterson: correct only under sequential consistency).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory/litmus.h"
#include "support/error.h"

static const char usage[] =
    "Usage: store_buffering [options]\n"
    "  -n, --trials N   trials (default 200000)\n"
    "  -f, --fence      a seq_cst fence between each store and the following load\n"
    "  -h, --help       this text\n";

/* Trials run in batches: each trial has fresh variables (no reset between trials), and
 * process 0 counts and clears a batch while process 1 waits. */
enum { BATCH = 4096 };

struct page {
    struct litmus_barrier barrier;
    long trials;
    int fence;
    long outcomes[2][2];              /* [r0][r1], counted by process 0 */
    _Alignas(64) atomic_int x[BATCH]; /* x and y on different cache lines in every trial */
    _Alignas(64) atomic_int y[BATCH];
    _Alignas(64) int result[2][BATCH];
};

/* One trial's two steps for this process: store to mine, load the other's. */
static int store_then_load(struct page *p, atomic_int *mine, atomic_int *theirs)
{
    atomic_store_explicit(mine, 1, memory_order_relaxed);
    if (p->fence)
        atomic_thread_fence(memory_order_seq_cst); /* the store drains before the load */
    else /* the compiler keeps the order; the CPU need not */
        atomic_signal_fence(memory_order_seq_cst);
    return atomic_load_explicit(theirs, memory_order_relaxed);
}

/* Process 0, after a batch: count its outcomes and clear its variables. */
static void count_and_clear(void *page, int n)
{
    struct page *p = page;
    for (int i = 0; i < n; i++) {
        p->outcomes[p->result[0][i]][p->result[1][i]]++;
        atomic_store_explicit(&p->x[i], 0, memory_order_relaxed);
        atomic_store_explicit(&p->y[i], 0, memory_order_relaxed);
    }
}

static void trial(void *page, int me, int i)
{
    struct page *p = page;
    p->result[me][i] =
        me == 0 ? store_then_load(p, &p->x[i], &p->y[i]) : store_then_load(p, &p->y[i], &p->x[i]);
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
    p->fence = opt->fixed;
}

static int report(const void *page, const struct litmus_cpus *cpus)
{
    const struct page *p = page;
    static const char *const meaning[2][2] = {
        {"both loads passed the other's store: the store buffer", "process 1 ran first"},
        {"process 0 ran first", "the stores overlapped"}};
    printf("trials: %ld, accesses: relaxed, %s\n", p->trials,
           p->fence ? "with a seq_cst fence between store and load"
                    : "no fence (only a compiler barrier)");
    litmus_print_outcomes(p->outcomes, meaning);
    long both_zero = p->outcomes[0][0];
    if (both_zero && p->fence) {
        printf("BUG: \"r0=0 r1=0\" seen %ld times although fenced\n", both_zero);
        return EXIT_FAILURE;
    }
    if (both_zero)
        printf("verdict: \"r0=0 r1=0\" seen %ld times in %ld trials (%.3f%%): a reordering no "
               "interleaving explains\n",
               both_zero, p->trials, 100.0 * both_zero / p->trials);
    else if (p->fence)
        printf("verdict: \"r0=0 r1=0\" never seen: the fence forbids it\n");
    else
        printf("verdict: \"r0=0 r1=0\" not seen in this run%s\n",
               cpus->distinct ? " (try more --trials)" : ": one CPU cannot show it");
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct litmus_options opt =
        litmus_parse_options(argc, argv, usage, "trials", 200000, "fence", 'f');
    static const struct litmus_program program = {"store_buffering", sizeof(struct page), prepare,
                                                  trial_body, report};
    return litmus_main(&program, &opt);
}
