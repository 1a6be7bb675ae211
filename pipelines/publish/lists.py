"""Risk lists for caseworkers: one workbook per 乡镇/街道 per scoring date.

`write_lists(warehouse, out)` writes `<out>/<as_of_date>/<county_code>/<township_code>.xlsx`
and its CSV twin, and keeps what each list showed (mart.listed_*, audit.list_exports).
What the sheets hold, the markers and the rules for holding a household back: docs/outputs.md.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.ingest.feedback import current_user
from pipelines.load.corrections import corrected_since_export
from pipelines.publish.deadlines import RULES_FILE, load_rules
from pipelines.publish.list_corrections import changed_townships, reissue_alerts, send_alerts
from pipelines.publish.list_rows import NEW, SAME, UP, candidate_rows, departure_rows, household_rows
from pipelines.publish.list_notes import level_settings
from pipelines.publish.list_regions import RegionsError, load_regions
from pipelines.publish.list_workers import ListFilesError
from pipelines.publish.list_writer import ListContext, unplaced, write_files
from pipelines.publish.published import LIST_CSV, LIST_XLSX, entry, record, recorded
from pipelines.publish.scoring_date import is_scoring_date, latest_scoring_date
from pipelines.sql import query
from pipelines.warehouse import insert_rows, rollback, warehouse as open_warehouse

log = logging.getLogger(__name__)


class ListError(Exception):
    """The lists cannot be written; the message is one line."""


class NoScores(ListError):
    """mart.risk_list has no scores at all yet (the scoring step has not run or skipped)."""


def write_lists(warehouse: Path, out: Path, as_of: date | None = None, *, actor: str | None = None,
                issued_on: date | None = None, new_only: bool = False, rules_file: Path = RULES_FILE,
                regions_file: Path | None = None) -> dict:
    """Write every township's risk list for `as_of` (default: the latest scores); return a summary.

    `issued_on` is the day deadlines count from: by default the day the list of
    this date was first issued (so writing it again keeps its deadlines), else
    today. `actor` is who is recorded as exporting (default the OS user).
    `new_only` (for the nightly run, which sees the same scoring date every
    night until the next mz delivery) leaves a list already written to `out`
    as it is. Without any scores yet (the scoring step skipped) and no `as_of`
    asked for, nothing is written and the summary says why; a date without
    scores is a ListError. Township and village names come from `regions_file`
    (default parameters/regions/regions.csv; pipelines.publish.list_regions).
    """
    folder = Path(out).resolve()
    with open_warehouse(Path(warehouse)) as con:
        try:
            as_of = _scoring_date(con, as_of)
        except NoScores as exc:
            log.warning("risk lists not written: %s", exc)
            return {"status": "skipped", "reason": str(exc), "files": 0}
        corrected: set[str] | None = None  # a re-issue after a correction or a late delivery (更正)
        if new_only and _already_written(con, as_of, folder / as_of.isoformat()):
            corrected = corrected_since_export(con, as_of)
            if not corrected and not _loaded_since_export(con, as_of):
                log.info("risk lists for %s already written under %s", as_of, folder)
                return _left_as_they_were(as_of, folder)
        issued_on = issued_on or _first_issued(con, as_of) or date.today()
        rules = load_rules(issued_on, rules_file)
        previous = _previous_list(con, as_of)
        households, held_back = household_rows(con, as_of, previous, rules, issued_on)
        candidates = candidate_rows(con, as_of, previous, rules, issued_on)
        listed = {(h["household_id"], h["township_code"]) for h in households}
        departures = departure_rows(con, as_of, previous, listed, held_back)
        export_id = f"list-{as_of.isoformat()}-{uuid.uuid4().hex[:12]}"
        scored = con.execute("SELECT DISTINCT county_code, township_code FROM mart.risk_list WHERE as_of_date = ?",
                             [as_of]).fetchall()
        townships = None
        if corrected is not None:
            townships = changed_townships(con, as_of, corrected, households, candidates)
            if not townships:
                log.info("risk lists for %s: what loaded since they went out changed no list", as_of)
                con.execute("INSERT INTO audit.list_checks VALUES (?, ?)",
                            [as_of, datetime.now(timezone.utc).replace(tzinfo=None)])
                return _left_as_they_were(as_of, folder)
            scored = [k for k in scored if k in townships]
            households, candidates, departures = (
                [r for r in rows if (r["county_code"], r["township_code"]) in townships]
                for rows in (households, candidates, departures))
        context = ListContext(as_of, issued_on, _regions(regions_file), level_settings(con, as_of))
        try:
            files = write_files(folder / as_of.isoformat(), scored, households, candidates, departures, context,
                                recorded(con, (LIST_XLSX, LIST_CSV)))
        except ListFilesError as exc:
            raise ListError(str(exc)) from None
        unplaced_rows = unplaced(households + candidates + departures)
        rewritten = [f for f in files if f["rewritten"]]
        kept = [f["township_code"] for f in files if not f["rewritten"]]  # their rows and exports stay as they are
        alerts = reissue_alerts(as_of, rewritten) if townships is not None else []
        _record(con, export_id, as_of, previous, issued_on, actor or current_user(), rewritten,
                households, candidates, departures, townships, kept, alerts)
        send_alerts(alerts)  # recorded with the export above: a kill now loses a log line, not the record
    summary = {
        "status": "written" if townships is None else "corrected",
        "as_of_date": as_of.isoformat(), "issued_on": issued_on.isoformat(),
        "previous_list": previous.isoformat() if previous else None, "export_id": export_id,
        "rules_version": rules.valid_from.isoformat(), "files": len(files),
        "rewritten": len(rewritten), "kept": len(kept),
        "households": len(households), "candidates": len(candidates), "departures": len(departures),
        "held_back_ineligible": len(held_back), "unplaced": unplaced_rows,
        "markers": {m: sum(h["marker"] == m for h in households) for m in (NEW, UP, SAME)},
        "townships": {f["township_code"]: {k: f[k] for k in ("county_code", "xlsx", "csv", "households",
                                                               "candidates", "departures")} for f in files},
    }
    log.info("risk lists for %s: %d files (%d rewritten, %d unchanged), %d households (%s), %d candidates,"
             " %d departures, %d held back", as_of, len(files), len(rewritten), len(kept), len(households),
             summary["markers"], len(candidates), len(departures), len(held_back))
    return summary


def _left_as_they_were(as_of: date, folder: Path) -> dict:
    kept = sum(1 for _ in (folder / as_of.isoformat()).glob("*/*.xlsx"))
    return {"status": "already_written", "as_of_date": as_of.isoformat(), "files": 0, "rewritten": 0, "kept": kept}


def _regions(path: Path | None):
    try:
        return load_regions(path)
    except RegionsError as exc:
        raise ListError(str(exc)) from None


def _scoring_date(con: duckdb.DuckDBPyConnection, as_of: date | None) -> date:
    latest = latest_scoring_date(con)
    if as_of is None:
        if latest is None:
            raise NoScores("mart.risk_list has no scores yet: score the households first")
        return latest
    if not is_scoring_date(con, as_of):
        raise ListError(f"no risk scores for {as_of} in mart.risk_list (latest: {latest or 'none'})")
    return as_of


def _previous_list(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    found = con.execute("SELECT max(as_of_date) FROM mart.listed_households WHERE as_of_date < ?",
                        [as_of]).fetchall()[0][0]
    if found is None:  # a previous list may have listed nobody, yet had candidates
        found = con.execute("SELECT max(as_of_date) FROM audit.list_exports WHERE as_of_date < ?",
                            [as_of]).fetchall()[0][0]
    return found


def _first_issued(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    return con.execute("SELECT min(issued_on) FROM audit.list_exports WHERE as_of_date = ?", [as_of]).fetchall()[0][0]


def _loaded_since_export(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    return con.execute(query("publish/loaded_since_export"), {"as_of": as_of}).fetchall()[0][0] > 0


def _already_written(con: duckdb.DuckDBPyConnection, as_of: date, folder: Path) -> bool:
    """The latest export of this date went to `folder` and its files are still there."""
    paths = [Path(p) for (p,) in con.execute(
        "SELECT xlsx_path FROM audit.list_exports WHERE export_id = ("
        " SELECT arg_max(export_id, exported_at) FROM audit.list_exports WHERE as_of_date = ?)", [as_of]).fetchall()]
    return bool(paths) and all(p.parent.parent == folder and p.is_file() for p in paths)


def _record(con: duckdb.DuckDBPyConnection, export_id: str, as_of: date, previous: date | None, issued_on: date,
            actor: str, files: list[dict], households: list[dict], candidates: list[dict],
            departures: list[dict], townships: set[tuple[str, str]] | None = None, kept: list[str] = (),
            alerts: list[tuple[str, date, str]] = ()) -> None:
    """Keep what the rewritten lists (`files`) showed, replacing an earlier export of the same
    date, or of the re-issued `townships` only, but not of the `kept` townships, whose files
    were left as they were; who exported them; the files' content hashes; and the re-issue
    `alerts` (audit.alerts rows), in one transaction."""
    placed = {(f["county_code"], f["township_code"]) for f in files}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    households = [r for r in households if (r["county_code"], r["township_code"]) in placed]
    candidates = [r for r in candidates if (r["county_code"], r["township_code"]) in placed]
    departures = [r for r in departures if (r["county_code"], r["township_code"]) in placed]
    con.execute("BEGIN")
    try:
        scope, args = ("", []) if townships is None else (
            " AND list_contains(?::VARCHAR[], township_code)", [[t for _, t in townships]])
        if kept:
            scope, args = scope + " AND NOT list_contains(?::VARCHAR[], township_code)", [*args, list(kept)]
        for table in ("mart.listed_households", "mart.listed_candidates", "mart.list_departures"):
            con.execute(f"DELETE FROM {table} WHERE as_of_date = ?{scope}", [as_of, *args])
        insert_rows(con, "INSERT INTO mart.listed_households VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [as_of, issued_on, r["county_code"], r["township_code"], r["household_id"], r["list_rank"],
             r["risk_score"], r["risk_level"], r["reasons"], r["marker"], r["step"].action, r["step"].time_limit,
             r["step"].deadline, export_id] for r in households])
        insert_rows(con, "INSERT INTO mart.listed_candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [as_of, r["county_code"], r["township_code"], r["person_key"], r["rule"], r["marker"],
             r["step"].action, r["step"].time_limit, r["step"].deadline, export_id] for r in candidates])
        insert_rows(con, "INSERT INTO mart.list_departures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [as_of, previous, r["county_code"], r["township_code"], r["household_id"], r["previous_level"],
             r["reason"], r["detail"], export_id] for r in departures])
        insert_rows(con, "INSERT INTO audit.list_exports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [export_id, as_of, issued_on, f["county_code"], f["township_code"], f["xlsx"], f["csv"], f["sha256"],
             f["households"], f["candidates"], f["departures"], actor, now, townships is not None] for f in files])
        record(con, [entry(kind, Path(f[column]), f["content_hash"]) for f in files
                     for kind, column in ((LIST_XLSX, "xlsx"), (LIST_CSV, "csv"))])  # after the renames
        # no source: a delivery of any source may have re-issued the list
        insert_rows(con, "INSERT INTO audit.alerts VALUES (?, 'warning', ?, NULL, ?, ?)",
                    [[now, kind, day, message] for kind, day, message in alerts])
        con.execute("COMMIT")
    except BaseException:
        rollback(con)  # a failed COMMIT has ended the transaction: keep its error, not ROLLBACK's
        raise

