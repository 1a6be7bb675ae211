"""The run report's six sections, each from the warehouse tables it reads (docs/outputs.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import duckdb

from pipelines.ingest.feedback import UNREACHABLE
from pipelines.publish.list_rows import NEW, SAME, UP
from pipelines.publish.report_charts import BAD, GOOD, LEVEL_COLORS, NEUTRAL, bar_chart, stacked_bar_chart
from pipelines.publish.report_html import Section, county_label, h3, html_table, missing
from pipelines.sources.contract import COUNTIES, SOURCE_NAMES
from pipelines.sql import query
from pipelines.warehouse import table_exists

SOURCE_LABELS = {**{s: f"{n} {s}" for s, n in SOURCE_NAMES.items()}, "feedback": "核查反馈 feedback"}
MARKER_COLORS = {NEW: "#c0392b", UP: "#e67e22", SAME: "#95a5a6"}
TOP_TOWNSHIPS = 30  # townships charted; the table under the chart has them all
FOLLOWUP_SERIES = [("已核查", "#27ae60"), (UNREACHABLE, "#f1c40f"), ("待核查", "#95a5a6"), ("逾期", "#c0392b")]
RECENT_LISTS = 6  # lists shown in the follow-up table and counted in its tiles


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _utc_now() -> datetime:
    """Naive UTC, as the ledgers record their times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _run_load_ids(con: duckdb.DuckDBPyConnection, run_summary: dict | None) -> list[str]:
    """This run's deliveries; without a summary, the latest delivery of each source."""
    if run_summary and run_summary.get("deliveries") is not None:
        return [d["load_id"] for d in run_summary["deliveries"] if d.get("load_id")]
    return [r[0] for r in _rows(con, """
        SELECT arg_max(load_id, (extract_date, loaded_at)) FROM audit.load_ledger GROUP BY source""")]


def received(con, run_summary, tiles) -> Section:
    section = Section("数据接收与隔离", "Data received and quarantined, per source")
    ids = _run_load_ids(con, run_summary)
    rows = _rows(con, query("publish/report_received"), [ids])
    per_source: dict[str, dict[str, float]] = {}
    for source, _, _, status, read, loaded, quarantined, _, _ in rows:
        totals = per_source.setdefault(SOURCE_LABELS.get(source, source), {"已入库": 0, "隔离": 0, "拒收": 0})
        totals["已入库"] += loaded
        totals["隔离"] += quarantined
        totals["拒收"] += read if status == "rejected" else 0
    received = sum(r[4] for r in rows)
    quarantined = sum(r[6] for r in rows)
    tiles["本次接收行数|rows received"] = f"{received:,}"
    tiles["隔离行数|rows quarantined"] = f"{quarantined:,}" + (f" ({quarantined / received:.1%})" if received else "")
    section.body.append('<p class="note">本次运行处理的交付（文件行数）。<span class="en">Deliveries this run, '
                        'data rows per source: loaded, quarantined, and rows of rejected deliveries.</span></p>')
    section.body.append(stacked_bar_chart(list(per_source.items()),
                                          [("已入库", GOOD), ("隔离", "#e67e22"), ("拒收", BAD)], unit=" 行",
                                          detail="隔离"))
    section.body.append(html_table(
        ["来源 source", "数据日期 extract", "文件 file", "状态 status", "说明 message", "读取 read", "入库 loaded",
         "隔离 quarantined", "修复 repaired"],
        [(SOURCE_LABELS.get(r[0], r[0]), str(r[1]), r[2], r[3], r[8] or "", r[4], r[5], r[6], r[7])
         for r in rows], numeric_from=5))
    if table_exists(con, "audit.feedback_loads"):
        fb = _rows(con, query("publish/report_feedback_files"), [_utc_now() - timedelta(days=30)])[0]
        section.body.append(
            f'<p>近30天回收核查反馈文件 {fb[0]} 个：入库 {fb[1]:,} 行，隔离 {fb[2]:,} 行，拒收文件 {fb[3]} 个。'
            f'<span class="en">Feedback files in the last 30 days: {fb[0]}; rows loaded {fb[1]:,}, '
            f'quarantined {fb[2]:,}; files rejected {fb[3]}.</span></p>')
    return section


def quality(con, run_summary) -> Section:
    section = Section("数据质量", "Data quality: expectations, quarantine reasons, alerts")
    ids = _run_load_ids(con, run_summary)
    levels = _rows(con, query("publish/report_expectations"), [ids])
    section.body.append(h3("质量规则检查结果", "Great Expectations results per source"))
    section.body.append(stacked_bar_chart(
        [(SOURCE_LABELS.get(s, s), {"通过": ok, "行级未通过": row, "表级未通过": table, "提示": warn})
         for s, ok, row, table, warn in levels],
        [("通过", GOOD), ("行级未通过", "#e67e22"), ("表级未通过", BAD), ("提示", "#f1c40f")], unit=" 项"))
    failed = _rows(con, query("publish/report_failed_expectations"), [ids])
    section.body.append(html_table(["来源 source", "文件 file", "规则 expectation", "列 column", "级别 level",
                                "不符 unexpected", "总数 elements"],
                               [(SOURCE_LABELS.get(r[0], r[0]), *r[1:]) for r in failed], numeric_from=5))
    reasons = _rows(con, """
        SELECT reason, count(*) FROM audit.quarantine WHERE list_contains($1, load_id)
        GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 12""", [ids])
    section.body.append(h3("隔离原因", "Quarantined cells by reason"))
    section.body.append(bar_chart([(r, n) for r, n in reasons], color="#e67e22", unit=" 格"))
    since = _scalar(con, "SELECT min(loaded_at) FROM audit.load_ledger WHERE list_contains($1, load_id)", [ids])
    alerts = _rows(con, """
        SELECT strftime(raised_at, '%Y-%m-%d %H:%M'), level, kind, coalesce(source, ''), message FROM audit.alerts
        WHERE $1::TIMESTAMP IS NULL OR raised_at >= $1::TIMESTAMP ORDER BY raised_at DESC LIMIT 20""", [since])
    section.body.append(h3("告警", "Alerts"))
    section.body.append(html_table(["时间 raised", "级别 level", "类型 kind", "来源 source", "内容 message"], alerts,
                               numeric_from=99))
    return section


def risk(con, as_of, tiles, warehouse: Path) -> Section:
    section = Section("风险分布", "Risk distribution by county and township")
    if not table_exists(con, "mart.risk_list") or as_of is None:
        return missing(section, "尚无风险评分 (mart.risk_list not built yet)")
    counts = _rows(con, """
        SELECT county_code, township_code, risk_level, count(*) FROM mart.risk_list WHERE as_of_date = $1
        GROUP BY ALL ORDER BY county_code, township_code""", [as_of])
    by_county: dict[str, dict[str, float]] = {}
    by_township: dict[tuple, dict[str, float]] = {}
    for county, township, level, n in counts:
        by_county.setdefault(county, {}).setdefault(level, 0)
        by_county[county][level] += n
        by_township.setdefault((county, township), {})[level] = n
    levels = [(lvl, LEVEL_COLORS[lvl]) for lvl in ("高", "中", "低")]
    tiles["高风险户|high risk"] = f"{sum(v.get('高', 0) for v in by_county.values()):,}"
    tiles["中风险户|medium risk"] = f"{sum(v.get('中', 0) for v in by_county.values()):,}"
    section.body.append(f'<p class="note">评分日期 {as_of}，在册非低保/特困家庭。<span class="en">Scoring date '
                        f'{as_of}; scored households by risk level.</span></p>')
    section.body.append(_model_note(con, as_of, warehouse))
    section.body.append(h3("按县（市、区）", "By county"))
    section.body.append(stacked_bar_chart([(county_label(c), v) for c, v in sorted(by_county.items())], levels,
                                          unit=" 户"))
    ranked = sorted(by_township.items(), key=lambda kv: (-(kv[1].get("高", 0) + kv[1].get("中", 0)), kv[0]))
    shown = ranked[:TOP_TOWNSHIPS]
    section.body.append(h3(f"按乡镇（街道）：高+中 户数最多的 {len(shown)} 个",
                            f"By township: the {len(shown)} with most 高+中 of {len(ranked)}"))
    section.body.append(stacked_bar_chart([(f"{COUNTIES.get(c, c)} {t}", v) for (c, t), v in shown],
                                          levels, unit=" 户"))
    section.body.append(
        f"<details><summary>全部 {len(ranked)} 个乡镇（街道） <span class=\"en\">all townships</span></summary>"
        + html_table(["县（市、区） county", "乡镇（街道） township", "高", "中", "低"],
                 [(county_label(c), t, v.get("高", 0), v.get("中", 0), v.get("低", 0)) for (c, t), v in
                  sorted(by_township.items())], numeric_from=2) + "</details>")
    return section


def _model_note(con, as_of, warehouse: Path) -> str:
    from pipelines.score.registry import in_force

    versions = [v for (v,) in _rows(con, "SELECT DISTINCT model_version FROM mart.risk_list_detail"
                                         " WHERE as_of_date = $1", [as_of])]
    found = in_force(warehouse, versions[0]) if len(versions) == 1 else None
    if found is None:
        return f'<p class="note">评分模型 model: {escape(", ".join(versions))}</p>' if versions else ""
    why = f'：{escape(found["why_zh"])}' if found["why_zh"] else ""
    return (f'<p class="note">评分模型 model in force: {escape(found["name"])} ({escape(found["version"])}){why}'
            f'<br><span class="en">{escape(found["reason"])}</span></p>')


def warnings(con, as_of, tiles) -> Section:
    section = Section("新增预警", "New warnings on the latest lists, and who left them")
    if not table_exists(con, "mart.listed_households"):
        return missing(section, "尚未导出名单 (no lists exported yet)")
    listed = _scalar(con, "SELECT max(as_of_date) FROM mart.listed_households")
    if listed is None:
        return missing(section, "尚未导出名单 (no lists exported yet)")
    markers = _rows(con, """
        SELECT county_code, marker, count(*) FROM mart.listed_households WHERE as_of_date = $1
        GROUP BY ALL ORDER BY ALL""", [listed])
    by_county: dict[str, dict[str, float]] = {}
    for county, marker, n in markers:
        by_county.setdefault(county, {})[marker] = n
    new = sum(n for _, m, n in markers if m in ("新增", "升级"))
    tiles["新增/升级预警|new or raised"] = f"{new:,}"
    if listed != as_of:
        section.body.append(f'<p class="note">最近导出的名单为 {listed}（评分日期 {as_of}）。<span class="en">'
                            f'The latest exported lists are of {listed}.</span></p>')
    section.body.append(h3(f"{listed} 名单：新增 / 升级 / 持续", "Rows marked new / raised / continuing"))
    section.body.append(stacked_bar_chart([(county_label(c), v) for c, v in sorted(by_county.items())],
                                          list(MARKER_COLORS.items()), unit=" 户"))
    departed = _rows(con, """
        SELECT reason, count(*) FROM mart.list_departures WHERE as_of_date = $1
        GROUP BY reason ORDER BY count(*) DESC, reason""", [listed])
    section.body.append(h3("退出名单原因", "Households that left the list, by reason"))
    section.body.append(bar_chart(departed, color=NEUTRAL, unit=" 户"))
    return section




def followup(con, today, tiles) -> Section:
    section = Section("核查跟进", "Follow-up: completed and overdue checks")
    if not table_exists(con, "mart.followup_status"):
        return missing(section, "尚未导出名单 (no lists exported yet)")
    recent = query("publish/followup_recent")  # the listings of the latest lists, each with its status
    params = {"today": today, "recent_lists": RECENT_LISTS}
    per_list = _rows(con, query("publish/followup_per_list", recent=recent), params)
    if not per_list:
        return missing(section, "尚未导出名单 (no lists exported yet)")
    due = sum(r[7] for r in per_list)
    done_when_due = _scalar(con, f"SELECT count(*) FROM ({recent}) WHERE deadline < $today AND completed", params)
    owed = _scalar(con, query("publish/followup_owed", recent=recent), params)  # overdue on the latest listing
    tiles["核查完成率（已到期）|checks done when due"] = f"{done_when_due / due:.0%}" if due else "—"
    tiles["逾期未核查|overdue checks"] = f"{owed:,}"
    section.body.append(
        f'<p class="note">以 {today} 计；逾期 = 超过核查期限仍无“联系不上”以外的核查结果（计入各户最近一次列入）。'
        f'<span class="en">As of {today}; overdue = past the deadline without a result other than 联系不上 '
        f'(the tile counts each household\'s latest listing; the table every list).</span></p>')
    section.body.append(html_table(
        ["名单日期 list", "列入 listed", "已核查 done", "按期 on time", "联系不上 unreachable", "待核查 pending",
         "逾期 overdue", "完成率 done %"],
        [(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], f"{r[2] / r[1]:.0%}" if r[1] else "—") for r in per_list]))
    judged = next((r[0] for r in per_list if r[7]), per_list[0][0])  # the newest list with checks already due
    counties = _rows(con, f"""
        SELECT county_code, status, count(*) FROM ({recent}) WHERE as_of_date = $judged
        GROUP BY ALL ORDER BY ALL""", {**params, "judged": judged})
    by_county: dict[str, dict[str, float]] = {}
    for county, status, n in counties:
        by_county.setdefault(county, {})[status] = n
    section.body.append(h3(f"{judged} 名单各县核查进度", "Progress per county, share of the list"))
    section.body.append(stacked_bar_chart([(county_label(c), v) for c, v in sorted(by_county.items())],
                                          FOLLOWUP_SERIES, unit=" 户", percent=True, detail="逾期"))
    results = _rows(con, f"""
        SELECT latest_result, count(*) FROM ({recent}) WHERE latest_result IS NOT NULL
        GROUP BY ALL ORDER BY count(*) DESC""", params)
    section.body.append(h3("核查结果", "Check results reported (latest per listing)"))
    section.body.append(bar_chart(results, color=GOOD, unit=" 户"))
    return section


def discovery(con, tiles) -> Section:
    section = Section("主动发现", "Discovery candidates per rule and county")
    if not table_exists(con, "mart.discovery_candidates"):
        return missing(section, "尚无主动发现结果 (mart.discovery_candidates not built yet)")
    rules = _rows(con, "SELECT rule, count(*) FROM mart.discovery_candidates GROUP BY rule ORDER BY count(*) DESC")
    tiles["主动发现对象|discovery candidates"] = f"{sum(n for _, n in rules):,}"
    section.body.append(bar_chart(rules, color="#8e44ad", unit=" 人"))
    names = [r for r, _ in rules]
    per_county = _rows(con, f"""
        SELECT county_code, {", ".join(f"count(*) FILTER (WHERE rule = ${i + 1})" for i in range(len(names)))}
        FROM mart.discovery_candidates GROUP BY county_code ORDER BY county_code""", names) if names else []
    section.body.append(html_table(["县（市、区） county", *names], [(county_label(r[0]), *r[1:]) for r in per_county]))
    return section
