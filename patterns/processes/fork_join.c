#define _GNU_SOURCE
/* fork_join.c - split a CPU-bound job (counting primes by trial division) across P child
 * processes, collect their partial counts through one pipe, and check the sum.
 *
 * Usage: fork_join [--workers=P] [--limit=N] [--split=balanced|equal] [--no-check]
 *                  [--timeout=S] [--kill-worker=K] [--trace=FILE]
 *   -w, --workers=P      child processes to fork (default: usable CPUs, here via
 *                        sched_getaffinity; 1 to 1000)
 *   -n, --limit=N        count the primes below N (default 2000000; 0 to 10^12)
 *   -s, --split=S        how [0, N) is cut into P ranges: balanced (default) gives each worker
 *                        about the same work; equal gives each the same count of numbers
 *   -c, --no-check       skip the sequential count (it doubles the run time); a known value
 *                        is still checked when N is a power of ten
 *   -t, --timeout=S      watchdog: give up if the workers have not all reported after S
 *                        seconds (default 60; 0 disables it)
 *   -k, --kill-worker=K  worker K kills itself with SIGKILL before reporting, as the OOM killer
 *                        might: see how the parent notices (default: none)
 *   -T, --trace=FILE     write the run's timeline to FILE: Chrome trace-event JSON, one row
 *                        per child, from fork to reaping, with its count on it (Perfetto)
 *   -h, --help           this text
 * Exit status: 0 if every worker reported and the sum matches every check; 1 otherwise.
 *
 * What to observe:
 *   - fork() without exec: each child is a copy of the parent, already holding N, its own
 *     range and the pipe's write end, so nothing has to be sent to it.  Only the answer
 *     travels back, as one fixed-size record per child through a single shared pipe.
 *   - The per-worker times.  With --split=equal the last worker takes far longer than the
 *     first (big numbers cost more to test); balanced ranges even them out.
 *   - Wall time against the sequential time: about P times faster while P <= the CPUs you
 *     have, then no faster.  Compare `--workers=1`, `--workers=2`, `--workers=8`, and run
 *     `taskset -c 0 build/bin/fork_join`: the default follows the CPUs you may use.
 *   - --limit=1000: the "speedup" falls far below 1.  Forking, and reaping, P processes
 *     costs more than so small a job: parallelism pays only for work that outweighs it.
 *   - --trace=join.json --split=equal, opened in ui.perfetto.dev: the rows end one after
 *     another, the last far after the first; the join waits for the slowest.
 *   - ps -o pid,ppid,stat,comm --ppid $(pgrep -n fork_join) while a big --limit runs: the
 *     children, then (for an instant) zombies until the parent's waitpid reaps them.
 *
 * Python counterpart: multiprocessing.Pool(P).map(count_range, ranges) followed by sum();
 *   or P Process objects each putting (index, count) on one multiprocessing.Queue,
 *   then join().  A Queue pickles records; here they are raw bytes of a fixed size.
 *
 * See also: exec_spawn.c, pipe(7) ("PIPE_BUF"), wait(2), bench/ (this job as a workload).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/process.h"
#include "support/full_io.h"
#include "support/output_file.h"
#include "support/parse.h"
#include "support/timeline.h"

/* Run well under a second natively (both the parallel and the sequential count), and in
 * seconds under valgrind. */
enum { DEFAULT_LIMIT = 2000000, DEFAULT_TIMEOUT_S = 60, MAX_WORKERS = 1000 };

/* Trial division to 10^12 already takes hours; the cap keeps n / d and every sum in range. */
#define MAX_LIMIT 1000000000000LL

/* What a child sends back.  Every child writes to the same pipe, and a write of at most
 * PIPE_BUF bytes to a pipe is atomic (POSIX): it lands in one piece, never interleaved with
 * another writer's bytes.  So the parent always reads whole records, whatever the order. */
struct result_record {
    int32_t worker;     /* which range this is (the parent knows the range by index) */
    int32_t pid;        /* who counted it, to show on the report line */
    int64_t count;      /* primes found in the range */
    int64_t start_ns;   /* when the child began counting (monotonic: the parent's clock too) */
    int64_t elapsed_ns; /* the child's own wall time for the count */
};
_Static_assert(sizeof(struct result_record) <= PIPE_BUF, "a record must be written atomically");

/* What the parent knows about each child. */
struct worker {
    pid_t pid;
    long long first, end; /* the range [first, end) this child counts */
    int reported;         /* 1 once its record arrived */
    struct result_record result;
    int wstatus;                  /* from waitpid */
    int64_t forked_ns, reaped_ns; /* the child's life as the parent saw it, for --trace */
};

enum split { SPLIT_BALANCED, SPLIT_EQUAL };

/* Everything the command line decides. */
struct options {
    long workers;
    long long limit;
    enum split split;
    int check;         /* 1: also count sequentially in the parent */
    long timeout_s;    /* 0: no watchdog */
    long kill_worker;  /* -1: nobody */
    const char *trace; /* --trace FILE, or NULL */
};

static const char usage[] =
    "Usage: fork_join [--workers=P] [--limit=N] [--split=balanced|equal] [--no-check]\n"
    "                 [--timeout=S] [--kill-worker=K] [--trace=FILE]\n"
    "  -w, --workers=P      child processes (default: the usable CPU count; 1 to 1000)\n"
    "  -n, --limit=N        count the primes below N (default 2000000; 0 to 10^12)\n"
    "  -s, --split=S        balanced (default: equal work) or equal (equal-sized ranges)\n"
    "  -c, --no-check       skip the sequential count (a known value is still checked)\n"
    "  -t, --timeout=S      watchdog in seconds (default 60; 0: none)\n"
    "  -k, --kill-worker=K  worker K kills itself with SIGKILL before reporting\n"
    "  -T, --trace=FILE     write the timeline (Chrome trace-event JSON) to FILE\n"
    "  -h, --help           this text\n"
    "Exit status: 0 if every worker reported and the sum is right, 1 otherwise, 2 bad usage.\n";

/* --- the job: deliberately slow, so that there is work worth sharing ------------------ */

/* Trial division by odd numbers up to the square root.  A prime n costs about sqrt(n)/2
 * divisions; most composites stop early, at a small factor. */
static int is_prime(long long n)
{
    if (n < 2)
        return 0;
    if (n < 4)
        return 1;
    if (n % 2 == 0)
        return 0;
    for (long long d = 3; d <= n / d; d += 2) /* d <= n / d: d * d <= n, never overflowing */
        if (n % d == 0)
            return 0;
    return 1;
}

static long long count_primes(long long first, long long end)
{
    long long count = 0;
    for (long long n = first; n < end; n++)
        count += is_prime(n);
    return count;
}

/* pi(10^k), the number of primes below 10^k, from the tables: a check that does not depend
 * on is_prime being right.  -1 when N is not a power of ten we know. */
static long long known_prime_count(long long n)
{
    static const long long pi_of_power_of_ten[] = {
        0,      4,       25,       168,       1229,         9592,         78498,
        664579, 5761455, 50847534, 455052511, 4118054813LL, 37607912018LL};
    long long power = 1;
    for (size_t k = 0; k < sizeof pi_of_power_of_ten / sizeof pi_of_power_of_ten[0]; k++) {
        if (power == n && k > 0)
            return pi_of_power_of_ten[k];
        power *= 10;
    }
    return -1;
}

/* --- cutting [0, N) into P ranges ---------------------------------------------------- */

/* Equal ranges hold equal counts of numbers but not equal work: testing n costs up to
 * sqrt(n), so the work below x grows roughly like x^1.5 (primes thin out only like 1/ln x).
 * The balanced split puts boundary k at N * (k/P)^(2/3), where that work curve reaches k/P
 * of its total, and keeps ranges contiguous so each can be printed as [first, end).
 *
 * Why not stripes (worker k tests k, k+P, k+2P, ...)?  They balance well for odd P, but with
 * P = 2 worker 0 gets every even number, each rejected after one division: all the work
 * lands on worker 1.  Stripes of whole blocks avoid that but are harder to show. */
static void split_ranges(struct worker *workers, long count, long long limit, enum split split)
{
    long long previous = 0;
    for (long k = 0; k < count; k++) {
        double fraction = (double)(k + 1) / (double)count;
        if (split == SPLIT_BALANCED)
            fraction = pow(fraction, 2.0 / 3.0);
        long long end = (k + 1 == count) ? limit : (long long)((double)limit * fraction);
        if (end < previous) /* rounding must never make a range run backwards */
            end = previous;
        if (end > limit)
            end = limit;
        workers[k].first = previous;
        workers[k].end = end;
        previous = end;
    }
}

/* --- the fork: one child per range ---------------------------------------------------- */

/* The child's clock.  monotonic_ns() reports a failure with die(), whose exit() a forked
 * child must never run (it would flush the parent's stdio buffers a second time). */
static int64_t child_clock_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die("clock_gettime");
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The whole life of a child: count its range, send one record, leave with _exit. */
static _Noreturn void run_worker(long index, const struct worker *self, int write_fd, int kill_self)
{
    int64_t start = child_clock_ns();
    struct result_record record = {
        .worker = (int32_t)index,
        .pid = (int32_t)getpid(),
        .count = count_primes(self->first, self->end),
        .start_ns = start,
    };
    record.elapsed_ns = child_clock_ns() - start;
    if (kill_self && kill(getpid(), SIGKILL) == -1) /* --kill-worker: die before reporting */
        die("kill");
    /* One write() of the whole record: atomic because sizeof record <= PIPE_BUF. */
    ssize_t written = write(write_fd, &record, sizeof record);
    if (written == -1)
        die("write");
    if ((size_t)written != sizeof record) /* cannot happen for an atomic write; say so if it does */
        die("write: only %zd of %zu bytes", written, sizeof record);
    _exit(EXIT_SUCCESS); /* not exit(): see process.h */
}

/* Fork every child first, and only then wait for any: the children run at the same time. */
static void start_workers(struct worker *workers, const struct options *options, int pipe_fds[2])
{
    for (long k = 0; k < options->workers; k++) {
        /* start_child: a count nobody will read is a waste of a CPU, so the child dies with
         * the parent; a failed fork exits, and the cleanup reaps the children made so far. */
        workers[k].forked_ns = monotonic_ns();
        pid_t pid = start_child();
        if (pid == 0) {
            close_or_die(pipe_fds[0]); /* a child only writes */
            run_worker(k, &workers[k], pipe_fds[1], k == options->kill_worker);
        }
        workers[k].pid = pid;
    }
    /* The parent's own write end must go, or read() would never see end-of-file: EOF comes
     * only when every write end, in every process, is closed. */
    close_or_die(pipe_fds[1]);
}

/* --- the join: read the records, then reap every child ------------------------------- */

/* Store one record after checking it names a worker we started and has not come before. */
static void accept_record(const struct result_record *record, struct worker *workers, long count)
{
    if (record->worker < 0 || record->worker >= count ||
        workers[record->worker].pid != (pid_t)record->pid || workers[record->worker].reported) {
        note("ignoring a record that names no worker of ours (worker %d, pid %d)",
             (int)record->worker, (int)record->pid);
        return;
    }
    workers[record->worker].result = *record;
    workers[record->worker].reported = 1;
}

/* The watchdog fired: say what we saw, then kill the silent children so the reap below ends. */
static void watchdog_expired(struct worker *workers, long count, long received, long timeout_s)
{
    note("watchdog: after %ld s only %ld of %ld workers had reported; killing the rest", timeout_s,
         received, count);
    for (long k = 0; k < count; k++)
        if (!workers[k].reported && kill(workers[k].pid, SIGKILL) == -1 && errno != ESRCH)
            die("kill %ld", (long)workers[k].pid);
}

/* Read records until end-of-file, that is until every child has closed its write end (by
 * exiting, normally or not).  poll() with a deadline is the watchdog: a blocked read alone
 * would wait forever for a child that hangs.  Returns how many records arrived. */
static long collect_results(int read_fd, struct worker *workers, long count, long timeout_s)
{
    long received = 0;
    int64_t deadline = monotonic_ns() + (int64_t)timeout_s * 1000000000;
    for (;;) {
        int wait_ms = -1; /* -1: no watchdog, wait as long as it takes */
        if (timeout_s > 0) {
            int64_t left_ms = (deadline - monotonic_ns()) / 1000000;
            if (left_ms <= 0) {
                watchdog_expired(workers, count, received, timeout_s);
                return received;
            }
            wait_ms = left_ms > 1000 ? 1000 : (int)left_ms + 1;
        }
        struct pollfd ready = {.fd = read_fd, .events = POLLIN};
        int n = poll(&ready, 1, wait_ms);
        if (n == -1 && errno != EINTR)
            die("poll");
        if (n <= 0)
            continue; /* timed out or interrupted: look at the deadline again */
        struct result_record record;
        ssize_t got = read(read_fd, &record, sizeof record);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1)
            die("read");
        if (got == 0)
            return received; /* end-of-file: no child can write any more */
        if ((size_t)got != sizeof record) {
            /* Impossible while every write is one whole record of at most PIPE_BUF bytes. */
            note("read a torn record of %zd bytes: writes above PIPE_BUF may interleave", got);
            exit(EXIT_FAILURE);
        }
        accept_record(&record, workers, count);
        received++;
    }
}

/* waitpid every child: this is what removes the zombie each one became when it exited. */
static long reap_workers(struct worker *workers, long count)
{
    long failed = 0;
    for (long k = 0; k < count; k++) {
        workers[k].wstatus = wait_for_child(workers[k].pid);
        workers[k].reaped_ns = monotonic_ns();
        if (!workers[k].reported || !child_succeeded(workers[k].wstatus))
            failed++;
    }
    return failed;
}

/* --- the report ----------------------------------------------------------------------- */

/* A duration in a unit that keeps three significant digits: a small job's workers finish
 * in microseconds, which "%.3f s" would print as 0.000 s. */
static const char *show_duration(int64_t ns, char *buf, size_t size)
{
    if (ns >= 1000000000)
        snprintf(buf, size, "%.3f s", (double)ns / 1e9);
    else if (ns >= 1000000)
        snprintf(buf, size, "%.3f ms", (double)ns / 1e6);
    else
        snprintf(buf, size, "%.1f us", (double)ns / 1e3);
    return buf;
}

/* One line per child, in range order (the records arrived in finishing order). */
static long long report_workers(const struct worker *workers, long count)
{
    long long total = 0;
    for (long k = 0; k < count; k++) {
        const struct worker *w = &workers[k];
        char status[128];
        describe_status(w->wstatus, status, sizeof status);
        printf("worker %ld pid %ld: range [%lld, %lld) ", k, (long)w->pid, w->first, w->end);
        if (w->reported) {
            char took[32];
            printf("count %lld in %s, %s\n", (long long)w->result.count,
                   show_duration(w->result.elapsed_ns, took, sizeof took), status);
            total += w->result.count;
        } else {
            printf("NO RESULT, %s\n", status);
        }
    }
    return total;
}

/* --trace: a row per child from fork to reaping, and its count on it.  Returns 0, or -1 with
 * errno set. */
static int write_timeline(const struct worker *workers, long count, const char *path)
{
    struct timeline t = {0};
    for (long k = 0; k < count; k++) {
        const struct worker *w = &workers[k];
        struct timeline_span *life = timeline_add(&t), *job = NULL;
        if (!life || (w->reported && !(job = timeline_add(&t)))) {
            timeline_free(&t);
            return -1;
        }
        char status[128];
        describe_status(w->wstatus, status, sizeof status);
        *life = (struct timeline_span){.row = w->pid,
                                       .names_row = 1,
                                       .category = "child",
                                       .start_ns = w->forked_ns,
                                       .end_ns = w->reaped_ns};
        snprintf(life->name, sizeof life->name, "worker %ld (pid %ld)", k, (long)w->pid);
        snprintf(life->args, sizeof life->args, "\"worker\": %ld, \"end\": \"%s\"", k, status);
        if (job) {
            *job = (struct timeline_span){.row = w->pid,
                                          .category = "task",
                                          .start_ns = w->result.start_ns,
                                          .end_ns = w->result.start_ns + w->result.elapsed_ns};
            snprintf(job->name, sizeof job->name, "count [%lld, %lld)", w->first, w->end);
            snprintf(job->args, sizeof job->args, "\"task\": %ld, \"count\": %lld", k,
                     (long long)w->result.count);
        }
    }
    int written = timeline_write(&t, path, "fork_join");
    int saved = errno;
    timeline_free(&t);
    errno = saved;
    return written;
}

/* Compare the parallel sum with the sequential count and, for a power of ten, the tables.
 * Returns 1 when every check that was made agrees. */
static int report_verdict(long long limit, long long total, int check, int64_t parallel_ns)
{
    long long sequential = -1, known = known_prime_count(limit);
    int64_t sequential_ns = 0;
    if (check) {
        int64_t start = monotonic_ns();
        sequential = count_primes(0, limit); /* the same job, one process, no pipe */
        sequential_ns = monotonic_ns() - start;
    }
    int match = (sequential < 0 || sequential == total) && (known < 0 || known == total);
    printf("primes below %lld: %lld (", limit, total);
    if (sequential >= 0)
        printf("sequential: %lld%s", sequential, known >= 0 ? ", " : "");
    if (known >= 0)
        printf("known value: %lld", known);
    if (sequential < 0 && known < 0)
        printf("not checked: --no-check and N is not a power of ten");
    printf(") -- %s\n", match ? "match" : "MISMATCH");
    char wall[32], cpu[32], alone[32];
    printf("wall time: parallel %s (children's CPU %s)",
           show_duration(parallel_ns, wall, sizeof wall),
           show_duration(children_cpu_ns(), cpu, sizeof cpu));
    if (check && parallel_ns > 0)
        printf(", sequential %s, speedup %.2fx", show_duration(sequential_ns, alone, sizeof alone),
               (double)sequential_ns / (double)parallel_ns);
    printf("\n");
    return match;
}

/* --- the command line ----------------------------------------------------------------- */

static const char *const split_words[] = {"balanced", "equal", NULL}; /* in enum split's order */

static struct options parse_arguments(int argc, char *argv[])
{
    static const struct option long_options[] = {{"workers", required_argument, NULL, 'w'},
                                                 {"limit", required_argument, NULL, 'n'},
                                                 {"split", required_argument, NULL, 's'},
                                                 {"no-check", no_argument, NULL, 'c'},
                                                 {"timeout", required_argument, NULL, 't'},
                                                 {"kill-worker", required_argument, NULL, 'k'},
                                                 {"trace", required_argument, NULL, 'T'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
    struct options o = {.workers = usable_cpu_count(),
                        .limit = DEFAULT_LIMIT,
                        .split = SPLIT_BALANCED,
                        .check = 1,
                        .timeout_s = DEFAULT_TIMEOUT_S,
                        .kill_worker = -1};
    opterr = 0; /* we print our own one-line reason, then the usage */
    int c;
    while ((c = getopt_long(argc, argv, ":w:n:s:ct:k:T:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'w': o.workers = parse_long(optarg, "--workers", 1, MAX_WORKERS, usage); break;
        case 'n': o.limit = parse_long(optarg, "--limit", 0, MAX_LIMIT, usage); break;
        case 's': o.split = (enum split)parse_choice(optarg, "--split", split_words, usage); break;
        case 'c': o.check = 0; break;
        case 't': o.timeout_s = parse_long(optarg, "--timeout", 0, 86400, usage); break;
        case 'k': o.kill_worker = parse_long(optarg, "--kill-worker", 0, MAX_WORKERS, usage); break;
        case 'T': o.trace = optarg; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    if (o.kill_worker >= o.workers)
        usage_error(usage, "--kill-worker: there is no worker %ld among %ld (they count from 0)",
                    o.kill_worker, o.workers);
    return o;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install();
    struct options o = parse_arguments(argc, argv);
    struct worker *workers = calloc((size_t)o.workers, sizeof *workers);
    if (workers == NULL)
        die("calloc");
    split_ranges(workers, o.workers, o.limit, o.split);
    printf("fork_join: parent %ld counts primes below %lld with %ld worker%s, %s split "
           "(%d usable CPUs)\n",
           (long)getpid(), o.limit, o.workers, o.workers == 1 ? "" : "s",
           o.split == SPLIT_BALANCED ? "balanced" : "equal", usable_cpu_count());

    int pipe_fds[2]; /* one pipe shared by every child: [0] read end, [1] write end */
    if (pipe(pipe_fds) == -1)
        die("pipe");
    int64_t start = monotonic_ns();
    start_workers(workers, &o, pipe_fds);
    long received = collect_results(pipe_fds[0], workers, o.workers, o.timeout_s);
    long failed = reap_workers(workers, o.workers);
    int64_t parallel_ns = monotonic_ns() - start;
    close_or_die(pipe_fds[0]);

    long long total = report_workers(workers, o.workers);
    int ok = 0;
    if (failed > 0)
        printf("primes below %lld: unknown, %ld of %ld workers failed (%ld results arrived, "
               "summing to %lld)\n",
               o.limit, failed, o.workers, received, total);
    else
        ok = report_verdict(o.limit, total, o.check, parallel_ns);
    if (o.trace && write_timeline(workers, o.workers, o.trace) == -1) {
        note("cannot write %s: %s", o.trace, output_file_reason(errno));
        ok = 0;
    } else if (o.trace) {
        printf("timeline: %s (open it in ui.perfetto.dev or chrome://tracing)\n", o.trace);
    }
    free(workers);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
