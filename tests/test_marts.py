"""Marts: discovery rules on both sides of every condition, monthly marts, privacy.

The scoring date is the latest mz snapshot, 2024-06-30. One person per
condition: each differs from a qualifying person in exactly that condition.
"""

import hashlib
import os
from datetime import date

import pytest

from pipelines.core.build import HASH_KEY_ENV, build_core
from pipelines.core.marts import raw_id_problems, build_marts, raw_id_columns
from pipelines.warehouse import WarehouseError, build_models, warehouse
from tests.staging_builder import (
    TOWN, certificate, contribution, deliver, household, make_id, member, registration,
)

OLD, SCORED, LATER = date(2023, 12, 31), date(2024, 6, 30), date(2024, 7, 31)
OTHER_TOWN = "371521002"  # 阳谷县

_seq = iter(range(1, 999, 2))


def person(birth="19900101", region="371502"):
    return make_id(birth, next(_seq), region)


# 单人保
S_OK, S_18, S_17 = person(), person("20060630"), person("20060701")
S_GRADE3, S_REVOKED = person(), person()
S_JOB_OPEN, S_JOB_CLOSED, S_JOB_REOPENED, S_LATE_JOB = person(), person(), person(), person()
S_CONTRIB_2BACK, S_CONTRIB_3BACK, S_RESIDENT_PENSION, S_UNEMPLOYED = person(), person(), person(), person()
S_ACTIVE_HH, S_EXITED_HH, S_HEAD = person(), person(), person()
# 护理补贴未享受
N_YES, N_HAS = person(), person()
# 生活补贴未享受
L_YES, L_HAS, L_TEKUN, L_EXITED = person(), person(), person(), person()
# 未参保失业临时救助
U_YES, U_INSURED, U_OLD_INSURANCE, U_EDGE_INSURANCE, U_CLOSED, U_DIBAO = (person() for _ in range(6))
# household HA's working member
WORKER = person("19950101")
# someone outside every household paying each month: the months rs delivered (2023-04..2024-06)
FILLER = person()
DELIVERED_MONTHS = [f"2023{m:02d}" for m in range(4, 13)] + [f"2024{m:02d}" for m in range(1, 7)]

MAY_10 = date(2024, 5, 10)


def certificates():
    severe = dict(nursing_subsidy="是", living_subsidy="是")  # so only the rule under test fires
    return [
        certificate(S_OK, "一级", **severe), certificate(S_18, "二级", **severe), certificate(S_17, "一级", **severe),
        certificate(S_GRADE3, "三级", **severe), certificate(S_REVOKED, "一级", cert_status="注销"),
        *(certificate(p, "一级", **severe) for p in (
            S_JOB_OPEN, S_JOB_CLOSED, S_JOB_REOPENED, S_LATE_JOB, S_CONTRIB_2BACK, S_CONTRIB_3BACK,
            S_RESIDENT_PENSION, S_UNEMPLOYED, S_ACTIVE_HH, S_EXITED_HH, S_HEAD)),
        certificate(N_YES, "二级", living_subsidy="是", division_code=OTHER_TOWN + "001"),
        certificate(N_HAS, "一级", nursing_subsidy="是", living_subsidy="是"),
        certificate(L_YES, "三级"), certificate(L_HAS, "一级", living_subsidy="是", nursing_subsidy="是"),
        certificate(L_TEKUN, "四级"), certificate(L_EXITED, "四级"),
    ]


def households(when):
    checked = date(2024, 3, 15) if when == SCORED else date(2023, 11, 20)
    rows = [household("HA", L_YES, household_size=2, income_per_capita=800, check_date=checked, benefit_amount=262),
            household("HD", S_ACTIVE_HH, household_size=3, benefit_amount=300)]
    if when == SCORED:
        rows += [household("HB", L_TEKUN, category="特困", benefit_amount=1242),
                 household("HC", S_EXITED_HH, status="退出", household_size=2),
                 household("HE", S_HEAD, category="其他低收入", benefit_amount=0)]
    return rows


def members(when):
    rows = [member("HA", L_YES), member("HD", S_ACTIVE_HH), member("HD", L_HAS, relation="配偶"),
            member("HD", U_DIBAO, relation="子女")]
    if when == SCORED:
        rows += [member("HA", WORKER, relation="子女"), member("HB", L_TEKUN), member("HC", S_EXITED_HH),
                 member("HC", L_EXITED, relation="配偶")]
    return rows


def registrations():
    return [
        registration(S_JOB_OPEN, "就业登记", date(2024, 3, 1), "甲公司"),
        registration(S_JOB_CLOSED, "就业登记", date(2024, 3, 1), "甲公司"),
        registration(S_JOB_CLOSED, "就业登记注销", date(2024, 4, 1), "甲公司"),
        registration(S_JOB_REOPENED, "就业登记注销", date(2024, 2, 1), "甲公司"),  # closes nothing later
        registration(S_JOB_REOPENED, "就业登记", date(2024, 3, 1), "乙公司"),
        registration(S_UNEMPLOYED, "失业登记", date(2024, 5, 1)),
        *(registration(p, "失业登记", MAY_10) for p in (
            U_YES, U_INSURED, U_OLD_INSURANCE, U_EDGE_INSURANCE, U_CLOSED, U_DIBAO)),
        registration(U_CLOSED, "失业登记注销", date(2024, 6, 1)),
    ]


def contributions():
    return [
        contribution(S_CONTRIB_2BACK, "202404"),
        contribution(S_CONTRIB_3BACK, "202403"),
        contribution(S_RESIDENT_PENSION, "202406", "城乡居民基本养老保险", base=200),
        contribution(U_INSURED, "202404", "失业保险"),
        contribution(U_OLD_INSURANCE, "202304", "失业保险"),    # 13 months before May 2024
        contribution(U_EDGE_INSURANCE, "202305", "失业保险"),   # 12 months before
        contribution(WORKER, "202406", base=2000),
        *(contribution(FILLER, month) for month in DELIVERED_MONTHS),
    ]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with warehouse(tmp_path_factory.mktemp("marts") / "w.duckdb") as con:
        for when in (OLD, SCORED):
            deliver(con, "mz", when, households=households(when), members=members(when))
            deliver(con, "cl", when, disability=certificates())
        deliver(con, "rs", SCORED, registrations=registrations(), contributions=contributions())
        # delivered after the scoring date: must not count for it
        deliver(con, "rs", LATER, registrations=[registration(S_LATE_JOB, "就业登记", date(2024, 6, 15), "丙公司")])
        build_core(con)
        build_marts(con)
        yield con


def label(value) -> str:
    """Test ids name the person constant, not the number."""
    names = {v: k for k, v in globals().items() if k.isupper() and isinstance(v, str) and len(v) == 18}
    return names.get(value, str(value))


def key(id18: str) -> str:
    return hashlib.sha256((os.environ[HASH_KEY_ENV] + id18).encode()).hexdigest()


def rules_of(con, id18: str) -> set[str]:
    return {r for (r,) in con.execute(
        "SELECT rule FROM mart.discovery_candidates WHERE person_key = ?", [key(id18)]).fetchall()}


# --- discovery ----------------------------------------------------------------

@pytest.mark.parametrize("who, qualifies", [
    (S_OK, True),
    (S_18, True), (S_17, False),                        # 18 on the scoring date, or one day short
    (S_GRADE3, False), (S_REVOKED, False),              # 一级/二级 and 有效 only
    (S_JOB_OPEN, False), (S_JOB_CLOSED, True),          # a later 注销 closes a 就业登记
    (S_JOB_REOPENED, False),                            # an earlier 注销 does not
    (S_LATE_JOB, True),                                 # registered in a delivery after the scoring date
    (S_CONTRIB_2BACK, False), (S_CONTRIB_3BACK, True),  # 企业职工 in the scoring month or the two before
    (S_RESIDENT_PENSION, True),                         # 城乡居民 is not employment
    (S_UNEMPLOYED, True),                               # nor is an open 失业登记
    (S_ACTIVE_HH, False), (S_EXITED_HH, True),          # a 退出 household covers nobody
    (S_HEAD, False),                                    # a head is covered too
], ids=label)
def test_single_person_dibao(con, who, qualifies):
    assert ("单人保" in rules_of(con, who)) is qualifies


@pytest.mark.parametrize("who, qualifies", [
    (N_YES, True), (N_HAS, False), (S_GRADE3, False), (S_REVOKED, False),
], ids=label)
def test_nursing_subsidy_missing(con, who, qualifies):
    assert ("护理补贴未享受" in rules_of(con, who)) is qualifies


@pytest.mark.parametrize("who, qualifies", [
    (L_YES, True), (L_HAS, False), (L_TEKUN, False), (L_EXITED, False),
], ids=label)
def test_living_subsidy_missing(con, who, qualifies):
    assert ("生活补贴未享受" in rules_of(con, who)) is qualifies


@pytest.mark.parametrize("who, qualifies", [
    (U_YES, True), (U_INSURED, False), (U_OLD_INSURANCE, True), (U_EDGE_INSURANCE, False),
    (U_CLOSED, False), (U_DIBAO, False),
], ids=label)
def test_uninsured_unemployed(con, who, qualifies):
    assert ("未参保失业临时救助" in rules_of(con, who)) is qualifies


def test_candidate_rows_follow_the_contract(con):
    cols = [r[0] for r in con.execute("DESCRIBE mart.discovery_candidates").fetchall()]
    assert cols[:8] == ["as_of_date", "person_key", "masked_id", "name", "county_code", "township_code", "rule", "evidence"]
    assert cols[8:] == ["priority"]  # order of need within a township and rule (issue 19)
    row = con.execute(
        "SELECT as_of_date, masked_id, name, county_code, township_code, evidence FROM mart.discovery_candidates"
        " WHERE person_key = ? AND rule = '护理补贴未享受'", [key(N_YES)]).fetchall()
    assert row == [(SCORED, N_YES[:6] + "********" + N_YES[-4:], "持证人", "371521", OTHER_TOWN,
                    "有效二级肢体残疾证; 未享受重度残疾人护理补贴 (140.0000元/月)")]
    dupes = con.execute("SELECT count(*) FROM (SELECT person_key, rule FROM mart.discovery_candidates"
                        " GROUP BY ALL HAVING count(*) > 1)").fetchall()
    assert dupes == [(0,)]


def test_rules_can_be_asked_for_a_past_date(con):
    # on 2023-12-31 no rs delivery had come: S_JOB_OPEN had no known job yet
    before = con.execute("SELECT person_key FROM core.rule_single_person_dibao(DATE '2023-12-31')").fetchall()
    assert (key(S_JOB_OPEN),) in before
    assert (key(S_17),) not in before


# --- monthly marts ---------------------------------------------------------------

def test_household_month(con):
    got = con.execute(
        "SELECT month, members, dibao_standard, income_band, check_age_months, contribution_income_per_capita,"
        " counted_contribution_income_per_capita, contribution_income_below_standard, changes"
        " FROM mart.household_month WHERE household_id = 'HA' ORDER BY month").fetchall()
    assert got == [
        (date(2023, 12, 1), 1, 890, "below_dibao", 1, 0, 0, True, ["income_checked"]),
        # no mz snapshot from January to May: each month carries December's state, priced with
        # its own standard and its check a month older each month
        *[(date(2024, m, 1), 1, 931, "below_dibao", m + 1, 0, 0, True, []) for m in range(1, 6)],
        (date(2024, 6, 1), 2, 931, "below_dibao", 3, 1000, 850, True, ["income_checked", "member_added"]),
    ]
    carried = con.execute("SELECT month, snapshot_date, snapshot_carried FROM mart.household_month"
                          " WHERE household_id = 'HA' AND month IN ('2024-05-01', '2024-06-01') ORDER BY month").fetchall()
    assert carried == [(date(2024, 5, 1), date(2023, 12, 31), True), (date(2024, 6, 1), date(2024, 6, 30), False)]


def test_township_and_county_month(con):
    town = con.execute(
        "SELECT households, persons, dibao_households, dibao_persons, tekun_households, other_low_income_households,"
        " exited_households, benefit_paid, living_subsidy_recipients, living_subsidy_amount,"
        " nursing_subsidy_recipients, nursing_subsidy_amount"
        " FROM mart.township_month WHERE township_code = ? ORDER BY month", [TOWN]).fetchall()
    # flagged 是 on a 有效 certificate in this township: 17 for each subsidy
    # (16 一级/二级 + S_GRADE3's 三级 for 生活补贴; 15 一级 + S_18's 二级 + S_GRADE3's 三级 for 护理补贴)
    # 2023-12: the 2024 standards are not in force yet, so recipients count and amounts are 0
    assert town[0] == (2, 4, 2, 4, 0, 0, 0, 562, 17, 0, 17, 0)
    # 2024-01..05, no mz snapshot: December's households and benefits carried
    assert len(town) == 7 and all(month[:8] == town[0][:8] for month in town[1:6])
    # 2024-06: HA, HD (低保), HB (特困), HE (其他低收入) 在册 and HC 退出
    assert town[6] == (4, 6, 2, 5, 1, 1, 1, 262 + 300 + 1242, 17, 16 * 187 + 140, 17, 15 * 168 + 140 + 0)
    county = con.execute("SELECT county_name, households, nursing_subsidy_recipients FROM mart.county_month"
                         " WHERE county_code = '371521' AND month = '2024-06-01'").fetchall()
    assert county == [("阳谷县", 0, 0)]


# --- privacy ------------------------------------------------------------------------

def test_no_mart_column_holds_a_raw_id(con):
    assert raw_id_columns(con, "mart") == []


def test_names_appear_only_in_discovery_candidates(con):
    names = ("户主", "成员", "持证人", "登记人")
    columns = con.execute("SELECT table_name, column_name FROM duckdb_columns()"
                          " WHERE schema_name = 'mart' AND data_type = 'VARCHAR'").fetchall()
    holding = {
        f"{t}.{c}" for t, c in columns for n in names
        if con.execute(f'SELECT count(*) FROM mart.{t} WHERE "{c}" = ?', [n]).fetchall()[0][0]
    }
    assert holding == {"discovery_candidates.name"}


def test_a_mart_that_would_publish_a_raw_id_is_rolled_back(con, tmp_path):
    layer = tmp_path / "mart"
    layer.mkdir()
    (layer / "mart_leak.sql").write_text(
        "CREATE OR REPLACE TABLE mart.leak AS SELECT id_number FROM restricted.person_identity;")
    with pytest.raises(WarehouseError, match="leak.id_number holds a raw"):
        build_models(con, layer, check=raw_id_problems)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'leak'").fetchall() == [(0,)]
    assert con.execute("SELECT status FROM audit.model_runs WHERE layer = 'mart' AND status = 'failed'"
                       ).fetchall() == [("failed",)]


def test_the_raw_id_search_finds_known_numbers_only(con):
    con.execute("CREATE SCHEMA IF NOT EXISTS scratch")
    con.execute("CREATE OR REPLACE TABLE scratch.t AS SELECT '123456789012345678' AS household_id,"
                " ? AS note, [?] AS notes, ? AS person_key", [f"见{S_OK}", S_OK.lower(), key(S_OK)])
    assert raw_id_columns(con, "scratch") == ["t.note", "t.notes"]
    con.execute("DROP SCHEMA scratch CASCADE")


def test_the_month_marts_say_which_figures_were_not_read_that_month(tmp_path):
    """A household whose row the month's snapshot could not read counts with its last state
    (the history carries it over), and a month whose 残联 delivery is missing uses the one before
    for its subsidies: both are said in the marts, not left for an official to take as current."""
    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    a, b = person(), person()
    with warehouse(tmp_path / "w.duckdb") as con:
        deliver(con, "mz", jan, households=[household("HX", a), household("HY", b)],
                members=[member("HX", a), member("HY", b)])
        deliver(con, "cl", jan, disability=[certificate(a, living_subsidy="是")])
        load_id = deliver(con, "mz", feb, households=[household("HY", b)],  # HX's row unreadable
                          members=[member("HX", a), member("HY", b)])
        con.execute("INSERT INTO audit.conflicts VALUES (?, 'orphan_member', 'mz', ?, 'members.csv', 2, 'HX',"
                    " NULL, 'members of HX without its households row')", [load_id, feb])
        build_core(con)
        build_marts(con)
        assert con.execute("SELECT month, household_id, row_quarantined FROM mart.household_month"
                           " ORDER BY ALL").fetchall() == [
            (date(2024, 1, 1), "HX", False), (date(2024, 1, 1), "HY", False),
            (date(2024, 2, 1), "HX", True), (date(2024, 2, 1), "HY", False)]
        town = con.execute("SELECT month, households, households_row_quarantined, living_subsidy_recipients,"
                           " cl_snapshot_date FROM mart.township_month ORDER BY month").fetchall()
        assert town == [(date(2024, 1, 1), 2, 0, 1, jan), (date(2024, 2, 1), 2, 1, 1, jan)]
        assert con.execute("SELECT households_row_quarantined, cl_snapshot_date FROM mart.county_month"
                           " WHERE month = '2024-02-01'").fetchall() == [(1, jan)]
