/* test_labs.c - the coursework labs (lessons/labs/) and their grader.
 *
 * For every lab, through the same `grade.sh` that `make grade` runs:
 *   - the reference solution (tests/labs/LAB/solution/) scores full marks;
 *   - the untouched starter code scores what the lab's handout says it scores;
 *   - the deliberately broken version (tests/labs/LAB/broken/) fails exactly the tests its
 *     FAILS file names, and so loses exactly their points;
 *   - every results.json those runs write is valid JSON in Gradescope's format.
 * Each run uses a fresh seed (printed on failure, to replay with SEED=).  The grader itself is
 * checked in test_grader.c.  And the student hand-out (`make handout`) carries no solution and
 * grades on its own.
 *
 * Timing: the scaling lab has a speedup gate (2 workers at least 1.25x one), which is a
 * timing.  Here the reference solution is graded with FORKLORE_GRADE_CPUS=1, which takes the
 * gate out of the score (and checks that the grader says so); the broken, sequential version is
 * graded with the real gate, which it cannot pass on any machine: the gate also asks its
 * children to compute at once (their CPU time over the run's wall time), which a version that
 * waits for each child before forking the next never does, whatever the load does to the
 * times.  (Before that second condition, one clean-clone run under heavy load saw the
 * sequential version's 2-worker minimum meet a quiet moment its 1-worker runs never had.)  On a
 * 1-CPU machine the gate is not graded at all, and the broken version is expected to lose only the
 * points of the tests that were graded.
 *
 * Under the valgrind gate these tests skip themselves (see SKIP_UNLESS_GRADING_HERE).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grading.h"

/* ---- one lab, three ways -------------------------------------------------------------------- */

/* What a lab's runs need beyond the defaults: the scaling lab's reference solution is graded
 * without its speedup gate (see the top of this file). */
static const char *const *lab_environment(const char *lab, int for_solution)
{
    static const char *const scaling_solution[] = {"FORKLORE_GRADE_CPUS=1", NULL};
    return strcmp(lab, "scaling") == 0 && for_solution ? scaling_solution : NULL;
}

static void check_solution(const char *lab)
{
    char src[512];
    snprintf(src, sizeof src, "%s/%s/solution", INSTRUCTOR, lab);
    struct grading g;
    grade(&g, lab, NULL, src, lab_environment(lab, 1), 600);
    expect_valid_results(&g, lab);
    cr_expect(exited_with(&g.run, 0) && g.score == g.max && g.max > 0,
              "the reference solution of lab %s scored %d/%d, not full marks (replay: make grade "
              "LAB=%s LAB_SRC=tests/labs/%s/solution SEED=%lu):\n%s",
              lab, g.score, g.max, lab, lab, g.seed, g.run.out);
    /* Everything graded, except a test the machine is too small for; the scaling lab's gate
     * is taken out here on purpose, and the grader must say so. */
    const struct json *tests = json_get(g.results, "tests");
    int skipped = 0;
    for (size_t i = 0; tests && i < tests->count; i++)
        skipped += !test_graded(&tests->items[i]);
    if (strcmp(lab, "scaling") == 0)
        cr_expect(skipped > 0 && strstr(g.run.out, "not graded on this machine"),
                  "with FORKLORE_GRADE_CPUS=1 the scaling lab's speedup gate should be reported "
                  "as not graded:\n%s",
                  g.run.out);
    else if (skipped == 0) /* a machine too small for a test leaves its points out */
        cr_expect_eq(g.max, 100, "lab %s: its tests add up to %d points, not 100", lab, g.max);
    grading_free(&g);
}

/* The handout's "Starter code scores: N/100" line. */
static int handout_starter_score(const char *lab)
{
    char path[512];
    snprintf(path, sizeof path, "%s/lessons/labs/%s/handout.md", FORKLORE_ROOT, lab);
    char *text = read_file(path, NULL);
    cr_assert(text, "lab %s has no handout.md", lab);
    char *line = line_containing(text, "Starter code scores: ");
    cr_assert(line, "%s has no line \"Starter code scores: N/100\"", path);
    int score = -1, max = -1;
    sscanf(strstr(line, "Starter code scores: ") + strlen("Starter code scores: "), "%d/%d", &score,
           &max);
    cr_assert(score >= 0 && max == 100, "%s: cannot read \"%s\"", path, line);
    free(line);
    free(text);
    return score;
}

static void check_starter(const char *lab)
{
    int promised = handout_starter_score(lab);
    struct grading g;
    grade(&g, lab, NULL, NULL, lab_environment(lab, 0), 600);
    expect_valid_results(&g, lab);
    cr_expect_eq(g.score, promised,
                 "the starter code of lab %s scored %d, but its handout says %d (replay: make "
                 "grade LAB=%s SEED=%lu):\n%s",
                 lab, g.score, promised, lab, g.seed, g.run.out);
    cr_expect(promised == 100 ? exited_with(&g.run, 0) : exited_with(&g.run, 1),
              "lab %s: without full marks the grader must exit with status 1", lab);
    grading_free(&g);
}

/* The FAILS file: the names of the tests the broken version must fail. */
static int read_fails(const char *lab, char names[][64], int max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/broken/FAILS", INSTRUCTOR, lab);
    char *text = read_file(path, NULL);
    cr_assert(text, "%s is missing", path);
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        line += strspn(line, " \t");
        if (*line == '#' || *line == '\0')
            continue;
        cr_assert(count < max, "%s: too many names", path);
        snprintf(names[count], 64, "%.*s", (int)strcspn(line, " \t"), line);
        count++;
    }
    free(text);
    cr_assert(count > 0, "%s names no test: a broken version must lose points", path);
    return count;
}

static void check_broken(const char *lab)
{
    char fails[32][64];
    int count = read_fails(lab, fails, 32);
    /* broken/ holds only the files that carry the bug (and FAILS); every other file of the
     * submission is the reference solution's, laid under them here. */
    char src[256], copy[900];
    make_temp_dir(src, sizeof src, "broken");
    snprintf(copy, sizeof copy, "cp %s/%s/solution/* %s/ && cp %s/%s/broken/* %s/ && rm %s/FAILS",
             INSTRUCTOR, lab, src, INSTRUCTOR, lab, src, src);
    struct program_run copied;
    run_expect(&copied, (char *[]){"/bin/sh", "-c", copy, NULL}, 30, 0);
    program_run_free(&copied);
    struct grading g;
    grade(&g, lab, NULL, src, lab_environment(lab, 0), 600);
    expect_valid_results(&g, lab);
    const struct json *tests = json_get(g.results, "tests");
    cr_assert(tests && tests->count > 0, "lab %s: no test results:\n%s", lab, g.run.out);
    int lost = 0;
    for (size_t i = 0; i < tests->count; i++) {
        const struct json *t = &tests->items[i];
        const char *name = json_get(t, "name")->string;
        int listed = 0;
        for (int k = 0; k < count; k++)
            listed |= strcmp(fails[k], name) == 0;
        if (!test_graded(t))
            continue; /* not graded on this machine: neither passed nor failed */
        cr_expect(listed ? !test_passed(t) : test_passed(t),
                  "the broken version of lab %s should %s test %s (replay: make grade LAB=%s "
                  "LAB_SRC=DIR SEED=%lu, DIR holding tests/labs/%s/solution/ with broken/ "
                  "over it):\n%s",
                  lab, listed ? "fail" : "pass", name, lab, g.seed, lab, g.run.out);
        if (listed)
            lost += (int)json_get(t, "max_score")->number;
    }
    for (int k = 0; k < count; k++)
        cr_expect(test_result(&g, fails[k]), "lab %s: FAILS names %s, which is not a test", lab,
                  fails[k]);
    cr_expect_eq(g.score, g.max - lost, "the broken version of lab %s scored %d/%d, expected %d",
                 lab, g.score, g.max, g.max - lost);
    /* Below full marks the grader exits 1; a broken version whose failing tests could not be
     * graded here (the speedup gate on a busy or 1-CPU machine) has lost nothing. */
    cr_expect(exited_with(&g.run, lost > 0 ? 1 : 0),
              "lab %s: lost %d points, so the grader "
              "must exit %d:\n%s",
              lab, lost, lost > 0 ? 1 : 0, g.run.out);
    grading_free(&g);
    remove_dir(src);
}

/* ---- wrong solutions: plausible mistakes, each caught and named ------------------------------ */

/* The value of a "# KEY: value" line at the top of a patch, as a fresh string, or NULL. */
static char *patch_field(const char *text, const char *key)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "# %s: ", key);
    char *line = line_containing(text, prefix);
    if (!line)
        return NULL;
    char *value = strdup(strstr(line, prefix) + strlen(prefix));
    free(line);
    return value;
}

/* tests/labs/LAB/wrong/NAME.patch is the reference solution with one mistake a student could
 * make; its first lines say which ("# the bug"), the tests that show it ("# test: GLOB") and
 * what the grader must say ("# expect: TEXT").  The patched solution must lose points on
 * those tests, and the grader's explanation must name the mistake. */
static void check_wrong(const char *lab, const char *name)
{
    char patch[512], dir[256], copy[600];
    snprintf(patch, sizeof patch, "%s/%s/wrong/%s.patch", INSTRUCTOR, lab, name);
    char *text = read_file(patch, NULL);
    cr_assert(text, "%s is missing", patch);
    char *tests = patch_field(text, "test"), *expect = patch_field(text, "expect");
    cr_assert(expect, "%s has no \"# expect: \" line", patch);
    make_temp_dir(dir, sizeof dir, "wrong");
    snprintf(copy, sizeof copy, "cp %s/%s/solution/* %s/", INSTRUCTOR, lab, dir);
    struct program_run run;
    run_expect(&run, (char *[]){"/bin/sh", "-c", copy, NULL}, 30, 0);
    program_run_free(&run);
    run_expect(&run, (char *[]){"/usr/bin/patch", "-s", "-p0", "-d", dir, "-i", patch, NULL}, 30,
               0);
    program_run_free(&run);
    char filter[128];
    snprintf(filter, sizeof filter, "TEST=%s", tests ? tests : "*");
    const char *env[] = {filter, NULL};
    struct grading g;
    grade(&g, lab, NULL, dir, env, 600);
    expect_valid_results(&g, name);
    cr_expect(g.score < g.max,
              "lab %s, wrong solution %s (%s): %d/%d, not below full marks "
              "(replay: SEED=%lu):\n%s",
              lab, name, text, g.score, g.max, g.seed, g.run.out);
    cr_expect(strstr(g.run.out, expect),
              "lab %s, wrong solution %s: the grader should say "
              "\"%s\":\n%s",
              lab, name, expect, g.run.out);
    grading_free(&g);
    remove_dir(dir);
    free(tests);
    free(expect);
    free(text);
}

#define WRONG_SOLUTION(lab, name)                                                                  \
    Test(labs, lab##_wrong_##name##_loses_points_and_is_named)                                     \
    {                                                                                              \
        SKIP_UNLESS_GRADING_HERE();                                                                \
        check_wrong(#lab, #name);                                                                  \
    }

WRONG_SOLUTION(bounded_buffer, spins)
WRONG_SOLUTION(bounded_buffer, no_mutex)
WRONG_SOLUTION(bounded_buffer, deadlock)
WRONG_SOLUTION(bounded_buffer, pshared_zero)
WRONG_SOLUTION(bounded_buffer, private_mapping)
WRONG_SOLUTION(pool, waitpid_any)
WRONG_SOLUTION(pool, keeps_other_pipe_ends)
WRONG_SOLUTION(pool, no_eintr_retry)
WRONG_SOLUTION(pool, busy_poll)
WRONG_SOLUTION(parallel, busy_wnohang)
WRONG_SOLUTION(parallel, no_flush)
WRONG_SOLUTION(parallel, no_die_with_parent)
WRONG_SOLUTION(parallel, mask_inherited)
WRONG_SOLUTION(pipeline, one_stage_at_a_time)
WRONG_SOLUTION(pipeline, parent_keeps_write_ends)
WRONG_SOLUTION(pipeline, first_stage_status)
WRONG_SOLUTION(races, mutex_not_shared)
WRONG_SOLUTION(races, private_mapping)
WRONG_SOLUTION(scaling, forgets_two)
WRONG_SOLUTION(scaling, drops_the_remainder)
WRONG_SOLUTION(scaling, leaks_read_end)

#define LAB_TESTS(lab)                                                                             \
    Test(labs, lab##_solution_scores_full_marks)                                                   \
    {                                                                                              \
        SKIP_UNLESS_GRADING_HERE();                                                                \
        check_solution(#lab);                                                                      \
    }                                                                                              \
    Test(labs, lab##_starter_scores_what_its_handout_says)                                         \
    {                                                                                              \
        SKIP_UNLESS_GRADING_HERE();                                                                \
        check_starter(#lab);                                                                       \
    }                                                                                              \
    Test(labs, lab##_broken_version_loses_exactly_its_points)                                      \
    {                                                                                              \
        SKIP_UNLESS_GRADING_HERE();                                                                \
        check_broken(#lab);                                                                        \
    }

/* Every lab, in the order of the course. */
static const char *const lab_names[] = {"parallel",       "pipeline", "races",
                                        "bounded_buffer", "pool",     "scaling"};
LAB_TESTS(parallel)
LAB_TESTS(pipeline)
LAB_TESTS(races)
LAB_TESTS(bounded_buffer)
LAB_TESTS(pool)
LAB_TESTS(scaling)

/* A lab added to lessons/labs/ without tests here would go unchecked. */
Test(labs, every_lab_has_its_tests_here_and_its_instructor_files)
{
    SKIP_UNLESS_GRADING_HERE();
    DIR *dir = opendir(FORKLORE_ROOT "/lessons/labs");
    cr_assert(dir, "lessons/labs is missing");
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof path, "%s/lessons/labs/%s/grade.c", FORKLORE_ROOT, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        found++;
        int listed = 0;
        for (size_t i = 0; i < sizeof lab_names / sizeof lab_names[0]; i++)
            listed |= strcmp(lab_names[i], e->d_name) == 0;
        cr_expect(listed, "lab %s has no LAB_TESTS line in tests/test_labs.c", e->d_name);
        const char *needed[] = {"solution", "broken/FAILS"};
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/%s/%s", INSTRUCTOR, e->d_name, needed[k]);
            cr_expect(stat(path, &st) == 0, "lab %s: %s is missing", e->d_name, path);
        }
    }
    closedir(dir);
    cr_expect_eq(found, (int)(sizeof lab_names / sizeof lab_names[0]),
                 "lessons/labs holds %d labs, tests/test_labs.c lists %zu", found,
                 sizeof lab_names / sizeof lab_names[0]);
}

/* ---- the hand-out -----------------------------------------------------------------------------
 */

Test(labs, the_handout_has_every_lab_no_solution_and_grades_on_its_own)
{
    SKIP_UNLESS_GRADING_HERE();
    char dir[256];
    make_temp_dir(dir, sizeof dir, "handout");
    struct program_run run;
    char *make_it[] = {"/bin/bash", FORKLORE_ROOT "/lessons/labs/grader/handout.sh", dir, NULL};
    run_expect(&run, make_it, 120, 0);
    program_run_free(&run);

    char archive[300], listing[320];
    snprintf(archive, sizeof archive, "%s/forklore-labs.tar.gz", dir);
    char *list_it[] = {"/bin/tar", "-tzf", archive, NULL};
    run_expect(&run, list_it, 60, 0);
    cr_expect_eq(count_lines_containing(run.out, "forklore-labs/tests/labs/"), 0,
                 "the hand-out holds instructor files (tests/labs/)");
    cr_expect_eq(count_lines_containing(run.out, "forklore-labs/lessons/solutions/"), 0,
                 "the hand-out holds the lessons' worked solutions (lessons/solutions/)");
    cr_expect(count_lines_containing(run.out, "solution") == 0, "a solution is in the hand-out");
    for (size_t i = 0; i < sizeof lab_names / sizeof lab_names[0]; i++) {
        snprintf(listing, sizeof listing, "forklore-labs/lessons/labs/%s/handout.md\n",
                 lab_names[i]);
        expect_text(run.out, listing);
        snprintf(listing, sizeof listing, "forklore-labs/lessons/labs/%s/grade.c\n", lab_names[i]);
        expect_text(run.out, listing);
    }
    expect_text(run.out, "forklore-labs/Makefile\n");
    expect_text(run.out, "forklore-labs/lessons/labs/grader/grader.c\n");
    program_run_free(&run);

    /* Unpacked, it builds and grades a lab with nothing but the compiler and make. */
    char *unpack[] = {"/bin/tar", "-xzf", archive, "-C", dir, NULL};
    run_expect(&run, unpack, 60, 0);
    program_run_free(&run);
    char tree[300];
    snprintf(tree, sizeof tree, "%s/forklore-labs", dir);
    char *grade_it[] = {"/usr/bin/make", "-s", "-C", tree, "grade", "LAB=parallel", NULL};
    run_finished(&run, grade_it, 300);
    expect_text(run.out, "score: lab parallel: ");
    char promised[64];
    snprintf(promised, sizeof promised, "score: lab parallel: %d/100",
             handout_starter_score("parallel"));
    expect_text(run.out, promised);
    program_run_free(&run);
    remove_dir(dir);
}

/* ---- Gradescope ----------------------------------------------------------------------------- */

/* The autograder `make gradescope` writes, run as Gradescope would run it (with /autograder
 * moved into a temporary folder): the reference solution, uploaded in a folder of its own as
 * "parallel (1).c", is found, said to be used, and gets full marks in a valid results.json;
 * the other file uploaded is said to be ignored. */
Test(labs, the_gradescope_autograder_grades_an_upload)
{
    SKIP_UNLESS_GRADING_HERE();
    char dir[256];
    make_temp_dir(dir, sizeof dir, "gradescope");
    struct program_run run;
    char *make_it[] = {"/bin/bash", FORKLORE_ROOT "/lessons/labs/grader/gradescope.sh", "parallel",
                       dir, NULL};
    run_expect(&run, make_it, 120, 0);
    program_run_free(&run);

    /* An upload: the solution in a sub-folder, as students often zip it, under the name a
     * browser gives a second download, beside a file that is not the lab's. */
    char command[1024];
    snprintf(command, sizeof command,
             "mkdir -p %s/parallel/submission/my-lab && cp %s/parallel/solution/parallel.c "
             "'%s/parallel/submission/my-lab/parallel (1).c' && echo notes > "
             "%s/parallel/submission/notes.txt",
             dir, INSTRUCTOR, dir, dir);
    char *upload[] = {"/bin/sh", "-c", command, NULL};
    run_expect(&run, upload, 30, 0);
    program_run_free(&run);

    char root[300], script[320];
    snprintf(root, sizeof root, "AUTOGRADER_ROOT=%s/parallel", dir);
    snprintf(script, sizeof script, "%s/parallel/run_autograder", dir);
    char *autograde[] = {"/usr/bin/env", root, "bash", script, NULL};
    run_expect(&run, autograde, 600, 0);
    expect_text(run.out, "used: my-lab/parallel (1).c as parallel.c");
    expect_text(run.out, "ignored: notes.txt");
    program_run_free(&run);

    struct grading g = {0};
    char results[320];
    snprintf(results, sizeof results, "%s/parallel/results/results.json", dir);
    char *text = read_file(results, NULL);
    cr_assert(text, "run_autograder wrote no results.json");
    g.results = json_parse(text, g.json_error, sizeof g.json_error);
    expect_valid_results(&g, "run_autograder");
    cr_expect_eq((int)json_get(g.results, "score")->number, 100,
                 "the uploaded reference solution did not get full marks:\n%s", text);
    free(text);
    json_free(g.results);
    remove_dir(dir);
}
