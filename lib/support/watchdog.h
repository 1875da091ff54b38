/* watchdog.h - no run may hang for ever: a time limit for the whole program.
 *
 * start_watchdog(seconds, what) arms alarm(2).  If the run is still going when it fires, the
 * SIGALRM handler writes one line, "NAME: watchdog: WHAT", and raises SIGTERM, whose handler
 * (cleanup.h) kills and reaps the registered children and removes the registered names; the
 * program then dies of SIGTERM, so its parent sees that it did not finish.  Only
 * async-signal-safe calls run in the handler: the line is formatted here, in advance.
 * stop_watchdog() disarms it.  alarm() is per process and not inherited across fork: a child
 * that needs a limit of its own arms its own.
 */
#ifndef FORKLORE_WATCHDOG_H
#define FORKLORE_WATCHDOG_H

void start_watchdog(unsigned seconds, const char *what);
void stop_watchdog(void);

#endif
