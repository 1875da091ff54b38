/* workload.h - the contract between the benchmark driver and a workload.
 *
 * A workload is one file, bench/workloads/NAME.c, that defines
 *
 *     const struct workload workload_NAME = { ... };
 *
 * and nothing else visible.  The Makefile finds it and the driver runs it: adding a workload
 * never means editing the driver's loop.  The split follows perfbook's harness: the workload
 * says what to run and checks its own answer; the driver decides where (which CPUs), how often
 * (warm-up, repetitions), measures wall and CPU time, reduces, writes CSV and plots.
 *
 * A workload describes its measurements as points.  Each point belongs to a series (one line on
 * a plot) and has an x value.  Two shapes of workload exist:
 *
 *   SHAPE_SCALING  the workload lists its variants (a series name and a variant index); the
 *                  driver crosses each with the core counts k = 1, 2, ..., pins the point to k
 *                  CPUs with `workers` = k, and adds an oversubscribed point with 2k workers
 *                  (series "NAME, 2 per CPU").  The figure is the wall time; the plots show
 *                  speedup over k = 1 and parallel efficiency against k.
 *   SHAPE_SERIES   the workload lists its own points (a message size, a parent size, ...) and
 *                  reports a per-operation figure; the plot shows figure against x, log-log.
 */
#ifndef FORKLORE_WORKLOAD_H
#define FORKLORE_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "support/timeline.h"

enum workload_shape { SHAPE_SCALING, SHAPE_SERIES };

/* What a SERIES point's figure is (SCALING points always use the wall time). */
enum figure_kind {
    FIGURE_NS_PER_OP, /* wall time / ops: latency, cost per item (the default) */
    FIGURE_OPS_PER_S, /* ops / wall time: throughput, rate */
    FIGURE_EXTRA,     /* the run's own `extra` value: a rate of lost updates, a share */
};

/* Labels and notes are bounded text; nothing that follows the machine (workers, CPUs, points,
 * spans) has a bound here: a plan's room grows (see plan below), spans grow as they are added. */
enum { LABEL_SIZE = 64, DETAIL_SIZE = 160 };

/* What the driver asks a workload to run once. */
struct point {
    char series[LABEL_SIZE]; /* e.g. "fork+exit+wait"; scaling workloads: filled by the driver */
    double x;                /* the series' parameter (SERIES) or the core count k (SCALING) */
    int variant;             /* which of the workload's own variants: an index into a table the
                                workload keeps, with named fields (a method, a placement ...);
                                sizes and counts are x, never packed in here */
    int cpus;                /* CPUs the run is pinned to (the driver pins before calling run) */
    int workers;             /* processes (or threads) the workload should use */
    int quick;               /* 1 under QUICK=1: use the smaller problem size; 2 under --smoke:
                                the smallest that still checks its answer (tests) */
    int weak;                /* SCALING: 1 if the work grows with the workers (weak scaling):
                                the driver then reports the scaled speedup k * T(1) / T(k) */
    int per_cpu;             /* SCALING: workers per CPU, 1, or 2 for the oversubscribed twin of
                                the series (the driver sets it; 0 counts as 1) */
    double size_scale;       /* SCALING: the share of the problem size to run, in (0, 1]: the
                                driver lowers it for every point of a workload when its sweep at
                                full size would not fit the time budget (see scaled_size); 0
                                counts as 1.  Strong scaling: the total shrinks; weak: each
                                worker's share does.  The CSV keeps it (column size_scale). */
};

/* A problem size for this point: full (the size the workload plans for p->quick) times
 * p->size_scale, but never below smallest (the size that still checks the answer, usually the
 * --smoke size).  Every scaling workload sizes its work through this. */
long scaled_size(const struct point *p, long full, long smallest);

/* The name a point's series is shown and written under: the series, and ", 2 per CPU" for the
 * oversubscribed twin.  For display only: identity is (series, per_cpu), see same_series. */
void point_label(const struct point *p, char *label, size_t size);
/* 1 if a and b are points of the same series (name and workers per CPU). */
int same_series(const struct point *a, const struct point *b);

/* When one worker ran, measured by the worker itself (monotonic clock, thread CPU clock). */
struct worker_span {
    int64_t start_ns, end_ns; /* monotonic_ns() at the worker's first and last instruction */
    int64_t cpu_ns;           /* CPU time the worker used in between */
};

/* What one run reports back. */
struct run_result {
    int ok;                    /* 1 if the answer was checked and right */
    char detail[DETAIL_SIZE];  /* on failure: what was wrong; else a note on what the run
                                  really used (a size a system limit split, say), or "":
                                  the driver prints it and keeps it in the data */
    double ops;                /* operations done (SERIES: the figure is ns per op) */
    double extra;              /* one more figure of the workload's, reduced to its
                                  median (e.g. fairness); named by extra_label */
    int nspans;                /* worker spans filled in (0: no overlap measurement) */
    int span_room;             /* spans allocated; grown by run_result_add_span */
    struct worker_span *spans; /* owned by the driver, which frees it after the run */
    struct timeline *trace;    /* non-NULL on the one run of a scaling workload that the
                                  driver traces (DATA/NAME.trace.json): add one span per
                                  task (category "task", args "\"task\": INDEX", row
                                  the pid or thread id that ran it); a workload that adds
                                  none gets one span per worker from its spans */
};

/* Append one worker's span (as many as there are workers: the array grows).  0, or ENOMEM. */
int run_result_add_span(struct run_result *r, struct worker_span span);
/* Room for n spans at least (a workload that fills them by index).  0, or ENOMEM. */
int run_result_reserve_spans(struct run_result *r, int n);

/* Below this share of k CPUs' speed (the driver's capacity probe), a run does not count. */
#define CAPACITY_GOOD 0.85

/* One point after the repetitions, as the driver reduced it (what the CSV files hold). */
struct reduced_point {
    struct point point;
    int samples;     /* runs that count (overlap good enough, or the repeat bound hit) */
    int low_overlap; /* 1: the workers kept taking turns although the repeats ran out */
    double wall_median_ns, wall_min_ns, wall_max_ns;
    double cpu_median_ns; /* CPU time (user + system, children included) of the median run */
    double figure_median, figure_min, figure_max; /* SERIES: ns per op; SCALING: wall seconds */
    double speedup, speedup_min, speedup_max;     /* SCALING: over k = 1 of the same series */
    double efficiency;                            /* SCALING: speedup / k */
    double overlap;         /* median achieved parallelism / expected parallelism, or 1 */
    double extra_median;    /* median of the runs' `extra` */
    double spread;          /* interquartile range of the wall times over their median */
    int wide_spread;        /* 1: the spread stayed above the driver's bound despite repeats */
    double idle;            /* share of the k CPUs' time that no process of the run used */
    double capacity;        /* the CPUs' speed together over one alone, just before the runs;
                               below CAPACITY_GOOD the machine was not giving k CPUs' worth */
    char note[DETAIL_SIZE]; /* the last counted run's detail: what it really used */
};

struct workload {
    const char *name;  /* file-name friendly: "fork_join", "fork_cost" */
    const char *title; /* for plot titles and the summary */
    enum workload_shape shape;
    const char *x_label;      /* SERIES: the x axis, e.g. "parent's touched memory (bytes)" */
    const char *figure_label; /* SERIES: the y axis, e.g. "time per fork (ns)" */
    enum figure_kind figure;  /* SERIES: what the figure is (default FIGURE_NS_PER_OP) */
    const char *extra_label;  /* what result->extra means, or null if unused; when set, plot.sh
                                 draws it as a share, on 0..1 beside a line at 1 (fairness) */
    /* Fill points[0..max-1] and return how many.  A plan that fills all max places is asked
     * again with twice the room, so a plan that grows with the machine is never cut short.
     * SERIES: series, x and variant of every point; cpus and workers may be left 0, meaning
     * 1 worker on 1 CPU.  SCALING: one point per
     * variant (series, variant); the driver fills x, cpus and workers.  `quick` asks for a
     * shorter plan (fewer or smaller points). */
    int (*plan)(struct point *points, int max, int quick);
    /* Optional: called before a point's warm-up run, to make what all its runs share (a pool,
     * a co-process), so that no run, the warm-up included, pays for it; the driver has pinned
     * itself already, so workers forked here inherit the point's CPUs.  Return 0, or -1 with
     * a reason in detail (the driver stops).  teardown releases it after the point's last run.
     * May be null. */
    int (*setup)(const struct point *point, char *detail, size_t size);
    void (*teardown)(const struct point *point);
    /* Run once at the given point and fill *result.  Return 0, or -1 if the run could not be
     * done at all (a system call failed): the driver stops with the detail. */
    int (*run)(const struct point *point, struct run_result *result);
    /* Optional: print lines of ratios to the summary (targets are stated as ratios measured
     * side by side in one run, never as absolute times).  May be null. */
    void (*summarize)(const struct reduced_point *points, int count, FILE *out);
    /* Two or three sentences for the report: what to observe in this workload's plots. */
    const char *observe;
    /* Optional: called once after the workload's last point, to release what run() kept
     * between points (a large buffer).  May be null. */
    void (*finish)(void);
};

/* Filled in by the Makefile from the files in bench/workloads; ends with a null pointer. */
extern const struct workload *const workload_table[];

#endif
