/* test_mpi.c - the MPI programs (patterns/mpi/), run through their launcher as any user runs
 * them: build/mpi/mpirun -n P build/mpi/bin/PROGRAM.  And the questions of lessons/10-mpi.md.
 *
 * MPI is optional: this file needs no MPI header and no MPI library.  When `make mpi` (or a
 * `make` with MPI installed) has not built the programs, every test here skips itself with a
 * note saying how to build them.  The launcher is started through /bin/sh, which the valgrind
 * gate does not trace (--trace-children-skip): mpiexec and the ranks always run natively.
 *
 * What is asserted: answers equal the sequential ones for several process counts (more ranks
 * than CPUs included); a worker that dies or hangs ends the job with a non-zero status and a
 * message, within a time limit; bad command lines exit 2 with one usage; and nothing is left
 * behind: no process, no file in /dev/shm.  Never a time.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "support/cpus.h"

#define MPI_DIR FORKLORE_BIN "/../mpi"
enum { LIMIT_S = 120 }; /* a run far beyond this is a hang, whatever the machine */

/* Skip (not fail) when the MPI part is not built: MPI is optional. */
static void need_mpi(void)
{
    /* The valgrind gate leaves the launcher and the ranks untraced (they start below /bin/sh;
     * see tests/valgrind_gate.sh): these tests would check no memory there, only take time. */
    if (under_valgrind())
        cr_skip_test("the MPI ranks run untraced under the valgrind gate: nothing to check");
    if (access(MPI_DIR "/mpirun", X_OK) != 0 || access(MPI_DIR "/bin/mpi_primes", X_OK) != 0)
        cr_skip_test("MPI programs not built (no MPI here): `make mpi` installs MPICH, builds "
                     "patterns/mpi and runs these tests");
}

/* Files in dir (none: 0). */
static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    while (d && (e = readdir(d)) != NULL)
        count += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return count;
}

/* After a run: the launcher's orphans (a rank whose launcher exited first) come back to this
 * process, a subreaper (harness.c); reap the ones that ended, then insist that none lives.
 * And the run's shared-memory files must be gone: Open MPI's shared-memory transport makes
 * one file per rank (vader_segment.HOST.JOB.RANK), normally in /dev/shm, here in a folder of
 * the run's own (mpi_run) so that the MPI jobs of other tests, running alongside, cannot be
 * mistaken for this one's; its launcher removes them a moment after the last rank ends, so
 * they get a grace period.  MPICH (ch4 over UCX) makes no file at all: it uses SysV segments,
 * marked for removal as soon as every rank has attached them, so the kernel removes them with
 * their last user, even one killed by SIGKILL. */
static void assert_nothing_left(const char *shm_dir)
{
    for (int tries = 0; tries < 500 && count_my_children() > 0; tries++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            continue;
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    cr_assert_eq(count_my_children(), 0, "a rank or the launcher outlived the run");
    for (int tries = 0; tries < 100 && entries_in(shm_dir) > 0; tries++) {
        struct timespec pause = {0, 20000000};
        nanosleep(&pause, NULL);
    }
    cr_assert_eq(entries_in(shm_dir), 0, "the run left %d shared-memory file(s) in %s",
                 entries_in(shm_dir), shm_dir);
}

/* build/mpi/mpirun -n P build/mpi/bin/PROGRAM ARGS..., checked for leftovers afterwards. */
static void mpi_run(struct program_run *r, int ranks, const char *program, const char *const *args)
{
    char n[16], path[4096];
    snprintf(n, sizeof n, "%d", ranks);
    snprintf(path, sizeof path, MPI_DIR "/bin/%s", program);
    char *argv[32] = {"/bin/sh", MPI_DIR "/mpirun", "-n", n, path};
    int argc = 5;
    for (int i = 0; args && args[i] && argc < 31; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    char shm_dir[128];
    make_temp_dir(shm_dir, sizeof shm_dir, "mpi-shm");
    cr_assert_eq(setenv("OMPI_MCA_btl_vader_backing_directory", shm_dir, 1), 0);
    run_finished(r, argv, LIMIT_S);
    assert_nothing_left(shm_dir);
    remove_dir(shm_dir);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Process counts to try: 1 to 4, and more ranks than this machine's CPUs. */
static int rank_counts(int *counts)
{
    int n = 0, beyond = 2 * usable_cpu_count() + 1;
    for (int p = 1; p <= 4; p++)
        counts[n++] = p;
    if (beyond > 4)
        counts[n++] = beyond > 9 ? 9 : beyond;
    else
        counts[n++] = 5;
    return n;
}

/* The sum of the numbers after `key` on every line holding it ("rank 1 ... counted 12"). */
static long sum_after(const char *text, const char *key)
{
    long total = 0;
    for (const char *p = strstr(text, key); p; p = strstr(p + 1, key))
        total += atol(p + strlen(key));
    return total;
}

/* --- answers equal the sequential ones ---------------------------------------------------- */

Test(mpi, primes_equal_the_sieve_for_every_rank_count, .timeout = 600)
{
    need_mpi();
    int counts[8], n = rank_counts(counts);
    char expected[96];
    snprintf(expected, sizeof expected, "primes below 200000: %ld (sequential: %ld) -- match",
             sieve_prime_count(0, 200000), sieve_prime_count(0, 200000));
    for (int i = 0; i < n; i++)
        for (int idle = 0; idle <= (counts[i] > 1); idle++) {
            struct program_run r;
            mpi_run(&r, counts[i], "mpi_primes",
                    idle ? ARGS("--limit=200000", "--ranges=37", "--idle-master")
                         : ARGS("--limit=200000", "--ranges=37"));
            cr_assert(exited_with(&r, 0), "-n %d: status %#x\n%s%s", counts[i], r.status, r.out,
                      r.err);
            expect_text(r.out, expected);
            cr_assert_eq(count_lines_containing(r.out, " counted "), counts[i], "%s", r.out);
            cr_assert_eq(sum_after(r.out, ") counted "), 37, "every range counted once:\n%s",
                         r.out);
            program_run_free(&r);
        }
}

Test(mpi, mandelbrot_is_the_pools_picture_byte_for_byte, .timeout = 600)
{
    need_mpi();
    char dir[128], reference[256], mine[256], out[300];
    make_temp_dir(dir, sizeof dir, "mpi");
    snprintf(reference, sizeof reference, "%s/pool.pgm", dir);
    snprintf(mine, sizeof mine, "%s/mpi.pgm", dir);
    snprintf(out, sizeof out, "--output=%s", reference);
    struct program_run r;
    run_expect(&r,
               (char *[]){"pool_mandelbrot", "--sequential", "--width=97", "--height=61",
                          "--iterations=300", out, NULL},
               LIMIT_S, 0);
    program_run_free(&r);
    size_t reference_size, mine_size;
    char *expected = read_file(reference, &reference_size);
    cr_assert_not_null(expected);
    snprintf(out, sizeof out, "--output=%s", mine);
    int counts[8], n = rank_counts(counts);
    for (int i = 0; i < n; i++) {
        unlink(mine);
        mpi_run(&r, counts[i], "mpi_mandelbrot",
                ARGS("--width=97", "--height=61", "--iterations=300", out));
        cr_assert(exited_with(&r, 0), "-n %d: %#x\n%s%s", counts[i], r.status, r.out, r.err);
        char *got = read_file(mine, &mine_size);
        cr_assert_not_null(got, "-n %d wrote no image", counts[i]);
        cr_assert(mine_size == reference_size && memcmp(got, expected, mine_size) == 0,
                  "-n %d: the image differs from pool_mandelbrot --sequential's", counts[i]);
        cr_assert_eq(sum_after(r.out, ") rendered "), 61, "%s", r.out);
        free(got);
        program_run_free(&r);
    }
    free(expected);
    remove_dir(dir);
}

Test(mpi, collectives_total_equals_the_sieve, .timeout = 300)
{
    need_mpi();
    char expected[96];
    long primes = sieve_prime_count(0, 300000);
    snprintf(expected, sizeof expected,
             "reduce: primes below 300000: %ld (sequential: %ld) -- match", primes, primes);
    int counts[8], n = rank_counts(counts);
    for (int i = 0; i < n; i++) {
        struct program_run r;
        mpi_run(&r, counts[i], "mpi_collectives", ARGS("--limit=300000"));
        cr_assert(exited_with(&r, 0), "-n %d: %#x\n%s%s", counts[i], r.status, r.out, r.err);
        expect_text(r.out, expected);
        char *gather = line_containing(r.out, "gather: counts per rank:");
        cr_assert_not_null(gather, "%s", r.out);
        long sum = 0;
        for (char *p = strstr(gather, "rank:") + 5, *end; *p; p = end) {
            sum += strtol(p, &end, 10);
            if (end == p)
                break;
        }
        cr_assert_eq(sum, primes, "%s", gather);
        free(gather);
        program_run_free(&r);
    }
}

Test(mpi, ping_pong_checks_every_echo, .timeout = 300)
{
    need_mpi();
    const char *sizes[] = {"--size=8", "--size=64", "--size=100K"};
    for (size_t i = 0; i < 3; i++) {
        struct program_run r;
        mpi_run(&r, i == 2 ? 3 : 2, "mpi_ping_pong", ARGS(sizes[i], "--count=300"));
        cr_assert(exited_with(&r, 0), "%s: %#x\n%s%s", sizes[i], r.status, r.out, r.err);
        expect_text(r.out, "echoes: 0 of 330 carried the wrong number -- ok");
        expect_text(r.out, "round trip: ");
        program_run_free(&r);
    }
}

/* --- a worker that fails is reported, not hung on ---------------------------------------- */

Test(mpi, a_worker_that_dies_ends_the_job_with_a_report, .timeout = 300)
{
    need_mpi();
    const char *programs[] = {"mpi_primes", "mpi_mandelbrot"};
    const char *sizes[] = {"--limit=200000", "--height=100"};
    for (size_t i = 0; i < 2; i++) {
        struct program_run r;
        mpi_run(&r, 3, programs[i], ARGS("--fail-rank=1", sizes[i]));
        cr_assert(!r.timed_out, "%s: the job hung when a worker died", programs[i]);
        cr_assert(!(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0),
                  "%s: the launcher said success although rank 1 died\n%s", programs[i], r.err);
        expect_text(r.err, "rank 1 (pid ");
        expect_text(r.err, "--fail-rank: killing itself (SIGKILL)");
        cr_assert_eq(count_lines_containing(r.out, "-- match"), 0, "%s", r.out);
        program_run_free(&r);
    }
}

Test(mpi, a_worker_that_hangs_is_caught_by_the_watchdog, .timeout = 300)
{
    need_mpi();
    struct program_run r;
    mpi_run(&r, 3, "mpi_primes",
            ARGS("--fail-rank=2", "--fail-how=hang", "--timeout=2", "--limit=200000"));
    cr_assert(!r.timed_out, "the watchdog did not end the job");
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3,
              "MPI_Abort(.., 3) should be the job's status: %#x\n%s", r.status, r.err);
    expect_text(r.err, "--fail-rank: stops answering (hangs)");
    expect_text(r.err, "rank 0: watchdog: no message from any worker for 2 s");
    expect_text(r.err, "waiting for rank(s) 2 (");
    program_run_free(&r);
}

/* --- command lines: rank 0 speaks, every rank leaves with the same status ------------------ */

Test(mpi, help_and_bad_arguments_on_every_program, .timeout = 600)
{
    need_mpi();
    const char *programs[] = {"mpi_primes", "mpi_mandelbrot", "mpi_collectives", "mpi_ping_pong"};
    for (size_t i = 0; i < 4; i++) {
        struct program_run r;
        mpi_run(&r, 3, programs[i], ARGS("--help"));
        cr_assert(exited_with(&r, 0), "%s --help: %#x\n%s", programs[i], r.status, r.err);
        cr_assert_eq(count_lines_containing(r.out, "Usage:"), 1, "one usage, from rank 0:\n%s",
                     r.out);
        program_run_free(&r);
        const char *bad[] = {"--no-such-option", "stray", i == 3 ? "--count=0" : "--limit=-1",
                             i == 3 ? "--size" : "--timeout=soon"};
        for (size_t b = 0; b < 4; b++) {
            if (i == 2 && b == 3)
                continue; /* mpi_collectives has no --timeout */
            mpi_run(&r, 3, programs[i], ARGS(bad[b]));
            cr_assert(exited_with(&r, 2), "%s %s: status %#x\n%s", programs[i], bad[b], r.status,
                      r.err);
            cr_assert_eq(count_lines_containing(r.err, "Usage:"), 1, "%s %s:\n%s", programs[i],
                         bad[b], r.err);
            cr_assert_eq(r.out_len, 0, "%s %s printed: %s", programs[i], bad[b], r.out);
            program_run_free(&r);
        }
    }
    struct program_run r;
    mpi_run(&r, 3, "mpi_primes", ARGS("--fail-rank=3"));
    cr_assert(exited_with(&r, 2), "%#x", r.status);
    expect_text(r.err, "--fail-rank=3: the workers are ranks 1 to 2");
    program_run_free(&r);
    mpi_run(&r, 1, "mpi_ping_pong", ARGS("--count=10"));
    cr_assert(exited_with(&r, 2), "%#x", r.status);
    expect_text(r.err, "a ping-pong needs 2 ranks");
    program_run_free(&r);
}

/* --- lessons/10-mpi.md: predict, then run --------------------------------------------------- */

Test(lesson_mpi, predict_1, .timeout = 300)
{
    need_mpi();
    struct program_run r;
    mpi_run(&r, 4, "mpi_primes", ARGS("--limit=200000"));
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(count_lines_containing(r.out, ") counted "), 4, "%s", r.out);
    cr_assert_eq(sum_after(r.out, ") counted "), 100, "%s", r.out);
    expect_text(r.out, "primes below 200000: 17984 (sequential: 17984) -- match");
    program_run_free(&r);
    run_expect(&r, (char *[]){"pool_primes", "--workers=3", "--limit=200000", NULL}, LIMIT_S, 0);
    expect_text(r.out, "primes below 200000: 17984 (sequential: 17984) -- match");
    program_run_free(&r);
}

Test(lesson_mpi, predict_2, .timeout = 300)
{
    need_mpi();
    struct program_run r;
    mpi_run(&r, 2, "mpi_primes", ARGS("--limit=200000", "--idle-master"));
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    char *zero = line_containing(r.out, "rank 0 on ");
    char *one = line_containing(r.out, "rank 1 on ");
    cr_assert(zero && strstr(zero, ") counted 0 ranges"), "%s", r.out);
    cr_assert(one && strstr(one, ") counted 100 ranges"), "%s", r.out);
    free(zero);
    free(one);
    program_run_free(&r);
}

Test(lesson_mpi, predict_3, .timeout = 300)
{
    need_mpi();
    char dir[128], a[256], b[256];
    make_temp_dir(dir, sizeof dir, "mpi-lesson");
    snprintf(a, sizeof a, "--output=%s/m.pgm", dir);
    snprintf(b, sizeof b, "--output=%s/p.pgm", dir);
    struct program_run r;
    mpi_run(&r, 3, "mpi_mandelbrot", ARGS(a));
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    program_run_free(&r);
    run_expect(&r, (char *[]){"pool_mandelbrot", "--sequential", b, NULL}, LIMIT_S, 0);
    program_run_free(&r);
    size_t na, nb;
    char *pa = read_file(a + strlen("--output="), &na),
         *pb = read_file(b + strlen("--output="), &nb);
    cr_assert(pa && pb && na == nb && memcmp(pa, pb, na) == 0, "the two images differ");
    free(pa);
    free(pb);
    remove_dir(dir);
}

Test(lesson_mpi, predict_4, .timeout = 300)
{
    need_mpi();
    struct program_run r;
    mpi_run(&r, 3, "mpi_primes", ARGS("--fail-rank=1"));
    cr_assert(!r.timed_out && !(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0), "%#x",
              r.status);
    cr_assert_eq(count_lines_containing(r.out, "-- match"), 0, "%s", r.out);
    program_run_free(&r);
    mpi_run(&r, 3, "mpi_primes", ARGS("--fail-rank=1", "--fail-how=hang", "--timeout=3"));
    cr_assert(exited_with(&r, 3), "%#x\n%s", r.status, r.err);
    expect_text(r.err, "watchdog: no message from any worker for 3 s");
    program_run_free(&r);
}

Test(lesson_mpi, predict_5, .timeout = 300)
{
    need_mpi();
    struct program_run r;
    mpi_run(&r, 3, "mpi_primes", ARGS("--ranges=0"));
    cr_assert(exited_with(&r, 2), "%#x", r.status);
    cr_assert_eq(count_lines_containing(r.err, "Usage:"), 1, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.err, "--ranges: expected a whole number"), 1, "%s",
                 r.err);
    program_run_free(&r);
}

Test(lesson_mpi, predict_6, .timeout = 300)
{
    need_mpi();
    struct program_run r;
    mpi_run(&r, 4, "mpi_collectives", ARGS("--limit=1000000"));
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    expect_text(r.out, "gather: counts per rank: 22044 19494 18700 18260");
    /* One CPU time per rank, each a positive number (their order is timing: not asserted). */
    const char *cpu = strstr(r.out, "gather: CPU ms per rank for its count:");
    cr_assert_not_null(cpu, "%s", r.out);
    cpu += strlen("gather: CPU ms per rank for its count:");
    double ms[4];
    int n = sscanf(cpu, "%lf %lf %lf %lf", &ms[0], &ms[1], &ms[2], &ms[3]);
    cr_assert_eq(n, 4, "four CPU times: %s", r.out);
    for (int i = 0; i < 4; i++)
        cr_assert_gt(ms[i], 0.0, "rank %d: %s", i, r.out);
    expect_text(r.out, "reduce: primes below 1000000: 78498 (sequential: 78498) -- match");
    program_run_free(&r);
}
