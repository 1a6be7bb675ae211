"""The catalogue of cell defects: for each kind, the columns it applies to, the
values it can spoil, and how it spoils one (table in docs/generator.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np
import polars as pl

from pipelines.sources.contract import AMOUNT, CERT, DATE, ENUM, ID, Column, FileSpec
from pipelines.sources.idcard import CHECK_CHARS

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
