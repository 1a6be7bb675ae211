"""Read-only SQL for officials, analysts and caseworkers (`dibao query`).

One statement, read-only, from the file of the caller's role (pipelines/publish/role_paths.py),
on a connection that cannot reach other files; every query, answered or refused, is
recorded in the access log first (pipelines/publish/access_log.py). docs/security.md says
what is refused and why.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from pipelines.config import duckdb_memory_limit

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}
PENDING_LOG = "pending_query_log"  # administrators: access-log lines not yet in audit.query_log
CONNECTION_CONFIG = {
    "enable_external_access": False,  # no files, no extensions, no secrets beyond the opened one
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "lock_configuration": True,  # no SET / PRAGMA can loosen the above
}
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?", re.IGNORECASE)


class QueryError(Exception):
    """Refused or failed query; the message is one line."""


class Refused(QueryError):
    """Not read-only, or the role's file cannot be opened."""


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"malformed SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise Refused(f"give exactly one SQL statement (got {len(statements)})")
    kind = statements[0].type.name
    if kind not in READ_ONLY_TYPES:
        raise Refused(f"only read-only statements are allowed (SELECT, WITH ... SELECT, EXPLAIN); got {kind}")
    if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs its statement: that one must be read-only too
        inner = _EXPLAIN.sub("", statements[0].query, count=1)
        try:
            inner_kind = [s.type.name for s in con.extract_statements(inner)]
        except duckdb.Error:
            inner_kind = []
        if inner_kind != ["SELECT"]:
            raise Refused("EXPLAIN is allowed for SELECT statements only")


def readable_file(warehouse: Path) -> Path:
    """The administrator's file: the published copy (never the live warehouse)."""
    from pipelines.publish.role_paths import ADMIN, role_file

    return role_file(Path(warehouse), ADMIN)


def run_query(warehouse: Path, sql: str, *, role: str | None = None,
              township: str | None = None) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement on the role's file; record it; return columns and rows."""
    from pipelines.publish.role_paths import ADMIN, RoleError, role_file

    warehouse = Path(warehouse)
    role = role or ADMIN
    try:
        path = role_file(warehouse, role, township)
    except RoleError as exc:
        raise QueryError(str(exc)) from None
    if not path.exists():
        raise QueryError(_not_published(warehouse, role, path))

    def recorded(status: str, rows: int | None = None, message: str | None = None) -> None:
        from pipelines.publish.access_log import AccessLogError, entry, record

        try:
            record(warehouse, entry(role=role, township=township, file_read=path, sql=sql, status=status,
                                    rows=rows, message=message))
        except AccessLogError as exc:
            raise QueryError(str(exc)) from None

    try:
        config = {**CONNECTION_CONFIG, "memory_limit": duckdb_memory_limit()}
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    try:
        con = duckdb.connect(str(path), read_only=True, config=config)
    except duckdb.Error as exc:
        message = f"cannot open {path}: {_first_line(exc)}"
        if "permission denied" in message.lower():
            message += f" (the {role} file is not readable by this user)"
        recorded("refused", message=message)
        raise Refused(message) from None
    try:
        try:
            check_statement(con, sql)
        except QueryError as exc:
            recorded("refused" if isinstance(exc, Refused) else "error", message=str(exc))
            raise
        if role == ADMIN and PENDING_LOG in sql.lower():
            _register_pending_log(con, warehouse)
        try:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        except duckdb.Error as exc:
            recorded("error", message=_first_line(exc))
            raise QueryError(_first_line(exc)) from None
        recorded("ok", rows=len(rows))
        return columns, rows
    finally:
        con.close()


def _not_published(warehouse: Path, role: str, path: Path) -> str:
    """Why there is nothing to read. The live file is never opened instead: during the first
    run it is half-built (empty answers) and its writer holds the lock."""
    from pipelines.publish.role_paths import CASEWORKER
    from pipelines.warehouse import query_copy_path

    if not query_copy_path(warehouse).exists():
        return (f"no warehouse published yet at {warehouse}: the first `dibao run` publishes it when it "
                f"completes")
    if role == CASEWORKER:
        return f"no caseworker copy at {path}: no such township in the published warehouse"
    return f"no warehouse published yet for role {role} ({path}): the nightly run publishes it when it completes"


def _register_pending_log(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """`pending_query_log`: access-log lines the published copy's audit.query_log lacks (today's)."""
    import polars as pl

    from pipelines.publish.access_log import FIELDS, AccessLogError, pending_entries

    try:
        entries = pending_entries(warehouse)
    except AccessLogError as exc:
        raise QueryError(str(exc)) from None
    try:
        known = {q for (q,) in con.execute("SELECT query_id FROM audit.query_log").fetchall()}
    except duckdb.Error:  # a warehouse from before the table existed
        known = set()
    rows = [e for e in entries if e["query_id"] not in known]
    schema = {k: (pl.Int64 if k in ("uid", "rows", "pid") else pl.String) for k in FIELDS}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.col("queried_at").str.to_datetime(strict=False))
    con.register(PENDING_LOG, frame.to_arrow())
