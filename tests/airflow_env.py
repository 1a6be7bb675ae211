"""A production-like Airflow for the PostgreSQL and Celery tests (test_airflow_postgres.py,
test_airflow_celery.py): a fresh metadata database on the test server, a fresh
AIRFLOW_HOME and its environment, `airflow db migrate` with the writer pool, Airflow
processes started in sessions of their own and stopped even when a test fails.

Without their servers the tests skip; under CI (`CI` or the test's own flag set) they
fail instead, so a CI without PostgreSQL or Redis cannot pass silently."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from pipelines.config import DAGS_FOLDER
from pipelines.runtime.embedded_airflow import WRITER_POOL, WRITER_POOL_DESCRIPTION
from tests.ci import ci_required

POSTGRES_URL = "DIBAO_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class Requirement:
    """A test that needs servers, and the variable that (like CI) makes their absence a failure."""

    test: str
    flag: str

    def required(self) -> bool:
        return ci_required(self.flag)

    def unavailable(self, message: str) -> NoReturn:
        if self.required():
            pytest.fail(f"{message}; CI requires {self.test} ({self.flag}/CI is set)", pytrace=False)
        pytest.skip(message)


@contextlib.contextmanager
def fresh_database(prefix: str, need: Requirement, strict: bool) -> Iterator[str]:
    """A database of its own on the `DIBAO_TEST_POSTGRES_URL` server, dropped afterwards.
    `strict`: a server that is named but refuses the database fails the test, never skips it."""
    url = os.environ.get(POSTGRES_URL)
    if not url:
        need.unavailable(f"{POSTGRES_URL} is not set (`bash .ci/postgres start` starts a server and prints one)")
    import sqlalchemy as sa

    base = sa.make_url(url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.DBAPIError as exc:  # unreachable, or the role may not CREATE DATABASE
        admin.dispose()
        message = (f"cannot create a test database at {base.render_as_string(hide_password=True)}: "
                   f"{str(exc.orig).strip().splitlines()[0]}")
        if strict:
            pytest.fail(message, pytrace=False)
        need.unavailable(message)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            drop_database(admin, name)
        finally:
            admin.dispose()


def drop_database(admin, name: str, attempts: int = 20) -> None:
    """DROP … WITH (FORCE) ends the test's own sessions, but not an autovacuum worker that
    happens to be on the database unless the role may signal it (pg_signal_backend, which
    .ci/postgres grants); a worker finishes within seconds, so try again before failing."""
    import sqlalchemy as sa

    for attempt in range(attempts):
        try:
            with admin.connect() as con:
                con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sa.exc.DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(log: Path, n: int = 4000) -> str:
    return log.read_text(errors="replace")[-n:] if log.exists() else ""


def metadata(url: str, sql: str) -> list[dict]:
    """Rows of a query on the metadata database, as dicts."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(sa.text(sql))]
    finally:
        engine.dispose()


def airflow_env(root: Path, metadata_url: str, executor: str, parallelism: int, api_port: int) -> dict:
    """The settings every Airflow process of one test shares; AIRFLOW_HOME is `root/airflow-home`."""
    home = root / "airflow-home"
    home.mkdir()
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),  # the API server and the workers share it
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "DIBAO_TASK_RETRIES": "0",  # a failing task fails the run at once
        "DIBAO_ALERT_LOG": str(root / "alerts.log"),
    }


def airflow(*args: str, env: dict, log: Path, timeout: float = 600) -> None:
    """One Airflow command, its output appended to `log`; a failure shows the log's tail."""
    with open(log, "ab") as out:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout)
    assert done.returncode == 0, f"airflow {' '.join(args)} failed:\n{tail(log)}"


def dags_test(*args: str, env: dict, log: Path, timeout: float = 1800, linger: float = 120) -> bool:
    """`airflow dags test …`, its output appended to `log`. Airflow 3.3's LocalExecutor was seen
    (CI, 2026-12-07, once in many runs) to leave one idle worker that the command then waited on
    for ever after the DAG run had finished: once the log says the run finished, the command has
    `linger` seconds to exit before its session is killed. Returns whether it had to be; the
    run's outcome is the metadata's to tell, which the tests read."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "airflow", "dags", "test", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline, finished = time.monotonic() + timeout, None
    while proc.poll() is None:
        now = time.monotonic()
        if finished is None and "DagRun Finished:" in log.read_text(errors="replace"):
            finished = now
        if now > deadline or (finished is not None and now - finished > linger):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            assert finished is not None, f"airflow dags test {' '.join(args)} ran over {timeout:.0f}s:\n{tail(log)}"
            print(f"\nairflow dags test: the DAG run finished, the command did not exit in {linger:.0f}s: killed")
            return True
        time.sleep(2)
    assert proc.returncode == 0, f"airflow dags test {' '.join(args)} failed:\n{tail(log)}"
    return False


def migrate(env: dict, log: Path) -> None:
    """The metadata database as an operator sets it up: migrated, then the writer pool (a
    scheduler holds a task of a pool that does not exist)."""
    airflow("db", "migrate", env=env, log=log)
    airflow("pools", "set", WRITER_POOL, "1", WRITER_POOL_DESCRIPTION, env=env, log=log)


class Components:
    """Airflow processes, each in its own session (its children die with it), logs in `folder`;
    a context manager that stops them all on the way out."""

    def __init__(self, folder: Path):
        self.folder, self.procs = folder, {}

    def __enter__(self) -> Components:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str, args: list[str], env: dict) -> None:
        with open(self.folder / f"{name}.log", "ab") as out:
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "airflow", *args], env=env, stdout=out,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_api_server(self, env: dict, port: int) -> None:
        self.start("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port)], env)

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"airflow {name} exited with {proc.returncode}:\n{self.tail(name)}", pytrace=False)

    def tail(self, name: str) -> str:
        return tail(self.folder / f"{name}.log")

    def wait(self, what: str, ready: Callable[[], bool], timeout: float = 300) -> None:
        """Poll `ready` every second; a process that died or the timeout fails the test."""
        deadline = time.monotonic() + timeout
        while not ready():
            self.check()
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not after {timeout:.0f} s", pytrace=False)
            time.sleep(1)

    def wait_api_server(self, port: int) -> None:
        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/execution/health", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        self.wait("airflow api-server healthy", healthy)

    def stop(self) -> None:
        """SIGINT (SIGTERM to Celery workers) to every group for a clean shutdown, then SIGKILL
        to whatever is left."""
        for name, proc in self.procs.items():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM if name.startswith("worker") else signal.SIGINT)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group's leftovers too
            proc.wait(timeout=30)
