/* explorer.c - see explorer.h. */
#define _GNU_SOURCE
#include "races/explorer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/private_dir.h"

void reset_world(struct world *w)
{
    memset(w->var, 0, sizeof w->var);
    for (int m = 0; m < MAX_LOCKS; m++)
        w->lock_owner[m] = -1;
    memset(w->waiting, 0, sizeof w->waiting);
    w->tickets = 0;
    memset(w->pc, 0, sizeof w->pc);
    memset(w->shown, 0, sizeof w->shown);
    memset(w->detail, 0, sizeof w->detail);
}

/* ---- the processes and the conductor --------------------------------------------------------- */

/* sem_wait with a watchdog: a step that never ends must not hang the explorer. */
static int timed_wait(sem_t *sem)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_REALTIME, &deadline) == -1) /* sem_timedwait wants REALTIME */
        return -1;
    deadline.tv_sec += HANDOFF_SECONDS;
    while (sem_timedwait(sem, &deadline) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* A scenario process: wait for the turn, do what the conductor says, report, repeat.  Its
 * registers are its own memory; the page only holds a copy for the step table. */
static _Noreturn void scenario_process(const struct scenario *s, struct world *w, int me)
{
    long reg[REGISTERS] = {0};
    for (;;) {
        if (timed_wait(&w->turn[me]) == -1)
            die_in_child("process %c: waiting for the turn", process_letter(me));
        if (w->command[me] == QUIT)
            _exit(0);
        if (w->command[me] == FORGET_REGISTERS)
            memset(reg, 0, sizeof reg);
        else
            s->step(w, reg, me);
        memcpy(w->shown[me], reg, sizeof reg);
        if (sem_post(&w->done) == -1)
            die_in_child("sem_post");
    }
}

/* The crew's pids, for tell() to notice a process that died (killed from outside, say):
 * waiting out HANDOFF_SECONDS for a dead process's step would look like a hang. */
static pid_t crew_pids[MAX_PROCESSES];
static int crew_size;

/* Hand one process the turn and wait until it has done what it was told, looking every
 * tenth of a second whether a process of the crew has died meanwhile. */
static void tell(struct world *w, int who, enum command command)
{
    w->command[who] = command;
    w->detail[who][0] = '\0';
    if (sem_post(&w->turn[who]) == -1)
        die("sem_post");
    for (int slice = 0; slice < HANDOFF_SECONDS * 10; slice++) {
        struct timespec deadline = deadline_after_ns(CLOCK_REALTIME, 100000000LL);
        if (sem_timedwait(&w->done, &deadline) == 0)
            return;
        if (errno != EINTR && errno != ETIMEDOUT)
            die("sem_timedwait");
        for (int p = 0; p < crew_size; p++) {
            int status;
            pid_t ended = waitpid(crew_pids[p], &status, WNOHANG);
            if (ended == -1)
                die("waitpid");
            if (ended == crew_pids[p]) {
                cleanup_forget_child(ended);
                if (WIFSIGNALED(status))
                    die_with_code(-1,
                                  "process %c (pid %ld) was killed by signal %d in the "
                                  "middle of the run: stopping",
                                  process_letter(p), (long)ended, WTERMSIG(status));
                die_with_code(-1,
                              "process %c (pid %ld) ended (status 0x%x) in the middle of "
                              "the run: stopping",
                              process_letter(p), (long)ended, (unsigned)status);
            }
        }
    }
    die_with_code(-1, "process %c did not finish its step within %d s", process_letter(who),
                  HANDOFF_SECONDS);
}

struct crew {
    const struct scenario *s;
    struct world *w;
    pid_t pids[MAX_PROCESSES];
    char folder[240]; /* check_then_act's private folder, or "" */
};

static void start_crew(struct crew *crew, const struct scenario *s)
{
    crew->s = s;
    crew->w =
        mmap(NULL, sizeof *crew->w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (crew->w == MAP_FAILED)
        die("mmap");
    struct world *w = crew->w;
    memset(w, 0, sizeof *w);
    crew->folder[0] = '\0';
    if (s->private_file) { /* a file nobody else can name: inside a folder of our own */
        if (make_private_dir(crew->folder, sizeof crew->folder, "schedule_explorer") == -1)
            die("mkdtemp in %s", temp_root());
        cleanup_add_name(IPC_DIRECTORY, crew->folder);
        snprintf(w->path, sizeof w->path, "%s/the-file", crew->folder);
        cleanup_add_name(IPC_PATH, w->path);
    }
    for (int p = 0; p < s->processes; p++)
        if (sem_init(&w->turn[p], 1, 0) == -1) /* pshared = 1; nobody moves until told */
            die("sem_init");
    if (sem_init(&w->done, 1, 0) == -1)
        die("sem_init");
    pid_t parent = getpid();
    fflush(stdout); /* or each child would inherit, and one day print, a copy of the buffer */
    for (int p = 0; p < s->processes; p++) {
        if ((crew->pids[p] = fork()) == -1)
            die("fork");
        if (crew->pids[p] == 0) {
            die_with_parent(parent);
            scenario_process(s, w, p);
        }
        cleanup_add_child(crew->pids[p]);
        crew_pids[p] = crew->pids[p];
    }
    crew_size = s->processes;
}

/* Tell every process to quit, reap it, and remove what the crew made. */
static int stop_crew(struct crew *crew)
{
    int failed = 0;
    for (int p = 0; p < crew->s->processes; p++) {
        crew->w->command[p] = QUIT;
        if (sem_post(&crew->w->turn[p]) == -1)
            die("sem_post");
        int status;
        while (waitpid(crew->pids[p], &status, 0) == -1)
            if (errno != EINTR)
                die("waitpid");
        cleanup_forget_child(crew->pids[p]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            note("process %c (pid %ld) did not exit cleanly (status 0x%x)", process_letter(p),
                 (long)crew->pids[p], (unsigned)status);
            failed = 1;
        }
    }
    if (crew->folder[0]) {
        crew->s->reset(crew->w); /* removes the file, if a schedule left one */
        cleanup_forget_name(crew->w->path);
        if (rmdir(crew->folder) == -1)
            die("rmdir %s", crew->folder);
        cleanup_forget_name(crew->folder);
    }
    for (int p = 0; p < crew->s->processes; p++)
        if (sem_destroy(&crew->w->turn[p]) == -1)
            die("sem_destroy");
    if (sem_destroy(&crew->w->done) == -1 || munmap(crew->w, sizeof *crew->w) == -1)
        die("sem_destroy/munmap");
    return failed;
}

/* ---- one schedule ------------------------------------------------------------------------------
 */

/* A decision point: which processes could move, which one did, and the preemptions so far. */
struct decision {
    unsigned enabled, tried;
    int chosen, previous, preemptions;
};

/* One step as the table prints it. */
struct trace_step {
    int who;
    char action[2 * TEXT];
    char state[TEXT];
};

struct outcome {
    int length, preemptions, broken;
    char why[2 * TEXT];
    char refused[2 * TEXT]; /* why a given schedule cannot be run, or "" */
    struct trace_step steps[MAX_SCHEDULE_STEPS];
};

static unsigned enabled_set(const struct scenario *s, const struct world *w)
{
    unsigned set = 0;
    for (int p = 0; p < s->processes; p++)
        if (w->pc[p] != DONE && s->can_step(w, p))
            set |= 1u << p;
    return set;
}

static int lowest(unsigned set)
{
    return __builtin_ctz(set);
}

/* "nobody can move: A is asleep after "waits on changed", B waits at "locks m1"" */
static void describe_deadlock(const struct scenario *s, const struct world *w, char *why,
                              size_t size)
{
    int used = snprintf(why, size, "deadlock: nobody can move:");
    for (int p = 0; p < s->processes && used < (int)size; p++) {
        if (w->pc[p] == DONE)
            continue;
        int asleep = 0;
        for (int c = 0; c < MAX_CONDITIONS; c++)
            asleep |= w->waiting[c][p] != 0;
        /* A sleeper's pc is the step after its wait (relocking the mutex once woken). */
        used += snprintf(why + used, size - (size_t)used, " %c %s \"%s\"%s", process_letter(p),
                         asleep ? "is asleep after" : "waits at",
                         s->labels[p][asleep ? w->pc[p] - 1 : w->pc[p]],
                         p + 1 < s->processes ? "," : "");
    }
    if (used > 0 && why[used - 1] == ',')
        why[used - 1] = '\0';
}

/* One step of --schedule: a process, and perhaps the start of its step's name. */
struct wanted {
    int who;
    char verb[32];
};

/* Does the step's name begin with what the learner wrote ("r", "reads", "read")? */
static int verb_matches(const char *label, const char *verb)
{
    size_t n = strlen(verb);
    return n == 0 || strncasecmp(label, verb, n) == 0 ||
           (n > 1 && strncasecmp(label, verb, n - 1) == 0 && (verb[n - 1] | 0x20) == 's');
}

/* A step of a given schedule that cannot be taken: say why in o->refused and return 0. */
static int refuse_wanted(const struct scenario *s, const struct world *w, unsigned enabled,
                         const struct wanted *want, int depth, struct outcome *o)
{
    char letter = process_letter(want->who);
    int pc = w->pc[want->who];
    if (pc == DONE)
        snprintf(o->refused, sizeof o->refused, "step %d: %c has already finished", depth + 1,
                 letter);
    else if (!(enabled & (1u << want->who)))
        snprintf(o->refused, sizeof o->refused, "step %d: %c cannot move: it waits at \"%s\"",
                 depth + 1, letter, s->labels[want->who][pc]);
    else if (!verb_matches(s->labels[want->who][pc], want->verb))
        snprintf(o->refused, sizeof o->refused, "step %d: %c's next step is \"%s\", not \"%s\"",
                 depth + 1, letter, s->labels[want->who][pc], want->verb);
    else
        return 1;
    o->length = depth;
    return 0;
}

/* Reset the world, then run the first `fixed` decisions as stack[] says and the rest by the
 * default (go on with the same process while it can; else the lowest that can), recording the
 * new decisions in stack[].  A schedule ends when every process is done, when none can move,
 * or when the invariant breaks. */
static void run_schedule(struct crew *crew, struct decision *stack, int fixed,
                         const struct wanted *want, struct outcome *o)
{
    const struct scenario *s = crew->s;
    struct world *w = crew->w;
    reset_world(w);
    s->reset(w);
    for (int p = 0; p < s->processes; p++)
        tell(w, p, FORGET_REGISTERS);
    int previous = -1, preemptions = 0, depth = 0;
    o->broken = 0;
    o->refused[0] = '\0';
    for (;; depth++) {
        unsigned enabled = enabled_set(s, w);
        if (want && depth < fixed && !refuse_wanted(s, w, enabled, &want[depth], depth, o))
            return;
        if (enabled == 0)
            break;
        if (depth == MAX_SCHEDULE_STEPS)
            die("%s: a schedule is longer than %d steps (does a scenario loop?)", s->name,
                MAX_SCHEDULE_STEPS);
        struct decision *d = &stack[depth];
        if (depth >= fixed) {
            int keep = previous >= 0 && (enabled & (1u << previous));
            d->chosen = keep ? previous : lowest(enabled);
            d->enabled = enabled;
            d->tried = 1u << d->chosen;
        }
        d->previous = previous;
        d->preemptions = preemptions;
        if (previous >= 0 && (enabled & (1u << previous)) && d->chosen != previous)
            preemptions++; /* switched away from a process that could have gone on */
        int who = d->chosen, pc = w->pc[who];
        tell(w, who, TAKE_STEP);
        struct trace_step *t = &o->steps[depth];
        t->who = who;
        snprintf(t->action, sizeof t->action, "%s%s%s", s->labels[who][pc],
                 w->detail[who][0] ? " " : "", w->detail[who]);
        s->show(w, t->state, sizeof t->state);
        previous = who;
        if (s->check(w, 0, o->why, sizeof o->why)) {
            o->broken = 1;
            depth++;
            break;
        }
    }
    o->length = depth;
    o->preemptions = preemptions;
    if (o->broken)
        return;
    int finished = enabled_set(s, w) == 0;
    for (int p = 0; p < s->processes; p++)
        finished &= w->pc[p] == DONE;
    if (!finished) {
        describe_deadlock(s, w, o->why, sizeof o->why);
        o->broken = 1;
    } else if (s->check(w, 1, o->why, sizeof o->why)) {
        o->broken = 1;
    }
}

/* Move to the next schedule: the deepest decision with an untried process within the bound.
 * Returns how many decisions are now fixed, or -1 when every schedule has been run. */
static int next_schedule(struct decision *stack, int length, int bound)
{
    for (int depth = length - 1; depth >= 0; depth--) {
        struct decision *d = &stack[depth];
        unsigned untried = d->enabled & ~d->tried;
        while (untried) {
            int alt = lowest(untried);
            untried &= untried - 1;
            d->tried |= 1u << alt;
            int preempts = d->previous >= 0 && (d->enabled & (1u << d->previous));
            if (bound == UNBOUNDED || d->preemptions + preempts <= bound) {
                d->chosen = alt;
                return depth + 1;
            }
        }
    }
    return -1;
}

/* ---- printing -------------------------------------------------------------------------------- */

static void print_table(const struct outcome *o, int given)
{
    printf("step  who  %-46s  state\n", "action");
    for (int i = 0; i < o->length; i++)
        printf("%4d  %c%c   %-46s  %s\n", i + 1, process_letter(o->steps[i].who),
               i < given ? ' ' : '+', o->steps[i].action, o->steps[i].state);
}

/* The schedule as letters: "A B A B". */
static void schedule_text(const struct outcome *o, char *out, size_t size)
{
    size_t used = 0;
    for (int i = 0; i < o->length && used + 3 < size; i++) {
        out[used++] = process_letter(o->steps[i].who);
        out[used++] = i + 1 < o->length ? ' ' : '\0';
    }
    out[used] = '\0';
}

void print_scenario(const struct scenario *s)
{
    printf("%s: %s\n", s->name, s->summary);
    for (int p = 0; p < s->processes; p++) {
        printf("  %c:", process_letter(p));
        for (int i = 0; i < s->lengths[p]; i++)
            printf(" %d %s%s", i, s->labels[p][i], i + 1 < s->lengths[p] ? ";" : "\n");
    }
    printf("  invariant: %s\n", s->invariant);
}

/* ---- exploring --------------------------------------------------------------------------------
 */

struct tally {
    long schedules, broken;
    long by_preemptions[MAX_SCHEDULE_STEPS + 1];
    int have_shortest;
    struct outcome shortest; /* the shortest breaking schedule; fewer preemptions break ties */
};

static void explore(const struct scenario *s, int bound, struct tally *t, char *folder, size_t size)
{
    static struct decision stack[MAX_SCHEDULE_STEPS];
    static struct outcome o;
    memset(t, 0, sizeof *t);
    struct crew crew;
    start_crew(&crew, s);
    int fixed = 0;
    do {
        run_schedule(&crew, stack, fixed, NULL, &o);
        t->schedules++;
        t->by_preemptions[o.preemptions]++;
        if (o.broken) {
            t->broken++;
            if (!t->have_shortest || o.length < t->shortest.length ||
                (o.length == t->shortest.length && o.preemptions < t->shortest.preemptions)) {
                t->shortest = o;
                t->have_shortest = 1;
            }
        }
        fixed = next_schedule(stack, o.length, bound);
    } while (fixed >= 0);
    snprintf(folder, size, "%s", crew.folder);
    if (stop_crew(&crew))
        exit(EXIT_FAILURE);
}

static void bound_text(int bound, char *out, size_t size)
{
    if (bound == UNBOUNDED)
        snprintf(out, size, "no preemption bound");
    else
        snprintf(out, size, "preemption bound %d", bound);
}

void explore_one(const struct scenario *s, int bound)
{
    static struct tally t;
    char bounds[32], letters[3 * MAX_SCHEDULE_STEPS];
    bound_text(bound, bounds, sizeof bounds);
    print_scenario(s);
    char folder[240];
    explore(s, bound, &t, folder, sizeof folder);
    if (folder[0])
        printf("folder: %s (made for the file, and removed)\n", folder);
    printf("explored with %s\n", bounds);
    printf("schedules: %ld (by preemptions:", t.schedules);
    for (int k = 0; k <= MAX_SCHEDULE_STEPS; k++)
        if (t.by_preemptions[k])
            printf(" %d: %ld;", k, t.by_preemptions[k]);
    printf(")\nbroken: %ld of %ld\n", t.broken, t.schedules);
    if (!t.have_shortest) {
        printf("verdict: the invariant held in every schedule within the bound\n");
        return;
    }
    schedule_text(&t.shortest, letters, sizeof letters);
    printf("shortest breaking schedule: %d steps, %d preemption(s): %s\n", t.shortest.length,
           t.shortest.preemptions, t.shortest.why);
    print_table(&t.shortest, t.shortest.length);
    printf("replay: schedule_explorer %s --schedule \"%s\"\n", s->name, letters);
}

void explore_all(const struct scenario *scenarios, int count, int bound)
{
    static struct tally t;
    char bounds[32], letters[3 * MAX_SCHEDULE_STEPS];
    bound_text(bound, bounds, sizeof bounds);
    printf("schedule_explorer: every scenario, %s\n", bounds);
    printf("%-20s %5s %9s %7s  %s\n", "scenario", "procs", "schedules", "broken",
           "shortest breaking schedule");
    for (int i = 0; i < count; i++) {
        char folder[240];
        explore(&scenarios[i], bound, &t, folder, sizeof folder);
        if (t.have_shortest)
            schedule_text(&t.shortest, letters, sizeof letters);
        else
            strcpy(letters, "-");
        printf("%-20s %5d %9ld %7ld  %s\n", scenarios[i].name, scenarios[i].processes, t.schedules,
               t.broken, letters);
    }
}

/* ---- one given schedule -------------------------------------------------------------------------
 */

/* "A B", "Ar Bw", "A reads, B writes": a word that starts with a capital letter names a process
 * (its other letters begin the step's name); the lower-case words after it go on that name. */
static int parse_schedule(const struct scenario *s, const char *text, struct wanted *want,
                          const char *usage)
{
    char buf[4096], *save;
    if (strlen(text) >= sizeof buf)
        usage_error(usage, "--schedule: too long");
    strcpy(buf, text);
    int n = -1;
    for (char *word = strtok_r(buf, " ,;\t", &save); word; word = strtok_r(NULL, " ,;\t", &save)) {
        if (word[0] >= 'A' && word[0] <= 'Z') {
            int who = word[0] - 'A';
            if (who >= s->processes)
                usage_error(usage, "--schedule: %s has processes A to %c, not %c", s->name,
                            process_letter(s->processes - 1), word[0]);
            if (++n == MAX_SCHEDULE_STEPS)
                usage_error(usage, "--schedule: more than %d steps", MAX_SCHEDULE_STEPS);
            want[n].who = who;
            snprintf(want[n].verb, sizeof want[n].verb, "%s", word + 1);
        } else if (n < 0) {
            usage_error(usage, "--schedule: \"%s\": a step starts with a process letter (A, B%s)",
                        word, s->processes > 2 ? ", C" : "");
        } else if (want[n].verb[0] == '\0') {
            snprintf(want[n].verb, sizeof want[n].verb, "%s", word);
        } /* further words ("reads counter") are for the reader */
    }
    if (n < 0)
        usage_error(usage, "--schedule: empty");
    return n + 1;
}

int run_given(const struct scenario *s, const char *text, const char *usage)
{
    static struct wanted want[MAX_SCHEDULE_STEPS];
    static struct decision stack[MAX_SCHEDULE_STEPS];
    static struct outcome o;
    int n = parse_schedule(s, text, want, usage);
    for (int i = 0; i < n; i++)
        stack[i].chosen = want[i].who;
    struct crew crew;
    start_crew(&crew, s);
    run_schedule(&crew, stack, n, want, &o);
    char folder[240];
    snprintf(folder, sizeof folder, "%s", crew.folder);
    int failed = stop_crew(&crew);
    /* Nothing is printed before this point, so a schedule that cannot be run is a usage error
     * like any other bad argument. */
    if (o.refused[0])
        usage_error(usage, "--schedule: %s", o.refused);
    print_scenario(s);
    if (folder[0])
        printf("folder: %s (made for the file, and removed)\n", folder);
    if (o.length < n)
        printf("note: the invariant broke at step %d; the schedule's last %d step(s) were not "
               "run\n",
               o.length, n - o.length);
    print_table(&o, n);
    if (o.length > n)
        printf("(+: a step you did not give: the explorer ran it without a preemption)\n");
    if (o.broken)
        printf("verdict: broken: %s\n", o.why);
    else
        printf("verdict: holds: %s\n", s->invariant);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
