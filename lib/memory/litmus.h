/* litmus.h - what the memory-reordering litmus programs share: two processes on two CPUs, one
 * shared page, and a barrier that starts each trial in both processes at the same moment.
 *
 * A litmus test is a few loads and stores by two processes and a table of the outcomes that
 * were seen.  Whether an outcome is possible is a property of the hardware's memory model (and
 * of the language's): x86 keeps stores in order and loads in order but lets a load overtake an
 * earlier store to another address (its store buffer); ARM and POWER allow more.  To see an
 * outcome at all, the two processes must run at the same time on different CPUs and start each
 * trial together, so this module
 *   - forks the two processes and pins them to the first two CPUs this process may use (with
 *     one usable CPU they share it, and the program must say that it cannot show the effect:
 *     a CPU always sees its own stores, and a context switch drains the store buffer);
 *   - gives a two-party spin barrier in shared memory, passed once per trial;
 *   - reaps both processes and reports a failure in either.
 *
 * Python counterpart: none.  CPython's objects are reached through reference counts and, in
 * multiprocessing.shared_memory, through memoryview copies; Python has no memory-model
 * vocabulary of its own, so these effects are only visible from C (or ctypes) code.
 */
#ifndef FORKLORE_LITMUS_H
#define FORKLORE_LITMUS_H

#include <stdatomic.h>
#include <stddef.h>

/* Two words on two cache lines: a process spinning on one does not slow the other's store. */
struct litmus_barrier {
    _Alignas(64) atomic_long arrived[2];
    char pad[64 - sizeof(atomic_long)];
};

/* Wait until the other process has also reached round (rounds count up from 1). */
void litmus_barrier_wait(struct litmus_barrier *b, int me, long round);

/* An anonymous MAP_SHARED mapping of size bytes, zeroed, inherited across fork. */
void *litmus_map(size_t size);
void litmus_unmap(void *p, size_t size);

/* The CPUs the two processes were given, and whether they differ. */
struct litmus_cpus {
    int cpu[2];
    int distinct; /* 0: one usable CPU, both processes share it */
};

/* Choose the CPUs (the first two usable ones) and print the line that says where the two
 * processes run, and, with one CPU, that the machine cannot show a reordering. */
struct litmus_cpus litmus_choose_cpus(const char *program);

/* Fork processes 0 and 1, pin each to its CPU, run body(me, shared) in each, reap both.
 * Returns 0 if both exited 0, else 1 (after printing how each failed). */
int litmus_run_pair(const struct litmus_cpus *cpus, void (*body)(int me, void *shared),
                    void *shared);

/* Run trials in batches of batch: before trial i (0 <= i < n) both processes meet at the
 * barrier, then each runs trial(page, me, i); after a batch, process 0 runs tally(page, n) to
 * count its outcomes and clear its variables while process 1 waits.  Each trial gets fresh
 * variables (index i), so nothing has to be reset between two trials. */
void litmus_batches(struct litmus_barrier *b, int me, long trials, int batch,
                    void (*trial)(void *page, int me, int i), void (*tally)(void *page, int n),
                    void *page);

/* The outcome table: "  r0=A r1=B  COUNT  MEANING" for the four outcomes [r0][r1]. */
void litmus_print_outcomes(const long outcomes[2][2], const char *const meaning[2][2]);

/* The command line every litmus program takes: -n/--COUNT_NAME N, one switch that turns the
 * broken variant into the fixed one (-f/--fence, -r/--release-acquire), and -h/--help. */
struct litmus_options {
    long count;
    int fixed;
};
struct litmus_options litmus_parse_options(int argc, char **argv, const char *usage,
                                           const char *count_name, long default_count,
                                           const char *fixed_name, char fixed_letter);

/* A litmus program: its page, what each process runs, and how the outcome is reported. */
struct litmus_program {
    const char *name;
    size_t page_size;
    void (*prepare)(void *page, const struct litmus_options *opt);
    void (*body)(int me, void *page);
    int (*report)(const void *page, const struct litmus_cpus *cpus); /* the exit status */
};

/* main's work: install the cleanup, choose the CPUs, map and prepare the page, run the pair,
 * report, unmap.  Returns the exit status. */
int litmus_main(const struct litmus_program *program, const struct litmus_options *opt);

#endif
