"""Scale-out, run: the nightly DAG under the CeleryExecutor, two workers, one warehouse.

Given a Redis broker (`DIBAO_TEST_REDIS_URL`; `bash .ci/redis start` prints one) and a
PostgreSQL server (`DIBAO_TEST_POSTGRES_URL`; `bash .ci/postgres start`), the test makes a
fresh metadata database, runs `airflow db migrate` and `airflow pools set dibao_writer 1`,
and starts `airflow api-server`, `scheduler`, `dag-processor` and two `airflow celery worker`
processes (concurrency 1, each with its own name: pipelines/runtime/celery_workers.py) on a
Celery queue of its own. It triggers `dibao_nightly` on a generated town (2 months) with
`airflow dags trigger` and waits for the run. Then it checks, in the metadata database, that
the run succeeded, that mapped stage/validate task instances ran on both workers and that
the writer tasks ran in the one-slot pool one at a time; and that every table of the
warehouse equals, row for row (EXCEPT ALL both ways), that of an embedded `dibao run` on
the same deliveries.

Without the URLs the test is skipped; under CI (`CI` or `DIBAO_REQUIRE_CELERY` set) it
fails instead, so a CI without Redis or PostgreSQL cannot pass silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.runtime.embedded_airflow import WRITER_POOL
from tests.airflow_env import (
    Components, Requirement, airflow, airflow_env, free_port, fresh_database, metadata, migrate, tail,
)
from tests.test_faults import VOLATILE

pytestmark = [pytest.mark.slow, pytest.mark.celery]

NEED = Requirement("the CeleryExecutor test", "DIBAO_REQUIRE_CELERY")
DAG_ID = "dibao_nightly"
WORKERS = ("w1", "w2")
MAPPED = ("stage", "validate")
WRITERS = ("load", "feedback", "history", "marts", "score", "publish", "quality_docs")
SCHEMAS = ("raw", "staging", "core", "mart", "audit", "restricted")
RUN_TIMEOUT = 1800


@pytest.fixture(scope="module")
def broker_url() -> str:
    url = os.environ.get("DIBAO_TEST_REDIS_URL")
    if not url:
        NEED.unavailable("DIBAO_TEST_REDIS_URL is not set (`bash .ci/redis start` starts a broker and prints one)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as exc:
        NEED.unavailable(f"no Redis answers at {url}: {exc}")
    return url


@pytest.fixture(scope="module")
def metadata_url(broker_url):
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    with fresh_database("dibao_celery", NEED, strict=False) as url:
        yield url


def _celery_env(root: Path, metadata_url: str, broker_url: str, api_port: int) -> dict:
    return {
        **airflow_env(root, metadata_url, "CeleryExecutor", 4, api_port),
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
        # a queue of this run's own: another run on the same broker cannot take its tasks
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"dibao_{secrets.token_hex(4)}",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "pipelines.runtime.celery_workers.worker_hostname",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # only the triggered run: no cron or asset-triggered runs of the project's DAGs
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }


def _start_cluster(components: Components, env: dict, api_port: int, metadata_url: str) -> None:
    components.start_api_server(env, api_port)
    components.start("scheduler", ["scheduler"], env)
    components.start("dag-processor", ["dag-processor"], env)
    queue = env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    for name in WORKERS:
        components.start(f"worker-{name}", ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency",
                                            "1", "--queues", queue, "--skip-serve-logs", "--without-mingle"],
                         {**env, "DIBAO_WORKER_NAME": name})
    components.wait_api_server(api_port)
    for name in WORKERS:
        components.wait(f"celery worker {name} ready", lambda n=name: f"{n}@" in components.tail(f"worker-{n}")
                        and " ready." in components.tail(f"worker-{n}"))
    components.wait(f"{DAG_ID} parsed by the dag-processor",
                    lambda: bool(metadata(metadata_url, f"SELECT 1 FROM serialized_dag WHERE dag_id = '{DAG_ID}'")))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("celery-world")
    generate(root / "landing", root / "truth", scale="town", months=2, seed=11)
    return root / "landing"


@pytest.fixture(scope="module")
def celery_run(world, metadata_url, broker_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("celery-run")
    api_port = free_port()
    env = _celery_env(root, metadata_url, broker_url, api_port)
    conf = {"landing": str(world), "warehouse": str(root / "w.duckdb"), "out": str(root / "out"),
            "feedback": str(root / "feedback")}
    log, seconds, started = root / "airflow-cli.log", {}, time.perf_counter()
    migrate(env, log)
    seconds["migrate_and_pool"] = time.perf_counter() - started
    with Components(root) as components:
        _start_cluster(components, env, api_port, metadata_url)
        seconds["cluster_ready"] = time.perf_counter() - started - seconds["migrate_and_pool"]
        t = time.perf_counter()
        airflow("dags", "trigger", DAG_ID, "--run-id", "celery_test", "--conf", json.dumps(conf), env=env, log=log)
        finished = f"SELECT 1 FROM dag_run WHERE dag_id = '{DAG_ID}' AND state IN ('success', 'failed')"
        components.wait(f"{DAG_ID} run finished", lambda: bool(metadata(metadata_url, finished)), timeout=RUN_TIMEOUT)
        seconds["dag_run"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    print("\nCeleryExecutor wall time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    return {"url": metadata_url, "conf": conf, "env": env, "components": components, "seconds": seconds}


@pytest.fixture(scope="module")
def embedded_warehouse(world, tmp_path_factory) -> Path:
    """The reference: `dibao run` (embedded Airflow, SQLite, in-process) on the same deliveries."""
    root = tmp_path_factory.mktemp("celery-embedded")
    env = {**os.environ, "AIRFLOW_HOME": str(root / "airflow-home"), "DIBAO_ALERT_LOG": str(root / "alerts.log")}
    wh = root / "w.duckdb"
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(world), "--warehouse",
                           str(wh), "--out", str(root / "out")], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return wh


def test_the_run_succeeded_on_the_celery_executor(celery_run):
    tis = metadata(celery_run["url"], f"SELECT task_id, state FROM task_instance WHERE dag_id = '{DAG_ID}'")
    failed = sorted({r["task_id"] for r in tis if r["state"] != "success"})
    logs = Path(celery_run["env"]["AIRFLOW_HOME"]) / "logs" / f"dag_id={DAG_ID}"
    assert not failed, f"not successful: {failed}\n" + "\n".join(
        tail(log, 2000) for task in failed for log in sorted(logs.glob(f"*/task_id={task}/**/*.log")))
    runs = metadata(celery_run["url"], f"SELECT run_id, state FROM dag_run WHERE dag_id = '{DAG_ID}'")
    assert runs == [{"run_id": "celery_test", "state": "success"}]
    assert {r["task_id"] for r in tis} == {"discover", *MAPPED, *WRITERS}
    # every task instance went through Celery: one result each in the result backend
    results = metadata(celery_run["url"], "SELECT status, count(*) AS n FROM celery_taskmeta GROUP BY status")
    assert results == [{"status": "SUCCESS", "n": len(tis)}]


def test_mapped_tasks_ran_on_both_workers(celery_run):
    tis = metadata(celery_run["url"], f"""
        SELECT task_id, map_index, hostname, start_date, end_date FROM task_instance
        WHERE dag_id = '{DAG_ID}' AND task_id IN {MAPPED} ORDER BY start_date""")
    for r in tis:
        print(f"{r['task_id']:>8}[{r['map_index']}] on {r['hostname']}: "
              f"{r['start_date']:%H:%M:%S.%f} – {r['end_date']:%H:%M:%S.%f}")
    workers = {r["hostname"].rsplit("--", 1)[-1] for r in tis}
    assert workers == set(WORKERS), f"mapped tasks ran on {workers}, not on both of {WORKERS}"
    everyone = metadata(celery_run["url"], f"SELECT DISTINCT hostname FROM task_instance WHERE dag_id = '{DAG_ID}'")
    assert {r["hostname"].rsplit("--", 1)[-1] for r in everyone} <= set(WORKERS)  # no task ran elsewhere


def test_writer_tasks_ran_one_at_a_time_in_the_one_slot_pool(celery_run):
    pools = metadata(celery_run["url"], f"SELECT slots FROM slot_pool WHERE pool = '{WRITER_POOL}'")
    assert pools == [{"slots": 1}]
    tis = metadata(celery_run["url"], f"""
        SELECT task_id, pool, hostname, start_date, end_date FROM task_instance
        WHERE dag_id = '{DAG_ID}' AND task_id IN {WRITERS} ORDER BY start_date""")
    assert sorted(r["task_id"] for r in tis) == sorted(WRITERS)
    assert {r["pool"] for r in tis} == {WRITER_POOL}
    overlapping = [(a["task_id"], b["task_id"]) for a, b in combinations(tis, 2)
                   if a["start_date"] < b["end_date"] and b["start_date"] < a["end_date"]]
    assert not overlapping, f"writer tasks overlapped: {overlapping}"
    print("writers on " + ", ".join(f"{r['task_id']} {r['hostname'].rsplit('--', 1)[-1]}" for r in tis))


def test_dibao_run_creates_the_writer_pool_and_puts_it_back_to_one_slot(embedded_warehouse):
    """The embedded set-up makes the pool the scheduler needs; run again, it restores one slot."""
    import sqlite3

    home = embedded_warehouse.parent / "airflow-home"

    def pools() -> list[tuple]:
        with contextlib.closing(sqlite3.connect(home / "airflow.db")) as con:
            return con.execute("SELECT pool, slots FROM slot_pool WHERE pool = ?", [WRITER_POOL]).fetchall()

    assert pools() == [(WRITER_POOL, 1)]
    with contextlib.closing(sqlite3.connect(home / "airflow.db")) as con, con:
        con.execute("UPDATE slot_pool SET slots = 3 WHERE pool = ?", [WRITER_POOL])
    code = ("from pipelines.runtime.embedded_airflow import configure, ensure_writer_pool;"
            " configure(); ensure_writer_pool(); ensure_writer_pool()")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env={**os.environ, "AIRFLOW_HOME": str(home)},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert pools() == [(WRITER_POOL, 1)]


def _stable(con, db: str, schema: str, table: str) -> str:
    """The table's columns that do not differ between two runs (tests/test_faults.py VOLATILE), as text."""
    cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ?"
                       " AND schema_name = ? AND table_name = ? ORDER BY column_index", [db, schema, table]).fetchall()
    skip = VOLATILE.get(f"{schema}.{table}", set())
    exprs = [f'round("{c}", 9)::VARCHAR' if t in ("DOUBLE", "FLOAT") else f'"{c}"::VARCHAR'
             for c, t in cols if c not in skip]
    where = ""
    if (schema, table) == ("audit", "model_runs"):  # every build is logged: compare the latest one per layer
        where = (f" WHERE status = 'built' AND run_id IN (SELECT arg_max(run_id, built_at) FROM {db}.{schema}.{table}"
                 " WHERE status = 'built' GROUP BY layer)")
    elif (schema, table) == ("audit", "layer_builds"):  # likewise: the latest build per layer
        where = (f" WHERE (layer, built_at) IN (SELECT (layer, max(built_at)) FROM {db}.{schema}.{table}"
                 " GROUP BY layer)")
    elif (schema, table) == ("audit", "score_runs"):  # every scoring is logged: the latest per date
        where = (f" WHERE (as_of_date, run_at) IN (SELECT (as_of_date, max(run_at)) FROM {db}.{schema}.{table}"
                 " GROUP BY as_of_date)")
    return f"SELECT {', '.join(exprs) or 'NULL'} FROM {db}.{schema}.{table}{where}"


def test_the_warehouse_equals_the_embedded_runs(celery_run, embedded_warehouse):
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{celery_run['conf']['warehouse']}' AS celery (READ_ONLY)")
        con.execute(f"ATTACH '{embedded_warehouse}' AS embedded (READ_ONLY)")
        listing = ("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN ?"
                   " UNION SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ?"
                   " AND schema_name IN ? AND NOT internal ORDER BY ALL")
        tables = {db: con.execute(listing, [db, list(SCHEMAS)] * 2).fetchall() for db in ("celery", "embedded")}
        assert tables["celery"] == tables["embedded"]
        differ, rows = [], 0
        for schema, table in tables["celery"]:
            a, b = _stable(con, "celery", schema, table), _stable(con, "embedded", schema, table)
            n, extra, missing = con.execute(f"SELECT (SELECT count(*) FROM ({a})), (SELECT count(*) FROM ({a} EXCEPT ALL"
                                            f" {b})), (SELECT count(*) FROM ({b} EXCEPT ALL {a}))").fetchone()
            rows += n
            if extra or missing:
                differ.append(f"{schema}.{table}: {extra} rows only in the Celery run's, {missing} only in the embedded")
    finally:
        con.close()
    assert not differ, "\n".join(differ)
    assert rows > 0
    print(f"{len(tables['celery'])} tables and views, {rows} rows, equal")
