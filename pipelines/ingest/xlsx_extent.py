"""How far a sheet's cells reach, read from its XML before the spreadsheet reader sees it.

The reader (calamine, under fastexcel) allocates one slot per cell of the sheet's bounding
box, whatever the `<dimension>` element says: one stray cell at XFD1048576 in a 7 KB file
asks for 17 billion slots and aborts the process (a Rust allocation failure, no exception to
catch), night after night. The cell references are scanned instead: only those beyond
column Z (rare in a delivery, so the scan costs little more than decompressing the sheet),
and the last row of each chunk (rows are stored in order).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import NamedTuple

from pipelines.ingest.xlsx_numbers import _sheet_path

# Slots the reader may allocate (about 32 bytes each): a million rows of 95 columns. Below it
# the reader's worker (xlsx_worker.py, its heap bounded) is the guard; above it the refusal is
# this one-line reason. 40 million refused a real workbook: 45 columns of data and one empty
# formatted cell in row 1048576, which the reader opens in 78 MB.
MAX_SHEET_CELLS = 100_000_000
# A cell reference beyond column Z. Only after a space: a search that starts with a character
# class (a tab or line break before `r`) is ten times slower, and such a sheet still meets the
# reader's bounded worker (xlsx_worker.py), which turns its abort into one unreadable file.
_WIDE_CELL = re.compile(rb' r\s*=\s*["\']([A-Z]{2,3})([0-9]{1,7})["\']')
# a cell's start tag up to where a match may lie: its attribute values may hold `>`, never `<`
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c\s(?:[^>\"']|\"[^\"]*\"|'[^']*')*")
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*? r="([0-9]{1,7})"')
_CHUNK = 1 << 22
_NARROW = 26  # every sheet is taken to reach column Z: single-letter references are not scanned


def column_number(letters: str | bytes) -> int:
    n = 0
    for ch in letters.encode() if isinstance(letters, str) else letters:
        n = n * 26 + ch - 64
    return n


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


class Extent(NamedTuple):
    rows: int  # the last row the cells reach
    cols: int  # the last column, counted from at least 26
    formulas: bool  # a formula or an error value may be in the sheet (xlsx_values.py)


def sheet_extent(data: bytes, sheet: int | str = 0) -> Extent | None:
    """How far the sheet's cells reach; None when the package cannot be read this way
    (the reader then reports it)."""
    max_row, max_col, formulas = 0, _NARROW, False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            path = _sheet_path(book, sheet)
            if path is None:
                return None
            with book.open(path) as xml:
                tail = b""
                while chunk := xml.read(_CHUNK):
                    buf = tail + chunk
                    cut = buf.rfind(b"<")
                    scan, tail = (buf[:cut], buf[cut:]) if cut > 0 else (buf, b"")
                    max_row, max_col = _reach(scan, max_row, max_col)
                    formulas = formulas or _may_hold_formulas(scan)
                max_row, max_col = _reach(tail, max_row, max_col)
                formulas = formulas or _may_hold_formulas(tail)
    except (zipfile.BadZipFile, KeyError, OSError, SyntaxError, ValueError):
        return None
    return Extent(max_row, max_col, formulas)


def _may_hold_formulas(scan: bytes) -> bool:
    """A formula tag (`<f`, `<x:f`) or an error type (`t="e"`) may be there; a plain search each,
    since a pattern starting at every `<` costs a tenth of a second per sheet. A false alarm
    (`:f` or `"e"` in a text) costs only the exact reading."""
    return b"<f" in scan or b":f" in scan or b'"e"' in scan or b"'e'" in scan


def _reach(scan: bytes, max_row: int, max_col: int) -> tuple[int, int]:
    for m in _WIDE_CELL.finditer(scan):
        if _in_cell_tag(scan, m.start()):
            max_col, max_row = max(max_col, column_number(m[1])), max(max_row, int(m[2]))
    last = None
    for last in _ROW.finditer(scan, max(0, len(scan) - 4096)):
        pass
    return (max(max_row, int(last[1])) if last else max_row), max_col


def _in_cell_tag(scan: bytes, at: int) -> bool:
    """Whether `at` lies inside a `<c …>` tag, not in a cell's text (where `<` is escaped)."""
    start = scan.rfind(b"<", 0, at)
    tag = _CELL_TAG.match(scan, start) if start >= 0 else None
    return tag is not None and tag.end() > at


def too_large(data: bytes, sheet: int | str = 0) -> str | None:
    """Why the reader must not open this sheet, or None."""
    return refusal(sheet_extent(data, sheet))


def refusal(extent: Extent | None) -> str | None:
    """Why the reader must not open a sheet of this extent, or None."""
    if extent is None:
        return None
    rows, cols = extent.rows, extent.cols
    if rows * cols <= MAX_SHEET_CELLS:
        return None
    return (f"the sheet's cells reach {column_letters(cols)}{rows} ({rows * cols:,} cells, over the"
            f" {MAX_SHEET_CELLS:,} a reader can hold): a stray cell far from the data? Clear it and deliver again")
