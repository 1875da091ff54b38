/* test_memory.c - the litmus programs (patterns/memory/): every outcome table adds up to the
 * trials, and what the memory model forbids never shows: a fenced store buffering run never
 * reads "0 0", release-acquire message passing never sees the flag without its data (nor does
 * relaxed on x86, whose model forbids it), and a fenced Peterson's lock is exact.  Nothing here
 * asserts that a reordering *does* show: that depends on the machine and the moment. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support/cpus.h"

/* The four "  rA=x rB=y  N" rows of an outcome table, as counts[x][y]; fails unless they add up
 * to trials. */
static void read_outcomes(const char *out, long counts[2][2], long trials)
{
    long sum = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            char row[32];
            snprintf(row, sizeof row, "  r0=%d r1=%d  ", a, b);
            const char *hit = strstr(out, row);
            cr_assert_not_null(hit, "no row \"%s\" in:\n%s", row, out);
            cr_assert_eq(sscanf(hit + strlen(row), "%ld", &counts[a][b]), 1, "%s", out);
            sum += counts[a][b];
        }
    cr_assert_eq(sum, trials, "the outcomes add up to %ld, not %ld:\n%s", sum, trials, out);
}

static void pin_to_one_cpu(void)
{
    int ids[1];
    cr_assert_eq(usable_cpu_ids(ids, 1), 1);
    pin_to_cpus(ids, 1);
}

Test(memory, help_and_bad_arguments)
{
    skip_argument_checks_under_valgrind();
    const char *programs[] = {"store_buffering", "message_passing", "peterson_litmus"};
    for (int i = 0; i < 3; i++) {
        assert_help(programs[i], "--help");
        assert_help(programs[i], "-h");
    }
    assert_refuses_bad_arguments("store_buffering", "--trials", "0");
    assert_usage_error((char *[]){"message_passing", "--order", NULL}, "unknown option --order");
    assert_refuses_bad_arguments("message_passing", "--trials", "many");
    assert_refuses_bad_arguments("peterson_litmus", "--iterations", "-1");
}

/* A fenced store buffering run of this many trials never reads "0 0". */
static void check_store_buffering_fenced(const char *trials)
{
    struct program_run r;
    run_expect(&r, (char *[]){"store_buffering", "--fence", "--trials", (char *)trials, NULL}, 240,
               0);
    long counts[2][2];
    read_outcomes(r.out, counts, atol(trials));
    cr_assert_eq(counts[0][0], 0, "%s", r.out);
    expect_text(r.out, "verdict: \"r0=0 r1=0\" never seen: the fence forbids it\n");
    program_run_free(&r);
}

/* Release-acquire message passing never shows the flag without the data. */
static void check_message_passing_release_acquire(const char *trials)
{
    struct program_run r;
    run_expect(&r,
               (char *[]){"message_passing", "--release-acquire", "--trials", (char *)trials, NULL},
               240, 0);
    long counts[2][2];
    read_outcomes(r.out, counts, atol(trials));
    cr_assert_eq(counts[1][0], 0, "%s", r.out);
    expect_text(r.out, "release-acquire forbids it on every machine");
    program_run_free(&r);
}

/* A fenced Peterson's lock: never two inside, the counter exact. */
static void check_peterson_fenced(long iterations)
{
    char arg[32], counter[64];
    snprintf(arg, sizeof arg, "%ld", iterations);
    snprintf(counter, sizeof counter, "counter: %ld of %ld (lost 0)\n", 2 * iterations,
             2 * iterations);
    struct program_run r;
    run_expect(&r, (char *[]){"peterson_litmus", "--fence", "--iterations", arg, NULL}, 240, 0);
    expect_text(r.out, "both inside: 0 times\n");
    expect_text(r.out, counter);
    expect_text(r.out, "verdict: exact: the fence makes Peterson's lock correct\n");
    program_run_free(&r);
}

Test(memory, store_buffering_fenced_never_reads_both_zero, .timeout = 300)
{
    check_store_buffering_fenced("50000");
}

/* Without the fence the table must still add up, and the verdict say what it saw; whether
 * "0 0" appears is the machine's business. */
Test(memory, store_buffering_unfenced_reports_what_it_saw, .timeout = 300)
{
    struct program_run r;
    run_expect(&r, (char *[]){"store_buffering", "--trials", "50000", NULL}, 240, 0);
    long counts[2][2];
    read_outcomes(r.out, counts, 50000);
    cr_assert_eq(count_lines_containing(r.out, "verdict: \"r0=0 r1=0\" "), 1, "%s", r.out);
    if (counts[0][0])
        expect_text(r.out, "a reordering no interleaving explains");
    program_run_free(&r);
}

Test(memory, message_passing_never_shows_the_flag_without_its_data, .timeout = 300)
{
    check_message_passing_release_acquire("50000");
    struct program_run r;
    run_expect(&r, (char *[]){"message_passing", "--trials", "50000", NULL}, 240, 0);
    long counts[2][2];
    read_outcomes(r.out, counts, 50000);
    expect_text(r.out, "machine: ");
#if defined(__x86_64__) || defined(__i386__)
    cr_assert_eq(counts[1][0], 0, "x86-TSO forbids it, relaxed or not:\n%s", r.out);
    expect_text(r.out, "machine: x86 (TSO)");
#endif
    program_run_free(&r);
}

Test(memory, peterson_with_the_fence_is_exact, .timeout = 300)
{
    check_peterson_fenced(20000);
}

Test(memory, peterson_without_the_fence_reports_what_it_saw, .timeout = 300)
{
    struct program_run r;
    run_expect(&r, (char *[]){"peterson_litmus", "--iterations", "20000", NULL}, 240, 0);
    long both, counter, expected, lost;
    char *line = line_containing(r.out, "both inside: ");
    cr_assert_not_null(line, "%s", r.out);
    cr_assert_eq(sscanf(line, "both inside: %ld", &both), 1);
    free(line);
    line = line_containing(r.out, "counter: ");
    cr_assert_not_null(line);
    cr_assert_eq(sscanf(line, "counter: %ld of %ld (lost %ld)", &counter, &expected, &lost), 3);
    free(line);
    cr_assert_eq(expected, 40000);
    cr_assert_eq(counter + lost, expected);
    cr_assert_leq(counter, expected, "a lost update can only make the count smaller");
    expect_text(r.out, both || lost ? "verdict: mutual exclusion broken" : "verdict: exact in");
    program_run_free(&r);
}

/* Each program says when the machine cannot show a reordering. */
Test(memory, one_cpu_is_said_to_show_nothing, .timeout = 300)
{
    pin_to_one_cpu();
    const char *programs[] = {"store_buffering", "message_passing", "peterson_litmus"};
    const char *sizes[] = {"--trials", "--trials", "--iterations"};
    for (int i = 0; i < 3; i++) {
        struct program_run r;
        run_expect(&r, (char *[]){(char *)programs[i], (char *)sizes[i], "5000", NULL}, 240, 0);
        expect_text(r.out, "one usable CPU");
        expect_text(r.out, "this machine cannot show a reordering");
        program_run_free(&r);
    }
}

/* ---- lessons/05-locks.md: predict, then run ----------------------------------------------------
 */

/* predict_7: with the fence, "both read 0" is impossible on every machine. */
Test(lesson_locks, predict_7, .timeout = 300)
{
    check_store_buffering_fenced("20000");
}

/* predict_8: release-acquire message passing never shows the flag without the data. */
Test(lesson_locks, predict_8, .timeout = 300)
{
    check_message_passing_release_acquire("20000");
}

/* predict_9: Peterson's lock with the fence: exact, never two inside. */
Test(lesson_locks, predict_9, .timeout = 300)
{
    check_peterson_fenced(10000);
}
