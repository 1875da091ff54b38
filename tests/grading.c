/* grading.c - see grading.h. */
#define _GNU_SOURCE
#include "grading.h"

#include <criterion/criterion.h>

#include <dirent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef FORKLORE_LAB_CFLAGS
#define FORKLORE_LAB_CFLAGS ""
#endif

static unsigned long fresh_seed(void)
{
    return ((unsigned long)time(NULL) ^ ((unsigned long)getpid() << 8)) % 1000000;
}

void grade(struct grading *g, const char *lab, const char *home, const char *src,
           const char *const *env, int timeout_s)
{
    memset(g, 0, sizeof *g);
    make_temp_dir(g->dir, sizeof g->dir, "lab");
    g->seed = fresh_seed();
    char *argv[32];
    int argc = 0;
    char vars[8][512];
    snprintf(vars[0], sizeof vars[0], "LAB=%s", lab);
    snprintf(vars[1], sizeof vars[1], "OUT=%s", g->dir);
    snprintf(vars[2], sizeof vars[2], "LIBRARY=%s/../libforklore.a", FORKLORE_BIN);
    snprintf(vars[3], sizeof vars[3], "EXTRA_CFLAGS=%s", FORKLORE_LAB_CFLAGS);
    snprintf(vars[4], sizeof vars[4], "JSON=%s/results.json", g->dir);
    snprintf(vars[5], sizeof vars[5], "SEED=%lu", g->seed);
    snprintf(vars[6], sizeof vars[6], "LAB_SRC=%s", src ? src : "");
    snprintf(vars[7], sizeof vars[7], "LAB_HOME=%s", home ? home : "");
    argv[argc++] = "/usr/bin/env";
    for (int i = 0; i < 8; i++)
        argv[argc++] = vars[i];
    for (int i = 0; env && env[i] && argc < 28; i++)
        argv[argc++] = (char *)env[i];
    argv[argc++] = "bash";
    argv[argc++] = GRADE_SH;
    argv[argc] = NULL;
    cr_assert_eq(run_program(argv, timeout_s, &g->run), 0, "could not start grade.sh");
    cr_assert(!g->run.timed_out, "grading lab %s (seed %lu) did not finish within %d s:\n%s", lab,
              g->seed, timeout_s, g->run.out);

    char path[300];
    snprintf(path, sizeof path, "%s/results.json", g->dir);
    char *text = read_file(path, NULL);
    if (!text) {
        snprintf(g->json_error, sizeof g->json_error, "no results.json was written");
        return;
    }
    g->results = json_parse(text, g->json_error, sizeof g->json_error);
    free(text);
    const struct json *tests = json_get(g->results, "tests");
    for (size_t i = 0; tests && i < tests->count; i++) {
        const struct json *score = json_get(&tests->items[i], "score");
        const struct json *max = json_get(&tests->items[i], "max_score");
        g->score += score ? (int)score->number : 0;
        g->max += max ? (int)max->number : 0;
    }
}

void grading_free(struct grading *g)
{
    json_free(g->results);
    program_run_free(&g->run);
    remove_dir(g->dir);
}

/* NULL if the document is a results file Gradescope accepts, else what is wrong.  The format:
 * an object with a numeric "score" (the total), optional "execution_time" (seconds) and
 * "output" (text), and "tests", an array of objects each with a string "name", numeric "score"
 * and "max_score", "status" "passed" or "failed", string "output", "number" and "visibility". */
const char *gradescope_problem(const struct json *root)
{
    static char problem[200];
    if (!root || root->type != JSON_OBJECT)
        return "the document is not a JSON object";
    const struct json *score = json_get(root, "score"), *tests = json_get(root, "tests");
    const struct json *time = json_get(root, "execution_time"), *output = json_get(root, "output");
    if (!score || score->type != JSON_NUMBER)
        return "no numeric \"score\"";
    if (time && time->type != JSON_NUMBER)
        return "\"execution_time\" is not a number";
    if (output && output->type != JSON_STRING)
        return "\"output\" is not a string";
    if (!tests || tests->type != JSON_ARRAY)
        return "no \"tests\" array";
    double sum = 0;
    for (size_t i = 0; i < tests->count; i++) {
        const struct json *t = &tests->items[i];
        const struct json *name = json_get(t, "name"), *s = json_get(t, "score"),
                          *max = json_get(t, "max_score"), *status = json_get(t, "status"),
                          *out = json_get(t, "output"), *number = json_get(t, "number"),
                          *visibility = json_get(t, "visibility");
        snprintf(problem, sizeof problem, "test %zu: ", i + 1);
        const char *bad =
            t->type != JSON_OBJECT                     ? "not an object"
            : !name || name->type != JSON_STRING       ? "no string \"name\""
            : !s || s->type != JSON_NUMBER             ? "no numeric \"score\""
            : !max || max->type != JSON_NUMBER         ? "no numeric \"max_score\""
            : s->number < 0 || s->number > max->number ? "score outside 0..max_score"
            : !status || status->type != JSON_STRING ||
                    (strcmp(status->string, "passed") && strcmp(status->string, "failed"))
                ? "\"status\" is not \"passed\" or \"failed\""
            : !out || out->type != JSON_STRING      ? "no string \"output\""
            : number && number->type != JSON_STRING ? "\"number\" is not a string"
            : visibility && (visibility->type != JSON_STRING ||
                             (strcmp(visibility->string, "visible") &&
                              strcmp(visibility->string, "hidden") &&
                              strcmp(visibility->string, "after_due_date") &&
                              strcmp(visibility->string, "after_published")))
                ? "unknown \"visibility\""
                : NULL;
        if (bad) {
            strncat(problem, bad, sizeof problem - strlen(problem) - 1);
            return problem;
        }
        sum += s->number;
    }
    if (tests->count > 0 && sum != score->number)
        return "\"score\" is not the sum of the tests' scores";
    return NULL;
}

void expect_valid_results(const struct grading *g, const char *what)
{
    cr_assert(g->results, "%s: results.json is not valid JSON: %s", what, g->json_error);
    const char *problem = gradescope_problem(g->results);
    cr_assert(!problem, "%s: results.json is not in Gradescope's format: %s", what, problem);
}

/* The result of one test in results.json, by name. */
const struct json *test_result(const struct grading *g, const char *name)
{
    const struct json *tests = json_get(g->results, "tests");
    for (size_t i = 0; tests && i < tests->count; i++) {
        const struct json *n = json_get(&tests->items[i], "name");
        if (n && n->type == JSON_STRING && strcmp(n->string, name) == 0)
            return &tests->items[i];
    }
    return NULL;
}

int test_passed(const struct json *test)
{
    const struct json *status = json_get(test, "status");
    return status && strcmp(status->string, "passed") == 0;
}

int test_graded(const struct json *test)
{
    const struct json *max = json_get(test, "max_score");
    return max && max->number > 0;
}

int count_processes_named(const char *name)
{
    DIR *proc = opendir("/proc");
    cr_assert(proc, "cannot list /proc");
    int count = 0;
    for (struct dirent *entry; (entry = readdir(proc)) != NULL;) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
            continue;
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/%s/comm", entry->d_name);
        FILE *file = fopen(path, "r");
        if (!file)
            continue; /* it ended meanwhile */
        if (fgets(comm, sizeof comm, file))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(file);
        count += strcmp(comm, name) == 0;
    }
    closedir(proc);
    return count;
}
