/* python_coprocess.h - bench/python_pool.py as a co-process, so that the pool workloads can
 * time Python's multiprocessing.Pool and ProcessPoolExecutor on the same jobs as the C pools.
 *
 * The script is started once per measured point, with a kind ("pool" or "executor") and a
 * worker count: it builds its pool, says "ready", then reads one command per line on its
 * stdin ("primes LIMIT RANGES CHUNK", "noop COUNT CHUNK"; see the script) and answers each
 * with one line "seconds S value V": S, the job's time as Python measured it, pool already
 * running (neither the interpreter's start-up nor the pool's is timed); V, the job's answer.
 * Closing its stdin ends it.
 *
 * The script is found as bench/python_pool.py from the current folder, or beside the
 * benchmark's executable (../../bench/ from build/bin/bench).  It runs as a co-process
 * (coprocess.h): Ctrl-C kills and reaps it, and it dies with the benchmark.
 */
#ifndef FORKLORE_PYTHON_COPROCESS_H
#define FORKLORE_PYTHON_COPROCESS_H

#include "coprocess.h"

struct python_coprocess {
    struct coprocess process;
};

/* 1 if the script is there and python3 with multiprocessing runs here (asked once). */
int python_available(void);

/* Start the script: kind "pool" or "executor", `workers` processes; waits for "ready".
 * 0, or -1; after a failure python_coprocess_stop(c) still applies. */
int python_coprocess_start(struct python_coprocess *c, const char *kind, int workers);

/* Send one command; parse "seconds S value V".  0, or -1 (no answer, or not that form). */
int python_coprocess_ask(struct python_coprocess *c, const char *command, double *seconds,
                         long *value);

/* Close its input, reap it and zero *c.  Does nothing if it is not running. */
void python_coprocess_stop(struct python_coprocess *c);

#endif
