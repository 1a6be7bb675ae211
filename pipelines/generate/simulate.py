"""The monthly simulation: what happens to people, and what each agency records.

Each month, vectorised over all people and households: life events
(life_events.py), then 民政's checks and decisions (civil_affairs.py); the
steps in order are in docs/generator.md. `History` keeps, per month, what the
renderers and the truth need; `frozen` (planted) people see no random event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pipelines.generate.codes import (
    ACTIVE,
    BIANYUAN,
    DIBAO,
    EMPLOY,
    EVENT,
    EXITED,
    NONE,
    PENSION,
    TEKUN,
    UNEMPLOY,
    UNEMPLOYMENT_INS,
)
from pipelines.generate.civil_affairs import CivilAffairs
from pipelines.generate.dynamics import Dynamics
from pipelines.generate.life_events import LifeEvents
from pipelines.generate.population import Population
from pipelines.generate.standards import DIBAO as DIBAO_STANDARD
from pipelines.generate.standards import TEKUN as TEKUN_STANDARD
from pipelines.generate.standards import in_force
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline

# Delivery lateness (0, 1, 2 deliveries) of 人社 events and contributions.
_LATE_EVENTS = np.array([0.95, 0.04, 0.01])
_LATE_CONTRIBS = np.array([0.93, 0.05, 0.02])


@dataclass
class Snapshot:
    """What 民政 and 残联 hold at one delivered month end."""

    households: np.ndarray  # indices in the snapshot
    checked: np.ndarray  # 月人均收入 (NaN: never checked), per household in the snapshot
    check_day: np.ndarray
    granted_day: np.ndarray
    benefit: np.ndarray  # 月保障金额
    size: np.ndarray  # 家庭人口数 = member rows
    head: np.ndarray
    category: np.ndarray
    status: np.ndarray
    m_person: np.ndarray  # member rows
    m_household: np.ndarray
    m_relation: np.ndarray
    m_health: np.ndarray
    m_ability: np.ndarray
    c_cert: np.ndarray  # certificates on record
    c_cancelled: np.ndarray
    c_living: np.ndarray
    c_nursing: np.ndarray


@dataclass
class History:
    # truth, months x households
    category: np.ndarray
    status: np.ndarray
    members: np.ndarray
    income: np.ndarray  # true per-capita monthly income
    standard: np.ndarray  # 低保 standard applicable to the household that month
    events: np.ndarray
    snapshots: list[Snapshot] = field(default_factory=list)
    regs: Table | None = None  # person, type, day, employer, month, deliver
    contribs: Table | None = None  # person, month, insurance, base, employer, deliver


def _reg_parts() -> dict[str, list]:
    return {k: [] for k in ("person", "type", "day", "employer", "month", "deliver")}


def _contrib_parts() -> dict[str, list]:
    return {k: [] for k in ("person", "month", "insurance", "base", "employer", "deliver")}


class Simulation(LifeEvents, CivilAffairs):
    def __init__(self, pop: Population, tl: Timeline, rng: np.random.Generator,
                 dynamics: Dynamics | None = None, check_rng: np.random.Generator | None = None):
        self.pop = pop
        self.tl = tl
        self.rng = rng
        self.dyn = dynamics or Dynamics()
        # irregular check intervals draw from their own stream, so that a fixed
        # calendar (spread 0) leaves every other draw where it was
        self.check_rng = check_rng or np.random.default_rng(0)
        # the month of each household's next routine check (the first one follows
        # the last check before the start, population.py)
        self.next_check = pop.households.phase.astype(np.int32)
        n_h = len(pop.households)
        shape = (tl.total, n_h)
        self.hist = History(
            category=np.full(shape, NONE, np.int8), status=np.full(shape, NONE, np.int8),
            members=np.zeros(shape, np.int16), income=np.zeros(shape, np.float32),
            standard=np.zeros(shape, np.float32), events=np.zeros(shape, np.int32),
        )
        self.regs = _reg_parts()
        self.contribs = _contrib_parts()
        self.ever_monitored = pop.households.status != NONE
        self.covered_prev = np.zeros(len(pop.persons), bool)
        # what a 家庭经济状况核对 measures: income over the past months, not this
        # month's (an exponential average, about four months' memory)
        self.recent_pc: np.ndarray | None = None

    # ------------------------------------------------------------ logs

    def _late(self, n: int, p: np.ndarray, frozen: np.ndarray) -> np.ndarray:
        late = self.rng.choice(3, size=n, p=p)
        return np.where(frozen, 0, late)

    def reg(self, who: np.ndarray, kind: int, day: np.ndarray, t: int, employer: np.ndarray | None = None,
            on_time: bool = False) -> None:
        if len(who) == 0:
            return
        frozen = self.pop.persons.frozen[who] | on_time
        self.regs["person"].append(who.astype(np.int32))
        self.regs["type"].append(np.full(len(who), kind, np.int8))
        self.regs["day"].append(np.asarray(day, np.int32))
        emp = np.full(len(who), -1, np.int32) if employer is None else np.asarray(employer, np.int32)
        self.regs["employer"].append(emp)
        self.regs["month"].append(np.full(len(who), t, np.int16))
        self.regs["deliver"].append((max(t, 0) + self._late(len(who), _LATE_EVENTS, frozen)).astype(np.int16))

    def contrib(self, who: np.ndarray, month: int, insurance: int, base: np.ndarray,
                employer: np.ndarray, deliver: int | None = None) -> None:
        if len(who) == 0:
            return
        n = len(who)
        self.contribs["person"].append(who.astype(np.int32))
        self.contribs["month"].append(np.full(n, month, np.int16))
        self.contribs["insurance"].append(np.full(n, insurance, np.int8))
        self.contribs["base"].append(np.asarray(base, np.float32))
        self.contribs["employer"].append(np.asarray(employer, np.int32))
        if deliver is None:
            d = month + self._late(n, _LATE_CONTRIBS, self.pop.persons.frozen[who])
        else:
            d = np.full(n, deliver)
        self.contribs["deliver"].append(np.asarray(d, np.int16))

    # ------------------------------------------------------------ run

    def run(self, progress: Callable[[int], None] | None = None) -> History:
        self._initial_extract()
        for t in range(self.tl.total):
            self.step(t)
            if progress:
                progress(t)
        self.hist.regs = Table(**{k: np.concatenate(v) if v else np.zeros(0, np.int32)
                                  for k, v in self.regs.items()})
        self.hist.contribs = Table(**{k: np.concatenate(v) if v else np.zeros(0, np.int32)
                                      for k, v in self.contribs.items()})
        return self.hist

    def _initial_extract(self) -> None:
        """The first 人社 delivery also carries the open spells (就业登记 of every
        current job, open 失业登记) and the two months of contributions before it,
        so that "employed now" can be told from the first delivery on."""
        p = self.pop.persons
        emp = np.flatnonzero(p.employed)
        self.reg(emp, EMPLOY, p.job_start[emp], 0, p.employer[emp], on_time=True)
        une = np.flatnonzero(p.unemp_open)
        self.reg(une, UNEMPLOY, p.unemp_day[une], 0, on_time=True)
        for m in (-2, -1):
            held = emp[p.job_start[emp] <= self.tl.end_days(m)]
            for ins in (PENSION, UNEMPLOYMENT_INS):
                self.contrib(held, m, ins, p.wage[held], p.employer[held], deliver=0)
        s = self.pop.scheduled_contribs
        early = np.flatnonzero(s.month < 0)
        for i in early:
            self.contrib(s.person[i:i + 1], int(s.month[i]), int(s.insurance[i]), s.base[i:i + 1],
                         s.employer[i:i + 1], deliver=0)

    def step(self, t: int) -> None:
        pop, tl = self.pop, self.tl
        p, h = pop.persons, pop.households
        n_h = len(h)
        self.t = t
        self.end = tl.end_days(t)
        self.ev = np.zeros(n_h, np.int32)
        # jobs ended this month: no new job before next month, so that a
        # 就业登记注销 never post-dates the 就业登记 that follows it
        self.ended = np.zeros(len(p), bool)
        self._deaths()
        self._health()
        self._disability()
        self._work()
        self._leaving()
        self._births()
        pc, members = self._income()
        self._contributions()
        self._scheduled()
        self._civil_affairs(pc, members)
        hist = self.hist
        hist.category[t] = h.category
        hist.status[t] = h.status
        hist.members[t] = members
        hist.income[t] = pc
        urban_std, rural_std = in_force(DIBAO_STANDARD, tl.end(t))
        hist.standard[t] = np.where(h.urban, urban_std, rural_std)
        hist.events[t] = self.ev
        if t < tl.months:
            hist.snapshots.append(self._snapshot())

    # ------------------------------------------------------------ helpers

    def _age(self) -> np.ndarray:
        return (self.end - self.pop.persons.birth) / 365.25

    def _mark(self, persons: np.ndarray, event: str) -> None:
        hh = self.pop.persons.hh[persons]
        hh = hh[hh >= 0]
        self.ev[hh] |= EVENT[event]

    def _days(self, n: int) -> np.ndarray:
        return self.tl.days_in(self.t, self.rng, n)

    def _live(self) -> np.ndarray:
        p = self.pop.persons
        return p.alive & ~p.frozen

    def _grade_now(self) -> np.ndarray:
        p, c = self.pop.persons, self.pop.certs
        grade = np.zeros(len(p), np.int8)
        has = p.cert >= 0
        grade[has] = c.grade[p.cert[has]]
        return grade

    # ------------------------------------------------------------ record

    def _snapshot(self) -> Snapshot:
        pop, tl, t = self.pop, self.tl, self.t
        p, h, c = pop.persons, pop.households, pop.certs
        in_snap = (h.status == ACTIVE) | (h.status == EXITED)
        rows = np.flatnonzero((p.mz_hh >= 0) & in_snap[np.maximum(p.mz_hh, 0)])
        order = np.lexsort((p.relation[rows], p.mz_hh[rows]))
        rows = rows[order]
        size = np.bincount(p.mz_hh[rows], minlength=len(h))
        hs = np.flatnonzero(in_snap)
        urban_std, rural_std = in_force(DIBAO_STANDARD, tl.end(t))
        tk_urban, tk_rural = in_force(TEKUN_STANDARD, tl.end(t))
        std = np.where(h.urban[hs], urban_std, rural_std)
        tk = np.where(h.urban[hs], tk_urban, tk_rural)
        paying = h.status[hs] == ACTIVE
        cat = h.category[hs]
        benefit = np.where(paying & (cat == DIBAO), np.maximum(0, std - h.checked[hs]) * size[hs],
                           np.where(paying & (cat == TEKUN), tk * size[hs], 0.0))
        benefit = np.nan_to_num(benefit).round(2)

        # 生活补贴 follows 民政's register a month late
        covered = np.zeros(len(p), bool)
        cov_rows = rows[(h.status[p.mz_hh[rows]] == ACTIVE)
                        & np.isin(h.category[p.mz_hh[rows]], [DIBAO, BIANYUAN])]
        covered[cov_rows] = True
        living_basis = covered if t == 0 else self.covered_prev
        self.covered_prev = covered
        on_record = np.flatnonzero(c.issue_day <= self.end)
        cancelled = c.cancel_month[on_record] <= t
        holder = c.person[on_record]
        living = ~cancelled & p.living_takeup[holder] & living_basis[holder]
        nursing = ~cancelled & (c.grade[on_record] <= 2) & p.nursing_takeup[holder]
        return Snapshot(
            households=hs, checked=h.checked[hs].copy(), check_day=h.check_day[hs].copy(),
            granted_day=h.granted_day[hs].copy(), benefit=benefit, size=size[hs],
            head=h.head[hs].copy(), category=cat.copy(), status=h.status[hs].copy(),
            m_person=rows, m_household=p.mz_hh[rows].copy(), m_relation=p.relation[rows].copy(),
            m_health=p.health_mz[rows].copy(), m_ability=p.ability_mz[rows].copy(),
            c_cert=on_record, c_cancelled=cancelled, c_living=living, c_nursing=nursing,
        )


def run(pop: Population, tl: Timeline, rng: np.random.Generator,
        progress: Callable[[int], None] | None = None, dynamics: Dynamics | None = None,
        check_rng: np.random.Generator | None = None) -> History:
    return Simulation(pop, tl, rng, dynamics, check_rng).run(progress)
