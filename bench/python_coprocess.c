/* python_coprocess.c - see python_coprocess.h. */
#define _GNU_SOURCE
#include "python_coprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"

static const char *python_script(void)
{
    static char path[4096];
    if (access("bench/python_pool.py", R_OK) == 0)
        return "bench/python_pool.py";
    /* Run from elsewhere: the script sits at ../../bench/ from build/bin/bench. */
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        return NULL;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    strcpy(slash, "/../../bench/python_pool.py");
    return access(path, R_OK) == 0 ? path : NULL;
}

int python_available(void)
{
    static int known = -1;
    if (known >= 0)
        return known;
    known = 0;
    if (!python_script())
        return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return 0;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execlp("python3", "python3", "-c", "import multiprocessing, concurrent.futures", (char *)0);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return 0;
    known = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return known;
}

int python_coprocess_start(struct python_coprocess *c, const char *kind, int workers)
{
    int in[2], out[2];
    if (pipe(in) == -1)
        return -1;
    if (pipe(out) == -1) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    char nworkers[16];
    snprintf(nworkers, sizeof nworkers, "%d", workers);
    const char *script = python_script();
    pid_t parent = getpid();
    fflush(NULL);
    c->pid = fork();
    if (c->pid == -1)
        return -1;
    if (c->pid == 0) {
        die_with_parent(parent); /* kept across exec: Python dies with the benchmark */
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execlp("python3", "python3", script, "--kind", kind, "--workers", nworkers, (char *)0);
        _exit(127);
    }
    cleanup_add_child(c->pid);
    close(in[0]);
    close(out[1]);
    c->to = fdopen(in[1], "w");
    c->from = fdopen(out[0], "r");
    char line[128];
    if (!c->to || !c->from || !fgets(line, sizeof line, c->from) || strncmp(line, "ready", 5))
        return -1;
    return 0;
}

int python_coprocess_ask(struct python_coprocess *c, const char *command, double *seconds,
                         long *value)
{
    char line[256];
    if (fprintf(c->to, "%s\n", command) < 0 || fflush(c->to) == EOF)
        return -1;
    if (!fgets(line, sizeof line, c->from))
        return -1;
    return sscanf(line, "seconds %lf value %ld", seconds, value) == 2 ? 0 : -1;
}

void python_coprocess_stop(struct python_coprocess *c)
{
    if (c->pid <= 0)
        return;
    if (c->to)
        fclose(c->to); /* end of input: the script leaves its `with` block and exits */
    if (c->from)
        fclose(c->from);
    while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
        continue;
    cleanup_forget_child(c->pid);
    *c = (struct python_coprocess){0};
}
