#!/usr/bin/env python3
"""dev_shm_objects.py - twin of patterns/sharedmem/shm_objects.c: what multiprocessing leaves in
/dev/shm, under each start method.

Usage: python3 dev_shm_objects.py

What to observe, for fork, spawn and forkserver in turn:
  - A Lock is a POSIX named semaphore. Under fork it is unlinked at once (children inherit the
    mapping), so /dev/shm shows nothing; under spawn and forkserver a child must open it by
    name, so /dev/shm/sem.mp-... exists while the Lock does, and the resource tracker unlinks
    it when the Lock is collected (or at exit, if the program forgot).
  - shared_memory.SharedMemory is shm_open: /dev/shm/psm_... under every method, until
    unlink(). A child attaching by name sees the parent's bytes.
What Python does differently: C programs choose when to unlink; Python decides for Locks by
the start method, and runs a helper process (the resource tracker) to unlink leftovers.
Python 3.13 adds SharedMemory(track=False) for segments another program owns.
"""
import gc
import multiprocessing as mp
import os
from multiprocessing import shared_memory


def sems():
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith("sem.mp-"))


def read_by_name(name, out):
    shm = shared_memory.SharedMemory(name=name)
    out.put(bytes(shm.buf[:5]))
    shm.close()


def main():
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        before = set(sems())
        lock = ctx.Lock()
        named = [n for n in sems() if n not in before]
        print(f"[{method}] Lock: {len(named)} named semaphore(s) in /dev/shm")
        del lock
        gc.collect()
        shm = shared_memory.SharedMemory(create=True, size=4096)
        shm.buf[:5] = b"hello"
        out = ctx.Queue()
        p = ctx.Process(target=read_by_name, args=(shm.name, out))
        p.start()
        seen = out.get(timeout=60)
        p.join()
        visible = os.path.exists("/dev/shm/" + shm.name.lstrip("/"))
        print(f"[{method}] SharedMemory: /dev/shm/{shm.name.lstrip('/')} exists: {visible}; "
              f"a child attached by name and read {seen!r}")
        shm.close()
        shm.unlink()
        gone = not os.path.exists("/dev/shm/" + shm.name.lstrip("/"))
        print(f"[{method}] after unlink(): gone: {gone}")


if __name__ == "__main__":
    main()
