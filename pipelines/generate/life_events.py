"""Monthly life events of the simulation: deaths, health, disability, work,
people leaving and born, income, and the contributions jobs pay."""

from __future__ import annotations

import numpy as np

from pipelines.generate import ids, names
from pipelines.generate.codes import (
    ACTIVE,
    CHILD,
    CHRONIC,
    EMPLOY,
    EMPLOY_END,
    GRANDCHILD,
    HEALTHY,
    IN_HOUSEHOLD,
    OTHER_REL,
    PENSION,
    RESIDENT_PENSION,
    SELF,
    SEVERE,
    SPOUSE,
    UNABLE,
    UNEMPLOY,
    UNEMPLOY_END,
    UNEMPLOYMENT_INS,
)
from pipelines.generate.people import NEVER, TYPE_P, ability_of, person_defaults
from pipelines.generate.places import county_codes

# Annual mortality by age band (lower bound, rate); severe illness adds 2%/month.
_DEATH_AGES = np.array([0, 40, 60, 70, 80, 90])
_DEATH_RATES = np.array([0.0008, 0.003, 0.012, 0.03, 0.08, 0.18])
# Informal/farm income by calendar month: harvests in June and October, the
# Spring Festival slack in winter. Urban informal work varies less.
_SEASON_RURAL = np.array([0.8, 0.7, 0.9, 1.0, 1.1, 1.4, 1.0, 0.9, 1.1, 1.3, 1.0, 0.8])
_SEASON_URBAN = np.array([0.9, 0.85, 1.0, 1.0, 1.0, 1.05, 1.0, 1.0, 1.05, 1.05, 1.0, 1.05])


class LifeEvents:
    """Simulation steps about people; mixed into simulate.Simulation."""

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
