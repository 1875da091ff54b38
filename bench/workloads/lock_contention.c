#define _GNU_SOURCE
/* lock_contention.c - workload: how many protected updates per second each lock allows.
 *
 * P processes share one counter in shared memory and, for a fixed window, repeatedly take a
 * lock, increment the counter, release the lock.  Eight ways to serialise them, from the
 * cheapest to the most expensive: an atomic fetch-add (no lock at all), a test-and-set spin
 * lock, a ticket lock, a process-shared pthread mutex, a process-shared semaphore, flock(2),
 * an fcntl(2) record lock, and a one-byte token passed through a pipe.
 *
 * Figures: updates per second (with one process: the uncontended cost of a lock and unlock);
 * CPU time beside wall time (a spinning lock burns CPU while it waits; a sleeping one does
 * not); and fairness, the smallest process's share of the updates times P (1 is perfectly
 * fair; a lock that lets its releaser take it straight back scores near 0).  The reference line
 * is one process incrementing with no lock at all.
 *
 * Correctness: the counter must equal the sum of what each process says it did.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/private_dir.h"
#include "workload.h"

enum kind { NO_LOCK, ATOMIC_ADD, SPIN_TAS, TICKET, MUTEX, SEMAPHORE, FLOCK, FCNTL, PIPE_TOKEN };
static const char *const kind_names[] = {"reference: 1 process, no lock",
                                         "atomic fetch-add",
                                         "test-and-set spin lock",
                                         "ticket lock",
                                         "pthread mutex (shared)",
                                         "semaphore (shared)",
                                         "flock",
                                         "fcntl record lock",
                                         "token through a pipe"};
enum { KINDS = PIPE_TOKEN + 1 };

struct shared {
    _Alignas(64) long counter; /* what the lock protects */
    _Alignas(64) atomic_long atomic_counter;
    _Alignas(64) atomic_int tas;
    _Alignas(64) atomic_uint ticket_next;
    _Alignas(64) atomic_uint ticket_serving;
    _Alignas(64) pthread_mutex_t mutex;
    sem_t semaphore;
    _Alignas(64) atomic_int ready, go, stop;
    atomic_int progress; /* set by the first update of any process */
    long done[];         /* each process's update count, written once at the end (one per process:
                            the mapping is sized for them) */
};

struct context {
    struct shared *sh;
    size_t size; /* of the mapping */
    enum kind kind;
    int pipe_fds[2];
    int file_fd;
};

static void lock(struct context *c)
{
    struct shared *sh = c->sh;
    char token;
    struct flock range = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    switch (c->kind) {
    case NO_LOCK:
    case ATOMIC_ADD: break;
    case SPIN_TAS:
        while (atomic_exchange_explicit(&sh->tas, 1, memory_order_acquire))
            while (atomic_load_explicit(&sh->tas, memory_order_relaxed))
                sched_yield(); /* the holder may be descheduled: give it the CPU */
        break;
    case TICKET: {
        unsigned mine = atomic_fetch_add_explicit(&sh->ticket_next, 1, memory_order_relaxed);
        while (atomic_load_explicit(&sh->ticket_serving, memory_order_acquire) != mine)
            sched_yield();
        break;
    }
    case MUTEX: pthread_mutex_lock(&sh->mutex); break;
    case SEMAPHORE:
        while (sem_wait(&sh->semaphore) == -1 && errno == EINTR)
            continue;
        break;
    case FLOCK:
        while (flock(c->file_fd, LOCK_EX) == -1 && errno == EINTR)
            continue;
        break;
    case FCNTL:
        while (fcntl(c->file_fd, F_SETLKW, &range) == -1 && errno == EINTR)
            continue;
        break;
    case PIPE_TOKEN:
        while (read(c->pipe_fds[0], &token, 1) != 1)
            continue;
        break;
    }
}

static void unlock(struct context *c)
{
    struct shared *sh = c->sh;
    struct flock range = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    switch (c->kind) {
    case NO_LOCK:
    case ATOMIC_ADD: break;
    case SPIN_TAS: atomic_store_explicit(&sh->tas, 0, memory_order_release); break;
    case TICKET: atomic_fetch_add_explicit(&sh->ticket_serving, 1, memory_order_release); break;
    case MUTEX: pthread_mutex_unlock(&sh->mutex); break;
    case SEMAPHORE: sem_post(&sh->semaphore); break;
    case FLOCK: flock(c->file_fd, LOCK_UN); break;
    case FCNTL: fcntl(c->file_fd, F_SETLK, &range); break;
    case PIPE_TOKEN:
        while (write(c->pipe_fds[1], "t", 1) != 1)
            continue;
        break;
    }
}

static _Noreturn void worker(struct context *c, int index, const char *path, pid_t parent)
{
    die_with_parent(parent);
    /* flock belongs to an open file description: each process needs its own open(). */
    if ((c->kind == FLOCK || c->kind == FCNTL) && (c->file_fd = open(path, O_RDWR)) == -1)
        _exit(2);
    struct shared *sh = c->sh;
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->go))
        sched_yield();
    long mine = 0;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        if (c->kind == ATOMIC_ADD) {
            atomic_fetch_add_explicit(&sh->atomic_counter, 1, memory_order_relaxed);
        } else {
            lock(c);
            sh->counter++;
            unlock(c);
        }
        if (mine++ == 0)
            atomic_store_explicit(&sh->progress, 1, memory_order_relaxed);
    }
    sh->done[index] = mine;
    _exit(0);
}

static int setup(struct context *c, int procs, char *path, size_t size, struct run_result *r)
{
    c->size = sizeof *c->sh + sizeof c->sh->done[0] * (size_t)procs;
    c->sh = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->sh == MAP_FAILED)
        return snprintf(r->detail, DETAIL_SIZE, "mmap: %s", strerror(errno)), -1;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    int err = pthread_mutex_init(&c->sh->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (err || sem_init(&c->sh->semaphore, 1, 1) == -1)
        return snprintf(r->detail, DETAIL_SIZE, "mutex or semaphore init failed"), -1;
    if (pipe(c->pipe_fds) == -1 || write(c->pipe_fds[1], "t", 1) != 1)
        return snprintf(r->detail, DETAIL_SIZE, "pipe: %s", strerror(errno)), -1;
    snprintf(path, size, "%s/forklore-lockfile-%ld-XXXXXX", temp_root(), (long)getpid());
    int fd = mkstemp(path);
    if (fd == -1)
        return snprintf(r->detail, DETAIL_SIZE, "mkstemp: %s", strerror(errno)), -1;
    cleanup_add_name(IPC_PATH, path);
    close(fd);
    return 0;
}

static void teardown(struct context *c, const char *path)
{
    unlink(path);
    cleanup_forget_name(path);
    close(c->pipe_fds[0]);
    close(c->pipe_fds[1]);
    pthread_mutex_destroy(&c->sh->mutex);
    sem_destroy(&c->sh->semaphore);
    munmap(c->sh, c->size);
}

static int run(const struct point *p, struct run_result *r)
{
    struct context c = {.kind = (enum kind)p->variant};
    char path[PATH_MAX];
    if (setup(&c, p->workers, path, sizeof path, r) == -1)
        return -1;
    int procs = p->workers, failed = 0;
    pid_t parent = getpid();
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid == -1) {
            snprintf(r->detail, DETAIL_SIZE, "fork: %s", strerror(errno));
            atomic_store(&c.sh->stop, 1);
            atomic_store(&c.sh->go, 1);
            procs = i;
            failed = 1;
            break;
        }
        if (pid == 0)
            worker(&c, i, path, parent);
        cleanup_add_child(pid);
    }
    while (!failed && atomic_load(&c.sh->ready) < procs)
        sched_yield();
    atomic_store(&c.sh->go, 1); /* everyone starts together... */
    sleep_ns(p->quick ? 20000000 : 100000000);
    /* On a machine so loaded that no process got a CPU in the window, wait (up to 10 s) for a
     * first update: a run with none measures the machine, not the lock. */
    for (int waited = 0; !atomic_load(&c.sh->progress) && waited < 10000; waited++)
        sleep_ns(1000000);
    atomic_store(&c.sh->stop, 1); /* ...and stops together */
    int status;
    pid_t pid;
    while ((pid = wait(&status)) > 0) {
        cleanup_forget_child(pid);
        failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    long total = 0, least = -1;
    for (int i = 0; i < procs; i++) {
        total += c.sh->done[i];
        if (least < 0 || c.sh->done[i] < least)
            least = c.sh->done[i];
    }
    long counted = c.kind == ATOMIC_ADD ? atomic_load(&c.sh->atomic_counter) : c.sh->counter;
    teardown(&c, path);
    if (failed && procs < p->workers)
        return -1;
    r->ok = !failed && total > 0 && counted == total;
    r->ops = (double)total;
    r->extra = total > 0 ? (double)least * procs / (double)total : 0;
    if (!r->ok)
        snprintf(r->detail, DETAIL_SIZE, "counter %ld, processes report %ld%s", counted, total,
                 failed ? ", a worker failed" : "");
    return 0;
}

/* Process counts 1 to 2 per CPU, by the sweep rule of the scaling workloads (plan.h): every
 * count to 8, then about four per doubling, so a big machine gets a readable curve. */
static int plan(struct point *points, int max, int quick)
{
    int cpus = usable_cpu_count(), count = 0, nprocs;
    int *procs = plan_count_sweep(2 * cpus, quick, &nprocs);
    for (int k = NO_LOCK; k < KINDS; k++)
        for (int i = 0; i < (k == NO_LOCK ? 1 : nprocs) && count < max; i++) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s", kind_names[k]);
            p->x = procs[i];
            p->variant = k;
            p->cpus = cpus;
            p->workers = procs[i];
        }
    free(procs);
    return count;
}

static const struct reduced_point *find(const struct reduced_point *r, int n, int kind, int procs)
{
    for (int i = 0; i < n; i++)
        if (r[i].point.variant == kind && r[i].point.workers == procs)
            return &r[i];
    return NULL;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    fprintf(out, "  %-26s %14s %16s %14s %14s\n", "lock", "uncontended", "2 processes",
            "fairness at 2", "cpu/wall at 2");
    for (int k = ATOMIC_ADD; k < KINDS; k++) {
        const struct reduced_point *one = find(r, n, k, 1), *two = find(r, n, k, 2);
        if (!one)
            continue;
        fprintf(out, "  %-26s %11.1f ns", kind_names[k], 1e9 / one->figure_median);
        if (two)
            fprintf(out, " %12.3g /s %14.2f %14.2f", two->figure_median, two->extra_median,
                    two->cpu_median_ns / two->wall_median_ns);
        fputc('\n', out);
    }
}

const struct workload workload_lock_contention = {
    .name = "lock_contention",
    .title = "Lock contention: protected updates per second against processes",
    .shape = SHAPE_SERIES,
    .x_label = "processes",
    .figure_label = "updates per second",
    .figure = FIGURE_OPS_PER_S,
    .extra_label = "fairness",
    .observe =
        "With one process the figures are the bare cost of a lock and an unlock; from two on, "
        "the processes fight over one cache line and the rate falls, most for the locks that "
        "sleep in the kernel (file locks, the pipe token). CPU/wall shows who spins while "
        "waiting. The fairness plot shows the price of speed: a test-and-set lock lets its last "
        "holder take it straight back and starves the others, a ticket lock serves in order.",
    .plan = plan,
    .run = run,
    .summarize = summarize,
};
