"""The run report's part for the data team: deliveries per file, quarantine, repairs, checks, alerts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from pipelines.catalog import table_exists
from pipelines.publish.report_charts import BAD, GOOD, bar_chart, stacked_bar_chart
from pipelines.publish.report_html import Section, h3, html_table, tiles_html
from pipelines.publish.report_names import ALERTS, check_name, message_zh, named, reason_name, repair_name, status_name
from pipelines.sources.contract import SOURCE_NAMES
from pipelines.sql import query

SOURCE_LABELS = {**{s: f"{n} {s}" for s, n in SOURCE_NAMES.items()}, "feedback": "核查反馈 feedback"}
LEVELS = {"row": "行级（隔离） row", "table": "表级（拒收） table", "warn": "提示 warn"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _utc_now() -> datetime:
    """Naive UTC, as the ledgers record their times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def run_load_ids(con: duckdb.DuckDBPyConnection, run_summary: dict | None) -> list[str]:
    """This run's deliveries; without a summary, the latest delivery of each source."""
    if run_summary and run_summary.get("deliveries") is not None:
        return [d["load_id"] for d in run_summary["deliveries"] if d.get("load_id")]
    return [r[0] for r in _rows(con, """
        SELECT arg_max(load_id, (extract_date, loaded_at)) FROM audit.load_ledger GROUP BY source""")]


def received(con, run_summary) -> Section:
    this_run = bool(run_summary and run_summary.get("deliveries") is not None)
    section = Section("数据接收与隔离", "Data received and quarantined, per source and file")
    ids = run_load_ids(con, run_summary)
    rows = _rows(con, query("publish/report_received"), [ids])
    per_source: dict[str, dict[str, float]] = {}
    for source, _, _, status, read, loaded, quarantined, _, _ in rows:
        totals = per_source.setdefault(SOURCE_LABELS.get(source, source), {"已入库": 0, "隔离": 0, "拒收": 0})
        totals["已入库"] += loaded
        totals["隔离"] += quarantined
        totals["拒收"] += read if status == "rejected" else 0
    # a replay's rows were received again, not read: the tile counts what the chart shows
    read_rows = sum(r[4] for r in rows if r[3] != "skipped_duplicate")
    quarantined = sum(r[6] for r in rows)
    label = "本次接收行数|rows received this run" if this_run else "最近一次接收行数|rows of each source's latest delivery"
    section.body.append(tiles_html({
        label: f"{read_rows:,}",
        "隔离行数|rows quarantined": f"{quarantined:,}" + (f" ({quarantined / read_rows:.1%})" if read_rows else ""),
    }))
    if this_run:
        section.body.append('<p class="note">本次运行处理的交付（文件行数）。<span class="en">Deliveries this run, '
                            'data rows per source: loaded, quarantined, and rows of rejected deliveries.</span></p>')
    else:
        section.body.append('<p class="note">未提供运行摘要：以下为各来源最近一次接收的交付，不一定是同一次运行。'
                            '<span class="en">No run summary: each source\'s latest delivery, '
                            'not necessarily of one run.</span></p>')
    section.body.append(stacked_bar_chart(list(per_source.items()),
                                          [("已入库", GOOD), ("隔离", "#e67e22"), ("拒收", BAD)], unit=" 行",
                                          detail="隔离"))
    section.body.append(h3("逐文件明细", "Per file"))
    section.body.append('<div id="per-file">' + html_table(
        ["来源 source", "数据日期 extract", "文件 file", "状态 status", "说明 message", "读取 read", "入库 loaded",
         "隔离 quarantined", "修复 repaired"],
        [(SOURCE_LABELS.get(r[0], r[0]), str(r[1]), r[2], status_name(r[3]), message_zh(r[8]), r[4], r[5], r[6], r[7])
         for r in rows], numeric_from=5) + "</div>")
    if table_exists(con, "audit.feedback_loads"):
        section.body.append(_feedback_files(con))
    return section


def _feedback_files(con) -> str:
    since = _utc_now() - timedelta(days=30)
    files, loaded, quarantined, rejected, duplicates, repeated = _rows(
        con, query("publish/report_feedback_files"), [since])[0]
    repeated = repeated or 0
    # a list returned, then saved with more rows filled in and returned again, repeats its first answers
    same = f"（其中 {repeated:,} 行与先前交回的结果相同）" if repeated else ""
    same_en = f" ({repeated:,} of them repeat an answer returned before)" if repeated else ""
    again = (f"另有 {duplicates} 个重复文件未入库（{status_name('skipped_duplicate')}）。" if duplicates else "")
    again_en = f" {duplicates} duplicate files skipped." if duplicates else ""
    return (f'<p>近30天回收核查反馈文件 {files} 个：入库 {loaded:,} 行{same}，隔离 {quarantined:,} 行，拒收文件 {rejected} 个。'
            f'{again}<span class="en">Feedback files in the last 30 days: {files}; rows loaded {loaded:,}{same_en}, '
            f'quarantined {quarantined:,}; files rejected {rejected}.{again_en}</span></p>'
            + (html_table(["拒收文件 file rejected", "时间 attempted (UTC)", "原因 reason"],
                          _rows(con, query("publish/report_feedback_rejected"), [since]), numeric_from=3)
               if rejected else ""))


def quality(con, run_summary) -> Section:
    section = Section("数据质量", "Data quality: checks, quarantine and repair reasons, alerts")
    ids = run_load_ids(con, run_summary)
    levels = _rows(con, query("publish/report_expectations"), [ids])
    section.body.append(h3("质量规则检查结果", "Great Expectations results per source"))
    section.body.append(stacked_bar_chart(
        [(SOURCE_LABELS.get(s, s), {"通过": ok, "行级未通过": row, "表级未通过": table, "提示": warn})
         for s, ok, row, table, warn in levels],
        [("通过", GOOD), ("行级未通过", "#e67e22"), ("表级未通过", BAD), ("提示", "#f1c40f")], unit=" 项"))
    failed = _rows(con, query("publish/report_failed_expectations"), [ids])
    section.body.append(h3("未通过的检查（同一检查合并为一行）", "Failed checks, one row per check with its file count"))
    section.body.append(html_table(
        ["来源 source", "文件 file", "规则 check", "列 column", "级别 level", "文件数 files", "不符 unexpected",
         "总数 elements"],
        [(SOURCE_LABELS.get(r[0], r[0]), r[1], check_name(r[2]), r[3], LEVELS.get(r[4], r[4]), *r[5:])
         for r in failed], numeric_from=5))
    reasons = _rows(con, """
        SELECT reason, count(*) FROM audit.quarantine WHERE list_contains($1, load_id)
        GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 12""", [ids])
    section.body.append(h3("隔离原因", "Quarantined cells by reason"))
    section.body.append(bar_chart([(reason_name(r), n) for r, n in reasons], color="#e67e22", unit=" 格"))
    repairs = _rows(con, query("publish/report_repairs"), [ids])
    section.body.append(h3("自动修复", "Repaired cells by kind"))
    section.body.append(bar_chart([(repair_name(k), n) for k, n in repairs], color=GOOD, unit=" 格"))
    section.body.append(h3("告警", "Alerts"))
    section.body.append(html_table(["时间 raised", "级别 level", "类型 kind", "来源 source", "内容 message"],
                                   _alerts(con, ids, (run_summary or {}).get("started_at")), numeric_from=99))
    return section


def _alerts(con, ids, started_at: str | None = None) -> list[tuple]:
    """The run's alerts: from its discovery (held, misnamed, refused folders) when its start is known,
    else from its first load."""
    since = datetime.fromisoformat(started_at) if started_at else _rows(
        con, "SELECT min(loaded_at) FROM audit.load_ledger WHERE list_contains($1, load_id)", [ids])[0][0]
    alerts = _rows(con, """
        SELECT strftime(raised_at, '%Y-%m-%d %H:%M'), level, kind, coalesce(source, ''), message FROM audit.alerts
        WHERE $1::TIMESTAMP IS NULL OR raised_at >= $1::TIMESTAMP ORDER BY raised_at DESC LIMIT 20""", [since])
    return [(t, named(level, ALERTS), named(kind, ALERTS), source, message) for t, level, kind, source, message
            in alerts]
