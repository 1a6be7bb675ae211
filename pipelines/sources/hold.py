"""Held deliveries: folders whose date cannot be a real extract date yet.

A folder dated after today (the run's clock, `config.today()`), far before its
source's history, or far after it with no other delivery near it is almost always a
mistyped name (`mz/2030-01-31`, `mz/2026-01-31` among 2024's). Loaded, it
would become the latest snapshot and freeze scoring on a date that never comes.
Such a folder is *held*: nothing of it is staged or loaded, `audit.deliveries` records
it as `held` and `audit.load_ledger` as `pending` (never `loaded`), one alert is
raised, and every later night looks at it again: once the clock reaches its date,
or the operator renames the folder, it loads like any other delivery.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta, timezone

import duckdb

from pipelines import config
from pipelines.sources.landing import Delivery

log = logging.getLogger(__name__)

HELD = "held"
# The ledger speaks the contract's words (outputs.md: a folder not attempted has no row or
# status `pending`): a hold is `pending` there, until the folder is attempted.
PENDING = "pending"


def hold_reason(d: Delivery, today: date, span: tuple[date, date] | None, pending: list[date]) -> str | None:
    """Why `d` is held, or None. `span`: the source's history (earliest, latest loaded; on its
    first night, `first_night_span`); `pending`: the source's complete folders found tonight."""
    if d.extract_date > today:
        return f"{d.rel} is dated after today ({today}): held until that date or until the folder is renamed"
    if span is None:
        return None
    limit, (start, end) = config.HOLD_BEFORE_HISTORY_DAYS, span
    if d.extract_date < start - timedelta(days=limit):
        return (f"{d.rel} is dated more than {limit} days before the {d.source} history (from {start}):"
                " held until the folder is renamed")
    ahead = [p for p in pending if end + timedelta(days=limit) < p <= today]
    if d.extract_date in ahead and len(next(c for c in runs(ahead, limit) if d.extract_date in c)) < 2:
        return (f"{d.rel} is dated more than {limit} days after the {d.source} history (to {end}) and no"
                " delivery near it confirms it: held until the folder is renamed or the next one arrives")
    return None


def runs(dates: list[date], limit: int) -> list[list[date]]:
    """The dates in runs with no gap longer than `limit` days, in date order."""
    out: list[list[date]] = []
    for d in sorted(set(dates)):
        if out and (d - out[-1][-1]).days <= limit:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def first_night_span(dates: list[date], today: date, limit: int) -> tuple[date, date] | None:
    """A source's first history: of the runs of dates on or before `today` with no gap longer
    than `limit` days, the one of most deliveries, the earliest of equals. A stray folder, old
    or mistyped years ahead (`mz/2026-01-31` among 2024's), stands apart and cannot become the
    history the others are judged by, while years of backlog delivered at once are one run.
    Of equals the earliest, because that choice mends itself: a folder ahead of it is held only
    until the next delivery near it confirms the jump, while one before a later history is held
    until renamed, and so would every real delivery after it be."""
    found = runs([d for d in dates if d <= today], limit)
    if not found:
        return None
    best = max(found, key=lambda r: (len(r), -r[0].toordinal()))
    return best[0], best[-1]


def history_spans(con: duckdb.DuckDBPyConnection, found: list[Delivery], today: date) -> dict[str, tuple]:
    """Per source, the earliest and latest loaded delivery; on its first night, `first_night_span`."""
    spans = {s: (a, b) for s, a, b in con.execute(
        "SELECT source, min(extract_date), max(extract_date) FROM audit.deliveries WHERE status = 'loaded'"
        " GROUP BY source").fetchall()}
    for source in {d.source for d in found} - set(spans):
        span = first_night_span([d.extract_date for d in found if d.source == source], today,
                                config.HOLD_BEFORE_HISTORY_DAYS)
        if span is not None:
            spans[source] = span
    return spans


def forget_vanished(con: duckdb.DuckDBPyConnection, found: list[Delivery]) -> None:
    """A held folder no longer in the landing folder (renamed, or taken away) is pending no more:
    its ledger rows go; audit.deliveries keeps the hold."""
    con.execute("DELETE FROM audit.load_ledger WHERE status = 'pending' AND load_id IN (SELECT load_id"
                " FROM audit.deliveries WHERE status = 'held' AND NOT list_contains(?, folder))",
                [[d.rel for d in found]])


def hold_implausible(con: duckdb.DuckDBPyConnection, found: list[Delivery]) -> tuple[list[Delivery], list[str]]:
    """Split off the deliveries to hold; record each (once per content) and alert."""
    from pipelines.runtime.alerts import send

    today = config.today()
    spans = history_spans(con, found, today)
    kept, messages = [], []
    for d in found:
        pending = [f.extract_date for f in found if f.source == d.source]
        reason = hold_reason(d, today, spans.get(d.source), pending)
        if reason is None:
            kept.append(d)
            continue
        messages.append(reason)
        if _record(con, d, reason):
            send("warning", "delivery_held", reason)
        log.warning("%s", reason)
    return kept, messages


def _record(con: duckdb.DuckDBPyConnection, d: Delivery, reason: str) -> bool:
    """Record the hold; False when this very content was held before (no second alert)."""
    load_id = f"{d.source}-{d.extract_date:%Y%m%d}-{d.content_sha256[:10]}-{d.ready_sha256[:6]}-held"
    if con.execute("SELECT count(*) FROM audit.deliveries WHERE load_id = ?", [load_id]).fetchall()[0][0]:
        return False
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN")
    try:
        con.execute("INSERT INTO audit.deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                    [load_id, d.source, d.extract_date, d.rel, d.content_sha256, d.ready_sha256, HELD, reason, now])
        for name, sha in sorted(d.files.items()):
            con.execute("INSERT INTO audit.load_ledger VALUES (?, ?, ?, ?, 0, 0, 0, ?, ?, ?, NULL, 0, ?)",
                        [load_id, d.source, d.extract_date, name, PENDING, now, sha, reason])
        con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', 'delivery_held', ?, ?, ?)",
                    [now, d.source, d.extract_date, reason[:2000]])
        con.execute("COMMIT")
    except BaseException:
        from pipelines.warehouse import rollback

        rollback(con)
        raise
    return True


def alert_misnamed(con: duckdb.DuckDBPyConnection, rels: list[str]) -> list[str]:
    """One `delivery_misnamed` alert per folder (`landing.misnamed_deliveries`), recorded in
    audit.alerts; a folder alerted before is not alerted again. Returns the messages."""
    messages = []
    for rel in rels:
        source, _, name = rel.partition("/")
        message = (f"{rel}: holds _READY but is not named YYYY-MM-DD{_meant(name)}: not loaded until the folder "
                   "is renamed to its extract date")
        messages.append(message)
        _alert_once(con, "delivery_misnamed", source, message)
    return messages


def alert_refused(con: duckdb.DuckDBPyConnection, notes: list[str]) -> None:
    """One `delivery_refused` alert per folder discovery will not read (`landing.refused`: no
    permission, a symbolic link, a _READY that is not a file), once while the note stays the same."""
    for note in notes:
        _alert_once(con, "delivery_refused", note.split("/")[0].split(":")[0], note)


def _alert_once(con: duckdb.DuckDBPyConnection, kind: str, source: str, message: str) -> None:
    from pipelines.runtime.alerts import send

    log.warning("%s", message)
    if con.execute("SELECT count(*) FROM audit.alerts WHERE kind = ? AND message = ?",
                   [kind, message[:2000]]).fetchall()[0][0]:
        return
    con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', ?, ?, NULL, ?)",
                [datetime.now(timezone.utc).replace(tzinfo=None), kind, source, message[:2000]])
    send("warning", kind, message)


def _meant(name: str) -> str:
    """`（2024-03-31?）` when the name reads as one real date with its zeros or dashes missing."""
    parts = re.fullmatch(r"(\d{4})[-_./]?(\d{1,2})[-_./]?(\d{1,2})", name.strip())
    if parts is None:
        return ""
    try:
        meant = date(*map(int, parts.groups()))
    except ValueError:
        return ""
    return f" (perhaps {meant.isoformat()}?)"
