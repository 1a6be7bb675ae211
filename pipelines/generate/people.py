"""People in the starting population: ages, birth dates, 身份证号 regions, health,
work, job seeking and 残疾证 certificates, drawn as numpy columns."""

from __future__ import annotations

from datetime import date

import numpy as np

from pipelines.sources.contract import COUNTIES
from pipelines.generate import places
from pipelines.generate.codes import ABLE, CHRONIC, HEALTHY, PARTIAL, SELF, SEVERE, UNABLE
from pipelines.generate.timeline import Timeline, date_parts, to_days

NEVER = np.int16(32767)  # "no month" for cancel / removal schedules

# 残疾类别 shares (视力, 听力, 言语, 肢体, 智力, 精神, 多重)
TYPE_P = np.array([0.11, 0.12, 0.02, 0.42, 0.11, 0.12, 0.10])
MIN_WAGE = 2010.0  # 山东 minimum monthly wage, 二类 area (2023)


def draw_ages(rng: np.random.Generator, bands: tuple[tuple[int, int, float], ...], n: int) -> np.ndarray:
    p = np.array([b[2] for b in bands])
    which = rng.choice(len(bands), size=n, p=p / p.sum())
    lo = np.array([b[0] for b in bands])[which]
    hi = np.array([b[1] for b in bands])[which]
    return rng.integers(lo, hi + 1).astype(np.float64)


def birth_from_age(rng: np.random.Generator, age: np.ndarray, on_days: int) -> np.ndarray:
    """A birth date giving completed `age` years on `on_days`."""
    return (on_days - np.floor(age * 365.25) - rng.integers(1, 365, len(age))).astype(np.int32)


def draw_regions(rng: np.random.Generator, county: np.ndarray, birth: np.ndarray) -> np.ndarray:
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


def draw_health(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
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


def draw_school_end(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([15, 18, 22], np.int8), size=n, p=[0.15, 0.5, 0.35])


def draw_wages(rng: np.random.Generator, urban: np.ndarray, median_urban: float, median_rural: float) -> np.ndarray:
    median = np.where(urban, median_urban, median_rural)
    return np.maximum(MIN_WAGE, median * np.exp(rng.normal(0, 0.2, len(urban)))).round(-1).astype(np.float32)


def draw_jobs(rng: np.random.Generator, p: dict, employed: np.ndarray, n_employers: int,
              tl: Timeline) -> None:
    """Employer and start date of the jobs people hold at the start."""
    k = int(employed.sum())
    p["employer"][employed] = rng.integers(0, n_employers, k)
    start = tl.end_days(0)
    p["job_start"][employed] = start - 20 - (rng.exponential(900, k)).astype(np.int32)


def draw_job_seeking(rng: np.random.Generator, p: dict, age: np.ndarray, able: np.ndarray,
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

def draw_certificates(rng: np.random.Generator, person: np.ndarray, grades: np.ndarray,
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


def draw_grades(rng: np.random.Generator, p: tuple[float, ...], n: int) -> np.ndarray:
    return rng.choice(np.arange(1, 5), size=n, p=np.array(p) / sum(p)).astype(np.int8)
