"""The training label (warehouse/queries/features/label.sql) on a hand-built history:
every income measurement in the 3 months after a date counts, whatever caused
it (a routine review on any calendar, a check after an application, a first
check, a caseworker's 核查结果), a household-month without one is unmeasured,
and `$until` cuts the window (training holds later months out with it).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.score.features import population_query
from pipelines.core.build import build_core
from pipelines.warehouse import warehouse
from tests.staging_builder import deliver, household, make_id, member

D1, D2, D3, D4 = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)
LOW = "其他低收入"

HEADS = {name: make_id(f"1970{i + 1:02d}01", 10 + i) for i, name in enumerate(
    ["CYCLE", "APPLIES", "REVIEWED", "FIRST", "BELOW", "EDGE"])}


def _household(name: str, check: date | None, income: float | None = 1000, category: str = LOW) -> dict:
    return household(name, HEADS[name], category=category, income_per_capita=income, check_date=check,
                     benefit_amount=0)


def _snapshot(d: date) -> list[dict]:
    """What mz reports on `d`: each household's latest check by then."""
    def latest(*checks: tuple[date, float]) -> tuple[date, float]:
        return max((c for c in checks if c[0] <= d), key=lambda c: c[0])

    rows = []
    # CYCLE: reviewed every 12 months (2023-02-10, 2024-02-10): teaches the cycle of 其他低收入
    rows.append(_household("CYCLE", *latest((date(2023, 2, 10), 1500), (date(2024, 2, 10), 1500))))
    # APPLIES: last checked 2023-11-10, checked again 2024-03-05, 4 months later (an application); above the line
    rows.append(_household("APPLIES", *latest((date(2023, 11, 10), 1000), (date(2024, 3, 5), 1000))))
    # REVIEWED: its scheduled review, 12 months after the one before, finds income above the line
    rows.append(_household("REVIEWED", *latest((date(2023, 3, 10), 1000), (date(2024, 3, 10), 1000))))
    # BELOW: its scheduled review finds income below the 931 standard
    rows.append(_household("BELOW", *latest((date(2023, 3, 12), 1000), (date(2024, 3, 12), 900))))
    # FIRST: never checked, then its first check ever in March (nothing to be off the cycle of)
    rows.append(_household("FIRST", date(2024, 3, 8)) if d >= D3 else _household("FIRST", None, None))
    # EDGE: checked once, long ago; a caseworker's visit measures it (see the fixture)
    rows.append(_household("EDGE", date(2023, 8, 1), 1000))
    return rows


def _labels(path, as_of: date, until: date = date(9999, 12, 31)) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = population_query(con, as_of, "label.sql", params={"until": until})
    finally:
        con.close()
    return {r["household_id"]: r for r in frame.to_dicts()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("label") / "w.duckdb"
    with warehouse(path) as con:
        for d in (D1, D2, D3, D4):
            households = _snapshot(d)
            deliver(con, "mz", d, households=households,
                    members=[member(h["household_id"], h["head_id"]) for h in households])
        build_core(con)
        # a caseworker found EDGE below the line on a visit in March (纳入低保), answering the D1 list
        con.execute("INSERT INTO staging.feedback VALUES ('fb', 'f.xlsx', 2, 'EDGE', '纳入低保', ?, NULL, ?, now())",
                    [date(2024, 3, 20), D1])
    return path


@pytest.fixture(scope="module")
def labels(world):
    return _labels(world, D2)


def test_a_check_after_an_application_is_measured_above_the_line(labels):
    row = labels["APPLIES"]
    assert (row["measured"], row["checked"], row["checked_below"], row["label"]) == (True, True, False, False)


def test_a_routine_review_above_the_line_is_a_measured_negative(labels):
    row = labels["REVIEWED"]
    assert (row["measured"], row["checked_below"], row["label"]) == (True, False, False)


def test_a_review_below_the_line_is_a_positive(labels):
    row = labels["BELOW"]
    assert (row["measured"], row["checked_below"], row["label"]) == (True, True, True)


def test_a_first_check_is_a_measurement_too(labels):
    row = labels["FIRST"]
    assert (row["measured"], row["checked"], row["label"]) == (True, True, False)


def test_no_measurement_in_the_window_is_unmeasured_not_negative_evidence(labels):
    row = labels["CYCLE"]  # its next review is due in February 2025
    assert (row["measured"], row["checked"], row["label"]) == (False, False, False)


def test_a_caseworker_finding_is_a_measurement(labels):
    row = labels["EDGE"]
    assert (row["checked"], row["feedback"], row["feedback_below"], row["measured"], row["label"]) == (
        False, True, True, True, True)


def test_until_cuts_the_window(world):
    cut = _labels(world, D2, until=date(2024, 3, 6))  # APPLIES (03-05) is in, REVIEWED (03-10) and BELOW out
    assert cut["APPLIES"]["measured"] and not cut["REVIEWED"]["measured"]
    assert (cut["BELOW"]["measured"], cut["BELOW"]["label"]) == (False, False)
