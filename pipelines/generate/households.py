"""The starting households of every group: their members, true income, 民政's
last check of them, and who works."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.generate import names, places, scales
from pipelines.generate.codes import (
    ABLE,
    ACTIVE,
    BIANYUAN,
    CHILD,
    DIBAO,
    EXITED,
    GRANDCHILD,
    IN_HOUSEHOLD,
    NONE,
    OTHER,
    OTHER_REL,
    PARENT,
    RIGID,
    SELF,
    SEVERE,
    SIBLING,
    SPOUSE,
    TEKUN,
    UNABLE,
)
from pipelines.generate.people import (
    NEVER,
    ability_of,
    birth_from_age,
    draw_ages,
    draw_health,
    draw_job_seeking,
    draw_jobs,
    draw_regions,
    draw_school_end,
    draw_wages,
    person_defaults,
)
from pipelines.generate.timeline import Timeline, to_days


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


def household_group(rng: np.random.Generator, g: Group, n_h: int, tl: Timeline,
                    pl_: places.Places, standard: tuple[float, float]) -> tuple[dict, dict, np.ndarray]:
    """Households and members of one group; returns (households, persons, pc income)."""
    start = tl.end_days(0)
    sizes = rng.choice(np.arange(1, len(g.sizes) + 1), size=n_h, p=np.array(g.sizes) / sum(g.sizes))
    head_age = draw_ages(rng, g.heads, n_h)
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
    p["birth"] = birth_from_age(rng, age, start)
    p["village"] = village[hh]
    p["kind"][:] = IN_HOUSEHOLD
    p["health"] = draw_health(rng, age)
    p["school_end"] = draw_school_end(rng, n)
    surname = names.draw_surnames(rng, n_h)
    p["surname"] = np.where(rel == SPOUSE, names.draw_surnames(rng, n), surname[hh])
    p["region"] = draw_regions(rng, county[hh], p["birth"])
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

def work_and_income(rng: np.random.Generator, p: dict, h: dict, pc: np.ndarray,
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
    wage = draw_wages(rng, urban, 2700, 2300)
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
    draw_jobs(rng, p, p["employed"], n_employers, tl)
    draw_job_seeking(rng, p, age, able, student, tl, base=0.006)
