"""People outside the modelled households: 残联-only certificate holders and
workers only 人社 knows."""

from __future__ import annotations

from datetime import date

import numpy as np

from pipelines.generate import names, places, scales
from pipelines.generate.codes import ABLE, CL_ONLY, RS_ONLY, UNABLE
from pipelines.generate.people import (
    ability_of,
    birth_from_age,
    draw_ages,
    draw_certificates,
    draw_grades,
    draw_health,
    draw_job_seeking,
    draw_jobs,
    draw_regions,
    draw_school_end,
    draw_wages,
    person_defaults,
)
from pipelines.generate.numpy_table import Table
from pipelines.generate.timeline import Timeline, date_parts, to_days


def add_cl_only(rng: np.random.Generator, persons: Table, certs: Table, pl_: places.Places,
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
    age = draw_ages(rng, ((1, 17, 0.06), (18, 59, 0.44), (60, 92, 0.50)), n)
    p = person_defaults(n)
    p["kind"][:] = CL_ONLY
    p["female"] = rng.random(n) < 0.45
    p["birth"] = birth_from_age(rng, age, start)
    county = rng.choice(len(places.PROFILES), size=n, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n) < places.urban_shares()[county] + 0.1
    p["village"] = pl_.pick(rng, county, urban)
    away = rng.random(n) < 0.005  # living outside 聊城, still on its register
    p["village"][away] = pl_.pick_nonlocal(rng, away.sum())
    p["region"] = draw_regions(rng, county, p["birth"])
    nonlocal_id = rng.random(n) < 0.005
    p["region"][nonlocal_id] = places.NONLOCAL_REGIONS[rng.integers(0, 8, nonlocal_id.sum())]
    p["surname"] = names.draw_surnames(rng, n)
    p["health"] = draw_health(rng, age)
    p["school_end"] = draw_school_end(rng, n)
    grades = np.concatenate([
        draw_grades(rng, (0.4, 0.6, 0, 0), n12),
        draw_grades(rng, (0, 0, 0.45, 0.55), n34),
        draw_grades(rng, (0.25, 0.25, 0.25, 0.25), n_cancel),
    ])
    able = ability_of(age, p["health"], grades)
    working = (age >= 18) & (age < 60) & ~((age >= 6) & (age <= p["school_end"]))
    p_job = np.where(grades <= 2, 0.08, 0.30)
    p["employed"] = working & (able != UNABLE) & (rng.random(n) < p_job)
    p["wage"][p["employed"]] = draw_wages(rng, urban[p["employed"]], 2600, 2200)
    draw_jobs(rng, p, p["employed"], n_employers, tl)
    draw_job_seeking(rng, p, age, able, (age >= 6) & (age <= p["school_end"]), tl, base=0.004)
    p["seeker"] = np.where(grades <= 2, 0.002, 0.008).astype(np.float32) * (able != UNABLE)
    idx = persons.extend(**p)

    c = draw_certificates(rng, idx, grades, tl, p["birth"])
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


def add_rs_only(rng: np.random.Generator, persons: Table, pl_: places.Places, tl: Timeline,
                scale: scales.Scale, n_employers: int) -> None:
    """Workers only 人社 knows: their registrations match no 民政 or 残联 record."""
    n = max(10, round(scales.RS_ONLY_PERSONS * scale.factor))
    start = tl.end_days(0)
    age = rng.uniform(18, 59, n)
    p = person_defaults(n)
    p["kind"][:] = RS_ONLY
    p["female"] = rng.random(n) < 0.45
    p["birth"] = birth_from_age(rng, age, start)
    county = rng.choice(len(places.PROFILES), size=n, p=places.county_weights()).astype(np.int8)
    urban = rng.random(n) < 0.45
    p["village"] = pl_.pick(rng, county, urban)
    away = rng.random(n) < 0.05
    p["village"][away] = pl_.pick_nonlocal(rng, away.sum())
    p["region"] = draw_regions(rng, county, p["birth"])
    nonlocal_id = rng.random(n) < 0.10
    p["region"][nonlocal_id] = places.NONLOCAL_REGIONS[rng.integers(0, 8, nonlocal_id.sum())]
    p["surname"] = names.draw_surnames(rng, n)
    p["health"] = draw_health(rng, age)
    p["school_end"][:] = 15
    p["employed"] = rng.random(n) < 0.7
    p["wage"][p["employed"]] = draw_wages(rng, urban[p["employed"]], 3400, 3000)
    draw_jobs(rng, p, p["employed"], n_employers, tl)
    able = np.full(n, ABLE, np.int8)
    draw_job_seeking(rng, p, age, able, np.zeros(n, bool), tl, base=0.05)
    p["unemp_open"] &= rng.random(n) < 0.8
    persons.extend(**p)
