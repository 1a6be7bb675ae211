"""A warehouse too young to train a model is ranked by the bureau's own sort (models/README.md, Limits)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from pipelines.config import MODELS
from pipelines.runtime import nightly
from pipelines.score.features import household_features
from pipelines.score.reference import KIND, fit_reference
from pipelines.score.registry import (
    COLD_START_WHY_ZH, PROVISIONAL_WHY_ZH, Registry, default_models_dir, in_force, provisional,
)
from pipelines.score.risk_list import score_latest
from pipelines.score.train import TrainingError
from tests.worlds import copy_file


def test_the_committed_reference_model_is_the_sort():
    entry = Registry(MODELS).current()
    assert entry["kind"] == KIND and entry["cold_start"] and entry["features"] == ["check_income_ratio"]
    assert Registry(MODELS).loadable(entry["version"])


def test_a_warehouse_too_young_to_train_is_ranked_by_the_sort(small_loaded, tmp_path):
    wh = copy_file(small_loaded, tmp_path)
    nightly.build_history(str(wh))
    nightly.publish_marts(str(wh))
    models = tmp_path / "models"
    summary = score_latest(str(wh), str(models))
    assert summary["status"] == "scored" and summary["model_source"] == "reference"
    assert summary["model_kind"] == KIND and summary["model_in_force_because"].startswith("cold start")
    assert Registry(models).current() is None  # nothing trained: the next nights try again
    assert in_force(wh, summary["model_version"])["why_zh"] == COLD_START_WHY_ZH
    con = duckdb.connect(str(wh), read_only=True)
    try:
        as_of = con.execute("SELECT max(as_of_date) FROM mart.risk_list").fetchall()[0][0]
        listed = con.sql("SELECT household_id, risk_score FROM mart.risk_list WHERE as_of_date = $d",
                         params={"d": as_of}).pl()
        ratios = household_features(con, as_of).select("household_id", "check_income_ratio")
    finally:
        con.close()
    ranked = listed.join(ratios, on="household_id").filter(pl.col("check_income_ratio").is_not_null())
    assert ranked.height > 50
    by_score = ranked.sort(["risk_score", "check_income_ratio"], descending=[True, False])["check_income_ratio"]
    assert by_score.to_list() == sorted(by_score.to_list())  # the lower the last checked ratio, the higher


def test_the_reference_needs_measured_history(small_loaded, tmp_path):
    wh = copy_file(small_loaded, tmp_path)
    nightly.build_history(str(wh))
    with pytest.raises(TrainingError, match="not enough"):
        fit_reference(wh, tmp_path / "models")
    assert not (tmp_path / "models" / "registry.json").exists()


@pytest.mark.slow  # six nights of a generated town, each trained and scored
def test_a_young_city_goes_from_the_sort_to_a_judged_model_night_by_night(tmp_path, monkeypatch):
    """Month by month from a city's first delivery: the reference sort while nothing
    can be trained, then a provisional model (the guard too short of history to judge)
    retrained as each month-end is labelled, until the guard judges one; that one stays
    (the monthly retraining DAG replaces it). The trees never fail on a feature a
    young city barely knows (it did: `check_trend_ratio`, 1 of 101 households).
    A town this small never reaches the guard's 30 held-out positives in 8 months,
    so the threshold is lowered here to see the hand-over (the threshold itself:
    test_score.py)."""
    from pipelines.score import guard

    monkeypatch.setattr(guard, "MIN_POSITIVES", 5)
    from pipelines.generate import generate
    from tests.pipeline_run import run_all

    generate(tmp_path / "landing", tmp_path / "truth", scale="town", months=8, seed=1)
    wh = tmp_path / "w.duckdb"
    models = default_models_dir(wh)  # where nightly scoring and the run report look
    nights = []
    for until in ("2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31", "2024-08-31"):
        run_all(tmp_path / "landing", wh, until)
        summary = score_latest(str(wh), str(models))
        assert summary["status"] == "scored"
        current = Registry(models).current()
        nights.append((summary["model_source"], summary["model_version"],
                       current is not None and not provisional(current)))
    sources = [source for source, _, _ in nights]
    assert sources[0] == "reference" and sources[-1] == "warehouse"
    judged = [i for i, (_, _, was_judged) in enumerate(nights) if was_judged]
    assert judged, nights  # eight months are enough for the guard to judge
    young = [v for source, v, _ in nights[:judged[0]] if source == "warehouse"]
    assert len(young) == len(set(young))  # a new provisional model each month
    assert nights[-1][1] == nights[judged[0]][1]  # a judged model is kept night to night
    assert in_force(wh, young[0])["why_zh"] == PROVISIONAL_WHY_ZH
    assert in_force(wh, nights[-1][1])["why_zh"] not in (PROVISIONAL_WHY_ZH, COLD_START_WHY_ZH, "")


def test_a_judged_model_is_retrained_only_once_two_month_ends_behind(risk_world):
    """The monthly DAG keeps a judged model within one labelled month-end; the nightly
    step retrains one two behind (a warehouse run without the DAG), and a provisional
    one as soon as one month-end is newer. A model from before the guard is left alone."""
    from pipelines.score.upkeep import STALE_MONTHS, labelled_dates, outgrown as _outgrown

    con = duckdb.connect(str(risk_world["warehouse"]), read_only=True)
    try:
        dates = [str(d) for d in labelled_dates(con)]
    finally:
        con.close()
    judged = {"guard": {"in_force": "logistic", "judged": True, "held_out": {}}}
    young = {"guard": {"in_force": "sort", "reason": "3 labelled months"}}

    def behind(entry, months):
        return _outgrown(str(risk_world["warehouse"]),
                         {**entry, "data_window": {"last_as_of": dates[-1 - months]}})

    assert STALE_MONTHS == 2
    assert [behind(judged, m) for m in (0, 1, 2, 3)] == [False, False, True, True]
    assert [behind(young, m) for m in (0, 1, 2)] == [False, True, True]
    assert not _outgrown(str(risk_world["warehouse"]), {"data_window": {"last_as_of": dates[0]}})


def test_a_model_trained_on_a_delivery_corrected_since_is_retrained(risk_world, tmp_path):
    """A same-date correction loaded after the model was trained replaces data it learned from
    (a night-order probe: a June snapshot with wrong incomes trained the model, the correction
    came, and the model stayed in force, listing every household 高)."""
    from datetime import timedelta, timezone

    from pipelines.score.upkeep import labelled_dates, outgrown
    from tests.risk_world import copy_warehouse

    wh = copy_warehouse(risk_world, tmp_path)
    con = duckdb.connect(str(wh))
    try:
        last = str(labelled_dates(con)[-1])
        [(load_id, attempted)] = con.execute("SELECT load_id, attempted_at FROM audit.deliveries WHERE source = 'mz'"
                                             " AND status = 'loaded' ORDER BY extract_date DESC LIMIT 1").fetchall()
    finally:
        con.close()
    created = (attempted + timedelta(minutes=5)).replace(tzinfo=timezone.utc)
    model = {"guard": {"in_force": "logistic", "judged": True}, "data_window": {"last_as_of": last},
             "created_at": created.isoformat(), "version": "m"}
    assert not outgrown(str(wh), model)
    con = duckdb.connect(str(wh))
    try:  # the agency re-delivers that folder after the model was trained: a correction loads
        con.execute("INSERT INTO audit.deliveries SELECT * REPLACE (load_id || '-c' AS load_id,"
                    " ?::TIMESTAMP AS attempted_at) FROM audit.deliveries WHERE load_id = ?",
                    [(created + timedelta(minutes=5)).replace(tzinfo=None), load_id])
        con.execute("UPDATE audit.deliveries SET status = 'superseded' WHERE load_id = ?", [load_id])
    finally:
        con.close()
    assert outgrown(str(wh), model)
    later = {**model, "created_at": (created + timedelta(minutes=10)).isoformat()}  # trained after the correction
    assert not outgrown(str(wh), later)
