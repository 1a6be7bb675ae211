"""Re-issuing lists that what loaded after them made wrong (更正).

The nightly run writes a scoring date's township lists once. When a delivery up to that
date loads after they went out (a correction, audit.corrected_rows and
pipelines.load.corrections; a late month; one re-sent after a rejection), the townships
whose list now reads differently (a household whose row was corrected, or whose score,
level or reasons moved, one listed or no longer listed, a candidate added or gone) get
their list again: the same path, each changed row's 变化 marked 更正,
`audit.list_exports.correction` true, and one alert per township so its caseworkers
know the file they hold is superseded.
"""

from __future__ import annotations

from datetime import date

import duckdb

CORRECTED = "更正"
KIND = "list_corrected"


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


def reissue_alerts(as_of: date, files: list[dict]) -> list[tuple[str, date, str]]:
    """One `list_corrected` alert per re-issued township list (the township's code, never a
    person): (kind, date, message), recorded with the export and sent after it."""
    return [(KIND, as_of, f"{f['township_code']}: risk list of {as_of} re-issued with {CORRECTED} after a "
                          f"correction or a late delivery; the earlier file is superseded ({f['csv']})")
            for f in files]


def send_alerts(alerts: list[tuple[str, date, str]]) -> None:
    from pipelines.runtime.alerts import send

    for kind, _, message in alerts:
        send("warning", kind, message)
