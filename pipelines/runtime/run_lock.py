"""One `dibao run` or `dibao rebuild` per warehouse at a time.

A night takes the warehouse's write lock step by step, not for the whole run: between
two steps a second run would take the first's staged deliveries for an interrupted
run's and clear them (`runtime.nightly._clear_stale_staging`), failing the first.
`dibao run` and `dibao rebuild` therefore hold an exclusive lock on
`<warehouse>.work/run.lock` from start to end; a second one fails at once, in one
line naming the first (its pid and start). The kernel drops the lock with the
process, so a killed run never leaves it held. Runs of a scheduler are kept apart
by the DAG's `max_active_runs=1` instead (docs/operations.md).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RunLocked(Exception):
    """Another run holds the warehouse; the message is one line."""


def lock_path(warehouse: Path) -> Path:
    return Path(f"{warehouse}.work") / "run.lock"


@contextmanager
def exclusive_run(warehouse: Path, what: str = "dibao run") -> Iterator[None]:
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise RunLocked(f"{what}: another run is working on {warehouse} ({holder}); "
                            "wait for it to end, then run again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what}, pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """Who holds the lock, as it wrote itself in: a run started in the same instant may look
    between its lock and its line, so the line is waited for a moment (the fifth audit saw
    "another process" three times of three)."""
    for _ in range(20):
        if held := os.pread(fd, 200, 0).decode("utf-8", "replace").strip():
            return held
        time.sleep(0.05)
    return "another process"
