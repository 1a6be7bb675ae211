"""The run report's sections for officials: risk, new warnings, discovery, follow-up (docs/outputs.md)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from pipelines.catalog import table_exists
from pipelines.ingest.feedback import UNREACHABLE
from pipelines.publish.list_rows import NEW, SAME, UP
from pipelines.publish.report_charts import GOOD, LEVEL_COLORS, NEUTRAL, bar_chart, stacked_bar_chart
from pipelines.publish.report_html import Section, county_label, h3, html_table, missing
from pipelines.sources.contract import COUNTIES
from pipelines.sql import query

MARKER_COLORS = {NEW: "#c0392b", UP: "#e67e22", SAME: "#95a5a6"}
TOP_TOWNSHIPS = 30  # townships charted; the table under the chart has them all
FOLLOWUP_SERIES = [("已核查", "#27ae60"), (UNREACHABLE, "#f1c40f"), ("待核查", "#95a5a6"), ("逾期", "#c0392b")]
RECENT_LISTS = 6  # lists shown in the follow-up table and counted in its tiles


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def risk(con, as_of, tiles, warehouse: Path) -> Section:
    section = Section("风险分布", "Risk distribution by county and township", "risk")
    if not table_exists(con, "mart.risk_list") or as_of is None:
        return missing(section, "尚无风险评分 (mart.risk_list not built yet)")
    counts = _rows(con, """
        SELECT county_code, township_code, risk_level, count(*), sum(risk_score) FROM mart.risk_list
        WHERE as_of_date = $1 GROUP BY ALL ORDER BY county_code, township_code""", [as_of])
    by_county: dict[str, dict[str, float]] = {}
    by_township: dict[tuple, dict[str, float]] = {}
    for county, township, level, n, _ in counts:
        by_county.setdefault(county, {}).setdefault(level, 0)
        by_county[county][level] += n
        by_township.setdefault((county, township), {})[level] = n
    levels = [(lvl, LEVEL_COLORS[lvl]) for lvl in ("高", "中", "低")]
    tiles["高风险户|high risk"] = f"{sum(v.get('高', 0) for v in by_county.values()):,}"
    tiles["中风险户|medium risk"] = f"{sum(v.get('中', 0) for v in by_county.values()):,}"
    expected = sum(r[4] or 0 for r in counts)  # the households the scores expect below the line
    section.body.append(f'<p class="note">评分日期 {as_of}，在册非低保/特困家庭。“高”“中”按各乡镇的入户能力划分'
                        f'（高＝本月入户，中＝其后同样多的户），不是按可能性：评分合计约 {expected:,.0f} 户预计三个月内低于'
                        f'低保线。<span class="en">Scoring date {as_of}; scored households by risk level. 高 and 中 follow'
                        f' each township\'s visit capacity, not a probability; the scores add up to about {expected:,.0f}'
                        f' households expected below the line within 3 months.</span></p>')
    section.body.append(_model_note(con, as_of, warehouse))
    section.body.append(h3("按县（市、区）", "By county"))
    section.body.append(stacked_bar_chart([(county_label(c), v) for c, v in sorted(by_county.items())], levels,
                                          unit=" 户"))
    ranked = sorted(by_township.items(), key=lambda kv: (-(kv[1].get("高", 0) + kv[1].get("中", 0)), kv[0]))
    shown = ranked[:TOP_TOWNSHIPS]
    section.body.append(h3(f"按乡镇（街道）：高+中 户数最多的 {len(shown)} 个",
                            f"By township: the {len(shown)} with most 高+中 of {len(ranked)}"))
    place = _township_names()
    section.body.append(stacked_bar_chart([(f"{COUNTIES.get(c, c)} {place(t)}", v) for (c, t), v in shown],
                                          levels, unit=" 户"))
    section.body.append(
        f"<details><summary>全部 {len(ranked)} 个乡镇（街道） <span class=\"en\">all townships</span></summary>"
        + html_table(["县（市、区） county", "乡镇（街道） township", "高", "中", "低"],
                 [(county_label(c), place(t), v.get("高", 0), v.get("中", 0), v.get("低", 0)) for (c, t), v in
                  sorted(by_township.items())], numeric_from=2) + "</details>")
    return section


def _township_names():
    """`洪官镇（371502101）`, as the lists name it (list_regions.Regions.with_code)."""
    from pipelines.publish.list_regions import Regions, RegionsError, load_regions

    try:
        return load_regions().with_code
    except RegionsError:  # the lists' run says so; the report still shows the codes
        return Regions().with_code


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
    section = Section("新增预警", "New warnings on the latest lists, and who left them", "warnings")
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


def followup(con, today, tiles, facts) -> Section:
    section = Section("核查跟进", "Follow-up: completed and overdue checks", "followup")
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
    facts["pending"] = per_list[0][5]  # the newest list's checks not yet due nor done
    section.body.append(
        f'<p class="note">以 {today} 计；逾期 = 超过核查期限仍无“联系不上”以外的核查结果（计入各户最近一次列入）。'
        f'<span class="en">As of {today}; overdue = past the deadline without a result other than 联系不上 '
        f'(the tile counts each household\'s latest listing; the table every list).</span></p>')
    section.body.append(html_table(
        ["名单日期 list", "列入 listed", "已核查 done", "按期 on time", "联系不上 unreachable", "待核查 pending",
         "逾期 overdue", "已核查占列入 done of listed"],  # not the tile's 完成率, which is of the checks due
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


def discovery(con, tiles, facts) -> Section:
    section = Section("主动发现", "Discovery candidates per rule and county", "discovery")
    if not table_exists(con, "mart.discovery_candidates"):
        return missing(section, "尚无主动发现结果 (mart.discovery_candidates not built yet)")
    rules = _rows(con, "SELECT rule, count(*) FROM mart.discovery_candidates GROUP BY rule ORDER BY count(*) DESC")
    # people, not person × rule rows: a person two rules found is one person to visit
    people = _scalar(con, "SELECT count(DISTINCT person_key) FROM mart.discovery_candidates")
    tiles["主动发现对象|discovery candidates"] = f"{people:,}"
    if table_exists(con, "mart.listed_candidates"):
        facts["new_candidates"] = _scalar(con, query("publish/report_new_candidates"))
    section.body.append(bar_chart(rules, color="#8e44ad", unit=" 人"))
    names = [r for r, _ in rules]
    per_county = _rows(con, f"""
        SELECT county_code, {", ".join(f"count(*) FILTER (WHERE rule = ${i + 1})" for i in range(len(names)))}
        FROM mart.discovery_candidates GROUP BY county_code ORDER BY county_code""", names) if names else []
    section.body.append(html_table(["县（市、区） county", *names], [(county_label(r[0]), *r[1:]) for r in per_county]))
    return section
