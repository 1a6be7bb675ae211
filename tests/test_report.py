"""The run report: one self-contained HTML file with the director's numbers.

June's lists are issued 2024-07-01; feedback says H1 was checked 2024-07-03
and H9 on 2024-07-02; the report judges overdue checks on 2024-07-10, when the
3-working-day and 24-hour deadlines (H1, H2, H4, H7, H9) have passed.
"""

import re
from datetime import date, datetime

import pytest

from pipelines.ingest.feedback import load_feedback
from pipelines.publish.lists import write_lists
from pipelines.publish.report import write_report
from pipelines.warehouse import warehouse
from tests.outputs_builder import ALL_IDS, FORMULA_NAME, JUNE, build_warehouse, mask
from tests.worlds import copy_file

REPORT_DAY = date(2024, 7, 10)
LOAD_ID = "mz-20240630-test"  # the builder's June mz delivery


@pytest.fixture(scope="module")
def wh(outputs_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    wh = copy_file(outputs_warehouse, root)  # the shared outputs world, copied: lists are written into it
    write_lists(wh, root / "lists", JUNE, issued_on=date(2024, 7, 1))
    returned = root / "returned.csv"
    returned.write_text("家庭编号,核查结果,核查日期\nH1,不符合条件,2024-07-03\nH9,临时救助,2024-07-02\n",
                        encoding="utf-8")
    load_feedback(wh, returned, today=REPORT_DAY)
    with warehouse(wh) as con:  # what loading June's delivery would have recorded
        now = datetime(2024, 7, 1, 2, 0)
        con.execute("INSERT INTO audit.load_ledger VALUES (?, 'mz', ?, 'households.csv', 12, 11, 1, 'loaded', ?,"
                    " NULL, 'utf-8', 2, NULL)", [LOAD_ID, JUNE, now])
        con.execute("INSERT INTO audit.load_ledger VALUES (?, 'mz', ?, 'members.csv', 20, 20, 0, 'loaded', ?,"
                    " NULL, 'utf-8', 0, NULL)", [LOAD_ID, JUNE, now])
        con.execute("INSERT INTO audit.quarantine VALUES (?, 'mz', ?, 'households.csv', 7, '月人均收入', '-5',"
                    " 'amount_negative')", [LOAD_ID, JUNE])
        con.execute("INSERT INTO audit.dq_results VALUES (?, 'mz', ?, 'households.csv', 'values_in_set:category',"
                    " '保障类别', 'row', false, 1, 12)", [LOAD_ID, JUNE])
        con.execute("INSERT INTO audit.alerts VALUES (?, 'warning', 'source_stale', 'cl', ?, 'cl: newest delivery"
                    " was rejected')", [now, JUNE])
    return wh


@pytest.fixture(scope="module")
def html(wh, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-out")
    path = write_report(wh, out, {"deliveries": [{"load_id": LOAD_ID}]}, today=REPORT_DAY)
    assert [p.name for p in out.rglob("*") if p.is_file()] == [path.name]  # one file per run
    assert path.parent == out / "reports" and path.name.startswith("run-report-2024-06-30-")
    return path.read_text(encoding="utf-8")


def tile(html, label):
    found = re.search(r'<div class="v">([^<]*)</div><div class="k">' + re.escape(label), html)
    return found and found.group(1)


def test_the_report_is_self_contained(html):
    lowered = html.lower()
    for external in ("http://", "https://", "<script", "<link", "src=", "url(", "@import", "<img", "<iframe"):
        assert external not in lowered
    assert html.count("<svg") >= 6 and "<style>" in html


def test_sections_have_chinese_titles_and_english_subtitles(html):
    for zh, en in [("数据接收与隔离", "Data received and quarantined"), ("数据质量", "Data quality"),
                   ("风险分布", "Risk distribution"), ("新增预警", "New warnings"), ("核查跟进", "Follow-up"),
                   ("主动发现", "Discovery candidates")]:
        assert re.search(rf"<h2>\d\. {zh} <span class=\"en\">{en}", html)


def test_the_numbers_match_the_warehouse(html):
    assert tile(html, "本次接收行数") == "32"
    assert tile(html, "隔离行数") == "1 (3.1%)"
    assert tile(html, "高风险户") == "5" and tile(html, "中风险户") == "2"  # June: H1 H2 H4 H7 H9 / H3 H14
    assert tile(html, "新增/升级预警") == "7"  # the first list: every row is 新增
    # due by 2024-07-10: H1, H2, H4, H7, H9; done: H1, H9 -> 40 %, overdue 3
    assert tile(html, "核查完成率（已到期）") == "40%"
    assert tile(html, "逾期未核查") == "3"
    assert tile(html, "主动发现对象") == "4"  # + 急难 for H9 (issue 19: every 在册 household)
    assert "amount_negative" in html and "values_in_set:category" in html and "source_stale" in html
    assert "东昌府区 371502" in html and "阳谷县 371521" in html


def test_the_report_names_nobody(html):
    for id_number in ALL_IDS:
        assert id_number not in html and mask(id_number) not in html
    assert FORMULA_NAME not in html and "户主一" not in html and "候选人二" not in html


def test_without_a_run_summary_the_latest_deliveries_are_shown(wh, tmp_path):
    text = write_report(wh, tmp_path, today=REPORT_DAY).read_text(encoding="utf-8")
    assert tile(text, "本次接收行数") == "32"


def test_a_warehouse_without_scores_or_lists_still_gets_a_report(tmp_path):
    with warehouse(tmp_path / "empty.duckdb"):
        pass
    text = write_report(tmp_path / "empty.duckdb", tmp_path / "out").read_text(encoding="utf-8")
    assert "尚无风险评分" in text and "尚未导出名单" in text
