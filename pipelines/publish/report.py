"""The run report: one self-contained HTML file a bureau director reads in two minutes.

`write_report(warehouse, out, run_summary)` writes
`<out>/reports/run-report-<as_of_date>-<YYYYMMDDTHHMMSS>.html` and returns its path.
Everything is inside the file (inline CSS, inline SVG charts drawn by
pipelines.publish.report_charts): no script, no font, no image is fetched, so it opens
the same from a USB stick or an e-mail. It shows counts only, never a name or
an ID, so it may travel further than the lists.

Sections, each with a Chinese title and an English subtitle:
1. data received and quarantined per source — the deliveries of this run
   (`run_summary["deliveries"]`, as pipelines.runtime.nightly.load_deliveries returns
   them), else the latest delivery of each source in audit.load_ledger;
2. data quality — Great Expectations results (audit.dq_results) and the
   quarantine reasons of those deliveries, and the run's alerts;
3. risk distribution by county and township (mart.risk_list, latest date);
4. new warnings — 新增 / 升级 / 持续 on the latest exported lists, and why
   households left them;
5. follow-up — completed and overdue checks per list and county, from the
   feedback caseworkers returned (mart.listed_households + staging.feedback);
6. discovery candidates per rule and county (mart.discovery_candidates).
A section whose tables do not exist yet says so instead of failing.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from html import escape
from pathlib import Path

import duckdb

from pipelines.sources.contract import COUNTIES, SOURCE_NAMES
from pipelines.publish.report_charts import BAD, GOOD, LEVEL_COLORS, NEUTRAL, bar_chart, stacked_bar_chart
from pipelines.warehouse import warehouse as open_warehouse

SOURCE_LABELS = {**{s: f"{n} {s}" for s, n in SOURCE_NAMES.items()}, "feedback": "核查反馈 feedback"}
MARKER_COLORS = {"新增": "#c0392b", "升级": "#e67e22", "持续": "#95a5a6"}
TOP_TOWNSHIPS = 30  # townships charted; the table under the chart has them all
FOLLOWUP_SERIES = [("已核查", "#27ae60"), ("联系不上", "#f1c40f"), ("待核查", "#95a5a6"), ("逾期", "#c0392b")]


@dataclass
class Section:
    title: str
    subtitle: str
    body: list[str] = field(default_factory=list)


def write_report(warehouse: Path, out: Path, run_summary: dict | None = None, *, today: date | None = None) -> Path:
    """Write this run's HTML report under `<out>/reports/` and return its path.

    `today` is the day overdue checks are judged on (default: today).
    """
    today = today or date.today()
    with open_warehouse(Path(warehouse), read_only=True) as con:
        as_of = _scoring_date(con)
        tiles: dict[str, str] = {}
        sections = [
            _received(con, run_summary, tiles),
            _quality(con, run_summary),
            _risk(con, as_of, tiles, Path(warehouse)),
            _warnings(con, as_of, tiles),
            _followup(con, today, tiles),
            _discovery(con, tiles),
        ]
    html = _page(as_of, today, Path(warehouse).name, tiles, sections)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = Path(out) / "reports" / f"run-report-{as_of or 'none'}-{stamp}.html"
    n = 1
    while path.exists():  # two reports in one second: keep both
        n += 1
        path = path.with_name(f"run-report-{as_of or 'none'}-{stamp}-{n}.html")
    _write_atomic(path, html)
    return path


# --------------------------------------------------------------------- helpers


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, obj = name.split(".")
    return bool(con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE schema_name = $s AND table_name = $o"
        " UNION ALL SELECT 1 FROM duckdb_views() WHERE schema_name = $s AND view_name = $o",
        {"s": schema, "o": obj}).fetchall())


def _scoring_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest risk scores' date, else the latest mz snapshot (before any scoring)."""
    if _exists(con, "mart.risk_list"):
        found = _scalar(con, "SELECT max(as_of_date) FROM mart.risk_list")
        if found:
            return found
    if _exists(con, "core.snapshots"):
        return _scalar(con, "SELECT max(extract_date) FROM core.snapshots WHERE source = 'mz'")
    return None


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _county(code: str | None) -> str:
    return f"{COUNTIES.get(code, '')} {code or '—'}".strip()


def _table(headers: list[str], rows: list[tuple], numeric_from: int = 1) -> str:
    """A plain HTML table; columns from numeric_from on are right-aligned numbers."""
    if not rows:
        return '<p class="empty">无 <span class="en">none</span></p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = "—" if value is None else (f"{value:,}" if isinstance(value, int) and not isinstance(value, bool)
                                              else str(value))
            cells.append(f'<td class="num">{escape(text)}</td>' if i >= numeric_from else f"<td>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _missing(section: Section, what: str) -> Section:
    section.body.append(f'<p class="empty">{escape(what)}</p>')
    return section


def _h3(zh: str, en: str) -> str:
    return f'<h3>{escape(zh)} <span class="en">{escape(en)}</span></h3>'


# --------------------------------------------------------------------- sections


def _run_load_ids(con: duckdb.DuckDBPyConnection, run_summary: dict | None) -> list[str]:
    """This run's deliveries; without a summary, the latest delivery of each source."""
    if run_summary and run_summary.get("deliveries") is not None:
        return [d["load_id"] for d in run_summary["deliveries"] if d.get("load_id")]
    return [r[0] for r in _rows(con, """
        SELECT arg_max(load_id, (extract_date, loaded_at)) FROM audit.load_ledger GROUP BY source""")]


def _received(con, run_summary, tiles) -> Section:
    section = Section("数据接收与隔离", "Data received and quarantined, per source")
    ids = _run_load_ids(con, run_summary)
    rows = _rows(con, """
        SELECT source, extract_date, file_name, status, rows_read, rows_loaded, rows_quarantined,
               coalesce(rows_repaired, 0), message
        FROM audit.load_ledger WHERE list_contains($1, load_id)
        ORDER BY extract_date, source, file_name""", [ids])
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
    section.body.append(_table(
        ["来源 source", "数据日期 extract", "文件 file", "状态 status", "说明 message", "读取 read", "入库 loaded",
         "隔离 quarantined", "修复 repaired"],
        [(SOURCE_LABELS.get(r[0], r[0]), str(r[1]), r[2], r[3], r[8] or "", r[4], r[5], r[6], r[7])
         for r in rows], numeric_from=5))
    if _exists(con, "audit.feedback_loads"):
        fb = _rows(con, """
            SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
                   count(*) FILTER (WHERE status = 'rejected')
            FROM audit.feedback_loads WHERE loaded_at >= $1""", [_utc_now() - timedelta(days=30)])[0]
        section.body.append(
            f'<p>近30天回收核查反馈文件 {fb[0]} 个：入库 {fb[1]:,} 行，隔离 {fb[2]:,} 行，拒收文件 {fb[3]} 个。'
            f'<span class="en">Feedback files in the last 30 days: {fb[0]}; rows loaded {fb[1]:,}, '
            f'quarantined {fb[2]:,}; files rejected {fb[3]}.</span></p>')
    return section


def _quality(con, run_summary) -> Section:
    section = Section("数据质量", "Data quality: expectations, quarantine reasons, alerts")
    ids = _run_load_ids(con, run_summary)
    levels = _rows(con, """
        SELECT source, count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success AND level = 'row'),
               count(*) FILTER (WHERE NOT success AND level = 'table'),
               count(*) FILTER (WHERE NOT success AND level = 'warn')
        FROM audit.dq_results WHERE list_contains($1, load_id) GROUP BY source ORDER BY source""", [ids])
    section.body.append(_h3("质量规则检查结果", "Great Expectations results per source"))
    section.body.append(stacked_bar_chart(
        [(SOURCE_LABELS.get(s, s), {"通过": ok, "行级未通过": row, "表级未通过": table, "提示": warn})
         for s, ok, row, table, warn in levels],
        [("通过", GOOD), ("行级未通过", "#e67e22"), ("表级未通过", BAD), ("提示", "#f1c40f")], unit=" 项"))
    failed = _rows(con, """
        SELECT source, file_name, expectation, column_name, level, unexpected_count, element_count
        FROM audit.dq_results WHERE list_contains($1, load_id) AND NOT success
        ORDER BY level = 'table' DESC, unexpected_count DESC NULLS LAST LIMIT 20""", [ids])
    section.body.append(_table(["来源 source", "文件 file", "规则 expectation", "列 column", "级别 level",
                                "不符 unexpected", "总数 elements"],
                               [(SOURCE_LABELS.get(r[0], r[0]), *r[1:]) for r in failed], numeric_from=5))
    reasons = _rows(con, """
        SELECT reason, count(*) FROM audit.quarantine WHERE list_contains($1, load_id)
        GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 12""", [ids])
    section.body.append(_h3("隔离原因", "Quarantined cells by reason"))
    section.body.append(bar_chart([(r, n) for r, n in reasons], color="#e67e22", unit=" 格"))
    since = _scalar(con, "SELECT min(loaded_at) FROM audit.load_ledger WHERE list_contains($1, load_id)", [ids])
    alerts = _rows(con, """
        SELECT strftime(raised_at, '%Y-%m-%d %H:%M'), level, kind, coalesce(source, ''), message FROM audit.alerts
        WHERE $1::TIMESTAMP IS NULL OR raised_at >= $1::TIMESTAMP ORDER BY raised_at DESC LIMIT 20""", [since])
    section.body.append(_h3("告警", "Alerts"))
    section.body.append(_table(["时间 raised", "级别 level", "类型 kind", "来源 source", "内容 message"], alerts,
                               numeric_from=99))
    return section


def _risk(con, as_of, tiles, warehouse: Path) -> Section:
    section = Section("风险分布", "Risk distribution by county and township")
    if not _exists(con, "mart.risk_list") or as_of is None:
        return _missing(section, "尚无风险评分 (mart.risk_list not built yet)")
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
    section.body.append(_h3("按县（市、区）", "By county"))
    section.body.append(stacked_bar_chart([(_county(c), v) for c, v in sorted(by_county.items())], levels,
                                          unit=" 户"))
    ranked = sorted(by_township.items(), key=lambda kv: (-(kv[1].get("高", 0) + kv[1].get("中", 0)), kv[0]))
    shown = ranked[:TOP_TOWNSHIPS]
    section.body.append(_h3(f"按乡镇（街道）：高+中 户数最多的 {len(shown)} 个",
                            f"By township: the {len(shown)} with most 高+中 of {len(ranked)}"))
    section.body.append(stacked_bar_chart([(f"{COUNTIES.get(c, c)} {t}", v) for (c, t), v in shown],
                                          levels, unit=" 户"))
    section.body.append(
        f"<details><summary>全部 {len(ranked)} 个乡镇（街道） <span class=\"en\">all townships</span></summary>"
        + _table(["县（市、区） county", "乡镇（街道） township", "高", "中", "低"],
                 [(_county(c), t, v.get("高", 0), v.get("中", 0), v.get("低", 0)) for (c, t), v in
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


def _warnings(con, as_of, tiles) -> Section:
    section = Section("新增预警", "New warnings on the latest lists, and who left them")
    if not _exists(con, "mart.listed_households"):
        return _missing(section, "尚未导出名单 (no lists exported yet)")
    listed = _scalar(con, "SELECT max(as_of_date) FROM mart.listed_households")
    if listed is None:
        return _missing(section, "尚未导出名单 (no lists exported yet)")
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
    section.body.append(_h3(f"{listed} 名单：新增 / 升级 / 持续", "Rows marked new / raised / continuing"))
    section.body.append(stacked_bar_chart([(_county(c), v) for c, v in sorted(by_county.items())],
                                          list(MARKER_COLORS.items()), unit=" 户"))
    departed = _rows(con, """
        SELECT reason, count(*) FROM mart.list_departures WHERE as_of_date = $1
        GROUP BY reason ORDER BY count(*) DESC, reason""", [listed])
    section.body.append(_h3("退出名单原因", "Households that left the list, by reason"))
    section.body.append(bar_chart(departed, color=NEUTRAL, unit=" 户"))
    return section


# Where a listing stands on $today: 已核查, 逾期 (deadline passed), 联系不上 (tried), 待核查.
_STATUS = """
    CASE WHEN completed THEN '已核查' WHEN deadline < $today THEN '逾期'
         WHEN latest_result = '联系不上' THEN '联系不上' ELSE '待核查' END"""
RECENT_LISTS = 6  # lists shown in the follow-up table and counted in its tiles


def _followup(con, today, tiles) -> Section:
    section = Section("核查跟进", "Follow-up: completed and overdue checks")
    if not _exists(con, "mart.followup_status"):
        return _missing(section, "尚未导出名单 (no lists exported yet)")
    recent = f"""
        SELECT *, {_STATUS} AS status FROM mart.followup_status
        WHERE as_of_date IN (SELECT DISTINCT as_of_date FROM mart.followup_status
                             ORDER BY as_of_date DESC LIMIT {RECENT_LISTS})"""
    per_list = _rows(con, f"""
        SELECT as_of_date, count(*), count(*) FILTER (WHERE completed), count(*) FILTER (WHERE completed_on_time),
               count(*) FILTER (WHERE status = '联系不上'), count(*) FILTER (WHERE status = '待核查'),
               count(*) FILTER (WHERE status = '逾期'), count(*) FILTER (WHERE deadline < $today)
        FROM ({recent}) GROUP BY as_of_date ORDER BY as_of_date DESC""", {"today": today})
    if not per_list:
        return _missing(section, "尚未导出名单 (no lists exported yet)")
    due = sum(r[7] for r in per_list)
    done_when_due = _scalar(con, f"SELECT count(*) FROM ({recent}) WHERE deadline < $today AND completed",
                            {"today": today})
    # what is owed now: overdue on the household's latest listing (older misses stay in the table)
    owed = _scalar(con, f"""
        SELECT count(*) FROM ({recent}) r
        WHERE status = '逾期'
          AND as_of_date = (SELECT max(as_of_date) FROM mart.listed_households l WHERE l.household_id = r.household_id)
        """, {"today": today})
    tiles["核查完成率（已到期）|checks done when due"] = f"{done_when_due / due:.0%}" if due else "—"
    tiles["逾期未核查|overdue checks"] = f"{owed:,}"
    section.body.append(
        f'<p class="note">以 {today} 计；逾期 = 超过核查期限仍无“联系不上”以外的核查结果（计入各户最近一次列入）。'
        f'<span class="en">As of {today}; overdue = past the deadline without a result other than 联系不上 '
        f'(the tile counts each household\'s latest listing; the table every list).</span></p>')
    section.body.append(_table(
        ["名单日期 list", "列入 listed", "已核查 done", "按期 on time", "联系不上 unreachable", "待核查 pending",
         "逾期 overdue", "完成率 done %"],
        [(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], f"{r[2] / r[1]:.0%}" if r[1] else "—") for r in per_list]))
    judged = next((r[0] for r in per_list if r[7]), per_list[0][0])  # the newest list with checks already due
    counties = _rows(con, f"""
        SELECT county_code, status, count(*) FROM ({recent}) WHERE as_of_date = $judged
        GROUP BY ALL ORDER BY ALL""", {"today": today, "judged": judged})
    by_county: dict[str, dict[str, float]] = {}
    for county, status, n in counties:
        by_county.setdefault(county, {})[status] = n
    section.body.append(_h3(f"{judged} 名单各县核查进度", "Progress per county, share of the list"))
    section.body.append(stacked_bar_chart([(_county(c), v) for c, v in sorted(by_county.items())],
                                          FOLLOWUP_SERIES, unit=" 户", percent=True, detail="逾期"))
    results = _rows(con, f"""
        SELECT latest_result, count(*) FROM ({recent}) WHERE latest_result IS NOT NULL
        GROUP BY ALL ORDER BY count(*) DESC""", {"today": today})
    section.body.append(_h3("核查结果", "Check results reported (latest per listing)"))
    section.body.append(bar_chart(results, color=GOOD, unit=" 户"))
    return section


def _discovery(con, tiles) -> Section:
    section = Section("主动发现", "Discovery candidates per rule and county")
    if not _exists(con, "mart.discovery_candidates"):
        return _missing(section, "尚无主动发现结果 (mart.discovery_candidates not built yet)")
    rules = _rows(con, "SELECT rule, count(*) FROM mart.discovery_candidates GROUP BY rule ORDER BY count(*) DESC")
    tiles["主动发现对象|discovery candidates"] = f"{sum(n for _, n in rules):,}"
    section.body.append(bar_chart(rules, color="#8e44ad", unit=" 人"))
    names = [r for r, _ in rules]
    per_county = _rows(con, f"""
        SELECT county_code, {", ".join(f"count(*) FILTER (WHERE rule = ${i + 1})" for i in range(len(names)))}
        FROM mart.discovery_candidates GROUP BY county_code ORDER BY county_code""", names) if names else []
    section.body.append(_table(["县（市、区） county", *names], [(_county(r[0]), *r[1:]) for r in per_county]))
    return section


# --------------------------------------------------------------------- page

_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",sans-serif;
margin:24px auto;max-width:1100px;color:#2c3e50;line-height:1.5;padding:0 16px}
h1{margin:0;font-size:26px}h2{border-bottom:2px solid #2e86c1;padding-bottom:4px;margin-top:36px}
h3{font-size:16px;margin:20px 0 6px}.en{color:#7f8c8d;font-weight:normal;font-size:.8em}
.meta{color:#7f8c8d}.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:20px 0}
.tile{border:1px solid #d5dbdb;border-radius:6px;padding:10px 14px;min-width:150px}
.tile .v{font-size:24px;font-weight:bold}.tile .k{font-size:13px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #d5dbdb;padding:3px 8px;text-align:left}th{background:#ebf5fb}
td.num{text-align:right;font-variant-numeric:tabular-nums}.empty,.note{color:#7f8c8d}
svg text{fill:#2c3e50}
footer{margin-top:40px;color:#7f8c8d;font-size:12px}
"""


def _page(as_of, today: date, warehouse_name: str, tiles: dict[str, str], sections: list[Section]) -> str:
    tile_html = "".join(
        f'<div class="tile"><div class="v">{escape(v)}</div><div class="k">{escape(k.split("|")[0])}'
        f'<br><span class="en">{escape(k.split("|")[1])}</span></div></div>' for k, v in tiles.items())
    body = "".join(
        f'<section><h2>{i}. {escape(s.title)} <span class="en">{escape(s.subtitle)}</span></h2>{"".join(s.body)}'
        f"</section>" for i, s in enumerate(sections, start=1))
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>低收入人口动态监测运行报告 {escape(str(as_of or ''))}</title><style>{_CSS}</style></head><body>"
        '<header><h1>聊城市低收入人口动态监测 运行报告</h1>'
        '<div class="en">Liaocheng low-income population monitoring: run report</div>'
        f'<p class="meta">评分日期 scoring date: {escape(str(as_of or "—"))} · 生成 generated: {generated} · '
        f'逾期判定日 overdue as of: {today} · 数据仓库 warehouse: {escape(warehouse_name)}</p></header>'
        f'<div class="tiles">{tile_html}</div>{body}'
        '<footer>本报告只含统计数，不含姓名和身份证号。<span class="en">Counts only: no names or ID numbers. '
        "Generated by dibao-monitor (pipelines/publish/report.py).</span></footer></body></html>"
    )


def _utc_now() -> datetime:
    """Naive UTC, as the ledgers record their times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
