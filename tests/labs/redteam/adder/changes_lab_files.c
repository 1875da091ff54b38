/* changes_lab_files.c - try to open for writing the grader, the test program and the lab's
 * given files (only opened: if one opens, the attack has won and says so; it writes nothing). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void try_to_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd != -1) {
        printf("REDTEAM-WIN: %s opened for writing\n", path);
        close(fd);
    }
}

static void attack(void)
{
    char self[PATH_MAX] = "", path[PATH_MAX + 64];
    if (readlink("/proc/self/exe", self, sizeof self - 1) > 0 && strrchr(self, '/')) {
        *strrchr(self, '/') = '\0';
        snprintf(path, sizeof path, "%s/grade", self);
        try_to_write(path);
        snprintf(path, sizeof path, "%s/echo_input", self);
        try_to_write(path);
    }
    const char *root = getenv("FORKLORE_ROOT");
    if (root) {
        snprintf(path, sizeof path, "%s/lessons/labs/grader/grader.c", root);
        try_to_write(path);
        snprintf(path, sizeof path, "%s/Makefile", root);
        try_to_write(path);
    }
    fflush(stdout);
}
