"""Write tables for people: XLSX workbooks and their CSV twins.

Caseworkers open these in Excel, so both writers guard against a value being
taken for something else: every text cell of the XLSX is written with
`write_string` (a `=HYPERLINK(...)` delivered in a source file stays literal
text, never a formula, link or number), and a CSV text cell that Excel would
start evaluating (=, +, -, @, tab, CR first) gets a leading apostrophe. Files
are written to a temporary name and moved into place, so a reader never sees
half a file. Every sheet prints landscape on A4, one page wide, with the header
row repeated, a page header and numbered pages; rows holding wrapped text are
as tall as their text.
"""

from __future__ import annotations

import csv
import functools
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
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 6, 40, 20
LINE_HEIGHT = 15  # points per line of 11-point text (Excel's default row is 15)
A4 = 9  # xlsxwriter's paper index
PAGE_NUMBERS = "&C第 &P 页 / 共 &N 页"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    wrap: bool = False  # long free text: wrapped at MAX_WIDTH instead of one long line
    width: int | None = None  # a fixed width instead of one fitted to the values
    printed: bool = True  # False: on screen only, right of the print area (such columns come last)


@dataclass
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: list[tuple]
    choices: dict[str, Sequence[str]] = field(default_factory=dict)  # header -> drop-down values
    freeze_cols: int = 0  # columns kept in view beside the frozen header row
    empty_text: str = ""  # the row an empty sheet shows instead of a bare header
    header_text: tuple[str, str, str] = ("", "", "")  # printed page header: left, centre, right
    autofilter: bool = True


def escape_header(text: str) -> str:
    """Text for a printed page header/footer: `&` starts a code there."""
    return text.replace("&", "&&")


def line_count(text: str, width: int) -> int:
    """Lines a wrapped cell of `width` characters needs for `text` (CJK counts double)."""
    room = max(width - 1, 1)
    return sum(max(1, -(-display_width(part) // room)) for part in str(text).split("\n"))


@functools.lru_cache(maxsize=1 << 16)
def display_width(text: str) -> int:
    """Characters as Excel lays them out: CJK and full-width ones count twice.
    Cached: a city's lists measure the same village names, reasons and actions a million times."""
    if text.isascii():
        return len(text)
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
    """Fitted to the values; a header may wrap onto two lines, free text wraps at WRAP_WIDTH."""
    widths = []
    for i, column in enumerate(sheet.columns):
        if column.width:
            widths.append(column.width)
            continue
        longest = max([-(-display_width(column.header) // 2) + 1]
                      + [display_width(_cell_text(row[i], column.kind)) for row in sheet.rows[:2000]])
        # room to read: a right-aligned number needs two characters before the next column's text,
        # text one; every character more is a smaller print on a page one list wide
        room = 1 if column.kind == TEXT else 2
        widths.append(min(max(longest + room, MIN_WIDTH), WRAP_WIDTH if column.wrap else MAX_WIDTH))
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
    """One worksheet per Sheet: bold frozen header, autofilter, fitted widths and heights, print set-up."""
    import xlsxwriter  # only the writers pay for it
    from xlsxwriter.utility import xl_col_to_name as xl_col

    with _atomic(Path(path)) as tmp:
        # The options are a second guard; every text cell goes through write_string anyway.
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False, "in_memory": True})
        header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                  "valign": "vcenter"})
        formats = {kind: book.add_format({"num_format": f, "valign": "top"}) for kind, f in _NUMBER_FORMATS.items()}
        formats[TEXT] = book.add_format({"num_format": "@", "valign": "top"})
        wrapped = book.add_format({"num_format": "@", "text_wrap": True, "valign": "top"})
        empty = book.add_format({"italic": True, "font_color": "#595959"})
        for sheet in sheets:
            ws = book.add_worksheet(sheet.name)
            widths = _widths(sheet)
            for c, column in enumerate(sheet.columns):
                ws.write_string(0, c, column.header, header)
            ws.set_row(0, max(line_count(c.header, w) for c, w in zip(sheet.columns, widths)) * LINE_HEIGHT + 2)
            for r, row in enumerate(sheet.rows, start=1):
                for c, column in enumerate(sheet.columns):
                    _write_cell(ws, r, c, row[c], column, wrapped if column.wrap else formats[column.kind])
                _fit_height(ws, r, row, sheet.columns, widths)
            if not sheet.rows and sheet.empty_text:
                ws.write_string(1, 0, sheet.empty_text, empty)
            last_row, last_col = max(len(sheet.rows), 1), len(sheet.columns) - 1
            ws.freeze_panes(1, sheet.freeze_cols)
            if sheet.autofilter:
                ws.autofilter(0, 0, last_row, last_col)
            for c, width in enumerate(widths):
                ws.set_column(c, c, width)
            _print_setup(ws, sheet)
            # no green triangle inviting "转换为数字": a 16-digit 家庭编号 converted loses its last digit
            ws.ignore_errors({"number_stored_as_text": f"A1:{xl_col(last_col)}{max(len(sheet.rows), 1000) + 1}"})
            for name, values in sheet.choices.items():
                c = [col.header for col in sheet.columns].index(name)
                ws.data_validation(1, c, max(len(sheet.rows), 1000), c,
                                   {"validate": "list", "source": list(values), "ignore_blank": True,
                                    "error_type": "warning"})
        book.close()


def _fit_height(ws, r: int, row: tuple, columns: Sequence[Column], widths: list[int]) -> None:
    """Set a row's height to its tallest wrapped cell: spreadsheets do not all grow rows themselves."""
    lines = max([line_count(v, w) for v, col, w in zip(row, columns, widths) if col.wrap and v] or [1])
    if lines > 1:
        ws.set_row(r, lines * LINE_HEIGHT + 2)


def _print_setup(ws, sheet: Sheet) -> None:
    printed = [c.printed for c in sheet.columns]
    if not all(printed):
        # every column more on a page one list wide is a smaller print: reference columns stay on screen
        if any(printed[printed.index(False):]):
            raise ValueError(f"{sheet.name}: the columns not printed must come after every printed one")
        ws.print_area(0, 0, max(len(sheet.rows), 1), printed.index(False) - 1)
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.repeat_rows(0)
    ws.hide_gridlines(0)  # gridlines on screen and on paper
    ws.set_margins(left=0.3, right=0.3, top=0.8, bottom=0.6)
    left, centre, right = (escape_header(t) for t in sheet.header_text)
    ws.set_header(f"&L{left}&C&\"-,Bold\"{centre}&R{right}" if centre else f"&L{left}&R{right}")
    ws.set_footer(PAGE_NUMBERS)


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


def inert(text: str) -> str:
    """A cell that a spreadsheet would run as a formula, written after a `'`."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == TEXT:
        return inert(str(value))
    if kind in (SCORE, MONEY):
        return f"{value:.3f}" if kind == SCORE else f"{value:.2f}"
    return _cell_text(value, kind)
