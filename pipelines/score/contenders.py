"""The three models every training fits and compares (models/README.md, Promotion guard).

- `gbm`: the gradient-boosting pipeline of pipelines.score.model on every feature,
  its probabilities calibrated by cross-validation (sigmoid);
- `logistic`: a transparent logistic regression on a handful of features any
  bureau's data has (TRANSPARENT);
- `sort`: the bureau's own sort, last assessed 月人均收入 ÷ the standard
  (`check_income_ratio`, a household never checked ranked at the median), put
  through a logistic link so that it gives a probability and ranks exactly as
  the sort does.

All three are scikit-learn estimators over the household features frame, so the
registry saves, loads and explains them the same way (RiskModel).
"""

from __future__ import annotations

import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipelines.score.model import build_pipeline, inputs, one_thread, usable

KINDS = ("gbm", "logistic", "sort")
SORT_FEATURE = "check_income_ratio"
# A handful of facts any bureau holds, each with an obvious direction; the age of
# the last check is left out: among measured households a recent check marks an
# application, a selection effect a linear model cannot be kept from learning.
TRANSPARENT = ("check_income_ratio", "income_estimate_ratio", "never_checked", "wage_income_ratio",
               "stopped_contributing", "job_losses_6m", "open_unemployment", "severe_disabled",
               "dependants_per_worker", "members")
CALIBRATION_FOLDS = 3
# The trees' binning fails on a feature a calibration fold sees once or never (a young
# city knew `check_trend_ratio` for 1 of 101 measured households); with fewer known
# values than a leaf's minimum (20) the trees could not learn from it anyway.
MIN_KNOWN_FOR_TREES = 20


def features_of(kind: str, features: list[str]) -> list[str]:
    """The features the kind uses, among those training offers."""
    if kind == "gbm":
        return list(features)
    wanted = (SORT_FEATURE,) if kind == "sort" else TRANSPARENT
    return [f for f in wanted if f in features]


def _linear(features: list[str], c: float, seed: int) -> Pipeline:
    # Unknown values take the median, and (logistic) a flag of their own.
    encode = ColumnTransformer(
        [("numbers", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=len(features) > 1)),
                               ("scale", StandardScaler())]), features)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("encode", encode), ("model", LogisticRegression(C=c, max_iter=2000, random_state=seed))])


def fit(kind: str, rows: pl.DataFrame, features: list[str], seed: int, label: str = "label",
        overrides: dict | None = None):
    """Fit `kind` on `rows`; return (estimator, features used, calibration method)."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: one of {', '.join(KINDS)}")
    used = usable(rows, features_of(kind, features), MIN_KNOWN_FOR_TREES if kind == "gbm" else 1)
    if not used:
        raise ValueError(f"no known values of the {kind} model's features in the training rows")
    y = rows[label].cast(pl.Int8).to_numpy()
    x = inputs(rows, used)
    if kind == "gbm":
        # cross-validated sigmoid: one model fitted on every row, its calibration
        # learned from out-of-fold predictions (isotonic overfits small months)
        pipeline = build_pipeline(used, rows.height, seed, overrides)
        folds = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=seed)
        estimator = CalibratedClassifierCV(pipeline, method="sigmoid", cv=folds, ensemble=False)
        with one_thread():
            return estimator.fit(x, y), used, "sigmoid (cross-validated)"
    estimator = _linear(used, 1.0 if kind == "logistic" else 1e6, seed)
    return estimator.fit(x, y), used, "logistic link"
