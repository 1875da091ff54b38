#define _GNU_SOURCE
/* python_start.c - workload: what it costs Python's multiprocessing to start and join a
 * process, with each start method: fork, spawn and forkserver.
 *
 * Series: "fork", "spawn", "forkserver".  x: processes started at once (all started, then all
 * joined).  The figure is the time per process.  One Python interpreter per point runs the
 * script below as a co-process; its start-up, and the forkserver's, happen before the timed
 * runs (the script starts and joins one process as a warm-up), so the figure is the cost of
 * Process.start() + join() alone.  Each process runs os.getpid (a target every method can
 * pickle by reference) and must exit 0: the script answers how many did, which is checked.
 *
 * What the figure shows: fork copies the parent (page tables, copy-on-write) and runs the
 * target at once; spawn execs a fresh interpreter, which imports multiprocessing and unpickles
 * the Process object before it can run it; forkserver asks a single-threaded server, started
 * once, to fork a child from itself.
 *
 * Self-contained on purpose (the script is in this file, the co-process is bench/coprocess.h):
 * the benchmark contract in workload.h is being rewritten, and this file is written against
 * the contract as it is today.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coprocess.h"
#include "python_coprocess.h"
#include "workload.h"

/* The co-process.  argv[1] is the start method.  Each line "start N" starts N processes, joins
 * them, and answers "seconds S value V": S as Python measured it, V the number that exited 0. */
static const char script[] =
    "import multiprocessing, os, sys, time\n"
    "def batch(ctx, n):\n"
    "    procs = [ctx.Process(target=os.getpid) for _ in range(n)]\n"
    "    t = time.perf_counter()\n"
    "    for p in procs:\n"
    "        p.start()\n"
    "    for p in procs:\n"
    "        p.join()\n"
    "    return time.perf_counter() - t, sum(p.exitcode == 0 for p in procs)\n"
    "if __name__ == '__main__':\n"
    "    ctx = multiprocessing.get_context(sys.argv[1])\n"
    "    batch(ctx, 1)  # warm-up: the forkserver starts here, outside the timed runs\n"
    "    print('ready', flush=True)\n"
    "    for line in sys.stdin:\n"
    "        words = line.split()\n"
    "        if words[:1] == ['start']:\n"
    "            s, ok = batch(ctx, int(words[1]))\n"
    "            print('seconds %.9f value %d' % (s, ok), flush=True)\n";

static const char *const methods[] = {"fork", "spawn", "forkserver"};
enum { METHODS = 3 };

static struct coprocess python;
static char running_method[16];

static void stop_python(void)
{
    coprocess_stop(&python, NULL); /* closing its stdin ends the loop; `if` joins nothing left */
    running_method[0] = '\0';
}

static int start_python(const char *method)
{
    if (strcmp(running_method, method) == 0)
        return 0;
    stop_python();
    char *argv[] = {"python3", "-c", (char *)script, (char *)method, NULL};
    if (coprocess_start(&python, argv) == -1)
        return -1;
    char line[64];
    if (!fgets(line, sizeof line, python.from) || strncmp(line, "ready", 5) != 0)
        return -1;
    snprintf(running_method, sizeof running_method, "%s", method);
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    const char *method = methods[p->variant];
    int n = (int)p->x;
    if (start_python(method) != 0) {
        snprintf(r->detail, sizeof r->detail, "starting python3 with %s: %s", method,
                 strerror(errno));
        return -1;
    }
    char line[128];
    double seconds = 0;
    int exited_ok = -1;
    if (fprintf(python.to, "start %d\n", n) < 0 || fflush(python.to) == EOF ||
        !fgets(line, sizeof line, python.from) ||
        sscanf(line, "seconds %lf value %d", &seconds, &exited_ok) != 2) {
        snprintf(r->detail, sizeof r->detail, "%s, %d processes: no answer from python3", method,
                 n);
        return -1;
    }
    r->ops = n;
    r->extra = seconds; /* Python's own measure, kept beside the driver's wall time */
    r->ok = exited_ok == n;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "%s: %d of %d processes exited 0", method, exited_ok,
                 n);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    static const double counts[] = {1, 4, 8}, quick_counts[] = {1, 4};
    const double *x = quick ? quick_counts : counts;
    int nx = quick ? 2 : 3, n = 0;
    if (!python_available())
        return 0;
    for (int m = 0; m < METHODS; m++)
        for (int i = 0; i < nx && n < max; i++, n++) {
            snprintf(points[n].series, sizeof points[n].series, "%s", methods[m]);
            points[n].x = x[i];
            points[n].variant = m;
        }
    return n;
}

/* The figure at the largest x of a series (ns per process), or 0. */
static double per_process(const struct reduced_point *r, int n, const char *series)
{
    double best_x = 0, figure = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].point.series, series) == 0 && r[i].point.x >= best_x) {
            best_x = r[i].point.x;
            figure = r[i].figure_median;
        }
    return figure;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    if (n == 0) {
        fprintf(out, "  skipped: python3 (with multiprocessing) not found\n");
        return;
    }
    double fork = per_process(r, n, "fork");
    fprintf(out, "  start + join, per process, at the largest batch:\n");
    for (int m = 0; m < METHODS; m++) {
        double ns = per_process(r, n, methods[m]);
        if (ns > 0)
            fprintf(out, "    %-12s %10.2f ms  (%.1fx fork)\n", methods[m], ns / 1e6,
                    fork > 0 ? ns / fork : 0);
    }
}

const struct workload workload_python_start = {
    .name = "python_start",
    .title = "Python multiprocessing: starting a process with each start method",
    .shape = SHAPE_SERIES,
    .x_label = "processes started at once",
    .figure_label = "time per process, start + join (ns)",
    .figure = FIGURE_NS_PER_OP,
    .plan = plan,
    .run = run,
    .summarize = summarize,
    .observe = "spawn pays for a new interpreter per process (its start-up and the import of "
               "multiprocessing), so it costs many times fork; forkserver forks from a small "
               "server started once and lands near fork, without copying the parent's threads "
               "or state. Python 3.14 made it the Linux default for that reason.",
    .finish = stop_python,
};
