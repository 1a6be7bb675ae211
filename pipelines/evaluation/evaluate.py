"""Score the latest risk list against the generator's ground truth.

`evaluate(warehouse, truth)` takes the latest `as_of_date` of `mart.risk_list`
and the truth's `household_months.parquet` for that month: `below_line_next3`
(true per-capita income below the standard in at least one of the 3 following
months) is the outcome. Three rankings of the same households, cut at the same
capacity (in each township as many as the list put at 高):

- model:    risk_score;
- baseline: what a bureau does today, the last assessed 月人均收入 relative to the
            standard in force (lowest first; never assessed last);
- oracle:   the true current per-capita income relative to the standard, which
            only the generator knows: the ceiling for any ranking that cannot
            see the future;
- fresh_check: a diagnostic, not a target: the income a 家庭经济状况核对 of every
            household on the scoring date would assess. The generator's check
            measures an exponential average of recent months' true income
            (weight 0.25 on the latest month: pipelines/generate/simulate.py,
            `recent_pc`), so this is the ceiling for a model whose best evidence
            is income checks, however fresh.

`--outcome assessed` is a diagnostic, not the contract's outcome: the outcome
becomes "the income an assessment would find (the same average of recent
months) is below the standard at some month of the next 3", the way 低保
eligibility is decided, and the oracle ranks by that current assessed income
(equal to fresh_check). It shows how much of the model's gap to the oracle
is the monthly volatility of the contract's outcome (models/README.md, Targets).

Reported for each: ROC AUC, precision and recall at the capacity cut-off and at
a city-wide cut-off of the same size, and fairness (recall and precision at the
cut-off for 城市 vs 农村, by county, and for households with a disabled member);
for the model also the Brier score and the reliability curve (ten bins of
predicted probability: mean predicted vs observed rate).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, roc_auc_score

from pipelines.catalog import table_exists
from pipelines.sql import query
from pipelines.warehouse import WarehouseError, open_warehouse

RANKINGS = ("model", "baseline", "oracle", "fresh_check")
OUTCOMES = ("monthly", "assessed")  # the contract's risk_score definition first
# The generator's income check averages recent months with this weight on the
# latest one (simulate.py, `recent_pc`): used for the fresh_check diagnostic only.
CHECK_AVERAGING_WEIGHT = 0.25
RELIABILITY_BINS = 10
# A listed household missing from the truth, or on 低保/特困 in it, is rare in its own world
# (a quarantined row carried over); past this share the truth is another world's.
FOREIGN_SHARE = 0.1


class EvaluationError(Exception):
    """The risk list or the truth cannot be evaluated; one line."""


def _risk_list(warehouse: Path) -> tuple[date, pl.DataFrame]:
    con = open_warehouse(warehouse, read_only=True)
    try:
        if not table_exists(con, "mart.risk_list"):
            raise EvaluationError(f"{warehouse} has no mart.risk_list: run the scoring step first")
        as_of = con.execute("SELECT max(as_of_date) FROM mart.risk_list").fetchall()[0][0]
        if as_of is None:
            raise EvaluationError(f"mart.risk_list in {warehouse} is empty: run the scoring step first")
        # the baseline and the groups, from the warehouse as of the list's date
        frame = con.sql(query("evaluation/risk_list_groups"), params={"d": as_of}).pl()
    finally:
        con.close()
    return as_of, frame


def _truth(truth: Path, as_of: date, outcome: str = "monthly") -> pl.DataFrame:
    if outcome not in OUTCOMES:
        raise EvaluationError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    path = truth / "household_months.parquet"
    if not path.exists():
        raise EvaluationError(f"no ground truth at {path}")
    months = pl.read_parquet(path).sort("household_id", "extract_date")
    if months.filter(pl.col("extract_date") == as_of).height == 0:
        raise EvaluationError(f"the truth has no month ending {as_of}, the risk list's date")
    ratio = (pl.col("income_per_capita") / pl.col("standard")).fill_null(0.0)
    months = months.with_columns(
        assessed=ratio.ewm_mean(alpha=CHECK_AVERAGING_WEIGHT, adjust=False).over("household_id"))
    if outcome == "assessed":  # later months only feed this outcome, never a score
        below = pl.col("assessed") < 1.0
        months = months.with_columns(
            true_ratio=pl.col("assessed"),
            below_line_next3=pl.when(pl.col("extract_date").shift(-3).over("household_id").is_not_null())
            .then(pl.max_horizontal([below.shift(-k).over("household_id") for k in (1, 2, 3)])))
    else:
        months = months.with_columns(true_ratio=pl.col("income_per_capita") / pl.col("standard"))
    return months.filter(pl.col("extract_date") == as_of).select(
        "household_id", "true_ratio",
        pl.col("assessed").alias("fresh_ratio"),
        pl.col("below_line_next3").alias("outcome"),
        pl.col("category").alias("true_category"),
    )


def cut(frame: pl.DataFrame, score: str, per_township: pl.DataFrame) -> pl.Series:
    """True for the rows a ranking by `score` (higher = riskier) visits: in each
    township as many as `per_township` gives, ties by household_id."""
    ranked = frame.with_row_index("_row").sort(["township_code", score, "household_id"],
                                               descending=[False, True, False], nulls_last=True)
    ranked = ranked.with_columns(_rank=pl.int_range(1, pl.len() + 1).over("township_code"))
    ranked = ranked.join(per_township, on="township_code", how="left").with_columns(
        _visit=pl.col("_rank") <= pl.col("visits").fill_null(0))
    return ranked.sort("_row")["_visit"]


def _at_cut(outcome: np.ndarray, visit: np.ndarray) -> dict:
    tp = int((outcome & visit).sum())
    return {"visits": int(visit.sum()), "true_positives": tp,
            "precision": tp / visit.sum() if visit.sum() else None,
            "recall": tp / outcome.sum() if outcome.sum() else None}


def _groups(frame: pl.DataFrame, visit: pl.Series) -> dict:
    x = frame.with_columns(_visit=visit)
    out = {}
    for name, column in (("urban_rural", "urban_rural"), ("county", "county_code"),
                         ("disabled_member", "disabled_member")):
        out[name] = {}
        for value in sorted(x[column].unique().to_list(), key=str):
            g = x.filter(pl.col(column) == value)
            out[name][str(value)] = {"households": g.height, "positives": int(g["outcome"].sum()),
                                     **_at_cut(g["outcome"].to_numpy(), g["_visit"].to_numpy())}
    return out


def reliability(outcome: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "households": int(mask.sum()),
                        "mean_predicted": float(p[mask].mean()), "observed": float(outcome[mask].mean())})
    return out


def _same_world(joined: pl.DataFrame, truth: Path) -> None:
    """Refuse another world's truth: its household ids may coincide (they follow the village
    codes), but then most listed households are missing from it or already on 低保/特困 in it."""
    foreign = joined.filter(pl.col("true_category").is_null() | pl.col("true_category").is_in(["低保", "特困"]))
    if joined.height and foreign.height > FOREIGN_SHARE * joined.height:
        raise EvaluationError(
            f"the truth at {truth} does not describe this warehouse's world: {foreign.height} of {joined.height}"
            " listed households are missing from it or on 低保/特困 there (another world's truth?)")


def evaluate(warehouse: Path, truth: Path, outcome: str = "monthly") -> dict:
    """Metrics of the latest risk list, the baseline and the oracle against the truth."""
    definition = outcome
    as_of, frame = _risk_list(Path(warehouse))
    joined = frame.join(_truth(Path(truth), as_of, definition), on="household_id", how="left")
    _same_world(joined, Path(truth))
    unknown = joined.filter(pl.col("outcome").is_null()).height
    x = joined.filter(pl.col("outcome").is_not_null()).with_columns(
        model=pl.col("risk_score"),
        baseline=-pl.col("assessed_ratio"),   # lower income = riskier; never assessed sorts last
        oracle=-pl.col("true_ratio"),
        fresh_check=-pl.col("fresh_ratio"),
    )
    outcome = x["outcome"].to_numpy().astype(bool)
    per_township = x.group_by("township_code").agg(visits=(pl.col("risk_level") == "高").sum())
    total_visits = int(per_township["visits"].sum())
    result = {"as_of_date": str(as_of), "outcome": definition, "households": x.height, "households_without_truth": unknown,
              "positives": int(outcome.sum()), "base_rate": float(outcome.mean()) if x.height else None,
              "visits": total_visits, "townships": per_township.height, "rankings": {}}
    for name in RANKINGS:
        raw = x[name]
        score = raw.fill_null((raw.min() or 0.0) - 1.0).to_numpy()  # unknown sorts last
        visit = cut(x, name, per_township)
        city_wide = np.zeros(x.height, bool)
        city_wide[np.argsort(-score, kind="stable")[:total_visits]] = True
        entry = {
            "roc_auc": float(roc_auc_score(outcome, score)) if 0 < outcome.sum() < len(outcome) else None,
            "at_capacity": _at_cut(outcome, visit.to_numpy()),
            "city_wide_cut": _at_cut(outcome, city_wide),
            "fairness": _groups(x, visit),
            "fairness_city_wide_cut": _groups(x, pl.Series(city_wide)),
        }
        if name == "model":
            p = x["risk_score"].to_numpy()
            bins = reliability(outcome, p)
            entry["brier"] = float(brier_score_loss(outcome, p))
            entry["mean_predicted"] = float(p.mean())
            entry["reliability"] = bins
            entry["expected_calibration_error"] = float(
                sum(b["households"] * abs(b["mean_predicted"] - b["observed"]) for b in bins) / len(p))
        result["rankings"][name] = entry
    model, oracle = result["rankings"]["model"], result["rankings"]["oracle"]
    mine, best = model["at_capacity"]["precision"], oracle["at_capacity"]["precision"]
    if best and mine is not None:
        result["model_precision_share_of_oracle"] = mine / best
    if model["roc_auc"] is not None and oracle["roc_auc"] is not None:
        result["model_auc_gap_to_oracle"] = oracle["roc_auc"] - model["roc_auc"]
    for name in RANKINGS:
        for cut_name in ("fairness", "fairness_city_wide_cut"):
            urban_rural = result["rankings"][name][cut_name]["urban_rural"]
            if {"城市", "农村"} <= set(urban_rural):
                result["rankings"][name][cut_name]["urban_rural_recall_gap"] = abs(
                    (urban_rural["城市"]["recall"] or 0) - (urban_rural["农村"]["recall"] or 0))
    if "urban_rural_recall_gap" in model["fairness"]:
        result["model_urban_rural_recall_gap"] = model["fairness"]["urban_rural_recall_gap"]
    return result


def label_bias(warehouse: Path, truth: Path) -> list[dict]:
    """How the warehouse's training label (pipelines.score.train) compares with the
    truth's below_line_next3, month by labelled month: all scored households,
    and the measured ones (the rows the model learns from)."""
    from pipelines.score.train import examples, labelled_dates

    con = open_warehouse(Path(warehouse), read_only=True)
    try:
        dates = labelled_dates(con)
        rows = examples(con, dates).select("as_of_date", "household_id", "label", "measured")
    finally:
        con.close()
    months = pl.read_parquet(Path(truth) / "household_months.parquet").select(
        pl.col("extract_date").alias("as_of_date"), "household_id", pl.col("below_line_next3").alias("truth"))
    x = rows.join(months, on=["as_of_date", "household_id"], how="inner").filter(pl.col("truth").is_not_null())
    out = []
    for (d,), g in sorted(x.group_by("as_of_date"), key=lambda kv: kv[0]):
        measured = g.filter("measured")
        out.append({
            "as_of_date": str(d), "households": g.height,
            "truth_rate": g["truth"].mean(), "measured_share": g["measured"].mean(),
            "measured_truth_rate": measured["truth"].mean(), "measured_label_rate": measured["label"].mean(),
            "label_precision": measured.filter("label")["truth"].mean(),
            "label_recall": measured.filter("truth")["label"].mean(),
        })
    return out


def format_label_bias(rows: list[dict]) -> str:
    names = ["households", "truth", "measured", "its truth", "its label", "precision", "recall"]
    lines = ["training label vs the truth's below_line_next3 (measured household-months: the rows the model "
             "learns from; precision/recall of their label as a test of the truth)",
             _row("as_of_date", names, 12)]
    for r in rows:
        lines.append(_row(r["as_of_date"], [str(r["households"])] + [_pct(r[k]) for k in (
            "truth_rate", "measured_share", "measured_truth_rate", "measured_label_rate", "label_precision",
            "label_recall")], 12))
    return "\n".join(lines)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _row(label: str, cells: list[str], width: int = 13) -> str:
    return f"{label:<26}" + "".join(f"{c:>{width}}" for c in cells)


def format_evaluation(result: dict) -> str:
    """The evaluation as a readable text table."""
    r = result["rankings"]
    names = [n for n in RANKINGS if n in r]
    lines = [
        f"risk list {result['as_of_date']}: {result['households']} households "
        f"({result['households_without_truth']} without truth), {result['positives']} truly below the line "
        f"({result.get('outcome', 'monthly')} income) within 3 months (base rate {_pct(result['base_rate'])}); "
        f"{result['visits']} visits (level 高) in {result['townships']} townships",
        "",
        _row("", names),
        _row("ROC AUC", [_num(r[n]["roc_auc"]) for n in names]),
        _row("precision @ capacity", [_pct(r[n]["at_capacity"]["precision"]) for n in names]),
        _row("recall @ capacity", [_pct(r[n]["at_capacity"]["recall"]) for n in names]),
        _row("precision @ city-wide cut", [_pct(r[n]["city_wide_cut"]["precision"]) for n in names]),
        _row("recall @ city-wide cut", [_pct(r[n]["city_wide_cut"]["recall"]) for n in names]),
        _row("urban-rural recall gap", [_pct(r[n]["fairness"].get("urban_rural_recall_gap")) for n in names]),
        _row("  ... at city-wide cut", [_pct(r[n]["fairness_city_wide_cut"].get("urban_rural_recall_gap"))
                                        for n in names]),
        "",
        f"model: Brier {_num(r['model']['brier'])}, mean predicted {_pct(r['model']['mean_predicted'])}, "
        f"expected calibration error {_num(r['model']['expected_calibration_error'])}",
    ]
    if "model_precision_share_of_oracle" in result:
        lines.append(f"model precision @ capacity = {_pct(result['model_precision_share_of_oracle'])} of the "
                     f"oracle's; ROC AUC gap to the oracle {_num(result.get('model_auc_gap_to_oracle'))}")
    lines += ["", "reliability (model)", _row("  predicted probability", ["households", "predicted", "observed"])]
    for b in r["model"]["reliability"]:
        lines.append(_row(f"  {b['bin']}", [str(b["households"]), _pct(b["mean_predicted"]), _pct(b["observed"])]))
    lines += ["", "fairness at capacity: recall / precision",
              _row("  group (households)", names, 17)]
    for kind in ("urban_rural", "county", "disabled_member"):
        for value, g in r["model"]["fairness"][kind].items():
            groups = [r[n]["fairness"][kind][value] for n in names]
            cells = [f"{_pct(x['recall'])} / {_pct(x['precision'])}" for x in groups]
            lines.append(_row(f"  {kind} {value} ({g['households']})", cells, 17))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.evaluation.evaluate",
                                     description="Score the latest risk list against the generator's ground truth.")
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--truth", required=True, type=Path)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--outcome", choices=OUTCOMES, default="monthly",
                        help="monthly: the contract's outcome (default); assessed: a diagnostic, the income an "
                             "assessment would find")
    parser.add_argument("--label-bias", action="store_true",
                        help="compare the training label with the truth, month by month, instead")
    args = parser.parse_args(argv)
    try:
        if args.label_bias:
            rows = label_bias(args.warehouse, args.truth)
            print(json.dumps(rows, indent=1) if args.json else format_label_bias(rows))
            return 0
        result = evaluate(args.warehouse, args.truth, args.outcome)
    except (EvaluationError, WarehouseError, duckdb.Error, OSError, pl.exceptions.PolarsError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else format_evaluation(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
