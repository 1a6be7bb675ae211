"""The gradient-boosting risk model's pipeline, and what every model is scored with.

`build_pipeline` makes the estimator (categories ordinal-encoded, numbers passed
through with their gaps, a seeded HistGradientBoostingClassifier that is
monotone where the direction is not in doubt: more income, less risk);
pipelines.score.contenders fits and calibrates it beside the other contenders.
`RiskModel` (any contender, with its features and reference values) is what is
saved, loaded and scored with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from pipelines.score.features import CATEGORICAL

# Risk can only fall as these rise (the household has more income): constraining
# the trees so keeps thin corners of the data from inverting the obvious.
DECREASING = ("check_income_ratio", "income_estimate_ratio", "wage_income_ratio")
# Among measured households a recent check marks an application (the household
# asked because its income fell): left free, the trees learn "checked lately =
# at risk", the reverse of what a fresh measurement above the line means. A
# staler measurement can only leave more room for income to have fallen.
INCREASING = ("check_age_months",)


def one_thread():
    """Gradient boosting's OpenMP threads spin while they wait: two trainings at
    once on the two cores (a night beside another job, two Celery workers, the
    family evaluation) took 120 s each instead of 5.5 s; on one thread each, 5.5 s,
    and an idle machine measured no difference (docs/benchmarks.md)."""
    return threadpool_limits(limits=1, user_api="openmp")


def hyperparameters(rows: int, seed: int, overrides: dict | None = None) -> dict:
    """Shallow (3 levels), slowly learned, regularised trees: the label is noisy.
    Leaves need more rows as the data grows (about 0.25% of the rows, at least 20).
    `overrides` (e.g. {"max_depth": 4}) are for comparisons; the registry records them."""
    params = {"learning_rate": 0.05, "max_iter": 200, "max_depth": 3, "min_samples_leaf": max(20, rows // 400),
              "l2_regularization": 1.0, "early_stopping": False, "random_state": seed}
    unknown = set(overrides or {}) - set(params)
    if unknown:
        raise ValueError(f"unknown hyperparameters {sorted(unknown)}")
    return {**params, **(overrides or {})}


def build_pipeline(features: list[str], rows: int, seed: int, overrides: dict | None = None) -> Pipeline:
    categorical = [f for f in features if f in CATEGORICAL]
    numeric = [f for f in features if f not in CATEGORICAL]
    encode = ColumnTransformer(
        [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       encoded_missing_value=-1), categorical),
         ("numbers", "passthrough", numeric)],
        verbose_feature_names_out=False,
    )
    order = categorical + numeric  # the ColumnTransformer's output order
    model = HistGradientBoostingClassifier(
        categorical_features=[f in CATEGORICAL for f in order],
        monotonic_cst=[-1 if f in DECREASING else 1 if f in INCREASING else 0 for f in order],
        **hyperparameters(rows, seed, overrides),
    )
    return Pipeline([("encode", encode), ("model", model)])


def inputs(frame: pl.DataFrame, features: list[str]) -> pd.DataFrame:
    """The model's input table: categories as text, numbers as floats (NaN = unknown)."""
    cols = []
    for f in features:
        if f in CATEGORICAL:
            cols.append(pl.col(f).cast(pl.String))
        else:
            cols.append(pl.col(f).cast(pl.Float64))
    df = frame.select(cols).to_pandas()
    for f in features:
        if f in CATEGORICAL:
            df[f] = df[f].astype(object).where(df[f].notna(), np.nan)
    return df


def usable(rows: pl.DataFrame, features: list[str], minimum: int = 1) -> list[str]:
    """The features with at least `minimum` known values in `rows` (a feature never
    observed there cannot be learned)."""
    return [f for f in features if rows.height - rows[f].null_count() >= minimum]


@dataclass
class RiskModel:
    """A trained, calibrated model with what scoring and explaining need."""

    version: str
    estimator: object  # a fitted scikit-learn classifier (pipelines.score.contenders)
    features: list[str]
    reference: dict = field(default_factory=dict)  # feature -> reference value (attributions)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Calibrated probability per row of a household_features frame."""
        if frame.height == 0:
            return np.zeros(0)
        with one_thread():
            return self.estimator.predict_proba(inputs(frame, self.features))[:, 1]


def reference_values(rows: pl.DataFrame, features: list[str]) -> dict:
    """Each feature's reference value, the typical household it is compared with:
    unknown when most rows do not know it (e.g. months since a job loss, for the
    many households without one), else the median (numbers) or the most common
    value (categories) of the rows the model was fitted on."""
    ref = {}
    for f in features:
        col = rows[f].drop_nulls()
        if col.len() * 2 < rows.height:
            ref[f] = None
        elif f in CATEGORICAL:
            ref[f] = str(col.cast(pl.String).mode().sort()[0])
        else:
            ref[f] = float(col.cast(pl.Float64).median())
    return ref
