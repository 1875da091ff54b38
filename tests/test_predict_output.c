/* test_predict_output.c - every generated program prints exactly the answer the generator gives.
 *
 * predict_output works its answers out from a model of the program it wrote, never by running
 * it.  These tests do what a student would: compile the program (with the strictest warnings),
 * run it with stdout into a pipe, and compare, byte for byte.  They also check that a seed
 * makes one program (the same each time), that seeds make different programs, and that each
 * level holds what it promises.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* 14 seeds per level, 42 programs in all: small seeds, and both ends of the range.  Under
 * valgrind predict_output runs some 50 times slower, so only the first two of each level run
 * there. */
static const char *const seeds[] = {"0",  "1",  "2",  "3",  "5",   "8",       "13",
                                    "21", "34", "55", "89", "144", "1000003", "2147483647"};
enum { SEED_COUNT = sizeof seeds / sizeof seeds[0], SEEDS_UNDER_VALGRIND = 2 };

enum { GENERATE_TIMEOUT_S = 30, COMPILE_TIMEOUT_S = 120, RUN_TIMEOUT_S = 30 };

static char work_dir[256]; /* one temporary folder per test, removed even when it fails */

static void make_work_dir(void)
{
    make_temp_dir(work_dir, sizeof work_dir, "predict");
}

static void remove_work_dir(void)
{
    if (work_dir[0] != '\0')
        remove_dir(work_dir);
}

/* predict_output's stdout for these arguments (it must exit 0), as a malloc'd string. */
static char *predict(const char *seed, const char *level, int answer)
{
    char *argv[] = {"predict_output",
                    "--level",
                    (char *)level,
                    "--seed",
                    (char *)seed,
                    answer ? "--answer" : "--question",
                    NULL};
    if (seed == NULL) /* no seed: the clock chooses */
        argv[3] = NULL;
    struct program_run run;
    run_expect(&run, argv, GENERATE_TIMEOUT_S, 0);
    cr_assert_eq(run.err_len, 0, "predict_output wrote to stderr: %s", run.err);
    free(run.err);
    return run.out;
}

/* The program without its first comment (which names the seed, so always differs). */
static const char *body(const char *program)
{
    const char *end = strstr(program, "*/\n");
    cr_assert_not_null(end, "no header comment in:\n%s", program);
    return end + 3;
}

/* Compile one program with `cc` and the strictest warnings (any warning fails), run it with
 * stdout into a pipe, and insist on exit status 0, no zombie, and the answer exactly. */
static void check_program(const char *level, const char *seed, const char *program,
                          const char *answer)
{
    char source[320], binary[320];
    snprintf(source, sizeof source, "%s/seed-%s-level-%s.c", work_dir, seed, level);
    snprintf(binary, sizeof binary, "%s/seed-%s-level-%s", work_dir, seed, level);
    write_file(source, program);

    /* /usr/bin/env finds cc on the PATH; valgrind does not trace /usr/bin, so cc runs at full
     * speed even in the valgrind gate. */
    struct program_run cc;
    run_finished(&cc,
                 (char *[]){"/usr/bin/env", "cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic",
                            "-Werror", "-O2", "-o", binary, source, NULL},
                 COMPILE_TIMEOUT_S);
    cr_assert(exited_with(&cc, 0), "--seed %s --level %s does not compile cleanly:\n%s\n%s", seed,
              level, cc.err, program);
    program_run_free(&cc);

    /* Through /usr/bin/env too, so that the valgrind gate does not trace the program: under
     * valgrind, glibc's __libc_freeres runs at the end of every process, _exit included, and
     * flushes stdout, which is exactly what _exit must not do (level 3 relies on it).  The
     * generated code uses no heap; predict_output itself stays under valgrind. */
    struct program_run run;
    run_expect(&run, (char *[]){"/usr/bin/env", binary, NULL}, RUN_TIMEOUT_S, 0);
    cr_assert_eq(run.err_len, 0, "--seed %s --level %s wrote to stderr: %s", seed, level, run.err);
    cr_assert(run.out_len == strlen(answer) && memcmp(run.out, answer, run.out_len) == 0,
              "--seed %s --level %s: the program printed\n%s\n--- but the answer is\n%s\n"
              "--- for the program\n%s",
              seed, level, run.out, answer, program);
    program_run_free(&run);
}

/* What a level's programs must hold, counted over its seeds. */
struct features {
    int programs, with_setvbuf, with_quick_exit, with_open_line, with_loop, with_batch, with_nested,
        single_fork;
};

static void count_features(struct features *f, const char *program)
{
    const char *code = body(program);
    f->programs++;
    f->with_setvbuf += strstr(code, "setvbuf(stdout") != NULL;
    f->with_quick_exit += strstr(code, "_exit(") != NULL;
    f->with_loop += strstr(code, "for (int i = 0;") != NULL;
    f->with_batch += strstr(code, "pids[k] = fork();") != NULL;
    f->with_nested += strstr(code, "grandchild") != NULL;
    f->single_fork += count_lines_containing(code, "fork()") == 1;
    /* printf("...") whose text does not end the line */
    for (const char *p = strstr(code, "printf(\""); p; p = strstr(p + 1, "printf(\"")) {
        const char *close = strchr(p + 8, '"');
        if (close && (close - p < 10 || strncmp(close - 2, "\\n", 2) != 0)) {
            f->with_open_line++;
            break;
        }
    }
}

static void check_level(const char *level, struct features *f)
{
    int count = under_valgrind() ? SEEDS_UNDER_VALGRIND : SEED_COUNT;
    memset(f, 0, sizeof *f);
    for (int i = 0; i < count; i++) {
        char *program = predict(seeds[i], level, 0);
        char *answer = predict(seeds[i], level, 1);
        count_features(f, program);
        check_program(level, seeds[i], program, answer);
        free(program);
        free(answer);
    }
}

Test(predict_output, level_1_programs_print_exactly_their_answer, .init = make_work_dir,
     .fini = remove_work_dir)
{
    struct features f;
    check_level("1", &f);
    /* one fork, one wait; no buffering tricks */
    cr_assert_eq(f.single_fork, f.programs, "a level 1 program forks once");
    cr_assert_eq(f.with_setvbuf + f.with_quick_exit + f.with_open_line, 0,
                 "level 1 has no stdio trap and no _exit");
}

Test(predict_output, level_2_programs_print_exactly_their_answer, .init = make_work_dir,
     .fini = remove_work_dir)
{
    struct features f;
    check_level("2", &f);
    cr_assert_eq(f.with_setvbuf + f.with_quick_exit + f.with_open_line, 0,
                 "level 2 has no stdio trap and no _exit");
    if (!under_valgrind()) { /* over all the seeds, each kind of episode turns up */
        cr_assert_gt(f.with_loop, 0, "no loop of forks in %d programs", f.programs);
        cr_assert_gt(f.with_batch, 0, "no batch of children in %d programs", f.programs);
        cr_assert_gt(f.with_nested, 0, "no grandchild in %d programs", f.programs);
    }
}

Test(predict_output, level_3_programs_print_exactly_their_answer, .init = make_work_dir,
     .fini = remove_work_dir)
{
    struct features f;
    check_level("3", &f);
    cr_assert_eq(f.with_setvbuf, f.programs, "every level 3 program sets full buffering");
    if (!under_valgrind()) {
        cr_assert_gt(f.with_quick_exit, 0, "no _exit in %d programs", f.programs);
        cr_assert_gt(f.with_open_line, 0, "no printf without a newline in %d programs", f.programs);
    }
}

Test(predict_output, a_seed_makes_the_same_program_and_answer_every_time)
{
    const char *levels[] = {"1", "2", "3"};
    for (int l = 0; l < 3; l++) {
        char *program[2], *answer[2];
        for (int run = 0; run < 2; run++) {
            program[run] = predict("42", levels[l], 0);
            answer[run] = predict("42", levels[l], 1);
        }
        cr_assert_str_eq(program[0], program[1], "level %s: two programs for one seed", levels[l]);
        cr_assert_str_eq(answer[0], answer[1], "level %s: two answers for one seed", levels[l]);
        expect_text(program[0], "predict_output --seed 42 --level");
        for (int run = 0; run < 2; run++) {
            free(program[run]);
            free(answer[run]);
        }
    }
}

Test(predict_output, different_seeds_make_different_programs)
{
    enum { PER_LEVEL = 8 };
    int count = under_valgrind() ? 3 : PER_LEVEL;
    const char *levels[] = {"1", "2", "3"};
    for (int l = 0; l < 3; l++) {
        char *program[PER_LEVEL];
        for (int i = 0; i < count; i++) {
            program[i] = predict(seeds[i], levels[l], 0);
            for (int j = 0; j < i; j++)
                cr_assert_str_neq(body(program[i]), body(program[j]),
                                  "level %s: seeds %s and %s make the same program", levels[l],
                                  seeds[i], seeds[j]);
        }
        for (int i = 0; i < count; i++)
            free(program[i]);
    }
}

Test(predict_output, without_a_seed_the_program_names_the_one_it_used)
{
    char *program = predict(NULL, "2", 0);
    unsigned long seed;
    const char *named = strstr(program, "predict_output --seed ");
    cr_assert_not_null(named, "the seed is not named in:\n%s", program);
    cr_assert_eq(sscanf(named, "predict_output --seed %lu --level 2", &seed), 1, "%s", named);
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%lu", seed);
    char *again = predict(seed_text, "2", 0);
    cr_assert_str_eq(again, program, "--seed %s does not remake the program", seed_text);
    free(again);
    free(program);
}

Test(predict_output, help_prints_usage_and_exits_0)
{
    skip_argument_checks_under_valgrind();
    assert_help("predict_output", "--help");
    assert_help("predict_output", "-h");
}

Test(predict_output, bad_arguments_exit_2_with_usage)
{
    skip_argument_checks_under_valgrind();
    assert_usage_error((char *[]){"predict_output", "--level", "0", NULL}, "--level");
    assert_usage_error((char *[]){"predict_output", "--level", "4", NULL}, "--level");
    assert_usage_error((char *[]){"predict_output", "--level", "two", NULL}, "--level");
    assert_usage_error((char *[]){"predict_output", "--seed", "-1", NULL}, "--seed");
    assert_usage_error((char *[]){"predict_output", "--seed", "2147483648", NULL}, "--seed");
    assert_usage_error((char *[]){"predict_output", "--seed", "7x", NULL}, "--seed");
    assert_usage_error((char *[]){"predict_output", "--seed", NULL}, "needs a value");
    assert_usage_error((char *[]){"predict_output", "--answer", NULL}, "needs --seed");
    assert_usage_error((char *[]){"predict_output", "--seed", "1", "--answer", "--question", NULL},
                       "choose one");
    assert_usage_error((char *[]){"predict_output", "stray", NULL}, "unexpected argument");
    assert_usage_error((char *[]){"predict_output", "--frobnicate", NULL}, "unknown option");
}
