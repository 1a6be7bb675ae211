"""Issue 19, item 9: 临时救助 only on contribution data that covers the window; 急难
for every registered household (低保 and 特困 included) and people outside the register.

Two mz and cl snapshots (March, April 2024) and one rs delivery; the scoring
date is 2024-04-30. Each person differs from the one beside it in one thing.
"""

from datetime import date

import pytest

from pipelines.publish.deadlines import load_rules
from pipelines.core.build import build_core
from pipelines.core.marts import build_marts
from pipelines.warehouse import warehouse
from tests.staging_builder import certificate, contribution, deliver, household, make_id, member, registration
from tests.test_marts import key

MAR, APR = date(2024, 3, 31), date(2024, 4, 30)
MONTHS = [(2023, m) for m in range(1, 13)] + [(2024, m) for m in range(1, 5)]
_seq = iter(range(101, 999, 2))


def person(birth="19800101"):
    return make_id(birth, next(_seq))


T_HEAD, T_SICK = person(), person()       # 特困 household: a member newly 重病
L_HEAD, L_GONE = person(), person()       # 低保 household: a member died or left
Q_HEAD = person()                         # 低保 household: nothing happened
E_HEAD, E_SICK = person(), person()       # 低保边缘 household: a member newly 重病 (scored, maybe 低)
O_NEW, O_OLD = person(), person()         # outside the register: a new 一级 certificate / an old one
U_COVERED, U_BEFORE, FILLER = person(), person(), person()
X_HEAD = person()                         # a household with a 德州 (371402) village code
# 单人保, in order of need: grade, then subsidies received, then age
N_ELDER, N_NONE, N_ONE, N_GRADE2 = person("19500101"), person(), person(), person()


def households():
    return [household("HT", T_HEAD, category="特困"), household("HL", L_HEAD), household("HQ", Q_HEAD),
            household("HE", E_HEAD, category="低保边缘", benefit_amount=0),
            household("HX", X_HEAD, division_code="371402001001")]


def members(when):
    rows = [member("HT", T_HEAD), member("HT", T_SICK, relation="子女", health="重病" if when == APR else "健康"),
            member("HL", L_HEAD), member("HQ", Q_HEAD), member("HE", E_HEAD), member("HX", X_HEAD),
            member("HE", E_SICK, relation="配偶", health="重病" if when == APR else "健康")]
    if when == MAR:
        rows.append(member("HL", L_GONE, relation="配偶"))
    return rows


def certificates(when):
    severe = dict(nursing_subsidy="是", living_subsidy="是")
    rows = [certificate(O_OLD, "一级", **severe), certificate(N_ELDER, "一级"), certificate(N_NONE, "一级"),
            certificate(N_ONE, "一级", living_subsidy="是"), certificate(N_GRADE2, "二级")]
    if when == APR:
        rows.append(certificate(O_NEW, "一级", issue_date=date(2024, 4, 20), **severe))
    return rows


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with warehouse(tmp_path_factory.mktemp("rules19") / "w.duckdb") as con:
        for when in (MAR, APR):
            deliver(con, "mz", when, households=households(), members=members(when))
            deliver(con, "cl", when, disability=certificates(when))
        deliver(con, "rs", APR,
                registrations=[registration(U_COVERED, "失业登记", date(2024, 4, 10)),
                               registration(U_BEFORE, "失业登记", date(2023, 6, 1))],
                # every month from 2023-01 delivered, and one mistyped 缴费年月 (201911) far before
                contributions=[contribution(FILLER, f"{y}{m:02d}") for y, m in MONTHS] + [contribution(FILLER, "201911")])
        build_core(con)
        build_marts(con)
        yield con


def rules_of(con, id18: str) -> set[str]:
    return {r for (r,) in con.execute(
        "SELECT rule FROM mart.discovery_candidates WHERE person_key = ?", [key(id18)]).fetchall()}


@pytest.mark.parametrize("who, fires", [
    (T_HEAD, True), (L_HEAD, True), (E_HEAD, True), (Q_HEAD, False), (O_NEW, True), (O_OLD, False),
], ids=["tekun_member_ill", "dibao_member_gone", "edge_member_ill", "dibao_quiet", "outsider_new_cert",
        "outsider_old_cert"])
def test_emergency_covers_every_registered_household_and_people_outside(con, who, fires):
    assert ("急难" in rules_of(con, who)) is fires


def test_emergency_evidence_and_baseline(con):
    evidence = dict(con.execute("SELECT person_key, evidence FROM mart.discovery_candidates WHERE rule = '急难'"
                                ).fetchall())
    assert evidence[key(T_HEAD)] == "家庭编号 HT (特困 在册): 家人新患重病 2024-04-30; 24小时内先行救助"
    assert evidence[key(L_HEAD)] == "家庭编号 HL (低保 在册): 家人去世或离开 2024-04-30; 24小时内先行救助"
    assert evidence[key(O_NEW)] == "新持一/二级残疾证 2024-04-30, 不在任何在册家庭; 24小时内先行救助"
    # the first snapshot is a baseline: nothing is "new" on it
    assert con.execute("SELECT count(*) FROM core.rule_emergency(DATE '2024-03-31')").fetchall() == [(0,)]


def test_emergency_steps_are_24_hours_on_both_sheets():
    rules = load_rules(date(2024, 5, 6))
    step = rules.candidate_step("急难", date(2024, 5, 6))
    assert step.time_limit == "24小时" and step.action.startswith("临时救助（急难")
    for level in ("高", "中"):  # was 高 only
        step = rules.household_step(level, {"serious_illness"}, set(), date(2024, 5, 6))
        assert step.time_limit == "24小时" and step.action.startswith("临时救助（急难"), level
        assert step.because == "家人新患重病"  # the list shows why, beside the model's reasons
    # an action chosen by a change names it (a 中 row said "就业帮扶转介" beside "no factor stands out")
    assert rules.household_step("中", {"unemployed_member"}, set(), date(2024, 5, 6)).because == \
        "有劳动能力的成员失业或近期失去工作"
    assert rules.household_step("高", set(), set(), date(2024, 5, 6)).because == ""
    # a reason on the row that states the signal already: not said twice
    assert rules.household_step("高", {"severe_disabled_adult"}, set(), date(2024, 5, 6)).because == \
        "有成年无业的一/二级重度残疾成员"
    assert rules.household_step("高", {"severe_disabled_adult"}, {"R_SINGLE_PERSON_DIBAO"},
                                date(2024, 5, 6)).because == ""


def test_uninsured_unemployed_needs_contribution_data_for_the_window(con):
    assert "未参保失业临时救助" in rules_of(con, U_COVERED)  # 2023-04..2024-03 delivered, nothing paid
    # 2022-06..2023-05: before the months delivered; the lone 201911 contribution made it "covered"
    assert "未参保失业临时救助" not in rules_of(con, U_BEFORE)
    undecided = con.execute("SELECT person_key, rule, status, evidence FROM mart.discovery_undecided").fetchall()
    assert undecided == [(key(U_BEFORE), "未参保失业临时救助", "unknown: no contribution data",
                          "失业登记 2023-06-01 未注销; 需 2022-06至2023-05 的失业保险缴费; 已交付缴费月份 2023-01至2024-04")]


def test_an_out_of_city_code_is_flagged_not_a_county(con):
    rows = con.execute("SELECT county_code, county_name, out_of_city, households FROM mart.county_month"
                       " WHERE month = DATE '2024-04-01' ORDER BY county_code").fetchall()
    assert rows == [("371402", None, True, 1), ("371502", "东昌府区", False, 4)]
    # the README's question 1 lists counties only; city totals still count every household
    counties = con.execute("SELECT county_code FROM mart.county_month WHERE month = DATE '2024-04-01'"
                           " AND NOT out_of_city").fetchall()
    assert counties == [("371502",)]


def test_single_person_dibao_candidates_are_ordered_by_need(con):
    from pipelines.publish.list_rows import candidate_rows

    order = [k for (k,) in con.execute("SELECT person_key FROM mart.discovery_candidates WHERE rule = '单人保'"
                                       " ORDER BY priority").fetchall()]
    both = sorted([O_NEW, O_OLD], key=lambda i: i[:6] + "********" + i[-4:])  # same need: by masked id
    assert order == [key(p) for p in (N_ELDER, N_NONE, N_ONE, *both, N_GRADE2)]
    rows = candidate_rows(con, APR, None, load_rules(date(2024, 5, 6)), date(2024, 5, 6))
    assert rows[0]["rule"] == "急难"  # 24 hours first on the sheet
    assert [r["person_key"] for r in rows if r["rule"] == "单人保"] == order


def test_a_warning_when_the_scoring_date_passes_the_last_dated_standard(con, tmp_path, monkeypatch):
    import json

    from pipelines.runtime import nightly

    assert nightly_outdated(con) == []  # scoring date 2024-04-30: the 2024-01-01 standards are current
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    wh = tmp_path / "w.duckdb"
    with warehouse(wh) as c:
        deliver(c, "mz", date(2025, 3, 31), households=households(), members=members(APR))
        build_core(c)
    first = nightly.publish_marts(str(wh))["standards_outdated"]
    assert [m.split(":")[0] for m in first] == ["dibao_standard 农村", "dibao_standard 城市",
                                                 "tekun_basic_living 农村", "tekun_basic_living 城市"]
    assert "931" in first[1] and "2024-01-01" in first[1] and "2025-03-31" in first[1]
    again = nightly.publish_marts(str(wh))["standards_outdated"]  # every run says so in its summary ...
    assert again == first
    alerts = [json.loads(line) for line in (tmp_path / "alerts.log").read_text().splitlines()]
    assert [a["kind"] for a in alerts] == ["standard_outdated"] * 4  # ... but alerts once
    with warehouse(wh, read_only=True) as c:
        assert c.execute("SELECT count(*) FROM audit.alerts WHERE kind = 'standard_outdated'").fetchall() == [(4,)]


def nightly_outdated(con):
    from pipelines.core.standards_check import outdated_standards

    return outdated_standards(con)


def test_a_year_left_out_cannot_hide_behind_a_value_dated_after_the_scoring_date(tmp_path):
    """The 2025 values forgotten, 2026's entered: on 2025-03-31 the 2024 values are still in
    force, 15 months old, and the warning says so (it used to look at the latest date in the file)."""
    wh = tmp_path / "w.duckdb"
    with warehouse(wh) as c:
        deliver(c, "mz", date(2025, 3, 31), households=households(), members=members(APR))
        build_core(c)
        c.execute("INSERT INTO core.policy_parameters SELECT parameter, region_code, urban_rural, grade,"
                  " amount + 100, unit, DATE '2026-01-01', NULL, 'test' FROM core.policy_parameters"
                  " WHERE parameter IN ('dibao_standard', 'tekun_basic_living') AND valid_to IS NULL")
        outdated = nightly_outdated(c)
    assert len(outdated) == 4 and all("2024-01-01" in m for m in outdated), outdated


def test_single_person_evidence_names_the_months_rs_had_not_delivered(con):
    """With 人社 behind (delivered through 2024-04, asked on 2024-06-30) the evidence said
    "2024-04至2024-06无企业职工养老保险缴费" for months rs never sent; two of the people so listed
    had jobs there (the fifth audit). The rule stays the contract's; the evidence says what is unknown."""
    evidence = dict(con.execute("SELECT person_key, evidence FROM core.rule_single_person_dibao(DATE '2024-06-30')"
                                ).fetchall())
    assert evidence[key(N_NONE)].endswith(
        "2024-04至2024-04无企业职工养老保险缴费，2024-05至2024-06人社未交付缴费数据; 不在任何在册家庭")
    current = dict(con.execute("SELECT person_key, evidence FROM core.rule_single_person_dibao(DATE '2024-04-30')"
                               ).fetchall())
    assert current[key(N_NONE)].endswith("2024-02至2024-04无企业职工养老保险缴费; 不在任何在册家庭")
    assert set(evidence) == set(current)  # who is listed does not change
