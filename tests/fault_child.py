"""A nightly run without Airflow that SIGKILLs itself at a named point (tests/test_faults.py).

    python -m tests.fault_child --landing L --warehouse W --out O [--kill POINT]

Runs the steps the DAG's tasks run, in the DAG's order (discover, stage,
validate, load, feedback, history, marts, score, publish), through the same
`pipelines.runtime.nightly` functions. With `--kill POINT` the process kills itself
with SIGKILL (no cleanup, no `finally`, no atexit, like a power cut or the OOM
killer) at that point: see KILL_POINTS. Without it, the run completes; exit 0.

Points are found by wrapping a pipeline function (`py`) or by watching the SQL a
warehouse connection executes (`sql`): `before`/`after` the n-th matching call,
or `during` a connection's close (DuckDB checkpoints the WAL into the file
then; the kill lands a few milliseconds in).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

# name -> (kind, target, when, nth, what it interrupts)
KILL_POINTS: dict[str, tuple[str, str, str, int, str]] = {
    "stage-partial": ("py", "pipelines.ingest.stage._write_parts", "after", 6,
                      "stage: 3 deliveries staged, the 4th half staged"),
    "load-mid-transaction": ("sql", r"INSERT INTO audit\.deliveries", "after", 3,
                             "load: 2 deliveries committed, the 3rd written but not committed"),
    "load-before-discard": ("py", "pipelines.ingest.stage.discard", "before", 1,
                            "load: every delivery committed, staged folders not yet removed"),
    "history-mid-transaction": ("sql", r"core\.member_history", "after", 1,
                                "history: core rebuild half done inside its transaction"),
    "history-checkpoint": ("sql", r"core\.persons", "during", 1,
                           "history: committed, killed while DuckDB checkpoints on close"),
    "marts-mid-transaction": ("sql", r"mart\.township_month", "after", 1,
                              "marts: mart rebuild half done inside its transaction"),
    "score-mid-transaction": ("sql", r"INSERT INTO mart\.risk_list_detail", "after", 1,
                              "score: risk list written, not committed"),
    "lists-files-written": ("py", "pipelines.publish.lists._record", "before", 1,
                            "publish: township files written, nothing recorded"),
    "query-copy": ("py", "shutil.copyfile", "after", 1,
                   "publish: query copy written to its temporary name, not swapped in"),
}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached


class _Counter:
    def __init__(self, nth: int):
        self.nth, self.seen = nth, 0

    def hit(self) -> bool:
        self.seen += 1
        return self.seen == self.nth


class KillingConnection:
    """A DuckDB connection that dies before/after the n-th statement matching a pattern."""

    def __init__(self, con, pattern: str, when: str, counter: _Counter):
        self._con, self._pattern, self._when, self._counter = con, pattern, when, counter
        self._seen = False  # for `during`: a matching statement ran on this connection

    def _run(self, method, sql, *args, **kwargs):
        matches = re.search(self._pattern, str(sql)) is not None
        if self._when == "during":
            self._seen = self._seen or matches
            return getattr(self._con, method)(sql, *args, **kwargs)
        hit = matches and self._counter.hit()
        if hit and self._when == "before":
            die()
        result = getattr(self._con, method)(sql, *args, **kwargs)
        if hit and self._when == "after":
            die()
        return result

    def execute(self, sql, *args, **kwargs):
        return self._run("execute", sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):
        return self._run("executemany", sql, *args, **kwargs)

    def close(self):
        if self._when == "during" and self._seen and self._counter.hit():
            threading.Timer(0.005, die).start()
            self._con.close()
            time.sleep(60)  # the timer fires during or right after the checkpoint
        return self._con.close()

    def __getattr__(self, name):
        return getattr(self._con, name)


def arm(point: str) -> None:
    kind, target, when, nth, _ = KILL_POINTS[point]
    counter = _Counter(nth)
    if kind == "sql":
        import pipelines.warehouse as wh

        real_open = wh.open_warehouse

        def open_warehouse(path, read_only=False):
            con = real_open(path, read_only=read_only)
            return con if read_only else KillingConnection(con, target, when, counter)

        wh.open_warehouse = open_warehouse
        return
    module_name, _, attr = target.rpartition(".")
    module = importlib.import_module(module_name)
    real = getattr(module, attr)

    def wrapped(*args, **kwargs):
        if attr == "copyfile" and ".query." not in str(args[1] if len(args) > 1 else kwargs.get("dst")):
            return real(*args, **kwargs)
        hit = counter.hit()
        if hit and when == "before":
            die()
        result = real(*args, **kwargs)
        if hit and when == "after":
            die()
        return result

    setattr(module, attr, wrapped)


def run(landing: str, warehouse: str, out: str, run_id: str = "direct") -> dict:
    """The DAG's tasks in the DAG's order, without Airflow."""
    from pipelines.runtime import nightly

    pending = nightly.discover_pending(landing, warehouse)
    staged = [nightly.stage_delivery(p, warehouse) for p in pending]
    validated = [nightly.validate_delivery(f, warehouse, run_id) for f in staged]
    loaded = nightly.load_deliveries(validated, warehouse)
    nightly.load_feedback(warehouse, str(Path(landing) / "feedback"))
    core = nightly.build_history(warehouse)
    built = nightly.publish_marts(warehouse)
    scored = nightly.score(warehouse)
    published = nightly.publish_outputs(warehouse, out, loaded)
    return {**loaded, "core": core, "marts": built, "score": scored, **published}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fault_child")
    parser.add_argument("--landing", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kill", choices=sorted(KILL_POINTS))
    args = parser.parse_args(argv)
    if args.kill:
        arm(args.kill)
    run(args.landing, args.warehouse, args.out)
    if args.kill:
        print(f"kill point {args.kill} was never reached", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
