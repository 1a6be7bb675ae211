"""The people, households and certificates the simulation starts from.

Four populations, calibrated on scales.py's figures:

- households (monitored 在册, recently 退出, and low-income households not yet
  monitored), each with members, ages, health, disability, work and income whose
  per-capita total fits the household's category (低保 below the line, 低保边缘
  between 1 and 1.5 times it, ...);
- people known only to 残联: certificate holders outside any household we model,
  enough of them that 有效 一/二级 certificates reach the 护理补贴 figure;
- people known only to 人社 (workers; their registrations match no one else);
- a planted set for the 单人保 rule (outputs.md): people for whom it holds at the
  last delivered month, and near-misses that fail exactly one condition.

Everything is numpy arrays indexed by person / household / certificate number;
strings (IDs, names, codes) are made only when files are rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import polars as pl

from pipelines.sources.contract import COUNTIES
from pipelines.generate import ids, names, places, scales
from pipelines.generate.dynamics import Dynamics
from pipelines.generate.codes import (
    ABLE,
    ACTIVE,
    BIANYUAN,
    CHILD,
    CHRONIC,
    CL_ONLY,
    DIBAO,
    DISABLED,
    EMPLOY,
    EMPLOY_END,
    EXITED,
    GRANDCHILD,
    HEALTHY,
    IN_HOUSEHOLD,
    NONE,
    OTHER,
    OTHER_REL,
    PARENT,
    PARTIAL,
    PENSION,
    RESIDENT_PENSION,
    RIGID,
    RS_ONLY,
    SELF,
    SEVERE,
    SIBLING,
    SPOUSE,
    TEKUN,
    UNABLE,
    UNEMPLOY,
    UNEMPLOYMENT_INS,
)
from pipelines.generate.standards import DIBAO as DIBAO_STANDARD
from pipelines.generate.standards import in_force
from pipelines.generate.streams import stream
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline, date_parts, to_days

NEVER = np.int16(32767)  # "no month" for cancel / removal schedules

# 残疾类别 shares (视力, 听力, 言语, 肢体, 智力, 精神, 多重)
TYPE_P = np.array([0.11, 0.12, 0.02, 0.42, 0.11, 0.12, 0.10])
MIN_WAGE = 2010.0  # 山东 minimum monthly wage, 二类 area (2023)


@dataclass(frozen=True)
class Group:
    """One kind of household at the start of the simulation."""

    name: str
    category: int
    status: int
    households: float  # at city scale
    sizes: tuple[float, ...]  # P(size = 1, 2, ...)
    heads: tuple[tuple[int, int, float], ...]  # (min age, max age, share) of heads
    income: tuple[float, float]  # true per-capita income, in 低保 standards
    disabled: float  # share of members holding a certificate
    grades: tuple[float, float, float, float]
    period: int  # months between income checks
    would_apply: float  # share that would apply for 低保 once below the line
    male_head: float = 0.55


def _mean(sizes: tuple[float, ...]) -> float:
    return sum((i + 1) * p for i, p in enumerate(sizes))


_DIBAO_SIZES = (0.50, 0.30, 0.10, 0.06, 0.03, 0.01)
_TEKUN_SIZES = (0.97, 0.03)
_WORKING_HEADS = ((22, 34, 0.10), (35, 59, 0.55), (60, 88, 0.35))
_OTHER_SIZES = (0.22, 0.34, 0.21, 0.14, 0.07, 0.02)
GROUPS = (
    Group("dibao", DIBAO, ACTIVE, scales.DIBAO_PERSONS / _mean(_DIBAO_SIZES), _DIBAO_SIZES,
          ((20, 34, 0.08), (35, 59, 0.40), (60, 92, 0.52)), (0.25, 0.98), 0.40,
          (0.20, 0.30, 0.25, 0.25), 12, 1.0),
    Group("tekun", TEKUN, ACTIVE, scales.TEKUN_PERSONS / _mean(_TEKUN_SIZES), _TEKUN_SIZES,
          ((6, 17, 0.04), (18, 59, 0.21), (60, 95, 0.75)), (0.05, 0.45), 0.35,
          (0.30, 0.35, 0.20, 0.15), 12, 1.0, 0.5),
    Group("bianyuan", BIANYUAN, ACTIVE, scales.BIANYUAN_HOUSEHOLDS,
          (0.28, 0.36, 0.19, 0.11, 0.05, 0.01), _WORKING_HEADS, (1.0, 1.5), 0.15,
          (0.15, 0.25, 0.30, 0.30), 6, 0.6),
    Group("rigid", RIGID, ACTIVE, scales.RIGID_HOUSEHOLDS, (0.20, 0.30, 0.22, 0.16, 0.09, 0.03),
          _WORKING_HEADS, (0.95, 2.2), 0.25, (0.15, 0.25, 0.30, 0.30), 12, 0.5),
    Group("other", OTHER, ACTIVE, scales.OTHER_HOUSEHOLDS, _OTHER_SIZES, _WORKING_HEADS,
          (1.05, 2.0), 0.10, (0.10, 0.20, 0.35, 0.35), 12, 0.4),
    Group("exited", DIBAO, EXITED, scales.EXITED_HOUSEHOLDS, _OTHER_SIZES, _WORKING_HEADS,
          (1.1, 2.5), 0.10, (0.10, 0.20, 0.35, 0.35), 12, 0.5),
    Group("latent", NONE, NONE, scales.LATENT_HOUSEHOLDS, _OTHER_SIZES, _WORKING_HEADS,
          (0.6, 2.2), 0.08, (0.10, 0.20, 0.35, 0.35), 12, 0.35),
)

# The 单人保 plant: (variant, rule holds at the last delivered month)
PLANTED = (
    ("plain", True),
    ("closed_employment", True),
    ("resident_pension_unemployed", True),
    ("old_contribution", True),
    ("exited_household", True),
    ("nonlocal_id", True),
    ("age_17", False),
    ("grade_3", False),
    ("cert_cancelled", False),
    ("open_employment", False),
    ("recent_contribution", False),
    ("in_active_household", False),
)
PLANTED_INDEX = {name: i for i, (name, _) in enumerate(PLANTED)}


@dataclass
class Population:
    persons: Table
    households: Table
    certs: Table
    places: places.Places
    employers: np.ndarray  # names
    employer_county: np.ndarray
    # rs events fixed in advance (planted people): month, deliver, ...
    scheduled_regs: Table
    scheduled_contribs: Table
    household_ids: np.ndarray | None = None  # 家庭编号 per household

    def person_frame(self) -> pl.DataFrame:
        """Strings of every person: 身份证号, name, birth date, village code."""
        p = self.persons
        id17 = ids.first17(p.region, p.birth, p.seq)
        vcode = pl.Series(self.places.code.tolist())[p.village.astype(np.int64)]
        return pl.DataFrame({
            "id": ids.id_strings(id17),
            "name": names.person_names(p.surname, p.given),
            "sex": pl.Series(np.where(p.female, "女", "男")),
            "birth": pl.Series(p.birth).cast(pl.Date).dt.strftime("%Y-%m-%d"),
            "village": vcode,
        })


# ---------------------------------------------------------------- helpers

def _draw_ages(rng: np.random.Generator, bands: tuple[tuple[int, int, float], ...], n: int) -> np.ndarray:
    p = np.array([b[2] for b in bands])
    which = rng.choice(len(bands), size=n, p=p / p.sum())
    lo = np.array([b[0] for b in bands])[which]
    hi = np.array([b[1] for b in bands])[which]
    return rng.integers(lo, hi + 1).astype(np.float64)


def _birth_from_age(rng: np.random.Generator, age: np.ndarray, on_days: int) -> np.ndarray:
    """A birth date giving completed `age` years on `on_days`."""
    return (on_days - np.floor(age * 365.25) - rng.integers(1, 365, len(age))).astype(np.int32)


def _regions(rng: np.random.Generator, county: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """身份证号 region of local people: today's county code, 3725xx for many born
    before 聊城地区 became a 市, 371523 for 茌平 before it became a 区."""
    codes = places.county_codes()[county]
    year = date_parts(birth)[0]
    old = np.array([places.OLD_REGION[c] for c in COUNTIES], dtype=np.int32)[county]
    p_old = np.where(year < 1980, 0.4, np.where(year < 1997, 0.1, 0.0))
    region = np.where(rng.random(len(county)) < p_old, old, codes)
    chiping = (codes == int(places.CHIPING)) & (region == codes) & (year < 2019)
    region[chiping] = places.CHIPING_COUNTY_ERA
    return region.astype(np.int32)


def ability_of(age: np.ndarray, health: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """劳动能力 from age, health and the grade of a 有效 certificate (0 = none)."""
    a = np.full(len(age), ABLE, dtype=np.int8)
    a[(health == CHRONIC) | ((age >= 60) & (age < 70)) | (grade >= 3)] = PARTIAL
    a[(age < 16) | (age >= 70) | (health == SEVERE) | ((grade >= 1) & (grade <= 2))] = UNABLE
    return a


def _health(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    u = rng.random(len(age))
    chronic = np.where(age >= 60, 0.55, np.where(age >= 18, 0.28, 0.06))
    severe = np.where(age >= 60, 0.10, np.where(age >= 18, 0.07, 0.02))
    h = np.full(len(age), HEALTHY, dtype=np.int8)
    h[u < chronic + severe] = CHRONIC
    h[u < severe] = SEVERE
    return h


def person_defaults(n: int) -> dict[str, np.ndarray]:
    """Default columns of a person; builders overwrite what they know."""
    return dict(
        region=np.zeros(n, np.int32), birth=np.zeros(n, np.int32), female=np.zeros(n, bool),
        seq=np.zeros(n, np.int16), surname=np.zeros(n, np.int16), given=np.zeros(n, np.int16),
        village=np.zeros(n, np.int32), kind=np.zeros(n, np.int8),
        hh=np.full(n, -1, np.int32), mz_hh=np.full(n, -1, np.int32),
        relation=np.full(n, SELF, np.int8),
        alive=np.ones(n, bool), death_day=np.full(n, -1, np.int32),
        health=np.zeros(n, np.int8), health_mz=np.zeros(n, np.int8), ability_mz=np.zeros(n, np.int8),
        school_end=np.full(n, 18, np.int8),
        employed=np.zeros(n, bool), employer=np.full(n, -1, np.int32),
        wage=np.zeros(n, np.float32), job_start=np.full(n, -1, np.int32),
        unemp_open=np.zeros(n, bool), unemp_day=np.full(n, -1, np.int32),
        informal=np.zeros(n, np.float32), pension=np.zeros(n, np.float32),
        resident_month=np.zeros(n, np.int8), resident_tier=np.zeros(n, np.int16),
        nursing_takeup=np.zeros(n, bool), living_takeup=np.zeros(n, bool),
        frozen=np.zeros(n, bool), planted=np.full(n, -1, np.int8),
        seeker=np.zeros(n, np.float32),
        mz_remove=np.full(n, NEVER, np.int16), mz_join=np.full(n, NEVER, np.int16),
        cert=np.full(n, -1, np.int32), any_cert=np.zeros(n, bool),
    )


def _cert_table(n: int) -> dict[str, np.ndarray]:
    return dict(
        person=np.zeros(n, np.int32), type=np.zeros(n, np.int8), grade=np.zeros(n, np.int8),
        issue_day=np.zeros(n, np.int32), cancel_month=np.full(n, NEVER, np.int16),
        shown_type=np.zeros(n, np.int8), shown_grade=np.zeros(n, np.int8),
    )


def _school_end(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([15, 18, 22], np.int8), size=n, p=[0.15, 0.5, 0.35])


def _wages(rng: np.random.Generator, urban: np.ndarray, median_urban: float, median_rural: float) -> np.ndarray:
    median = np.where(urban, median_urban, median_rural)
    return np.maximum(MIN_WAGE, median * np.exp(rng.normal(0, 0.2, len(urban)))).round(-1).astype(np.float32)


# ---------------------------------------------------------------- households

def _members(rng: np.random.Generator, sizes: np.ndarray, head_age: np.ndarray,
             head_female: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(household, relation, age, female) of every member, head first."""
    n_h = len(sizes)
    hh = np.repeat(np.arange(n_h), sizes)
    slot = np.arange(len(hh)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    n = len(hh)
    ha = head_age[hh]
    rel = np.full(n, OTHER_REL, np.int8)
    age = np.zeros(n)
    female = rng.random(n) < 0.5

    head = slot == 0
    rel[head] = SELF
    age[head] = ha[head]
    female[head] = head_female[hh][head]

    spouse_h = (rng.random(n_h) < 0.72) & (head_age >= 22) & (sizes >= 2)
    sp = (slot == 1) & spouse_h[hh]
    rel[sp] = SPOUSE
    age[sp] = np.clip(ha[sp] + rng.normal(0, 3, sp.sum()).round(), 18, 98)
    female[sp] = ~head_female[hh][sp]

    rest = (slot >= 1) & ~sp
    first_rest = rest & (slot == np.where(spouse_h, 2, 1)[hh])
    parent = first_rest & (ha < 55) & (rng.random(n) < 0.25)
    rel[parent] = PARENT
    age[parent] = np.minimum(100, ha[parent] + rng.integers(22, 33, parent.sum()))

    rem = rest & ~parent
    young = rem & (ha < 50)
    rel[young] = CHILD
    span = np.clip(ha[young] - 19, 1, 25)
    age[young] = np.floor(rng.random(young.sum()) * span)

    old = rem & (ha >= 50)
    u = rng.random(n)
    adult_child = old & (u < 0.5)
    rel[adult_child] = CHILD
    age[adult_child] = np.maximum(16, ha[adult_child] - rng.integers(22, 36, adult_child.sum()))
    grandchild = old & (u >= 0.5) & (u < 0.9)
    rel[grandchild] = GRANDCHILD
    age[grandchild] = rng.integers(1, 18, grandchild.sum())
    sibling = old & (u >= 0.9) & (u < 0.95)
    rel[sibling] = SIBLING
    age[sibling] = np.clip(ha[sibling] + rng.integers(-8, 9, sibling.sum()), 18, 98)
    other = old & (u >= 0.95)
    age[other] = rng.integers(5, 80, other.sum())
    return hh, rel, age, female


def _household_group(rng: np.random.Generator, g: Group, n_h: int, tl: Timeline,
                     pl_: places.Places, standard: tuple[float, float]) -> tuple[dict, dict, np.ndarray]:
    """Households and members of one group; returns (households, persons, pc income)."""
    start = tl.end_days(0)
    sizes = rng.choice(np.arange(1, len(g.sizes) + 1), size=n_h, p=np.array(g.sizes) / sum(g.sizes))
    head_age = _draw_ages(rng, g.heads, n_h)
    sizes[head_age < 18] = 1  # 特困 minors (孤儿) live alone in the record
    head_female = rng.random(n_h) >= g.male_head
    county = rng.choice(len(places.PROFILES), size=n_h, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n_h) < places.urban_shares()[county]
    village = pl_.pick(rng, county, urban)

    hh, rel, age, female = _members(rng, sizes, head_age, head_female)
    n = len(hh)
    p = person_defaults(n)
    p["hh"] = hh.astype(np.int32)
    p["relation"] = rel
    p["female"] = female
    p["birth"] = _birth_from_age(rng, age, start)
    p["village"] = village[hh]
    p["kind"][:] = IN_HOUSEHOLD
    p["health"] = _health(rng, age)
    p["school_end"] = _school_end(rng, n)
    surname = names.draw_surnames(rng, n_h)
    p["surname"] = np.where(rel == SPOUSE, names.draw_surnames(rng, n), surname[hh])
    p["region"] = _regions(rng, county[hh], p["birth"])
    # migrants: the whole household holds non-local 身份证号 (they are still monitored)
    migrant = rng.random(n_h) < 0.015
    m = migrant[hh]
    p["region"][m] = places.NONLOCAL_REGIONS[rng.integers(0, len(places.NONLOCAL_REGIONS), m.sum())]
    if g.category == RIGID:
        # 刚性支出困难 comes from illness: someone in the household is severely ill
        sick = (np.arange(n) == np.repeat(np.cumsum(sizes) - sizes, sizes)) & (rng.random(n) < 0.6)
        p["health"][sick] = SEVERE

    s = np.where(urban, standard[0], standard[1])
    pc = rng.uniform(*g.income, n_h) * s
    h = dict(
        village=village, urban=urban, county=county,
        category=np.full(n_h, g.category, np.int8), status=np.full(n_h, g.status, np.int8),
        exit_month=np.full(n_h, -NEVER, np.int16),
        checked=np.full(n_h, np.nan), check_day=np.full(n_h, -1, np.int32),
        granted_day=np.full(n_h, -1, np.int32),
        period=np.full(n_h, g.period, np.int8), phase=np.zeros(n_h, np.int8),
        would_apply=rng.random(n_h) < g.would_apply, apply_month=np.full(n_h, NEVER, np.int16),
        transfer=np.zeros(n_h, np.float32), head=np.zeros(n_h, np.int32),
        frozen=np.zeros(n_h, bool), script_exit=np.full(n_h, NEVER, np.int16),
    )
    if g.status == EXITED:
        h["category"] = rng.choice([DIBAO, BIANYUAN, OTHER], size=n_h, p=[0.6, 0.15, 0.25]).astype(np.int8)
        h["exit_month"] = -rng.integers(1, 12, n_h).astype(np.int16)
    _initial_record(rng, g, h, pc, s, tl)
    return h, p, pc


def _initial_record(rng: np.random.Generator, g: Group, h: dict, pc: np.ndarray,
                    s: np.ndarray, tl: Timeline) -> None:
    """What 民政 recorded before the start: last check, checked income, 认定日期."""
    n_h = len(pc)
    if g.status == NONE:
        return
    last = -rng.integers(0, g.period, n_h)  # month of the last check (0 = this month)
    h["phase"] = (last % g.period).astype(np.int8)
    first = np.array([tl.first_days(int(m)) for m in range(-g.period + 1, 1)])
    length = np.array([tl.length(int(m)) for m in range(-g.period + 1, 1)])
    k = last + g.period - 1
    day = (first[k] + (rng.random(n_h) * length[k]).astype(np.int64)).astype(np.int32)
    checked = pc * (1 + rng.normal(0, 0.06, n_h))
    if g.category == DIBAO and g.status == ACTIVE:
        # a few were checked when poorer and have since risen above the line (stale)
        drift = rng.random(n_h) < 0.05
        pc[drift] = rng.uniform(1.0, 1.4, drift.sum()) * s[drift]
        checked = np.where(drift, rng.uniform(0.5, 0.95, n_h) * s, np.minimum(checked, 0.99 * s))
    elif g.category == BIANYUAN:
        drift = rng.random(n_h) < 0.08
        pc[drift] = rng.uniform(0.75, 1.0, drift.sum()) * s[drift]
        checked = np.where(drift, rng.uniform(1.0, 1.4, n_h) * s, np.maximum(checked, s))
    elif g.status == EXITED:
        checked = np.maximum(checked, 1.01 * s)
    h["checked"] = np.maximum(0, checked).round(2)
    h["check_day"] = day
    since = {DIBAO: date(2012, 1, 1), TEKUN: date(2010, 1, 1)}.get(g.category, date(2021, 6, 1))
    lo = to_days(since)
    h["granted_day"] = (lo + (rng.random(n_h) * np.maximum(1, day - lo))).astype(np.int32)
    if g.category == OTHER and g.status == ACTIVE:
        never = rng.random(n_h) < 0.05  # registered by 监测 and never checked
        h["checked"][never] = np.nan
        h["check_day"][never] = -1


# ---------------------------------------------------------------- work and income

def _work_and_income(rng: np.random.Generator, p: dict, h: dict, pc: np.ndarray,
                     group_of_h: np.ndarray, grade: np.ndarray, tl: Timeline, n_employers: int) -> None:
    """Split each household's true income into pensions, transfers, wages and
    informal income, deciding who has a job (visible to 人社) on the way.
    `grade`: grade of each member's certificate, 0 for none."""
    start = tl.end_days(0)
    hh = p["hh"]
    n = len(hh)
    n_h = len(pc)
    age = (start - p["birth"]) / 365.25
    able = ability_of(age, p["health"], grade)
    size = np.bincount(hh, minlength=n_h)
    budget = pc * size

    old = age >= 60
    enterprise = old & (rng.random(n) < 0.06)
    p["pension"] = np.where(age >= 45, rng.uniform(180, 260, n), 0).astype(np.float32)
    p["pension"][enterprise] = rng.uniform(1500, 2400, enterprise.sum())
    visible = np.bincount(hh, weights=np.where(old, p["pension"], 0), minlength=n_h)
    # an enterprise pension that breaks the household's band is not theirs to have
    too_much = (visible > budget * 1.05)[hh] & enterprise
    p["pension"][too_much] = rng.uniform(180, 260, too_much.sum())
    visible = np.bincount(hh, weights=np.where(old, p["pension"], 0), minlength=n_h)

    remaining = np.maximum(0, budget - visible)
    transfer = np.where(rng.random(n_h) < 0.35, rng.uniform(50, 400, n_h), 0)
    transfer = np.minimum(transfer, remaining)
    h["transfer"] = transfer.astype(np.float32)
    remaining -= transfer

    student = (age >= 6) & (age <= p["school_end"])
    candidate = (age >= 18) & (age < 60) & ~student & (able != UNABLE) & (group_of_h[hh] != TEKUN)
    candidate &= (able == ABLE) | (rng.random(n) < 0.3)
    urban = h["urban"][hh]
    wage = _wages(rng, urban, 2700, 2300)
    order = np.lexsort((np.arange(n), ~candidate, hh))  # candidates first within household
    rank = np.empty(n, np.int64)
    starts = np.cumsum(size) - size
    rank[order] = np.arange(n) - np.repeat(starts, size)
    for r in range(2):
        pick = candidate & (rank == r) & (rng.random(n) < 0.75)
        pick &= wage <= remaining[hh]
        # one pass per rank: each household contributes at most one earner here
        p["employed"][pick] = True
        p["wage"][pick] = wage[pick]
        remaining -= np.bincount(hh[pick], weights=wage[pick], minlength=n_h)
    earner = (age >= 16) & (age < 76) & ~student & (able != UNABLE)
    earners = np.bincount(hh, weights=earner, minlength=n_h)
    share = np.where(earners > 0, remaining / np.maximum(earners, 1), 0)
    p["informal"] = np.where(earner, share[hh], 0).astype(np.float32)
    h["transfer"] += np.where(earners == 0, remaining, 0).astype(np.float32)
    _jobs(rng, p, p["employed"], n_employers, tl)
    _job_seeking(rng, p, age, able, student, tl, base=0.006)


def _jobs(rng: np.random.Generator, p: dict, employed: np.ndarray, n_employers: int,
          tl: Timeline) -> None:
    """Employer and start date of the jobs people hold at the start."""
    k = int(employed.sum())
    p["employer"][employed] = rng.integers(0, n_employers, k)
    start = tl.end_days(0)
    p["job_start"][employed] = start - 20 - (rng.exponential(900, k)).astype(np.int32)


def _job_seeking(rng: np.random.Generator, p: dict, age: np.ndarray, able: np.ndarray,
                 student: np.ndarray, tl: Timeline, base: float) -> None:
    """Open 失业登记 and 城乡居民 pension enrolment of those without a job."""
    n = len(age)
    working_age = (age >= 18) & (age < 60) & ~student
    jobless = working_age & ~p["employed"]
    seeking = jobless & (able != UNABLE) & (rng.random(n) < 0.25)
    p["unemp_open"][seeking] = True
    p["unemp_day"][seeking] = tl.end_days(0) - 5 - rng.integers(0, 400, seeking.sum())
    p["seeker"] = np.where(able == ABLE, base, base / 3).astype(np.float32)
    enrolled = working_age & (rng.random(n) < 0.7)
    p["resident_month"][enrolled] = rng.choice(np.arange(1, 13), size=enrolled.sum(),
                                               p=_RESIDENT_MONTH_P).astype(np.int8)
    p["resident_tier"][enrolled] = rng.choice(_RESIDENT_TIERS, size=enrolled.sum(), p=_RESIDENT_TIER_P)


# 城乡居民基本养老保险: yearly contribution, mostly paid in spring, in tiers
_RESIDENT_MONTH_P = np.array([2, 3, 5, 6, 5, 3, 2, 1, 1, 1, 1, 1], float)
_RESIDENT_MONTH_P /= _RESIDENT_MONTH_P.sum()
_RESIDENT_TIERS = np.array([100, 200, 300, 500, 1000], np.int16)
_RESIDENT_TIER_P = np.array([0.45, 0.2, 0.2, 0.1, 0.05])


# ---------------------------------------------------------------- certificates

def _certificates(rng: np.random.Generator, person: np.ndarray, grades: np.ndarray,
                  tl: Timeline, birth: np.ndarray) -> dict:
    """One 有效 certificate per listed person, issued since the second-generation
    card (2012) and after the holder's first birthday."""
    n = len(person)
    c = _cert_table(n)
    c["person"] = person.astype(np.int32)
    c["type"] = rng.choice(7, size=n, p=TYPE_P).astype(np.int8)
    c["grade"] = grades.astype(np.int8)
    start = tl.end_days(0)
    lo = np.maximum(to_days(date(2012, 1, 1)), birth + 366)
    c["issue_day"] = (lo + rng.random(n) * np.maximum(1, start - 30 - lo)).astype(np.int32)
    c["shown_type"] = c["type"] + 1
    c["shown_grade"] = c["grade"]
    return c


def _draw_grades(rng: np.random.Generator, p: tuple[float, ...], n: int) -> np.ndarray:
    return rng.choice(np.arange(1, 5), size=n, p=np.array(p) / sum(p)).astype(np.int8)


# ---------------------------------------------------------------- build

def _with_dynamics(g: Group, d: Dynamics) -> Group:
    """A group's check interval and propensity to apply in this city."""
    period = d.check_months_edge if g.category == BIANYUAN else d.check_months
    return replace(g, period=period, would_apply=g.would_apply * d.apply_scale)


def build(seed: int, scale: scales.Scale, tl: Timeline, dynamics: Dynamics | None = None) -> Population:
    dynamics = dynamics or Dynamics()
    rng = stream(seed, "population")
    pl_ = places.build(stream(seed, "places"), scale.realistic_places)
    county_names = list(COUNTIES.values())
    n_employers = max(40, round(scales.EMPLOYERS * scale.factor))
    employers, employer_county = names.employer_names(stream(seed, "employers"), county_names, n_employers)
    standard = in_force(DIBAO_STANDARD, tl.end(0))
    start = tl.end_days(0)

    # households of every group
    h_parts, p_parts, pcs, group_of = [], [], [], []
    offset = 0
    for g in (_with_dynamics(g, dynamics) for g in GROUPS):
        n_h = max(6, round(g.households * scale.factor))
        h, p, pc = _household_group(rng, g, n_h, tl, pl_, standard)
        p["hh"] += offset
        offset += n_h
        h_parts.append(h)
        p_parts.append(p)
        pcs.append(pc)
        group_of.append(np.full(n_h, g.category if g.status == ACTIVE else NONE, np.int8))
    h = {k: np.concatenate([x[k] for x in h_parts]) for k in h_parts[0]}
    p = {k: np.concatenate([x[k] for x in p_parts]) for k in p_parts[0]}
    pc = np.concatenate(pcs)
    group_of_h = np.concatenate(group_of)
    hh = p["hh"]
    n = len(hh)
    heads = np.flatnonzero(p["relation"] == SELF)
    h["head"][hh[heads]] = heads

    # certificates of household members
    age = (start - p["birth"]) / 365.25
    rate_h = np.zeros(len(pc))
    grade_p = np.zeros((len(pc), 4))
    cursor = 0
    for g, part in zip(GROUPS, h_parts):  # disability rates only: no dynamics here
        k = len(part["village"])
        rate_h[cursor:cursor + k] = g.disabled
        grade_p[cursor:cursor + k] = g.grades
        cursor += k
    rate = rate_h[hh] * np.where(age >= 60, 1.3, np.where(age < 18, 0.3, 1.0))
    holder = rng.random(n) < rate
    cum = grade_p[hh[holder]].cumsum(axis=1)
    grades = (rng.random(holder.sum())[:, None] > cum).sum(axis=1) + 1
    c = _certificates(rng, np.flatnonzero(holder), grades, tl, p["birth"][holder])
    p["cert"][holder] = np.arange(holder.sum())
    p["any_cert"][holder] = True
    grade = np.zeros(n, np.int8)
    grade[holder] = grades
    _work_and_income(rng, p, h, pc, group_of_h, grade, tl, n_employers)

    monitored = h["status"][hh] != NONE
    p["mz_hh"] = np.where(monitored, hh, -1).astype(np.int32)
    persons = Table(**p)
    households = Table(**h)
    certs = Table(**c)

    _add_cl_only(rng, persons, certs, pl_, tl, scale, n_employers)
    _add_rs_only(rng, persons, pl_, tl, scale, n_employers)
    sched_regs, sched_contribs = _plant(rng, persons, households, certs, pl_, tl, scale,
                                        n_employers)
    _finish(rng, persons, households, certs, tl)
    _cert_mismatches(rng, persons, certs)
    pop = Population(persons, households, certs, pl_, employers, employer_county,
                     sched_regs, sched_contribs)
    pop.household_ids = _household_ids(households, pl_)
    return pop


def _add_cl_only(rng: np.random.Generator, persons: Table, certs: Table, pl_: places.Places,
                 tl: Timeline, scale: scales.Scale, n_employers: int) -> None:
    """残联-only certificate holders, enough to reach the city's 一/二级 and 三/四级
    totals, plus holders whose only certificate was cancelled and holders
    re-assessed in the past (an older, cancelled certificate of a milder grade)."""
    held = certs.grade
    target12 = scales.NURSING_RECIPIENTS / scales.NURSING_TAKE_UP * scale.factor
    n12 = max(10, round(target12 - (held <= 2).sum()))
    n34 = max(10, round(scales.GRADE34_CERTIFICATES * scale.factor - (held >= 3).sum()))
    n_cancel = max(3, round(0.04 * (n12 + n34)))
    n = n12 + n34 + n_cancel
    start = tl.end_days(0)
    age = _draw_ages(rng, ((1, 17, 0.06), (18, 59, 0.44), (60, 92, 0.50)), n)
    p = person_defaults(n)
    p["kind"][:] = CL_ONLY
    p["female"] = rng.random(n) < 0.45
    p["birth"] = _birth_from_age(rng, age, start)
    county = rng.choice(len(places.PROFILES), size=n, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n) < places.urban_shares()[county] + 0.1
    p["village"] = pl_.pick(rng, county, urban)
    away = rng.random(n) < 0.005  # living outside 聊城, still on its register
    p["village"][away] = pl_.pick_nonlocal(rng, away.sum())
    p["region"] = _regions(rng, county, p["birth"])
    nonlocal_id = rng.random(n) < 0.005
    p["region"][nonlocal_id] = places.NONLOCAL_REGIONS[rng.integers(0, 8, nonlocal_id.sum())]
    p["surname"] = names.draw_surnames(rng, n)
    p["health"] = _health(rng, age)
    p["school_end"] = _school_end(rng, n)
    grades = np.concatenate([
        _draw_grades(rng, (0.4, 0.6, 0, 0), n12),
        _draw_grades(rng, (0, 0, 0.45, 0.55), n34),
        _draw_grades(rng, (0.25, 0.25, 0.25, 0.25), n_cancel),
    ])
    able = ability_of(age, p["health"], grades)
    working = (age >= 18) & (age < 60) & ~((age >= 6) & (age <= p["school_end"]))
    p_job = np.where(grades <= 2, 0.08, 0.30)
    p["employed"] = working & (able != UNABLE) & (rng.random(n) < p_job)
    p["wage"][p["employed"]] = _wages(rng, urban[p["employed"]], 2600, 2200)
    _jobs(rng, p, p["employed"], n_employers, tl)
    _job_seeking(rng, p, age, able, (age >= 6) & (age <= p["school_end"]), tl, base=0.004)
    p["seeker"] = np.where(grades <= 2, 0.002, 0.008).astype(np.float32) * (able != UNABLE)
    idx = persons.extend(**p)

    c = _certificates(rng, idx, grades, tl, p["birth"])
    cancelled = np.arange(n) >= n12 + n34
    c["cancel_month"][cancelled] = -rng.integers(1, 36, cancelled.sum())
    first = certs.extend(**c)
    persons.cert[idx[~cancelled]] = first[~cancelled]
    persons.any_cert[idx] = True
    # re-assessed before the start: the milder old certificate is 注销
    regraded = ~cancelled & (grades < 4) & (rng.random(n) < 0.06)
    old = {k: v[regraded] for k, v in c.items()}
    old["grade"] = old["grade"] + 1
    old["shown_grade"] = old["grade"]
    new_issue = old["issue_day"]
    old["issue_day"] = np.maximum(to_days(date(2012, 1, 1)), new_issue - rng.integers(400, 2000, regraded.sum()))
    old["issue_day"] = np.minimum(old["issue_day"], new_issue - 1)
    old["cancel_month"] = _month_of(new_issue, tl)
    certs.extend(**old)


def _month_of(days: np.ndarray, tl: Timeline) -> np.ndarray:
    """Month index (relative to the start month) of epoch days."""
    y, m, _ = date_parts(days)
    y0, m0 = tl.year_month(0)
    return ((y - y0) * 12 + (m - m0)).astype(np.int16)


def _add_rs_only(rng: np.random.Generator, persons: Table, pl_: places.Places, tl: Timeline,
                 scale: scales.Scale, n_employers: int) -> None:
    """Workers only 人社 knows: their registrations match no 民政 or 残联 record."""
    n = max(10, round(scales.RS_ONLY_PERSONS * scale.factor))
    start = tl.end_days(0)
    age = rng.uniform(18, 59, n)
    p = person_defaults(n)
    p["kind"][:] = RS_ONLY
    p["female"] = rng.random(n) < 0.45
    p["birth"] = _birth_from_age(rng, age, start)
    county = rng.choice(len(places.PROFILES), size=n, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n) < 0.45
    p["village"] = pl_.pick(rng, county, urban)
    away = rng.random(n) < 0.05
    p["village"][away] = pl_.pick_nonlocal(rng, away.sum())
    p["region"] = _regions(rng, county, p["birth"])
    nonlocal_id = rng.random(n) < 0.10
    p["region"][nonlocal_id] = places.NONLOCAL_REGIONS[rng.integers(0, 8, nonlocal_id.sum())]
    p["surname"] = names.draw_surnames(rng, n)
    p["health"] = _health(rng, age)
    p["school_end"][:] = 15
    p["employed"] = rng.random(n) < 0.7
    p["wage"][p["employed"]] = _wages(rng, urban[p["employed"]], 3400, 3000)
    _jobs(rng, p, p["employed"], n_employers, tl)
    able = np.full(n, ABLE, np.int8)
    _job_seeking(rng, p, age, able, np.zeros(n, bool), tl, base=0.05)
    p["unemp_open"] &= rng.random(n) < 0.8
    persons.extend(**p)


def _plant(rng: np.random.Generator, persons: Table, households: Table, certs: Table,
           pl_: places.Places, tl: Timeline, scale: scales.Scale,
           n_employers: int) -> tuple[Table, Table]:
    """The 单人保 set: each variant `per` times, frozen (no random events), with the
    人社 evidence each variant needs placed in deliveries that will be complete."""
    per = max(2, round(20 * scale.factor))
    fin = tl.last
    end_fin = tl.end_days(fin)
    variants = np.repeat(np.arange(len(PLANTED)), per)
    n = len(variants)
    v = {name: variants == i for name, i in PLANTED_INDEX.items()}
    age = rng.uniform(25, 55, n)
    p = person_defaults(n)
    p["kind"][:] = CL_ONLY
    p["frozen"][:] = True
    p["planted"] = variants.astype(np.int8)
    p["female"] = rng.random(n) < 0.45
    p["birth"] = _birth_from_age(rng, age, end_fin)
    # 17 on the last extract date, 18 between 1 and 6 months later
    seventeen = v["age_17"]
    p["birth"][seventeen] = (end_fin - np.round(18 * 365.2425)
                             + rng.integers(30, 180, seventeen.sum())).astype(np.int32)
    county = rng.choice(len(places.PROFILES), size=n, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n) < 0.3
    p["village"] = pl_.pick(rng, county, urban)
    p["region"] = _regions(rng, county, p["birth"])
    p["region"][v["nonlocal_id"]] = places.NONLOCAL_REGIONS[
        rng.integers(0, 8, v["nonlocal_id"].sum())]
    p["surname"] = names.draw_surnames(rng, n)
    p["health"][:] = CHRONIC
    p["school_end"][:] = 15
    p["nursing_takeup"][:] = True

    # households of the two household variants: one person each, frozen
    in_hh = v["exited_household"] | v["in_active_household"]
    k = int(in_hh.sum())
    start_hh = len(households)
    hcat = np.where(v["exited_household"][in_hh], BIANYUAN, DIBAO).astype(np.int8)
    exit_month = fin - 2
    script = np.where(v["exited_household"][in_hh], exit_month, NEVER).astype(np.int16)
    status = np.where(script <= 0, EXITED, ACTIVE).astype(np.int8)
    standard = in_force(DIBAO_STANDARD, tl.end(0))
    hurban = pl_.urban[p["village"][in_hh]]
    s = np.where(hurban, standard[0], standard[1])
    check_day = (tl.end_days(0) - rng.integers(10, 150, k)).astype(np.int32)
    households.extend(
        village=p["village"][in_hh], urban=hurban, county=county[in_hh],
        category=hcat, status=status,
        exit_month=np.where(status == EXITED, script, -NEVER).astype(np.int16),
        checked=(rng.uniform(0.3, 0.8, k) * s).round(2), check_day=check_day,
        granted_day=check_day - rng.integers(100, 900, k).astype(np.int32),
        period=np.full(k, 12, np.int8), phase=np.zeros(k, np.int8),
        would_apply=np.zeros(k, bool), apply_month=np.full(k, NEVER, np.int16),
        transfer=np.full(k, 100, np.float32), head=np.zeros(k, np.int32),
        frozen=np.ones(k, bool), script_exit=script,
    )
    p["kind"][in_hh] = IN_HOUSEHOLD
    p["hh"][in_hh] = start_hh + np.arange(k)
    p["mz_hh"][in_hh] = p["hh"][in_hh]
    idx = persons.extend(**p)
    households.head[start_hh:] = idx[in_hh]

    grades = np.where(rng.random(n) < 0.5, 1, 2).astype(np.int8)
    grades[v["grade_3"]] = 3
    c = _certificates(rng, idx, grades, tl, p["birth"])
    c["cancel_month"][v["cert_cancelled"]] = -rng.integers(2, 12, v["cert_cancelled"].sum())
    cert_idx = certs.extend(**c)
    active = ~v["cert_cancelled"]
    persons.cert[idx[active]] = cert_idx[active]
    persons.any_cert[idx] = True

    regs = dict(person=[], type=[], month=[], day=[], employer=[])
    contribs = dict(person=[], month=[], insurance=[], base=[], employer=[])

    def reg(who: np.ndarray, kind: int, month: int, day: int, with_employer: bool) -> None:
        m = max(0, month)
        d = min(tl.first_days(m) + day - 1, tl.end_days(m))
        for i in idx[who]:
            regs["person"].append(i)
            regs["type"].append(kind)
            regs["month"].append(m)
            regs["day"].append(d)
            regs["employer"].append(int(rng.integers(0, n_employers)) if with_employer else -1)

    def contrib(who: np.ndarray, month: int, insurance: int, base: float) -> None:
        for i in idx[who]:
            contribs["person"].append(i)
            contribs["month"].append(month)
            contribs["insurance"].append(insurance)
            contribs["base"].append(base)
            contribs["employer"].append(int(rng.integers(0, n_employers)) if insurance != RESIDENT_PENSION else -1)

    reg(v["closed_employment"], EMPLOY, fin - 4, 5, True)
    reg(v["closed_employment"], EMPLOY_END, fin - 2, 25, True)
    reg(v["resident_pension_unemployed"], UNEMPLOY, fin - 3, 8, False)
    contrib(v["resident_pension_unemployed"], max(0, fin - 1), RESIDENT_PENSION, 100)
    contrib(v["old_contribution"], fin - 3, PENSION, 2600)
    contrib(v["old_contribution"], fin - 3, UNEMPLOYMENT_INS, 2600)
    reg(v["open_employment"], EMPLOY, fin - 2, 12, True)
    contrib(v["recent_contribution"], max(0, fin - 1), PENSION, 2400)
    contrib(v["recent_contribution"], max(0, fin - 1), UNEMPLOYMENT_INS, 2400)
    # the employer on a 就业登记注销 is the one of the 就业登记 before it
    for i in range(0, len(regs["person"])):
        if regs["type"][i] == EMPLOY_END:
            j = regs["person"].index(regs["person"][i])
            regs["employer"][i] = regs["employer"][j]
    return (
        Table(person=np.array(regs["person"], np.int32), type=np.array(regs["type"], np.int8),
              month=np.array(regs["month"], np.int16), day=np.array(regs["day"], np.int32),
              employer=np.array(regs["employer"], np.int32)),
        Table(person=np.array(contribs["person"], np.int32),
              month=np.array(contribs["month"], np.int16),
              insurance=np.array(contribs["insurance"], np.int8),
              base=np.array(contribs["base"], np.float32),
              employer=np.array(contribs["employer"], np.int32)),
    )


def _finish(rng: np.random.Generator, persons: Table, households: Table, certs: Table,
            tl: Timeline) -> None:
    """Given names, 身份证号 sequences, take-up, and 民政's view of each member."""
    p = persons
    n = len(p)
    year = date_parts(p.birth)[0]
    p.given = names.draw_given(rng, p.female, year)
    p.seq = ids.unique_sequences(rng, p.region, p.birth, p.female)
    p.nursing_takeup |= rng.random(n) < scales.NURSING_TAKE_UP
    p.living_takeup = rng.random(n) < scales.LIVING_TAKE_UP
    age = (tl.end_days(0) - p.birth) / 365.25
    grade = np.zeros(n, np.int8)
    has = p.cert >= 0
    grade[has] = certs.grade[p.cert[has]]
    p.ability_mz = ability_of(age, p.health, grade)
    p.health_mz = np.where(has, DISABLED, p.health).astype(np.int8)


def _cert_mismatches(rng: np.random.Generator, persons: Table, certs: Table) -> None:
    """A few certificates whose number's digits 19-20 disagree with 残疾类别/残疾等级
    (a re-assessment entered in the text columns only). Persistent, as in 残联's
    own database. Never on planted people."""
    # only holders of a single certificate, so a shown number never equals another one's
    per_person = np.bincount(certs.person, minlength=len(persons))
    eligible = np.flatnonzero((persons.planted[certs.person] < 0) & (certs.cancel_month == NEVER)
                              & (per_person[certs.person] == 1))
    k = min(len(eligible), max(3, round(0.002 * len(certs))))
    chosen = rng.choice(eligible, size=k, replace=False)
    flip_grade = rng.random(k) < 0.6
    g = certs.grade[chosen]
    new_grade = np.where(g == 1, 2, g - 1)  # the number still shows the old grade
    certs.shown_grade[chosen[flip_grade]] = new_grade[flip_grade]
    t = certs.type[chosen[~flip_grade]]
    certs.shown_type[chosen[~flip_grade]] = (t + 1) % 7 + 1


def _household_ids(households: Table, pl_: places.Places) -> np.ndarray:
    """家庭编号: village code + a 4-digit running number within the village."""
    v = households.village
    order = np.argsort(v, kind="stable")
    counts = np.bincount(v, minlength=len(pl_.code))
    first = np.cumsum(counts) - counts
    seq = np.empty(len(v), np.int64)
    seq[order] = np.arange(len(v)) - first[v[order]] + 1
    codes = pl.Series(pl_.code.tolist())[v.astype(np.int64)]
    return (codes + pl.Series(seq).cast(pl.String).str.zfill(4)).to_numpy().astype(object)
