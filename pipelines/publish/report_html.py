"""The run report's HTML: sections, tables and the page around them (inline CSS, no script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape

from pipelines.sources.contract import COUNTIES


@dataclass
class Section:
    title: str
    subtitle: str
    anchor: str = ""
    body: list[str] = field(default_factory=list)


def county_label(code: str | None) -> str:
    return f"{COUNTIES.get(code, '')} {code or '—'}".strip()


def html_table(headers: list[str], rows: list[tuple], numeric_from: int = 1) -> str:
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


def missing(section: Section, what: str) -> Section:
    section.body.append(f'<p class="empty">{escape(what)}</p>')
    return section


def h3(zh: str, en: str) -> str:
    return f'<h3>{escape(zh)} <span class="en">{escape(en)}</span></h3>'


_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Zen Hei",
sans-serif;margin:12px auto;max-width:1100px;color:#2c3e50;line-height:1.5;padding:0 16px}
h1{margin:0;font-size:22px}h2{border-bottom:2px solid #2e86c1;padding-bottom:4px;margin-top:32px}
nav{font-size:13px}nav a{color:#2e86c1;text-decoration:none}.meta{margin:2px 0}
.summary{background:#f4f9fd;border:1px solid #aed6f1;border-radius:6px;padding:4px 16px;margin-top:10px}
.summary h2{margin-top:6px;border:none}.summary ul{margin:0;padding-left:20px;font-size:15px}
.summary .tiles{margin:10px 0;flex-wrap:nowrap}.summary .tile{flex:1 1 0;min-width:0}
.part{margin-top:56px;border-top:6px double #7f8c8d}h2.part{border:none;color:#566573}
h3{font-size:16px;margin:20px 0 6px}.en{color:#7f8c8d;font-weight:normal;font-size:.8em}
.meta{color:#7f8c8d}.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.tile{border:1px solid #d5dbdb;border-radius:6px;padding:6px 12px;min-width:120px;background:#fff}
.tile .v{font-size:22px;font-weight:bold}.tile .k{font-size:13px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #d5dbdb;padding:3px 8px;text-align:left}th{background:#ebf5fb}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.empty,.note{color:#7f8c8d}
svg text{fill:#2c3e50}
footer{margin-top:40px;color:#7f8c8d;font-size:12px}
"""


def tiles_html(tiles: dict[str, str]) -> str:
    """Big numbers, each keyed "中文|English"."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="v">{escape(v)}</div><div class="k">{escape(k.split("|")[0])}'
        f'<br><span class="en">{escape(k.split("|")[1])}</span></div></div>' for k, v in tiles.items()) + "</div>"


def _sections(sections: list[Section], first: int) -> str:
    return "".join(
        f'<section id="{s.anchor}"><h2>{i}. {escape(s.title)} <span class="en">{escape(s.subtitle)}</span></h2>'
        f'{"".join(s.body)}</section>' for i, s in enumerate(sections, start=first))


def page(as_of, today: date, warehouse_name: str, summary: str, officials: list[Section],
         data_team: list[Section]) -> str:
    """The officials' summary and sections first; the data team's detail after its own heading."""
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    nav = " · ".join(f'<a href="#{s.anchor}">{escape(s.title)}</a>' for s in officials)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>低收入人口动态监测运行报告 {escape(str(as_of or ''))}</title><style>{_CSS}</style></head><body>"
        '<header><h1>聊城市低收入人口动态监测 运行报告 <span class="en">run report</span></h1>'
        f'<p class="meta">评分日期 {escape(str(as_of or "—"))} · 生成 {generated} · 逾期判定日 {today} · '
        f'数据仓库 {escape(warehouse_name)}</p>'
        f'<nav>{nav} · <a href="#data-team">数据组明细</a></nav></header>'
        f"{summary}{_sections(officials, 1)}"
        '<div id="data-team" class="part"><h2 class="part">数据质量与接收明细（数据组）'
        ' <span class="en">Data quality and deliveries, for the data team</span></h2>'
        '<p class="note">以下为逐文件接收、隔离、修复与质量检查明细，供数据组核对；领导阅读可到此为止。'
        '<span class="en">Per-file detail for the data team.</span></p></div>'
        f"{_sections(data_team, len(officials) + 1)}"
        '<footer>本报告只含统计数，不含姓名和身份证号。<span class="en">Counts only: no names or ID numbers. '
        "Generated by dibao-monitor (pipelines/publish/report.py).</span></footer></body></html>"
    )
