"""Flat nights: the incremental night of one city measured after a short and a long history.

`dibao bench --months 12 --night-months 36` generates the city once for 37 months
(cached per scale, months and seed; the generator's last month is always
incomplete, so month 36 must not be the last) and takes its first 12 months as
the short history: the same people, the same deliveries. Each run's clock
(`DIBAO_TODAY`) is the day after the last delivery it loads. One warehouse grows through both:
the deliveries before month 12 are loaded by direct calls (not timed as a night),
month 12 is one `dibao run` (the short night), the deliveries before month 36 are
loaded the same way, then month 36 is the long night. The target: the long night
within 20% of the short one.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path

from pipelines.evaluation.bench_data import complete_deliveries
from pipelines.evaluation.bench_measure import BenchError, phase_env, summarise_run
from pipelines.runtime.timing import read_timings

NIGHT_RATIO_MAX = 1.20  # the long history's night / the short history's night


def delivery_months(landing: Path) -> list[tuple[int, int]]:
    """The (year, month) of every complete delivery's extract date, in order."""
    return sorted({(d.year, d.month) for d in (date.fromisoformat(f.name) for f in complete_deliveries(landing))})


def history_dates(landing: Path, months: int) -> tuple[date, date]:
    """(the last day before month `months`, its last day): the night that makes `months` months."""
    known = delivery_months(landing)
    if not 2 <= months < len(known):  # the last month is incomplete: its deliveries are held
        raise BenchError(f"a night after {months} months needs 2 to {len(known) - 1} delivery months (the last"
                         f" of the {len(known)} under {landing} is incomplete)")
    (py, pm), (y, m) = known[months - 2], known[months - 1]
    return date(py, pm, calendar.monthrange(py, pm)[1]), date(y, m, calendar.monthrange(y, m)[1])


def measure_nights(landing: Path, run_dir: Path, airflow_home: Path, histories: tuple[int, int],
                   direct_run, airflow_run, tick=lambda label: None) -> dict:
    """Both nights on one growing warehouse under `run_dir`; their figures and ratio."""
    run_dir.mkdir(parents=True, exist_ok=True)
    nights = {}
    for months in sorted(histories):
        cut, end = history_dates(landing, months)
        tick(f"night after {months} months: prep")
        prep = direct_run(run_dir, landing, _on(phase_env(run_dir / f"prep-{months}.jsonl", airflow_home), cut),
                          until=cut)
        tick(f"night after {months} months")
        timings = run_dir / f"night-{months}.jsonl"
        night = summarise_run(airflow_run(run_dir, landing, _on(phase_env(timings, airflow_home), end), until=end),
                              read_timings(timings))
        new = sum(1 for f in complete_deliveries(landing, end) if date.fromisoformat(f.name) > cut)
        nights[str(months)] = {"history_months": months, "after": cut.isoformat(), "until": end.isoformat(),
                               "new_deliveries": new, "night_s": night["wall_s"],
                               "night_without_startup_s": round(night["wall_s"] - night["startup_s"], 3),
                               "run": night, "prep": {k: prep[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}}
    return nights_result(nights)


def _on(env: dict, day: date) -> dict:
    """The run's clock on the night after `day`: a generated month may lie after the real
    date, and a delivery dated after today is held, not loaded (pipelines/sources/hold.py)."""
    return {**env, "DIBAO_TODAY": (day + timedelta(days=1)).isoformat()}


def nights_result(nights: dict) -> dict:
    """The nights, the long one over the short one, and the target's verdict."""
    short, long = (nights[k] for k in sorted(nights, key=int))
    ratio = long["night_s"] / short["night_s"]
    without = long["night_without_startup_s"] / short["night_without_startup_s"]
    cpu = long["run"]["cpu_s"] / short["run"]["cpu_s"]  # less sensitive than wall to other work on the machine
    months = (short["history_months"], long["history_months"])
    return {
        "history_months": list(months), "nights": nights,
        "ratio": round(ratio, 3), "ratio_without_startup": round(without, 3), "ratio_cpu": round(cpu, 3),
        "target": {"target": f"{months[1]}-month night within 20% of the {months[0]}-month night",
                   "measured": round(ratio, 3), "limit": NIGHT_RATIO_MAX, "met": ratio <= NIGHT_RATIO_MAX},
    }


def print_nights(console, nights: dict) -> None:
    from rich.table import Table

    table = Table(title="nights after a short and a long history (same city)")
    for name in ("history", "new deliveries", "night s", "without start-up s", "peak MB", "prep s", "top stages"):
        table.add_column(name, justify="left" if name in ("history", "top stages") else "right")
    for n in nights["nights"].values():
        top = ", ".join(f"{k} {v:.1f}" for k, v in list(n["run"]["stages"].items())[:4])
        table.add_row(f"{n['history_months']} months", str(n["new_deliveries"]), f"{n['night_s']:.1f}",
                      f"{n['night_without_startup_s']:.1f}", f"{n['run']['peak_rss_mb']:,.0f}",
                      f"{n['prep']['wall_s']:.1f}", top)
    console.print(table)
    console.print(f"long night / short night: {nights['ratio']} (without start-up {nights['ratio_without_startup']},"
                  f" CPU {nights['ratio_cpu']});"
                  f" target ≤ {NIGHT_RATIO_MAX}: {'met' if nights['target']['met'] else 'missed'}")
