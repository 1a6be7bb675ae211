"""What 民政 does each month in the simulation: its view of members, routine
income checks, applications, and decisions on each household."""

from __future__ import annotations

import numpy as np

from pipelines.generate.codes import (
    ACTIVE,
    BIANYUAN,
    DIBAO,
    DISABLED,
    EVENT,
    EXITED,
    NONE,
    OTHER,
    RIGID,
    SELF,
    SPOUSE,
    TEKUN,
)
from pipelines.generate.people import NEVER, ability_of
from pipelines.generate.standards import DIBAO as DIBAO_STANDARD
from pipelines.generate.standards import in_force


class CivilAffairs:
    """Simulation steps of 民政; mixed into simulate.Simulation."""

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
