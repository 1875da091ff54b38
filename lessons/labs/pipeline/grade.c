/* grade.c - the tests of lab 2, a pipeline runner (handout.md says what they check).
 *
 * The expected output of a pipeline is what /bin/sh prints for the same pipeline and input,
 * so the tests compare byte for byte with the real shell.  A pipeline that hangs (a write end
 * left open, stages run one after the other, a read end kept where SIGPIPE should break the
 * pipe) is stopped after RUN_LIMIT_S and the test says which of these it probably is.
 * Nothing here measures a duration.
 */
#define _GNU_SOURCE
#include "grader.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long one run may take before the test calls it hung; a correct solution needs well
 * under a second even for the largest input. */
enum { RUN_LIMIT_S = 20 };

/* Most stages one run of the tests uses. */
enum { MAX_STAGES = 16 };

/* ---- small helpers ------------------------------------------------------------------------ */

/* `lines` random lines of 1 to 4 words made of the letters a-f, so that sort and uniq find
 * repeats. */
static char *random_lines(int lines)
{
    struct grade_text t = {0};
    grade_text_add(&t, "%s", "");
    for (int i = 0; i < lines; i++) {
        int words = (int)grade_random(1, 4);
        for (int w = 0; w < words; w++) {
            char word[8];
            int len = (int)grade_random(1, 4);
            for (int c = 0; c < len; c++)
                word[c] = (char)('a' + grade_random(0, 5));
            word[len] = '\0';
            grade_text_add(&t, "%s%s", w ? " " : "", word);
        }
        grade_text_add(&t, "\n");
    }
    return t.data;
}

/* The stages joined as the shell writes them: "a | b | c", with a stage that holds a ';'
 * in braces ("{ cat; exit 3; }"), or sh would end the pipeline there. */
static char *joined(char *const stages[], int n)
{
    struct grade_text t = {0};
    for (int s = 0; s < n; s++)
        grade_text_add(&t, strchr(stages[s], ';') ? "%s{ %s; }" : "%s%s", s ? " | " : "",
                       stages[s]);
    return t.data;
}

/* The command line that runs these stages through pipeline, each stage quoted for sh. */
static char *as_arguments(char *const stages[], int n)
{
    struct grade_text t = {0};
    grade_text_add(&t, "pipeline");
    for (int s = 0; s < n; s++) {
        grade_text_add(&t, " '");
        for (const char *c = stages[s]; *c; c++)
            grade_text_add(&t, "%s", *c == '\'' ? "'\\''" : (char[]){*c, '\0'});
        grade_text_add(&t, "'");
    }
    return t.data;
}

/* Run pipeline with these stages and this input. */
static void run_pipeline(char *const stages[], int n, const char *input, struct grade_run *run)
{
    char *argv[MAX_STAGES + 2] = {"pipeline"};
    for (int s = 0; s < n; s++)
        argv[s + 1] = stages[s];
    argv[n + 1] = NULL;
    grade_run(argv, input, RUN_LIMIT_S, run);
}

/* Fail with `why` if the run hung. */
static void expect_finished(const struct grade_run *run, const char *why)
{
    if (run->timed_out)
        grade_fail("pipeline did not finish within %d s: %s", RUN_LIMIT_S * grade_timeout_scale(),
                   why);
}

/* The usual reasons a pipeline hangs, for expect_finished. */
static const char hang_reasons[] =
    "a stage never saw end of file (is a copy of a pipe's write end left open, in pipeline "
    "itself or in another stage?) or the stages ran one after the other (a pipe holds only "
    "64 KiB: a writer blocks until its reader runs)";

/* Fail unless got is expected, byte for byte.  The grader prints expected and got on one line
 * each, so for text of many lines this shows the first line that differs. */
static void expect_same_text(const char *what, const char *expected, const char *got)
{
    if (strcmp(expected, got) == 0)
        return;
    int line = 1;
    const char *e = expected, *g = got;
    for (;;) {
        size_t el = strcspn(e, "\n"), gl = strcspn(g, "\n");
        if (el != gl || strncmp(e, g, el) != 0 || e[el] != g[gl])
            break;
        e += el + 1;
        g += gl + 1;
        line++;
    }
    char want[256], have[256];
    snprintf(want, sizeof want, "line %d: %.*s%s", line, (int)strcspn(e, "\n"), e,
             *e ? "" : "(the end: no more lines)");
    snprintf(have, sizeof have, "line %d: %.*s%s", line, (int)strcspn(g, "\n"), g,
             *g ? "" : "(the end: no more lines)");
    grade_note("%s: %zu bytes expected, %zu came; the first difference is on line %d", what,
               strlen(expected), strlen(got), line);
    grade_expect_string(what, want, have);
}

/* Run the stages through pipeline and through /bin/sh: stdout and status must be the same. */
static void expect_same_as_shell(char *const stages[], int n, const char *input)
{
    char *line = joined(stages, n), *arguments = as_arguments(stages, n);
    grade_note("ran: %s  (sh: %s), with %zu bytes of input", arguments, line, strlen(input));
    free(arguments);
    struct grade_run shell, mine;
    char *sh_argv[] = {"/bin/sh", "-c", line, NULL};
    grade_run(sh_argv, input, RUN_LIMIT_S, &shell);
    if (shell.timed_out || !WIFEXITED(shell.status))
        grade_fail("the grader's own run of sh -c \"%s\" %s", line, grade_describe_status(&shell));
    run_pipeline(stages, n, input, &mine);
    expect_finished(&mine, hang_reasons);
    expect_same_text("pipeline's stdout (what sh prints)", shell.out, mine.out);
    grade_expect_exit("pipeline's exit status (sh's $?)", &mine, WEXITSTATUS(shell.status));
    grade_run_free(&shell);
    grade_run_free(&mine);
    free(line);
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void t_single_stage(void)
{
    char *input = random_lines((int)grade_random(5, 20));
    char *stages[] = {"tr a-f A-F"};
    expect_same_as_shell(stages, 1, input);
    free(input);
}

/* Pipelines of text tools, against the shell. */
static void t_matches_shell(void)
{
    char head[32], cut[32];
    snprintf(head, sizeof head, "head -n %ld", grade_random(2, 9));
    snprintf(cut, sizeof cut, "cut -c1-%ld", grade_random(1, 3));
    char *a[] = {"tr a-f A-F", "sort", "uniq -c"};
    char *b[] = {"sort -r", head};
    char *c[] = {"grep -v a", "wc -l"};
    char *d[] = {cut, "sort", "uniq -c", "sort -rn", head};
    char *e[] = {"sed \"s/ /-/g\"", "sort -u", "tr -d \"\\n\""};
    struct {
        char **stages;
        int n;
    } all[] = {{a, 3}, {b, 2}, {c, 2}, {d, 5}, {e, 3}};
    /* Three of the five, chosen by the seed. */
    int first = (int)grade_random(0, 4), step = (int)grade_random(1, 2);
    for (int k = 0; k < 3; k++) {
        char *input = random_lines((int)grade_random(20, 60));
        int i = (first + k * step) % 5; /* three different ones: step 1 or 2 of 5 */
        expect_same_as_shell(all[i].stages, all[i].n, input);
        free(input);
    }
}

/* Megabytes through 3 to 8 cats: more than any pipe holds, so the stages must run at once.
 * The first cat reads a file: grade_run() writes a program's input and reads its output in
 * one thread, and a blocking write of megabytes could stall it while the output backs up. */
static void t_big_data(void)
{
    int n = (int)grade_random(3, 8);
    long lines = grade_random(60000, 100000);
    struct grade_text input = {0};
    for (long i = 0; i < lines; i++)
        grade_text_add(&input, "%08lx line %ld of the big input %ld\n", grade_random(0, 0xffffffff),
                       i, grade_random(0, 999999));
    char path[4096], first[4200];
    snprintf(path, sizeof path, "%s/big.txt", grade_temp_dir());
    FILE *file = fopen(path, "w");
    if (!file || fwrite(input.data, 1, input.len, file) != input.len || fclose(file) == EOF)
        grade_fail("the grader could not write %s", path);
    snprintf(first, sizeof first, "cat %s", path);
    char *stages[MAX_STAGES] = {first};
    for (int s = 1; s < n; s++)
        stages[s] = "cat";
    grade_note("ran: pipeline 'cat %s' with %d more stages of cat; %zu bytes go through (a pipe "
               "holds 64 KiB)",
               path, n - 1, input.len);
    struct grade_run run;
    run_pipeline(stages, n, NULL, &run);
    expect_finished(&run, hang_reasons);
    grade_expect_exit("pipeline's exit status", &run, 0);
    grade_expect_true(run.out_len == input.len && memcmp(run.out, input.data, input.len) == 0,
                      "the output is the file, byte for byte", "%zu bytes%s", run.out_len,
                      run.out_len == input.len ? ", but different ones" : "");
    grade_run_free(&run);
    free(input.data);
}

/* `yes | head`: yes writes for ever, and only SIGPIPE stops it once head has quit. */
static void t_sigpipe_ends(void)
{
    long count = grade_random(1, 50);
    char head[32];
    snprintf(head, sizeof head, "head -n %ld", count);
    struct grade_text expected = {0};
    for (long i = 0; i < count; i++)
        grade_text_add(&expected, "y\n");
    char *two[] = {"yes", head}, *three[] = {"yes", "cat", head};
    struct {
        char **stages;
        int n;
    } cases[] = {{two, 2}, {three, 3}};
    for (int i = 0; i < 2; i++) {
        char *line = joined(cases[i].stages, cases[i].n);
        char *arguments = as_arguments(cases[i].stages, cases[i].n);
        grade_note("ran: %s  (sh: %s)", arguments, line);
        free(arguments);
        struct grade_run run;
        run_pipeline(cases[i].stages, cases[i].n, NULL, &run);
        expect_finished(&run, "the writers never got SIGPIPE after head quit: a process (pipeline "
                              "itself, or a stage) still holds a read end of the pipe they write "
                              "into, so the pipe never breaks (or the stages run one at a time)");
        expect_same_text("pipeline's stdout", expected.data, run.out);
        grade_expect_exit("pipeline's exit status (head's)", &run, 0);
        grade_run_free(&run);
        free(line);
    }
    free(expected.data);
}

/* The status is the last stage's, whatever the others did. */
static void t_last_stage_status(void)
{
    int a = (int)grade_random(1, 125), b = (int)grade_random(1, 125), k = (int)grade_random(0, 125);
    char first[32], middle[32], last[64], echo[48], missing[48];
    snprintf(first, sizeof first, "exit %d", a);
    snprintf(middle, sizeof middle, "exit %d", b);
    snprintf(last, sizeof last, "cat >/dev/null; exit %d", k);
    snprintf(echo, sizeof echo, "echo hello; exit %d", a);
    snprintf(missing, sizeof missing, "no-such-command-%06lx", grade_random(0, 0xffffff));
    char *c1[] = {first, last}, *c2[] = {echo, "cat"}, *c3[] = {"true", "kill -s TERM $$"};
    char *c4[] = {first, middle, last}, *c5[] = {"true", missing};
    struct {
        char **stages;
        int n, code;
        const char *out;
    } cases[] = {{c1, 2, k, ""},
                 {c2, 2, 0, "hello\n"},
                 {c3, 2, 128 + SIGTERM, ""},
                 {c4, 3, k, ""},
                 {c5, 2, 127, ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *line = joined(cases[i].stages, cases[i].n);
        char *arguments = as_arguments(cases[i].stages, cases[i].n);
        grade_note("ran: %s  (sh: %s; then $? is %d)", arguments, line, cases[i].code);
        free(arguments);
        struct grade_run run;
        run_pipeline(cases[i].stages, cases[i].n, NULL, &run);
        expect_finished(&run, hang_reasons);
        expect_same_text("pipeline's stdout", cases[i].out, run.out);
        /* The first stage's code (a, when it differs from the last's) names the mistake. */
        int first_code = cases[i].stages == c1 || cases[i].stages == c4 ? a : -1;
        grade_expect_exit(WIFEXITED(run.status) && WEXITSTATUS(run.status) == first_code &&
                                  first_code != cases[i].code
                              ? "pipeline's exit status (the last stage's, as $?; this is the "
                                "first stage's status)"
                              : "pipeline's exit status (the last stage's, as $?)",
                          &run, cases[i].code);
        grade_run_free(&run);
        free(line);
    }
}

/* Close every descriptor of this test above 2, so that what the stages see is only what
 * pipeline gives them (the grader may have inherited some from whoever started it), but the
 * grader's report channel, which is close-on-exec: no stage inherits it. */
static void close_extra_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        grade_fail("the grader could not list its descriptors: %s", strerror(errno));
    int mine = dirfd(dir), fds[1024], count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd > 2 && fd != mine && fd != grade_channel_fd())
            fds[count++] = fd;
    }
    closedir(dir);
    for (int i = 0; i < count; i++)
        close(fds[i]);
}

/* Each stage lists its own descriptors: 0, 1 and 2, nothing else. */
static void t_only_std_fds(void)
{
    if (grade_under_valgrind())
        grade_skip("under valgrind: valgrind leaves its own log files open in the stages it does "
                   "not trace (/bin/sh), so their descriptors say nothing about pipeline's");
    close_extra_fds();
    int n = (int)grade_random(2, 5);
    char *stages[MAX_STAGES];
    struct grade_text expected = {0};
    for (int s = 0; s < n; s++) {
        if (asprintf(&stages[s], "cat; echo stage %d:; ls /proc/$$/fd; true", s + 1) == -1)
            grade_fail("the grader ran out of memory");
        grade_text_add(&expected, "stage %d: 0 1 2 ", s + 1);
    }
    grade_note("ran: pipeline with %d stages like \"%s\" (each passes on what came before, then "
               "lists the descriptors its shell holds)",
               n, stages[0]);
    struct grade_run run;
    run_pipeline(stages, n, NULL, &run);
    expect_finished(&run, hang_reasons);
    for (char *c = run.out; *c; c++) /* one line, so that it shows whole */
        *c = *c == '\n' ? ' ' : *c;
    grade_expect_string("the descriptors of each stage (anything but 0, 1, 2 is a leaked pipe end)",
                        expected.data, run.out);
    grade_expect_exit("pipeline's exit status", &run, 0);
    grade_run_free(&run);
    for (int s = 0; s < n; s++)
        free(stages[s]);
    free(expected.data);
}

/* Every stage is reaped, not just the last one. */
static void t_no_leftover_children(void)
{
    char *input = random_lines((int)grade_random(10, 30));
    char *three[] = {"cat", "sort", "uniq -c"};
    expect_same_as_shell(three, 3, input);
    int left = grade_count_children();
    grade_expect_true(left == 0, "no stage is left after pipeline exits",
                      "%d left (zombies never reaped, or stages still running)", left);
    /* The first stage outlives the last: a pipeline that waits only for the last leaves it. */
    char *outlives[] = {"cat", "true"};
    expect_same_as_shell(outlives, 2, input);
    left = grade_count_children();
    grade_expect_true(left == 0, "no stage is left after pipeline exits, the first included",
                      "%d left: wait for every stage, not only the last one", left);
    free(input);
}

/* 8 to 16 stages, each putting its own label in front of every line: the order must hold. */
static void t_many_stages(void)
{
    int n = (int)grade_random(8, MAX_STAGES);
    char *stages[MAX_STAGES];
    for (int s = 0; s < n; s++)
        if (asprintf(&stages[s], "sed \"s/^/%ld /\"", grade_random(100, 999)) == -1)
            grade_fail("the grader ran out of memory");
    char *input = random_lines((int)grade_random(5, 10));
    expect_same_as_shell(stages, n, input);
    for (int s = 0; s < n; s++)
        free(stages[s]);
    free(input);
}

/* No stage, an empty stage, an unknown option: status 2 and the usage.  --help: status 0. */
static void t_bad_arguments(void)
{
    static const char *const bad[][3] = {
        {NULL, NULL, NULL}, {"--bogus", "cat", NULL}, {"cat", "", NULL}, {"  ", NULL, NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        grade_expect_usage_error(
            (char *[]){"pipeline", (char *)bad[i][0], (char *)bad[i][1], (char *)bad[i][2], NULL},
            "");
    grade_expect_help("pipeline");
}

static const struct grade_test tests[] = {
    {"single_stage", "one stage: stdin to stdout through one command", 5, 30, 0, t_single_stage},
    {"matches_shell", "text pipelines print what sh prints", 20, 40, 0, t_matches_shell},
    {"big_data", "megabytes through 3 to 8 stages (they must run at once)", 15, 40, 0, t_big_data},
    {"sigpipe_ends", "yes | head -n K ends (SIGPIPE reaches yes)", 10, 40, 0, t_sigpipe_ends},
    {"last_stage_status", "the exit status is the last stage's $? (128+SIG, 127)", 15, 40, 0,
     t_last_stage_status},
    {"only_std_fds", "each stage holds fds 0, 1 and 2 only (no leaked pipe ends)", 10, 30, 0,
     t_only_std_fds},
    {"no_leftover_children", "every stage is reaped: no zombie, no orphan", 10, 40, 0,
     t_no_leftover_children},
    {"many_stages", "8 to 16 stages, wired in order", 10, 30, 0, t_many_stages},
    {"bad_arguments", "no stage, an empty stage, a bad option: status 2; --help: 0", 5, 30, 0,
     t_bad_arguments},
};

const struct grade_lab grade_lab = {
    "pipeline", "Lab 2: a pipeline runner",
    "stdout must be byte for byte what /bin/sh prints for the same pipeline; stderr is read "
    "only by bad_arguments (for the usage)",
    tests, sizeof tests / sizeof tests[0]};
