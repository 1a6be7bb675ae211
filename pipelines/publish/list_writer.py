"""The risk list files: per township one workbook (风险名单, 主动发现, 退出名单, 说明) and its CSV twin."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.ingest.feedback import CANDIDATE_ID, CHECK_DATE, HOUSEHOLD_ID, NOTE, RESULT, RESULTS
from pipelines.publish.list_notes import notes_sheet
from pipelines.publish.list_regions import Regions
from pipelines.fingerprint import digest, layout_version
from pipelines.publish.published import Record, is_current
from pipelines.publish.list_workers import write_all
from pipelines.publish.sheets import DATE, INT, MONEY, SCORE, Column, Sheet

log = logging.getLogger(__name__)

_COUNTY = re.compile(r"[0-9]{6}")
_TOWNSHIP = re.compile(r"[0-9]{9}")

HOUSEHOLD_SHEET = "风险名单"
CANDIDATE_SHEET = "主动发现"
DEPARTURE_SHEET = "退出名单"
VILLAGE = "村（社区）"
NO_HOUSEHOLDS, NO_CANDIDATES, NO_DEPARTURES = "本月无风险户", "本月无主动发现对象", "本期无退出户"

# room to write by hand on the printed list
RESULT_COLUMNS = (Column(RESULT, width=11), Column(CHECK_DATE, DATE, width=11), Column(NOTE, wrap=True, width=14))
# On paper, who, why, what to do, by when and the answer; the score, the standard and the time
# limit in words (the deadline says it) stay on screen, right of the answer: with them the
# list printed one A4 page wide at 6.5 pt, without them at 8 (LibreOffice, Carlito).
HOUSEHOLD_COLUMNS = (
    Column("变化"), Column(HOUSEHOLD_ID), Column("户主姓名"), Column("户主身份证号（脱敏）"),
    Column(VILLAGE, wrap=True), Column("保障类别", wrap=True, width=9), Column("家庭人口数", INT),
    Column("月人均收入（元）", MONEY), Column("核对日期", DATE), Column("风险等级"), Column("风险原因", wrap=True),
    Column("建议措施", wrap=True), Column("核查期限", DATE), *RESULT_COLUMNS,
    Column("风险评分", SCORE, printed=False), Column("低保标准（元）", MONEY, printed=False),
    Column("核查时限", printed=False),
)
CANDIDATE_COLUMNS = (
    Column("变化"), Column(CANDIDATE_ID), Column("姓名"), Column("身份证号（脱敏）"), Column("规则"),
    Column(VILLAGE, wrap=True), Column("依据", wrap=True), Column("建议措施", wrap=True), Column("核查时限"),
    Column("核查期限", DATE), *RESULT_COLUMNS,
)
DEPARTURE_COLUMNS = (
    Column(HOUSEHOLD_ID), Column("户主姓名"), Column("户主身份证号（脱敏）"), Column(VILLAGE, wrap=True),
    Column("上期名单日期", DATE), Column("上期风险等级"), Column("退出原因"), Column("说明", wrap=True),
)
# columns kept in view when scrolling right: who the row is about
FROZEN = {HOUSEHOLD_SHEET: 3, CANDIDATE_SHEET: 3, DEPARTURE_SHEET: 2}


@dataclass(frozen=True)
class ListContext:
    """What every sheet of a list states beside its rows: dates, names, the level settings."""

    as_of: date | None = None
    issued_on: date | None = None
    regions: Regions = field(default_factory=Regions)
    levels: dict = field(default_factory=dict)  # visits, by_need, min_score (list_levels)


def placed(code_county, code_township) -> bool:
    return bool(code_county and code_township and _COUNTY.fullmatch(code_county)
                and _TOWNSHIP.fullmatch(code_township) and code_township.startswith(code_county))


def write_files(folder: Path, scored: list[tuple[str, str]], households: list[dict], candidates: list[dict],
                departures: list[dict], context: ListContext | None = None,
                records: dict[str, Record] | None = None) -> list[dict]:
    """One workbook + CSV per township with scored households or anything to show.

    A township whose households are all 低 still gets its list, saying so: no file
    would leave its caseworkers wondering whether the list was lost. A township whose
    sheets hash the same as `records` has them for its files (both intact) is left as it
    is (`rewritten` false).
    """
    context = context or ListContext()

    def nothing() -> dict[str, list[dict]]:
        return {"households": [], "candidates": [], "departures": []}

    by_township = {key: nothing() for key in scored if placed(*key)}
    for kind, rows in (("households", households), ("candidates", candidates), ("departures", departures)):
        for row in rows:
            key = (row["county_code"], row["township_code"])
            if placed(*key):  # rows without a valid township go to no list (write_lists logs them)
                by_township.setdefault(key, nothing())[kind].append(row)
    files, jobs = [], []
    layout = list_layout()
    for (county, township), rows in sorted(by_township.items()):
        xlsx, csv = folder / county / f"{township}.xlsx", folder / county / f"{township}.csv"
        sheets = township_sheets(county, township, rows, context)
        content = digest(layout, sheets)  # the cells and every word around them, before any byte is written
        rewritten = not (records is not None and is_current(xlsx, content, records)
                         and is_current(csv, content, records))
        if rewritten:
            jobs.append((xlsx, csv, sheets))
        files.append({"county_code": county, "township_code": township, "xlsx": xlsx, "csv": csv,
                      "content_hash": content, "rewritten": rewritten, **{k: len(v) for k, v in rows.items()}})
    write_all(jobs)
    for f in files:  # the bytes now in place
        f.update(xlsx=str(f["xlsx"].resolve()), csv=str(f["csv"].resolve()),
                 sha256=hashlib.sha256(f["xlsx"].read_bytes()).hexdigest())
    return files


def list_layout() -> str:
    """What shapes a list besides its cells: the code that lays the sheets out."""
    from pipelines.publish import list_notes, sheets

    return layout_version(sys.modules[__name__], sheets, list_notes)


def township_sheets(county: str, township: str, rows: dict[str, list[dict]], context: ListContext) -> list[Sheet]:
    """The four sheets of one township's workbook, the returned first."""
    regions = context.regions
    deadline = return_deadline(rows, context)
    place = (f"{regions.name(county)} {regions.name(township)}（{township}）" if regions.local(township)
             else regions.label(township))  # a list of people living outside 聊城, for the bureau to refer on
    dates = "  ".join(p for p in (f"名单日期 {context.as_of}" if context.as_of else "",
                                  f"下发 {context.issued_on}" if context.issued_on else "",
                                  f"交回截止 {deadline}" if deadline else "") if p)

    def sheet(name, columns, cells, empty, choices=None):
        return Sheet(name, columns, cells, choices=choices or {}, freeze_cols=FROZEN[name], empty_text=empty,
                     header_text=(place, f"低收入人口动态监测 {name}", dates))

    results = {RESULT: RESULTS}
    return [
        sheet(HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, [_household_cells(r, regions) for r in rows["households"]],
              NO_HOUSEHOLDS, results),
        sheet(CANDIDATE_SHEET, CANDIDATE_COLUMNS, [_candidate_cells(r, regions) for r in rows["candidates"]],
              NO_CANDIDATES, results),
        sheet(DEPARTURE_SHEET, DEPARTURE_COLUMNS, [_departure_cells(r, regions) for r in rows["departures"]],
              NO_DEPARTURES),
        notes_sheet(place, rows, context.levels, context.as_of, context.issued_on, deadline, (place, "说明", dates)),
    ]


def return_deadline(rows: dict[str, list[dict]], context: ListContext) -> date | None:
    """The day the list is due back: the latest 核查期限 on it, else none."""
    days = [r["step"].deadline for kind in ("households", "candidates") for r in rows[kind]]
    return max(days) if days else None


def unplaced(rows: list[dict]) -> int:
    """Rows no list can take (no valid township code): counted and logged, never put in another list."""
    found = [r for r in rows if not placed(r["county_code"], r["township_code"])]
    if found:
        codes = sorted({(r["county_code"], r["township_code"]) for r in found}, key=str)
        log.warning("%d rows without a valid 6/9-digit county/township code are in no list: %s",
                    len(found), codes[:10])
    return len(found)


_AMOUNT = re.compile(r"([0-9]+\.[0-9]+)元")


def money_text(text: str | None) -> str | None:
    """Amounts inside free text as 元 with two decimals (`187.0000元/月` -> `187.00元/月`)."""
    return _AMOUNT.sub(lambda m: f"{float(m.group(1)):,.2f}元", text) if text else text


def _household_cells(r: dict, regions: Regions) -> tuple:
    step = r["step"]
    return (r["marker"], r["household_id"], r["head_name"], r["head_masked_id"], regions.label(r["division_code"]),
            r["category"], r["members"], r["income_per_capita"], r["check_date"], r["risk_level"],
            r["reason_text"], step.action, step.deadline, None, None, None,
            r["risk_score"], r["dibao_standard"], step.time_limit)


def _candidate_cells(r: dict, regions: Regions) -> tuple:
    step = r["step"]
    return (r["marker"], r["candidate_ref"], r["name"], r["masked_id"], r["rule"],
            regions.label(r["residence_code"]), money_text(r["evidence"]), step.action, step.time_limit,
            step.deadline, None, None, None)


def _departure_cells(r: dict, regions: Regions) -> tuple:
    return (r["household_id"], r["head_name"], r["head_masked_id"], regions.label(r["division_code"]),
            r["previous_as_of_date"], r["previous_level"], r["reason"], money_text(r["detail"]))
