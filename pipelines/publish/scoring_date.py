"""The scoring date the lists and the report are of: the latest date in mart.risk_list."""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.catalog import table_exists


def latest_scoring_date(con: duckdb.DuckDBPyConnection, *, else_snapshot: bool = False) -> date | None:
    """The latest risk scores' date; with `else_snapshot`, before any scoring, the latest mz snapshot's."""
    if table_exists(con, "mart.risk_list"):
        found = con.execute("SELECT max(as_of_date) FROM mart.risk_list").fetchall()[0][0]
        if found:
            return found
    if else_snapshot and table_exists(con, "core.snapshots"):
        return con.execute("SELECT max(extract_date) FROM core.snapshots WHERE source = 'mz'").fetchall()[0][0]
    return None


def is_scoring_date(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """Whether mart.risk_list holds scores of `as_of`."""
    return table_exists(con, "mart.risk_list") and bool(
        con.execute("SELECT 1 FROM mart.risk_list WHERE as_of_date = ? LIMIT 1", [as_of]).fetchall())
