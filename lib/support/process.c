/* process.c - see process.h. */
#define _GNU_SOURCE
#include "support/process.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"

pid_t start_child(void)
{
    if (fflush(stdout) == EOF) /* else the child inherits, and repeats, unwritten output */
        die("fflush");
    pid_t parent = getpid(); /* the child compares it with getppid() after prctl */
    pid_t pid = fork();
    if (pid == -1)
        die("fork");
    if (pid == 0)
        die_with_parent(parent); /* if the parent dies, so does this child: no orphans */
    else
        cleanup_add_child(pid); /* until reaped, Ctrl-C in the parent kills and reaps it */
    return pid;
}

_Noreturn void leave_child(int code)
{
    if (fflush(stdout) == EOF && code == EXIT_SUCCESS)
        code = EXIT_FAILURE; /* its output was lost: that is a failure too */
    _exit(code);
}

int wait_for_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) /* a signal interrupted the wait: wait again */
            die("waitpid(%ld)", (long)pid);
    cleanup_forget_child(pid); /* reaped: its pid may now be reused by anyone */
    return status;
}

int child_succeeded(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int reap_child(pid_t pid, const char *role)
{
    int status = wait_for_child(pid);
    if (child_succeeded(status))
        return 0;
    char how[STATUS_TEXT_SIZE];
    note("%s %ld %s", role, (long)pid, describe_status(status, how, sizeof how));
    return 1;
}

int reap_group(const pid_t pids[], int n, const char *role)
{
    int failed = 0, left = n;
    char *done = calloc((size_t)n + 1, 1);
    if (!done)
        die("reap_group: no memory for %d children", n);
    while (left > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            die("waitpid");
        }
        int i = 0;
        while (i < n && (done[i] || pids[i] != pid))
            i++;
        if (i == n)
            continue; /* not one of the group (the caller's only children should be) */
        done[i] = 1;
        left--;
        cleanup_forget_child(pid);
        if (child_succeeded(status))
            continue;
        char how[STATUS_TEXT_SIZE];
        note("%s %ld %s", role, (long)pid, describe_status(status, how, sizeof how));
        if (failed++ == 0 && left > 0) {
            note("the other %d would wait for it for ever: stopping them", left);
            for (int j = 0; j < n; j++)
                if (!done[j])
                    kill(pids[j], SIGKILL);
        }
    }
    free(done);
    return failed;
}

int report_child(pid_t pid, const char *role)
{
    int status = wait_for_child(pid);
    char how[STATUS_TEXT_SIZE];
    printf("[parent %ld] %s %ld %s\n", (long)getpid(), role, (long)pid,
           describe_status(status, how, sizeof how));
    return status;
}

/* The four things waitpid can report.  Only the first two mean the child is gone and its pid
 * is free; the other two (with WUNTRACED, WCONTINUED) still need a later wait to reap it:
 *   WIFEXITED    it called exit/_exit (or returned from main): WEXITSTATUS is the low 8 bits
 *   WIFSIGNALED  a signal killed it: WTERMSIG is the signal; WCOREDUMP (not POSIX, but on
 *                Linux and the BSDs) says the kernel also wrote a core dump
 *   WIFSTOPPED   it is paused, not gone: WSTOPSIG stopped it
 *   WIFCONTINUED SIGCONT resumed it */
const char *describe_status(int status, char *buf, size_t size)
{
    /* Never pick the bits apart by hand (status >> 8 ...): the macros are the portable way.
     * On Linux the layout is: exit code << 8; signal number in the low 7 bits, plus 0x80 for a
     * core; (signal << 8) | 0x7f for stopped; 0xffff for continued. */
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        int core = 0;
#ifdef WCOREDUMP /* absent on some systems: then we cannot tell, and say nothing */
        core = WCOREDUMP(status);
#endif
        /* strsignal gives the system's description ("Terminated"), not the name: print the
         * number too, since `kill -l 15` turns it into the name. */
        snprintf(buf, size, "killed by signal %d (%s)%s", sig, strsignal(sig),
                 core ? ", core dumped" : "");
    } else if (WIFSTOPPED(status)) {
        int sig = WSTOPSIG(status);
        snprintf(buf, size, "stopped by signal %d (%s)", sig, strsignal(sig));
    } else if (WIFCONTINUED(status)) {
        snprintf(buf, size, "continued (resumed by SIGCONT)");
    } else {
        snprintf(buf, size, "unknown status 0x%04x", (unsigned)status);
    }
    return buf;
}

void say(const char *fmt, ...)
{
    char line[1024];
    int used = snprintf(line, sizeof line, "[pid %ld] ", (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    int more = vsnprintf(line + used, sizeof line - (size_t)used, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    if (more >= 0 && (size_t)(used + more) >= sizeof line)
        line[len - 1] = '\n'; /* cut short: still one whole line */
    if (write(STDOUT_FILENO, line, len) != (ssize_t)len)
        return; /* stdout closed or full: nothing useful left to do with the line */
}
