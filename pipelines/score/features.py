"""Household features for risk scoring, as of a date, with no look-ahead.

The SQL lives in `warehouse/queries/features/`, one file per feature group, each a
query parameterised by `$as_of` (a DATE):

- `population.sql` and `members.sql` select the households scored on `$as_of`
  (在册, 保障类别 neither 低保 nor 特困, in the latest mz snapshot on or before it)
  and their members; they are kept as the temp tables `feature_population` and
  `feature_members` that the groups read;
- `feat_<group>.sql` return one row per household of `feature_population`.

Every group uses only facts dated on or before `$as_of` from deliveries whose
extract date is on or before `$as_of`: snapshots through the `core.*_asof`
macros, 人社 events through `recorded_on`, contributions straight from staging
by `extract_date`. So the features of a past date are what the warehouse knew
that day, and adding or removing later deliveries cannot change them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sql import QUERIES

FEATURE_SQL = QUERIES / "features"

KEYS = ["as_of_date", "household_id", "county_code", "township_code"]
CATEGORICAL = ["urban_rural", "county_code", "category", "season"]


class FeatureError(Exception):
    """A feature group's SQL is broken or returns the wrong grain; one line."""


@dataclass(frozen=True)
class FeatureGroup:
    """One `feat_<name>.sql` file."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.stem.removeprefix("feat_")

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def feature_groups(root: Path = FEATURE_SQL) -> list[FeatureGroup]:
    return [FeatureGroup(p) for p in sorted(root.glob("feat_*.sql"))]


def _frame(con: duckdb.DuckDBPyConnection, sql: str, as_of: date | None = None,
           params: dict | None = None) -> pl.DataFrame:
    return con.sql(sql, params=None if as_of is None else {"as_of": as_of, **(params or {})}).pl()


@contextmanager
def scored_population(con: duckdb.DuckDBPyConnection, as_of: date, root: Path = FEATURE_SQL) -> Iterator[int]:
    """Create the temp tables feature_population and feature_members for `as_of`;
    yield the number of households; drop them afterwards."""
    try:
        for table, file in (("feature_population", "population.sql"), ("feature_members", "members.sql")):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {(root / file).read_text(encoding='utf-8')}",
                        {"as_of": as_of})
        yield con.execute("SELECT count(*) FROM feature_population").fetchall()[0][0]
    except duckdb.Error as exc:
        raise FeatureError(f"population as of {as_of}: {str(exc).splitlines()[0]}") from exc
    finally:
        for table in ("feature_members", "feature_population"):
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _per_household(con: duckdb.DuckDBPyConnection, name: str, sql: str, as_of: date, households: int,
                   params: dict | None = None) -> pl.DataFrame:
    try:
        part = _frame(con, sql, as_of, params)
    except duckdb.Error as exc:
        raise FeatureError(f"{name} as of {as_of}: {str(exc).splitlines()[0]}") from exc
    if part.height != households or part["household_id"].n_unique() != part.height:
        raise FeatureError(f"{name} returned {part.height} rows for {households} households "
                           "(one row per household expected)")
    return part


def household_features(con: duckdb.DuckDBPyConnection, as_of: date | str, root: Path = FEATURE_SQL) -> pl.DataFrame:
    """The scored population on `as_of` with every feature group's columns.

    One row per household, sorted by household_id: the KEYS, then the features.
    Works on a read-only connection (the population is a temp table).
    """
    as_of = _as_date(as_of)
    with scored_population(con, as_of, root) as households:
        frame = _frame(con, "SELECT household_id, county_code, township_code FROM feature_population")
        for group in feature_groups(root):
            part = _per_household(con, f"feature group {group.name}", group.sql, as_of, households)
            clash = (set(part.columns) & set(frame.columns)) - {"household_id"}
            if clash:
                raise FeatureError(f"feature group {group.name} repeats columns {sorted(clash)}")
            frame = frame.join(part, on="household_id", how="left")
    frame = frame.with_columns(pl.lit(as_of, dtype=pl.Date).alias("as_of_date"))
    features = [c for c in frame.columns if c not in KEYS]
    return frame.select(KEYS + features).sort("household_id")


def population_query(con: duckdb.DuckDBPyConnection, as_of: date | str, sql_file: str,
                     root: Path = FEATURE_SQL, params: dict | None = None) -> pl.DataFrame:
    """Run one more query keyed by the scored population of `as_of` (e.g. label.sql,
    with its `$until` among `params`)."""
    as_of = _as_date(as_of)
    with scored_population(con, as_of, root) as households:
        sql = (root / sql_file).read_text(encoding="utf-8")
        part = _per_household(con, sql_file, sql, as_of, households, params)
    return part.with_columns(pl.lit(as_of, dtype=pl.Date).alias("as_of_date")).sort("household_id")


def feature_names(frame: pl.DataFrame) -> list[str]:
    """The model's input columns of a household_features frame (keys excluded, county kept)."""
    return ["county_code"] + [c for c in frame.columns if c not in KEYS]
