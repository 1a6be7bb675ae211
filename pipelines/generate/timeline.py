"""Month indices, extract dates and day numbers used throughout the generator.

Month 0 ends on `start`. Months 0..months-1 are delivered (one delivery per source
at each month end); `HORIZON` more months are simulated only for the ground truth,
so that a risk score computed at the last delivery can be checked against the
three months that follow it (outputs.md: "at some month in the 3 months after").
Days are stored as int32 days since 1970-01-01 ("epoch days").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

EPOCH = date(1970, 1, 1)
HORIZON = 3


def to_days(d: date) -> int:
    return (d - EPOCH).days


def from_days(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def is_month_end(d: date) -> bool:
    return (d + timedelta(days=1)).day == 1


@dataclass(frozen=True)
class Timeline:
    start: date  # the first extract date, a month end
    months: int  # delivered months

    @property
    def total(self) -> int:
        """Simulated months: the delivered ones plus the truth-only horizon."""
        return self.months + HORIZON

    @property
    def last(self) -> int:
        """Index of the last delivered month."""
        return self.months - 1

    def year_month(self, t: int) -> tuple[int, int]:
        k = self.start.year * 12 + self.start.month - 1 + t
        return k // 12, k % 12 + 1

    def end(self, t: int) -> date:
        return month_end(*self.year_month(t))

    def first(self, t: int) -> date:
        y, m = self.year_month(t)
        return date(y, m, 1)

    def end_days(self, t: int) -> int:
        return to_days(self.end(t))

    def first_days(self, t: int) -> int:
        return to_days(self.first(t))

    def length(self, t: int) -> int:
        return self.end(t).day

    def yyyymm(self, t: int) -> int:
        y, m = self.year_month(t)
        return y * 100 + m

    def month_of_year(self, t: int) -> int:
        return self.year_month(t)[1]

    def days_in(self, t: int, rng: np.random.Generator, n: int) -> np.ndarray:
        """n random days (epoch days) inside month t."""
        return (self.first_days(t) + rng.integers(0, self.length(t), n)).astype(np.int32)


def age_on(birth_days: np.ndarray, on: date) -> np.ndarray:
    """Completed years of age on `on`, vectorised over epoch-day birth dates."""
    b = birth_days.astype("datetime64[D]")
    years = b.astype("datetime64[Y]").astype(np.int64) + 1970
    months = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    age = on.year - years
    before_birthday = (months > on.month) | ((months == on.month) & (days > on.day))
    return (age - before_birthday).astype(np.int32)


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) arrays from epoch days."""
    b = np.asarray(days).astype("datetime64[D]")
    years = b.astype("datetime64[Y]").astype(np.int64) + 1970
    months = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    return years, months, dd
