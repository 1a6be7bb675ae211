"""Publishing what changed: each published file's content hash, kept in audit.published_files.

Before a file is built, its content hash is computed from what goes into it (the rows,
and a layout version: the code and SQL that shape the file, and DuckDB's version). A
file whose hash equals the recorded one and whose bytes are still those recorded is
left as it is; any other is rebuilt atomically and its hash recorded only after the
rename (docs/outputs.md, "Rewritten only where the content changed").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.catalog import table_exists
from pipelines.warehouse import insert_rows, rollback, warehouse as open_warehouse

LIST_XLSX, LIST_CSV, ANALYST, TOWNSHIP = "list_xlsx", "list_csv", "analyst", "township"
# The township files' folder: the hash of everything all of them were selected from
# (township_copies.township_inputs); while it holds, no file needs its own hash computed.
TOWNSHIP_INPUTS = "township_inputs"


@dataclass(frozen=True)
class Record:
    content_hash: str
    file_sha256: str
    file_bytes: int


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def recorded(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...]) -> dict[str, Record]:
    """The recorded hash of every file of these kinds, by path."""
    if not table_exists(con, "audit.published_files"):
        return {}
    rows = con.execute("SELECT path, content_hash, file_sha256, file_bytes FROM audit.published_files"
                       " WHERE list_contains(?::VARCHAR[], kind)", [list(kinds)]).fetchall()
    return {path: Record(h, sha, size) for path, h, sha, size in rows}


def recorded_in(warehouse: Path, kinds: tuple[str, ...]) -> dict[str, Record]:
    """The records in the live warehouse (none yet: every file is written, then recorded)."""
    if not Path(warehouse).is_file():
        return {}
    with open_warehouse(Path(warehouse), read_only=True) as con:
        return recorded(con, kinds)


def is_current(path: Path, content_hash: str, records: dict[str, Record]) -> bool:
    """The file holds this content: same hash recorded, and the file still the bytes written
    then (a deleted, truncated or otherwise changed file is rebuilt)."""
    record = records.get(str(Path(path).resolve()))
    return record is not None and record.content_hash == content_hash and intact(path, records)


def intact(path: Path, records: dict[str, Record]) -> bool:
    """The file is still the bytes recorded when it was written, whatever it holds."""
    record = records.get(str(Path(path).resolve()))
    if record is None:
        return False
    try:
        if Path(path).stat().st_size != record.file_bytes:
            return False
        return file_sha256(Path(path)) == record.file_sha256
    except OSError:
        return False


def entry(kind: str, path: Path, content_hash: str) -> list:
    """A row of audit.published_files for a file just renamed into place."""
    path = Path(path).resolve()
    return [kind, str(path), content_hash, file_sha256(path), path.stat().st_size,
            datetime.now(timezone.utc).replace(tzinfo=None)]


def folder_entry(kind: str, folder: Path, content_hash: str) -> list:
    """A row of audit.published_files for a folder of files (no bytes of its own)."""
    return [kind, str(Path(folder).resolve()), content_hash, "", 0, datetime.now(timezone.utc).replace(tzinfo=None)]


def record(con: duckdb.DuckDBPyConnection, entries: list[list]) -> None:
    """Replace these paths' rows (inside the caller's transaction, if any)."""
    if not entries:
        return
    con.execute("DELETE FROM audit.published_files WHERE list_contains(?::VARCHAR[], path)",
                [[e[1] for e in entries]])
    insert_rows(con, "INSERT INTO audit.published_files VALUES (?, ?, ?, ?, ?, ?)", entries)


def record_in(warehouse: Path, entries: list[list]) -> None:
    """Record the entries in the live warehouse, in one transaction."""
    if not entries:
        return
    with open_warehouse(Path(warehouse)) as con:
        con.execute("BEGIN")
        try:
            record(con, entries)
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise


def rows_hash(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
              group: str | None = None) -> dict:
    """(rows, two 64-bit hash sums) of `columns` of `relation`, per value of `group` (else one,
    under None). Sums: the same rows in another order hash the same."""
    cols = ", ".join(f'"{c}"' for c in columns) or "NULL"
    key = f'"{group}"' if group else "NULL"
    sql = (f"SELECT {key}, count(*), sum(hash({cols})::HUGEINT)::VARCHAR, sum(hash({cols}, 1)::HUGEINT)::VARCHAR"
           f" FROM {relation} GROUP BY ALL")
    return {k: tuple(v) for k, *v in con.execute(sql).fetchall()}


def tally(rewritten: int, kept: int) -> dict:
    return {"rewritten": rewritten, "kept": kept}


def files_summary(lists: dict, roles: dict) -> dict:
    """Per kind, the files publishing rewrote tonight and those it left as they were. The
    run report is a new file each night and the administrator's copy a copy of tonight's
    warehouse: both are written every night."""
    return {"lists": tally(lists.get("rewritten", 0), lists.get("kept", 0)), **roles.get("files", {}),
            "query_copy": tally(1, 0), "report": tally(1, 0)}
