/* grading.h - running a lab's grader from the tests, and reading what it wrote.
 *
 * The tests of the coursework labs (test_labs.c) and of the grader itself (test_grader.c) run
 * lessons/labs/grader/grade.sh, the script behind `make grade`, each time into a fresh build
 * folder and with a fresh seed, and check its results.json against Gradescope's format.
 */
#ifndef FORKLORE_TEST_GRADING_H
#define FORKLORE_TEST_GRADING_H

#include <sys/stat.h>

#include "harness.h"
#include "json.h"

#define GRADE_SH FORKLORE_ROOT "/lessons/labs/grader/grade.sh"
/* The instructors' files: reference solutions, broken versions, the grader's own check lab. */
#define INSTRUCTOR FORKLORE_ROOT "/tests/labs"

/* A grading run and what it left: the terminal output, the parsed results.json. */
struct grading {
    struct program_run run;
    char dir[256];        /* its build folder, removed by grading_free */
    struct json *results; /* NULL if results.json was missing or not JSON */
    char json_error[160];
    unsigned long seed;
    int score, max; /* summed over the tests in results.json */
};

/* Grade `lab` (its given files in home, NULL: lessons/labs/LAB) from the student files in src
 * (NULL: the handout's starter code), with extra environment assignments (NULL-terminated, may
 * be NULL; a name given twice takes the last value), within timeout_s seconds. */
void grade(struct grading *g, const char *lab, const char *home, const char *src,
           const char *const *env, int timeout_s);
void grading_free(struct grading *g);

/* NULL if the document is a results file Gradescope accepts, else what is wrong. */
const char *gradescope_problem(const struct json *root);

/* Assert that the run wrote valid JSON in Gradescope's format. */
void expect_valid_results(const struct grading *g, const char *what);

/* One test's entry in results.json, by name (NULL if absent); whether it passed; whether it
 * was graded (a test the machine is too small for has max_score 0). */
const struct json *test_result(const struct grading *g, const char *name);
int test_passed(const struct json *test);
int test_graded(const struct json *test);

/* Processes on the machine whose name (/proc/PID/comm) is name: what a hostile or careless
 * submission left running, found by the name it gave itself (its pid means nothing outside the
 * sandbox's PID namespace). */
int count_processes_named(const char *name);

/* These tests run graders, which run untraced below bash under the valgrind gate (nothing
 * there for valgrind to check, only minutes to spend); and a student's copy of the suite
 * (`make handout`) has no tests/labs/ to check against.  Either way they skip themselves. */
#define SKIP_UNLESS_GRADING_HERE()                                                                 \
    do {                                                                                           \
        struct stat instructor;                                                                    \
        if (under_valgrind())                                                                      \
            cr_skip_test("graders run untraced here; the gate grades the solutions itself");       \
        if (stat(INSTRUCTOR, &instructor) != 0)                                                    \
            cr_skip_test("no tests/labs/ here (a student hand-out): nothing to check against");    \
    } while (0)

#endif
