/* coprocess.c - a program the benchmark talks to in lines: see coprocess.h. */
#define _GNU_SOURCE
#include "coprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"

int coprocess_start(struct coprocess *c, char *const argv[])
{
    *c = (struct coprocess){0};
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) == -1)
        return -1;
    if (pipe2(out, O_CLOEXEC) == -1) {
        int saved = errno;
        close(in[0]);
        close(in[1]);
        errno = saved;
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        int saved = errno;
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        die_with_parent(parent); /* kept across exec: it dies with the benchmark */
        /* dup2 clears close-on-exec on 0 and 1; the originals close at the exec. */
        if (dup2(in[0], STDIN_FILENO) == -1 || dup2(out[1], STDOUT_FILENO) == -1)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    cleanup_add_child(pid);
    c->pid = pid;
    close(in[0]);
    close(out[1]);
    if (!(c->to = fdopen(in[1], "w")))
        close(in[1]);
    if (!(c->from = fdopen(out[0], "r")))
        close(out[0]);
    if (!c->to || !c->from)
        return -1;
    setvbuf(c->to, NULL, _IOLBF, 0);
    return 0;
}

void coprocess_stop(struct coprocess *c, const char *last_line)
{
    if (c->pid <= 0)
        return;
    if (c->to) {
        if (last_line)
            fputs(last_line, c->to);
        fclose(c->to); /* end of input too: a program reading lines sees EOF and leaves */
    }
    if (c->from)
        fclose(c->from);
    while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
        continue;
    cleanup_forget_child(c->pid);
    *c = (struct coprocess){0};
}
