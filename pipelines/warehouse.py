"""The DuckDB warehouse: connections, the migration runner and the model builder.

`warehouse/<schema>/` holds one SQL file per object; `warehouse/lifecycle.toml` says
which files are migrations (applied once, in order) and which are models (rebuilt
each night, layer by layer). docs/warehouse.md explains the layout and the lifecycle.
"""

from __future__ import annotations

import hashlib
import re
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.catalog import Catalog
from pipelines.config import WAREHOUSE_SQL, duckdb_memory_limit
from pipelines.sql import query


class WarehouseError(Exception):
    """The warehouse file cannot be opened or migrated; the message is one line."""


@dataclass(frozen=True)
class Migration:
    path: Path
    sql: str
    name: str  # the path under warehouse/, as recorded in audit.schema_migrations

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


LIFECYCLE = "lifecycle.toml"


def lifecycle(root: Path = WAREHOUSE_SQL) -> dict:
    """`warehouse/lifecycle.toml`: migrations (patterns in order), models (layer: patterns), renamed."""
    path = Path(root) / LIFECYCLE
    if not path.is_file():
        raise WarehouseError(f"no {LIFECYCLE} in {root}")
    with path.open("rb") as f:
        return tomllib.load(f)


def _expand(root: Path, patterns: list[str], taken: set[Path]) -> list[Path]:
    """The files the patterns match, each pattern's in name order, none taken twice."""
    found = []
    for pattern in patterns:
        for f in sorted(root.glob(pattern)):
            if f.is_file() and f not in taken:
                taken.add(f)
                found.append(f)
    return found


def migrations(root: Path = WAREHOUSE_SQL) -> list[Migration]:
    """The migration files in the order lifecycle.toml gives."""
    root = Path(root)
    files = _expand(root, lifecycle(root).get("migrations", []), set())
    return [Migration(f, f.read_text(encoding="utf-8"), f.relative_to(root).as_posix()) for f in files]


def model_files(layer: str, root: Path = WAREHOUSE_SQL) -> list[Path]:
    """The files of one model layer named in lifecycle.toml, in file name order."""
    layers = lifecycle(root).get("models", {})
    if layer not in layers:
        raise WarehouseError(f"no model layer {layer!r} in {LIFECYCLE}")
    return sorted(_expand(Path(root), layers[layer], set()), key=lambda f: f.name)


def rename_migrations(con: duckdb.DuckDBPyConnection, root: Path = WAREHOUSE_SQL) -> int:
    """Give records made under an old file name (lifecycle.toml's `renamed`) the new name."""
    renamed = lifecycle(root).get("renamed", {})
    recorded = {n for (n,) in con.execute(query("warehouse/migration_names")).fetchall()}
    pairs = [[new, old] for old, new in renamed.items() if old in recorded]
    if not pairs:
        return 0
    con.execute("BEGIN")
    try:
        for new, old in pairs:  # a record under both names keeps the new one
            con.execute(query("warehouse/drop_migration_if_renamed"), [old, new])
            con.execute(query("warehouse/rename_migration"), [new, old])
        con.execute("COMMIT")
    except duckdb.Error as exc:
        rollback(con)
        raise WarehouseError(f"renaming migration records failed: {exc}".splitlines()[0]) from exc
    return len(pairs)


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
    con.execute(query("warehouse/schema_migrations"))
    rename_migrations(con, root)
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


def foreign(con: duckdb.DuckDBPyConnection) -> bool:
    """A DuckDB database with tables but no record of this project's migrations."""
    names = set(con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall())
    return bool(names) and ("audit", "schema_migrations") not in names


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
        if foreign(con):  # someone else's database is never filled with the warehouse's tables
            con.close()
            raise WarehouseError(f"{path} is a DuckDB database but not a dibao warehouse "
                                 "(no audit.schema_migrations): left as it is")
        migrate(con)
        from pipelines.load.raw_archive import relocate  # the raw files, if the folder moved

        relocate(con, path)
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


# --- Models: the layers lifecycle.toml names, rebuilt each night --------------------------------

# `schema.object` references in model SQL; used to build a model after the models
# of its own layer it reads from.
_REFERENCE_RE = re.compile(r"\b([a-z]+)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_COMMENT_RE = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Model:
    """One model file: `warehouse/core/core_persons.sql` builds `core.persons`."""

    path: Path
    sql: str

    @property
    def name(self) -> str:
        schema, _, obj = self.path.stem.partition("_")
        return f"{schema}.{obj}"

    @property
    def code(self) -> str:
        """The SQL without its `--` comments."""
        return _COMMENT_RE.sub("", self.sql)

    def reads(self) -> set[str]:
        return {f"{s}.{o}".lower() for s, o in _REFERENCE_RE.findall(self.code)}


_MACRO_RE = re.compile(r"CREATE\s+OR\s+REPLACE\s+MACRO\s+([a-z_]+\.[a-z_]+)", re.IGNORECASE)


def macro_reads(root: Path = WAREHOUSE_SQL) -> dict[str, set[str]]:
    """Macro name -> what its definition reads (macros of migrations): a model calling it reads that too."""
    found: dict[str, set[str]] = {}
    for m in migrations(root):
        code = _COMMENT_RE.sub("", m.sql)
        starts = list(_MACRO_RE.finditer(code))
        for start, end in zip(starts, [*starts[1:], None]):
            body = code[start.start():end.start() if end else len(code)]
            found[start.group(1).lower()] = Model(m.path, body).reads() - {start.group(1).lower()}
    return found


def models(layer: str | Path, root: Path = WAREHOUSE_SQL) -> list[Model]:
    """The layer's models in build order: file name order, except that a model is
    built after the models of the same layer that it reads from.

    `layer` is a layer of lifecycle.toml (`core`, `mart`) or a folder whose every
    .sql file is a model (tests build such folders)."""
    if isinstance(layer, Path) or Path(layer).is_absolute():
        if not Path(layer).is_dir():
            raise WarehouseError(f"no model layer {layer}")
        files = sorted(Path(layer).glob("*.sql"))
    else:
        files = model_files(layer, root)
    pending = [Model(f, f.read_text(encoding="utf-8")) for f in files]
    names = {m.name for m in pending}
    macros = macro_reads(root)
    needs = {}
    for m in pending:
        reads = m.reads()
        reads |= {r for macro in reads & macros.keys() for r in macros[macro]}
        needs[m.name] = (reads & names) - {m.name}
    ordered: list[Model] = []
    built: set[str] = set()
    while pending:
        ready = next((m for m in pending if needs[m.name] <= built), None)
        if ready is None:
            cycle = ", ".join(m.name for m in pending)
            raise WarehouseError(f"models in {Path(layer).name} read each other in a cycle: {cycle}")
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


def build_models(con: duckdb.DuckDBPyConnection, layer: str | Path, root: Path = WAREHOUSE_SQL,
                 check: Callable[[duckdb.DuckDBPyConnection], list[str]] | None = None,
                 builder: Callable[[duckdb.DuckDBPyConnection, Model, Catalog], str | None] | None = None,
                 on_commit: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None) -> list[dict]:
    """Rebuild every model of one layer in one transaction; return what was built.

    Each file is one `CREATE OR REPLACE TABLE|VIEW|MACRO <schema>.<object>` named
    after the file. `builder`, if given, may build a model its own way and return how
    (pipelines/core/scope.py: from a month on); it is given the build's `Catalog` to ask
    what exists; when it returns None the model's file runs as it is. `check`, if given,
    runs on the built layer before it commits and returns problems; any problem, or a
    failing model, rolls the whole layer back (the previous build stays), is recorded as
    `failed` in `audit.model_runs` and raises WarehouseError. `on_commit(con, run_id)` runs last, inside the transaction.
    """
    layer_name = Path(layer).name
    run_id = f"{layer_name}-{uuid.uuid4().hex[:12]}"
    runs: list[dict] = []
    catalog = Catalog(con)
    step, started = layer_name, time.perf_counter()
    con.execute("BEGIN")
    try:
        for model in models(layer, root):
            step, started = model.name, time.perf_counter()
            how = builder(con, model, catalog) if builder else None
            if how is None:
                con.execute(model.sql)
            kind = catalog.kind(model.name)
            if kind is None:
                raise WarehouseError(f"{model.path.name} did not create {model.name}")
            rows = con.execute(f"SELECT count(*) FROM {model.name}").fetchall()[0][0] if kind == "table" else None
            run = {"run_id": run_id, "layer": layer_name, "name": model.name, "kind": kind, "rows": rows,
                   "seconds": round(time.perf_counter() - started, 3), "built": how or "whole"}
            record_model_run(con, run)
            runs.append(run)
        step, started = f"{layer_name} check", time.perf_counter()
        problems = check(con) if check else []
        if problems:
            raise WarehouseError("; ".join(problems))
        if on_commit:
            on_commit(con, run_id)
        con.execute("COMMIT")
    except (duckdb.Error, WarehouseError) as exc:
        rollback(con)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        try:
            record_model_run(con, {"run_id": run_id, "layer": layer_name, "name": step, "kind": "unknown",
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
    # a killed run's temporary copy is stale: the writer is alone (max_active_runs=1)
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # 0600, not the umask's 0644: it holds every 身份证号, whoever republishes it (docs/security.md)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        shutil.copyfile(path, tmp)  # writes into the file made above: its mode stays
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
