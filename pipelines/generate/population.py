"""The people, households and certificates the simulation starts from.

build() draws the monitored households (households.py), the people only 残联 or
人社 know (outsiders.py) and the 单人保 plant (planted.py) as numpy columns;
strings are made only when files are rendered. More in docs/generator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from pipelines.sources.contract import COUNTIES
from pipelines.generate import ids, names, places, scales
from pipelines.generate.dynamics import Dynamics
from pipelines.generate.codes import ACTIVE, BIANYUAN, DISABLED, NONE, SELF
from pipelines.generate.households import GROUPS, Group, household_group, work_and_income
from pipelines.generate.outsiders import add_cl_only, add_rs_only
from pipelines.generate.people import NEVER, ability_of, draw_certificates
from pipelines.generate.planted import plant
from pipelines.generate.standards import DIBAO as DIBAO_STANDARD
from pipelines.generate.standards import in_force
from pipelines.generate.streams import stream
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline, date_parts


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
        h, p, pc = household_group(rng, g, n_h, tl, pl_, standard)
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
    c = draw_certificates(rng, np.flatnonzero(holder), grades, tl, p["birth"][holder])
    p["cert"][holder] = np.arange(holder.sum())
    p["any_cert"][holder] = True
    grade = np.zeros(n, np.int8)
    grade[holder] = grades
    work_and_income(rng, p, h, pc, group_of_h, grade, tl, n_employers)

    monitored = h["status"][hh] != NONE
    p["mz_hh"] = np.where(monitored, hh, -1).astype(np.int32)
    persons = Table(**p)
    households = Table(**h)
    certs = Table(**c)

    add_cl_only(rng, persons, certs, pl_, tl, scale, n_employers)
    add_rs_only(rng, persons, pl_, tl, scale, n_employers)
    sched_regs, sched_contribs = plant(rng, persons, households, certs, pl_, tl, scale,
                                       n_employers)
    _finish(rng, persons, households, certs, tl)
    _cert_mismatches(rng, persons, certs)
    pop = Population(persons, households, certs, pl_, employers, employer_county,
                     sched_regs, sched_contribs)
    pop.household_ids = _household_ids(households, pl_)
    return pop


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
