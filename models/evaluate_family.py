"""Evaluate the nightly risk model on a family of worlds, judged by its worst.

    .venv/bin/python models/evaluate_family.py [--worlds a,b,...] [--out models/family.md]
        [--keep DIR] [--jobs 1] [--shared DIR] [--scale county]

For every world: `dibao generate` with the world's dynamics preset, history and
seed (docs/worlds.md); `dibao run` on it, the real nightly job through Airflow,
which trains the model on that world's own history; then
`../shared/tools/evaluate_world.py --json` against its truth. `external-a` is the
independently written world in ../shared/worlds (its landing copied to a scratch
folder first, its truth read in place). Writes a markdown table (one row per
world) and the same numbers as JSON beside it, and prints the worst world and the
median share of the oracle's precision.

The shared folder is ../shared from the project root, or $DIBAO_SHARED, or
--shared. Nothing is written there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = "external-a"


@dataclass(frozen=True)
class World:
    name: str
    preset: str
    months: int
    seed: int
    scale: str = "county"
    settings: tuple[str, ...] = field(default_factory=tuple)


# Each world moves one habit away from the default city; seeds differ so that no
# two worlds share a population. 12, 18 and 24 months of history are all present.
WORLDS: tuple[World, ...] = (
    World("default-18", "default", 18, 101),
    World("yearly-18", "yearly", 18, 102),
    World("twice-yearly-18", "twice-yearly", 18, 103),
    World("irregular-18", "irregular", 18, 104),
    World("volatile-informal-18", "volatile-informal", 18, 105),
    World("high-job-loss-18", "high-job-loss", 18, 106),
    World("low-apply-18", "low-apply", 18, 107),
    World("strict-conversion-24", "strict-conversion", 24, 108),
    World("irregular-12", "irregular", 12, 109),
    World("default-24", "default", 24, 110),
    # A year of history is where a young city's model starts; the kept-back worlds have it too.
    World("default-12", "default", 12, 111),
    World("twice-yearly-12", "twice-yearly", 12, 112),
    World("high-job-loss-12", "high-job-loss", 12, 113),
)
NAMES = tuple(w.name for w in WORLDS) + (EXTERNAL,)


def shared_dir(flag: str | None) -> Path:
    return Path(flag or os.environ.get("DIBAO_SHARED") or ROOT.parent / "shared").resolve()


def _step(cmd: list[str], log: Path, env: dict) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        rc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise RuntimeError(f"exit {rc}; see {log}")


def _env(airflow_home: Path) -> dict:
    env = os.environ.copy()
    for name in ("DIBAO_ALERT_WEBHOOK", "DIBAO_ALERT_LOG", "DIBAO_FEEDBACK"):
        env.pop(name, None)  # a family run must not alert anyone
    env["AIRFLOW_HOME"] = str(airflow_home)  # its own, never a developer's .airflow
    env.setdefault("GX_ANALYTICS_ENABLED", "False")
    return env


def model_in_force(warehouse: Path) -> str:
    """What scores tonight, as the registry beside the warehouse records it."""
    path = Path(f"{warehouse}.models") / "registry.json"
    if not path.exists():
        return ""
    entries = json.loads(path.read_text(encoding="utf-8")).get("models", [])
    current = [e for e in entries if e.get("status") == "current"]
    if not current:
        return ""
    e = current[-1]
    kind = e.get("in_force") or e.get("kind") or e.get("model") or ""
    return f"{kind} {e.get('version', '')}".strip() if isinstance(kind, str) else str(e.get("version", ""))


def _describe(world: World | None, truth: Path) -> dict:
    """Preset, history, seed and the knobs that differ, from what the truth recorded."""
    if world is None:
        summary = json.loads((truth / "world_summary.json").read_text(encoding="utf-8"))
        params = summary.get("params", {})
        return {"preset": "(external)", "months": len(summary.get("extract_dates", [])),
                "seed": params.get("seed"), "dynamics": " ".join(params.get("set", []))}
    dyn = json.loads((truth / "dynamics.json").read_text(encoding="utf-8"))
    return {"preset": world.preset, "months": world.months, "seed": world.seed,
            "dynamics": " ".join(f"{k}={v}" for k, v in dyn["changed"].items()) or "default"}


def _fresh(work: Path) -> None:
    """Remove a previous run's warehouse, its copies and models, and its output."""
    for p in work.glob("warehouse.duckdb*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    shutil.rmtree(work / "out", ignore_errors=True)


def evaluate_world(world: World | None, work: Path, shared: Path, airflow_home: Path,
                   say, reuse: bool = False) -> dict:
    """Generate (unless external), run and evaluate one world; returns its row.
    `reuse`: a kept world whose run finished (out/run-summary.json) is only evaluated again."""
    name = world.name if world else EXTERNAL
    work.mkdir(parents=True, exist_ok=True)
    log = work / "steps.log"
    env = _env(airflow_home)
    row: dict = {"world": name}
    started = time.perf_counter()
    landing, warehouse = work / "landing", work / "warehouse.duckdb"
    truth = shared / "worlds" / EXTERNAL / "truth" if world is None else work / "truth"
    ran = work / "ran.json"  # the seconds each step took, written once the run finished
    try:
        finished = warehouse.exists() and (work / "out" / "run-summary.json").exists() and truth.exists()
        if reuse and finished:
            row.update(_describe(world, truth), reused=True)
            if ran.exists():
                row["step_seconds"] = json.loads(ran.read_text(encoding="utf-8"))
            say(name, "reused run", 0.0)
        else:
            steps = {}
            t = time.perf_counter()
            if world is None:
                shutil.rmtree(landing, ignore_errors=True)
                shutil.copytree(shared / "worlds" / EXTERNAL / "landing", landing)
                for p in [landing, *landing.rglob("*")]:  # the shared copy is read-only
                    p.chmod(0o755 if p.is_dir() else 0o644)
                steps["copy"] = round(time.perf_counter() - t, 1)
                say(name, "copy landing", steps["copy"])
            else:
                cmd = [sys.executable, "-m", "pipelines.cli", "generate", "--landing", str(landing),
                       "--truth", str(truth), "--scale", world.scale, "--months", str(world.months),
                       "--seed", str(world.seed), "--dynamics", world.preset]
                for s in world.settings:
                    cmd += ["--set", s]
                _step(cmd, log, env)
                steps["generate"] = round(time.perf_counter() - t, 1)
                say(name, "generate", steps["generate"])
            row.update(_describe(world, truth))
            t = time.perf_counter()
            _fresh(work)
            _step([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing),
                   "--warehouse", str(warehouse), "--out", str(work / "out")], log, env)
            steps["run"] = round(time.perf_counter() - t, 1)
            say(name, "dibao run", steps["run"])
            ran.write_text(json.dumps(steps) + "\n", encoding="utf-8")
            row["step_seconds"] = steps
        t = time.perf_counter()
        done = subprocess.run([sys.executable, str(shared / "tools" / "evaluate_world.py"), "--warehouse",
                               str(warehouse), "--truth", str(truth), "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"evaluate_world.py exit {done.returncode}: {done.stderr.strip()[-300:]}")
        row.update(flatten(json.loads(done.stdout)))
        row["in_force"] = model_in_force(warehouse)
        say(name, "evaluate", time.perf_counter() - t)
    except Exception as exc:  # noqa: BLE001 - one world failing must not hide the others
        row["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(name, f"FAILED: {row['error']}", time.perf_counter() - started)
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def flatten(result: dict) -> dict:
    """The evaluator's --json output reduced to one table row."""
    rk = result.get("ranking", {})
    model, base, oracle = rk.get("model", {}), rk.get("baseline", {}), rk.get("oracle", {})
    flat = result.get("flat", {})
    return {
        "scored": rk.get("truth_scored_households"), "positives": rk.get("truth_positives"), "k": rk.get("k"),
        "as_of_matches_truth": rk.get("as_of_matches_truth"), "coverage": rk.get("coverage"),
        "model_auc": model.get("auc"), "model_p_at_k": model.get("precision_at_k"),
        "sort_auc": base.get("auc"), "sort_p_at_k": base.get("precision_at_k"),
        "oracle_p_at_k": oracle.get("precision_at_k"),
        "share_of_oracle": rk.get("p_at_k_of_oracle"),
        "sort_share_of_oracle": (base["precision_at_k"] / oracle["precision_at_k"]
                                 if base.get("precision_at_k") is not None and oracle.get("precision_at_k")
                                 else None),
        "urban_rural_recall_gap": flat.get("urban_rural_recall_gap"),
        "rows_without_reasons": rk.get("rows_without_reasons"),
        "ingest_ok": flat.get("ingest_ok"), "discovery_recall": flat.get("discovery_recall"),
    }


def meets(row: dict) -> bool | None:
    """Issue 15's bar for one world: AUC at least the sort's + 0.02, precision at k at least the sort's."""
    needed = ("model_auc", "sort_auc", "model_p_at_k", "sort_p_at_k")
    if any(row.get(k) is None for k in needed):
        return None
    return row["model_auc"] >= row["sort_auc"] + 0.02 and row["model_p_at_k"] >= row["sort_p_at_k"]


def summarise(rows: list[dict]) -> dict:
    ok = [r for r in rows if r.get("share_of_oracle") is not None]
    worst = min(ok, key=lambda r: r["share_of_oracle"]) if ok else None
    return {
        "worlds": len(rows), "evaluated": len(ok), "failed": [r["world"] for r in rows if "error" in r],
        "worst_world": worst["world"] if worst else None,
        "worst_share_of_oracle": worst["share_of_oracle"] if worst else None,
        "median_share_of_oracle": statistics.median(r["share_of_oracle"] for r in ok) if ok else None,
        "median_sort_share_of_oracle": (statistics.median(r["sort_share_of_oracle"] for r in ok
                                                          if r.get("sort_share_of_oracle") is not None)
                                        if ok else None),
        "worlds_meeting_bar": sum(1 for r in ok if meets(r)),
        "step_seconds": round(sum(sum(r.get("step_seconds", {}).values()) for r in rows), 1),
        "reused": sum(1 for r in rows if r.get("reused")),
    }


def _f(v, nd: int = 3) -> str:
    if v is None:
        return "—"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.0f}%"


def table(rows: list[dict], summary: dict, meta: dict) -> str:
    head = ("| world | dynamics | months | scored (k) | model AUC | model P@k | sort AUC | sort P@k "
            "| oracle P@k | model / oracle | sort / oracle | urban–rural recall gap | meets bar | in force |")
    lines = [
        "# The risk model on a family of worlds",
        "",
        f"Generated by `{meta['command']}` on {meta['finished']} in {meta['wall_seconds'] / 60:.0f} min "
        f"(scale {meta['scale']}; project commit {meta.get('commit') or 'unknown'}); generating and running "
        f"the worlds took {summary['step_seconds'] / 60:.0f} min in all"
        + (f" ({summary['reused']} runs reused from kept folders: their seconds are those of the run that "
           f"made them)." if summary["reused"] else "."),
        "Label: true per-capita income below the standard in one of the 3 months after the scoring date; "
        "k = 10% of scored households (../shared/tools/evaluate_world.py). The sort is the bureau's: last "
        "checked 月人均收入 ÷ standard. \"Meets bar\": AUC ≥ the sort's + 0.02 and P@k ≥ the sort's (issue 15).",
        "",
        head,
        "|" + "---|" * head.count(" | ") + "---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['world']} | {r.get('dynamics', '')} | {r.get('months', '')} | failed: "
                         f"{r['error']} |" + " |" * 10)
            continue
        m = meets(r)
        lines.append(
            f"| {r['world']} | {r.get('dynamics') or 'default'} | {r.get('months', '')} "
            f"| {r.get('scored')} ({r.get('k')}) | {_f(r.get('model_auc'))} | {_f(r.get('model_p_at_k'))} "
            f"| {_f(r.get('sort_auc'))} | {_f(r.get('sort_p_at_k'))} | {_f(r.get('oracle_p_at_k'))} "
            f"| {_pct(r.get('share_of_oracle'))} | {_pct(r.get('sort_share_of_oracle'))} "
            f"| {_f(r.get('urban_rural_recall_gap'))} | {'—' if m is None else ('yes' if m else 'no')} "
            f"| {r.get('in_force') or '—'} |")
    lines += [
        "",
        f"**Worst world:** {summary['worst_world']} ({_pct(summary['worst_share_of_oracle'])} of the oracle's "
        f"precision at k). **Median** model / oracle: {_pct(summary['median_share_of_oracle'])} "
        f"(the sort's: {_pct(summary['median_sort_share_of_oracle'])}). Worlds meeting the bar: "
        f"{summary['worlds_meeting_bar']} of {summary['evaluated']}.",
    ]
    if summary["failed"]:
        lines.append(f"Failed: {', '.join(summary['failed'])}.")
    return "\n".join(lines) + "\n"


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Evaluate the nightly risk model on a family of worlds.")
    ap.add_argument("--worlds", default=",".join(NAMES),
                    help=f"comma-separated world names (default all): {', '.join(NAMES)}")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "family.md",
                    help="markdown table; the JSON goes beside it (default models/family.md)")
    ap.add_argument("--keep", type=Path, default=None, help="keep each world's folders under DIR")
    ap.add_argument("--jobs", type=int, default=1, help="worlds at once (default 1)")
    ap.add_argument("--shared", default=None, help="the shared folder (default $DIBAO_SHARED or ../shared)")
    ap.add_argument("--scale", default="county", help="scale of the generated worlds (default county)")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: evaluate again the kept worlds whose run finished, without rerunning them")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.worlds.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        ap.error(f"unknown world(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(NAMES)}")
    if a.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {a.jobs}")
    if a.reuse and not a.keep:
        ap.error("--reuse needs --keep DIR (the folder of the kept worlds)")
    a.names = names
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    shared = shared_dir(a.shared)
    if not (shared / "tools" / "evaluate_world.py").exists():
        print(f"evaluate_family: no evaluator at {shared / 'tools' / 'evaluate_world.py'} "
              f"(set --shared or DIBAO_SHARED)", file=sys.stderr)
        return 2
    root = a.keep.resolve() if a.keep else Path(tempfile.mkdtemp(prefix="dibao-family-"))
    began = time.perf_counter()
    lock = threading.Lock()

    def say(world: str, step: str, seconds: float) -> None:
        with lock:
            print(f"{time.perf_counter() - began:7.0f}s  {world:<22} {step:<14} {seconds:6.1f}s", flush=True)

    by_name = {w.name: w for w in WORLDS}
    specs = [None if n == EXTERNAL else replace(by_name[n], scale=a.scale) for n in a.names]
    homes = [root / f"airflow-{i}" for i in range(a.jobs)]  # one Airflow home per concurrent world

    def one(i: int, spec: World | None) -> dict:
        name = spec.name if spec else EXTERNAL
        return evaluate_world(spec, root / name, shared, homes[i % a.jobs], say, reuse=a.reuse)

    try:
        if a.jobs == 1:
            rows = [one(0, s) for s in specs]
        else:
            with ThreadPoolExecutor(a.jobs) as pool:
                rows = list(pool.map(one, range(len(specs)), specs))
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    wall = time.perf_counter() - began
    summary = summarise(rows)
    meta = {"command": "python models/evaluate_family.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "finished": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "wall_seconds": round(wall, 1), "scale": a.scale, "commit": _commit(), "jobs": a.jobs}
    out = a.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table(rows, summary, meta), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "summary": summary, "worlds": rows},
                                                   ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"worst world: {summary['worst_world']} ({_pct(summary['worst_share_of_oracle'])} of the oracle's "
          f"precision at k); median {_pct(summary['median_share_of_oracle'])}; "
          f"{summary['worlds_meeting_bar']}/{summary['evaluated']} meet the bar; "
          f"wall {wall / 60:.1f} min; wrote {out} and {out.with_suffix('.json')}")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
