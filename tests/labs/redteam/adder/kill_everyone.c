/* kill_everyone.c - kill(-1, SIGKILL): every process this user may signal.  Only where it is
 * safe to try on a shared machine: inside a PID namespace (the sandbox's), where -1 means the
 * processes of the namespace.  Elsewhere it says so and does nothing. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Inside the sandbox's PID namespace, process 1 is the grader's waiter (a copy of "grade"); on
 * the machine itself it is init. */
static int in_pid_namespace(void)
{
    FILE *file = fopen("/proc/1/cmdline", "r");
    char command[4096] = "";
    size_t n = file ? fread(command, 1, sizeof command - 1, file) : 0;
    if (file)
        fclose(file);
    command[n] = '\0';
    return strstr(command, "/grade") != NULL;
}

static void attack(void)
{
    if (!in_pid_namespace()) {
        printf("redteam: not in a PID namespace: kill(-1) not tried\n");
        return;
    }
    kill(-1, SIGKILL);
}
