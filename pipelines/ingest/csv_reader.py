"""CSV files: encoding detection, and parsing by polars when that provably gives
the csv module's result, else by the csv module with line tracking."""

from __future__ import annotations

import codecs
import csv
import gc
import hashlib
import io
from itertools import islice
from pathlib import Path

import polars as pl

from pipelines.ingest.file_table import (
    EXTRA,
    LINE,
    MALFORMED,
    ParsedTable,
    ReadResult,
    UnreadableFile,
    empty_frame,
    read_regular_bytes,
    table_result,
)

# The csv module refuses a field over 128 KB as a bad line: a 600 KB name would be a
# `malformed_line` with no column, and a long extra header a bad file. Fields of any size
# are read; an oversized contract cell is then quarantined as `cell_too_long` (row_defects.py).
csv.field_size_limit(2**31 - 1)

# Control bytes never occur in the text encodings we accept (not even inside a
# GB18030 multi-byte character); their presence means a binary file.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r")
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def read_csv(path: Path) -> ReadResult:
    data = read_regular_bytes(path)
    try:
        encoding, utf8 = decode_csv_bytes(data)
        bad: list[tuple[int, str]] = []
    except UnreadableFile:
        salvaged = salvage_lines(data)  # text but for a line or two: those lines are malformed rows
        if salvaged is None:
            raise
        encoding, utf8, bad = salvaged
    table = parse_csv_fast(utf8)
    if table is None:
        table = parse_csv_slow(utf8.decode("utf-8"))
    if bad:
        table = ParsedTable(table.headers, _with_malformed(table.frame, bad))
    result = table_result(table, encoding)
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


# A text file with a NUL or an invalid byte in a cell or two (a clerk's paste, a truncated
# character) loses those lines, not the file; more than this share of its lines and it is
# no text file (an XLSX renamed .csv, a binary dump), rejected as before.
SALVAGE_SHARE = 0.01
_SHOWN = {c: f"\\x{c:02x}" for c in range(32) if c != 9}  # control characters, as escapes


def salvage_lines(data: bytes) -> tuple[str, bytes, list[tuple[int, str]]] | None:
    """(encoding, the content as UTF-8 with its bad lines blanked, each bad line's (line number,
    text with the bad bytes as escapes)), or None when the header is bad, or every data line, or
    more than SALVAGE_SHARE of them (one is always allowed)."""
    bom = data.startswith(codecs.BOM_UTF8)
    lines = (data[len(codecs.BOM_UTF8):] if bom else data).split(b"\n")
    best = None
    for encoding in ("utf-8", "gb18030"):
        kept, bad, number = [], [], 0
        for line in lines:
            number += 1
            body = line[:-1] if line.endswith(b"\r") else line
            try:
                if body.translate(None, _NOT_CONTROL):
                    raise ValueError("control byte")
                kept.append(line.decode(encoding).encode("utf-8"))
            except ValueError:  # UnicodeDecodeError included
                bad.append((number, body.decode(encoding, errors="backslashreplace").translate(_SHOWN)))
                kept.append(b"\n" * body.count(b"\r"))  # blanked, as many lines as the csv module reads in it
            number += body.count(b"\r")  # a lone CR ends a line for the csv module, which numbers the rest
        if best is None or len(bad) < len(best[2]):
            best = ("utf-8-sig" if bom and encoding == "utf-8" else encoding, b"\n".join(kept), bad)
    encoding, text, bad = best
    data_lines = sum(1 for line in lines[1:] if line.strip(b" \t\r"))
    if not bad or bad[0][0] == 1 or len(bad) > max(1, SALVAGE_SHARE * data_lines) or len(bad) >= data_lines:
        return None
    return encoding, text, bad


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
        return ParsedTable(headers, empty_frame(width))
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


class CsvRecords:
    """Header and data records read by csv readers, numbered by physical line
    (header = line 1); blank records are skipped but their lines counted."""

    def __init__(self) -> None:
        self.headers: list[str] | None = None
        self.header_line = 1
        self.records: list[list[str]] = []
        self.lines: list[int] = []
        self.ends: list[int] = []  # each record's last line: later than its first when a quote spans lines
        self.consumed = 0  # lines read by the last reader up to its last good record

    def read(self, reader, offset: int = 0) -> None:
        """Collect a reader's records; `offset` lines precede its first line. On
        csv.Error, the failing record starts at line offset + self.consumed + 1."""
        headers, header_line = self.headers, self.header_line
        records, lines, ends = self.records, self.lines, self.ends
        consumed = 0
        try:
            for record in reader:
                first, consumed = offset + consumed + 1, reader.line_num
                if _is_blank(record):
                    continue
                if headers is None:
                    headers, header_line = record, first
                else:
                    records.append(record)
                    lines.append(first - header_line + 1)
                    ends.append(offset + consumed - header_line + 1)
        finally:
            self.headers, self.header_line, self.consumed = headers, header_line, consumed


def parse_csv_slow(text: str) -> ParsedTable:
    """Parse with the csv module (RFC 4180, strict quoting), tracking line numbers."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    found = CsvRecords()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small lists: the cycle collector would triple the time
    try:
        found.read(reader)
        if found.headers is None:
            raise UnreadableFile("empty file: no header")
        if _first_merged(found, 0) is not None:
            return parse_csv_recovering(text)
        return ParsedTable(found.headers, _records_frame(found.records, found.lines, len(found.headers)))
    except csv.Error:  # one bad line is one quarantined row, not a bad file
        return parse_csv_recovering(text)
    finally:
        if gc_was_enabled:
            gc.enable()


def parse_csv_recovering(text: str) -> ParsedTable:
    """The csv module's reading, except that a record the module rejects, or one that spans
    lines yet has the wrong number of fields (a quote opened by mistake, `6,"3725…`, closed six
    lines down: its lines are rows of their own, as sources.md counts rows), makes its first line
    a malformed row (its text in `_malformed`) and parsing resumes on the next line."""
    lines = io.StringIO(text, newline="").readlines()
    found = CsvRecords()
    malformed: list[tuple[int, str]] = []
    pos = 0
    while pos < len(lines):
        start = len(found.records)
        try:
            found.read(csv.reader(islice(lines, pos, None), strict=True), offset=pos)
            error = None
        except csv.Error as err:
            error = err
        merged = _first_merged(found, start)
        if merged is not None:  # before any error further down: resume after its first line
            bad = found.lines[merged] + found.header_line - 2  # 0-based physical line
            del found.records[merged:], found.lines[merged:], found.ends[merged:]
        elif error is not None:
            bad = pos + found.consumed  # 0-based index of the failing record's first line
            if found.headers is None:
                raise UnreadableFile(f"malformed CSV header at line {bad + 1}: {error}") from None
        else:
            break
        malformed.append((bad + 1 - found.header_line + 1, lines[bad].rstrip("\r\n")))
        pos = bad + 1
    if found.headers is None:
        raise UnreadableFile("empty file: no header")
    frame = _records_frame(found.records, found.lines, len(found.headers))
    return ParsedTable(found.headers, _with_malformed(frame, malformed))


def _first_merged(found: CsvRecords, start: int) -> int | None:
    """The first record from `start` that spans lines with a field count other than the header's,
    or with a field whose text after a line break holds a whole row's commas (a stray quote
    closed in the same column lines later: the width then matches, the rows between do not)."""
    width = len(found.headers or [])
    return next((i for i in range(start, len(found.records)) if found.ends[i] > found.lines[i] and (
        len(found.records[i]) != width
        or any("\n" in f and f.split("\n", 1)[1].count(",") >= width - 1 for f in found.records[i]))), None)


def _with_malformed(frame: pl.DataFrame, malformed: list[tuple[int, str]]) -> pl.DataFrame:
    if not malformed:
        return frame
    bad_rows = pl.DataFrame({LINE: [n for n, _ in malformed], MALFORMED: [t for _, t in malformed]},
                            schema={LINE: pl.Int64, MALFORMED: pl.String})
    return pl.concat([frame, bad_rows], how="diagonal").sort(LINE)


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip(" \t"))


def _records_frame(records: list[list[str]], lines: list[int], width: int) -> pl.DataFrame:
    """Records of any length → width String columns (short ones padded with null)."""
    if not records:
        return empty_frame(width)
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
