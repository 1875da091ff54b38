#!/usr/bin/env python3
"""value_lost_update.py - twin of patterns/races/lost_update.c: Value has a lock, and `+=` still
loses updates.

Usage: python3 value_lost_update.py [--workers P] [--increments N]

What to observe:
  - P processes each do `counter.value += 1` N times on one multiprocessing.Value('l', 0).
    The Value's lock is taken by the read and released, then taken again by the write: `+=` is
    a read, an add and a write, and another process can write in between. The total is short.
  - With `with counter.get_lock(): counter.value += 1` the read and the write sit in one
    critical section and the total is exact: P * N.
  - On a single CPU the short total can still show (a process can be preempted between the two
    steps), only less often; the program says how many were lost, never assumes.
What Python does differently: the C race is on a plain long in shared memory; Python's Value
looks safe because it has a lock, which makes the bug easier to miss, not absent.
"""
import argparse
import multiprocessing as mp


def unlocked(counter, n):
    for _ in range(n):
        counter.value += 1


def locked(counter, n):
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


def run(target, workers, n):
    counter = mp.Value("l", 0)
    procs = [mp.Process(target=target, args=(counter, n)) for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return counter.value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--increments", type=int, default=20000)
    a = ap.parse_args()
    expected = a.workers * a.increments
    for name, target in [("value += 1", unlocked), ("with get_lock(): value += 1", locked)]:
        got = run(target, a.workers, a.increments)
        print(f"[{name}] expected {expected}, got {got}, lost {expected - got}")


if __name__ == "__main__":
    main()
