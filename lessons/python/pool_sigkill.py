#!/usr/bin/env python3
"""pool_sigkill.py - twin of patterns/pool/ (a worker SIGKILLed mid-task): Pool waits for ever,
ProcessPoolExecutor gives up on the whole pool, forklore's pool replaces the worker.

Usage: python3 pool_sigkill.py [--wait S]

What to observe:
  - A task kills its own worker with SIGKILL, as the OOM killer would.
  - multiprocessing.Pool notices the dead worker and starts a new one, but the task it was
    running is lost: its AsyncResult never becomes ready, and result.get() with no timeout
    would hang for ever. Here get(timeout=S) raises TimeoutError after S seconds.
  - concurrent.futures.ProcessPoolExecutor marks itself broken: the future raises
    BrokenProcessPool at once, and so does every later submit.
  - forklore's process pool (lessons/08-process-pool.md) replaces the worker and fails just the
    task that was running, reporting how the worker died.
What Python 3.11-3.14 share: Pool's behaviour is documented as a known limitation; no version
changes it.
"""
import argparse
import concurrent.futures
import multiprocessing as mp
import os
import signal


def die_or_double(x):
    if x == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wait", type=float, default=3.0)
    a = ap.parse_args()
    with mp.Pool(2) as pool:
        fine = pool.apply_async(die_or_double, (5,))
        lost = pool.apply_async(die_or_double, (1,))
        print(f"[Pool] the task that did not die: {fine.get(timeout=60)}")
        try:
            lost.get(timeout=a.wait)
            print("[Pool] the killed task returned (unexpected)")
        except mp.TimeoutError:
            print(f"[Pool] the killed task: no result after {a.wait:g} s (TimeoutError); "
                  "without a timeout, get() would wait for ever")
        after = pool.apply_async(die_or_double, (7,))
        print(f"[Pool] a task submitted afterwards: {after.get(timeout=60)} "
              "(a replacement worker runs it)")
        pool.terminate()
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        future = ex.submit(die_or_double, 1)
        try:
            future.result(timeout=60)
        except concurrent.futures.process.BrokenProcessPool as e:
            print(f"[ProcessPoolExecutor] BrokenProcessPool: {type(e).__name__}")
        try:
            ex.submit(die_or_double, 7)
            print("[ProcessPoolExecutor] a later submit was accepted (unexpected)")
        except concurrent.futures.process.BrokenProcessPool:
            print("[ProcessPoolExecutor] a later submit: BrokenProcessPool too")


if __name__ == "__main__":
    main()
