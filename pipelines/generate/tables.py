"""Clean delivery tables: the simulation's integers rendered as the contract's text.

Each function returns a polars frame whose first columns are the contract's
headers, in the contract's order, every value a string (null = empty cell), and
whose hidden columns (leading underscore) say whom each row is about:

- `_person`: index of the person the row describes (-1 for none);
- `_household`: index of the household (mz rows), -1 otherwise;
- `_planted`: the row belongs to a planted 单人保 case, so it must stay loadable;
- `_protect`: the row carries a cross-source conflict and must stay clean.

Defects are applied to these frames afterwards (defects.py); the hidden columns
are dropped when the file is written.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.sources.contract import CATEGORIES, spec
from pipelines.generate.codes import (
    ABILITIES,
    CERT_STATUS,
    GRADE_NAMES,
    HEALTHS,
    INSURANCES,
    NO,
    REGISTRATIONS,
    RELATIONS,
    RESIDENT_PENSION,
    STATUS,
    TYPES,
    URBAN_RURAL,
    YES,
)
from pipelines.generate.population import Population
from pipelines.generate.simulate import Snapshot
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline, age_on

HIDDEN = ("_person", "_household", "_planted", "_protect")


def iso_dates(days: np.ndarray) -> pl.Series:
    """ISO dates from epoch days; negative sentinels (-1) become empty."""
    s = pl.Series(np.asarray(days, np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d")
    return pl.select(pl.when(pl.Series(np.asarray(days) < 0)).then(None).otherwise(s)).to_series()


def amounts(yuan: np.ndarray) -> pl.Series:
    """Decimal yuan with two places ("612.50"); NaN becomes empty."""
    yuan = np.asarray(yuan, np.float64)
    missing = np.isnan(yuan)
    cents = np.round(np.nan_to_num(yuan) * 100).astype(np.int64)
    s = (pl.Series(cents // 100).cast(pl.String) + "."
         + pl.Series(cents % 100).cast(pl.String).str.zfill(2))
    return pl.select(pl.when(pl.Series(missing)).then(None).otherwise(s)).to_series()


def lookup(values: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    return pl.Series(list(values))[np.asarray(codes, np.int64)]


def _frame(columns: dict[str, pl.Series | list], hidden: dict[str, np.ndarray], spec_) -> pl.DataFrame:
    df = pl.DataFrame({h: columns[h] for h in spec_.headers})
    df = df.with_columns(pl.col(h).cast(pl.String) for h in spec_.headers)
    extra = {k: pl.Series(k, v) for k, v in hidden.items()}
    extra.setdefault("_protect", pl.Series("_protect", np.zeros(df.height, bool)))
    return df.with_columns(**extra)


class Renderer:
    """Turns snapshots and 人社 logs into clean contract tables."""

    def __init__(self, pop: Population, tl: Timeline):
        self.pop = pop
        self.tl = tl
        people = pop.person_frame()
        self.person_id = people["id"]
        self.person_name = people["name"]
        self.person_sex = people["sex"]
        self.person_birth = people["birth"]
        self.village_code = pl.Series(pop.places.code.tolist())
        self.household_id = pl.Series(pop.household_ids.tolist())
        self.employer = pl.Series(pop.employers.tolist())
        self.planted = pop.persons.planted >= 0

    def _employers(self, idx: np.ndarray) -> pl.Series:
        s = self.employer[np.maximum(idx, 0).astype(np.int64)]
        return pl.select(pl.when(pl.Series(idx < 0)).then(None).otherwise(s)).to_series()

    def households(self, snap: Snapshot, zero_benefit_empty: bool) -> pl.DataFrame:
        pop = self.pop
        h = pop.households
        hs = snap.households
        head = snap.head
        benefit = snap.benefit.astype(np.float64)
        if zero_benefit_empty:  # 月保障金额 may be left empty when nothing is paid
            benefit = np.where(benefit == 0, np.nan, benefit)
        planted_hh = np.zeros(len(h), bool)
        planted_hh[pop.persons.mz_hh[self.planted & (pop.persons.mz_hh >= 0)]] = True
        cols = {
            "家庭编号": self.household_id[hs],
            "户主身份证号": self.person_id[head],
            "户主姓名": self.person_name[head],
            "行政区划代码": self.village_code[h.village[hs].astype(np.int64)],
            "城乡属性": lookup(URBAN_RURAL, np.where(h.urban[hs], 0, 1)),
            "保障类别": lookup(CATEGORIES, snap.category),
            "保障状态": lookup(STATUS, snap.status),
            "家庭人口数": pl.Series(snap.size.astype(np.int64)).cast(pl.String),
            "月人均收入": amounts(snap.checked),
            "核对日期": iso_dates(snap.check_day),
            "月保障金额": amounts(benefit),
            "认定日期": iso_dates(snap.granted_day),
        }
        df = _frame(cols, {"_person": head.astype(np.int32), "_household": hs.astype(np.int32),
                           "_planted": planted_hh[hs]}, spec("mz", "households"))
        return df.sort(["行政区划代码", "家庭编号"])

    def members(self, snap: Snapshot, t: int) -> pl.DataFrame:
        p = self.pop.persons
        rows = snap.m_person
        age = age_on(p.birth[rows], self.tl.end(t))
        student = (age >= 6) & (age <= p.school_end[rows])
        cols = {
            "家庭编号": self.household_id[snap.m_household],
            "身份证号": self.person_id[rows],
            "姓名": self.person_name[rows],
            "与户主关系": lookup(RELATIONS, snap.m_relation),
            "性别": self.person_sex[rows],
            "出生日期": self.person_birth[rows],
            "劳动能力": lookup(ABILITIES, snap.m_ability),
            "健康状况": lookup(HEALTHS, snap.m_health),
            "在校生": pl.Series(np.where(student, YES, NO)),
        }
        df = _frame(cols, {"_person": rows.astype(np.int32),
                           "_household": snap.m_household.astype(np.int32),
                           "_planted": self.planted[rows]}, spec("mz", "members"))
        return df.with_columns(_rel=pl.Series(snap.m_relation)).sort(
            ["家庭编号", "_rel", "出生日期"]).drop("_rel")

    def disability(self, snap: Snapshot) -> pl.DataFrame:
        c = self.pop.certs
        idx = snap.c_cert
        person = c.person[idx]
        digits = (pl.Series(c.shown_type[idx].astype(np.int64)).cast(pl.String)
                  + pl.Series(c.shown_grade[idx].astype(np.int64)).cast(pl.String))
        cols = {
            "残疾人证号": self.person_id[person] + digits,
            "姓名": self.person_name[person],
            "残疾类别": lookup(TYPES, c.type[idx]),
            "残疾等级": lookup(GRADE_NAMES, c.grade[idx] - 1),
            "发证日期": iso_dates(c.issue_day[idx]),
            "证件状态": lookup(CERT_STATUS, snap.c_cancelled.astype(np.int64)),
            "行政区划代码": self.village_code[self.pop.persons.village[person].astype(np.int64)],
            "享受生活补贴": pl.Series(np.where(snap.c_living, YES, NO)),
            "享受护理补贴": pl.Series(np.where(snap.c_nursing, YES, NO)),
        }
        mismatch = (c.shown_type[idx] != c.type[idx] + 1) | (c.shown_grade[idx] != c.grade[idx])
        df = _frame(cols, {"_person": person.astype(np.int32),
                           "_household": np.full(len(idx), -1, np.int32),
                           "_planted": self.planted[person], "_protect": mismatch},
                    spec("cl", "disability"))
        return df.sort(["行政区划代码", "残疾人证号"])

    def registrations(self, regs: Table, unknown: np.ndarray) -> pl.DataFrame:
        """`unknown`: people who appear in no 民政 or 残联 delivery (their rows are
        the contract's "registrations for IDs never seen elsewhere")."""
        person = regs.person
        cols = {
            "身份证号": self.person_id[person],
            "姓名": self.person_name[person],
            "登记类型": lookup(REGISTRATIONS, regs.type),
            "登记日期": iso_dates(regs.day),
            "单位名称": self._employers(regs.employer),
            "行政区划代码": self.village_code[self.pop.persons.village[person].astype(np.int64)],
        }
        df = _frame(cols, {"_person": person.astype(np.int32),
                           "_household": np.full(len(person), -1, np.int32),
                           "_planted": self.planted[person], "_protect": unknown[person]},
                    spec("rs", "registrations"))
        return df.with_columns(_t=pl.Series(regs.type)).sort(["登记日期", "身份证号", "_t"]).drop("_t")

    def contributions(self, contribs: Table) -> pl.DataFrame:
        person = contribs.person
        yyyymm = np.array([self.tl.yyyymm(int(m)) for m in range(-3, self.tl.total)])
        month = yyyymm[contribs.month.astype(np.int64) + 3]
        employer = np.where(contribs.insurance == RESIDENT_PENSION, -1, contribs.employer)
        cols = {
            "身份证号": self.person_id[person],
            "缴费年月": pl.Series(month).cast(pl.String),
            "险种": lookup(INSURANCES, contribs.insurance),
            "缴费基数": amounts(contribs.base),
            "单位名称": self._employers(employer),
        }
        df = _frame(cols, {"_person": person.astype(np.int32),
                           "_household": np.full(len(person), -1, np.int32),
                           "_planted": self.planted[person]},
                    spec("rs", "contributions"))
        return df.with_columns(_i=pl.Series(contribs.insurance)).sort(
            ["缴费年月", "身份证号", "_i"]).drop("_i")
