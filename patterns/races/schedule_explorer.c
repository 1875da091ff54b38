#define _GNU_SOURCE
/* schedule_explorer.c - be the scheduler: run real processes one instrumented step at a time,
 * in the order you give or in every order up to a preemption bound, and check an invariant.
 *
 * Usage: schedule_explorer [options] [SCENARIO]
 *   -s, --schedule STEPS   run this one schedule and print every step with the shared state:
 *                          "A B A B", "Ar Br Aw Bw" or "A reads, B reads, A writes, B writes"
 *                          (a letter names the process; a word after it, if any, must begin
 *                          the name of that process's next step); steps left over when the
 *                          schedule ends are run without preemption
 *   -b, --bound N          explore every schedule with at most N preemptions (default 2, the
 *                          bound CHESS and Loom use); --bound all explores every schedule
 *   -l, --list             list the scenarios and the steps of each process
 *   -h, --help             this text
 *   With no SCENARIO, every scenario is explored and one summary line is printed for each.
 *
 * What to observe:
 *   - "schedules: 6 ... broken: 4": two processes that each read a counter and write it back
 *     can interleave in 6 ways, and 4 of them lose an update.  The count is exact: the
 *     explorer decides every step, so the same bound always gives the same numbers.
 *   - The shortest breaking schedule is printed as a step table and as a --schedule argument:
 *     paste it back to watch the failure again, step by step, as often as you like.
 *   - The broken/fixed pairs: opposite_lock_order deadlocks, same_lock_order never does;
 *     one_condition loses a wake-up, if_wait takes from an empty buffer, while_wait does
 *     neither; flag_lock lets two processes in, peterson never does (under sequential
 *     consistency: what real hardware does to it is patterns/memory/peterson_litmus.c).
 *   - Most broken schedules need only one or two preemptions: a small bound finds real bugs.
 *
 * How it works: every process of a scenario is a real forked process; they share one page
 * (mmap MAP_SHARED before fork) holding the scenario's variables.  A process takes a step only
 * when the conductor (the parent) posts its semaphore, and reports back when the step is over,
 * so the conductor, not the kernel, decides the interleaving.  Locks, condition variables and
 * spin loops are modelled as words in the page, as CHESS's scheduler models them: a process
 * whose next step would block (a held lock, a wait nobody has signalled, a spin loop whose
 * condition is still false) is simply not offered the turn, and a schedule in which no process
 * can move is a deadlock.  A signal wakes the longest waiter; there are no spurious wake-ups.
 * A preemption is a switch away from a process that could have gone on; a switch after a
 * process finished or blocked is free.
 *
 * Python counterpart: none in multiprocessing, which leaves the interleaving to the OS.  The
 * closest tools are Loom (Rust) and CHESS (.NET), which do this for threads; The Deadlock
 * Empire is the same game played by hand.
 *
 * The engine (the processes, the conductor, the search, the step tables) is lib/races/explorer.c;
 * this file holds the scenarios: what each process does, step by step, and what must hold.
 *
 * See also: lessons/04-races.md, lessons/07-classic-problems.md, lost_update.c (--replay),
 * check_then_act.c, ../memory/ (what hardware reordering adds to these schedules).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "races/explorer.h"
#include "support/cleanup.h"
#include "support/error.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: schedule_explorer [options] [SCENARIO]\n"
    "  -s, --schedule STEPS   run one schedule, e.g. \"A B A B\", \"Ar Br Aw Bw\" or\n"
    "                         \"A reads, B reads, A writes, B writes\"; what is left is run\n"
    "                         without preemption\n"
    "  -b, --bound N          explore every schedule with at most N preemptions (default 2);\n"
    "                         \"all\" explores every schedule\n"
    "  -l, --list             list the scenarios and the steps of each process\n"
    "  -h, --help             this text\n"
    "With no SCENARIO, explore every scenario and print a summary line for each.\n";

/* The page (struct world), a scenario's shape and the limits: lib/races/explorer.h. */
enum { WATCHDOG_SECONDS = 900 }; /* the whole run, valgrind's slowness included */

/* ---- the shared toolbox: locks and conditions as words in the page --------------------- */

static int lock_is_free(const struct world *w, int m)
{
    return w->lock_owner[m] == -1;
}

static void take_lock(struct world *w, int m, int me)
{
    w->lock_owner[m] = me; /* only offered the turn when the lock was free */
}

static void release_lock(struct world *w, int m)
{
    w->lock_owner[m] = -1;
}

/* pthread_cond_wait: release the mutex and join the condition's waiters, in one step. */
static void wait_on(struct world *w, int c, int m, int me)
{
    release_lock(w, m);
    w->waiting[c][me] = ++w->tickets;
}

/* A woken waiter still needs the mutex back before its wait returns. */
static int can_relock(const struct world *w, int c, int m, int me)
{
    return w->waiting[c][me] == 0 && lock_is_free(w, m);
}

/* pthread_cond_signal: wake the longest waiter, if there is one (else the signal is lost). */
static void signal_one(struct world *w, int c, int me)
{
    int oldest = -1;
    for (int p = 0; p < MAX_PROCESSES; p++)
        if (w->waiting[c][p] && (oldest < 0 || w->waiting[c][p] < w->waiting[c][oldest]))
            oldest = p;
    if (oldest < 0) {
        snprintf(w->detail[me], TEXT, "(nobody waits)");
        return;
    }
    w->waiting[c][oldest] = 0;
    snprintf(w->detail[me], TEXT, "(wakes %c)", process_letter(oldest));
}

static void say(struct world *w, int me, const char *what, long value)
{
    snprintf(w->detail[me], TEXT, "%s%ld", what, value);
}

/* ---- lost_update and locked_update --------------------------------------------------- */

enum { COUNTER = 0 };
static const char *const increment_steps[] = {"reads counter", "writes counter"};

static void lost_update_step(struct world *w, long *reg, int me)
{
    if (w->pc[me] == 0) {
        reg[0] = w->var[COUNTER]; /* load into this process's private register */
        say(w, me, "-> ", reg[0]);
        w->pc[me] = 1;
    } else {
        w->var[COUNTER] = reg[0] + 1; /* store: overwrites what others stored meanwhile */
        say(w, me, "<- ", reg[0] + 1);
        w->pc[me] = DONE;
    }
}

static int always(const struct world *w, int me)
{
    (void)w, (void)me;
    return 1;
}

static const char *check_counter(const struct world *w, int finished, char *why, size_t size)
{
    if (!finished || w->var[COUNTER] == 2)
        return NULL;
    snprintf(why, size, "lost an update (counter = %ld, 2 increments)", w->var[COUNTER]);
    return why;
}

static void show_counter(const struct world *w, char *out, size_t size)
{
    snprintf(out, size, "counter=%ld A.reg=%ld B.reg=%ld", w->var[COUNTER], w->shown[0][0],
             w->shown[1][0]);
}

static const char *const locked_increment_steps[] = {"locks m", "reads counter", "writes counter",
                                                     "unlocks m"};

static int locked_update_can_step(const struct world *w, int me)
{
    return w->pc[me] != 0 || lock_is_free(w, 0);
}

static void locked_update_step(struct world *w, long *reg, int me)
{
    switch (w->pc[me]) {
    case 0:
        take_lock(w, 0, me);
        w->pc[me] = 1;
        break;
    case 1:
        reg[0] = w->var[COUNTER];
        say(w, me, "-> ", reg[0]);
        w->pc[me] = 2;
        break;
    case 2:
        w->var[COUNTER] = reg[0] + 1;
        say(w, me, "<- ", reg[0] + 1);
        w->pc[me] = 3;
        break;
    default:
        release_lock(w, 0);
        w->pc[me] = DONE;
        break;
    }
}

/* ---- check_then_act and create_exclusive: a real file, in a private folder ------------- */

enum { CREATORS = 0 }; /* how many processes believe they created the file */
static const char *const check_then_act_steps[] = {"checks the file (stat)",
                                                   "creates it (O_CREAT|O_TRUNC)"};

static void reset_file(struct world *w)
{
    if (unlink(w->path) == -1 && errno != ENOENT) /* only ever our own file, in our folder */
        die("unlink %s", w->path);
}

static void write_creator(int fd, int me, const char *path)
{
    char letter = process_letter(me);
    if (write(fd, &letter, 1) != 1)
        die_in_child("write %s", path);
    if (close(fd) == -1)
        die_in_child("close %s", path);
}

static void check_then_act_step(struct world *w, long *reg, int me)
{
    struct stat st;
    if (w->pc[me] == 0) {
        if (stat(w->path, &st) == 0) { /* the check */
            snprintf(w->detail[me], TEXT, "-> exists: gives up");
            w->pc[me] = DONE;
            return;
        }
        if (errno != ENOENT)
            die_in_child("stat %s", w->path);
        snprintf(w->detail[me], TEXT, "-> absent");
        w->pc[me] = 1;
        return;
    }
    int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* the act, on a stale check */
    if (fd == -1)
        die_in_child("open %s", w->path);
    write_creator(fd, me, w->path);
    reg[0] = 1; /* "I created it" */
    w->var[CREATORS]++;
    snprintf(w->detail[me], TEXT, "-> \"I created it\"");
    w->pc[me] = DONE;
}

static const char *const create_exclusive_steps[] = {"creates it (O_CREAT|O_EXCL)"};

static void create_exclusive_step(struct world *w, long *reg, int me)
{
    /* The check and the act in one system call, under the kernel's lock on the folder. */
    int fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd == -1 && errno == EEXIST) {
        snprintf(w->detail[me], TEXT, "-> EEXIST: gives up");
    } else if (fd == -1) {
        die_in_child("open %s", w->path);
    } else {
        write_creator(fd, me, w->path);
        reg[0] = 1;
        w->var[CREATORS]++;
        snprintf(w->detail[me], TEXT, "-> \"I created it\"");
    }
    w->pc[me] = DONE;
}

static const char *check_one_creator(const struct world *w, int finished, char *why, size_t size)
{
    (void)finished;
    if (w->var[CREATORS] <= 1)
        return NULL;
    snprintf(why, size, "%ld processes believe they created the file", w->var[CREATORS]);
    return why;
}

static void show_creators(const struct world *w, char *out, size_t size)
{
    struct stat st;
    snprintf(out, size, "file %s, believers=%ld", stat(w->path, &st) == 0 ? "exists" : "absent",
             w->var[CREATORS]);
}

/* ---- opposite_lock_order and same_lock_order ----------------------------------------- */

/* Process p takes lock first[p] then second[p], and releases them in reverse. */
static const int opposite_first[] = {0, 1}, opposite_second[] = {1, 0};
static const int same_first[] = {0, 0}, same_second[] = {1, 1};
static const char *const locks_m1_m2[] = {"locks m1", "locks m2", "unlocks m2", "unlocks m1"};
static const char *const locks_m2_m1[] = {"locks m2", "locks m1", "unlocks m1", "unlocks m2"};

static int two_locks_can_step(const struct world *w, int me, const int *first, const int *second)
{
    if (w->pc[me] == 0)
        return lock_is_free(w, first[me]);
    if (w->pc[me] == 1)
        return lock_is_free(w, second[me]);
    return 1;
}

static void two_locks_step(struct world *w, int me, const int *first, const int *second)
{
    switch (w->pc[me]) {
    case 0: take_lock(w, first[me], me); break;
    case 1: take_lock(w, second[me], me); break;
    case 2: release_lock(w, second[me]); break;
    default: release_lock(w, first[me]); break;
    }
    w->pc[me] = w->pc[me] == 3 ? DONE : w->pc[me] + 1;
}

static int opposite_can_step(const struct world *w, int me)
{
    return two_locks_can_step(w, me, opposite_first, opposite_second);
}

static void opposite_step(struct world *w, long *reg, int me)
{
    (void)reg;
    two_locks_step(w, me, opposite_first, opposite_second);
}

static int same_can_step(const struct world *w, int me)
{
    return two_locks_can_step(w, me, same_first, same_second);
}

static void same_step(struct world *w, long *reg, int me)
{
    (void)reg;
    two_locks_step(w, me, same_first, same_second);
}

static const char *no_check(const struct world *w, int finished, char *why, size_t size)
{
    (void)w, (void)finished, (void)why, (void)size;
    return NULL; /* only a deadlock (found by the conductor) breaks these */
}

static void show_locks(const struct world *w, char *out, size_t size)
{
    char owner[2];
    for (int m = 0; m < 2; m++)
        owner[m] = lock_is_free(w, m) ? '-' : process_letter(w->lock_owner[m]);
    snprintf(out, size, "m1=%c m2=%c", owner[0], owner[1]);
}

/* ---- the bounded buffer: one_condition, if_wait, while_wait -------------------------------
 * One slot.  A (the producer) puts 2 items; B and C (consumers) take one each.  The steps
 * follow the usual code:
 *     lock(m); while (full) wait(not_full, m); put; signal(not_empty); unlock(m);
 * A woken process needs the mutex back first ("relocks m"); then it tests again (while) or
 * goes straight on (if).  one_condition uses one condition for both sides, as if not_full and
 * not_empty were the same variable. */

enum { ITEMS = 0, CAPACITY = 1 };
enum { NOT_FULL = 0, NOT_EMPTY = 1 };
enum buffer_pc { B_LOCK, B_TEST, B_WAIT, B_RELOCK, B_MOVE, B_SIGNAL, B_UNLOCK };

static const char *const producer_steps[] = {"locks m",   "tests full?",  "waits on not_full",
                                             "relocks m", "puts an item", "signals not_empty",
                                             "unlocks m"};
static const char *const consumer_steps[] = {"locks m",   "tests empty?",  "waits on not_empty",
                                             "relocks m", "takes an item", "signals not_full",
                                             "unlocks m"};
static const char *const one_producer_steps[] = {"locks m",   "tests full?",  "waits on changed",
                                                 "relocks m", "puts an item", "signals changed",
                                                 "unlocks m"};
static const char *const one_consumer_steps[] = {"locks m",   "tests empty?",  "waits on changed",
                                                 "relocks m", "takes an item", "signals changed",
                                                 "unlocks m"};

/* How a variant differs: which condition each side waits on and signals, and whether a woken
 * process tests again. */
struct buffer_rules {
    int producer_waits, producer_signals, consumer_waits, consumer_signals;
    int retest;
};
static const struct buffer_rules one_condition_rules = {0, 0, 0, 0, 1};
static const struct buffer_rules if_wait_rules = {NOT_FULL, NOT_EMPTY, NOT_EMPTY, NOT_FULL, 0};
static const struct buffer_rules while_wait_rules = {NOT_FULL, NOT_EMPTY, NOT_EMPTY, NOT_FULL, 1};

static void reset_buffer(struct world *w)
{
    w->var[CAPACITY] = 1;
}

static int buffer_can_step(const struct world *w, int me, const struct buffer_rules *rules)
{
    int waits_on = me == 0 ? rules->producer_waits : rules->consumer_waits;
    if (w->pc[me] == B_LOCK)
        return lock_is_free(w, 0);
    if (w->pc[me] == B_RELOCK)
        return can_relock(w, waits_on, 0, me);
    return 1;
}

/* One step of the producer (me == 0, reg[0] counts the items it made) or a consumer. */
static void buffer_step(struct world *w, long *reg, int me, const struct buffer_rules *rules)
{
    int producer = me == 0;
    int waits_on = producer ? rules->producer_waits : rules->consumer_waits;
    int signals = producer ? rules->producer_signals : rules->consumer_signals;
    switch (w->pc[me]) {
    case B_LOCK:
        take_lock(w, 0, me);
        w->pc[me] = B_TEST;
        break;
    case B_TEST: {
        int must_wait = producer ? w->var[ITEMS] == w->var[CAPACITY] : w->var[ITEMS] == 0;
        snprintf(w->detail[me], TEXT, "-> %s", must_wait ? "yes" : "no");
        w->pc[me] = must_wait ? B_WAIT : B_MOVE;
        break;
    }
    case B_WAIT:
        wait_on(w, waits_on, 0, me);
        w->pc[me] = B_RELOCK;
        break;
    case B_RELOCK:
        take_lock(w, 0, me);
        w->pc[me] = rules->retest ? B_TEST : B_MOVE;
        break;
    case B_MOVE:
        w->var[ITEMS] += producer ? 1 : -1;
        reg[0]++;
        w->pc[me] = B_SIGNAL;
        break;
    case B_SIGNAL:
        signal_one(w, signals, me);
        w->pc[me] = B_UNLOCK;
        break;
    default:
        release_lock(w, 0);
        w->pc[me] = producer && reg[0] < 2 ? B_LOCK : DONE; /* the producer makes 2 items */
        break;
    }
}

static const char *check_buffer(const struct world *w, int finished, char *why, size_t size)
{
    (void)finished;
    if (w->var[ITEMS] < 0)
        snprintf(why, size, "took an item from an empty buffer (items = %ld)", w->var[ITEMS]);
    else if (w->var[ITEMS] > w->var[CAPACITY])
        snprintf(why, size, "put an item into a full buffer (items = %ld)", w->var[ITEMS]);
    else
        return NULL;
    return why;
}

static void show_buffer(const struct world *w, char *out, size_t size)
{
    int used = snprintf(out, size, "items=%ld m=%c waiting:", w->var[ITEMS],
                        lock_is_free(w, 0) ? '-' : process_letter(w->lock_owner[0]));
    int anyone = 0;
    for (int c = 0; c < MAX_CONDITIONS; c++)
        for (int p = 0; p < MAX_PROCESSES; p++)
            if (w->waiting[c][p] && used < (int)size) {
                used += snprintf(out + used, size - (size_t)used, " %c", process_letter(p));
                anyone = 1;
            }
    if (!anyone && used < (int)size)
        snprintf(out + used, size - (size_t)used, " -");
}

static int one_condition_can_step(const struct world *w, int me)
{
    return buffer_can_step(w, me, &one_condition_rules);
}

static void one_condition_step(struct world *w, long *reg, int me)
{
    buffer_step(w, reg, me, &one_condition_rules);
}

static int if_wait_can_step(const struct world *w, int me)
{
    return buffer_can_step(w, me, &if_wait_rules);
}

static void if_wait_step(struct world *w, long *reg, int me)
{
    buffer_step(w, reg, me, &if_wait_rules);
}

static int while_wait_can_step(const struct world *w, int me)
{
    return buffer_can_step(w, me, &while_wait_rules);
}

static void while_wait_step(struct world *w, long *reg, int me)
{
    buffer_step(w, reg, me, &while_wait_rules);
}

/* ---- mutual exclusion by hand: peterson and flag_lock ---------------------------------------
 * A spin loop `while (cond) ;` is one step that is offered the turn only once cond is false:
 * the turns it would spend spinning change nothing shared, so leaving them out loses no
 * schedule, and keeps the number of schedules finite. */

enum { FLAG_A = 0, FLAG_B = 1, TURN = 2, INSIDE = 3, FLAG = 4 };

static const char *const peterson_a[] = {
    "sets flag[A] = 1", "sets turn = B", "spins while flag[B] && turn == B",
    "enters",           "leaves",        "sets flag[A] = 0"};
static const char *const peterson_b[] = {
    "sets flag[B] = 1", "sets turn = A", "spins while flag[A] && turn == A",
    "enters",           "leaves",        "sets flag[B] = 0"};

static int peterson_can_step(const struct world *w, int me)
{
    int other = 1 - me;
    if (w->pc[me] == 2) /* the spin loop exits once its condition is false */
        return !(w->var[FLAG_A + other] && w->var[TURN] == other);
    return 1;
}

static void peterson_step(struct world *w, long *reg, int me)
{
    (void)reg;
    int other = 1 - me;
    switch (w->pc[me]) {
    case 0: w->var[FLAG_A + me] = 1; break; /* I want in */
    case 1: w->var[TURN] = other; break;    /* but you go first if you want in too */
    case 2: break;                          /* the loop's last test, which let me through */
    case 3: w->var[INSIDE]++; break;
    case 4: w->var[INSIDE]--; break;
    default: w->var[FLAG_A + me] = 0; break;
    }
    w->pc[me] = w->pc[me] == 5 ? DONE : w->pc[me] + 1;
}

static const char *check_inside(const struct world *w, int finished, char *why, size_t size)
{
    (void)finished;
    if (w->var[INSIDE] <= 1)
        return NULL;
    snprintf(why, size, "%ld processes in the critical section at once", w->var[INSIDE]);
    return why;
}

static void show_peterson(const struct world *w, char *out, size_t size)
{
    snprintf(out, size, "flag[A]=%ld flag[B]=%ld turn=%c inside=%ld", w->var[FLAG_A],
             w->var[FLAG_B], process_letter((int)w->var[TURN]), w->var[INSIDE]);
}

static const char *const flag_lock_steps[] = {"spins while flag == 1", "sets flag = 1", "enters",
                                              "leaves", "sets flag = 0"};

static int flag_lock_can_step(const struct world *w, int me)
{
    return w->pc[me] != 0 || w->var[FLAG] == 0;
}

static void flag_lock_step(struct world *w, long *reg, int me)
{
    (void)reg;
    switch (w->pc[me]) {
    case 0: break;                   /* saw flag == 0: the test ... */
    case 1: w->var[FLAG] = 1; break; /* ... and the set are two steps: the bug */
    case 2: w->var[INSIDE]++; break;
    case 3: w->var[INSIDE]--; break;
    default: w->var[FLAG] = 0; break;
    }
    w->pc[me] = w->pc[me] == 4 ? DONE : w->pc[me] + 1;
}

static void show_flag_lock(const struct world *w, char *out, size_t size)
{
    snprintf(out, size, "flag=%ld inside=%ld", w->var[FLAG], w->var[INSIDE]);
}

/* ---- the scenario table -------------------------------------------------------------------- */

#define LABELS2(a, b)                                                                              \
    {a, b},                                                                                        \
    {                                                                                              \
        (int)(sizeof a / sizeof a[0]), (int)(sizeof b / sizeof b[0])                               \
    }
#define LABELS3(a, b, c)                                                                           \
    {a, b, c},                                                                                     \
    {                                                                                              \
        (int)(sizeof a / sizeof a[0]), (int)(sizeof b / sizeof b[0]),                              \
            (int)(sizeof c / sizeof c[0])                                                          \
    }

static void reset_nothing(struct world *w)
{
    (void)w;
}

static const struct scenario scenarios[] = {
    {"lost_update", "A and B each add 1 to a shared counter: a load, then a store",
     "counter == 2 once both are done", 2, LABELS2(increment_steps, increment_steps), reset_nothing,
     always, lost_update_step, check_counter, show_counter, 0},
    {"locked_update", "the same increments, each inside lock(m) ... unlock(m)",
     "counter == 2 once both are done", 2, LABELS2(locked_increment_steps, locked_increment_steps),
     reset_nothing, locked_update_can_step, locked_update_step, check_counter, show_counter, 0},
    {"check_then_act", "A and B each create a file unless stat() says it exists",
     "at most one process believes it created the file", 2,
     LABELS2(check_then_act_steps, check_then_act_steps), reset_file, always, check_then_act_step,
     check_one_creator, show_creators, 1},
    {"create_exclusive", "the same, with open(O_CREAT|O_EXCL): the check and the act in one call",
     "at most one process believes it created the file", 2,
     LABELS2(create_exclusive_steps, create_exclusive_steps), reset_file, always,
     create_exclusive_step, check_one_creator, show_creators, 1},
    {"opposite_lock_order", "A takes m1 then m2; B takes m2 then m1",
     "somebody can always move (no deadlock)", 2, LABELS2(locks_m1_m2, locks_m2_m1), reset_nothing,
     opposite_can_step, opposite_step, no_check, show_locks, 0},
    {"same_lock_order", "A and B both take m1 then m2", "somebody can always move (no deadlock)", 2,
     LABELS2(locks_m1_m2, locks_m1_m2), reset_nothing, same_can_step, same_step, no_check,
     show_locks, 0},
    {"one_condition",
     "a one-slot buffer, A puts 2 items, B and C take 1 each; one condition "
     "for both sides, signal (not broadcast)",
     "0 <= items <= 1, and somebody can always move", 3,
     LABELS3(one_producer_steps, one_consumer_steps, one_consumer_steps), reset_buffer,
     one_condition_can_step, one_condition_step, check_buffer, show_buffer, 0},
    {"if_wait", "the same buffer with two conditions, but each wait is inside `if`, not `while`",
     "0 <= items <= 1, and somebody can always move", 3,
     LABELS3(producer_steps, consumer_steps, consumer_steps), reset_buffer, if_wait_can_step,
     if_wait_step, check_buffer, show_buffer, 0},
    {"while_wait", "the same buffer done right: two conditions, and `while` around each wait",
     "0 <= items <= 1, and somebody can always move", 3,
     LABELS3(producer_steps, consumer_steps, consumer_steps), reset_buffer, while_wait_can_step,
     while_wait_step, check_buffer, show_buffer, 0},
    {"peterson",
     "Peterson's lock: flag[me] = 1; turn = other; spin while flag[other] && turn "
     "== other",
     "at most one process inside", 2, LABELS2(peterson_a, peterson_b), reset_nothing,
     peterson_can_step, peterson_step, check_inside, show_peterson, 0},
    {"flag_lock", "a hand-rolled lock: spin while flag == 1, then set flag = 1",
     "at most one process inside", 2, LABELS2(flag_lock_steps, flag_lock_steps), reset_nothing,
     flag_lock_can_step, flag_lock_step, check_inside, show_flag_lock, 0},
};
enum { SCENARIO_COUNT = sizeof scenarios / sizeof scenarios[0] };

/* The watchdog: say what happened, then die of SIGTERM so the cleanup reaps the processes. */
static void on_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "schedule_explorer: watchdog: still running after the time limit "
                              "(a process stuck?); stopping\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1); /* async-signal-safe */
    (void)ignored;
    raise(SIGTERM);
}

static const struct scenario *find_scenario(const char *name)
{
    for (int i = 0; i < SCENARIO_COUNT; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    usage_error(usage, "no scenario \"%s\" (schedule_explorer --list names them)", name);
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    static const struct option longs[] = {{"schedule", required_argument, 0, 's'},
                                          {"bound", required_argument, 0, 'b'},
                                          {"list", no_argument, 0, 'l'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *schedule = NULL;
    int bound = 2, list = 0, c;
    opterr = 0; /* we print our own one-line reasons */
    while ((c = getopt_long(argc, argv, ":s:b:lh", longs, NULL)) != -1) {
        switch (c) {
        case 's': schedule = optarg; break;
        case 'b':
            bound = strcmp(optarg, "all") == 0
                        ? UNBOUNDED
                        : (int)parse_long(optarg, "--bound", 0, MAX_SCHEDULE_STEPS, usage);
            break;
        case 'l': list = 1; break;
        case 'h': fputs(usage, stdout); return EXIT_SUCCESS;
        case ':': usage_error(usage, "option %s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        usage_error(usage, "unexpected argument \"%s\"", argv[optind + 1]);
    const struct scenario *s = optind < argc ? find_scenario(argv[optind]) : NULL;
    if (schedule && !s)
        usage_error(usage, "--schedule needs a SCENARIO");
    if (list) {
        for (int i = 0; i < SCENARIO_COUNT; i++)
            if (!s || s == &scenarios[i])
                print_scenario(&scenarios[i]);
        return EXIT_SUCCESS;
    }
    cleanup_install(); /* Ctrl-C kills and reaps the processes and removes the folder */
    if (signal(SIGALRM, on_watchdog) == SIG_ERR)
        die("signal(SIGALRM)");
    alarm(WATCHDOG_SECONDS);
    if (schedule)
        return run_given(s, schedule, usage);
    if (s)
        explore_one(s, bound);
    else
        explore_all(scenarios, SCENARIO_COUNT, bound);
    return EXIT_SUCCESS;
}
