/* sandbox.h - where the grader runs a lab's test program: away from the grader, its files, the
 * machine's other processes and the network, with limits on what it may use.
 *
 * What it does, each where this machine allows it (sandbox_probe finds out once and says, in
 * the line the grader prints under its header, what it used and what it fell back from):
 *   - as root, the test program runs as the unprivileged user nobody (no_new_privs set, so no
 *     set-user-ID program gives root back);
 *   - new PID, IPC, mount and network namespaces (as an ordinary user inside a user namespace
 *     of its own): the test program is process 1 there, so when it ends, or the grader kills
 *     it at the time limit, the kernel kills everything it started, setsid or not; System V and
 *     POSIX IPC objects vanish with the namespace; the only network is a loopback that is down;
 *   - in the mount namespace, every mount read-only (the results folder, the user's home), then
 *     a private /tmp and /dev/shm (empty tmpfs, gone afterwards), a
 *     /proc of its own, the build folder mounted read-only over itself, and the folders the
 *     grader names (the instructors' tests/labs/, the other submissions) hidden under empty
 *     read-only mounts;
 *   - rlimits: processes, address space, file size, CPU seconds, no core files;
 *   - a pids cgroup of its own with a maximum, when the grader may make one: the fork bomb that
 *     RLIMIT_NPROC (per user) cannot stop alone, and a list of every process to kill afterwards
 *     even without a PID namespace.
 * Where none of the namespaces is allowed, the test program still runs in a process group of
 * its own under the rlimits (and as nobody when root), and the grader kills that group and
 * every orphan that comes back to it when the test ends.
 */
#ifndef FORKLORE_GRADER_SANDBOX_H
#define FORKLORE_GRADER_SANDBOX_H

#include <limits.h>
#include <sys/types.h>

enum { SANDBOX_MAX_HIDDEN = 8 };

struct sandbox {
    /* Set by the caller before sandbox_probe. */
    const char *build_dir;                  /* mounted read-only; must stay reachable */
    const char *hidden[SANDBOX_MAX_HIDDEN]; /* folders the code under test must not see */
    int hidden_count;
    /* Decided by sandbox_probe. */
    int namespaces;     /* CLONE_NEW* flags in use (0: none) */
    int read_only_root; /* 1: every mount but the private ones read-only */
    int as_nobody;      /* 1: running as root, the test drops to nobody */
    uid_t uid;
    gid_t gid;
    int cgroup_ok; /* 1: a pids cgroup per test */
    char cgroup_parent[PATH_MAX];
    char description[640]; /* the header line: what is used, what is not */
    /* Per test (sandbox_begin_test .. sandbox_end_test). */
    double cpu_seconds;          /* RLIMIT_CPU for this test */
    char cgroup[PATH_MAX];       /* "" without one */
    char temp_dir[PATH_MAX];     /* the test's temp folder, as the test sees it */
    char outside_temp[PATH_MAX]; /* the same made by the grader ("" in a mount ns) */
};

/* Decide what this machine allows (forks a probe) and fill in the description.  Honours
 * FORKLORE_GRADE_SANDBOX=none (no namespaces, to try the fallback on a machine that has them)
 * and never uses namespaces or a different user under valgrind (the valgrind gate grades the
 * reference solutions, and its logs must stay reachable). */
void sandbox_probe(struct sandbox *box);

/* Before a test: its pids cgroup and temp folder.  Returns 0, or -1 with errno set. */
int sandbox_begin_test(struct sandbox *box, double limit_s);

/* The runner's before_exec hook (process_runner.h), in the forked child: enter the sandbox.
 * With a PID namespace this forks once more: the child becomes process 1 of the namespace and
 * goes on to exec the test program, the parent only waits for it and passes on its status. */
int sandbox_enter(void *box);

/* After a test, with the test program reaped: kill whatever is left in its cgroup (or came back
 * to the grader as an orphan), reap it, remove the cgroup and the temp folder.  Returns how many
 * processes were left to kill. */
int sandbox_end_test(struct sandbox *box);

#endif
