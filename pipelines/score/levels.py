"""Risk levels follow caseworker capacity, not a probability threshold.

The city's visit budget is `risk_visits_per_township` x the number of townships; a
share `risk_visits_by_need` of it is divided among townships in proportion to their
expected number of households falling below the line (the sum of their scores), the
rest equally (`allocate_visits`), no township more visits than it has households it
may visit (the rest go on to the others). In each township its visits' worth of the
highest scores are 高 (this month's home visits), the next as many 中, the rest 低; a
score under `risk_min_score` is never 高 or 中, whatever the capacity. All three are
effective-dated parameters (parameters/risk_*.yaml) read on the scoring date.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import polars as pl

VISITS_PARAMETER = "risk_visits_per_township"
BY_NEED_PARAMETER = "risk_visits_by_need"
MIN_SCORE_PARAMETER = "risk_min_score"
# When the parameters are not loaded (parameters/risk_*.yaml say why these values).
DEFAULTS = {VISITS_PARAMETER: 10, BY_NEED_PARAMETER: 1.0, MIN_SCORE_PARAMETER: 0.01}
DEFAULT_VISITS_PER_TOWNSHIP = DEFAULTS[VISITS_PARAMETER]
LEVELS = ("高", "中", "低")
def _parameter(con: duckdb.DuckDBPyConnection, name: str, as_of: date) -> float:
    found = con.execute(
        "SELECT amount FROM core.policy_parameters WHERE parameter = ? AND region_code = '371500'"
        " AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)", [name, as_of, as_of],
    ).fetchall()
    return float(found[0][0]) if found else DEFAULTS[name]


def visits_per_township(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    return int(_parameter(con, VISITS_PARAMETER, as_of))


def level_settings(con: duckdb.DuckDBPyConnection, as_of: date) -> dict:
    """The capacity parameters in force on `as_of`."""
    return {"visits": visits_per_township(con, as_of), "by_need": _parameter(con, BY_NEED_PARAMETER, as_of),
            "min_score": _parameter(con, MIN_SCORE_PARAMETER, as_of)}


def allocate_visits(frame: pl.DataFrame, visits: int, by_need: float = 1.0, min_score: float = 0.0) -> pl.DataFrame:
    """Visits per township: the budget `visits` x townships, a `by_need` share of it
    in proportion to each township's summed risk_score, the rest equally, and no
    township more than its households scored `min_score` or more.

    Equal visits per township leave the townships with the most households at
    risk (mostly rural) with the lowest share of them visited; dividing by
    expected need evens that out. A visit beyond a township's households can be no
    home visit: shares over that cap go on to the other townships by the same
    weights (on a town, 59 of 220 visits were stranded so while households scored
    4-7% elsewhere got none). Largest remainders round to whole visits, so the budget
    is spent exactly unless it exceeds every household it may reach (ties by township_code).
    """
    if visits < 0:
        raise ValueError(f"visits per township must be 0 or more, got {visits}")
    if not 0.0 <= by_need <= 1.0:
        raise ValueError(f"the share of visits allocated by need must be between 0 and 1, got {by_need}")
    need = frame.group_by("township_code").agg(
        need=pl.col("risk_score").sum(), cap=(pl.col("risk_score") >= min_score).sum()).sort("township_code")
    n = need.height
    if n == 0:
        return need.select("township_code", township_visits=pl.lit(0, pl.Int64))
    weights = np.full(n, 1.0 / n)
    total_need = float(need["need"].sum())
    if total_need > 0:
        weights = (1.0 - by_need) * weights + by_need * need["need"].to_numpy() / total_need
    cap = need["cap"].to_numpy().astype(float)
    budget = min(float(visits * n), cap.sum())
    quota = _capped_shares(weights, budget, cap)
    whole = np.floor(quota + 1e-9)
    left = int(round(budget - whole.sum()))
    order = np.lexsort((np.arange(n), -(quota - whole)))  # largest remainder first, then township order
    order = order[whole[order] < cap[order]]  # a township at its cap takes no rounded-up visit
    whole[order[:left]] += 1
    return need.select("township_code").with_columns(township_visits=pl.Series(whole.astype(np.int64)))


def _capped_shares(weights: np.ndarray, budget: float, cap: np.ndarray) -> np.ndarray:
    """`budget` shared by `weights`, no share above its `cap` (budget <= cap.sum()): what a
    capped share cannot take is shared again among the others, by their weights (equally
    where none of them has any weight left)."""
    share = np.zeros_like(cap)
    free = cap > 0
    while free.any():
        left = budget - share.sum()
        if left <= 1e-9:
            break
        w = np.where(free, weights, 0.0)
        w = w / w.sum() if w.sum() > 0 else free / free.sum()
        trial = share + left * w
        over = free & (trial >= cap)
        if not over.any():
            return trial
        share[over], free = cap[over], free & ~over
    return share


def assign_levels(frame: pl.DataFrame, visits: int, by_need: float = 0.0, min_score: float = 0.0) -> pl.DataFrame:
    """Add township_visits, rank_in_township (1 = highest score; ties by
    household_id) and risk_level."""
    allocated = allocate_visits(frame, visits, by_need, min_score)
    ranked = frame.sort(["township_code", "risk_score", "household_id"], descending=[False, True, False])
    ranked = ranked.with_columns(rank_in_township=pl.int_range(1, pl.len() + 1).over("township_code"))
    ranked = ranked.join(allocated, on="township_code", how="left")
    eligible = pl.col("risk_score") >= min_score
    return ranked.with_columns(
        risk_level=pl.when(eligible & (pl.col("rank_in_township") <= pl.col("township_visits")))
        .then(pl.lit(LEVELS[0]))
        .when(eligible & (pl.col("rank_in_township") <= 2 * pl.col("township_visits"))).then(pl.lit(LEVELS[1]))
        .otherwise(pl.lit(LEVELS[2]))
    )
