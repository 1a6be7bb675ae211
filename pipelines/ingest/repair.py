"""Repair-or-reject: the source contract's rules for delivered values.

sources.md, read literally: repair what has exactly one correct reading, load
the row and record the repair; reject what has none (the whole row goes to
quarantine, one quarantine row per bad cell); load an exact duplicate row once
and quarantine each extra copy as ``duplicate_row``.

Two layers:

- Scalar functions (`repair_id`, `repair_cert`, `repair_date`, `repair_amount`,
  `repair_int`, `repair_yyyymm`, `repair_enum`, `repair_code12`, `repair_text`)
  take one raw string and return ``(value, kinds)`` — value None for an empty
  cell, kinds the repairs applied (empty list: the value was already canonical)
  — or raise `idcard.BadValue(reason)` when there is no correct reading.
- `repair_frame` applies them to a whole file, vectorised: a polars expression
  recognises the canonical form of every cell (regex, casts, the 身份证号 check
  character), and only the distinct non-canonical raw values of each column go
  through the scalar functions; their answers are joined back.

Decisions the contract leaves open, made here:

- Empty means "" or whitespace only. An empty mandatory cell is
  ``missing_mandatory``; an empty optional cell loads as null (月保障金额's
  "empty = 0" is for the consumer to apply, this layer does not invent a 0).
- A null cell is a field the row did not have (a short CSV record, see
  readers.py): ``missing_field``, whether the column is optional or not. A row
  with more fields than the header (``_extra``) is ``extra_fields``.
- A repaired cell with several repairs gets one repairs row whose kind joins
  them with "+" in the order applied (``id_whitespace+id_15_to_18``).
- Repairs are reported only for rows that load: a quarantined row is reported
  with its raw values, and "a repaired row is not a quarantined row".
- Duplicates are judged on the delivered cells before repair (every delivered
  column, unknown ones included). A duplicate copy gets only its
  ``duplicate_row`` quarantine row (column_name and raw_value null); bad cells
  are reported once, on the first copy.
- Dates must lie in 1900-01-01..2099-12-31 (else ``date_out_of_range``); Excel
  serial numbers are read only in 3654..73050 (1910-01-01..2099-12-31): a
  smaller number could as well be a year (2024) and is ``date_unparseable``.
- A time of day other than midnight is not part of a date: unparseable.
- A minus sign on an amount or integer is a reject (``amount_negative``,
  ``int_negative``), even on zero.
- A 残疾人证号 whose digits 19-20 disagree with 残疾类别/残疾等级 loads as
  delivered: that is a cross-source conflict for the caller, not a repair.

Repair kinds: id_whitespace, id_fullwidth, id_lowercase_x, id_float_notation,
id_15_to_18 (also for 残疾人证号's ID part); date_whitespace, date_slash,
date_dot, date_unpadded, date_compact, date_chinese, date_datetime,
date_excel_serial; amount_whitespace, amount_yuan_suffix, amount_thousands;
int_whitespace, int_float_notation; yyyymm_whitespace, yyyymm_separator,
yyyymm_chinese, yyyymm_float_notation, yyyymm_datetime; enum_whitespace,
grade_spelling, chengzhen_as_chengshi; code_whitespace, code_float_notation;
text_whitespace.

Reject reasons: missing_mandatory, missing_field, extra_fields, duplicate_row,
id_check_failed, id_lossy_float, id_malformed, cert_malformed,
date_unparseable, date_out_of_range, amount_negative, amount_unparseable,
int_negative, int_unparseable, yyyymm_unparseable, enum_unknown,
code_malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Callable

import polars as pl

from pipelines.sources.contract import (
    AMOUNT,
    CERT,
    CODE12,
    DATE,
    ENUM,
    GRADES,
    ID,
    INT,
    TEXT,
    YYYYMM,
    Column,
    FileSpec,
)
from pipelines.sources.idcard import CHECK_CHARS, FULLWIDTH_TO_ASCII, WEIGHTS, BadValue, normalize_id
from pipelines.ingest.readers import EXTRA, LINE

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2099, 12, 31)
EXCEL_EPOCH = date(1899, 12, 30)  # epoch + serial days: right from 1900-03-01, past Excel's fake 1900-02-29
SERIAL_MIN = (date(1910, 1, 1) - EXCEL_EPOCH).days  # 3654
SERIAL_MAX = (DATE_MAX - EXCEL_EPOCH).days  # 73050

INT64_MAX = 2**63 - 1

# A column with this many non-canonical cells first gets the vectorised bulk
# repairs (Rule.bulk); below it, the few odd values go through Python anyway.
BULK_REPAIR_FROM = 10_000

REPAIRS_SCHEMA = {
    LINE: pl.Int64,
    "column_name": pl.String,
    "raw_value": pl.String,
    "kind": pl.String,
    "repaired_value": pl.String,
}
QUARANTINE_SCHEMA = {LINE: pl.Int64, "column_name": pl.String, "raw_value": pl.String, "reason": pl.String}

# All patterns are ASCII: Python's and polars' \d would also match ３ or ٣.
_WHITESPACE = re.compile(r"\s+")
_ID_CHARS = re.compile(r"[0-9]{17}[0-9Xx]", re.ASCII)
_CODE12 = re.compile(r"([0-9]{12})(\.0+)?", re.ASCII)
_INT = re.compile(r"(-?)([0-9]+)(\.0+)?", re.ASCII)
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_THOUSANDS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", re.ASCII)
_GRADE_DIGIT = re.compile(r"([1-4])级?", re.ASCII)


@dataclass
class Repaired:
    clean: pl.DataFrame  # rows that load: one typed column per FileSpec field, plus "_line"
    repairs: pl.DataFrame  # one row per repaired cell of a loaded row (REPAIRS_SCHEMA)
    quarantine: pl.DataFrame  # one row per bad cell, duplicate copy or extra-field row


class MissingColumns(ValueError):
    """A mandatory column is not in the file: the delivery cannot be loaded."""

    def __init__(self, missing: list[str]):
        super().__init__(f"mandatory column(s) missing: {', '.join(missing)}")
        self.missing = missing


# ------------------------------------------------------------ scalar repairs


def _is_empty(raw: str | None) -> bool:
    return raw is None or not raw.strip()


def repair_text(raw: str) -> tuple[str | None, list[str]]:
    """Free text: only surrounding whitespace is removed."""
    value = raw.strip()
    if not value:
        return None, []
    return value, (["text_whitespace"] if value != raw else [])


def repair_id(raw: str) -> tuple[str | None, list[str]]:
    """身份证号: see idcard.normalize_id (15→18, full-width, x, spaces, floats)."""
    if _is_empty(raw):
        return None, []
    return normalize_id(raw)


def repair_cert(raw: str) -> tuple[str | None, list[str]]:
    """残疾人证号: a verifying 身份证号 + category digit 1-7 + grade digit 1-4."""
    kinds: list[str] = []
    value = _WHITESPACE.sub("", raw)
    if not value:
        return None, []
    if value != raw:
        kinds.append("id_whitespace")
    folded = value.translate(FULLWIDTH_TO_ASCII)
    if folded != value:
        kinds.append("id_fullwidth")
    if len(folded) != 20 or not _ID_CHARS.fullmatch(folded[:18]):
        raise BadValue("cert_malformed", f"{len(folded)} characters")
    id18, id_kinds = normalize_id(folded[:18])  # lower-case x; the check character
    category, grade = folded[18], folded[19]
    if category not in "1234567" or grade not in "1234":
        raise BadValue("cert_malformed", "category or grade digit out of range")
    return id18 + category + grade, kinds + id_kinds


def repair_code12(raw: str) -> tuple[str | None, list[str]]:
    """12-digit 行政区划代码, after stripping whitespace (or an XLSX "….0")."""
    value = raw.strip()
    if not value:
        return None, []
    kinds = ["code_whitespace"] if value != raw else []
    m = _CODE12.fullmatch(value)
    if not m:
        raise BadValue("code_malformed", value)
    if m.group(2):
        kinds.append("code_float_notation")
    return m.group(1), kinds


def repair_enum(raw: str, column: Column) -> tuple[str | None, list[str]]:
    """One of column.values; only the contract's listed misspellings are repaired."""
    if raw in column.values:
        return raw, []
    value = _WHITESPACE.sub("", raw)  # no listed value contains a space
    if not value:
        return None, []
    kinds = ["enum_whitespace"] if value != raw else []
    if value in column.values:
        return value, kinds
    if column.values == GRADES:
        m = _GRADE_DIGIT.fullmatch(value)
        if m:
            return GRADES[int(m.group(1)) - 1], kinds + ["grade_spelling"]
    if value == "城镇" and "城市" in column.values:
        return "城市", kinds + ["chengzhen_as_chengshi"]
    raise BadValue("enum_unknown", raw)


def repair_int(raw: str) -> tuple[int | None, list[str]]:
    """A count: digits, or an XLSX "3.0"; never negative."""
    value = raw.strip()
    if not value:
        return None, []
    kinds = ["int_whitespace"] if value != raw else []
    m = _INT.fullmatch(value)
    if not m:
        raise BadValue("int_unparseable", value)
    if m.group(1):
        raise BadValue("int_negative", value)
    if m.group(3):
        kinds.append("int_float_notation")
    number = int(m.group(2))
    if number > INT64_MAX:
        raise BadValue("int_unparseable", "too large")
    return number, kinds


def repair_amount(raw: str) -> tuple[float | None, list[str]]:
    """Decimal yuan: `1,234.50`, `931元`, `  931 `; never negative."""
    value = raw.strip()
    if not value:
        return None, []
    kinds = ["amount_whitespace"] if value != raw else []
    if value.endswith("元"):
        kinds.append("amount_yuan_suffix")
        value = value[:-1]
        if value != value.rstrip():
            value = value.rstrip()
            if "amount_whitespace" not in kinds:
                kinds.insert(0, "amount_whitespace")
    negative = value.startswith("-")
    number = value[1:] if negative else value
    if "," in number:
        if not _THOUSANDS.fullmatch(number):
            raise BadValue("amount_unparseable", raw)
        number = number.replace(",", "")
        kinds.append("amount_thousands")
    if not _DECIMAL.fullmatch(number):
        raise BadValue("amount_unparseable", raw)
    if negative:
        raise BadValue("amount_negative", raw)
    return float(number), kinds


_DATE_FORMS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII), None),
    (re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})", re.ASCII), "date_slash"),
    (re.compile(r"([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})", re.ASCII), "date_dot"),
    (re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", re.ASCII), "date_unpadded"),
    (re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII), "date_compact"),
    (re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日", re.ASCII), "date_chinese"),
    # What an XLSX reader makes of a date cell.
    (re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]00:00:00(?:\.0+)?", re.ASCII), "date_datetime"),
)
_EXCEL_SERIAL = re.compile(r"([0-9]{4,5})(?:\.0+)?", re.ASCII)


def repair_date(raw: str) -> tuple[date | None, list[str]]:
    """Every date spelling of the contract → a date in DATE_MIN..DATE_MAX."""
    value = raw.strip()
    if not value:
        return None, []
    kinds = ["date_whitespace"] if value != raw else []
    for pattern, kind in _DATE_FORMS:
        m = pattern.fullmatch(value)
        if m:
            parsed = _calendar_date(*(int(g) for g in m.groups()))
            return _in_range(parsed), kinds + ([kind] if kind else [])
    m = _EXCEL_SERIAL.fullmatch(value)
    if m and SERIAL_MIN <= int(m.group(1)) <= SERIAL_MAX:
        return EXCEL_EPOCH + timedelta(days=int(m.group(1))), kinds + ["date_excel_serial"]
    raise BadValue("date_unparseable", value)


def _calendar_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:  # 2024-02-30, month 13, year 0
        raise BadValue("date_unparseable", f"{year}-{month}-{day}") from None


def _in_range(value: date) -> date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise BadValue("date_out_of_range", value.isoformat())
    return value


_YYYYMM_FORMS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"([0-9]{4})([0-9]{2})", re.ASCII), None),
    (re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})", re.ASCII), "yyyymm_separator"),
    (re.compile(r"([0-9]{4})年([0-9]{1,2})月", re.ASCII), "yyyymm_chinese"),
    (re.compile(r"([0-9]{4})([0-9]{2})\.0+", re.ASCII), "yyyymm_float_notation"),
    # An XLSX date cell for the month: its first day at midnight.
    (re.compile(r"([0-9]{4})-([0-9]{2})-01[ T]00:00:00(?:\.0+)?", re.ASCII), "yyyymm_datetime"),
)


def repair_yyyymm(raw: str) -> tuple[str | None, list[str]]:
    """A month as 'YYYYMM' (year 1900..2099)."""
    value = raw.strip()
    if not value:
        return None, []
    kinds = ["yyyymm_whitespace"] if value != raw else []
    for pattern, kind in _YYYYMM_FORMS:
        m = pattern.fullmatch(value)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if not (DATE_MIN.year <= year <= DATE_MAX.year and 1 <= month <= 12):
                break
            return f"{year:04d}{month:02d}", kinds + ([kind] if kind else [])
    raise BadValue("yyyymm_unparseable", value)


# ------------------------------------------------------- vectorised canonical forms

# The check character needs Σ digit × weight over 17 digits. Rather than 17
# digit extractions, read the digits in chunks of three and look each chunk's
# weighted sum up in a table (1000 entries): 6 lookups, about 3× faster.
_CHUNKS = ((0, 3), (3, 3), (6, 3), (9, 3), (12, 3), (15, 2))


@lru_cache(maxsize=1)
def _chunk_tables() -> tuple[pl.Series, ...]:
    tables = []
    for start, size in _CHUNKS:
        weights = WEIGHTS[start:start + size]
        sums = [
            sum(int(d) * w for d, w in zip(f"{n:0{size}d}", weights))
            for n in range(10**size)
        ]
        tables.append(pl.Series(sums, dtype=pl.UInt16))
    return tuple(tables)


def _check_char(value: pl.Expr) -> pl.Expr:
    """GB 11643 check character of the first 17 characters (digits, per the caller's regex)."""
    total = pl.sum_horizontal([
        pl.lit(table).gather(value.str.slice(start, size).cast(pl.UInt16, strict=False))
        for (start, size), table in zip(_CHUNKS, _chunk_tables())
    ])
    return pl.lit(pl.Series(list(CHECK_CHARS))).gather(total % 11)


def _check_char_matches(value: pl.Expr) -> pl.Expr:
    return _check_char(value) == value.str.slice(17, 1)


def _canonical_id(value: pl.Expr) -> pl.Expr:
    return value.str.contains(r"^[0-9]{17}[0-9X]$") & _check_char_matches(value)


def _canonical_cert(value: pl.Expr) -> pl.Expr:
    return value.str.contains(r"^[0-9]{17}[0-9X][1-7][1-4]$") & _check_char_matches(value)


def _canonical_text(value: pl.Expr) -> pl.Expr:
    return (value != "") & (value.str.strip_chars() == value)


def _iso_date(value: pl.Expr) -> pl.Expr:
    return value.str.to_date("%Y-%m-%d", strict=False)


def _canonical_date(value: pl.Expr) -> pl.Expr:
    # The regex pins the format and the range; to_date rejects 2024-02-30.
    return value.str.contains(r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$") & _iso_date(value).is_not_null()


def _same(value: pl.Expr) -> pl.Expr:
    return value


def _strip(value: pl.Expr) -> pl.Expr:
    return value.str.strip_chars()


def _drop_float_zeros(value: pl.Expr) -> pl.Expr:
    return value.str.replace(r"^([0-9]{18})\.0+$", "${1}")


def _id15_to_18(value: pl.Expr) -> pl.Expr:
    first17 = pl.concat_str([value.str.slice(0, 6), pl.lit("19"), value.str.slice(6, 9)])
    return pl.when(value.str.contains(r"^[0-9]{15}$")).then(pl.concat_str([first17, _check_char(first17)]))


@dataclass(frozen=True)
class Rule:
    """How one column is checked (vectorised) and repaired (per distinct value).

    `canonical` must be False for empty strings: they take the scalar route,
    whose None becomes null or missing_mandatory.

    `bulk` lists repairs that can also be done vectorised, as (kind, transform):
    where the transformed raw value is canonical, the repair is exactly what the
    scalar function would do. They are used only when a column has many odd
    values — a whole export padded with spaces, or every ID written "….0" — so
    that a defect of the whole file does not send millions of distinct values
    through Python.
    """

    dtype: pl.DataType
    canonical: Callable[[pl.Expr], pl.Expr]  # True where the raw string is already canonical
    convert: Callable[[pl.Expr], pl.Expr]  # canonical string → typed value
    repair: Callable[[str], tuple[Any, list[str]]]
    bulk: tuple[tuple[str, Callable[[pl.Expr], pl.Expr]], ...] = ()


def rule_for(column: Column) -> Rule:
    kind = column.kind
    if kind == TEXT:
        return Rule(pl.String, _canonical_text, _same, repair_text, (("text_whitespace", _strip),))
    if kind == ID:
        bulk = (("id_whitespace", _strip), ("id_float_notation", _drop_float_zeros), ("id_15_to_18", _id15_to_18))
        return Rule(pl.String, _canonical_id, _same, repair_id, bulk)
    if kind == CERT:
        return Rule(pl.String, _canonical_cert, _same, repair_cert, (("id_whitespace", _strip),))
    if kind == CODE12:
        return Rule(
            pl.String, lambda v: v.str.contains(r"^[0-9]{12}$"), _same, repair_code12,
            (("code_whitespace", _strip),),
        )
    if kind == ENUM:
        values = list(column.values)
        return Rule(
            pl.String, lambda v: v.is_in(values), _same, lambda raw: repair_enum(raw, column),
            (("enum_whitespace", _strip),),
        )
    if kind == INT:
        return Rule(
            pl.Int64, lambda v: v.str.contains(r"^[0-9]{1,18}$"),
            lambda v: v.cast(pl.Int64, strict=False), repair_int, (("int_whitespace", _strip),),
        )
    if kind == AMOUNT:
        return Rule(
            pl.Float64, lambda v: v.str.contains(r"^[0-9]+(\.[0-9]+)?$"),
            lambda v: v.cast(pl.Float64, strict=False), repair_amount, (("amount_whitespace", _strip),),
        )
    if kind == DATE:
        return Rule(pl.Date, _canonical_date, _iso_date, repair_date, (("date_whitespace", _strip),))
    if kind == YYYYMM:
        return Rule(
            pl.String, lambda v: v.str.contains(r"^(19|20)[0-9]{2}(0[1-9]|1[0-2])$"), _same, repair_yyyymm,
            (("yyyymm_whitespace", _strip),),
        )
    raise ValueError(f"unknown column kind {kind!r} for {column.header}")


# --------------------------------------------------------------------- frames


def match_headers(headers: list[str], spec: FileSpec) -> tuple[list[str], list[str]]:
    """(delivered headers the contract does not know, contract headers not delivered)."""
    delivered = [h.strip() for h in headers if h not in (LINE, EXTRA)]
    extra = [h for h in delivered if h not in spec.headers]
    missing = [h for h in spec.headers if h not in delivered]
    return extra, missing


def repair_frame(frame: pl.DataFrame, spec: FileSpec) -> Repaired:
    """Split a read file (readers.ReadResult.frame) into clean, repairs, quarantine.

    Every row ends either in `clean` or, with at least one row, in `quarantine`.
    Raises MissingColumns when a mandatory header is not delivered.

    Each stage is one `with_columns` over all columns (polars runs them in
    parallel) and later stages read what earlier ones materialised, so nothing
    is computed twice: canonical masks → (bulk repairs, for crowded columns) →
    scalar answers for the odd distinct values → their positions → typed
    values, kinds, reasons.
    """
    if LINE not in frame.columns:
        raise ValueError(f"frame has no {LINE!r} column (use readers.read_file)")
    names = _column_names(frame, spec)
    plans = [_ColumnPlan(i, column, names.get(column.header)) for i, column in enumerate(spec.columns)]
    delivered = [p for p in plans if p.name is not None]

    # Work on the contract's columns only: unknown ones matter for duplicates alone.
    kept = [LINE, *(p.name for p in delivered), *([EXTRA] if EXTRA in frame.columns else [])]
    work = frame.select(kept).with_columns([p.canonical_mask() for p in delivered])
    crowded = [p for p in delivered if work.height - work[p.canon].sum() >= BULK_REPAIR_FROM]
    work = work.with_columns([e for p in crowded for e in p.bulk_masks()])
    _answer_odd_values(work, delivered)
    work = work.with_columns([p.odd_position() for p in delivered if p.has_odd()])
    work = work.with_columns([e for p in plans for e in p.outcome()])
    work = work.with_columns([p.mandatory_reason() for p in plans if not p.column.optional])

    surplus = pl.col(EXTRA) if EXTRA in frame.columns else pl.lit(None, pl.String)
    work = work.with_columns(_duplicate_copies(frame).alias("_duplicate"), surplus.alias("_surplus"))
    bad = pl.any_horizontal(
        [pl.col(p.reason).is_not_null() for p in plans] + [pl.col("_duplicate"), pl.col("_surplus").is_not_null()]
    )
    work = work.with_columns(bad.alias("_bad"))
    return Repaired(
        clean=work.filter(~pl.col("_bad")).select(
            [pl.col(p.value).alias(p.column.field) for p in plans] + [pl.col(LINE)]
        ),
        repairs=_repairs(work, delivered),
        quarantine=_quarantine(work, delivered, len(plans)),
    )


def _column_names(frame: pl.DataFrame, spec: FileSpec) -> dict[str, str]:
    """Contract header → frame column name (headers matched after stripping)."""
    names: dict[str, str] = {}
    for name in frame.columns:
        header = name.strip()
        if name in (LINE, EXTRA) or header not in spec.headers:
            continue
        if header in names:
            raise ValueError(f"column {header!r} delivered twice")
        names[header] = name
    missing = [c.header for c in spec.columns if not c.optional and c.header not in names]
    if missing:
        raise MissingColumns(missing)
    return names


class _ColumnPlan:
    """One contract column: its rule, working column names and odd-value answers."""

    def __init__(self, index: int, column: Column, name: str | None):
        self.column = column
        self.name = name  # the frame's column; None when the (optional) header is absent
        self.rule = rule_for(column)
        self.canon, self.pos, self.value, self.kind, self.reason = (
            f"_{part}{index}" for part in ("canon", "pos", "value", "kind", "reason")
        )
        self.bulk: list[tuple[str, str, Callable[[pl.Expr], pl.Expr]]] = []  # (mask column, kind, transform)
        self.odd: list[str] = []
        self.odd_values = pl.Series([], dtype=self.rule.dtype)
        self.odd_kinds = pl.Series([], dtype=pl.String)
        self.odd_reasons = pl.Series([], dtype=pl.String)

    def canonical_mask(self) -> pl.Expr:
        return self.rule.canonical(pl.col(self.name)).fill_null(False).alias(self.canon)

    def bulk_masks(self) -> list[pl.Expr]:
        """One mask per bulk repair: not canonical, but canonical once transformed."""
        raw = pl.col(self.name)
        masks = []
        for n, (kind, transform) in enumerate(self.rule.bulk):
            mask = f"{self.canon}_bulk{n}"
            self.bulk.append((mask, kind, transform))
            masks.append((~pl.col(self.canon) & self.rule.canonical(transform(raw)).fill_null(False)).alias(mask))
        return masks

    def odd_query(self) -> pl.Expr:
        """Distinct delivered values (empty ones too) that need the scalar repair."""
        raw = pl.col(self.name)
        done = pl.any_horizontal([pl.col(self.canon), *(pl.col(mask) for mask, _, _ in self.bulk)])
        return raw.filter(~done & raw.is_not_null()).unique()

    def answer(self, odd: list[str]) -> None:
        """Run the scalar repair once per odd value."""
        values, kinds, reasons = [], [], []
        for raw in odd:
            try:
                value, repairs = self.rule.repair(raw)
            except BadValue as bad:
                value, repairs = None, []
                reasons.append(bad.reason)
            else:
                reasons.append(None)
            values.append(value)
            kinds.append("+".join(repairs) or None)
        self.odd = odd
        self.odd_values = pl.Series(values, dtype=self.rule.dtype)
        self.odd_kinds = pl.Series(kinds, dtype=pl.String)
        self.odd_reasons = pl.Series(reasons, dtype=pl.String)

    def has_odd(self) -> bool:
        return bool(self.odd)

    def odd_position(self) -> pl.Expr:
        """Index of each odd cell's value in self.odd; null for canonical cells."""
        return (
            pl.when(~pl.col(self.canon)).then(pl.col(self.name))
            .replace_strict(self.odd, list(range(len(self.odd))), default=None, return_dtype=pl.UInt32)
            .alias(self.pos)
        )

    def outcome(self) -> list[pl.Expr]:
        """Typed value, repair kinds and reject reason of every cell."""
        if self.name is None:  # optional column not delivered: null, nothing to report
            return [
                pl.lit(None, self.rule.dtype).alias(self.value),
                pl.lit(None, pl.String).alias(self.kind),
                pl.lit(None, pl.String).alias(self.reason),
            ]
        raw = pl.col(self.name)
        value = pl.when(pl.col(self.canon)).then(self.rule.convert(raw))
        kind = pl.when(pl.col(self.canon)).then(pl.lit(None, pl.String))
        for mask, bulk_kind, transform in self.bulk:
            value = value.when(pl.col(mask)).then(self.rule.convert(transform(raw)))
            kind = kind.when(pl.col(mask)).then(pl.lit(bulk_kind))
        reason = pl.when(raw.is_null()).then(pl.lit("missing_field"))
        if self.has_odd():
            position = pl.col(self.pos)
            value = value.otherwise(pl.lit(self.odd_values).gather(position))
            kind = kind.otherwise(pl.lit(self.odd_kinds).gather(position))
            reason = reason.otherwise(pl.lit(self.odd_reasons).gather(position))
        return [value.alias(self.value), kind.alias(self.kind), reason.alias(self.reason)]

    def mandatory_reason(self) -> pl.Expr:
        # Whatever the route, a mandatory column never loads a null.
        missing = pl.when(pl.col(self.value).is_null()).then(pl.lit("missing_mandatory"))
        return pl.coalesce(pl.col(self.reason), missing).alias(self.reason)


def _answer_odd_values(work: pl.DataFrame, plans: list[_ColumnPlan]) -> None:
    """Run the scalar repairs over each column's distinct odd values (few, usually)."""
    lazy = work.lazy()
    found = pl.collect_all([lazy.select(p.odd_query().alias("odd")) for p in plans])
    for plan, odd in zip(plans, found):
        plan.answer(odd["odd"].to_list())


def _duplicate_copies(frame: pl.DataFrame) -> pl.Series:
    """True for every exact copy of an earlier row (all delivered cells equal).

    Hash first, then compare the few rows whose hash repeats cell by cell, so a
    hash collision can never make two different rows duplicates.
    """
    cells = [c for c in frame.columns if c != LINE]
    copies = pl.Series("_duplicate", [False] * frame.height, dtype=pl.Boolean)
    maybe = frame.select(pl.struct(cells).hash().is_duplicated()).to_series()
    if not maybe.any():
        return copies
    candidates = frame.filter(maybe).select(~pl.struct(cells).is_first_distinct()).to_series()
    return copies.scatter(maybe.arg_true(), candidates)


def _repairs(work: pl.DataFrame, plans: list[_ColumnPlan]) -> pl.DataFrame:
    loaded = work.filter(~pl.col("_bad"))
    parts = [
        loaded.filter(pl.col(p.kind).is_not_null()).select(
            pl.col(LINE),
            pl.lit(p.column.header).alias("column_name"),
            pl.col(p.name).alias("raw_value"),
            pl.col(p.kind).alias("kind"),
            _as_text(pl.col(p.value), p.rule.dtype).alias("repaired_value"),
            pl.lit(i).alias("_order"),
        )
        for i, p in enumerate(plans)
    ]
    return _stack(parts, REPAIRS_SCHEMA)


def _as_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A repaired value as text: ISO dates, yuan with two decimals (931元 → "931.00")."""
    if dtype != pl.Float64:
        return value.cast(pl.String)
    cents = (value * 100).round(0)
    whole_cents = ((value * 100 - cents).abs() < 1e-6) & (value.abs() < 1e13)
    cents = cents.cast(pl.Int64, strict=False)
    yuan = pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))
    return pl.when(whole_cents).then(yuan).otherwise(value.cast(pl.String))


def _quarantine(work: pl.DataFrame, plans: list[_ColumnPlan], row_level: int) -> pl.DataFrame:
    """One row per bad cell of a first copy, per extra-field row, per duplicate copy."""
    first_copies = work.filter(~pl.col("_duplicate"))
    parts = [
        first_copies.filter(pl.col(p.reason).is_not_null()).select(
            pl.col(LINE),
            pl.lit(p.column.header).alias("column_name"),
            pl.col(p.name).alias("raw_value"),
            pl.col(p.reason).alias("reason"),
            pl.lit(i).alias("_order"),
        )
        for i, p in enumerate(plans)
    ]
    # Row-level reasons sort after the cells of the same line.
    parts.append(
        first_copies.filter(pl.col("_surplus").is_not_null()).select(
            pl.col(LINE),
            pl.lit(None, pl.String).alias("column_name"),
            pl.col("_surplus").alias("raw_value"),
            pl.lit("extra_fields").alias("reason"),
            pl.lit(row_level).alias("_order"),
        )
    )
    parts.append(
        work.filter(pl.col("_duplicate")).select(
            pl.col(LINE),
            pl.lit(None, pl.String).alias("column_name"),
            pl.lit(None, pl.String).alias("raw_value"),
            pl.lit("duplicate_row").alias("reason"),
            pl.lit(row_level).alias("_order"),
        )
    )
    return _stack(parts, QUARANTINE_SCHEMA)


def _stack(parts: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    parts = [p.cast({**schema, "_order": pl.Int32}) for p in parts]
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).sort([LINE, "_order"]).drop("_order")
