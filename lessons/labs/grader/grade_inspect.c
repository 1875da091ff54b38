/* grade_inspect.c - what a lab's tests use to start helper processes and to look at processes
 * from the outside: forking with a pipe back, waiting with a deadline, a process's state in
 * /proc, and the descriptors, mappings and named objects the test process holds.  Declared in
 * grader.h ("processes it starts and what they hold").
 *
 * Why from the outside: a test must not trust the code it grades to say whether it blocked or
 * leaked.  The kernel's own account in /proc says whether a process sleeps ('S') or spins
 * ('R'), and what a process holds open, whatever the code under test believes.
 */
#define _GNU_SOURCE
#include "grader.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helper processes -------------------------------------------------------------------------
 */

/* In a freshly forked helper: die with the test process, and make sure it had not died already
 * (between fork and prctl, the death signal would not have been sent). */
static void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) {
        dprintf(STDERR_FILENO, "helper %d: prctl(PR_SET_PDEATHSIG): %s\n", (int)getpid(),
                strerror(errno));
        _exit(125);
    }
    if (getppid() != parent)
        _exit(125);
}

pid_t grade_spawn_piped(int (*body)(void *arg, int out_fd), void *arg, int *read_end)
{
    int fds[2] = {-1, -1};
    if (read_end && pipe(fds) == -1)
        grade_fail("the grader could not make a pipe: %s", strerror(errno));
    pid_t parent = getpid();
    fflush(NULL); /* or the helper would print the test's buffered output a second time */
    pid_t pid = fork();
    if (pid == -1)
        grade_fail("the grader could not fork: %s", strerror(errno));
    if (pid == 0) {
        die_with_parent(parent);
        if (read_end)
            close(fds[0]);
        _exit(body(arg, fds[1])); /* _exit: the test's atexit handlers are not the helper's */
    }
    if (read_end) {
        close(fds[1]); /* or the test would never see end of file on the pipe */
        *read_end = fds[0];
    }
    return pid;
}

/* grade_spawn is grade_spawn_piped without the pipe: the body to run is kept here, and the
 * helper, which gets a copy of this variable at fork, calls it. */
static int (*plain_body)(void *arg);

static int run_plain_body(void *arg, int out_fd)
{
    (void)out_fd;
    return plain_body(arg);
}

pid_t grade_spawn(int (*body)(void *arg), void *arg)
{
    plain_body = body;
    return grade_spawn_piped(run_plain_body, arg, NULL);
}

int grade_wait_children(const pid_t *pids, int *statuses, int count, double seconds)
{
    int running = count;
    int *done = calloc((size_t)count, sizeof *done);
    if (!done)
        grade_fail("the grader ran out of memory");
    /* Polling every 2 ms rather than blocking in waitpid: the deadline covers them all, and a
     * test must not hang on one process while another has long failed. */
    double deadline = grade_now() + seconds * grade_timeout_scale();
    while (running > 0 && grade_now() < deadline) {
        for (int i = 0; i < count; i++) {
            if (done[i])
                continue;
            pid_t ended = waitpid(pids[i], &statuses[i], WNOHANG);
            if (ended == -1 && errno != EINTR)
                grade_fail("the grader could not wait for process %d: %s", (int)pids[i],
                           strerror(errno));
            if (ended == pids[i]) {
                done[i] = 1;
                running--;
            }
        }
        if (running > 0)
            grade_pause_ms(2);
    }
    for (int i = 0; i < count; i++) {
        if (done[i])
            continue;
        kill(pids[i], SIGKILL); /* ESRCH is impossible: it is our unreaped child */
        while (waitpid(pids[i], &statuses[i], 0) == -1)
            if (errno != EINTR)
                grade_fail("the grader could not reap process %d: %s", (int)pids[i],
                           strerror(errno));
    }
    free(done);
    return running;
}

/* ---- what /proc says ------------------------------------------------------------------------- */

char grade_process_state(pid_t pid, long *cpu_ticks)
{
    if (cpu_ticks)
        *cpu_ticks = -1;
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[n] = '\0';
    char *paren = strrchr(text, ')'); /* the command name may hold spaces and parentheses */
    if (!paren || paren[1] != ' ')
        return 0;
    /* After ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15), numbered as in proc(5). */
    long utime, stime;
    if (cpu_ticks && sscanf(paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                            &utime, &stime) == 2)
        *cpu_ticks = utime + stime;
    return paren[2];
}

/* How many times pid has run on a CPU so far: schedstat's third field, or failing that its
 * voluntary and involuntary context switches.  -1 when it is gone. */
static long times_run(pid_t pid)
{
    char path[64];
    long run_ns, wait_ns, slices;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *file = fopen(path, "r");
    if (file) {
        int got = fscanf(file, "%ld %ld %ld", &run_ns, &wait_ns, &slices);
        fclose(file);
        if (got == 3)
            return slices;
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(file = fopen(path, "r")))
        return -1;
    char line[256];
    long switches = 0, n;
    while (fgets(line, sizeof line, file))
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %ld", &n) == 1)
            switches += n;
    fclose(file);
    return switches;
}

static int asleep(char state)
{
    return state == 'S' || state == 'D';
}

int grade_process_blocked(pid_t pid, long window_ms, char *state, long *runs)
{
    char seen = grade_process_state(pid, NULL);
    long before = times_run(pid), after = before;
    if (asleep(seen) && before >= 0) {
        grade_pause_ms(window_ms);
        after = times_run(pid);
        seen = grade_process_state(pid, NULL);
    }
    if (state)
        *state = seen;
    if (runs)
        *runs = after >= 0 && before >= 0 ? after - before : 0;
    if (seen == 0 || seen == 'Z' || before < 0 || after < 0)
        return -1;
    /* Under valgrind, which runs its own scheduler in the process, only the state is judged. */
    return asleep(seen) && (after == before || grade_under_valgrind());
}

int grade_wait_blocked(const pid_t *pids, int count, double seconds, char *state, long *runs)
{
    double deadline = grade_now() + seconds * grade_timeout_scale();
    int first_awake = -1;
    do {
        first_awake = -1;
        for (int i = 0; i < count && first_awake == -1; i++)
            if (grade_process_blocked(pids[i], 200, state, runs) == 0)
                first_awake = i;
        if (first_awake == -1)
            return -1;
    } while (grade_now() < deadline);
    return first_awake;
}

int grade_count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        grade_fail("the grader could not open /proc/self/fd: %s", strerror(errno));
    int count = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
        count += entry->d_name[0] != '.';
    closedir(dir);
    return count - 1; /* the directory's own descriptor */
}

int grade_count_mappings(void)
{
    FILE *file = fopen("/proc/self/maps", "r");
    if (!file)
        grade_fail("the grader could not read /proc/self/maps: %s", strerror(errno));
    int lines = 0;
    for (int ch; (ch = fgetc(file)) != EOF;)
        lines += ch == '\n';
    fclose(file);
    return lines;
}

void grade_shm_names_in_use(struct grade_shm_names *names)
{
    names->count = 0;
    FILE *file = fopen("/proc/self/maps", "r");
    if (!file)
        grade_fail("the grader could not read /proc/self/maps: %s", strerror(errno));
    char line[4096 + 256];
    while (fgets(line, sizeof line, file) && names->count < GRADE_MAX_SHM_NAMES) {
        char *path = strstr(line, "/dev/shm/");
        if (!path || strstr(path, "(deleted)")) /* already unlinked: nothing to leave behind */
            continue;
        path[strcspn(path, "\n")] = '\0';
        int seen = 0; /* one object is often mapped more than once */
        for (int i = 0; i < names->count; i++)
            seen |= strcmp(names->path[i], path) == 0;
        if (!seen)
            snprintf(names->path[names->count++], sizeof names->path[0], "%s", path);
    }
    fclose(file);
}

void grade_expect_shm_names_gone(const struct grade_shm_names *names, const char *call)
{
    char what[256];
    snprintf(what, sizeof what, "%s left a named object behind in /dev/shm", call);
    for (int i = 0; i < names->count; i++)
        grade_expect_true(access(names->path[i], F_OK) == -1, what, "%s", names->path[i]);
}
