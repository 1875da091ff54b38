/* private_dir.c - see private_dir.h. */
#define _GNU_SOURCE
#include "support/private_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *temp_root(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && dir[0] == '/' ? dir : "/tmp"; /* a relative TMPDIR would move with chdir */
}

int make_private_dir(char *dir, size_t size, const char *tag)
{
    int n = snprintf(dir, size, "%s/forklore-%s-%ld-XXXXXX", temp_root(), tag, (long)getpid());
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(dir) ? 0 : -1;
}
