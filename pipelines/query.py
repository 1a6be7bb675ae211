"""Read-only SQL for officials and analysts (`dibao query`).

One statement, read-only: the warehouse is opened read-only, only SELECT-like
statements are accepted, and the connection cannot reach files outside the
warehouse (no read_csv('/etc/...'), no ATTACH, no COPY).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


class QueryError(Exception):
    """Refused or failed query; the message is one line."""


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"malformed SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"give exactly one SQL statement (got {len(statements)})")
    kind = statements[0].type.name
    if kind not in READ_ONLY_TYPES:
        raise QueryError(f"only read-only statements are allowed (SELECT, WITH ... SELECT, EXPLAIN); got {kind}")


def readable_file(warehouse: Path) -> Path:
    """The published copy when there is one (never blocks the nightly run), else the file itself."""
    from pipelines.warehouse import query_copy_path

    copy = query_copy_path(warehouse)
    return copy if copy.is_file() else warehouse


def run_query(warehouse: Path, sql: str) -> tuple[list[str], list[tuple]]:
    if not Path(warehouse).is_file():
        raise QueryError(f"no warehouse at {warehouse}: run `dibao run` first")
    warehouse = readable_file(Path(warehouse))
    try:
        con = duckdb.connect(str(warehouse), read_only=True, config={"enable_external_access": False})
    except duckdb.Error as exc:
        raise QueryError(f"cannot open {warehouse}: {_first_line(exc)}") from None
    try:
        check_statement(con, sql)
        try:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description or []]
            return columns, cur.fetchall()
        except duckdb.Error as exc:
            raise QueryError(_first_line(exc)) from None
    finally:
        con.close()
