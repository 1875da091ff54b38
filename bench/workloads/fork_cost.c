#define _GNU_SOURCE
/* fork_cost.c - workload: what it costs to create a process, against the parent's size.
 *
 * fork() copies no memory, but it does copy the parent's page tables and marks every page
 * copy-on-write: its cost grows with the memory the parent has touched.  vfork() and
 * posix_spawn() (glibc builds it on clone(CLONE_VM | CLONE_VFORK)) share the parent's memory
 * until the child execs, so their cost stays flat.  That is why a large program (a JVM, a
 * Python process holding a big array) should spawn helpers rather than fork them.
 *
 * Series: fork + _exit + wait; fork + exec(/bin/true) + wait; vfork + exec + wait;
 * posix_spawn + wait.  x: the bytes the parent has touched (1 MiB .. 1 GiB).  The parent's
 * memory is mapped with transparent huge pages turned off, so it is 4 KiB pages (and page table
 * entries) as in most programs; with huge pages fork would copy 512 times fewer entries.
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "workload.h"

extern char **environ;

enum method { FORK_EXIT, FORK_EXEC, VFORK_EXEC, SPAWN };
static const char *const method_names[] = {"fork + exit + wait", "fork + exec + wait",
                                           "vfork + exec + wait", "posix_spawn + wait"};
static char *const true_argv[] = {"true", NULL};
static const char true_path[] = "/bin/true";

/* The parent's touched memory, kept from one point to the next while its size stays. */
static char *memory;
static size_t memory_size;

static int hold_memory(size_t size)
{
    if (memory_size == size)
        return 0;
    if (memory && munmap(memory, memory_size) == -1)
        return -1;
    memory = NULL;
    memory_size = 0;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    madvise(m, size, MADV_NOHUGEPAGE); /* advice only: a kernel without THP refuses, harmlessly */
    memset(m, 1, size);                /* touch every page, so it really exists */
    memory = m;
    memory_size = size;
    return 0;
}

static void release_memory(void)
{
    if (memory)
        munmap(memory, memory_size);
    memory = NULL;
    memory_size = 0;
}

/* Create one child by the given method and wait for it; 0 if it exited with status 0. */
static int one_child(enum method m)
{
    pid_t pid = -1;
    int err;
    switch (m) {
    case FORK_EXIT:
        pid = fork();
        if (pid == 0)
            _exit(0);
        break;
    case FORK_EXEC:
        pid = fork();
        if (pid == 0) {
            execv(true_path, true_argv);
            _exit(127);
        }
        break;
    case VFORK_EXEC:
        pid = vfork(); /* the child may only exec or _exit: it runs on the parent's memory */
        if (pid == 0) {
            execv(true_path, true_argv);
            _exit(127);
        }
        break;
    case SPAWN:
        err = posix_spawn(&pid, true_path, NULL, NULL, true_argv, environ);
        if (err != 0) {
            errno = err;
            return -1;
        }
        break;
    }
    if (pid == -1)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -2;
}

static int run(const struct point *p, struct run_result *r)
{
    enum method m = (enum method)p->variant;
    size_t size = (size_t)p->x;
    if (hold_memory(size) == -1) {
        snprintf(r->detail, sizeof r->detail, "mmap %zu bytes: %s", size, strerror(errno));
        return -1;
    }
    /* A fifth of a second or so per run: a fork's cost grows about linearly with the parent's
     * size past a few MiB, so the iterations shrink with it, down to a floor. */
    double mib = (double)size / (1 << 20);
    int iterations = 100;
    if (m == FORK_EXIT || m == FORK_EXEC)
        iterations = (int)((m == FORK_EXIT ? 1000 : 250) / pow(mib, 0.75));
    if (iterations < 5)
        iterations = 5;
    if (p->quick)
        iterations = iterations / 4 + 3;
    for (int i = 0; i < iterations; i++) {
        int rc = one_child(m);
        if (rc == -1) {
            snprintf(r->detail, sizeof r->detail, "%s: %s", method_names[m], strerror(errno));
            return -1;
        }
        if (rc == -2) {
            snprintf(r->detail, sizeof r->detail, "%s: a child did not exit with 0",
                     method_names[m]);
            return 0; /* ok stays 0: the driver refuses the run */
        }
    }
    r->ops = iterations;
    r->ok = 1;
    return 0;
}

static int plan(struct point *points, int max, int quick)
{
    static const long full[] = {1L << 20, 4L << 20, 16L << 20, 64L << 20, 256L << 20, 1L << 30};
    static const long short_plan[] = {1L << 20, 32L << 20, 1L << 30};
    const long *sizes = quick ? short_plan : full;
    int nsizes = quick ? 3 : 6, count = 0;
    /* Size-major, so the parent's memory is mapped and touched once per size. */
    for (int s = 0; s < nsizes; s++)
        for (int m = FORK_EXIT; m <= SPAWN && count < max; m++) {
            struct point *p = &points[count++];
            snprintf(p->series, sizeof p->series, "%s", method_names[m]);
            p->x = (double)sizes[s];
            p->variant = m;
        }
    return count;
}

static void summarize(const struct reduced_point *r, int n, FILE *out)
{
    double fork_small = 0, fork_big = 0, spawn_big = 0;
    for (int i = 0; i < n; i++) {
        long size = (long)r[i].point.x;
        enum method m = (enum method)r[i].point.variant;
        if (m == FORK_EXIT && size == 1L << 20)
            fork_small = r[i].figure_median;
        if (m == FORK_EXIT && size == 1L << 30)
            fork_big = r[i].figure_median;
        if (m == SPAWN && size == 1L << 30)
            spawn_big = r[i].figure_median;
    }
    if (fork_small > 0 && fork_big > 0)
        fprintf(out,
                "  fork + exit + wait: %.0f us with 1 MiB touched, %.0f us with 1 GiB "
                "(%.1fx)\n",
                fork_small / 1e3, fork_big / 1e3, fork_big / fork_small);
    if (fork_big > 0 && spawn_big > 0)
        fprintf(out, "  with 1 GiB touched, a bare fork costs %.1fx a posix_spawn of /bin/true\n",
                fork_big / spawn_big);
}

const struct workload workload_fork_cost = {
    .name = "fork_cost",
    .title = "The cost of creating a process, against the parent's touched memory",
    .shape = SHAPE_SERIES,
    .x_label = "parent's touched memory (bytes)",
    .figure_label = "time per child (ns)",
    .observe =
        "fork() grows with the memory the parent has touched: it copies the page tables and marks "
        "every page copy-on-write, so a 1 GiB parent pays hundreds of times what a 1 MiB parent "
        "pays. vfork and posix_spawn stay flat, because the child borrows the parent's memory "
        "until it execs: a large program should spawn its helpers, not fork them.",
    .plan = plan,
    .run = run,
    .summarize = summarize,
    .finish = release_memory,
};
