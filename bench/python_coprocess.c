/* python_coprocess.c - see python_coprocess.h. */
#define _GNU_SOURCE
#include "python_coprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
    const char *script = python_script();
    if (!script)
        return -1;
    char nworkers[16];
    snprintf(nworkers, sizeof nworkers, "%d", workers);
    char *argv[] = {"python3", (char *)script, "--kind", (char *)kind, "--workers", nworkers, NULL};
    if (coprocess_start(&c->process, argv) == -1)
        return -1;
    char line[128];
    if (!fgets(line, sizeof line, c->process.from) || strncmp(line, "ready", 5) != 0)
        return -1;
    return 0;
}

int python_coprocess_ask(struct python_coprocess *c, const char *command, double *seconds,
                         long *value)
{
    char line[256];
    if (fprintf(c->process.to, "%s\n", command) < 0 || fflush(c->process.to) == EOF)
        return -1;
    if (!fgets(line, sizeof line, c->process.from))
        return -1;
    return sscanf(line, "seconds %lf value %ld", seconds, value) == 2 ? 0 : -1;
}

void python_coprocess_stop(struct python_coprocess *c)
{
    coprocess_stop(&c->process, NULL); /* end of input: the script leaves its `with` block */
}
