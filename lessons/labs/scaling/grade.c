#define _GNU_SOURCE
/* grade.c - the tests of lab 6 (scaling: run, explain, speed up), run by
 * `make grade LAB=scaling`.
 *
 * Three kinds of test:
 *   - count_primes_parallel (parallel_primes.c) against the grader's own count, a sieve (a
 *     different algorithm from trial division), for random ranges and worker counts, and
 *     what it leaves behind (children, zombies, descriptors);
 *   - answers.txt (in the student's folder, $FORKLORE_LAB_SRC) against the student's own
 *     benchmark data: fork_join.csv in $FORKLORE_BENCH_DATA, or else in
 *     $FORKLORE_ROOT/plots/data, where `make bench` writes it;
 *   - the one timed test of the lab, the speedup gate: 2 workers at least 1.25 times faster
 *     than 1 on the same range.  It runs the two side by side, 1 worker then 2 workers, five
 *     times each, and compares the fastest run of each: another program on the machine can
 *     only make a run slower, so the minimum is the run that was least disturbed.  When the
 *     ratio falls short it makes up to ten more rounds (a busy machine); if it still falls
 *     short, it measures the machine itself (two plain loops against one), and a machine that
 *     cannot give two CPUs' worth right now leaves the gate not graded (grade_skip) instead of
 *     failing it.  Not graded with fewer than 2 usable CPUs either (min_cpus).  The fastest
 *     2-worker run must also show its children computing at once (their CPU time over its
 *     wall time), which no sequential version can, however the load on the machine varies.
 */
#include "grader.h"
#include "parallel_primes.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the grader's own answers ---------------------------------------------------------------- */

/* The primes in [low, high) by a sieve of Eratosthenes up to high. */
static long sieve_count(long low, long high)
{
    if (high <= 2 || high <= low)
        return 0;
    char *composite = calloc((size_t)high, 1);
    if (!composite)
        grade_fail("the grader ran out of memory (a sieve up to %ld)", high);
    long count = 0;
    for (long i = 2; i < high; i++) {
        if (composite[i])
            continue;
        if (i >= low)
            count++;
        for (long j = i * i; j < high; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}

static void expect_count(long low, long high, int workers)
{
    errno = 0;
    long got = count_primes_parallel(low, high, workers);
    if (got == -1)
        grade_fail("count_primes_parallel(%ld, %ld, %d) returned -1: %s", low, high, workers,
                   strerror(errno));
    long expected = sieve_count(low, high), tail = (high - low) % workers;
    char what[256];
    int n = snprintf(what, sizeof what, "count_primes_parallel(%ld, %ld, %d)", low, high, workers);
    /* Two mistakes that lose a count we can name: the one even prime, the split's remainder. */
    if (got == expected - 1 && low <= 2 && 2 < high)
        snprintf(what + n, sizeof what - (size_t)n,
                 " (one short, and 2 is in the range: is the "
                 "even prime 2 counted?)");
    else if (got < expected && tail > 0 && expected - got <= sieve_count(high - tail, high))
        snprintf(what + n, sizeof what - (size_t)n,
                 " (short by %ld, no more than the primes "
                 "among the last %ld numbers: is the remainder of (high - low) / workers counted "
                 "by no worker?)",
                 expected - got, tail);
    grade_expect_long(what, expected, got);
}

/* ---- counting -------------------------------------------------------------------------------- */

static void test_counts_correct(void)
{
    int odd1 = 2 * (int)grade_random(1, 4) + 1, odd2 = 2 * (int)grade_random(1, 4) + 1;
    int workers[] = {1, 2, odd1, odd2, (int)grade_random(2, 2L * grade_usable_cpus() + 1)};
    for (size_t i = 0; i < sizeof workers / sizeof workers[0]; i++) {
        long low = grade_random(0, 2000000), high = low + grade_random(1, 300000);
        if (i == 0)
            low = 0; /* once from 0: 0, 1 and 2 are special cases of a prime test */
        grade_note("count_primes_parallel(%ld, %ld, %d)", low, high, workers[i]);
        expect_count(low, high, workers[i]);
    }
}

/* Small ranges: empty, 0 to 2, and more workers than numbers (some get nothing). */
static void test_tiny_ranges(void)
{
    long low = grade_random(0, 1000000), size = grade_random(1, 6);
    int many = (int)grade_random(8, 16);
    grade_note("empty ranges; [0, 3) and [0, 10) with %d workers; [%ld, %ld) with %ld to %ld "
               "workers",
               many, low, low + size, size + 1, size + 9);
    expect_count(low, low, 1);
    expect_count(0, 0, 3);
    expect_count(0, 3, many);
    expect_count(0, 10, many);
    expect_count(2, 3, 5);
    expect_count(1, 2, 2);
    for (long w = size + 1; w <= size + 9; w += 4)
        expect_count(low, low + size, (int)w);
    expect_count(999983, 999984, 3); /* a prime alone */
}

/* Every child reaped, every descriptor closed, after several calls. */
static void test_no_zombies_or_leaks(void)
{
    int before = grade_count_open_fds();
    int calls = (int)grade_random(4, 8);
    grade_note("%d calls with 1 to 9 workers; then this process's children and open "
               "descriptors, against before",
               calls);
    for (int c = 0; c < calls; c++) {
        long low = grade_random(0, 500000);
        expect_count(low, low + grade_random(1000, 50000), (int)grade_random(1, 9));
    }
    grade_expect_long("child processes left (running or zombie) after the calls", 0,
                      grade_count_children());
    grade_expect_long("open file descriptors after the calls (before them: the same)", before,
                      grade_count_open_fds());
}

/* ---- the benchmark data and answers.txt ------------------------------------------------------ */

/* The benchmark data the answers are checked against: the copy of fork_join.csv handed in
 * beside answers.txt (what an instructor or Gradescope grades), else the data folder
 * $FORKLORE_BENCH_DATA, else plots/data at the top of the repository, where `make bench`
 * writes it. */
static void data_file(char *csv, size_t size)
{
    const char *src = getenv("FORKLORE_LAB_SRC");
    snprintf(csv, size, "%s/fork_join.csv", src && *src ? src : ".");
    if (access(csv, R_OK) == 0)
        return;
    const char *dir = getenv("FORKLORE_BENCH_DATA");
    if (dir && *dir) {
        snprintf(csv, size, "%s/fork_join.csv", dir);
        return;
    }
    const char *root = getenv("FORKLORE_ROOT");
    snprintf(csv, size, "%s/plots/data/fork_join.csv", root && *root ? root : ".");
}

/* One CSV field starting at *p (quoted or not), copied into out; *p moves past its comma. */
static void next_field(const char **p, char *out, size_t size)
{
    size_t n = 0;
    const char *s = *p;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++)
            if (n + 1 < size)
                out[n++] = *s;
        if (*s == '"')
            s++;
    } else {
        for (; *s && *s != ',' && *s != '\n' && *s != '\r'; s++)
            if (n + 1 < size)
                out[n++] = *s;
    }
    out[n] = '\0';
    if (*s == ',')
        s++;
    *p = s;
}

/* The value of `column` in the row of fork_join.csv whose series is `series` and x is `x`. */
static int csv_value(const char *path, const char *series, int x, const char *column, double *value)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return -1;
    char line[4096], field[256];
    int series_col = -1, x_col = -1, want_col = -1, found = 0;
    if (fgets(line, sizeof line, file)) {
        const char *p = line;
        for (int c = 0; *p && *p != '\n'; c++) {
            next_field(&p, field, sizeof field);
            if (strcmp(field, "series") == 0)
                series_col = c;
            if (strcmp(field, "x") == 0)
                x_col = c;
            if (strcmp(field, column) == 0)
                want_col = c;
        }
    }
    while (!found && series_col >= 0 && x_col >= 0 && want_col >= 0 &&
           fgets(line, sizeof line, file)) {
        const char *p = line;
        int series_ok = 0, x_ok = 0;
        double v = NAN;
        for (int c = 0; *p && *p != '\n'; c++) {
            next_field(&p, field, sizeof field);
            if (c == series_col)
                series_ok = strcmp(field, series) == 0;
            if (c == x_col)
                x_ok = atof(field) == x;
            if (c == want_col)
                v = atof(field);
        }
        if (series_ok && x_ok && !isnan(v)) {
            *value = v;
            found = 1;
        }
    }
    fclose(file);
    return found ? 0 : 1;
}

/* answers.txt: "key: value" lines; # starts a comment line; explanation runs to the end. */
struct answers {
    char text[16384];
};

static void load_answers(struct answers *a, char *path, size_t path_size)
{
    const char *folder = getenv("FORKLORE_LAB_SRC");
    if (!folder || !*folder)
        grade_fail("FORKLORE_LAB_SRC is not set: run the grader with `make grade LAB=scaling`");
    snprintf(path, path_size, "%s/answers.txt", folder);
    FILE *file = fopen(path, "r");
    if (!file)
        grade_fail("cannot read %s (%s): hand in answers.txt beside parallel_primes.c", path,
                   strerror(errno));
    size_t n = fread(a->text, 1, sizeof a->text - 1, file);
    a->text[n] = '\0';
    fclose(file);
}

/* The text after "key:" on its line (leading blanks skipped), or NULL when there is no such
 * line.  Comment lines (#) do not count. */
static const char *answer_of(const struct answers *a, const char *key)
{
    size_t key_len = strlen(key);
    for (const char *line = a->text; *line;) {
        const char *start = line;
        while (*start == ' ' || *start == '\t')
            start++;
        if (*start != '#' && strncmp(start, key, key_len) == 0 && start[key_len] == ':') {
            const char *value = start + key_len + 1;
            while (*value == ' ' || *value == '\t')
                value++;
            return value;
        }
        line += strcspn(line, "\n");
        if (*line == '\n')
            line++;
    }
    return NULL;
}

static double number_answer(const struct answers *a, const char *key, const char *path)
{
    const char *value = answer_of(a, key);
    if (!value)
        grade_fail("%s has no line \"%s: ...\" (keep every key of the template)", path, key);
    char line[128];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(value, "\n"), value);
    char *end;
    errno = 0;
    double number = strtod(line, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    if (end == line || errno || (*end && *end != '#') || !isfinite(number))
        grade_fail("%s: \"%s:\" must be followed by one number on the same line (the template "
                   "shows the format), found \"%s\"",
                   path, key, line);
    return number;
}

/* One figure of answers.txt against the data: within 2%, or 0.01, whichever is looser. */
static void check_figure(const struct answers *a, const char *path, const char *key, double truth,
                         const char *from)
{
    double given = number_answer(a, key, path);
    double tolerance = fmax(0.02 * fabs(truth), 0.01);
    if (fabs(given - truth) <= tolerance)
        return;
    char expected[512], got[64];
    snprintf(expected, sizeof expected, "within 2%% (or 0.01) of %s", from);
    snprintf(got, sizeof got, "%g", given);
    grade_expect_string(key, expected, got);
}

static const char STRONG[] = "fork-join, striped split";
static const char TWIN[] = "fork-join, striped split, 2 per CPU";
static const char WEAK[] = "fork-join, weak scaling";

/* A number from the data, or a failure that says how to get the data. */
static double data_value(const char *csv, const char *series, int x, const char *column)
{
    double value = 0;
    int rc = csv_value(csv, series, x, column, &value);
    if (rc == -1)
        grade_fail("no benchmark data: %s does not exist.  Run `make bench` first (or, for this "
                   "workload alone, build/bin/bench --only fork_join --data plots/data --plots "
                   "plots), then copy plots/data/fork_join.csv beside answers.txt",
                   csv);
    if (rc == 1)
        grade_fail("%s has no row for series \"%s\" at x=%d with a column %s: %s", csv, series, x,
                   column,
                   x > 1 ? "was it measured with fewer than 2 usable CPUs (taskset)? The answers "
                           "need a run on at least 2"
                         : "is it a fork_join.csv written by bench?");
    return value;
}

static void test_answers_match_data(void)
{
    char csv[4200], path[4200];
    data_file(csv, sizeof csv);
    grade_note("benchmark data: %s", csv);
    double t1 = data_value(csv, STRONG, 1, "wall_median_ns") / 1e9;
    double t2 = data_value(csv, STRONG, 2, "wall_median_ns") / 1e9;
    double speedup = data_value(csv, STRONG, 2, "speedup");
    double efficiency = data_value(csv, STRONG, 2, "efficiency");
    double twin = data_value(csv, TWIN, 2, "speedup");
    double weak = data_value(csv, WEAK, 2, "speedup");
    static struct answers a;
    load_answers(&a, path, sizeof path);
    grade_note("answers: %s", path);
    check_figure(&a, path, "time_1cpu_s", t1,
                 "series \"fork-join, striped split\", x=1: wall_median_ns / 1e9");
    check_figure(&a, path, "time_2cpu_s", t2,
                 "series \"fork-join, striped split\", x=2: wall_median_ns / 1e9");
    check_figure(&a, path, "speedup_2cpu", speedup,
                 "series \"fork-join, striped split\", x=2: speedup (= T(1) / T(2))");
    check_figure(&a, path, "efficiency_2cpu", efficiency,
                 "the speedup at x=2 divided by 2 (the efficiency column)");
    check_figure(&a, path, "karp_flatt_2cpu", (1 / speedup - 0.5) / 0.5,
                 "the Karp-Flatt serial fraction (1/S - 1/k) / (1 - 1/k) with k = 2 and S the "
                 "speedup at x=2");
    check_figure(&a, path, "oversubscribed_speedup_2cpu", twin,
                 "series \"fork-join, striped split, 2 per CPU\", x=2: speedup");
    check_figure(&a, path, "weak_scaled_speedup_2cpu", weak,
                 "series \"fork-join, weak scaling\", x=2: speedup (the scaled speedup)");
}

/* The explanation is graded for presence only (your instructor reads it): 30 words or more. */
static void test_explanation_written(void)
{
    char path[4200];
    static struct answers a;
    load_answers(&a, path, sizeof path);
    const char *text = answer_of(&a, "explanation");
    if (!text)
        grade_fail("%s has no line \"explanation: ...\"", path);
    int words = 0, in_word = 0;
    for (const char *c = text; *c; c++) {
        if (*c == '#' && (c == text || c[-1] == '\n')) { /* skip comment lines */
            c += strcspn(c, "\n");
            if (!*c)
                break;
            continue;
        }
        if (isspace((unsigned char)*c))
            in_word = 0;
        else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    grade_note("explanation: %d words (graded for presence only: 30 words or more)", words);
    grade_expect_true(words >= 30,
                      "the explanation after \"explanation:\" must be a paragraph "
                      "of at least 30 words",
                      "%d words", words);
}

/* ---- the speedup gate ------------------------------------------------------------------------ */

/* Five rounds; on a busy machine, up to ten more before the test gives up.  Extra rounds
 * cannot help a sequential version: its fastest 2-worker run is never much faster than its
 * fastest 1-worker run, however many of each are made. */
enum { GATE_ROUNDS = 5, GATE_MAX_ROUNDS = 15 };
#define GATE_NEEDED 1.25
#define GATE_TOGETHER 1.2

/* The CPU time of every child this process has reaped so far. */
static double children_cpu_s(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_CHILDREN, &usage) == -1)
        grade_fail("getrusage: %s", strerror(errno));
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

/* One timed call.  *cpu gets the CPU time its children used (it must reap them all). */
static double timed_count(long low, long high, int workers, long expected, double *cpu)
{
    double cpu_before = children_cpu_s();
    double start = grade_now();
    long got = count_primes_parallel(low, high, workers);
    double took = grade_now() - start;
    *cpu = children_cpu_s() - cpu_before;
    if (got != expected)
        grade_fail("count_primes_parallel(%ld, %ld, %d) returned %ld; the right count is %ld", low,
                   high, workers, got, expected);
    return took;
}

/* A busy loop of about `n` divisions, the kind of work a prime test does. */
static long spin(long n)
{
    volatile long sink = 0;
    for (long i = 1; i <= n; i++)
        sink += (n + i * 7) % i;
    return sink;
}

/* How much faster this machine runs 2 processes than 1, right now (2.0 when it has two idle
 * CPUs): two children spinning together against one alone, best of 3.  Shown when the gate
 * fails, to tell a busy machine from a sequential program. */
static double machine_capacity(void)
{
    const long n = 10000000;
    double alone = INFINITY, together = INFINITY;
    for (int round = 0; round < 3; round++) {
        for (int k = 1; k <= 2; k++) {
            double start = grade_now();
            pid_t pids[2];
            for (int c = 0; c < k; c++) {
                pids[c] = fork();
                if (pids[c] == -1)
                    return NAN;
                if (pids[c] == 0)
                    _exit(spin(n) == -1);
            }
            for (int c = 0; c < k; c++)
                while (waitpid(pids[c], NULL, 0) == -1 && errno == EINTR)
                    ;
            double took = grade_now() - start;
            if (k == 1)
                alone = fmin(alone, took);
            else
                together = fmin(together, took);
        }
    }
    return 2 * alone / together;
}

static void test_speedup_gate(void)
{
    /* About 0.3 s for one worker on the 2-CPU machine the lab was written on. */
    long low = grade_random(0, 500000), high = low + 3000000;
    long expected = sieve_count(low, high);
    grade_note("count_primes_parallel(%ld, %ld, W): W = 1 then W = 2, %d times each, "
               "interleaved; the fastest run of each compared",
               low, high, GATE_ROUNDS);
    /* The wall-clock ratio alone can be fooled: on a machine whose load comes and goes, a
     * sequential version's fastest 2-worker run may meet a quiet moment its 1-worker runs
     * never had.  So the fastest 2-worker run must also show its two children computing at
     * once: their CPU time at least GATE_TOGETHER times its wall time (a version that waits
     * for one child before forking the next can never get above 1). */
    double best1 = INFINITY, best2 = INFINITY, together = 0;
    int rounds = 0;
    while (rounds < GATE_ROUNDS || ((best1 / best2 < GATE_NEEDED || together < GATE_TOGETHER) &&
                                    rounds < GATE_MAX_ROUNDS)) {
        double cpu;
        best1 = fmin(best1, timed_count(low, high, 1, expected, &cpu));
        double took = timed_count(low, high, 2, expected, &cpu);
        if (took < best2) {
            best2 = took;
            together = cpu / took;
        }
        rounds++;
    }
    double ratio = best1 / best2;
    grade_report("1 worker: %.3f s, 2 workers: %.3f s (fastest of %d each): 2 workers are "
                 "%.2f times as fast (needed: %.2f); in that 2-worker run the children "
                 "computed %.2f CPUs' worth at once (needed: %.2f)",
                 best1, best2, rounds, ratio, GATE_NEEDED, together, GATE_TOGETHER);
    if (ratio < GATE_NEEDED || together < GATE_TOGETHER) {
        char load[64] = "?";
        FILE *file = fopen("/proc/loadavg", "r");
        if (file) {
            if (!fgets(load, sizeof load, file))
                snprintf(load, sizeof load, "?");
            load[strcspn(load, "\n")] = '\0';
            fclose(file);
        }
        double capacity = machine_capacity();
        /* A machine that cannot give two CPUs' worth cannot judge the program: say so, and
         * leave the gate out rather than fail it (as on a 1-CPU machine). */
        if (capacity < 1.6)
            grade_skip("this machine, measured just now: 2 processes of a plain loop ran only "
                       "%.2f times as fast as 1 (load average %s). It is busy: another program "
                       "holds a CPU, so no program could show a speedup now. Rerun when it is "
                       "quieter: make grade LAB=scaling TEST=speedup_gate",
                       capacity, load);
        grade_note("this machine, measured just now: 2 processes of a plain loop ran %.2f times "
                   "as fast as 1 (load average %s): it had two CPUs to give, so the shortfall "
                   "is the program's",
                   capacity, load);
    }
    grade_expect_true(together >= GATE_TOGETHER,
                      "the 2 children must compute at the same time: all forked before the "
                      "first wait",
                      "their CPU time was %.2f times the wall time of the run", together);
    grade_expect_true(ratio >= GATE_NEEDED,
                      "2 workers must be at least 1.25 times as fast as 1: do the children run "
                      "at the same time (all forked before the first wait), and does each get "
                      "a fair share of the work?",
                      "%.2f times as fast", ratio);
}

static const struct grade_test tests[] = {
    {"counts_correct", "right counts for random ranges with 1, 2, odd and random worker counts", 25,
     60, 0, test_counts_correct},
    {"tiny_ranges", "empty ranges, 0 to 2, more workers than numbers", 10, 60, 0, test_tiny_ranges},
    {"no_zombies_or_leaks", "every child reaped, every descriptor closed", 10, 60, 0,
     test_no_zombies_or_leaks},
    {"answers_match_data", "answers.txt matches your own fork_join.csv", 25, 20, 0,
     test_answers_match_data},
    {"explanation_written", "answers.txt has an explanation (presence only)", 5, 20, 0,
     test_explanation_written},
    {"speedup_gate", "2 workers at least 1.25x as fast as 1 (fastest of 5+ runs each)", 25, 120, 2,
     test_speedup_gate},
};

const struct grade_lab grade_lab = {
    "scaling", "Lab 6: scaling - run, explain, speed up",
    "none: the grader reads only count_primes_parallel's return value, and answers.txt by key",
    tests, sizeof tests / sizeof tests[0]};
