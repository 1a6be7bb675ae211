"""身份证号 (GB 11643-1999): check characters, 15→18 conversion and repair.

`normalize_id` returns the one correct 18-character reading of a delivered value
and the repairs it took, or raises `BadValue` with the reason when there is none.
"""

from __future__ import annotations

import re
from datetime import date, datetime

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

ID18_RE = re.compile(r"^\d{17}[\dX]$")
# the births an ID may give, as for a date column (cell_repairs.DATE_MIN, DATE_MAX)
BIRTH_MIN, BIRTH_MAX = date(1900, 1, 1), date(2099, 12, 31)
_FLOAT_RE = re.compile(r"^(\d+)\.0+$")
_SCI_RE = re.compile(r"^(\d)\.(\d+)E\+?(\d+)$")
_SPACES_RE = re.compile(r"\s+")

# Full-width ASCII (U+FF01..U+FF5E) → ASCII. Deliberately not NFKC, which also
# turns ①, ² or the roman numeral ⅹ into digits and x: those are not a
# full-width spelling of a digit, so they have no single correct reading.
FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


class BadValue(ValueError):
    """A delivered value with no correct reading; `reason` is the quarantine code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def is_valid_id(value: str) -> bool:
    return bool(ID18_RE.match(value)) and check_char(value[:17]) == value[17]


def id15_to_18(id15: str) -> str:
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + check_char(first17)


def normalize_id(raw: str) -> tuple[str, list[str]]:
    """Return (18-char id, repair kinds) or raise BadValue."""
    repairs: list[str] = []
    value = raw
    stripped = _SPACES_RE.sub("", value.replace("\u3000", " "))
    if stripped != value:
        repairs.append("id_whitespace")
        value = stripped
    if not value:
        raise BadValue("missing_mandatory")
    folded = value.translate(FULLWIDTH_TO_ASCII)
    if folded != value:
        repairs.append("id_fullwidth")
        value = folded
    if "x" in value:
        repairs.append("id_lowercase_x")
        value = value.replace("x", "X")
    if not value.isascii():
        raise BadValue("id_malformed", "non-digit characters")
    value, float_repair = _unfloat(value)
    if float_repair:
        repairs.append(float_repair)
    if len(value) == 15 and value.isdigit():
        value = id15_to_18(value)
        repairs.append("id_15_to_18")
    if not ID18_RE.match(value):
        raise BadValue("id_malformed", f"{len(value)} characters")
    if check_char(value[:17]) != value[17]:
        raise BadValue("id_check_failed")
    _check_birth(value[6:14])
    return value, repairs


def _check_birth(digits: str) -> None:
    """Digits 7-14 are a birth date (GB 11643) from 1900 on: a check character that verifies
    over 19900231 or 18240101 made a person of no age or of 200 on the 单人保 list."""
    try:
        born = datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        raise BadValue("id_malformed", f"birth date {digits} is no date") from None
    if not BIRTH_MIN <= born <= BIRTH_MAX:
        raise BadValue("id_malformed", f"birth date {digits} outside {BIRTH_MIN.year}-{BIRTH_MAX.year}")


def _unfloat(value: str) -> tuple[str, str | None]:
    """Undo spreadsheet float notation when every digit survived it."""
    m = _FLOAT_RE.match(value)
    if m:
        return m.group(1), "id_float_notation"
    m = _SCI_RE.match(value.upper())
    if not m:
        return value, None
    head, frac, exp = m.group(1), m.group(2), int(m.group(3))
    digits = head + frac
    if len(digits) < exp + 1:
        # 3.715021990E+17: the spreadsheet kept fewer digits than the number had.
        raise BadValue("id_lossy_float", "digits lost in float notation")
    if digits[exp + 1:].strip("0"):
        raise BadValue("id_lossy_float", "not an integer")
    # The integer part: 18 digits for an ID, 15 for an old one (15→18 follows).
    return digits[: exp + 1], "id_float_notation"


def mask_id(id18: str) -> str:
    """First 6 + last 4 characters, the rest starred (outputs.md, Privacy)."""
    return id18[:6] + "*" * (len(id18) - 10) + id18[-4:]


def is_local(id18: str) -> bool:
    from pipelines.sources.contract import LOCAL_ID_PREFIXES

    return id18.startswith(LOCAL_ID_PREFIXES)
