"""Link: how the sources' records meet, and where they disagree.

The checks are SQL files in `warehouse/queries/checks/<source>_<kind>.sql`, each an
INSERT into `audit.conflicts` for one load (`$load_id`). Conflicts are loaded as
delivered and recorded for review, never resolved by guessing (sources.md).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.sql import QUERIES

CHECKS = QUERIES / "checks"


def checks_for(source: str) -> list[Path]:
    return sorted(CHECKS.glob(f"{source}_*.sql"))


def record_conflicts(con: duckdb.DuckDBPyConnection, load_id: str, source: str, extract_date: date) -> int:
    """Run the source's conflict checks for one load; return the rows recorded."""
    before = con.execute("SELECT count(*) FROM audit.conflicts").fetchall()[0][0]
    for check in checks_for(source):
        con.execute(check.read_text(encoding="utf-8"), {"load_id": load_id})
    return con.execute("SELECT count(*) FROM audit.conflicts").fetchall()[0][0] - before


def recheck_later_registrations(con: duckdb.DuckDBPyConnection, extract_date: date) -> int:
    """An mz or cl snapshot dated `extract_date` loaded after 人社 deliveries of that date or later
    (late, or a correction): their `unknown_person` conflicts are judged again against what is known
    now, so that the conflicts do not depend on the order deliveries arrived in. Returns the loads."""
    later = [r[0] for r in con.execute("SELECT load_id FROM audit.deliveries WHERE source = 'rs' AND status = 'loaded'"
                                       " AND extract_date >= ?", [extract_date]).fetchall()]
    check = (CHECKS / "rs_unknown_person.sql").read_text(encoding="utf-8")
    for load_id in later:
        con.execute("DELETE FROM audit.conflicts WHERE load_id = ? AND kind = 'unknown_person'", [load_id])
        con.execute(check, {"load_id": load_id})
    return len(later)
