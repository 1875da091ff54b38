/* setsid_escape.c - processes that leave the test's session and group (setsid), and a pile of
 * zombies: each child forks a sleeper and exits unreaped. */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <unistd.h>

static void attack(void)
{
    for (int i = 0; i < 50; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            setsid();
            prctl(PR_SET_NAME, REDTEAM_NAME);
            if (fork() == 0)
                for (;;)
                    pause();
            _exit(0);
        }
    }
}
