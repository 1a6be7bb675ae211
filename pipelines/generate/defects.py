"""Every deviation of sources.md's "What real deliveries get wrong", injected on purpose.

Cell defects (one bad cell each; a row may get two in different columns):

| kind | columns | repairable | example |
|---|---|---|---|
| id_15_digit | IDs of people born 19xx | yes | `371502900101123` |
| id_lowercase_x | IDs/证号 ending in X | yes | `...123x` |
| id_fullwidth_x | IDs/证号 ending in X | yes | `...123ｘ` |
| id_spaces | IDs, 证号 | yes | `371502 19900101 1234` |
| id_fullwidth_digits | IDs, 证号 | yes | `３７１５０２...` |
| id_float | IDs ending in a digit | yes | `371502199001011234.0` |
| id_float_sci | IDs ending in a digit | yes | `3.71502199001011234E+17` |
| id_check_failed | IDs, 证号 | no | last character changed |
| id_float_lossy | IDs ending in a digit | no | `3.715021990E+17` |
| date_slash / date_compact / date_chinese / date_dot / date_excel_serial | dates | yes | `2024/6/19`, `20240619`, `2024年6月19日`, `2024.06.19`, `45462` |
| date_invalid | dates | no | `2024-13-19`, `2024-06-32`, `0000-00-00` |
| amount_thousands / amount_yuan / amount_spaces | amounts | yes | `1,234.50`, `931元`, `  931.00 ` |
| amount_negative | amounts > 0 | no | `-612.50` |
| enum_spaces | enums | yes | ` 低保 ` |
| urban_chengzhen | 城乡属性 = 城市 | yes | `城镇` |
| grade_ji / grade_digit | 残疾等级 | yes | `2级`, `2` |
| enum_unknown | enums | no | `五保`, `无劳动能力`, `5级` (plausible, never guessed) |
| missing_mandatory | every mandatory column | no | empty cell |

Row defect: duplicate_row (an exact copy of a clean row, right after it or at the
end of the file; the copy is the defect). Cross-source conflicts (rows load as
delivered; effect "conflict"): member_in_two_households, household_size_mismatch,
member_household_missing, cert_digits_mismatch, rs_unknown_id. File forms
(effect "format", decided in deliver.py): extra_column, column_order,
trailing_blank_line, header_only; encodings and XLSX are in deliveries.parquet.

Counts: each kind gets rate x rows of every column it applies to, and at least
max(4, number of such columns) over the whole run, so the smallest scale still
has several of each kind and every applicable column gets one. A kind's count is
spread over the deliveries of each file in proportion to their rows; what a
delivery cannot take (too few eligible values) moves to the next one.
Repairable defects keep exactly one correct reading (15 digits only for 19xx
births, lower-case x only where the check character is X, an Excel serial only
for dates after 1927-05-18 so it has five digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np
import polars as pl

from pipelines.sources.contract import AMOUNT, CERT, DATE, ENUM, ID, Column, FileSpec
from pipelines.sources.idcard import CHECK_CHARS

REPAIRED, QUARANTINED, CONFLICT, FORMAT = "repaired", "quarantined", "conflict", "format"
RECORD_SCHEMA = {
    "rid": pl.Int64, "column_name": pl.String, "kind": pl.String, "raw_value": pl.String,
    "repairable": pl.Boolean, "expected_value": pl.String, "effect": pl.String, "note": pl.String,
    "line_number": pl.Int64,
}

_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL_FROM = "1927-05-18"  # serial 10000: earlier dates would have 4 digits

UNKNOWN_VALUES: dict[str, tuple[str, ...]] = {
    "城乡属性": ("乡村", "城乡结合部"),
    "保障类别": ("五保", "特困供养", "临时救助"),
    "保障状态": ("暂停", "待审核"),
    "与户主关系": ("儿媳", "女婿", "外孙子女"),
    "性别": ("未知", "未说明"),
    "劳动能力": ("无劳动能力", "丧失劳动能力"),
    "健康状况": ("一般", "良好"),
    "在校生": ("Y", "N"),
    "残疾类别": ("肢残", "视障", "多重残疾"),
    "残疾等级": ("五级", "5级", "特级"),
    "证件状态": ("挂失", "过期"),
    "享受生活补贴": ("有", "无"),
    "享受护理补贴": ("有", "无"),
    "登记类型": ("灵活就业登记", "就业失业登记"),
    "险种": ("城镇职工基本医疗保险", "工伤保险"),
}
_GRADE_NUMBER = {"一级": "1", "二级": "2", "三级": "3", "四级": "4"}


def _ymd(v: str) -> tuple[int, int, int]:
    return int(v[:4]), int(v[5:7]), int(v[8:10])


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(0, len(options)))]


# ------------------------------------------------------------ transforms

def _id15(v, rng, col):
    return v[:6] + v[8:17]


def _lower_x(v, rng, col):
    return v[:17] + "x" + v[18:]


def _fullwidth_x(v, rng, col):
    return v[:17] + _pick(rng, ("ｘ", "Ｘ")) + v[18:]


def _id_spaces(v, rng, col):
    variant = int(rng.integers(0, 3))
    if variant == 0:
        return " " + v
    if variant == 1:
        return v + " "
    return v[:6] + " " + v[6:14] + " " + v[14:]


def _fullwidth_digits(v, rng, col):
    return v.translate(_FULLWIDTH)


def _float(v, rng, col):
    return v + ".0"


def _float_sci(v, rng, col):
    return f"{v[0]}.{v[1:18]}E+17"


def _float_lossy(v, rng, col):
    return f"{v[0]}.{v[1:10]}E+17"


def _check_failed(v, rng, col):
    wrong = [c for c in CHECK_CHARS if c != v[17]]
    return v[:17] + _pick(rng, wrong) + v[18:]


def _missing(v, rng, col):
    return ""


def _date_slash(v, rng, col):
    y, m, d = _ymd(v)
    return f"{y}/{m}/{d}"


def _date_compact(v, rng, col):
    return v.replace("-", "")


def _date_chinese(v, rng, col):
    y, m, d = _ymd(v)
    return f"{y}年{m}月{d}日"


def _date_dot(v, rng, col):
    return v.replace("-", ".")


def _date_serial(v, rng, col):
    return str((date(*_ymd(v)) - _EXCEL_EPOCH).days)


def _date_invalid(v, rng, col):
    return _pick(rng, (v[:5] + "13" + v[7:], v[:8] + "32", "0000-00-00"))


def _amount_thousands(v, rng, col):
    return f"{float(v):,.2f}"


def _amount_yuan(v, rng, col):
    return (v[:-3] if v.endswith(".00") else v) + "元"


def _amount_spaces(v, rng, col):
    return "  " + v + " "


def _negative(v, rng, col):
    return "-" + v


def _enum_spaces(v, rng, col):
    return _pick(rng, (" " + v, v + " ", " " + v + "  "))


def _chengzhen(v, rng, col):
    return "城镇"


def _grade_ji(v, rng, col):
    return _GRADE_NUMBER[v] + "级"


def _grade_digit(v, rng, col):
    return _GRADE_NUMBER[v]


def _unknown(v, rng, col):
    return _pick(rng, UNKNOWN_VALUES[col])


# ------------------------------------------------------------ eligibility

def _any(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & (pl.col(col) != "")


def _ends_x(col: str) -> pl.Expr:
    return _any(col) & (pl.col(col).str.slice(17, 1) == "X")


def _ends_digit(col: str) -> pl.Expr:
    return _any(col) & (pl.col(col).str.slice(17, 1) != "X")


def _born_19xx(col: str) -> pl.Expr:
    return _any(col) & (pl.col(col).str.slice(6, 2) == "19")


def _serial_ok(col: str) -> pl.Expr:
    return _any(col) & (pl.col(col) >= _SERIAL_FROM)


def _amount_from(limit: float) -> Callable[[str], pl.Expr]:
    def eligible(col: str) -> pl.Expr:
        return _any(col) & (pl.col(col).cast(pl.Float64, strict=False) >= limit)
    return eligible


def _positive(col: str) -> pl.Expr:
    return _any(col) & (pl.col(col).cast(pl.Float64, strict=False) > 0)


def _is_city(col: str) -> pl.Expr:
    return pl.col(col) == "城市"


# ------------------------------------------------------------ catalogue

def _kinds(*kinds_: str) -> Callable[[FileSpec, Column], bool]:
    return lambda f, c: c.kind in kinds_


def _mandatory(f: FileSpec, c: Column) -> bool:
    return not c.optional


def _header(name: str) -> Callable[[FileSpec, Column], bool]:
    return lambda f, c: c.header == name


def _enum_with_unknowns(f: FileSpec, c: Column) -> bool:
    return c.kind == ENUM and c.header in UNKNOWN_VALUES


@dataclass(frozen=True)
class Kind:
    name: str
    repairable: bool
    rate: float  # per row of every column it applies to
    applies: Callable[[FileSpec, Column], bool]
    eligible: Callable[[str], pl.Expr]
    make: Callable[[str, np.random.Generator, str], str]


CELL_KINDS: tuple[Kind, ...] = (
    Kind("id_15_digit", True, 3e-4, _kinds(ID), _born_19xx, _id15),
    Kind("id_lowercase_x", True, 3e-4, _kinds(ID, CERT), _ends_x, _lower_x),
    Kind("id_fullwidth_x", True, 2e-4, _kinds(ID, CERT), _ends_x, _fullwidth_x),
    Kind("id_spaces", True, 3e-4, _kinds(ID, CERT), _any, _id_spaces),
    Kind("id_fullwidth_digits", True, 2e-4, _kinds(ID, CERT), _any, _fullwidth_digits),
    Kind("id_float", True, 2e-4, _kinds(ID), _ends_digit, _float),
    Kind("id_float_sci", True, 2e-4, _kinds(ID), _ends_digit, _float_sci),
    Kind("id_check_failed", False, 2e-4, _kinds(ID, CERT), _any, _check_failed),
    Kind("id_float_lossy", False, 1e-4, _kinds(ID), _ends_digit, _float_lossy),
    Kind("date_slash", True, 2e-4, _kinds(DATE), _any, _date_slash),
    Kind("date_compact", True, 2e-4, _kinds(DATE), _any, _date_compact),
    Kind("date_chinese", True, 2e-4, _kinds(DATE), _any, _date_chinese),
    Kind("date_dot", True, 2e-4, _kinds(DATE), _any, _date_dot),
    Kind("date_excel_serial", True, 2e-4, _kinds(DATE), _serial_ok, _date_serial),
    Kind("date_invalid", False, 5e-5, _kinds(DATE), _any, _date_invalid),
    Kind("amount_thousands", True, 3e-4, _kinds(AMOUNT), _amount_from(1000), _amount_thousands),
    Kind("amount_yuan", True, 3e-4, _kinds(AMOUNT), _any, _amount_yuan),
    Kind("amount_spaces", True, 3e-4, _kinds(AMOUNT), _any, _amount_spaces),
    Kind("amount_negative", False, 1e-4, _kinds(AMOUNT), _positive, _negative),
    Kind("enum_spaces", True, 2e-4, _kinds(ENUM), _any, _enum_spaces),
    Kind("urban_chengzhen", True, 1e-3, _header("城乡属性"), _is_city, _chengzhen),
    Kind("grade_ji", True, 1e-3, _header("残疾等级"), _any, _grade_ji),
    Kind("grade_digit", True, 5e-4, _header("残疾等级"), _any, _grade_digit),
    Kind("enum_unknown", False, 1e-4, _enum_with_unknowns, _any, _unknown),
    Kind("missing_mandatory", False, 5e-5, _mandatory, _any, _missing),
)
CELL = {k.name: k for k in CELL_KINDS}

# Planned row-level and cross-source kinds: (rate per row, file key)
DUPLICATE_RATE = 5e-4
CONFLICT_RATES = {
    "member_in_two_households": (1e-4, "mz_members"),
    "household_size_mismatch": (2e-4, "mz_households"),
    "member_household_missing": (1e-4, "mz_households"),
}
MINIMUM = 4


# ------------------------------------------------------------ planning

@dataclass(frozen=True)
class Slot:
    file: str  # FileSpec.key
    column: str | None  # header; None for row-level kinds
    kind: str


def plan(rng: np.random.Generator, files: list[FileSpec],
         rows: dict[str, list[int]]) -> dict[tuple[str, int], list[tuple[Slot, int]]]:
    """How many defects of each slot go into each delivery.

    `rows[file key]` lists the (expected) data rows of that file in each of its
    deliveries, in delivery order. Returns {(file key, delivery number): [(slot, n)]}.
    """
    slots: dict[str, list[Slot]] = {}
    for f in files:
        for c in f.columns:
            for k in CELL_KINDS:
                if k.applies(f, c):
                    slots.setdefault(k.name, []).append(Slot(f.key, c.header, k.name))
        slots.setdefault("duplicate_row", []).append(Slot(f.key, None, "duplicate_row"))
    for name, (_, key) in CONFLICT_RATES.items():
        slots[name] = [Slot(key, None, name)]
    rate = {k.name: k.rate for k in CELL_KINDS} | {"duplicate_row": DUPLICATE_RATE} | {
        name: r for name, (r, _) in CONFLICT_RATES.items()}

    out: dict[tuple[str, int], list[tuple[Slot, int]]] = {}
    for name in sorted(slots):
        kind_slots = slots[name]
        totals = np.array([sum(rows.get(s.file, [])) for s in kind_slots], np.float64)
        if totals.sum() == 0:
            continue
        quota = max(MINIMUM, len(kind_slots), round(rate[name] * totals.sum()))
        per_slot = np.zeros(len(kind_slots), np.int64)
        live = np.flatnonzero(totals > 0)
        if quota >= len(live):
            per_slot[live] = 1
            quota -= len(live)
        per_slot += rng.multinomial(quota, totals / totals.sum())
        for slot, n in zip(kind_slots, per_slot):
            r = np.array(rows[slot.file], np.float64)
            if n == 0 or r.sum() == 0:
                continue
            for d, k in enumerate(rng.multinomial(int(n), r / r.sum())):
                if k:
                    out.setdefault((slot.file, d), []).append((slot, int(k)))
    return out


# ------------------------------------------------------------ injection

class Injector:
    """Applies defects to one clean frame and remembers where they went.

    Rows are identified by `_rid` (stable across sorting and insertion); line
    numbers are assigned once the final row order is known.
    """

    def __init__(self, df: pl.DataFrame, rng: np.random.Generator):
        self.df = df.with_columns(_rid=pl.int_range(df.height, dtype=pl.Int64))
        self.rng = rng
        self.records: list[dict] = []
        self.bad_rids: set[int] = set()  # rows a pipeline must quarantine
        self._dirty: dict[str, set[int]] = {}
        self.duplicates: list[tuple[int, bool]] = []  # (rid, placed right after the original)

    # cells ------------------------------------------------------------

    def cells(self, header: str, kind: Kind, n: int) -> int:
        """Put n defects of a kind in a column; returns how many did not fit."""
        df = self.df
        mask = df.select(kind.eligible(header).fill_null(False)).to_series().to_numpy()
        mask &= ~df["_protect"].to_numpy()
        if not kind.repairable:
            mask &= ~df["_planted"].to_numpy()
        rid = df["_rid"].to_numpy()
        dirty = self._dirty.setdefault(header, set())
        if dirty:
            mask &= ~np.isin(rid, np.fromiter(dirty, np.int64))
        candidates = np.flatnonzero(mask)
        take = min(n, len(candidates))
        if take == 0:
            return n
        chosen = np.sort(self.rng.choice(candidates, size=take, replace=False))
        clean = df[header].gather(chosen).to_list()
        raw = [kind.make(v, self.rng, header) for v in clean]
        s = df[header].clone()
        s.scatter(chosen, raw)
        self.df = df.with_columns(s)
        for i, c, r in zip(rid[chosen], clean, raw):
            self._record(int(i), header, kind.name, r, kind.repairable, c if kind.repairable else None,
                         REPAIRED if kind.repairable else QUARANTINED)
            dirty.add(int(i))
            if not kind.repairable:
                self.bad_rids.add(int(i))
        return n - take

    def duplicate(self, n: int) -> int:
        df = self.df
        dirty = set().union(*self._dirty.values()) if self._dirty else set()
        rid = df["_rid"].to_numpy()
        ok = ~df["_protect"].to_numpy() & ~df["_planted"].to_numpy() & ~np.isin(
            rid, np.fromiter(dirty, np.int64) if dirty else np.zeros(0, np.int64))
        candidates = np.flatnonzero(ok)
        take = min(n, len(candidates))
        for i in self.rng.choice(candidates, size=take, replace=False):
            self.duplicates.append((int(rid[i]), bool(self.rng.random() < 0.5)))
        return n - take

    def _record(self, rid: int, column: str | None, kind: str, raw: str | None, repairable: bool,
                expected: str | None, effect: str, note: str | None = None) -> None:
        self.records.append(dict(rid=rid, column_name=column, kind=kind, raw_value=raw,
                                 repairable=repairable, expected_value=expected, effect=effect,
                                 note=note))

    def conflict(self, rids: np.ndarray, column: str, kind: str, raws: list[str],
                 notes: list[str | None]) -> None:
        for rid, raw, note in zip(rids, raws, notes):
            self._record(int(rid), column, kind, raw, False, None, CONFLICT, note)

    # layout -----------------------------------------------------------

    def final(self) -> tuple[pl.DataFrame, list[dict]]:
        """The rows in file order (duplicates inserted) and the records with
        line numbers (header = line 1)."""
        df = self.df
        rid = df["_rid"].to_numpy()
        pos_of = {int(r): i for i, r in enumerate(rid)}
        keys = [(2 * i, i) for i in range(df.height)]
        dup_records = []
        for j, (r, after) in enumerate(self.duplicates):
            i = pos_of[r]
            key = 2 * i + 1 if after else 2 * df.height + j
            keys.append((key, i))
            dup_records.append(key)
        keys.sort()
        order = np.array([i for _, i in keys], np.int64)
        line_of_key = {k: n + 2 for n, (k, _) in enumerate(keys)}
        out = df[order]
        records = []
        for rec in self.records:
            records.append({**rec, "line_number": line_of_key[2 * pos_of[rec["rid"]]]})
        for key, (r, _) in zip(dup_records, self.duplicates):
            records.append(dict(rid=r, column_name=None, kind="duplicate_row", raw_value=None,
                                repairable=False, expected_value=None, effect=QUARANTINED, note=None,
                                line_number=line_of_key[key]))
        return out, records
