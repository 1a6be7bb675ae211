"""Stage timings: wall time and peak memory of the nightly job's steps.

`with timed("validate", delivery="mz/2024-01-31"):` around a step measures its
wall time and its peak resident memory, logs one line, and, when the
environment variable DIBAO_STAGE_TIMINGS names a file, appends one JSON line to
it:

    {"kind": "stage", "name": "validate", "start": <epoch s>, "seconds": 1.234,
     "peak_rss_mb": 812.5, "process_peak_mb": 1650.1, "pid": 4711, "delivery": ...}

Appending whole lines to one file works from every process and every Airflow
worker that sees the same file; `dibao bench` reads it. Two kinds: `task` (one
per `pipelines.runtime.nightly` function, i.e. per Airflow task) and `stage` (the steps
inside a task: read, repair, validate, load, link, history, marts, features,
train, score, publish, ...). A stage inside another stage is counted in the
outer one's `seconds` and not in its `self_seconds`: the self times of one
process's stages add up to at most its wall time.

Peak memory per step: with DIBAO_STAGE_TIMINGS set, on Linux, the kernel's
high-water mark (VmHWM) is reset at the start of each step (`/proc/self/clear_refs`,
value 5) and read at its end; the process-wide peak is kept here, since the reset
also lowers what getrusage reports. Otherwise the peak is the process's peak so far.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

TIMINGS_ENV = "DIBAO_STAGE_TIMINGS"
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")

_open: list[dict] = []  # regions entered and not yet left, outermost first
_process_peak_kb = 0
_can_reset: bool | None = None


def _hwm_kb() -> int:
    """The process's peak resident set size since the last reset, in kB."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _reset_hwm() -> None:
    global _can_reset
    if _can_reset is False:
        return
    try:
        _CLEAR_REFS.write_text("5")
        _can_reset = True
    except OSError:
        _can_reset = False


def _note_peak() -> int:
    """Read the high-water mark into every open region and the process peak."""
    global _process_peak_kb
    kb = _hwm_kb()
    _process_peak_kb = max(_process_peak_kb, kb)
    for region in _open:
        region["peak_kb"] = max(region["peak_kb"], kb)
    return kb


def process_peak_mb() -> float:
    _note_peak()
    return round(_process_peak_kb / 1024, 1)


@contextmanager
def timed(name: str, kind: str = "stage", **labels) -> Iterator[dict]:
    """Measure one step; the yielded dict may receive extra labels (e.g. rows)."""
    _note_peak()
    if os.environ.get(TIMINGS_ENV):  # only when measured: the reset also lowers what `time -v` would report
        _reset_hwm()
    parent = next((r for r in reversed(_open) if r["kind"] == kind), None)
    region = {"name": name, "kind": kind, "peak_kb": 0, "child_seconds": 0.0, "labels": dict(labels)}
    _open.append(region)
    start, started = time.time(), time.perf_counter()
    try:
        yield region["labels"]
    finally:
        seconds = time.perf_counter() - started
        _note_peak()
        _open.remove(region)
        if parent is not None:
            parent["child_seconds"] += seconds
        record = {"kind": kind, "name": name, "start": round(start, 3), "seconds": round(seconds, 3),
                  # without the steps of the same kind nested in this one: these add up to the run
                  "self_seconds": round(seconds - region["child_seconds"], 3),
                  "parent": parent["name"] if parent is not None else None,
                  "peak_rss_mb": round(region["peak_kb"] / 1024, 1),
                  "process_peak_mb": round(_process_peak_kb / 1024, 1), "pid": os.getpid(), **region["labels"]}
        log.info("%s %s: %.2f s, peak %.0f MB", kind, name, seconds, record["peak_rss_mb"])
        _append(record)


def timed_task(name: str):
    """Decorator for a `pipelines.runtime.nightly` step (what one Airflow task calls): times it
    as a "task" and as a "stage" of the same name, whose self time is what the
    finer stages inside it (read, repair, link, train, ...) leave over."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with timed(name, kind="task"), timed(name):
                return fn(*args, **kwargs)

        return inner

    return wrap


def _append(record: dict) -> None:
    target = os.environ.get(TIMINGS_ENV)
    if not target:
        return
    line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of one line: lines of concurrent writers do not interleave
        finally:
            os.close(fd)
    except OSError as exc:  # timings must never fail a run
        log.warning("could not record timing to %s: %s", target, exc)


def read_timings(path: str | Path) -> list[dict]:
    """The records a run appended to `path` (none when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
