"""Writing many risk lists at once, each worker a fresh interpreter.

A list's cells are laid out in Python, so threads would queue on the interpreter's
lock. Each worker is `python -m pipelines.publish.list_workers JOBS`, which imports
the sheet writer and nothing else: not a fork of a process that holds DuckDB's
threads, and not `multiprocessing`, whose children import the parent's main
script first (under Airflow that is Airflow itself, about 6 s). The jobs (names and
masked IDs) pass through a folder only the owner can open, removed afterwards.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from pipelines.publish.sheets import Sheet, write_csv, write_workbook
from pipelines.runtime.progress import report
from pipelines.runtime.workers import workers_from_env

LIST_WORKERS_ENV = "DIBAO_LIST_WORKERS"
PARALLEL_FROM = 8  # fewer lists are written in this process: a worker takes ~0.1 s to start
STEP = "risk list files"

Job = tuple[Path, Path, Sequence[Sheet]]  # workbook, CSV twin (of the first sheet), sheets


class ListFilesError(Exception):
    """A list file could not be written; the message is one line."""


def list_workers() -> int:
    """Lists written at once (`DIBAO_LIST_WORKERS`, default: the machine's cores, at most 4)."""
    return workers_from_env(LIST_WORKERS_ENV, ListFilesError)


def write_pair(xlsx: Path, csv: Path, sheets: Sequence[Sheet]) -> None:
    write_workbook(xlsx, sheets)
    write_csv(csv, sheets[0])


def write_all(jobs: list[Job], workers: int | None = None) -> None:
    """Write every job's workbook and CSV (each atomically), `workers` processes at a time."""
    total = len(jobs)
    report(STEP, 0, total)
    workers = min(workers or list_workers(), total)
    if workers < 2 or total < PARALLEL_FROM:
        for done, job in enumerate(jobs, start=1):
            try:
                write_pair(*job)
            except OSError as exc:
                raise ListFilesError(f"risk lists not all written: {type(exc).__name__}: {exc}") from None
            report(STEP, done, total)
        return
    lists = jobs[0][0].parent.parent  # <out>/<as_of_date>
    lists.mkdir(parents=True, exist_ok=True)
    for stale in lists.glob(".list-jobs-*"):  # left by a killed run: it holds names
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=".list-jobs-", dir=lists) as folder:  # 0700
        _run_workers([jobs[w::workers] for w in range(workers)], Path(folder), total)


def _run_workers(parts: list[list[Job]], folder: Path, total: int) -> None:
    done, lock, procs, readers = 0, threading.Lock(), [], []

    def follow(proc: subprocess.Popen) -> None:
        nonlocal done
        for _ in proc.stdout:  # one line per list written
            with lock:
                done += 1
                report(STEP, done, total)

    for i, part in enumerate(parts):
        jobs_file = folder / f"jobs-{i}.pickle"
        jobs_file.write_bytes(pickle.dumps(part))
        with open(folder / f"errors-{i}.txt", "w") as errors:  # a file: an unread pipe could stall the worker
            proc = subprocess.Popen([sys.executable, "-m", __name__, str(jobs_file), str(os.getpid())],
                                    stdout=subprocess.PIPE, stderr=errors, text=True)
        procs.append(proc)
        readers.append(threading.Thread(target=follow, args=(proc,), daemon=True))
        readers[-1].start()
    failures = []
    for i, (proc, reader) in enumerate(zip(procs, readers)):
        reader.join()
        if proc.wait() != 0:
            lines = [line for line in (folder / f"errors-{i}.txt").read_text().splitlines() if line.strip()]
            failures.append(lines[-1] if lines else f"a list worker exited with {proc.returncode}")
    if failures:
        raise ListFilesError(f"risk lists not all written: {failures[0]}")


def main(argv: list[str] | None = None) -> int:
    """A worker: write the jobs pickled in the file named by the first argument, while the
    process named by the second (the run) is alive: a killed run's worker must not
    replace a list the next run has written."""
    jobs_file, parent = argv if argv is not None else sys.argv[1:]
    try:
        for xlsx, csv, sheets in pickle.loads(Path(jobs_file).read_bytes()):
            if os.getppid() != int(parent):
                print("the run that started this worker has ended", file=sys.stderr)
                return 1
            write_pair(xlsx, csv, sheets)
            print(xlsx.name, flush=True)
    except Exception as exc:  # one line for the parent, which raises it
        print(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
