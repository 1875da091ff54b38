#define _GNU_SOURCE
/* mpi_latency.c - workload: the round trip of a message between two MPI ranks
 * (patterns/mpi/mpi_ping_pong) beside a pipe and the shared-memory queue between two
 * processes, on two different CPUs, for 64 B, 1 KiB and 4 KiB messages.
 *
 * The figure is the time of one round trip measured inside each program, over a fixed count
 * of round trips after a warm-up: MPI_Wtime on rank 0 for MPI, the monotonic clock in the
 * parent for the pipe and the queue.  The launcher's start-up (a tenth of a second or more)
 * is in the driver's wall time of an MPI run and would swamp microseconds, so it is kept out
 * of the figure this way.  Every echo is checked (it carries its sequence number).
 *
 * MPI on one machine passes a small message through shared memory, polling: compare it with
 * the shared-memory queue, which also polls briefly, and with the pipe, which sleeps in the
 * kernel and is woken.  The pipe and the queue use bench/ipc_channels.h, as ipc_latency does.
 *
 * Without the MPI programs (`make mpi` builds them), the workload plans nothing and says so
 * in one line of the summary; on one CPU it plans nothing either (two CPUs are its point).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_channels.h"
#include "mpi_programs.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "workload.h"

enum transport { BY_MPI, BY_PIPE, BY_SHM_QUEUE, TRANSPORTS };
static const long STOP = -1;

static long round_trips(const struct point *p)
{
    return p->quick ? 2000 : 5000;
}

/* --- MPI: run the ping-pong, read its own figure ---------------------------------------- */

static int run_mpi(const struct point *p, struct run_result *r)
{
    char command[8800];
    snprintf(command, sizeof command,
             "/bin/sh %s/mpirun -n 2 %s/bin/mpi_ping_pong --size=%ld "
             "--count=%ld 2>&1",
             mpi_programs_dir(), mpi_programs_dir(), (long)p->x, round_trips(p));
    fflush(NULL);
    FILE *f = popen(command, "r");
    if (!f)
        return snprintf(r->detail, sizeof r->detail, "popen: %s", strerror(errno)), -1;
    char line[512];
    double ns = -1;
    int echoes_ok = 0;
    while (fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "us (");
        if (strncmp(line, "round trip: ", 12) == 0 && at)
            ns = atof(at + 4);
        echoes_ok |= strstr(line, "carried the wrong number -- ok") != NULL;
    }
    int status = pclose(f);
    if (status != 0 || ns < 0) {
        snprintf(r->detail, sizeof r->detail, "mpi_ping_pong failed (status %#x)", status);
        return -1;
    }
    r->extra = ns;
    r->ops = (double)round_trips(p);
    r->ok = echoes_ok;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "mpi_ping_pong: an echo was wrong");
    return 0;
}

/* --- a pipe or the shared-memory queue, two processes on two CPUs ----------------------- */

static _Noreturn void echo(struct ipc_channels *c, size_t size, int cpu, pid_t parent)
{
    die_with_parent(parent);
    struct ipc_endpoint e;
    if (ipc_pin_self(cpu) == -1 || ipc_channels_take_ends(c, 1, &e) == -1)
        _exit(2);
    char *buffer = malloc(size);
    if (!buffer)
        _exit(3);
    long sequence = 0;
    int failed = 0;
    do {
        failed = ipc_receive(&e, buffer, size) == -1 || ipc_send(&e, buffer, size) == -1;
        memcpy(&sequence, buffer, sizeof sequence);
    } while (!failed && sequence != STOP);
    free(buffer);
    _exit(failed ? 4 : 0);
}

static long trip(const struct ipc_endpoint *e, char *buffer, size_t size, long sequence)
{
    memcpy(buffer, &sequence, sizeof sequence);
    if (ipc_send(e, buffer, size) == -1 || ipc_receive(e, buffer, size) == -1)
        return -2;
    long echoed;
    memcpy(&echoed, buffer, sizeof echoed);
    return echoed;
}

/* warm-up, then `count` timed round trips; ns per round trip, or -1.  *wrong: bad echoes */
static double ping(const struct ipc_endpoint *e, size_t size, long count, long *wrong)
{
    char *buffer = calloc(1, size);
    if (!buffer)
        return -1;
    double ns = -1;
    long warmup = count / 10, i = 0;
    int64_t start = 0;
    for (*wrong = 0; i < warmup + count; i++) {
        if (i == warmup)
            start = monotonic_ns();
        long echoed = trip(e, buffer, size, i);
        if (echoed == -2)
            break;
        *wrong += echoed != i;
    }
    if (i == warmup + count)
        ns = (double)(monotonic_ns() - start) / count;
    if (trip(e, buffer, size, STOP) != STOP)
        ns = -1;
    free(buffer);
    return ns;
}

static int run_local(const struct point *p, enum ipc_mechanism m, struct run_result *r)
{
    int cpus[2];
    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) == -1 || usable_cpu_ids(cpus, 2) < 2)
        return snprintf(r->detail, sizeof r->detail, "needs two CPUs"), -1;
    size_t size = (size_t)p->x;
    struct ipc_channels c;
    if (ipc_channels_open(&c, m, size, 64) == -1) {
        snprintf(r->detail, sizeof r->detail, "%s: %s", ipc_mechanism_names[m], strerror(errno));
        ipc_channels_close(&c, NULL);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno)), -1;
    if (pid == 0)
        echo(&c, size, cpus[1], parent);
    cleanup_add_child(pid);
    struct ipc_endpoint e = {0};
    long wrong = 0;
    double ns = -1;
    if (ipc_pin_self(cpus[0]) == 0 && ipc_channels_take_ends(&c, 0, &e) == 0)
        ns = ping(&e, size, round_trips(p), &wrong);
    if (ns < 0)
        kill(pid, SIGKILL);
    int child_failed = ipc_reap_peer(pid, "the echo process", r->detail, sizeof r->detail);
    sched_setaffinity(0, sizeof saved, &saved);
    ipc_channels_close(&c, &e);
    if (ns < 0)
        return snprintf(r->detail, sizeof r->detail, "%s: the ping-pong failed",
                        ipc_mechanism_names[m]),
               -1;
    r->extra = ns;
    r->ops = (double)round_trips(p);
    r->ok = !child_failed && wrong == 0;
    if (wrong)
        snprintf(r->detail, sizeof r->detail, "%ld echoes carried the wrong number", wrong);
    return 0;
}

/* --- the plan -------------------------------------------------------------------------------- */

static const char *const series_names[] = {"MPI ping-pong", "pipe", "shm queue"};

/* The transport travels in the point's series name, found again by series_of. */
static enum transport series_of(const struct point *p)
{
    for (int t = 0; t < TRANSPORTS; t++)
        if (strncmp(p->series, series_names[t], strlen(series_names[t])) == 0)
            return (enum transport)t;
    return TRANSPORTS;
}

static int run_point(const struct point *p, struct run_result *r)
{
    switch (series_of(p)) {
    case BY_MPI: return run_mpi(p, r);
    case BY_PIPE: return run_local(p, IPC_BY_PIPE, r);
    case BY_SHM_QUEUE: return run_local(p, IPC_BY_SHM_QUEUE, r);
    case TRANSPORTS: break;
    }
    return snprintf(r->detail, sizeof r->detail, "unknown series %s", p->series), -1;
}

static int plan(struct point *points, int max, int quick)
{
    static const long sizes[] = {64, 1024, 4096};
    if (!mpi_program_built("mpi_ping_pong"))
        return 0; /* the summary says why */
    int nsizes = quick ? 1 : 3, count = 0;
    for (int t = 0; t < TRANSPORTS; t++)
        for (int s = 0; s < nsizes && count < max; s++) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s, different CPUs", series_names[t]);
            p->x = (double)sizes[s];
            p->cpus = 2; /* the driver drops these points on a one-CPU machine */
            p->workers = 2;
        }
    return count;
}

static double figure_at_64(const struct reduced_point *r, int n, enum transport t)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.x == 64 && series_of(&r[i].point) == t)
            return r[i].figure_median;
    return 0;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    if (!mpi_program_built("mpi_ping_pong")) {
        fprintf(out, "  MPI skipped: the MPI programs are not built (make mpi installs MPI and "
                     "builds them)\n");
        return;
    }
    double mpi = figure_at_64(r, n, BY_MPI), pipe = figure_at_64(r, n, BY_PIPE),
           shm = figure_at_64(r, n, BY_SHM_QUEUE);
    if (mpi > 0 && pipe > 0 && shm > 0)
        fprintf(out,
                "  64 B round trip, different CPUs: MPI %.2f us, pipe %.2f us (%.1fx MPI's), "
                "shm queue %.2f us (%.1fx MPI's)\n",
                mpi / 1e3, pipe / 1e3, pipe / mpi, shm / 1e3, shm / mpi);
    else
        fprintf(out, "  not measured: the points need two CPUs\n");
}

const struct workload workload_mpi_latency = {
    .name = "mpi_latency",
    .title = "Round trip of a message: MPI beside a pipe and the shared-memory queue",
    .shape = SHAPE_SERIES,
    .x_label = "message size (bytes)",
    .figure_label = "time per round trip (ns), timed inside",
    .figure = FIGURE_EXTRA,
    .plan = plan,
    .run = run_point,
    .summarize = summarize,
    .observe = "On one machine an MPI message goes through shared memory, and the waiting rank "
               "polls for it: the round trip costs what the shared-memory queue's does, far "
               "less than a pipe's, whose reader sleeps in the kernel and must be woken. The "
               "price is a CPU held at 100% by every waiting rank.",
};
