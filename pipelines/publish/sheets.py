"""Write tables for people: XLSX workbooks and their CSV twins.

Caseworkers open these in Excel, so both writers guard against a value being
taken for something else: every text cell of the XLSX is written with
`write_string` (a `=HYPERLINK(...)` delivered in a source file stays literal
text, never a formula, link or number), and a CSV text cell that Excel would
start evaluating (=, +, -, @, tab, CR first) gets a leading apostrophe. Files
are written to a temporary name and moved into place, so a reader never sees
half a file.
"""

from __future__ import annotations

import csv
import os
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

TEXT, INT, MONEY, SCORE, DATE = "text", "int", "money", "score", "date"
_NUMBER_FORMATS = {INT: "0", MONEY: "#,##0.00", SCORE: "0.000", DATE: "yyyy-mm-dd"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH, MAX_WIDTH = 6, 48


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    wrap: bool = False  # long free text: wrapped at MAX_WIDTH instead of one long line


@dataclass
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: list[tuple]
    choices: dict[str, Sequence[str]] = field(default_factory=dict)  # header -> drop-down values


def display_width(text: str) -> int:
    """Characters as Excel lays them out: CJK and full-width ones count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell_text(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == SCORE:
        return f"{value:.3f}"
    if kind == MONEY:
        return f"{value:,.2f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)


def _widths(sheet: Sheet) -> list[int]:
    widths = []
    for i, column in enumerate(sheet.columns):
        longest = max([display_width(column.header)]
                      + [display_width(_cell_text(row[i], column.kind)) for row in sheet.rows[:2000]])
        widths.append(min(max(longest + 2, MIN_WIDTH), MAX_WIDTH))
    return widths


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, moved onto it when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> None:
    """One worksheet per Sheet: bold frozen header, autofilter, fitted widths."""
    import xlsxwriter  # only the writers pay for it

    with _atomic(Path(path)) as tmp:
        # The options are a second guard; every text cell goes through write_string anyway.
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False, "in_memory": True})
        header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                  "valign": "vcenter"})
        formats = {kind: book.add_format({"num_format": f}) for kind, f in _NUMBER_FORMATS.items()}
        formats[TEXT] = book.add_format({"num_format": "@"})
        wrapped = book.add_format({"num_format": "@", "text_wrap": True, "valign": "top"})
        for sheet in sheets:
            ws = book.add_worksheet(sheet.name)
            for c, column in enumerate(sheet.columns):
                ws.write_string(0, c, column.header, header)
            for r, row in enumerate(sheet.rows, start=1):
                for c, column in enumerate(sheet.columns):
                    _write_cell(ws, r, c, row[c], column, wrapped if column.wrap else formats[column.kind])
            last_row, last_col = max(len(sheet.rows), 1), len(sheet.columns) - 1
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, last_row, last_col)
            for c, width in enumerate(_widths(sheet)):
                ws.set_column(c, c, width)
            for name, values in sheet.choices.items():
                c = [col.header for col in sheet.columns].index(name)
                ws.data_validation(1, c, max(len(sheet.rows), 1000), c,
                                   {"validate": "list", "source": list(values), "ignore_blank": True,
                                    "error_type": "warning"})
        book.close()


def _write_cell(ws, r: int, c: int, value, column: Column, fmt) -> None:
    if value is None or value == "":
        ws.write_blank(r, c, None, fmt)
    elif column.kind == TEXT:
        ws.write_string(r, c, str(value), fmt)
    elif column.kind == DATE:
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt)
    else:
        ws.write_number(r, c, float(value), fmt)


def write_csv(path: Path, sheet: Sheet) -> None:
    """The sheet as CSV, UTF-8 with BOM (Excel then reads the Chinese correctly)."""
    with _atomic(Path(path)) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([c.header for c in sheet.columns])
            for row in sheet.rows:
                writer.writerow([_csv_cell(v, c.kind) for v, c in zip(row, sheet.columns)])


def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == TEXT:
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    if kind in (SCORE, MONEY):
        return f"{value:.3f}" if kind == SCORE else f"{value:.2f}"
    return _cell_text(value, kind)
