"""The raw layer, every delivered row written once: the staged Parquet file, kept.

Stage writes each file's rows as delivered to `<stem>.raw.parquet` with the columns
of `raw.<file>` (pipelines/ingest/stage.py). Loading a delivery no longer copies
them into a table: inside the delivery's transaction, `keep` hard-links each such
file to `<warehouse>.raw/<load_id>/<stem>.parquet` (a copy across file systems) and
records it in `audit.raw_files`, and `point_views` recreates `raw.<file>` as a view
over `raw.<file>_pre_archive` (the rows loaded before issue #17) and the recorded
files of the deliveries whose status is `loaded`. The view and the record commit
with the delivery; a crash before that leaves an unrecorded folder that nothing
reads and the same attempt's retry replaces (docs/warehouse.md, "The raw layer").
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from pipelines.ingest.stage import Staged
from pipelines.sources.contract import FILES, spec as file_spec
from pipelines.sql import query
from pipelines.warehouse import WarehouseError, rollback

ARCHIVE_SUFFIX = ".raw"
LINEAGE = ("load_id", "extract_date", "file_name", "line_number")


class RawArchiveError(WarehouseError):
    """The raw archive cannot be written or read; the message is one line (a warehouse error:
    every command that reports those reports it)."""


def archive_root(warehouse: Path) -> Path:
    """`<warehouse>.raw/`, beside the warehouse file (as `.work/` and `.query` are)."""
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ARCHIVE_SUFFIX)


def warehouse_path(con: duckdb.DuckDBPyConnection) -> Path:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    if not rows or not rows[0][0]:
        raise RawArchiveError("the raw archive lives beside a warehouse file: this connection has none")
    return Path(rows[0][0])


def keep(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Archive and record the raw part of every file of a delivery that loads."""
    d = staged.delivery
    if con.execute("SELECT count(*) FROM audit.raw_files WHERE load_id = ?", [staged.load_id]).fetchall()[0][0]:
        raise RawArchiveError(f"raw files of {staged.load_id} are recorded already: a load id is never reused")
    folder = archive_root(warehouse_path(con)) / staged.load_id
    discard(con, staged.load_id)  # an earlier crash of this same attempt: never recorded, never read
    try:
        folder.parent.mkdir(mode=0o700, exist_ok=True)  # raw 身份证号 and names: the pipeline's account only
        folder.mkdir(mode=0o700)
        for sf in staged.files:
            target = folder / f"{sf.stem}.parquet"
            _link(staged.part(sf.stem, "raw"), target)
            con.execute("INSERT INTO audit.raw_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [staged.load_id, d.source, d.extract_date, sf.file_name,
                         f"raw.{file_spec(d.source, sf.stem).key}", str(target), sf.rows_read])
    except OSError as exc:
        raise RawArchiveError(f"cannot keep the raw files of {staged.load_id} in {folder}: {exc}") from exc


def discard(con: duckdb.DuckDBPyConnection, load_id: str) -> None:
    """Remove the archive folder of an attempt whose transaction did not commit
    (outside a transaction: a committed attempt's files are never removed)."""
    try:
        if con.execute("SELECT count(*) FROM audit.raw_files WHERE load_id = ?", [load_id]).fetchall()[0][0]:
            return
    except duckdb.Error:  # the connection failed with the load: when unsure, keep the files
        return
    shutil.rmtree(archive_root(warehouse_path(con)) / load_id, ignore_errors=True)


def _link(source: Path, target: Path) -> None:
    # A second name for the staged file: no bytes written, and discarding the
    # staged folder afterwards leaves this name's data in place.
    try:
        os.link(source, target)
    except OSError:  # another file system, or links refused
        shutil.copyfile(source, target)


def point_views(con: duckdb.DuckDBPyConnection, keys: list[str] | None = None) -> None:
    """Recreate `raw.<key>` (every raw view if keys is None) over its recorded files."""
    for f in FILES:
        if keys is not None and f.key not in keys:
            continue
        paths = [p for (p,) in con.execute(query("load/raw_files"), [f"raw.{f.key}"]).fetchall()]
        if not paths:
            con.execute(f"CREATE OR REPLACE VIEW raw.{f.key} AS SELECT * FROM raw.{f.key}_pre_archive")
            continue
        files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        columns = ", ".join([*LINEAGE, *f.fields])
        try:
            con.execute(query("load/raw_view", key=f.key, columns=columns, files=files))
        except duckdb.IOException as exc:
            raise RawArchiveError(f"raw.{f.key}: an archived raw file is unreadable or missing"
                                  f" ({str(exc).splitlines()[0]}); see audit.raw_files") from exc


def relocate(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int:
    """After the warehouse's folder moved: re-point recorded files found under its archive.

    Called when the warehouse is opened for writing. A file still where it was
    recorded stays (a private copy of a warehouse file reads its original's archive);
    one that is gone but present under `<warehouse>.raw/` is re-pointed. Returns how
    many were; the views are recreated only then."""
    root = archive_root(warehouse)
    moved = []
    for path, load_id in con.execute("SELECT path, load_id FROM audit.raw_files").fetchall():
        here = root / load_id / Path(path).name
        if not Path(path).exists() and here.exists():
            moved.append((str(here), path))
    if not moved:
        return 0
    con.execute("BEGIN")
    try:
        con.executemany("UPDATE audit.raw_files SET path = ? WHERE path = ?", moved)
        point_views(con)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return len(moved)
