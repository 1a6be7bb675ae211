"""Ways round the label's selection bias, judged against a world's truth (a diagnostic).

    .venv/bin/python models/bias_checks.py --warehouse W --truth T [--json]

Every way is fitted on all measured household-months of the warehouse (the
examples training builds, pipelines.score.train.examples), scores the households
of the last mz snapshot, and is judged against the world's true outcome
(`households.csv`: `fell_below_within_3m`) with the evaluator's metrics (ROC AUC,
precision at k = 10%). The ways: the three contenders as they are; the logistic
regression with each measured example weighted by 1 / P(measured | its features
and the check's age); the mean of the two challengers' probabilities; the rank
mean of the logistic regression and the sort; the logistic regression taught that a
check found the income below (1 + m) x the standard, for the margins m of MARGINS
(a check averages months the truth counts one by one). The model card's table
(models/README.md, *What was tried against the remaining bias*) is this script's
output over the family's kept worlds. Never run it on a world you tune on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.stats import rankdata

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.diagnostics_cli import ranking_line, run_diagnostic  # noqa: E402
from pipelines.score import contenders, train, upkeep  # noqa: E402
from pipelines.score.features import feature_names, household_features  # noqa: E402
from pipelines.score.guard import _auc, precision_at  # noqa: E402
from pipelines.score.model import RiskModel, inputs  # noqa: E402
from pipelines.sql import query  # noqa: E402

WEIGHT_CLIP = (1.0, 50.0)
MARGINS = (0.1, 0.2)


def _scores(rows: pl.DataFrame, latest: pl.DataFrame, features: list[str]) -> dict[str, np.ndarray]:
    measured = rows.filter(pl.col(train.MEASURED))
    y = measured[train.LABEL].cast(pl.Int8).to_numpy()
    out = {}
    for kind in contenders.KINDS:
        estimator, used, _ = contenders.fit(kind, measured, features, 0, train.LABEL)
        out[kind] = RiskModel(kind, estimator, used).predict(latest)
    seen = [f for f in (*contenders.TRANSPARENT, "check_age_months") if f in features]
    propensity = contenders._linear(seen, 1.0, 0).fit(inputs(rows, seen), rows[train.MEASURED].cast(pl.Int8))
    weights = np.clip(1 / propensity.predict_proba(inputs(measured, seen))[:, 1], *WEIGHT_CLIP)
    used = contenders.features_of("logistic", features)
    weighted = contenders._linear(used, 1.0, 0).fit(inputs(measured, used), y, model__sample_weight=weights)
    out["logistic_weighted"] = weighted.predict_proba(inputs(latest, used))[:, 1]
    out["mean_of_challengers"] = (out["logistic"] + out["gbm"]) / 2
    out["rank_mean_logistic_sort"] = rankdata(out["logistic"]) + rankdata(out["sort"])
    for margin in MARGINS:
        below = (pl.col("lowest_check_ratio") < 1 + margin).fill_null(False)
        taught = measured.with_columns(margin_label=pl.col("entered_dibao") | pl.col("feedback_below") | below)
        estimator, used, _ = contenders.fit("logistic", taught, features, 0, "margin_label")
        out[f"logistic_margin_{margin}"] = RiskModel("logistic", estimator, used).predict(latest)
    return out


def check(warehouse: Path, truth: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        dates = train.labelled_dates(con)
        rows = train.examples(con, dates).join(
            pl.from_arrow(con.sql(query("score/lowest_check_ratio"), params={"dates": dates}).to_arrow_table()),
            on=["as_of_date", "household_id"], how="left")
        latest = household_features(con, upkeep.month_end_dates(con)[-1])
    finally:
        con.close()
    outcome = pl.read_csv(truth / "households.csv", schema_overrides={"household_id": pl.String,
                                                                      "county_code": pl.String})
    latest = latest.join(outcome.filter(pl.col("scored") == 1).select("household_id", y="fell_below_within_3m"),
                         on="household_id", how="inner")
    features = [f for f in feature_names(rows.drop(*train.LABEL_COLUMNS, "lowest_check_ratio"))
                if f not in train.EXCLUDED]
    y = latest["y"].cast(pl.Int8).to_numpy()
    return {"households": int(len(y)), "positives": int(y.sum()),
            **{name: {"roc_auc": _auc(y, p), "precision_at_k": precision_at(y, p)}
               for name, p in _scores(rows, latest, features).items()}}


def _lines(result: dict) -> list[str]:
    return [ranking_line(name, r, 24) for name, r in result.items() if isinstance(r, dict)]


def main(argv: list[str] | None = None) -> int:
    return run_diagnostic("Ways round the label's selection bias, against a world's truth.", check, _lines, argv)


if __name__ == "__main__":
    sys.exit(main())
