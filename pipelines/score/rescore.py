"""A date's list scored again where the features changed, and only there (issue #17, item 1).

A night with new data but the same method for the scoring date D (the model in force,
the level settings, the code and SQL that make a list: `inputs.method_digest`) does
not put every household through the model again. A household whose model features are
tonight exactly what `mart.risk_list_detail` stored for D keeps its stored score and
group contributions; only the others are predicted and explained. Rule flags, levels
and reasons are then worked out for every household as a full scoring does
(`risk_list.finish_scores`): they read tonight's features and every score of the
township. The list is the one a full scoring writes (tests/test_incremental.py, against
`dibao rebuild`); when no household's features changed the model is not even loaded, and
when every row comes out as stored the list is kept, not written again (`same_list`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from pipelines.score.inputs import reusable
from pipelines.sql import query

if TYPE_CHECKING:
    from pipelines.score.model import RiskModel
    from pipelines.score.reasons import ReasonCode


def encoded_features(features: pl.DataFrame, names: list[str]) -> pl.Series:
    """Each row's model features as mart.risk_list_detail stores them (JSON text)."""
    return features.select(names).select(pl.struct(pl.all()).struct.json_encode()).to_series().alias("features")


def stored_scores(con: duckdb.DuckDBPyConnection, as_of: date, method: str) -> pl.DataFrame | None:
    """D's list as written, when it was written by the same method and is still whole; else None."""
    if not reusable(con, as_of, method):
        return None
    return con.sql(query("score/stored_scores"), params={"as_of": as_of}).pl()


# What a list row shows and was decided on: equal in every one, the list need not be written.
SHOWN = ("household_id", "county_code", "township_code", "risk_score", "risk_level", "reasons", "rank_in_township",
         "township_visits", "rule_flags")


def same_list(scored: pl.DataFrame, stored: pl.DataFrame) -> bool:
    """Every row of `scored` is the stored row, to the features and contributions."""
    def rows(frame: pl.DataFrame, features: str, contributions: str) -> set:
        return set(frame.select(*SHOWN, features, contributions)
                   .with_columns(pl.col("reasons", "rule_flags").list.join("\x1f")).iter_rows())

    return scored.height == stored.height and rows(scored, "features", "contributions") == rows(
        stored, "stored_features", "stored_contributions")


def rescore(features: pl.DataFrame, stored: pl.DataFrame, model_features: list[str], codes: list[ReasonCode],
            settings: dict, load_model: Callable[[], RiskModel]) -> tuple[pl.DataFrame, int]:
    """The list for `features` (every household of D), with the model run only on the
    households whose model features differ from `stored`'s; returns it and their number."""
    from pipelines.score.reasons import contributions, model_groups
    from pipelines.score.risk_list import finish_scores

    groups = model_groups(codes, model_features)
    codes_of_groups = {g.code for g in groups}
    before = {h: (s, f, c) for h, s, f, c in stored.select(
        "household_id", "risk_score", "stored_features", "stored_contributions").iter_rows()}
    p, contrib = np.zeros(features.height), np.zeros((features.height, len(groups)))
    changed = np.ones(features.height, dtype=bool)
    for i, (household, tonight) in enumerate(zip(features["household_id"], encoded_features(features, model_features))):
        kept = before.get(household)
        if kept is None or kept[1] != tonight:
            continue
        values = json.loads(kept[2])
        if set(values) != codes_of_groups:
            continue
        p[i], contrib[i], changed[i] = kept[0], [values[g.code] for g in groups], False
    if changed.any():
        model = load_model()
        rows = features.filter(pl.Series(changed))
        p[changed] = np.clip(model.predict(rows), 0.0, 1.0)
        contrib[changed] = contributions(model, rows, groups, p[changed])
    scored = finish_scores(features, p, contrib, model_features, codes, settings["visits"], settings["by_need"],
                           settings["min_score"])
    return scored, int(changed.sum())
