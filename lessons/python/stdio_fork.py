#!/usr/bin/env python3
"""stdio_fork.py - twin of patterns/processes/stdio_flush.c: os.fork() copies unflushed output.

Usage: python3 stdio_fork.py [--flush]

What to observe:
  - The program writes through a block-buffered text stream on file descriptor 1 (Python's
    sys.stdout is one too when it is not a terminal, unless PYTHONUNBUFFERED or -u is set:
    this twin opens its own, so that neither hides the bug). The line written before
    os.fork() is still in the buffer, and the child gets a copy of the buffer.
  - Without --flush the line comes out twice: once from the parent's buffer, once from the
    child's copy. With --flush it comes out once.
  - The child leaves with os._exit(0), which flushes nothing, so it flushes by hand first, as
    a child that returned normally would at interpreter exit.
What Python does differently: multiprocessing's fork start method flushes sys.stdout and
sys.stderr for you before it forks; os.fork() does not.
"""
import os
import sys


def main():
    flush = "--flush" in sys.argv[1:]
    out = open(1, "w", buffering=8192, closefd=False)  # block-buffered, whatever the environment
    print(f"[{os.getpid()}] before os.fork() ({'flushed' if flush else 'not flushed'})", file=out)
    if flush:
        out.flush()
    pid = os.fork()
    if pid == 0:
        print(f"[{os.getpid()}] the child's own line", file=out)
        out.flush()  # what interpreter exit would do: the inherited copy goes out too
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(f"[{os.getpid()}] child exit code {os.waitstatus_to_exitcode(status)}", file=out)
    out.flush()


if __name__ == "__main__":
    main()
