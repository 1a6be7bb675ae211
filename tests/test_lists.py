"""Risk lists: the produced XLSX and CSV files checked against the warehouse.

The warehouse is tests/outputs_builder.py's: May and June scored by hand. Lists
are written for May (issued Monday 2024-06-03) and June (issued Monday
2024-07-01), as two monthly runs would.
"""

import csv
import re
import statistics
import zipfile
from datetime import date
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from pipelines.publish.deadlines import load_rules
from pipelines.publish.list_rows import reason_texts
from pipelines.publish.list_writer import (
    CANDIDATE_SHEET, DEPARTURE_SHEET, HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, NO_CANDIDATES, NO_DEPARTURES, NO_HOUSEHOLDS,
)
from pipelines.publish.lists import ListError, write_lists
from pipelines.warehouse import warehouse
from tests.desktop import desktop  # noqa: F401
from tests.outputs_builder import (
    ALL_IDS, FORMULA_CANDIDATE, FORMULA_NAME, JUNE, MAY, P4, P9, T1, T2, build_warehouse, mask,
)
from tests.worlds import copy_file

EMPTY_ROWS = [NO_HOUSEHOLDS, NO_CANDIDATES, NO_DEPARTURES]
MAY_ISSUED, JUNE_ISSUED = date(2024, 6, 3), date(2024, 7, 1)


@pytest.fixture(scope="module")
def run(outputs_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("lists")
    wh = copy_file(outputs_warehouse, root)  # the shared outputs world, copied: lists are written into it
    out = root / "out"
    may = write_lists(wh, out, MAY, issued_on=MAY_ISSUED, actor="tester")
    june = write_lists(wh, out, issued_on=JUNE_ISSUED, actor="tester")  # the latest scores by default
    return SimpleNamespace(wh=wh, out=out, may=may, june=june)


def workbook(run, township, day=JUNE):
    return run.out / day.isoformat() / township[:6] / f"{township}.xlsx"


def sheet(path, name):
    """The sheet's people, every cell as text (an empty sheet's 本月无… row is not a person)."""
    frame = pl.read_excel(path, sheet_name=name, infer_schema_length=0)
    return frame.filter(~pl.col(frame.columns[0]).is_in(EMPTY_ROWS).fill_null(False))


def query(run, sql, params=None):
    con = duckdb.connect(str(run.wh), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_one_workbook_and_one_csv_twin_per_township(run):
    assert run.june["as_of_date"] == "2024-06-30" and run.june["previous_list"] == "2024-05-31"
    assert sorted(run.june["townships"]) == [T1, T2]
    for township in (T1, T2):
        assert workbook(run, township).is_file()
        assert workbook(run, township).with_suffix(".csv").is_file()
    files = sorted(p.relative_to(run.out / "2024-06-30").as_posix() for p in (run.out / "2024-06-30").rglob("*.*"))
    assert files == ["371502/371502001.csv", "371502/371502001.xlsx", "371521/371521002.csv",
                     "371521/371521002.xlsx"]


def test_rows_are_the_townships_high_and_medium_households_ranked_by_score(run):
    for township in (T1, T2):
        expected = query(run, """
            SELECT household_id, risk_score, risk_level FROM mart.risk_list
            WHERE as_of_date = ? AND township_code = ? AND risk_level IN ('高', '中')
            ORDER BY risk_score DESC""", [JUNE, township])
        rows = sheet(workbook(run, township), HOUSEHOLD_SHEET)
        assert rows["家庭编号"].to_list() == [h for h, _, _ in expected]
        assert [float(s) for s in rows["风险评分"]] == [s for _, s, _ in expected]
        assert rows["风险等级"].to_list() == [lvl for _, _, lvl in expected]
    assert sheet(workbook(run, T1), HOUSEHOLD_SHEET)["家庭编号"].to_list() == ["H1", "H2", "H3", "H14"]


def test_a_list_never_holds_another_townships_people(run):
    for township in (T1, T2):
        path = workbook(run, township)
        listed = set(sheet(path, HOUSEHOLD_SHEET)["家庭编号"])
        scored_here = {h for (h,) in query(run, "SELECT household_id FROM mart.risk_list WHERE as_of_date = ?"
                                           " AND township_code = ?", [JUNE, township])}
        assert listed and listed <= scored_here
        candidates = set(sheet(path, CANDIDATE_SHEET)["身份证号（脱敏）"])
        assert candidates == {m for (m,) in query(run, "SELECT masked_id FROM mart.discovery_candidates"
                                                  " WHERE township_code = ?", [township])}
        departed = set(sheet(path, DEPARTURE_SHEET)["家庭编号"])
        assert departed <= {h for (h,) in query(run, "SELECT household_id FROM mart.listed_households"
                                                " WHERE as_of_date = ? AND township_code = ?", [MAY, township])}
        csv_ids = [r["家庭编号"] for r in csv.DictReader(path.with_suffix(".csv").open(encoding="utf-8-sig"))]
        assert set(csv_ids) == listed


def test_ids_are_masked_and_no_raw_id_appears_anywhere(run):
    t2 = sheet(workbook(run, T2), HOUSEHOLD_SHEET)
    heads = dict(zip(t2["家庭编号"], t2["户主身份证号（脱敏）"]))
    assert heads["H4"] == mask(P4) and heads["H9"] == mask(P9)
    for path in run.out.rglob("*.*"):
        text = path.read_text(encoding="utf-8-sig") if path.suffix == ".csv" else _all_cells(path)
        assert not [i for i in ALL_IDS if i in text], path
        for masked in re.findall(r"[0-9]{6}\*+[0-9X]{4}", text):
            assert re.fullmatch(r"[0-9]{6}\*{8}[0-9X]{4}", masked)


def _all_cells(path):
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def test_rows_are_marked_against_the_previous_list(run):
    def markers(township):
        rows = sheet(workbook(run, township), HOUSEHOLD_SHEET)
        return dict(zip(rows["家庭编号"], rows["变化"]))

    assert markers(T1) == {"H1": "持续", "H2": "升级", "H3": "新增", "H14": "新增"}
    # H7 moved from T1 to T2: new to T2's caseworkers; H9 rose from 中 to 高
    assert markers(T2) == {"H9": "升级", "H7": "新增", "H4": "新增"}
    assert run.june["markers"] == {"新增": 4, "升级": 2, "持续": 1}
    first = sheet(workbook(run, T1, MAY), HOUSEHOLD_SHEET)
    assert set(first["变化"]) == {"新增"}


def test_households_that_left_the_list_are_listed_with_the_reason(run):
    left = sheet(workbook(run, T1), DEPARTURE_SHEET)
    assert dict(zip(left["家庭编号"], left["退出原因"])) == {
        "H5": "纳入低保", "H6": "退出名册", "H7": "迁出", "H8": "收入回升"}
    assert set(left["上期名单日期"].str.slice(0, 10)) == {"2024-05-31"}
    assert "371521002" in left.filter(pl.col("家庭编号") == "H7")["说明"][0]
    assert sheet(workbook(run, T2), DEPARTURE_SHEET).height == 0


def test_actions_and_deadlines_follow_the_rules_file(run):
    rows = {r["家庭编号"]: r for r in sheet(workbook(run, T2), HOUSEHOLD_SHEET).to_dicts()}
    # a member newly 重病 in a 高 household: 急难, 24 hours from the issue day
    assert rows["H9"]["建议措施"].startswith("临时救助（急难") and rows["H9"]["核查时限"] == "24小时"
    assert rows["H9"]["核查期限"].startswith("2024-07-02")
    assert rows["H9"]["风险原因"].startswith("近期情况：家人新患重病；")  # the action's reason, on the row
    assert rows["H4"]["风险原因"].startswith("近期情况：有成年无业的一/二级重度残疾成员；")  # no rule flag says it here
    # an adult member with a 一级 certificate and no job: 单人保 review, 高 = 3 working days
    assert rows["H4"]["建议措施"].startswith("单人保审核") and rows["H4"]["核查期限"].startswith("2024-07-04")
    t1 = {r["家庭编号"]: r for r in sheet(workbook(run, T1), HOUSEHOLD_SHEET).to_dicts()}
    assert (t1["H1"]["建议措施"], t1["H1"]["核查时限"]) == ("入户核查", "3个工作日")
    assert not t1["H1"]["风险原因"].startswith("近期情况")  # the level chose its action: nothing to add
    assert t1["H14"]["核查时限"] == "10个工作日" and t1["H14"]["核查期限"].startswith("2024-07-15")
    assert t1["H14"]["月人均收入（元）"] is None  # never assessed: left empty, not 0
    # May's list was issued 2024-06-03: 10 working days skip the 端午 holiday on 2024-06-10
    may = {r["家庭编号"]: r for r in sheet(workbook(run, T1, MAY), HOUSEHOLD_SHEET).to_dicts()}
    assert may["H2"]["核查期限"].startswith("2024-06-18")


def test_working_days_follow_the_official_calendar():
    calendar = load_rules(date(2024, 9, 1)).calendar
    assert calendar.add_working_days(date(2024, 9, 13), 1) == date(2024, 9, 14)  # a 调休 Saturday
    assert calendar.add_working_days(date(2024, 9, 14), 1) == date(2024, 9, 18)  # 中秋 15-17
    assert calendar.add_working_days(date(2024, 9, 27), 3) == date(2024, 10, 8)  # 29 Sep works, 国庆 1-7
    # asked again, from cache: the same day for the same count, the start itself for none
    assert calendar.add_working_days(date(2024, 9, 27), 3) == date(2024, 10, 8)
    assert calendar.add_working_days(date(2024, 9, 27), 0) == date(2024, 9, 27)
    assert calendar._added[date(2024, 9, 27), 3] == date(2024, 10, 8)
    with pytest.raises(Exception, match="no rule version"):
        load_rules(date(2023, 6, 1))


def test_formula_looking_text_stays_literal(run):
    path = workbook(run, T2)
    rows = {r["家庭编号"]: r for r in sheet(path, HOUSEHOLD_SHEET).to_dicts()}
    assert rows["H4"]["户主姓名"] == FORMULA_NAME
    candidates = sheet(workbook(run, T1), CANDIDATE_SHEET)
    assert candidates["姓名"].to_list() == [FORMULA_CANDIDATE]
    for p in (path, workbook(run, T1)):
        with zipfile.ZipFile(p) as z:
            sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any("<f>" in s or "<f " in s for s in sheets)  # no formula cell at all
        assert not any("hyperlink" in s.lower() for s in sheets)
    # the CSV twin: Excel would evaluate a cell starting with "=", so it gets a leading apostrophe
    twin = list(csv.DictReader(path.with_suffix(".csv").open(encoding="utf-8-sig")))
    assert {r["家庭编号"]: r["户主姓名"] for r in twin}["H4"] == "'" + FORMULA_NAME


def test_sheets_have_chinese_headers_frozen_filtered_and_fitted(run):
    path = workbook(run, T1)
    assert sheet(path, HOUSEHOLD_SHEET).columns == [c.header for c in HOUSEHOLD_COLUMNS]
    with zipfile.ZipFile(path) as z:
        for n in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"):
            xml = z.read(n).decode()
            assert 'state="frozen"' in xml and "<autoFilter" in xml and 'customWidth="1"' in xml
        assert "<dataValidation" in z.read("xl/worksheets/sheet1.xml").decode()  # 核查结果 drop-down
    assert path.with_suffix(".csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_each_export_is_audited_and_a_rewrite_replaces_the_list_state(run):
    exports = query(run, "SELECT as_of_date, township_code, households, actor, xlsx_path FROM audit.list_exports"
                         " ORDER BY as_of_date, township_code")
    assert [(d, t, n, a) for d, t, n, a, _ in exports] == [
        (MAY, T1, 6, "tester"), (MAY, T2, 1, "tester"), (JUNE, T1, 4, "tester"), (JUNE, T2, 3, "tester")]
    assert exports[2][4] == str(workbook(run, T1).resolve())
    deadlines = query(run, "SELECT household_id, deadline FROM mart.listed_households WHERE as_of_date = ?"
                           " ORDER BY 1", [JUNE])
    again = write_lists(run.wh, run.out, JUNE, actor="second")
    assert again["markers"] == run.june["markers"]  # still compared with May, not with itself
    assert again["issued_on"] == "2024-07-01"  # written again, the list keeps the day it was first issued
    assert query(run, "SELECT household_id, deadline FROM mart.listed_households WHERE as_of_date = ?"
                      " ORDER BY 1", [JUNE]) == deadlines
    # the same content: both files left as they were, so nothing was handed out again
    assert (again["rewritten"], again["kept"]) == (0, 2)
    assert query(run, "SELECT count(*) FROM audit.list_exports WHERE actor = 'second'") == [(0,)]
    workbook(run, T1).unlink()  # a lost file is written again, and that export audited
    again = write_lists(run.wh, run.out, JUNE, actor="second")
    assert (again["rewritten"], again["kept"]) == (1, 1) and workbook(run, T1).is_file()
    assert query(run, "SELECT township_code FROM audit.list_exports WHERE actor = 'second'") == [(T1,)]
    assert query(run, "SELECT household_id, deadline FROM mart.listed_households WHERE as_of_date = ?"
                      " ORDER BY 1", [JUNE]) == deadlines


def test_the_nightly_run_writes_a_scoring_dates_lists_once(run, tmp_path):
    write_lists(run.wh, run.out, JUNE)
    exports = query(run, "SELECT count(*) FROM audit.list_exports")
    assert write_lists(run.wh, run.out, new_only=True)["status"] == "already_written"
    assert query(run, "SELECT count(*) FROM audit.list_exports") == exports
    elsewhere = write_lists(run.wh, tmp_path, new_only=True)  # another --out gets its own copy
    assert elsewhere["status"] == "written" and (tmp_path / "2024-06-30" / "371502" / f"{T1}.xlsx").is_file()


def test_reasons_are_shown_in_plain_chinese_when_the_code_table_exists(run, tmp_path):
    # mart.reason_codes is the scoring step's table (a migration: warehouse/mart/mart_reason_codes.sql);
    # created here only if it is absent
    with warehouse(run.wh) as con:
        assert reason_texts(con) == {}
        con.execute("CREATE TABLE IF NOT EXISTS mart.reason_codes (code VARCHAR, kind VARCHAR, text_zh VARCHAR,"
                    " text_en VARCHAR, features VARCHAR[], condition VARCHAR)")
        con.execute("INSERT INTO mart.reason_codes (code, kind, text_zh, text_en, features) VALUES"
                    " ('low_income', 'model', '收入接近低保标准', 'income near the line', ['income']),"
                    " ('stale_check', 'model', '收入核对已久', 'income check is old', ['check_age'])")
    try:
        write_lists(run.wh, tmp_path, JUNE, issued_on=JUNE_ISSUED)
        rows = {r["家庭编号"]: r for r in sheet(tmp_path / "2024-06-30" / "371502" / f"{T1}.xlsx",
                                                 HOUSEHOLD_SHEET).to_dicts()}
        assert rows["H1"]["风险原因"] == "收入接近低保标准；收入核对已久"
        assert rows["H2"]["风险原因"] == "edge_income"  # a code the table lacks is shown as it is
    finally:
        with warehouse(run.wh) as con:
            con.execute("DELETE FROM mart.reason_codes WHERE code IN ('low_income', 'stale_check')")


def test_bad_requests_fail_with_one_line(run, tmp_path):
    with pytest.raises(ListError, match="no risk scores for 2024-01-31") as err:
        write_lists(run.wh, tmp_path, date(2024, 1, 31))
    assert "\n" not in str(err.value)
    empty = tmp_path / "empty.duckdb"
    with warehouse(empty):
        pass
    # no scores yet (the scoring step skipped): the nightly run goes on, nothing is written
    skipped = write_lists(empty, tmp_path / "none")
    assert skipped["status"] == "skipped" and "score the households first" in skipped["reason"]
    assert not (tmp_path / "none").exists()
    with pytest.raises(ListError, match="no risk scores for 2024-06-30 in mart.risk_list"):
        write_lists(empty, tmp_path, JUNE)


# --------------------------------------------------------------------- print and return (issue #18)

LONG_REASON = "；".join(["收入接近低保标准，近三个月工资性收入明显下降"] * 4)


def _step(day=date(2024, 7, 4)):
    from pipelines.publish.deadlines import Step

    return Step("入户核查", "3个工作日", day)


def _household(township, **extra):
    row = {"marker": "新增", "household_id": "3715021002020008", "head_name": "魏凤英",
           "head_masked_id": "372501********8122", "division_code": township + "202", "category": "低保边缘",
           "members": 2, "income_per_capita": 187.0, "dibao_standard": 753.0, "check_date": date(2024, 4, 18),
           "risk_score": 0.011, "risk_level": "高", "reason_text": LONG_REASON, "step": _step(),
           "county_code": township[:6], "township_code": township}
    return row | extra


def _candidate(township, **extra):
    row = {"marker": "新增", "candidate_ref": "F1AED880427A", "person_key": "k1", "name": "王连生",
           "masked_id": "371502********495X",
           "rule": "生活补贴", "residence_code": "371702105214", "step": _step(),
           "evidence": "在册低保家庭成员; 未享受困难残疾人生活补贴 (187.0000元/月)",
           "county_code": township[:6], "township_code": township}
    return row | extra


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """Two townships written from hand-made rows: one with people, one with nobody on any sheet."""
    from pipelines.publish.list_regions import Regions
    from pipelines.publish.list_writer import ListContext, write_files

    regions = Regions({"371502": "东昌府区", "371502100": "杨屯镇", "371502100202": "赵园村",
                       "371502101": "梁水镇"})
    context = ListContext(JUNE, JUNE_ISSUED, regions, {"visits": 10, "by_need": 1.0, "min_score": 0.01})
    folder = tmp_path_factory.mktemp("printed")
    busy, empty = "371502100", "371502101"
    write_files(folder, [("371502", busy), ("371502", empty)],
                [_household(busy), _household(busy, household_id="3715021009990001", division_code="371502100999",
                                              reason_text="短")],
                [_candidate(busy)], [], context)
    return SimpleNamespace(busy=folder / "371502" / f"{busy}.xlsx", empty=folder / "371502" / f"{empty}.xlsx")


def test_every_sheet_prints_landscape_one_page_wide_with_headers_and_page_numbers(printed):
    import openpyxl

    book = openpyxl.load_workbook(printed.busy)
    assert book.sheetnames == [HOUSEHOLD_SHEET, CANDIDATE_SHEET, DEPARTURE_SHEET, "说明"]
    for ws in book.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, str(setup.paperSize)) == ("landscape", "9"), ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth in (None, 1) and setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1", ws.title
        assert "杨屯镇" in ws.oddHeader.left.text and "东昌府区" in ws.oddHeader.left.text
        assert "名单日期 2024-06-30" in ws.oddHeader.right.text and "交回截止 2024-07-04" in ws.oddHeader.right.text
        assert ws.oddFooter.center.text == "第 &P 页 / 共 &N 页"
    # the header row and the columns saying who the row is about stay in view
    assert [book[s].freeze_panes for s in (HOUSEHOLD_SHEET, CANDIDATE_SHEET, DEPARTURE_SHEET)] == ["D2", "D2", "C2"]
    main = book[HOUSEHOLD_SHEET]
    assert [main.cell(1, c).value for c in (2, 3)] == ["家庭编号", "户主姓名"]


def test_rows_are_as_tall_as_their_wrapped_text_and_money_is_a_number(printed):
    import openpyxl

    ws = openpyxl.load_workbook(printed.busy)[HOUSEHOLD_SHEET]
    headers = [c.value for c in ws[1]]
    reason = headers.index("风险原因") + 1
    assert ws.cell(2, reason).value == LONG_REASON and ws.cell(2, reason).alignment.wrap_text
    assert ws.row_dimensions[2].height >= 3 * 15  # 88 CJK characters in a 26-wide column: several lines
    assert ws.row_dimensions[3].height is None  # a short reason: the default single line
    income = ws.cell(2, headers.index("月人均收入（元）") + 1)
    assert income.value == 187.0 and income.number_format == "#,##0.00"
    assert ws.cell(2, headers.index("村（社区）") + 1).value == "赵园村"
    assert ws.cell(3, headers.index("村（社区）") + 1).value == "371502100999"  # not in the region file: the code
    # the answer is the last printed column; what a caseworker needs only on screen comes after it
    assert headers[-6:] == ["核查结果", "核查日期", "备注", "风险评分", "低保标准（元）", "核查时限"]
    area = openpyxl.load_workbook(printed.busy)[HOUSEHOLD_SHEET].print_area
    assert area == f"'{HOUSEHOLD_SHEET}'!$A$1:${openpyxl.utils.get_column_letter(len(headers) - 3)}$3", area


def test_discovered_people_have_result_columns_and_a_key_to_return_them_by(printed):
    import openpyxl

    ws = openpyxl.load_workbook(printed.busy)[CANDIDATE_SHEET]
    headers = [c.value for c in ws[1]]
    assert headers[1] == "发现编号" and headers[-3:] == ["核查结果", "核查日期", "备注"]
    row = {h: c.value for h, c in zip(headers, ws[2])}
    assert row["发现编号"] == "F1AED880427A"
    assert row["村（社区）"] == "（市外：371702105214）"  # outside 聊城: flagged, never named after a county
    assert row["依据"].endswith("(187.00元/月)")
    assert "<dataValidation" in zipfile.ZipFile(printed.busy).read("xl/worksheets/sheet2.xml").decode()


def test_an_empty_list_says_so_and_the_notes_sheet_explains_levels_filling_in_and_returning(printed):
    import openpyxl

    book = openpyxl.load_workbook(printed.empty)
    assert book[HOUSEHOLD_SHEET]["A2"].value == NO_HOUSEHOLDS
    assert book[CANDIDATE_SHEET]["A2"].value == NO_CANDIDATES
    assert book[DEPARTURE_SHEET]["A2"].value == NO_DEPARTURES
    notes = {r[0]: r[1] for r in openpyxl.load_workbook(printed.busy)["说明"].iter_rows(min_row=2, values_only=True)}
    assert "不是概率" in notes["风险等级怎么定"] and "10 户" in notes["风险等级怎么定"]
    assert "0.01" in notes["风险等级怎么定"] and "0.011" in notes["风险评分"]
    assert all(r in notes["怎么填写"] for r in ("已入户", "纳入低保", "临时救助", "不符合条件", "联系不上"))
    assert "2024-07-04" in notes["怎么交回"] and ".结果.csv" in notes["怎么交回"]


def test_the_csv_twin_keeps_money_as_plain_numbers(printed):
    twin = list(csv.DictReader(printed.busy.with_suffix(".csv").open(encoding="utf-8-sig")))
    assert twin[0]["月人均收入（元）"] == "187.00" and twin[0]["村（社区）"] == "赵园村"


def test_libreoffice_prints_a_township_list_on_few_pages_with_its_name(printed, tmp_path, desktop):  # noqa: F811
    import shutil
    import subprocess

    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run([desktop["soffice"], f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(printed.busy)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / f"{printed.busy.stem}.pdf"
    info = subprocess.run([shutil.which("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert 4 <= pages <= 5  # one page per sheet (the notes may take two), not columns split over six
    text = subprocess.run([shutil.which("pdftotext"), str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "杨屯镇" in text and "187.00" in text
    assert re.search(rf"第\s*1\s*页\s*/\s*共\s*{pages}\s*页", text)  # pdftotext drops the spaces
    first = subprocess.run([shutil.which("pdftotext"), "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    words = re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<', first)
    assert "核查结果" in {w for *_, w in words} and "低保标准（元）" not in "".join(w for *_, w in words)
    # 11-point text shrunk to fit one A4 page wide: 6.5 pt when the score, the standard and the
    # time limit were printed too; Carlito has Calibri's widths, so this is what Excel prints
    size = statistics.median((float(x1) - float(x0)) / len(w) for x0, x1, w in words
                             if re.fullmatch("[\u4e00-\u9fff]{2,4}", w))
    assert size >= 7.5, f"the printed 风险名单 is {size:.1f} pt"


def test_the_generator_merges_its_world_into_the_region_file_and_keeps_the_bureaus_rows(tmp_path):
    from pipelines.generate.regions import all_codes, write
    from pipelines.publish.list_regions import REGIONS_FILE, RegionsError, load_regions

    path = tmp_path / "regions.csv"
    path.write_text("code,name,level,parent\n371502100,局里改的名字,township,371502\n", encoding="utf-8")
    write(["371502100201", "371702105214"], path)
    regions = load_regions(path)
    assert regions.name("371502100") == "局里改的名字"  # the bureau's row stays
    assert regions.label("371502100201").endswith("村") and regions.name("371502") == "东昌府区"
    assert regions.label("371702105214") == "（市外：371702105214）" and "371702105214" not in regions.names
    assert regions.label("371526199999") == "371526199999"  # missing from the file: the code
    committed = load_regions(REGIONS_FILE)
    assert all(code in committed.names for code in all_codes())  # every generated world is named
    with pytest.raises(RegionsError, match="no region file"):
        load_regions(tmp_path / "missing.csv")


def test_a_late_delivery_that_changes_no_list_is_worked_out_once_not_every_night(outputs_warehouse, tmp_path):
    """A delivery loaded after the lists went out has them worked out again; when they read
    as issued, the next nights do not work them out again for it (audit.list_checks)."""
    wh = copy_file(outputs_warehouse, tmp_path)
    out = tmp_path / "out"
    write_lists(wh, out, JUNE, issued_on=date(2024, 7, 1))
    assert write_lists(wh, out, new_only=True)["status"] == "already_written"
    with warehouse(wh) as con:  # a 人社 delivery of June arrives late; it changes no list
        from datetime import datetime, timezone

        con.execute("INSERT INTO audit.deliveries VALUES ('rs-20240630-late', 'rs', ?, 'rs/2024-06-30', 'c', 'r',"
                    " 'loaded', NULL, NULL, ?)", [JUNE, datetime.now(timezone.utc).replace(tzinfo=None)])
    for _ in range(2):
        assert write_lists(wh, out, new_only=True)["status"] == "already_written"
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM audit.list_checks WHERE as_of_date = ?", [JUNE]).fetchall() == [(1,)]
        assert con.execute("SELECT count(DISTINCT export_id) FROM audit.list_exports").fetchall() == [(1,)]
    finally:
        con.close()


def test_the_notes_count_discovered_people_not_their_rule_rows():
    """"主动发现 47 人" counted 47 rows of 44 people, one person listed under several rules (the fourth audit)."""
    from pipelines.publish.list_notes import notes_sheet

    rows = {"households": [], "departures": [],
            "candidates": [{"person_key": "p1", "rule": "单人保"}, {"person_key": "p1", "rule": "急难"},
                           {"person_key": "p2", "rule": "急难"}]}
    sheet = notes_sheet("某镇", rows, {}, date(2024, 6, 30), date(2024, 7, 1), None, ("", "", ""))
    text = "".join(str(cell) for row in sheet.rows for cell in row)
    assert "主动发现 2 人（3 条，一人可因多条规则列入）" in text
