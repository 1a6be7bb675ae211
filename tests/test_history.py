"""Core build: identity, validity intervals, as-of answers and change events.

One hand-built history (four mz, three cl, two rs deliveries) is built once per
module; each test reads one part of it on both sides of the dates it turns on.
"""

import hashlib
import os
from datetime import date

import pytest

from pipelines.core.build import HASH_KEY_ENV, build_core, hash_key
from pipelines.core.marts import raw_id_columns
from pipelines.warehouse import warehouse
from tests.staging_builder import (
    certificate, contribution, deliver, household, make_id, member, registration,
)

D1, D2, D3, D4 = date(2023, 11, 30), date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29)

A = make_id("19700101", 11)   # head of H1
B = make_id("19720202", 22)   # H1 member who leaves
C = make_id("20240105", 31)   # born into H3
G = make_id("19600303", 41)   # head of H2, which comes, goes and comes back
H = make_id("19650404", 51)   # head of H3
K = make_id("19500505", 61)   # head of H4, delivered twice in one snapshot
P1 = make_id("19800101", 71)  # certificate 三级 -> a new 一级 one
P2 = make_id("19810101", 81)  # first certificate in the second cl snapshot
P3 = make_id("19820101", 91)  # certificate unchanged since the baseline
P4 = make_id("19830101", 101)  # certificate dropped from the third cl snapshot
E = make_id("19900101", 111)  # 就业登记 and 注销 on the same day
F = make_id("19910101", 121, region="372501")  # old 聊城 region code: local
J = make_id("19920101", 131)  # jobs: closed, then a new one
U = make_id("19930101", 141, region="110101")  # a Beijing number: not local


def _households(when):
    h1 = {D1: {}, D2: {},
          D3: {"category": "特困", "granted_date": date(2024, 1, 20), "household_size": 1,
               "check_date": date(2024, 1, 10), "income_per_capita": 600},
          D4: {"category": "特困", "granted_date": date(2024, 1, 20), "household_size": 1,
               "check_date": date(2024, 1, 10), "income_per_capita": 600, "status": "退出"}}[when]
    rows = [household("H1", A, household_size=2, check_date=date(2023, 10, 15), income_per_capita=500) | h1,
            household("H3", H, category="其他低收入", household_size=1 if when < D3 else 2, benefit_amount=0)]
    if when == D2:
        rows.append(household("H2", G, granted_date=date(2023, 12, 5), check_date=None, income_per_capita=None))
    if when == D4:
        rows.append(household("H2", G, category="低保边缘", granted_date=date(2024, 2, 10), check_date=None,
                              income_per_capita=None, benefit_amount=0))
    if when == D1:
        rows += [household("H4", K, category="特困"), household("H4", K, category="低保")]
    return rows


def _members(when):
    rows = [member("H1", A), member("H3", H)]
    if when < D3:
        rows.append(member("H1", B, relation="配偶"))
    else:
        rows.append(member("H3", C, relation="孙子女"))
    if when in (D2, D4):
        rows.append(member("H2", G))
    return rows


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "w.duckdb"
    with warehouse(path) as con:
        for d in (D1, D2, D3, D4):
            deliver(con, "mz", d, households=_households(d), members=_members(d))
        deliver(con, "cl", D2, disability=[
            certificate(P1, "三级"), certificate(P3, "二级"), certificate(P4, "四级"),
        ])
        third_cl = [
            certificate(P1, "三级", cert_status="注销"), certificate(P1, "一级", issue_date=date(2024, 1, 8)),
            certificate(P2, "二级", issue_date=date(2024, 1, 3)), certificate(P3, "二级"),
        ]
        deliver(con, "cl", D3, disability=third_cl)
        deliver(con, "cl", D4, disability=third_cl)
        deliver(con, "rs", D3, registrations=[
            registration(J, "就业登记", date(2023, 5, 1), "甲公司"),
            registration(J, "就业登记注销", date(2024, 1, 10), "甲公司"),
            registration(E, "就业登记", date(2024, 1, 5), "乙公司"),
            registration(E, "就业登记注销", date(2024, 1, 5), "乙公司"),
            registration(U, "失业登记", date(2024, 1, 15)),
        ], contributions=[contribution(F, "202312", base=3000)])
        deliver(con, "rs", D4, registrations=[
            registration(J, "就业登记", date(2023, 5, 1), "甲公司"),  # a late repeat
            registration(J, "就业登记", date(2024, 2, 1), "丙公司"),
            registration(U, "失业登记注销", date(2024, 2, 20)),
            # a year mistyped: dated after the delivery, in another county; it must not move P1
            registration(P1, "就业登记注销", date(2099, 1, 1), "甲公司", division_code="371581101001"),
        ], contributions=[contribution(F, "202312", base=3200), contribution(F, "202401", base=3200)])
        build_core(con)
        yield con


def key(id18: str) -> str:
    return hashlib.sha256((os.environ[HASH_KEY_ENV] + id18).encode()).hexdigest()


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


# --- identity ---------------------------------------------------------------

def test_person_key_is_the_keyed_hash_and_only_restricted_holds_the_number(con):
    assert rows(con, "SELECT person_key, masked_id FROM restricted.person_identity WHERE id_number = ?", A) == [
        (key(A), A[:6] + "********" + A[-4:])]
    assert raw_id_columns(con, "core") == []


def test_every_source_links_to_one_person(con):
    persons = dict(rows(con, "SELECT person_key, (in_mz, in_cl, in_rs) FROM core.persons"))
    assert persons[key(A)] == (True, False, False)
    assert persons[key(P1)] == (False, True, False)
    assert persons[key(J)] == (False, False, True)
    assert persons[key(F)] == (False, False, True)  # known only from contributions
    assert set(persons) == {key(i) for i in (A, B, C, G, H, K, P1, P2, P3, P4, E, F, J, U)}


def test_birth_date_sex_and_locality_come_from_the_id(con):
    got = dict(rows(con, "SELECT person_key, (birth_date, sex, local_id, is_local) FROM core.persons"))
    assert got[key(B)] == (date(1972, 2, 2), "女", True, True)
    assert got[key(A)] == (date(1970, 1, 1), "男", True, True)
    assert got[key(F)][2:] == (True, True)    # 3725xx is 聊城's old region code
    assert got[key(U)][2:] == (False, False)  # 110101 is Beijing


def test_residence_is_the_latest_code_any_source_gave_before_its_delivery(con):
    assert rows(con, "SELECT residence_code, residence_source FROM core.persons WHERE person_key = ?", key(P1)) == [
        ("371502001001", "cl")]


def test_warehouse_key_is_generated_once_when_the_environment_has_none(tmp_path, monkeypatch):
    monkeypatch.delenv(HASH_KEY_ENV)
    with warehouse(tmp_path / "w.duckdb") as con:
        first = hash_key(con)
        assert len(first) == 64 and hash_key(con) == first
        assert rows(con, "SELECT count(*) FROM restricted.hash_key") == [(1,)]
        monkeypatch.setenv(HASH_KEY_ENV, "from-the-environment")
        assert hash_key(con) == "from-the-environment"


# --- intervals and as-of ----------------------------------------------------

def test_household_intervals_merge_unchanged_snapshots(con):
    assert rows(con, "SELECT valid_from, valid_to, category, status FROM core.household_history"
                     " WHERE household_id = 'H1' ORDER BY valid_from") == [
        (D1, D3, "低保", "在册"),  # D2 showed the same state
        (D3, D4, "特困", "在册"),
        (D4, None, "特困", "退出"),
    ]


@pytest.mark.parametrize("day, expected", [
    (date(2023, 11, 29), []),                    # before the first snapshot
    (D1, [("低保", "在册")]),
    (date(2024, 1, 30), [("低保", "在册")]),     # the day before the change was seen
    (D3, [("特困", "在册")]),
    (date(2030, 1, 1), [("特困", "退出")]),
])
def test_households_asof(con, day, expected):
    assert rows(con, "SELECT category, status FROM core.households_asof(?) WHERE household_id = 'H1'", day) == expected


def test_a_household_missing_from_a_snapshot_has_a_gap(con):
    assert rows(con, "SELECT valid_from, valid_to, category FROM core.household_history"
                     " WHERE household_id = 'H2' ORDER BY valid_from") == [
        (D2, D3, "低保"), (D4, None, "低保边缘")]
    assert rows(con, "SELECT * FROM core.households_asof('2024-02-15') WHERE household_id = 'H2'") == []


def test_a_household_delivered_twice_in_a_snapshot_keeps_its_first_row(con):
    assert rows(con, "SELECT category FROM core.household_history WHERE household_id = 'H4'") == [("特困",)]


def test_members_asof(con):
    def members(day):
        return sorted(k for (k,) in rows(con, "SELECT person_key FROM core.members_asof(?) WHERE household_id = 'H1'",
                                         day))
    assert members(date(2024, 1, 30)) == sorted([key(A), key(B)])
    assert members(D3) == [key(A)]


def test_certificates_asof(con):
    def held(day, who):
        return rows(con, "SELECT grade, cert_status FROM core.certificates_asof(?) WHERE person_key = ?"
                         " ORDER BY grade_rank", day, key(who))
    assert held(date(2024, 1, 30), P4) == [("四级", "有效")]
    assert held(D3, P4) == []                                   # not in the third cl snapshot
    assert held(date(2024, 1, 30), P1) == [("三级", "有效")]
    assert held(D3, P1) == [("一级", "有效"), ("三级", "注销")]
    assert held(date(2023, 12, 30), P1) == []                   # before the first cl snapshot


def test_income_checks_one_row_per_check_date_against_the_standard_then(con):
    assert rows(con, "SELECT check_date, income_per_capita, dibao_standard, below_standard FROM core.income_checks"
                     " WHERE household_id = 'H1' ORDER BY check_date") == [
        (date(2023, 10, 15), 500, 890, True), (date(2024, 1, 10), 600, 931, True)]


# --- rs events ----------------------------------------------------------------

def test_employment_spells_close_at_the_first_later_deregistration(con):
    assert rows(con, "SELECT employer, started, ended FROM core.employment_spells WHERE person_key = ?"
                     " ORDER BY started", key(J)) == [
        ("甲公司", date(2023, 5, 1), date(2024, 1, 10)), ("丙公司", date(2024, 2, 1), None)]


def test_a_deregistration_on_the_same_day_does_not_close_a_registration(con):
    assert rows(con, "SELECT started, ended FROM core.employment_spells WHERE person_key = ?", key(E)) == [
        (date(2024, 1, 5), None)]


def test_unemployment_spells(con):
    assert rows(con, "SELECT started, ended, start_recorded_on, end_recorded_on FROM core.unemployment_spells"
                     " WHERE person_key = ?", key(U)) == [(date(2024, 1, 15), date(2024, 2, 20), D3, D4)]


def test_late_repeats_count_once(con):
    assert rows(con, "SELECT copies, recorded_on FROM core.registrations WHERE person_key = ?"
                     " AND reg_date = '2023-05-01'", key(J)) == [(2, D3)]
    assert rows(con, "SELECT month, base, copies, recorded_on FROM core.contributions WHERE person_key = ?"
                     " ORDER BY month", key(F)) == [
        (date(2023, 12, 1), 3200, 2, D3),  # the later copy wins
        (date(2024, 1, 1), 3200, 1, D4)]


# --- change events ------------------------------------------------------------

def events(con, where, *params):
    return sorted(rows(con, f"SELECT kind, event_date, seen_date FROM core.change_events WHERE {where}", *params))


def test_household_changes_are_dated_by_the_source_or_the_snapshot(con):
    assert events(con, "household_id = 'H1' AND kind <> 'income_checked'") == [
        ("category_changed", date(2024, 1, 20), D3),   # 认定日期 of the new category
        ("household_exited", D4, D4),                   # no date in the source: the snapshot's
        ("left_dibao", date(2024, 1, 20), D3),
        ("member_died_or_left", D3, D3),
    ]


def test_a_household_that_comes_goes_and_returns(con):
    assert events(con, "household_id = 'H2'") == [
        ("entered_dibao", date(2023, 12, 5), D2),
        ("household_exited", D3, D3),
        ("left_dibao", D3, D3),
    ]


def test_the_first_snapshot_is_a_baseline_not_a_change(con):
    assert events(con, "seen_date = ? AND kind NOT IN ('income_checked')", D1) == []
    assert events(con, "person_key = ? AND source = 'cl'", key(P3)) == []


def test_member_added(con):
    assert events(con, "kind = 'member_added'") == [("member_added", D3, D3)]
    assert rows(con, "SELECT household_id, person_key FROM core.change_events WHERE kind = 'member_added'") == [
        ("H3", key(C))]


def test_income_checked_events_say_below_or_above(con):
    assert rows(con, "SELECT event_date, seen_date, below_standard FROM core.change_events"
                     " WHERE kind = 'income_checked' AND household_id = 'H1' ORDER BY event_date") == [
        (date(2023, 10, 15), D1, True), (date(2024, 1, 10), D3, True)]


def test_disability_events(con):
    assert events(con, "source = 'cl'") == [
        ("disability_worsened", date(2024, 1, 8), D3),  # 发证日期 of the new 一级 certificate
        ("new_disability", date(2024, 1, 3), D3),
    ]
    assert rows(con, "SELECT person_key FROM core.change_events WHERE kind = 'disability_worsened'") == [(key(P1),)]


def test_rs_events_are_dated_by_the_registration(con):
    assert events(con, "person_key = ?", key(U)) == [
        ("unemployment_ended", date(2024, 2, 20), D4), ("unemployment_registered", date(2024, 1, 15), D3)]
    assert events(con, "person_key = ?", key(J)) == [
        ("job_found", date(2023, 5, 1), D3), ("job_found", date(2024, 2, 1), D4), ("job_lost", date(2024, 1, 10), D3)]


def test_model_runs_are_recorded(con):
    built = dict(rows(con, "SELECT name, kind FROM audit.model_runs WHERE status = 'built'"))
    assert built["core.household_history"] == "table"
    assert built["core.households_asof"] == "macro"
    assert built["core.policy_parameters"] == "table"
