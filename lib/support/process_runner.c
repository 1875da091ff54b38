/* process_runner.c - see process_runner.h. */
#define _GNU_SOURCE
#include "support/process_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One output stream being collected. */
struct stream {
    int fd; /* our read end, -1 once closed */
    char *data;
    size_t len, cap, limit;
    size_t *dropped;
};

static int stream_add(struct stream *s, const char *bytes, size_t n)
{
    size_t keep = s->len + n > s->limit ? s->limit - s->len : n;
    *s->dropped += n - keep;
    if (s->len + keep + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + keep + 1)
            cap *= 2;
        char *grown = realloc(s->data, cap);
        if (!grown)
            return -1;
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, keep);
    s->len += keep;
    s->data[s->len] = '\0';
    return 0;
}

/* Close a pipe end or /dev/null of the runner's own.  Its result cannot matter: no data
 * waits behind such a close (a pipe's writes are in the pipe already), Linux frees the
 * descriptor even when close reports EINTR, and EBADF would be a bug in this file, which its
 * tests (every program the suite and the grader run goes through it) would show. */
static void close_end(int fd)
{
    (void)close(fd);
}

/* Read what is there; close at end of file.  -1 only when memory ran out. */
static int stream_read(struct stream *s)
{
    char chunk[16384];
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n > 0)
        return stream_add(s, chunk, (size_t)n);
    if (n == -1 && (errno == EINTR || errno == EAGAIN))
        return 0;
    close_end(s->fd); /* end of file, or an error that will not go away */
    s->fd = -1;
    return 0;
}

/* In the child: put each source descriptor at its target number.  The sources are first moved
 * above every target, so that a source that happens to be a target's number (a caller that
 * had closed its stdin) is not overwritten before it is used. */
static void place_descriptors(const int *source, const int *target, int count)
{
    int high[5];
    for (int i = 0; i < count; i++)
        if (source[i] >= 0 && (high[i] = fcntl(source[i], F_DUPFD_CLOEXEC, 16)) == -1)
            _exit(126);
    for (int i = 0; i < count; i++)
        if (source[i] >= 0 && dup2(high[i], target[i]) == -1) /* dup2: not close-on-exec */
            _exit(126);
}

_Noreturn static void child(const struct runner_options *o, const int *source, const int *target,
                            int count)
{
    if (o->own_group && setpgid(0, 0) == -1)
        _exit(126);
    signal(SIGPIPE, SIG_DFL); /* a runner that ignores SIGPIPE must not pass that on */
    place_descriptors(source, target, count);
    if (o->before_exec && o->before_exec(o->arg) != 0)
        _exit(126);
    const char *path = o->path ? o->path : o->argv[0];
    char *const *envp = o->envp ? o->envp : environ;
    if (strchr(path, '/'))
        execve(path, o->argv, envp);
    else
        execvpe(path, o->argv, envp);
    dprintf(STDERR_FILENO, "cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
}

static void close_pair(int *fds)
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            close_end(fds[i]);
            fds[i] = -1;
        }
}

/* Write more input if the pipe takes it; close our end when all is written or it stopped
 * reading (EPIPE: its business, not ours). */
static void feed(int *fd, const char *input, size_t len, size_t *sent)
{
    ssize_t n = write(*fd, input + *sent, len - *sent);
    if (n > 0)
        *sent += (size_t)n;
    if ((n == -1 && errno != EAGAIN && errno != EINTR) || *sent == len) {
        close_end(*fd);
        *fd = -1;
    }
}

/* The poll loop: until it is reaped and its pipes are closed, or the grace or deadline ends. */
static int collect(const struct runner_options *o, pid_t pid, int *in_fd_p, struct stream *s,
                   int count, struct runner_result *r, double start, int *reaped_p)
{
    size_t input_len = o->input ? (o->input_len ? o->input_len : strlen(o->input)) : 0, sent = 0;
    double grace = o->output_grace_s > 0 ? o->output_grace_s : 0.5, grace_end = 0;
    int reaped = 0, in_fd = *in_fd_p, status = 0;
    for (;;) {
        int open = in_fd >= 0;
        for (int i = 0; i < count; i++)
            open += s[i].fd >= 0;
        if (reaped && !open)
            break;
        double now = now_s(), wait = 0.05; /* the exit is checked every 50 ms meanwhile */
        if (o->timeout_s > 0 && now >= start + o->timeout_s && !reaped) {
            r->timed_out = 1;
            break;
        }
        if (o->cancel && *o->cancel && !reaped) {
            r->cancelled = 1;
            break;
        }
        if (reaped && (now >= grace_end || (o->timeout_s > 0 && now >= start + o->timeout_s))) {
            r->output_held = 1;
            break;
        }
        struct pollfd fds[5];
        for (int i = 0; i < count; i++)
            fds[i] = (struct pollfd){s[i].fd, POLLIN, 0};
        fds[count] = (struct pollfd){in_fd, POLLOUT, 0};
        if (poll(fds, (nfds_t)count + 1, (int)(wait * 1000)) == -1 && errno != EINTR) {
            status = -1;
            break;
        }
        for (int i = 0; i < count && status == 0; i++)
            if (s[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                status = stream_read(&s[i]);
        if (status == -1)
            break;
        if (in_fd >= 0 && (fds[count].revents & (POLLOUT | POLLERR | POLLHUP)))
            feed(&in_fd, o->input, input_len, &sent);
        if (!reaped && waitpid(pid, &r->status, WNOHANG) == pid) {
            reaped = 1;
            grace_end = now_s() + grace;
            if (in_fd >= 0) {
                close_end(in_fd);
                in_fd = -1;
            }
        }
    }
    *in_fd_p = in_fd;
    *reaped_p = reaped;
    return status;
}

/* What is already in the pipe, without waiting for more; then close it. */
static void stream_drain(struct stream *s)
{
    if (s->fd < 0)
        return;
    char chunk[16384];
    ssize_t n;
    /* Without O_NONBLOCK a read could wait for a writer that is still alive: drain nothing. */
    if (fcntl(s->fd, F_SETFL, O_NONBLOCK) == 0)
        while ((n = read(s->fd, chunk, sizeof chunk)) > 0 && stream_add(s, chunk, (size_t)n) == 0)
            continue;
    close_end(s->fd);
    s->fd = -1;
}

int runner_run(const struct runner_options *o, struct runner_result *r)
{
    memset(r, 0, sizeof *r);
    int in[2] = {-1, -1}, pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int count = o->channel ? 3 : 2;
    int failed = 0;
    for (int i = 0; i < count && !failed; i++)
        failed = pipe2(pipes[i], O_CLOEXEC) == -1;
    if (!failed && o->input)
        failed = pipe2(in, O_CLOEXEC) == -1 || fcntl(in[1], F_SETFL, O_NONBLOCK) == -1;
    int null_fd = failed || o->input ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (failed || (!o->input && null_fd == -1)) {
        int saved = errno;
        for (int i = 0; i < 3; i++)
            close_pair(pipes[i]);
        close_pair(in);
        errno = saved;
        return -1;
    }
    /* Writing to a program that stopped reading must not kill the runner. */
    struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ignore, &old); /* cannot fail: a valid signal, a valid action */
    fflush(NULL);                      /* or the child would print our buffered output again */
    double start = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int source[5] = {o->input ? in[0] : null_fd, pipes[0][1], pipes[1][1], pipes[2][1],
                         o->pass_fd > 0 ? o->pass_fd : -1};
        int target[5] = {0, 1, 2, RUNNER_CHANNEL_FD, o->pass_fd_at};
        child(o, source, target, 5);
    }
    int saved = errno;
    if (null_fd >= 0)
        close_end(null_fd);
    close_end(in[0]);
    for (int i = 0; i < count; i++)
        close_end(pipes[i][1]);
    if (pid == -1) {
        for (int i = 0; i < count; i++)
            close_end(pipes[i][0]);
        if (in[1] >= 0)
            close_end(in[1]);
        sigaction(SIGPIPE, &old, NULL);
        errno = saved;
        return -1;
    }
    if (o->own_group)
        setpgid(pid, pid); /* here too, so the group exists whichever of us runs first */
    r->pid = pid;
    size_t limit = o->max_output ? o->max_output : (size_t)16 << 20;
    struct stream s[3];
    for (int i = 0; i < count; i++)
        s[i] = (struct stream){pipes[i][0], NULL, 0, 0, limit, &r->dropped};
    int reaped = 0;
    int status = collect(o, pid, &in[1], s, count, r, start, &reaped);
    saved = errno;
    if (!reaped) {
        kill(o->own_group ? -pid : pid, SIGKILL);
        while (waitpid(pid, &r->status, 0) == -1 && errno == EINTR)
            continue;
    }
    for (int i = 0; i < count; i++) {
        stream_drain(&s[i]);
        stream_add(&s[i], "", 0); /* never NULL */
    }
    if (in[1] >= 0)
        close_end(in[1]);
    sigaction(SIGPIPE, &old, NULL);
    r->seconds = now_s() - start;
    r->out = s[0].data, r->out_len = s[0].len;
    r->err = s[1].data, r->err_len = s[1].len;
    if (o->channel)
        r->channel = s[2].data, r->channel_len = s[2].len;
    errno = saved;
    return status;
}

void runner_result_free(struct runner_result *r)
{
    free(r->out);
    free(r->err);
    free(r->channel);
    r->out = r->err = r->channel = NULL;
}

const char *runner_describe_status(int status, char *text, size_t size)
{
    if (WIFEXITED(status))
        snprintf(text, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, size, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(text, size, "ended with wait status %#x", status);
    return text;
}
