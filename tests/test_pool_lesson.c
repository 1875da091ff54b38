/* test_pool_lesson.c - the "Predict, then run" answers of lessons/08-process-pool.md.
 * Each test runs the lesson's command and checks the answer the lesson gives. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 120);
}

Test(lesson_pool, predict_1)
{
    struct program_run r;
    run(&r, (char *[]){"pool_primes", "--workers=2", "--ranges=100", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(count_lines_containing(r.out, "chunk 13 (automatic)"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "worker pid "), 2, "%s", r.out);
    long total = 0;
    for (const char *p = strstr(r.out, "worker pid "); p; p = strstr(p + 1, "worker pid "))
        total += atol(strstr(p, " ran ") + 5);
    cr_assert_eq(total, 100, "%s", r.out);
    program_run_free(&r);
}

Test(lesson_pool, predict_2)
{
    struct program_run r;
    run(&r, (char *[]){"pool_primes", "--workers=1", "--ranges=8", "--limit=80000", "--api=imap",
                       "--chunk=1", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(count_lines_containing(r.out, "completion order: 0 1 2 3 4 5 6 7"), 1, "%s",
                 r.out);
    program_run_free(&r);
}

Test(lesson_pool, predict_3)
{
    struct program_run r;
    run(&r, (char *[]){"pool_primes", "--workers=2", "--ranges=10", "--limit=100000",
                       "--crash-range=3", NULL});
    cr_assert(exited_with(&r, 1), "%#x\n%s", r.status, r.out);
    cr_assert_eq(
        count_lines_containing(r.out, "workers started 4, died 2; tasks retried 1, lost 1"), 1,
        "%s", r.out);
    program_run_free(&r);
    run(&r, (char *[]){"pool_primes", "--workers=2", "--ranges=10", "--limit=100000",
                       "--crash-range=3", "--on-crash=fail", NULL});
    cr_assert(exited_with(&r, 1), "%#x\n%s", r.status, r.out);
    cr_assert_eq(
        count_lines_containing(r.out, "workers started 3, died 1; tasks retried 0, lost 1"), 1,
        "%s", r.out);
    program_run_free(&r);
}

static long long hits_of(char *const argv[])
{
    struct program_run r;
    run(&r, argv);
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    const char *line = strstr(r.out, "hits ");
    cr_assert_not_null(line, "%s", r.out);
    long long hits = atoll(line + 5);
    program_run_free(&r);
    return hits;
}

Test(lesson_pool, predict_4)
{
    long long one = hits_of((char *[]){"pool_monte_carlo", "--workers=1", "--samples=20000", NULL});
    long long four =
        hits_of((char *[]){"pool_monte_carlo", "--workers=4", "--samples=20000", NULL});
    cr_assert_eq(one, four);
    long long a = hits_of((char *[]){"pool_monte_carlo", "--per-worker-streams", "--workers=1",
                                     "--samples=20000", NULL});
    long long b = hits_of((char *[]){"pool_monte_carlo", "--per-worker-streams", "--workers=1",
                                     "--samples=20000", NULL});
    cr_assert_neq(a, b, "per-worker streams seeded from two different pids gave the same hits");
}

Test(lesson_pool, predict_5)
{
    struct program_run r;
    run(&r, (char *[]){"pool_uneven", "--workers=2", "--schedule=static", "--work-ms=100", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(count_lines_containing(r.out, "static (chunk 32)"), 1, "%s", r.out);
    double busy[2] = {0, 0};
    int lines = 0;
    for (const char *p = strstr(r.out, "  worker pid "); p && lines < 2;
         p = strstr(p + 1, "  worker pid ")) {
        const char *b = strstr(p, "busy ");
        cr_assert_not_null(b);
        busy[lines++] = atof(b + 5);
    }
    /* Normally one block each.  (If one worker was so slow to wake that the other took both
     * blocks, there is one line, and nothing to compare.) */
    if (lines == 2) {
        double ratio = busy[0] > busy[1] ? busy[0] / busy[1] : busy[1] / busy[0];
        cr_assert(ratio > 2.2 && ratio < 4.0, "busy %.3f and %.3f: ratio %.2f\n%s", busy[0],
                  busy[1], ratio, r.out);
    }
    program_run_free(&r);
}

Test(lesson_pool, predict_6)
{
    char dir[4096], a[4200], b[4200];
    make_temp_dir(dir, sizeof dir, "lesson-pool");
    snprintf(a, sizeof a, "--output=%s/a.pgm", dir);
    snprintf(b, sizeof b, "--output=%s/b.pgm", dir);
    struct program_run r;
    run(&r, (char *[]){"pool_mandelbrot", "--workers=3", "--chunk=1", a, NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    program_run_free(&r);
    run(&r, (char *[]){"pool_mandelbrot", "--sequential", b, NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    program_run_free(&r);
    size_t na, nb;
    char *da = read_file(a + 9, &na), *db = read_file(b + 9, &nb);
    cr_assert(da && db, "cannot read %s or %s", a + 9, b + 9);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(da, db, na), 0, "the images differ");
    free(da);
    free(db);
    remove_dir(dir);
}

/* The children of `parent`, from /proc. */
static int children_of(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *close_paren = strrchr(buf, ')');
        int ppid;
        if (close_paren && sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == parent)
            out[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

Test(lesson_pool, predict_7)
{
    /* Orphans, if any, would come to us (and fail the test) rather than to init. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int out[2];
    cr_assert_eq(pipe(out), 0);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(FORKLORE_BIN "/pool_primes", "pool_primes", "--workers=2", "--limit=2000000000",
              "--ranges=1000", "--no-check", (char *)0);
        _exit(127);
    }
    close(out[1]);
    char line[256];
    cr_assert_gt(read(out[0], line, sizeof line), 0, "no first line from pool_primes");
    pid_t workers[8];
    int n = 0;
    for (int tries = 0; tries < 500 && n < 2; tries++) { /* the workers are being forked */
        n = children_of(child, workers, 8);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(n, 2, "found %d workers", n);
    cr_assert_eq(kill(child, SIGINT), 0);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    close(out[0]);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %#x", status);
    for (int i = 0; i < n; i++)
        cr_assert(kill(workers[i], 0) == -1 && errno == ESRCH, "worker %d is still there",
                  (int)workers[i]);
    char mine[32];
    snprintf(mine, sizeof mine, "-%ld-", (long)child);
    cr_assert_eq(count_dir_entries_containing("/dev/shm", mine), 0);
}
