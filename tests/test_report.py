"""The run report: one self-contained HTML file with the director's numbers.

June's lists are issued 2024-07-01; feedback says H1 was checked 2024-07-03
and H9 on 2024-07-02; the report judges overdue checks on 2024-07-10, when the
3-working-day and 24-hour deadlines (H1, H2, H4, H7, H9) have passed.
"""

import json
import re
import subprocess
from datetime import date, datetime
from html import unescape
from pathlib import Path

import pytest

from pipelines.ingest.feedback import load_feedback
from pipelines.publish.lists import write_lists
from pipelines.publish.report import write_report
from pipelines.warehouse import warehouse
from tests.desktop import desktop  # noqa: F401
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
    load_feedback(wh, returned, today=REPORT_DAY)  # the same file again: skipped as a duplicate
    resaved = root / "returned-again.csv"  # saved again with a note added: H1's answer repeats, H9's is new
    resaved.write_text("家庭编号,核查结果,核查日期,备注\nH1,不符合条件,2024-07-03,\nH9,临时救助,2024-07-02,已发放\n",
                       encoding="utf-8")
    load_feedback(wh, resaved, today=REPORT_DAY)
    with warehouse(wh) as con:  # what loading June's delivery would have recorded
        now = datetime(2024, 7, 1, 2, 0)
        con.execute("INSERT INTO audit.load_ledger VALUES (?, 'mz', ?, 'households.csv', 12, 11, 1, 'loaded', ?,"
                    " NULL, 'utf-8', 2, NULL)", [LOAD_ID, JUNE, now])
        con.execute("INSERT INTO audit.load_ledger VALUES (?, 'mz', ?, 'members.csv', 20, 20, 0, 'loaded', ?,"
                    " NULL, 'utf-8', 0, NULL)", [LOAD_ID, JUNE, now])
        con.execute("INSERT INTO audit.quarantine VALUES (?, 'mz', ?, 'households.csv', 7, '月人均收入', '-5',"
                    " 'amount_negative')", [LOAD_ID, JUNE])
        for file_name, failing in (("households.csv", 1), ("members.csv", 2)):  # one check failing in two files
            con.execute("INSERT INTO audit.dq_results VALUES (?, 'mz', ?, ?, 'in_set:category', '保障类别', 'row',"
                        " false, ?, 12)", [LOAD_ID, JUNE, file_name, failing])
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
    for n, zh, en in [(1, "风险分布", "Risk distribution"), (2, "新增预警", "New warnings"),
                      (3, "主动发现", "Discovery candidates"), (4, "核查跟进", "Follow-up"), (5, "趋势", "Trends"),
                      (6, "数据接收与隔离", "Data received and quarantined"), (7, "数据质量", "Data quality")]:
        assert re.search(rf"<h2>{n}\. {zh} <span class=\"en\">{en}", html), zh


def test_officials_read_the_summary_and_risk_before_the_data_teams_detail(html):
    at = {what: html.index(marker) for what, marker in [
        ("summary", '<section id="summary"'), ("risk", "<h2>1. 风险分布"), ("discovery", "<h2>3. 主动发现"),
        ("followup", "<h2>4. 核查跟进"), ("trends", "<h2>5. 趋势"),
        ("data team", '<h2 class="part">数据质量与接收明细（数据组）'),
        ("per file", '<div id="per-file">'), ("checks", "未通过的检查"), ("quarantine", "<h3>隔离原因")]}
    assert list(at) == sorted(at, key=at.get), at
    summary = html[at["summary"]:at["risk"]]
    for said in ("评分日期 <b>2024-06-30</b>", "纳入监测（评分）家庭", "高风险 <b>5</b> 户", "中风险 <b>2</b> 户",
                 "名单新增/升级预警 <b>7</b> 户", "主动发现对象 <b>4</b> 人", "逾期未核查 <b>3</b> 户", "与上次"):
        assert said in summary, said
    assert "本次接收行数" not in summary and "隔离行数" not in summary


def test_the_summary_says_what_changed_since_the_previous_scoring(wh, html):
    with warehouse(wh, read_only=True) as con:
        (before, high0, medium0, scored0), (_, high, medium, scored) = con.execute(
            "SELECT as_of_date, count(*) FILTER (WHERE risk_level = '高'), count(*) FILTER (WHERE risk_level = '中'),"
            " count(*) FROM mart.risk_list GROUP BY ALL ORDER BY as_of_date DESC LIMIT 2").fetchall()[::-1]

    def said(now, then):
        return "持平" if now == then else f"{'增加' if now > then else '减少'} {abs(now - then)} 户"

    assert (f"与上次（{before}）相比：高风险{said(high, high0)}，中风险{said(medium, medium0)}，"
            f"监测家庭{said(scored, scored0)}。") in html


def test_statuses_and_codes_have_chinese_names_beside_them(html):
    detail = html[html.index('<div id="per-file">'):]
    assert "<td>已入库 loaded</td>" in detail and ">loaded<" not in detail
    assert "金额为负 amount_negative" in detail
    assert "取值在代码表内 in_set:category" in detail


def test_one_check_failing_in_several_files_is_one_row(html):
    table = html[html.index("未通过的检查"):html.index("<h3>隔离原因")]
    rows = re.findall(r"<tr><td>.*?</tr>", table)
    assert len(rows) == 1, rows
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows[0])
    assert cells[1] == "households.csv、members.csv" and cells[5:] == ["2", "3", "24"]


def test_a_duplicate_feedback_file_is_not_counted_as_a_feedback_file(html):
    assert "近30天回收核查反馈文件 2 个" in html and "另有 1 个重复文件未入库" in html


def test_answers_a_re_saved_list_repeats_are_counted_as_repeats(html):
    assert "入库 4 行（其中 1 行与先前交回的结果相同）" in html


def test_the_numbers_match_the_warehouse(html):
    assert tile(html, "本次接收行数") == "32"
    assert tile(html, "隔离行数") == "1 (3.1%)"
    assert tile(html, "高风险户") == "5" and tile(html, "中风险户") == "2"  # June: H1 H2 H4 H7 H9 / H3 H14
    assert tile(html, "新增/升级预警") == "7"  # the first list: every row is 新增
    # due by 2024-07-10: H1, H2, H4, H7, H9; done: H1, H9 -> 40 %, overdue 3
    assert tile(html, "核查完成率（已到期）") == "40%"
    assert tile(html, "逾期未核查") == "3"
    assert tile(html, "主动发现对象") == "4"  # + 急难 for H9 (issue 19: every 在册 household)
    assert "amount_negative" in html and "in_set:category" in html and "source_stale" in html
    assert "东昌府区 371502" in html and "阳谷县 371521" in html


def test_the_risk_section_says_levels_follow_capacity_and_how_many_are_expected_below(wh, html):
    """An official read "高风险户 161" of 171 as 161 households likely to fall (the fourth audit):
    the levels follow the visits, and the scores' sum is what the model expects."""
    with warehouse(wh) as con:
        expected = con.execute("SELECT sum(risk_score) FROM mart.risk_list WHERE as_of_date ="
                               " (SELECT max(as_of_date) FROM mart.risk_list)").fetchall()[0][0]
    assert "按各乡镇的入户能力划分" in html and f"评分合计约 {expected:,.0f} 户预计三个月内低于低保线" in html


def test_the_follow_up_table_does_not_call_its_share_of_the_listed_a_completion_rate(html):
    """The tile's 完成率 is done of due; the table beside it showed done of listed under the same
    name, 0% for a list issued that day beside the tile's "—" (the fourth audit)."""
    assert "已核查占列入 done of listed" in html and "完成率 done %" not in html


def test_the_report_names_nobody(html):
    for id_number in ALL_IDS:
        assert id_number not in html and mask(id_number) not in html
    assert FORMULA_NAME not in html and "户主一" not in html and "候选人二" not in html


def test_without_a_run_summary_the_latest_deliveries_are_shown(wh, tmp_path):
    text = write_report(wh, tmp_path, today=REPORT_DAY).read_text(encoding="utf-8")
    assert tile(text, "最近一次接收行数") == "32" and "本次接收行数" not in text
    assert "未提供运行摘要" in text and "近30天回收核查反馈文件 2 个" in text


def test_a_warehouse_without_scores_or_lists_still_gets_a_report(tmp_path):
    with warehouse(tmp_path / "empty.duckdb"):
        pass
    text = write_report(tmp_path / "empty.duckdb", tmp_path / "out").read_text(encoding="utf-8")
    assert "尚无风险评分" in text and "尚未导出名单" in text


# Added to a copy of the report only (the report itself has no script): where the parts lie once laid out.
PROBE = """<script>addEventListener("load", function () {
  function at(s) { var b = document.querySelector(s).getBoundingClientRect(); return [b.top, b.bottom]; }
  document.body.setAttribute("data-probe", JSON.stringify({width: innerWidth, height: innerHeight,
    summary: at("#summary"), risk: at("#risk h2"), detail: at("#data-team"), perfile: at("#per-file")}));
});</script>"""


@pytest.mark.slow
def test_a_leader_sees_the_summary_and_the_risk_heading_on_the_first_screen(html, desktop, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run([desktop["chromium"], "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1280,800", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=300)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, f"chromium laid nothing out: {done.stderr[-500:]}"
    at = json.loads(unescape(found.group(1)))
    screen = at["height"]  # a 1280×800 window's viewport: 800 less what the browser's frame takes
    assert at["width"] == 1280 and 600 <= screen <= 800, at
    assert 0 <= at["summary"][0] and at["summary"][1] <= screen, at  # the whole summary
    assert at["risk"][1] <= screen, at  # and the risk section's heading
    assert at["perfile"][0] > at["detail"][0] > screen, at  # the data team's detail only further down


def _listed_after(text: str, heading: str) -> set[str]:
    """The codes of a docs/ingest.md paragraph that starts with `heading`, up to its blank line."""
    paragraph = text.split(heading, 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"[a-z][a-z0-9_]+", paragraph)) - {"also", "for", "s", "id", "part"}


def test_every_code_the_ledgers_record_has_a_chinese_name():
    from pipelines.publish.report_names import CHECKS, REASONS, REPAIRS, STATUSES

    root = Path(__file__).resolve().parents[1]
    ingest = (root / "docs" / "ingest.md").read_text(encoding="utf-8")
    assert _listed_after(ingest, "Reject reasons:") - set(REASONS) == set()
    assert _listed_after(ingest, "Repair kinds:") - set(REPAIRS) == set()
    raised = set(re.findall(r'BadValue\("([a-z_]+)"', "".join(
        p.read_text(encoding="utf-8") for p in (root / "pipelines").rglob("*.py"))))
    assert raised and raised - set(REASONS) == set()
    checks = {c for p in (root / "expectations").glob("*.json")
              for c in re.findall(r'"check": *"([a-z0-9_]+)"', p.read_text(encoding="utf-8"))}
    assert checks and checks - set(CHECKS) == set()
    assert {"loaded", "rejected", "superseded", "skipped_duplicate", "held"} <= set(STATUSES)


def test_feedback_advice_only_for_named_reasons():
    # the caseworker's advice adds to the one table of reasons, never a code of its own
    from pipelines.ingest.feedback_outcomes import ADVICE, reason_text
    from pipelines.sources.reason_names import REASONS

    assert set(ADVICE) - set(REASONS) == set()
    assert reason_text("id_check_failed", None, None) == REASONS["id_check_failed"]  # no advice: the name
    assert reason_text("date_unparseable", "核查日期", "上周") == "核查日期“上周”：" + ADVICE["date_unparseable"]
    assert reason_text("brand_new_code", None, None) == "brand_new_code"


def test_names_keep_the_code_beside_them():
    from pipelines.publish.report_names import check_name, message_zh, reason_name, repair_name, status_name

    assert status_name("skipped_duplicate") == "重复未入库 skipped_duplicate"
    assert status_name("something_new") == "something_new"  # an unnamed code shows as recorded
    assert reason_name("id_lossy_float") == "身份证号或编号存成数字时丢失了位数 id_lossy_float"
    assert reason_name("gx:not_null") == "质量规则：非空 gx:not_null"
    assert repair_name("id_fullwidth+id_lowercase_x") == "身份证号全角转半角+身份证号x改大写 id_fullwidth+id_lowercase_x"
    assert check_name("in_set:category") == "取值在代码表内 in_set:category"
    assert message_zh("replay of mz/2024-02-29 (same content), nothing loaded") == "与 mz/2024-02-29 内容相同，未重复入库"
    assert message_zh("cl: a message no one translated") == "cl: a message no one translated"


def test_an_out_folder_that_is_a_file_is_a_one_line_error(wh, tmp_path):
    from pipelines.publish.report import ReportError

    (tmp_path / "a-file").write_text("")
    with pytest.raises(ReportError, match="cannot write the run report under .*a-file/reports: Not a directory"):
        write_report(wh, tmp_path / "a-file", today=REPORT_DAY)


def test_discovery_counts_people_not_person_rule_rows(wh, tmp_path):
    """A person two rules found is one person to visit: the tile and the summary say 人."""
    copy = copy_file(wh, tmp_path)
    with warehouse(copy) as con:  # the first candidate found by a second rule too
        con.execute("INSERT INTO mart.discovery_candidates SELECT * REPLACE ('another_rule' AS rule)"
                    " FROM mart.discovery_candidates LIMIT 1")
        rows, people = con.execute("SELECT count(*), count(DISTINCT person_key) FROM mart.discovery_candidates"
                                   ).fetchall()[0]
    assert rows == people + 1
    text = write_report(copy, tmp_path / "out", {}, today=REPORT_DAY).read_text(encoding="utf-8")
    assert tile(text, "主动发现对象") == str(people) and f"主动发现对象 <b>{people}</b> 人" in text


def test_a_month_whose_delivery_never_loaded_is_named_under_the_monthly_table(wh, tmp_path):
    copy = copy_file(wh, tmp_path)
    with warehouse(copy) as con:  # 民政 of April rejected (its _READY counts), never re-sent
        con.execute("INSERT INTO audit.deliveries VALUES ('mz-20240430-x', 'mz', '2024-04-30', 'mz/2024-04-30',"
                    " 'c', 'r', 'rejected', 'counts', NULL, '2024-06-01 02:00:00')")
    text = write_report(copy, tmp_path / "out", {}, today=REPORT_DAY).read_text(encoding="utf-8")
    assert "民政数据未入库：2024-04-30（" in text and "2024-04-30 (rejected)" in text
    assert "民政数据未入库" not in write_report(wh, tmp_path / "out2", {}, today=REPORT_DAY).read_text(
        encoding="utf-8")


def test_the_monthly_table_says_what_each_month_did_not_read(html):
    """Households counted with the state last read and the 残联 snapshot behind the subsidies,
    per month, so that a carried figure is not taken for that month's own."""
    table = html[html.index("每月在册户数"):]
    table = table[:table.index("</table>")]
    assert "其中沿用上次状态" in table and "残联数据日期" in table
    first = re.findall(r"<tr><td>.*?</tr>", table)[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", first)
    assert len(cells) == 8 and re.fullmatch(r"\d{4}-\d{2}-\d{2}|—", cells[-1]) and cells[-2].isdigit()


def test_the_trend_table_counts_discovery_candidates_in_people_as_the_summary_does(wh, tmp_path):
    """The officials' audit found the summary saying 200 people and the trend table 210 for one
    list: the table counted person × rule rows."""
    from pipelines.sql import query

    copy = copy_file(wh, tmp_path)
    with warehouse(copy) as con:  # the first listed candidate shown by a second rule too
        con.execute("INSERT INTO mart.listed_candidates SELECT * REPLACE ('another_rule' AS rule)"
                    " FROM mart.listed_candidates LIMIT 1")
        rows, people, new = con.execute(
            "SELECT count(*), count(DISTINCT person_key), count(DISTINCT person_key) FILTER (WHERE marker = '新增')"
            " FROM mart.listed_candidates WHERE as_of_date = (SELECT max(as_of_date) FROM mart.listed_candidates)"
        ).fetchall()[0]
        [(_, shown, shown_new)] = [r for r in con.execute(query("publish/report_candidate_trend")).fetchall()
                                   if r[0] == con.execute("SELECT max(as_of_date) FROM mart.listed_candidates"
                                                          ).fetchall()[0][0]]
    assert rows == people + 1 and (shown, shown_new) == (people, new)


def test_the_rows_received_tile_leaves_out_replays_as_the_chart_does(tmp_path):
    """A replay's rows were counted in "本次接收行数" but not in the chart under it, and the
    quarantined share was taken over them too (the fourth audit: 36,675 against 31,929)."""
    from pipelines.publish.report_data_team import received
    from tests.pipeline_run import load_all
    from tests.test_hostile_input import _delivery

    landing = tmp_path / "landing"
    _delivery(landing / "mz" / "2024-01-31")
    _delivery(landing / "mz" / "2024-02-01")  # the same bytes again: a replay
    summary = load_all(landing, tmp_path / "w.duckdb")
    assert [d["status"] for d in summary["deliveries"]] == ["loaded", "skipped_duplicate"]
    with warehouse(tmp_path / "w.duckdb") as con:
        text = "".join(received(con, summary).body)
    assert tile(text, "本次接收行数") == "4"  # 2 households + 2 members, once
