"""Fault injection with real processes and real files (docs/reliability.md).

- SIGKILL: a backfill is killed at many points, then run again; the warehouse
  must end identical to an uninterrupted run, with no delivery half-loaded or
  loaded twice. Deterministic points kill a run of the DAG's steps without
  Airflow (tests/fault_child.py); others kill the real `dibao run` process
  group, at points found in its log and at a random moment.
- Disk full (RLIMIT_FSIZE) and permission denied while writing: `dibao run`
  exits non-zero with one clear line on stderr and no traceback; the warehouse
  keeps its previous content (a fault part-way keeps what earlier steps
  committed, whole, and nothing of the failing step); the next run ends where an
  undisturbed one would.
- `_READY` appearing while a run reads, and files changing after `_READY`.

The warehouses are compared by content (`canonical`): every table of raw,
staging, core, mart, audit and restricted, ordered by all its columns, minus
the columns listed in VOLATILE, which differ between any two runs.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.runtime.nightly import DIGESTS, HELD, STARTED
from tests.fault_child import KILL_POINTS

pytestmark = pytest.mark.faults  # the whole module: kills, disk full, files changing under a run

MONTHS, SEED = 3, 5
SCHEMAS = ("raw", "staging", "core", "mart", "audit", "restricted")

# Columns that differ between two runs over the same deliveries, and why:
VOLATILE = {
    # wall-clock time of the event
    "audit.alerts": {"raised_at"},
    "audit.deliveries": {"attempted_at"},
    "audit.load_ledger": {"loaded_at"},
    "audit.feedback_loads": {"loaded_at"},
    "audit.list_checks": {"checked_at"},
    "audit.schema_migrations": {"applied_at"},
    "mart.risk_list_detail": {"scored_at"},
    "restricted.hash_key": {"created_at"},
    "staging.feedback": {"loaded_at"},
    # where the run's warehouse is: the raw files' absolute paths (pipelines/load/raw_archive.py)
    "audit.raw_files": {"path"},
    # a fresh random id per model build, and its duration
    "audit.model_runs": {"run_id", "seconds", "built_at"},
    # how a layer build was scoped depends on the builds before it (a run killed after the
    # marts committed leaves the next one nothing to rebuild): compared are the latest
    # build's model and parameter checksums, not its scope
    "audit.layer_builds": {"run_id", "scope", "reason", "months_from", "built_at"},
    # a scoring's inputs digest names the layer builds (random run ids); whether a list was
    # scored, updated or kept, and so how many households went through the model, depends on
    # the runs before (a rerun after a kill keeps what it finds)
    "audit.score_runs": {"inputs", "status", "rescored", "run_at"},
    # a fresh random id per list export; the files' paths (under each run's --out) and the
    # workbook's hash (XLSX embeds its creation time); the day the list was issued and the
    # deadlines counted from it (a run across midnight issues on the next day)
    "audit.list_exports": {"export_id", "exported_at", "xlsx_path", "csv_path", "xlsx_sha256", "issued_on"},
    "mart.listed_households": {"export_id", "issued_on", "deadline"},
    "mart.listed_candidates": {"export_id", "deadline"},
    "mart.list_departures": {"export_id"},
    # one row per published file: its path (under each run's --out), when, its bytes, and
    # the content hash (a list's holds its issued_on)
    "audit.published_files": {"path", "content_hash", "file_sha256", "file_bytes", "written_at"},
}
# audit.model_runs and audit.layer_builds log every build: only the latest successful
# build of each layer is compared; audit.score_runs every scoring: the latest of each date. audit.alerts' `source_stale` rows are raised once per run while a source is
# stale: how many there are depends on how many runs happened, not on the deliveries.
LOAD_TABLES = ("raw.mz_households", "raw.mz_members", "raw.cl_disability", "raw.rs_registrations",
               "raw.rs_contributions", "staging.mz_households", "staging.mz_members", "staging.cl_disability",
               "staging.rs_registrations", "staging.rs_contributions", "audit.quarantine", "audit.repairs",
               "audit.schema_drift", "audit.dq_results", "audit.conflicts")


# --------------------------------------------------------------------------- helpers


def child_env(**extra: str) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.pop("DIBAO_STAGE_TIMINGS", None)
    return env


def start(argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """A child in its own session (so the whole group can be killed), output to `log`."""
    with open(log, "ab") as f:
        return subprocess.Popen([sys.executable, *argv], cwd=PROJECT_ROOT, stdout=f, stderr=subprocess.STDOUT,
                                env=env or child_env(), start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def dibao_run(landing: Path, wh: Path, out: Path, env: dict | None = None, prefix: tuple[str, ...] = (),
              timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing),
                           "--warehouse", str(wh), "--out", str(out)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, env=env or child_env(), timeout=timeout, check=False)


def direct_run(landing: Path, wh: Path, out: Path, kill: str | None = None, timeout: float = 900):
    argv = ["-m", "tests.fault_child", "--landing", str(landing), "--warehouse", str(wh), "--out", str(out)]
    return subprocess.run([sys.executable, *argv, *(["--kill", kill] if kill else [])], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, env=child_env(), timeout=timeout, check=False)


def settled_copy(wh: Path, dest: Path) -> Path:
    """Copy a (possibly killed) warehouse with its WAL and open it once, so DuckDB replays
    the WAL into the copy; the original stays exactly as the kill left it."""
    dest.mkdir(parents=True, exist_ok=True)
    copy = dest / wh.name
    shutil.copyfile(wh, copy)
    wal = Path(f"{wh}.wal")
    if wal.exists():
        shutil.copyfile(wal, f"{copy}.wal")
    duckdb.connect(str(copy)).close()
    return copy


def _columns(con, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
                       " ORDER BY column_index", [schema, table]).fetchall()


def _select(con, schema: str, table: str, prefix: str = "") -> str:
    """A query of the table's stable columns as text (DOUBLE rounded to 9 places)."""
    name = f"{schema}.{table}"
    cols = [(c, t) for c, t in _columns(con, schema, table) if c not in VOLATILE.get(name, set())]
    exprs = [f'round("{c}", 9)::VARCHAR' if t in ("DOUBLE", "FLOAT") else f'"{c}"::VARCHAR' for c, t in cols]
    where = ""
    if name == "audit.model_runs":
        where = (f" WHERE status = 'built' AND run_id IN (SELECT arg_max(run_id, built_at) FROM {prefix}{name}"
                 f" WHERE status = 'built' GROUP BY layer)")
    elif name == "audit.layer_builds":
        where = f" WHERE (layer, built_at) IN (SELECT (layer, max(built_at)) FROM {prefix}{name} GROUP BY layer)"
    elif name == "audit.score_runs":
        where = (f" WHERE (as_of_date, run_at) IN (SELECT (as_of_date, max(run_at)) FROM {prefix}{name}"
                 " GROUP BY as_of_date)")
    elif name == "audit.alerts":
        where = " WHERE kind <> 'source_stale'"
    return f"SELECT {', '.join(exprs) or 'NULL'} FROM {prefix}{name}{where}"


def canonical(wh: Path) -> dict[str, list[tuple]]:
    """Every table and view of the warehouse's schemas, stable columns only, ordered by all columns."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        objects = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ? UNION"
            " SELECT schema_name, view_name FROM duckdb_views() WHERE schema_name IN ? AND NOT internal"
            " ORDER BY ALL", [list(SCHEMAS), list(SCHEMAS)]).fetchall()
        return {f"{s}.{t}": con.execute(f"{_select(con, s, t)} ORDER BY ALL").fetchall() for s, t in objects}
    finally:
        con.close()


def query_copy_view(snapshot: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A canonical snapshot as the query copy must match it: the copy is taken before the
    role copies are written (they are cut from it), so which of a night's publish records
    (audit.published_files) it holds depends on which files that night rewrote; the
    warehouse's own records are compared in full."""
    return {k: v for k, v in snapshot.items() if k != "audit.published_files"}


def query_copy(wh: Path) -> dict[str, list[tuple]]:
    return query_copy_view(canonical(Path(f"{wh}.query")))


def differences(got: dict, want: dict, limit: int = 3) -> list[str]:
    """Readable differences between two canonical snapshots ([] when equal)."""
    out = []
    for name in sorted(set(got) | set(want)):
        if name not in got or name not in want:
            out.append(f"{name}: only in {'got' if name in got else 'expected'}")
            continue
        if got[name] == want[name]:
            continue
        g, w = Counter(got[name]), Counter(want[name])
        extra, missing = list((g - w).elements()), list((w - g).elements())
        out.append(f"{name}: {len(got[name])} rows vs {len(want[name])} expected; "
                   f"{len(extra)} unexpected e.g. {extra[:limit]}; {len(missing)} missing e.g. {missing[:limit]}")
    return out


def check_deliveries_whole(wh: Path, reference: Path) -> dict:
    """No delivery half-loaded or loaded twice: every delivery the warehouse has is
    identical, row for row in every load table, to the same delivery in the reference;
    no rows belong to a delivery that is not recorded as loaded; no folder loaded twice.
    Returns {status: deliveries}."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{wh}' AS got (READ_ONLY)")
        con.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")
        twice = con.execute("SELECT folder, count(*) FROM got.audit.deliveries WHERE status = 'loaded'"
                            " GROUP BY folder HAVING count(*) > 1").fetchall()
        assert not twice, f"folders loaded twice: {twice}"
        ledger_twice = con.execute("SELECT load_id, file_name, count(*) FROM got.audit.load_ledger GROUP BY ALL"
                                   " HAVING count(*) > 1").fetchall()
        assert not ledger_twice, f"ledger rows twice: {ledger_twice}"
        loaded = {r[0] for r in con.execute("SELECT load_id FROM got.audit.deliveries WHERE status = 'loaded'"
                                            ).fetchall()}
        for table in LOAD_TABLES:
            orphans = con.execute(f"SELECT DISTINCT load_id FROM got.{table}").fetchall()
            stray = {r[0] for r in orphans} - loaded
            assert not stray, f"{table} holds rows of deliveries not recorded as loaded: {stray}"
        ids = sorted(r[0] for r in con.execute("SELECT load_id FROM got.audit.deliveries").fetchall())
        for table in (*LOAD_TABLES, "audit.load_ledger", "audit.deliveries"):
            schema, name = table.split(".")
            got_q = _select(con, schema, name, "got.").replace(f"got.{table}", f"got.{table} WHERE load_id IN ?")
            ref_q = _select(con, schema, name, "ref.").replace(f"ref.{table}", f"ref.{table} WHERE load_id IN ?")
            got_rows = Counter(con.execute(got_q, [ids]).fetchall())
            ref_rows = Counter(con.execute(ref_q, [ids]).fetchall())
            assert got_rows == ref_rows, (
                f"{table}: deliveries {ids} differ from the uninterrupted run: "
                f"{sum((got_rows - ref_rows).values())} extra, {sum((ref_rows - got_rows).values())} missing rows")
        # the ledger accounts for every staged row of every loaded file
        for table in LOAD_TABLES[5:10]:
            bad = con.execute(
                f"SELECT l.load_id, l.file_name, l.rows_loaded, count(s.load_id) FROM got.audit.load_ledger l"
                f" LEFT JOIN got.{table} s ON s.load_id = l.load_id AND s.file_name = l.file_name"
                f" WHERE l.status = 'loaded' AND regexp_replace(l.file_name, '\\.[^.]*$', '') = ?"
                f" AND l.source = ? GROUP BY ALL HAVING count(s.load_id) <> l.rows_loaded",
                [table.split("_", 1)[1], table.split(".")[1].split("_")[0]]).fetchall()
            assert not bad, f"{table}: staged rows disagree with the ledger: {bad}"
        return dict(Counter(r[0] for r in con.execute("SELECT status FROM got.audit.deliveries").fetchall()))
    finally:
        con.close()


def list_files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.glob("20??-??-??/*/*") if p.suffix in (".xlsx", ".csv")}


def leftovers(wh: Path) -> list[str]:
    """Files a run leaves beside the warehouse that no run cleans up."""
    return sorted(p.name for p in wh.parent.iterdir() if p.name.startswith(f".{wh.name}") and p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def landing0(tmp_path_factory) -> Path:
    """Town-scale deliveries, 3 months, fixed seed: 10 complete folders (2 replays, 1
    rejected for its `_READY` counts) and rs/2024-03-31 without `_READY`."""
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("landing0")
    generate(root / "landing", root / "truth", scale="town", months=MONTHS, seed=SEED)
    return root / "landing"


INCOMPLETE = "rs/2024-03-31"


@pytest.fixture(scope="module")
def world(landing0, tmp_path_factory):
    """One uninterrupted `dibao run` over the deliveries: the reference.

    It is also the first half of the `_READY` scenario: once the run has discovered
    the deliveries (its `stage` task started), `_READY` is written into the incomplete
    folder. The run must not touch it, so its result is also what a run on `landing0`
    gives. The warehouse and out folder stay where they are (their paths are recorded in
    the warehouse) for `after_ready`; the reference is a copy taken right after the run.
    """
    root = tmp_path_factory.mktemp("reference")
    landing, wh, out = root / "landing", root / "wh" / "w.duckdb", root / "out"
    shutil.copytree(landing0, landing)
    (out / "logs").mkdir(parents=True)
    since, started = time.time() - 1, time.perf_counter()
    proc = start(["-m", "pipelines.cli", "run", "--landing", str(landing), "--warehouse", str(wh), "--out", str(out)],
                 root / "run.out")
    discovered = _wait_for(r"running task <TaskInstance: dibao_nightly\.stage", out, since, proc)
    (landing / INCOMPLETE / "_READY").write_text("")
    assert proc.wait(timeout=900) == 0, (root / "run.out").read_text()[-3000:]
    assert discovered, "the run never reached its stage task"
    ref = root / "copy"
    shutil.copytree(wh.parent, ref / "wh")
    shutil.copytree(out, ref / "out")
    return {"landing": landing, "wh": wh, "out": out, "ref_wh": ref / "wh" / "w.duckdb", "ref_out": ref / "out",
            "canonical": canonical(ref / "wh" / "w.duckdb"), "seconds": time.perf_counter() - started}


@pytest.fixture(scope="module")
def after_ready(world):
    """The next run over the same paths, `_READY` now present: it loads the folder once.
    Its result is what any undisturbed run from the reference state ends with."""
    started = time.perf_counter()
    done = direct_run(world["landing"], world["wh"], world["out"])
    assert done.returncode == 0, done.stderr[-3000:]
    return {"canonical": canonical(world["wh"]), "seconds": time.perf_counter() - started,
            "wh_copy": settled_copy(world["wh"], world["wh"].parent.parent / "after-ready")}


def fresh(landing0: Path, tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A private copy of the landing, and paths for a new warehouse and out folder."""
    landing = tmp_path / f"{name}-landing"
    shutil.copytree(landing0, landing)
    return landing, tmp_path / name / "w.duckdb", tmp_path / name / "out"


def report(line: str) -> None:
    print(line, file=sys.stderr)


def _wait_for(pattern: str, out: Path, since: float, proc: subprocess.Popen, timeout: float = 600) -> bool:
    """Poll the run's log (Airflow's and the pipeline's, unbuffered) for a line."""
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while time.monotonic() < deadline and proc.poll() is None:
        for log in (out / "logs").glob("run-*.log"):
            if log.stat().st_mtime >= since and regex.search(log.read_text(encoding="utf-8", errors="replace")):
                return True
        time.sleep(0.05)
    return False


def _last_task(out: Path, since: float) -> str:
    names = []
    for log in sorted((out / "logs").glob("run-*.log")):
        if log.stat().st_mtime >= since:
            names += re.findall(r"running task <TaskInstance: dibao_nightly\.(\w+)",
                                log.read_text(encoding="utf-8", errors="replace"))
    return names[-1] if names else "(before the first task)"


# --------------------------------------------------------------------------- SIGKILL


@pytest.mark.slow
def test_sigkill_at_every_step_then_rerun(landing0, world, tmp_path):
    """One backfill killed at each point of KILL_POINTS in turn (each run resumes what the
    killed one left: WAL, staged folders, half-written files), then run to the end
    without Airflow; the same deliveries' uninterrupted run through Airflow is the reference."""
    landing, wh, out = fresh(landing0, tmp_path, "killed")
    wh.parent.mkdir(parents=True)
    for i, point in enumerate(KILL_POINTS):
        started = time.perf_counter()
        killed = direct_run(landing, wh, out, kill=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-3000:])
        wal = Path(f"{wh}.wal").exists()
        statuses = check_deliveries_whole(settled_copy(wh, tmp_path / f"after-{i}"), world["ref_wh"])
        report(f"killed at {point} after {time.perf_counter() - started:.1f}s (WAL left: {wal}): {statuses}")
    done = direct_run(landing, wh, out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert differences(canonical(wh), world["canonical"]) == []
    assert differences(query_copy(wh), query_copy_view(world["canonical"])) == []
    assert list_files(out) == list_files(world["ref_out"])
    assert leftovers(wh) == []
    # nothing staged is left; the landing digests, the night's held folders and its start are kept on purpose
    assert [p.name for p in Path(f"{wh}.work").iterdir() if p.name not in ("dq", DIGESTS, HELD, STARTED)] == []


# Kill points of the real process: a line of its log to wait for, then a delay in seconds
# (None: random, 0-6 s with a fixed seed: within staging and validation, which takes
# longer than that even on a fast machine, so that the next point is still ahead).
DIBAO_KILLS = [
    ("a random moment after staging began", r"running task <TaskInstance: dibao_nightly\.stage", None),
    ("load, after the 4th delivery committed", r"delivery mz/2024-02-29 loaded", 0.0),
    ("score", r"running task <TaskInstance: dibao_nightly\.score", 1.0),
]


@pytest.mark.slow
def test_sigkill_dibao_run_then_rerun(landing0, world, tmp_path):
    """The real `dibao run` (Airflow in-process), its process group SIGKILLed at points
    found in its log and at a random moment, each time started again; then run to the end."""
    landing, wh, out = fresh(landing0, tmp_path, "dibao-killed")
    (out / "logs").mkdir(parents=True)
    rng = random.Random(SEED)
    for i, (what, pattern, delay) in enumerate(DIBAO_KILLS):
        since, started = time.time() - 1, time.perf_counter()
        proc = start(["-m", "pipelines.cli", "run", "--landing", str(landing), "--warehouse", str(wh),
                      "--out", str(out)], tmp_path / "dibao-killed.out")
        reached = _wait_for(pattern, out, since, proc)
        time.sleep(rng.uniform(0.0, 6.0) if delay is None else delay)
        finished = proc.poll() is not None
        kill_group(proc)
        assert reached and not finished, f"{what}: the run ended (status {proc.returncode}) before the kill"
        statuses = check_deliveries_whole(settled_copy(wh, tmp_path / f"after-{i}"), world["ref_wh"])
        report(f"dibao run killed at {what} after {time.perf_counter() - started:.1f}s"
               f" (in task {_last_task(out, since)}): {statuses}")
    done = dibao_run(landing, wh, out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert differences(canonical(wh), world["canonical"]) == []
    assert differences(query_copy(wh), query_copy_view(world["canonical"])) == []
    assert list_files(out) == list_files(world["ref_out"])
    assert leftovers(wh) == []


# --------------------------------------------------------------------------- _READY mid-run


@pytest.mark.slow
def test_ready_appearing_mid_run_is_left_for_the_next_run(world, after_ready):
    """`_READY` written into a folder after discovery: that run leaves it alone (the
    reference has no trace of it); the next run loads it exactly once."""
    con = duckdb.connect(str(world["ref_wh"]), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM audit.deliveries WHERE folder = ?", [INCOMPLETE]).fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM audit.load_ledger WHERE source = 'rs'"
                           " AND extract_date = DATE '2024-03-31'").fetchall() == [(0,)]
    finally:
        con.close()
    con = duckdb.connect(str(after_ready["wh_copy"]), read_only=True)
    try:
        rows = con.execute("SELECT status, count(*) FROM audit.deliveries WHERE folder = ? GROUP BY ALL",
                           [INCOMPLETE]).fetchall()
        assert rows == [("loaded", 1)]
        ledger = con.execute("SELECT file_name, rows_read, rows_loaded, rows_quarantined, status"
                             " FROM audit.load_ledger WHERE source = 'rs' AND extract_date = DATE '2024-03-31'"
                             " ORDER BY ALL").fetchall()
    finally:
        con.close()
    folder = world["landing"] / INCOMPLETE
    assert [(r[0], r[1], r[2] + r[3], r[4]) for r in ledger] == [
        (p.name, _data_rows(p), _data_rows(p), "loaded") for p in sorted(folder.glob("*.csv"))]
    # Nothing else was loaded again: only the new delivery's rows were added.
    before, after = world["canonical"], after_ready["canonical"]
    assert after["staging.mz_members"] == before["staging.mz_members"]
    assert len(after["staging.rs_contributions"]) == len(before["staging.rs_contributions"]) + ledger[0][2]
    assert len(after["staging.rs_registrations"]) == len(before["staging.rs_registrations"]) + ledger[1][2]
    # and a further run has nothing to load
    from pipelines.runtime import nightly

    copy = after_ready["wh_copy"].parent / "again.duckdb"
    shutil.copyfile(after_ready["wh_copy"], copy)
    assert nightly.discover_pending(str(world["landing"]), str(copy)) == []


# --------------------------------------------------------------------------- write errors


# Sets RLIMIT_FSIZE, ignores SIGXFSZ (so a write past the limit fails with EFBIG instead of
# killing the process), then execs the command: no preexec_fn in this multi-threaded process.
_FSIZE = ("import os, resource, signal, sys; n = int(sys.argv[1]); signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
          " resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])")


def _limit_file_size(limit: int) -> tuple[str, ...]:
    """A command prefix under which writes past `limit` bytes fail, as on a full disk."""
    return (sys.executable, "-c", _FSIZE, str(limit))


def _without_dac_override() -> tuple[str, ...] | None:
    """A command prefix under which file permissions apply: nothing for an ordinary user;
    for root, setpriv dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (root stays root, owns
    the files, but a read-only folder is read-only to it). None when that is not possible."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    return (setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--") if setpriv else None


def assert_one_line_error(result: subprocess.CompletedProcess, *causes: str) -> str:
    assert result.returncode not in (0, -signal.SIGKILL), result.returncode
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("dibao")]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr[-3000:]
    assert any(c in errors[0] for c in causes), errors[0]
    return errors[0]


# What each task writes: after it fails, these are as they were before the run.
TASK_TABLES = {
    "history": ("core.",),
    "marts": ("mart.county_month", "mart.discovery_candidates", "mart.household_month", "mart.township_month"),
    "score": ("mart.risk_list", "mart.risk_list_detail", "mart.reason_codes"),
    "publish": ("mart.listed_", "mart.list_departures", "audit.list_exports"),
}


@pytest.mark.slow
def test_write_errors_leave_the_previous_state(world, after_ready, tmp_path):
    """`dibao run` on the reference state with one delivery to load, under a full disk
    (RLIMIT_FSIZE, from the start and part-way) and a read-only warehouse folder: one
    clear line on stderr, no traceback, nothing half-written; then an undisturbed run
    ends exactly where a run without the fault ends."""
    wh, out, landing = world["wh"], world["out"], world["landing"]

    def restore() -> None:  # the reference state, at the paths its list exports recorded
        shutil.rmtree(wh.parent)
        shutil.rmtree(out)
        shutil.copytree(world["ref_wh"].parent, wh.parent)
        shutil.copytree(world["ref_out"], out)

    restore()
    previous, expected = world["canonical"], after_ready["canonical"]
    assert differences(canonical(wh), previous) == []
    # A fresh Airflow home: its metadata database must stay smaller than the file size limits.
    env = child_env(AIRFLOW_HOME=str(tmp_path / "airflow"))
    migrate = "from pipelines.runtime.embedded_airflow import configure, ensure_metadata_db; configure(); ensure_metadata_db()"
    subprocess.run([sys.executable, "-c", migrate], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
                   timeout=600)
    unprivileged = _without_dac_override()

    # 1. The disk is full before the run starts: Airflow cannot even record the run.
    started = time.perf_counter()
    failed = dibao_run(landing, wh, out, env=env, prefix=_limit_file_size(64 << 10))
    line = assert_one_line_error(failed, "File too large", "disk")
    assert differences(canonical(wh), previous) == []
    report(f"disk full from the start ({time.perf_counter() - started:.0f}s): {line}")

    # 2. The warehouse's folder is read-only: DuckDB cannot create its write-ahead log.
    if unprivileged is None:
        report("permission denied: skipped (root without setpriv)")
    else:
        started = time.perf_counter()
        wh.parent.chmod(0o555)
        try:
            failed = dibao_run(landing, wh, out, env=env, prefix=unprivileged)
        finally:
            wh.parent.chmod(0o755)
        line = assert_one_line_error(failed, "Permission denied")
        assert differences(canonical(wh), previous) == []
        report(f"permission denied ({time.perf_counter() - started:.0f}s): {line}")

    # 3. The disk fills up during the run: some step's COMMIT cannot be written.
    started = time.perf_counter()
    failed = dibao_run(landing, wh, out, env=env, prefix=_limit_file_size(3 << 20))
    line = assert_one_line_error(failed, "File too large")
    task = re.match(r"dibao run: (\w+)", line).group(1)
    state = canonical(settled_copy(wh, tmp_path / "disk-full"))
    check_deliveries_whole(tmp_path / "disk-full" / wh.name, after_ready["wh_copy"])
    mixed = [t for t in state if t != "audit.model_runs" and state[t] not in (previous[t], expected[t])]
    assert mixed == [], f"tables neither as before nor as after a whole run: {mixed}"
    untouched = [t for t in state if t.startswith(TASK_TABLES.get(task, ())) and state[t] != previous[t]]
    assert untouched == [], f"{task} failed, yet changed {untouched}"
    newer = sorted(t for t in state if state[t] != previous[t])
    report(f"disk full part-way ({time.perf_counter() - started:.0f}s): {line}; committed before it: {newer}")

    # Space again: the next run completes and ends where an undisturbed one ends.
    done = dibao_run(landing, wh, out, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert differences(canonical(wh), expected) == []


# --------------------------------------------------------------------------- files changing after _READY


def _load_steps(landing: Path, wh: Path, until: str = "2024-01-31", after_discover=None, after_stage=None) -> dict:
    """discover, stage, load as the DAG does (validation left out: no Great Expectations
    import needed here), with hooks where another process could change the landing."""
    from pipelines.runtime import nightly

    pending = nightly.discover_pending(str(landing), str(wh), until)
    if after_discover:
        after_discover()
    staged = [nightly.stage_delivery(p, str(wh)) for p in pending]
    if after_stage:
        after_stage()
    return nightly.load_deliveries(staged, str(wh))


def _deliveries(wh: Path) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute("SELECT folder, status FROM audit.deliveries ORDER BY folder, attempted_at").fetchall()
    finally:
        con.close()


def _ledger(wh: Path, folder: str) -> list[tuple]:
    source, day = folder.split("/")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute("SELECT file_name, status, rows_read, rows_loaded, rows_quarantined, file_sha256"
                           " FROM audit.load_ledger WHERE source = ? AND extract_date = ? ORDER BY ALL",
                           [source, day]).fetchall()
    finally:
        con.close()


def _data_rows(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()) - 1


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_half_rewritten_while_read_is_not_loaded_half(landing0, tmp_path):
    """The agency copies a delivery over itself (same bytes) while the run reads it: the
    run sees a truncated file. It must not load it (and must not record the folder as
    done, since its final bytes are the ones discovered); the next run loads it whole."""
    landing = tmp_path / "landing"
    shutil.copytree(landing0, landing)
    wh = tmp_path / "w.duckdb"
    members = landing / "mz" / "2024-01-31" / "members.csv"
    whole = members.read_bytes()
    summary = _load_steps(landing, wh, after_discover=lambda: members.write_bytes(whole[: len(whole) // 2]),
                          after_stage=lambda: members.write_bytes(whole))
    assert ("mz/2024-01-31", "loaded") not in _deliveries(wh), summary
    _load_steps(landing, wh)
    assert _deliveries(wh).count(("mz/2024-01-31", "loaded")) == 1
    n = _data_rows(members)
    assert [(r[0], r[1], r[2], r[3] + r[4]) for r in _ledger(wh, "mz/2024-01-31") if r[0] == "members.csv"] == [
        ("members.csv", "loaded", n, n)]
    assert _load_steps(landing, wh)["deliveries"] == []


def test_file_rewritten_after_discovery_loads_the_final_bytes_once(landing0, tmp_path):
    """A delivery corrected in place between discovery and reading: this run leaves it;
    the next one loads the corrected bytes, once, under their own hash."""
    from pipelines.generate import correct_delivery

    landing = tmp_path / "landing"
    shutil.copytree(landing0, landing)
    wh = tmp_path / "w.duckdb"
    _load_steps(landing, wh, after_discover=lambda: correct_delivery(landing, "cl", "2024-01-31", seed=3))
    assert [d for d in _deliveries(wh) if d[0] == "cl/2024-01-31"] == []
    _load_steps(landing, wh)
    assert [d for d in _deliveries(wh) if d[0] == "cl/2024-01-31"] == [("cl/2024-01-31", "loaded")]
    final = landing / "cl" / "2024-01-31" / "disability.csv"
    assert [(r[0], r[1], r[5]) for r in _ledger(wh, "cl/2024-01-31")] == [("disability.csv", "loaded", _sha(final))]


@pytest.mark.parametrize("change", ["ready_removed", "file_removed", "file_added"])
def test_folder_changing_after_discovery_is_left_for_the_next_run(landing0, tmp_path, change):
    """`_READY` removed (the agency rewrites the folder), a data file removed, or a file
    added after discovery: this run neither fails nor records the folder; the next run
    that finds it complete loads what is there, once."""
    landing = tmp_path / "landing"
    shutil.copytree(landing0, landing)
    wh = tmp_path / "w.duckdb"
    folder = landing / "rs" / "2024-01-31"
    kept = {p.name: p.read_bytes() for p in folder.iterdir()}
    act = {"ready_removed": lambda: (folder / "_READY").unlink(),
           "file_removed": lambda: (folder / next(n for n in sorted(kept) if n != "_READY")).unlink(),
           "file_added": lambda: shutil.copyfile(landing / "cl" / "2024-01-31" / "disability.csv",
                                                 folder / "late.csv")}[change]
    summary = _load_steps(landing, wh, after_discover=act)
    assert [d for d in _deliveries(wh) if d[0] == "rs/2024-01-31"] == [], summary
    assert {d["status"] for d in summary["deliveries"] if d["source"] == "rs"} == {"deferred"}
    assert {d[0] for d in _deliveries(wh)} == {"mz/2024-01-31", "cl/2024-01-31"}  # the others loaded
    for name, data in kept.items():  # the agency finishes: the folder is complete again
        (folder / name).write_bytes(data)
    _load_steps(landing, wh)
    assert [d for d in _deliveries(wh) if d[0] == "rs/2024-01-31"] == [("rs/2024-01-31", "loaded")]
    assert _load_steps(landing, wh)["deliveries"] == []


def test_file_set_disagreeing_with_ready_counts_is_rejected_whole(landing0, tmp_path):
    """`_READY` counts name a file that is missing, or miss a file that is there: the
    whole delivery is rejected (nothing of it loads); a corrected `_READY` is a new attempt."""
    landing = tmp_path / "landing"
    shutil.copytree(landing0, landing)
    wh = tmp_path / "w.duckdb"
    folder = landing / "rs" / "2024-01-31"
    ready = folder / "_READY"
    counts = {"registrations.xlsx": 1, "contributions.xlsx": 1, "missing.csv": 3}
    ready.write_text(json.dumps({"files": counts}))
    summary = _load_steps(landing, wh)
    rs = [d for d in summary["deliveries"] if d["source"] == "rs"]
    assert rs[0]["status"] == "rejected" and "missing.csv" in rs[0]["message"], rs
    assert {(r[1], r[3]) for r in _ledger(wh, "rs/2024-01-31")} == {("rejected", 0)}
    ready.write_text("")  # the agency fixes the marker
    _load_steps(landing, wh)
    assert [d for d in _deliveries(wh) if d[0] == "rs/2024-01-31"] == [
        ("rs/2024-01-31", "rejected"), ("rs/2024-01-31", "loaded")]
