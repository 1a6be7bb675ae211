"""A warning when the scoring date has passed the last dated standard (issue 19).

The 低保 and 特困 standards change every year (parameters/*.yaml). When the
bureau has not added this year's values, `core.parameter_on` keeps the last
ones in force for ever: every income is measured against an old line and
nobody is told. After the marts are built, each standard whose latest dated
value took effect 12 months or more before the scoring date
(warehouse/queries/policy/outdated_standards.sql) raises a `standard_outdated` warning:
the alert log (and webhook), `audit.alerts` once per scoring date and message,
and the run summary every run.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from pipelines.sql import query

KIND = "standard_outdated"


def outdated_standards(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(query("policy/outdated_standards")).fetchall()
    return [f"{parameter}{' ' + area if area else ''}: the value in force ({amount:g}, from {last}) is 12 months "
            f"or more older than the scoring date {scoring}; it is carried forward: add this year's value to "
            f"parameters/{parameter}.yaml" for parameter, area, last, amount, scoring in rows]


def warn_outdated_standards(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Raise each warning once per scoring date; return them all (for the run summary)."""
    from pipelines.runtime.alerts import send

    messages = outdated_standards(con)
    for message in messages:
        seen = con.execute("SELECT count(*) FROM audit.alerts WHERE kind = ? AND message = ?",
                           [KIND, message]).fetchall()[0][0]
        if seen:
            continue
        send("warning", KIND, message)
        con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', ?, NULL, NULL, ?)",
                    [datetime.now(timezone.utc).replace(tzinfo=None), KIND, message])
    return messages
