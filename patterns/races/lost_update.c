#define _GNU_SOURCE
/* lost_update.c - several processes add 1 to one counter in shared memory; without
 * synchronization some of the additions vanish.
 *
 * Usage: lost_update [options]
 *   -w, --workers P        processes that increment (default: usable CPUs, at least 2)
 *   -n, --iterations N     increments per process (default 1000000)
 *   -s, --sync MODE        none | mutex | atomic | semaphore (default none)
 *   -a, --amplify          sched_yield() between the load and the store, so the race shows on
 *                          any machine, a single CPU included
 *   -r, --runs K           repeat K times and report how often and how badly it went wrong
 *                          (default 1)
 *   -p, --replay SCHEDULE  force one interleaving of two processes A and B, step by step:
 *                          "A reads, B reads, A writes, B writes" or "Ar Br Aw Bw"
 *   -h, --help             this text
 *
 * What to observe:
 *   - With --sync=none the final count is usually short: "verdict: lost 1234 of 2000000
 *     updates".  Each worker loads the counter, adds one and stores it back; when two loads
 *     happen before either store, one increment overwrites the other.
 *   - The overlap line: how much of the run had two or more workers alive at once.  An "exact"
 *     verdict with little overlap (or on one CPU without --amplify) says nothing about safety.
 *   - --sync=mutex, atomic or semaphore: the same harness, only the synchronization differs, and
 *     the count is exact every time.  Compare the run times.
 *   - --replay shows the lost update in slow motion, one step at a time.
 *
 * Python counterpart: multiprocessing.Value('i', 0, lock=False) incremented with v.value += 1
 * from several Process objects loses updates; Value('i', 0) with "with v.get_lock(): v.value
 * += 1" does not.  (v.value += 1 alone is NOT atomic even on a synchronized Value.)
 *
 * See also: lessons/04-races.md, check_then_act.c, ../locks/pshared_mutex.c,
 * ../locks/atomic_counter.c.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/parse.h"
#include "support/process.h"
#include "support/process_shared.h"
#include "support/watchdog.h"

static const char usage[] =
    "Usage: lost_update [options]\n"
    "  -w, --workers P        processes that increment (default: usable CPUs, at least 2)\n"
    "  -n, --iterations N     increments per process (default 1000000)\n"
    "  -s, --sync MODE        none | mutex | atomic | semaphore (default none)\n"
    "  -a, --amplify          sched_yield() between the load and the store of each increment\n"
    "  -r, --runs K           repeat K times; report how often and how badly it went wrong\n"
    "                         (default 1)\n"
    "  -p, --replay SCHEDULE  force one interleaving of processes A and B, e.g.\n"
    "                         \"A reads, B reads, A writes, B writes\" or \"Ar Br Aw Bw\"\n"
    "  -h, --help             this text\n";

enum sync_mode { SYNC_NONE, SYNC_MUTEX, SYNC_ATOMIC, SYNC_SEMAPHORE };
static const char *const sync_names[] = {"none", "mutex", "atomic", "semaphore", NULL};

enum { MAX_WORKERS = 256 };      /* fixed arrays in shared memory; plenty for a demo */
enum { MAX_RUNS = 1000 };        /* the lost counts are kept to compute a median */
enum { WATCHDOG_SECONDS = 120 }; /* a stuck worker (a lost wake-up, a bug) ends the run */
enum { MAX_STEPS = 64 };         /* longest replay schedule */

/* What each worker records about itself, to measure how much the workers overlapped. */
struct worker_record {
    int64_t start_ns, end_ns; /* monotonic clock: comparable between processes */
    int64_t cpu_ns;           /* CPU time the worker used for its increments */
};

/* Everything the workers share.  It lives in one MAP_SHARED|MAP_ANONYMOUS mapping made before
 * fork(), so every child sees the same physical page, not a copy. */
struct shared {
    volatile long counter;      /* volatile: every ++ really loads and stores memory */
    atomic_long atomic_counter; /* --sync=atomic uses this one instead */
    pthread_mutex_t mutex;      /* --sync=mutex: a process-shared mutex */
    sem_t semaphore;            /* --sync=semaphore: a process-shared semaphore, value 1 */
    atomic_int ready;           /* workers that reached the starting line */
    atomic_int go;              /* set by the parent: everybody starts at once */
    struct worker_record records[MAX_WORKERS];
};

struct options {
    int workers;
    long iterations;
    enum sync_mode sync;
    int amplify;
    int runs;
    const char *replay;
};

/* ---- the race itself ------------------------------------------------------------------- */

/* One increment, written as the three steps the CPU really performs: load, add, store.
 * Between the load and the store another process may store its own value: that one is lost. */
static void increment(struct shared *sh, const struct options *opt)
{
    switch (opt->sync) {
    case SYNC_ATOMIC:
        /* One indivisible read-modify-write (lock xadd on x86): there is no window. */
        atomic_fetch_add_explicit(&sh->atomic_counter, 1, memory_order_relaxed);
        return;
    case SYNC_MUTEX: /* pthread calls return the error number: store it for die_in_child */
        check_error_number(pthread_mutex_lock(&sh->mutex), "pthread_mutex_lock");
        break;
    case SYNC_SEMAPHORE:
        while (sem_wait(&sh->semaphore) == -1) /* value 1 -> 0: we are the one inside */
            if (errno != EINTR)                /* a signal interrupted the wait: retry */
                die("sem_wait");
        break;
    case SYNC_NONE: break;
    }
    long seen = sh->counter; /* load */
    if (opt->amplify)
        sched_yield();      /* give another process the CPU right inside the window */
    sh->counter = seen + 1; /* store: overwrites whatever others stored meanwhile */
    if (opt->sync == SYNC_MUTEX && (errno = pthread_mutex_unlock(&sh->mutex)) != 0)
        die("pthread_mutex_unlock");
    if (opt->sync == SYNC_SEMAPHORE && sem_post(&sh->semaphore) == -1)
        die("sem_post");
}

/* A worker: wait at the starting line, then increment, recording when it ran. */
static _Noreturn void worker(struct shared *sh, int id, const struct options *opt)
{
    atomic_fetch_add(&sh->ready, 1); /* "I am at the starting line" */
    while (!atomic_load(&sh->go))
        sched_yield(); /* the parent says go once all are forked: a fair start */
    struct worker_record *rec = &sh->records[id];
    rec->start_ns = monotonic_ns(); /* monotonic: the same clock in every process */
    int64_t cpu0 = thread_cpu_ns(); /* CPU time says whether we actually ran, not just lived */
    for (long i = 0; i < opt->iterations; i++)
        increment(sh, opt);
    rec->cpu_ns = thread_cpu_ns() - cpu0;
    rec->end_ns = monotonic_ns();
    _exit(0); /* never exit(): that would run the parent's atexit handlers */
}

/* ---- the harness: one shared mapping, P workers, a verdict ----------------------------- */

/* Fresh state for each run: zero counters, and a mutex and semaphore set up for processes. */
static void init_shared(struct shared *sh)
{
    memset((void *)sh, 0, sizeof *sh); /* the cast drops volatile: memset takes plain memory */
    atomic_init(&sh->atomic_counter, 0);
    atomic_init(&sh->ready, 0);
    atomic_init(&sh->go, 0);
    /* Without PROCESS_SHARED the mutex may use a private futex, which another process's
     * unlock cannot wake. */
    init_shared_mutex(&sh->mutex);
    if (sem_init(&sh->semaphore, 1 /* shared between processes */, 1) == -1)
        die("sem_init");
}

static void destroy_shared(struct shared *sh)
{
    check_error_number(pthread_mutex_destroy(&sh->mutex), "pthread_mutex_destroy");
    if (sem_destroy(&sh->semaphore) == -1)
        die("sem_destroy");
}

/* Fork the workers, start them together, reap them all.  Returns how many failed. */
static int run_workers(struct shared *sh, const struct options *opt, pid_t *pids)
{
    for (int i = 0; i < opt->workers; i++)
        if ((pids[i] = start_child()) == 0)
            worker(sh, i, opt);
    while (atomic_load(&sh->ready) < opt->workers)
        sched_yield(); /* forking takes a while: without this the first worker starts alone */
    atomic_store(&sh->go, 1);
    int failed = 0;
    for (int i = 0; i < opt->workers; i++) /* reap every one, even after a failure */
        failed += reap_child(pids[i], "worker");
    return failed;
}

/* ---- how much did the workers really overlap? ------------------------------------------ */

struct overlap {
    int64_t span_ns;    /* first start to last end */
    double alive_share; /* share of the span with >= 2 workers between their start and end */
    double cpu_share;   /* CPU time used / (span x the CPUs the workers could have used) */
    int64_t cpu_ns;     /* total CPU time of the workers */
};

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sweep the sorted start/end times: between two consecutive times the set of live workers
 * does not change, so count it once per slice. */
static struct overlap measure_overlap(const struct shared *sh, int workers, int cpus)
{
    int64_t times[2 * MAX_WORKERS];
    struct overlap o = {0, 0.0, 0.0, 0};
    for (int i = 0; i < workers; i++) {
        times[2 * i] = sh->records[i].start_ns;
        times[2 * i + 1] = sh->records[i].end_ns;
        o.cpu_ns += sh->records[i].cpu_ns;
    }
    qsort(times, (size_t)(2 * workers), sizeof times[0], compare_int64);
    o.span_ns = times[2 * workers - 1] - times[0]; /* first start to last end */
    int64_t together = 0;
    for (int t = 0; t + 1 < 2 * workers; t++) {
        int64_t mid = times[t] + (times[t + 1] - times[t]) / 2;
        int alive = 0;
        for (int i = 0; i < workers; i++)
            alive += sh->records[i].start_ns <= mid && mid < sh->records[i].end_ns;
        if (alive >= 2)
            together += times[t + 1] - times[t];
    }
    int usable = workers < cpus ? workers : cpus; /* 3 workers on 2 CPUs can fill only 2 */
    if (o.span_ns > 0) {
        o.alive_share = (double)together / (double)o.span_ns;
        o.cpu_share = (double)o.cpu_ns / ((double)o.span_ns * usable);
    }
    return o;
}

/* ---- one run, and many ------------------------------------------------------------------ */

/* Run the workers once; print the verdict; return the lost updates (-1: a worker failed). */
static long run_once(struct shared *sh, const struct options *opt, int run, int cpus)
{
    pid_t pids[MAX_WORKERS];
    init_shared(sh);
    int failed = run_workers(sh, opt, pids);
    long expected = opt->workers * opt->iterations;
    /* Read after every worker was reaped: waitpid orders all their writes before this read. */
    long got = opt->sync == SYNC_ATOMIC ? atomic_load(&sh->atomic_counter) : sh->counter;
    destroy_shared(sh);
    if (failed)
        return -1;
    struct overlap o = measure_overlap(sh, opt->workers, cpus);
    char prefix[32] = "";
    if (opt->runs > 1)
        snprintf(prefix, sizeof prefix, "run %d/%d: ", run, opt->runs);
    if (got == expected)
        printf("%sverdict: exact (counter = %ld)\n", prefix, got);
    else
        printf("%sverdict: lost %ld of %ld updates (counter = %ld)\n", prefix, expected - got,
               expected, got);
    printf("%soverlap: >= 2 workers alive for %.0f%% of the %.1f ms span; "
           "CPU %.1f ms = %.0f%% of what %d CPU(s) could give\n",
           prefix, 100 * o.alive_share, o.span_ns / 1e6, o.cpu_ns / 1e6, 100 * o.cpu_share,
           opt->workers < cpus ? opt->workers : cpus);
    if (got == expected && (o.alive_share < 0.5 || (cpus == 1 && !opt->amplify)))
        printf("%swarning: \"exact\" here must not be read as \"safe\": the workers hardly "
               "raced (low overlap%s)\n",
               prefix, cpus == 1 ? ", one CPU" : "");
    return expected - got;
}

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Repeat the run; summarise how often and how badly it went wrong.  Returns the exit status. */
static int run_many(const struct options *opt)
{
    int cpus = usable_cpu_count();
    printf("lost_update: %d workers x %ld increments, sync=%s, amplify=%s, %d usable CPU(s), "
           "%d run(s)\n",
           opt->workers, opt->iterations, sync_names[opt->sync], opt->amplify ? "on" : "off", cpus,
           opt->runs);
    if (cpus == 1 && !opt->amplify && opt->sync == SYNC_NONE)
        printf("note: one usable CPU: workers interleave only when the scheduler preempts one "
               "between its load and store, which is rare, so this machine can hardly show the "
               "race; try --amplify\n");
    struct shared *sh = map_shared(sizeof *sh);
    long lost[MAX_RUNS];
    int wrong = 0;
    for (int r = 0; r < opt->runs; r++) {
        lost[r] = run_once(sh, opt, r + 1, cpus);
        if (lost[r] < 0) {
            note("run %d: a worker failed; stopping", r + 1);
            return EXIT_FAILURE;
        }
        wrong += lost[r] > 0;
    }
    unmap_shared(sh, sizeof *sh);
    qsort(lost, (size_t)opt->runs, sizeof lost[0], compare_long); /* sorted: min, median, max */
    if (opt->runs > 1)
        printf("summary: wrong in %d of %d runs (%.0f%%); lost per run: min %ld, median %ld, "
               "max %ld\n",
               wrong, opt->runs, 100.0 * wrong / opt->runs, lost[0], lost[opt->runs / 2],
               lost[opt->runs - 1]);
    if (wrong && opt->sync != SYNC_NONE) {
        printf("BUG: updates were lost although sync=%s\n", sync_names[opt->sync]);
        return EXIT_FAILURE; /* a synchronized run that loses updates is a real failure */
    }
    return EXIT_SUCCESS; /* with sync=none, losing updates is the demonstration, not an error */
}

/* ---- replay: one exact interleaving, in slow motion ------------------------------------- */

/* One step of a schedule: process 0 (A) or 1 (B) reads the counter into its register, or
 * writes register + 1 back. */
struct step {
    int who;
    char action; /* 'r' or 'w' */
};

/* What the two replay processes share.  Each process only acts when the parent posts its
 * turn semaphore, and posts done when the step is over: the parent is the conductor. */
struct replay_shared {
    long counter;
    long reg[2];   /* a copy of each process's private register, for the parent to print */
    sem_t turn[2]; /* "your move, A" / "your move, B" */
    sem_t done;    /* "my step is over" */
};

static int is_verb(const char *word, const char *long_form, char letter)
{
    /* "reads", "read" or "r" (any case) */
    size_t n = strlen(word);
    if (n == 1)
        return (word[0] | 0x20) == letter;
    return strncasecmp(word, long_form, n) == 0 && n >= strlen(long_form) - 1;
}

/* Read one step from the words at *cursor: "Ar" or "A reads". */
static int parse_step(char **words, int count, int *cursor, struct step *step)
{
    const char *w = words[*cursor];
    char who = w[0] & ~0x20; /* upper case: "a" and "A" name the same process */
    if ((who != 'A' && who != 'B') || strlen(w) > 2)
        return -1;
    step->who = who - 'A';
    const char *verb = w + 1;
    if (*verb == '\0') { /* the long form: the verb is the next word */
        if (++*cursor >= count)
            return -1;
        verb = words[*cursor];
    }
    if (is_verb(verb, "reads", 'r'))
        step->action = 'r';
    else if (is_verb(verb, "writes", 'w'))
        step->action = 'w';
    else
        return -1;
    ++*cursor;
    return 0;
}

/* Turn the schedule text into steps; any mistake is a usage error. */
static int parse_schedule(const char *text, struct step *steps)
{
    char buf[1024], *words[2 * MAX_STEPS + 1], *save;
    if (strlen(text) >= sizeof buf)
        usage_error(usage, "--replay: schedule too long");
    strcpy(buf, text);
    int count = 0;
    for (char *w = strtok_r(buf, " ,;\t", &save); w; w = strtok_r(NULL, " ,;\t", &save)) {
        if (count == 2 * MAX_STEPS)
            usage_error(usage, "--replay: more than %d steps", MAX_STEPS);
        words[count++] = w;
    }
    int n = 0, cursor = 0;
    int pending[2] = {0, 0}; /* has this process read without writing yet? */
    while (cursor < count) {
        if (n == MAX_STEPS)
            usage_error(usage, "--replay: more than %d steps", MAX_STEPS);
        int at = cursor;
        if (parse_step(words, count, &cursor, &steps[n]) == -1)
            usage_error(usage,
                        "--replay: cannot read step \"%s\" (expected A or B with reads or "
                        "writes, e.g. \"Ar Br Aw Bw\")",
                        words[at]);
        int who = steps[n].who, reading = steps[n].action == 'r';
        if (reading == pending[who]) /* a read must be followed by a write, and vice versa */
            usage_error(usage, "--replay: step %d: %c %s twice in a row", n + 1, 'A' + who,
                        reading ? "reads" : "writes");
        pending[who] = reading;
        n++;
    }
    if (n == 0)
        usage_error(usage, "--replay: empty schedule");
    for (int who = 0; who < 2; who++)
        if (pending[who])
            usage_error(usage, "--replay: %c reads but never writes", 'A' + who);
    return n;
}

/* sem_wait with a watchdog: a wrong hand-over must not hang the run forever. */
static int wait_turn(sem_t *sem)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_REALTIME, &deadline) == -1) /* sem_timedwait wants REALTIME */
        return -1;
    deadline.tv_sec += 10;
    while (sem_timedwait(sem, &deadline) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* A replay process: perform my steps, each only when the conductor gives me the turn. */
static _Noreturn void replay_process(struct replay_shared *rs, int me, const struct step *steps,
                                     int n)
{
    long reg = 0; /* this process's private register: a local variable, not shared */
    for (int i = 0; i < n; i++) {
        if (steps[i].who != me)
            continue;
        if (wait_turn(&rs->turn[me]) == -1)
            die("replay: %c waiting for its turn at step %d", 'A' + me, i + 1);
        if (steps[i].action == 'r')
            reg = rs->counter; /* load */
        else
            rs->counter = reg + 1; /* store */
        rs->reg[me] = reg;
        if (sem_post(&rs->done) == -1)
            die("sem_post");
    }
    _exit(0);
}

static void print_register(long value, int loaded)
{
    if (loaded)
        printf("  %5ld", value);
    else
        printf("  %5s", "-");
}

/* The conductor: hand out the turns in schedule order and print the state after each step. */
static int conduct(struct replay_shared *rs, const struct step *steps, int n)
{
    int loaded[2] = {0, 0}, writes = 0;
    printf("step  action     counter  A.reg  B.reg\n");
    for (int i = 0; i < n; i++) {
        int who = steps[i].who;
        /* Hand the turn to exactly one process and wait for it to finish that one step: the
         * semaphores, not the scheduler, decide the interleaving. */
        if (sem_post(&rs->turn[who]) == -1)
            die("sem_post");
        if (wait_turn(&rs->done) == -1)
            die("replay: waiting for %c to finish step %d", 'A' + who, i + 1);
        loaded[who] = 1;
        writes += steps[i].action == 'w';
        printf("%4d  %c %-6s  %8ld", i + 1, 'A' + who, steps[i].action == 'r' ? "reads" : "writes",
               rs->counter);
        print_register(rs->reg[0], loaded[0]);
        print_register(rs->reg[1], loaded[1]);
        printf("\n");
    }
    if (rs->counter == writes)
        printf("verdict: exact (counter = %ld, %d increments)\n", rs->counter, writes);
    else
        printf("verdict: lost %ld of %d updates (counter = %ld)\n", writes - rs->counter, writes,
               rs->counter);
    return 0;
}

static int run_replay(const char *schedule)
{
    struct step steps[MAX_STEPS];
    int n = parse_schedule(schedule, steps);
    struct replay_shared *rs = map_shared(sizeof *rs);
    memset((void *)rs, 0, sizeof *rs);
    for (int i = 0; i < 2; i++) /* pshared = 1, value 0: nobody may move until told */
        if (sem_init(&rs->turn[i], 1, 0) == -1)
            die("sem_init");
    if (sem_init(&rs->done, 1, 0) == -1)
        die("sem_init");
    pid_t pids[2];
    for (int who = 0; who < 2; who++)
        if ((pids[who] = start_child()) == 0)
            replay_process(rs, who, steps, n);
    printf("replay: \"%s\": A is pid %ld, B is pid %ld\n", schedule, (long)pids[0], (long)pids[1]);
    conduct(rs, steps, n);
    int failed = reap_child(pids[0], "worker") + reap_child(pids[1], "worker");
    for (int i = 0; i < 2; i++)
        if (sem_destroy(&rs->turn[i]) == -1)
            die("sem_destroy");
    if (sem_destroy(&rs->done) == -1 || munmap(rs, sizeof *rs) == -1)
        die("sem_destroy/munmap");
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- arguments and main ----------------------------------------------------------------- */

static struct options parse_options(int argc, char **argv)
{
    int cpus = usable_cpu_count();
    /* At least 2 workers even on one CPU: a race needs two parties. */
    struct options opt = {cpus < 2 ? 2 : cpus, 1000000, SYNC_NONE, 0, 1, NULL};
    static const struct option longs[] = {
        {"workers", required_argument, 0, 'w'}, {"iterations", required_argument, 0, 'n'},
        {"sync", required_argument, 0, 's'},    {"amplify", no_argument, 0, 'a'},
        {"runs", required_argument, 0, 'r'},    {"replay", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    opterr = 0; /* we print our own one-line reasons */
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:s:ar:p:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': opt.workers = (int)parse_long(optarg, "--workers", 2, MAX_WORKERS, usage); break;
        case 'n': opt.iterations = parse_long(optarg, "--iterations", 1, 1000000000, usage); break;
        case 's':
            opt.sync = (enum sync_mode)parse_choice(optarg, "--sync", sync_names, usage);
            break;
        case 'a': opt.amplify = 1; break;
        case 'r': opt.runs = (int)parse_long(optarg, "--runs", 1, MAX_RUNS, usage); break;
        case 'p': opt.replay = optarg; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return opt;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct options opt = parse_options(argc, argv);
    cleanup_install(); /* Ctrl-C kills and reaps the workers */
    start_watchdog(WATCHDOG_SECONDS,
                   "still running after the time limit (a worker stuck waiting?); stopping the "
                   "workers"); /* a stuck run must end, and say so */
    if (opt.replay)
        return run_replay(opt.replay);
    return run_many(&opt);
}
