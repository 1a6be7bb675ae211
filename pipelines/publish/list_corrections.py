"""Re-issuing lists a same-date correction made wrong (更正).

The nightly run writes a scoring date's township lists once. When a correction of a
delivery up to that date is loaded after the lists went out (audit.corrected_rows,
pipelines.load.corrections), the townships whose list now reads differently — a household
whose row was corrected, or whose score, level or reasons moved, one listed or no
longer listed, a candidate added or gone — get their list again: the same path, each
changed row's 变化 marked 更正, `audit.list_exports.correction` true, and one alert per
township so its caseworkers know the file they hold is superseded.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb

CORRECTED = "更正"


def marked(marker: str) -> str:
    return f"{CORRECTED}（{marker}）"


def changed_townships(con: duckdb.DuckDBPyConnection, as_of: date, corrected: set[str],
                      households: list[dict], candidates: list[dict]) -> set[tuple[str, str]]:
    """The (county, township) lists that differ from the last export; marks changed rows."""
    before = {h: (c, t, lvl, round(s, 6), tuple(r or ())) for h, c, t, lvl, s, r in con.execute(
        "SELECT household_id, county_code, township_code, risk_level, risk_score, reasons"
        " FROM mart.listed_households WHERE as_of_date = ?", [as_of]).fetchall()}
    affected: set[tuple[str, str]] = set()
    for row in households:
        key = (row["county_code"], row["township_code"])
        now = (*key, row["risk_level"], round(row["risk_score"], 6), tuple(row["reasons"] or ()))
        if row["household_id"] in corrected or before.get(row["household_id"]) != now:
            row["marker"] = marked(row["marker"])
            affected.add(key)
    listed = {row["household_id"] for row in households}
    affected |= {(c, t) for h, (c, t, *_) in before.items() if h not in listed}
    old_candidates = set(con.execute(
        "SELECT county_code, township_code, person_key, rule FROM mart.listed_candidates WHERE as_of_date = ?",
        [as_of]).fetchall())
    new_candidates = {(r["county_code"], r["township_code"], r["person_key"], r["rule"]) for r in candidates}
    affected |= {(c, t) for c, t, *_ in old_candidates ^ new_candidates}
    return affected


def alert_townships(con: duckdb.DuckDBPyConnection, as_of: date, files: list[dict]) -> None:
    """One alert per re-issued township list (the township's code, never a person)."""
    from pipelines.runtime.alerts import send

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for f in files:
        message = (f"{f['township_code']}: risk list of {as_of} re-issued with {CORRECTED} after a correction;"
                   f" the earlier file is superseded ({f['csv']})")
        send("warning", "list_corrected", message)
        con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', 'list_corrected', 'mz', ?, ?)",
                    [now, as_of, message])
