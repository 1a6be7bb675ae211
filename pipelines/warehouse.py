"""The DuckDB warehouse: connections and the migration runner.

SQL lives in `warehouse/<NN_layer>/<object>.sql`, one object per file. Layers are
applied in folder order (schemas, audit, raw, staging, core, mart), files in name
order. Every file is idempotent (`CREATE ... IF NOT EXISTS`, `CREATE OR REPLACE
VIEW`); the runner applies a file when it is new or its text changed, and records
what it applied in `audit.schema_migrations`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.config import WAREHOUSE_SQL


class WarehouseError(Exception):
    """The warehouse file cannot be opened or migrated; the message is one line."""


@dataclass(frozen=True)
class Migration:
    path: Path
    sql: str

    @property
    def name(self) -> str:
        return self.path.relative_to(self.path.parent.parent).as_posix()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(root: Path = WAREHOUSE_SQL) -> list[Migration]:
    layers = sorted(p for p in root.iterdir() if p.is_dir() and p.name[:2].isdigit())
    return [Migration(f, f.read_text(encoding="utf-8")) for layer in layers for f in sorted(layer.glob("*.sql"))]


def migrate(con: duckdb.DuckDBPyConnection, root: Path = WAREHOUSE_SQL) -> list[str]:
    """Apply new or changed migration files; return the names applied."""
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(
        "CREATE TABLE IF NOT EXISTS audit.schema_migrations ("
        " name VARCHAR PRIMARY KEY, checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = dict(con.execute("SELECT name, checksum FROM audit.schema_migrations").fetchall())
    applied = []
    for m in migrations(root):
        if done.get(m.name) == m.checksum:
            continue
        con.execute("BEGIN")
        try:
            con.execute(m.sql)
            con.execute(
                "INSERT OR REPLACE INTO audit.schema_migrations VALUES (?, ?, current_timestamp)",
                [m.name, m.checksum],
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {m.name} failed: {exc}".splitlines()[0]) from exc
        applied.append(m.name)
    return applied


def open_warehouse(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file; a writer also brings the schema up to date."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"no warehouse at {path}: run `dibao run` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}") from exc
    if not read_only:
        migrate(con)
    return con


@contextmanager
def warehouse(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_warehouse(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
