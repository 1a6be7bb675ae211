"""Loading without Airflow: corrections, replays, atomicity and drift, on real files.

The same pipelines.runtime.nightly functions the DAG's tasks call, on generated town data.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.runtime import nightly
from pipelines.generate import correct_delivery, generate
from tests.pipeline_run import load_all as run_once
from pipelines.ingest.stage import Staged
from pipelines.load.deliveries import load_staged
from pipelines.warehouse import warehouse


def counts(wh: Path) -> dict:
    tables = ["audit.load_ledger", "audit.deliveries", "audit.quarantine", "audit.repairs", "audit.conflicts",
              "audit.schema_drift", "staging.mz_households", "staging.mz_members", "staging.cl_disability",
              "staging.rs_registrations", "staging.rs_contributions", "raw.mz_members"]
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def town(small_world):
    """The shared small world (tests/conftest.py): town scale, 3 months, seed 11. Read-only."""
    return small_world["root"]


@pytest.fixture(scope="module")
def loaded_once(small_loaded):
    """The small world loaded once for the session (tests/conftest.py). Read-only."""
    return small_loaded


@pytest.fixture
def loaded(town, loaded_once, tmp_path):
    """A private copy of the landing folder and of the warehouse that loaded it."""
    landing = tmp_path / "landing"
    shutil.copytree(town / "landing", landing)
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(loaded_once, wh)
    # Folders are known by their path relative to the landing root, so the copy is "already loaded".
    return landing, wh


def test_correction_supersedes_without_double_counting(loaded):
    landing, wh = loaded
    before = counts(wh)
    con = duckdb.connect(str(wh), read_only=True)
    old = con.execute("SELECT load_id, file_name, rows_loaded FROM audit.load_ledger "
                      "WHERE source = 'mz' AND extract_date = DATE '2024-02-29' AND status = 'loaded'").fetchall()
    con.close()
    assert old
    correct_delivery(landing, "mz", date(2024, 2, 29), seed=3)
    summary = run_once(landing, wh)
    assert [d["status"] for d in summary["deliveries"]] == ["loaded"]
    after = counts(wh)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        statuses = dict(con.execute("SELECT load_id, status FROM audit.deliveries WHERE folder = 'mz/2024-02-29'")
                        .fetchall())
        assert sorted(statuses.values()) == ["loaded", "superseded"]
        old_ids = {r[0] for r in old}
        assert {s for k, s in statuses.items() if k in old_ids} == {"superseded"}
        left = con.execute("SELECT count(*) FROM staging.mz_members WHERE load_id IN (SELECT unnest(?))",
                           [list(old_ids)]).fetchall()[0][0]
        assert left == 0
        ledger = con.execute("SELECT status, count(*) FROM audit.load_ledger WHERE extract_date = DATE '2024-02-29'"
                             " AND source = 'mz' GROUP BY ALL").fetchall()
        assert dict(ledger) == {"loaded": 2, "superseded": 2}
    finally:
        con.close()
    # Same row counts (the correction changed values, not rows): nothing added twice.
    for t in ("staging.mz_households", "staging.mz_members", "raw.mz_members"):
        assert after[t] == before[t], t
    assert after["audit.load_ledger"] == before["audit.load_ledger"] + 2


def test_rerun_changes_nothing(loaded):
    landing, wh = loaded
    before = counts(wh)
    assert run_once(landing, wh)["deliveries"] == []
    assert counts(wh) == before


def test_replay_in_a_new_folder_is_skipped(loaded):
    landing, wh = loaded
    before = counts(wh)
    shutil.copytree(landing / "cl" / "2024-01-31", landing / "cl" / "2024-02-01")
    summary = run_once(landing, wh)
    assert [(d["source"], d["status"]) for d in summary["deliveries"]] == [("cl", "skipped_duplicate")]
    after = counts(wh)
    assert after["staging.cl_disability"] == before["staging.cl_disability"]
    assert after["audit.load_ledger"] == before["audit.load_ledger"] + 1


def test_incomplete_folder_is_not_touched_until_ready(loaded):
    landing, wh = loaded
    folder = landing / "mz" / "2024-04-30"
    shutil.copytree(landing / "mz" / "2024-03-31", folder)
    (folder / "_READY").unlink()
    assert run_once(landing, wh)["deliveries"] == []
    (folder / "_READY").write_text("")
    # Same bytes as 2024-03-31 from another folder: a replay, recorded once it is complete.
    assert [d["status"] for d in run_once(landing, wh)["deliveries"]] == ["skipped_duplicate"]


def test_a_failing_load_leaves_the_warehouse_as_it_was(town, tmp_path):
    wh = tmp_path / "w.duckdb"
    pending = nightly.discover_pending(str(town / "landing"), str(wh))
    folder = nightly.validate_delivery(nightly.stage_delivery(pending[0], str(wh)), str(wh), "test")
    staged = Staged.open(folder)
    # Break the last part the loader reads: the first inserts succeed, then it fails.
    last = staged.files[-1]
    staged.part(last.stem, "repairs").write_bytes(b"not parquet")
    before = counts(wh)
    with warehouse(wh) as con, pytest.raises(duckdb.Error):
        load_staged(con, staged)
    assert counts(wh) == before


def test_rejected_count_mismatch_loads_nothing(town, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(town / "landing", landing)
    folder = landing / "rs" / "2024-01-31"
    (folder / "_READY").write_text('{"files": {"registrations.csv": 1, "contributions.csv": 1}}')
    wh = tmp_path / "w.duckdb"
    summary = run_once(landing, wh, until="2024-01-31")
    rs = [d for d in summary["deliveries"] if d["source"] == "rs"]
    assert rs[0]["status"] == "rejected" and "_READY" in rs[0]["message"]
    con = duckdb.connect(str(wh), read_only=True)
    try:
        rows = con.execute("SELECT status, sum(rows_loaded), count(*) FROM audit.load_ledger "
                           "WHERE source = 'rs' GROUP BY ALL").fetchall()
        assert rows == [("rejected", 0, 2)]
        assert con.execute("SELECT count(*) FROM staging.rs_contributions").fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM audit.alerts WHERE kind = 'delivery_rejected'").fetchall()[0][0] == 1
        assert any("rs" in s for s in summary["stale"])
    finally:
        con.close()


def test_extra_columns_are_recorded_as_drift(loaded, town):
    import polars as pl

    _, wh = loaded
    planted = pl.read_parquet(town / "truth" / "defects.parquet").filter(pl.col("kind") == "extra_column")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        drift = set(con.execute("SELECT source, extract_date, file_name FROM audit.schema_drift "
                                "WHERE drift = 'extra_column'").fetchall())
        loaded_dates = set(con.execute("SELECT source, extract_date FROM audit.deliveries "
                                       "WHERE status = 'loaded'").fetchall())
    finally:
        con.close()
    expected = {(r["source"], r["extract_date"], r["file_name"]) for r in planted.iter_rows(named=True)
                if (r["source"], r["extract_date"]) in loaded_dates}
    assert expected and expected <= drift


def test_retried_tasks_do_not_count_twice(town, tmp_path):
    """Airflow may run validate or load again after a failure: nothing doubles."""
    wh_once, wh_twice = tmp_path / "once.duckdb", tmp_path / "twice.duckdb"
    for wh, tries in ((wh_once, 1), (wh_twice, 2)):
        pending = nightly.discover_pending(str(town / "landing"), str(wh), "2024-01-31")
        folders = [nightly.stage_delivery(p, str(wh)) for p in pending]
        for _ in range(tries):
            folders = [nightly.validate_delivery(f, str(wh), "test") for f in folders]
        assert sum(len(Staged.open(f).dq) for f in folders) > 0
        if tries == 2:
            # A crash after the commits but before the staged folders were cleared.
            kept = {f: shutil.copytree(f, f"{f}.kept") for f in folders}
            nightly.load_deliveries(folders, str(wh))
            for f, copy in kept.items():
                shutil.copytree(copy, f)
        nightly.load_deliveries(folders, str(wh))
    assert counts(wh_twice) == counts(wh_once)
