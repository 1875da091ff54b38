/* test_fork_join.c - fork_join's parallel count equals an independent count, for any P. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "harness.h"
#include "support/cpus.h"

/* Run fork_join with the given words after the program name; check it ran to the end. */
static void run(struct program_run *r, char *const argv[])
{
    run_finished(r, argv, 60);
}

/* Check one successful run: the verdict line, its numbers, and one line per worker. */
static void check_run(const struct program_run *r, long long limit, long workers)
{
    cr_assert(exited_with(r, 0), "N=%lld P=%ld: status %#x\n%s%s", limit, workers, r->status,
              r->out, r->err);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "primes below %lld: ", limit);
    const char *verdict = strstr(r->out, prefix);
    cr_assert_not_null(verdict, "no verdict line:\n%s", r->out);
    long long parallel = -1, sequential = -2;
    cr_assert_eq(sscanf(verdict + strlen(prefix), "%lld (sequential: %lld", &parallel, &sequential),
                 2, "%s", verdict);
    long long expected = sieve_prime_count(0, limit);
    cr_assert_eq(parallel, expected, "N=%lld P=%ld: parallel %lld, sieve %lld", limit, workers,
                 parallel, expected);
    cr_assert_eq(sequential, expected, "N=%lld: sequential %lld, sieve %lld", limit, sequential,
                 expected);
    cr_assert_eq(count_lines_containing(r->out, "-- match"), 1, "%s", r->out);
    cr_assert_eq(count_lines_containing(r->out, "exited with 0"), workers, "%s", r->out);
}

static void check_limits_with_workers(long workers, const char *split)
{
    const long long limits[] = {0, 1, 2, 3, 4, 5, 100, 1000, 30011};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        char w[32], n[32];
        snprintf(w, sizeof w, "--workers=%ld", workers);
        snprintf(n, sizeof n, "--limit=%lld", limits[i]);
        struct program_run r;
        run(&r, (char *[]){"fork_join", w, n, (char *)split, NULL});
        check_run(&r, limits[i], workers);
        program_run_free(&r);
    }
}

Test(fork_join, one_worker_matches_the_sieve)
{
    check_limits_with_workers(1, "--split=balanced");
}

Test(fork_join, two_workers_match_the_sieve)
{
    check_limits_with_workers(2, "--split=balanced");
}

/* More workers than CPUs: slower, never wrong; and more workers than numbers: empty ranges. */
Test(fork_join, more_workers_than_cpus_match_the_sieve)
{
    check_limits_with_workers(2 * usable_cpu_count() + 1, "--split=balanced");
}

Test(fork_join, equal_split_matches_the_sieve)
{
    check_limits_with_workers(usable_cpu_count() + 1, "--split=equal");
}

/* The default run: usable_cpu_count() workers, and the sum checked. */
Test(fork_join, default_run_matches)
{
    struct program_run r;
    run(&r, (char *[]){"fork_join", NULL});
    check_run(&r, 2000000, usable_cpu_count());
    program_run_free(&r);
}

/* Without the sequential count, a power of ten is still checked against the tables. */
Test(fork_join, no_check_still_uses_the_known_value)
{
    struct program_run r;
    run(&r, (char *[]){"fork_join", "--no-check", "--limit=100000", "--workers=3", NULL});
    cr_assert(exited_with(&r, 0), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "primes below 100000: 9592 (known value: 9592) -- "
                                               "match"),
                 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "sequential"), 0, "%s", r.out);
    program_run_free(&r);
}

/* A worker that dies before reporting: the parent decodes its status and exits 1. */
Test(fork_join, a_killed_worker_is_noticed_and_fails_the_run)
{
    struct program_run r;
    run(&r, (char *[]){"fork_join", "--workers=3", "--limit=20000", "--kill-worker=1", NULL});
    cr_assert(exited_with(&r, 1), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.out, "worker 1 pid"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "NO RESULT, killed by signal 9"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "exited with 0"), 2, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "1 of 3 workers failed"), 1, "%s", r.out);
    cr_assert_eq(count_lines_containing(r.out, "-- match"), 0, "%s", r.out);
    program_run_free(&r);
}

/* The watchdog ends a job that would take hours, says so, and kills every worker. */
Test(fork_join, watchdog_stops_a_job_that_takes_too_long)
{
    struct program_run r;
    run(&r, (char *[]){"fork_join", "--workers=2", "--limit=100000000000", "--timeout=1",
                       "--no-check", NULL});
    cr_assert(exited_with(&r, 1), "status %#x\n%s", r.status, r.out);
    cr_assert_eq(count_lines_containing(r.err, "watchdog"), 1, "%s", r.err);
    cr_assert_eq(count_lines_containing(r.out, "killed by signal 9"), 2, "%s", r.out);
    program_run_free(&r);
}

Test(fork_join, leaves_no_zombie_or_orphan)
{
    /* As a subreaper this test inherits whatever fork_join leaves behind: an unreaped child
     * would show up here as a zombie, a child still running as an orphan. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *const cases[][5] = {
        {"fork_join", "--workers=4", "--limit=5000", NULL},
        {"fork_join", "--workers=3", "--limit=5000", "--kill-worker=2", NULL},
        {"fork_join", "--workers=2", "--limit=100000000000", "--timeout=1", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct program_run r;
        run(&r, cases[i]);
        program_run_free(&r);
        cr_assert_eq(count_my_zombies(), 0, "case %zu left a zombie", i);
        cr_assert_eq(count_my_children(), 0, "case %zu left a process running", i);
    }
}

Test(fork_join, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("fork_join", "--help");
}

Test(fork_join, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    char *cases[][4] = {
        {"fork_join", "--workers=0", NULL},
        {"fork_join", "--workers=two", NULL},
        {"fork_join", "--workers=1001", NULL},
        {"fork_join", "--limit=12x", NULL},
        {"fork_join", "--limit=-1", NULL},
        {"fork_join", "--limit", NULL},
        {"fork_join", "--split=diagonal", NULL},
        {"fork_join", "--workers=2", "--kill-worker=2", NULL},
        {"fork_join", "stray", NULL},
        {"fork_join", "--bogus", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_usage_error(cases[i], NULL);
    struct program_run r;
    run(&r, (char *[]){"fork_join", "--bogus", NULL});
    cr_assert_eq(count_lines_containing(r.err, "unknown option --bogus"), 1, "%s", r.err);
    program_run_free(&r);
}
