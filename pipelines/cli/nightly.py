"""`dibao run` (the nightly DAG in-process), `dibao rebuild` and `dibao airflow` (Airflow's own server)."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from pipelines.cli.common import Bars, CliError, console_on, warehouse_problem
from pipelines.config import feedback_folder


def cmd_run(args) -> int:
    import os

    from pipelines.runtime.embedded_airflow import AirflowRunError, configure, ensure_metadata_db, output_to, run_dag
    from pipelines.runtime.run_lock import RunLocked, exclusive_run

    try:  # the warehouse, staged files, lists and logs hold identities: private to the pipeline's user
        os.umask(int(os.environ.get("DIBAO_UMASK", "077"), 8))
    except ValueError:
        raise CliError(f"dibao run: DIBAO_UMASK must be octal, e.g. 027, got {os.environ['DIBAO_UMASK']!r}") from None
    landing, warehouse, out = args.landing.resolve(), args.warehouse.resolve(), args.out.resolve()
    if not landing.is_dir():
        raise CliError(f"dibao run: landing folder {landing} does not exist")
    if problem := warehouse_problem(warehouse):
        raise CliError(f"dibao run: --warehouse {problem}")
    if out.exists() and not out.is_dir():
        raise CliError(f"dibao run: --out {out} is a file, expected a folder for the lists and logs")
    out.mkdir(parents=True, exist_ok=True)
    console = console_on(os.fdopen(os.dup(2), "w", buffering=1))
    home = configure()
    log_file = out / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"  # two runs, two logs
    # Caseworkers return their lists beside the agencies' deliveries (discovery reads only mz/cl/rs).
    feedback = feedback_folder(landing)
    conf = {"landing": str(landing), "warehouse": str(warehouse), "out": str(out), "feedback": str(feedback),
            "until": args.date.isoformat() if args.date else None}
    # A one-shot run should fail fast on a bug instead of sleeping through retry back-off.
    os.environ.setdefault("DIBAO_TASK_RETRIES", "1")
    os.environ.setdefault("DIBAO_RETRY_DELAY_SECONDS", "5")
    os.environ.setdefault("DIBAO_ALERT_LOG", str(out / "alerts.log"))
    console.print(f"Airflow home {home}; log {log_file}")
    started = time.perf_counter()
    from pipelines.runtime.progress import set_reporter

    with Bars(console) as bars:
        set_reporter(bars)
        try:
            with exclusive_run(warehouse), output_to(log_file):
                ensure_metadata_db()
                state, run_id = run_dag("dibao_nightly", conf)
        except RunLocked as exc:
            raise CliError(str(exc)) from None
        except AirflowRunError as exc:
            raise CliError(f"dibao run: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Airflow itself failed (its metadata database, a full disk)
            print(f"dibao run: Airflow could not run the DAG: {_cause(exc)}; see {log_file}", file=sys.stderr)
            return 1
        finally:
            set_reporter(None)
    elapsed = time.perf_counter() - started
    if state != "success":  # run-summary.json, if any, is an earlier run's: not shown
        from pipelines.runtime.airflow_hooks import failures

        console.print(f"run {run_id}: {state} in {elapsed:.1f}s")
        where, reason = failures.first() or ("the DAG run", f"ended {state}")
        print(f"dibao run: {where.split('.', 1)[-1]} failed: {_cause(reason)}; see {log_file}", file=sys.stderr)
        return 1
    _print_run_summary(console, out / "run-summary.json", state, run_id, elapsed)
    return 0


# What an operator can do about the commonest causes of a failed run.
_HINTS = {
    "File too large": "disk full or file size limit reached",
    "No space left": "disk full",
    "Disk quota exceeded": "disk quota reached",
    "disk I/O error": "disk full or failing?",
    "database or disk is full": "disk full",
    "Permission denied": "no permission to read or write there: check its owner and mode",
    "Read-only file system": "the file system is read-only",
}


_LOCKED = re.compile(r'Could not set lock on file "([^"]+)": Conflicting lock is held in (.+?) \(PID (\d+)\)')


def _cause(exc: BaseException | str) -> str:
    """One line: the error's first line, with a hint for a full disk or a missing permission.
    Nothing already committed is lost: each step commits whole or not at all."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if held := _LOCKED.search(text):  # DuckDB's own advice (open it read-only) is a reader's, not a writer's
        return (f"{held[1]} is held open by {held[2]} (PID {held[3]}): close that program and run again; "
                "to read the warehouse meanwhile use `dibao query` (it reads the published copy)")
    if isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {text}"
    hint = next((h for k, h in _HINTS.items() if k in text), None)
    return f"{text} ({hint})" if hint else text


def _print_run_summary(console, path: Path, state: str, run_id: str, elapsed: float) -> None:
    import json

    console.print(f"run {run_id}: {state} in {elapsed:.1f}s")
    if not path.exists():
        return
    summary = json.loads(path.read_text(encoding="utf-8"))
    from rich.table import Table

    table = Table()
    for name in ("delivery", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("files", "read", "loaded", "quarantined"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("message", overflow="ellipsis", no_wrap=True, max_width=48)
    for d in summary.get("deliveries", []):
        files = d.get("files", [])
        table.add_row(f"{d['source']}/{d['extract_date']}", d["status"].replace("skipped_duplicate", "replay"),
                      str(len(files)),
                      f"{sum(f['rows_read'] for f in files):,}", f"{sum(f['rows_loaded'] for f in files):,}",
                      f"{sum(f['rows_quarantined'] for f in files):,}", (d.get("message") or "")[:80])
    if summary.get("deliveries"):
        console.print(table)
    else:
        console.print("no new deliveries")
    returned = summary.get("feedback") or {}
    for f in returned.get("files", []):  # only files new tonight: each is attempted once
        line = (f"{f['rows_loaded']} rows loaded, {f['rows_quarantined']} quarantined" if f["status"] == "loaded"
                else f"[red]{f['status']}[/]: {f.get('message') or ''}")
        console.print(f"returned list {Path(f['file']).name}: {line}", markup=True, highlight=False)
    for s in summary.get("held", []):  # not loaded tonight, and every night until mended
        console.print(f"[yellow]not loaded[/] {s}", markup=True, highlight=False)
    for s in summary.get("stale", []):
        console.print(f"[yellow]stale source[/] {s}")
    if summary.get("data_docs"):
        console.print(f"data docs: {summary['data_docs']}")


def cmd_airflow(args) -> int:
    """Airflow's standalone server (scheduler, API/UI, triggerer) on the project's DAGs, on 127.0.0.1."""
    from pipelines.runtime.airflow_ui import AirflowUIError, serve

    try:
        return serve(args.port)
    except AirflowUIError as exc:
        raise CliError(f"dibao airflow: {exc}") from None


def cmd_rebuild(args) -> int:
    """History, marts and scores rebuilt, every month of them, from what is loaded (a night
    rebuilds the month-grain models from the first month its deliveries change:
    docs/warehouse.md); then the copy `dibao query` reads."""
    from pipelines.runtime import nightly
    from pipelines.runtime.progress import report, set_reporter
    from pipelines.runtime.run_lock import RunLocked, exclusive_run
    from pipelines.score.registry import RegistryError
    from pipelines.warehouse import WarehouseError, publish_query_copy

    warehouse = args.warehouse.resolve()
    if not warehouse.is_file():
        raise CliError(f"dibao rebuild: no warehouse at {warehouse}: run `dibao run` first")
    if problem := warehouse_problem(warehouse):
        raise CliError(f"dibao rebuild: --warehouse {problem}")
    steps = [("history", lambda w: nightly.build_history(w, full=True)),
             ("marts", lambda w: nightly.publish_marts(w, full=True)),
             ("score", lambda w: nightly.score(w, full=True))]
    console, done = console_on(), {}
    with Bars(console) as bars:
        set_reporter(bars)
        try:
            with exclusive_run(warehouse, "dibao rebuild"):
                for i, (name, step) in enumerate(steps):
                    report("rebuild", i, len(steps))
                    done[name] = step(str(warehouse))
                report("rebuild", len(steps), len(steps))
                publish_query_copy(warehouse)
        except RunLocked as exc:
            raise CliError(str(exc)) from None
        except (WarehouseError, RegistryError) as exc:
            raise CliError(f"dibao rebuild: {str(exc).splitlines()[0]}") from None
        finally:
            set_reporter(None)
    scored = done["score"]
    console_on(sys.stdout).print(
        f"rebuilt {warehouse}: core {done['history']['objects']} objects in {done['history']['seconds']}s,"
        f" marts {done['marts']['objects']} in {done['marts']['seconds']}s;"
        f" risk list {scored.get('as_of_date')}: {scored.get('status')}"
        + (f" ({scored['households']} households)" if scored.get("households") is not None else
           f" ({scored.get('reason')})"))
    return 0
