#!/usr/bin/env python3
"""queue_join_deadlock.py - twin of patterns/pipes/pipe_eof.c and the queues lesson: the
"joining processes that use queues" deadlock from the multiprocessing documentation.

Usage: python3 queue_join_deadlock.py [--size BYTES] [--wait S]

What to observe:
  - A child puts one large object (default 1 MiB) on a multiprocessing.Queue and returns. A
    Queue's put() only hands the object to a feeder thread, which writes it into a pipe; the
    child cannot exit until the feeder has written it all, and a pipe holds 64 KiB.
  - broken: the parent join()s the child before reading the queue. The child waits for the
    parent to read, the parent waits for the child to exit: after join(timeout=S) the child
    is still alive. (The program then reads the queue, and the child exits.)
  - fixed: get() first, then join(): the child exits at once.
  - A small object (--size 100) fits in the pipe, and the broken order works: the bug appears
    only with big results, which is why it survives testing.
What Python does differently: in C the pipe's size is visible and the writer blocks in
write(); in Python the blocking happens in a hidden thread, at exit.
"""
import argparse
import multiprocessing as mp


def producer(q, size):
    q.put(b"x" * size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--wait", type=float, default=2.0)
    a = ap.parse_args()
    for order in ("broken", "fixed"):
        q = mp.Queue()
        p = mp.Process(target=producer, args=(q, a.size))
        p.start()
        if order == "broken":
            p.join(timeout=a.wait)
            print(f"[broken] join first: after {a.wait:g} s the child is "
                  f"{'still alive: deadlocked' if p.is_alive() else 'gone'}")
            data = q.get()
        else:
            data = q.get()
        p.join()
        print(f"[{order}] got {len(data)} bytes; child exitcode {p.exitcode}")


if __name__ == "__main__":
    main()
