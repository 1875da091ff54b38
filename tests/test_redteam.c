/* test_redteam.c - hostile submissions against the lab grader: each earns no more than its
 * honest score, leaves nothing behind, and is reported.
 *
 * The submissions are files under tests/labs/redteam/.  Most are attacks on the grader's own
 * check lab (adder/NAME.c, each made into a whole adder.c with adder_stub.c, which says how),
 * graded on its one test fails_a_check, whose honest score is 0 of 10; ptrace_parent is an
 * attack on the parallel lab, whose starter code scores 5.  After every grade, the checks are
 * the same (expect_contained): the score in results.json and on the terminal, no line of the
 * grader's own forged, no "REDTEAM-WIN" anywhere (an attack prints it when it got somewhere it
 * should not have), no process left with the name the attack gives its processes, nothing of
 * its in /dev/shm; then each test checks what the grader said about its attack, and what only
 * that attack could have damaged.
 *
 * Two attacks are not tried everywhere: kill(-1) only inside the sandbox's PID namespace (it
 * says so and does nothing elsewhere), and the fork bomb relies on the pids cgroup or
 * RLIMIT_NPROC, one of which every Linux machine has.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grading.h"

#define REDTEAM INSTRUCTOR "/redteam"
#define CHECK_HOME INSTRUCTOR "/grader_check"

/* The name the attack's processes take: unique to this test process, so that tests running at
 * the same time do not see each other's. */
static const char *marker(void)
{
    static char name[16];
    snprintf(name, sizeof name, "rt-%d", (int)getpid() % 1000000);
    return name;
}

/* dir/adder.c = the marker's definition, the attack, the shared body; and the lab's program. */
static void make_submission(const char *dir, const char *attack)
{
    char path[600];
    snprintf(path, sizeof path, "%s/adder/%s.c", REDTEAM, attack);
    char *attack_text = read_file(path, NULL);
    cr_assert(attack_text, "no attack %s", path);
    char *stub = read_file(REDTEAM "/adder_stub.c", NULL);
    char *program = read_file(CHECK_HOME "/echo_input.c", NULL);
    cr_assert(stub && program);
    char *source;
    /* REDTEAM_SOLUTION: a reference solution's absolute path, for the attacks at compile time. */
    cr_assert(asprintf(&source,
                       "#define REDTEAM_NAME \"%s\"\n#define REDTEAM_SOLUTION \"%s\"\n"
                       "#define REDTEAM_INSTRUCTOR_HEADER \"%s\"\n%s\n%s",
                       marker(), INSTRUCTOR "/pool/solution/mini_pool.c", CHECK_HOME "/adder.h",
                       attack_text, stub) != -1);
    snprintf(path, sizeof path, "%s/adder.c", dir);
    write_file(path, source);
    snprintf(path, sizeof path, "%s/echo_input.c", dir);
    write_file(path, program);
    free(source);
    free(stub);
    free(program);
    free(attack_text);
}

/* What every attack must leave as it found: checked after each grade. */
static void expect_contained(const struct grading *g, const char *attack, int honest)
{
    expect_valid_results(g, attack);
    int recorded = (int)json_get(g->results, "score")->number;
    cr_expect(recorded <= honest, "%s: results.json says %d, more than the honest %d:\n%s", attack,
              recorded, honest, g->run.out);
    cr_expect(!exited_with(&g->run, 0), "%s: the grader exited 0 (full marks)", attack);
    cr_expect(!strstr(g->run.out, "REDTEAM-WIN"), "%s got through:\n%s", attack, g->run.out);
    char path[300];
    snprintf(path, sizeof path, "%s/results.log", g->dir);
    char *log = read_file(path, NULL);
    cr_expect(!log || !strstr(log, "REDTEAM-WIN"), "%s got through (see its log):\n%.2000s", attack,
              log);
    free(log);
    /* No line of the grader's own that the attack wrote: the only score line is the real one. */
    int score_lines = 0;
    for (const char *at = g->run.out; (at = strstr(at, "\nscore: lab ")) != NULL; at++)
        score_lines++;
    cr_expect_leq(score_lines, 1, "%s", g->run.out);
    cr_expect_eq(count_processes_named(marker()), 0, "%s left processes named %s running", attack,
                 marker());
    cr_expect_eq(count_dir_entries_containing("/dev/shm", "redteam"), 0,
                 "%s left something in /dev/shm", attack);
}

/* Grade one attack on the check lab's fails_a_check (honest score 0); the grading is left in
 * g for the test's own checks (grading_free it). */
static void grade_attack(struct grading *g, const char *attack, const char *const *env,
                         int timeout_s)
{
    SKIP_UNLESS_GRADING_HERE();
    char dir[256];
    make_temp_dir(dir, sizeof dir, "redteam");
    make_submission(dir, attack);
    const char *vars[8] = {"TEST=fails_a_check"};
    for (int i = 0; env && env[i] && i < 6; i++)
        vars[i + 1] = env[i];
    grade(g, "grader_check", CHECK_HOME, dir, vars, timeout_s);
    expect_contained(g, attack, 0);
    remove_dir(dir);
}

/* An attack that the build refuses, with this reason. */
static void expect_refused(const char *attack, const char *reason)
{
    struct grading g;
    grade_attack(&g, attack, NULL, 120);
    expect_text(g.run.out, "did not build");
    expect_text(g.run.out, reason);
    grading_free(&g);
}

/* An attack that runs, and what the grader must say about it. */
static void expect_reported(const char *attack, const char *report)
{
    struct grading g;
    grade_attack(&g, attack, NULL, 120);
    expect_text(g.run.out, report);
    grading_free(&g);
}

/* ---- ending the test process to look like a pass ------------------------------------------- */

Test(redteam, exit_zero_in_the_code_under_test_is_no_pass)
{
    expect_reported("exit_zero", "exited with status 0) before the test was done");
}

Test(redteam, an_atexit_handler_that_exits_zero_is_no_pass)
{
    expect_reported("exit_from_atexit", "exited with status 0) before the test was done");
}

Test(redteam, killing_the_test_process_group_and_its_parent_is_no_pass)
{
    expect_reported("kill_group", "crashed: killed by signal 9");
}

Test(redteam, kill_minus_one_reaches_only_the_sandbox)
{
    /* The grader survived to write its results (expect_contained); the test is just failed. */
    expect_reported("kill_everyone", "score: lab grader_check: 0/10");
}

/* ---- forging what the grader says or writes ---------------------------------------------------
 */

Test(redteam, a_verdict_without_the_token_fails_the_test_and_is_named)
{
    expect_reported("forged_verdict", "did not carry this run's token");
}

Test(redteam, output_that_imitates_the_grader_is_quoted_as_the_students)
{
    struct grading g;
    grade_attack(&g, "fake_grader_lines", NULL, 120);
    expect_text(g.run.out, "| score: lab grader_check: 10/10");
    /* Control characters are shown, not sent: a carriage return cannot overwrite the "| ". */
    expect_text(g.run.out, "| \\001G [PASS]");
    cr_expect(!strstr(g.run.out, "\n[PASS]"), "a PASS line got through:\n%s", g.run.out);
    grading_free(&g);
}

Test(redteam, the_grader_and_its_json_path_are_out_of_reach)
{
    /* results.json says 0 (expect_contained): written by the grader, after the attack. */
    expect_reported("writes_results_json", "score: lab grader_check: 0/10");
}

/* ---- escaping, and using up the machine ------------------------------------------------------ */

Test(redteam, a_fork_bomb_is_stopped_and_every_process_killed)
{
    expect_reported("fork_bomb", "forks before fork failed");
}

Test(redteam, setsid_orphans_and_zombies_are_all_killed)
{
    expect_reported("setsid_escape", "add(2, 2)");
}

Test(redteam, sleeping_for_ever_with_signals_blocked_ends_at_the_limit)
{
    expect_reported("sleeps_forever", "did not finish within its 10 s limit");
}

Test(redteam, gigabytes_of_output_are_thrown_away_unread)
{
    struct grading g;
    grade_attack(&g, "prints_gigabytes", NULL, 180);
    expect_text(g.run.out, "thrown away unread");
    char path[300];
    snprintf(path, sizeof path, "%s/results.log", g.dir);
    struct stat st;
    cr_expect(stat(path, &st) == 0 && st.st_size < (4 << 20), "the log kept %lld bytes of it",
              (long long)st.st_size);
    grading_free(&g);
}

/* ---- reaching files and the network ------------------------------------------------------------
 */

Test(redteam, the_grader_and_the_lab_files_cannot_be_opened_for_writing)
{
    expect_reported("changes_lab_files", "add(2, 2)"); /* REDTEAM-WIN would say otherwise */
}

Test(redteam, the_solutions_cannot_be_read)
{
    expect_reported("reads_solutions", "add(2, 2)");
}

/* The compiler runs in the sandbox too: what the tests cannot read, the build cannot either. */
Test(redteam, an_absolute_include_cannot_reach_the_solutions_at_compile_time)
{
    expect_reported("includes_a_solution", "the compiler found no ");
}

Test(redteam, an_incbin_of_a_solution_stops_the_build)
{
    expect_refused("incbin_solution", "assembler directive .incbin");
}

/* Hidden in the sandbox's mount namespace; refused by the grader's check of what the
 * preprocessor read where there are no namespaces (FORKLORE_GRADE_SANDBOX=none). */
Test(redteam, an_include_from_the_instructors_folder_is_refused_with_or_without_namespaces)
{
    expect_refused("includes_an_instructor_file", CHECK_HOME "/adder.h");
    struct grading g;
    const char *fallback[] = {"FORKLORE_GRADE_SANDBOX=none", NULL};
    grade_attack(&g, "includes_an_instructor_file", fallback, 120);
    expect_text(g.run.out, "did not build");
    expect_text(g.run.out, "a lab's code may include only its own files");
    grading_free(&g);
}

/* Every folder but the private /tmp and /dev/shm is read-only in the sandbox: the results
 * folder, the repository, the home folder, /var/tmp (which nobody may write elsewhere). */
Test(redteam, nothing_outside_the_private_tmp_can_be_written)
{
    expect_reported("writes_outside_tmp", "add(2, 2)");
}

/* As an ordinary user the sandbox is a user namespace, where the test program is that user:
 * the folder results.json goes to is the user's own, and must be read-only to the test all the
 * same.  Run as nobody (setpriv), with the submission and the output in a folder of nobody's
 * outside /tmp (which the sandbox replaces with a private one anyway). */
Test(redteam, as_an_ordinary_user_the_results_folder_is_read_only_to_the_test)
{
    SKIP_UNLESS_GRADING_HERE();
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv to become an ordinary user");
    char dir[] = "/var/tmp/forklore-redteam-user-XXXXXX", out[600], json[700], defines[900];
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(json, sizeof json, "%s/results.json", out);
    cr_assert(mkdir(out, 0755) == 0);
    make_submission(dir, "writes_outside_tmp");
    /* The attack learns where the results go, as an instructor's loop would let it guess. */
    snprintf(defines, sizeof defines, "%s/adder.c", dir);
    char *source = read_file(defines, NULL), *with_path;
    cr_assert(source &&
              asprintf(&with_path, "#define REDTEAM_RESULTS_DIR \"%s\"\n%s", out, source) != -1);
    write_file(defines, with_path);
    free(source);
    free(with_path);
    cr_assert(chown(dir, 65534, 65534) == 0 && chown(out, 65534, 65534) == 0);
    char vars[6][800];
    snprintf(vars[0], sizeof vars[0], "OUT=%s", out);
    snprintf(vars[1], sizeof vars[1], "JSON=%s", json);
    snprintf(vars[2], sizeof vars[2], "LAB_SRC=%s", dir);
    snprintf(vars[3], sizeof vars[3], "LIBRARY=%s/../libforklore.a", FORKLORE_BIN);
    snprintf(vars[4], sizeof vars[4], "LAB_HOME=%s", CHECK_HOME);
    snprintf(vars[5], sizeof vars[5], "EXTRA_CFLAGS=%s", FORKLORE_LAB_CFLAGS);
    char *argv[] = {"/usr/bin/setpriv",
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--",
                    "/usr/bin/env",
                    "LAB=grader_check",
                    "TEST=fails_a_check",
                    vars[0],
                    vars[1],
                    vars[2],
                    vars[3],
                    vars[4],
                    vars[5],
                    "bash",
                    GRADE_SH,
                    NULL};
    struct program_run run;
    cr_assert_eq(run_program(argv, 120, &run), 0, "could not start grade.sh as nobody");
    if (!strstr(run.out, "a user namespace with")) {
        program_run_free(&run);
        remove_dir(dir);
        cr_skip_test("this kernel gives an ordinary user no user namespace");
    }
    expect_text(run.out, "every other folder read-only");
    char refused[900];
    snprintf(refused, sizeof refused, "could not write %s/redteam-", out);
    expect_text(run.out, refused);
    cr_expect(!strstr(run.out, "REDTEAM-WIN"), "wrote outside the sandbox's /tmp:\n%s", run.out);
    expect_text(run.out, "score: lab grader_check: 0/10");
    char planted[900];
    snprintf(planted, sizeof planted, "%s/redteam-%s-planted", out, marker());
    cr_expect(access(planted, F_OK) != 0, "%s was left behind", planted);
    program_run_free(&run);
    remove_dir(dir);
}

Test(redteam, dev_shm_is_private_and_gone_after_the_test)
{
    expect_reported("poisons_dev_shm", "add(2, 2)");
}

Test(redteam, the_network_is_out_of_reach)
{
    expect_reported("network_socket", "add(2, 2)");
}

Test(redteam, other_submissions_in_the_instructors_folder_are_out_of_reach)
{
    SKIP_UNLESS_GRADING_HERE();
    char folder[256], path[400], env[400];
    make_temp_dir(folder, sizeof folder, "submissions");
    snprintf(path, sizeof path, "%s/alice", folder);
    cr_assert(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/alice/results.json", folder);
    write_file(path, "{\"score\": 100}\n");
    snprintf(path, sizeof path, "%s/bob", folder);
    cr_assert(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/bob/adder.c", folder);
    write_file(path, "long add(long a, long b) { return a + b; }\n");
    chmod(folder, 0755); /* as an instructor's folder would be: readable by all */
    snprintf(env, sizeof env, "REDTEAM_SUBMISSIONS=%s", folder);
    const char *vars[] = {env, NULL};
    struct grading g;
    grade_attack(&g, "reaches_other_submissions", vars, 120);
    snprintf(path, sizeof path, "%s/alice/results.json", folder);
    char *alice = read_file(path, NULL);
    cr_expect(alice && strcmp(alice, "{\"score\": 100}\n") == 0, "alice's results: %s", alice);
    snprintf(path, sizeof path, "%s/bob/adder.c", folder);
    char *bob = read_file(path, NULL);
    cr_expect(bob && !strstr(bob, "#error"), "bob's source: %s", bob);
    free(alice);
    free(bob);
    grading_free(&g);
    remove_dir(folder);
}

/* ---- code that would run outside the tests, or in place of the framework ----------------------
 */

Test(redteam, a_constructor_in_library_code_is_refused)
{
    expect_refused("constructor", "a constructor or destructor");
}

Test(redteam, calling_the_frameworks_own_functions_is_refused)
{
    expect_refused("calls_the_grader", "calls grade_api_end, the grader's own code");
}

Test(redteam, replacing_a_c_library_function_is_refused)
{
    expect_refused("overrides_libc", "defines write, which the lab's adder.h does not declare");
}

/* ---- a program that attacks the test process that runs it -------------------------------------
 */

/* parallel/NAME.c appended to the parallel lab's starter code, graded whole: the starter's own
 * 5 points, no more. */
static void grade_parallel_attack(const char *name)
{
    SKIP_UNLESS_GRADING_HERE();
    char dir[256], path[300];
    make_temp_dir(dir, sizeof dir, "redteam");
    char *starter = read_file(FORKLORE_ROOT "/lessons/labs/parallel/parallel.c", NULL);
    snprintf(path, sizeof path, "%s/parallel/%s.c", REDTEAM, name);
    char *attack = read_file(path, NULL);
    cr_assert(starter && attack);
    char *source;
    cr_assert(asprintf(&source, "%s\n%s", starter, attack) != -1);
    snprintf(path, sizeof path, "%s/parallel.c", dir);
    write_file(path, source);
    struct grading g;
    grade(&g, "parallel", NULL, dir, NULL, 300);
    expect_contained(&g, name, 5);
    free(source);
    free(attack);
    free(starter);
    grading_free(&g);
    remove_dir(dir);
}

Test(redteam, a_program_cannot_ptrace_the_test_process)
{
    grade_parallel_attack("ptrace_parent");
}

/* The token lives in the test program; a program of the student's (a lab like parallel or
 * pipeline) is another process, which may not read that memory. */
Test(redteam, a_program_cannot_read_the_test_programs_memory_for_the_token)
{
    grade_parallel_attack("reads_parent_memory");
}

/* ---- the results path an instructor's loop names -----------------------------------------------
 */

Test(redteam, a_planted_link_at_the_results_path_is_refused_and_its_target_untouched)
{
    SKIP_UNLESS_GRADING_HERE();
    char dir[256], victim[300], link[300], env[320];
    make_temp_dir(dir, sizeof dir, "redteam");
    make_submission(dir, "exit_zero"); /* any submission that builds: the link is the attack */
    snprintf(victim, sizeof victim, "%s/victim", dir);
    write_file(victim, "precious\n");
    snprintf(link, sizeof link, "%s/results.json", dir);
    cr_assert(symlink(victim, link) == 0);
    snprintf(env, sizeof env, "JSON=%s", link);
    const char *vars[] = {"TEST=fails_a_check", env, NULL};
    struct grading g;
    grade(&g, "grader_check", CHECK_HOME, dir, vars, 120);
    char *text = read_file(victim, NULL);
    cr_expect(text && strcmp(text, "precious\n") == 0, "the link's target now holds: %s", text);
    expect_text(g.run.err, "symbolic link");
    free(text);
    grading_free(&g);
    remove_dir(dir);
}
