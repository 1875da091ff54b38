#!/usr/bin/env python3
"""main_guard.py - twin of the exec in patterns/threads/fork_with_threads.c: under spawn the
child runs your main module's top level again, so code outside `if __name__ == "__main__":`
runs twice.

Usage: python3 main_guard.py

What to observe:
  - The program runs itself twice more through subprocess, with spawn as the start method:
    once as a guarded script, once with its Process start-up at the top level (the
    environment variable TWIN_UNGUARDED=1 selects it).
  - guarded: the top-level line prints once per process (the spawn child re-imports this file
    as __mp_main__, so it prints there too), the child's work runs, exitcode 0.
  - unguarded: the child re-imports the file, reaches Process.start() again during its own
    start-up, and multiprocessing refuses with RuntimeError ("An attempt has been made to start
    a new process before the current process has finished its bootstrapping phase"): the
    child exits 1 and the work never runs. Without that check it would fork-bomb.
  - Under fork nothing is re-imported: the guard matters for spawn and forkserver, the
    default on macOS and Windows, and on Linux from Python 3.14.
What Python does differently: an exec'd C child starts at main(), never at the parent's line;
Python's spawn child re-runs the module to find the function it must call.
"""
import multiprocessing as mp
import os
import subprocess
import sys

print(f"[{os.getpid()}] top level of main_guard.py runs (__name__ = {__name__})", flush=True)


def work():
    print(f"[{os.getpid()}] the child's work runs", flush=True)


def start_one():
    mp.set_start_method("spawn", force=True)
    p = mp.Process(target=work)
    p.start()
    p.join()
    print(f"[{os.getpid()}] child exitcode {p.exitcode}", flush=True)


if os.environ.get("TWIN_UNGUARDED") == "1":
    start_one()  # the mistake: at the top level, so a spawn child runs it again

if __name__ == "__main__" and os.environ.get("TWIN_ROLE") == "guarded":
    start_one()
elif __name__ == "__main__" and "TWIN_UNGUARDED" not in os.environ:
    for role, env in [("guarded", {"TWIN_ROLE": "guarded"}), ("unguarded", {"TWIN_UNGUARDED": "1"})]:
        done = subprocess.run([sys.executable, __file__], env={**os.environ, **env},
                              capture_output=True, text=True, timeout=120)
        refused = "RuntimeError" in done.stderr and "bootstrapping phase" in done.stderr
        print(f"== {role}: exit status {done.returncode}")
        print(done.stdout, end="")
        print(f"[{role}] RuntimeError about the bootstrapping phase in the child: {refused}")
