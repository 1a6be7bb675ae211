"""The training label (warehouse/features/label.sql) on a hand-built history:
which later facts make a household-month positive, and that a check off the
household's cycle (an application) counts while a scheduled review that finds
income above the standard does not.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.features import population_query
from pipelines.history import build_core
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
    return rows


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    path = tmp_path_factory.mktemp("label") / "w.duckdb"
    with warehouse(path) as con:
        for d in (D1, D2, D3, D4):
            households = _snapshot(d)
            deliver(con, "mz", d, households=households,
                    members=[member(h["household_id"], h["head_id"]) for h in households])
        build_core(con)
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = population_query(con, D2, "label.sql")
    finally:
        con.close()
    return {r["household_id"]: r for r in frame.to_dicts()}


def test_an_off_cycle_check_is_an_application_and_a_positive(labels):
    row = labels["APPLIES"]
    assert (row["checked"], row["checked_below"], row["applied"], row["label"]) == (True, False, True, True)


def test_a_scheduled_review_above_the_line_is_a_negative(labels):
    row = labels["REVIEWED"]
    assert (row["checked"], row["checked_below"], row["applied"], row["label"]) == (True, False, False, False)
    assert row["review_due"]


def test_a_review_below_the_line_is_a_positive(labels):
    row = labels["BELOW"]
    assert (row["checked_below"], row["applied"], row["label"]) == (True, False, True)


def test_a_first_check_is_not_an_application(labels):
    row = labels["FIRST"]
    assert (row["checked"], row["applied"], row["label"]) == (True, False, False)


def test_no_check_in_the_window_is_a_negative(labels):
    row = labels["CYCLE"]  # its next review is due in February 2025
    assert (row["checked"], row["applied"], row["label"], row["review_due"]) == (False, False, False, False)
