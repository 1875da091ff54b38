/* process_runner.h - run one program with a time limit: feed its stdin, collect its stdout,
 * its stderr and (optionally) one more channel, then reap it.  No Criterion, no grader: the
 * lab grader runs its sandboxed test programs with this, a test program runs the student's
 * programs with it, and the Criterion harness (tests/harness.c) runs forklore's programs.
 *
 * Usage:
 *   struct runner_options o = {.argv = argv, .input = "text", .timeout_s = 10};
 *   struct runner_result r;
 *   if (runner_run(&o, &r) == -1) ...errno says why it could not start...
 *   ...r.status, r.out, r.err, r.timed_out...
 *   runner_result_free(&r);
 *
 * What it takes care of, each a mistake made before somewhere in this suite:
 *   - stdin is written while stdout and stderr are read (poll), so a program that echoes more
 *     than a pipe holds cannot deadlock against its runner;
 *   - the run ends when the program ends, not when its pipes close: a grandchild that keeps
 *     stdout open is reported as such (output_held), not as "did not finish";
 *   - whatever it prints beyond max_output is read and thrown away (counted in dropped), so
 *     a program printing gigabytes costs time, never the runner's memory;
 *   - at the deadline the program (its whole process group with own_group) gets SIGKILL, and
 *     it is always reaped before runner_run returns.
 *
 * Python counterpart: subprocess.run(argv, input=..., capture_output=True, timeout=...), which
 * also kills the child at the timeout, but only the child, not its group.
 */
#ifndef FORKLORE_PROCESS_RUNNER_H
#define FORKLORE_PROCESS_RUNNER_H

#include <stddef.h>
#include <sys/types.h>

/* In the child, the extra channel's write end is this descriptor (when options.channel is 1). */
enum { RUNNER_CHANNEL_FD = 3 };

struct runner_options {
    char *const *argv;       /* argv[0] is also the program run, unless path is set */
    const char *path;        /* the file to execute (NULL: argv[0], searched in PATH if no '/') */
    char *const *envp;       /* NULL: this process's environment */
    const char *input;       /* written to its stdin, then closed; NULL: stdin is /dev/null */
    size_t input_len;        /* 0 with input set: strlen(input) */
    double timeout_s;        /* wall-clock limit; <= 0: none */
    int own_group;           /* 1: it leads a new process group, which is killed as a whole */
    int channel;             /* 1: a third pipe, at RUNNER_CHANNEL_FD in the child */
    int pass_fd, pass_fd_at; /* pass_fd > 0: this descriptor is passed as pass_fd_at (>= 4) */
    size_t max_output;       /* per stream; 0: 16 MiB */
    double output_grace_s;   /* after it exits, how long to wait for its pipes to close
                                (something it started may still write); <= 0: 0.5 s */
    const volatile int *cancel; /* non-NULL: when *cancel becomes nonzero (a signal handler
                                   sets it), the program is killed as at the deadline */
    /* In the child, after the descriptors are in place and before exec: a sandbox's set-up.
     * Returns 0 to go on; nonzero makes the child _exit(126) (it says why on stderr). */
    int (*before_exec)(void *arg);
    void *arg;
};

struct runner_result {
    pid_t pid;       /* the program's pid (reaped) */
    int status;      /* raw wait status */
    int timed_out;   /* 1: killed at the deadline */
    int cancelled;   /* 1: killed because *options.cancel became nonzero */
    int output_held; /* 1: it exited, but its stdout or stderr stayed open past the grace */
    char *out, *err, *channel; /* NUL-terminated, malloc'd (channel NULL if unused) */
    size_t out_len, err_len, channel_len;
    size_t dropped; /* bytes read beyond max_output and thrown away */
    double seconds; /* wall time */
};

/* Run the program as options say.  Returns 0 when it was started (and is now reaped: see
 * result), -1 with errno set when it could not be (the pipes, fork, exec itself failing shows
 * as exit status 127 with the reason on its stderr). */
int runner_run(const struct runner_options *options, struct runner_result *result);

void runner_result_free(struct runner_result *result);

/* "exited with status 3", "killed by signal 9 (Killed)", "killed by signal 11 (Segmentation
 * fault), core dumped", into text (size bytes).  Returns text. */
const char *runner_describe_status(int status, char *text, size_t size);

#endif
