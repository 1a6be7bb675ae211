"""The run report's first screen (a summary for the bureau's leaders) and its trends section."""

from __future__ import annotations

from pipelines.catalog import table_exists
from pipelines.publish.report_charts import LEVEL_COLORS, stacked_bar_chart
from pipelines.publish.report_html import Section, h3, html_table, missing, tiles_html
from pipelines.publish.report_names import status_name
from pipelines.sql import query

SUMMARY_TILES = ["监测家庭|households scored", "高风险户|high risk", "中风险户|medium risk",
                 "新增/升级预警|new or raised", "主动发现对象|discovery candidates", "逾期未核查|overdue checks",
                 "核查完成率（已到期）|checks done when due"]


def _rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _delta(now: int, before: int) -> str:
    change = now - before
    return "持平" if change == 0 else f"{'增加' if change > 0 else '减少'} {abs(change):,} 户"


def risk_trend(con) -> list[tuple]:
    """(scoring date, households scored, 高, 中) per scoring date, oldest first."""
    return _rows(con, query("publish/report_risk_trend")) if table_exists(con, "mart.risk_list") else []


def summary(con, as_of, tiles: dict[str, str], facts: dict) -> str:
    """A few sentences and big numbers: what a leader needs before scrolling."""
    trend = risk_trend(con)
    lines = []
    if as_of is None or not trend:
        lines.append("尚无风险评分。")
    else:
        _, scored, high, medium = trend[-1]
        tiles["监测家庭|households scored"] = f"{scored:,}"
        lines.append(f"评分日期 <b>{as_of}</b>：纳入监测（评分）家庭 <b>{scored:,}</b> 户，其中高风险 <b>{high:,}</b> 户、"
                     f"中风险 <b>{medium:,}</b> 户。")
    found = []
    if "新增/升级预警|new or raised" in tiles:
        found.append(f"名单新增/升级预警 <b>{tiles['新增/升级预警|new or raised']}</b> 户")
    if "主动发现对象|discovery candidates" in tiles:
        new = facts.get("new_candidates")
        found.append(f"主动发现对象 <b>{tiles['主动发现对象|discovery candidates']}</b> 人"
                     + (f"（最新名单新增 {new:,} 人）" if new is not None else ""))
    if found:
        lines.append("新发现：" + "；".join(found) + "。")
    if "逾期未核查|overdue checks" in tiles:
        pending = facts.get("pending")
        lines.append(f"核查跟进：逾期未核查 <b>{tiles['逾期未核查|overdue checks']}</b> 户"
                     + (f"，未到期待核查 {pending:,} 户" if pending is not None else "")
                     + _done_when_due(tiles.get("核查完成率（已到期）|checks done when due", "—")) + "。")
    lines.append(_since_last(trend, facts))
    shown = {k: tiles[k] for k in SUMMARY_TILES if k in tiles}
    return ('<section id="summary" class="summary"><h2>摘要 <span class="en">Summary for the bureau</span></h2>'
            "<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>" + tiles_html(shown) + "</section>")


def _done_when_due(rate: str) -> str:
    return "；尚无到期的核查" if rate == "—" else f"；已到期核查完成率 <b>{rate}</b>"


def _since_last(trend: list[tuple], facts: dict) -> str:
    if len(trend) < 2:
        return "与上次相比：这是第一次评分，尚无可比。"
    (before, scored0, high0, medium0), (_, scored, high, medium) = trend[-2], trend[-1]
    return (f"与上次（{before}）相比：高风险{_delta(high, high0)}，中风险{_delta(medium, medium0)}，"
            f"监测家庭{_delta(scored, scored0)}。")


def trends(con) -> Section:
    section = Section("趋势", "Trends: each scoring date and each month", "trends")
    trend = risk_trend(con)
    if not trend:
        return missing(section, "尚无风险评分 (mart.risk_list not built yet)")
    listed = {d: (n, new) for d, n, new in _rows(con, query("publish/report_list_trend"))} \
        if table_exists(con, "mart.listed_households") else {}
    candidates = {d: (n, new) for d, n, new in _rows(con, query("publish/report_candidate_trend"))} \
        if table_exists(con, "mart.listed_candidates") else {}
    section.body.append(h3("每次评分的高、中风险户", "High and medium risk per scoring date"))
    section.body.append(stacked_bar_chart([(str(d), {"高": high, "中": medium}) for d, _, high, medium in trend],
                                          [(lvl, LEVEL_COLORS[lvl]) for lvl in ("高", "中")], unit=" 户"))
    section.body.append(html_table(
        ["评分日期 scoring date", "监测家庭 scored", "高 high", "中 medium", "名单户数 listed",
         "新增/升级 new or raised", "主动发现（名单，人） candidates (people)", "其中新增 new"],
        [(str(d), scored, high, medium, *listed.get(d, (None, None)), *candidates.get(d, (None, None)))
         for d, scored, high, medium in reversed(trend)], numeric_from=1))
    if table_exists(con, "mart.county_month"):
        months = _rows(con, query("publish/report_population_trend"))
        section.body.append(h3("每月在册户数（全市）", "Households on the rolls per month, city total"))
        section.body.append(html_table(["月份 month", "在册 on the rolls", "低保 dibao", "特困 tekun",
                                        "低保边缘 edge", "退出状态 exited", "其中沿用上次状态 not read that month",
                                        "残联数据日期 disability data of"],
                                       [tuple(r) for r in reversed(months)], numeric_from=1))
    section.body.append(_months_missing(con))
    return section


def _months_missing(con) -> str:
    """The months whose 民政 delivery never loaded: the table carries the snapshot before them (※)."""
    gaps = _rows(con, query("publish/report_months_missing")) if table_exists(con, "audit.deliveries") else []
    if not gaps:
        return ""
    zh = "、".join(f"{d}（{status_name(s)}）" for d, s in gaps)
    en = ", ".join(f"{d} ({s})" for d, s in gaps)
    return (f'<p class="note">民政数据未入库：{zh}。表中这些月份标 ※，户数、资金等沿用上一期民政快照，'
            f'以民政重新报送为准（最近一期快照之后的月份尚无行）。<span class="en">Their 民政 delivery never '
            f'loaded ({en}): the table marks those months ※ and carries the snapshot before them; a month '
            f'after the latest loaded snapshot has no row yet.</span></p>')

