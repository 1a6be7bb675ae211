"""Named queries: SQL that Python runs, kept as files under `warehouse/queries/`.

`query("publish/list_rows")` returns the text of `warehouse/queries/publish/list_rows.sql`.
Values are passed as parameters (`?` or `$name`), never formatted in. A query that needs
an identifier chosen at run time (a schema or table name from a fixed list) marks it
`{name}` and the caller passes it: `query("load/count_rows", table="raw.mz_households")`.
"""

from __future__ import annotations

from functools import cache

from pipelines.config import WAREHOUSE_SQL

QUERIES = WAREHOUSE_SQL / "queries"


@cache
def _text(name: str) -> str:
    path = QUERIES / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no named query {name!r} (expected {path})")
    return path.read_text(encoding="utf-8").strip().rstrip(";")


def query(name: str, **identifiers: str) -> str:
    """The named query's text, with `{identifier}` placeholders filled in."""
    text = _text(name)
    return text.format(**identifiers) if identifiers else text
