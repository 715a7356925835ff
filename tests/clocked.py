"""``python -m tests.clocked EPOCH ARGS…``: the real ``salesbot`` command, its clock started at
EPOCH (seconds, UTC) and ticking from there.

The tests pin their own clock (``conftest._pinned_clock``); a server, worker or setup run they
start as a process reads the same pinned time through this wrapper, so no test depends on the
day it runs. time-machine patches the interpreter's clock functions in memory, so gunicorn's
forked workers inherit the travel too. Nothing else differs from ``salesbot ARGS…``.
"""

from __future__ import annotations

import sys

import time_machine

from bot.cli import main

if __name__ == "__main__":
    with time_machine.travel(float(sys.argv[1]), tick=True):
        sys.exit(main(sys.argv[2:]))
