"""Building one role file: a new DuckDB file filled beside its target, protected, swapped in;
and the catalog look-ups and macros the builders share."""

from __future__ import annotations

import functools
import os
import shutil
import re
import tempfile
from pathlib import Path

import duckdb

from pipelines.config import WAREHOUSE_SQL
from pipelines.publish.role_paths import ROLE_MODE, protect, sql_string
from pipelines.warehouse import rollback

WAREHOUSE_SCHEMAS = ("raw", "staging", "restricted", "core", "mart", "audit")


def build_file(con: duckdb.DuckDBPyConnection, target: Path, build, group_env: str, township: str | None,
               block_size: int | None = None, start_from: Path | None = None) -> Path:
    """Run `build` on a new file attached and current beside `target`; protect it, then swap it in.
    A small `block_size` keeps small files small (a township's file: ~0.1 MB instead of ~1 MB empty).
    With `start_from`, the new file starts as a copy of that one (a patch of yesterday's file:
    readers of the file in place keep it until the swap, as with a new one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # DuckDB creates its own file; mkstemp only reserved a unique name
    try:
        if start_from is not None:
            shutil.copyfile(start_from, tmp)
        options = f" (BLOCK_SIZE {int(block_size)})" if block_size else ""
        alias = f"role_copy_{township or 'all'}"  # unique: township files are built side by side
        con.execute(f"ATTACH '{sql_string(tmp)}' AS {alias}{options}")
        try:
            con.execute(f"USE {alias}")
            con.execute("BEGIN")  # one commit, not one per statement
            try:
                for schema in ("core", "mart", "audit"):
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                build()
                con.execute("COMMIT")
            except BaseException:
                rollback(con)
                raise
            con.execute(f"CHECKPOINT {alias}")
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {alias}")
        protect(tmp, ROLE_MODE, group_env, township)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?"
                       " AND NOT internal ORDER BY 1, 2", [catalog]).fetchall()


def views(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ?"
                       " AND NOT internal ORDER BY 1, 2", [catalog]).fetchall()


def columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    return [c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?"
        " ORDER BY column_index", [catalog, schema, table]).fetchall()]


_MACRO = re.compile(r"CREATE\s+OR\s+REPLACE\s+MACRO\s+([a-z_]+(?:\.[a-z_]+)?)\s*\(", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(" + "|".join(WAREHOUSE_SCHEMAS) + r")\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


@functools.cache
def _macro_files(root: Path = WAREHOUSE_SQL) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(name, SQL, the warehouse objects it reads) of every macro file; read once per process."""
    found = []
    for path in sorted(root.rglob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        macro = _MACRO.search(sql)
        if macro:
            name = macro.group(1).lower()
            needs = {f"{s}.{o}".lower() for s, o in _REFERENCE.findall(re.sub(r"--[^\n]*", "", sql))} - {name}
            found.append((name, sql, frozenset(needs)))
    return tuple(found)


def macro_texts() -> list[str]:
    """Every macro file's SQL, in name order (part of a role file's layout version)."""
    return [sql for _, sql, _ in _macro_files()]


def copy_macros(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's macros whose every table exists in this file (as_of helpers and rules)."""
    macros = {name: (sql, needs) for name, sql, needs in _macro_files()}
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()}
    made: set[str] = set()
    progress = True
    while progress:
        progress = False
        for name, (sql, needs) in macros.items():
            if name in made:
                continue
            if needs <= present | made:
                con.execute(sql)
                made.add(name)
                progress = True
    return sorted(made)
