"""Risk scoring end to end on a generated town: the model trained on the
warehouse's own history, mart.risk_list exactly per the output contract, the
right households, levels within capacity, documented reasons, idempotent
reruns that accumulate across dates, reproducible past lists, safe artifacts,
promotion, and the evaluation against the generator's truth.
"""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.config import MODELS
from pipelines.evaluation.evaluate import EvaluationError, evaluate, format_evaluation
from pipelines.score.features import household_features
from pipelines.score.reasons import MIN_CONTRIBUTION, NO_FACTOR, reason_codes
from pipelines.score.registry import Registry, RegistryError
from pipelines.score.risk_list import (
    allocate_visits, assign_levels, score_households, score_latest, stored_features, write_risk_list,
)
from pipelines.score import guard
from pipelines.score.train import (
    EXCLUDED, NO_LIMIT, examples, held_out_blocks, labelled_dates, promote_if_not_worse, relabel,
    train_candidate,
)
from pipelines.warehouse import warehouse
from tests.risk_world import copy_warehouse, town_world

VISITS = 2  # town townships hold only a handful of scored households

CONTRACT = [("as_of_date", "DATE"), ("household_id", "VARCHAR"), ("county_code", "VARCHAR"),
            ("township_code", "VARCHAR"), ("risk_score", "DOUBLE"), ("risk_level", "VARCHAR"),
            ("reasons", "VARCHAR[]")]


@pytest.fixture(scope="module")
def scored(risk_world, tmp_path_factory):
    world = risk_world  # shared (tests/conftest.py): scored on a copy
    folder = tmp_path_factory.mktemp("score")
    wh = copy_warehouse(world, folder)
    models = folder / "models"
    first = score_latest(str(wh), str(models), visits=VISITS)
    return {"world": world, "wh": wh, "models": models, "first": first}


def q(path, sql: str, params=None) -> pl.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.close()


def test_a_model_is_trained_on_the_warehouse_and_the_list_written(scored):
    first = scored["first"]
    assert first["status"] == "scored" and first["model_source"] == "warehouse"
    entry = Registry(scored["models"]).current()
    assert entry["version"] == first["model_version"]
    assert entry["artifact"].endswith(".skops") and (scored["models"] / entry["artifact"]).exists()
    assert entry["data_window"]["last_as_of"] < first["as_of_date"]  # trained on labelled past months only


def test_risk_list_has_exactly_the_contract_columns(scored):
    columns = q(scored["wh"], "SELECT column_name, data_type FROM duckdb_columns()"
                              " WHERE schema_name = 'mart' AND table_name = 'risk_list' ORDER BY column_index")
    assert list(columns.iter_rows()) == CONTRACT


def test_exactly_the_active_households_off_dibao_and_tekun_are_scored(scored):
    as_of = q(scored["wh"], "SELECT max(extract_date) AS d FROM audit.deliveries"
                            " WHERE source = 'mz' AND status = 'loaded'")["d"][0]
    expected = q(scored["wh"], "SELECT DISTINCT household_id FROM staging.mz_households WHERE extract_date = $d"
                               " AND status = '在册' AND category NOT IN ('低保', '特困')", {"d": as_of})
    got = q(scored["wh"], "SELECT * FROM mart.risk_list")
    assert set(got["as_of_date"]) == {as_of}
    assert sorted(got["household_id"]) == sorted(expected["household_id"])
    assert got["risk_score"].is_between(0, 1).all()
    assert got.filter(pl.col("county_code").str.len_chars() != 6).height == 0
    assert got.filter(pl.col("township_code").str.len_chars() != 9).height == 0
    assert got.filter(~pl.col("township_code").str.starts_with(pl.col("county_code"))).height == 0


def test_levels_follow_capacity_per_township(scored):
    got = q(scored["wh"], """
        SELECT r.township_code, r.risk_score, r.risk_level, d.visits_per_township AS visits
        FROM mart.risk_list r JOIN mart.risk_list_detail d USING (as_of_date, household_id)""")
    assert set(got["risk_level"]) <= {"高", "中", "低"}
    per_township = got.group_by("township_code").agg(visits=pl.col("visits").first(),
                                                     distinct=pl.col("visits").n_unique())
    assert per_township["distinct"].max() == 1
    # the city's budget is spent exactly: VISITS per township, shared out by need
    assert per_township["visits"].sum() == VISITS * per_township.height
    for (_township,), g in got.group_by("township_code"):
        visits = g["visits"][0]
        eligible = g.filter(pl.col("risk_score") >= 0.01).height  # parameters/risk_min_score.yaml
        counts = {lvl: g.filter(pl.col("risk_level") == lvl).height for lvl in ("高", "中", "低")}
        assert counts["高"] == min(visits, eligible)
        assert counts["中"] == min(visits, max(eligible - visits, 0))
        order = {"高": 0, "中": 1, "低": 2}
        ranked = g.with_columns(o=pl.col("risk_level").replace_strict(order)).sort("o")
        # a higher level never has a lower score than a lower level in the same township
        for a, b in zip(ranked.rows(named=True), ranked.rows(named=True)[1:]):
            if a["o"] < b["o"]:
                assert a["risk_score"] >= b["risk_score"]


def _townships(scores: dict[str, list[float]]) -> pl.DataFrame:
    return pl.DataFrame([{"township_code": t, "household_id": f"{t}-{i}", "risk_score": s}
                         for t, values in scores.items() for i, s in enumerate(values)])


def test_visits_are_shared_by_need_and_the_budget_is_spent_exactly():
    frame = _townships({"A": [0.9, 0.8, 0.7, 0.6] + [0.0] * 6, "B": [0.1, 0.1] + [0.0] * 8,
                        "C": [0.3, 0.2, 0.1] + [0.0] * 7})
    equal = allocate_visits(frame, 3, by_need=0.0)
    assert equal["township_visits"].to_list() == [3, 3, 3]
    by_need = dict(allocate_visits(frame, 3, by_need=1.0).iter_rows())
    assert sum(by_need.values()) == 9
    assert by_need == {"A": 7, "B": 1, "C": 1}  # quotas 7.1, 0.47, 1.42: the largest remainder goes to B
    half = dict(allocate_visits(frame, 3, by_need=0.5).iter_rows())
    assert sum(half.values()) == 9 and by_need["A"] >= half["A"] >= 3
    nothing = allocate_visits(_townships({"A": [0.0] * 3, "B": [0.0] * 3}), 2, by_need=1.0)
    assert nothing["township_visits"].to_list() == [2, 2]  # no need anywhere: equal shares
    with pytest.raises(ValueError):
        allocate_visits(frame, 3, by_need=1.5)
    with pytest.raises(ValueError):
        allocate_visits(frame, -1)


def test_no_township_gets_more_visits_than_households_it_may_visit():
    """A visit beyond a township's households is no home visit: on a town 59 of 220 visits were
    stranded so (a township of 7 households got 17) while three townships with households scored
    4-7% got none (the fourth audit). What a cap leaves goes on to the others by need."""
    frame = _townships({"A": [0.9, 0.8, 0.7, 0.6], "B": [0.1, 0.1], "C": [0.3, 0.2, 0.1]})
    assert dict(allocate_visits(frame, 3, by_need=1.0).iter_rows()) == {"A": 4, "B": 2, "C": 3}  # was 7, 1, 1
    assert dict(allocate_visits(frame, 3, by_need=0.0).iter_rows()) == {"A": 4, "B": 2, "C": 3}
    # only households the floor lets be visited count: B has none, and 3 visits stay unspent
    assert dict(allocate_visits(frame, 3, by_need=1.0, min_score=0.15).iter_rows()) == {"A": 4, "B": 0, "C": 2}
    small = _townships({"A": [0.9] * 3, "B": [0.5] * 2, "C": [0.04]})  # quotas 4.3, 1.6, 0.06 uncapped
    assert dict(allocate_visits(small, 2, by_need=1.0, min_score=0.01).iter_rows()) == {"A": 3, "B": 2, "C": 1}
    levels = assign_levels(small, 2, by_need=1.0, min_score=0.01)
    assert levels.filter(pl.col("township_code") == "C")["risk_level"].to_list() == ["高"]


def test_scores_under_the_floor_are_never_high_or_medium():
    frame = _townships({"A": [0.5, 0.009, 0.001, 0.0]})
    levels = assign_levels(frame, 2, by_need=0.0, min_score=0.01).sort("rank_in_township")["risk_level"]
    assert levels.to_list() == ["高", "低", "低", "低"]


def test_every_reason_is_a_documented_code(scored):
    used = set(q(scored["wh"], "SELECT DISTINCT unnest(reasons) AS code FROM mart.risk_list")["code"])
    table = q(scored["wh"], "SELECT * FROM mart.reason_codes")
    yaml_codes = {c.code for c in reason_codes()}
    card = (MODELS / "README.md").read_text(encoding="utf-8")
    assert used, "no household got any reason"
    assert used <= set(table["code"]) == yaml_codes
    assert table.filter((pl.col("text_zh") == "") | (pl.col("text_en") == "")).height == 0
    documented = set(re.findall(r"`([RMN]_[A-Z_]+)`", card))
    assert yaml_codes <= documented, yaml_codes - documented


def test_rule_flags_always_surface_first(scored):
    got = q(scored["wh"], """
        SELECT r.reasons, d.rule_flags, (d.features->>'check_income_ratio')::DOUBLE AS check_ratio
        FROM mart.risk_list r JOIN mart.risk_list_detail d USING (as_of_date, household_id)""")
    below = got.filter(pl.col("check_ratio") < 1)
    assert below.height > 0
    for row in got.iter_rows(named=True):
        flags, reasons = list(row["rule_flags"]), list(row["reasons"])
        assert reasons[:len(flags)] == flags
        assert all(c.startswith("M_") for c in reasons[len(flags):]) or reasons == [NO_FACTOR]
    assert all("R_BELOW_AT_LAST_CHECK" in r for r in below["reasons"])


def test_rerun_replaces_the_date_and_lists_accumulate(scored, tmp_path):
    wh = copy_warehouse(scored["world"], tmp_path)
    models = str(scored["models"])
    score_latest(str(wh), models, visits=VISITS)
    before = q(wh, "SELECT * FROM mart.risk_list ORDER BY household_id")
    # an earlier date's list, scored with the same model, is kept beside the latest
    earlier = labelled_dates_of(wh)[-1]
    model = Registry(models).load(Registry(models).current()["version"])
    con = duckdb.connect(str(wh), read_only=True)
    try:
        features = household_features(con, earlier)
    finally:
        con.close()
    codes = reason_codes()
    with warehouse(wh) as con:
        write_risk_list(con, score_households(model, features, VISITS, codes), earlier, model.version, codes)
    again = score_latest(str(wh), models, visits=VISITS)
    after = q(wh, "SELECT * FROM mart.risk_list WHERE as_of_date = $d ORDER BY household_id",
              {"d": date.fromisoformat(again["as_of_date"])})
    assert after.equals(before)
    dates = q(wh, "SELECT as_of_date, count(*) AS n FROM mart.risk_list GROUP BY 1 ORDER BY 1")
    assert dates["as_of_date"].to_list() == [earlier, date.fromisoformat(again["as_of_date"])]
    detail = q(wh, "SELECT as_of_date, count(*) AS n FROM mart.risk_list_detail GROUP BY 1 ORDER BY 1")
    assert detail.equals(dates)


def test_the_registry_records_the_guard_and_no_calendar_feature(scored):
    entry = Registry(scored["models"]).current()
    decision = entry["guard"]
    assert entry["kind"] == decision["in_force"] and decision["reason"]
    if "held_out" in decision:  # the town's held-out months may be too thin to compare on
        assert set(decision["held_out"]) == {"gbm", "logistic", "sort"}
        rows = {m["rows"] for m in decision["held_out"].values()}
        assert len(rows) == 1  # the same held-out household-months for all three
        assert rows == {sum(b["held_out_rows"] for b in decision["blocks"])}
        labelled = [str(d) for d in labelled_dates_of(scored["wh"])]
        held = decision["held_out_dates"]
        assert held == labelled[-len(held):]  # the latest month-ends, none skipped
        for block in decision["blocks"]:  # each judged by models whose labels stop at its first date
            assert block["labels_cut_at"] == block["held_out_dates"][0]
    assert not set(EXCLUDED) & set(entry["features"])
    assert scored["first"]["model_kind"] == entry["kind"]


def test_held_out_months_are_the_latest_half_in_consecutive_blocks():
    dates = [date(2024, m, 28) for m in range(1, 13)] + [date(2025, m, 28) for m in range(1, 5)]
    blocks = held_out_blocks(dates)  # 16 labelled month-ends: the last 8, in 3 blocks
    assert [d for b in blocks for d in b] == dates[-8:]
    assert [len(b) for b in blocks] == [3, 3, 2]
    assert held_out_blocks(dates[:5]) == [[d] for d in dates[2:5]]  # at least 3 months, one block each


def _decision(challenger: np.ndarray, sort: np.ndarray, y: np.ndarray) -> dict:
    """The guard on scores made probabilities (a logistic link), the logistic contender tied with the sort."""
    def prob(x):
        return 1 / (1 + np.exp(-x))

    return guard.decide(y, {"gbm": prob(challenger), "logistic": prob(sort), "sort": prob(sort)},
                        np.arange(len(y)))


def test_a_challenger_that_loses_to_the_sort_is_not_promoted():
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.15).astype(np.int8)
    sort = y + rng.normal(0, 0.8, len(y))  # informative
    worse = y + rng.normal(0, 2.5, len(y))  # much noisier
    decision = _decision(worse, sort, y)
    assert decision["in_force"] == "sort" and decision["passed"] == []
    assert decision["intervals_vs_sort"]["gbm"]["roc_auc"]["high"] < 0
    # a tie is no reason to replace the sort either
    assert _decision(sort.copy(), sort, y)["in_force"] == "sort"


def test_a_challenger_that_beats_the_sort_beyond_the_noise_is_promoted():
    rng = np.random.default_rng(4)
    y = (rng.random(2000) < 0.15).astype(np.int8)
    sort = y + rng.normal(0, 1.5, len(y))
    better = y + rng.normal(0, 0.5, len(y))
    decision = _decision(better, sort, y)
    assert decision["in_force"] == "gbm"
    assert decision["intervals_vs_sort"]["gbm"]["roc_auc"]["low"] > 0
    held = decision["held_out"]
    assert held["gbm"]["precision_at_capacity"] >= held["sort"]["precision_at_capacity"]


def test_too_few_held_out_positives_keep_the_sort_however_good_the_challenger():
    rng = np.random.default_rng(7)
    y = np.zeros(400, dtype=np.int8)
    y[rng.choice(400, guard.MIN_POSITIVES - 1, replace=False)] = 1
    sort = y + rng.normal(0, 2.0, len(y))
    decision = _decision(y + rng.normal(0, 0.3, len(y)), sort, y)  # far better, on too few positives
    assert decision["in_force"] == "sort" and decision["judged"] is False and "too few" in decision["reason"]
    assert decision["held_out"]["gbm"]["roc_auc"] > decision["held_out"]["sort"]["roc_auc"] + 0.2  # recorded
    y[np.flatnonzero(y == 0)[0]] = 1  # one positive more: judged, and the challenger wins
    decision = _decision(y + rng.normal(0, 0.3, len(y)), y + rng.normal(0, 2.0, len(y)), y)
    assert decision["judged"] is True and decision["in_force"] == "gbm"


def test_the_simpler_challenger_stays_unless_the_flexible_one_is_better_beyond_the_noise():
    rng = np.random.default_rng(6)
    y = (rng.random(3000) < 0.15).astype(np.int8)
    sort = y + rng.normal(0, 2.0, len(y))

    def prob(x):
        return 1 / (1 + np.exp(-x))

    def decide(gbm, logistic):
        return guard.decide(y, {"gbm": prob(gbm), "logistic": prob(logistic), "sort": prob(sort)},
                            np.arange(len(y)))

    noise = rng.normal(0, 0.6, len(y))
    close = decide(y + noise + rng.normal(0, 0.05, len(y)), y + noise)  # both beat the sort, alike
    assert close["passed"] == ["gbm", "logistic"] and close["in_force"] == "logistic"
    assert close["gbm_vs_logistic"]["roc_auc"]["low"] <= 0
    clear = decide(y + rng.normal(0, 0.3, len(y)), y + rng.normal(0, 1.0, len(y)))
    assert clear["passed"] == ["gbm", "logistic"] and clear["in_force"] == "gbm"


def test_the_guards_auc_is_scikit_learns_ties_included():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = (rng.random(400) < 0.2).astype(np.int8)
    p = np.round(rng.random(400) + 0.3 * y, 1)  # many ties
    assert guard._auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert guard._auc(np.zeros(5, np.int8), p[:5]) is None


@pytest.mark.slow  # trains two more candidates on the 12-month world (minutes on a busy machine)
def test_a_forced_kind_the_guard_did_not_choose_is_not_promoted(scored, tmp_path):
    models = tmp_path / "models"
    chosen = train_candidate(str(scored["wh"]), str(models))
    assert promote_if_not_worse(str(scored["wh"]), str(models))["promoted"]
    other = next(k for k in ("gbm", "logistic", "sort") if k != chosen["guard"]["in_force"])
    forced = train_candidate(str(scored["wh"]), str(models), kind=other)
    decision = promote_if_not_worse(str(scored["wh"]), str(models), forced["version"])
    assert not decision["promoted"] and "the guard put" in decision["reason"]
    assert Registry(models).current()["version"] == chosen["version"]
    assert Registry(models).entry(forced["version"])["promotion"]["promoted"] is False


def test_held_out_labels_see_no_measurement_after_the_cut(scored, tmp_path):
    """The months the contenders are fitted on are labelled from measurements up
    to the first held-out date only: the same labels as a warehouse that never
    heard of anything later (its later checks and 低保 entries removed)."""
    dates = labelled_dates_of(scored["wh"])
    cut, before = dates[-3], [d for d in dates if d < dates[-3]][-3:]
    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        cut_rows = relabel(con, examples(con, before), cut)
    finally:
        con.close()
    truncated = copy_warehouse(scored["world"], tmp_path, "truncated.duckdb")
    with warehouse(truncated) as con:
        con.execute("DELETE FROM core.income_checks WHERE check_date > ?", [cut])
        con.execute("DELETE FROM core.change_events WHERE seen_date > ?", [cut])
    con = duckdb.connect(str(truncated), read_only=True)
    try:
        blind = examples(con, before, NO_LIMIT)
    finally:
        con.close()
    keys = ["as_of_date", "household_id"]
    columns = keys + ["measured", "label"]
    assert cut_rows.select(columns).sort(keys).equals(blind.select(columns).sort(keys))
    assert cut_rows["measured"].sum() > 0


def labelled_dates_of(path) -> list[date]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return labelled_dates(con)
    finally:
        con.close()


def test_a_past_list_is_reproduced_from_its_stored_features(scored):
    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        as_of = con.execute("SELECT max(as_of_date) FROM mart.risk_list").fetchall()[0][0]
        stored = stored_features(con, as_of)
        listed = con.sql("SELECT household_id, risk_score FROM mart.risk_list ORDER BY household_id").pl()
    finally:
        con.close()
    (version,) = set(stored["model_version"])
    model = Registry(scored["models"]).load(version)
    assert np.allclose(model.predict(stored), listed["risk_score"].to_numpy(), atol=1e-9)


def test_probabilities_match_the_measured_rate(scored):
    """risk_score estimates what a measurement would find: over the measured
    household-months of the last labelled months, the mean predicted
    probability is the observed share below the line."""
    entry = Registry(scored["models"]).current()
    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        rows = examples(con, labelled_dates_of(scored["wh"])).filter(pl.col("measured"))
    finally:
        con.close()
    p = Registry(scored["models"]).load(entry["version"]).predict(rows)
    assert abs(p.mean() - rows["label"].mean()) < 0.03
    assert p.min() >= 0 and p.max() <= 1


def test_every_high_and_medium_row_has_a_reason(scored):
    """A rule, a group that raises the score, or, when nothing does, the note that says so."""
    listed = q(scored["wh"], """
        SELECT r.reasons, d.rule_flags, d.contributions FROM mart.risk_list r
        JOIN mart.risk_list_detail d USING (as_of_date, household_id) WHERE r.risk_level IN ('高', '中')""")
    assert listed.height > 0
    for row in listed.iter_rows(named=True):
        raised = max(json.loads(row["contributions"]).values(), default=0.0) > 0
        assert row["reasons"] and (list(row["reasons"]) == [NO_FACTOR]) == (not row["rule_flags"] and not raised)


def test_a_row_nothing_explains_says_so_and_no_row_is_empty(scored):
    """No list of reasons is empty; a 低 row gets the note exactly where no rule holds and
    no group raises the score by the minimum contribution."""
    got = q(scored["wh"], """
        SELECT r.risk_level, r.reasons, d.rule_flags, d.contributions
        FROM mart.risk_list r JOIN mart.risk_list_detail d USING (as_of_date, household_id)""")
    assert got.filter(pl.col("reasons").list.len() == 0).height == 0
    noted = 0
    for row in got.iter_rows(named=True):
        # reasons are ranked on the contributions as stored (rounded to 4 places)
        raised = max(json.loads(row["contributions"]).values(), default=0.0) >= MIN_CONTRIBUTION
        nothing = not row["rule_flags"] and not raised
        if row["risk_level"] == "低":
            assert (list(row["reasons"]) == [NO_FACTOR]) == nothing, row
            noted += nothing
    assert noted > 0, "the town has no row without a reason: the test proves nothing"


def test_contributions_skip_only_the_rows_already_at_the_reference(scored):
    """A row whose features of a group already sit at their reference values is not sent
    through the model again (its contribution is exactly 0); every contribution equals
    the one of the whole frame replaced group by group."""
    from pipelines.score.contenders import TRANSPARENT, fit
    from pipelines.score.features import CATEGORICAL
    from pipelines.score.model import RiskModel, reference_values
    from pipelines.score.reasons import contributions, model_groups

    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        features = household_features(con, scored["first"]["as_of_date"])
    finally:
        con.close()
    # a model over groups most households sit at the reference of (job loss, unemployment,
    # disability): the transparent contender, fitted here on a label made from the features
    rows = features.with_columns(label=pl.col("check_income_ratio").fill_null(2.0) < 1.2)
    estimator, used, _ = fit("logistic", rows, list(TRANSPARENT), seed=0)
    predicted = []

    class Counting(RiskModel):
        def predict(self, frame):
            predicted.append(frame.height)
            return super().predict(frame)

    model = Counting("contributions-test", estimator, used, reference_values(rows, used))
    groups = model_groups(reason_codes(), model.features)
    base = model.predict(features)
    fast = contributions(model, features, groups, base)
    assert 0 < predicted[-1] < features.height * len(groups)  # one call, without the rows at the reference
    for j, group in enumerate(groups):
        replaced = features.with_columns([
            pl.lit(model.reference.get(f), dtype=pl.String if f in CATEGORICAL else pl.Float64).alias(f)
            for f in group.features if f in model.features])
        assert np.allclose(fast[:, j], base - model.predict(replaced), rtol=0, atol=1e-12), group.code


def test_an_empty_population_scores_to_an_empty_list(scored):
    model = Registry(scored["models"]).load(Registry(scored["models"]).current()["version"])
    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        features = household_features(con, scored["first"]["as_of_date"]).head(0)
    finally:
        con.close()
    out = score_households(model, features, VISITS)
    assert out.height == 0 and {"risk_score", "risk_level", "reasons"} <= set(out.columns)


def test_a_tampered_artifact_is_refused(scored, tmp_path):
    registry = Registry(scored["models"])
    entry = registry.current()
    copy = tmp_path / "models"
    (copy / "artifacts").mkdir(parents=True)
    (copy / "registry.json").write_text(json.dumps({"models": [entry]}), encoding="utf-8")
    data = bytearray((scored["models"] / entry["artifact"]).read_bytes())
    data[-10] ^= 0xFF
    (copy / entry["artifact"]).write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="sha256"):
        Registry(copy).load(entry["version"])


def test_evaluation_against_the_truth(scored):
    result = evaluate(scored["wh"], scored["world"]["truth"])
    assert result["households"] == q(scored["wh"], "SELECT count(*) AS n FROM mart.risk_list")["n"][0]
    for name in ("model", "baseline", "oracle"):
        ranking = result["rankings"][name]
        assert 0 <= ranking["roc_auc"] <= 1
        assert ranking["at_capacity"]["visits"] == result["visits"]
        assert set(ranking["fairness"]["urban_rural"]) <= {"城市", "农村", "urban_rural_recall_gap"}
    assert result["rankings"]["oracle"]["roc_auc"] > 0.8  # the truth's own income ranks it well
    assert sum(b["households"] for b in result["rankings"]["model"]["reliability"]) == result["households"]
    text = format_evaluation(result)
    assert "ROC AUC" in text and "precision @ capacity" in text and "baseline" in text


def test_another_worlds_truth_is_refused(scored, tmp_path):
    """Household ids follow the village codes, so another world's truth shares many of
    them: its households are then missing or already on 低保/特困 there."""
    months = pl.read_parquet(scored["world"]["truth"] / "household_months.parquet")
    assert evaluate(scored["wh"], scored["world"]["truth"])["households_without_truth"] == 0
    listed = q(scored["wh"], "SELECT household_id FROM mart.risk_list")["household_id"].sort()
    other = tmp_path / "other-truth"
    other.mkdir()
    months.with_columns(category=pl.when(pl.col("household_id").is_in(listed[: len(listed) // 3].implode()))
                        .then(pl.lit("低保")).otherwise(pl.col("category"))
                        ).filter(~pl.col("household_id").is_in(listed[-len(listed) // 3:].implode())
                                 ).write_parquet(other / "household_months.parquet")
    with pytest.raises(EvaluationError, match="does not describe this warehouse's world"):
        evaluate(scored["wh"], other)


def test_evaluation_against_the_assessed_outcome(scored):
    """The diagnostic outcome: assessed income (the average a check measures) below the
    line in one of the next 3 months; its oracle is that income now, as fresh_check."""
    result = evaluate(scored["wh"], scored["world"]["truth"], outcome="assessed")
    monthly = evaluate(scored["wh"], scored["world"]["truth"])
    assert result["outcome"] == "assessed" and result["households"] == monthly["households"]
    r = result["rankings"]
    assert r["oracle"]["roc_auc"] == pytest.approx(r["fresh_check"]["roc_auc"])
    # an average dips below the line less often than a single month does
    assert 0 < result["positives"] <= monthly["positives"]
    with pytest.raises(EvaluationError, match="outcome must be one of"):
        evaluate(scored["wh"], scored["world"]["truth"], outcome="yearly")


def test_the_feature_bound_cross_fits_the_listed_features_against_the_truth(scored):
    """models/feature_bound.py: the model, the bound of its features and the oracle,
    on the same households of the latest list."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("feature_bound", MODELS / "feature_bound.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.bound(scored["wh"], scored["world"]["truth"])
    listed = q(scored["wh"], "SELECT count(*) AS n FROM mart.risk_list")["n"][0]
    assert 0 < result["households"] <= listed
    for name in ("model", "feature_bound", "pooled_bound", "oracle"):
        assert 0 <= result[name]["precision_at_k"] <= 1
    assert result["oracle"]["roc_auc"] > 0.7  # the truth's own income ranks its outcome well
    # the pooled bound learns only from month-ends whose 3-month outcome ends by the scoring date
    from pipelines.score.train import add_months
    from pipelines.score.upkeep import month_end_dates

    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        ends = month_end_dates(con)
    finally:
        con.close()
    fitted = [d for d in ends[1:] if add_months(d, 3) <= ends[-1]]
    assert result["pooled_bound"]["month_ends"] == len(fitted) >= 1 and result["pooled_bound"]["rows"] > 0


def test_the_bias_checks_judge_every_way_on_the_same_households(scored):
    """models/bias_checks.py: the ways round the label's selection bias, on the latest snapshot's households."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bias_checks", MODELS / "bias_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.check(scored["wh"], scored["world"]["truth"])
    assert result["households"] > 0 and 0 < result["positives"] < result["households"]
    ways = {k for k, v in result.items() if isinstance(v, dict)}
    assert ways == {"gbm", "logistic", "sort", "logistic_weighted", "mean_of_challengers", "rank_mean_logistic_sort",
                    *(f"logistic_margin_{m}" for m in module.MARGINS)}
    assert all(0 <= result[w]["roc_auc"] <= 1 and 0 <= result[w]["precision_at_k"] <= 1 for w in ways)


def test_the_run_report_names_the_model_in_force_and_why(scored, tmp_path):
    import shutil

    from pipelines.publish.report import write_report

    wh = copy_warehouse(scored["world"], tmp_path)
    score_latest(str(wh), str(scored["models"]), visits=VISITS)
    shutil.copytree(scored["models"], f"{wh}.models")  # the registry where the nightly run keeps it
    html = write_report(wh, tmp_path / "out").read_text(encoding="utf-8")
    entry = Registry(scored["models"]).current()
    assert "评分模型 model in force" in html and entry["version"] in html
    assert "bureau&#x27;s sort" in html  # the guard's reason, escaped


@pytest.mark.parametrize("module", ["pipelines.score.train", "pipelines.score.risk_list"])
def test_score_commands_say_one_line_for_a_missing_warehouse(module, tmp_path, capsys):
    import importlib

    code = importlib.import_module(module).main(["--warehouse", str(tmp_path / "none.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: no warehouse at")


def test_rescoring_only_the_changed_households_writes_what_a_full_scoring_writes(scored):
    """pipelines/score/rescore.py: a household whose model features changed goes through the
    model again, every other keeps its stored score and contributions; flags, levels and
    reasons are worked out for all. The frame equals scoring every household; with nothing
    changed the model is not loaded at all."""
    from pipelines.score.rescore import rescore, same_list
    from pipelines.sql import query

    registry = Registry(scored["models"])
    model = registry.load(registry.current()["version"])
    con = duckdb.connect(str(scored["wh"]), read_only=True)
    try:
        as_of = con.execute("SELECT max(as_of_date) FROM mart.risk_list").fetchall()[0][0]
        features = household_features(con, as_of)
        stored = con.sql(query("score/stored_scores"), params={"as_of": as_of}).pl()
    finally:
        con.close()
    codes, settings = reason_codes(), {"visits": VISITS, "by_need": 1.0, "min_score": 0.01}
    ids = features.filter(pl.col("check_income_ratio").is_not_null())["household_id"].sort()
    halved, gone = ids[:12], ids[-1]
    tonight = features.filter(pl.col("household_id") != gone).with_columns(
        check_income_ratio=pl.when(pl.col("household_id").is_in(halved.implode()))
        .then(pl.col("check_income_ratio") / 2).otherwise(pl.col("check_income_ratio")))

    got, rescored = rescore(tonight, stored, model.features, codes, settings, lambda: model)
    want = score_households(model, tonight, VISITS, codes, 1.0, 0.01)
    assert rescored == len(halved)
    assert got.equals(want)
    moved = got.join(stored, on="household_id", suffix="_stored").filter(
        pl.col("household_id").is_in(halved.implode()))
    assert moved.height == len(halved) and (moved["risk_score"] != moved["risk_score_stored"]).all()

    def unused():
        raise AssertionError("the model was loaded with nothing changed")

    same, none = rescore(features, stored, model.features, codes, settings, unused)
    assert none == 0 and same.equals(score_households(model, features, VISITS, codes, 1.0, 0.01))
    assert same_list(same, stored) and not same_list(got, stored)  # every row as written: kept, not rewritten


def test_loading_a_model_beside_airflow_writes_no_skops_warnings(scored):
    """skops asks every loaded module for a name; Airflow's deprecated names each warned
    (1,160 lines of every run log). A fresh interpreter with Airflow imported, as a task is."""
    import subprocess
    import sys

    code = ("import warnings; warnings.simplefilter('always')\n"
            "import airflow.utils.timezone, airflow.utils.trigger_rule, airflow.serialization.serde\n"
            "from pipelines.score.registry import Registry\n"
            f"r = Registry({str(scored['models'])!r}); r.load(r.current()['version']); print('loaded')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                          cwd=MODELS.parent)
    assert done.returncode == 0 and "loaded" in done.stdout, done.stderr[-2000:]
    said = done.stdout + done.stderr  # Airflow's logging may take warnings to either
    assert "DeprecatedImportWarning" not in said and "skops/io/_utils.py" not in said, said[:2000]


def test_precision_at_capacity_short_of_the_sorts_within_the_noise_does_not_keep_the_sort():
    """A world written independently (event-driven checks) gave this: the top 10% of measured
    months all but saturated for every contender, the gradient boosting one household below the
    sort there (0.885 against 0.889) and far ahead on ROC AUC. Against the sort, precision at
    capacity must not be lower beyond the noise; between the challengers it must be at least as high."""
    held = {"gbm": {"precision_at_capacity": 0.885}, "sort": {"precision_at_capacity": 0.889}}
    within = {"roc_auc": {"low": 0.017, "high": 0.072}, "precision_at_capacity": {"low": -0.07, "high": 0.08}}
    below = {"roc_auc": {"low": 0.017, "high": 0.072}, "precision_at_capacity": {"low": -0.17, "high": 0.0}}
    assert guard.beats(held, within, "gbm", "sort", within_noise=True)
    assert not guard.beats(held, within, "gbm", "sort")  # the rule between gbm and logistic
    assert not guard.beats(held, below, "gbm", "sort", within_noise=True)
    noisy_auc = {**within, "roc_auc": {"low": -0.001, "high": 0.05}}
    assert not guard.beats(held, noisy_auc, "gbm", "sort", within_noise=True)

    rng = np.random.default_rng(11)  # the same on scores: 20 of the 200 top rows negatives for both
    y = np.zeros(2000, dtype=np.int8)
    y[:480] = 1
    top_sort = np.r_[np.arange(180), 480 + np.arange(20)]
    top_challenger = np.r_[np.arange(179), 480 + np.arange(21)]
    sort, better = rng.normal(0, 1, len(y)), rng.normal(0, 1, len(y)) + 1.5 * y  # below the top: far better
    sort[top_sort] += 10
    better[top_challenger] += 10
    decision = _decision(better, sort, y)
    held = decision["held_out"]
    assert held["gbm"]["precision_at_capacity"] < held["sort"]["precision_at_capacity"]
    assert decision["in_force"] == "gbm", decision["reason"]


def test_the_model_cards_code_table_prints_what_the_lists_print():
    """The card's Chinese text of three codes had drifted from models/reason_codes.yaml, which the
    lists and mart.reason_codes print (the fourth audit)."""
    card = (MODELS / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([RMN]_[A-Z_]+)` \| \w+ \| ([^|]*) \|", card, re.MULTILINE))
    for code in reason_codes():
        assert rows.get(code.code, "").strip() == code.zh, code.code
