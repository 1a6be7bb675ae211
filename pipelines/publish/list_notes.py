"""The 说明 sheet of a risk list: what the levels mean, how to fill it in, how to return it.

The level settings in force on the scoring date (parameters/risk_*.yaml, read from
core.policy_parameters by publish/list_level_settings) are written into the text,
so the sheet says what the scoring step really did.
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.ingest.feedback import CANDIDATE_ID, CHECK_DATE, HOUSEHOLD_ID, NOTE, RESULT, RESULTS
from pipelines.publish.sheets import Column, Sheet
from pipelines.sql import query

NOTES_SHEET = "说明"
DEFAULT_LEVELS = {"visits": 10, "by_need": 1.0, "min_score": 0.01}  # pipelines.score.risk_list.DEFAULTS
RESULT_MEANINGS = {
    "已入户": "已上门核查，暂无其他结论",
    "纳入低保": "核查后纳入（或启动纳入）低保",
    "临时救助": "已给予或启动临时救助",
    "不符合条件": "核查后不符合救助条件；该户一段时间内不再重复列入，除非情况有新变化",
    "联系不上": "未能联系到本人或家庭（不算完成核查，请再次尝试）",
}


def level_settings(con: duckdb.DuckDBPyConnection, as_of: date) -> dict:
    """The level settings in force on `as_of`; the scoring step's defaults where none is loaded."""
    try:
        found = dict(con.execute(query("publish/list_level_settings"), [as_of]).fetchall())
    except duckdb.CatalogException:  # no parameters loaded into this warehouse yet
        found = {}
    names = {"visits": "risk_visits_per_township", "by_need": "risk_visits_by_need", "min_score": "risk_min_score"}
    return {k: float(found[n]) if n in found else DEFAULT_LEVELS[k] for k, n in names.items()}


def notes_sheet(place: str, rows: dict[str, list[dict]], levels: dict, as_of: date | None,
                issued_on: date | None, deadline: date | None, header_text: tuple[str, str, str]) -> Sheet:
    """Two columns (项目, 说明), one topic a row."""
    levels = {**DEFAULT_LEVELS, **(levels or {})}
    counts = {lvl: sum(r["risk_level"] == lvl for r in rows["households"]) for lvl in ("高", "中")}
    by_need = f"其中 {levels['by_need']:.0%} 按各乡镇预计困难户数（评分之和）分配，其余平均分配"
    text = [
        ("名单", f"{place} 低收入人口风险名单；评分日期 {as_of or '—'}，下发日期 {issued_on or '—'}。"
                 f"本期风险名单 {len(rows['households'])} 户（高 {counts['高']} 户、中 {counts['中']} 户），"
                 f"主动发现 {len({r['person_key'] for r in rows['candidates']})} 人"
                 f"（{len(rows['candidates'])} 条，一人可因多条规则列入），退出名单 {len(rows['departures'])} 户。"),
        ("风险等级怎么定", "高、中、低按各乡镇（街道）每月可入户核查的能力划分，不是概率界限："
                    f"全市按每个乡镇平均每月 {levels['visits']:g} 户安排入户（{by_need}）；"
                    "每个乡镇评分最高的、相当于本乡镇入户数的户列为“高”（本月入户核查），其后同样多的户列为“中”，"
                    f"其余为“低”，不列入名单。评分低于 {levels['min_score']:g} 的户不列为高或中。"),
        ("风险评分", "模型估计的该户今后 3 个月内月人均收入低于低保标准的可能性（0 至 1），只用于排序。"
                 "评分很低（例如 0.011）的户也可能是“高”：说明本乡镇风险户少，入户能力够用，不等于该户很可能困难。"),
        ("变化", "新增：上期名单没有本户；升级：风险等级比上期高；持续：上期已列入；更正：数据更正后重新下发的行。"),
        ("怎么填写", f"在“风险名单”和“主动发现”两张表的“{RESULT}”列选择一项：{'、'.join(RESULTS)}；"
                 f"“{CHECK_DATE}”填实际核查的日期（如 2024-07-03）；“{NOTE}”可选填。尚未核查的行两列都留空。"
                 f"请勿修改“{HOUSEHOLD_ID}”和“{CANDIDATE_ID}”，可以调整列的顺序或删除其他列。"),
        *((f"{RESULT}：{r}", meaning) for r, meaning in RESULT_MEANINGS.items()),
        ("怎么交回", "核查后将本文件（.xlsx，可改文件名）交回县（市、区）民政局低收入人口监测专班，放入反馈文件夹"
                 f"（或由专班用 dibao feedback 导入）；{f'最迟于 {deadline} 前交回' if deadline else '本期无需核查'}，"
                 "各行的期限见“核查期限”列。导入后每一行的结果（已导入、已修正、隔离及原因、未核查）"
                 "写在交回文件旁的“<文件名>.结果.csv”中，被隔离的行改正后可再次交回。"),
        ("退出名单", "上期名单中本期不再列出的户及原因，仅供了解，无需填写。"),
        ("打印", "每张表横向打印在 A4 纸上，一页一表宽，表头每页重复。“风险名单”只打印到“备注”列；"
               "其右侧的“风险评分”“低保标准（元）”“核查时限”三列只在屏幕上查看（核查时限已体现在“核查期限”中），"
               "以免字太小。"),
    ]
    return Sheet(NOTES_SHEET, (Column("项目", wrap=True, width=18), Column("说明", wrap=True, width=100)), text, autofilter=False,
                 header_text=header_text)
