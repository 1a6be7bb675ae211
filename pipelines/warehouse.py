"""The DuckDB warehouse: connections and the migration runner.

SQL lives in `warehouse/<NN_layer>/<object>.sql`, one object per file. Layers are
applied in folder order (schemas, audit, raw, staging, core, mart), files in name
order. Every file is idempotent (`CREATE ... IF NOT EXISTS`, `CREATE OR REPLACE
VIEW`); the runner applies a file when it is new or its text changed, and records
what it applied in `audit.schema_migrations`.

Only layers numbered below 40 are migrations (stateful DDL). Layers 40 and up
(`40_core`, `50_mart`) are models: `build_models` rebuilds every object of a layer
from the layers below it, each night, in one transaction, and records each build
in `audit.model_runs`.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.config import WAREHOUSE_SQL, duckdb_memory_limit
from pipelines.sql import query


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


# Layers numbered from here on are models rebuilt by build_models, not migrations.
FIRST_MODEL_LAYER = 40


def migrations(root: Path = WAREHOUSE_SQL) -> list[Migration]:
    layers = sorted(
        p for p in root.iterdir()
        if p.is_dir() and p.name[:2].isdigit() and int(p.name[:2]) < FIRST_MODEL_LAYER
    )
    return [Migration(f, f.read_text(encoding="utf-8")) for layer in layers for f in sorted(layer.glob("*.sql"))]


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if there is one.

    A COMMIT that failed (disk full, permission denied on the WAL) has already
    ended the transaction; the ROLLBACK's own error ("no transaction is
    active") must not replace the error that says what went wrong.
    """
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


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
            rollback(con)
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
        limit = duckdb_memory_limit()
    except ValueError as exc:
        raise WarehouseError(str(exc)) from None
    try:
        con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": limit})
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


# `INSERT INTO schema.table VALUES (?, ..., ?)`: the statements insert_rows can bulk-insert.
_INSERT_VALUES_RE = re.compile(r"\s*INSERT INTO ([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*) VALUES \(\?(?:\s*,\s*\?)*\)\s*",
                               re.IGNORECASE)
# Below this many rows executemany is as fast as building a frame.
BULK_INSERT_FROM = 200


def insert_rows(con: duckdb.DuckDBPyConnection, sql: str, rows: list[list]) -> None:
    """executemany that accepts an empty batch (DuckDB refuses one).

    executemany runs one statement per row (about a millisecond each); a large
    batch for a plain `INSERT INTO schema.table VALUES (?, ...)` is instead
    inserted in one statement from a frame, each column cast to the table's type,
    which is what binding the parameter one row at a time does too. Anything the
    frame cannot hold as given (mixed types in a column) takes the row-by-row route.
    """
    if not rows:
        return
    m = _INSERT_VALUES_RE.fullmatch(sql)
    if m is None or len(rows) < BULK_INSERT_FROM or not _insert_frame(con, m.group(1), m.group(2), rows):
        con.executemany(sql, rows)


def _insert_frame(con: duckdb.DuckDBPyConnection, schema: str, table: str, rows: list[list]) -> bool:
    import polars as pl

    types = [t for (t,) in con.execute(
        "SELECT data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table]).fetchall()]
    if not types or any(len(r) != len(types) for r in rows):
        return False
    names = [f"c{i}" for i in range(len(types))]
    try:
        frame = pl.DataFrame(rows, schema=names, orient="row", strict=True, infer_schema_length=None)
    except Exception:  # noqa: BLE001 - mixed types in a column: executemany binds them one by one
        return False
    view = f"_insert_rows_{uuid.uuid4().hex[:12]}"
    con.register(view, frame)
    try:
        casts = ", ".join(f'CAST("{n}" AS {t})' for n, t in zip(names, types))
        con.execute(f"INSERT INTO {schema}.{table} SELECT {casts} FROM {view}")
    finally:
        con.unregister(view)
    return True


# --- Models: layers 40 and up, rebuilt each night --------------------------------

# `schema.object` references in model SQL; used to build a model after the models
# of its own layer it reads from.
_REFERENCE_RE = re.compile(r"\b([a-z]+)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_COMMENT_RE = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Model:
    """One model file: `warehouse/40_core/core_persons.sql` builds `core.persons`."""

    path: Path
    sql: str

    @property
    def name(self) -> str:
        schema, _, obj = self.path.stem.partition("_")
        return f"{schema}.{obj}"

    def reads(self) -> set[str]:
        code = _COMMENT_RE.sub("", self.sql)
        return {f"{s}.{o}".lower() for s, o in _REFERENCE_RE.findall(code)}


def models(layer_folder: str | Path, root: Path = WAREHOUSE_SQL) -> list[Model]:
    """The layer's models in build order: file name order, except that a model is
    built after the models of the same layer that it reads from."""
    folder = Path(layer_folder) if Path(layer_folder).is_absolute() else root / layer_folder
    if not folder.is_dir():
        raise WarehouseError(f"no model layer {folder}")
    pending = [Model(f, f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.sql"))]
    names = {m.name for m in pending}
    needs = {m.name: (m.reads() & names) - {m.name} for m in pending}
    ordered: list[Model] = []
    built: set[str] = set()
    while pending:
        ready = next((m for m in pending if needs[m.name] <= built), None)
        if ready is None:
            cycle = ", ".join(m.name for m in pending)
            raise WarehouseError(f"models in {folder.name} read each other in a cycle: {cycle}")
        ordered.append(ready)
        built.add(ready.name)
        pending.remove(ready)
    return ordered


def record_model_run(con: duckdb.DuckDBPyConnection, run: dict) -> None:
    con.execute(
        "INSERT INTO audit.model_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [run["run_id"], run["layer"], run["name"], run["kind"], run["rows"], run["seconds"],
         run.get("status", "built"), run.get("message")],
    )


def object_kind(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """'table', 'view' or 'macro' for a schema-qualified name; None when it does not exist."""
    schema, obj = name.split(".", 1)
    found = con.execute(query("warehouse/object_kind"), {"s": schema, "o": obj}).fetchall()
    return found[0][0] if found else None


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether `schema.name` is a table or a view (readers of a half-built warehouse ask first)."""
    return object_kind(con, name) in ("table", "view")


def build_models(con: duckdb.DuckDBPyConnection, layer_folder: str | Path, root: Path = WAREHOUSE_SQL,
                 check: Callable[[duckdb.DuckDBPyConnection], list[str]] | None = None) -> list[dict]:
    """Rebuild every model of one layer in one transaction; return what was built.

    Each file is one `CREATE OR REPLACE TABLE|VIEW|MACRO <schema>.<object>` named
    after the file. `check`, if given, runs on the built layer before it commits
    and returns problems; any problem, or a failing model, rolls the whole layer
    back (the previous build stays), is recorded as `failed` in `audit.model_runs`
    and raises WarehouseError.
    """
    layer = Path(layer_folder).name
    run_id = f"{layer}-{uuid.uuid4().hex[:12]}"
    runs: list[dict] = []
    step, started = layer, time.perf_counter()
    con.execute("BEGIN")
    try:
        for model in models(layer_folder, root):
            step, started = model.name, time.perf_counter()
            con.execute(model.sql)
            kind = object_kind(con, model.name)
            if kind is None:
                raise WarehouseError(f"{model.path.name} did not create {model.name}")
            rows = con.execute(f"SELECT count(*) FROM {model.name}").fetchall()[0][0] if kind == "table" else None
            run = {"run_id": run_id, "layer": layer, "name": model.name, "kind": kind, "rows": rows,
                   "seconds": round(time.perf_counter() - started, 3)}
            record_model_run(con, run)
            runs.append(run)
        step, started = f"{layer} check", time.perf_counter()
        problems = check(con) if check else []
        if problems:
            raise WarehouseError("; ".join(problems))
        con.execute("COMMIT")
    except (duckdb.Error, WarehouseError) as exc:
        rollback(con)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        try:
            record_model_run(con, {"run_id": run_id, "layer": layer, "name": step, "kind": "unknown",
                                   "rows": None, "seconds": round(time.perf_counter() - started, 3),
                                   "status": "failed", "message": message})
        except duckdb.Error:  # a full disk refuses the record too; the error below still says why
            pass
        raise WarehouseError(f"{step} failed: {message}") from exc
    except BaseException:  # interrupted: leave no transaction open
        rollback(con)
        raise
    return runs


# --- The copy readers query ---------------------------------------------------------

def query_copy_path(path: Path) -> Path:
    """Where `dibao query` reads: a copy published after each run.

    DuckDB allows one writer or many readers per file, never both: an official's
    query on the live file would block the nightly run (and fail while it writes).
    Readers use this copy instead; the run replaces it atomically when done, so
    a reader sees either the previous night's warehouse or the new one.
    """
    path = Path(path)
    return path.with_name(path.name + ".query")


def publish_query_copy(path: Path) -> Path:
    """Copy the closed warehouse file next to itself and swap it in atomically."""
    import glob
    import os
    import shutil

    path = Path(path)
    target = query_copy_path(path)
    # A run killed while copying leaves its temporary copy (as big as the warehouse) behind;
    # the writer is alone (max_active_runs=1), so any such file is stale.
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
