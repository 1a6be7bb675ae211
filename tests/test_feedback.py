"""Feedback: returned lists load like a source and change the next month's list.

The round trip: June's lists are issued on 2024-07-01; T1's caseworker returns
the XLSX with H1, H2 and H3 found 不符合条件 and H14 not checked yet; T2's
returns the CSV twin with H9 helped by 临时救助 and some bad rows. July then
arrives (H2 gains a member, H3 rises to 高) and July's lists are issued
2024-08-01.
"""

import shutil
from datetime import date
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from pipelines.ingest.feedback import FeedbackError, load_feedback, load_feedback_folder
from pipelines.publish.list_writer import DEPARTURE_SHEET, HOUSEHOLD_SHEET
from pipelines.publish.lists import write_lists
from tests.outputs_builder import JULY, JUNE, T1, T2, build_warehouse, deliver_july
from tests.worlds import copy_file

LOADED_ON = date(2024, 7, 10)


def returned_xlsx(listed, path, results):
    """The caseworker's copy: the first sheet with 核查结果 / 核查日期 filled in (dates as Excel dates)."""
    frame = pl.read_excel(listed, sheet_name=HOUSEHOLD_SHEET, infer_schema_length=0)
    outcome = {h: r for h, *r in results}
    frame = frame.with_columns(
        pl.col("家庭编号").map_elements(lambda h: outcome.get(h, [None])[0], return_dtype=pl.String).alias("核查结果"),
        pl.col("家庭编号").map_elements(lambda h: outcome.get(h, [None, None])[1], return_dtype=pl.Date)
        .alias("核查日期"),
    )
    frame.write_excel(path, worksheet=HOUSEHOLD_SHEET)
    return path


@pytest.fixture(scope="module")
def trip(outputs_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    wh = copy_file(outputs_warehouse, root)  # the shared outputs world, copied: July is delivered into it
    out, inbox = root / "out", root / "inbox"
    inbox.mkdir()
    write_lists(wh, out, JUNE, issued_on=date(2024, 7, 1))
    t1 = returned_xlsx(out / "2024-06-30" / "371502" / f"{T1}.xlsx", inbox / "东昌府区-回收.xlsx", [
        ("H1", "不符合条件", date(2024, 7, 3)), ("H2", "不符合条件", date(2024, 7, 3)),
        ("H3", "不符合条件", date(2024, 7, 4))])
    # T2 returns the CSV twin, saved by Excel as GB18030, with typed-in values good and bad
    header = (out / "2024-06-30" / "371521" / f"{T2}.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    columns = header.split(",")
    rows = [
        {"家庭编号": "H9", "核查结果": "临时救助", "核查日期": "2024/7/2"},        # repaired date
        {"家庭编号": "H7", "核查结果": " 已入户 ", "核查日期": "2024-07-04"},       # repaired spacing
        {"家庭编号": "H4", "核查结果": "联系不上", "核查日期": "2024-07-05", "备注": "=1+1"},
        {"家庭编号": "H4", "核查结果": "联系不上", "核查日期": "2024-07-05", "备注": "=1+1"},  # duplicate_row
        {"家庭编号": "NOPE", "核查结果": "已入户", "核查日期": "2024-07-04"},       # household_not_listed
        {"家庭编号": "H9", "核查结果": "不清楚", "核查日期": "2024-07-04"},         # enum_unknown
        {"家庭编号": "H9", "核查结果": "已入户", "核查日期": "2099-01-01"},         # check_date_in_future
        {"家庭编号": "H9", "核查结果": "已入户", "核查日期": "上周"},               # date_unparseable
        {"家庭编号": "H7", "核查结果": "已入户", "核查日期": ""},                   # missing_mandatory
        {"家庭编号": "H7", "核查结果": "已入户", "核查日期": "2024-06-20"},         # check_before_listing
        {"家庭编号": "H4", "核查结果": "", "核查日期": ""},                         # not checked yet
    ]
    lines = [header] + [",".join(r.get(c, "") for c in columns) for r in rows]
    t2 = inbox / "阳谷县-回收.csv"
    t2.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    loads = {"t1": load_feedback(wh, t1, actor="caseworker", today=LOADED_ON),
             "t2": load_feedback(wh, t2, actor="caseworker", today=LOADED_ON)}
    deliver_july(wh)
    july = write_lists(wh, out, JULY, issued_on=date(2024, 8, 1))
    return SimpleNamespace(wh=wh, out=out, inbox=inbox, loads=loads, july=july)


def query(trip, sql, params=None):
    con = duckdb.connect(str(trip.wh), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def july_sheet(trip, name, township=T1):
    path = trip.out / "2024-07-31" / township[:6] / f"{township}.xlsx"
    return pl.read_excel(path, sheet_name=name, infer_schema_length=0)


def test_returned_sheet_loads_checked_rows_and_skips_unchecked_ones(trip):
    t1 = trip.loads["t1"]
    assert (t1["status"], t1["rows_read"], t1["rows_loaded"], t1["rows_quarantined"], t1["rows_skipped"]) == (
        "loaded", 4, 3, 0, 1)
    assert query(trip, "SELECT household_id, result, check_date, list_as_of_date FROM staging.feedback"
                       " WHERE file_name = '东昌府区-回收.xlsx' ORDER BY household_id") == [
        ("H1", "不符合条件", date(2024, 7, 3), JUNE), ("H2", "不符合条件", date(2024, 7, 3), JUNE),
        ("H3", "不符合条件", date(2024, 7, 4), JUNE)]


def test_bad_rows_are_quarantined_with_the_source_rules(trip):
    t2 = trip.loads["t2"]
    assert (t2["rows_read"], t2["rows_loaded"], t2["rows_quarantined"], t2["rows_skipped"]) == (11, 3, 7, 1)
    assert t2["rows_read"] == t2["rows_loaded"] + t2["rows_quarantined"] + t2["rows_skipped"]
    reasons = query(trip, "SELECT line_number, column_name, raw_value, reason FROM audit.quarantine"
                          " WHERE source = 'feedback' ORDER BY line_number")
    assert reasons == [
        (5, None, None, "duplicate_row"),
        (6, "家庭编号", "NOPE", "household_not_listed"),
        (7, "核查结果", "不清楚", "enum_unknown"),
        (8, "核查日期", "2099-01-01", "check_date_in_future"),
        (9, "核查日期", "上周", "date_unparseable"),
        (10, "核查日期", "", "missing_mandatory"),
        (11, "核查日期", "2024-06-20", "check_before_listing"),
    ]
    repairs = query(trip, "SELECT file_name, line_number, kind FROM audit.repairs WHERE source = 'feedback'"
                          " ORDER BY 1, 2")
    assert repairs == [("东昌府区-回收.xlsx", n, "date_datetime") for n in (2, 3, 4)] + [
        ("阳谷县-回收.csv", 2, "date_slash"), ("阳谷县-回收.csv", 3, "enum_whitespace")]
    # a formula-looking note is kept as text, like any other value
    assert query(trip, "SELECT note FROM staging.feedback WHERE household_id = 'H4'") == [("=1+1",)]


def test_a_household_found_ineligible_is_not_listed_again_unless_something_changed(trip):
    rows = july_sheet(trip, HOUSEHOLD_SHEET)
    markers = dict(zip(rows["家庭编号"], rows["变化"]))
    # H1: same level, nothing changed since the check -> held back
    assert "H1" not in markers
    # H2: a member was added in July (a change event after the check) -> listed again
    # H3: checked at 中, now 高 -> listed again, marked 升级
    assert markers == {"H2": "持续", "H3": "升级", "H14": "持续"}
    # the caseworker who reported them is told why they are back
    why = dict(zip(rows["家庭编号"], rows["风险原因"]))
    assert why["H2"].startswith("2024-07-03 核查不符合条件后有新变化，再次列入；")
    assert why["H3"].startswith("2024-07-04 核查不符合条件后风险等级升高，再次列入；")
    assert "核查" not in why["H14"]
    left = july_sheet(trip, DEPARTURE_SHEET)
    assert dict(zip(left["家庭编号"], left["退出原因"])) == {"H1": "核查不符合条件"}
    assert "2024-07-03" in left["说明"][0]
    assert trip.july["held_back_ineligible"] == 1
    # other results do not hold a household back
    assert set(july_sheet(trip, HOUSEHOLD_SHEET, T2)["家庭编号"]) == {"H9", "H7", "H4"}


def test_writing_a_list_again_keeps_the_households_its_own_feedback_is_about(trip, tmp_path):
    again = write_lists(trip.wh, tmp_path, JUNE)
    assert again["issued_on"] == "2024-07-01" and again["held_back_ineligible"] == 0
    assert query(trip, "SELECT count(*) FROM mart.listed_households WHERE as_of_date = ? AND household_id = 'H1'",
                 [JUNE]) == [(1,)]


def test_feedback_feeds_the_follow_up_status_and_the_model_labels(trip):
    status = dict(((h, d), (c, r)) for h, d, c, r in query(trip, """
        SELECT household_id, as_of_date, completed, latest_result FROM mart.followup_status"""))
    assert status[("H1", JUNE)] == (True, "不符合条件")
    assert status[("H4", JUNE)] == (False, "联系不上")  # tried, not done
    assert status[("H14", JUNE)] == (False, None)
    labels = query(trip, "SELECT household_id, list_as_of_date, listed_risk_level, result, below_standard"
                         " FROM mart.feedback_labels ORDER BY household_id")
    assert labels == [
        ("H1", JUNE, "高", "不符合条件", False), ("H2", JUNE, "高", "不符合条件", False),
        ("H3", JUNE, "中", "不符合条件", False), ("H4", JUNE, "高", "联系不上", None),
        ("H7", JUNE, "高", "已入户", None), ("H9", JUNE, "高", "临时救助", None)]


def test_the_same_file_is_loaded_once(trip, tmp_path):
    again = load_feedback(trip.wh, trip.inbox / "东昌府区-回收.xlsx", today=LOADED_ON)
    assert again["status"] == "skipped_duplicate" and again["rows_loaded"] == 0
    copy = tmp_path / "landing"
    shutil.copytree(trip.inbox, copy)
    (copy / "late").mkdir()
    late = copy / "late" / "补报.csv"
    late.write_text("家庭编号,核查结果,核查日期\nH14,纳入低保,2024-07-08\n", encoding="utf-8")
    (copy / "~$阳谷县-回收.xlsx").write_bytes(b"Excel lock file")
    first = load_feedback_folder(trip.wh, copy, today=LOADED_ON)
    assert (first["files_seen"], first["loaded"], first["rejected"]) == (3, 1, 0)
    assert first["files"][0]["file"].endswith("补报.csv") and first["rows_loaded"] == 1
    second = load_feedback_folder(trip.wh, copy, today=LOADED_ON)
    assert (second["files_seen"], second["files"]) == (3, [])
    assert query(trip, "SELECT count(*) FROM staging.feedback WHERE household_id = 'H14'") == [(1,)]


def test_unusable_files_fail_with_one_line_and_are_recorded(trip, tmp_path):
    garbage = tmp_path / "坏文件.xlsx"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(FeedbackError, match="坏文件.xlsx: corrupt or unsupported xlsx") as err:
        load_feedback(trip.wh, garbage)
    assert "\n" not in str(err.value)
    no_result = tmp_path / "无结果.csv"
    no_result.write_text("家庭编号,核查日期\nH1,2024-07-03\n", encoding="utf-8")
    with pytest.raises(FeedbackError, match="mandatory column\\(s\\) missing: 核查结果"):
        load_feedback(trip.wh, no_result)
    with pytest.raises(FeedbackError, match="no feedback file"):
        load_feedback(trip.wh, tmp_path / "missing.xlsx")
    with pytest.raises(FeedbackError, match="does not exist"):
        load_feedback_folder(trip.wh, tmp_path / "missing")
    assert load_feedback_folder(trip.wh, tmp_path / "missing", missing_ok=True)["files_seen"] == 0
    assert query(trip, "SELECT file_name, status, rows_loaded FROM audit.feedback_loads"
                       " WHERE status = 'rejected' ORDER BY file_name") == [
        ("坏文件.xlsx", "rejected", 0), ("无结果.csv", "rejected", 0)]


# --------------------------------------------------------------------- 主动发现 results and per-row outcomes


def test_discovered_people_are_reported_back_and_every_row_gets_its_outcome(tmp_path, capsys):
    import csv

    import openpyxl

    from pipelines.cli import main
    from pipelines.ingest.feedback import CANDIDATE_SHEET, candidate_ref
    from pipelines.warehouse import query_copy_path

    wh = build_warehouse(tmp_path / "w.duckdb")
    out, inbox = tmp_path / "out", tmp_path / "inbox"
    write_lists(wh, out, JUNE, issued_on=date(2024, 7, 1))
    book = openpyxl.load_workbook(out / "2024-06-30" / "371502" / f"{T1}.xlsx")

    def fill(ws, line, result, day, key=None):
        headers = [c.value for c in ws[1]]
        if key:
            ws.cell(line, headers.index("发现编号") + 1, key)
        ws.cell(line, headers.index("核查结果") + 1, result)
        ws.cell(line, headers.index("核查日期") + 1, day)

    fill(book[HOUSEHOLD_SHEET], 2, "已入户", date(2024, 7, 3))
    fill(book[HOUSEHOLD_SHEET], 3, "不清楚", "2024-07-03")
    fill(book[CANDIDATE_SHEET], 2, "临时救助", "2024/7/2")
    fill(book[CANDIDATE_SHEET], 3, "已入户", "2024-07-04", key="FNOTALIST00")
    inbox.mkdir()
    returned = inbox / "东昌府区-回收.xlsx"
    book.save(returned)
    query_copy_path(wh).unlink(missing_ok=True)

    assert main(["feedback", "--warehouse", str(wh), str(returned)]) == 0
    printed = capsys.readouterr().out
    person, rule = query(trip_of(wh), "SELECT person_key, rule FROM mart.listed_candidates"
                                      " WHERE as_of_date = ? AND township_code = ?", [JUNE, T1])[0]
    assert query(trip_of(wh), "SELECT file_name, line_number, candidate_ref, person_key, rule, result, check_date,"
                              " list_as_of_date FROM staging.feedback_candidates") == [
        (f"{returned.name}:{CANDIDATE_SHEET}", 2, candidate_ref(person, rule), person, rule, "临时救助",
         date(2024, 7, 2), JUNE)]
    outcome = returned.with_name(returned.name + ".结果.csv")
    rows = {(r["表"], int(r["行号"])): r for r in csv.DictReader(outcome.open(encoding="utf-8-sig"))}
    assert rows[(HOUSEHOLD_SHEET, 2)]["结果"] == "已导入"
    assert rows[(HOUSEHOLD_SHEET, 3)]["结果"] == "隔离" and "不是可选值" in rows[(HOUSEHOLD_SHEET, 3)]["说明"]
    assert {r["结果"] for k, r in rows.items() if k[0] == HOUSEHOLD_SHEET and k[1] > 3} == {"未核查"}
    assert rows[(CANDIDATE_SHEET, 2)]["结果"] == "已修正后导入" and "2024/7/2" in rows[(CANDIDATE_SHEET, 2)]["说明"]
    assert rows[(CANDIDATE_SHEET, 3)]["结果"] == "隔离"
    assert rows[(CANDIDATE_SHEET, 3)]["说明"] == "发现编号“FNOTALIST00”：发现编号不在任何已下发的名单上，请核对"
    assert "第3行" in printed and "不是可选值" in printed and "skipped" in printed and str(outcome) in printed
    # `dibao query` reads the republished copy: the new rows are there now, not after the next night
    assert main(["query", "--warehouse", str(wh), "--format", "csv",
                 "SELECT count(*) AS n FROM staging.feedback_candidates"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1"
    # the nightly folder loader takes the returned file (already loaded) but never the outcome file
    assert load_feedback_folder(wh, inbox, today=LOADED_ON)["files_seen"] == 1


def trip_of(wh):
    return SimpleNamespace(wh=wh)


def test_results_return_on_a_moved_sheet_or_a_csv_of_discovered_people(tmp_path):
    import openpyxl

    from pipelines.ingest.feedback import CANDIDATE_SHEET

    wh = build_warehouse(tmp_path / "w.duckdb")
    write_lists(wh, tmp_path / "out", JUNE, issued_on=date(2024, 7, 1))
    listed = tmp_path / "out" / "2024-06-30" / "371502" / f"{T1}.xlsx"
    book = openpyxl.load_workbook(listed)
    book.move_sheet("说明", offset=-3)  # the caseworker put the notes first
    ws = book[HOUSEHOLD_SHEET]
    headers = [c.value for c in ws[1]]
    ws.cell(2, headers.index("核查结果") + 1, "已入户")
    ws.cell(2, headers.index("核查日期") + 1, "2024-07-03")
    book.save(tmp_path / "moved.xlsx")
    moved = load_feedback(wh, tmp_path / "moved.xlsx", today=LOADED_ON)
    assert (moved["status"], moved["rows_loaded"]) == ("loaded", 1)
    ref = openpyxl.load_workbook(listed)[CANDIDATE_SHEET]["B2"].value
    csv_file = tmp_path / "主动发现.csv"
    csv_file.write_text(f"发现编号,核查结果,核查日期\n{ref},联系不上,2024-07-05\n", encoding="utf-8")
    loaded = load_feedback(wh, csv_file, today=LOADED_ON)
    assert (loaded["rows_loaded"], loaded["rows"][0]["表"]) == (1, CANDIDATE_SHEET)
    assert query(trip_of(wh), "SELECT candidate_ref, result FROM staging.feedback_candidates") == [(ref, "联系不上")]


def test_of_two_answers_returned_the_same_night_the_one_saved_last_counts(trip, tmp_path):
    """`371522101 (2).csv` (a corrected copy, saved later) sorts before `371522101.csv`: read by
    name, the original's answer was loaded last and won (the third hostile audit)."""
    import os

    wh = copy_file(trip.wh, tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original, corrected = inbox / "回收.csv", inbox / "回收 (2).csv"
    original.write_text("家庭编号,核查结果,核查日期\nH1,不符合条件,2024-07-06\n", encoding="utf-8")
    corrected.write_text("家庭编号,核查结果,核查日期,备注\nH1,纳入低保,2024-07-06,更正\n", encoding="utf-8")
    os.utime(original, (1_700_000_000, 1_700_000_000))
    os.utime(corrected, (1_700_003_600, 1_700_003_600))
    summary = load_feedback_folder(wh, inbox, today=LOADED_ON)
    assert [f["file"].rsplit("/", 1)[1] for f in summary["files"]] == ["回收.csv", "回收 (2).csv"]
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT result FROM mart.feedback_labels WHERE household_id = 'H1'").fetchall() == [
            ("纳入低保",)]
    finally:
        con.close()
