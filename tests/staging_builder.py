"""Hand-built staging data for the core and mart tests.

`deliver` writes one loaded delivery straight into `audit.deliveries` and the
staging tables, as the loader would have left them; the row helpers fill every
mandatory column with a plain default so a test states only what it is about.
"""

from __future__ import annotations

from datetime import date

from pipelines.sources.contract import DISABILITY_TYPE_DIGIT, GRADE_DIGIT, spec
from pipelines.sources.idcard import check_char

TOWN = "371502001"  # 东昌府区, a township
VILLAGE = TOWN + "001"


def make_id(birth: str = "19900101", seq: int = 1, region: str = "371502") -> str:
    """A valid 18-character 身份证号; odd seq = 男."""
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_char(first17)


def household(household_id: str, head_id: str, **values) -> dict:
    row = {
        "household_id": household_id, "head_id": head_id, "head_name": "户主", "division_code": VILLAGE,
        "urban_rural": "城市", "category": "低保", "status": "在册", "household_size": 1,
        "income_per_capita": 500, "check_date": date(2023, 6, 1), "benefit_amount": 400,
        "granted_date": date(2023, 1, 1),
    }
    return row | values


def member(household_id: str, person_id: str, **values) -> dict:
    row = {
        "household_id": household_id, "person_id": person_id, "name": "成员", "relation": "本人",
        "sex": "男" if int(person_id[16]) % 2 else "女",
        "birth_date": date(int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14])),
        "work_ability": "有劳动能力", "health": "健康", "student": "否",
    }
    return row | values


def certificate(person_id: str, grade: str = "一级", disability_type: str = "肢体", **values) -> dict:
    row = {
        "cert_no": person_id + DISABILITY_TYPE_DIGIT[disability_type] + GRADE_DIGIT[grade], "name": "持证人",
        "disability_type": disability_type, "grade": grade, "issue_date": date(2020, 5, 1),
        "cert_status": "有效", "division_code": VILLAGE, "living_subsidy": "否", "nursing_subsidy": "否",
    }
    return row | values


def registration(person_id: str, reg_type: str, reg_date: date, employer: str | None = None, **values) -> dict:
    row = {"person_id": person_id, "name": "登记人", "reg_type": reg_type, "reg_date": reg_date,
           "employer": employer, "division_code": VILLAGE}
    return row | values


def contribution(person_id: str, month: str, insurance: str = "企业职工基本养老保险", base: float = 3000,
                 employer: str | None = "某公司") -> dict:
    return {"person_id": person_id, "contrib_month": month, "insurance": insurance, "contrib_base": base,
            "employer": None if insurance == "城乡居民基本养老保险" else employer}


def deliver(con, source: str, extract_date: date, **files: list[dict]) -> str:
    """Record one loaded delivery of `source` and put its rows into staging."""
    load_id = f"{source}-{extract_date}-test"
    con.execute(
        "INSERT INTO audit.deliveries VALUES (?, ?, ?, ?, ?, ?, 'loaded', NULL, NULL, current_timestamp)",
        [load_id, source, extract_date, f"{source}/{extract_date}", load_id, load_id],
    )
    for name, rows in files.items():
        fields = spec(source, name).fields
        placeholders = ", ".join("?" * (4 + len(fields)))
        con.executemany(
            f"INSERT INTO staging.{source}_{name} VALUES ({placeholders})",
            [[load_id, extract_date, f"{name}.csv", line, *(row[f] for f in fields)]
             for line, row in enumerate(rows, start=2)],
        )
    return load_id
