#define _GNU_SOURCE
/* driver.c - forklore's benchmark driver: runs every workload, checks it, reduces, writes CSV.
 *
 * Usage: bench [--data DIR] [--plots DIR] [--quick | --smoke] [--repeats N] [--cores K[,K...]]
 *              [--only NAME[,NAME...]] [--report-only] [--compare DIR] [--list]
 *   --data DIR     where the CSV files and the machine description go (default plots/data)
 *   --plots DIR    where the report (report.md) goes, beside the plots (default plots)
 *   --report-only  rewrite the report and the fits from the last data, running nothing
 *   --compare DIR  say which points of the last data differ from an earlier run's beyond their
 *                  spread (bench/plot.sh --compare draws the two together), running nothing
 *   --quick        the same plan cut short: smaller problems, fewer repetitions (QUICK=1)
 *   --smoke        the smallest problems that still check every answer (for tests: the
 *                  times mean nothing), with the quick plan's sweep
 *   --repeats N    runs that count per point (default 5; 3 with --quick), after one warm-up
 *   --cores LIST   sweep only these core counts (each from 1 to the usable CPUs)
 *   --only NAMES   run only these workloads (comma-separated; see --list)
 *   --list         list the workloads and exit
 *
 * How a point is measured (the lesson on benchmarking explains why):
 *   1. The driver pins itself to k of the CPUs it may use; the workload's children inherit that.
 *   2. One warm-up run (page cache, caches, lazy binding), then the repetitions.
 *   3. Each run is timed on the monotonic clock (wall) and on the CPU clocks of the whole
 *      process tree (getrusage, plus /proc for workers that outlive the run), and its answer is
 *      checked by the workload: a wrong answer stops the driver.
 *   4. Workers report when they started and stopped and how much CPU they used.  If they used
 *      less than 90% of the CPU time they could have (see overlap_of), they took turns (a busy
 *      or virtual machine) and did not really run together.  And before each run of a scaling
 *      point a short probe checks that the k CPUs really compute as fast together as one alone
 *      (see capacity_of).  A run failing either check is repeated, up to a bound, and a point
 *      that stays low is marked in the CSV and the summary.
 *   5. Reduction: median, minimum and maximum.  Absolute times move by 2x between runs on a
 *      shared machine, so the summary leads with ratios: speedup and efficiency.
 *
 * Output in DIR: machine.txt; samples.csv (every run); NAME.csv (reduced points); NAME.dat (the
 * same for gnuplot, one block per series); index.tsv (what bench/plot.sh draws); boundaries.tsv
 * (the core counts where SMT siblings, efficiency cores or a second socket begin); NAME.fits (the
 * fitted models, for the plots).  In PLOTS: report.md (bench/report.c).
 *
 * See also: bench/workload.h (the contract), bench/plot.sh, lessons/09-benchmarking.md.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/output_file.h"
#include "support/parse.h"
#include "fork_workers.h"
#include "plan.h"
#include "reduced_csv.h"
#include "report.h"
#include "statistics.h"
#include "workload.h"

/* Below this share of the expected parallelism, the workers were mostly taking turns. */
#define OVERLAP_GOOD 0.90
/* Above this interquartile range (over the median) a point's runs disagree too much to trust
 * its median: it gets more runs, up to the same bound. */
#define SPREAD_WIDE 0.20
/* A point gets up to this many times its counted runs while its runs are disturbed. */
enum { MAX_TRIES_FACTOR = 3 };
/* --repeats above this is a typo (every run of every point is kept in memory and the CSV). */
enum { MAX_REPEATS = 1000 };

static const char usage[] =
    "Usage: bench [--data DIR] [--plots DIR] [--quick | --smoke] [--repeats N] [--cores K[,K...]]\n"
    "             [--budget SECONDS]\n"
    "             [--only NAME[,NAME...]] [--report-only] [--compare DIR] [--list]\n"
    "Runs forklore's benchmark workloads, writes CSV data for bench/plot.sh and a report.\n"
    "  --data DIR    output folder (default plots/data)\n"
    "  --plots DIR   where the report goes, beside the plots (default plots)\n"
    "  --report-only rewrite the report from the last data; run nothing\n"
    "  --compare DIR compare the last data with an earlier run's data in DIR; run nothing\n"
    "  --quick       smaller problems and fewer repetitions\n"
    "  --smoke       the smallest problems that still check their answers (times mean nothing)\n"
    "  --cores LIST  sweep only these core counts (comma-separated)\n"
    "  --repeats N   counted runs per point after one warm-up (default 5, quick 3)\n"
    "  --budget S    time budget in seconds (default 255, quick 24, smoke none; 0: none):\n"
    "                points whose estimated cost would pass it are left out, and said so\n"
    "  --only NAMES  comma-separated workload names (see --list)\n"
    "  --list        list the workloads and exit\n";

struct options {
    const char *data_dir, *plots_dir, *compare_dir;
    int quick, repeats, report_only; /* quick: 1 --quick, 2 --smoke (point.quick) */
    const char *only, *cores;
    double budget_s; /* the whole run's time budget (plan_budget_s, or --budget); 0: none */
};

struct sample {
    double wall_ns, cpu_ns, ops, overlap, extra, capacity;
    char note[DETAIL_SIZE];
};

/* The machine as the plan sees it: its CPUs in sweep order (plan.h), of which the first
 * cpu_total are usable (the CPU quota may leave fewer than the mask). */
static struct cpu_topology machine;
static int *cpu_ids;
static int cpu_total;
static const char *only_cores; /* --cores, or NULL: the whole sweep */
static FILE *samples_csv;

/* The core counts to sweep: the planner's (plan.h), or those --cores names, in its order. */
static int *sweep_for(int quick, int *count)
{
    if (!only_cores)
        return plan_core_sweep(&machine, quick, count);
    int room = 1;
    for (const char *c = only_cores; *c; c++)
        room += *c == ',';
    int *ks = malloc(sizeof *ks * (size_t)room);
    if (!ks)
        die("malloc");
    int n = 0;
    for (const char *s = only_cores; *s && n < room;) {
        ks[n++] = (int)strtol(s, NULL, 10); /* checked by check_core_list */
        s += strcspn(s, ",");
        s += *s == ',';
    }
    *count = n;
    return ks;
}

static const char *plan_name(int quick)
{
    return quick > 1 ? "smoke" : quick ? "quick" : "default";
}

/* --- the plan -------------------------------------------------------------------------- */

/* A growable list of points. */
struct point_list {
    struct point *points;
    int count, room;
};

static void add_point(struct point_list *l, const struct point *p)
{
    if (l->count == l->room) {
        l->room = l->room ? 2 * l->room : 64;
        l->points = realloc(l->points, sizeof *l->points * (size_t)l->room);
        if (!l->points)
            die("realloc: %d points", l->room);
    }
    l->points[l->count++] = *p;
}

/* The workload's own plan, asked again with twice the room while it fills all it was given. */
static struct point *workload_plan(const struct workload *w, int quick, int *count)
{
    for (int room = 64;; room *= 2) {
        struct point *variants = calloc((size_t)room, sizeof *variants);
        if (!variants)
            die("calloc: %d points", room);
        int n = w->plan(variants, room, quick);
        if (n < room) {
            *count = n;
            return variants;
        }
        free(variants);
        if (room > (1 << 24))
            die("%s: its plan fills %d points and asks for more", w->name, room);
    }
}

/* Can `workers` more processes start under the cgroup's pids.max?  The driver, its pools and
 * the probe's children count too: keep a margin. */
static int pids_allow(int workers)
{
    enum { PIDS_MARGIN = 64 };
    return machine.pids_max < 0 || (long)workers + PIDS_MARGIN <= machine.pids_max;
}

/* Expand a workload's plan into the points to run (appended to out). */
static void expand_plan(const struct workload *w, int quick, struct point_list *out)
{
    int n;
    struct point *variants = workload_plan(w, quick, &n);
    int nk;
    int *ks = sweep_for(quick, &nk);
    for (int v = 0; v < n; v++) {
        variants[v].quick = quick;
        if (w->shape != SHAPE_SERIES)
            continue;
        if (variants[v].cpus <= 0)
            variants[v].cpus = 1;
        if (variants[v].cpus > cpu_total)
            continue; /* e.g. "different CPUs" on a one-CPU machine */
        if (variants[v].workers <= 0)
            variants[v].workers = 1;
        add_point(out, &variants[v]);
    }
    /* Scaling points in the order a time budget cuts them best (plan_measure_order): k = 1 and
     * the full count of every variant first, the rest spread evenly after; the oversubscribed
     * twins (2 per CPU) only after every point of the main series, k = 1 aside (it always
     * runs), so a tight budget keeps enough of each main series to fit a model, and leaves out
     * first the points with the most processes to fork. */
    int *order = malloc(sizeof *order * (size_t)(nk > 0 ? nk : 1));
    if (!order)
        die("malloc: %d core counts", nk);
    plan_measure_order(only_cores ? NULL : &machine, ks, nk, order);
    for (int per_cpu = 1; per_cpu <= 2; per_cpu++)
        for (int i = 0; i < nk && w->shape == SHAPE_SCALING; i++)
            for (int v = 0; v < n; v++) {
                struct point p = variants[v];
                p.x = order[i];
                p.cpus = order[i];
                p.workers = per_cpu * order[i];
                p.per_cpu = per_cpu;
                if (!pids_allow(p.workers)) {
                    fprintf(stderr,
                            "bench: %s, %s: %d workers on %d CPUs skipped: the "
                            "cgroup's pids.max is %ld\n",
                            w->name, p.series, p.workers, p.cpus, machine.pids_max);
                    continue;
                }
                add_point(out, &p);
            }
    free(order);
    free(ks);
    free(variants);
}

/* The topology, the quota, and the CPUs in sweep order (support/cpus.h). */
static void read_machine(void)
{
    cpu_topology_read(&machine);
    cpu_total = machine.usable;
    cpu_ids = malloc(sizeof *cpu_ids * (size_t)machine.count);
    if (!cpu_ids)
        die("malloc: %d CPUs", machine.count);
    for (int i = 0; i < machine.count; i++)
        cpu_ids[i] = machine.cpus[i].id;
}

/* --cores: whole numbers from 1 to the usable CPUs, measured in place of the planner's sweep. */
static void check_core_list(const struct options *o)
{
    only_cores = o->cores;
    for (const char *s = o->cores; s && *s;) {
        size_t n = strcspn(s, ",");
        char item[32];
        snprintf(item, sizeof item, "%.*s", (int)(n < 31 ? n : 31), s);
        parse_long(item, "--cores", 1, cpu_total, usage);
        s += n + (s[n] == ',');
    }
}

/* The core counts the scaling workloads sweep, with what begins where. */
static void print_sweep(FILE *out, int quick)
{
    int nk;
    int *ks = sweep_for(quick, &nk);
    fprintf(out, "sweep (%s):",
            machine.known ? "one thread per core, then SMT siblings, then "
                            "the next socket"
                          : "the affinity mask's order: no topology");
    for (int i = 0; i < nk; i++) {
        const char *mark = plan_boundary_at(&machine, ks[i]);
        fprintf(out, " %d%s%s%s", ks[i], mark ? " [" : "", mark ? mark : "", mark ? "]" : "");
    }
    fputc('\n', out);
    free(ks);
}

/* --- measuring one point --------------------------------------------------------------- */

/* How much the workers really ran together.  Each worker says how long it lived (start to end)
 * and how much CPU it used meanwhile.  A CPU-bound worker that had a CPU to itself used its
 * whole life; two workers taking turns on one CPU each used half of theirs.  So the overlap is
 * the CPU the workers used over the CPU they could have used: the sum of their lifetimes times
 * min(P, k) / P, the share of the time a worker can have a CPU when P share k.  Uneven work does
 * not lower it (a worker that finishes early simply lives less), only turn-taking does.
 * 1 when there is nothing to compare. */
static int pinned_now; /* distinct real CPUs the driver is pinned to for the current point */

static double overlap_of(const struct point *p, const struct run_result *r)
{
    if (r->nspans < 2)
        return 1.0;
    int64_t lived = 0, cpu = 0;
    for (int i = 0; i < r->nspans; i++) {
        lived += r->spans[i].end_ns - r->spans[i].start_ns;
        cpu += r->spans[i].cpu_ns;
    }
    /* The CPUs really there: on a simulated machine, k "CPUs" may be fewer real ones. */
    int sharing = p->workers < pinned_now ? p->workers : pinned_now;
    double possible = (double)lived * sharing / p->workers;
    if (possible <= 0)
        return 1.0;
    double share = (double)cpu / possible;
    return share > 1.0 ? 1.0 : share;
}

/* CPU time of this process, of the children it has reaped, and of every descendant still
 * running.  getrusage alone misses workers that outlive a run (a pre-forked pool, a Python
 * co-process): they are only counted once reaped.  A live task's CPU time, in nanoseconds,
 * is the first field of /proc/PID/task/TID/schedstat.  Taken before and after a run, the
 * difference is the CPU the whole tree used during the run, whether its processes were born,
 * reaped, or neither in between. */
static int64_t descendants_cpu_ns(pid_t pid, int depth)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (!tasks)
        return 0; /* gone meanwhile: its CPU went to its parent's reaped-children count */
    int64_t total = 0;
    struct dirent *e;
    while ((e = readdir(tasks)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[sizeof path + 300];
        FILE *f;
        if (depth > 0) { /* this process's own CPU is getrusage's: count only descendants */
            snprintf(file, sizeof file, "%s/%s/schedstat", path, e->d_name);
            if ((f = fopen(file, "r")) != NULL) {
                long long ns;
                if (fscanf(f, "%lld", &ns) == 1)
                    total += ns;
                fclose(f);
            }
        }
        snprintf(file, sizeof file, "%s/%s/children", path, e->d_name);
        if (depth < 16 && (f = fopen(file, "r")) != NULL) {
            int child;
            while (fscanf(f, "%d", &child) == 1)
                total += descendants_cpu_ns(child, depth + 1);
            fclose(f);
        }
    }
    closedir(tasks);
    return total;
}

static int64_t tree_cpu_ns(void)
{
    return process_cpu_ns() + children_cpu_ns() + descendants_cpu_ns(getpid(), 0);
}

/* The machine's parallel capacity right now, as a share: k processes each run the same short
 * integer loop (divisions, like the prime tests) on the k CPUs of the point, and the slowest
 * is compared with one running alone.  1 means every CPU is as fast as one alone.  On a virtual
 * machine two vCPUs can land on the two hyper-threads of one physical core, or share it with
 * another guest: the workers then all run (the overlap check is satisfied) but each at half
 * speed, and the speedup is capped for reasons that have nothing to do with the program.
 * CAPACITY_GOOD (workload.h) is where a run stops counting. */

static volatile unsigned long probe_sink;

/* One probe worker: the loop, timed by itself. */
static int probe_worker(int index, void *arg, void *record)
{
    (void)index, (void)arg;
    int64_t t0 = monotonic_ns();
    unsigned long x = 88172645463325252ul, sum = 0;
    for (int n = 0; n < 200000; n++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        sum += x % 1000003;
    }
    probe_sink = sum; /* a volatile store: the loop cannot be optimised away */
    int64_t took = monotonic_ns() - t0;
    memcpy(record, &took, sizeof took);
    return 0;
}

/* The slowest of `children` probe workers started together, in nanoseconds. */
static double probe_ns(int children)
{
    int64_t *took = calloc((size_t)children, sizeof *took);
    if (!took)
        die("calloc: %d probe records", children);
    char detail[DETAIL_SIZE];
    struct fork_workers_job job = {children, sizeof *took, probe_worker, NULL};
    if (fork_workers(&job, took, detail, sizeof detail) != 0)
        die("the capacity probe: %s", detail);
    int64_t slowest = 0;
    for (int i = 0; i < children; i++)
        slowest = took[i] > slowest ? took[i] : slowest;
    free(took);
    return (double)slowest;
}

/* With k workers on the CPUs the driver is pinned to (the real ones: a simulated machine's k
 * may stand on fewer), as many probes as can run at once. */
static double capacity_of(const struct point *p)
{
    int k = p->workers < pinned_now ? p->workers : pinned_now;
    if (k < 2)
        return 1.0;
    double alone = probe_ns(1), together = probe_ns(k);
    double share = together > 0 ? alone / together : 1.0;
    return share > 1.0 ? 1.0 : share;
}

static struct run_result result;    /* its spans are kept and reused from run to run */
static struct timeline *trace_next; /* the timeline the next run records its tasks in, or NULL */

static struct sample run_once(const struct workload *w, const struct point *p)
{
    double capacity = w->shape == SHAPE_SCALING ? capacity_of(p) : 1.0;
    /* Workloads fork: nothing may sit in a stdio buffer that a child could write out again. */
    fflush(NULL);
    struct worker_span *spans = result.spans; /* reuse the room */
    int room = result.span_room;
    memset(&result, 0, sizeof result);
    result.spans = spans;
    result.span_room = room;
    result.trace = trace_next;
    trace_next = NULL;
    char label[LABEL_SIZE + 16];
    point_label(p, label, sizeof label);
    int64_t cpu0 = tree_cpu_ns();
    int64_t t0 = monotonic_ns();
    if (w->run(p, &result) != 0) {
        fprintf(stderr, "%s: %s (%s, %d workers on %d CPUs): run failed: %s\n", program_name(),
                w->name, label, p->workers, p->cpus, result.detail);
        exit(EXIT_FAILURE);
    }
    int64_t t1 = monotonic_ns();
    int64_t cpu1 = tree_cpu_ns();
    if (!result.ok) {
        fprintf(stderr, "%s: %s (%s, x=%g, %d workers on %d CPUs): WRONG RESULT: %s\n",
                program_name(), w->name, label, p->x, p->workers, p->cpus, result.detail);
        fprintf(stderr, "%s: refusing to report a wrong answer; stopping\n", program_name());
        exit(EXIT_FAILURE);
    }
    struct sample s = {(double)(t1 - t0),
                       (double)(cpu1 - cpu0),
                       result.ops > 0 ? result.ops : 1,
                       overlap_of(p, &result),
                       result.extra,
                       capacity,
                       ""};
    snprintf(s.note, sizeof s.note, "%s", result.detail);
    return s;
}

/* Interquartile range over the median of the wall times: robust to one outlier run. */
static double spread_of(const struct sample *s, int n)
{
    if (n < 1)
        return 0;
    double *wall = malloc(sizeof *wall * (size_t)n);
    if (!wall)
        die("malloc: %d samples", n);
    for (int i = 0; i < n; i++)
        wall[i] = s[i].wall_ns;
    double spread = relative_iqr(wall, n);
    free(wall);
    return spread;
}

/* The number a point is plotted by, for one run. */
static double figure_of(const struct workload *w, const struct sample *s)
{
    if (w->shape == SHAPE_SCALING)
        return s->wall_ns / 1e9;
    switch (w->figure) {
    case FIGURE_OPS_PER_S: return s->ops / (s->wall_ns / 1e9);
    case FIGURE_EXTRA: return s->extra;
    case FIGURE_NS_PER_OP: break;
    }
    return s->wall_ns / s->ops;
}

static void write_sample(const struct workload *w, const struct point *p, int run,
                         const struct sample *s, int good)
{
    struct sample_row row = {.x = p->x,
                             .cpus = p->cpus,
                             .workers = p->workers,
                             .run = run,
                             .wall_ns = s->wall_ns,
                             .cpu_ns = s->cpu_ns,
                             .ops = s->ops,
                             .overlap = s->overlap,
                             .counted = good,
                             .extra = s->extra,
                             .capacity = s->capacity};
    snprintf(row.workload, sizeof row.workload, "%s", w->name);
    point_label(p, row.series, sizeof row.series);
    samples_csv_row(samples_csv, &row);
}

/* The counted runs of a point, reduced to medians and extremes. */
static struct reduced_point reduce(const struct workload *w, const struct point *p,
                                   const struct sample *use, int n)
{
    struct reduced_point r;
    memset(&r, 0, sizeof r);
    r.point = *p;
    r.samples = n;
    r.spread = spread_of(use, n);
    r.wide_spread = r.spread > SPREAD_WIDE;
    double *column = malloc(sizeof *column * (size_t)n);
    if (!column)
        die("malloc: %d samples", n);
        /* One column at a time: each median sorts its column, so the extremes are its ends. */
#define MEDIAN_OF(expression, median, lowest, highest)                                             \
    do {                                                                                           \
        for (int i = 0; i < n; i++)                                                                \
            column[i] = (expression);                                                              \
        median = median_of(column, n);                                                             \
        lowest = column[0];                                                                        \
        highest = column[n - 1];                                                                   \
    } while (0)
    double unused_low, unused_high;
    MEDIAN_OF(use[i].wall_ns, r.wall_median_ns, r.wall_min_ns, r.wall_max_ns);
    MEDIAN_OF(use[i].cpu_ns, r.cpu_median_ns, unused_low, unused_high);
    MEDIAN_OF(figure_of(w, &use[i]), r.figure_median, r.figure_min, r.figure_max);
    MEDIAN_OF(use[i].overlap, r.overlap, unused_low, unused_high);
    MEDIAN_OF(use[i].extra, r.extra_median, unused_low, unused_high);
    MEDIAN_OF(use[i].capacity, r.capacity, unused_low, unused_high);
#undef MEDIAN_OF
    (void)unused_low, (void)unused_high;
    free(column);
    /* Idle: of the CPUs really under the run (a simulated k may stand on fewer). */
    double busy = r.cpu_median_ns / (r.wall_median_ns * pinned_now);
    r.idle = busy < 1 ? 1 - busy : 0;
    snprintf(r.note, sizeof r.note, "%s", use[n - 1].note);
    return r;
}

/* After the traced run: a workload that recorded no task of its own (fork_join: each worker
 * is one task) gets one span per worker, from the spans every scaling run reports. */
static void add_worker_spans(struct timeline *trace, size_t before)
{
    if (trace->count > before)
        return;
    for (int i = 0; i < 2 * result.nspans; i++) { /* the worker's row, then its one task */
        const struct worker_span *w = &result.spans[i / 2];
        struct timeline_span *t = timeline_add(trace);
        if (!t)
            die("the trace: %d spans", i);
        t->row = i / 2 + 1; /* the worker's index: its pid is gone with it */
        t->names_row = i % 2 == 0;
        t->category = i % 2 == 0 ? "worker" : "task";
        snprintf(t->name, sizeof t->name, i % 2 == 0 ? "worker %d" : "task %d",
                 i % 2 == 0 ? i / 2 + 1 : i / 2);
        t->start_ns = w->start_ns;
        t->end_ns = w->end_ns;
        if (i % 2)
            snprintf(t->args, sizeof t->args, "\"task\": %d, \"cpu_ms\": %.3f", i / 2,
                     w->cpu_ns / 1e6);
    }
}

/* Warm up, repeat, reduce.  Runs with poor overlap are recorded but do not count, until the
 * try bound is reached; then the point keeps what it has and is marked. */
static struct reduced_point measure_point(const struct workload *w, const struct point *p,
                                          const struct options *o, int64_t deadline_ns, int *runs,
                                          struct timeline *trace, double *setup_ns)
{
    pin_to_cpus(cpu_ids, p->cpus);
    pinned_now = pinned_cpu_count();
    char detail[DETAIL_SIZE] = "";
    fflush(NULL); /* setup may fork */
    int64_t setup_started = monotonic_ns();
    if (w->setup && w->setup(p, detail, sizeof detail) != 0) {
        char label[LABEL_SIZE + 16];
        point_label(p, label, sizeof label);
        fprintf(stderr, "%s: %s (%s, %d workers on %d CPUs): setting up: %s\n", program_name(),
                w->name, label, p->workers, p->cpus, detail);
        exit(EXIT_FAILURE);
    }
    *setup_ns = (double)(monotonic_ns() - setup_started);
    int64_t warm_started = monotonic_ns();
    run_once(w, p); /* warm-up, not recorded */
    double warm_ns = (double)(monotonic_ns() - warm_started);
    int nkept = 0, nall = 0, max_tries = o->repeats * MAX_TRIES_FACTOR;
    struct sample *kept = calloc((size_t)max_tries, sizeof *kept);
    struct sample *all = calloc((size_t)max_tries, sizeof *all);
    if (!kept || !all)
        die("calloc: %d samples", max_tries);
    /* With more workers than CPUs, taking turns is the point being measured, not a fault. */
    int oversubscribed = p->workers > pinned_now;
    /* Enough good runs, and they agree; or the try bound is reached. */
    /* Past the budget's deadline a point stops at what it has (one run at least). */
    int cut = 0;
    while ((nkept < o->repeats || spread_of(kept, nkept) > SPREAD_WIDE) && nall < max_tries) {
        if (nall > 0 && deadline_ns > 0 && monotonic_ns() > deadline_ns) {
            cut = 1;
            break;
        }
        int traced = nall == 0 && trace; /* the first timed run, after the warm-up */
        size_t before = traced ? trace->count : 0;
        trace_next = traced ? trace : NULL;
        struct sample s = run_once(w, p);
        if (traced)
            add_worker_spans(trace, before);
        int good = (oversubscribed || s.overlap >= OVERLAP_GOOD) && s.capacity >= CAPACITY_GOOD;
        all[nall++] = s;
        if (good)
            kept[nkept++] = s;
        write_sample(w, p, nall, &s, good);
    }
    if (w->teardown)
        w->teardown(p);
    /* What the warm-up took beyond a timed run is start-up too (an MPI job's ranks start in
     * its first run): the budget counts it with the setup, per worker. */
    double timed_ns = 0;
    for (int i = 0; i < nall; i++)
        timed_ns += all[i].wall_ns / nall;
    if (warm_ns > timed_ns)
        *setup_ns += warm_ns - timed_ns;
    struct reduced_point r = nkept >= o->repeats || (cut && nkept > 0) ? reduce(w, p, kept, nkept)
                                                                       : reduce(w, p, all, nall);
    r.low_overlap = cut ? nkept == 0 : nkept < o->repeats;
    if (cut) {
        size_t used = strlen(r.note);
        snprintf(r.note + used, sizeof r.note - used, "%s%d runs: time budget", used ? "; " : "",
                 nall);
    }
    *runs = nall + 1;
    pin_to_cpus(cpu_ids, cpu_total);
    free(kept);
    free(all);
    return r;
}

/* Reorder the points so each series is contiguous, in the order the series first appear, and
 * the points of a series keep their order (the plot draws one block per series). */
static void group_by_series(struct reduced_point *r, int n)
{
    struct reduced_point *sorted = malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    char *done = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!sorted || !done)
        die("malloc: %d points", n);
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        for (int j = i; j < n; j++)
            if (!done[j] && same_series(&r[j].point, &r[i].point)) {
                sorted[out++] = r[j];
                done[j] = 1;
            }
    }
    memcpy(r, sorted, sizeof *r * (size_t)n);
    free(sorted);
    free(done);
}

/* Speedup of each scaling point over the k = 1, 1 worker point of its series (the
 * oversubscribed twin is compared with the plain series' k = 1, so 2 workers per CPU is judged
 * against 1 on 1).  A weak-scaling point's work grows with its workers, so oversubscribed weak
 * points do twice the work of plain ones at the same k: their scaled speedup counts that.
 * The error bars combine the extremes: best over worst and worst over best. */
static void add_speedups(struct reduced_point *r, int n)
{
    for (int i = 0; i < n; i++) {
        const struct reduced_point *base = NULL;
        for (int j = 0; j < n && !base; j++)
            if (r[j].point.cpus == 1 && r[j].point.workers == 1 &&
                strcmp(r[i].point.series, r[j].point.series) == 0)
                base = &r[j];
        if (!base)
            continue;
        /* Weak scaling: k workers do k times the work, so the time should stay flat; the
         * scaled speedup k * T(1) / T(k) is then comparable with the strong one. */
        double scale = r[i].point.weak ? r[i].point.workers : 1;
        r[i].speedup = scale * base->wall_median_ns / r[i].wall_median_ns;
        r[i].speedup_min = scale * base->wall_min_ns / r[i].wall_max_ns;
        r[i].speedup_max = scale * base->wall_max_ns / r[i].wall_min_ns;
        r[i].efficiency = r[i].speedup / r[i].point.cpus;
    }
}

/* --- output ---------------------------------------------------------------------------- */

static FILE *open_output(const char *dir, const char *name, const char *suffix)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    FILE *f = output_stream_open(path); /* never through a link planted in the folder */
    if (!f)
        die_with_code(-1, "cannot write %s: %s", path, output_file_reason(errno));
    return f;
}

static void close_output(FILE *f, const char *what)
{
    if (ferror(f) | fclose(f))
        die("writing %s", what);
}

/* NAME.csv and NAME.dat, by the one column table (reduced_csv.h). */
static void write_reduced(const char *dir, const struct workload *w, const struct reduced_point *r,
                          int n)
{
    FILE *csv = open_output(dir, w->name, ".csv");
    FILE *dat = open_output(dir, w->name, ".dat");
    reduced_csv_header(csv);
    for (int i = 0; i < n; i++) {
        reduced_csv_row(csv, &r[i]);
        /* gnuplot: one block per series, two blank lines apart, the name in a comment. */
        if (i == 0 || !same_series(&r[i].point, &r[i - 1].point))
            reduced_dat_block_header(dat, &r[i], i == 0);
        reduced_dat_row(dat, &r[i]);
    }
    close_output(csv, "reduced CSV");
    close_output(dat, "gnuplot data");
}

static void read_first_line(const char *path, const char *key, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (key && strncmp(line, key, strlen(key)) != 0)
            continue;
        char *value = key ? strchr(line, ':') : line;
        if (!value)
            continue;
        value += key ? 1 : 0;
        value += strspn(value, " \t");
        value[strcspn(value, "\n")] = '\0';
        snprintf(out, size, "%s", value);
        break;
    }
    fclose(f);
}

static void write_machine(const char *dir, const struct options *o)
{
    FILE *f = open_output(dir, "machine", ".txt");
    struct utsname u;
    if (uname(&u) == -1)
        die("uname");
    char model[256], thp[256], revision[64] = "unknown";
    read_first_line("/proc/cpuinfo", "model name", model, sizeof model);
    read_first_line("/sys/kernel/mm/transparent_hugepage/enabled", NULL, thp, sizeof thp);
    FILE *git = popen("git rev-parse --short HEAD 2>/dev/null", "r");
    if (git) {
        if (fgets(revision, sizeof revision, git))
            revision[strcspn(revision, "\n")] = '\0';
        else
            snprintf(revision, sizeof revision, "unknown");
        pclose(git);
    }
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
    fprintf(f,
            "date: %s\ncpu model: %s\nusable cpus: %d (of %ld online)\nkernel: %s %s %s\n"
            "compiler: %s\ngit revision: %s\ntransparent hugepages: %s\n"
            "plan: %s, %d counted runs per point after 1 warm-up\n",
            date, model, cpu_total, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine,
            __VERSION__, revision, thp, plan_name(o->quick), o->repeats);
    fprintf(f, "usable cpus bound: %s (%d CPUs in the mask", cpu_bound_name(machine.bound),
            machine.count);
    if (machine.quota_cpus > 0)
        fprintf(f, ", CPU quota %.2f CPUs", machine.quota_cpus);
    else
        fputs(", no CPU quota", f);
    fputs(")\n", f);
    if (machine.pids_max >= 0)
        fprintf(f, "pids.max: %ld\n", machine.pids_max);
    else
        fputs("pids.max: none\n", f);
    fprintf(f, "topology: %s\n", machine.source);
    if (machine.known)
        fprintf(f, "sockets: %d\ncores: %d\nthreads per core: %d\nnuma nodes: %d\n",
                machine.sockets, machine.cores, machine.threads_per_core,
                machine.nodes > 0 ? machine.nodes : 1);
    static const char *const caches[] = {"L1d", "L2", "L3", "L4"};
    for (int level = 0; level < 4; level++)
        if (machine.cache_bytes[level] > 0)
            fprintf(f, "%s cache: %ld KiB\n", caches[level], machine.cache_bytes[level] >> 10);
    print_sweep(f, o->quick);
    if (machine.simulated)
        fprintf(f, "simulated: yes (%s), on %d real CPUs: the times mean nothing\n", machine.source,
                pinned_cpu_count());
    close_output(f, "machine.txt");
}

/* DATA/boundaries.tsv: "k<TAB>what begins there", one line per boundary the usable CPUs
 * reach; the plots draw a line there, the report names it beside the speedups. */
static void write_boundaries(const char *dir)
{
    FILE *f = open_output(dir, "boundaries", ".tsv");
    for (int k = 2; k <= cpu_total; k++) {
        const char *what = plan_boundary_at(&machine, k);
        if (what)
            fprintf(f, "%d\t%s\n", k, what);
    }
    close_output(f, "boundaries.tsv");
}

/* --- main ------------------------------------------------------------------------------ */

static int selected(const struct workload *w, const char *only)
{
    if (!only)
        return 1;
    size_t len = strlen(w->name);
    for (const char *s = only; *s;) {
        size_t n = strcspn(s, ",");
        if (n == len && strncmp(s, w->name, len) == 0)
            return 1;
        s += n + (s[n] == ',');
    }
    return 0;
}

/* DATA/NAME.trace.json: the traced run's tasks (Chrome trace-event JSON, support/timeline.h),
 * named after the point in the process row ("pool_scaling: process pool, 8 workers on 8 CPUs"). */
static void write_trace(const char *dir, const struct workload *w, const struct point *p,
                        const struct timeline *trace)
{
    char path[4200], label[LABEL_SIZE + 16], name[LABEL_SIZE + 128];
    snprintf(path, sizeof path, "%s/%s.trace.json", dir, w->name);
    point_label(p, label, sizeof label);
    snprintf(name, sizeof name, "%s: %s, %d workers on %d CPUs", w->name, label, p->workers,
             p->cpus);
    if (timeline_write(trace, path, name) != 0)
        die_with_code(-1, "%s: %s", path, output_file_reason(errno));
    fprintf(stderr, "bench: %s: the spans of one run at %d workers in %s\n", w->name, p->workers,
            path);
}

/* --- the time budget ------------------------------------------------------------------- */

/* How many points a workload's plan has on this machine. */
static int plan_points(const struct workload *w, int quick)
{
    struct point_list plan = {0};
    expand_plan(w, quick, &plan);
    free(plan.points);
    return plan.count;
}

static int real_cpus; /* the CPUs really there (a simulated machine's k stand on these) */

/* How a run's time grows from point to point, relative: the work (weak scaling: one share per
 * worker) over the CPUs that really compute it at once.  Fork costs and the probes are left
 * out: the estimate is corrected at every point, from the one just measured. */
static double cost_factor(const struct workload *w, const struct point *p)
{
    int at_once = p->workers < p->cpus ? p->workers : p->cpus;
    at_once = at_once < real_cpus ? at_once : real_cpus;
    /* A series point's workers each do their own share (race_rate's P processes), as weak
     * scaling does; a strong-scaling point's work is the same whatever the workers. */
    int work = w->shape == SHAPE_SERIES || p->weak ? p->workers : 1;
    return work / (double)(at_once > 0 ? at_once : 1);
}

/* A point that always runs, whatever the budget: a scaling series' k = 1 (every speedup is
 * over it); of a series workload, its first point only (run_workload measures that one before
 * asking): every further point is estimated and may be left out, so what the budget cannot
 * bound is one run of one point per series at k = 1. */
static int essential(const struct workload *w, const struct point *p)
{
    return w->shape == SHAPE_SCALING && p->cpus == 1 && p->workers == 1;
}

/* Within each series (contiguous after group_by_series), the points in ascending x: the
 * budget's measuring order is not the order to draw or print them in. */
static void sort_within_series(struct reduced_point *r, int n)
{
    for (int i = 1; i < n; i++) {
        struct reduced_point here = r[i];
        int j = i;
        while (j > 0 && same_series(&r[j - 1].point, &here.point) &&
               r[j - 1].point.x > here.point.x) {
            r[j] = r[j - 1];
            j--;
        }
        r[j] = here;
    }
}

/* The smallest share of its problem size a scaling workload is run at: below it the fixed
 * costs (forks, a pool's start) are all a point would measure, so the budget cuts points
 * instead. */
static const double SIZE_SCALE_FLOOR = 1.0 / 64;

/* Choose the problem size of a scaling workload so that its sweep fits share_s (or keep the
 * full size where it does).  One calibration run of each variant's k = 1 point (with its
 * setup and teardown) gives T1; each point of the variant would cost T1 x cost_factor x
 * (repeats + 1); the variant's sum, against its equal part of 85% of the share (the rest is
 * for what the estimate leaves out: forks, setups, repeats of a wide spread), gives its scale.
 * A variant is a unit (its series and its 2-per-CPU twin): within it every point has the same
 * size, so each speedup over k = 1 compares equal work; a weak-scaling variant, whose largest
 * points cost the most, is scaled on its own and does not shrink the strong ones. */
static void choose_size_scale(const struct workload *w, const struct options *o,
                              struct point_list *plan, double share_s)
{
    if (w->shape != SHAPE_SCALING || share_s <= 0 || o->quick > 1)
        return;
    int64_t started = monotonic_ns();
    int variants = 0;
    for (int i = 0; i < plan->count; i++)
        if (plan->points[i].variant + 1 > variants)
            variants = plan->points[i].variant + 1;
    double *t1 = calloc((size_t)variants, sizeof *t1),
           *total = calloc((size_t)variants, sizeof *total);
    if (!t1 || !total)
        die("calloc: %d variants", variants);
    for (int i = 0; i < plan->count; i++) {
        const struct point *p = &plan->points[i];
        if (!essential(w, p) || t1[p->variant] > 0)
            continue;
        pin_to_cpus(cpu_ids, p->cpus);
        pinned_now = pinned_cpu_count();
        char detail[DETAIL_SIZE] = "";
        fflush(NULL); /* setup may fork */
        if (w->setup && w->setup(p, detail, sizeof detail) != 0)
            die("%s (%s): setting up the calibration run: %s", w->name, p->series, detail);
        t1[p->variant] = run_once(w, p).wall_ns;
        if (w->teardown)
            w->teardown(p);
    }
    int used = 0;
    for (int i = 0; i < plan->count; i++) {
        const struct point *p = &plan->points[i];
        used += total[p->variant] == 0;
        total[p->variant] += t1[p->variant] * cost_factor(w, p) * (o->repeats + 1);
    }
    double part_ns =
        0.85 * (share_s * 1e9 - (double)(monotonic_ns() - started)) / (used ? used : 1);
    for (int v = 0; v < variants; v++) {
        if (total[v] <= part_ns || total[v] == 0)
            continue;
        double scale = part_ns > 0 ? part_ns / total[v] : 0;
        scale = scale > SIZE_SCALE_FLOOR ? scale : SIZE_SCALE_FLOOR;
        const char *series = NULL;
        for (int i = 0; i < plan->count; i++)
            if (plan->points[i].variant == v) {
                plan->points[i].size_scale = scale;
                series = plan->points[i].series;
            }
        printf("bench: %s, %s: problem size %.3g of the plan's, chosen for the time budget (at "
               "full size its sweep would take about %.1f s of %.1f s)%s\n",
               w->name, series, scale, total[v] / 1e9, part_ns / 1e9,
               scale == SIZE_SCALE_FLOOR ? "; the smallest size allowed, so points may be left out"
                                         : "");
    }
    free(t1);
    free(total);
}

/* Run a workload's points within share_s seconds (0: no limit).  Before each point its cost
 * is estimated from the last point measured (its time per run, times the cost_factor ratio,
 * times the runs it will take); a point whose estimate would pass the share is left out,
 * unless it is essential, and the run says which were left out. */
static void run_workload(const struct workload *w, const struct options *o, FILE *index,
                         double share_s)
{
    struct point_list plan = {0};
    expand_plan(w, o->quick, &plan);
    int n = plan.count;
    int64_t started = monotonic_ns();
    choose_size_scale(w, o, &plan, share_s);
    struct reduced_point *reduced = calloc((size_t)(n > 0 ? n : 1), sizeof *reduced);
    if (!reduced)
        die("calloc: %d points", n);
    int64_t deadline = share_s > 0 ? started + (int64_t)(share_s * 1e9) : 0;
    /* What the points measured so far cost, per series (the last one measured of each): a run's
     * time over its cost_factor, and the setup's time per worker (a pool's, an MPI job's start
     * grows with its workers, not with the work). */
    struct cost {
        const char *series;
        double run_ns, setup_ns_per_worker;
    } *costs = calloc((size_t)(n > 0 ? n : 1), sizeof *costs);
    if (!costs)
        die("calloc: %d costs", n);
    int ncosts = 0;
    /* A scaling workload traces one run: the first timed run of its first point at the
     * largest core count with one worker per CPU (measured early: see plan_measure_order). */
    int traced = -1;
    for (int i = 0; i < n && w->shape == SHAPE_SCALING; i++)
        if (plan.points[i].per_cpu <= 1 &&
            (traced < 0 || plan.points[i].cpus > plan.points[traced].cpus))
            traced = i;
    struct timeline trace = {0};
    int measured = 0, skipped = 0;
    char skipped_list[256] = "";
    for (int i = 0; i < n; i++) {
        const struct point *p = &plan.points[i];
        char label[LABEL_SIZE + 16];
        point_label(p, label, sizeof label);
        if (deadline && measured > 0 && !essential(w, p)) {
            const struct cost *c = &costs[ncosts - 1]; /* this series' own, or the last */
            for (int k = 0; k < ncosts; k++)
                if (strcmp(costs[k].series, p->series) == 0)
                    c = &costs[k];
            double estimate = c->setup_ns_per_worker * p->workers +
                              c->run_ns * cost_factor(w, p) * (o->repeats + 1);
            if (monotonic_ns() + (int64_t)estimate > deadline) {
                size_t used = strlen(skipped_list);
                if (used + 40 < sizeof skipped_list)
                    snprintf(skipped_list + used, sizeof skipped_list - used, "%s%s x=%g",
                             used ? ";" : "", label, p->x);
                skipped++;
                continue;
            }
        }
        fprintf(stderr, "bench: %s [%d/%d] %s, x=%g, %d workers on %d CPUs ...", w->name, i + 1, n,
                label, p->x, p->workers, p->cpus);
        int runs = 1;
        double setup_ns = 0;
        int64_t t0 = monotonic_ns();
        reduced[measured] =
            measure_point(w, p, o, deadline, &runs, i == traced ? &trace : NULL, &setup_ns);
        int k = 0;
        while (k < ncosts && strcmp(costs[k].series, p->series) != 0)
            k++;
        costs[k].series = p->series;
        costs[k].run_ns = ((double)(monotonic_ns() - t0) - setup_ns) / runs / cost_factor(w, p);
        costs[k].setup_ns_per_worker = setup_ns / p->workers;
        ncosts += k == ncosts;
        const struct reduced_point *r = &reduced[measured++];
        fprintf(stderr, " %.4g %s (%d runs, overlap %.0f%%, spread %.0f%%)%s%s%s\n",
                r->figure_median, w->shape == SHAPE_SERIES ? "" : "s", r->samples, 100 * r->overlap,
                100 * r->spread, point_marks(r), r->note[0] ? "; " : "", r->note);
    }
    if (w->finish)
        w->finish();
    if (trace.count > 0)
        write_trace(o->data_dir, w, &plan.points[traced], &trace);
    timeline_free(&trace);
    free(costs);
    if (skipped)
        printf("bench: %s: %d of %d points left out by the time budget (%.1f s for this "
               "workload): %s%s\n",
               w->name, skipped, n, share_s, skipped_list,
               strlen(skipped_list) + 40 >= sizeof skipped_list ? " ..." : "");
    n = measured;
    group_by_series(reduced, n);
    sort_within_series(reduced, n);
    if (w->shape == SHAPE_SCALING)
        add_speedups(reduced, n);
    write_reduced(o->data_dir, w, reduced, n);
    static const char *const kinds[] = {"ns_per_op", "ops_per_s", "extra"};
    fprintf(index, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w->name,
            w->shape == SHAPE_SCALING ? "scaling" : "series", w->title,
            w->x_label ? w->x_label : "cores", w->figure_label ? w->figure_label : "seconds",
            kinds[w->figure], w->extra_label ? w->extra_label : "-");
    printf("\n== %s (%s)\n", w->title, w->name);
    print_summary(stdout, w, reduced, n, 0);
    fflush(stdout); /* before the next progress line on stderr */
    fprintf(stderr, "bench: %s took %.1f s\n", w->name, (monotonic_ns() - started) / 1e9);
    free(reduced);
    free(plan.points);
}

/* mkdir -p: make a folder and any of its parents that are missing. */
static void make_directories(const char *path)
{
    char partial[4096];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *slash = partial + 1;; slash++) {
        if (*slash != '/' && *slash != '\0')
            continue;
        char saved = *slash;
        *slash = '\0';
        if (mkdir(partial, 0755) == -1 && errno != EEXIST)
            die("mkdir %s", partial);
        *slash = saved;
        if (saved == '\0')
            break;
    }
    if (output_folder_check(path) == -1) /* the data and plots folders, not links to them */
        die_with_code(-1, "%s: %s", path, output_file_reason(errno));
}

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {{"data", required_argument, 0, 'd'},
                                          {"quick", no_argument, 0, 'q'},
                                          {"repeats", required_argument, 0, 'r'},
                                          {"only", required_argument, 0, 'o'},
                                          {"list", no_argument, 0, 'l'},
                                          {"help", no_argument, 0, 'h'},
                                          {"plots", required_argument, 0, 'p'},
                                          {"report-only", no_argument, 0, 'R'},
                                          {"compare", required_argument, 0, 'C'},
                                          {"smoke", no_argument, 0, 'S'},
                                          {"cores", required_argument, 0, 'k'},
                                          {"budget", required_argument, 0, 'b'},
                                          {0, 0, 0, 0}};
    o->data_dir = "plots/data";
    o->plots_dir = "plots";
    opterr = 0;
    int c, list = 0, budget_given = 0;
    while ((c = getopt_long(argc, argv, "d:p:qr:o:lhRC:Sk:b:", longs, NULL)) != -1) {
        switch (c) {
        case 'd': o->data_dir = optarg; break;
        case 'p': o->plots_dir = optarg; break;
        case 'R': o->report_only = 1; break;
        case 'C': o->compare_dir = optarg; break;
        case 'q': o->quick = o->quick ? o->quick : 1; break;
        case 'S': o->quick = 2; break;
        case 'k': o->cores = optarg; break;
        case 'b':
            o->budget_s = (double)parse_long(optarg, "--budget", 0, 86400, usage);
            budget_given = 1;
            break;
        case 'r': o->repeats = (int)parse_long(optarg, "--repeats", 1, MAX_REPEATS, usage); break;
        case 'o': o->only = optarg; break;
        case 'l': list = 1; break;
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        default: usage_error(usage, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc) /* "--list extra" too: an argument nobody reads is a mistake */
        usage_error(usage, "unexpected argument: %s", argv[optind]);
    if (list) {
        for (int i = 0; workload_table[i]; i++)
            printf("%-20s %s\n", workload_table[i]->name, workload_table[i]->title);
        exit(EXIT_SUCCESS);
    }
    if (!budget_given)
        o->budget_s = plan_budget_s(o->quick);
    if (o->repeats == 0)
        o->repeats = o->quick > 1 ? 1 : o->quick ? 3 : 5;
    if (o->only) { /* every item names a workload: "", "a,", "a,,b" select nothing by mistake */
        if (!*o->only)
            usage_error(usage, "--only: an empty list selects no workload (see --list)");
        for (const char *s = o->only;;) {
            size_t n = strcspn(s, ",");
            if (n == 0)
                usage_error(usage, "--only: an empty name in \"%s\" (see --list)", o->only);
            int found = 0;
            for (int i = 0; workload_table[i]; i++)
                found |= strlen(workload_table[i]->name) == n &&
                         strncmp(workload_table[i]->name, s, n) == 0;
            if (!found)
                usage_error(usage, "--only: no workload named \"%.*s\" (see --list)", (int)n, s);
            if (s[n] == '\0')
                break;
            s += n + 1;
        }
    }
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C: workloads' registered children are killed and reaped */
    struct options o = {0};
    parse_options(argc, argv, &o);
    if (o.compare_dir)
        return write_comparison(o.data_dir, o.compare_dir, workload_table, stdout) == 0
                   ? EXIT_SUCCESS
                   : EXIT_FAILURE;
    if (o.report_only) {
        make_directories(o.plots_dir);
        return write_report(o.data_dir, o.plots_dir, workload_table) == 0 ? EXIT_SUCCESS
                                                                          : EXIT_FAILURE;
    }
    make_directories(o.plots_dir);
    read_machine();
    pin_to_cpus(cpu_ids, cpu_total);
    real_cpus = pinned_cpu_count();
    check_core_list(&o);
    make_directories(o.data_dir);
    write_machine(o.data_dir, &o);
    samples_csv = open_output(o.data_dir, "samples", ".csv");
    samples_csv_header(samples_csv);
    FILE *index = open_output(o.data_dir, "index", ".tsv");
    write_boundaries(o.data_dir);
    report_load_boundaries(o.data_dir);

    printf("forklore bench: %d usable CPUs (%s), %s plan, %d runs per point (+1 warm-up)\n",
           cpu_total, cpu_bound_name(machine.bound), plan_name(o.quick), o.repeats);
    print_sweep(stdout, o.quick);
    if (machine.simulated)
        printf("SIMULATED MACHINE (%s): every CPU above %d runs on a real one shared with "
               "others, so the times and speedups mean nothing; the run shows that the plan, "
               "the workloads, the plots and the report work at this size\n",
               machine.source, pinned_cpu_count());
    int64_t started = monotonic_ns();
    int left = 0, workloads = 0; /* points not yet run, of the selected workloads */
    for (int i = 0; workload_table[i]; i++)
        if (selected(workload_table[i], o.only)) {
            left += plan_points(workload_table[i], o.quick);
            workloads++;
        }
    if (o.budget_s > 0)
        printf("time budget: %.0f s for %d workloads, %d points; each workload gets the share "
               "of what is left that its points are of the points left; a point is left out "
               "(and named) when its cost, estimated from the last point measured, would pass "
               "its workload's share; k = 1 always runs\n",
               o.budget_s, workloads, left);
    else
        printf("time budget: none (every point runs)\n");
    for (int i = 0; workload_table[i]; i++) {
        if (!selected(workload_table[i], o.only))
            continue;
        int points = plan_points(workload_table[i], o.quick);
        double spent = (monotonic_ns() - started) / 1e9;
        double share = o.budget_s > 0 && left > 0 ? (o.budget_s - spent) * points / left : 0;
        if (o.budget_s > 0 && share < 0.01)
            share = 0.01; /* over already: the essential points only */
        run_workload(workload_table[i], &o, index, share);
        left -= points;
    }
    close_output(index, "index.tsv");
    close_output(samples_csv, "samples.csv");
    make_directories(o.plots_dir);
    if (write_report(o.data_dir, o.plots_dir, workload_table) != 0)
        return EXIT_FAILURE;
    printf("\nbench: done in %.1f s; data in %s, report in %s/report.md\n",
           (monotonic_ns() - started) / 1e9, o.data_dir, o.plots_dir);
    free(result.spans);
    free(cpu_ids);
    cpu_topology_free(&machine);
    return EXIT_SUCCESS;
}
