"""The nightly job's steps as functions of plain arguments.

Each function is what one Airflow task calls (dags/nightly.py) and takes and
returns only JSON-able values (paths as strings, dates as ISO strings, dicts),
so it can cross Airflow's XCom and run on any worker. The same functions run
without Airflow in tests and in the benchmark's direct mode.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines.runtime.progress import report
from pipelines.runtime.timing import timed, timed_task

log = logging.getLogger(__name__)


DIGESTS = "landing-digests.json"  # the landing files' digests, kept between nights (sources/digests.py)
HELD = "held.json"  # tonight's held and refused folders, for the run summary (written by discover)
STARTED = "run-started"  # when tonight's discovery began: the run report's alerts start there
# How long a run waits for another run of the DAG to finish with the warehouse: inside the
# two hours discover may take (the DAG's execution_timeout), with room for its own work.
CLAIM_WAIT_SECONDS = 100 * 60


def work_dir(warehouse: str | Path) -> Path:
    """Scratch space beside the warehouse file for staged deliveries."""
    return Path(f"{warehouse}.work")


@timed_task("discover")
def discover_pending(landing: str, warehouse: str, until: str | None = None, run: tuple | None = None) -> list[dict]:
    """Complete deliveries not yet attempted, in date order, each with its load id.
    `run` (run id, state of a run id): the warehouse is claimed for this run first, waiting
    while another run of the DAG holds it (pipelines/runtime/run_claim.py)."""
    from pipelines.sources.hold import alert_misnamed, alert_refused, forget_vanished, hold_implausible
    from pipelines.sources.landing import discover, misnamed_deliveries, refused
    from pipelines.load.deliveries import attempts, is_pending
    from pipelines.runtime.run_claim import claim
    from pipelines.warehouse import warehouse as open_wh

    if run is not None:
        claim(work_dir(warehouse), *run, wait_seconds=CLAIM_WAIT_SECONDS)
    started = datetime.now(timezone.utc).replace(tzinfo=None)  # before any alert discovery raises
    found, notes = discover(Path(landing), date.fromisoformat(until) if until else None,
                            digests=work_dir(warehouse) / DIGESTS)
    _clear_stale_staging(work_dir(warehouse))
    pending = []
    with open_wh(Path(warehouse)) as con:
        # only folders still to load are judged: a clock set back never holds what is loaded
        due, held = hold_implausible(con, [d for d in found if is_pending(con, d)])
        forget_vanished(con, found)
        misnamed = alert_misnamed(con, misnamed_deliveries(Path(landing)))
        unread = refused(notes)
        alert_refused(con, unread)
        for d in due:
            pending.append({"delivery": d.to_dict(), "attempt": attempts(con, d) + 1})
    log.info("%d complete deliveries, %d not yet loaded, %d held", len(found), len(pending), len(held))
    for n in notes:
        log.info(n)
    work_dir(warehouse).mkdir(parents=True, exist_ok=True)
    _mark_started(work_dir(warehouse) / STARTED, run[0] if run else None, started)
    (work_dir(warehouse) / HELD).write_text(json.dumps(held + misnamed + unread, ensure_ascii=False), encoding="utf-8")
    return pending


def delivery_label(item_or_staged: dict | str) -> str:
    """`mz/2024-03-31`: what the Airflow UI and the failure alert name a mapped stage or validate by
    (its discover item, or its staged folder `<source>-<YYYYMMDD>-<digest>-<attempt>`)."""
    if isinstance(item_or_staged, dict):
        d = item_or_staged["delivery"]
        return f"{d['source']}/{d['extract_date']}"
    source, day = Path(item_or_staged).name.split("-")[:2]
    return f"{source}/{day[:4]}-{day[4:6]}-{day[6:8]}"


def _clear_stale_staging(work: Path) -> None:
    """Staged folders left by an interrupted run are redone, never loaded as they are."""
    import shutil

    if work.is_dir():
        for child in work.iterdir():
            if child.is_dir() and child.name != "dq":
                shutil.rmtree(child, ignore_errors=True)


@timed_task("stage")
def stage_delivery(item: dict, warehouse: str) -> str:
    """Read and repair one delivery into the work folder; return the staged folder."""
    from pipelines.ingest.stage import load_id_for, stage
    from pipelines.sources.landing import Delivery

    delivery = Delivery.from_dict(item["delivery"])
    staged = stage(delivery, work_dir(warehouse), load_id_for(delivery, item["attempt"]))
    log.info("staged %s", staged.quality())
    return staged.folder


def dq_dir(warehouse: str | Path, run_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return work_dir(warehouse) / "dq" / safe


@timed_task("validate")
def validate_delivery(staged_folder: str, warehouse: str, run_id: str) -> str:
    """Run the Great Expectations suites on one staged delivery."""
    from pipelines.ingest.stage import Staged
    from pipelines.validate.gate import validate_staged

    staged = validate_staged(Staged.open(staged_folder), dq_dir(warehouse, run_id))
    log.info("validated %s", staged.quality())
    return staged.folder


@timed_task("load")
def load_deliveries(staged_folders: list[str], warehouse: str) -> dict:
    """Commit staged deliveries in date order, one transaction each; return a summary."""
    from pipelines.runtime.alerts import send
    from pipelines.ingest.stage import Staged, discard
    from pipelines.load.deliveries import LOADED, REJECTED, defer_checkpoints, is_pending, load_staged, stale_sources
    from pipelines.warehouse import warehouse as open_wh

    staged = sorted((Staged.open(f) for f in staged_folders if f),
                    key=lambda s: (s.delivery.extract_date, "mz cl rs".index(s.delivery.source)))
    results = []
    with open_wh(Path(warehouse)) as con:
        defer_checkpoints(con)  # one checkpoint after the last delivery, not one per delivery
        for i, s in enumerate(staged):
            report("load deliveries", i, len(staged))
            if s.changed:  # changed while this run read it: no ledger row, the next run loads it
                message = f"{s.delivery.rel} changed after discovery ({'; '.join(s.changed)}): left for the next run"
                send("warning", "delivery_changed", message)
                results.append({"load_id": None, "source": s.delivery.source,
                                "extract_date": s.delivery.extract_date.isoformat(), "status": "deferred",
                                "message": message, "files": []})
                continue
            if not is_pending(con, s.delivery):
                continue  # committed by an earlier try of this task: a retry loads nothing twice
            result = load_staged(con, s)
            results.append(vars(result))
            if result.status == REJECTED:
                send("error", "delivery_rejected", f"{s.delivery.rel} rejected: {result.message}")
            elif result.status == LOADED and result.message:  # a snapshot size change confirmed
                send("warning", "snapshot_size_confirmed", f"{s.delivery.rel}: {result.message}")
        report("load deliveries", len(staged), len(staged))
        stale = stale_sources(con)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        for message in stale:
            send("warning", "source_stale", message)
            con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', 'source_stale', ?, NULL, ?)",
                        [now, message.split(":")[0], message])
        con.execute("CHECKPOINT")
    for s in staged:  # only once every delivery is committed: a retry still finds them
        discard(s)
    return {"deliveries": results, "stale": stale}


@timed_task("history")
def build_history(warehouse: str, full: bool = False) -> dict:
    """Rebuild the core layer (identity, history, policy parameters) from staging; the
    contributions from the first month tonight's deliveries can change (every month with `full`)."""
    from pipelines.core.build import build_core
    from pipelines.warehouse import warehouse as open_wh

    with open_wh(Path(warehouse)) as con:
        built = build_core(con, full=full)
    return _build_summary("core", built)


@timed_task("marts")
def publish_marts(warehouse: str, full: bool = False) -> dict:
    """Rebuild the marts officials query, the month-grain ones from the first month tonight's
    deliveries can change (every month with `full`); refuses to publish a raw 身份证号."""
    from pipelines.core.marts import build_marts
    from pipelines.core.standards_check import warn_outdated_standards
    from pipelines.warehouse import warehouse as open_wh

    with open_wh(Path(warehouse)) as con:
        built = build_marts(con, full=full)
        outdated = warn_outdated_standards(con)
    return {**_build_summary("mart", built), "standards_outdated": outdated}


@timed_task("feedback")
def load_feedback(warehouse: str, folder: str) -> dict:
    """Caseworkers' returned lists (核查结果) waiting in the feedback folder."""
    from pipelines.ingest.feedback import load_feedback_folder

    return load_feedback_folder(Path(warehouse), Path(folder), missing_ok=True)


@timed_task("score")
def score(warehouse: str, full: bool = False) -> dict:
    """Score every monitored household of the latest mz snapshot into mart.risk_list
    (`full`: every household through the model, whatever the list of the date holds)."""
    from pipelines.score.risk_list import score_latest

    return score_latest(warehouse, full=full)


@timed_task("publish")
def publish_outputs(warehouse: str, out: str, loaded: dict) -> dict:
    """Township risk lists, the run report, and the copies each role queries (docs/security.md)."""
    from pipelines.publish.access_log import ensure_log, import_query_log
    from pipelines.publish.lists import write_lists
    from pipelines.publish.published import files_summary
    from pipelines.publish.report import write_report
    from pipelines.publish.roles import publish_role_copies
    from pipelines.warehouse import publish_query_copy

    # Stages of their own: the lists are the new month's product, the role copies rework
    # the whole history (docs/benchmarks.md, *What a monthly night cannot shed*).
    with timed("lists"):
        lists = write_lists(Path(warehouse), Path(out), new_only=True)
        report_path = write_report(Path(warehouse), Path(out), {**loaded, "started_at": _run_started(warehouse)})
    log.info("run report: %s", report_path)
    query_log = import_query_log(Path(warehouse))  # before the copies, so they hold it
    publish_query_copy(Path(warehouse))
    with timed("role_copies"):
        roles = publish_role_copies(Path(warehouse))
    ensure_log(Path(warehouse))
    files = files_summary(lists, roles)
    log.info("published files (rewritten/left as they were): %s",
             ", ".join(f"{k} {v['rewritten']}/{v['kept']}" for k, v in files.items()))
    return {"lists": lists, "report": str(report_path), "query_log": query_log, "roles": roles,
            "published_files": files}


def _mark_started(path: Path, run_id: str | None, started: datetime) -> None:
    """Record when this run's discovery began; a retry of it keeps its first try's time, whose
    alerts (raised once) the report must still show."""
    if run_id is not None and _started_record(path).get("run_id") == run_id:
        return
    path.write_text(json.dumps({"run_id": run_id, "started": started.isoformat()}), encoding="utf-8")


def _started_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _run_started(warehouse: str) -> str | None:
    return _started_record(work_dir(warehouse) / STARTED).get("started")


def _build_summary(layer: str, built: list[dict]) -> dict:
    seconds = sum(b.get("seconds") or 0 for b in built)
    kept = sum(b.get("built") == "unchanged" for b in built)
    log.info("%s: %d objects rebuilt, %d kept (nothing they read changed) in %.1fs", layer,
             len(built) - kept, kept, seconds)
    return {"layer": layer, "objects": len(built), "seconds": round(seconds, 3),
            "rows": {b["name"]: b["rows"] for b in built if b.get("rows") is not None},
            "scoped": {b["name"]: b["built"] for b in built if b.get("built", "whole") != "whole"}}


@timed_task("data_docs")
def build_quality_docs(warehouse: str, out: str, run_id: str) -> str | None:
    """Render this run's Great Expectations results as Data Docs under `<out>/data_docs/<run>`."""
    import shutil

    from pipelines.validate.data_docs import build_data_docs

    results = dq_dir(warehouse, run_id)
    if not results.is_dir() or not any(results.iterdir()):
        return None
    index = build_data_docs(results, Path(out) / "data_docs" / results.name)
    shutil.rmtree(results, ignore_errors=True)
    return str(index)


@timed_task("summary")
def write_summary(summary: dict, out: str, warehouse: str | None = None, run_id: str | None = None) -> str:
    """The run summary, the run's last step: the warehouse's claim (`discover_pending`) is released."""
    path = Path(out) / "run-summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    held = work_dir(warehouse) / HELD if warehouse else None
    if held is not None and held.exists():  # every night a folder stays held, misnamed or unreadable
        summary = {**summary, "held": json.loads(held.read_text(encoding="utf-8"))}
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if warehouse and run_id:
        from pipelines.runtime.run_claim import release

        release(work_dir(warehouse), run_id)
    return str(path)
