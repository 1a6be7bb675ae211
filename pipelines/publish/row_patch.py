"""Bringing a table of a role file to what a selection holds by writing only the rows that differ.

A table the night changed in part (a new month of history, a few intervals closed) is patched:
the rows it holds that the selection does not are deleted, the rows the selection holds that
it does not are inserted. The result is the same multiset of rows as the table built whole
(duplicates counted; NULLs equal, as in EXCEPT ALL). Inserted rows are staged in PATCH_SCHEMA
first, so the identity scan reads only them before they join the table (`finish`).
"""

from __future__ import annotations

import duckdb

PATCH_SCHEMA = "role_patch"  # no warehouse schema has this name
# More of a table's rows differ than this and it is written whole: about as fast, and simpler.
TABLE_SHARE = 0.5


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def patch_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, select: str) -> str | None:
    """Delete from `schema.table` (current database) the rows `select` no longer holds and stage
    in PATCH_SCHEMA the rows to insert; their staged table's `schema.name`, or None when the
    table must be written whole instead (other columns or types, or most rows differ)."""
    target = f"{_q(schema)}.{_q(table)}"
    new_cols = [(c, t) for c, t, *_ in con.execute(f"DESCRIBE {select}").fetchall()]
    old_cols = [(c, t) for c, t, *_ in con.execute(f"DESCRIBE {target}").fetchall()]
    if new_cols != old_cols:
        return None
    match = " AND ".join(f"g.{_q(c)} IS NOT DISTINCT FROM x.{_q(c)}" for c, _ in new_cols)
    in_gone = f"EXISTS (SELECT 1 FROM temp.patch_gone g WHERE {match})"
    try:
        # Distinct values of the rows to delete: every row with such a value goes, and the
        # selection's rows with it come back, so duplicates end up counted as the selection has them.
        con.execute(f"CREATE TEMP TABLE patch_gone AS SELECT DISTINCT * FROM"
                    f" (SELECT * FROM {target} EXCEPT ALL SELECT * FROM ({select}))")
        con.execute(f"CREATE TEMP TABLE patch_added AS SELECT * FROM ({select}) EXCEPT ALL SELECT * FROM {target}")
        (gone, added, rows), = con.execute(f"SELECT (SELECT count(*) FROM temp.patch_gone),"
                                           f" (SELECT count(*) FROM temp.patch_added),"
                                           f" (SELECT count(*) FROM {target})").fetchall()
        if gone + added > TABLE_SHARE * max(rows, 1):
            return None
        staged = f"{PATCH_SCHEMA}.{schema}__{table}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {PATCH_SCHEMA}")
        con.execute(f"CREATE TABLE {_q(PATCH_SCHEMA)}.{_q(f'{schema}__{table}')} AS"
                    f" SELECT * FROM temp.patch_added x WHERE NOT ({in_gone})"
                    f" UNION ALL SELECT * FROM ({select}) x WHERE {in_gone}")
        if gone:
            con.execute(f"DELETE FROM {target} x WHERE {in_gone}")
        return staged
    finally:
        con.execute("DROP TABLE IF EXISTS temp.patch_gone")
        con.execute("DROP TABLE IF EXISTS temp.patch_added")


def finish(con: duckdb.DuckDBPyConnection, staged: dict[str, str]) -> None:
    """Insert each staged table's rows (already scanned) into its table; drop the staging schema."""
    for target, rows in staged.items():
        schema, table = target.split(".", 1)
        patch_schema, patch_table_name = rows.split(".", 1)
        con.execute(f"INSERT INTO {_q(schema)}.{_q(table)} SELECT * FROM {_q(patch_schema)}.{_q(patch_table_name)}")
        con.execute(f"DROP TABLE {_q(patch_schema)}.{_q(patch_table_name)}")
    con.execute(f"DROP SCHEMA IF EXISTS {PATCH_SCHEMA}")
