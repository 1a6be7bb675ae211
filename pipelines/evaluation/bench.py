"""`dibao bench`: the nightly job measured against its read floor, in one run.

Phases (floor, backfill, direct, nightly; docs/benchmarks.md), each a fresh
process measured from outside, on data generated once and cached under
`var/bench/`. This module runs them, and is also their child entry point
(`python -m pipelines.evaluation.bench floor|direct|airflow-init`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from pipelines import config
from pipelines.evaluation.bench_data import nightly_cut, read_floor
from pipelines.evaluation.bench_measure import BenchError, load_average, measure, phase_env, summarise_run
from pipelines.evaluation.bench_nights import measure_nights
from pipelines.evaluation.bench_report import assemble
from pipelines.runtime.timing import read_timings

__all__ = ["BENCH_ROOT", "PHASES", "SKIPPABLE", "BenchError", "assemble", "bench", "ensure_data", "main",
           "nightly_cut", "read_floor", "run_direct", "summarise_run"]

BENCH_ROOT = config.VAR / "bench"
GENERATOR = Path(__file__).resolve().parent.parent / "generate"
PHASES = ("generate", "floor", "backfill", "direct", "nightly prep", "nightly", "quiet")
# Phases `--skip` may leave out: a province run's backfill alone takes most of an hour here.
SKIPPABLE = ("direct", "nightly")


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


def run_direct(landing: str, warehouse: str, out: str, until: str | None = None) -> dict:
    """The nightly DAG's steps in its order, without Airflow (dags/nightly.py)."""
    from pipelines.runtime import nightly

    run_id = f"direct__{time.strftime('%Y%m%dT%H%M%S')}"
    feedback = str(config.feedback_folder(landing))
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


def _nightly_and_quiet(nightly_dir: Path, landing: Path, airflow_home: Path, cut: date, tick) -> tuple:
    """All but the last month loaded by direct calls (prep), then the last month through
    Airflow (the nightly run), then one more run with nothing new (the quiet night)."""
    tick("nightly prep", 4, len(PHASES))
    nightly_dir.mkdir()
    prep = _direct_run(nightly_dir, landing, phase_env(nightly_dir / "prep-timings.jsonl", airflow_home), until=cut)
    tick("nightly", 5, len(PHASES))
    env = phase_env(nightly_dir / "timings.jsonl", airflow_home)
    nightly = summarise_run(_airflow_run(nightly_dir, landing, env), read_timings(nightly_dir / "timings.jsonl"))
    tick("quiet", 6, len(PHASES))  # the night after: nothing new delivered (most nights)
    env = phase_env(nightly_dir / "quiet-timings.jsonl", airflow_home)
    quiet = summarise_run(_airflow_run(nightly_dir, landing, env), read_timings(nightly_dir / "quiet-timings.jsonl"))
    return prep, nightly, quiet


def bench(scale: str = "city", months: int = 12, seed: int = 0, root: Path = BENCH_ROOT,
          json_path: Path | None = None, keep: bool = False, progress=None,
          skip: frozenset[str] = frozenset(), night_months: int | None = None) -> dict:
    """Run every phase but those in `skip` (SKIPPABLE); return the result (also written to `json_path`).
    With `night_months`, also the nights after `months` and `night_months` of one city (bench_nights.py)."""
    unknown = set(skip) - set(SKIPPABLE)
    if unknown:
        raise BenchError(f"cannot skip {', '.join(sorted(unknown))}: only {', '.join(SKIPPABLE)}")
    if night_months is not None and night_months <= months:
        raise BenchError(f"--night-months ({night_months}) must be more than --months ({months})")
    tick = progress or (lambda phase, done, total: None)
    folder = Path(root).resolve() / data_key(scale, months, seed)
    landing, runs, airflow_home = folder / "landing", folder / "runs", Path(root).resolve() / "airflow"
    load_before = load_average()
    tick("generate", 0, len(PHASES))
    data = ensure_data(folder, scale, months, seed)
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)

    tick("floor", 1, len(PHASES))
    floor_file = runs / "floor.json"
    measure(_python("floor", "--landing", str(landing), "--result", str(floor_file)),
            phase_env(None, airflow_home), runs / "floor.log", "floor")
    floor = json.loads(floor_file.read_text(encoding="utf-8"))

    # Airflow's metadata database is created once per machine: not part of any run.
    init = measure(_python("airflow-init"), phase_env(None, airflow_home), runs / "airflow-init.log", "airflow-init")

    tick("backfill", 2, len(PHASES))
    backfill_dir = runs / "backfill"
    env = phase_env(backfill_dir / "timings.jsonl", airflow_home)
    backfill_dir.mkdir()
    backfill = summarise_run(_airflow_run(backfill_dir, landing, env), read_timings(backfill_dir / "timings.jsonl"))

    direct = prep = nightly = quiet = None
    cut, new_deliveries = nightly_cut(landing)
    if "direct" not in skip:
        tick("direct", 3, len(PHASES))
        direct_dir = runs / "direct"
        direct_dir.mkdir()
        env = phase_env(direct_dir / "timings.jsonl", airflow_home)
        direct = summarise_run(_direct_run(direct_dir, landing, env), read_timings(direct_dir / "timings.jsonl"))

    if "nightly" not in skip:
        prep, nightly, quiet = _nightly_and_quiet(runs / "nightly", landing, airflow_home, cut, tick)
    nights = None
    if night_months is not None:
        # One month more than the long history: a world's last month is never complete (its 人社
        # folder has no _READY, docs/generator.md), so the others of that month are held.
        long_folder = Path(root).resolve() / data_key(scale, night_months + 1, seed)
        tick(f"generate {night_months + 1} months", 6, len(PHASES))
        ensure_data(long_folder, scale, night_months + 1, seed)  # its first `months` months: the short history
        nights = measure_nights(long_folder / "landing", runs / "nights", airflow_home, (months, night_months),
                                _direct_run, _airflow_run, lambda label: tick(label, 6, len(PHASES)))
    tick("done", 7, len(PHASES))

    if not keep:
        shutil.rmtree(runs, ignore_errors=True)
    result = assemble(scale, months, seed, data, floor, init, backfill, direct, prep, nightly, cut,
                      new_deliveries, load_before, skip, quiet=quiet)
    if nights is not None:
        result["command"] += f" --night-months {night_months}"
        result["nights"] = nights
        result["targets"].append(nights["target"])
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


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
