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

The two nights come minutes apart, and this machine's speed drifts by 15-50% within
minutes (docs/benchmarks.md), so one pair of nights cannot judge a 20% target. The
warehouse folder is copied aside before each night, and each night is run again on
its copy, alternating (short, long, short, long: drift that lasts cancels out); each
night counts by the median of its runs.
"""

from __future__ import annotations

import calendar
import shutil
import statistics
from datetime import date, timedelta
from pathlib import Path

from pipelines.evaluation.bench_data import complete_deliveries
from pipelines.evaluation.bench_measure import BenchError, phase_env, summarise_run
from pipelines.runtime.timing import read_timings

NIGHT_RATIO_MAX = 1.20  # the long history's night / the short history's night
NIGHT_RUNS = 2  # each night run this many times, alternating with the other


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
                   direct_run, airflow_run, tick=lambda label: None, runs: int = NIGHT_RUNS) -> dict:
    """Both nights on one growing warehouse under `run_dir`, each `runs` times on a copy of
    the folder as it was before it, alternating; their figures and ratio."""
    run_dir.mkdir(parents=True, exist_ok=True)
    order = sorted(histories)
    before = {months: run_dir.with_name(f"{run_dir.name}-before-{months}") for months in order}
    measured: dict[int, list[dict]] = {months: [] for months in order}
    dates = {months: history_dates(landing, months) for months in order}  # (cut, end) each
    preps = {}
    try:
        for turn in range(runs):
            for months in order:
                cut, end = dates[months]
                if turn == 0:
                    tick(f"night after {months} months: prep")
                    preps[months] = direct_run(run_dir, landing, _on(phase_env(run_dir / f"prep-{months}.jsonl",
                                                                               airflow_home), cut), until=cut)
                    _copy(run_dir, before[months])
                else:
                    _copy(before[months], run_dir)  # the same path: publishing's records name it
                tick(f"night after {months} months ({turn + 1} of {runs})")
                timings = run_dir.with_name(f"{run_dir.name}-{months}-{turn + 1}.jsonl")  # outlives a restore
                measured[months].append(summarise_run(
                    airflow_run(run_dir, landing, _on(phase_env(timings, airflow_home), end), until=end),
                    read_timings(timings)))
    finally:
        for folder in before.values():
            shutil.rmtree(folder, ignore_errors=True)
    nights = {}
    for months in order:
        cut, end = dates[months]
        new = sum(1 for f in complete_deliveries(landing, end) if date.fromisoformat(f.name) > cut)
        passes = measured[months]
        nights[str(months)] = {
            "history_months": months, "after": cut.isoformat(), "until": end.isoformat(), "new_deliveries": new,
            "night_s": _median(passes, lambda r: r["wall_s"]),
            "night_without_startup_s": _median(passes, lambda r: r["wall_s"] - r["startup_s"]),
            "cpu_s": _median(passes, lambda r: r["cpu_s"]),
            "runs": [{**{k: r[k] for k in ("wall_s", "cpu_s", "startup_s", "tasks_s")},
                      "stage_s": r["tasks"].get("stage", 0.0)} for r in passes],
            "run": passes[0], "prep": {k: preps[months][k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}}
    return nights_result(nights)


def _copy(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)


def _median(runs: list[dict], value) -> float:
    return round(statistics.median(value(r) for r in runs), 3)


def _on(env: dict, day: date) -> dict:
    """The run's clock on the night after `day`: a generated month may lie after the real
    date, and a delivery dated after today is held, not loaded (pipelines/sources/hold.py)."""
    return {**env, "DIBAO_TODAY": (day + timedelta(days=1)).isoformat()}


def nights_result(nights: dict) -> dict:
    """The nights, the long one over the short one, and the target's verdict."""
    short, long = (nights[k] for k in sorted(nights, key=int))
    ratio = long["night_s"] / short["night_s"]
    without = long["night_without_startup_s"] / short["night_without_startup_s"]
    cpu = long["cpu_s"] / short["cpu_s"]  # medians: less sensitive than wall to other work on the machine
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
    for name in ("history", "new deliveries", "night s (median)", "runs s", "without start-up s", "peak MB",
                 "prep s", "top stages (first run)"):
        table.add_column(name, justify="left" if name.startswith(("history", "top stages")) else "right")
    for n in nights["nights"].values():
        top = ", ".join(f"{k} {v:.1f}" for k, v in list(n["run"]["stages"].items())[:4])
        table.add_row(f"{n['history_months']} months", str(n["new_deliveries"]), f"{n['night_s']:.1f}",
                      " / ".join(f"{r['wall_s']:.1f}" for r in n.get("runs", [])),
                      f"{n['night_without_startup_s']:.1f}", f"{n['run']['peak_rss_mb']:,.0f}",
                      f"{n['prep']['wall_s']:.1f}", top)
    console.print(table)
    console.print(f"long night / short night: {nights['ratio']} (without start-up {nights['ratio_without_startup']},"
                  f" CPU {nights['ratio_cpu']});"
                  f" target ≤ {NIGHT_RATIO_MAX}: {'met' if nights['target']['met'] else 'missed'}")
