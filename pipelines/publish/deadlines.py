"""限时核查 rules: the suggested action and deadline of each risk-list row.

The rules live in one file, `parameters/outputs/check_rules.yaml` (its comments
document every field): effective-dated versions of the household rules (first
match wins), the actions for discovery candidates, how long a household found
不符合条件 stays off the list, and the official working-day calendar the
deadlines count in. `load_rules(day)` returns the version in force on `day`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from pipelines.config import PROJECT_ROOT

log = logging.getLogger(__name__)

RULES_FILE = PROJECT_ROOT / "parameters" / "outputs" / "check_rules.yaml"
LEVELS = ("高", "中", "低")


class RulesError(ValueError):
    """The rules file does not follow its format; the message is one line."""


class WorkCalendar:
    """Working days: Monday to Friday, minus 法定节假日, plus 调休 working weekends."""

    def __init__(self, holidays: set[date], working_weekends: set[date], years: set[int]):
        self.holidays = holidays
        self.working_weekends = working_weekends
        self.years = years
        self._warned: set[int] = set()
        self._added: dict[tuple[date, int], date] = {}  # every row of a list asks the same few

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself does not count)."""
        if (start, n) in self._added:
            return self._added[start, n]
        day, left = start, n
        while left > 0:
            day += timedelta(days=1)
            left -= self.is_working_day(day)
        if day.year not in self.years and day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("no holiday calendar for %d in %s: counted Monday-Friday", day.year, RULES_FILE.name)
        self._added[start, n] = day
        return day


@dataclass(frozen=True)
class Deadline:
    hours: int | None = None
    working_days: int | None = None

    @property
    def label(self) -> str:
        return f"{self.hours}小时" if self.hours else f"{self.working_days}个工作日"

    def due(self, issued_on: date, calendar: WorkCalendar) -> date:
        """The day by whose end the check is due."""
        if self.hours:
            return issued_on + timedelta(days=-(-self.hours // 24))  # 24 hours: the next day
        return calendar.add_working_days(issued_on, self.working_days or 0)


@dataclass(frozen=True)
class HouseholdRule:
    name: str
    action: str
    deadlines: dict[str, Deadline]  # by risk level
    levels: frozenset[str] = frozenset()
    signals_any: frozenset[str] = frozenset()
    reasons_any: frozenset[str] = frozenset()

    def matches(self, level: str, signals: set[str], reasons: set[str]) -> bool:
        return ((not self.levels or level in self.levels)
                and (not self.signals_any or bool(self.signals_any & signals))
                and (not self.reasons_any or bool(self.reasons_any & reasons))
                and level in self.deadlines)


# What a caseworker reads for each signal (warehouse/queries/publish/list_signals.sql) that chose
# a row's action: the action must not come without its reason.
SIGNAL_NAMES = {
    "member_died_or_left": "家人去世或离开",
    "serious_illness": "家人新患重病",
    "severe_disability_new": "家人新持一/二级残疾证",
    "severe_disabled_adult": "有成年无业的一/二级重度残疾成员",
    "unemployed_member": "有劳动能力的成员失业或近期失去工作",
}
# A signal a reason code on the row already states is not said twice (the 单人保 rule flag).
SIGNAL_STATED_BY = {"severe_disabled_adult": "R_SINGLE_PERSON_DIBAO"}


@dataclass(frozen=True)
class Step:
    """What a row asks for: the action, the time limit and the due day; `because`, the signals
    that chose the action, in Chinese (empty when the level alone did)."""

    action: str
    time_limit: str
    deadline: date
    because: str = ""


@dataclass(frozen=True)
class CheckRules:
    valid_from: date
    ineligible_quiet_days: int
    recent_days: int
    households: tuple[HouseholdRule, ...]
    candidates: dict[str, tuple[str, Deadline]]
    calendar: WorkCalendar

    def household_step(self, level: str, signals: set[str], reasons: set[str], issued_on: date) -> Step:
        for rule in self.households:
            if rule.matches(level, signals, reasons):
                deadline = rule.deadlines[level]
                because = "、".join(SIGNAL_NAMES.get(s, s) for s in sorted(rule.signals_any & signals)
                                   if SIGNAL_STATED_BY.get(s) not in reasons)
                return Step(rule.action, deadline.label, deadline.due(issued_on, self.calendar), because)
        raise RulesError(f"{RULES_FILE.name}: no household rule matches level {level!r}")

    def candidate_step(self, rule: str, issued_on: date) -> Step:
        action, deadline = self.candidates.get(rule) or self.candidates["other"]
        return Step(action, deadline.label, deadline.due(issued_on, self.calendar))


def load_rules(day: date, path: Path = RULES_FILE) -> CheckRules:
    """The rule version in force on `day`."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise RulesError(f"{Path(path).name}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
        raise RulesError(f"{Path(path).name}: expected `versions:` keyed by date")
    starts = sorted(d for d in doc["versions"] if isinstance(d, date) and d <= day)
    if not starts:
        raise RulesError(f"{Path(path).name}: no rule version in force on {day}")
    version = doc["versions"][starts[-1]]
    try:
        return CheckRules(
            valid_from=starts[-1],
            ineligible_quiet_days=int(version["ineligible_quiet_days"]),
            recent_days=int(version["recent_days"]),
            households=tuple(_household_rule(r) for r in version["households"]),
            candidates={name: (c["action"], _deadline(c["deadline"])) for name, c in version["candidates"].items()},
            calendar=_calendar(doc.get("calendar") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"{Path(path).name} version {starts[-1]}: malformed ({type(exc).__name__}: {exc})") from None


def _household_rule(raw: dict) -> HouseholdRule:
    if "deadline_by_level" in raw:
        deadlines = {level: _deadline(d) for level, d in raw["deadline_by_level"].items()}
    else:
        deadlines = {level: _deadline(raw["deadline"]) for level in (raw.get("levels") or LEVELS)}
    unknown = set(deadlines) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown level {sorted(unknown)} in rule {raw.get('name')}")
    return HouseholdRule(
        name=str(raw["name"]),
        action=str(raw["action"]),
        deadlines=deadlines,
        levels=frozenset(raw.get("levels") or ()),
        signals_any=frozenset(raw.get("signals_any") or ()),
        reasons_any=frozenset(raw.get("reasons_any") or ()),
    )


def _deadline(raw: dict) -> Deadline:
    hours, days = raw.get("hours"), raw.get("working_days")
    if (hours is None) == (days is None):
        raise ValueError(f"a deadline gives hours or working_days, got {raw}")
    deadline = Deadline(hours=int(hours) if hours is not None else None,
                        working_days=int(days) if days is not None else None)
    if (deadline.hours or 0) < 0 or (deadline.working_days or 0) < 0:
        raise ValueError(f"negative deadline {raw}")
    return deadline


def _calendar(raw: dict) -> WorkCalendar:
    holidays: set[date] = set()
    for entry in raw.get("holidays") or ():
        first, last = (entry, entry) if isinstance(entry, date) else entry
        holidays.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return WorkCalendar(holidays, set(raw.get("working_weekends") or ()), {int(y) for y in raw.get("years") or ()})
