"""The ground truth again, in the CSV layout of ../shared/worlds/ (external-a).

`../shared/tools/evaluate_world.py` reads households.csv, baseline_inputs.csv,
candidates.csv, defects.csv, deliveries.csv and files.csv from a truth folder.
Writing them beside our parquet files (which stay as they are) lets the same
evaluator judge a generated world and an independently written one alike.

The scoring date is the last delivered month end. Scored households are those in
that month's 民政 snapshot, 在册, neither 低保 nor 特困 (outputs.md). The baseline
input is the 月人均收入 民政 holds for them that month (clean value), which is
what the bureau sorts on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.population import Population
from pipelines.generate.simulate import History
from pipelines.generate.timeline import Timeline, from_days

FILES = ("households.csv", "baseline_inputs.csv", "candidates.csv", "defects.csv", "deliveries.csv",
         "files.csv")


def _write(path: Path, df: pl.DataFrame) -> None:
    df.write_csv(path, null_value="", quote_style="necessary")


def _flag(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr).then(pl.lit("1")).otherwise(pl.lit("0"))


def households(pop: Population, hist: History, tl: Timeline, frames: dict[str, pl.DataFrame]
               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(households.csv, baseline_inputs.csv) at the last delivered month."""
    t = tl.last
    as_of = tl.end(t)
    hm = frames["household_months"]
    at = hm.filter(pl.col("extract_date") == as_of, pl.col("in_snapshot"))
    later = hm.filter(pl.col("extract_date") > as_of, pl.col("extract_date") <= tl.end(t + 3))
    ratio = later.group_by("household_id").agg(
        min_ratio=(pl.col("income_per_capita") / pl.col("standard")).min())
    persons = frames["persons"]
    nonlocal_ = persons.filter(pl.col("household_id").is_not_null()).group_by("household_id").agg(
        nonlocal_=(~pl.col("local_id")).any())
    snap = hist.snapshots[t]
    recorded = pl.DataFrame({
        "household_id": pl.Series(pop.household_ids[snap.households].tolist(), dtype=pl.String),
        "stale_pc_income": pl.Series(snap.checked.astype(np.float64)).fill_nan(None),
        "check_date": pl.Series([from_days(d).isoformat() if d >= 0 else None for d in snap.check_day.tolist()],
                                dtype=pl.String),
    })
    scored = (pl.col("status") == "在册") & ~pl.col("category").is_in(["低保", "特困"])
    x = (at.join(ratio, on="household_id", how="left")
         .join(nonlocal_, on="household_id", how="left")
         .join(recorded, on="household_id", how="left")
         .sort("household_id"))
    truth = x.select(
        "household_id",
        pl.lit(as_of.isoformat()).alias("as_of_date"),
        _flag(scored).alias("scored"),
        _flag(pl.col("below_line_next3").fill_null(False)).alias("fell_below_within_3m"),
        "urban_rural", "category", "status", "county_code", "township_code",
        _flag(pl.col("nonlocal_").fill_null(False)).alias("nonlocal"),
        pl.col("members").alias("members_true_asof"),
        pl.col("income_per_capita").round(2).alias("true_pc_income_asof"),
        _flag(pl.col("below_line")).alias("below_at_asof"),
        pl.col("min_ratio").round(4).alias("min_ratio_next3m"),
    )
    baseline = x.select(
        "household_id", _flag(scored).alias("scored"),
        pl.col("stale_pc_income").round(2), "check_date", "urban_rural",
        pl.col("standard").cast(pl.Int64),
    )
    return truth, baseline


def candidates(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The 单人保 rule at the last month: holds (label 1) and planted near-misses (0)."""
    c = frames["dbrb_candidates"]
    last = c.filter(pl.col("as_of") == c["as_of"].max())
    return last.select(
        "person_id", "name",
        pl.when(pl.col("holds")).then(pl.lit("1")).otherwise(pl.lit("0")).alias("label"),
        pl.when(pl.col("holds")).then(pl.lit("candidate")).otherwise(pl.col("why_not")).alias("reason"),
        pl.col("variant").fill_null("").alias("planted"),
        "county_code", "township_code",
    ).sort("person_id")


def _expected_delivery(kind: pl.Expr, loadable: pl.Expr) -> pl.Expr:
    return (pl.when(kind == "replay").then(pl.lit("replay"))
            .when(kind == "incomplete").then(pl.lit("skipped_incomplete"))
            .when(loadable).then(pl.lit("loaded"))
            .otherwise(pl.lit("rejected")))


def deliveries_and_files(frames: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    d = frames["deliveries"].with_columns(expected=_expected_delivery(pl.col("kind"), pl.col("loadable")))
    deliveries = d.select("source", pl.col("extract_date").cast(pl.String), "expected",
                          pl.col("kind").alias("note"))
    # a replay's folder holds byte copies of the original's files under the replay's date
    replays = d.filter(pl.col("kind") == "replay").select(
        "source", pl.col("replay_of").alias("of"), pl.col("extract_date").alias("date"))
    files = frames["files"].select("source", "extract_date", "file_name", "data_rows")
    copies = files.join(replays, left_on=["source", "extract_date"], right_on=["source", "of"]).select(
        "source", pl.col("date").alias("extract_date"), "file_name", "data_rows")
    files = pl.concat([files, copies]).join(d.select("source", "extract_date", "expected"),
                                            on=["source", "extract_date"], how="left")
    files = files.select("source", pl.col("extract_date").cast(pl.String), "file_name",
                         pl.lit("").alias("format"), "data_rows", "expected").sort("source", "extract_date",
                                                                                   "file_name")
    return deliveries.sort("source", "extract_date"), files


def defects(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Our effects in the evaluator's words: quarantined, repaired, duplicate
    (an extra copy), flagged (a cross-source conflict, loaded and recorded);
    file-level forms are repaired with no column, at the header line when none."""
    x = frames["defects"]
    expected = (pl.when(pl.col("kind") == "duplicate_row").then(pl.lit("duplicate"))
                .when(pl.col("effect") == "conflict").then(pl.lit("flagged"))
                .when(pl.col("effect") == "format").then(pl.lit("repaired"))
                .otherwise(pl.col("effect")))
    return x.select(
        "source", pl.col("extract_date").cast(pl.String), "file_name",
        pl.col("line_number").fill_null(1), "kind", expected.alias("expected"),
        pl.when(pl.col("effect") == "format").then(None).otherwise(pl.col("column_name")).alias("column_name"),
        "raw_value", pl.col("expected_value").alias("clean_value"),
    )


def write(truth: Path, pop: Population, hist: History, tl: Timeline, frames: dict[str, pl.DataFrame]) -> None:
    hh, baseline = households(pop, hist, tl, frames)
    deliveries, files = deliveries_and_files(frames)
    out = {"households.csv": hh, "baseline_inputs.csv": baseline, "candidates.csv": candidates(frames),
           "defects.csv": defects(frames), "deliveries.csv": deliveries, "files.csv": files}
    for name, df in out.items():
        _write(truth / name, df)
