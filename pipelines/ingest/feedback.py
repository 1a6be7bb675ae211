"""Caseworkers' check results (核查结果), loaded like any source.

A caseworker returns a risk list (XLSX, or CSV) with 核查结果 (已入户, 纳入低保,
临时救助, 不符合条件, 联系不上), 核查日期 and, optionally, 备注 filled in: on 风险名单
keyed by 家庭编号, on 主动发现 by 发现编号 (`candidate_ref`). Other columns may stay,
move or go.

The rules are those of the source files (pipelines.ingest.readers, pipelines.ingest.repair):
one correct reading is repaired (audit.repairs), anything else quarantined
(audit.quarantine, source 'feedback'), plus household_not_listed /
candidate_not_listed, check_date_in_future and check_before_listing. A row with
neither 核查结果 nor 核查日期 is not checked yet: skipped, counted, not an error.

Each loaded row answers the latest exported list showing it before the 核查日期;
rows go to staging.feedback or staging.feedback_candidates, each file to
audit.feedback_loads, loaded once by content. Every row's outcome is written
beside the file (pipelines.ingest.feedback_outcomes).
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.contract import DATE, ENUM, TEXT, Column, FileSpec
from pipelines.ingest import feedback_checks as checks
from pipelines.ingest.file_table import duplicate_contract_headers
from pipelines.ingest.readers import LINE, UnreadableFile, read_file, read_regular_bytes
from pipelines.ingest.repair import MissingColumns, repair_frame
from pipelines.ingest.row_defects import split_row_defects
from pipelines.ingest.xlsx_reader import SPREADSHEET_DIGITS_LIMIT, sheet_names
from pipelines.sources.landing import shown_name
from pipelines.warehouse import insert_rows, rollback, warehouse as open_warehouse

log = logging.getLogger(__name__)

SOURCE = "feedback"
HOUSEHOLD_ID, RESULT, CHECK_DATE, NOTE = "家庭编号", "核查结果", "核查日期", "备注"
CANDIDATE_ID = "发现编号"  # a 主动发现 row's key on the list: candidate_ref(person_key, rule)
# Results the lists and the report act on: 不符合条件 holds a household off the next lists for a while
# (pipelines.publish.list_rows); 联系不上 is a try, not a completed check (mart.followup_status).
INELIGIBLE, UNREACHABLE = "不符合条件", "联系不上"
RESULTS = ("已入户", "纳入低保", "临时救助", INELIGIBLE, UNREACHABLE)
SPEC = FileSpec(SOURCE, "results", "append", (
    Column(HOUSEHOLD_ID, "household_id", TEXT),
    Column(RESULT, "result", ENUM, RESULTS),
    Column(CHECK_DATE, "check_date", DATE),
    Column(NOTE, "note", TEXT, optional=True),
))
FILE_TYPES = (".xlsx", ".csv")
# What else a spreadsheet saves a returned list as: taken from the folder to be rejected
# with a one-line reason (and a .结果.csv beside it), never passed over unseen.
OTHER_SHEET_TYPES = (".xls", ".xlsm", ".xlsb", ".ods", ".et", ".ett", ".numbers", ".tsv", ".txt")
OUTCOME_SUFFIX = ".结果.csv"  # the per-row outcome file written beside a returned file; never loaded
HOUSEHOLD_SHEET, CANDIDATE_SHEET = "风险名单", "主动发现"
HOUSEHOLDS, CANDIDATES = "households", "candidates"
CANDIDATE_SPEC = FileSpec(SOURCE, "candidate_results", "append", (
    Column(CANDIDATE_ID, "candidate_ref", TEXT),
    Column(RESULT, "result", ENUM, RESULTS),
    Column(CHECK_DATE, "check_date", DATE),
    Column(NOTE, "note", TEXT, optional=True),
))
LOADED, REJECTED, SKIPPED = "loaded", "rejected", "skipped_duplicate"


class FeedbackError(Exception):
    """A feedback file that cannot be loaded as a whole; the message is one line."""


@dataclass
class Part:
    """One returned sheet: 风险名单 rows (households) or 主动发现 rows (candidates)."""

    label: str  # the file name as recorded (`<name>:主动发现` for a workbook's candidate sheet)
    sheet: str
    kind: str = HOUSEHOLDS
    rows_read: int = 0
    skipped: list[int] = field(default_factory=list)  # lines with neither 核查结果 nor 核查日期
    keys: dict[int, str] = field(default_factory=dict)  # line -> 家庭编号 / 发现编号 as returned
    clean: pl.DataFrame | None = None
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    repairs: pl.DataFrame | None = None

    def quarantined(self) -> pl.DataFrame:
        return pl.concat([q.select(LINE, "column_name", "raw_value", "reason") for q in self.quarantine])


@dataclass
class FeedbackLoad:
    load_id: str
    file: Path
    sha256: str | None
    status: str = LOADED
    message: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    parts: list[Part] = field(default_factory=list)
    outcome_file: Path | None = None

    def summary(self, rows: bool = True) -> dict:
        """The counts, and (`rows`) every row's outcome; the nightly run's summary keeps the counts only."""
        from pipelines.ingest.feedback_outcomes import outcomes

        return {"load_id": self.load_id, "file": shown_name(str(self.file)), "status": self.status,
                "message": self.message, "rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
                "rows_quarantined": self.rows_quarantined, "rows_skipped": self.rows_skipped,
                "outcome_file": shown_name(str(self.outcome_file)) if self.outcome_file else None,
                **({"rows": outcomes(self) if self.status == LOADED else []} if rows else {})}


def load_feedback(warehouse: Path, file: Path, *, actor: str | None = None, today: date | None = None) -> dict:
    """Load one returned list (`dibao feedback FILE`); raise FeedbackError if the file is unusable.

    The rejection is recorded in audit.feedback_loads before the error is raised.
    The same content loaded before is not loaded again (status skipped_duplicate).
    """
    file = Path(file)
    if not file.is_file():
        raise FeedbackError(f"no feedback file {file}")
    with open_warehouse(Path(warehouse)) as con:
        load = _load_file(con, file, actor or current_user(), today or date.today(), record_repeats=True)
    if load.status == REJECTED:
        raise FeedbackError(f"{shown_name(file.name)}: {load.message}")
    return load.summary()


def load_feedback_folder(warehouse: Path, folder: Path, *, actor: str | None = None, today: date | None = None,
                         missing_ok: bool = False) -> dict:
    """Load every returned list under `folder` (sub-folders too) not loaded before.

    A file whose content was attempted before is passed over without a new
    ledger row, so the nightly run can point at the same landing folder every
    night. A rejected file does not stop the others. A missing folder is an
    error, or (missing_ok, for the nightly run) a folder with no files yet.
    """
    folder = Path(folder)
    if not folder.is_dir() and not (missing_ok and not folder.exists()):
        raise FeedbackError(f"feedback folder {folder} does not exist")
    files = sorted((p for p in folder.rglob("*")
                    if p.suffix.lower() in FILE_TYPES + OTHER_SHEET_TYPES and p.is_file()
                    and not p.name.startswith(("~$", "."))
                    and not p.name.endswith(OUTCOME_SUFFIX)), key=_saved_order)
    results = []
    with open_warehouse(Path(warehouse)) as con:
        for file in files:
            try:
                load = _load_file(con, file, actor or current_user(), today or date.today(), record_repeats=False)
            except Exception as exc:  # one returned file must not stop the night: tried again tomorrow
                log.exception("feedback %s could not be loaded", shown_name(str(file)))
                load = FeedbackLoad(_load_id(None), file, None, REJECTED, f"could not be loaded ({type(exc).__name__}:"
                                    f" {(str(exc).strip().splitlines() or [''])[0][:300]}); tried again next night")
            if load is not None:
                results.append(load.summary(rows=False))  # the outcomes are in each file's .结果.csv
    counts = {s: sum(r["status"] == s for r in results) for s in (LOADED, REJECTED, SKIPPED)}
    log.info("feedback folder %s: %d files, %d new: %s", folder, len(files), len(results), counts)
    return {"folder": str(folder), "files_seen": len(files), "files": results, **counts,
            "rows_loaded": sum(r["rows_loaded"] for r in results),
            "rows_quarantined": sum(r["rows_quarantined"] for r in results)}


def _saved_order(path: Path) -> tuple[int, str]:
    """Saved last, loaded last: of two answers for one household and date returned the same night
    (`371522101 (2).xlsx`, a corrected copy), that one counts; by name alone the original won."""
    try:
        return path.stat().st_mtime_ns, str(path)
    except OSError:
        return 0, str(path)


# --------------------------------------------------------------------- one file


def _load_file(con: duckdb.DuckDBPyConnection, file: Path, actor: str, today: date,
               record_repeats: bool) -> FeedbackLoad | None:
    try:
        data = read_regular_bytes(file)  # a symlink is not followed outside the folder
    except (OSError, UnreadableFile) as exc:
        load = FeedbackLoad(_load_id(None), file, None, REJECTED,
                            f"cannot read file: {getattr(exc, 'strerror', None) or exc}")
        _record(con, load, actor, today)
        return load
    sha = hashlib.sha256(data).hexdigest()
    earlier = con.execute(
        "SELECT load_id, status FROM audit.feedback_loads WHERE file_sha256 = ? AND status <> ?"
        " ORDER BY loaded_at LIMIT 1", [sha, SKIPPED]).fetchall()
    if earlier:
        if not record_repeats:
            return None
        load = FeedbackLoad(_load_id(sha), file, sha, SKIPPED,
                            f"same content as {earlier[0][0]} ({earlier[0][1]}), nothing loaded")
        _record(con, load, actor, today)
        return load
    load = FeedbackLoad(_load_id(sha), file, sha)
    try:
        _validate(con, load, today)
    except (UnreadableFile, MissingColumns, ValueError) as exc:
        load.status, load.message = REJECTED, str(exc).splitlines()[0]
        load.rows_loaded = load.rows_quarantined = load.rows_skipped = 0
    _record(con, load, actor, today)
    from pipelines.ingest.feedback_outcomes import write_outcomes

    load.outcome_file = write_outcomes(load)  # a rejected file's says why, beside it
    if load.status == LOADED:
        log.info("feedback %s: %d rows loaded, %d quarantined, %d not checked yet", shown_name(file.name),
                 load.rows_loaded, load.rows_quarantined, load.rows_skipped)
    else:
        log.warning("feedback %s %s: %s", shown_name(file.name), load.status, load.message)
    return load


def _validate(con: duckdb.DuckDBPyConnection, load: FeedbackLoad, today: date) -> None:
    """Read, repair and check the returned sheets; fill load's parts and counts.

    A CSV is one sheet. In a workbook every sheet holding 家庭编号 or 发现编号 with
    核查结果 and 核查日期 is returned, whatever its name or place (`_returned_sheets`).
    """
    if load.file.suffix.lower() == ".xlsx":
        load.parts = [_part(con, label, read, today, sheet) for label, sheet, read in _returned_sheets(load.file)]
    else:
        load.parts = [_part(con, shown_name(load.file.name), read_file(load.file), today)]
    for part in load.parts:
        load.rows_read += part.rows_read
        load.rows_loaded += part.clean.height
        load.rows_quarantined += part.quarantined()[LINE].n_unique()
        load.rows_skipped += len(part.skipped)
    if load.rows_read != load.rows_loaded + load.rows_quarantined + load.rows_skipped:  # a row lost or doubled
        raise RuntimeError(f"feedback {shown_name(load.file.name)}: rows do not add up: {load.summary()}")


def _returned_sheets(file: Path) -> list[tuple[str, str, object]]:
    """(label, sheet, read) of every sheet a caseworker can have answered on.

    A sheet with a key and neither result column is not one (退出名单, and 主动发现 on
    lists written before it had them); a key with one result column of the two is a
    list whose other result column was renamed or deleted: the file is rejected, so
    that no filled-in result is passed over unseen.
    """
    returned = []
    for sheet in sheet_names(file):
        try:
            read = read_file(file, sheet, number_limit=SPREADSHEET_DIGITS_LIMIT)
        except UnreadableFile as exc:
            if "empty sheet" in str(exc):
                continue
            raise
        names = {c.strip() for c in read.frame.columns}
        keys, answers = (HOUSEHOLD_ID, CANDIDATE_ID), (RESULT, CHECK_DATE)
        if problem := checks.hidden_answers(sheet, names, read.frame, keys, answers):
            raise ValueError(problem)
        if not names & {HOUSEHOLD_ID, CANDIDATE_ID} or not names & {RESULT, CHECK_DATE}:
            continue
        if not {RESULT, CHECK_DATE} <= names:
            missing = "、".join(h for h in (RESULT, CHECK_DATE) if h not in names)
            raise ValueError(f"sheet {sheet!r} has {HOUSEHOLD_ID if HOUSEHOLD_ID in names else CANDIDATE_ID} "
                             f"but no column {missing}: put the column back under its name")
        name = shown_name(file.name)
        first = HOUSEHOLD_ID in names and not any(label == name for label, _, _ in returned)
        returned.append((name if first else f"{name}:{shown_name(sheet)}", sheet, read))
    if not returned:
        raise ValueError(f"no sheet has {HOUSEHOLD_ID} or {CANDIDATE_ID} with {RESULT} and {CHECK_DATE} in its "
                         "first non-empty row (the header row: a title row above it hides it)")
    return returned


def _part(con: duckdb.DuckDBPyConnection, label: str, read, today: date, sheet: str = HOUSEHOLD_SHEET) -> Part:
    if twice := duplicate_contract_headers(read, {*SPEC.headers, *CANDIDATE_SPEC.headers, *checks.SHOWN}):
        raise ValueError(twice)
    frame = read.frame
    names = {c.strip(): c for c in frame.columns}
    kind = CANDIDATES if CANDIDATE_ID in names and HOUSEHOLD_ID not in names else HOUSEHOLDS
    csv_of_people = kind == CANDIDATES and sheet == HOUSEHOLD_SHEET  # a CSV has no sheet name: shown as 主动发现
    part = Part(label, CANDIDATE_SHEET if csv_of_people else sheet, kind, read.rows_read)
    if RESULT not in names or CHECK_DATE not in names:
        raise MissingColumns([h for h in (RESULT, CHECK_DATE) if h not in names])
    key = CANDIDATE_ID if kind == CANDIDATES else HOUSEHOLD_ID
    spec = CANDIDATE_SPEC if kind == CANDIDATES else SPEC
    if key in names:
        part.keys = dict(frame.select(LINE, names[key]).iter_rows())
    blank = _is_blank(names[RESULT]) & _is_blank(names[CHECK_DATE])
    part.skipped = frame.filter(blank)[LINE].to_list()
    rows, oversized, _ = split_row_defects(frame.filter(~blank), set(spec.headers))
    part.quarantine.append(oversized)
    if key in names:  # else repair reports the missing column
        lossy = checks.lossy_keys(rows, key, names[key])
        part.quarantine.append(lossy)
        rows = rows.filter(~pl.col(LINE).is_in(lossy[LINE].implode()))
    repaired = repair_frame(rows, spec)
    part.repairs = repaired.repairs
    part.quarantine.append(repaired.quarantine)
    matched = _match_lists(con, repaired.clean, kind)
    field_ = "candidate_ref" if kind == CANDIDATES else "household_id"
    bad = [checks.listing_problems(matched, frame, names, today, key,
                                   "candidate_not_listed" if kind == CANDIDATES else "household_not_listed",
                                   CHECK_DATE),
           checks.conflicting_results(matched, frame, names, key, field_, RESULT)]
    if kind == HOUSEHOLDS:
        bad.append(checks.identity_problems(con, matched, frame, names, key))
    bad = pl.concat(bad).unique(LINE, keep="first", maintain_order=True)  # one reason is enough to hold a row
    part.quarantine.append(bad)
    part.clean = matched.filter(~pl.col(LINE).is_in(bad[LINE].implode()))
    return part


def _is_blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _listings(con: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    """Every exported listing: household_id, or candidate_ref with person_key and rule; as_of_date."""
    if kind == HOUSEHOLDS:
        return con.sql("SELECT household_id, as_of_date FROM mart.listed_households").pl()
    rows = con.execute("SELECT DISTINCT person_key, rule, as_of_date FROM mart.listed_candidates").fetchall()
    return pl.DataFrame([(candidate_ref(k, r), k, r, d) for k, r, d in rows], orient="row", schema={
        "candidate_ref": pl.String, "person_key": pl.String, "rule": pl.String, "as_of_date": pl.Date})


def _match_lists(con: duckdb.DuckDBPyConnection, clean: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Each row with the list it answers and the first list that ever showed the household or person."""
    key = "candidate_ref" if kind == CANDIDATES else "household_id"
    listings = _listings(con, kind)
    rows = clean.with_row_index("_row")
    answered = (
        rows.join(listings.select(key, "as_of_date"), on=key, how="inner")
        .filter(pl.col("as_of_date") < pl.col("check_date"))
        .group_by("_row").agg(pl.col("as_of_date").max().alias("list_as_of_date"))
    )
    first = listings.group_by(key).agg(pl.col("as_of_date").min().alias("first_listed"),
                                       *(pl.col(c).first() for c in listings.columns if c not in (key, "as_of_date")))
    return (rows.join(answered, on="_row", how="left").join(first, on=key, how="left")
            .drop("_row"))


# --------------------------------------------------------------------- recording


def _record(con: duckdb.DuckDBPyConnection, load: FeedbackLoad, actor: str, today: date) -> None:
    """Write the file's rows, quarantine, repairs and ledger row in one transaction."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN")
    try:
        if load.status == LOADED:
            for part in load.parts:
                _record_part(con, load.load_id, part, today, now)
        con.execute(
            "INSERT INTO audit.feedback_loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load.load_id, shown_name(load.file.name), shown_name(str(load.file.resolve())), load.sha256,
             load.rows_read, load.rows_loaded, load.rows_quarantined, load.rows_skipped, load.status, load.message,
             actor, now])
        con.execute("COMMIT")
    except BaseException:
        rollback(con)  # a failed COMMIT has ended the transaction: keep its error, not ROLLBACK's
        raise


def _record_part(con: duckdb.DuckDBPyConnection, load_id: str, part: Part, today: date, now: datetime) -> None:
    if part.clean.height:
        if part.kind == CANDIDATES:
            table, keys = "staging.feedback_candidates", ("candidate_ref", "person_key", "rule")
        else:
            table, keys = "staging.feedback", ("household_id",)
        rows = part.clean.select(
            pl.lit(load_id).alias("load_id"), pl.lit(part.label).alias("file_name"),
            pl.col(LINE).alias("line_number"), *keys, "result", "check_date", "note",
            "list_as_of_date", pl.lit(now).alias("loaded_at"))
        con.register("feedback_rows", rows.to_arrow())
        con.execute(f"INSERT INTO {table} SELECT * FROM feedback_rows")
        con.unregister("feedback_rows")
    insert_rows(con, "INSERT INTO audit.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        [load_id, SOURCE, today, part.label, line, column, raw, reason]
        for line, column, raw, reason in part.quarantined().sort(LINE).iter_rows()])
    insert_rows(con, "INSERT INTO audit.repairs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        [load_id, SOURCE, today, part.label, line, column, kind, raw, value]
        for line, column, raw, kind, value in part.repairs.select(
            LINE, "column_name", "raw_value", "kind", "repaired_value").iter_rows()])


def candidate_ref(person_key: str, rule: str) -> str:
    """The 发现编号 a list shows for a person and rule: a short digest of the keyed hash, never the 身份证号."""
    return "F" + hashlib.sha256(f"{person_key}|{rule}".encode()).hexdigest()[:11].upper()


def _load_id(sha: str | None) -> str:
    return f"{SOURCE}-{(sha or 'unread')[:10]}-{uuid.uuid4().hex[:6]}"


def current_user() -> str:
    """Who is recorded as acting: the OS user the process runs as (its effective uid),
    not $LOGNAME/$USER, which whoever starts the process can set to anything."""
    from pipelines.publish.access_log import os_user

    name, _ = os_user()
    return name
