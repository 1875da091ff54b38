/* explorer.h - the schedule explorer's engine: real processes that take one instrumented step
 * at a time when a conductor (the calling process) tells them to, and the depth-first search
 * over every schedule up to a preemption bound.
 *
 * A scenario (struct scenario) is the part a reader studies: the steps of each process, written
 * as functions over a shared page (struct world), and the invariant to check.  This module runs
 * it: it forks one process per scenario process, hands out the turns, records each step for
 * the step table, and enumerates the schedules the way CHESS and Loom do.  Its one program is
 * patterns/races/schedule_explorer.c, which holds the scenarios; lessons 04 and 07 use it.
 *
 * Python counterpart: none (multiprocessing leaves the interleaving to the OS).
 */
#ifndef FORKLORE_EXPLORER_H
#define FORKLORE_EXPLORER_H

#include <semaphore.h>
#include <stddef.h>
#include <sys/types.h>

/* Scenarios are small and fixed; these limits are theirs, not the machine's. */
enum { MAX_PROCESSES = 3, MAX_VARIABLES = 6, MAX_LOCKS = 2, MAX_CONDITIONS = 2, REGISTERS = 2 };
/* The longest schedule any scenario can run; a longer one means a scenario loops. */
enum { MAX_SCHEDULE_STEPS = 128 };
enum { TEXT = 96 };
enum { DONE = -1 };            /* the pc of a process that has finished */
enum { UNBOUNDED = -1 };       /* --bound all: no preemption bound */
enum { HANDOFF_SECONDS = 60 }; /* one step taking longer means a process is stuck */

/* What a process is told when the conductor posts its turn. */
enum command { TAKE_STEP, FORGET_REGISTERS, QUIT };

/* The page the processes and the conductor share.  The first part is the scenario's state;
 * the rest is the conductor's channel to each process. */
struct world {
    long var[MAX_VARIABLES];                     /* the scenario's shared variables */
    int lock_owner[MAX_LOCKS];                   /* -1: free, else the process holding it */
    long waiting[MAX_CONDITIONS][MAX_PROCESSES]; /* 0: not waiting, else its ticket (FIFO) */
    long tickets;
    int pc[MAX_PROCESSES];                /* each process's next step, or DONE */
    long shown[MAX_PROCESSES][REGISTERS]; /* a copy of each private register, to print */
    char detail[MAX_PROCESSES][TEXT];     /* what the last step saw, e.g. "-> 0" */
    char path[256];                       /* check_then_act's file, in a private folder */
    enum command command[MAX_PROCESSES];
    sem_t turn[MAX_PROCESSES]; /* "your move" */
    sem_t done;                /* "my step is over" */
};

/* A scenario: the processes' programs as numbered steps (pc indexes label), and four hooks.
 * step runs in the process; the others run in the conductor, reading the shared page. */
struct scenario {
    const char *name;
    const char *summary;
    const char *invariant;
    int processes;
    const char *const *labels[MAX_PROCESSES]; /* the steps of each process, by pc */
    int lengths[MAX_PROCESSES];
    void (*reset)(struct world *w); /* the state before the first step */
    int (*can_step)(const struct world *w, int me);
    void (*step)(struct world *w, long *reg, int me);
    /* NULL while the invariant holds; finished is 1 once every process is done. */
    const char *(*check)(const struct world *w, int finished, char *why, size_t size);
    void (*show)(const struct world *w, char *out, size_t size);
    int private_file; /* 1: the scenario uses w->path, a file in a folder of its own */
};

/* "A", "B", "C": how the step tables and --schedule name the processes. */
static inline char process_letter(int who)
{
    return (char)('A' + who);
}

/* Every variable 0, every lock free, nobody waiting, every process at its first step. */
void reset_world(struct world *w);

/* The scenario's name, summary, each process's numbered steps, and its invariant. */
void print_scenario(const struct scenario *s);

/* Every schedule of s within bound (UNBOUNDED: all of them): the counts, by preemptions, and
 * the shortest breaking schedule as a step table with the --schedule argument that replays it. */
void explore_one(const struct scenario *s, int bound);

/* Every scenario in the table, one summary line each. */
void explore_all(const struct scenario *scenarios, int count, int bound);

/* Run the one schedule the learner wrote ("A B A B", "A reads, B writes"), printing every step
 * with the shared state.  A schedule that cannot be run is a usage error (status 2, with
 * usage).  Returns the exit status. */
int run_given(const struct scenario *s, const char *schedule, const char *usage);

#endif
