"""`dibao bench`: the nightly job measured against its read floor, in one run.

Phases, each a fresh process measured from outside (wall time; CPU time and
peak resident memory from `os.wait4`), on data generated once per
`(scale, months, seed, generator code)` and cached under
`var/bench/<scale>-<months>-<seed>/`:

1. **floor**: DuckDB reading every data file of every complete delivery once
   (`read_csv`, all columns as text, materialised); GB18030 CSVs (DuckDB has no
   GB18030 decoder without an extension) and XLSX files (no excel extension
   offline) through polars / calamine, as the pipeline reads them.
2. **backfill**: `dibao run` through Airflow over every delivery, with per-stage
   wall time and peak memory from the stage functions themselves
   (pipelines.runtime.timing, `DIBAO_STAGE_TIMINGS`).
3. **direct**: the same `pipelines.runtime.nightly` functions called in the DAG's order
   in a plain Python process: the difference to (2) is Airflow's overhead.
4. **nightly**: every delivery but the last month's loaded first (directly, not
   timed as a target), then one `dibao run` through Airflow that finds only the
   last month's deliveries: the cost of an ordinary night on a loaded history.

The result is printed as tables and written as JSON (`docs/bench-<scale>.json`).
Seconds and megabytes throughout; timings on a shared machine are noisy, so the
CPU seconds are recorded beside the wall seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from pipelines import config
from pipelines.runtime.timing import TIMINGS_ENV, read_timings

BENCH_ROOT = config.VAR / "bench"
DOCS = config.PROJECT_ROOT / "docs"
GENERATOR = Path(__file__).resolve().parent.parent / "generate"
PHASES = ("generate", "floor", "backfill", "direct", "nightly prep", "nightly")
# Phases `--skip` may leave out: a province run's backfill alone takes most of an hour here.
SKIPPABLE = ("direct", "nightly")

# The targets: ratios measured in the same run.
FLOOR_RATIO_MAX = 3.0  # backfill without training / read floor
NIGHTLY_SHARE_MAX = 0.10  # nightly without fixed start-up / backfill
AIRFLOW_OVERHEAD_MAX = 0.20  # backfill through Airflow / direct calls - 1
PROVINCE_TIME_RATIO_MAX = 11.0  # province backfill / city backfill
PROVINCE_PEAK_MB_MAX = 8 * 1024


class BenchError(Exception):
    """A phase failed; the message is one line and names the phase's log."""


# ---------------------------------------------------------------- data


def data_key(scale: str, months: int, seed: int) -> str:
    return f"{scale}-{months}-{seed}"


def generator_fingerprint() -> str:
    """Hash of the generator's code: cached data is regenerated when it changes."""
    h = hashlib.sha256()
    for path in sorted(GENERATOR.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def ensure_data(folder: Path, scale: str, months: int, seed: int) -> dict:
    """Generate the deliveries into `folder` unless an identical set is cached there."""
    marker = folder / "generated.json"
    params = {"scale": scale, "months": months, "seed": seed, "generator": generator_fingerprint()}
    if marker.exists():
        cached = json.loads(marker.read_text(encoding="utf-8"))
        if cached.get("params") == params and (folder / "landing").is_dir():
            return {**cached, "cached": True}
    marker.unlink(missing_ok=True)
    for sub in ("landing", "truth"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pipelines.cli", "generate", "--scale", scale, "--months", str(months),
           "--seed", str(seed), "--landing", str(folder / "landing"), "--truth", str(folder / "truth")]
    measured = measure(cmd, os.environ.copy(), folder / "generate.log", "generate")
    result = {"params": params, "seconds": measured["wall_s"], "cpu_s": measured["cpu_s"],
              "peak_rss_mb": measured["peak_rss_mb"]}
    marker.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return {**result, "cached": False}


def complete_deliveries(landing: Path, until: date | None = None) -> list[Path]:
    """Delivery folders with `_READY`, up to `until`, as the pipeline would stage them."""
    folders = []
    for source in ("mz", "cl", "rs"):
        for folder in sorted((landing / source).glob("*")):
            try:
                extract = date.fromisoformat(folder.name)
            except ValueError:
                continue
            if (folder / "_READY").exists() and (until is None or extract <= until):
                folders.append(folder)
    return folders


def nightly_cut(landing: Path) -> tuple[date, int]:
    """The last day before the last delivery month, and how many deliveries that month holds."""
    dates = [date.fromisoformat(f.name) for f in complete_deliveries(landing)]
    if not dates:
        raise BenchError(f"no complete deliveries under {landing}")
    last = max(dates)
    cut = last.replace(day=1) - timedelta(days=1)
    return cut, sum(1 for d in dates if d > cut)


# ---------------------------------------------------------------- floor


def read_floor(landing: Path) -> dict:
    """Read every data file of every complete delivery once; seconds and rows."""
    import duckdb
    import polars as pl

    con = duckdb.connect()
    deliveries = complete_deliveries(landing)
    files = [f for d in deliveries for f in sorted(d.iterdir()) if f.suffix.lower() in (".csv", ".xlsx")]
    totals = {"deliveries": len(deliveries), "files": 0, "bytes": 0, "rows": 0}
    parts = {"csv_utf8": 0.0, "csv_gb18030": 0.0, "xlsx": 0.0}
    started = time.perf_counter()
    for f in files:
        t = time.perf_counter()
        if f.suffix.lower() == ".xlsx":
            kind = "xlsx"
            rows = pl.read_excel(f, infer_schema_length=0).height
        elif _looks_utf8(f):
            kind = "csv_utf8"
            con.execute("CREATE OR REPLACE TEMP TABLE floor AS SELECT * FROM read_csv(?, all_varchar = true,"
                        " header = true, strict_mode = false, null_padding = true)", [str(f)])
            rows = con.execute("SELECT count(*) FROM floor").fetchall()[0][0]
        else:
            kind = "csv_gb18030"
            rows = pl.read_csv(f, encoding="gb18030", infer_schema=False, truncate_ragged_lines=True).height
        parts[kind] += time.perf_counter() - t
        totals["files"] += 1
        totals["bytes"] += f.stat().st_size
        totals["rows"] += rows
    con.close()
    return {"seconds": round(time.perf_counter() - started, 3), **totals,
            "parts_s": {k: round(v, 3) for k, v in parts.items()}}


def _looks_utf8(path: Path) -> bool:
    head = path.read_bytes()[:1 << 16]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start > len(head) - 4  # only a character cut at the end of the sample
    return True


# ---------------------------------------------------------------- direct


def run_direct(landing: str, warehouse: str, out: str, until: str | None = None) -> dict:
    """The nightly DAG's steps in its order, without Airflow (dags/nightly.py)."""
    from pipelines.runtime import nightly

    run_id = f"direct__{time.strftime('%Y%m%dT%H%M%S')}"
    feedback = os.environ.get("DIBAO_FEEDBACK") or str(Path(landing) / "feedback")
    pending = nightly.discover_pending(landing, warehouse, until)
    staged = [nightly.stage_delivery(item, warehouse) for item in pending]
    validated = [nightly.validate_delivery(folder, warehouse, run_id) for folder in staged]
    loaded = nightly.load_deliveries(validated, warehouse)
    nightly.load_feedback(warehouse, feedback)
    core = nightly.build_history(warehouse)
    built = nightly.publish_marts(warehouse)
    scored = nightly.score(warehouse)
    published = nightly.publish_outputs(warehouse, out, loaded)
    docs = nightly.build_quality_docs(warehouse, out, run_id)
    nightly.write_summary({**loaded, "core": core, "marts": built, "score": scored, **published,
                           "data_docs": docs}, out)
    return {"deliveries": len(pending)}


# ---------------------------------------------------------------- measuring


def measure(cmd: list[str], env: dict, log_path: Path, phase: str) -> dict:
    """Run one phase as a child process: wall and CPU seconds, peak RSS (MB)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        started = time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=config.PROJECT_ROOT,
                                start_new_session=True)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: stop the child's whole group, then give up
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        ended = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise BenchError(f"phase {phase} failed (exit {proc.returncode}); see {log_path}")
    return {"started": started, "ended": ended, "wall_s": round(ended - started, 3),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _phase_env(timings: Path | None, airflow_home: Path) -> dict:
    env = os.environ.copy()
    for name in ("DIBAO_ALERT_WEBHOOK", "DIBAO_ALERT_LOG", "DIBAO_FEEDBACK", TIMINGS_ENV):
        env.pop(name, None)
    env["AIRFLOW_HOME"] = str(airflow_home)  # the bench's own: never a developer's or a test's
    env["DIBAO_TASK_RETRIES"] = "0"  # a failure fails the phase instead of being retried and timed twice
    env.setdefault("GX_ANALYTICS_ENABLED", "False")
    if timings is not None:
        timings.unlink(missing_ok=True)
        env[TIMINGS_ENV] = str(timings)
    return env


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.evaluation.bench", *args]


def _airflow_run(run_dir: Path, landing: Path, env: dict, until: date | None = None) -> dict:
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing),
           "--warehouse", str(run_dir / "warehouse.duckdb"), "--out", str(run_dir / "out")]
    if until:
        cmd += ["--date", until.isoformat()]
    return measure(cmd, env, run_dir / "phase.log", "airflow run")


def _direct_run(run_dir: Path, landing: Path, env: dict, until: date | None = None) -> dict:
    cmd = _python("direct", "--landing", str(landing), "--warehouse", str(run_dir / "warehouse.duckdb"),
                  "--out", str(run_dir / "out"), *(["--until", until.isoformat()] if until else []))
    return measure(cmd, {**env, "DIBAO_ALERT_LOG": str(run_dir / "out" / "alerts.log")}, run_dir / "phase.log",
                   "direct run")


def summarise_run(measured: dict, timings: list[dict]) -> dict:
    """Wall, CPU, peak; per-stage self seconds and peaks; fixed start-up and Airflow's gaps."""
    stages: dict[str, float] = {}
    stage_peaks: dict[str, float] = {}
    tasks: dict[str, float] = {}
    for r in timings:
        if r["kind"] == "stage":
            stages[r["name"]] = stages.get(r["name"], 0.0) + r["self_seconds"]
            stage_peaks[r["name"]] = max(stage_peaks.get(r["name"], 0.0), r["peak_rss_mb"])
        elif r["kind"] == "task":
            tasks[r["name"]] = tasks.get(r["name"], 0.0) + r["seconds"]
    task_records = [r for r in timings if r["kind"] == "task"]
    before = min((r["start"] for r in task_records), default=measured["ended"]) - measured["started"]
    after = measured["ended"] - max((r["start"] + r["seconds"] for r in task_records), default=measured["ended"])
    gx_import = stages.get("gx_import", 0.0)
    busy = sum(tasks.values())
    peak = max([measured["peak_rss_mb"], *(r.get("process_peak_mb", 0.0) for r in timings)])
    return {
        "wall_s": measured["wall_s"], "cpu_s": measured["cpu_s"], "peak_rss_mb": round(peak, 1),
        # fixed cost of one run: process start to first task (interpreter, imports, Airflow's metadata
        # check, DAG parse, run creation), the Great Expectations import, last task to process exit
        "startup_s": round(before + gx_import + max(after, 0.0), 3),
        "before_first_task_s": round(before, 3), "after_last_task_s": round(max(after, 0.0), 3),
        "gx_import_s": round(gx_import, 3),
        "tasks_s": round(busy, 3),
        # what is neither a task nor the fixed cost: the orchestrator's work between tasks
        "between_tasks_s": round(max(measured["wall_s"] - before - max(after, 0.0) - busy, 0.0), 3),
        "stages": {k: round(v, 3) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
        "stage_peak_mb": {k: round(v, 1) for k, v in stage_peaks.items()},
        "tasks": {k: round(v, 3) for k, v in tasks.items()},
    }


def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal:")))
        info["memory_mb"] = round(kb / 1024)
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                            if line.startswith("model name")), None)
    except (OSError, StopIteration):
        info["memory_mb"] = None
    return info


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---------------------------------------------------------------- the bench


def bench(scale: str = "city", months: int = 12, seed: int = 0, root: Path = BENCH_ROOT,
          json_path: Path | None = None, keep: bool = False, progress=None,
          skip: frozenset[str] = frozenset()) -> dict:
    """Run every phase but those in `skip` (SKIPPABLE); return the result (also written to `json_path`)."""
    unknown = set(skip) - set(SKIPPABLE)
    if unknown:
        raise BenchError(f"cannot skip {', '.join(sorted(unknown))}: only {', '.join(SKIPPABLE)}")
    tick = progress or (lambda phase, done, total: None)
    folder = Path(root).resolve() / data_key(scale, months, seed)
    landing, runs, airflow_home = folder / "landing", folder / "runs", Path(root).resolve() / "airflow"
    load_before = _load_average()
    tick("generate", 0, len(PHASES))
    data = ensure_data(folder, scale, months, seed)
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)

    tick("floor", 1, len(PHASES))
    floor_file = runs / "floor.json"
    measure(_python("floor", "--landing", str(landing), "--result", str(floor_file)),
            _phase_env(None, airflow_home), runs / "floor.log", "floor")
    floor = json.loads(floor_file.read_text(encoding="utf-8"))

    # Airflow's metadata database is created once per machine: not part of any run.
    init = measure(_python("airflow-init"), _phase_env(None, airflow_home), runs / "airflow-init.log", "airflow-init")

    tick("backfill", 2, len(PHASES))
    backfill_dir = runs / "backfill"
    env = _phase_env(backfill_dir / "timings.jsonl", airflow_home)
    backfill_dir.mkdir()
    backfill = summarise_run(_airflow_run(backfill_dir, landing, env), read_timings(backfill_dir / "timings.jsonl"))

    direct = prep = nightly = None
    cut, new_deliveries = nightly_cut(landing)
    if "direct" not in skip:
        tick("direct", 3, len(PHASES))
        direct_dir = runs / "direct"
        direct_dir.mkdir()
        env = _phase_env(direct_dir / "timings.jsonl", airflow_home)
        direct = summarise_run(_direct_run(direct_dir, landing, env), read_timings(direct_dir / "timings.jsonl"))

    if "nightly" not in skip:
        tick("nightly prep", 4, len(PHASES))
        nightly_dir = runs / "nightly"
        nightly_dir.mkdir()
        env = _phase_env(nightly_dir / "prep-timings.jsonl", airflow_home)
        prep = _direct_run(nightly_dir, landing, env, until=cut)

        tick("nightly", 5, len(PHASES))
        env = _phase_env(nightly_dir / "timings.jsonl", airflow_home)
        nightly = summarise_run(_airflow_run(nightly_dir, landing, env), read_timings(nightly_dir / "timings.jsonl"))
    tick("done", 6, len(PHASES))

    if not keep:
        shutil.rmtree(runs, ignore_errors=True)
    result = assemble(scale, months, seed, data, floor, init, backfill, direct, prep, nightly, cut,
                      new_deliveries, load_before, skip)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


def assemble(scale, months, seed, data, floor, init, backfill, direct, prep, nightly, cut, new_deliveries,
             load_before, skip=frozenset()) -> dict:
    """The result; a skipped phase's figures are null."""
    train_s = backfill["stages"].get("train", 0.0)
    rows = floor["rows"]
    skipped = sorted(skip)
    result = {
        "scale": scale, "months": months, "seed": seed,
        "command": f"dibao bench --scale {scale} --months {months} --seed {seed}"
                   + (f" --skip {','.join(skipped)}" if skipped else ""),
        "skipped": skipped,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {**machine(), "load_average_before": load_before, "load_average_after": _load_average()},
        "data": {"deliveries": floor["deliveries"], "files": floor["files"], "rows": rows, "bytes": floor["bytes"],
                 "generate_s": data.get("seconds"), "generate_cached": data.get("cached")},
        "floor_s": floor["seconds"],
        "floor_parts_s": floor["parts_s"],
        "backfill_s": backfill["wall_s"],
        "train_s": round(train_s, 3),
        "nightly_s": nightly["wall_s"] if nightly else None,
        "nightly_new_deliveries": new_deliveries,
        "nightly_after": cut.isoformat(),
        # the fixed cost of one run: measured on the nightly run, else on the backfill
        "startup_s": (nightly or backfill)["startup_s"],
        "direct_s": direct["wall_s"] if direct else None,
        "peak_rss_mb": backfill["peak_rss_mb"],
        "stages": backfill["stages"],
        "stage_peak_mb": backfill["stage_peak_mb"],
        "airflow_db_init_s": init["wall_s"],
        "runs": {"backfill": backfill, "direct": direct, "nightly": nightly,
                 "nightly_prep": prep and {"wall_s": prep["wall_s"], "cpu_s": prep["cpu_s"],
                                           "peak_rss_mb": prep["peak_rss_mb"]}},
        "per_million_rows_s": {
            "floor": round(floor["seconds"] / rows * 1e6, 3) if rows else None,
            "backfill_without_training": round((backfill["wall_s"] - train_s) / rows * 1e6, 3) if rows else None,
            "backfill_cpu": round(backfill["cpu_s"] / rows * 1e6, 3) if rows else None,
        },
    }
    result["targets"] = targets(result)
    return result


def targets(r: dict) -> list[dict]:
    """The issue's targets that this run can judge (province needs the city's file too)."""
    out = []
    if r["floor_s"]:
        ratio = (r["backfill_s"] - r["train_s"]) / r["floor_s"]
        out.append({"target": "backfill without training ≤ 3× read floor", "measured": round(ratio, 2),
                    "limit": FLOOR_RATIO_MAX, "met": ratio <= FLOOR_RATIO_MAX})
    if r["backfill_s"] and r["nightly_s"] is not None:
        share = (r["nightly_s"] - r["startup_s"]) / r["backfill_s"]
        out.append({"target": "nightly without fixed start-up ≤ 1/10 backfill", "measured": round(share, 3),
                    "limit": NIGHTLY_SHARE_MAX, "met": share <= NIGHTLY_SHARE_MAX})
    if r["direct_s"]:
        overhead = r["backfill_s"] / r["direct_s"] - 1
        out.append({"target": "Airflow overhead ≤ 20% over direct calls", "measured": round(overhead, 3),
                    "limit": AIRFLOW_OVERHEAD_MAX, "met": overhead <= AIRFLOW_OVERHEAD_MAX})
    if r["scale"] == "province":
        city_file = DOCS / "bench-city.json"
        if city_file.exists():
            city = json.loads(city_file.read_text(encoding="utf-8"))
            ratio = r["backfill_s"] / city["backfill_s"]
            out.append({"target": "province backfill ≤ 11× city (from docs/bench-city.json)",
                        "measured": round(ratio, 2), "limit": PROVINCE_TIME_RATIO_MAX,
                        "met": ratio <= PROVINCE_TIME_RATIO_MAX})
        out.append({"target": "province peak memory < 8 GB (MB)", "measured": r["peak_rss_mb"],
                    "limit": PROVINCE_PEAK_MB_MAX, "met": r["peak_rss_mb"] < PROVINCE_PEAK_MB_MAX})
    return out


# ---------------------------------------------------------------- printing


def print_result(console, result: dict) -> None:
    from rich.table import Table

    runs = result["runs"]
    m = result["machine"]
    console.print(f"{result['command']}: {result['data']['files']} files, {result['data']['rows']:,} rows, "
                  f"{result['data']['bytes'] / 1e6:,.0f} MB; {m['cores']} cores, "
                  f"{(m.get('memory_mb') or 0) / 1024:.0f} GB; load average {m['load_average_before']} → "
                  f"{m['load_average_after']}")
    table = Table(title="phases")
    for name in ("phase", "wall s", "CPU s", "peak MB", "fixed start-up s", "note"):
        table.add_column(name, justify="left" if name in ("phase", "note") else "right")
    table.add_row("floor (read every file once)", f"{result['floor_s']:.1f}", "", "", "",
                  ", ".join(f"{k} {v:.1f}s" for k, v in result["floor_parts_s"].items()))
    for key, label in (("backfill", "backfill (dibao run)"), ("direct", "backfill, direct calls"),
                       ("nightly", "nightly (last month)")):
        run = runs[key]
        if run is None:
            table.add_row(label, "", "", "", "", "skipped (--skip)")
            continue
        table.add_row(label, f"{run['wall_s']:.1f}", f"{run['cpu_s']:.1f}", f"{run['peak_rss_mb']:,.0f}",
                      f"{run['startup_s']:.1f}", f"between tasks {run['between_tasks_s']:.1f}s")
    if runs["nightly_prep"]:
        table.add_row("nightly prep (direct, untimed)", f"{runs['nightly_prep']['wall_s']:.1f}",
                      f"{runs['nightly_prep']['cpu_s']:.1f}", f"{runs['nightly_prep']['peak_rss_mb']:,.0f}", "",
                      f"deliveries up to {result['nightly_after']}")
    console.print(table)

    stages = Table(title="backfill stages (self time)")
    for name in ("stage", "seconds", "share", "peak MB", "direct s", "nightly s"):
        stages.add_column(name, justify="left" if name == "stage" else "right")
    total = result["backfill_s"] or 1
    for name, seconds in result["stages"].items():
        other = [f"{runs[k]['stages'].get(name, 0):.1f}" if runs[k] else "" for k in ("direct", "nightly")]
        stages.add_row(name, f"{seconds:.1f}", f"{seconds / total:.0%}", f"{result['stage_peak_mb'][name]:,.0f}",
                       *other)
    console.print(stages)

    verdicts = Table(title="targets")
    for name in ("target", "measured", "limit", "met"):
        verdicts.add_column(name, justify="left" if name == "target" else "right")
    for t in result["targets"]:
        verdicts.add_row(t["target"], str(t["measured"]), str(t["limit"]), "yes" if t["met"] else "[red]no[/]")
    console.print(verdicts)


# ---------------------------------------------------------------- child entry points


def main(argv: list[str] | None = None) -> int:
    """Entry points of the bench's child processes (not a user command: use `dibao bench`)."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.evaluation.bench")
    sub = parser.add_subparsers(dest="phase", required=True)
    f = sub.add_parser("floor")
    f.add_argument("--landing", type=Path, required=True)
    f.add_argument("--result", type=Path, required=True)
    d = sub.add_parser("direct")
    d.add_argument("--landing", required=True)
    d.add_argument("--warehouse", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--until")
    sub.add_parser("airflow-init")
    args = parser.parse_args(argv)
    if args.phase == "floor":
        args.result.write_text(json.dumps(read_floor(args.landing)), encoding="utf-8")
    elif args.phase == "direct":
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        run_direct(args.landing, args.warehouse, args.out, args.until)
    else:
        from pipelines.runtime.embedded_airflow import configure, ensure_metadata_db

        configure()
        ensure_metadata_db()
    return 0


if __name__ == "__main__":
    sys.exit(main())
