"""How far today's features could go: the bound the model card compares the model with.

    .venv/bin/python models/feature_bound.py --warehouse W --truth T [--json]

On the latest risk list's households, a gradient boosting is cross-fitted
(5 folds, seeded) on the exact feature values the list was scored on
(`mart.risk_list_detail.features`) against the world's *true* outcome (the
evaluator's `households.csv`: `fell_below_within_3m`). No deployed model can
train on that outcome; the result bounds what these features can rank. The gap
between the model in force and this bound is training's to close; the gap
between the bound and the oracle (true current income) is the features'.
Metrics are those of `../shared/tools/evaluate_world.py`: ROC AUC and precision
at k = 10% of scored households.

Fitted on one month's ~500-1,500 households, that bound is itself noisy (the model in
force can beat it). Where the truth holds every month (this project's generator:
`household_months.parquet`), a second bound is fitted the way a deployed model is,
on the past, but with the true outcome: the same gradient boosting on every scored
household at every month-end whose 3-month outcome ends by the scoring date
(features as of that month-end, `household_features`), applied to the latest list's
households. The deployed model learns from the measured households only and from what
a measurement shows; the gap between it and this pooled bound is the label's and
training's, the gap between the pooled bound and the oracle the features'.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.diagnostics_cli import ranking_line, run_diagnostic  # noqa: E402
from pipelines.core.parameters import standard_on  # noqa: E402
from pipelines.score.guard import _auc, precision_at  # noqa: E402
from pipelines.score.features import household_features  # noqa: E402
from pipelines.score.model import build_pipeline, inputs  # noqa: E402
from pipelines.score.train import EXCLUDED, add_months  # noqa: E402
from pipelines.score.upkeep import month_end_dates  # noqa: E402

FOLDS = 5


def latest_features(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rows = con.sql("SELECT household_id, risk_score, features::VARCHAR AS features FROM mart.risk_list_detail"
                   " JOIN mart.risk_list USING (as_of_date, household_id)"
                   " WHERE as_of_date = (SELECT max(as_of_date) FROM mart.risk_list)").pl()
    decoded = pl.DataFrame([json.loads(f) for f in rows["features"]], infer_schema_length=None)
    return rows.drop("features").hstack(decoded)


def bound(warehouse: Path, truth: Path, seed: int = 0) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return _bound(con, truth, seed)
    finally:
        con.close()


def _bound(con: duckdb.DuckDBPyConnection, truth: Path, seed: int) -> dict:
    truth_rows = pl.read_csv(truth / "households.csv", schema_overrides={"household_id": pl.String,
                                                                         "county_code": pl.String})
    truth_rows = truth_rows.filter(pl.col("scored") == 1)
    x = latest_features(con).join(truth_rows.select(
        "household_id", y="fell_below_within_3m", true_income="true_pc_income_asof", urban="urban_rural"),
        on="household_id", how="inner")
    y = x["y"].cast(pl.Int8).to_numpy()
    features = [c for c in x.columns if c not in ("household_id", "risk_score", "y", "true_income", "urban")]
    cross = np.zeros(len(y))
    for fit, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        pipeline = build_pipeline(features, len(fit), seed)
        pipeline.fit(inputs(x[fit], features), y[fit])
        cross[test] = pipeline.predict_proba(inputs(x[test], features))[:, 1]
    as_of = con.execute("SELECT max(as_of_date) FROM mart.risk_list").fetchall()[0][0]
    in_force = {area: float(standard_on(con, "dibao_standard", area, as_of)) for area in ("城市", "农村")}
    standard = np.where(x["urban"].to_numpy() == "城市", in_force["城市"], in_force["农村"])
    oracle = -x["true_income"].cast(pl.Float64).fill_null(0).to_numpy() / standard
    model = x["risk_score"].to_numpy()
    result = {"households": int(len(y)), "positives": int(y.sum()),
              "model": {"roc_auc": _auc(y, model), "precision_at_k": precision_at(y, model)},
              "feature_bound": {"roc_auc": _auc(y, cross), "precision_at_k": precision_at(y, cross)},
              "oracle": {"roc_auc": _auc(y, oracle), "precision_at_k": precision_at(y, oracle)}}
    months = truth / "household_months.parquet"
    if months.exists():
        pooled, rows, dates = pooled_scores(con, months, x, [f for f in features if f not in EXCLUDED], seed)
        result["pooled_bound"] = {"roc_auc": _auc(y, pooled), "precision_at_k": precision_at(y, pooled),
                                  "rows": rows, "month_ends": dates}
    return result


def pooled_scores(con: duckdb.DuckDBPyConnection, months: Path, latest: pl.DataFrame, features: list[str],
                  seed: int) -> tuple[np.ndarray, int, int]:
    """Scores of `latest`'s households by a gradient boosting fitted on every scored
    household at every earlier month-end D whose outcome (below the line in D's next 3
    months, the truth's `below_line_next3`) ends on or before the scoring date, with the
    features as of D. Returns the scores, the rows and the month-ends fitted on."""
    truth = pl.read_parquet(months).select(pl.col("extract_date").alias("as_of_date"), "household_id",
                                           pl.col("below_line_next3").alias("y"))
    ends = month_end_dates(con)
    scoring = ends[-1]
    dates = [d for d in ends[1:] if add_months(d, 3) <= scoring]  # the first shows states, not changes
    if not dates:
        raise ValueError(f"no month-end in the warehouse whose 3-month outcome ends by {scoring}")
    past = pl.concat([household_features(con, d).with_columns(as_of_date=pl.lit(d)) for d in dates],
                     how="vertical_relaxed")
    past = past.join(truth, on=["as_of_date", "household_id"], how="inner").filter(pl.col("y").is_not_null())
    used = [f for f in features if f in past.columns]
    pipeline = build_pipeline(used, past.height, seed)
    pipeline.fit(inputs(past, used), past["y"].cast(pl.Int8).to_numpy())
    return pipeline.predict_proba(inputs(latest, used))[:, 1], past.height, len(dates)


def _lines(result: dict) -> list[str]:
    names = ("model", "feature_bound", "pooled_bound", "oracle")
    return [ranking_line(name, result[name], 14) for name in names if name in result]


def main(argv: list[str] | None = None) -> int:
    return run_diagnostic("Cross-fit today's features against a world's true outcome.", bound, _lines, argv)


if __name__ == "__main__":
    sys.exit(main())
