/* test_cli.c - the command-line promises every program makes, checked for every program.
 *
 * Each program in build/bin (whatever the family, including ones added later) must:
 *   - answer --help with its usage on stdout and exit status 0;
 *   - meet an unknown option with exactly one line of reason, naming itself, then its usage,
 *     all on stderr, nothing on stdout, and exit status 2.
 * The tests of each family check their own programs' bad values on top of this.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

enum { MAX_PROGRAMS = 256 };

/* The names of the built programs, sorted; the driver `bench` included. */
static int list_programs(char names[][64])
{
    DIR *d = opendir(FORKLORE_BIN);
    cr_assert_not_null(d, "cannot open %s", FORKLORE_BIN);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_PROGRAMS)
        if (e->d_name[0] != '.' && strlen(e->d_name) < 64)
            strcpy(names[n++], e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    return n;
}

Test(cli, every_program_answers_help_on_stdout_with_status_0)
{
    static char names[MAX_PROGRAMS][64];
    int n = list_programs(names);
    cr_assert_geq(n, 6, "the programs are built");
    for (int i = 0; i < n; i++) {
        char *argv[] = {names[i], "--help", NULL};
        struct program_run run;
        cr_assert_eq(run_program(argv, 20, &run), 0);
        cr_assert(exited_with(&run, 0), "%s --help: status %#x", names[i], run.status);
        cr_assert_not_null(strstr(run.out, "Usage:"), "%s --help: no Usage: on stdout", names[i]);
        program_run_free(&run);
    }
}

Test(cli, every_program_refuses_an_unknown_option_in_one_line_with_status_2)
{
    static char names[MAX_PROGRAMS][64];
    int n = list_programs(names);
    for (int i = 0; i < n; i++) {
        char *argv[] = {names[i], "--no-such-option", NULL};
        struct program_run run;
        cr_assert_eq(run_program(argv, 20, &run), 0);
        cr_assert(exited_with(&run, 2), "%s --no-such-option: status %#x", names[i], run.status);
        cr_assert_eq(run.out_len, 0, "%s wrote to stdout: %s", names[i], run.out);
        /* Line 1: "NAME: reason"; line 2 on: the usage. */
        char prefix[80 + 64];
        snprintf(prefix, sizeof prefix, "%.63s: ", names[i]);
        cr_assert(strncmp(run.err, prefix, strlen(prefix)) == 0,
                  "%s: first line is not \"%s...\": %s", names[i], prefix, run.err);
        const char *second = strchr(run.err, '\n');
        cr_assert(second && strncmp(second + 1, "Usage:", 6) == 0,
                  "%s: the reason is not one line followed by the usage:\n%s", names[i], run.err);
        program_run_free(&run);
    }
}

/* strtol and strtod skip leading blanks and strtod reads hexadecimal: " 3" was 3 and "0x10"
 * was 16.  The parse helpers refuse both, naming the option. */
Test(cli, a_number_with_a_leading_blank_or_in_hex_is_a_usage_error)
{
    assert_usage_error((char *[]){"pipe_eof", "--watchdog", "0x10", NULL}, "--watchdog");
    assert_usage_error((char *[]){"pipe_eof", "--lines", " 3", NULL}, "--lines");
    assert_usage_error((char *[]){"pipe_eof", "--watchdog", " 1", NULL}, "--watchdog");
}

/* Values each in range whose product is not: a usage error that names the limit. */
Test(cli, a_product_of_sizes_beyond_its_limit_is_a_usage_error)
{
    assert_usage_error((char *[]){"pipe_atomicity", "--size", "16M", "--records", "1000000",
                                  "--writers", "26", NULL},
                       "at most 4 GiB");
    assert_usage_error(
        (char *[]){"shm_queue_demo", "--slot-size", "1M", "--capacity", "1048576", NULL},
        "SHM_QUEUE_MAX_BYTES");
}
