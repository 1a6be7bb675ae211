"""The risk list files: per township one workbook (风险名单, 主动发现, 退出名单) and its CSV twin."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from pipelines.ingest.feedback import CHECK_DATE, HOUSEHOLD_ID, NOTE, RESULT, RESULTS
from pipelines.publish.sheets import DATE, INT, MONEY, SCORE, Column, Sheet, write_csv, write_workbook

log = logging.getLogger(__name__)

_COUNTY = re.compile(r"[0-9]{6}")
_TOWNSHIP = re.compile(r"[0-9]{9}")

HOUSEHOLD_SHEET = "风险名单"
CANDIDATE_SHEET = "主动发现"
DEPARTURE_SHEET = "退出名单"

HOUSEHOLD_COLUMNS = (
    Column("变化"), Column(HOUSEHOLD_ID), Column("户主姓名"), Column("户主身份证号（脱敏）"),
    Column("村（社区）代码"), Column("保障类别"), Column("家庭人口数", INT), Column("月人均收入（元）", MONEY),
    Column("低保标准（元）", MONEY), Column("核对日期", DATE), Column("风险评分", SCORE), Column("风险等级"),
    Column("风险原因", wrap=True), Column("建议措施", wrap=True), Column("核查时限"), Column("核查期限", DATE),
    Column(RESULT), Column(CHECK_DATE, DATE), Column(NOTE, wrap=True),
)
CANDIDATE_COLUMNS = (
    Column("变化"), Column("规则"), Column("姓名"), Column("身份证号（脱敏）"), Column("村（社区）代码"),
    Column("依据", wrap=True), Column("建议措施", wrap=True), Column("核查时限"), Column("核查期限", DATE),
)
DEPARTURE_COLUMNS = (
    Column(HOUSEHOLD_ID), Column("户主姓名"), Column("户主身份证号（脱敏）"), Column("村（社区）代码"),
    Column("上期名单日期", DATE), Column("上期风险等级"), Column("退出原因"), Column("说明", wrap=True),
)


def placed(code_county, code_township) -> bool:
    return bool(code_county and code_township and _COUNTY.fullmatch(code_county)
                and _TOWNSHIP.fullmatch(code_township) and code_township.startswith(code_county))


def write_files(folder: Path, scored: list[tuple[str, str]], households: list[dict], candidates: list[dict],
                departures: list[dict]) -> list[dict]:
    """One workbook + CSV per township with scored households or anything to show.

    A township whose households are all 低 still gets its (empty) list: no file
    would leave its caseworkers wondering whether the list was lost.
    """
    def nothing() -> dict[str, list[dict]]:
        return {"households": [], "candidates": [], "departures": []}

    by_township = {key: nothing() for key in scored if placed(*key)}
    for kind, rows in (("households", households), ("candidates", candidates), ("departures", departures)):
        for row in rows:
            key = (row["county_code"], row["township_code"])
            if placed(*key):  # rows without a valid township go to no list (write_lists logs them)
                by_township.setdefault(key, nothing())[kind].append(row)
    files = []
    for (county, township), rows in sorted(by_township.items()):
        xlsx = folder / county / f"{township}.xlsx"
        main = Sheet(HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, [_household_cells(r) for r in rows["households"]],
                     choices={RESULT: RESULTS})
        write_workbook(xlsx, [
            main,
            Sheet(CANDIDATE_SHEET, CANDIDATE_COLUMNS, [_candidate_cells(r) for r in rows["candidates"]]),
            Sheet(DEPARTURE_SHEET, DEPARTURE_COLUMNS, [_departure_cells(r) for r in rows["departures"]]),
        ])
        write_csv(xlsx.with_suffix(".csv"), main)
        files.append({"county_code": county, "township_code": township, "xlsx": str(xlsx.resolve()),
                      "csv": str(xlsx.with_suffix(".csv").resolve()),
                      "sha256": hashlib.sha256(xlsx.read_bytes()).hexdigest(),
                      **{k: len(v) for k, v in rows.items()}})
    return files


def unplaced(rows: list[dict]) -> int:
    """Rows no list can take (no valid township code): counted and logged, never put in another list."""
    found = [r for r in rows if not placed(r["county_code"], r["township_code"])]
    if found:
        codes = sorted({(r["county_code"], r["township_code"]) for r in found}, key=str)
        log.warning("%d rows without a valid 6/9-digit county/township code are in no list: %s",
                    len(found), codes[:10])
    return len(found)


def _household_cells(r: dict) -> tuple:
    step = r["step"]
    return (r["marker"], r["household_id"], r["head_name"], r["head_masked_id"], r["division_code"],
            r["category"], r["members"], r["income_per_capita"], r["dibao_standard"], r["check_date"],
            r["risk_score"], r["risk_level"], r["reason_text"], step.action, step.time_limit, step.deadline,
            None, None, None)


def _candidate_cells(r: dict) -> tuple:
    step = r["step"]
    return (r["marker"], r["rule"], r["name"], r["masked_id"], r["residence_code"], r["evidence"],
            step.action, step.time_limit, step.deadline)


def _departure_cells(r: dict) -> tuple:
    return (r["household_id"], r["head_name"], r["head_masked_id"], r["division_code"],
            r["previous_as_of_date"], r["previous_level"], r["reason"], r["detail"])
