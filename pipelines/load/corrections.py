"""Same-date corrections: what a correction changed, and when the warehouse learnt it.

A correction (a folder loaded before, delivered again with other content) replaces
the earlier rows of its extract date. The extract date says what the agency's data
was *as of*; the day the corrected value reached the warehouse is later, and history
that dates knowledge (core.income_checks.first_seen) and the lists already handed out
must use that day. For 民政 households the changed rows are recorded in
audit.corrected_rows (SQL in warehouse/queries/corrections/), inside the load's transaction.
"""

from __future__ import annotations

import duckdb

from pipelines import config
from pipelines.sql import query
from pipelines.sources.landing import Delivery



def keep_superseded_rows(con: duckdb.DuckDBPyConnection, d: Delivery) -> list[str]:
    """Before a correction supersedes it: copy the earlier mz households rows aside."""
    if d.source != "mz":
        return []
    old = [r[0] for r in con.execute(
        "SELECT load_id FROM audit.deliveries WHERE source = ? AND extract_date = ? AND status = 'loaded'",
        [d.source, d.extract_date]).fetchall()]
    if old:
        con.execute("CREATE OR REPLACE TEMP TABLE corrected_before AS"
                    " SELECT * FROM staging.mz_households WHERE list_contains(?, load_id)", [old])
    return old


def record_corrections(con: duckdb.DuckDBPyConnection, load_id: str, d: Delivery, superseded: list[str]) -> int:
    """After the correction's rows are in: record each household whose row changed."""
    if not superseded:
        return 0
    before = con.execute("SELECT count(*) FROM audit.corrected_rows").fetchall()[0][0]
    con.execute(query("corrections/mz_households_changed"), {
        "load_id": load_id, "superseded": superseded[0], "extract_date": d.extract_date,
        "received_on": config.today()})
    con.execute("DROP TABLE corrected_before")
    return con.execute("SELECT count(*) FROM audit.corrected_rows").fetchall()[0][0] - before


def corrected_since_export(con: duckdb.DuckDBPyConnection, as_of) -> set[str]:
    """Households a correction changed after the list of `as_of` was last exported."""
    sql = query("corrections/corrections_since_export")
    return {h for (h,) in con.execute(sql, {"as_of": as_of}).fetchall()}
