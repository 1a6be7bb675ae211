"""The production setting, tested: Airflow metadata in PostgreSQL and the LocalExecutor.

Given `DIBAO_TEST_POSTGRES_URL` (a SQLAlchemy URL; `bash .ci/postgres start` starts a
throwaway server and prints one), the test creates a fresh database on that server,
points a fresh AIRFLOW_HOME at it with `AIRFLOW__CORE__EXECUTOR=LocalExecutor` and
parallelism 2, runs `airflow db migrate` and `airflow pools set dibao_writer 1`, starts
`airflow api-server` (the LocalExecutor's workers report to its Execution API), and
runs `dibao_nightly` on a generated town (2 months) with `airflow dags test
--use-executor`: the executor's worker processes run the tasks, not the test process. It then checks, in PostgreSQL's task_instance
table, that mapped stage/validate tasks were handed to the executor together and ran
in processes of their own, and in the warehouse that the deliveries loaded and the risk list was written.

Without the URL the test is skipped; under CI (`CI` or `DIBAO_REQUIRE_POSTGRES` set)
it fails instead, so a CI without PostgreSQL cannot pass silently. The set-up it shares
with test_airflow_celery.py is tests/airflow_env.py.
"""

from __future__ import annotations

import json
import os
import time
from itertools import combinations
from pathlib import Path

import pytest

from tests.airflow_env import (
    Components, Requirement, airflow_env, dags_test, free_port, fresh_database, metadata, migrate,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NEED = Requirement("the PostgreSQL test", "DIBAO_REQUIRE_POSTGRES")
PARALLELISM = 2
MAPPED = ("stage", "validate")


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh database on the test server, dropped afterwards."""
    with fresh_database("dibao_af", NEED, strict=True) as url:
        yield url


@pytest.fixture(scope="module")
def run(postgres_url, tmp_path_factory):
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("pg-local")
    landing, truth = root / "landing", root / "truth"
    generate(landing, truth, scale="town", months=2, seed=11)
    port = free_port()
    env = airflow_env(root, postgres_url, "LocalExecutor", PARALLELISM, port)
    conf = {"landing": str(landing), "warehouse": str(root / "w.duckdb"), "out": str(root / "out"),
            "feedback": str(root / "feedback")}
    log = root / "airflow.log"
    seconds = {}
    started = time.perf_counter()
    migrate(env, log)
    seconds["migrate_and_pool"] = time.perf_counter() - started
    with Components(root) as components:
        components.start_api_server(env, port)
        components.wait_api_server(port)
        seconds["api_server_ready"] = time.perf_counter() - started - seconds["migrate_and_pool"]
        t = time.perf_counter()
        dags_test("dibao_nightly", "--use-executor", "--conf", json.dumps(conf), env=env, log=log)
        seconds["dag_run"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    print("\nPostgreSQL + LocalExecutor wall time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    return {"url": postgres_url, "conf": conf, "log": log, "seconds": seconds}


def test_the_run_succeeded_in_postgres_metadata(run):
    runs = metadata(run["url"], "SELECT run_id, state FROM dag_run WHERE dag_id = 'dibao_nightly'")
    assert [r["state"] for r in runs] == ["success"]
    tis = metadata(run["url"], "SELECT task_id, state FROM task_instance WHERE dag_id = 'dibao_nightly'")
    assert {r["task_id"] for r in tis} >= {"discover", "stage", "validate", "load", "history", "marts", "score",
                                           "publish", "quality_docs"}
    assert {r["state"] for r in tis} == {"success"}, tis
    assert "LocalExecutor" in run["log"].read_text(errors="replace")


def test_mapped_tasks_were_in_flight_together_in_executor_workers(run):
    """Two mapped task instances were handed over at once (scheduled before the other
    ended; max_active_tis_per_dagrun=2 lets two run), each ran in its own process, not in
    the test's. Whether two also *ran* at the same moment depends on how long a delivery
    takes to stage (about half a second here since validation is SQL) and on the
    machine's load: printed, not asserted (one CI run on a busy machine had none).
    Spreading them over two workers is test_airflow_celery's."""
    tis = metadata(run["url"], f"""
        SELECT task_id, map_index, scheduled_dttm, start_date, end_date, pid FROM task_instance
        WHERE dag_id = 'dibao_nightly' AND task_id IN {MAPPED} ORDER BY start_date""")
    for r in tis:
        print(f"{r['task_id']:>8}[{r['map_index']}] pid {r['pid']}: scheduled {r['scheduled_dttm']:%H:%M:%S.%f}, "
              f"ran {r['start_date']:%H:%M:%S.%f} – {r['end_date']:%H:%M:%S.%f}")
    assert sum(r["task_id"] == "stage" for r in tis) >= 2
    in_flight = [(a, b) for a, b in combinations(tis, 2)
                 if a["scheduled_dttm"] < b["end_date"] and b["scheduled_dttm"] < a["end_date"]]
    assert in_flight, "no two mapped task instances were scheduled together: the DAG handed them over one by one"
    assert len({r["pid"] for r in tis}) == len(tis) and os.getpid() not in {r["pid"] for r in tis}
    ran_together = [(a, b) for a, b in combinations(tis, 2)
                    if a["start_date"] < b["end_date"] and b["start_date"] < a["end_date"]]
    print(f"{len(in_flight)} pairs of mapped task instances in flight together, {len(ran_together)} ran together")


def test_the_warehouse_was_built(run):
    import duckdb

    con = duckdb.connect(run["conf"]["warehouse"], read_only=True)
    try:
        ledger = con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'loaded'), "
                             "count(*) FILTER (WHERE status = 'loaded' AND rows_read <> rows_loaded + rows_quarantined) "
                             "FROM audit.load_ledger").fetchall()[0]
        risk = con.execute("SELECT count(*) FROM mart.risk_list").fetchall()[0][0]
    finally:
        con.close()
    files, loaded, unbalanced = ledger
    assert files > 0 and loaded > 0 and unbalanced == 0, ledger
    assert risk > 0
    assert (Path(run["conf"]["out"]) / "run-summary.json").exists()
