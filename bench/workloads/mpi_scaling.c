#define _GNU_SOURCE
/* mpi_scaling.c - workload: counting primes with MPI master-worker (patterns/mpi/mpi_primes)
 * beside the one-machine process pool, across process counts (strong scaling).
 *
 * The job is pool_scaling's: the primes below N in 100 equal ranges, one range per task.  The
 * process pool runs here, in the driver (as in pool_scaling); the MPI job runs as a
 * co-process, `build/mpi/mpirun -n P mpi_primes --serve`, started in a point's warm-up run
 * and kept for its timed runs, so that the launcher's start-up (0.1 s for MPICH, 0.5 s for
 * Open MPI on the machine this was written on) is paid once per point, as the pool's forks
 * are: each timed run is one "LIMIT RANGES" line to rank 0 and its answer back.  The
 * driver's wall time of a run therefore holds the job plus one trip through the launcher's
 * stdin and stdout forwarding; the job alone, timed inside with MPI_Wtime, is the run's
 * `extra` (the pool's job time for the pool), and the summary gives both.
 *
 * Every MPI rank counts ranges (rank 0 too, between hand-outs), so P ranks are P computing
 * processes, as P pool workers are.  The ranks inherit the CPUs the driver pinned itself to
 * (the launcher binds nothing: see patterns/mpi/mpirun.in).  The ranks report when they
 * worked and for how much CPU ("span" lines), which the driver's overlap check uses.
 *
 * Without the MPI programs (`make mpi` builds them), the workload plans nothing and says so
 * in one line of the summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool/pool.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "workload.h"

enum variant { PROCESS_POOL, MPI_MASTER_WORKER };
enum { RANGES = 100 };

struct range {
    int64_t first, end;
};
struct range_result {
    int64_t count, start_ns, end_ns, cpu_ns;
    int32_t worker;
};

/* --- where the MPI programs are ------------------------------------------------------------ */

/* build/mpi beside build/bin/bench (any OUT): the launcher script and the programs. */
static const char *mpi_dir(void)
{
    static char dir[4096];
    if (dir[0] == '\0') {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0'; /* .../build/bin */
        snprintf(dir, sizeof dir, "%s/../mpi", exe);
    }
    return dir;
}

static int mpi_built(void)
{
    char launcher[4200], program[4200];
    snprintf(launcher, sizeof launcher, "%s/mpirun", mpi_dir());
    snprintf(program, sizeof program, "%s/bin/mpi_primes", mpi_dir());
    return access(launcher, X_OK) == 0 && access(program, X_OK) == 0;
}

/* "mpich" or "openmpi": what `make` wrote when it built them. */
static const char *mpi_name(void)
{
    static char name[32];
    char path[4200];
    snprintf(path, sizeof path, "%s/implementation", mpi_dir());
    FILE *f = fopen(path, "r");
    if (!f || !fgets(name, sizeof name, f))
        snprintf(name, sizeof name, "MPI");
    name[strcspn(name, "\n")] = '\0';
    if (f)
        fclose(f);
    return name;
}

/* --- the task, for the pool (the same trial division as mpi_primes) ----------------------- */

static int is_prime(int64_t n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (int64_t d = 3; d <= n / d; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

static int count_range_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct range r;
    struct range_result out = {0};
    if (arg_size != sizeof r || *result_size < sizeof out)
        return EINVAL;
    memcpy(&r, arg, sizeof r);
    out.start_ns = monotonic_ns();
    int64_t cpu = thread_cpu_ns();
    for (int64_t n = r.first; n < r.end; n++)
        out.count += is_prime(n);
    out.cpu_ns = thread_cpu_ns() - cpu;
    out.end_ns = monotonic_ns();
    out.worker = (int32_t)getpid();
    memcpy(result, &out, sizeof out);
    *result_size = sizeof out;
    return 0;
}

static long sieve_count(long limit)
{
    char *composite = calloc((size_t)limit + 1, 1);
    if (!composite)
        return -1;
    long count = 0;
    for (long i = 2; i < limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = i * i; j < limit; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}

/* --- what is kept between the runs of one point: the pool, or the MPI job ------------------ */

static struct pool *pool;
static pid_t launcher = -1;
static FILE *to_mpi, *from_mpi;
static char kept_for[LABEL_SIZE + 32];

static void stop_mpi(void)
{
    if (launcher == -1)
        return;
    if (to_mpi) {
        fputs("quit\n", to_mpi); /* rank 0 tells the workers; every rank finalizes */
        fclose(to_mpi);
    }
    if (from_mpi)
        fclose(from_mpi);
    to_mpi = from_mpi = NULL;
    int status;
    while (waitpid(launcher, &status, 0) == -1 && errno == EINTR)
        continue;
    cleanup_forget_child(launcher);
    launcher = -1;
}

static void release(void)
{
    if (pool) {
        pool_close(pool);
        pool_destroy(pool);
        pool = NULL;
    }
    stop_mpi();
    kept_for[0] = '\0';
}

/* Start `mpirun -n ranks mpi_primes --serve` with pipes to rank 0's stdin and stdout. */
static int start_mpi(int ranks)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
        return -1;
    char n[16], script[4200], program[4200];
    snprintf(n, sizeof n, "%d", ranks);
    snprintf(script, sizeof script, "%s/mpirun", mpi_dir());
    snprintf(program, sizeof program, "%s/bin/mpi_primes", mpi_dir());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return -1;
    if (pid == 0) {
        if (dup2(in[0], STDIN_FILENO) == -1 || dup2(out[1], STDOUT_FILENO) == -1)
            _exit(126);
        execl("/bin/sh", "sh", script, "-n", n, program, "--serve", (char *)NULL);
        _exit(127);
    }
    cleanup_add_child(pid);
    close(in[0]);
    close(out[1]);
    launcher = pid;
    to_mpi = fdopen(in[1], "w");
    from_mpi = fdopen(out[0], "r");
    if (!to_mpi || !from_mpi)
        return -1;
    setvbuf(to_mpi, NULL, _IOLBF, 0);
    return 0;
}

static int prepare(const struct point *p)
{
    char key[sizeof kept_for];
    snprintf(key, sizeof key, "%s/%d/%d", p->series, p->cpus, p->workers);
    if (strcmp(key, kept_for) == 0)
        return 0;
    release();
    int err = 0;
    if (p->param == PROCESS_POOL)
        err = pool_create(&pool, &(struct pool_options){.workers = p->workers});
    else if (start_mpi(p->workers) == -1)
        err = errno ? errno : EIO;
    if (err)
        return err;
    snprintf(kept_for, sizeof kept_for, "%s", key);
    return 0;
}

/* --- one run ------------------------------------------------------------------------------- */

/* One job through the MPI co-process: the total, its MPI_Wtime seconds, and the rank spans. */
static int run_mpi(long limit, struct run_result *r, int64_t *total)
{
    fprintf(to_mpi, "%ld %d\n", limit, RANGES);
    fflush(to_mpi);
    char line[256];
    while (fgets(line, sizeof line, from_mpi)) {
        long long rank, tasks, start, end, cpu, answer;
        double seconds;
        if (sscanf(line, "span %lld %lld %lld %lld %lld", &rank, &tasks, &start, &end, &cpu) == 5) {
            if (tasks > 0 && r->nspans < MAX_WORKERS)
                r->spans[r->nspans++] = (struct worker_span){start, end, cpu};
        } else if (sscanf(line, "answer %lld %lf", &answer, &seconds) == 2) {
            *total = answer;
            r->extra = seconds;
            return 0;
        }
    }
    snprintf(r->detail, sizeof r->detail, "the MPI job ended without an answer (see its "
             "messages above)");
    return -1;
}

static int run_pool(long limit, struct run_result *r, int64_t *total)
{
    struct range ranges[RANGES];
    struct range_result results[RANGES];
    for (int i = 0; i < RANGES; i++)
        ranges[i] = (struct range){limit * i / RANGES, limit * (i + 1) / RANGES};
    int64_t start = monotonic_ns();
    int err = pool_map(pool, count_range_task, ranges, sizeof *ranges, RANGES, results,
                       sizeof *results, 1, NULL);
    r->extra = (monotonic_ns() - start) / 1e9;
    if (err) {
        snprintf(r->detail, sizeof r->detail, "pool_map: %s", strerror(err));
        return -1;
    }
    *total = 0;
    int32_t ids[MAX_WORKERS];
    for (int i = 0; i < RANGES; i++) { /* one span per worker: first start, last end */
        *total += results[i].count;
        int k = 0;
        while (k < r->nspans && ids[k] != results[i].worker)
            k++;
        if (k == MAX_WORKERS)
            continue;
        if (k == r->nspans) {
            ids[r->nspans++] = results[i].worker;
            r->spans[k] = (struct worker_span){results[i].start_ns, results[i].end_ns, 0};
        }
        struct worker_span *s = &r->spans[k];
        s->start_ns = results[i].start_ns < s->start_ns ? results[i].start_ns : s->start_ns;
        s->end_ns = results[i].end_ns > s->end_ns ? results[i].end_ns : s->end_ns;
        s->cpu_ns += results[i].cpu_ns;
    }
    return 0;
}

static int run(const struct point *p, struct run_result *r)
{
    static long expected = -1, expected_for = -1;
    long limit = p->quick ? 200000 : 400000;
    if (expected_for != limit) {
        expected = sieve_count(limit);
        expected_for = limit;
    }
    int err = prepare(p);
    if (err) {
        snprintf(r->detail, sizeof r->detail, "starting the %s: %s", p->series, strerror(err));
        return -1;
    }
    int64_t total = -1;
    if ((p->param == PROCESS_POOL ? run_pool(limit, r, &total) : run_mpi(limit, r, &total)) != 0)
        return -1;
    r->ops = (double)limit;
    r->ok = total == expected;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "primes below %ld: %lld (sieve: %ld)", limit,
                 (long long)total, expected);
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    (void)quick;
    if (!mpi_built() || max < 2)
        return 0; /* the summary says why */
    snprintf(points[0].series, sizeof points[0].series, "process pool");
    points[0].param = PROCESS_POOL;
    snprintf(points[1].series, sizeof points[1].series, "MPI master-worker (%s)", mpi_name());
    points[1].param = MPI_MASTER_WORKER;
    return 2;
}

static const struct reduced_point *find(const struct reduced_point *r, int n, long param,
                                        int cpus, int workers)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.param == param && r[i].point.cpus == cpus && r[i].point.workers == workers)
            return &r[i];
    return NULL;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    if (!mpi_built()) {
        fprintf(out, "  MPI skipped: the MPI programs are not built (make mpi installs MPI and "
                     "builds them)\n");
        return;
    }
    for (long v = PROCESS_POOL; v <= MPI_MASTER_WORKER; v++) {
        const struct reduced_point *one = find(r, n, v, 1, 1), *two = find(r, n, v, 2, 2);
        if (one && two)
            fprintf(out, "  %s: speedup at 2 processes on 2 CPUs %.2f (wall); job time alone "
                         "%.4f s -> %.4f s, %.2f\n", one->point.series, two->speedup,
                    one->extra_median, two->extra_median, one->extra_median / two->extra_median);
    }
    const struct reduced_point *pool1 = find(r, n, PROCESS_POOL, 1, 1),
                               *mpi1 = find(r, n, MPI_MASTER_WORKER, 1, 1);
    if (pool1 && mpi1)
        fprintf(out, "  1 process: the MPI job's wall time is %.2fx the pool's (the trip through "
                     "the launcher's stdin/stdout is in it; the job alone %.2fx)\n",
                mpi1->wall_median_ns / pool1->wall_median_ns,
                mpi1->extra_median / pool1->extra_median);
}

const struct workload workload_mpi_scaling = {
    .name = "mpi_scaling",
    .title = "MPI master-worker beside the process pool: counting primes",
    .shape = SHAPE_SCALING,
    .plan = plan,
    .run = run,
    .summarize = summarize,
    .observe = "On one machine MPI master-worker scales like the process pool: the tasks take "
               "hundreds of microseconds, a message a microsecond. Its runs carry a fixed cost "
               "the pool does not (the request and answer pass through the launcher), visible "
               "at 1 process. Oversubscribed, the MPI ranks that wait poll with a sleep, so "
               "they give their CPU to the ranks that compute.",
    .finish = release,
};
