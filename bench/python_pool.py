#!/usr/bin/env python3
"""python_pool.py - Python's multiprocessing on the jobs of forklore's pool benchmarks.

The benchmark workloads bench/workloads/pool_scaling.c and pool_overhead.c start this script
once per measured point, as a co-process, so that neither the interpreter's start-up nor the
pool's start-up is timed: the pool is created and warmed up first, then the script reads one
command per line on stdin, runs it, and answers one line on stdout:

    primes LIMIT RANGES CHUNK   count the primes below LIMIT, cut into RANGES equal ranges,
                                with Pool.map(chunksize=CHUNK or None for 0)
    noop COUNT CHUNK            COUNT no-op tasks through map(chunksize=CHUNK or None for 0)

    answer: "seconds S value V"  S: from the first submit to the last result (time.perf_counter)
                                 V: the job's answer (prime count, or tasks returned)

Usage: python_pool.py --kind pool|executor --workers P
  --kind pool      multiprocessing.Pool(P).map
  --kind executor  concurrent.futures.ProcessPoolExecutor(P).map (chunksize 0 means 1, its
                   default: the executor has no automatic chunk size)
The script leaves when stdin closes; `with` shuts the pool down and joins its workers.
"""
import argparse
import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent):
    """Pool initializer: this worker dies when the script that forked it does.

    The benchmark kills this script (SIGKILL via its own death signal, or its cleanup) when it is
    interrupted; without this the pool's workers, blocked on their task queue, would live on under
    init. The same prctl as the C side's die_with_parent, through ctypes; the getppid check closes
    the window where the script died before the prctl ran."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os._exit(1)


def is_prime(n):
    # The same trial division as the C tasks, so both sides do the same work.
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


def count_range(bounds):
    first, end = bounds
    return sum(1 for n in range(first, end) if is_prime(n))


def noop(x):
    return x


def run(mapper, words):
    if words[0] == "primes":
        limit, ranges, chunk = int(words[1]), int(words[2]), int(words[3])
        items = [(limit * i // ranges, limit * (i + 1) // ranges) for i in range(ranges)]
        fn, combine = count_range, sum
    elif words[0] == "noop":
        count, chunk = int(words[1]), int(words[2])
        items = range(count)
        fn, combine = noop, len
    else:
        raise SystemExit("python_pool.py: unknown command %r" % words[0])
    start = time.perf_counter()
    results = list(mapper(fn, items, chunk))
    seconds = time.perf_counter() - start
    return seconds, combine(results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["pool", "executor"], default="pool")
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args()
    # fork, like the C pool: the workers start as copies, no re-import (and the same on
    # every Python version; 3.14 changes the default on Linux to forkserver).
    context = multiprocessing.get_context("fork")
    # Every worker is forked by this process's main thread, so the death signal is tied to the
    # script's life (a death signal fires when the forking *thread* ends).
    orphan_guard = dict(initializer=die_with_parent, initargs=(os.getpid(),))
    if args.kind == "pool":
        pool = context.Pool(args.workers, **orphan_guard)
        mapper = lambda fn, items, chunk: pool.map(fn, items, chunk or None)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context,
                                                      **orphan_guard)
        mapper = lambda fn, items, chunk: pool.map(fn, items, chunksize=chunk or 1)
    with pool:
        run(mapper, ["noop", str(4 * args.workers), "1"])  # start every worker before timing
        print("ready", flush=True)
        for line in sys.stdin:
            words = line.split()
            if words:
                seconds, value = run(mapper, words)
                print("seconds %.9f value %d" % (seconds, value), flush=True)


if __name__ == "__main__":
    main()
