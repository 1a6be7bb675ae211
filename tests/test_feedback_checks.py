"""A returned row answers for the household it names, or for none (pipelines/ingest/feedback_checks.py).

Spreadsheets change what caseworkers return: a 家庭编号 converted to a number keeps
15 digits (another household's number, or none), a sheet is renamed and moved, a
result column renamed. No result may land on the wrong household or vanish unseen.
"""

from datetime import date

import openpyxl
import pytest

from pipelines.ingest.feedback import FeedbackError, load_feedback
from pipelines.publish.list_writer import CANDIDATE_SHEET, HOUSEHOLD_SHEET
from pipelines.publish.lists import write_lists
from tests.outputs_builder import JUNE, T1, build_warehouse
from tests.test_feedback import LOADED_ON, query, trip_of


@pytest.fixture()
def listed(tmp_path):
    wh = build_warehouse(tmp_path / "w.duckdb")
    write_lists(wh, tmp_path / "out", JUNE, issued_on=date(2024, 7, 1))
    return wh, tmp_path / "out" / "2024-06-30" / "371502" / f"{T1}.xlsx"


def fill(ws, row: int, result: str, day: str = "2024-07-03", **cells) -> None:
    headers = [c.value for c in ws[1]]
    ws.cell(row, headers.index("核查结果") + 1, result)
    ws.cell(row, headers.index("核查日期") + 1, day)
    for header, value in cells.items():
        ws.cell(row, headers.index(header) + 1).value = value  # cell(r, c, None) would leave it as it was


def outcomes(loaded) -> dict[str, tuple[str, str]]:
    return {f"{r['表']}:{r['行号']}": (r["结果"], r["说明"]) for r in loaded["rows"]}


def test_a_household_number_that_names_another_listed_household_loads_for_neither(listed, tmp_path):
    wh, path = listed
    book = openpyxl.load_workbook(path)
    ws = book[HOUSEHOLD_SHEET]
    ids = [ws.cell(r, 2).value for r in range(2, ws.max_row + 1)]
    assert len(ids) >= 3
    fill(ws, 2, "不符合条件", "2024-07-04", 家庭编号=ids[1])  # row 2's head, row 3's number: the spreadsheet changed it
    fill(ws, 3, "已入户")
    fill(ws, 4, "已入户", **{"户主身份证号（脱敏）": None})  # the masked ID cleared: the name still says who
    book.save(tmp_path / "back.xlsx")
    loaded = load_feedback(wh, tmp_path / "back.xlsx", today=LOADED_ON)
    assert (loaded["rows_loaded"], loaded["rows_quarantined"]) == (2, 1)
    assert query(trip_of(wh), "SELECT household_id, result FROM staging.feedback ORDER BY 1") == sorted(
        [(ids[1], "已入户"), (ids[2], "已入户")])
    assert query(trip_of(wh), "SELECT line_number, column_name, raw_value, reason FROM audit.quarantine") == [
        (2, "家庭编号", ids[1], "household_mismatch")]
    assert outcomes(loaded)[f"{HOUSEHOLD_SHEET}:2"][0] == "隔离"
    # the name alone decides when the masked ID is not there
    ws.cell(4, 3, "别人")
    book.save(tmp_path / "back2.xlsx")
    again = load_feedback(wh, tmp_path / "back2.xlsx", today=LOADED_ON)
    assert outcomes(again)[f"{HOUSEHOLD_SHEET}:4"][0] == "隔离"


def test_a_household_number_a_spreadsheet_made_a_number_is_quarantined_not_matched(listed, tmp_path):
    wh, path = listed
    book = openpyxl.load_workbook(path)
    ws = book[HOUSEHOLD_SHEET]
    fill(ws, 2, "已入户", 家庭编号=3715021010010010)  # a number cell: 15 digits kept, the 16th invented
    book.save(tmp_path / "number.xlsx")
    loaded = load_feedback(wh, tmp_path / "number.xlsx", today=LOADED_ON)
    csv_file = tmp_path / "back.csv"
    csv_file.write_text("家庭编号,核查结果,核查日期\n3.71502101001001E+15,已入户,2024-07-03\n"
                        "=HYPERLINK(1),已入户,2024-07-03\n", encoding="utf-8")
    from_csv = load_feedback(wh, csv_file, today=LOADED_ON)
    assert loaded["rows_loaded"] == from_csv["rows_loaded"] == 0
    assert query(trip_of(wh), "SELECT raw_value, reason FROM audit.quarantine ORDER BY file_name, line_number") == [
        ("3.71502101001001E+15", "id_lossy_float"), ("=HYPERLINK(1)", "household_not_listed"),
        ("3715021010010010.0", "id_lossy_float")]
    text = (tmp_path / "back.csv.结果.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "\n=" not in text and ",=" not in text  # echoed, never a formula


def test_a_renamed_and_moved_list_sheet_is_found_and_a_renamed_result_column_rejects_the_file(listed, tmp_path):
    wh, path = listed
    book = openpyxl.load_workbook(path)
    ws = book[HOUSEHOLD_SHEET]
    fill(ws, 2, "已入户")
    ws.title = "已核查"
    book.move_sheet("已核查", offset=2)  # after 主动发现
    book.save(tmp_path / "renamed.xlsx")
    loaded = load_feedback(wh, tmp_path / "renamed.xlsx", today=LOADED_ON)
    assert (loaded["status"], loaded["rows_loaded"]) == ("loaded", 1)
    assert outcomes(loaded)["已核查:2"] == ("已导入", "")
    book = openpyxl.load_workbook(path)
    candidates = book[CANDIDATE_SHEET]
    fill(candidates, 2, "联系不上")
    candidates.cell(1, [c.value for c in candidates[1]].index("核查结果") + 1, "核查结果（请选择）")
    book.save(tmp_path / "header.xlsx")
    with pytest.raises(FeedbackError, match="主动发现.*核查结果") as err:
        load_feedback(wh, tmp_path / "header.xlsx", today=LOADED_ON)
    assert len(str(err.value).splitlines()) == 1
    assert query(trip_of(wh), "SELECT count(*) FROM staging.feedback_candidates") == [(0,)]


def test_two_results_for_one_household_and_day_load_neither_and_a_huge_note_is_quarantined(listed, tmp_path):
    wh, path = listed
    book = openpyxl.load_workbook(path)
    ws = book[HOUSEHOLD_SHEET]
    first = ws.cell(2, 2).value
    fill(ws, 2, "已入户")
    fill(ws, 3, "不符合条件", 家庭编号=first, 户主姓名=ws.cell(2, 3).value,
         **{"户主身份证号（脱敏）": ws.cell(2, 4).value})
    fill(ws, 4, "已入户", 备注="很长" * 3000)
    book.save(tmp_path / "clash.xlsx")
    loaded = load_feedback(wh, tmp_path / "clash.xlsx", today=LOADED_ON)
    assert (loaded["rows_loaded"], loaded["rows_quarantined"]) == (0, 3)
    assert query(trip_of(wh), "SELECT line_number, reason FROM audit.quarantine ORDER BY 1") == [
        (2, "conflicting_results"), (3, "conflicting_results"), (4, "cell_too_long")]


def test_a_list_saved_in_another_format_in_the_folder_is_rejected_once_and_says_why_beside_it(listed, tmp_path):
    from pipelines.ingest.feedback import load_feedback_folder

    wh, path = listed
    folder = tmp_path / "returned"
    folder.mkdir()
    (folder / "洪官镇.xls").write_bytes(b"\xd0\xcf\x11\xe0 an old Excel workbook")
    night = load_feedback_folder(wh, folder, today=LOADED_ON)
    assert (night["files_seen"], night["rejected"]) == (1, 1)
    assert "unsupported file type '.xls'" in night["files"][0]["message"]
    beside = (folder / "洪官镇.xls.结果.csv").read_text(encoding="utf-8-sig")
    assert "整个文件未导入" in beside and ".xls" in beside
    assert load_feedback_folder(wh, folder, today=LOADED_ON)["files"] == []  # attempted once, not every night
    assert query(trip_of(wh), "SELECT file_name, status FROM audit.feedback_loads") == [("洪官镇.xls", "rejected")]


def test_a_rejected_return_is_one_line_and_visible_to_dibao_query_at_once(listed, tmp_path, capsys):
    from pipelines.cli import main
    from pipelines.publish.query import run_query

    wh, _ = listed
    returned = tmp_path / "回收.csv"
    returned.write_text("家庭编号,核查日期\nH1,2024-07-03\n", encoding="utf-8")  # no 核查结果 column
    assert main(["feedback", "--warehouse", str(wh), str(returned)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "核查结果" in err
    _, rows = run_query(wh, "SELECT file_name, status FROM audit.feedback_loads")
    assert rows == [("回收.csv", "rejected")]


def test_a_sheet_whose_answers_cannot_be_read_rejects_its_file_instead_of_passing_over_it():
    """A 风险名单 whose 家庭编号 was renamed or deleted, or whose header a typed title row pushed
    down, was passed over: 40 answers lost, the file "loaded" (the third hostile audit)."""
    import polars as pl

    from pipelines.ingest.feedback_checks import hidden_answers

    keys, answers = ("家庭编号", "发现编号"), ("核查结果", "核查日期")
    renamed = pl.DataFrame({"户编号": ["H1"], "核查结果": ["已入户"], "_line": [2]})
    assert "but no column 家庭编号" in hidden_answers("风险名单", {"户编号", "核查结果"}, renamed, keys, answers)
    titled = pl.DataFrame({"2024年4月 洪官镇 核查情况": ["家庭编号", "H1"], "": ["核查结果", "已入户"], "_line": [2, 3]})
    assert "header on row 2, under a title row" in hidden_answers("风险名单", {"2024年4月 洪官镇 核查情况", ""},
                                                                 titled, keys, answers)
    fine = pl.DataFrame({"家庭编号": ["H1"], "核查结果": ["已入户"], "核查日期": ["2024-04-03"], "_line": [2]})
    assert hidden_answers("风险名单", set(fine.columns) - {"_line"}, fine, keys, answers) is None
    departures = pl.DataFrame({"家庭编号": ["H1"], "退出原因": ["已退出"], "_line": [2]})  # no answers asked
    assert hidden_answers("退出名单", {"家庭编号", "退出原因"}, departures, keys, answers) is None
    notes = pl.DataFrame({"说明": ["核查结果请填写…"], "_line": [2]})  # a sheet of instructions
    assert hidden_answers("说明", {"说明"}, notes, keys, answers) is None
