"""Risk features: the scored population, what each feature means on a hand-built
history, and no look-ahead (features for D do not change when data after D is
added or removed), on hand-built and on generated deliveries.
"""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.score.features import KEYS, feature_names, household_features
from pipelines.core.build import build_core
from pipelines.score.reasons import model_groups, reason_codes
from pipelines.sql import query
from pipelines.warehouse import warehouse
from tests.risk_world import copy_warehouse, town_world
from tests.staging_builder import (
    certificate, contribution, deliver, household, make_id, member, registration,
)

D1, D2, D3 = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)
STANDARD = 931.0  # 城市 低保 standard from 2024-01-01 (parameters/dibao_standard.yaml)

A = make_id("19840101", 11)  # H1 head: paid 2,000 in Jan and Feb, leaves the job on 2024-02-20
B = make_id("19850202", 22)  # H1 spouse: 一级 certificate, no job
G = make_id("20000505", 51)  # H1 child: a February contribution delivered late
C = make_id("19600303", 31)  # H2 head: on 低保, never scored
E = make_id("19700404", 41)  # H3 head: 退出, never scored


def _households():
    return [
        household("H1", A, category="其他低收入", household_size=3, income_per_capita=1000,
                  check_date=date(2024, 1, 10), benefit_amount=0),
        household("H2", C),
        household("H3", E, category="低保边缘", status="退出", benefit_amount=0),
    ]


def _members():
    return [member("H1", A), member("H1", B, relation="配偶", work_ability="完全丧失", health="残疾"),
            member("H1", G, relation="子女"), member("H2", C), member("H3", E)]


def _history(con, with_march_rs: bool = True) -> None:
    for d in (D1, D2, D3):
        deliver(con, "mz", d, households=_households(), members=_members())
    deliver(con, "cl", D1, disability=[certificate(B, "一级")])
    deliver(con, "rs", D1, registrations=[registration(A, "就业登记", date(2020, 5, 1), "甲公司")],
            contributions=[contribution(A, "202401", base=2000, employer="甲公司")])
    deliver(con, "rs", D2, contributions=[contribution(A, "202402", base=2000, employer="甲公司")])
    if with_march_rs:
        # delivered late, in March: the job loss of 2024-02-20, G's February base,
        # and a corrected copy of A's January base
        deliver(con, "rs", D3,
                registrations=[registration(A, "就业登记注销", date(2024, 2, 20), "甲公司")],
                contributions=[contribution(G, "202402", base=1500, employer="乙公司"),
                               contribution(A, "202401", base=2500, employer="甲公司")])
    build_core(con)


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    paths = {}
    for name, march in (("full", True), ("no_march_rs", False)):
        paths[name] = folder / f"{name}.duckdb"
        with warehouse(paths[name]) as con:
            _history(con, with_march_rs=march)
    return paths


def _features(path, as_of) -> pl.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return household_features(con, as_of)
    finally:
        con.close()


def test_only_active_households_off_dibao_and_tekun_are_featured(hand_built):
    f = _features(hand_built["full"], D3)
    assert f["household_id"].to_list() == ["H1"]
    assert f.columns[:len(KEYS)] == KEYS
    assert f["as_of_date"].to_list() == [D3]


def test_what_the_features_say_on_the_scoring_date(hand_built):
    row = _features(hand_built["full"], D3).row(0, named=True)
    assert row["members"] == 3 and row["unable_to_work"] == 1 and row["disabled_members"] == 1
    assert row["check_income_ratio"] == pytest.approx(1000 / STANDARD)
    assert row["check_age_months"] == 2
    assert row["job_losses_3m"] == 1  # the 注销 delivered in March
    # A's job ended in February: no wage now; G's late February base counts
    assert row["wage_earners"] == 1
    assert row["wage_income_ratio"] == pytest.approx(1500 / 3 / STANDARD)
    # the check's income moved by the wage change since (January as corrected: 2,500)
    assert row["income_estimate_ratio"] == pytest.approx((1000 * 3 - 2500 + 1500) / 3 / STANDARD)
    assert row["single_person_candidates"] == 1  # B: adult, 一级, no job


def test_late_deliveries_do_not_count_before_they_arrive(hand_built):
    row = _features(hand_built["full"], D2).row(0, named=True)
    assert row["job_losses_3m"] == 0          # the 注销 arrived in March
    assert row["wage_earners"] == 1           # A still paid for February; G's base not delivered yet
    assert row["wage_income_ratio"] == pytest.approx(2000 / 3 / STANDARD)
    # January's base as delivered by February (2,000), not the March correction (2,500)
    assert row["income_estimate_ratio"] == pytest.approx((1000 * 3 - 2000 + 2000) / 3 / STANDARD)


def test_features_for_a_date_ignore_later_deliveries_hand_built(hand_built):
    for d in (D1, D2):
        assert_frame_equal(_features(hand_built["full"], d), _features(hand_built["no_march_rs"], d))


def test_every_feature_has_a_reason_code(hand_built):
    features = feature_names(_features(hand_built["full"], D3))
    groups = model_groups(reason_codes(), features)  # raises when one is missing or listed twice
    assert {f for g in groups for f in g.features} == set(features)


@pytest.fixture(scope="module")
def town(risk_world):
    """The shared risk world (tests/conftest.py): 12 months, seed 1. Read-only."""
    return risk_world


def _drop_after(path, cutoff: date) -> None:
    """Remove every delivery with an extract date after `cutoff`, then rebuild core."""
    with warehouse(path) as con:
        for table in ("mz_households", "mz_members", "cl_disability", "rs_registrations", "rs_contributions"):
            con.execute(f"DELETE FROM staging.{table} WHERE extract_date > ?", [cutoff])
        con.execute("DELETE FROM audit.deliveries WHERE extract_date > ?", [cutoff])
        build_core(con)


def test_features_for_a_date_ignore_later_deliveries_generated(town, tmp_path):
    full = town["warehouse"]
    con = duckdb.connect(str(full), read_only=True)
    try:
        dates = [r[0] for r in con.execute("SELECT extract_date FROM core.snapshots WHERE source = 'mz'"
                                           " AND is_month_latest ORDER BY 1").fetchall()]
    finally:
        con.close()
    cutoff = dates[len(dates) // 2]
    truncated = copy_warehouse(town, tmp_path)
    _drop_after(truncated, cutoff)
    before = _features(truncated, cutoff)
    after = _features(full, cutoff)
    assert before.height > 50
    assert_frame_equal(before, after)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_scored_population_matches_the_contract_generated(town):
    con = duckdb.connect(str(town["warehouse"]), read_only=True)
    try:
        as_of = con.execute("SELECT core.scoring_date()").fetchall()[0][0]
        expected = {r[0] for r in con.execute(
            "SELECT household_id FROM staging.mz_households WHERE extract_date = ? AND status = '在册'"
            " AND category NOT IN ('低保', '特困')", [as_of]).fetchall()}
        got = household_features(con, as_of)
    finally:
        con.close()
    assert set(got["household_id"]) == expected
    assert got["household_id"].is_unique().all()


def test_incomes_are_measured_against_a_raise_due_within_the_labels_three_months(hand_built, tmp_path):
    """The label judges each of the next 3 months against the standard in force then: a raise
    already in the parameters and due within them is the line; one due later is not yet."""
    path = tmp_path / "raised.duckdb"
    shutil.copy(hand_built["full"], path)
    with warehouse(path) as con:  # 城市 1,000 from 2024-06-01: 3 months after 2024-03-31 is 2024-06-30
        con.execute("UPDATE core.dibao_lines SET valid_to = DATE '2024-06-01'"
                    " WHERE urban_rural = '城市' AND valid_to IS NULL")
        con.execute("INSERT INTO core.dibao_lines VALUES ('城市', DATE '2024-06-01', NULL, 1000, 1.5, 1500)")
    assert _features(path, D3).row(0, named=True)["check_income_ratio"] == pytest.approx(1000 / 1000)
    assert _features(path, D2).row(0, named=True)["check_income_ratio"] == pytest.approx(1000 / STANDARD)


def test_a_household_whose_latest_row_was_quarantined_is_not_scored(tmp_path):
    """Its state on the scoring date is unknown: the history carries March over it for the counts,
    but the unread row may be the change that matters (an entry into 低保). Scored again once read."""
    path = tmp_path / "unread.duckdb"
    with warehouse(path) as con:
        for d in (D1, D2):
            deliver(con, "mz", d, households=_households(), members=_members())
        # March: H1's own row unreadable (quarantined), its members delivered
        load_id = deliver(con, "mz", D3, households=[h for h in _households() if h["household_id"] != "H1"],
                          members=_members())
        con.execute("INSERT INTO audit.conflicts VALUES (?, 'orphan_member', 'mz', ?, 'members.csv', 2, 'H1',"
                    " NULL, 'members of H1 without its households row')", [load_id, D3])
        build_core(con)
        assert con.execute("SELECT unknown_on FROM core.households_asof(?) WHERE household_id = 'H1'",
                           [D3]).fetchall() == [([D3],)]  # carried over March, for the counts
        assert con.execute(query("score/unread_households"), [D3]).fetchall() == [(1,)]
    assert _features(path, D3).height == 0
    assert _features(path, D2)["household_id"].to_list() == ["H1"]  # read in February: scored then
