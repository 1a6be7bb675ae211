"""The 单人保 rule (outputs.md) evaluated on what a pipeline can load.

On a scoring date a person qualifies when they are 18 or older, hold a 有效
certificate of grade 一级 or 二级, have no open 就业登记 (the last of their
就业登记 / 就业登记注销 events is not a 就业登记) and no 企业职工基本养老保险
contribution for the scoring month or the two before it, and are a member of no
在册 household in that month's 民政 snapshot.

It is evaluated on the rows a correct pipeline loads, not on the simulation's
inner state: rows with an unrepairable defect are quarantined, deliveries
without `_READY` or rejected for their counts load nothing, 人社 events count
from the delivery that carried them (late ones only once they arrive), and 残联
counts with its latest loaded snapshot. So the truth is exactly what a correct
implementation of the rule outputs, defects and lateness included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.codes import EMPLOY, EMPLOY_END, INSURANCES, PENSION, REGISTRATIONS
from pipelines.generate.planted import PLANTED
from pipelines.generate.population import Population
from pipelines.generate.timeline import Timeline, age_on, to_days


@dataclass
class Loaded:
    """What a correct pipeline loads from one delivery (people by index)."""

    source: str
    month: int
    arrays: dict[str, np.ndarray]


def loaded_mz(month: int, households: pl.DataFrame, members: pl.DataFrame) -> Loaded:
    return Loaded("mz", month, {
        "active": households.filter(pl.col("保障状态") == "在册")["_household"].to_numpy(),
        "person": members["_person"].to_numpy(),
        "household": members["_household"].to_numpy(),
    })


def loaded_cl(month: int, certs: pl.DataFrame) -> Loaded:
    severe = certs.filter((pl.col("证件状态") == "有效") & pl.col("残疾等级").is_in(["一级", "二级"]))
    return Loaded("cl", month, {"severe": severe["_person"].to_numpy()})


def loaded_rs(month: int, regs: pl.DataFrame, contribs: pl.DataFrame) -> Loaded:
    reg_type = regs["登记类型"].replace_strict(
        {v: i for i, v in enumerate(REGISTRATIONS)}, return_dtype=pl.Int8).to_numpy()
    day = (regs["登记日期"].str.to_date("%Y-%m-%d").cast(pl.Int32)).to_numpy()
    pension = contribs.filter(pl.col("险种") == INSURANCES[PENSION])
    return Loaded("rs", month, {
        "reg_person": regs["_person"].to_numpy(), "reg_type": reg_type, "reg_day": day,
        "pension_person": pension["_person"].to_numpy(),
        "pension_yyyymm": pension["缴费年月"].cast(pl.Int64).to_numpy(),
    })


def evaluate(loaded: list[Loaded], pop: Population, tl: Timeline, person_id: pl.Series,
             person_name: pl.Series, village_code: pl.Series) -> pl.DataFrame:
    """Rows for every (as_of, person) for which the rule holds, plus the planted
    near-misses at the last month with why they fail."""
    p = pop.persons
    n = len(p)
    by = {(x.source, x.month): x for x in loaded}
    frames = []
    for t in range(tl.months):
        mz = by.get(("mz", t))
        if mz is None:
            continue  # no scoring date without a loaded 民政 snapshot
        e = tl.end(t)
        active = np.zeros(len(pop.households), bool)
        active[mz.arrays["active"]] = True
        covered = np.zeros(n, bool)
        covered[mz.arrays["person"][active[mz.arrays["household"]]]] = True
        cl = max((x.month for x in loaded if x.source == "cl" and x.month <= t), default=None)
        severe = np.zeros(n, bool)
        if cl is not None:
            severe[by[("cl", cl)].arrays["severe"]] = True
        adult = age_on(p.birth, e) >= 18
        employed = _open_employment([x for x in loaded if x.source == "rs" and x.month <= t], n, to_days(e))
        paid = np.zeros(n, bool)
        window = {tl.yyyymm(t - i) for i in range(3)}
        for x in loaded:
            if x.source == "rs" and x.month <= t:
                a = x.arrays
                paid[a["pension_person"][np.isin(a["pension_yyyymm"], list(window))]] = True
        holds = np.flatnonzero(severe & adult & ~covered & ~employed & ~paid)
        frames.append(_rows(holds, e, True, p, person_id, person_name, village_code))
    fin = tl.last
    near = np.flatnonzero(p.planted >= 0)
    near = near[~np.array([PLANTED[v][1] for v in p.planted[near]], bool)]
    frames.append(_rows(near, tl.end(fin), False, p, person_id, person_name, village_code))
    return pl.concat(frames)


def _open_employment(rs: list[Loaded], n: int, until: int) -> np.ndarray:
    person = np.concatenate([x.arrays["reg_person"] for x in rs]) if rs else np.zeros(0, np.int32)
    kind = np.concatenate([x.arrays["reg_type"] for x in rs]) if rs else np.zeros(0, np.int8)
    day = np.concatenate([x.arrays["reg_day"] for x in rs]) if rs else np.zeros(0, np.int32)
    keep = np.isin(kind, [EMPLOY, EMPLOY_END]) & (day <= until)
    person, kind, day = person[keep], kind[keep], day[keep]
    order = np.lexsort((kind, day, person))  # by person, then date; a 注销 after a 登记 the same day
    person, kind = person[order], kind[order]
    last = np.ones(len(person), bool)
    last[:-1] = person[1:] != person[:-1]
    employed = np.zeros(n, bool)
    employed[person[last][kind[last] == EMPLOY]] = True
    return employed


def _rows(idx: np.ndarray, on, holds: bool, p, person_id: pl.Series, person_name: pl.Series,
          village_code: pl.Series) -> pl.DataFrame:
    planted = p.planted[idx]
    village = village_code[p.village[idx].astype(np.int64)]
    variant = [PLANTED[v][0] if v >= 0 else None for v in planted.tolist()]
    return pl.DataFrame({
        "as_of": pl.Series([on] * len(idx), dtype=pl.Date),
        "person_id": person_id[idx],
        "name": person_name[idx],
        "county_code": village.str.slice(0, 6),
        "township_code": village.str.slice(0, 9),
        "holds": pl.Series([holds] * len(idx), dtype=pl.Boolean),
        "planted": pl.Series(planted >= 0),
        "variant": pl.Series(variant, dtype=pl.String),
        "why_not": pl.Series([None if holds else v for v in variant], dtype=pl.String),
    })
