"""Measuring one bench phase: a child process timed from outside, the stage
timings it wrote summarised, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import time
from pathlib import Path

from pipelines import config
from pipelines.runtime.timing import TIMINGS_ENV


class BenchError(Exception):
    """A phase failed; the message is one line and names the phase's log."""


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


def phase_env(timings: Path | None, airflow_home: Path) -> dict:
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


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
