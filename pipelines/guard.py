"""The promotion guard: which of the contenders may score tonight.

Every training fits the contenders (pipelines.contenders) on the earlier months
and scores the same held-out later months with each. A challenger (gbm,
logistic) replaces the bureau's sort only when, on those months, it ranks
better than the sort by more than the noise on ROC AUC (the lower end of a
household-cluster bootstrap interval of the difference is above zero) and is at
least as precise at capacity (its precision among the top CAPACITY_SHARE is not
below the sort's). Among the challengers that pass, the one with the higher
held-out ROC AUC is chosen; when none passes, the sort itself scores. Why
precision at capacity is held to "not worse" rather than "better beyond the
noise": models/README.md, Promotion guard.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import brier_score_loss

BASELINE = "sort"
CHALLENGERS = ("gbm", "logistic")
# Capacity: the share of households a month's visits reach (the acceptance
# worlds' k, and about what 10 visits per township cover in a city).
CAPACITY_SHARE = 0.10
BOOTSTRAP = 400
CONFIDENCE = 0.90  # two-sided: the lower end is the 5th percentile
CALIBRATION_BINS = 10


def precision_at(y: np.ndarray, p: np.ndarray, share: float = CAPACITY_SHARE) -> float | None:
    """Share of positives among the top `share` of p (ties broken by order: stable)."""
    if len(y) == 0:
        return None
    k = max(1, round(share * len(y)))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean())


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC from midranks (ties count half): what roc_auc_score gives, without
    its input checks, which dominate the bootstrap's cost."""
    positives = int(y.sum())
    if not 0 < positives < len(y):
        return None
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * (len(y) - positives)))


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float | None:
    """Expected calibration error over equal-count bins of p."""
    if len(y) == 0:
        return None
    order = np.argsort(p, kind="stable")
    parts = np.array_split(order, min(bins, len(y)))
    return float(sum(len(b) * abs(p[b].mean() - y[b].mean()) for b in parts if len(b)) / len(y))


def summary(y: np.ndarray, p: np.ndarray) -> dict:
    """Ranking and calibration of probabilities p against measured outcomes y."""
    out = {"rows": int(len(y)), "positives": int(y.sum()), "base_rate": float(y.mean()) if len(y) else None,
           "mean_predicted": float(p.mean()) if len(p) else None, "roc_auc": _auc(y, p),
           "precision_at_capacity": precision_at(y, p), "capacity_share": CAPACITY_SHARE}
    if len(y):
        out["brier"] = float(brier_score_loss(y, p, labels=[0, 1]))
        out["calibration_error"] = calibration_error(y, p)
    return out


def bootstrap_differences(y: np.ndarray, scores: dict[str, np.ndarray], groups: np.ndarray,
                          seed: int = 0, rounds: int = BOOTSTRAP) -> dict[str, dict]:
    """For each challenger: the bootstrap interval of its ROC AUC and precision at
    capacity minus the sort's, resampling whole households (a household's
    months are not independent examples)."""
    rng = np.random.default_rng(seed)
    ids, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    members = np.split(np.argsort(index, kind="stable"), np.cumsum(counts)[:-1])
    diffs = {name: {"roc_auc": [], "precision_at_capacity": []} for name in scores if name != BASELINE}
    for _ in range(rounds):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(ids), len(ids))])
        yb = y[rows]
        if not 0 < yb.sum() < len(yb):
            continue
        base_auc, base_p = _auc(yb, scores[BASELINE][rows]), precision_at(yb, scores[BASELINE][rows])
        for name in diffs:
            diffs[name]["roc_auc"].append(_auc(yb, scores[name][rows]) - base_auc)
            diffs[name]["precision_at_capacity"].append(precision_at(yb, scores[name][rows]) - base_p)
    tail = 100 * (1 - CONFIDENCE) / 2
    out = {}
    for name, by_metric in diffs.items():
        out[name] = {}
        for metric, values in by_metric.items():
            v = np.asarray(values)
            out[name][metric] = ({"low": float(np.percentile(v, tail)), "high": float(np.percentile(v, 100 - tail)),
                                  "rounds": int(len(v))} if len(v) else None)
    return out


def _beats_sort(held: dict, intervals: dict, name: str) -> bool:
    auc = intervals[name]["roc_auc"]
    mine, sort = held[name]["precision_at_capacity"], held[BASELINE]["precision_at_capacity"]
    return auc is not None and auc["low"] > 0 and mine is not None and sort is not None and mine >= sort


def decide(y: np.ndarray, scores: dict[str, np.ndarray], groups: np.ndarray, seed: int = 0) -> dict:
    """The guard's decision on the held-out months: every contender's metrics,
    the bootstrap intervals against the sort, and which kind is in force, why."""
    held = {name: summary(y, p) for name, p in scores.items()}
    intervals = bootstrap_differences(y, scores, groups, seed)
    passed = [name for name in CHALLENGERS if name in intervals and _beats_sort(held, intervals, name)]
    if passed:
        chosen = max(passed, key=lambda n: (held[n]["roc_auc"] or 0, -CHALLENGERS.index(n)))
        why = (f"{chosen} beats the bureau's sort on the held-out months by more than the noise "
               f"(ROC AUC {held[chosen]['roc_auc']:.3f} vs {held[BASELINE]['roc_auc']:.3f}, precision at "
               f"capacity {held[chosen]['precision_at_capacity']:.3f} vs "
               f"{held[BASELINE]['precision_at_capacity']:.3f}; the {100 * CONFIDENCE:.0f}% bootstrap interval "
               "of the ROC AUC difference is above 0)")
    else:
        chosen = BASELINE
        why = ("no challenger beats the bureau's sort on the held-out months (ROC AUC better beyond the "
               f"{100 * CONFIDENCE:.0f}% bootstrap interval, precision at capacity at least the sort's): "
               "the sort scores")
    return {"in_force": chosen, "reason": why, "passed": passed, "held_out": held,
            "intervals_vs_sort": intervals, "confidence": CONFIDENCE, "bootstrap_rounds": BOOTSTRAP,
            "households": int(len(np.unique(groups)))}
