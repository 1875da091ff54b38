/* grade.c - the tests of lab 1, a parallel command runner (handout.md says what they check).
 *
 * Every probe is a small /bin/sh script that the test writes into its temporary folder, and
 * the commands given to parallel run it.  The probes learn about concurrency from files:
 * a command creates run.LINE when it starts and removes it just before it exits, so the
 * number of run.* files at any moment is at most the number of commands alive, which is at
 * most the number parallel has started and not yet reaped.  A probe that must see P commands
 * at once waits until P have registered (a barrier): if parallel never runs P at once, it
 * waits for ever and the test fails on its time limit, whatever the speed of the machine.
 * Nothing here measures a duration.
 */
#define _GNU_SOURCE
#include "grader.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long one run of parallel may take before the test calls it hung (the tests' own
 * limits are larger).  A correct solution needs well under a second for each. */
enum { RUN_LIMIT_S = 20 };

/* Most commands one test gives parallel: line numbers index the arrays below. */
enum { MAX_LINES = 512 };

/* ---- small helpers ------------------------------------------------------------------------ */

/* "DIR/name" in the test's temporary folder (a static buffer: use it at once). */
static const char *in_temp(const char *name)
{
    static char path[4][4096];
    static int turn;
    turn = (turn + 1) % 4;
    int n = snprintf(path[turn], sizeof path[turn], "%s/%s", grade_temp_dir(), name);
    if (n < 0 || (size_t)n >= sizeof path[turn])
        grade_fail("the grader's temporary path is too long: %s", grade_temp_dir());
    return path[turn];
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(content, f) == EOF || fclose(f) == EOF)
        grade_fail("the grader could not write %s", path);
}

/* The whole file, malloc'd, or NULL if it does not exist. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    struct grade_text t = {0};
    grade_text_add(&t, "%s", "");
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = '\0';
        grade_text_add(&t, "%s", chunk);
    }
    fclose(f);
    return t.data;
}

/* Run parallel with these arguments (after argv[0]) and this input. */
static void run_parallel(const char *jobs, const char *input, struct grade_run *run)
{
    char *argv[] = {"parallel", jobs ? "-j" : NULL, (char *)jobs, NULL};
    grade_run(argv, input, RUN_LIMIT_S, run);
}

/* Fail with `why` when the run hung, else when it did not exit with `code` (-1: any exit). */
static void expect_finished(const struct grade_run *run, int code, const char *why)
{
    if (run->timed_out)
        grade_fail("parallel did not finish within %d s: %s", RUN_LIMIT_S * grade_timeout_scale(),
                   why);
    if (code >= 0)
        grade_expect_exit("parallel's exit status", run, code);
    else if (!WIFEXITED(run->status))
        grade_fail("parallel %s; stderr: %.300s", grade_describe_status(run), run->err);
}

/* ---- reading parallel's reports ---------------------------------------------------------- */

struct reports {
    int times[MAX_LINES + 1];  /* how many reports named each line */
    int status[MAX_LINES + 1]; /* the status of the last one */
    int order[MAX_LINES + 1];  /* line numbers in the order reported */
    int count;
};

/* Read every "line N: status S" line of stdout; other lines (the commands' own output) are
 * skipped, but a line that starts with "line " must be a report. */
static void parse_reports(const char *out, struct reports *r)
{
    memset(r, 0, sizeof *r);
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "line ", 5) == 0) {
            int line, status, used = 0;
            if (sscanf(p, "line %d: status %d%n", &line, &status, &used) != 2 ||
                (p[used] != '\n' && p[used] != ' ' && p[used] != '\0'))
                grade_fail("this report is not \"line N: status S\": %.*s", (int)len, p);
            if (line < 1 || line > MAX_LINES)
                grade_fail("this report names a line that was not in the input: %.*s", (int)len, p);
            r->times[line]++;
            r->status[line] = status;
            if (r->count < MAX_LINES)
                r->order[r->count++] = line;
        }
        p += len + (p[len] == '\n');
    }
}

/* Every line in `lines` reported exactly once, and nothing else. */
static void expect_each_reported(const struct reports *r, const int *is_command, int last_line)
{
    for (int line = 1; line <= MAX_LINES; line++) {
        int want = line <= last_line && is_command[line] ? 1 : 0;
        if (r->times[line] != want) {
            char what[96];
            snprintf(what, sizeof what, "reports for line %d (%s)", line,
                     line <= last_line ? (is_command[line] ? "a command" : "a blank line")
                                       : "past the end of the input");
            grade_expect_long(what, want, r->times[line]);
        }
    }
}

/* ---- the probes -------------------------------------------------------------------------- */

/* probe.sh ROUND SIZE LINE: register as running, note how many run now, wait until SIZE
 * commands of ROUND have started, note again, unregister.  The notes go to seen.LINE. */
static const char probe_script[] =
    "d=${0%/*}; round=$1; size=$2; line=$3\n"
    "count() { set -- $1; if [ -e \"$1\" ]; then n=$#; else n=0; fi; }\n"
    ": > \"$d/run.$line\"\n"
    "count \"$d/run.*\"; echo $n > \"$d/seen.$line\"\n"
    ": > \"$d/round$round.$line\"\n"
    "count \"$d/round$round.*\"\n"
    "while [ $n -lt $size ]; do sleep 0.01; count \"$d/round$round.*\"; done\n"
    "count \"$d/run.*\"; echo $n >> \"$d/seen.$line\"\n"
    "rm \"$d/run.$line\"\n";

/* Give `rounds` rounds of `size` probe commands; returns the input. */
static char *probe_input(int rounds, int size)
{
    write_file(in_temp("probe.sh"), probe_script);
    struct grade_text input = {0};
    int line = 0;
    for (int r = 1; r <= rounds; r++)
        for (int k = 0; k < size; k++)
            grade_text_add(&input, "sh %s %d %d %d\n", in_temp("probe.sh"), r, size, ++line);
    return input.data;
}

/* The most commands any probe saw running at once; fails if a probe did not run. */
static int most_seen_at_once(int lines)
{
    int most = 0;
    for (int line = 1; line <= lines; line++) {
        char name[32];
        snprintf(name, sizeof name, "seen.%d", line);
        char *seen = read_file(in_temp(name));
        int first, second;
        if (!seen || sscanf(seen, "%d %d", &first, &second) != 2)
            grade_fail("the probe on line %d did not run to its end (no %s)", line, name);
        most = first > most ? first : most;
        most = second > most ? second : most;
        free(seen);
    }
    return most;
}

/* The probes of `rounds` rounds of `size` under `jobs` (NULL: parallel's default). */
static void run_probes(const char *jobs, int rounds, int size)
{
    char *input = probe_input(rounds, size);
    grade_note("ran: parallel%s%s, %d commands like: sh %s 1 %d 1", jobs ? " -j " : "",
               jobs ? jobs : "", rounds * size, in_temp("probe.sh"), size);
    grade_note("each command waits until all %d commands of its round (of %d rounds) run", size,
               rounds);
    struct grade_run run;
    run_parallel(jobs, input, &run);
    char why[256];
    snprintf(why, sizeof why,
             "each command waits until %d of them run at once, so parallel never ran %d at once",
             size, size);
    expect_finished(&run, 0, why);
    int most = most_seen_at_once(rounds * size);
    grade_note("most commands seen running at once: %d", most);
    grade_expect_true(most <= size, "commands running at once never exceed the limit",
                      "%d commands were running at once under a limit of %d", most, size);
    grade_run_free(&run);
    free(input);
}

/* ---- the tests ------------------------------------------------------------------------------ */

/* Every command runs exactly once: each appends to a marker file of its own. */
static void t_runs_each_once(void)
{
    int commands = (int)grade_random(20, 40), blanks = 0;
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%ld", grade_random(1, 4));
    char names[64][24];
    struct grade_text input = {0};
    for (int i = 0; i < commands; i++) {
        if (grade_random(0, 4) == 0) { /* a blank line, or one of spaces */
            grade_text_add(&input, "%s\n", grade_random(0, 1) ? "" : "   ");
            blanks++;
        }
        snprintf(names[i], sizeof names[i], "m%02d-%06lx", i, grade_random(0, 0xffffff));
        grade_text_add(&input, "echo ran >> %s\n", in_temp(names[i]));
    }
    grade_note("ran: parallel -j %s with %d commands like \"echo ran >> %s\", and %d blank lines",
               jobs, commands, in_temp(names[0]), blanks);
    struct grade_run run;
    run_parallel(jobs, input.data, &run);
    expect_finished(&run, -1, "these commands end at once");
    for (int i = 0; i < commands; i++) {
        char *content = read_file(in_temp(names[i]));
        char what[128];
        if (snprintf(what, sizeof what, "what the command \"echo ran >> .../%s\" left", names[i]) >=
            (int)sizeof what)
            grade_fail("the grader's message is too long");
        grade_expect_string(what, "ran\n", content ? content : "(no file: it never ran)");
        free(content);
    }
    grade_run_free(&run);
    free(input.data);
}

/* The status of each line, as the shell's $? would show it. */
/* Each report reaches parallel's stdout when the command ends, not when parallel exits: the
 * second of two commands (-j 2) waits, up to 5 s, for the first one's report to be in the
 * file parallel's stdout is (a file, so stdio buffers it fully unless parallel flushes). */
static void expect_reports_flushed(void)
{
    const char *out = in_temp("reports.txt");
    char command[4200];
    snprintf(command, sizeof command, "exec %s/parallel -j 2 > %s", grade_build_dir(), out);
    struct grade_text input = {0};
    grade_text_add(&input,
                   "true\nfor i in $(seq 100); do grep -q '^line 1:' %s && { echo "
                   "flushed >&2; exit 0; }; sleep 0.05; done; echo not flushed >&2\n",
                   out);
    grade_note("ran: parallel -j 2 > FILE with \"true\" and a command that waits up to 5 s for "
               "line 1's report to be in FILE");
    struct grade_run run;
    grade_run((char *[]){"/bin/sh", "-c", command, NULL}, input.data, RUN_LIMIT_S, &run);
    expect_finished(&run, -1, "both commands end within 5 s");
    grade_expect_true(strstr(run.err, "not flushed") == NULL && strstr(run.err, "flushed"),
                      "line 1's report in the file while line 2 still ran (fflush(stdout) after "
                      "each report: stdout to a file is fully buffered)",
                      "line 2 said: %s", run.err_len ? run.err : "nothing");
    grade_run_free(&run);
    free(input.data);
}

static void t_reports_status(void)
{
    static const struct {
        const char *name;
        int number;
    } signals[] = {{"TERM", SIGTERM},
                   {"KILL", SIGKILL},
                   {"HUP", SIGHUP},
                   {"USR1", SIGUSR1},
                   {"ALRM", SIGALRM}};
    int commands = (int)grade_random(8, 16), line = 0;
    int expected[MAX_LINES + 1] = {0}, is_command[MAX_LINES + 1] = {0};
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%ld", grade_random(1, 3));
    struct grade_text input = {0};
    for (int i = 0; i < commands; i++) {
        if (grade_random(0, 3) == 0) {
            grade_text_add(&input, "\n");
            line++;
        }
        line++;
        is_command[line] = 1;
        if (grade_random(0, 2) == 0) {
            int s = (int)grade_random(0, sizeof signals / sizeof signals[0] - 1);
            grade_text_add(&input, "kill -s %s $$\n", signals[s].name);
            expected[line] = 128 + signals[s].number;
        } else {
            expected[line] = (int)grade_random(0, 125);
            grade_text_add(&input, "exit %d\n", expected[line]);
        }
    }
    grade_note("ran: parallel -j %s with this input (blank lines included):", jobs);
    for (const char *p = input.data; *p;) {
        size_t len = strcspn(p, "\n");
        grade_note("  %.*s", (int)len, p);
        p += len + 1;
    }
    struct grade_run run;
    run_parallel(jobs, input.data, &run);
    expect_finished(&run, -1, "these commands end at once");
    struct reports r;
    parse_reports(run.out, &r);
    expect_each_reported(&r, is_command, line);
    for (int l = 1; l <= line; l++)
        if (is_command[l]) {
            char what[64];
            snprintf(what, sizeof what, "the status reported for line %d", l);
            grade_expect_long(what, expected[l], r.status[l]);
        }
    grade_run_free(&run);
    free(input.data);
    expect_reports_flushed();
}

/* 0 when every command exited with 0, 1 otherwise. */
static void t_exit_status(void)
{
    struct {
        char input[256];
        int code;
        const char *what;
    } cases[4];
    int failing = (int)grade_random(1, 5);
    snprintf(cases[0].input, sizeof cases[0].input, "true\nexit 0\n\ntrue\n");
    cases[0].code = 0;
    cases[0].what = "every command exits with 0";
    snprintf(cases[1].input, sizeof cases[1].input, "true\nexit %ld\ntrue\n", grade_random(1, 125));
    cases[1].code = 1;
    cases[1].what = "one command exits with a non-zero status";
    snprintf(cases[2].input, sizeof cases[2].input, "true\nkill -s TERM $$\n");
    cases[2].code = 1;
    cases[2].what = "one command is killed by a signal";
    snprintf(cases[3].input, sizeof cases[3].input, "%s", failing % 2 ? "" : "\n  \n\n");
    cases[3].code = 0;
    cases[3].what = "no command at all (empty or blank input)";
    for (int i = 0; i < 4; i++) {
        grade_note("ran: parallel -j 2 when %s", cases[i].what);
        struct grade_run run;
        run_parallel("2", cases[i].input, &run);
        expect_finished(&run, cases[i].code, "these commands end at once");
        grade_run_free(&run);
    }
}

/* P commands that each wait until P run at once: they end only if parallel runs P at once. */
static void t_reaches_limit(void)
{
    int size = (int)grade_random(2, 6);
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%d", size);
    run_probes(jobs, 1, size);
}

/* Rounds of P probes: never more than P seen at once, and every round reaches P. */
static void t_never_exceeds_limit(void)
{
    int size = (int)grade_random(2, 5);
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%d", size);
    run_probes(jobs, (int)grade_random(3, 4), size);
}

/* long.sh N: wait until N short commands have finished (each leaves a done.LINE file). */
static const char long_script[] =
    "d=${0%/*}; want=$1\n"
    "count() { set -- $1; if [ -e \"$1\" ]; then n=$#; else n=0; fi; }\n"
    "count \"$d/done.*\"\n"
    "while [ $n -lt $want ]; do sleep 0.01; count \"$d/done.*\"; done\n";

/* watch.sh: parallel's state and its count of times run, twice, 0.5 s apart, while this
 * command (the only one) runs. */
static const char watch_script[] = "p=$PPID; sleep 0.3\n"
                                   "look() { set -- $(sed 's/.*) //' /proc/$p/stat); s=$1; r=$(cut "
                                   "-d' ' -f3 /proc/$p/schedstat 2>/dev/null || echo 0); }\n"
                                   "look; s1=$s; r1=$r; sleep 0.5; look\n"
                                   "echo \"$s1 $s $((r - r1))\" > ${0%/*}/watch\n";

/* While its one command runs, parallel sleeps in waitpid: a loop of waitpid(..., WNOHANG)
 * (with or without a nap) runs again and again, which the kernel counts, however busy the
 * machine is. */
static void expect_parallel_sleeps(void)
{
    write_file(in_temp("watch.sh"), watch_script);
    struct grade_text input = {0};
    grade_text_add(&input, "exec sh %s\n", in_temp("watch.sh")); /* exec: $PPID is parallel */
    grade_note("ran: parallel -j 1 with one command that reads parallel's state and its count of "
               "times run (/proc/PPID/stat, /proc/PPID/schedstat) twice, 0.5 s apart");
    struct grade_run run;
    run_parallel("1", input.data, &run);
    expect_finished(&run, 0, "the command ends within a second");
    char *seen = read_file(in_temp("watch"));
    char first = 0, second = 0;
    long runs = -1;
    if (!seen || sscanf(seen, " %c %c %ld", &first, &second, &runs) != 3)
        grade_fail("the watching command did not report (it wrote: %s)", seen ? seen : "nothing");
    int asleep = first == 'S' && second == 'S' && (runs == 0 || grade_under_valgrind());
    grade_expect_true(asleep,
                      "parallel sleeps while its command runs (waitpid(-1, &status, 0), "
                      "not WNOHANG in a loop)",
                      "state %c then %c, and it ran %ld times in 0.5 s", first, second, runs);
    free(seen);
    grade_run_free(&run);
    free(input.data);
}

/* One long command that ends only after every short one: batches of P never get there. */
static void t_refills_at_once(void)
{
    int jobs = (int)grade_random(2, 4), shorts = (int)grade_random(2 * jobs, 3 * jobs);
    int long_line = (int)grade_random(1, jobs);
    write_file(in_temp("long.sh"), long_script);
    struct grade_text input = {0};
    for (int line = 1; line <= shorts + 1; line++)
        if (line == long_line)
            grade_text_add(&input, "sh %s %d\n", in_temp("long.sh"), shorts);
        else
            grade_text_add(&input, ": > %s/done.%d\n", grade_temp_dir(), line);
    char text[16];
    snprintf(text, sizeof text, "%d", jobs);
    grade_note("ran: parallel -j %d, line %d \"sh %s %d\" waits until the %d other lines (\": > "
               "%s/done.LINE\") have all finished",
               jobs, long_line, in_temp("long.sh"), shorts, shorts, grade_temp_dir());
    struct grade_run run;
    run_parallel(text, input.data, &run);
    expect_finished(&run, 0,
                    "the long command waits for all the short ones, so they must start in the "
                    "other slots while it runs: does parallel wait for a whole batch of P before "
                    "starting more, instead of starting the next command as soon as ANY ends?");
    grade_run_free(&run);
    free(input.data);
    expect_parallel_sleeps();
}

/* With -j 1 the commands run one after the other, in input order, and report in that order. */
static void t_j1_input_order(void)
{
    int commands = (int)grade_random(5, 12);
    struct grade_text input = {0}, expected = {0}, got = {0};
    for (int line = 1; line <= commands; line++) {
        grade_text_add(&input, "echo %d >> %s\n", line, in_temp("order"));
        grade_text_add(&expected, "%d ", line);
    }
    grade_note("ran: parallel -j 1 with %d commands \"echo LINE >> %s\"", commands,
               in_temp("order"));
    struct grade_run run;
    run_parallel("1", input.data, &run);
    expect_finished(&run, 0, "these commands end at once");
    char *order = read_file(in_temp("order"));
    for (char *c = order; c && *c; c++)
        *c = *c == '\n' ? ' ' : *c;
    grade_expect_string("the order the commands ran in", expected.data, order);
    struct reports r;
    parse_reports(run.out, &r);
    for (int i = 0; i < r.count; i++)
        grade_text_add(&got, "%d ", r.order[i]);
    grade_expect_string("the order of the reports", expected.data, got.data ? got.data : "");
    free(order);
    grade_run_free(&run);
    free(input.data);
    free(expected.data);
    free(got.data);
}

/* Without -j: as many at once as the CPUs parallel may use (this test restricts them first,
 * so that $FORKLORE_GRADE_CPUS is honoured by parallel's sched_getaffinity too). */
static void t_default_jobs(void)
{
    int cpus = grade_usable_cpus();
    cpu_set_t mine, chosen;
    if (sched_getaffinity(0, sizeof mine, &mine) == -1)
        grade_fail("the grader could not read its CPU set: %s", strerror(errno));
    CPU_ZERO(&chosen);
    for (int cpu = 0, taken = 0; cpu < CPU_SETSIZE && taken < cpus; cpu++)
        if (CPU_ISSET(cpu, &mine)) {
            CPU_SET(cpu, &chosen);
            taken++;
        }
    if (sched_setaffinity(0, sizeof chosen, &chosen) == -1)
        grade_fail("the grader could not set its CPU set: %s", strerror(errno));
    grade_note("parallel may use %d CPUs here (sched_getaffinity), so it should run %d at once",
               cpus, cpus);
    run_probes(NULL, 2, cpus);
}

/* A command must not read parallel's own stdin, which holds the commands still to come. */
static void t_stdin_is_dev_null(void)
{
    int commands = (int)grade_random(2, 4);
    struct grade_text input = {0};
    for (int line = 1; line <= commands; line++)
        grade_text_add(&input, "readlink /proc/$$/fd/0 > %s/stdin.%d\n", grade_temp_dir(), line);
    /* As the first thing the shell does: once it has forked a command of its own, it runs with
     * an empty mask whatever it was given. */
    for (int line = 1; line <= commands; line++)
        grade_text_add(&input, "exec grep SigBlk /proc/self/status > %s/mask.%d\n",
                       grade_temp_dir(), line);
    grade_note("ran: parallel -j 2 with %d commands like \"readlink /proc/$$/fd/0 > %s/stdin.1\", "
               "then as many like \"exec grep SigBlk /proc/self/status > %s/mask.1\" (a program "
               "keeps across exec the mask it was given)",
               commands, grade_temp_dir(), grade_temp_dir());
    struct grade_run run;
    run_parallel("2", input.data, &run);
    expect_finished(&run, -1, "these commands end at once");
    for (int line = 1; line <= commands; line++) {
        char name[32], what[192];
        snprintf(name, sizeof name, "stdin.%d", line);
        snprintf(what, sizeof what, "the stdin of the command on line %d", line);
        char *got = read_file(in_temp(name));
        grade_expect_string(what, "/dev/null\n", got ? got : "(nothing: the command did not run)");
        free(got);
        /* A mask survives exec: one left blocked around fork would start the command deaf to
         * Ctrl-C. */
        snprintf(name, sizeof name, "mask.%d", line);
        snprintf(what, sizeof what,
                 "the signals blocked in the command that wrote mask.%d (the mask "
                 "parallel blocked around fork must be restored in the child before exec)",
                 line);
        got = read_file(in_temp(name));
        grade_expect_string(what, "SigBlk:\t0000000000000000\n", got ? got : "(nothing)");
        free(got);
    }
    grade_run_free(&run);
    free(input.data);
}

/* After parallel ends, nothing it started is left: no zombie, no orphan. */
static void t_no_leftover_children(void)
{
    int commands = (int)grade_random(6, 12), is_command[MAX_LINES + 1] = {0};
    struct grade_text input = {0};
    for (int line = 1; line <= commands; line++) {
        static const char *const kinds[] = {"true", "exit 3", "kill -s KILL $$", "sleep 0"};
        grade_text_add(&input, "%s\n", kinds[grade_random(0, 3)]);
        is_command[line] = 1;
    }
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%ld", grade_random(2, 4));
    grade_note("ran: parallel -j %s with %d commands (true, exit 3, kill -s KILL $$, sleep 0)",
               jobs, commands);
    struct grade_run run;
    run_parallel(jobs, input.data, &run);
    expect_finished(&run, -1, "these commands end at once");
    int left = grade_count_children();
    grade_expect_true(left == 0, "no process parallel started is left after it exits",
                      "%d left (zombies it never reaped, or commands still running that came "
                      "back to the grader as orphans)",
                      left);
    struct reports r;
    parse_reports(run.out, &r);
    expect_each_reported(&r, is_command, commands);
    grade_run_free(&run);
    free(input.data);
}

/* interrupt.sh, sourced by the command "d=DIR want=K; . DIR/interrupt.sh" so that it runs in
 * the shell parallel started (whose $PPID is parallel): wait until K sleepers are running,
 * then Ctrl-C parallel. */
static const char interrupt_script[] =
    "count() { set -- $1; if [ -e \"$1\" ]; then n=$#; else n=0; fi; }\n"
    "count \"$d/pid.*\"\n"
    "while [ $n -lt $want ]; do sleep 0.01; count \"$d/pid.*\"; done\n"
    "kill -s INT $PPID\n"
    "exec sleep 300 >/dev/null 2>&1\n";

/* SIGKILL of parallel, which no handler sees: its commands must die with it (each child's
 * prctl(PR_SET_PDEATHSIG, SIGKILL)), or they go on as orphans. */
static void expect_no_orphans_after_sigkill(void)
{
    int sleepers = (int)grade_random(2, 3);
    struct grade_text input = {0};
    for (int line = 1; line <= sleepers; line++)
        grade_text_add(&input, "echo $$ > %s/orphan.%d; exec sleep 300 >/dev/null 2>&1\n",
                       grade_temp_dir(), line);
    grade_text_add(&input,
                   "while [ $(ls %s | grep -c orphan) -lt %d ]; do sleep 0.01; done; kill "
                   "-KILL $PPID\n",
                   grade_temp_dir(), sleepers);
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%d", sleepers + 1);
    grade_note("then: parallel -j %s with %d \"exec sleep 300\" and one command that sends SIGKILL "
               "to parallel once they all run",
               jobs, sleepers);
    struct grade_run run;
    run_parallel(jobs, input.data, &run);
    for (int line = 1; line <= sleepers; line++) {
        char name[32];
        snprintf(name, sizeof name, "orphan.%d", line);
        char *text = read_file(in_temp(name));
        pid_t pid = text ? (pid_t)atol(text) : 0;
        free(text);
        double deadline = grade_now() + 2.0 * grade_timeout_scale();
        char state = pid > 0 ? grade_process_state(pid, NULL) : 0;
        while (state != 0 && state != 'Z' && grade_now() < deadline) {
            grade_pause_ms(10);
            state = grade_process_state(pid, NULL);
        }
        grade_expect_true(state == 0 || state == 'Z',
                          "after SIGKILL of parallel, no command it "
                          "started is left running (each child must die with its parent: "
                          "prctl(PR_SET_PDEATHSIG, SIGKILL), as the handout says)",
                          "the command on line %d (pid %d) was still running 2 s later", line,
                          (int)pid);
    }
    grade_run_free(&run);
    free(input.data);
}

/* SIGINT: parallel kills and reaps its running commands, then dies of SIGINT. */
static void t_interrupt_cleans_up(void)
{
    int sleepers = (int)grade_random(2, 4), killer = (int)grade_random(1, sleepers + 1);
    write_file(in_temp("interrupt.sh"), interrupt_script);
    struct grade_text input = {0};
    for (int line = 1; line <= sleepers + 1; line++)
        if (line == killer)
            grade_text_add(&input, "d=%s want=%d; . %s\n", grade_temp_dir(), sleepers,
                           in_temp("interrupt.sh"));
        else
            grade_text_add(&input, "echo $$ > %s/pid.%d; exec sleep 300 >/dev/null 2>&1\n",
                           grade_temp_dir(), line);
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%d", sleepers + 1);
    grade_note("ran: parallel -j %s with %d commands \"echo $$ > .../pid.LINE; exec sleep 300\"; "
               "once they all run, line %d sends SIGINT to parallel (as Ctrl-C would)",
               jobs, sleepers, killer);
    struct grade_run run;
    run_parallel(jobs, input.data, &run);
    if (run.timed_out)
        grade_fail("parallel did not end within %d s of its SIGINT (or never ran all %d commands "
                   "at once)",
                   RUN_LIMIT_S * grade_timeout_scale(), sleepers + 1);
    int died_of_sigint = (WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGINT) ||
                         (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 128 + SIGINT);
    grade_expect_true(died_of_sigint, "parallel ends as if killed by SIGINT (status 130)", "%s",
                      grade_describe_status(&run));
    int left = grade_count_children();
    grade_expect_true(left == 0, "no command is left running (or unreaped) after the SIGINT",
                      "%d left: Ctrl-C must kill AND reap the running commands", left);
    grade_run_free(&run);
    free(input.data);
    expect_no_orphans_after_sigkill();
}

/* Bad arguments: a reason and the usage on stderr, status 2.  --help: usage on stdout, 0. */
static void t_bad_arguments(void)
{
    static const char *const bad[][3] = {{"-j", "0", NULL},
                                         {"-j", "many", NULL},
                                         {"-j", NULL, NULL},
                                         {"--bogus", NULL, NULL},
                                         {"-j", "2", "extra"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        grade_expect_usage_error(
            (char *[]){"parallel", (char *)bad[i][0], (char *)bad[i][1], (char *)bad[i][2], NULL},
            "true\n");
    grade_expect_help("parallel");
}

static const struct grade_test tests[] = {
    {"runs_each_once", "every command runs exactly once; blank lines are skipped", 15, 30, 0,
     t_runs_each_once},
    {"reports_status", "each line's status is reported as the shell's $?, flushed at once", 15, 30,
     0, t_reports_status},
    {"exit_status", "parallel exits 0 only when every command exited 0", 5, 30, 0, t_exit_status},
    {"reaches_limit", "with -j P, P commands do run at the same time", 10, 30, 0, t_reaches_limit},
    {"never_exceeds_limit", "with -j P, never more than P at once, round after round", 10, 40, 0,
     t_never_exceeds_limit},
    {"refills_at_once",
     "the next command starts as soon as any one ends; parallel sleeps meanwhile", 15, 30, 0,
     t_refills_at_once},
    {"j1_input_order", "with -j 1, commands run and report in input order", 5, 30, 0,
     t_j1_input_order},
    {"default_jobs", "without -j, as many at once as the usable CPUs", 5, 40, 0, t_default_jobs},
    {"stdin_is_dev_null", "commands read /dev/null, with no signal blocked", 5, 30, 0,
     t_stdin_is_dev_null},
    {"no_leftover_children", "every command is reaped: no zombie, no orphan", 5, 30, 0,
     t_no_leftover_children},
    {"interrupt_cleans_up", "SIGINT kills and reaps the running commands; SIGKILL leaves no orphan",
     5, 30, 0, t_interrupt_cleans_up},
    {"bad_arguments", "bad arguments: reason + usage, status 2; --help: status 0", 5, 30, 0,
     t_bad_arguments},
};

const struct grade_lab grade_lab = {
    "parallel", "Lab 1: a parallel command runner",
    "the reports may come in any order (the order the commands end), except with -j 1, where "
    "they must follow the input; lines of stdout that do not start with \"line \" are ignored",
    tests, sizeof tests / sizeof tests[0]};
