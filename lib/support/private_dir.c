/* private_dir.c - see private_dir.h. */
#define _GNU_SOURCE
#include "support/private_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"

void make_private_dir(char *dir, size_t size, const char *tag)
{
    int n = snprintf(dir, size, "/tmp/forklore-%s-XXXXXX", tag);
    if (n < 0 || (size_t)n >= size)
        die("make_private_dir: no room for the name of tag \"%s\"", tag);
    if (mkdtemp(dir) == NULL)
        die("mkdtemp %s", dir);
    cleanup_add_name(IPC_DIRECTORY, dir);
}

void remove_private_dir(const char *dir)
{
    if (rmdir(dir) == -1)
        die("rmdir %s", dir);
    cleanup_forget_name(dir);
}
