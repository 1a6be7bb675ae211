"""The run's quality pages (Data Docs) as plain HTML: no script, no asset from the internet."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

# Worst first. A validation's status is that of its worst failed expectation.
STATUSES = {
    "failed": ("失败 Failed", "a table-level expectation failed or could not run: the delivery is rejected"),
    "quarantined": ("隔离 Rows quarantined", "row-level expectations failed: those rows are quarantined, the rest loads"),
    "warning": ("警告 Warning", "only warn-level expectations failed: recorded, the delivery loads"),
    "passed": ("通过 Passed", "every expectation held"),
}
LEVEL_STATUS = {"table": "failed", "row": "quarantined", "warn": "warning"}
LEVEL_NAMES = {"table": "拒收 table", "row": "隔离 row", "warn": "警告 warn"}
SAMPLE = 20  # failing values shown per expectation

STYLE = """
body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px} p.meta{color:#555;margin:4px 0 16px}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top} th{background:#f0f0f0} td.num{text-align:right}
.badge{display:inline-block;padding:1px 8px;border-radius:4px;font-weight:bold;white-space:nowrap}
.badge.failed{background:#f8d7da;color:#721c24} .badge.quarantined{background:#ffe5b4;color:#7a4100}
.badge.warning{background:#fff3cd;color:#6b5200} .badge.passed{background:#d4edda;color:#155724}
tr.failed td{background:#fdf1f2} tr.quarantined td{background:#fff6e8} tr.warning td{background:#fffbeb}
code{font-size:13px} ul.legend{margin:8px 0 16px;padding-left:20px} a{color:#0645ad}
"""


@dataclass
class Check:
    """One expectation's outcome, as the pages show it."""

    status: str
    level: str
    description: str
    column: str
    found: str  # what GX observed: counts and percent, or the error
    sample: list[str] = field(default_factory=list)


@dataclass
class Validation:
    """One saved GX result: a suite run on one delivery's table."""

    suite: str
    table: str
    extract_date: str
    validated_at: str
    checks: list[Check]

    @property
    def status(self) -> str:
        return worst(c.status for c in self.checks)

    @property
    def page(self) -> str:
        """The page's path relative to the index."""
        return f"validations/{self.suite}/{self.extract_date}.html"


def worst(statuses) -> str:
    order = list(STATUSES)
    return min(statuses, key=order.index, default="passed")


def read_validation(document: dict) -> Validation:
    """The parts of a saved GX result (`data_docs.save_result`) the pages show."""
    run = document["meta"]["dibao"]
    checks = [_check(r) for r in document["results"]]
    return Validation(run["suite"], run["table"], run["extract_date"], run["validated_at"], checks)


def _check(result: dict) -> Check:
    config = result["expectation_config"]
    meta = config.get("meta") or {}
    level = meta.get("level", "table")  # suites.py treats a level-less expectation as table-level
    error = (result.get("exception_info") or {}).get("exception_message")
    if error:
        status = "failed"
    else:
        status = "passed" if result["success"] else LEVEL_STATUS.get(level, "failed")
    column = config["kwargs"].get("column") or meta.get("column") or ""
    description = config.get("description") or config["type"]
    body = result.get("result") or {}
    return Check(status, level, description, column, error or _found(body), _sample(body, column))


def _found(body: dict) -> str:
    if "unexpected_count" in body:
        text = f"{body['unexpected_count']} unexpected of {body.get('element_count', '?')}"
        if body.get("unexpected_percent") is not None:
            text += f" ({body['unexpected_percent']:.2f}%)"
        return text
    if (body.get("details") or {}).get("unexpected_rows") is not None:  # UnexpectedRowsExpectation
        return f"{body.get('observed_value')} unexpected rows"
    if "observed_value" in body:
        return f"observed {body['observed_value']}"
    return ""


def _sample(body: dict, column: str) -> list[str]:
    if body.get("partial_unexpected_index_list"):
        rows = body["partial_unexpected_index_list"]
    else:
        rows = (body.get("details") or {}).get("unexpected_rows") or []
    if rows:
        return [_line_and_value(row, column) for row in rows[:SAMPLE]]
    return [str(v) for v in (body.get("partial_unexpected_list") or [])[:SAMPLE]]


def _line_and_value(row: dict, column: str) -> str:
    value = row.get(column, next((v for k, v in row.items() if k != "_line"), ""))
    return f"line {row['_line']}: {value}" if "_line" in row else str(value)


def write_pages(validations: list[Validation], docs_dir: Path, title: str) -> Path:
    """Write the index and one page per validation; return the index."""
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    for v in validations:
        page = docs_dir / v.page
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_validation_page(v), encoding="utf-8")
    index = docs_dir / "index.html"
    index.write_text(_index_page(validations, title), encoding="utf-8")
    return index


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{STATUSES[status][0]}</span>'


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _index_page(validations: list[Validation], title: str) -> str:
    order = list(STATUSES)
    rows = sorted(validations, key=lambda v: (order.index(v.status), v.suite, v.extract_date))
    counts = {s: sum(v.status == s for v in validations) for s in STATUSES}
    legend = "".join(f"<li>{_badge(s)} {html.escape(why)}: {counts[s]}</li>" for s, (_, why) in STATUSES.items())
    lines = [f"<h1>数据质量 Data quality: {html.escape(title)}</h1>",
             f'<p class="meta">{len(validations)} validations of delivered tables, worst first.</p>',
             f'<ul class="legend">{legend}</ul>',
             "<table><thead><tr><th>状态 Status</th><th>数据 Suite</th><th>数据日期 Extract date</th>"
             "<th>检查 Expectations</th><th>未通过 Failed (拒收 / 隔离 / 警告)</th><th>校验时间 Validated at</th>"
             "</tr></thead><tbody>"]
    for v in rows:
        failed = [c for c in v.checks if c.status != "passed"]
        by_level = " / ".join(str(sum(c.status == s for c in failed)) for s in ("failed", "quarantined", "warning"))
        lines.append(
            f'<tr class="validation {v.status}"><td>{_badge(v.status)}</td>'
            f'<td><a href="{html.escape(v.page)}">{html.escape(v.suite)}</a></td>'
            f"<td>{html.escape(v.extract_date)}</td><td class=\"num\">{len(v.checks)}</td>"
            f'<td class="num">{by_level}</td><td>{html.escape(v.validated_at[:19])}</td></tr>')
    if not rows:
        lines.append('<tr><td colspan="6">No validations in this run.</td></tr>')
    lines.append("</tbody></table>")
    return _document(f"数据质量 {title}", "\n".join(lines))


def _validation_page(v: Validation) -> str:
    order = list(STATUSES)
    checks = sorted(v.checks, key=lambda c: order.index(c.status))  # stable: suite order within a status
    failed = sum(c.status != "passed" for c in v.checks)
    lines = ['<p><a href="../../index.html">← 数据质量 Data quality</a></p>',
             f"<h1>{html.escape(v.suite)} {html.escape(v.extract_date)} {_badge(v.status)}</h1>",
             f'<p class="meta">table <code>{html.escape(v.table)}</code>; validated at '
             f"{html.escape(v.validated_at[:19])}; {len(v.checks)} expectations, {failed} not met. "
             f"{html.escape(STATUSES[v.status][1])}.</p>",
             "<table><thead><tr><th>结果 Result</th><th>级别 Level</th><th>检查 Expectation</th><th>列 Column</th>"
             "<th>发现 Found</th><th>样本 Sample (ID numbers masked)</th></tr></thead><tbody>"]
    for c in checks:
        sample = "<br>".join(html.escape(s) for s in c.sample)
        lines.append(
            f'<tr class="check {c.status}"><td>{_badge(c.status)}</td><td>{LEVEL_NAMES.get(c.level, c.level)}</td>'
            f"<td>{html.escape(c.description)}</td><td><code>{html.escape(c.column)}</code></td>"
            f"<td>{html.escape(c.found) if c.status != 'passed' else ''}</td><td>{sample}</td></tr>")
    lines.append("</tbody></table>")
    return _document(f"{v.suite} {v.extract_date}", "\n".join(lines))


def load_validations(paths) -> list[Validation]:
    """Saved results in `paths`; a file that is not one raises a one-line error."""
    found = []
    for path in paths:
        try:
            found.append(read_validation(json.loads(Path(path).read_text(encoding="utf-8"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a saved GX result ({type(exc).__name__}: {exc})") from None
    return found
