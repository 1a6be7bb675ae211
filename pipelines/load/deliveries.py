"""Load: the gate and the one-transaction commit of a staged delivery.

For each staged delivery, in date order:
- the same data files as the delivery this folder has in force (a rewritten
  `_READY`) or as any earlier delivery of the source, loaded or since corrected
  (warehouse/queries/load/replay_of.sql) -> a replay: ledger `skipped_duplicate`,
  nothing else changes;
- any delivery-level error (unreadable file, `_READY` count mismatch, missing
  file or mandatory column, table-level expectation failed, snapshot row count
  moved by half against the previous one) -> `rejected`: every file rejected,
  nothing loaded, an alert raised;
- the folder was loaded before with other content -> a correction: the earlier
  load's rows are removed and its ledger rows become `superseded` (also when the
  content goes back to what an earlier, since corrected, attempt held: the newest wins);
- otherwise staging, quarantine, repairs, drift, data-quality results and
  conflicts are written, the staged raw files are kept as the raw layer
  (raw_archive.py: every delivered row written once) and the ledger records
  every file as `loaded`.
Each delivery is one DuckDB transaction: a crash leaves the warehouse as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb

from pipelines import config
from pipelines.sources.contract import FILES, spec as file_spec
from pipelines.ingest.stage import Staged
from pipelines.load import raw_archive
from pipelines.sources.landing import Delivery
from pipelines.sql import query
from pipelines.warehouse import insert_rows, rollback

log = logging.getLogger(__name__)

LOADED, REJECTED, SUPERSEDED, SKIPPED = "loaded", "rejected", "superseded", "skipped_duplicate"
# raw.<file> is a view: a superseded load's archived file drops out of it with its status.
LOAD_TABLES = [f"raw.{f.key}_pre_archive" for f in FILES] + [f"staging.{f.key}" for f in FILES] + [
    "audit.quarantine", "audit.repairs", "audit.schema_drift", "audit.dq_results", "audit.conflicts",
]


@dataclass
class LoadResult:
    load_id: str
    source: str
    extract_date: str
    status: str
    message: str = ""
    files: list[dict] = field(default_factory=list)


def attempts(con: duckdb.DuckDBPyConnection, delivery: Delivery) -> int:
    # Held folders were never attempted: their rows must not shift the load ids of real attempts.
    return con.execute("SELECT count(*) FROM audit.deliveries WHERE folder = ? AND status <> 'held'",
                       [delivery.rel]).fetchall()[0][0]


def is_pending(con: duckdb.DuckDBPyConnection, delivery: Delivery) -> bool:
    """A folder is done while its latest attempt had exactly this content and marker (a hold
    is no attempt). A folder changed back to what an earlier attempt held is attempted again:
    the newest delivery of a date wins (docs/ingest.md, *Replays and corrections*)."""
    last = con.execute(
        "SELECT content_sha256, ready_sha256 FROM audit.deliveries WHERE folder = ? AND status <> 'held'"
        " ORDER BY attempted_at DESC LIMIT 1",
        [delivery.rel],
    ).fetchall()
    return not last or last[0] != (delivery.content_sha256, delivery.ready_sha256)


def load_staged(con: duckdb.DuckDBPyConnection, staged: Staged) -> LoadResult:
    d = staged.delivery
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN")
    try:
        result = _load(con, staged, now)
        con.execute("COMMIT")
    except (duckdb.DataError, duckdb.IntegrityError) as err:
        rollback(con)
        raw_archive.discard(con, staged.load_id)
        result = _refuse(con, staged, now, err)
    except BaseException:
        rollback(con)  # a failed COMMIT has ended the transaction: keep its error, not ROLLBACK's
        raw_archive.discard(con, staged.load_id)
        raise
    if result.status == REJECTED:
        log.warning("delivery %s rejected: %s", d.rel, result.message)
    else:
        log.info("delivery %s %s", d.rel, result.status)
    return result


def _load(con, staged: Staged, now: datetime) -> LoadResult:
    d = staged.delivery
    result = LoadResult(staged.load_id, d.source, d.extract_date.isoformat(), LOADED)

    original = con.execute(query("load/replay_of"), {
        "folder": d.rel, "source": d.source, "content": d.content_sha256}).fetchall()
    rate_errors = _quarantine_rate_errors(staged)
    confirmed: list[str] = []  # size changes a rejected snapshot showed first: loaded, and said so
    errors = staged.errors + staged.validation_errors + _snapshot_size_errors(con, staged, confirmed) + rate_errors
    if original:
        result.status = SKIPPED
        result.message = f"replay of {original[0][1]} (same content), nothing loaded"
    elif errors:
        result.status = REJECTED
        result.message = "; ".join(errors)
    elif confirmed:
        result.message = "; ".join(confirmed)

    if result.status == LOADED:
        from pipelines.load.corrections import keep_superseded_rows, record_corrections

        superseded = keep_superseded_rows(con, d)
        _supersede(con, d)
        _insert_parts(con, staged)
        record_corrections(con, staged.load_id, d, superseded)
    elif result.status == REJECTED and rate_errors:
        _insert_quarantine(con, staged)  # the cells that got it rejected stay on record for review
    _write_ledger(con, staged, result, now, original[0][0] if original else None,
                  quarantine_kept=bool(rate_errors) and result.status == REJECTED)
    if result.status == LOADED:
        # after the ledger: the views read the deliveries' status
        raw_archive.point_views(con, [file_spec(d.source, sf.stem).key for sf in staged.files])
        from pipelines.core.link import recheck_later_registrations, record_conflicts  # same transaction
        from pipelines.runtime.timing import timed

        with timed("link", delivery=d.rel):
            record_conflicts(con, staged.load_id, d.source, d.extract_date)
            if d.source in ("mz", "cl"):
                recheck_later_registrations(con, d.extract_date)
    if result.status == REJECTED:
        _alert_rejected(con, d, now, result.message)
    elif result.status == LOADED and confirmed:
        con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', 'snapshot_size_confirmed', ?, ?, ?)",
                    [now, d.source, d.extract_date, f"{d.rel}: {result.message}"[:2000]])
    return result


def _alert_rejected(con, d: Delivery, now: datetime, message: str) -> None:
    con.execute("INSERT INTO audit.alerts VALUES (?, 'error', 'delivery_rejected', ?, ?, ?)",
                [now, d.source, d.extract_date, f"{d.rel} rejected: {message}"[:2000]])


def _refuse(con, staged: Staged, now: datetime, err: Exception) -> LoadResult:
    """A delivery whose rows the warehouse refused (a value no repair rule bounded): rejected
    in a transaction of its own, like any delivery the gate rejects, so that the deliveries
    after it and the nights after this one load. Its folder is done until it changes."""
    d = staged.delivery
    first = (str(err).strip().splitlines() or [type(err).__name__])[0][:500]
    result = LoadResult(staged.load_id, d.source, d.extract_date.isoformat(), REJECTED,
                        f"the warehouse refused its rows ({type(err).__name__}: {first})")
    con.execute("BEGIN")
    try:
        _write_ledger(con, staged, result, now, None)
        _alert_rejected(con, d, now, result.message)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return result


def _snapshot_size_errors(con, staged: Staged, confirmed: list[str]) -> list[str]:
    """A snapshot whose *loaded* rows grew by half or fell by a third against the previous
    accepted one is unusable: read rows alone let a mostly-quarantined snapshot pass as
    complete and every household it lost read as an exit. Unless the last snapshot rejected
    for its size showed the same change (`confirmed` gets a line for it).

    The fall is bounded by what the rise's limit undoes, (1 - fall) x (1 + rise) = 1: with one
    limit both ways, a snapshot cut by 40% loaded without a word, and the complete one after
    it, judged against the cut, was rejected as 67% larger (the second hostile audit)."""
    d = staged.delivery
    errors = []
    rise = config.SNAPSHOT_CHANGE_LIMIT
    fall = rise / (1 + rise)
    for sf in staged.files:
        if sf.error or file_spec(d.source, sf.stem).semantics != "snapshot":
            continue
        prev = con.execute(
            "SELECT rows_loaded, extract_date FROM audit.load_ledger WHERE source = ? AND status = 'loaded'"
            " AND extract_date < ? AND lower(regexp_replace(file_name, '\\.[^.]*$', '')) = ?"
            " ORDER BY extract_date DESC LIMIT 1",
            [d.source, d.extract_date, sf.stem],
        ).fetchall()
        # judged against a previous snapshot of some size: a small one may well double
        if prev and prev[0][0] >= config.MIN_ROWS_JUDGED and not (
                (1 - fall) * prev[0][0] < sf.rows_loaded < (1 + rise) * prev[0][0]):
            if again := _confirmed_size(con, d, sf.stem, sf.rows_read, prev[0][1]):
                confirmed.append(f"{sf.file_name}: {sf.rows_loaded} rows against {prev[0][0]} in the snapshot of"
                                 f" {prev[0][1]}, as in the snapshot of {again} rejected for it: loaded as a real change")
                continue
            errors.append(
                f"{sf.file_name}: {sf.rows_loaded} rows loadable against {prev[0][0]} loaded in the snapshot of"
                f" {prev[0][1]} (grown by {rise:.0%} or fallen by {fall:.0%} or more: truncated, duplicated or"
                f" mostly quarantined?)"
            )
    return errors


# Rows read within this share of the snapshot rejected for its size: the same size again
# (a month's entries and exits), not a second, different truncation.
CONFIRM_SHARE = 0.1


def _confirmed_size(con, d: Delivery, stem: str, rows_read: int, loaded_date):
    """The date of the snapshot rejected for its size since `loaded_date` whose size this one
    repeats (rows read within CONFIRM_SHARE), or None: two exports in a row of the new size are
    not an accident, and judging every later snapshot against the old size would leave the
    source stale for good."""
    found = con.execute(query("load/rejected_snapshot_size"), {
        "source": d.source, "extract_date": d.extract_date, "loaded_date": loaded_date, "stem": stem}).fetchall()
    if found and abs(rows_read - found[0][0]) <= CONFIRM_SHARE * found[0][0]:
        return found[0][1]
    return None


def _quarantine_rate_errors(staged: Staged) -> list[str]:
    """A file whose rows are mostly quarantined was damaged whole (an exporter's setting,
    not a clerk's typo): loading its remainder would present a fragment as the delivery."""
    limit = config.QUARANTINE_RATE_LIMIT
    return [
        f"{sf.file_name}: {sf.rows_quarantined} of {sf.rows_read} rows quarantined"
        f" ({sf.rows_quarantined / sf.rows_read:.0%}, limit {limit:.0%})"
        for sf in staged.files
        if not sf.error and sf.rows_read >= config.MIN_ROWS_JUDGED
        and sf.rows_quarantined > limit * sf.rows_read
    ]


def _supersede(con, d: Delivery) -> None:
    """A correction: the earlier loaded delivery of this source and date gives way."""
    old = [r[0] for r in con.execute(
        "SELECT load_id FROM audit.deliveries WHERE source = ? AND extract_date = ? AND status = 'loaded'",
        [d.source, d.extract_date],
    ).fetchall()]
    for load_id in old:
        for table in LOAD_TABLES:
            con.execute(f"DELETE FROM {table} WHERE load_id = ?", [load_id])
        con.execute("UPDATE audit.load_ledger SET status = 'superseded' WHERE load_id = ?", [load_id])
        con.execute(
            "UPDATE audit.deliveries SET status = 'superseded', message = ? WHERE load_id = ?",
            [f"corrected by a later delivery of {d.rel}", load_id],
        )


def _insert_parts(con, staged: Staged) -> None:
    d = staged.delivery
    lineage = "?::VARCHAR AS load_id, ?::DATE AS extract_date, ?::VARCHAR AS file_name"
    for sf in staged.files:
        spec = file_spec(d.source, sf.stem)
        args = [staged.load_id, d.extract_date, sf.file_name]
        fields = ", ".join(spec.fields)
        con.execute(
            f"INSERT INTO staging.{spec.key} SELECT {lineage}, _line AS line_number, {fields}"
            f" FROM read_parquet(?)",
            [*args, str(staged.part(sf.stem, "clean"))],
        )
        _insert_file_quarantine(con, staged, sf.stem, sf.file_name)
        con.execute(
            "INSERT INTO audit.repairs SELECT ?, ?, ?::DATE, ?, _line, column_name, kind, raw_value, repaired_value"
            " FROM read_parquet(?)",
            [staged.load_id, d.source, d.extract_date, sf.file_name, str(staged.part(sf.stem, "repairs"))],
        )
        for col in sf.extra_columns:
            con.execute("INSERT INTO audit.schema_drift VALUES (?, ?, ?, ?, ?, 'extra_column')",
                        [staged.load_id, d.source, d.extract_date, sf.file_name, col])
        for col in sf.missing_optional:
            con.execute("INSERT INTO audit.schema_drift VALUES (?, ?, ?, ?, ?, 'missing_optional_column')",
                        [staged.load_id, d.source, d.extract_date, sf.file_name, col])
    for name in staged.extra_files:
        con.execute("INSERT INTO audit.schema_drift VALUES (?, ?, ?, ?, ?, 'extra_file')",
                    [staged.load_id, d.source, d.extract_date, name, name])
    raw_archive.keep(con, staged)
    insert_rows(con, "INSERT INTO audit.dq_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        [staged.load_id, d.source, d.extract_date, r["file_name"], r.get("expectation"), r.get("column"),
         r.get("level", "row"), bool(r.get("success")), r.get("unexpected_count"), r.get("element_count")]
        for r in staged.dq
    ])


def _insert_file_quarantine(con, staged: Staged, stem: str, file_name: str) -> None:
    d = staged.delivery
    con.execute(
        "INSERT INTO audit.quarantine SELECT ?, ?, ?::DATE, ?, _line, column_name, raw_value, reason"
        " FROM read_parquet(?)",
        [staged.load_id, d.source, d.extract_date, file_name, str(staged.part(stem, "quarantine"))],
    )


def _insert_quarantine(con, staged: Staged) -> None:
    for sf in staged.files:
        if not sf.error and staged.part(sf.stem, "quarantine").exists():
            _insert_file_quarantine(con, staged, sf.stem, sf.file_name)


def defer_checkpoints(con: duckdb.DuckDBPyConnection) -> None:
    """Let this connection's commits go to the write-ahead log until the next CHECKPOINT.

    DuckDB checkpoints (rewrites the touched row groups into the file) whenever the
    log passes 16 MB, i.e. after nearly every delivery of a backfill. Each commit
    is as durable either way (the log is synced on commit and replayed on open);
    the caller checkpoints once after its last delivery.
    """
    con.execute("SET checkpoint_threshold = '64GB'")


def _write_ledger(con, staged: Staged, result: LoadResult, now: datetime, replay_of: str | None,
                  quarantine_kept: bool = False) -> None:
    d = staged.delivery
    loaded = result.status == LOADED
    names = {sf.file_name for sf in staged.files}
    rows = [
        (sf.file_name, sf.rows_read, sf.rows_loaded if loaded else 0,
         sf.rows_quarantined if loaded or (quarantine_kept and not sf.error) else 0,
         sf.encoding, sf.rows_repaired if loaded else 0, sf.sha256, sf.error)
        for sf in staged.files
    ]
    # Files the gate never read (a duplicate stem) still get their ledger row.
    rows += [(n, 0, 0, 0, None, 0, sha, None) for n, sha in sorted(d.files.items())
             if n not in names and n not in staged.extra_files]
    for name, read, loaded_n, quarantined, encoding, repaired, sha, error in rows:
        con.execute(
            "INSERT INTO audit.load_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [staged.load_id, d.source, d.extract_date, name, read, loaded_n, quarantined, result.status, now,
             sha, encoding, repaired, error or (result.message if result.status != LOADED else None)],
        )
        result.files.append({"file_name": name, "rows_read": read, "rows_loaded": loaded_n,
                             "rows_quarantined": quarantined, "status": result.status})
    con.execute(
        "INSERT INTO audit.deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [staged.load_id, d.source, d.extract_date, d.rel, d.content_sha256, d.ready_sha256, result.status,
         result.message or None, replay_of, now],
    )
    # A hold was no attempt (pipelines/sources/hold.py): its `pending` ledger rows give way to this one's.
    con.execute("DELETE FROM audit.load_ledger WHERE status = 'pending' AND load_id IN"
                " (SELECT load_id FROM audit.deliveries WHERE folder = ? AND status = 'held')", [d.rel])


def stale_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Sources later steps read old data of: the newest attempted delivery did not load, or
    nothing loaded for the month of 民政's latest snapshot (the month the scores are for)."""
    rows = con.execute(query("load/stale_sources")).fetchall()
    return [f"{s}: newest delivery {t} was rejected; using data as of {g or 'never'}" if t is not None else
            f"{s}: nothing loaded for {mz:%Y-%m}, the month of 民政's latest snapshot ({mz}); using data as of"
            f" {g or 'never'}" for s, t, g, mz in rows]

