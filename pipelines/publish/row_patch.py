"""Bringing a table of a role file to what a selection holds by writing only the rows that differ.

A table the night changed in part (a new month of history, a few intervals closed) is patched:
the rows it holds that the selection does not are deleted, the rows the selection holds that
it does not are inserted. The result is the same multiset of rows as the table built whole
(duplicates counted; NULLs equal). Rows are told apart by two 64-bit hashes of the whole row,
the trust publishing already puts in its table hashes (published.rows_hash). Inserted rows
are staged in PATCH_SCHEMA first, so the identity scan reads only them before they join the
table (`finish`).
"""

from __future__ import annotations

import duckdb

from pipelines.sql import query

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
    # Rows compared by two independent 64-bit hashes of the whole row, as publishing compares
    # tables (published.rows_hash): one pass over each side, no join on every column.
    cols = ", ".join(_q(c) for c, _ in new_cols)
    key = f"hash({cols}) AS __h1, hash({cols}, 1) AS __h2"
    try:
        con.execute(query("publish/row_patch_keys", key=key, target=target, selection=select))
        (gone, added), = con.execute("SELECT coalesce(sum(old_n), 0), coalesce(sum(new_n), 0)"
                                     " FROM temp.patch_keys").fetchall()
        (rows,), = con.execute(f"SELECT count(*) FROM {target}").fetchall()
        if gone + added > TABLE_SHARE * max(rows, 1):
            return None
        staged = f"{PATCH_SCHEMA}.{schema}__{table}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {PATCH_SCHEMA}")
        con.execute(query("publish/row_patch_added", staged=f"{_q(PATCH_SCHEMA)}.{_q(f'{schema}__{table}')}",
                          key=key, selection=select))
        if gone:
            con.execute(f"DELETE FROM {target} USING temp.patch_keys k WHERE k.old_n > 0"
                        f" AND hash({cols}) = k.__h1 AND hash({cols}, 1) = k.__h2")
        return staged
    finally:
        con.execute("DROP TABLE IF EXISTS temp.patch_keys")


def finish(con: duckdb.DuckDBPyConnection, staged: dict[str, str]) -> None:
    """Insert each staged table's rows (already scanned) into its table; drop the staging schema."""
    for target, rows in staged.items():
        schema, table = target.split(".", 1)
        patch_schema, patch_table_name = rows.split(".", 1)
        con.execute(f"INSERT INTO {_q(schema)}.{_q(table)} SELECT * FROM {_q(patch_schema)}.{_q(patch_table_name)}")
        con.execute(f"DROP TABLE {_q(patch_schema)}.{_q(patch_table_name)}")
    con.execute(f"DROP SCHEMA IF EXISTS {PATCH_SCHEMA}")
