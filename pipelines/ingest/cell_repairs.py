"""Scalar repairs: one raw string of a contract column → (value, repair kinds), or
idcard.BadValue(reason) when it has no correct reading (docs/ingest.md)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pipelines.sources.contract import GRADES, Column
from pipelines.sources.idcard import FULLWIDTH_TO_ASCII, BadValue, normalize_id

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2099, 12, 31)
EXCEL_EPOCH = date(1899, 12, 30)  # epoch + serial days: right from 1900-03-01, past Excel's fake 1900-02-29
SERIAL_MIN = (date(1910, 1, 1) - EXCEL_EPOCH).days  # 3654
SERIAL_MAX = (DATE_MAX - EXCEL_EPOCH).days  # 73050

INT64_MAX = 2**63 - 1
# No monthly amount in these files (a per-capita income, a benefit, a contribution base) comes
# near 100 million 元; a value that large is a phone number or an ID typed into the wrong
# column, and from 10 billion on it does not even fit the warehouse's DECIMAL(12,2).
AMOUNT_LIMIT = 10**8

# All patterns are ASCII: Python's and polars' \d would also match ３ or ٣.
_WHITESPACE = re.compile(r"\s+")
_ID_CHARS = re.compile(r"[0-9]{17}[0-9Xx]", re.ASCII)
_CODE12 = re.compile(r"([0-9]{12})(\.0+)?", re.ASCII)
_INT = re.compile(r"(-?)([0-9]+)(\.0+)?", re.ASCII)
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_THOUSANDS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", re.ASCII)
_GRADE_DIGIT = re.compile(r"([1-4])级?", re.ASCII)


def _is_empty(raw: str | None) -> bool:
    return raw is None or not raw.strip()


def repair_text(raw: str) -> tuple[str | None, list[str]]:
    """Free text: only surrounding whitespace is removed."""
    value = raw.strip()
    if not value:
        return None, []
    return value, (["text_whitespace"] if value != raw else [])


# A float holds every integer up to 2**53 (16 digits); a longer key written as a float may have
# had its last digits changed, and is not guessed.
FLOAT_EXACT = 2**53
_KEY_FLOAT = re.compile(r"([0-9]+)\.0+", re.ASCII)
_KEY_SCIENTIFIC = re.compile(r"([0-9])(?:\.([0-9]+))?[eE]\+?([0-9]{1,2})", re.ASCII)


def repair_key(raw: str) -> tuple[str | None, list[str]]:
    """家庭编号: text, surrounding whitespace removed; an all-digit key that a spreadsheet or a
    program wrote as a float (`3715020010010001.0`, `3.715020010010001E+15`) is read back
    when every digit is there, else rejected (id_lossy_float). Left as delivered, one month's
    keys in float form read as every household leaving and others arriving."""
    value, kinds = repair_text(raw)
    if value is None:
        return None, kinds
    if m := _KEY_FLOAT.fullmatch(value):
        digits = m.group(1)
    elif m := _KEY_SCIENTIFIC.fullmatch(value):
        shown = m.group(1) + (m.group(2) or "")
        exponent = int(m.group(3))
        if len(shown.rstrip("0")) > exponent + 1:
            return value, kinds  # a fraction: no key a float made, left as text
        if len(shown) < exponent + 1:
            raise BadValue("id_lossy_float", value)  # digits not shown are lost
        digits = shown[:exponent + 1]
    else:
        return value, kinds
    if int(digits) > FLOAT_EXACT:
        raise BadValue("id_lossy_float", value)
    return digits, kinds + ["key_float_notation"]


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
    exact = Decimal(number)
    if exact >= AMOUNT_LIMIT:  # before rounding: 28 digits are all a Decimal rounds
        raise BadValue("amount_out_of_range", raw)
    cents = exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
    if cents >= AMOUNT_LIMIT:
        raise BadValue("amount_out_of_range", raw)
    if cents != exact:  # a yuan amount is kept to the fen (DECIMAL(12,2)): said, not done silently
        kinds.append("amount_rounded")
    return float(cents), kinds


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
_EXCEL_SERIAL = re.compile(r"([0-9]{4,5})(?:\.([0-9]+))?", re.ASCII)
# A time of day after a date (a system's timestamp, a spreadsheet's date-time cell) or a serial's
# fraction of a day: the day is the date; the time, which no field of the contract holds, is
# dropped. One date of the forms above, one time, nothing after it.
_WITH_TIME = re.compile(r"(.+?)(?:T| +)([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?", re.ASCII)


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
        time = ["date_time_dropped"] if (m.group(2) or "0").strip("0") else []
        return EXCEL_EPOCH + timedelta(days=int(m.group(1))), kinds + ["date_excel_serial"] + time
    m = _WITH_TIME.fullmatch(value)
    if m and int(m.group(2)) < 24 and int(m.group(3)) < 60 and int(m.group(4) or 0) < 60:
        for pattern, kind in _DATE_FORMS[:-1]:  # the date forms, not a date-time again
            day = pattern.fullmatch(m.group(1))
            if day:
                parsed = _calendar_date(*(int(g) for g in day.groups()))
                return _in_range(parsed), kinds + ([kind] if kind else []) + ["date_time_dropped"]
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
