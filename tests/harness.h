/* harness.h - what the Criterion tests use to run forklore's programs and inspect the system.
 *
 * Criterion runs each test in its own forked process, and the test is the only process that may
 * call cr_assert: a child the test forks must report through its exit status or a pipe.  These
 * helpers run a program from build/bin with a time limit, capture its output, and make sure it
 * never outlives the test (PR_SET_PDEATHSIG and a reap on every path).  The checks that many
 * test files share (a run that must finish, a --help, a refused command line, a file read
 * whole, a temporary folder) follow; those that assert do so in the test process only.
 */
#ifndef FORKLORE_TEST_HARNESS_H
#define FORKLORE_TEST_HARNESS_H

#include <stddef.h>

struct program_run {
    int status;    /* raw wait status: use WIFEXITED/WEXITSTATUS, or the helpers below */
    int timed_out; /* 1 if the program was killed after the time limit */
    char *out;     /* everything it wrote to stdout, NUL-terminated (malloc'd) */
    char *err;     /* everything it wrote to stderr, NUL-terminated (malloc'd) */
    size_t out_len, err_len;
};

/* Run FORKLORE_BIN/argv[0] with argv (NULL-terminated), stdin from /dev/null, for at most
 * timeout_s seconds (times $FORKLORE_TIMEOUT_SCALE, which the valgrind gate sets).  Returns 0, or
 * -1 if the program could not be started. */
int run_program(char *const argv[], int timeout_s, struct program_run *run);

/* Free what run_program allocated. */
void program_run_free(struct program_run *run);

/* 1 if the run exited normally with this code. */
int exited_with(const struct program_run *run, int code);

/* How many lines of text contain needle. */
int count_lines_containing(const char *text, const char *needle);

/* Entries in a directory whose name contains needle (for /dev/shm leak checks). */
int count_dir_entries_containing(const char *dir, const char *needle);

/* Entries in dir named by unique_ipc_name() with this tag ("forklore-TAG-PID-N") whose
 * process PID no longer exists: left behind, whatever other tests running at the same time
 * create meanwhile. */
int count_abandoned_ipc(const char *dir, const char *tag);

/* Child processes of this process that are zombies right now (from /proc).  After a
 * run_program() call this includes anything the program orphaned: run_program makes the test
 * process a subreaper, so orphans are re-parented to it rather than to init. */
int count_my_zombies(void);

/* ---- assertions for the test process only (they call cr_assert) ------------------------------ */

/* run_program, then insist the program started and finished within timeout_s seconds. */
void run_finished(struct program_run *run, char *const argv[], int timeout_s);

/* run_finished, then insist it exited with code and left no zombie in the test process. */
void run_expect(struct program_run *run, char *const argv[], int timeout_s, int code);

/* `program flag` (--help or -h) exits 0 with "Usage:" on stdout. */
void assert_help(const char *program, const char *flag);

/* A refused command line: exit 2, "Usage:" on stderr, and nothing on stdout.  reason, unless
 * NULL, must appear on stderr too (the one-line reason naming what was wrong). */
void assert_usage_error(char *const argv[], const char *reason);

/* The usual refusals of a program with an option that takes a value: `program option
 * bad_value`, `program option` (the value missing) and `program stray` are each a usage error
 * (as assert_usage_error). */
void assert_refuses_bad_arguments(const char *program, const char *option, const char *bad_value);

/* Fail unless text contains needle, showing the text when it does not. */
void expect_text(const char *text, const char *needle);

/* Children of this process right now, in any state (from /proc).  With PR_SET_CHILD_SUBREAPER
 * set, this counts whatever a program left running too. */
int count_my_children(void);

/* The whole file as a malloc'd NUL-terminated string (it may hold NULs: *size, unless size is
 * NULL, is the byte count), or NULL if it cannot be opened. */
char *read_file(const char *path, size_t *size);

/* Write text to path, replacing what was there; any failure fails the test. */
void write_file(const char *path, const char *text);

/* The primes p with from <= p < to, by the sieve of Eratosthenes: a different algorithm from
 * the programs' trial division, so that a shared mistake is unlikely. */
long sieve_prime_count(long from, long to);

/* The whole line of text that contains needle, as a fresh (malloc'd) string, or NULL. */
char *line_containing(const char *text, const char *needle);

/* 1 when this process runs under valgrind (the valgrind gate runs this suite too): valgrind
 * announces itself to the processes it runs through LD_PRELOAD. */
int under_valgrind(void);

/* First line of a test of a program's command-line checks (--help, a bad value, an unknown
 * option): under the valgrind gate it skips.  A usage error takes the same short path in every
 * program (parse, usage_error, exit 2), and cli/ runs --help and an unknown option of every
 * program under memcheck; the per-family variants add minutes to the gate and nothing memcheck
 * could find.  Natively they all run. */
void skip_argument_checks_under_valgrind(void);

/* mkdtemp a fresh $TMPDIR/forklore-TAG-XXXXXX (support/private_dir.h) into dir; remove_dir
 * deletes it and its contents. */
void make_temp_dir(char *dir, size_t size, const char *tag);
void remove_dir(const char *dir);

#endif
