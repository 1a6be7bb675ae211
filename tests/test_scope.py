"""When a night rebuilds every month of the month-grain marts, and when only the recent ones
(pipelines/core/scope.py). The rows themselves are compared with a full rebuild in
tests/test_incremental.py (slow lane)."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipelines.config import WAREHOUSE_SQL
from pipelines.core.scope import FULL, MONTHS, UNCHANGED, plan, select_of
from pipelines.runtime import nightly
from pipelines.warehouse import Model, WarehouseError


@pytest.fixture(scope="module")
def built(small_loaded, tmp_path_factory):
    """The small world loaded, core and marts built once (the first build: full)."""
    wh = tmp_path_factory.mktemp("scope") / "w.duckdb"
    shutil.copyfile(small_loaded, wh)
    nightly.build_history(str(wh))
    first = nightly.publish_marts(str(wh))
    return wh, first


def _copy(built, tmp_path):
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(built[0], wh)
    return wh


def _last(wh) -> tuple:
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute("SELECT scope, reason, months_from FROM audit.layer_builds"
                           " ORDER BY built_at DESC LIMIT 1").fetchall()[0]


def test_the_first_build_is_full_and_a_night_without_deliveries_keeps_the_months(built, tmp_path):
    wh = _copy(built, tmp_path)
    assert _last(wh) == (FULL, "no earlier build is recorded", None)
    assert built[1]["scoped"] == {}
    again = nightly.publish_marts(str(wh))
    assert _last(wh) == (UNCHANGED, "no delivery changed since the last build", None)
    assert again["scoped"] == dict.fromkeys(built[1]["rows"] | again["scoped"], "unchanged")  # every model kept
    assert {"mart.household_month", "mart.discovery_candidates"} <= set(again["scoped"])
    assert again["rows"] == built[1]["rows"]


def test_a_new_snapshot_rebuilds_from_its_month(built, tmp_path):
    wh = _copy(built, tmp_path)
    with duckdb.connect(str(wh)) as con:  # as if the latest mz snapshot had come after the build
        latest = con.execute("SELECT max(extract_date) FROM audit.deliveries WHERE source = 'mz'"
                             " AND status = 'loaded'").fetchall()[0][0]
        con.execute("DELETE FROM audit.built_deliveries WHERE load_id IN (SELECT load_id FROM audit.deliveries"
                    " WHERE source = 'mz' AND extract_date = ?)", [latest])
        p = plan(con)
    assert (p.scope, p.months_from) == (MONTHS, latest.replace(day=1))
    assert p.reason == "1 delivery changed since the last build"


@pytest.mark.parametrize("change, reason", [
    ("UPDATE core.policy_parameters SET amount = amount + 1 WHERE rowid = (SELECT min(rowid)"
     " FROM core.policy_parameters)", "the policy parameters changed"),
    ("UPDATE audit.deliveries SET status = 'superseded' WHERE load_id = (SELECT min(load_id)"
     " FROM audit.deliveries WHERE source = 'rs' AND status = 'loaded')",
     "a 人社 delivery was superseded: the months it held are unknown"),
    ("UPDATE audit.schema_migrations SET applied_at = current_timestamp + INTERVAL 1 MINUTE"
     " WHERE name = (SELECT min(name) FROM audit.schema_migrations)",
     "a migration was applied since the last build"),
    # a same-date correction of the latest mz snapshot, loaded since the build
    ("CREATE TEMP TABLE c AS SELECT load_id, extract_date FROM audit.deliveries WHERE source = 'mz'"
     " AND status = 'loaded' ORDER BY extract_date DESC LIMIT 1;"
     " INSERT INTO audit.corrected_rows SELECT load_id, load_id, 'mz', extract_date, 'H1', [], current_date FROM c;"
     " DELETE FROM audit.built_deliveries WHERE load_id IN (SELECT load_id FROM c)",
     "a same-date correction re-dates when checks were known, in months before it too"),
])
def test_what_makes_a_night_full(built, tmp_path, change, reason):
    wh = _copy(built, tmp_path)
    with duckdb.connect(str(wh)) as con:
        con.execute(change)
        p = plan(con)
        asked = plan(con, full=True)
    assert (p.scope, p.reason, p.months_from) == (FULL, reason, None)
    assert (asked.scope, asked.reason) == (FULL, "a full rebuild was asked for")


def test_a_changed_model_file_makes_a_night_full(built, tmp_path):
    root = tmp_path / "warehouse"
    shutil.copytree(WAREHOUSE_SQL, root)
    model = root / "mart" / "mart_county_month.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- reviewed\n", encoding="utf-8")
    with duckdb.connect(str(_copy(built, tmp_path))) as con:
        assert (plan(con, root=WAREHOUSE_SQL).scope, plan(con, root=root).reason) == (
            UNCHANGED, "a model definition changed")


def test_a_monthly_model_must_be_one_create_table(tmp_path):
    path = tmp_path / "mart_x.sql"
    assert select_of(Model(path, "-- note\nCREATE OR REPLACE TABLE mart.x AS\nSELECT 1 AS month;")) == \
        "SELECT 1 AS month"
    with pytest.raises(WarehouseError, match="mart_x.sql: a \\[monthly\\] model must be one CREATE OR REPLACE"):
        select_of(Model(path, "CREATE OR REPLACE VIEW mart.x AS SELECT 1 AS month"))


def test_a_rejected_delivery_is_a_change(built, tmp_path):
    """A night whose only delivery was rejected keeps nothing whole: the rejection wrote
    quarantine and ledger rows; only a night with no delivery at all keeps the layers."""
    wh = _copy(built, tmp_path)
    with duckdb.connect(str(wh)) as con:
        latest = con.execute("SELECT max(extract_date) FROM audit.deliveries WHERE source = 'cl'").fetchall()[0][0]
        con.execute("INSERT INTO audit.deliveries VALUES ('cl-rejected', 'cl', ?, 'cl/x', 'a', 'b', 'rejected',"
                    " 'rows read do not match _READY', NULL, current_timestamp::TIMESTAMP)", [latest])
        p = plan(con)
    assert (p.scope, p.reason, p.months_from) == (MONTHS, "1 delivery changed since the last build",
                                                  latest.replace(day=1))


def test_the_marts_are_not_kept_after_core_changed(built, tmp_path):
    """With no delivery, the marts are kept only while core was kept too: a core build that
    changed anything (a new person_key hash key, a rebuild asked for) rebuilds them whole."""
    wh = _copy(built, tmp_path)
    with duckdb.connect(str(wh)) as con:
        con.execute("INSERT INTO audit.layer_builds VALUES ('core', 'core-x', 'full', 'a full rebuild was asked for',"
                    " NULL, 'm', 'p', current_timestamp::TIMESTAMP + INTERVAL 1 MINUTE)")
        rebuilt = plan(con)
        con.execute("UPDATE audit.layer_builds SET scope = 'unchanged' WHERE run_id = 'core-x'")
        kept = plan(con)
    assert (rebuilt.scope, rebuilt.reason) == (FULL, "the core layer was rebuilt since the last build")
    assert (kept.scope, kept.reason) == (UNCHANGED, "no delivery changed since the last build")


def test_a_quiet_night_keeps_every_model_as_it_is(built, tmp_path):
    """Nothing new: both layers keep every object (not rebuilt: the tables are the same
    ones, so their rows are too)."""
    wh = _copy(built, tmp_path)
    with duckdb.connect(str(wh)) as con:
        before = con.execute("SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables()"
                             " WHERE schema_name IN ('core', 'mart') ORDER BY 1").fetchall()
    core = nightly.build_history(str(wh))
    marts = nightly.publish_marts(str(wh))
    for layer in (core, marts):
        assert layer["scoped"] and set(layer["scoped"].values()) == {"unchanged"}
    with duckdb.connect(str(wh), read_only=True) as con:
        after = con.execute("SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables()"
                            " WHERE schema_name IN ('core', 'mart') ORDER BY 1").fetchall()
        builds = con.execute("SELECT layer, scope FROM audit.layer_builds ORDER BY built_at DESC LIMIT 2").fetchall()
    assert after == before
    assert builds == [("mart", UNCHANGED), ("core", UNCHANGED)]
