#!/usr/bin/env python3
"""exitcode_sigkill.py - twin of patterns/processes/wait_status.c: how Python reports a child
that a signal killed.

Usage: python3 exitcode_sigkill.py

What to observe:
  - A child that returns normally: exitcode 0. One that calls sys.exit(3): exitcode 3.
  - One that the parent kills with Process.kill() (SIGKILL): exitcode -9. One stopped with
    Process.terminate() (SIGTERM): exitcode -15. Python folds the wait status into one
    number: N for "exited with N", -S for "killed by signal S". There is no core-dump flag.
  - os.waitstatus_to_exitcode() makes the same number from a raw os.waitpid() status.
What Python does differently: C sees the raw status and must decode it with WIFEXITED and
friends; a shell reports 128+S; Python's subprocess reports -S like multiprocessing.
"""
import multiprocessing as mp
import os
import signal
import sys
import time


def returns():
    pass


def exits_3():
    sys.exit(3)


def sleeps():
    time.sleep(60)


def main():
    for name, target, action in [("returns", returns, None), ("sys.exit(3)", exits_3, None),
                                 ("kill()", sleeps, "kill"), ("terminate()", sleeps, "terminate")]:
        p = mp.Process(target=target)
        p.start()
        if action:
            getattr(p, action)()
        p.join()
        print(f"[{name}] exitcode {p.exitcode}")
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    print(f"[os.fork + SIGKILL] raw status {status:#06x}, waitstatus_to_exitcode "
          f"{os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
