"""Issue 19, items 6 and 7: readers during the very first run, and runs killed by SIGKILL.

A real `dibao run` (Airflow in-process, in a subprocess) builds a warehouse from
nothing on a generated town while this process queries it in a loop. Every answer
must be either the one-line "no warehouse published yet" or the complete answer
(what the published warehouse says after the run): never a lock error, never the
empty answer of a half-built file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.config import PROJECT_ROOT
from pipelines.publish.query import QueryError, run_query

pytestmark = pytest.mark.slow  # real `dibao run`s through Airflow, in subprocesses

NOT_YET = "no warehouse published yet"
FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
QUERIES = [
    ("admin", "SELECT count(*) FROM mart.risk_list"),
    ("admin", "SELECT count(*) FROM core.households_asof(DATE '2024-02-15')"),
    ("analyst", "SELECT count(*) FROM mart.county_month"),
]


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("first-night")
    generate(root / "landing", root / "truth", scale="town", months=2, seed=19)
    return root / "landing"


def _start_run(landing: Path, wh: Path, out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "ab") as f:
        return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing),
                                 "--warehouse", str(wh), "--out", str(out)], cwd=PROJECT_ROOT, stdout=f,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def test_readers_during_the_first_night_get_not_yet_or_the_complete_answer(landing, tmp_path, capsys):
    wh, out = tmp_path / "wh" / "w.duckdb", tmp_path / "out"
    wh.parent.mkdir()

    # before anything exists: one line, non-zero exit, for every role
    assert main(["query", "--warehouse", str(wh), "SELECT 1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and NOT_YET in err, err
    for role in ("admin", "analyst"):
        with pytest.raises(QueryError, match=NOT_YET):
            run_query(wh, "SELECT 1", role=role)

    proc = _start_run(landing, wh, out, tmp_path / "run.out")
    answers: list[tuple[str, str, object]] = []  # (role, sql, rows or the error's text)
    cli: list[tuple[int, str, str]] = []

    def command_line() -> None:
        while proc.poll() is None:
            got = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", "--warehouse", str(wh),
                                  "--format", "csv", QUERIES[0][1]], cwd=PROJECT_ROOT, capture_output=True,
                                 text=True, timeout=300)
            cli.append((got.returncode, got.stdout, got.stderr))

    thread = threading.Thread(target=command_line)
    thread.start()
    i = 0
    try:
        while proc.poll() is None:
            role, sql = QUERIES[i % len(QUERIES)]
            i += 1
            try:
                answers.append((role, sql, run_query(wh, sql, role=role)[1]))
            except QueryError as exc:
                answers.append((role, sql, str(exc)))
            time.sleep(0.05)
    finally:
        thread.join(timeout=600)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == 0, (tmp_path / "run.out").read_text()[-3000:]

    complete = {(role, sql): run_query(wh, sql, role=role)[1] for role, sql in QUERIES}
    assert all(rows[0][0] > 0 for rows in complete.values()), complete
    wrong = [a for a in answers if not (isinstance(a[2], str) and NOT_YET in a[2] and "\n" not in a[2])
             and a[2] != complete[(a[0], a[1])]]
    assert wrong == [], wrong[:5]
    assert any(isinstance(a[2], str) for a in answers), "no query ran before the first publish"
    for code, stdout, stderr in cli:
        if code == 0:
            assert stdout.splitlines() == ["count_star()", str(complete[QUERIES[0]][0][0])], stdout
        else:
            assert code == 2 and len(stderr.strip().splitlines()) == 1 and NOT_YET in stderr, stderr
    print(f"\nfirst night: {len(answers)} in-process queries ({sum(isinstance(a[2], str) for a in answers)} "
          f"'not yet', the rest complete), {len(cli)} `dibao query` ({sum(c == 0 for c, _, _ in cli)} answered)")


def _wait_for_log(out: Path, pattern: str, proc: subprocess.Popen, timeout: float = 600) -> bool:
    import re

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for log in (out / "logs").glob("run-*.log"):
            if re.search(pattern, log.read_text(encoding="utf-8", errors="replace")):
                return True
        time.sleep(0.1)
    return False


def _runs(home: Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    import sqlite3

    con = sqlite3.connect(home / "airflow.db")
    try:
        runs = dict(con.execute("SELECT run_id, state FROM dag_run WHERE dag_id = 'dibao_nightly'").fetchall())
        tis = con.execute("SELECT run_id, task_id, coalesce(state, 'none') FROM task_instance"
                          " WHERE dag_id = 'dibao_nightly'").fetchall()
    finally:
        con.close()
    return runs, tis


@pytest.mark.faults
def test_a_run_killed_by_sigkill_is_marked_failed_at_the_next_start(landing, tmp_path, monkeypatch):
    """`dibao run` SIGKILLed in its stage task leaves its DAG run `running`; the next
    `dibao run` marks it (and its running task instances) failed, then runs its own."""
    from pipelines.runtime.stale_runs import owner_alive, runner

    home, wh, out = tmp_path / "airflow", tmp_path / "wh" / "w.duckdb", tmp_path / "out"
    wh.parent.mkdir()
    (out / "logs").mkdir(parents=True)
    monkeypatch.setenv("AIRFLOW_HOME", str(home))  # the children's own metadata database
    proc = _start_run(landing, wh, out, tmp_path / "run.out")
    try:
        assert _wait_for_log(out, r"running task <TaskInstance: dibao_nightly\.stage", proc), \
            (tmp_path / "run.out").read_text()[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    runs, tis = _runs(home)
    killed = [r for r, state in runs.items() if state == "running"]
    assert len(killed) == 1, runs
    unfinished = {t: state for r, t, state in tis if r == killed[0] and state not in FINISHED}
    assert unfinished, tis

    proc = _start_run(landing, wh, out, tmp_path / "run.out")
    assert proc.wait(timeout=1200) == 0, (tmp_path / "run.out").read_text()[-3000:]
    runs, tis = _runs(home)
    assert runs[killed[0]] == "failed", runs
    assert sorted(runs.values()) == ["failed", "success"], runs
    left = {t: state for r, t, state in tis if r == killed[0] and t in unfinished}
    assert set(left.values()) <= FINISHED, left
    print(f"\nkilled run {killed[0]}: task instances {unfinished} -> {left}")
    assert owner_alive(runner())  # this process is alive: its runs are never touched
    assert not owner_alive({**runner(), "pid": 2 ** 22 + 7})  # no such process
    assert not owner_alive(None)  # a run from before owners were recorded
