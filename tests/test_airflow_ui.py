"""`dibao airflow` end to end: the standalone server on a non-default port, through its REST API.

One server (`pipelines.runtime.airflow_ui.serve` in a subprocess, a temporary Airflow home,
two months of town data): the DAGs are paused after start, every listener of the
processes it started is on 127.0.0.1, an unpaused and triggered `dibao_nightly` runs to
success on the chosen port and fills the warehouse, a run on a missing landing folder
fails with its cause in the task log and in the alert (`<out>/alerts.log`), and SIGTERM
to the server stops every process it started. No wall-clock assertion: the timeouts only
keep a broken server from hanging the suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import psutil
import pytest

START_TIMEOUT_S = 600
RUN_TIMEOUT_S = 1200
STOP_TIMEOUT_S = 120
DAGS = ("dibao_nightly", "dibao_retrain")

SERVE = "import sys; from pipelines.runtime.airflow_ui import serve; sys.exit(serve(int(sys.argv[1])))"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port: int, home: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.home = home
        self.token: str | None = None

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def login(self) -> None:
        passwords = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        self.token = self.call("POST", "/auth/token", {"username": "admin", "password": passwords["admin"]})[
            "access_token"]


def wait_for(what: str, check, timeout: float, server: subprocess.Popen, log: Path, every: float = 2.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited ({server.returncode}) while waiting for {what}:\n"
                        + log.read_text(errors="replace")[-4000:])
        try:
            value = check()
            if value:
                return value
        except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
            last = exc
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what} (last error {last!r}):\n" + log.read_text(errors="replace")[-4000:])


def started_processes(server: psutil.Process, seen: dict[int, float]) -> None:
    """Record every process the server started so far (pid -> create time)."""
    try:
        for p in server.children(recursive=True):
            try:
                seen.setdefault(p.pid, p.create_time())
            except psutil.Error:
                pass
    except psutil.Error:
        pass


def still_running(seen: dict[int, float]) -> list[str]:
    alive = []
    for pid, created in seen.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            continue
    return alive


def run_state(api: Api, run_id: str) -> str | None:
    state = api.call("GET", f"/api/v2/dags/dibao_nightly/dagRuns/{run_id}")["state"]
    return state if state in ("success", "failed") else None


@pytest.mark.slow
def test_dibao_airflow_serves_safely_on_any_port(tmp_path):
    from pipelines.generate import generate

    landing, truth, out, wh, home = (tmp_path / n for n in ("landing", "truth", "out", "w.duckdb", "home"))
    generate(landing, truth, scale="town", months=2, seed=5)
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__API__", "AIRFLOW__LOGGING__")) and k != "DIBAO_ALERT_LOG"}
    env.update({
        "AIRFLOW_HOME": str(home),
        "DIBAO_OUT": str(out),  # the alert log defaults to <out>/alerts.log, as `dibao run`'s
        "DIBAO_WAREHOUSE": str(wh),
        # Unpausing makes the scheduler start the latest 02:00 run on the params' defaults
        # (catchup=False): on a missing landing folder it fails at once instead of loading twice.
        "DIBAO_LANDING": str(tmp_path / "no-default-landing"),
        "AIRFLOW__CORE__PARALLELISM": "2",
        "DIBAO_TASK_RETRIES": "0",
    })
    log = tmp_path / "server.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, stdout=sink,
                                  stderr=subprocess.STDOUT, cwd=tmp_path)
    seen: dict[int, float] = {}
    proc = psutil.Process(server.pid)
    api = Api(port, home)
    try:
        wait_for("the API", lambda: api.login() or True, START_TIMEOUT_S, server, log)

        def both_dags():
            dags = {d["dag_id"]: d for d in api.call("GET", "/api/v2/dags?dag_id_pattern=dibao")["dags"]}
            return dags if all(d in dags for d in DAGS) else None

        dags = wait_for("the DAGs to be parsed", both_dags, START_TIMEOUT_S, server, log)
        assert all(dags[d]["is_paused"] for d in DAGS), {d: dags[d]["is_paused"] for d in DAGS}
        assert not api.call("GET", "/api/v2/dags/~/dagRuns")["dag_runs"], "something ran before anyone asked"

        started_processes(proc, seen)
        listening = []
        for pid in seen:
            try:
                conns = psutil.Process(pid).net_connections(kind="inet")
            except psutil.Error:
                continue
            listening += [(pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
        assert any(p == port for _, _, p in listening), listening
        assert all(ip in ("127.0.0.1", "::1") for _, ip, _ in listening), listening

        api.call("PATCH", "/api/v2/dags/dibao_nightly", {"is_paused": False})
        conf = {"landing": str(landing), "warehouse": str(wh), "out": str(out),
                "feedback": str(landing / "feedback")}
        run = api.call("POST", "/api/v2/dags/dibao_nightly/dagRuns", {"logical_date": None, "conf": conf})

        def finished(run_id):
            started_processes(proc, seen)
            return run_state(api, run_id)

        state = wait_for("the nightly run", lambda: finished(run["dag_run_id"]), RUN_TIMEOUT_S, server, log, 5)
        if state != "success":
            tis = api.call("GET", f"/api/v2/dags/dibao_nightly/dagRuns/{run['dag_run_id']}/taskInstances")
            pytest.fail(f"run {state}: {[(t['task_id'], t['state']) for t in tis['task_instances']]}\n"
                        + log.read_text(errors="replace")[-4000:])
        con = duckdb.connect(str(wh), read_only=True)
        try:
            loaded = con.sql("SELECT count(*) FROM audit.load_ledger WHERE status = 'loaded'").fetchall()[0][0]
            households = con.sql("SELECT count(*) FROM staging.mz_households").fetchall()[0][0]
            deliveries = {f"{s}/{d}" for s, d in con.sql("SELECT DISTINCT source, extract_date FROM audit.load_ledger")
                          .fetchall()}
        finally:
            con.close()
        assert loaded > 0 and households > 0
        tis = api.call("GET", f"/api/v2/dags/dibao_nightly/dagRuns/{run['dag_run_id']}/taskInstances")
        named = {t["task_id"]: set() for t in tis["task_instances"] if t["map_index"] >= 0}
        for t in tis["task_instances"]:
            if t["map_index"] >= 0:
                named[t["task_id"]].add(t["rendered_map_index"])
        assert named == {"stage": deliveries, "validate": deliveries}, named  # the UI names deliveries

        # A failure carries its cause into the task log and the alert.
        missing = tmp_path / "no-such-landing"
        bad = api.call("POST", "/api/v2/dags/dibao_nightly/dagRuns",
                       {"logical_date": None, "conf": {**conf, "landing": str(missing)}})
        state = wait_for("the failing run", lambda: finished(bad["dag_run_id"]), RUN_TIMEOUT_S, server, log, 5)
        assert state == "failed"
        task_log = api.call("GET", f"/api/v2/dags/dibao_nightly/dagRuns/{bad['dag_run_id']}"
                                   f"/taskInstances/discover/logs/1?full_content=true")
        assert "does not exist" in json.dumps(task_log, ensure_ascii=False), task_log
        alerts = [json.loads(line) for line in (out / "alerts.log").read_text().splitlines()]
        failed = [a for a in alerts if a["kind"] == "task_failed" and bad["dag_run_id"] in a["message"]]
        assert failed and str(missing) in failed[0]["message"], alerts
    finally:
        started_processes(proc, seen)
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            for pid in seen:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            raise
    assert code == 0, log.read_text(errors="replace")[-4000:]
    assert seen, "the server started no process"
    assert not still_running(seen), still_running(seen)


# ---------------------------------------------------------------- fast checks of the pieces
def test_settings_follow_the_port_and_keep_the_operators(monkeypatch):
    from pipelines.runtime import airflow_ui

    monkeypatch.setattr(os, "environ", os.environ.copy())  # server_env writes the process environment
    for key in ("AIRFLOW__API__HOST", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "DIBAO_ALERT_LOG",
                "DIBAO_OUT", "AIRFLOW__CORE__DEFAULT_TIMEZONE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AIRFLOW__API__PORT", "8080")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://localhost:8080/execution/")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "3")
    got = airflow_ui.server_env(18080)
    assert got["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert got["AIRFLOW__API__PORT"] == "18080"
    assert got["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert got["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"
    assert got["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    assert got["AIRFLOW__CORE__PARALLELISM"] == "3"  # the operator's
    assert got["DIBAO_ALERT_LOG"].endswith("var/out/alerts.log")
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")  # an operator's choice is kept; clients use loopback
    assert airflow_ui.server_env(9000)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:9000/execution/"
    assert airflow_ui.client_host("::1") == "[::1]"


def test_airflow_is_found_beside_the_running_python(monkeypatch):
    from pipelines.runtime import airflow_ui

    monkeypatch.setenv("PATH", "/nonexistent")
    assert airflow_ui.find_airflow() == str(Path(sys.executable).parent / "airflow")


def test_wrapper_skips_the_log_servers(tmp_path):
    from pipelines.runtime import airflow_ui

    fake = tmp_path / "real airflow"
    calls = tmp_path / "calls"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho "$@"\n')
    fake.chmod(0o755)
    folder = airflow_ui.write_wrapper(tmp_path, str(fake))
    run = lambda *a: subprocess.run([str(folder / "airflow"), *a], capture_output=True, text=True).stdout.strip()  # noqa: E731
    assert run("scheduler") == "scheduler --skip-serve-logs"
    # the nightly DAG's writer tasks wait for their pool: made before the scheduler starts
    assert calls.read_text().splitlines()[0].startswith("pools set dibao_writer 1 ")
    assert run("triggerer", "--capacity", "5") == "triggerer --capacity 5 --skip-serve-logs"
    assert run("api-server") == "api-server"


def test_failure_without_exception_says_where_the_cause_is(tmp_path, monkeypatch):
    """The scheduler's own failures (worker could not start the task) reach the callback
    through the DAG processor with no exception: the alert says so instead of '?'."""
    from pipelines.runtime import airflow_hooks

    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.delenv("DIBAO_ALERT_WEBHOOK", raising=False)

    class TI:
        dag_id, task_id, map_index = "dibao_nightly", "discover", -1

    airflow_hooks.on_task_failure({"task_instance": TI(), "run_id": "r1"})
    message = json.loads((tmp_path / "alerts.log").read_text(encoding="utf-8"))["message"]
    assert message.startswith("dibao_nightly.discover failed in run r1: no exception reached")
    assert "scheduler's log" in message
