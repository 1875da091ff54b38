#!/usr/bin/env python3
"""start_methods.py - twin of patterns/threads/fork_with_threads.c: what fork, spawn and
forkserver each give the child.

Usage: python3 start_methods.py

What to observe, for each start method in turn:
  - The parent changes a module global after import (STATE), holds a threading.Lock in a
    second thread while it starts the child, and has an os.register_at_fork() hook.
  - fork: the child sees STATE as the parent set it, has 1 thread (only the one that forked),
    the lock is *held* in its copy (by a thread that is not there: acquiring it would hang
    for ever, so the child only tries with a timeout), and the at-fork hook ran in it.
  - spawn: a fresh interpreter imports this file again (as __mp_main__): STATE is the value
    at import, the lock is a new, free one, no hook ran. Only what was pickled (the target
    and its arguments) came from the parent.
  - forkserver: the child is forked from a server that was itself started like spawn: the
    same fresh state as spawn, at close to fork's speed (the benchmark's python_start).
Python 3.12 and 3.13 warn (DeprecationWarning) when a process with threads forks, as here;
3.14 makes forkserver the default on Linux. This twin runs the same on 3.11, without warning.
"""
import multiprocessing as mp
import os
import threading

STATE = "as imported"
LOCK = threading.Lock()
HOOK_RAN = False


def note_fork():
    global HOOK_RAN
    HOOK_RAN = True


def report(method):
    got = LOCK.acquire(timeout=0.5)  # a held copy can never be released here: bounded wait
    if got:
        LOCK.release()
    print(f"[{method}] child {os.getpid()}: STATE={STATE!r} threads={threading.active_count()} "
          f"lock_free={got} at_fork_hook_ran={HOOK_RAN}", flush=True)


def main():
    global STATE
    STATE = "changed by the parent"
    os.register_at_fork(after_in_child=note_fork)
    held, release = threading.Event(), threading.Event()

    def holder():
        with LOCK:
            held.set()
            release.wait()

    for method in ("fork", "spawn", "forkserver"):
        t = threading.Thread(target=holder)
        t.start()
        held.wait()
        print(f"[{method}] parent {os.getpid()}: threads={threading.active_count()}, "
              "the lock is held by the second thread", flush=True)
        p = mp.get_context(method).Process(target=report, args=(method,))
        p.start()
        p.join()
        release.set()
        t.join()
        held.clear()
        release.clear()
        print(f"[{method}] exitcode {p.exitcode}", flush=True)


if __name__ == "__main__":
    main()
