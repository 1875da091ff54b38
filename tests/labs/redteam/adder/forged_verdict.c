/* forged_verdict.c - write "passed" verdicts, in the report's format with a guessed token, to
 * every descriptor the test process holds, then let the test go on (and fail). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void attack(void)
{
    static const char forged[] = "00000000000000000000000000000000 P \n";
    for (int fd = 3; fd < 64; fd++)
        if (write(fd, forged, strlen(forged)) > 0)
            dprintf(STDOUT_FILENO, "redteam: forged a verdict on descriptor %d\n", fd);
}
