/* harness.h - what the Criterion tests use to run forklore's programs and inspect the system.
 *
 * Criterion runs each test in its own forked process, and the test is the only process that may
 * call cr_assert: a child the test forks must report through its exit status or a pipe.  These
 * helpers run a program from build/bin with a time limit, capture its output, and make sure it
 * never outlives the test (PR_SET_PDEATHSIG and a reap on every path).
 */
#ifndef FORKLORE_TEST_HARNESS_H
#define FORKLORE_TEST_HARNESS_H

#include <stddef.h>

struct program_run {
    int status;      /* raw wait status: use WIFEXITED/WEXITSTATUS, or the helpers below */
    int timed_out;   /* 1 if the program was killed after the time limit */
    char *out;       /* everything it wrote to stdout, NUL-terminated (malloc'd) */
    char *err;       /* everything it wrote to stderr, NUL-terminated (malloc'd) */
    size_t out_len, err_len;
};

/* Run FORKLORE_BIN/argv[0] with argv (NULL-terminated), stdin from /dev/null, for at most
 * timeout_s seconds (times $FORKLORE_TIMEOUT_SCALE, which the valgrind gate sets).  Returns 0, or -1 if the program could not be started. */
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

#endif
