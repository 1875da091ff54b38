/* test_pool_programs.c - the process-pool demonstration programs (patterns/pool/pool_*.c):
 * their answers against sequential ones, their command lines, and nothing left behind. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "support/cpus.h"

static const char *const programs[] = {"pool_primes", "pool_mandelbrot", "pool_monte_carlo",
                                       "pool_uneven"};

static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 120);
}

static void assert_clean(void)
{
    cr_assert_eq(count_my_zombies(), 0);
    char mine[32];
    snprintf(mine, sizeof mine, "-%ld-", (long)getpid());
    cr_assert_eq(count_dir_entries_containing("/dev/shm", mine), 0);
}

/* --- command lines ------------------------------------------------------------------------- */

Test(pool_programs, help_bad_arguments_and_unknown_options)
{
    skip_argument_checks_under_valgrind();
    for (size_t i = 0; i < sizeof programs / sizeof *programs; i++) {
        struct program_run r;
        run(&r, (char *[]){(char *)programs[i], "--help", NULL});
        cr_assert(exited_with(&r, 0), "%s --help", programs[i]);
        cr_assert_not_null(strstr(r.out, "Usage:"), "%s --help: %s", programs[i], r.out);
        program_run_free(&r);
        const char *bad[] = {"--workers=0", "--workers=many", "--no-such-option", "stray",
                             "--workers"};
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            run(&r, (char *[]){(char *)programs[i], (char *)bad[b], NULL});
            cr_assert(exited_with(&r, 2), "%s %s: status %#x", programs[i], bad[b], r.status);
            cr_assert_not_null(strstr(r.err, "Usage:"), "%s %s: %s", programs[i], bad[b], r.err);
            cr_assert_eq(r.out_len, 0, "%s %s printed to stdout", programs[i], bad[b]);
            program_run_free(&r);
        }
    }
}

/* --- pool_primes --------------------------------------------------------------------------- */

static void primes_run(const char *api, int workers, const char *chunk)
{
    char w[32], a[32];
    snprintf(w, sizeof w, "--workers=%d", workers);
    snprintf(a, sizeof a, "--api=%s", api);
    struct program_run r;
    run(&r, (char *[]){"pool_primes", w, a, (char *)chunk, "--limit=200000", "--ranges=37", NULL});
    cr_assert(exited_with(&r, 0), "%s %s %s: %#x\n%s%s", w, a, chunk, r.status, r.out, r.err);
    char verdict[96];
    long expected = sieve_prime_count(0, 200000);
    snprintf(verdict, sizeof verdict, "primes below 200000: %ld (sequential: %ld) -- match",
             expected, expected);
    cr_assert_eq(count_lines_containing(r.out, verdict), 1, "%s", r.out);
    program_run_free(&r);
}

Test(pool_programs, primes_match_for_every_api_and_worker_count, .timeout = 120)
{
    const char *apis[] = {"map", "imap", "submit"};
    const int workers[] = {1, 2, 2 * usable_cpu_count() + 1};
    for (int a = 0; a < 3; a++)
        for (int w = 0; w < 3; w++) {
            primes_run(apis[a], workers[w], "--chunk=0");
            primes_run(apis[a], workers[w], "--chunk=1");
        }
    assert_clean();
}

Test(pool_programs, primes_default_run_matches)
{
    struct program_run r;
    run(&r, (char *[]){"pool_primes", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(count_lines_containing(r.out, "primes below 1000000: 78498 (sequential: 78498) "
                                               "-- match"),
                 1, "%s", r.out);
    program_run_free(&r);
}

/* A task that kills its worker: every other range is counted, the lost one is named. */
static void primes_crash(const char *policy, const char *attempts)
{
    struct program_run r;
    run(&r, (char *[]){"pool_primes", "--limit=100000", "--ranges=10", "--crash-range=3",
                       (char *)policy, "--workers=2", NULL});
    cr_assert(exited_with(&r, 1), "%s: status %#x\n%s", policy, r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "range 3 [30000, 40000): FAILED: worker"), 1, "%s",
                 r.out);
    cr_assert_eq(count_lines_containing(r.out, "killed by signal 9"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, attempts), 1, "%s", r.out);
    char line[96];
    snprintf(line, sizeof line, "primes below 100000: %ld counted, 1 range(s) missing",
             sieve_prime_count(0, 100000) - sieve_prime_count(30000, 40000));
    cr_assert_eq(count_lines_containing(r.out, line), 1, "%s", r.out);
    program_run_free(&r);
    assert_clean();
}

Test(pool_programs, primes_crashing_task_retried_then_reported)
{
    primes_crash("--on-crash=retry", "after 2 attempt(s)");
}
Test(pool_programs, primes_crashing_task_reported_at_once)
{
    primes_crash("--on-crash=fail", "after 1 attempt(s)");
}

/* --- pool_mandelbrot ----------------------------------------------------------------------- */

Test(pool_programs, mandelbrot_equals_the_sequential_render, .timeout = 120)
{
    char dir[4096], seq[4200], par[4200];
    make_temp_dir(dir, sizeof dir, "mandelbrot");
    snprintf(seq, sizeof seq, "--output=%s/seq.pgm", dir);
    snprintf(par, sizeof par, "--output=%s/pool.pgm", dir);
    struct program_run r;
    run(&r,
        (char *[]){"pool_mandelbrot", "--sequential", "--width=200", "--height=150", seq, NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    program_run_free(&r);
    size_t seq_size, par_size;
    char *expected = read_file(seq + 9, &seq_size);
    cr_assert_not_null(expected, "cannot open %s", seq + 9);
    cr_assert_eq(strncmp(expected, "P5\n200 150\n255\n", 15), 0, "not a PGM header");
    cr_assert_eq(seq_size, 15 + 200 * 150);
    const char *workers[] = {"--workers=1", "--workers=2", "--workers=5"};
    const char *chunks[] = {"--chunk=0", "--chunk=1", "--chunk=7"};
    for (int w = 0; w < 3; w++)
        for (int c = 0; c < 3; c++) {
            run(&r, (char *[]){"pool_mandelbrot", (char *)workers[w], (char *)chunks[c],
                               "--width=200", "--height=150", par, NULL});
            cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
            program_run_free(&r);
            char *got = read_file(par + 9, &par_size);
            cr_assert_not_null(got, "cannot open %s", par + 9);
            cr_assert_eq(par_size, seq_size);
            cr_assert_eq(memcmp(got, expected, seq_size), 0, "%s %s: image differs", workers[w],
                         chunks[c]);
            free(got);
        }
    free(expected);
    remove_dir(dir);
    assert_clean();
}

/* The default image lands in the current folder (never at a fixed name in /tmp, where anyone
 * may plant a link): run it from a folder of the test's own, and find the image there. */
Test(pool_programs, mandelbrot_default_run_writes_its_image)
{
    char dir[4096], image[4200];
    make_temp_dir(dir, sizeof dir, "mandelbrot-default");
    cr_assert_eq(chdir(dir), 0, "chdir %s", dir);
    struct program_run r;
    run(&r, (char *[]){"pool_mandelbrot", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(count_lines_containing(r.out, "wrote mandelbrot.pgm (PGM, 320 x 240)"), 1, "%s",
                 r.out);
    snprintf(image, sizeof image, "%s/mandelbrot.pgm", dir);
    size_t size = 0;
    char *bytes = read_file(image, &size);
    cr_assert_not_null(bytes, "no image at %s", image);
    cr_assert_eq(size, strlen("P5\n320 240\n255\n") + 320 * 240);
    cr_assert_eq(strncmp(bytes, "P5\n320 240\n255\n", 15), 0);
    free(bytes);
    program_run_free(&r);
    remove_dir(dir);
}

/* --- pool_monte_carlo ----------------------------------------------------------------------- */

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

Test(pool_programs, monte_carlo_is_reproducible_whatever_the_worker_count)
{
    long long one = hits_of((char *[]){"pool_monte_carlo", "--workers=1", "--samples=20000", NULL});
    cr_assert_gt(one, 0);
    cr_assert_eq(hits_of((char *[]){"pool_monte_carlo", "--workers=2", "--samples=20000", NULL}),
                 one);
    cr_assert_eq(hits_of((char *[]){"pool_monte_carlo", "--workers=5", "--chunk=1",
                                    "--samples=20000", NULL}),
                 one);
    cr_assert_eq(hits_of((char *[]){"pool_monte_carlo", "--workers=3", "--chunk=3",
                                    "--samples=20000", NULL}),
                 one);
    long long other = hits_of((char *[]){"pool_monte_carlo", "--seed=2", "--samples=20000", NULL});
    cr_assert_neq(other, one, "another seed, the same hits?");
    /* 64 tasks x 20000 points: pi within 0.02 (about 10 standard errors) */
    double pi = 4.0 * (double)one / (64.0 * 20000);
    cr_assert(pi > 3.12 && pi < 3.16, "pi ~ %f", pi);
    assert_clean();
}

/* --- pool_uneven ---------------------------------------------------------------------------- */

/* Sum the "N tasks" of the worker lines after `header`, up to the next blank-less header. */
static long tasks_after(const char *out, const char *header)
{
    const char *p = strstr(out, header);
    cr_assert_not_null(p, "no \"%s\" in:\n%s", header, out);
    long total = 0;
    for (p = strchr(p, '\n'); p && strncmp(p + 1, "  worker pid ", 13) == 0;
         p = strchr(p + 1, '\n')) {
        const char *colon = strchr(p + 1, ':');
        total += atol(colon + 1);
    }
    return total;
}

Test(pool_programs, uneven_runs_every_task_under_both_schedules)
{
    struct program_run r;
    run(&r, (char *[]){"pool_uneven", "--workers=2", "--work-ms=60", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(tasks_after(r.out, "static (chunk 32)"), 64, "%s", r.out);
    cr_assert_eq(tasks_after(r.out, "dynamic (chunk 1)"), 64, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "dynamic is "), 1, "%s", r.out);
    program_run_free(&r);
    run(&r, (char *[]){"pool_uneven", "--workers=3", "--tasks=10", "--work-ms=30",
                       "--schedule=static", NULL});
    cr_assert(exited_with(&r, 0), "%s%s", r.out, r.err);
    cr_assert_eq(tasks_after(r.out, "static (chunk 4)"), 10, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "dynamic"), 0, "%s", r.out);
    program_run_free(&r);
    assert_clean();
}
