"""The run report: one self-contained HTML file a bureau director reads in two minutes.

`write_report(warehouse, out, run_summary)` writes
`<out>/reports/run-report-<as_of_date>-<YYYYMMDDTHHMMSS>.html` and returns its path: counts
only, no name or ID, nothing fetched from outside. The officials' summary and sections come
first, the data team's detail after its own heading (docs/outputs.md).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path

from pipelines.publish.report_data_team import quality, received
from pipelines.publish.report_html import page
from pipelines.publish.report_sections import discovery, followup, risk, warnings
from pipelines.publish.report_summary import summary, trends
from pipelines.publish.scoring_date import latest_scoring_date
from pipelines.warehouse import warehouse as open_warehouse


def write_report(warehouse: Path, out: Path, run_summary: dict | None = None, *, today: date | None = None) -> Path:
    """Write this run's HTML report under `<out>/reports/` and return its path.

    `today` is the day overdue checks are judged on (default: today).
    """
    today = today or date.today()
    with open_warehouse(Path(warehouse), read_only=True) as con:
        as_of = latest_scoring_date(con, else_snapshot=True)
        tiles: dict[str, str] = {}
        facts: dict = {}
        officials = [
            risk(con, as_of, tiles, Path(warehouse)),
            warnings(con, as_of, tiles),
            discovery(con, tiles, facts),
            followup(con, today, tiles, facts),
            trends(con),
        ]
        data_team = [received(con, run_summary), quality(con, run_summary)]
        first = summary(con, as_of, tiles, facts)
    html = page(as_of, today, Path(warehouse).name, first, officials, data_team)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = Path(out) / "reports" / f"run-report-{as_of or 'none'}-{stamp}.html"
    n = 1
    while path.exists():  # two reports in one second: keep both
        n += 1
        path = path.with_name(f"run-report-{as_of or 'none'}-{stamp}-{n}.html")
    _write_atomic(path, html)
    return path


class ReportError(OSError):
    """The report could not be written where it was asked for."""


def _write_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".html", dir=path.parent)
    except OSError as exc:
        raise ReportError(f"cannot write the run report under {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
