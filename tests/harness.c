/* harness.c - see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FORKLORE_BIN
#error "FORKLORE_BIN (the folder of the built programs) is set by the Makefile"
#endif

struct buffer {
    char *data;
    size_t len, cap;
};

static int buffer_append(struct buffer *b, const char *bytes, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: wire the pipes and exec the program.  Reports only through _exit. */
static void exec_child(char *const argv[], int out_fd, int err_fd, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
        _exit(126);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull == -1 || dup2(devnull, STDIN_FILENO) == -1 ||
        dup2(out_fd, STDOUT_FILENO) == -1 || dup2(err_fd, STDERR_FILENO) == -1)
        _exit(126);
    char path[4096];
    if (strchr(argv[0], '/'))
        snprintf(path, sizeof path, "%s", argv[0]);
    else
        snprintf(path, sizeof path, "%s/%s", FORKLORE_BIN, argv[0]);
    execv(path, argv);
    _exit(127);
}

int run_program(char *const argv[], int timeout_s, struct program_run *run)
{
    memset(run, 0, sizeof *run);
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) == -1)
        return -1;
    if (pipe2(err_pipe, O_CLOEXEC) == -1) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        return -1;
    }
    /* The test process becomes a subreaper: whatever a program orphans comes back to it, so a
     * leaked grandchild shows up in count_my_zombies() instead of vanishing into init. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
        return -1;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        return -1;
    if (pid == 0)
        exec_child(argv, out_pipe[1], err_pipe[1], parent);
    close(out_pipe[1]);
    close(err_pipe[1]);

    struct buffer out = {0}, err = {0};
    buffer_append(&out, "", 0);
    buffer_append(&err, "", 0);
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    struct buffer *bufs[2] = {&out, &err};
    int open_fds = 2;
    /* Under valgrind everything runs many times slower: the gate sets a scale. */
    const char *scale_text = getenv("FORKLORE_TIMEOUT_SCALE");
    long long scale = scale_text ? atoll(scale_text) : 1;
    long long deadline = now_ms() + (long long)timeout_s * 1000 * (scale > 0 ? scale : 1);
    while (open_fds > 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            run->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(fds, 2, (int)(left > 1000 ? 1000 : left));
        if (n == -1 && errno != EINTR)
            break;
        for (int i = 0; i < 2 && n > 0; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got > 0) {
                buffer_append(bufs[i], chunk, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    /* The output is closed, but a program may still be running (it closed its stdout, or it
     * left a grandchild holding the pipe): wait for it within the same deadline. */
    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid || (done == -1 && errno != EINTR))
            break;
        if (now_ms() >= deadline && !run->timed_out) {
            run->timed_out = 1;
            kill(pid, SIGKILL);
        }
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
    run->status = status;
    run->out = out.data;
    run->out_len = out.len;
    run->err = err.data;
    run->err_len = err.len;
    return 0;
}

void program_run_free(struct program_run *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

int exited_with(const struct program_run *run, int code)
{
    return !run->timed_out && WIFEXITED(run->status) && WEXITSTATUS(run->status) == code;
}

int count_lines_containing(const char *text, const char *needle)
{
    int count = 0;
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = memmem(line, len, needle, strlen(needle));
        if (hit)
            count++;
        line = end ? end + 1 : NULL;
    }
    return count;
}

int count_dir_entries_containing(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no /dev/mqueue mounted: nothing can be left there */
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, needle))
            count++;
    closedir(d);
    return count;
}

int count_abandoned_ipc(const char *dir, const char *tag)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "forklore-%s-", tag);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *at = strstr(e->d_name, prefix);
        if (!at)
            continue;
        long pid = strtol(at + strlen(prefix), NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH)
            count++;
    }
    closedir(d);
    return count;
}

int count_my_zombies(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int zombies = 0, child;
    while (fscanf(f, "%d", &child) == 1) {
        char stat_path[64], line[512];
        snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", child);
        FILE *s = fopen(stat_path, "r");
        if (!s)
            continue;
        if (fgets(line, sizeof line, s)) {
            char *paren = strrchr(line, ')'); /* the command name may hold spaces */
            if (paren && paren[1] == ' ' && paren[2] == 'Z')
                zombies++;
        }
        fclose(s);
    }
    fclose(f);
    return zombies;
}
