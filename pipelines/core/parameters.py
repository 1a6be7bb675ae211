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

import time
from dataclasses import dataclass
from datetime import date
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


def read_parameter(path: Path) -> list[ParameterValue]:
    """One parameter file as effective-dated values, each closed by the next one."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date key such as 2024-13-01
        raise ParameterError(f"{path.name}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ParameterError(f"{path.name}: expected a mapping at the top level")
    missing = [k for k in REQUIRED if not doc.get(k)]
    if missing:
        raise ParameterError(f"{path.name}: missing {', '.join(missing)}")
    breakdown = str(doc["breakdown"])
    if breakdown not in BREAKDOWNS:
        raise ParameterError(f"{path.name}: breakdown must be one of {', '.join(BREAKDOWNS)}, got {breakdown!r}")
    series = {None: doc["values"]} if breakdown == "none" else doc["values"]
    if not isinstance(series, dict):
        raise ParameterError(f"{path.name}: values must be a mapping")
    rows = []
    for key, dated in series.items():
        if key is not None and key not in BREAKDOWNS[breakdown]:
            raise ParameterError(f"{path.name}: unknown {breakdown} {key!r}")
        rows += _series(path, doc, breakdown, key, dated)
    return rows


def _series(path: Path, doc: dict, breakdown: str, key: str | None, dated) -> list[ParameterValue]:
    if not isinstance(dated, dict) or not dated:
        raise ParameterError(f"{path.name}: {key or 'values'} must map dates to values")
    starts = sorted((_as_date(path, d), v) for d, v in dated.items())
    rows = []
    for i, (start, entry) in enumerate(starts):
        if not isinstance(entry, dict) or "value" not in entry or not entry.get("source"):
            raise ParameterError(f"{path.name}: {key or ''} {start}: give `value` and `source`")
        try:
            amount = Decimal(str(entry["value"]))
        except InvalidOperation:
            raise ParameterError(
                f"{path.name}: {key or ''} {start}: value {entry['value']!r} is not a number") from None
        if amount < 0:
            raise ParameterError(f"{path.name}: {key or ''} {start}: negative value")
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


def _as_date(path: Path, value) -> date:
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
    return [row for f in files for row in read_parameter(f)]


def load_parameters(con: duckdb.DuckDBPyConnection, folder: Path = PARAMETERS) -> dict:
    """Replace core.policy_parameters with the files' values; return the build record."""
    started = time.perf_counter()
    rows = read_parameters(folder)  # read all before touching the table
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
