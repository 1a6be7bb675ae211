"""XLSX files: the first sheet's non-empty rows, numbered by sheet row, with
numbers too large for a float shown as the float they are."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from pipelines.ingest.xlsx_extent import refusal, sheet_extent
from pipelines.ingest.xlsx_numbers import stored_number_texts
from pipelines.ingest.xlsx_values import NO_VALUE, as_json, unvalued_cells
from pipelines.ingest.file_table import (
    LINE,
    ParsedTable,
    ReadResult,
    UnreadableFile,
    read_regular_bytes,
    table_result,
)

# Above 2**53 a float no longer holds every integer: a spreadsheet number that
# large may already have lost digits (an 18-digit 身份证号 always does).
_FLOAT_EXACT_LIMIT = 2**53
# A spreadsheet keeps 15 significant digits of a number typed or converted in it
# (Excel truncates the rest, LibreOffice rounds): a returned list's 16-digit
# 家庭编号 that became a number may name another household.
SPREADSHEET_DIGITS_LIMIT = 10**15 - 1


def read_xlsx(path: Path, sheet: int | str = 0, number_limit: int = _FLOAT_EXACT_LIMIT) -> ReadResult:
    """One sheet (by default the first) of a workbook; number cells of more digits than
    `number_limit` holds are shown in float notation (`_unmask_big_numbers`)."""
    import fastexcel  # only XLSX deliveries pay for it

    data = read_regular_bytes(path)  # parse the bytes that are hashed, not a second read of the file
    extent = sheet_extent(data, sheet)
    if problem := refusal(extent):  # the reader would abort the process, not raise
        raise UnreadableFile(problem)
    try:
        reader = fastexcel.read_excel(data)
        if not reader.sheet_names:
            raise UnreadableFile("workbook has no sheets")
        # header_row=None + skip_rows=0: row i of the grid is sheet row i + 1.
        if isinstance(sheet, str) and sheet not in reader.sheet_names:
            raise UnreadableFile(f"workbook has no sheet {sheet!r}")
        grid = reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string").to_polars()
    except UnreadableFile:
        raise
    except BaseException as err:  # unknown bytes can make the parser fail anywhere
        raise _unreadable_xlsx(err) from None
    # A program's file may store every digit of a long number; a spreadsheet's (a returned list,
    # read with its 15-digit limit) never does, so only deliveries read the stored text.
    stored = data if number_limit == _FLOAT_EXACT_LIMIT else None
    if extent is not None and extent.formulas:
        grid = _mark_unvalued(grid, unvalued_cells(data, sheet))
    try:
        table = _sheet_table(reader, grid, sheet, number_limit, stored)
    except fastexcel.FastExcelError as err:  # the second look at the cell types
        raise _unreadable_xlsx(err) from None
    result = table_result(table, "xlsx")
    result.sha256 = hashlib.sha256(data).hexdigest()
    return result


def sheet_names(path: Path) -> list[str]:
    """A workbook's sheets in their order; UnreadableFile if it is no workbook."""
    import fastexcel

    data = read_regular_bytes(path)
    try:
        return list(fastexcel.read_excel(data).sheet_names)
    except BaseException as err:
        raise _unreadable_xlsx(err) from None


def _unreadable_xlsx(err: BaseException) -> UnreadableFile:
    """Parser failures become UnreadableFile; Ctrl-C and the like stay what they are."""
    if not isinstance(err, Exception) and type(err).__name__ != "PanicException":
        raise err
    text = str(err).strip()
    return UnreadableFile(f"corrupt or unsupported xlsx: {text.splitlines()[0] if text else type(err).__name__}")


def _sheet_table(reader, grid: pl.DataFrame, sheet: int | str = 0,
                 number_limit: int = _FLOAT_EXACT_LIMIT, raw: bytes | None = None) -> ParsedTable:
    """The sheet grid → header + non-empty rows numbered by sheet row."""
    marked = grid[NO_VALUE] if NO_VALUE in grid.columns else None
    grid = grid.drop(NO_VALUE) if marked is not None else grid
    cells = grid.columns
    grid = grid.rename({c: f"c{i}" for i, c in enumerate(cells)}).with_columns(
        pl.int_range(1, grid.height + 1, dtype=pl.Int64).alias(LINE)
    )
    cells = [f"c{i}" for i in range(len(cells))]
    if not cells:
        raise UnreadableFile("empty sheet: no header")
    # A row is empty when no cell holds anything; whitespace counts as content, and so does a
    # data row's formula without its result (the header is the first row holding a value).
    valued = pl.any_horizontal([pl.col(c).is_not_null() & (pl.col(c) != "") for c in cells])
    if marked is not None:
        grid = grid.with_columns(marked)
    rows = grid.filter(valued.cum_max() if marked is not None else valued)
    if rows.height == 0:
        raise UnreadableFile("empty sheet: no header")
    header_row = rows.row(0, named=True)
    headers = ["" if header_row[c] is None else header_row[c] for c in cells]
    data = rows.slice(1)
    if marked is not None:
        data = data.filter(valued | pl.col(NO_VALUE).is_not_null())
    # An empty xlsx cell is an empty value; null stays reserved for absent fields.
    data = data.with_columns([pl.col(c).fill_null("") for c in cells])
    data = _unmask_big_numbers(reader, data, header_row[LINE] - 1, sheet, number_limit, raw)
    return ParsedTable(headers, data)


def _mark_unvalued(grid: pl.DataFrame, cells: dict[int, list[list]]) -> pl.DataFrame:
    """The grid with a NO_VALUE column: each row's cells that read as empty but hold a
    formula without its result or an error (xlsx_values.py); rows past the grid's end that
    hold only such cells are added, empty."""
    cells = {row: [c for c in found if c[0] < grid.width] for row, found in cells.items()}
    cells = {row: found for row, found in cells.items() if found}
    if not cells:
        return grid
    if (short := max(cells) - grid.height) > 0:
        grid = pl.concat([grid, pl.DataFrame({c: [None] * short for c in grid.columns},
                                             schema=grid.schema)])
    marks = [as_json(cells[i + 1]) if i + 1 in cells else None for i in range(grid.height)]
    return grid.with_columns(pl.Series(NO_VALUE, marks, dtype=pl.String))


def _unmask_big_numbers(reader, data: pl.DataFrame, header_index: int, sheet: int | str = 0,
                        limit: int = _FLOAT_EXACT_LIMIT, raw: bytes | None = None) -> pl.DataFrame:
    """Show numeric cells above `limit` (2**53) as the file stores them, else in float notation.

    fastexcel renders the number cell 3.715021990010113E+17 as the 18 digits
    "371502199001011328": a plausible 身份证号 whose last digits were invented by
    the float. The file's own text for the cell (`raw` given: pipelines.ingest.xlsx_numbers)
    is taken instead: `371502199001011234` or `3.71502199001011234E+17` keep every digit
    and repair reads them; `3.715021990010113E+17` has lost some (id_lossy_float).
    Without it (a returned list: a spreadsheet keeps 15 digits, whatever it writes) the
    float notation "3.715021990010113e+17" shows the loss. A text cell holding the same
    digits is left alone, which needs the cell types: one more pass over the sheet, only
    for columns with digit strings a float could have produced.
    """
    suspects = {
        c: mask
        for c in data.columns
        if c not in (LINE, NO_VALUE) and (mask := _float_like_digits(data[c], limit)).any()
    }
    if not suspects:
        return data
    numeric = _numeric_cells(reader, [int(c[1:]) for c in suspects], header_index, sheet)
    hits = {}
    for name, mask in suspects.items():
        column = int(name[1:])
        if column not in numeric:
            continue  # text cells only
        rows = numeric[column]
        # data rows are a filtered view of the grid: match them by sheet row.
        hit = mask if rows is None else mask & data[LINE].is_in(rows)
        if hit.any():
            hits[name] = hit
    if not hits:
        return data
    lines = data[LINE].to_list()
    # the sheet's XML is streamed once, for the rows holding such numbers only
    stored = {} if raw is None else stored_number_texts(
        raw, sheet, {lines[i] for hit in hits.values() for i in hit.arg_true().to_list()})
    replacements = []
    for name, hit in hits.items():
        values = data[name].to_list()
        for i in hit.arg_true().to_list():
            values[i] = stored.get((lines[i], float(values[i]))) or repr(float(values[i]))
        replacements.append(pl.Series(name, values, dtype=pl.String))
    return data.with_columns(replacements)


def _float_like_digits(column: pl.Series, limit: int = _FLOAT_EXACT_LIMIT) -> pl.Series:
    """Digit strings of 16 digits or more above `limit` that equal the integer value of their own float."""
    digits = column.str.contains(r"^[0-9]{16,}$").fill_null(False)
    if not digits.any():
        return digits
    as_float = column.cast(pl.Float64, strict=False)
    same = (as_float.cast(pl.Int64, strict=False) == column.cast(pl.Int64, strict=False)).fill_null(True)
    return digits & same & (as_float > limit).fill_null(False)


def _numeric_cells(reader, columns: list[int], header_index: int, sheet: int | str = 0) -> dict[int, list[int] | None]:
    """Which cells of these grid columns are numbers rather than text.

    Per column: absent = only text cells, None = only number cells, else the
    sheet rows holding a number. Asking fastexcel to infer a column's type
    strictly takes one pass; only a column mixing text and numbers needs the
    per-cell answer, read from the errors of a date load (text cells and numbers
    too large for a date both fail, and each error names the cell's type).
    """
    import fastexcel

    answer: dict[int, list[int] | None] = {}
    for column in columns:
        try:
            typed = reader.load_sheet(
                sheet, header_row=header_index, use_columns=[column],
                schema_sample_rows=None, dtype_coercion="strict",
            ).to_polars()
        except fastexcel.UnsupportedColumnTypeCombinationError:  # text and numbers mixed
            answer[column] = _number_rows(reader, column, sheet)
            continue
        if typed.dtypes[0] != pl.String:
            answer[column] = None
    return answer


def _number_rows(reader, column: int, sheet: int | str = 0) -> list[int]:
    loaded = reader.load_sheet(sheet, header_row=None, skip_rows=0, use_columns=[column], dtypes="date")
    _, errors = loaded.to_arrow_with_errors()
    return [
        error.position[0] + 1
        for error in (errors.errors if errors else [])
        if "got 'String(" not in error.detail
    ]
