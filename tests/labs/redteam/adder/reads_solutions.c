/* reads_solutions.c - read the instructors' reference solutions from the repository. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

static void attack(void)
{
    const char *root = getenv("FORKLORE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/labs/pool/solution/mini_pool.c", root ? root : ".");
    FILE *file = fopen(path, "r");
    if (file) {
        printf("REDTEAM-WIN: read %s\n", path);
        fclose(file);
    }
    fflush(stdout);
}
