"""XLSX cells the spreadsheet reader hands over as empty although they are not.

A formula cell carries the result its program computed (`<f>A2*2</f><v>1862</v>`). A
program that writes formulas without computing them (openpyxl, many report tools) stores
no result, `<v/>` or none: Excel computes it when a person opens the file, a reader of
the file's data sees nothing. A cell whose formula failed stores the error (`t="e"`,
`#DIV/0!`, `#N/A`, `#REF!`). calamine reads both as empty, and an empty optional cell
means something: an empty 月人均收入 is a household never checked. They are quarantined
instead (`formula_no_value`, `cell_error`: pipelines.ingest.row_defects), with the
formula or the error as the raw value. A formula whose result is an empty text
(`t="str"`, `<v></v>`) is a value, the empty text, and reads as it is.

Formulas are rare in deliveries, so the sheet's XML is parsed only when the scan of its
extent saw a formula or an error value (pipelines.ingest.xlsx_extent).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from xml.etree.ElementTree import iterparse

from pipelines.ingest.file_table import NO_VALUE
from pipelines.ingest.xlsx_extent import column_number
from pipelines.ingest.xlsx_numbers import _MAIN, _sheet_path

__all__ = ["NO_VALUE", "as_json", "unvalued_cells"]
_REF = re.compile(r"([A-Z]+)([0-9]+)$")


def unvalued_cells(data: bytes, sheet: int | str = 0) -> dict[int, list[list]]:
    """Sheet row → [[grid column, raw value, reason], ...] for the cells above; grid columns
    count from the sheet's first column holding a value, as the reader's grid does (its rows
    count from row 1). An unreadable package gives {}: the reader then reports it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            path = _sheet_path(book, sheet)
            if path is None:
                return {}
            with book.open(path) as xml:
                found, first = _unvalued(xml)
    except (zipfile.BadZipFile, KeyError, OSError, SyntaxError, ValueError):
        return {}
    shifted = {row: [[column - first, *rest] for column, *rest in cells if column >= first]
               for row, cells in found.items()}
    return {row: cells for row, cells in shifted.items() if cells}


def _unvalued(xml) -> tuple[dict[int, list[list]], int]:
    found: dict[int, list[list]] = {}
    row, column, first = 0, -1, 1 << 20
    for event, elem in iterparse(xml, events=("start", "end")):
        if event == "start":
            if elem.tag == f"{_MAIN}row":
                row, column = int(elem.get("r") or row + 1), -1
            continue
        if elem.tag == f"{_MAIN}c":
            ref = _REF.match(elem.get("r") or "")
            row, column = (int(ref[2]), column_number(ref[1]) - 1) if ref else (row, column + 1)
            if (cell := _judge(elem)) is not None:
                found.setdefault(row, []).append([column, *cell])
            if column < first and _holds_value(elem):
                first = column
            elem.clear()
        elif elem.tag == f"{_MAIN}row":
            elem.clear()  # streamed, not kept
    return found, first


def _holds_value(cell) -> bool:
    """What the reader counts when it finds where the sheet's grid starts."""
    value = cell.find(f"{_MAIN}v")
    return (value is not None and bool(value.text)) or cell.find(f"{_MAIN}is") is not None


def _judge(cell) -> tuple[str, str] | None:
    """(raw value, reason) of a cell read as empty that is not, else None."""
    formula, value = cell.find(f"{_MAIN}f"), cell.find(f"{_MAIN}v")
    kind = cell.get("t", "n")
    if kind == "e":
        return ((value.text or "").strip() if value is not None else "") or "#error", "cell_error"
    if formula is None or kind in ("str", "inlineStr") or (value is not None and (value.text or "").strip()):
        return None
    text = (formula.text or "").strip()
    return ("=" + text if text else f"=(shared formula {formula.get('si', '')})".replace(" )", ")"),
            "formula_no_value")


def as_json(cells: list[list]) -> str:
    return json.dumps(cells, ensure_ascii=False)
