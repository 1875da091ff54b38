/* test_support.c - the support module: checked parsing, IPC names, CPU counting. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "support/cleanup.h"
#include "support/cpus.h"
#include "support/parse.h"

static const char *const usage = "Usage: test\n";

Test(support, parse_long_accepts_whole_numbers_in_range)
{
    cr_assert_eq(parse_long("42", "--n", 1, 100, usage), 42);
    cr_assert_eq(parse_long("-3", "--n", -5, 5, usage), -3);
}

/* A bad value must end the process with status 2: run it in a child and read the status. */
static int exit_status_of_parse(const char *text)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        parse_long(text, "--n", 1, 100, usage);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(support, parse_long_rejects_junk_and_range_with_status_2)
{
    cr_assert_eq(exit_status_of_parse("12x"), 2);
    cr_assert_eq(exit_status_of_parse(""), 2);
    cr_assert_eq(exit_status_of_parse("0"), 2);
    cr_assert_eq(exit_status_of_parse("101"), 2);
    cr_assert_eq(exit_status_of_parse("99999999999999999999999"), 2);
    cr_assert_eq(exit_status_of_parse("7"), 0);
}

Test(support, parse_size_understands_suffixes)
{
    cr_assert_eq(parse_size("64K", "--size", 1, 1LL << 40, usage), 65536);
    cr_assert_eq(parse_size("1M", "--size", 1, 1LL << 40, usage), 1048576);
    cr_assert_eq(parse_size("2G", "--size", 1, 1LL << 40, usage), 2147483648LL);
    cr_assert_eq(parse_size("100", "--size", 1, 1LL << 40, usage), 100);
}

static const char *const colours[] = {"red", "green", "blue", NULL};

Test(support, parse_choice_gives_the_index_of_the_word)
{
    cr_assert_eq(parse_choice("red", "--colour", colours, usage), 0);
    cr_assert_eq(parse_choice("blue", "--colour", colours, usage), 2);
}

/* A word not in the list: status 2, and one line that lists every word the option takes. */
Test(support, parse_choice_refuses_another_word_and_lists_the_choices)
{
    int err[2];
    cr_assert_eq(pipe(err), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(err[1], STDERR_FILENO);
        parse_choice("Red", "--colour", colours, usage); /* case matters */
        _exit(0);
    }
    close(err[1]);
    char text[512] = "";
    size_t used = 0;
    ssize_t n;
    while (used < sizeof text - 1 && (n = read(err[0], text + used, sizeof text - 1 - used)) > 0)
        used += (size_t)n;
    close(err[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
    cr_assert_not_null(strstr(text, "--colour: expected red, green or blue, got \"Red\"\n"), "%s",
                       text);
    cr_assert_not_null(strstr(text, usage), "the usage follows the reason: %s", text);
}

/* A TMPDIR as deep as a CI runner's or a test harness's (here past 300 characters): the
 * programs that make a private folder there still register its path for clean-up, run and
 * leave the folder empty.  (The registry once held 96 characters a name.) */
Test(support, a_long_tmpdir_is_registered_and_cleaned_up)
{
    char dir[4096], deep[4096];
    make_temp_dir(dir, sizeof dir, "long-tmpdir");
    int n = snprintf(deep, sizeof deep, "%s", dir);
    for (int i = 0; n < 320; i++) {
        n += snprintf(deep + n, sizeof deep - (size_t)n, "/a-folder-name-of-some-length-%d", i);
        cr_assert_eq(mkdir(deep, 0700), 0, "mkdir %s", deep);
    }
    cr_assert_eq(setenv("TMPDIR", deep, 1), 0);
    static char *const programs[][2] = {{"file_locks", NULL}, {"check_then_act", NULL}};
    for (size_t p = 0; p < sizeof programs / sizeof programs[0]; p++) {
        struct program_run r;
        run_expect(&r, programs[p], 120, 0);
        program_run_free(&r);
        cr_assert_eq(count_dir_entries_containing(deep, "forklore-"), 0, "%s left its folder in %s",
                     programs[p][0], deep);
    }
    remove_dir(dir);
}

Test(support, unique_ipc_names_differ_and_carry_the_pid)
{
    char a[64], b[64], pid[32];
    unique_ipc_name(a, sizeof a, "queue");
    unique_ipc_name(b, sizeof b, "queue");
    snprintf(pid, sizeof pid, "-%d-", (int)getpid());
    cr_assert_str_neq(a, b);
    cr_assert(a[0] == '/' && strchr(a + 1, '/') == NULL, "one leading slash: %s", a);
    cr_assert(strstr(a, pid) != NULL, "%s holds the pid", a);
}

/* The mask's CPUs, ascending; the usable count is at most that many (a CPU quota can make it
 * fewer, never more). */
Test(support, usable_cpus_agree_with_the_id_list)
{
    int n;
    int *ids = usable_cpu_list(&n);
    cr_assert_geq(n, 1);
    cr_assert_leq(usable_cpu_count(), n);
    cr_assert_eq(n, pinned_cpu_count());
    for (int i = 1; i < n; i++)
        cr_assert_lt(ids[i - 1], ids[i]);
    int first[2];
    cr_assert_eq(usable_cpu_ids(first, 1), 1, "usable_cpu_ids fills no more than it is given");
    cr_assert_eq(first[0], ids[0]);
    free(ids);
}
