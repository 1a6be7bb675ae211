"""Nightly risk scoring: write `mart.risk_list` for the latest mz snapshot.

`score_latest` is what the nightly DAG calls after the marts are built:

1. make sure a model is registered (train and promote one on the warehouse's
   own history the first time; pipelines.score.train). A warehouse with too little
   measured history to train on (its first months) is scored with the
   project's reference model instead (models/registry.json): the bureau's own
   sort, last checked income ÷ standard (pipelines.score.reference), when its
   artifact is present; else the run says why no list was written;
2. on a read-only connection: the features of every scored household on the
   scoring date (`core.scoring_date()`, the latest loaded mz snapshot), the
   calibrated probability, the reasons (rule flags, then the model's own
   attributions: pipelines.score.reasons) and the levels;
3. on a short writer connection, in one transaction: replace that date's rows
   of `mart.risk_list` and `mart.risk_list_detail` (model version, feature
   values, contributions) and refresh `mart.reason_codes`.

A night that changed nothing the list is computed from (no delivery: both layers
kept; the same model, settings and code: pipelines/score/inputs.py) keeps the
list already written for the date instead of step 2 and 3 (`audit.score_runs`).

A night of other data for the same date and method rescores only the households
whose features changed, and keeps the list when every row comes out as written
(pipelines/score/rescore.py). Levels follow caseworker capacity
(pipelines/score/levels.py); a caller may give `visits` instead of the parameter.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from pipelines.config import MODELS
from pipelines.score.features import household_features
from pipelines.score.command import run_command
from pipelines.score.inputs import SCORED, UNCHANGED, UPDATED, inputs_digest, kept, method_digest, record
from pipelines.score.levels import (  # noqa: F401 - the levels' names, imported from here too
    DEFAULT_VISITS_PER_TOWNSHIP, LEVELS, allocate_visits, assign_levels, level_settings, visits_per_township,
)
from pipelines.score.registry import Registry, RegistryError, default_models_dir
from pipelines.score.rescore import encoded_features, rescore, same_list, stored_scores
from pipelines.runtime.timing import timed

if TYPE_CHECKING:
    from pipelines.score.model import RiskModel
    from pipelines.score.reasons import ReasonCode

# pipelines.score.reasons and .model bring scikit-learn (about 1.5 s to import): they are
# imported where a list is scored, not by a night that keeps the list it has.
from pipelines.sql import query
from pipelines.warehouse import rollback

log = logging.getLogger(__name__)

# The cold-start model (the bureau's sort) for a warehouse that cannot train its own yet.
REFERENCE_MODELS = MODELS


def scoring_date(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.execute("SELECT core.scoring_date()").fetchall()[0][0]


def score_households(model: RiskModel, features: pl.DataFrame, visits: int,
                     codes: list[ReasonCode] | None = None, by_need: float = 0.0,
                     min_score: float = 0.0) -> pl.DataFrame:
    """Score a household_features frame: risk_score, risk_level, reasons, and the
    detail (rule flags, contributions) each row was decided on."""
    from pipelines.score.reasons import contributions, model_groups, reason_codes

    codes = codes if codes is not None else reason_codes()
    p = np.clip(model.predict(features), 0.0, 1.0)
    contrib = contributions(model, features, model_groups(codes, model.features), p)
    return finish_scores(features, p, contrib, model.features, codes, visits, by_need, min_score)


def finish_scores(features: pl.DataFrame, p: np.ndarray, contrib: np.ndarray, model_features: list[str],
                  codes: list[ReasonCode], visits: int, by_need: float = 0.0, min_score: float = 0.0) -> pl.DataFrame:
    """From every household's score and group contributions: rule flags, levels and
    reasons. Contributions are rounded as mart.risk_list_detail stores them before
    the reasons are ranked, so that a list can be finished again from what it stored
    (pipelines/score/rescore.py)."""
    from pipelines.score.reasons import NO_FACTOR, model_groups, ranked_reasons, rule_flags

    groups = model_groups(codes, model_features)
    contrib = np.round(contrib, 4) + 0.0  # + 0.0: no "-0.0" in the stored JSON
    flags = rule_flags(features, codes)
    reasons = ranked_reasons(flags, contrib, groups)
    contribution_json = [json.dumps({g.code: float(v) for g, v in zip(groups, row)}) for row in contrib]
    # the group that raises the score most, even below the minimum contribution: a 高 or
    # 中 row gets at least this one reason (a caseworker is sent to it), if any raises it
    strongest = [groups[int(np.argmax(row))].code if len(groups) and row.max() > 0 else None for row in contrib]
    scored = features.with_columns(
        risk_score=pl.Series(p, dtype=pl.Float64),
        reasons=pl.Series(reasons, dtype=pl.List(pl.String)),
        strongest_reason=pl.Series(strongest, dtype=pl.String),
        rule_flags=pl.Series(flags, dtype=pl.List(pl.String)),
        contributions=pl.Series(contribution_json, dtype=pl.String),
        features=encoded_features(features, model_features),
    )
    leveled = assign_levels(scored, visits, by_need, min_score)
    unexplained = (pl.col("risk_level") != LEVELS[2]) & (pl.col("reasons").list.len() == 0)
    explained = leveled.with_columns(
        reasons=pl.when(unexplained & pl.col("strongest_reason").is_not_null())
        .then(pl.concat_list(pl.col("strongest_reason"))).otherwise(pl.col("reasons"))
    ).drop("strongest_reason")
    # what is still empty (a 低 row nothing raises) says so, rather than showing []
    return explained.with_columns(
        reasons=pl.when(pl.col("reasons").list.len() == 0)
        .then(pl.concat_list(pl.lit(NO_FACTOR))).otherwise(pl.col("reasons"))
    )


def _levels(scored: pl.DataFrame) -> dict:
    levels = scored.group_by("risk_level").len().sort("risk_level")
    return dict(zip(levels["risk_level"], levels["len"]))


def _listed(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[dict, float | None]:
    """A written list's households per level, and its mean score."""
    levels = dict(con.execute("SELECT risk_level, count(*) FROM mart.risk_list WHERE as_of_date = ?"
                              " GROUP BY ALL ORDER BY 1", [as_of]).fetchall())
    return levels, con.execute("SELECT avg(risk_score) FROM mart.risk_list WHERE as_of_date = ?",
                               [as_of]).fetchall()[0][0]


def _summary(status: str, as_of: date, version: str, source: str, entry: dict, settings: dict, households: int,
             levels: dict, mean: float | None, started: float, unread: int = 0) -> dict:
    """The score step's summary (run-summary.json), for a list written or kept. `unread`: households
    not scored because their row in the snapshot was quarantined (warehouse/queries/features/population.sql)."""
    return {"status": status, "as_of_date": str(as_of), "model_version": version, "model_source": source,
            "model_kind": entry.get("kind", "gbm"), "model_in_force_because": entry.get("guard", {}).get("reason"),
            "households": households, "not_scored_row_quarantined": unread, "visits_per_township": settings["visits"],
            "visits_by_need": settings["by_need"], "min_score": settings["min_score"], "levels": levels,
            "mean_risk_score": round(float(mean), 4) if households else None,
            "seconds": round(time.perf_counter() - started, 1)}


def write_risk_list(con: duckdb.DuckDBPyConnection, scored: pl.DataFrame, as_of: date, model_version: str,
                    codes: list[ReasonCode], run: dict | None = None) -> int:
    """Replace `as_of`'s rows of mart.risk_list and mart.risk_list_detail, and
    the reason code table, in one transaction; return the rows written. With `run`
    (inputs, method, status, rescored: pipelines/score/inputs.py) the scoring is
    recorded in audit.score_runs."""
    rows = scored.select(
        "as_of_date", "household_id", "county_code", "township_code", "risk_score", "risk_level", "reasons",
        "rank_in_township", "township_visits", "features", "contributions", "rule_flags",
    ).to_arrow()
    table = pl.DataFrame({
        "code": [c.code for c in codes], "kind": [c.kind for c in codes], "text_zh": [c.zh for c in codes],
        "text_en": [c.en for c in codes], "features": [c.about() for c in codes],
        "condition": [json.dumps(c.condition, ensure_ascii=False) if c.condition else None for c in codes],
    }).to_arrow()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.register("scored_rows", rows)
    con.register("reason_code_rows", table)
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM mart.risk_list WHERE as_of_date = ?", [as_of])
        con.execute("DELETE FROM mart.risk_list_detail WHERE as_of_date = ?", [as_of])
        con.execute(query("score/insert_risk_list"))
        con.execute(query("score/insert_risk_list_detail"), [model_version, now])
        con.execute("DELETE FROM mart.reason_codes")
        con.execute("INSERT INTO mart.reason_codes SELECT * FROM reason_code_rows")
        if run is not None:
            record(con, as_of, model_version, households=scored.height, **run)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)  # a failed COMMIT has ended the transaction: keep its error, not ROLLBACK's
        raise
    finally:
        con.unregister("scored_rows")
        con.unregister("reason_code_rows")
    return scored.height


def _after_today(as_of: date) -> dict | None:
    """A scoring date after today is never scored (a future snapshot loaded before holds
    existed, or a clock set back): skipped, with an alert every night it lasts, since the
    lists stop moving meanwhile."""
    from pipelines.config import today

    if as_of <= today():
        return None
    reason = (f"the latest mz snapshot ({as_of}) is dated after today ({today()}): not scored; "
              "is the clock (DIBAO_TODAY) set back?")
    from pipelines.runtime.alerts import send

    send("error", "score_skipped", reason)
    return {"status": "skipped", "as_of_date": str(as_of), "reason": reason}


def score_latest(warehouse: str, models_dir: str | None = None, visits: int | None = None,
                 seed: int = 0, full: bool = False) -> dict:
    """Score every household due on the latest mz snapshot and write mart.risk_list.

    Trains and promotes a model first when none is registered in `models_dir`
    (default `<warehouse>.models`). Returns a JSON-able summary; when there is
    nothing to score, or too little history to train a first model, it says so
    (status `skipped`) instead of failing the run. A list of the same date made
    the same way is kept when nothing it reads changed, or rescored only where
    the features changed (pipelines/score/rescore.py); `full` scores every
    household (`dibao rebuild`).
    """
    from pipelines.warehouse import open_warehouse, warehouse as open_wh

    started = time.perf_counter()
    models_dir = str(models_dir or default_models_dir(warehouse))
    con = open_warehouse(Path(warehouse), read_only=True)
    try:
        as_of = scoring_date(con)
    finally:
        con.close()
    if as_of is None:
        return {"status": "skipped", "reason": "no mz snapshot is loaded"}
    if refused := _after_today(as_of):
        return refused
    in_force = _model_in_force(warehouse, models_dir, seed)
    if isinstance(in_force, str):
        return {"status": "skipped", "as_of_date": str(as_of), "reason": in_force}
    registry, version, source = in_force
    entry = registry.entry(version)
    con = open_warehouse(Path(warehouse), read_only=True)
    try:
        settings = level_settings(con, as_of)
        unread = con.execute(query("score/unread_households"), [as_of]).fetchone()[0]
        if visits is not None:
            settings["visits"] = visits
        method = method_digest(as_of, version, settings)
        digest = inputs_digest(con, as_of, method)
        same = None if full else kept(con, as_of, digest)
        if same is not None:
            listed = _listed(con, as_of)
        else:
            with timed("features"):
                features = household_features(con, as_of)
            stored = None if full else stored_scores(con, as_of, method)
    finally:
        con.close()
    said = dict(as_of=as_of, version=version, source=source, entry=entry, settings=settings, started=started,
                unread=unread)
    if same is not None:  # a quiet night: the list written from the same inputs stays
        registry.verify(version)  # a missing or altered artifact fails a kept list's night too (load checks it)
        with open_wh(Path(warehouse)) as con:
            record(con, as_of, version, digest, same, UNCHANGED, method, 0)
        log.info("risk list %s kept: %d households, scored before with %s from the same features, settings and"
                 " code", as_of, same, version)
        return {**_summary(UNCHANGED, households=same, levels=listed[0], mean=listed[1], **said),
                "reason": "nothing that decides the list changed since it was scored"}
    from pipelines.score.reasons import reason_codes

    codes = reason_codes()
    scored, status, rescored = _scored(registry, version, list(entry["features"]), features, stored, codes, settings)
    if status == UNCHANGED:  # other data, but not for the list: every row came out as stored
        with open_wh(Path(warehouse)) as con:
            record(con, as_of, version, digest, scored.height, UNCHANGED, method, rescored)
        log.info("risk list %s kept: %d households, %d rescored, every row as written", as_of, scored.height,
                 rescored)
        return {**_summary(UNCHANGED, households=scored.height, levels=_levels(scored),
                           mean=scored["risk_score"].mean(), **said),
                "rescored": rescored, "reason": "rescored where the features changed: every row as written"}
    run = {"inputs": digest, "method": method, "status": status, "rescored": rescored}
    with open_wh(Path(warehouse)) as con:  # the writer, for the one transaction
        written = write_risk_list(con, scored, as_of, version, codes, run)
    summary = {**_summary(status, households=written, levels=_levels(scored), mean=scored["risk_score"].mean(),
                          **said), "rescored": rescored}
    log.info("risk list %s: %d households (%d through the model) scored with %s in %.1f s", as_of, written,
             rescored, version, summary["seconds"])
    return summary


def _model_in_force(warehouse: str, models_dir: str, seed: int) -> tuple[Registry, str, str] | str:
    """(registry, version, "warehouse" or "reference"): the warehouse's own model, trained
    and promoted the first time; else the reference model; else why there is none."""
    from pipelines.score.upkeep import TrainingError, ensure_model

    try:
        with timed("train"):
            return Registry(models_dir), ensure_model(warehouse, models_dir, seed), "warehouse"
    except TrainingError as exc:
        registry = Registry(REFERENCE_MODELS)
        reference = registry.current()
        if reference is None or not registry.loadable(reference["version"]):
            log.warning("risk list not written: %s (and no reference model artifact)", exc)
            return str(exc)
        log.warning("%s: scoring with the reference model %s (%s) until the warehouse can train its own", exc,
                    reference["version"], reference.get("kind", "gbm"))
        return registry, reference["version"], "reference"


def _scored(registry: Registry, version: str, model_features: list[str], features: pl.DataFrame,
            stored: pl.DataFrame | None, codes: list[ReasonCode], settings: dict) -> tuple[pl.DataFrame, str, int]:
    """(the list, scored or updated, households through the model): every household, or
    with `stored` (the date's list, made the same way) the changed ones only."""
    missing = sorted(set(model_features) - set(features.columns))
    if missing:
        raise RegistryError(f"model {version} needs features the warehouse no longer computes: {missing}")
    if stored is None:
        scored = score_households(registry.load(version), features, settings["visits"], codes, settings["by_need"],
                                  settings["min_score"])
        return scored, SCORED, scored.height
    scored, rescored = rescore(features, stored, model_features, codes, settings, lambda: registry.load(version))
    if rescored == 0:  # the model was not loaded: its artifact is checked as loading would
        registry.verify(version)
    return scored, UNCHANGED if same_list(scored, stored) else UPDATED, rescored


def stored_features(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """The feature values a past list was scored on, as a household_features frame
    (with model_version): rescoring them with that model reproduces the list."""
    rows = con.sql(
        "SELECT r.as_of_date, r.household_id, r.county_code, r.township_code, d.model_version,"
        " d.features::VARCHAR AS features FROM mart.risk_list r JOIN mart.risk_list_detail d USING"
        " (as_of_date, household_id) WHERE r.as_of_date = $d ORDER BY r.household_id", params={"d": as_of},
    ).pl()
    if rows.height == 0:
        return rows
    decoded = pl.DataFrame([json.loads(f) for f in rows["features"]], infer_schema_length=None)
    return rows.drop("features", *[c for c in decoded.columns if c in rows.columns]).hstack(decoded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.score.risk_list",
                                     description="Score the latest mz snapshot and write mart.risk_list.")
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, help="registry folder (default: <warehouse>.models)")
    parser.add_argument("--visits", type=int, help="visits per township per month (default: the parameter)")
    args = parser.parse_args(argv)
    models_dir = str(args.models_dir) if args.models_dir else None
    from pipelines.score.reasons import ReasonCodeError

    return run_command(lambda: score_latest(str(args.warehouse), models_dir, args.visits),
                       (RegistryError, ReasonCodeError, duckdb.Error, ValueError))

if __name__ == "__main__":
    sys.exit(main())
