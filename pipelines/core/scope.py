"""What a night rebuilds of the month-grain models: every month, or those from the first
month tonight's deliveries can change (issue #17; docs/warehouse.md, "Month-scoped models").

A monthly 民政 snapshot names nearly every household, so narrowing a build to the
households a night touched saves nothing (measured on an unmerged branch). Time is what a
night narrows: a new month's deliveries change that month's rows of `mart.household_month`
and its sums, or of `core.contributions`, not last year's. `plan` finds the first such
month for a layer; the models lifecycle.toml lists under `[monthly]` then keep their
earlier rows and rebuild the rest (DELETE + INSERT of the model's own SELECT, which reads
the first month as `getvariable('months_from')`); those under `[since]` (state tables that
gather every snapshot ever delivered) run their own named query, which takes again only
the snapshots from that month.

The plan is `full` when asked (`dibao rebuild`), on the first build, when a core or mart
model file, `[monthly]`, `[since]` or a `[since]` query changed, when a migration was
applied since the last build, when the policy parameters or the person_key hash key changed, or when a 人社 delivery
was superseded (its rows, and so its months, are gone). With no delivery changed (a
delivery of any status: a rejected one wrote quarantine rows), and for the marts no core
build since that changed anything, it is `unchanged`: every model of the layer is kept as
it is, since nothing it reads changed (a quiet night between monthly deliveries).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.catalog import Catalog
from pipelines.config import WAREHOUSE_SQL
from pipelines.sql import query
from pipelines.warehouse import Model, WarehouseError, lifecycle, model_files

FULL, MONTHS, UNCHANGED = "full", "months", "unchanged"
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+TABLE\s+([a-z_]+\.[a-z_]+)\s+AS\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Plan:
    layer: str
    scope: str  # full, months, unchanged
    reason: str
    months_from: date | None
    models: str
    parameters: str | None
    monthly: dict[str, str]  # model -> month column
    since: dict[str, str]  # model -> its named query from months_from


def monthly_models(root: Path = WAREHOUSE_SQL) -> dict[str, str]:
    """lifecycle.toml's `[monthly]`: model name -> its month column."""
    found = lifecycle(root).get("monthly", {})
    for name, column in found.items():
        if not isinstance(column, str) or not re.fullmatch(r"[a-z_]+", column):
            raise WarehouseError(f"lifecycle.toml [monthly] {name!r}: the month column must be a plain name")
    return found


def since_models(root: Path = WAREHOUSE_SQL) -> dict[str, str]:
    """lifecycle.toml's `[since]`: model name -> the named query that updates it from months_from."""
    found = lifecycle(root).get("since", {})
    for name, sql in found.items():
        if not isinstance(sql, str) or not (root / "queries" / f"{sql}.sql").is_file():
            raise WarehouseError(f"lifecycle.toml [since] {name!r}: no query warehouse/queries/{sql}.sql")
    return found


def models_checksum(monthly: dict[str, str], since: dict[str, str] | None = None,
                    root: Path = WAREHOUSE_SQL) -> str:
    """sha256 over the core and mart model files, `[monthly]`, `[since]` and its queries: a
    change to any makes rows of earlier months stale, so the next build is full."""
    h = hashlib.sha256()
    for layer in ("core", "mart"):
        for f in model_files(layer, root):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(json.dumps(monthly, sort_keys=True).encode())
    for name, sql in sorted((since or {}).items()):
        h.update(f"{name}\0{sql}\0".encode() + (root / "queries" / f"{sql}.sql").read_bytes() + b"\0")
    return h.hexdigest()


def parameters_checksum(con: duckdb.DuckDBPyConnection) -> str | None:
    return con.execute(query("core/scope_parameters_checksum")).fetchall()[0][0]


def plan(con: duckdb.DuckDBPyConnection, layer: str = "mart", full: bool = False,
         root: Path = WAREHOUSE_SQL) -> Plan:
    """Tonight's scope for the layer's month-grain models, and why."""
    monthly, since = monthly_models(root), since_models(root)
    models, parameters = models_checksum(monthly, since, root), parameters_checksum(con)

    def made(scope: str, reason: str, months_from: date | None = None) -> Plan:
        return Plan(layer, scope, reason, months_from, models, parameters, monthly, since)

    last = con.execute(query("core/scope_last_build"), {"layer": layer}).fetchall()
    if full:
        return made(FULL, "a full rebuild was asked for")
    if not last:
        return made(FULL, "no earlier build is recorded")
    if last[0][0] != models:
        return made(FULL, "a model definition changed")
    if con.execute(query("core/scope_migrated_since"), [last[0][2]]).fetchall()[0][0]:
        return made(FULL, "a migration was applied since the last build")
    if last[0][1] != parameters:
        return made(FULL, "the policy parameters changed")
    if _hash_key_changed(con):
        return made(FULL, "the person_key hash key changed")
    changed, rs_superseded, corrected, months_from = con.execute(
        query("core/scope_months_from"), {"layer": layer}).fetchall()[0]
    if rs_superseded:
        return made(FULL, "a 人社 delivery was superseded: the months it held are unknown")
    if corrected:
        return made(FULL, "a same-date correction re-dates when checks were known, in months before it too")
    if not changed:
        if layer != "core" and con.execute(query("core/scope_core_rebuilt_since"), [last[0][2]]).fetchall()[0][0]:
            return made(FULL, "the core layer was rebuilt since the last build")
        return made(UNCHANGED, "no delivery changed since the last build")
    if months_from is None:  # a changed delivery always has an extract date; never guess
        return made(FULL, "the changed deliveries name no month")
    return made(MONTHS, f"{changed} {'delivery' if changed == 1 else 'deliveries'} changed since the last build",
                months_from)


def _hash_key_changed(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this session's hash key (set by pipelines.core.build.use_hash_key) gives the
    persons already built other keys: then every person-keyed row of every month changes."""
    return bool(con.execute(query("core/scope_hash_key_changed")).fetchall()[0][0])


def builder(p: Plan) -> Callable[[duckdb.DuckDBPyConnection, Model, Catalog], str | None]:
    """For build_models: build a model the plan's way and say how; None lets the runner
    build the model whole (with `months_from` unset: every month). On an `unchanged`
    plan every model is kept; otherwise a `[monthly]` model is rebuilt from the month
    the plan says, a `[since]` model updated by its query, and the others whole."""

    def build(con: duckdb.DuckDBPyConnection, model: Model, catalog: Catalog) -> str | None:
        if p.scope == UNCHANGED and catalog.kind(model.name) is not None:
            return UNCHANGED  # nothing it reads changed since it was built: kept as it is
        column, since = p.monthly.get(model.name), p.since.get(model.name)
        if p.scope == FULL or (column is None and since is None) or catalog.kind(model.name) != "table":
            con.execute("RESET VARIABLE months_from")
            return None
        con.execute(f"SET VARIABLE months_from = DATE '{p.months_from.isoformat()}'")
        try:
            if since is not None:
                con.execute(query(since))
            else:
                con.execute(f"DELETE FROM {model.name} WHERE {column} >= getvariable('months_from')")
                con.execute(f"INSERT INTO {model.name} BY NAME SELECT * FROM ({select_of(model)})"
                            f" WHERE {column} >= getvariable('months_from')")
        finally:
            con.execute("RESET VARIABLE months_from")
        return f"{MONTHS} from {p.months_from.isoformat()}"

    return build


def select_of(model: Model) -> str:
    """The model's own SELECT (one definition of its rows, whole or from a month on)."""
    code = model.code
    m = _CREATE_TABLE.match(code)
    if m is None or m.group(1).lower() != model.name:
        raise WarehouseError(f"{model.path.name}: a [monthly] model must be one CREATE OR REPLACE TABLE"
                             f" {model.name} AS SELECT")
    return code[m.end():].strip().rstrip(";")


def recorder(p: Plan) -> Callable[[duckdb.DuckDBPyConnection, str], None]:
    """For build_models: what the build saw, recorded in its transaction before it commits."""

    def record(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        con.execute(query("core/scope_record_build"),
                    [p.layer, run_id, p.scope, p.reason, p.months_from, p.models, p.parameters])
        con.execute(query("core/scope_forget_deliveries"), {"layer": p.layer})
        con.execute(query("core/scope_record_deliveries"), {"layer": p.layer})

    return record
