/* watchdog.c - see watchdog.h. */
#define _GNU_SOURCE
#include "support/watchdog.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/error.h"

static char message[512];
static size_t message_length;

static void on_watchdog(int sig)
{
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, message, message_length);
    (void)ignored;  /* nowhere left to report that the report failed */
    raise(SIGTERM); /* the cleanup handler kills and reaps the children, then we die of it */
}

void start_watchdog(unsigned seconds, const char *what)
{
    int n = snprintf(message, sizeof message, "%s: watchdog: %s\n", program_name(), what);
    if (n < 0 || (size_t)n >= sizeof message)
        die("start_watchdog: message too long: %s", what);
    message_length = (size_t)n;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sa.sa_flags = SA_RESTART; /* the interrupted call resumes; the handler ends the run */
    if (sigemptyset(&sa.sa_mask) == -1 || sigaction(SIGALRM, &sa, NULL) == -1)
        die("sigaction(SIGALRM)");
    alarm(seconds);
}

void stop_watchdog(void)
{
    alarm(0); /* returns the seconds that were left: nothing to check */
}
