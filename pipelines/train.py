"""Training and time-based validation of the risk model, from the warehouse's own history.

Examples are household-months: the households scored on a past month-end
snapshot date D, their features as of D (pipelines.features), and the label
observed in the 3 months after D (warehouse/features/label.sql: entered 低保, an
income check below the standard, or a check off the household's cycle, which
follows an application). Only dates whose label window a loaded mz
snapshot already covers are used, and not the first snapshot (a baseline shows
states, not the changes half the features count).

The label is biased: a household that falls below the line but never applies,
and is not reviewed, looks like a negative. So the model learns only from the
household-months in which a scheduled review fell in the window (`review_due`):
their income was measured whatever the household would have done
(models/README.md explains it and what remains).

Time-based: the model is fitted on earlier months and calibrated on the latest
labelled month (the latest few, at small scale, until they hold enough
positives). Its validation twin is fitted and calibrated the same way on the
months before the last labelled month and tested on that month, which it never
saw; those test metrics are what the registry records and what promotion compares.

Entry points: `train_candidate` and `promote_if_not_worse` (the monthly
retraining DAG), `ensure_model` (nightly scoring when nothing is registered
yet), and `python -m pipelines.train` by hand.
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
from sklearn.metrics import brier_score_loss, roc_auc_score

from pipelines.features import feature_names, household_features, population_query
from pipelines.reasons import ReasonCodeError, model_groups, reason_codes
from pipelines.registry import Registry, RegistryError, default_models_dir
from pipelines.risk_model import RiskModel, fit_calibrated, hyperparameters, reference_values

log = logging.getLogger(__name__)

HORIZON_MONTHS = 3
LABEL = "label"
LABEL_COLUMNS = ["entered_dibao", "checked", "checked_below", "applied", "label", "review_due"]  # label.sql
# Fewer labelled examples of either class than this and no model is trained
# (nor validated): below it a fitted model is noise.
MIN_CLASS_ROWS = 10
# The calibration months must hold this many positive examples (and as many
# negative ones); the latest months are taken until they do.
MIN_CALIBRATION_POSITIVES = 5
# A candidate is "not worse" when its validation AUC is at most this much below
# the current model's and its Brier score at most this much above, on the same month.
PROMOTION_TOLERANCE = 0.01
# Tree depths tried; the one with the best validation ROC AUC is used (the
# shallower on a tie): deeper trees pay off only with more history
# (models/README.md, Model).
DEPTHS = (2, 3, 4)
# Features that say what time of year it is: learnable only once the labelled
# months have shown every calendar month (else the scoring month may be one the
# model never saw), so they are left out until then.
SEASONAL = ("season",)
# Which household-months the model learns from: "review_due" is the design,
# "all" the naive choice, kept for the model card's comparison.
LEARN_FROM = ("review_due", "all")


class TrainingError(Exception):
    """Not enough history to train, or training failed; one line."""


def add_months(d: date, months: int) -> date:
    """d moved by whole months, clamped to the month's end (2024-11-30 + 3 = 2025-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(d.day, last))


def month_end_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The last loaded mz snapshot date of each month, oldest first."""
    rows = con.execute("SELECT extract_date FROM core.snapshots WHERE source = 'mz' AND is_month_latest"
                       " ORDER BY extract_date").fetchall()
    return [r[0] for r in rows]


def labelled_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Month-end dates after the baseline whose 3-month label window a loaded mz
    snapshot covers."""
    dates = month_end_dates(con)
    if not dates:
        return []
    latest = dates[-1]
    return [d for d in dates[1:] if add_months(d, HORIZON_MONTHS) <= latest]


def examples(con: duckdb.DuckDBPyConnection, dates: list[date]) -> pl.DataFrame:
    """Features and label of every scored household on each date."""
    frames = []
    for d in dates:
        labels = population_query(con, d, "label.sql").drop("as_of_date")
        frames.append(household_features(con, d).join(labels, on="household_id", how="left"))
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """Ranking and calibration of probabilities p against the observed label y."""
    out = {"rows": int(len(y)), "positives": int(y.sum()), "base_rate": float(y.mean()) if len(y) else None,
           "mean_predicted": float(p.mean()) if len(p) else None}
    if len(y) and 0 < y.sum() < len(y):
        out["roc_auc"] = float(roc_auc_score(y, p))
        out["brier"] = float(brier_score_loss(y, p))
    return out


def _calibration_months(rows: pl.DataFrame, dates: list[date]) -> list[date]:
    """The latest labelled months, as few as hold MIN_CALIBRATION_POSITIVES
    positive examples (one month at city scale), but never more than half."""
    chosen: list[date] = []
    for d in reversed(dates[len(dates) // 2:] if len(dates) > 1 else []):
        chosen.insert(0, d)
        if int(rows.filter(pl.col("as_of_date").is_in(chosen))[LABEL].sum()) >= MIN_CALIBRATION_POSITIVES:
            break
    return chosen


def _split(rows: pl.DataFrame, dates: list[date], seed: int) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Fit on the earlier labelled months, calibrate on the latest ones. With a
    single labelled month, a seeded third of its households calibrates instead."""
    calibration_dates = _calibration_months(rows, dates)
    if calibration_dates:
        fit = rows.filter(pl.col("as_of_date") < calibration_dates[0])
        calibration = rows.filter(pl.col("as_of_date").is_in(calibration_dates))
        fit_dates = [d for d in dates if d < calibration_dates[0]]
        return fit, calibration, {"fit_dates": [str(d) for d in fit_dates],
                                  "calibration_dates": [str(d) for d in calibration_dates]}
    rng = np.random.default_rng(seed)
    held = rng.random(rows.height) < 1 / 3
    return (rows.filter(pl.Series(~held)), rows.filter(pl.Series(held)),
            {"fit_dates": [str(d) for d in dates], "calibration_dates": [str(d) for d in dates],
             "note": "one labelled month: a random third of its households calibrates"})


def _check_classes(rows: pl.DataFrame, what: str, minimum: int = MIN_CLASS_ROWS) -> None:
    positives = int(rows[LABEL].sum()) if rows.height else 0
    negatives = rows.height - positives
    if min(positives, negatives) < minimum:
        raise TrainingError(f"not enough labelled history to train ({what}: {positives} positive and "
                            f"{negatives} negative examples, need {minimum} of each)")


def validate(learning: pl.DataFrame, test: pl.DataFrame, dates: list[date], features: list[str], seed: int,
             overrides: dict | None = None) -> dict:
    """Time-based validation: test on the last labelled month (`test`: its
    households with a review due, whose label is a measurement); fit and
    calibrate, as the production model is, on the months before it."""
    if len(dates) < 3:
        return {"skipped": f"{len(dates)} labelled months; time-based validation needs 3"}
    fit, calibration, window = _split(learning.filter(pl.col("as_of_date") < dates[-1]), dates[:-1], seed)
    for rows, what, minimum in ((fit, "validation fit", MIN_CLASS_ROWS),
                                (calibration, "validation calibration", MIN_CALIBRATION_POSITIVES // 2),
                                (test, "validation test", 1)):
        try:
            _check_classes(rows, what, minimum)
        except TrainingError as exc:
            return {"skipped": str(exc)}
    estimator, method, used = fit_calibrated(fit, calibration, features, seed, LABEL, overrides)
    p = RiskModel("validation", estimator, used).predict(test)
    return {**window, "test_dates": [str(dates[-1])], "calibration": method,
            "test": metrics(test[LABEL].cast(pl.Int8).to_numpy(), p)}


def seasonal_features(features: list[str], dates: list[date]) -> tuple[list[str], dict]:
    """The features without SEASONAL ones unless the labelled `dates` cover all
    twelve calendar months; and what was decided, for the registry."""
    months = len({d.month for d in dates})
    used = months == 12
    return ([f for f in features if used or f not in SEASONAL],
            {"calendar_months_labelled": months, "used": used})


def _choose_depth(learning: pl.DataFrame, test: pl.DataFrame, dates: list[date], features: list[str], seed: int,
                  overrides: dict | None) -> tuple[dict | None, dict, dict]:
    """Validate each of DEPTHS (or only the depth `overrides` fixes) and keep the
    one with the best validation ROC AUC; return the overrides to fit with, the
    chosen depth's validation and {depth: validation ROC AUC or None}."""
    if overrides and "max_depth" in overrides:
        candidates = [overrides["max_depth"]]
    else:
        candidates = list(DEPTHS)
    results = {d: validate(learning, test, dates, features, seed, {**(overrides or {}), "max_depth": d})
               for d in candidates}
    scores = {d: r.get("test", {}).get("roc_auc") for d, r in results.items()}
    known = [d for d in candidates if scores[d] is not None]
    # without a validation score the first (shallowest) depth is kept
    best = max(known, key=lambda d: (scores[d], -d)) if known else candidates[0]
    return {**(overrides or {}), "max_depth": best}, results[best], {str(d): scores[d] for d in candidates}


def new_version(as_of: date) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"risk-{as_of:%Y%m%d}-{stamp}"


def train(con: duckdb.DuckDBPyConnection, seed: int = 0, learn_from: str = "review_due",
          overrides: dict | None = None) -> tuple[RiskModel, dict]:
    """Train and validate a model on the warehouse's history; return it and its registry entry.

    `learn_from` "review_due" (the design: household-months whose income was going
    to be measured) or "all" (every household-month: the naive, biased choice, kept
    to show the difference); `overrides` change hyperparameters for comparisons."""
    if learn_from not in LEARN_FROM:
        raise TrainingError(f"learn_from must be one of {', '.join(LEARN_FROM)}, got {learn_from!r}")
    started = time.perf_counter()
    dates = labelled_dates(con)
    if not dates:
        raise TrainingError("not enough history to train: no month-end mz snapshot after the first one "
                            f"has a loaded snapshot {HORIZON_MONTHS} months later")
    rows = examples(con, dates)
    due = rows.filter(pl.col("review_due"))
    learning = due if learn_from == "review_due" else rows
    _check_classes(learning, "household-months with a review due" if learn_from == "review_due" else "examples")
    features = feature_names(rows.drop(LABEL_COLUMNS))
    model_groups(reason_codes(), features)  # every feature must have a reason code
    features, seasonal = seasonal_features(features, dates)
    test = due.filter(pl.col("as_of_date") == dates[-1])
    overrides, validation, depths = _choose_depth(learning, test, dates, features, seed, overrides)
    fit, calibration, window = _split(learning, dates, seed)
    _check_classes(fit, "fit months")
    _check_classes(calibration, "calibration months", MIN_CALIBRATION_POSITIVES // 2)
    estimator, method, used = fit_calibrated(fit, calibration, features, seed, LABEL, overrides)
    model = RiskModel(new_version(dates[-1]), estimator, used, reference_values(fit, used))
    in_sample = rows.filter(pl.col("as_of_date") == dates[-1])
    entry = {
        "seed": seed,
        "label": "entered 低保, an income check below the standard, or a check off the household's cycle "
                 "(an application) in the 3 months after the date; "
                 + ("trained on household-months with a scheduled review due in that window"
                    if learn_from == "review_due" else "trained on every household-month"),
        "learn_from": learn_from,
        "calibration": method,
        "hyperparameters": hyperparameters(fit.height, seed, overrides),
        "depth_selection": depths,
        "seasonal_features": seasonal,
        "data_window": {"first_as_of": str(dates[0]), "last_as_of": str(dates[-1]),
                        "label_until": str(add_months(dates[-1], HORIZON_MONTHS)), **window},
        "rows": {"examples": rows.height, "review_due": due.height, "fit": fit.height,
                 "fit_positive": int(fit[LABEL].sum()), "calibration": calibration.height,
                 "calibration_positive": int(calibration[LABEL].sum())},
        "metrics": {
            "validation": validation,
            # all scored households of the last month, observed label (biased: see the model card)
            "last_month_all_households": metrics(in_sample[LABEL].cast(pl.Int8).to_numpy(),
                                                 model.predict(in_sample)),
        },
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return model, entry


def _open(warehouse: str | Path) -> duckdb.DuckDBPyConnection:
    from pipelines.warehouse import open_warehouse

    return open_warehouse(Path(warehouse), read_only=True)


def _summary(entry: dict) -> dict:
    keep = ("version", "status", "created_at", "promoted_at", "artifact", "data_window", "rows", "metrics",
            "learn_from", "calibration", "hyperparameters", "depth_selection", "seasonal_features", "training_seconds")
    return {k: entry.get(k) for k in keep}


def train_candidate(warehouse: str, models_dir: str | None = None, seed: int = 0,
                    learn_from: str = "review_due", max_depth: int | None = None) -> dict:
    """Train a model on the warehouse and register it as a candidate; return its entry.
    `learn_from` and `max_depth` are for comparisons (see train); leave them for production."""
    registry = Registry(models_dir or default_models_dir(warehouse))
    con = _open(warehouse)
    try:
        model, entry = train(con, seed, learn_from, {"max_depth": max_depth} if max_depth else None)
    finally:
        con.close()
    saved = registry.save(model, {**entry, "warehouse": str(warehouse)})
    log.info("trained %s in %.1f s: validation %s", model.version, entry["training_seconds"],
             entry["metrics"]["validation"].get("test", entry["metrics"]["validation"]))
    return _summary(saved)


def promote_if_not_worse(warehouse: str, models_dir: str | None = None, version: str | None = None,
                         tolerance: float = PROMOTION_TOLERANCE) -> dict:
    """Promote the candidate (the latest one, or `version`) unless the current
    model does better on the candidate's validation test month. The decision is
    recorded in the candidate's registry entry (`promotion`) and returned."""
    registry = Registry(models_dir or default_models_dir(warehouse))
    candidates = [e for e in registry.entries() if e["status"] == "candidate"]
    candidate = registry.entry(version) if version else (candidates[-1] if candidates else None)
    if candidate is None:
        return {"promoted": False, "reason": "no candidate model"}
    decision = _decide(warehouse, registry, candidate, tolerance)
    if decision["promoted"]:
        registry.promote(candidate["version"])
    registry.annotate(candidate["version"], "promotion",
                      {"decided_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), **decision})
    log.info("model %s %s: %s", candidate["version"], "promoted" if decision["promoted"] else "not promoted",
             decision["reason"])
    return {"version": candidate["version"], **decision}


def _decide(warehouse: str, registry: Registry, candidate: dict, tolerance: float) -> dict:
    current = registry.current()
    if current is None:
        return {"promoted": True, "reason": "no current model"}
    if current["version"] == candidate["version"]:
        return {"promoted": False, "reason": "already the current model"}
    validation = candidate["metrics"]["validation"]
    if "roc_auc" not in validation.get("test", {}):
        return {"promoted": False, "current": current["version"],
                "reason": "the candidate has no time-based validation to compare"}
    test_date = date.fromisoformat(validation["test_dates"][0])
    con = _open(warehouse)
    try:
        test = examples(con, [test_date]).filter(pl.col("review_due"))
    finally:
        con.close()
    mine = validation["test"]
    theirs = metrics(test[LABEL].cast(pl.Int8).to_numpy(), registry.load(current["version"]).predict(test))
    not_worse = (mine["roc_auc"] >= theirs.get("roc_auc", 0) - tolerance
                 and mine["brier"] <= theirs.get("brier", 1) + tolerance)
    reason = (f"on {test_date}: ROC AUC {mine['roc_auc']:.3f} vs {theirs.get('roc_auc', float('nan')):.3f}, "
              f"Brier {mine['brier']:.4f} vs {theirs.get('brier', float('nan')):.4f} (tolerance {tolerance})")
    return {"promoted": not_worse, "current": current["version"], "test_date": str(test_date),
            "reason": ("not worse " if not_worse else "worse ") + reason,
            "candidate_test": mine, "current_test": theirs}


def ensure_model(warehouse: str, models_dir: str | None = None, seed: int = 0) -> str:
    """The current model's version; trains and promotes one when none is registered."""
    registry = Registry(models_dir or default_models_dir(warehouse))
    current = registry.current()
    if current is not None:
        return current["version"]
    trained = train_candidate(warehouse, str(registry.folder), seed)
    promote_if_not_worse(warehouse, str(registry.folder), trained["version"])  # no current one: promoted
    return trained["version"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.train",
                                     description="Train a risk model on the warehouse's history and register it.")
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, help="registry folder (default: <warehouse>.models)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--promote", action="store_true", help="promote it if it is not worse than the current one")
    parser.add_argument("--learn-from", choices=LEARN_FROM, default="review_due",
                        help="for comparisons only: 'all' learns from every household-month (biased)")
    parser.add_argument("--max-depth", type=int, help="for comparisons only: another tree depth")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        models_dir = str(args.models_dir) if args.models_dir else None
        result = {"candidate": train_candidate(str(args.warehouse), models_dir, args.seed, args.learn_from,
                                               args.max_depth)}
        if args.promote:
            result["promotion"] = promote_if_not_worse(str(args.warehouse), models_dir,
                                                       result["candidate"]["version"])
    except (TrainingError, RegistryError, ReasonCodeError, duckdb.Error, ValueError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    import json

    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
