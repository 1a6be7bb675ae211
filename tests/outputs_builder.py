"""A small hand-built warehouse for the output tests (lists, feedback, report, what-if).

Two townships, three monthly mz snapshots (the third delivered only by
`deliver_july`), certificates, and hand-made risk scores in mart.risk_list (the
scoring step's table; created here with the contract's columns if the
warehouse's migrations do not create it).
Each household exists for one situation the lists must handle; the comments
say which.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.core.build import build_core
from pipelines.core.marts import build_marts
from pipelines.warehouse import warehouse
from tests.staging_builder import certificate, deliver, household, make_id, member

MAY, JUNE, JULY = date(2024, 5, 31), date(2024, 6, 30), date(2024, 7, 31)
T1, T2 = "371502001", "371521002"  # 东昌府区 / 阳谷县 townships
V1, V1B, V2 = T1 + "001", T1 + "002", T2 + "001"

FORMULA_NAME = '=HYPERLINK("http://example.invalid/x","点我")'
FORMULA_CANDIDATE = "+1+2"

_seq = iter(range(101, 999, 2))


def _id(birth: str = "19800101", region: str = "371502") -> str:
    return make_id(birth, next(_seq), region)


P1, P1B, P1C = _id(), _id(), _id("20100101")
P2, P2B, P2C = _id(), _id(), _id("20240101")
P3, P4, P4B, P5, P6, P7, P8 = (_id() for _ in range(7))
P9, P9B, P10, P11, P11B, P12, P13, P14 = (_id() for _ in range(8))
C1, C2 = _id("19700101"), _id("19750101", "371521")  # 单人保 candidates: in no household
ALL_IDS = [P1, P1B, P1C, P2, P2B, P2C, P3, P4, P4B, P5, P6, P7, P8, P9, P9B, P10, P11, P11B, P12, P13, P14, C1, C2]


def mask(id_number: str) -> str:
    return id_number[:6] + "*" * 8 + id_number[-4:]


def _households(day: date) -> list[dict]:
    july = day == JULY
    rows = [
        # H1: 高 at every date; found 不符合条件 after the June list, nothing changes -> held back in July
        household("H1", P1, division_code=V1, category="其他低收入", household_size=3, income_per_capita=950,
                  check_date=date(2024, 3, 1), benefit_amount=0),
        # H2: 中 -> 高 in June (升级); 不符合条件, then a member is added in July -> listed again
        household("H2", P2, division_code=V1B, urban_rural="农村", category="低保边缘",
                  household_size=3 if july else 2, income_per_capita=760, check_date=date(2024, 2, 1),
                  benefit_amount=0),
        # H3: 低 in May, 中 in June (新增); 不符合条件 at 中, 高 in July -> listed again (升级)
        household("H3", P3, division_code=V1, category="其他低收入", income_per_capita=1000,
                  check_date=date(2024, 4, 1), benefit_amount=0),
        # H4: the head's name looks like a formula; an adult member holds a 一级 certificate (单人保 review)
        household("H4", P4, head_name=FORMULA_NAME, division_code=V2, urban_rural="农村", category="刚性支出困难",
                  household_size=2, income_per_capita=700, check_date=date(2024, 4, 1), benefit_amount=0),
        # H9: a member falls seriously ill in June: 急难, 24 hours
        household("H9", P9, division_code=V2, category="低保边缘", household_size=2, income_per_capita=1100,
                  check_date=date(2024, 4, 1), benefit_amount=0),
        # H10: never above 低
        household("H10", P10, division_code=V2, category="其他低收入", income_per_capita=2000,
                  check_date=date(2024, 4, 1), benefit_amount=0),
        # H11: 低保, not scored; in the what-if cost
        household("H11", P11, division_code=V1, household_size=2, income_per_capita=500,
                  check_date=date(2024, 4, 1), benefit_amount=862),
        # H12: 特困, not in the what-if
        household("H12", P12, division_code=V2, category="特困", income_per_capita=300,
                  check_date=date(2024, 4, 1), benefit_amount=979),
        # H13: 退出, not in the what-if
        household("H13", P13, division_code=V1, category="其他低收入", status="退出", income_per_capita=940,
                  check_date=date(2024, 4, 1), benefit_amount=0),
        # H14: never assessed (no income): 中 from June
        household("H14", P14, division_code=V1, category="其他低收入", income_per_capita=None, check_date=None,
                  benefit_amount=0),
    ]
    if day == MAY:
        rows += [
            # H5: enrolled into 低保 in June; H6: gone from the register in June
            household("H5", P5, division_code=V1, category="其他低收入", income_per_capita=800,
                      check_date=date(2024, 4, 1), benefit_amount=0),
            household("H6", P6, division_code=V1, category="其他低收入", income_per_capita=900,
                      check_date=date(2024, 4, 1), benefit_amount=0),
            # H7: moves from T1 to T2 in June; H8: income recovers in June
            household("H7", P7, division_code=V1, category="其他低收入", income_per_capita=980,
                      check_date=date(2024, 4, 1), benefit_amount=0),
            household("H8", P8, division_code=V1, category="其他低收入", income_per_capita=900,
                      check_date=date(2024, 1, 10), benefit_amount=0),
        ]
    else:
        rows += [
            household("H5", P5, division_code=V1, category="低保", income_per_capita=800,
                      check_date=date(2024, 6, 5), benefit_amount=131, granted_date=date(2024, 6, 10)),
            household("H7", P7, division_code=V2, category="其他低收入", income_per_capita=980,
                      check_date=date(2024, 4, 1), benefit_amount=0),
            household("H8", P8, division_code=V1, category="其他低收入", income_per_capita=1500,
                      check_date=date(2024, 6, 15), benefit_amount=0),
        ]
    return rows


def _members(day: date) -> list[dict]:
    rows = [
        member("H1", P1, name="户主一"), member("H1", P1B, relation="配偶"), member("H1", P1C, relation="子女"),
        member("H2", P2, name="户主二"), member("H2", P2B, relation="配偶"),
        member("H3", P3, name="户主三"),
        member("H4", P4, name=FORMULA_NAME), member("H4", P4B, relation="配偶", health="残疾"),
        member("H9", P9, name="户主九"),
        member("H9", P9B, relation="配偶", health="健康" if day == MAY else "重病"),
        member("H10", P10), member("H11", P11), member("H11", P11B, relation="子女"),
        member("H12", P12), member("H13", P13), member("H14", P14, name="户主十四"),
        member("H5", P5), member("H7", P7), member("H8", P8),
    ]
    if day == MAY:
        rows.append(member("H6", P6))
    if day == JULY:
        rows.append(member("H2", P2C, relation="孙子女"))
    return rows


def _certificates() -> list[dict]:
    covered = dict(living_subsidy="是", nursing_subsidy="是")
    return [
        certificate(P4B, "一级", division_code=V2),                  # 护理补贴未享受 candidate in T2
        certificate(C1, "一级", division_code=V1, name=FORMULA_CANDIDATE, **covered),  # 单人保 in T1
        certificate(C2, "二级", division_code=V2, name="候选人二", **covered),         # 单人保 in T2
    ]


# (score, level, reasons) per household and scoring date; the scoring step's job, by hand
SCORES = {
    MAY: {"H1": (0.90, "高", ["low_income"]), "H2": (0.50, "中", ["edge_income"]), "H3": (0.10, "低", []),
          "H4": (0.15, "低", []), "H5": (0.40, "中", ["low_income"]), "H6": (0.35, "中", ["low_income"]),
          "H7": (0.70, "高", ["low_income"]), "H8": (0.30, "中", ["stale_check"]),
          "H9": (0.25, "中", ["edge_income"]), "H10": (0.05, "低", []), "H14": (0.10, "低", [])},
    JUNE: {"H1": (0.90, "高", ["low_income", "stale_check"]), "H2": (0.80, "高", ["edge_income"]),
           "H3": (0.45, "中", ["low_income"]), "H4": (0.70, "高", ["disability"]),
           "H7": (0.75, "高", ["low_income"]), "H8": (0.20, "低", []), "H9": (0.85, "高", ["illness"]),
           "H10": (0.05, "低", []), "H14": (0.30, "中", ["no_check"])},
    JULY: {"H1": (0.90, "高", ["low_income"]), "H2": (0.80, "高", ["edge_income"]),
           "H3": (0.60, "高", ["low_income"]), "H4": (0.70, "高", ["disability"]),
           "H7": (0.75, "高", ["low_income"]), "H9": (0.85, "高", ["illness"]),
           "H10": (0.05, "低", []), "H14": (0.30, "中", ["no_check"])},
}
TOWNSHIP_ON = {"H1": T1, "H2": T1, "H3": T1, "H4": T2, "H5": T1, "H6": T1, "H8": T1, "H9": T2, "H10": T2,
               "H14": T1}

RISK_LIST_DDL = """
CREATE TABLE IF NOT EXISTS mart.risk_list (
    as_of_date DATE, household_id VARCHAR, county_code VARCHAR, township_code VARCHAR,
    risk_score DOUBLE, risk_level VARCHAR, reasons VARCHAR[]
)"""


def township(household_id: str, day: date) -> str:
    if household_id == "H7":
        return T1 if day == MAY else T2
    return TOWNSHIP_ON[household_id]


def _score(con, day: date) -> None:
    con.execute(RISK_LIST_DDL)
    con.executemany("INSERT INTO mart.risk_list VALUES (?, ?, ?, ?, ?, ?, ?)", [
        [day, h, township(h, day)[:6], township(h, day), score, level, reasons]
        for h, (score, level, reasons) in SCORES[day].items()])


def _deliver_month(con, day: date) -> None:
    deliver(con, "mz", day, households=_households(day), members=_members(day))
    deliver(con, "cl", day, disability=_certificates())


def build_warehouse(path: Path) -> Path:
    """May and June delivered, core and marts built, May and June scored."""
    with warehouse(path) as con:
        for day in (MAY, JUNE):
            _deliver_month(con, day)
        build_core(con)
        build_marts(con)
        for day in (MAY, JUNE):
            _score(con, day)
    return path


def deliver_july(path: Path) -> None:
    """The next month: July delivered, core and marts rebuilt, July scored."""
    with warehouse(path) as con:
        _deliver_month(con, JULY)
        build_core(con)
        build_marts(con)
        _score(con, JULY)
