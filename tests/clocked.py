"""``python -m tests.clocked EPOCH ARGS…``: the real ``salesbot`` command, its clock started at
EPOCH (seconds, UTC) and ticking from there.

The tests pin their own clock (``conftest._pinned_clock``); a server, worker or setup run they
start as a process reads the same pinned time through this wrapper, so no test depends on the
day it runs. time-machine patches the interpreter's clock functions in memory, so gunicorn's
forked workers inherit the travel too. Nothing else differs from ``salesbot ARGS…`` while the
command runs.

At exit, after every ``atexit`` handler (logging flushed, threads joined), the objects left are
frozen out of the cyclic garbage collector: the interpreter's teardown would otherwise walk all
~150 000 objects of the imported libraries several times, and in a forked gunicorn worker that
walk copies every page of the heap. That took about 0.4 s of CPU per process at each stop (the
master and each worker), a third of the suite's time on two CPUs. Nothing observable is lost:
each process's files and sockets are closed by the kernel as it exits.
"""

from __future__ import annotations

import atexit
import gc
import sys

# Registered first, so it runs last (atexit runs its handlers in reverse order).
atexit.register(gc.freeze)

import time_machine  # noqa: E402

from bot.cli import main  # noqa: E402

if __name__ == "__main__":
    with time_machine.travel(float(sys.argv[1]), tick=True):
        sys.exit(main(sys.argv[2:]))
