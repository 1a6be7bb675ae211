"""The planted set for the 单人保 rule (outputs.md): people for whom it holds at
the last delivered month, and near-misses that fail exactly one condition."""

from __future__ import annotations

import numpy as np

from pipelines.generate import names, places, scales
from pipelines.generate.codes import (
    ACTIVE,
    BIANYUAN,
    CHRONIC,
    CL_ONLY,
    DIBAO,
    EMPLOY,
    EMPLOY_END,
    EXITED,
    IN_HOUSEHOLD,
    PENSION,
    RESIDENT_PENSION,
    UNEMPLOY,
    UNEMPLOYMENT_INS,
)
from pipelines.generate.people import NEVER, birth_from_age, draw_certificates, draw_regions, person_defaults
from pipelines.generate.standards import DIBAO as DIBAO_STANDARD
from pipelines.generate.standards import in_force
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline

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


def plant(rng: np.random.Generator, persons: Table, households: Table, certs: Table,
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
    p["birth"] = birth_from_age(rng, age, end_fin)
    # 17 on the last extract date, 18 between 1 and 6 months later
    seventeen = v["age_17"]
    p["birth"][seventeen] = (end_fin - np.round(18 * 365.2425)
                             + rng.integers(30, 180, seventeen.sum())).astype(np.int32)
    county = rng.choice(len(places.PROFILES), size=n, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n) < 0.3
    p["village"] = pl_.pick(rng, county, urban)
    p["region"] = draw_regions(rng, county, p["birth"])
    p["region"][v["nonlocal_id"]] = places.NONLOCAL_REGIONS[
        rng.integers(0, 8, v["nonlocal_id"].sum())]
    p["surname"] = names.draw_surnames(rng, n)
    p["health"][:] = CHRONIC
    p["school_end"][:] = 15
    p["nursing_takeup"][:] = True

    in_hh, start_hh = _one_person_households(rng, p, v, county, households, pl_, tl)
    idx = persons.extend(**p)
    households.head[start_hh:] = idx[in_hh]

    grades = np.where(rng.random(n) < 0.5, 1, 2).astype(np.int8)
    grades[v["grade_3"]] = 3
    c = draw_certificates(rng, idx, grades, tl, p["birth"])
    c["cancel_month"][v["cert_cancelled"]] = -rng.integers(2, 12, v["cert_cancelled"].sum())
    cert_idx = certs.extend(**c)
    active = ~v["cert_cancelled"]
    persons.cert[idx[active]] = cert_idx[active]
    persons.any_cert[idx] = True

    return _rs_evidence(rng, idx, v, tl, n_employers)


def _one_person_households(rng: np.random.Generator, p: dict, v: dict, county: np.ndarray,
                           households: Table, pl_: places.Places,
                           tl: Timeline) -> tuple[np.ndarray, int]:
    """Households of the two household variants: one person each, frozen.
    Returns which planted people live in them and the first new household."""
    in_hh = v["exited_household"] | v["in_active_household"]
    k = int(in_hh.sum())
    start_hh = len(households)
    hcat = np.where(v["exited_household"][in_hh], BIANYUAN, DIBAO).astype(np.int8)
    exit_month = tl.last - 2
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
    return in_hh, start_hh


def _rs_evidence(rng: np.random.Generator, idx: np.ndarray, v: dict, tl: Timeline,
                 n_employers: int) -> tuple[Table, Table]:
    """The 人社 registrations and contributions each variant needs, as scheduled
    events (registrations, contributions)."""
    fin = tl.last
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
