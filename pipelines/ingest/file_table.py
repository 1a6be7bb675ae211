"""A delivered file as a table: the names, error and result types shared by the
CSV and XLSX readers, and how a parsed header is checked and applied."""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

LINE = "_line"
EXTRA = "_extra"
MALFORMED = "_malformed"  # the text of a line CSV quoting could not split (csv_reader.parse_csv_recovering)
# a row's XLSX cells read as empty that hold a formula without its result or an error, as JSON
# [[column, raw, reason], ...] (xlsx_values.py): grid positions from the reader, names after table_result
NO_VALUE = "_no_value"
RESERVED_NAMES = (LINE, EXTRA, MALFORMED, NO_VALUE)


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message says why, in one line."""


@dataclass
class ReadResult:
    frame: pl.DataFrame  # one String column per header as delivered, "_line" (Int64), maybe "_extra"
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"
    headers: list[str]  # as delivered, stripped of surrounding whitespace and BOM
    rows_read: int  # data rows per the contract (blank lines/rows are not rows)
    sha256: str | None = None  # of the very bytes parsed: ingest checks them against discovery's
    duplicated: list[str] = field(default_factory=list)  # headers delivered twice (repeats renamed)


@dataclass
class ParsedTable:
    """A parsed file before its header is checked: positional columns c0, c1, ..."""

    headers: list[str]  # raw header cells
    frame: pl.DataFrame  # c0..cN (String), "_line" (Int64), maybe "_extra"


def read_regular_bytes(path: Path) -> bytes:
    """The bytes of a regular file, opened without following a symlink or blocking
    on a pipe: readers.read_file's check and this open see the same file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnreadableFile("is a symbolic link, not a regular file") from None
        raise
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise UnreadableFile("not a regular file")
        return f.read()


def empty_frame(width: int) -> pl.DataFrame:
    return pl.DataFrame(schema={**{f"c{i}": pl.String for i in range(width)}, LINE: pl.Int64})


def table_result(table: ParsedTable, encoding: str) -> ReadResult:
    """Check and apply the header; drop unnamed empty columns."""
    headers = [_clean_header(h) for h in table.headers]
    frame = table.frame
    keep: list[int] = []
    for i, name in enumerate(headers):
        if name == "" and _no_data(frame[f"c{i}"]):
            continue  # a trailing comma's column: no name, nothing in it
        keep.append(i)
    if not keep:
        raise UnreadableFile("header row has no column names")
    names, duplicated = _unique_names([headers[i] for i in keep])
    extra = [c for c in (EXTRA, MALFORMED) if c in frame.columns]
    if NO_VALUE in frame.columns:
        frame = frame.with_columns(_named_cells(frame[NO_VALUE], dict(zip(keep, names))))
        extra.append(NO_VALUE)
    frame = frame.select([pl.col(f"c{i}").alias(name) for i, name in zip(keep, names)] + [LINE] + extra)
    return ReadResult(frame=frame, encoding=encoding, headers=names, rows_read=frame.height,
                      duplicated=duplicated)


def _named_cells(marks: pl.Series, names: dict[int, str]) -> pl.Series:
    """NO_VALUE's grid positions → the columns' names; a position without a named column goes."""
    def rename(text: str | None) -> str | None:
        if text is None:
            return None
        cells = [[names[c], *rest] for c, *rest in json.loads(text) if c in names]
        return json.dumps(cells, ensure_ascii=False) if cells else None
    return pl.Series(NO_VALUE, [rename(t) for t in marks.to_list()], dtype=pl.String)


def _clean_header(raw: str | None) -> str:
    return (raw or "").strip().strip("\ufeff").strip()


def _no_data(column: pl.Series) -> bool:
    return bool(column.fill_null("").eq("").all())


def _unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """The names with each repeat renamed `<name>（重复列N）`, and the names repeated.

    A repeated unknown column (two 备注, two unnamed columns with data) is as unknown as
    one and the file reads; whether a repeated contract column may be read is the
    caller's to judge (`duplicate_contract_headers`), since which copy is meant is unknown.
    """
    seen: dict[str, int] = {}
    unique, duplicated = [], []
    for name in names:
        if name in RESERVED_NAMES:
            raise UnreadableFile(f"header {name!r} is a reserved column name")
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            duplicated.append(name)
            name = f"{name}（重复列{seen[name]}）"
        unique.append(name)
    return unique, sorted(set(duplicated))


def duplicate_contract_headers(result: ReadResult, headers: list[str] | set[str]) -> str | None:
    """A one-line error when a header the contract reads is delivered twice, else None."""
    twice = [h for h in result.duplicated if h in set(headers)]
    return f"duplicate header {twice[0]!r}: which column is meant is unknown" if twice else None
