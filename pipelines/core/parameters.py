"""Policy parameters: effective-dated standards, subsidies and rule thresholds.

One YAML file per parameter under `parameters/` (OpenFisca style): a
`description`, a `unit`, a `reference` to where the values come from, a
`breakdown` (`urban_rural`, `grade` or `none`) and `values` keyed by the
breakdown's values, then by the date each value takes effect:

    values:
      城市:
        2024-01-01: {value: 931, source: seed article}

A value holds until the next date of the same key. `load_parameters` writes them
all into `core.policy_parameters` (valid_from inclusive, valid_to exclusive,
NULL = still in force); SQL reads them as of a day with `core.parameter_on(...)`,
Python with `standard_on(...)`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import yaml

from pipelines.config import PROJECT_ROOT
from pipelines.sources.contract import CITY_CODE, GRADES
from pipelines.sql import query
from pipelines.warehouse import rollback

PARAMETERS = PROJECT_ROOT / "parameters"
TABLE = "core.policy_parameters"
BREAKDOWNS: dict[str, tuple[str, ...]] = {"urban_rural": ("城市", "农村"), "grade": GRADES, "none": ()}
REQUIRED = ("description", "unit", "reference", "breakdown", "values")
# What the pipeline reads: a file missing would turn its amounts into NULLs or defaults without a word.
READ = ("dibao_standard", "dibao_edge_factor", "disability_living_subsidy", "disability_nursing_subsidy",
        "employment_income_disregard", "risk_min_score", "risk_visits_by_need", "risk_visits_per_township")
# Without a value in force the 低保 line is NULL: every household-month from the first delivery needs one.
FROM_FIRST_DELIVERY = ("dibao_standard", "dibao_edge_factor")


class _UniqueKeys(yaml.SafeLoader):
    """YAML whose mappings refuse a key given twice (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ParameterError(f"{_display(key)} given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep)


def _display(key) -> str:
    return key.isoformat() if isinstance(key, date) else str(key)


class ParameterError(ValueError):
    """A parameter file that does not follow the format; the message names the file."""


@dataclass(frozen=True)
class ParameterValue:
    parameter: str
    region_code: str
    urban_rural: str | None
    grade: str | None
    amount: Decimal
    unit: str
    valid_from: date
    valid_to: date | None
    source: str


def _load(path: Path) -> dict:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)  # noqa: S506 - a SafeLoader
    except ParameterError as exc:
        raise ParameterError(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise ParameterError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date key such as 2024-13-01
        raise ParameterError(f"{path.name}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ParameterError(f"{path.name}: expected a mapping at the top level")
    return doc


def read_parameter(path: Path) -> list[ParameterValue]:
    """One parameter file as effective-dated values, each closed by the next one."""
    path = Path(path)
    doc = _load(path)
    missing = [k for k in REQUIRED if not doc.get(k)]
    if missing:
        raise ParameterError(f"{path.name}: missing {', '.join(missing)}")
    breakdown = str(doc["breakdown"])
    if breakdown not in BREAKDOWNS:
        raise ParameterError(f"{path.name}: breakdown must be one of {', '.join(BREAKDOWNS)}, got {breakdown!r}")
    region = str(doc.get("region_code", CITY_CODE))
    if region != CITY_CODE:  # core.parameter_on reads the city's rows only: a county's would be loaded, unused
        raise ParameterError(f"{path.name}: region_code {region}: only city-wide values ({CITY_CODE}) are applied")
    series = {None: doc["values"]} if breakdown == "none" else doc["values"]
    if not isinstance(series, dict):
        raise ParameterError(f"{path.name}: values must be a mapping")
    rows = []
    for key, dated in series.items():
        if key is not None and key not in BREAKDOWNS[breakdown]:
            raise ParameterError(f"{path.name}: unknown {breakdown} {key!r}")
        rows += _series(path, doc, breakdown, key, dated)
    if breakdown == "urban_rural" and (absent := [k for k in BREAKDOWNS[breakdown] if k not in series]):
        raise ParameterError(f"{path.name}: no values for {', '.join(absent)}")  # the area would have no line
    return rows


def _series(path: Path, doc: dict, breakdown: str, key: str | None, dated) -> list[ParameterValue]:
    if not isinstance(dated, dict) or not dated:
        raise ParameterError(f"{path.name}: {key or 'values'} must map dates to values")
    starts = sorted((_as_date(path, d), v) for d, v in dated.items())
    rows = []
    for i, (start, entry) in enumerate(starts):
        if not isinstance(entry, dict) or "value" not in entry or not entry.get("source"):
            raise ParameterError(f"{path.name}: {key or ''} {start}: give `value` and `source`")
        amount = _amount(path, doc, f"{key or ''} {start}".strip(), entry["value"])
        rows.append(ParameterValue(
            parameter=path.stem,
            region_code=str(doc.get("region_code", CITY_CODE)),
            urban_rural=key if breakdown == "urban_rural" else None,
            grade=key if breakdown == "grade" else None,
            amount=amount,
            unit=str(doc["unit"]),
            valid_from=start,
            valid_to=starts[i + 1][0] if i + 1 < len(starts) else None,
            source=str(entry["source"]),
        ))
    return rows


def _amount(path: Path, doc: dict, where: str, value) -> Decimal:
    """A finite, non-negative number inside the file's `range` when it gives one."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ParameterError(f"{path.name}: {where}: value {value!r} is not a number") from None
    if not amount.is_finite():
        raise ParameterError(f"{path.name}: {where}: value {value!r} is not a number")
    if amount < 0:
        raise ParameterError(f"{path.name}: {where}: negative value")
    low, high = _range(path, doc)
    if not low <= amount <= high:
        raise ParameterError(f"{path.name}: {where}: value {value} is outside this parameter's range {low}..{high}"
                             " (`range` in the file): a typo?")
    return amount


def _range(path: Path, doc: dict) -> tuple[Decimal, Decimal]:
    """`range: [low, high]`: what a value of this parameter can plausibly be."""
    given = doc.get("range")
    if given is None:
        return Decimal(0), Decimal(math.inf)
    try:
        low, high = (Decimal(str(v)) for v in given)
        if not (low.is_finite() and high.is_finite() and 0 <= low <= high):
            raise InvalidOperation
    except (InvalidOperation, TypeError, ValueError):
        raise ParameterError(f"{path.name}: range must be [low, high], two numbers, got {given!r}") from None
    return low, high


def plausible_range(name: str, folder: Path = PARAMETERS) -> tuple[Decimal, Decimal]:
    """The `range` of parameter `name`'s file: what a proposed value of it can plausibly be."""
    path = Path(folder) / f"{name}.yaml"
    return _range(path, _load(path))


def _as_date(path: Path, value) -> date:
    if isinstance(value, datetime):
        raise ParameterError(f"{path.name}: {value} has a time of day: give the date a value takes effect")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ParameterError(f"{path.name}: {value!r} is not a YYYY-MM-DD date") from None


def read_parameters(folder: Path = PARAMETERS) -> list[ParameterValue]:
    files = sorted(Path(folder).glob("*.yaml"))
    if not files:
        raise ParameterError(f"no parameter files in {folder}")
    if absent := [name for name in READ if not (Path(folder) / f"{name}.yaml").is_file()]:
        raise ParameterError(f"{folder}: missing {', '.join(f'{n}.yaml' for n in absent)}, which the pipeline reads")
    return [row for f in files for row in read_parameter(f)]


def uncovered(rows: list[ParameterValue], first_delivery: date | None) -> list[str]:
    """The FROM_FIRST_DELIVERY parameters (per 城乡属性) with no value in force on the first delivery's month."""
    if first_delivery is None:
        return []
    month = first_delivery.replace(day=1)
    starts: dict[tuple, date] = {}
    for r in rows:
        if r.parameter in FROM_FIRST_DELIVERY:
            key = (r.parameter, r.urban_rural)
            starts[key] = min(starts.get(key, r.valid_from), r.valid_from)
    return [f"{name}.yaml{f' {area}' if area else ''} starts {start}, after {month}"
            for (name, area), start in sorted(starts.items(), key=str) if start > month]


def load_parameters(con: duckdb.DuckDBPyConnection, folder: Path = PARAMETERS) -> dict:
    """Replace core.policy_parameters with the files' values; return the build record."""
    started = time.perf_counter()
    rows = read_parameters(folder)  # read all before touching the table
    first = con.execute(query("policy/first_delivery")).fetchone()[0]
    if gaps := uncovered(rows, first):
        raise ParameterError(f"no value in force for the first delivery ({first}): {'; '.join(gaps)}")
    con.execute("BEGIN")
    try:
        con.execute(query("core/policy_parameters"))
        con.executemany(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[r.parameter, r.region_code, r.urban_rural, r.grade, r.amount, r.unit, r.valid_from, r.valid_to,
              r.source] for r in rows],
        )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)  # a failed COMMIT has ended the transaction: keep its error, not ROLLBACK's
        raise
    return {"layer": "core", "name": TABLE, "kind": "table", "rows": len(rows),
            "seconds": round(time.perf_counter() - started, 3)}


def standard_on(con: duckdb.DuckDBPyConnection, parameter: str, urban_rural: str | None, day: date,
                grade: str | None = None) -> Decimal | None:
    """The city-wide value of `parameter` in force on `day`, or None when none is.

    `urban_rural` / `grade` select the breakdown; parameters without one ignore them.
    """
    found = con.execute(
        query("core/standard_on"),
        [parameter, CITY_CODE, urban_rural, grade, day, day],
    ).fetchall()
    if len(found) > 1:
        raise ParameterError(f"{parameter}: {len(found)} values in force on {day}; give urban_rural or grade")
    if not found and not con.execute(f"SELECT 1 FROM {TABLE} WHERE parameter = ? LIMIT 1", [parameter]).fetchall():
        raise ParameterError(f"unknown parameter {parameter!r} (no parameters/{parameter}.yaml loaded)")
    return found[0][0] if found else None
