"""The monthly simulation: what happens to people, and what each agency records.

Every month, vectorised over all people and households:

1. deaths (by age, more with severe illness); 民政 drops the member 0-2 months
   later, 残联 cancels the certificate 1-3 months later, the employer files a
   就业登记注销;
2. health: chronic illness, severe illness (健康状况 → 重病, often losing the job);
3. disability: new certificates, re-assessment to a more severe grade (a new
   certificate number; the old one becomes 注销);
4. work: job loss (就业登记注销, often followed by 失业登记) and job gain
   (就业登记, closing an open 失业登记); contributions are paid for every month
   a job is held, with 缴费基数 = the wage; 城乡居民 pensions once a year;
5. members leaving (marriage, migration) and births; 民政 learns of both late;
6. income: wages (visible to 人社), informal and farm income (seasonal,
   invisible), pensions and private transfers; the true per-capita income is
   compared with the 低保 standard in force that month;
7. 民政: periodic income checks (核对日期; the 月人均收入 recorded is stale in
   between), applications by households below the line (many never apply),
   entry into 低保 (月保障金额 = (standard - income) x members), moves to
   低保边缘 or 退出 when income rises, 退出 households kept 12 months, and
   households found by dynamic monitoring entering as 低收入.

`History` keeps, per month, exactly what the renderers and the truth need.
Planted people and households are `frozen`: no random event touches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pipelines.generate import ids, names
from pipelines.generate.codes import (
    ACTIVE,
    BIANYUAN,
    CHILD,
    CHRONIC,
    DIBAO,
    DISABLED,
    EMPLOY,
    EMPLOY_END,
    EVENT,
    EXITED,
    GRANDCHILD,
    HEALTHY,
    IN_HOUSEHOLD,
    NONE,
    OTHER,
    OTHER_REL,
    PENSION,
    RESIDENT_PENSION,
    RIGID,
    SELF,
    SEVERE,
    SPOUSE,
    TEKUN,
    UNABLE,
    UNEMPLOY,
    UNEMPLOY_END,
    UNEMPLOYMENT_INS,
)
from pipelines.generate.dynamics import Dynamics
from pipelines.generate.places import county_codes
from pipelines.generate.people import NEVER, TYPE_P, ability_of, person_defaults
from pipelines.generate.population import Population
from pipelines.generate.standards import DIBAO as DIBAO_STANDARD
from pipelines.generate.standards import TEKUN as TEKUN_STANDARD
from pipelines.generate.standards import in_force
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline

# Annual mortality by age band (lower bound, rate); severe illness adds 2%/month.
_DEATH_AGES = np.array([0, 40, 60, 70, 80, 90])
_DEATH_RATES = np.array([0.0008, 0.003, 0.012, 0.03, 0.08, 0.18])
# Informal/farm income by calendar month: harvests in June and October, the
# Spring Festival slack in winter. Urban informal work varies less.
_SEASON_RURAL = np.array([0.8, 0.7, 0.9, 1.0, 1.1, 1.4, 1.0, 0.9, 1.1, 1.3, 1.0, 0.8])
_SEASON_URBAN = np.array([0.9, 0.85, 1.0, 1.0, 1.0, 1.05, 1.0, 1.0, 1.05, 1.05, 1.0, 1.05])
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


class Simulation:
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

    def _end_jobs(self, who: np.ndarray, unemployment_p: float) -> None:
        """Job ends: 就业登记注销, sometimes 失业登记 a few days later."""
        p, rng = self.pop.persons, self.rng
        if len(who) == 0:
            return
        who = np.sort(who)
        self.ended[who] = True
        day = self._days(len(who))
        self.reg(who, EMPLOY_END, day, self.t, p.employer[who])
        p.employed[who] = False
        p.wage[who] = 0
        hh_member = who[p.hh[who] >= 0]
        p.informal[hh_member] = np.maximum(p.informal[hh_member],
                                           rng.uniform(300, 900, len(hh_member)))
        self._mark(who, "job_loss")
        if unemployment_p > 0:
            reg = who[(rng.random(len(who)) < unemployment_p) & ~p.unemp_open[who]]
            day_u = np.minimum(day[np.searchsorted(who, reg)] + rng.integers(1, 15, len(reg)), self.end)
            self.reg(reg, UNEMPLOY, day_u, self.t)
            p.unemp_open[reg] = True
            p.unemp_day[reg] = day_u

    # ------------------------------------------------------------ processes

    def _deaths(self) -> None:
        p, c, rng = self.pop.persons, self.pop.certs, self.rng
        age = self._age()
        annual = _DEATH_RATES[np.searchsorted(_DEATH_AGES, age, side="right") - 1]
        q = 1 - (1 - annual) ** (1 / 12) + np.where(p.health == SEVERE, 0.02, 0)
        die = np.flatnonzero(self._live() & (rng.random(len(p)) < q))
        if len(die) == 0:
            return
        p.alive[die] = False
        p.death_day[die] = self._days(len(die))
        worker = die[p.employed[die]]
        filed = worker[rng.random(len(worker)) < 0.8]
        self.reg(filed, EMPLOY_END, np.minimum(p.death_day[filed] + rng.integers(0, 10, len(filed)), self.end),
                 self.t, p.employer[filed])
        p.employed[die] = False
        self.ended[die] = True
        p.unemp_open[die] = False
        holder = die[p.cert[die] >= 0]
        certs = p.cert[holder]
        open_ = c.cancel_month[certs] == NEVER
        c.cancel_month[certs[open_]] = self.t + rng.integers(1, 4, open_.sum())
        member = die[p.mz_hh[die] >= 0]
        p.mz_remove[member] = np.minimum(p.mz_remove[member], self.t + rng.integers(0, 3, len(member)))
        self._mark(die, "death")

    def _health(self) -> None:
        p, rng = self.pop.persons, self.rng
        live = self._live()
        old = self._age() >= 60
        u = rng.random(len(p))
        to_chronic = live & (p.health == HEALTHY) & (u < np.where(old, 0.004, 0.0015))
        to_severe = live & (((p.health == HEALTHY) & (u > 1 - np.where(old, 0.0012, 0.0005)))
                            | ((p.health == CHRONIC) & (u < np.where(old, 0.005, 0.003))))
        recover = live & (p.health == SEVERE) & (u < 0.05)
        p.health[to_chronic] = CHRONIC
        p.health[to_severe] = SEVERE
        p.health[recover] = CHRONIC
        sick = np.flatnonzero(to_severe)
        self._mark(sick, "severe_illness")
        self._end_jobs(sick[p.employed[sick] & (rng.random(len(sick)) < 0.7)], 0.2)

    def _disability(self) -> None:
        p, c, rng = self.pop.persons, self.pop.certs, self.rng
        live = self._live()
        age = self._age()
        u = rng.random(len(p))
        hazard = np.where(p.health == SEVERE, 0.01, np.where(age >= 60, 0.0002, 0.00004))
        new = np.flatnonzero(live & ~p.any_cert & (age >= 1) & (u < hazard))
        has = (p.cert >= 0)
        cur = np.where(has, p.cert, 0)
        openc = has & (c.cancel_month[cur] == NEVER)
        plain = (c.shown_grade[cur] == c.grade[cur]) & (c.shown_type[cur] == c.type[cur] + 1)
        worse_h = np.where(p.health == SEVERE, 0.02, np.where(age >= 60, 0.004, 0.002))
        worse = np.flatnonzero(live & openc & plain & (c.grade[cur] >= 2) & (rng.random(len(p)) < worse_h))
        k_new, k_worse = len(new), len(worse)
        if k_new + k_worse == 0:
            return
        types = np.concatenate([
            np.where(p.health[new] == SEVERE, rng.choice([0, 3, 6], size=k_new, p=[0.2, 0.6, 0.2]),
                     rng.choice(7, size=k_new, p=TYPE_P)),
            c.type[p.cert[worse]],
        ]).astype(np.int8)
        grades = np.concatenate([
            rng.choice(np.arange(1, 5), size=k_new, p=[0.15, 0.25, 0.30, 0.30]),
            c.grade[p.cert[worse]] - 1,
        ]).astype(np.int8)
        who = np.concatenate([new, worse])
        c.cancel_month[p.cert[worse]] = self.t
        idx = c.extend(
            person=who, type=types, grade=grades, issue_day=self._days(len(who)),
            cancel_month=np.full(len(who), NEVER, np.int16),
            shown_type=types + 1, shown_grade=grades,
        )
        p.cert[who] = idx
        p.any_cert[who] = True
        self._mark(new, "new_disability")
        self._mark(worse, "disability_worse")
        severe = who[(grades <= 2) & p.employed[who]]
        self._end_jobs(severe[rng.random(len(severe)) < 0.5], 0.2)

    def _work(self) -> None:
        p, rng, pop = self.pop.persons, self.rng, self.pop
        live = self._live()
        age = self._age()
        ability = ability_of(age, p.health, self._grade_now())
        student = (age >= 6) & (age < p.school_end.astype(np.float64) + 1)
        eligible = live & (age >= 18) & (age < 60) & ~student & (ability != UNABLE) & (p.health != SEVERE)
        held = p.employed.copy()
        n = len(p)
        u = rng.random(n)
        retire = np.flatnonzero(held & live & ~eligible)
        self._end_jobs(retire, 0.0)
        loss_p = np.where(ability == 1, 0.018, 0.012) * self.dyn.job_loss_scale
        lose = np.flatnonzero(held & eligible & (u < loss_p))
        self._end_jobs(lose, 0.45)

        gain_p = p.seeker * np.where(p.unemp_open, 4.0, 1.0)
        gain = np.flatnonzero(~held & ~self.ended & eligible & (rng.random(n) < gain_p))
        if len(gain):
            day = self._days(len(gain))
            employer = rng.integers(0, len(pop.employers), len(gain))
            urban = pop.places.urban[p.village[gain]]
            median = np.where(p.kind[gain] == 2, 3200, np.where(urban, 2700, 2300))
            wage = np.maximum(2010, median * np.exp(rng.normal(0, 0.2, len(gain)))).round(-1)
            p.employed[gain] = True
            p.employer[gain] = employer
            p.wage[gain] = wage
            p.job_start[gain] = day
            p.informal[gain] *= 0.4
            self.reg(gain, EMPLOY, day, self.t, employer)
            closing = gain[p.unemp_open[gain]]
            close_day = np.minimum(p.job_start[closing] + rng.integers(0, 6, len(closing)), self.end)
            self.reg(closing, UNEMPLOY_END, close_day, self.t)
            p.unemp_open[closing] = False
            self._mark(gain, "job_gain")

        idle = live & ~p.employed
        opened_before = p.unemp_day < self.tl.first_days(self.t)
        expire = np.flatnonzero(idle & p.unemp_open & opened_before & (rng.random(n) < 0.02))
        self.reg(expire, UNEMPLOY_END, self._days(len(expire)), self.t)
        p.unemp_open[expire] = False
        start = np.flatnonzero(idle & eligible & ~p.unemp_open & ~np.isin(np.arange(n), expire)
                               & (rng.random(n) < 0.003))
        day = self._days(len(start))
        self.reg(start, UNEMPLOY, day, self.t)
        p.unemp_open[start] = True
        p.unemp_day[start] = day

    def _leaving(self) -> None:
        p, rng = self.pop.persons, self.rng
        age = self._age()
        leave = np.flatnonzero(self._live() & (p.hh >= 0) & (p.relation != SELF)
                               & (age >= 18) & (age <= 35) & (rng.random(len(p)) < 0.0015))
        if len(leave) == 0:
            return
        self._mark(leave, "member_left")
        p.hh[leave] = -1
        known = leave[p.mz_hh[leave] >= 0]
        p.mz_remove[known] = np.minimum(p.mz_remove[known], self.t + rng.integers(1, 4, len(known)))

    def _births(self) -> None:
        pop, rng = self.pop, self.rng
        p, h = pop.persons, pop.households
        age = self._age()
        mothers = np.flatnonzero(self._live() & p.female & (p.hh >= 0) & (age >= 20) & (age <= 40)
                                 & (rng.random(len(p)) < 0.0025))
        k = len(mothers)
        if k == 0:
            return
        hh = p.hh[mothers]
        child = person_defaults(k)
        child["kind"][:] = IN_HOUSEHOLD
        child["hh"] = hh
        child["birth"] = self._days(k)
        child["female"] = rng.random(k) < 0.49
        county = h.county[hh]
        child["region"] = county_codes()[county]  # today's code, 371503 for 茌平 too
        child["surname"] = p.surname[h.head[hh]]
        child["given"] = names.draw_given(rng, child["female"], np.full(k, 2024))
        child["village"] = h.village[hh]
        mrel = p.relation[mothers]
        child["relation"] = np.where((mrel == SELF) | (mrel == SPOUSE), CHILD,
                                     np.where(mrel == CHILD, GRANDCHILD, OTHER_REL)).astype(np.int8)
        child["health"][:] = HEALTHY
        child["health_mz"][:] = HEALTHY
        child["ability_mz"][:] = UNABLE
        child["school_end"] = rng.choice(np.array([15, 18, 22], np.int8), size=k, p=[0.15, 0.5, 0.35])
        child["nursing_takeup"] = rng.random(k) < 0.92
        child["living_takeup"] = rng.random(k) < 0.95
        taken = ids.first17(p.region, p.birth, p.seq)
        child["seq"] = ids.unique_sequences(rng, child["region"], child["birth"], child["female"], taken)
        registered = h.status[hh] == ACTIVE
        child["mz_join"] = np.where(registered, self.t + rng.integers(1, 4, k), NEVER).astype(np.int16)
        p.extend(**child)
        self.covered_prev = np.concatenate([self.covered_prev, np.zeros(k, bool)])
        self._mark(mothers, "birth")

    def _income(self) -> tuple[np.ndarray, np.ndarray]:
        pop, rng, tl = self.pop, self.rng, self.tl
        p, h = pop.persons, pop.households
        n = len(p)
        live = p.alive
        d = self.dyn
        p.informal *= np.exp(rng.normal(0, d.informal_drift, n)).astype(np.float32)
        moy = tl.month_of_year(self.t) - 1
        urban = np.where(p.hh >= 0, h.urban[np.maximum(p.hh, 0)], pop.places.urban[p.village])
        rural_season, urban_season = _SEASON_RURAL[moy], _SEASON_URBAN[moy]
        if d.season != 1.0:  # today's profile as is, so the default keeps its bytes
            rural_season, urban_season = 1 + d.season * (rural_season - 1), 1 + d.season * (urban_season - 1)
        season = np.where(urban, urban_season, rural_season)
        informal = p.informal * season * np.exp(rng.normal(0, d.informal_noise, n))
        informal = np.where(p.health == SEVERE, 0.2 * informal, informal)
        income = np.where(live, np.where(p.employed, p.wage, 0) + informal
                          + np.where(self._age() >= 60, p.pension, 0), 0)
        member = live & (p.hh >= 0)
        members = np.bincount(p.hh[member], minlength=len(h))
        total = np.bincount(p.hh[member], weights=income[member], minlength=len(h))
        total += np.where(members > 0, h.transfer, 0)
        pc = np.where(members > 0, total / np.maximum(members, 1), np.nan)
        return pc.astype(np.float32), members.astype(np.int16)

    def _contributions(self) -> None:
        p, tl = self.pop.persons, self.tl
        t = self.t
        worker = np.flatnonzero(p.employed & p.alive & ~p.frozen)
        for ins in (PENSION, UNEMPLOYMENT_INS):
            self.contrib(worker, t, ins, p.wage[worker], p.employer[worker])
        age = self._age()
        resident = np.flatnonzero(p.alive & ~p.employed & ~p.frozen & (age >= 18) & (age < 60)
                                  & (p.resident_month == tl.month_of_year(t)))
        self.contrib(resident, t, RESIDENT_PENSION, p.resident_tier[resident].astype(np.float32),
                     np.full(len(resident), -1))

    def _scheduled(self) -> None:
        """The planted people's 人社 evidence, on time by construction."""
        s, c, t = self.pop.scheduled_regs, self.pop.scheduled_contribs, self.t
        for kind in range(4):
            i = np.flatnonzero((s.month == t) & (s.type == kind))
            self.reg(s.person[i], kind, s.day[i], t, s.employer[i])
        i = np.flatnonzero(c.month == t)
        for j in i:
            self.contrib(c.person[j:j + 1], t, int(c.insurance[j]), c.base[j:j + 1], c.employer[j:j + 1], deliver=t)

    # ------------------------------------------------------------ 民政

    def _refresh_views(self, persons: np.ndarray) -> None:
        p = self.pop.persons
        age = self._age()[persons]
        grade = self._grade_now()[persons]
        p.ability_mz[persons] = ability_of(age, p.health[persons], grade)
        p.health_mz[persons] = np.where(grade > 0, DISABLED, p.health[persons])

    def _resync(self, households: np.ndarray) -> None:
        """民政 records the household's members as they are now (on entry, or at a
        check): pending joins and removals take effect."""
        if len(households) == 0:
            return
        p, h = self.pop.persons, self.pop.households
        chosen = np.zeros(len(h), bool)
        chosen[households] = True
        truly = (p.hh >= 0) & chosen[np.maximum(p.hh, 0)] & p.alive
        recorded = (p.mz_hh >= 0) & chosen[np.maximum(p.mz_hh, 0)]
        p.mz_hh[recorded & ~truly] = -1
        p.mz_hh[truly] = p.hh[truly]
        touched = truly | recorded
        p.mz_remove[touched] = NEVER
        p.mz_join[touched] = NEVER
        self._refresh_views(np.flatnonzero(truly))
        heads = h.head[households]
        lost = households[p.mz_hh[heads] != households]
        self._new_heads(lost)

    def _new_heads(self, households: np.ndarray) -> None:
        """A new 户主 when the old one died or left: the spouse, else the oldest."""
        if len(households) == 0:
            return
        p, h = self.pop.persons, self.pop.households
        chosen = np.zeros(len(h), bool)
        chosen[households] = True
        members = np.flatnonzero((p.mz_hh >= 0) & chosen[np.maximum(p.mz_hh, 0)])
        if len(members) == 0:
            return
        order = np.lexsort((p.birth[members], p.relation[members] != SPOUSE,
                            ~p.alive[members], p.mz_hh[members]))
        ranked = members[order]
        first = np.ones(len(ranked), bool)
        first[1:] = p.mz_hh[ranked[1:]] != p.mz_hh[ranked[:-1]]
        new = ranked[first]
        h.head[p.mz_hh[new]] = new
        p.relation[new] = SELF

    def _civil_affairs(self, pc: np.ndarray, members: np.ndarray) -> None:
        h = self.pop.households
        urban_std, rural_std = in_force(DIBAO_STANDARD, self.tl.end(self.t))
        line = np.where(h.urban, urban_std, rural_std)
        if self.recent_pc is None:
            self.recent_pc = pc.astype(np.float64)
        else:
            self.recent_pc = np.where(np.isnan(self.recent_pc), pc, 0.75 * self.recent_pc + 0.25 * pc)
        self._update_register()
        self._applications(pc, members, line)
        self._income_checks(members, line)

    def _update_register(self) -> None:
        """Scripted exits, late member removals and joins, 退出 expiry."""
        p, h, t = self.pop.persons, self.pop.households, self.t
        n_h = len(h)
        scripted = np.flatnonzero(h.frozen & (h.script_exit == t))
        h.status[scripted] = EXITED
        h.exit_month[scripted] = t

        # members dropped from the record (deaths, departures), late
        active = h.status == ACTIVE
        due = np.flatnonzero((p.mz_remove <= t) & (p.mz_hh >= 0))
        in_active = due[active[p.mz_hh[due]] & ~h.frozen[p.mz_hh[due]]]
        p.mz_remove[due] = NEVER
        recorded = np.bincount(p.mz_hh[p.mz_hh >= 0], minlength=n_h)
        dropping = np.bincount(p.mz_hh[in_active], minlength=n_h)
        # a household losing its last member leaves the register, its record frozen as it was
        emptied = np.flatnonzero((recorded > 0) & (recorded == dropping))
        h.status[emptied] = EXITED
        h.exit_month[emptied] = t
        self.ev[emptied] |= EVENT["exited"]
        gone = in_active[~np.isin(p.mz_hh[in_active], emptied)]
        lost_head = np.unique(p.mz_hh[gone[p.relation[gone] == SELF]])
        p.mz_hh[gone] = -1
        self._new_heads(lost_head)

        # newborns registered late
        join = np.flatnonzero((p.mz_join <= t) & p.alive & (p.hh >= 0))
        ok = join[h.status[p.hh[join]] == ACTIVE]
        p.mz_hh[ok] = p.hh[ok]
        self._refresh_views(ok)
        p.mz_join[join] = NEVER

        # 退出 households leave the snapshot after 12 months
        expired = (h.status == EXITED) & (t - h.exit_month.astype(np.int32) >= 12)
        h.status[expired] = NONE

    def _applications(self, pc: np.ndarray, members: np.ndarray, line: np.ndarray) -> None:
        """Households below the line that would apply do so (30% a month by default);
        低保 and 特困 households have nothing to apply for."""
        h, t = self.pop.households, self.t
        may = ((h.status == ACTIVE) & np.isin(h.category, [BIANYUAN, RIGID, OTHER])) | (h.status != ACTIVE)
        apply = (~h.frozen & (members > 0) & (pc < line) & h.would_apply & (h.apply_month == NEVER) & may
                 & (self.rng.random(len(h)) < self.dyn.apply_rate))
        h.apply_month[apply] = t
        self.ev[apply] |= EVENT["applied"]

    def _income_checks(self, members: np.ndarray, line: np.ndarray) -> None:
        """家庭经济状况核对: periodic, a month after an application, or when dynamic
        monitoring finds a household; the recorded income and category follow."""
        h, rng, t, d = self.pop.households, self.rng, self.t, self.dyn
        live = ~h.frozen & (members > 0)
        # the calendar runs on whether or not the household is on the register now
        due = self.next_check == t
        self.next_check[due] += self._intervals(h.period[due])
        periodic = live & (h.status == ACTIVE) & due
        resolve = live & (h.apply_month == t - 1)
        discover = live & (h.status == NONE) & ~self.ever_monitored & (rng.random(len(h)) < d.discover_rate)
        checked = np.flatnonzero(periodic | resolve | discover)
        h.apply_month[h.apply_month < t] = NEVER
        if len(checked) == 0:
            return
        value = np.maximum(0, self.recent_pc[checked] * (1 + rng.normal(0, d.check_noise, len(checked)))).round(2)
        day = self._days(len(checked))
        self.ev[checked] |= EVENT["income_check"]
        cat, status = h.category[checked].copy(), h.status[checked].copy()
        new_cat, new_status, changed = self._decide(
            checked, cat, status, value, line[checked], resolve[checked], members[checked])

        on_record = status == ACTIVE
        enter = ~on_record & (new_status == ACTIVE)
        recorded = on_record | enter
        h.checked[checked[recorded]] = value[recorded]
        h.check_day[checked[recorded]] = day[recorded]
        h.granted_day[checked[changed]] = day[changed]
        h.category[checked] = new_cat
        h.status[checked] = new_status
        exits = checked[on_record & (new_status == EXITED)]
        h.exit_month[exits] = t
        self.ev[exits] |= EVENT["exited"]
        dibao_now = (new_cat == DIBAO) & (new_status == ACTIVE)
        dibao_before = (cat == DIBAO) & on_record
        self.ev[checked[dibao_now & ~dibao_before]] |= EVENT["entered_dibao"]
        self.ev[checked[dibao_before & ~dibao_now]] |= EVENT["left_dibao"]
        self.ev[checked[enter & ~self.ever_monitored[checked]]] |= EVENT["entered_monitoring"]
        renewed = checked[changed]  # a new category starts its own check cycle
        h.period[renewed] = np.where(h.category[renewed] == BIANYUAN, d.check_months_edge, d.check_months)
        h.phase[renewed] = t % h.period[renewed]
        self.next_check[renewed] = t + self._intervals(h.period[renewed])
        h.exit_month[checked[enter]] = -NEVER
        self.ever_monitored[checked[enter]] = True
        # a check (or entry) records the household as it now is
        self._resync(checked[h.status[checked] == ACTIVE])

    def _intervals(self, period: np.ndarray) -> np.ndarray:
        """Months to the next routine check: the period, or within ± spread of it."""
        period = period.astype(np.int32)
        spread = self.dyn.check_spread
        if spread == 0 or len(period) == 0:
            return period
        return np.maximum(1, period + self.check_rng.integers(-spread, spread + 1, len(period)))

    def _decide(self, checked: np.ndarray, cat: np.ndarray, status: np.ndarray, value: np.ndarray,
                line: np.ndarray, applied: np.ndarray, members: np.ndarray):
        """New (category, status) after a check, and which households were granted
        a new category (认定日期 = the check)."""
        rng = self.rng
        u = rng.random(len(checked))
        on_record = status == ACTIVE
        under = value < line
        new_cat, new_status = cat.copy(), status.copy()
        granted = np.zeros(len(checked), bool)
        # 低保 with income past a 10% margin (渐退 tolerates small excesses):
        # 低保边缘 up to 1.5x the line, else 退出
        up = on_record & (cat == DIBAO) & (value >= 1.1 * line)
        edge = up & (value < 1.5 * line)
        new_cat[edge] = BIANYUAN
        granted |= edge
        new_status[up & ~edge] = EXITED
        # monitored low-income households found below the line move into 低保
        low = on_record & np.isin(cat, [BIANYUAN, RIGID, OTHER])
        into = low & under & (u < np.where(applied, self.dyn.convert_applied, self.dyn.convert_checked))
        new_cat[into] = DIBAO
        granted |= into
        new_status[low & ~under & (((cat == BIANYUAN) & (value >= 1.5 * line))
                                  | ((cat == OTHER) & (value >= 2.0 * line))
                                  | ((cat == RIGID) & (value >= 2.5 * line)))] = EXITED
        # outside the register (退出, dropped, never monitored): enter on application
        # or discovery; a lone old person may be found 特困
        outside = ~on_record
        dibao = outside & under & (applied | (u < self.dyn.enter_found))
        lone_old = (members == 1) & (self._age()[self.pop.households.head[checked]] >= 60)
        tekun = dibao & lone_old & (rng.random(len(checked)) < 0.3)
        new_cat[dibao] = np.where(tekun[dibao], TEKUN, DIBAO)
        never = outside & ~self.ever_monitored[checked]
        low_income = never & ~dibao & (value < 2.0 * line) & (rng.random(len(checked)) < 0.7)
        new_cat[low_income] = np.where(value[low_income] < 1.5 * line[low_income], BIANYUAN, OTHER)
        new_status[dibao | low_income] = ACTIVE
        granted |= dibao | low_income
        return new_cat, new_status, granted

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
