/* test_timeline.c - timelines of real runs: the pool records a span per task and per worker,
 * and --trace FILE (pool_primes, pool_uneven, fork_join) writes them as Chrome trace-event
 * JSON.  The file must parse, name every task exactly once, and nest every task inside the
 * life of the worker that ran it; a dead worker's replacement starts after it ended; a path
 * that is a directory or a symbolic link is refused and left alone. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "pool/pool.h"

/* A trace event's row, times (microseconds) and the fields the checks read. */
struct event {
    const char *category, *name;
    double tid, ts, end;
    const struct json *args;
};

struct trace {
    struct json *root;
    struct event *events;
    size_t count;
    int row_names; /* thread_name records */
};

static const double ONE_NS = 1e-3; /* in microseconds: the file's own resolution */

static void load_trace(const char *path, struct trace *t)
{
    char *text = read_file(path, NULL);
    cr_assert_not_null(text, "no trace at %s", path);
    char error[256];
    t->root = json_parse(text, error, sizeof error);
    cr_assert_not_null(t->root, "%s is not JSON: %s", path, error);
    free(text);
    const struct json *events = json_get(t->root, "traceEvents");
    cr_assert(events && events->type == JSON_ARRAY, "no traceEvents array");
    t->events = calloc(events->count, sizeof *t->events);
    t->count = 0;
    t->row_names = 0;
    for (size_t i = 0; i < events->count; i++) {
        const struct json *e = &events->items[i];
        const struct json *ph = json_get(e, "ph");
        cr_assert(ph && ph->type == JSON_STRING);
        if (strcmp(ph->string, "M") == 0) {
            t->row_names += strcmp(json_get(e, "name")->string, "thread_name") == 0;
            continue;
        }
        cr_assert_str_eq(ph->string, "X", "only complete events and metadata are written");
        const struct json *cat = json_get(e, "cat"), *name = json_get(e, "name"),
                          *tid = json_get(e, "tid"), *ts = json_get(e, "ts"),
                          *dur = json_get(e, "dur"), *args = json_get(e, "args");
        cr_assert(cat && name && tid && ts && dur && args, "an event lacks a field");
        cr_assert_geq(dur->number, 0);
        t->events[t->count++] = (struct event){
            cat->string, name->string, tid->number, ts->number, ts->number + dur->number, args};
    }
}

static void free_trace(struct trace *t)
{
    free(t->events);
    json_free(t->root);
}

static double arg_number(const struct event *e, const char *key)
{
    const struct json *v = json_get(e->args, key);
    cr_assert(v && v->type == JSON_NUMBER, "%s has no number \"%s\"", e->name, key);
    return v->number;
}

static const char *arg_string(const struct event *e, const char *key)
{
    const struct json *v = json_get(e->args, key);
    cr_assert(v && v->type == JSON_STRING, "%s has no string \"%s\"", e->name, key);
    return v->string;
}

/* The life span on this row (exactly one). */
static const struct event *life_of(const struct trace *t, const char *life_category, double tid)
{
    const struct event *found = NULL;
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->events[i].category, life_category) == 0 && t->events[i].tid == tid) {
            cr_assert_null(found, "two %s spans on row %.0f", life_category, tid);
            found = &t->events[i];
        }
    cr_assert_not_null(found, "no %s span on row %.0f", life_category, tid);
    return found;
}

/* Every task of this job appears once, numbered 0 .. tasks-1, inside its worker's life. */
static void check_tasks(const struct trace *t, const char *life_category, const char *job,
                        long tasks)
{
    char *seen = calloc((size_t)tasks, 1);
    long spans = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct event *e = &t->events[i];
        if (strcmp(e->category, "task") != 0)
            continue;
        if (job && strcmp(arg_string(e, "job"), job) != 0)
            continue;
        double task = arg_number(e, "task");
        cr_assert(task >= 0 && task < tasks && task == (long)task, "task %g", task);
        cr_assert_eq(seen[(long)task], 0, "task %ld appears twice", (long)task);
        seen[(long)task] = 1;
        spans++;
        const struct event *life = life_of(t, life_category, e->tid);
        cr_assert(e->ts >= life->ts - ONE_NS && e->end <= life->end + ONE_NS,
                  "%s [%.3f, %.3f] is not inside %s [%.3f, %.3f]", e->name, e->ts, e->end,
                  life->name, life->ts, life->end);
    }
    cr_assert_eq(spans, tasks, "%ld task spans for %ld tasks", spans, tasks);
    free(seen);
}

/* Run a program with these arguments plus --trace FILE in a fresh private folder, expect the
 * exit code, and load the trace.  The folder is removed at once: the trace is in memory. */
static void run_traced(char *const args[], int code, struct trace *t)
{
    char dir[256], path[300];
    make_temp_dir(dir, sizeof dir, "timeline");
    snprintf(path, sizeof path, "%s/trace.json", dir);
    char *argv[24];
    int n = 0;
    while (args[n] && n < 20) {
        argv[n] = args[n];
        n++;
    }
    argv[n++] = "--trace";
    argv[n++] = path;
    argv[n] = NULL;
    struct program_run r;
    run_expect(&r, argv, 120, code);
    expect_text(r.out, "timeline: ");
    program_run_free(&r);
    load_trace(path, t);
    remove_dir(dir);
}

Test(timeline, pool_primes_trace_has_every_task_inside_its_worker, .timeout = 240)
{
    struct trace t;
    run_traced(
        (char *[]){"pool_primes", "--workers", "3", "--ranges", "40", "--limit", "200000", NULL}, 0,
        &t);
    check_tasks(&t, "worker", "map", 40);
    long workers = 0;
    for (size_t i = 0; i < t.count; i++)
        if (strcmp(t.events[i].category, "worker") == 0) {
            workers++;
            cr_assert_str_eq(arg_string(&t.events[i], "end"), "exited");
        }
    cr_assert_eq(workers, 3);
    cr_assert_eq(t.row_names, 3, "each worker's row is named");
    free_trace(&t);
}

/* The API spellings carry the spans too: imap and submit. */
Test(timeline, every_api_records_task_spans, .timeout = 240)
{
    const char *apis[] = {"imap", "submit"};
    for (int a = 0; a < 2; a++) {
        struct trace t;
        run_traced((char *[]){"pool_primes", "--api", (char *)apis[a], "--ranges", "17", "--limit",
                              "100000", NULL},
                   0, &t);
        check_tasks(&t, "worker", apis[a], 17);
        free_trace(&t);
    }
}

/* A worker killed mid-task: its row ends "died", the task it ran ends inside that life, and
 * the worker that replaced it starts only after it ended. */
Test(timeline, a_dead_worker_and_its_replacement, .timeout = 240)
{
    struct trace t;
    run_traced((char *[]){"pool_primes", "--workers", "2", "--ranges", "10", "--limit", "100000",
                          "--crash-range", "3", NULL},
               1, &t);
    check_tasks(&t, "worker", "map", 10);
    int deaths = 0;
    for (size_t i = 0; i < t.count; i++) {
        const struct event *w = &t.events[i];
        if (strcmp(w->category, "worker") != 0 || strcmp(arg_string(w, "end"), "died") != 0)
            continue;
        deaths++;
        double next = arg_number(w, "replaced_by");
        cr_assert_gt(next, 0, "a dead worker was replaced");
        const struct event *replacement = life_of(&t, "worker", next);
        cr_assert_geq(replacement->ts, w->end - ONE_NS, "the replacement starts after the death");
    }
    cr_assert_eq(deaths, 2, "range 3 killed its worker, and the retry's worker too");
    for (size_t i = 0; i < t.count; i++)
        if (strcmp(t.events[i].category, "task") == 0 && arg_number(&t.events[i], "task") == 3)
            cr_assert_str_eq(arg_string(&t.events[i], "status"), "worker died");
    free_trace(&t);
}

Test(timeline, pool_uneven_trace_has_both_schedules, .timeout = 240)
{
    struct trace t;
    run_traced(
        (char *[]){"pool_uneven", "--workers", "2", "--tasks", "12", "--work-ms", "24", NULL}, 0,
        &t);
    check_tasks(&t, "worker", "static", 12);
    check_tasks(&t, "worker", "dynamic", 12);
    free_trace(&t);
}

/* fork_join: a row per child from fork to reaping, its count inside; a killed child's row
 * has no count and says how it ended. */
Test(timeline, fork_join_trace_nests_each_count_in_its_child, .timeout = 240)
{
    struct trace t;
    run_traced((char *[]){"fork_join", "--workers", "4", "--limit", "200000", "--no-check", NULL},
               0, &t);
    check_tasks(&t, "child", NULL, 4);
    cr_assert_eq(t.row_names, 4);
    free_trace(&t);
    run_traced((char *[]){"fork_join", "--workers", "3", "--limit", "100000", "--no-check",
                          "--kill-worker", "1", NULL},
               1, &t);
    long counts = 0, killed = 0;
    for (size_t i = 0; i < t.count; i++) {
        counts += strcmp(t.events[i].category, "task") == 0;
        if (strcmp(t.events[i].category, "child") == 0)
            killed += strstr(arg_string(&t.events[i], "end"), "killed by signal 9") != NULL;
    }
    cr_assert_eq(counts, 2, "the killed child sent no count");
    cr_assert_eq(killed, 1);
    free_trace(&t);
}

/* A directory or a symbolic link given as FILE is refused, and nothing is written there. */
Test(timeline, trace_paths_are_written_by_the_output_file_rules, .timeout = 240)
{
    char dir[256], link[300], target[300];
    make_temp_dir(dir, sizeof dir, "timeline");
    snprintf(link, sizeof link, "%s/link.json", dir);
    snprintf(target, sizeof target, "%s/target", dir);
    cr_assert_eq(symlink(target, link), 0);
    struct program_run r;
    run_expect(&r,
               (char *[]){"pool_primes", "--ranges", "4", "--limit", "1000", "--trace", link, NULL},
               60, 1);
    expect_text(r.err, "cannot write ");
    expect_text(r.err, "symbolic link");
    program_run_free(&r);
    cr_assert_eq(access(target, F_OK), -1, "the link was followed");
    run_expect(&r, (char *[]){"fork_join", "--limit", "1000", "--trace", dir, NULL}, 60, 1);
    expect_text(r.err, "directory");
    program_run_free(&r);
    run_expect(
        &r,
        (char *[]){"pool_uneven", "--tasks", "4", "--work-ms", "4", "--trace", "/dev/null", NULL},
        60, 0);
    program_run_free(&r);
    struct stat st;
    cr_assert_eq(stat("/dev/null", &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "/dev/null is still a device");
    remove_dir(dir);
}

/* A task for the library test: the square of an int. */
static int timeline_test_square(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    (void)arg_size;
    int x;
    memcpy(&x, arg, sizeof x);
    x *= x;
    memcpy(result, &x, sizeof x);
    *result_size = sizeof x;
    return 0;
}

/* The library itself: spans on every outcome, and a worker history with replacements when
 * workers are recycled after each chunk (maxtasksperchild = 1). */
Test(timeline, pool_records_task_and_worker_spans)
{
    struct pool *pool;
    struct pool_options options = {.workers = 2, .max_tasks_per_worker = 1};
    cr_assert_eq(pool_create(&pool, &options), 0);
    enum { TASKS = 8 };
    int args[TASKS];
    for (int i = 0; i < TASKS; i++)
        args[i] = i;
    struct pool_outcome outcomes[TASKS];
    int results[TASKS];
    cr_assert_eq(pool_map(pool, timeline_test_square, args, sizeof args[0], TASKS, results,
                          sizeof results[0], 1, outcomes),
                 0);
    for (int i = 0; i < TASKS; i++) {
        cr_assert_eq(results[i], i * i);
        cr_assert_gt(outcomes[i].start_ns, 0);
        cr_assert_geq(outcomes[i].end_ns, outcomes[i].start_ns);
    }
    cr_assert_eq(pool_close(pool), 0);
    const struct pool_worker_span *spans;
    size_t n = pool_worker_history(pool, &spans);
    cr_assert_geq(n, (size_t)TASKS, "one chunk per worker life: at least 8 lives");
    long recycled = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_neq(spans[i].end, POOL_WORKER_RUNNING, "every worker was reaped");
        cr_assert_geq(spans[i].end_ns, spans[i].start_ns);
        if (spans[i].end == POOL_WORKER_RECYCLED) {
            recycled++;
            cr_assert_gt(spans[i].replaced_by, 0);
        }
    }
    cr_assert_geq(recycled, TASKS - 2, "%ld recycled", recycled);
    for (int i = 0; i < TASKS; i++) { /* each task inside the life of the worker that ran it */
        int inside = 0;
        for (size_t k = 0; k < n; k++)
            inside |= spans[k].pid == outcomes[i].worker &&
                      spans[k].start_ns <= outcomes[i].start_ns &&
                      outcomes[i].end_ns <= spans[k].end_ns;
        cr_assert(inside, "task %d is inside its worker's life", i);
    }
    pool_destroy(pool);
}

/* make bench's timelines (bench/timelines.sh): three traced runs, their data, their charts as
 * PNG and SVG, and one section added to a report, however often the charts are redrawn. */
Test(timeline, bench_timelines_draw_three_gantt_charts, .timeout = 600)
{
    char dir[256], command[1024], path[512];
    make_temp_dir(dir, sizeof dir, "timelines");
    snprintf(path, sizeof path, "%s/plots", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/plots/report.md", dir);
    write_file(path, "# a report\n");
    for (int pass = 0; pass < 2; pass++) {
        snprintf(command, sizeof command,
                 "timeout 500 bash '%s/bench/timelines.sh' '%s' '%s/data' '%s/plots' %s "
                 ">'%s/out' 2>&1",
                 FORKLORE_ROOT, FORKLORE_BIN, dir, dir, pass ? "--draw-only" : "", dir);
        int status = system(command);
        snprintf(path, sizeof path, "%s/out", dir);
        char *out = read_file(path, NULL);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "timelines.sh failed:\n%s",
                  out ? out : "");
        free(out);
    }
    const char *names[] = {"timeline-uneven", "timeline-fork-join", "timeline-crash"};
    for (int i = 0; i < 3; i++) {
        const char *kinds[] = {"plots/%s.png", "plots/%s.svg", "data/%s.dat", "data/%s.json"};
        for (int k = 0; k < 4; k++) {
            char relative[128];
            snprintf(relative, sizeof relative, kinds[k], names[i]);
            snprintf(path, sizeof path, "%s/%s", dir, relative);
            struct stat st;
            cr_assert_eq(stat(path, &st), 0, "%s is missing", relative);
            cr_assert_gt(st.st_size, 0, "%s is empty", relative);
        }
    }
    snprintf(path, sizeof path, "%s/data/timeline-crash.dat", dir);
    char *dat = read_file(path, NULL);
    cr_assert(strstr(dat, " 3\n"), "the crash run has a task whose worker died:\n%s", dat);
    free(dat);
    snprintf(path, sizeof path, "%s/plots/report.md", dir);
    char *report = read_file(path, NULL);
    cr_assert_eq(count_lines_containing(report, "## Timelines of real runs"), 1, "%s", report);
    expect_text(report, "![pool_uneven timeline](timeline-uneven.svg)");
    free(report);
    remove_dir(dir);
}

/* Issue 16: `make bench` writes one trace per scaling workload from its own runs, and the report
 * names it.  Each parses, and numbers its tasks 0 .. n-1, each once, inside its worker's row. */
Test(timeline, bench_writes_a_trace_per_scaling_workload, .timeout = 240)
{
    if (under_valgrind())
        cr_skip_test("a whole benchmark run is too heavy for memcheck");
    char dir[256], path[400];
    make_temp_dir(dir, sizeof dir, "bench-traces");
    char *argv[] = {"bench",  "--smoke", "--only",  "fork_join,pool_scaling,pool_schedule",
                    "--data", dir,       "--plots", dir,
                    NULL};
    struct program_run run;
    run_expect(&run, argv, 200, 0);
    program_run_free(&run);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *report = read_file(path, NULL);
    cr_assert_not_null(report);
    const char *names[] = {"fork_join", "pool_scaling", "pool_schedule"};
    for (int w = 0; w < 3; w++) {
        snprintf(path, sizeof path, "%s/%s.trace.json", dir, names[w]);
        cr_assert(strstr(report, path) != NULL, "the report names %s", path);
        struct trace t;
        load_trace(path, &t);
        long tasks = 0, workers = 0;
        for (size_t i = 0; i < t.count; i++) {
            tasks += strcmp(t.events[i].category, "task") == 0;
            workers += strcmp(t.events[i].category, "worker") == 0;
        }
        cr_assert_geq(workers, 1, "%s: a row per worker", names[w]);
        cr_assert_geq(tasks, workers, "%s: %ld tasks on %ld workers", names[w], tasks, workers);
        check_tasks(&t, "worker", NULL, tasks);
        if (w == 0)
            cr_assert_eq(tasks, workers, "fork_join: each worker is one task");
        cr_assert_eq(t.row_names, workers, "%s: every row is named", names[w]);
        free_trace(&t);
    }
    free(report);
    remove_dir(dir);
}
