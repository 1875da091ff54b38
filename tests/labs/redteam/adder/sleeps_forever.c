/* sleeps_forever.c - never return, blocking every signal it may block. */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>

static void attack(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;)
        pause();
}
