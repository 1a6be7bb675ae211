"""`dibao bench`: the JSON it writes has the issue's keys and numbers that are
positive and add up.

The fast tests time one real run of the nightly steps (direct calls, in this
process) on town-scale data of 2 months and put the bench's result together from
it. `test_the_command` runs the whole command (floor, backfill through Airflow,
direct calls, nightly split) at the same size; its phases run in this process
(`measure` replaced), since four fresh processes each pay ~15 s of imports and
Airflow start-up before any work: it is marked slow (minutes on a busy 2-core machine).
"""

from __future__ import annotations

import json
import os
import resource
import time
from datetime import date

import pytest

from pipelines.evaluation import bench as bench_module
from pipelines import cli

KEYS = {"scale", "floor_s", "backfill_s", "train_s", "nightly_s", "startup_s", "direct_s", "peak_rss_mb",
        "stages", "machine", "targets", "runs"}


def _in_process(cmd, env, log_path, phase):
    """What `bench.measure` does, without a new process: cmd is [python, -m, module, *args]."""
    module, args = cmd[2], cmd[3:]
    saved = dict(os.environ)
    os.environ.update(env)
    for name in set(saved) - set(env):
        os.environ.pop(name)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.time()
    try:
        code = (cli.main if module == "pipelines.cli" else bench_module.main)(args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    ended = time.time()
    assert code == 0, f"phase {phase} failed"
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"started": started, "ended": ended, "wall_s": round(ended - started, 3),
            "cpu_s": round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 3),
            "peak_rss_mb": round(after.ru_maxrss / 1024, 1)}


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """Generated data (cached), its read floor and one timed run of the nightly steps."""
    from pipelines.runtime.timing import TIMINGS_ENV, read_timings

    root = tmp_path_factory.mktemp("bench-fast")
    data = bench_module.ensure_data(root / "town-2-0", "town", 2, 0)
    landing = root / "town-2-0" / "landing"
    floor = bench_module.read_floor(landing)
    timings = root / "timings.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TIMINGS_ENV, str(timings))
        started = time.time()
        bench_module.run_direct(str(landing), str(root / "w.duckdb"), str(root / "out"))
        ended = time.time()
    measured = {"started": started, "ended": ended, "wall_s": round(ended - started, 3), "cpu_s": 1.0,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    run = bench_module.summarise_run(measured, read_timings(timings))
    cut, new = bench_module.nightly_cut(landing)
    result = bench_module.assemble("town", 2, 0, data, floor, {"wall_s": 1.0}, run, run,
                                   {"wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mb": 1.0}, run, cut, new, None)
    again = bench_module.ensure_data(root / "town-2-0", "town", 2, 0)
    return {"result": json.loads(json.dumps(result)), "again": again, "run": run, "floor": floor, "landing": landing}


def test_the_result_has_the_issues_keys(one_run):
    r = one_run["result"]
    assert KEYS <= set(r)
    assert r["machine"]["cores"] >= 1 and r["machine"]["memory_mb"] > 0
    for key in ("floor_s", "backfill_s", "nightly_s", "direct_s", "peak_rss_mb"):
        assert r[key] > 0, key
    assert {"read", "repair", "validate", "load", "link", "history", "marts", "features", "train", "score",
            "publish"} <= set(r["stages"])
    assert len(r["targets"]) == 3


def test_skipped_phases_are_null_and_judge_no_target(one_run):
    """A province run measures the backfill alone (`--skip direct,nightly`)."""
    r = one_run["result"]
    run = r["runs"]["backfill"]
    floor = {"seconds": r["floor_s"], "parts_s": r["floor_parts_s"], "rows": r["data"]["rows"],
             "deliveries": r["data"]["deliveries"], "files": r["data"]["files"], "bytes": r["data"]["bytes"]}
    skipped = bench_module.assemble("province", 2, 0, {}, floor, {"wall_s": 1.0}, run, None, None, None,
                                    date(2024, 1, 31), 3, None, frozenset({"direct", "nightly"}))
    assert skipped["direct_s"] is None and skipped["nightly_s"] is None and skipped["skipped"] == ["direct", "nightly"]
    assert skipped["startup_s"] == run["startup_s"] and skipped["command"].endswith("--skip direct,nightly")
    judged = {t["target"] for t in skipped["targets"]}
    assert not any("Airflow" in t or "nightly" in t for t in judged) and any("8 GB" in t for t in judged)
    with pytest.raises(bench_module.BenchError, match="cannot skip floor"):
        bench_module.bench("town", 2, 0, skip=frozenset({"floor"}))


def test_airflow_overhead_is_the_time_outside_the_tasks_beyond_the_direct_runs():
    """A machine that ran the direct calls 20% faster is not Airflow's overhead; a run that
    spends more outside its tasks is."""
    from pipelines.evaluation.bench_report import airflow_overhead, targets

    direct = {"wall_s": 100.0, "tasks_s": 99.0}
    drifted = airflow_overhead({"wall_s": 125.0, "tasks_s": 119.0}, direct)  # tasks 20% slower, 5 s more outside
    assert drifted == {"share": 0.05, "outside_tasks_s": 5.0, "wall_ratio": 1.25, "tasks_ratio": pytest.approx(1.202)}
    slow = airflow_overhead({"wall_s": 130.0, "tasks_s": 99.0}, direct)  # same tasks, 30 s of start-up and gaps
    assert slow["share"] == 0.3 and slow["tasks_ratio"] == 1.0
    run = {"floor_s": None, "backfill_s": 130.0, "nightly_s": None, "direct_s": 100.0, "scale": "city",
           "runs": {"backfill": {"wall_s": 130.0, "tasks_s": 99.0}, "direct": direct}}
    verdict = next(t for t in targets(run) if "Airflow" in t["target"])
    assert verdict["measured"] == 0.3 and verdict["met"] is False and verdict["how"]["wall_ratio"] == 1.3


def test_the_nights_own_work_is_its_deliveries_scores_and_lists_not_the_rework():
    """The night target's judgement names the part of the night that the new month brings
    whatever the history (its share of the backfill is the least the target can reach)."""
    from pipelines.evaluation.bench_report import targets

    nightly = {"wall_s": 60.0, "startup_s": 9.0,
               "stages": {"discover": 0.5, "stage": 0.5, "read": 2.0, "repair": 0.5, "stage_write": 0.5,
                          "validate": 1.0, "load": 1.0, "link": 0.5, "feedback": 0.0, "features": 0.5,
                          "score": 5.0, "lists": 6.0,  # 18.0: the month's own
                          "history": 5.0, "marts": 2.0, "role_copies": 20.0, "publish": 1.0}}  # 28.0: rework
    run = {"floor_s": None, "backfill_s": 120.0, "nightly_s": 60.0, "startup_s": 9.0, "direct_s": None,
           "scale": "city", "runs": {"backfill": {}, "nightly": nightly}}
    verdict = next(t for t in targets(run) if t["target"].startswith("nightly"))
    assert verdict["measured"] == 0.425 and verdict["met"] is False
    assert verdict["how"] == {"own_work_s": 18.0, "own_work_share": 0.15, "rework_s": 28.0}
    run["runs"]["nightly"] = None
    assert next(t for t in targets(run) if t["target"].startswith("nightly"))["how"] is None


def test_stage_times_add_up_to_at_most_the_run(one_run):
    run = one_run["run"]
    assert 0 < sum(run["stages"].values()) <= run["wall_s"]
    assert sum(run["tasks"].values()) <= run["wall_s"]
    # every task is one stage of the same name plus the finer stages inside it
    assert sum(run["stages"].values()) == pytest.approx(sum(run["tasks"].values()), abs=0.05 * run["wall_s"])
    assert all(mb > 0 for mb in run["stage_peak_mb"].values())


def test_floor_reads_every_file_of_every_complete_delivery(one_run):
    floor = one_run["floor"]
    assert floor["deliveries"] >= 3 and floor["files"] >= floor["deliveries"] and floor["rows"] > 0 and floor["seconds"] > 0


def test_generated_data_is_cached(one_run):
    assert one_run["again"]["cached"] is True


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench_module, "measure", _in_process)
        json_path = root / "bench-town.json"
        result = bench_module.bench("town", 2, 0, root / "cache", json_path)
        again = bench_module.ensure_data(root / "cache" / "town-2-0", "town", 2, 0)
    return {"result": result, "file": json.loads(json_path.read_text(encoding="utf-8")), "again": again}


@pytest.mark.slow
def test_the_command(result):
    r = result["file"]
    assert KEYS <= set(r)
    assert r["scale"] == "town"
    assert r["machine"]["cores"] >= 1 and r["machine"]["memory_mb"] > 0
    for key in ("floor_s", "backfill_s", "nightly_s", "startup_s", "direct_s", "peak_rss_mb"):
        assert r[key] > 0, key
    assert r["train_s"] >= 0
    assert {"read", "repair", "validate", "load", "link", "history", "marts", "features", "train", "score",
            "publish"} <= set(r["stages"])
    assert sum(r["stages"].values()) <= r["backfill_s"]
    assert r["train_s"] <= r["backfill_s"]
    assert r["startup_s"] < r["nightly_s"]
    for run in ("backfill", "direct", "nightly", "quiet"):
        assert sum(r["runs"][run]["stages"].values()) <= r["runs"][run]["wall_s"]
    assert r["quiet_s"] > 0 and {"history", "score", "publish"} <= set(r["runs"]["quiet"]["tasks"])
    assert r["nightly_new_deliveries"] >= 1
    assert r["data"]["rows"] > 0 and r["data"]["files"] > 0
    assert {t["target"] for t in r["targets"]} >= {"backfill without training ≤ 3× read floor",
                                                    "Airflow overhead ≤ 20% over direct calls"}
    assert result["again"]["cached"] is True


# --- Flat nights: the night after a short and a long history of one city (bench_nights.py)


def test_the_short_history_is_the_long_worlds_first_months(one_run):
    from pipelines.evaluation.bench_nights import delivery_months, history_dates

    landing = one_run["landing"]
    assert delivery_months(landing) == [(2024, 1), (2024, 2)]
    for months in (1, 2):  # 2: the world's last month, incomplete (rs without _READY: its others are held)
        with pytest.raises(bench_module.BenchError, match=f"after {months} months needs 2 to 1 delivery months"):
            history_dates(landing, months)
    with pytest.raises(bench_module.BenchError, match="must be more than --months"):
        bench_module.bench("town", 3, 0, night_months=3)


def test_the_nights_ratio_is_judged_against_20_percent(one_run):
    from pipelines.evaluation.bench_nights import nights_result

    run = one_run["run"]

    def night(months, wall):
        return {"history_months": months, "night_s": wall, "night_without_startup_s": wall - run["startup_s"],
                "cpu_s": run["cpu_s"], "run": run}

    same = nights_result({"12": night(12, run["wall_s"]), "36": night(36, run["wall_s"])})
    assert same["ratio"] == 1.0 and same["ratio_cpu"] == 1.0 and same["target"]["met"]
    assert same["history_months"] == [12, 36]
    slower = nights_result({"36": night(36, run["wall_s"] * 1.25), "12": night(12, run["wall_s"])})
    assert slower["ratio"] == 1.25 and not slower["target"]["met"]
    assert slower["target"]["target"] == "36-month night within 20% of the 12-month night"


@pytest.mark.slow
def test_the_command_measures_two_nights(tmp_path):
    """`dibao bench --months 2 --night-months 3 --skip direct,nightly` at town scale: one world
    of 4 months, the night after 2 and after 3 of its months, both through `dibao run`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench_module, "measure", _in_process)
        json_path = tmp_path / "bench-town.json"
        bench_module.bench("town", 2, 0, tmp_path / "cache", json_path, skip=frozenset({"direct", "nightly"}),
                           night_months=3)
    r = json.loads(json_path.read_text(encoding="utf-8"))
    nights = r["nights"]
    assert nights["history_months"] == [2, 3] and r["command"].endswith("--night-months 3")
    short, long = nights["nights"]["2"], nights["nights"]["3"]
    assert (short["after"], short["until"], long["after"], long["until"]) == (
        "2024-01-31", "2024-02-29", "2024-02-29", "2024-03-31")
    for n in (short, long):
        assert n["new_deliveries"] >= 3 and 0 < n["night_without_startup_s"] < n["night_s"]
        assert {"discover", "validate", "load", "history", "publish"} <= set(n["run"]["stages"])
        # each night twice, the second on a copy of the folder as it was before the first: it loads again
        assert len(n["runs"]) == 2 and all(r["stage_s"] > 0 for r in n["runs"])
        assert n["night_s"] == pytest.approx(sum(r["wall_s"] for r in n["runs"]) / 2, abs=1e-3)
    assert nights["ratio"] == pytest.approx(long["night_s"] / short["night_s"], abs=1e-3)
    assert nights["ratio_cpu"] == pytest.approx(long["cpu_s"] / short["cpu_s"], abs=1e-3)
    assert nights["target"] in r["targets"]
    assert (tmp_path / "cache" / "town-4-0" / "generated.json").exists()  # one world for both nights
