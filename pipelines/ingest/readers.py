"""Read one delivered data file (CSV or XLSX) into an all-string polars frame.

`read_file` is the only entry point. It decides nothing about the values: every
cell comes back exactly as delivered (empty and whitespace-only cells included),
and `pipelines.ingest.repair` decides what is repairable. What it does decide is the
file's *shape*, by the rules of the source contract (sources.md):

- CSV encoding is detected, not assumed: a UTF-8 BOM means ``utf-8-sig``, else
  strict UTF-8, else GB18030 (a superset of GBK), else the file is unreadable.
- A data row is a non-blank line (CSV) or a non-empty sheet row (XLSX). Blank
  lines (nothing but spaces/tabs) are not rows, wherever they are, but they
  still count in line numbers: ``_line`` is the physical line of the record's
  first line, header = 1 (XLSX: the sheet's row number).
- A record with fewer fields than the header keeps its missing cells as null
  (a delivered empty cell is ``""``), so repair can tell "absent" from "empty".
  A record with more fields than the header has its non-empty surplus joined
  into the ``_extra`` column (present only when some row has one); a surplus of
  empty fields (a trailing comma) is ignored. Both are defects of that row,
  quarantined by repair, not of the file.
- A header column with no name and no data in any row (the trailing comma of
  some exporters) is dropped.

Speed: CSV is parsed by polars whenever that provably gives the reference
result (`parse_csv_fast`): regular files in one `pl.read_csv` call, files
without quotes but with blank lines or ragged rows by a vectorised split of
their lines. Quoted files with a multi-line record, a blank line or a ragged
row, and lone-CR line ends, go through the `csv` module with line tracking
(`parse_csv_slow`), which defines the behaviour.
"""

from __future__ import annotations

import codecs
import csv
import errno
import gc
import hashlib
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import polars as pl

LINE = "_line"
EXTRA = "_extra"
MALFORMED = "_malformed"  # the text of a line CSV quoting could not split (pipelines.ingest.row_defects)
RESERVED_NAMES = (LINE, EXTRA, MALFORMED)

# Control bytes never occur in the text encodings we accept (not even inside a
# GB18030 multi-byte character); their presence means a binary file.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r")
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)

# Above 2**53 a float no longer holds every integer: a spreadsheet number that
# large may already have lost digits (an 18-digit 身份证号 always does).
_FLOAT_EXACT_LIMIT = 2**53


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message says why, in one line."""


@dataclass
class ReadResult:
    frame: pl.DataFrame  # one String column per header as delivered, "_line" (Int64), maybe "_extra"
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"
    headers: list[str]  # as delivered, stripped of surrounding whitespace and BOM
    rows_read: int  # data rows per the contract (blank lines/rows are not rows)
    sha256: str | None = None  # of the very bytes parsed: ingest checks them against discovery's


def read_file(path: Path) -> ReadResult:
    """Read one delivered CSV or XLSX file; raise UnreadableFile if it cannot be read."""
    path = Path(path)
    _require_regular_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".xlsx":
            return _read_xlsx(path)
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


def read_regular_bytes(path: Path) -> bytes:
    """The bytes of a regular file, opened without following a symlink or blocking
    on a pipe: the check above and this open see the same file."""
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


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path) -> ReadResult:
    data = read_regular_bytes(path)
    encoding, utf8 = decode_csv_bytes(data)
    table = parse_csv_fast(utf8)
    if table is None:
        table = parse_csv_slow(utf8.decode("utf-8"))
    result = _result(table, encoding)
    result.sha256 = hashlib.sha256(data).hexdigest()
    return result


def decode_csv_bytes(data: bytes) -> tuple[str, bytes]:
    """Detect the encoding; return it and the content as UTF-8 bytes without BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("UTF-16 text: expected UTF-8 or GB18030")
    controls = data.translate(None, _NOT_CONTROL)
    if controls:
        raise UnreadableFile(f"binary content: control byte 0x{controls[0]:02x}")
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise UnreadableFile(f"UTF-8 BOM but invalid UTF-8 at byte {err.start + 3}") from None
        return "utf-8-sig", body
    try:
        data.decode("utf-8")
        return "utf-8", data
    except UnicodeDecodeError:
        pass
    try:
        return "gb18030", data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError as err:
        raise UnreadableFile(f"not UTF-8 or GB18030 text (bad byte at {err.start})") from None


@dataclass
class ParsedTable:
    """A parsed file before its header is checked: positional columns c0, c1, ..."""

    headers: list[str]  # raw header cells
    frame: pl.DataFrame  # c0..cN (String), "_line" (Int64), maybe "_extra"


def parse_csv_fast(data: bytes) -> ParsedTable | None:
    """Parse with polars alone when that gives the reference result; else None.

    None means "use `parse_csv_slow`", never "the file is bad". Regular files go
    through `pl.read_csv`; files without quotes whose rows are irregular (blank
    lines, short or long rows) through a vectorised split of their lines; quoted
    files with irregular rows, lone CR line ends or a header that is not one line
    are left to the csv module. Each check is one C-speed pass over the bytes.
    """
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None  # a lone CR ends a line for the csv module, not for polars
    data = _drop_trailing_blank_lines(data)
    newline = data.find(b"\n")
    header_line = data if newline < 0 else data[:newline]
    if not header_line.strip(b" \t\r") or header_line.count(b'"') % 2:
        return None  # leading blank line, or a header record spanning lines
    try:
        headers = next(csv.reader([header_line.decode("utf-8").rstrip("\r")], strict=True))
    except csv.Error:
        return None  # the slow path reports it with its line number
    width = len(headers)
    if width < 2:
        return None  # one column: a blank line would look like an empty cell
    if newline < 0 or newline == len(data) - 1:
        return ParsedTable(headers, _empty_frame(width))
    body = newline + 1
    quoted = data.find(b'"', body) >= 0
    frame = _polars_read(data, width)
    lines = None if frame is None else _line_numbers(data, body, frame, width, quoted)
    if lines is not None:
        return ParsedTable(headers, frame.with_columns(lines))
    if quoted:
        return None
    return ParsedTable(headers, _split_lines(data, width))


def _polars_read(data: bytes, width: int) -> pl.DataFrame | None:
    try:
        return pl.read_csv(
            data,
            has_header=False,
            skip_lines=1,  # the header, parsed by the caller
            schema={f"c{i}": pl.String for i in range(width)},
            empty_string_is_null=False,  # "" is a delivered value; null means "no such field"
            raise_if_empty=False,
        )
    except Exception:  # polars rejects the input: let the reference parser decide
        return None
    except BaseException as err:  # a panic inside polars is no reason to stop either
        if type(err).__name__ != "PanicException":
            raise
        return None


def _line_numbers(data: bytes, body: int, frame: pl.DataFrame, width: int, quoted: bool) -> pl.Series | None:
    """Row i is line i + 2 of the file: its line numbers, else None.

    polars rejects longer records but pads short ones and reads a blank line as
    a row of empty cells. Every separator is a comma outside quotes, so the
    separators are all commas minus those inside (necessarily quoted) values,
    and any short or blank record makes them fall below (width - 1) per row.
    A record spanning lines (a quoted newline) makes the rows fewer than the
    lines. That one is left to the csv module on purpose: polars splits big
    files into chunks at newlines and, with quoted newlines, may split inside a
    quoted field — seen failing on a 1M-row file; a wrong split could even keep
    the counts above consistent.
    """
    rows = frame.height
    commas = data.count(b",", body)
    if quoted:
        lines = data.count(b"\n", body) + (0 if data.endswith(b"\n") else 1)
        if rows != lines:
            return None
        commas -= sum(frame[c].str.count_matches(",", literal=True).sum() for c in frame.columns)
    if commas != (width - 1) * rows:
        return None
    return pl.int_range(2, rows + 2, dtype=pl.Int64, eager=True).alias(LINE)


def _split_lines(data: bytes, width: int) -> pl.DataFrame:
    """A file without quotes: every line is a record, split at its commas.

    Same result as the csv module (blank lines skipped but counted, short
    records padded with null, a non-empty surplus in "_extra"), vectorised.
    """
    lines = pl.read_csv(
        data, has_header=False, skip_lines=1, separator="\x01",  # no control bytes left: one field per line
        quote_char=None, schema={"line": pl.String}, empty_string_is_null=False,
    )
    frame = (
        lines.with_columns(pl.int_range(2, lines.height + 2, dtype=pl.Int64).alias(LINE))
        .filter(pl.col("line").str.strip_chars(" \t") != "")
        .select(pl.col("line").str.split(",").alias("fields"), pl.col(LINE))
        .with_columns(pl.col("fields").list.len().alias("count"))
    )
    # Surplus fields: only a record longer than the header has them, and only
    # non-empty ones count (a trailing comma is not data).
    surplus = pl.col("fields").list.slice(width).list.join(",")
    has_surplus = (pl.col("count") > width) & (surplus.str.replace_all(",", "", literal=True) != "")
    frame = frame.select(
        [pl.col("fields").list.get(i, null_on_oob=True).alias(f"c{i}") for i in range(width)]
        + [pl.col(LINE), pl.when(has_surplus).then(surplus).alias(EXTRA)]
    )
    return frame if frame[EXTRA].is_not_null().any() else frame.drop(EXTRA)


def _drop_trailing_blank_lines(data: bytes) -> bytes:
    end = len(data)
    while end and data[end - 1] in b" \t\r\n":
        end -= 1
    cut = data.find(b"\n", end)
    return data if cut < 0 or cut == len(data) - 1 else data[: cut + 1]


def parse_csv_slow(text: str) -> ParsedTable:
    """Parse with the csv module (RFC 4180, strict quoting), tracking line numbers."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    headers: list[str] | None = None
    header_line = 1
    records: list[list[str]] = []
    lines: list[int] = []
    last_line = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small lists: the cycle collector would triple the time
    try:
        for record in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if _is_blank(record):
                continue
            if headers is None:
                headers, header_line = record, first_line
            else:
                records.append(record)
                lines.append(first_line - header_line + 1)
        if headers is None:
            raise UnreadableFile("empty file: no header")
        return ParsedTable(headers, _records_frame(records, lines, len(headers)))
    except csv.Error:  # one bad line is one quarantined row, not a bad file
        from pipelines.ingest.row_defects import parse_csv_recovering

        return parse_csv_recovering(text)
    finally:
        if gc_was_enabled:
            gc.enable()


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip(" \t"))


def _records_frame(records: list[list[str]], lines: list[int], width: int) -> pl.DataFrame:
    """Records of any length → width String columns (short ones padded with null)."""
    if not records:
        return _empty_frame(width)
    extras: list[str | None] = [None] * len(records)
    for i, record in enumerate(records):
        if len(record) != width:
            surplus = record[width:]
            if any(surplus):
                extras[i] = ",".join(surplus)
            records[i] = record[:width] + [None] * (width - len(record))
    columns = list(zip(*records))
    frame = pl.DataFrame(
        [pl.Series(f"c{i}", columns[i], dtype=pl.String) for i in range(width)]
        + [pl.Series(LINE, lines, dtype=pl.Int64)]
    )
    if any(e is not None for e in extras):
        frame = frame.with_columns(pl.Series(EXTRA, extras, dtype=pl.String))
    return frame


def _empty_frame(width: int) -> pl.DataFrame:
    return pl.DataFrame(schema={**{f"c{i}": pl.String for i in range(width)}, LINE: pl.Int64})


# -------------------------------------------------------------------------- XLSX


def _read_xlsx(path: Path) -> ReadResult:
    import fastexcel  # only XLSX deliveries pay for it

    data = read_regular_bytes(path)  # parse the bytes that are hashed, not a second read of the file
    try:
        reader = fastexcel.read_excel(data)
        if not reader.sheet_names:
            raise UnreadableFile("workbook has no sheets")
        # header_row=None + skip_rows=0: row i of the grid is sheet row i + 1.
        grid = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string").to_polars()
    except UnreadableFile:
        raise
    except BaseException as err:  # unknown bytes can make the parser fail anywhere
        raise _unreadable_xlsx(err) from None
    try:
        table = _sheet_table(reader, grid)
    except fastexcel.FastExcelError as err:  # the second look at the cell types
        raise _unreadable_xlsx(err) from None
    result = _result(table, "xlsx")
    result.sha256 = hashlib.sha256(data).hexdigest()
    return result


def _unreadable_xlsx(err: BaseException) -> UnreadableFile:
    """Parser failures become UnreadableFile; Ctrl-C and the like stay what they are."""
    if not isinstance(err, Exception) and type(err).__name__ != "PanicException":
        raise err
    text = str(err).strip()
    return UnreadableFile(f"corrupt or unsupported xlsx: {text.splitlines()[0] if text else type(err).__name__}")


def _sheet_table(reader, grid: pl.DataFrame) -> ParsedTable:
    """The sheet grid → header + non-empty rows numbered by sheet row."""
    cells = grid.columns
    grid = grid.rename({c: f"c{i}" for i, c in enumerate(cells)}).with_columns(
        pl.int_range(1, grid.height + 1, dtype=pl.Int64).alias(LINE)
    )
    cells = [f"c{i}" for i in range(len(cells))]
    if not cells:
        raise UnreadableFile("empty sheet: no header")
    # A row is empty when no cell holds anything; whitespace counts as content.
    rows = grid.filter(pl.any_horizontal([pl.col(c).is_not_null() & (pl.col(c) != "") for c in cells]))
    if rows.height == 0:
        raise UnreadableFile("empty sheet: no header")
    header_row = rows.row(0, named=True)
    headers = ["" if header_row[c] is None else header_row[c] for c in cells]
    data = rows.slice(1)
    # An empty xlsx cell is an empty value; null stays reserved for absent fields.
    data = data.with_columns([pl.col(c).fill_null("") for c in cells])
    data = _unmask_big_numbers(reader, data, header_row[LINE] - 1)
    return ParsedTable(headers, data)


def _unmask_big_numbers(reader, data: pl.DataFrame, header_index: int) -> pl.DataFrame:
    """Show numeric cells above 2**53 in float notation, as the float they are.

    fastexcel renders the number cell 3.715021990010113E+17 as the 18 digits
    "371502199001011328": a plausible 身份证号 whose last digits were invented by
    the float. Rewritten as "3.715021990010113e+17", repair sees the lost digits
    (id_lossy_float). A text cell holding the same digits is left alone, which
    needs the cell types: one more pass over the sheet, only for columns with
    digit strings a float could have produced.
    """
    suspects = {
        c: mask
        for c in data.columns
        if c != LINE and (mask := _float_like_digits(data[c])).any()
    }
    if not suspects:
        return data
    numeric = _numeric_cells(reader, [int(c[1:]) for c in suspects], header_index)
    replacements = []
    for name, mask in suspects.items():
        column = int(name[1:])
        if column not in numeric:
            continue  # text cells only
        rows = numeric[column]
        # data rows are a filtered view of the grid: match them by sheet row.
        hit = mask if rows is None else mask & data[LINE].is_in(rows)
        if hit.any():
            values = data[name].to_list()
            for i in hit.arg_true().to_list():
                values[i] = repr(float(values[i]))
            replacements.append(pl.Series(name, values, dtype=pl.String))
    return data.with_columns(replacements) if replacements else data


def _float_like_digits(column: pl.Series) -> pl.Series:
    """Digit strings above 2**53 that equal the integer value of their own float."""
    digits = column.str.contains(r"^[0-9]{16,}$").fill_null(False)
    if not digits.any():
        return digits
    as_float = column.cast(pl.Float64, strict=False)
    same = (as_float.cast(pl.Int64, strict=False) == column.cast(pl.Int64, strict=False)).fill_null(True)
    return digits & same & (as_float > _FLOAT_EXACT_LIMIT).fill_null(False)


def _numeric_cells(reader, columns: list[int], header_index: int) -> dict[int, list[int] | None]:
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
                0, header_row=header_index, use_columns=[column],
                schema_sample_rows=None, dtype_coercion="strict",
            ).to_polars()
        except fastexcel.UnsupportedColumnTypeCombinationError:  # text and numbers mixed
            answer[column] = _number_rows(reader, column)
            continue
        if typed.dtypes[0] != pl.String:
            answer[column] = None
    return answer


def _number_rows(reader, column: int) -> list[int]:
    sheet = reader.load_sheet(0, header_row=None, skip_rows=0, use_columns=[column], dtypes="date")
    _, errors = sheet.to_arrow_with_errors()
    return [
        error.position[0] + 1
        for error in (errors.errors if errors else [])
        if "got 'String(" not in error.detail
    ]


# ------------------------------------------------------------------ both formats


def _result(table: ParsedTable, encoding: str) -> ReadResult:
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
    names = [headers[i] for i in keep]
    _check_names(names)
    extra = [c for c in (EXTRA, MALFORMED) if c in frame.columns]
    frame = frame.select([pl.col(f"c{i}").alias(headers[i]) for i in keep] + [LINE] + extra)
    return ReadResult(frame=frame, encoding=encoding, headers=names, rows_read=frame.height)


def _clean_header(raw: str | None) -> str:
    return (raw or "").strip().strip("\ufeff").strip()


def _no_data(column: pl.Series) -> bool:
    return bool(column.fill_null("").eq("").all())


def _check_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in RESERVED_NAMES:
            raise UnreadableFile(f"header {name!r} is a reserved column name")
        if name in seen:
            raise UnreadableFile(f"duplicate header {name!r}")
        seen.add(name)

