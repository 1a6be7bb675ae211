"""Read one delivered data file (CSV or XLSX) into an all-string polars frame.

`read_file` is the only entry point: every cell comes back exactly as delivered,
the file's shape is decided by the source contract (docs/ingest.md).
"""

from __future__ import annotations

import stat
from pathlib import Path

from pipelines.ingest.csv_reader import read_csv
from pipelines.ingest.file_table import (
    EXTRA,
    LINE,
    MALFORMED,
    RESERVED_NAMES,
    ReadResult,
    UnreadableFile,
    read_regular_bytes,
)
from pipelines.ingest.xlsx_worker import read_xlsx_apart

__all__ = [
    "EXTRA", "LINE", "MALFORMED", "RESERVED_NAMES", "ReadResult", "UnreadableFile",
    "read_file", "read_regular_bytes",
]


def read_file(path: Path, sheet: int | str = 0, **xlsx) -> ReadResult:
    """Read one delivered CSV or XLSX file (an XLSX's `sheet`, the first by default;
    `xlsx` goes to read_xlsx); raise UnreadableFile if it cannot be read."""
    path = Path(path)
    _require_regular_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return read_csv(path)
        if suffix == ".xlsx":  # in a process of its own: the reader can abort on a hostile workbook
            return read_xlsx_apart(path, sheet, **xlsx)
    except OSError as err:  # e.g. no read permission: the file is rejected, the run goes on
        raise UnreadableFile(f"cannot read file: {err.strerror or err}") from None
    raise UnreadableFile(f"unsupported file type {suffix or '(none)'!r}: expected .csv or .xlsx")


def _require_regular_file(path: Path) -> None:
    # lstat, not stat: a symlink in a landing folder could point anywhere.
    try:
        mode = path.lstat().st_mode
    except OSError as err:
        raise UnreadableFile(f"cannot access file: {err.strerror or err}") from None
    if stat.S_ISLNK(mode):
        raise UnreadableFile("is a symbolic link, not a regular file")
    if not stat.S_ISREG(mode):
        raise UnreadableFile("not a regular file")
