"""Training the risk model on the warehouse's own history, and the promotion guard.

Examples are household-months whose income was measured: the households scored
on a past month-end snapshot date D, their features as of D (pipelines.score.features),
and what the income measurements dated in the 3 months after D found
(warehouse/queries/features/label.sql): a 家庭经济状况核对 below the standard, entry to
低保, or a caseworker's 核查结果 纳入低保. Every measurement counts, routine or
prompted, and no review calendar is assumed; a household-month with no
measurement teaches nothing and is left out (models/README.md, Label).

Every training fits three contenders (pipelines.score.contenders: gradient boosting on
every feature, a transparent logistic regression, the bureau's own sort) on the
earlier months and scores the latest half of the month-ends with each, block by
block (an expanding window, `held_out_decision`); the
guard (pipelines.score.guard) decides which of them is in force. The chosen kind is
then refitted on every measured household-month and registered with all three
contenders' held-out metrics and the decision.

Entry points: `train_candidate` and `promote_if_not_worse` (the monthly
retraining DAG, and `ensure_model` in pipelines/score/upkeep.py when the nightly
scoring finds no model or an outgrown one), and `python -m pipelines.score.train`
by hand.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.score import contenders

from pipelines.score import guard
from pipelines.score.features import feature_names, household_features, population_query
from pipelines.score.reasons import ReasonCodeError, model_groups, reason_codes
from pipelines.score.command import run_command
from pipelines.score.registry import Registry, RegistryError, default_models_dir
# The nightly upkeep (ensure_model) lives apart: it must not import this module's scikit-learn.
from pipelines.score.upkeep import TrainingError, labelled_dates, open_read_only
from pipelines.score.model import RiskModel, hyperparameters, reference_values

log = logging.getLogger(__name__)

HORIZON_MONTHS = 3
LABEL = "label"
MEASURED = "measured"
LABEL_COLUMNS = ["entered_dibao", "checked", "checked_below", "feedback", "feedback_below", MEASURED, LABEL]
# Fewer measured examples of either class than this and no model is trained:
# below it a fitted model is noise.
MIN_CLASS_ROWS = 10
# The latest month-end dates whose measurements judge the contenders: half of
# the labelled ones, at least 3, so the guard's evidence grows with history.
HELD_OUT_MONTHS = 3
HELD_OUT_SHARE = 1 / 2
# The held-out months are scored in up to this many consecutive blocks, each by
# contenders fitted on every month before it (expanding window): later blocks
# are judged on models trained on more history, as nightly retraining would be.
HELD_OUT_BLOCKS = 3
# Features left out of every model: the calendar month encodes one city's
# seasons and review calendar, learned from one or two instances of each month.
EXCLUDED = ("season",)
# Which household-months the model learns from: "measured" is the design, "all"
# (every household-month, an unmeasured one counted as a negative) the naive
# choice, kept for the model card's comparison.
LEARN_FROM = ("measured", "all")
NO_LIMIT = date(9999, 12, 31)
def add_months(d: date, months: int) -> date:
    """d moved by whole months, clamped to the month's end (2024-11-30 + 3 = 2025-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(d.day, last))


def examples(con: duckdb.DuckDBPyConnection, dates: list[date], until: date = NO_LIMIT) -> pl.DataFrame:
    """Features and label of every scored household on each date; measurements
    after `until` are not looked at."""
    frames = []
    for d in dates:
        labels = population_query(con, d, "label.sql", params={"until": until}).drop("as_of_date")
        frames.append(household_features(con, d).join(labels, on="household_id", how="left"))
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def relabel(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, until: date) -> pl.DataFrame:
    """`rows` with their labels recomputed from the measurements up to `until` only."""
    frames = []
    for (d,), part in rows.group_by("as_of_date", maintain_order=True):
        labels = population_query(con, d, "label.sql", params={"until": until})
        frames.append(part.drop(LABEL_COLUMNS).join(labels, on=["as_of_date", "household_id"], how="left"))
    return pl.concat(frames, how="vertical_relaxed") if frames else rows


def _check_classes(rows: pl.DataFrame, what: str, minimum: int = MIN_CLASS_ROWS) -> None:
    positives = int(rows[LABEL].sum()) if rows.height else 0
    negatives = rows.height - positives
    if min(positives, negatives) < minimum:
        raise TrainingError(f"not enough measured history to train ({what}: {positives} positive and "
                            f"{negatives} negative examples, need {minimum} of each)")


def _learning(rows: pl.DataFrame, learn_from: str) -> pl.DataFrame:
    return rows.filter(pl.col(MEASURED)) if learn_from == "measured" else rows


def held_out_months(labelled: int) -> int:
    return max(HELD_OUT_MONTHS, round(labelled * HELD_OUT_SHARE))


def held_out_blocks(dates: list[date]) -> list[list[date]]:
    """The held-out month-ends in up to HELD_OUT_BLOCKS consecutive blocks, oldest first."""
    held = dates[-held_out_months(len(dates)):]
    size = -(-len(held) // min(HELD_OUT_BLOCKS, len(held)))
    return [held[i:i + size] for i in range(0, len(held), size)]


def held_out_decision(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, dates: list[date], features: list[str],
                      seed: int, learn_from: str = "measured") -> dict:
    """Score the held-out month-ends the way nightly retraining would have:
    each block of them by contenders fitted on every month-end before the
    block, their labels cut at the block's first date (no measurement is seen
    twice); then let the guard judge all held-out measured household-months at
    once. A block whose earlier months are too thin to train on is not judged.
    Without enough history for any of that, the sort is in force."""
    if len(dates) < HELD_OUT_MONTHS + 2:
        return {"in_force": guard.BASELINE, "reason": f"{len(dates)} labelled months: the guard needs "
                f"{HELD_OUT_MONTHS + 2} to compare the models, so the bureau's sort scores"}
    tests, scores, blocks, thin = [], {kind: [] for kind in contenders.KINDS}, [], None
    for block in held_out_blocks(dates):
        cutoff = block[0]
        fit_rows = _learning(relabel(con, rows.filter(pl.col("as_of_date") < cutoff), cutoff), learn_from)
        test = rows.filter(pl.col("as_of_date").is_in(block) & pl.col(MEASURED))
        try:
            _check_classes(fit_rows, f"months before {cutoff}")
        except TrainingError as exc:
            thin = exc
            continue
        for kind in contenders.KINDS:
            estimator, used, _ = contenders.fit(kind, fit_rows, features, seed, LABEL)
            scores[kind].append(RiskModel(kind, estimator, used).predict(test))
        tests.append(test)
        blocks.append({"labels_cut_at": str(cutoff), "held_out_dates": [str(d) for d in block],
                       "fit_rows": fit_rows.height, "held_out_rows": test.height})
    if not tests:
        return {"in_force": guard.BASELINE, "reason": f"{thin or 'no held-out month could be judged'}: "
                "the bureau's sort scores"}
    test = pl.concat(tests, how="vertical_relaxed")
    try:
        _check_classes(test, "held-out months", 1)
    except TrainingError as exc:
        return {"in_force": guard.BASELINE, "reason": f"{exc}: the bureau's sort scores"}
    y = test[LABEL].cast(pl.Int8).to_numpy()
    decision = guard.decide(y, {kind: np.concatenate(parts) for kind, parts in scores.items()},
                            test["household_id"].to_numpy(), seed)
    return {**decision, "blocks": blocks,
            "held_out_dates": [d for b in blocks for d in b["held_out_dates"]]}


def history(con: duckdb.DuckDBPyConnection, learn_from: str = "measured"
            ) -> tuple[list[date], pl.DataFrame, pl.DataFrame, list[str]]:
    """The labelled month-ends, every example on them, those a model learns from, and
    the features offered to it; a TrainingError when there are too few to train on."""
    dates = labelled_dates(con)
    if not dates:
        raise TrainingError("not enough history to train: fewer than three month-end mz snapshots are loaded")
    rows = examples(con, dates)
    learning = _learning(rows, learn_from)
    _check_classes(learning, "measured household-months" if learn_from == "measured" else "examples")
    return dates, rows, learning, [f for f in feature_names(rows.drop(LABEL_COLUMNS)) if f not in EXCLUDED]


def new_version(as_of: date, kind: str = "gbm") -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"risk-{as_of:%Y%m%d}-{stamp}" + ("" if kind == "gbm" else f"-{kind}")


def train(con: duckdb.DuckDBPyConnection, seed: int = 0, learn_from: str = "measured",
          kind: str | None = None) -> tuple[RiskModel, dict]:
    """Train on the warehouse's history; return the model in force and its registry entry.

    The guard chooses the kind unless `kind` forces one (for comparisons);
    `learn_from` "all" is the naive, biased choice kept for the model card."""
    if learn_from not in LEARN_FROM:
        raise TrainingError(f"learn_from must be one of {', '.join(LEARN_FROM)}, got {learn_from!r}")
    if kind is not None and kind not in contenders.KINDS:
        raise TrainingError(f"kind must be one of {', '.join(contenders.KINDS)}, got {kind!r}")
    started = time.perf_counter()
    dates, rows, learning, features = history(con, learn_from)
    model_groups(reason_codes(), features)  # every feature must have a reason code
    decision = held_out_decision(con, rows, dates, features, seed, learn_from)
    chosen = kind or decision["in_force"]
    estimator, used, method = contenders.fit(chosen, learning, features, seed, LABEL)
    model = RiskModel(new_version(dates[-1], chosen), estimator, used, reference_values(learning, used))
    in_sample = rows.filter((pl.col("as_of_date") == dates[-1]) & pl.col(MEASURED))
    entry = {
        "seed": seed,
        "kind": chosen,
        "label": "an income measurement in the 3 months after the date (核对, 低保 entry, caseworker 核查结果) "
                 "found the per-capita income below the 低保 standard; "
                 + ("learned from measured household-months only" if learn_from == "measured"
                    else "learned from every household-month"),
        "learn_from": learn_from,
        "calibration": method,
        "hyperparameters": hyperparameters(learning.height, seed) if chosen == "gbm" else None,
        "guard": decision,
        "data_window": {"first_as_of": str(dates[0]), "last_as_of": str(dates[-1])},
        "rows": {"examples": rows.height, "measured": int(rows[MEASURED].sum()), "fit": learning.height,
                 "fit_positive": int(learning[LABEL].sum())},
        "metrics": {
            "validation": decision.get("held_out", {}).get(chosen, {}),
            "last_month_measured": guard.summary(in_sample[LABEL].cast(pl.Int8).to_numpy(),
                                                 model.predict(in_sample)),
        },
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return model, entry


def _summary(entry: dict) -> dict:
    keep = ("version", "status", "created_at", "promoted_at", "artifact", "kind", "data_window", "rows", "metrics",
            "learn_from", "calibration", "hyperparameters", "guard", "training_seconds")
    return {k: entry.get(k) for k in keep}


def train_candidate(warehouse: str, models_dir: str | None = None, seed: int = 0,
                    learn_from: str = "measured", kind: str | None = None) -> dict:
    """Train a model on the warehouse and register it as a candidate; return its entry.
    `learn_from` and `kind` are for comparisons (see train); leave them for production."""
    registry = Registry(models_dir or default_models_dir(warehouse))
    con = open_read_only(warehouse)
    try:
        model, entry = train(con, seed, learn_from, kind)
    finally:
        con.close()
    saved = registry.save(model, {**entry, "warehouse": str(warehouse)})
    log.info("trained %s (%s) in %.1f s: %s", model.version, entry["kind"], entry["training_seconds"],
             entry["guard"]["reason"])
    return _summary(saved)


def promote_if_not_worse(warehouse: str, models_dir: str | None = None, version: str | None = None) -> dict:
    """Promote the candidate (the latest one, or `version`) when it is the kind the
    promotion guard put in force on its held-out months (train, pipelines.score.guard);
    a candidate of another kind, forced for a comparison, is not promoted. The
    decision is recorded in the candidate's registry entry (`promotion`) and returned."""
    registry = Registry(models_dir or default_models_dir(warehouse))
    candidates = [e for e in registry.entries() if e["status"] == "candidate"]
    candidate = registry.entry(version) if version else (candidates[-1] if candidates else None)
    if candidate is None:
        return {"promoted": False, "reason": "no candidate model"}
    decision = _decide(registry, candidate)
    if decision["promoted"]:
        registry.promote(candidate["version"])
    registry.annotate(candidate["version"], "promotion",
                      {"decided_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), **decision})
    log.info("model %s %s: %s", candidate["version"], "promoted" if decision["promoted"] else "not promoted",
             decision["reason"])
    return {"version": candidate["version"], **decision}


def _decide(registry: Registry, candidate: dict) -> dict:
    current = registry.current()
    previous = {"current": current["version"]} if current else {}
    if current is not None and current["version"] == candidate["version"]:
        return {"promoted": False, "reason": "already the current model", **previous}
    chosen = candidate.get("guard", {}).get("in_force")
    if chosen is None:
        return {"promoted": False, "reason": "the candidate was trained without the promotion guard", **previous}
    if candidate.get("kind") != chosen:
        return {"promoted": False, "reason": f"the guard put {chosen} in force, not this {candidate.get('kind')} "
                f"model: {candidate['guard']['reason']}", **previous}
    return {"promoted": True, "reason": candidate["guard"]["reason"], **previous}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.score.train",
                                     description="Train a risk model on the warehouse's history and register it.")
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, help="registry folder (default: <warehouse>.models)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--promote", action="store_true",
                        help="promote it if it is the kind the promotion guard put in force")
    parser.add_argument("--learn-from", choices=LEARN_FROM, default="measured",
                        help="for comparisons only: 'all' learns from every household-month (biased)")
    parser.add_argument("--kind", choices=contenders.KINDS,
                        help="for comparisons only: register this kind whatever the guard decides")
    args = parser.parse_args(argv)
    models_dir = str(args.models_dir) if args.models_dir else None

    def call() -> dict:
        result = {"candidate": train_candidate(str(args.warehouse), models_dir, args.seed, args.learn_from,
                                               args.kind)}
        if args.promote:
            result["promotion"] = promote_if_not_worse(str(args.warehouse), models_dir,
                                                       result["candidate"]["version"])
        return result

    return run_command(call, (TrainingError, RegistryError, ReasonCodeError, duckdb.Error, ValueError))

if __name__ == "__main__":
    sys.exit(main())
