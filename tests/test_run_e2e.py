"""`dibao run` end to end, really through Airflow, on generated town-scale data.

Checks the contract's accounting: the ledger identity for every file, every
planted repairable defect loaded and repaired, every unrepairable one in
quarantine at the right file, line and column, replays skipped, count mismatches
rejected whole, incomplete folders untouched, and a second run changing nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

pytestmark = pytest.mark.slow

MONTHS = 4


def dibao(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=900)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    landing, truth, out, wh = root / "landing", root / "truth", root / "out", root / "w.duckdb"
    from pipelines.generate import generate

    generate(landing, truth, scale="town", months=MONTHS, seed=7)
    first = dibao("run", "--landing", str(landing), "--warehouse", str(wh), "--out", str(out))
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    return {"root": root, "landing": landing, "truth": truth, "out": out, "wh": wh, "first": first}


def q(wh: Path, sql: str, params=None) -> pl.DataFrame:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    finally:
        con.close()


def test_every_loaded_file_balances(world):
    ledger = q(world["wh"], "SELECT * FROM audit.load_ledger")
    assert ledger.height > 0
    loaded = ledger.filter(pl.col("status") == "loaded")
    assert loaded.height > 0
    bad = loaded.filter(pl.col("rows_read") != pl.col("rows_loaded") + pl.col("rows_quarantined"))
    assert bad.height == 0, bad
    staged = q(world["wh"], """
        SELECT load_id, file_name, count(*) AS n FROM (
            SELECT load_id, file_name FROM staging.mz_households UNION ALL
            SELECT load_id, file_name FROM staging.mz_members UNION ALL
            SELECT load_id, file_name FROM staging.cl_disability UNION ALL
            SELECT load_id, file_name FROM staging.rs_registrations UNION ALL
            SELECT load_id, file_name FROM staging.rs_contributions) GROUP BY ALL""")
    joined = loaded.join(staged, on=["load_id", "file_name"], how="left").with_columns(pl.col("n").fill_null(0))
    assert joined.filter(pl.col("n") != pl.col("rows_loaded")).height == 0
    quarantined_rows = q(world["wh"], "SELECT load_id, file_name, count(DISTINCT line_number) AS qn "
                                      "FROM audit.quarantine GROUP BY ALL")
    joined = loaded.join(quarantined_rows, on=["load_id", "file_name"], how="left").with_columns(
        pl.col("qn").fill_null(0))
    assert joined.filter(pl.col("qn") != pl.col("rows_quarantined")).height == 0


def _defects(world) -> pl.DataFrame:
    defects = pl.read_parquet(world["truth"] / "defects.parquet")
    deliveries = q(world["wh"], "SELECT source, extract_date, status FROM audit.deliveries")
    # Only defects in deliveries that loaded can be checked row by row.
    return defects.join(deliveries.filter(pl.col("status") == "loaded").select("source", "extract_date"),
                        on=["source", "extract_date"], how="semi")


def test_unrepairable_defects_are_quarantined_at_file_line_column(world):
    defects = _defects(world).filter((pl.col("effect") == "quarantined") & pl.col("line_number").is_not_null())
    assert defects.height > 0
    quarantine = q(world["wh"], "SELECT source, extract_date, file_name, line_number, column_name, raw_value, reason "
                                "FROM audit.quarantine")
    keys = ["source", "extract_date", "file_name", "line_number"]
    missing = defects.join(quarantine, on=keys, how="anti")
    assert missing.height == 0, missing
    with_column = defects.filter(pl.col("column_name").is_not_null())
    missing_cell = with_column.join(quarantine, on=[*keys, "column_name"], how="anti")
    assert missing_cell.height == 0, missing_cell


CONFLICT_KINDS = {
    "member_household_missing": "orphan_member",
    "member_in_two_households": "member_in_two_households",
    "household_size_mismatch": "household_size_mismatch",
    "cert_digits_mismatch": "certificate_digits_disagree",
    "rs_unknown_id": "unknown_person",
}


def test_cross_source_conflicts_load_and_are_recorded(world):
    planted = _defects(world).filter(pl.col("effect") == "conflict")
    assert set(planted["kind"]) == set(CONFLICT_KINDS)
    planted = planted.with_columns(pl.col("kind").replace_strict(CONFLICT_KINDS).alias("conflict"))
    conflicts = q(world["wh"], "SELECT kind AS conflict, source, extract_date, file_name, line_number FROM audit.conflicts")
    missing = planted.join(conflicts, on=["conflict", "source", "extract_date", "file_name", "line_number"], how="anti")
    assert missing.height == 0, missing
    # Conflicting rows load as delivered: each one is in staging, not in quarantine.
    quarantine = q(world["wh"], "SELECT source, extract_date, file_name, line_number FROM audit.quarantine")
    assert planted.join(quarantine, on=["source", "extract_date", "file_name", "line_number"], how="semi").height == 0


def test_repairable_defects_load_and_are_recorded(world):
    defects = _defects(world).filter(
        pl.col("repairable") & pl.col("line_number").is_not_null() & pl.col("column_name").is_not_null())
    assert defects.height > 0
    repairs = q(world["wh"], "SELECT source, extract_date, file_name, line_number, column_name, repaired_value "
                             "FROM audit.repairs")
    keys = ["source", "extract_date", "file_name", "line_number", "column_name"]
    quarantine = q(world["wh"], "SELECT source, extract_date, file_name, line_number FROM audit.quarantine")
    # A repairable cell in a row that another defect quarantines is rightly not loaded.
    defects = defects.join(quarantine, on=keys[:-1], how="anti")
    got = defects.join(repairs, on=keys, how="left")
    assert got.filter(pl.col("repaired_value").is_null()).height == 0, got.filter(pl.col("repaired_value").is_null())
    if "expected_value" in got.columns:
        wrong = got.filter(pl.col("expected_value").is_not_null()
                           & (pl.col("expected_value") != pl.col("repaired_value")))
        assert wrong.height == 0, wrong


def test_delivery_kinds_are_handled(world):
    kinds = pl.read_parquet(world["truth"] / "deliveries.parquet")
    status = q(world["wh"], "SELECT source, extract_date, folder, status FROM audit.deliveries")
    ledger = q(world["wh"], "SELECT source, extract_date, status, rows_loaded FROM audit.load_ledger")
    for row in kinds.iter_rows(named=True):
        mine = status.filter((pl.col("source") == row["source"]) & (pl.col("extract_date") == row["extract_date"]))
        if row["kind"] == "incomplete":
            assert mine.height == 0, row
        elif row["kind"] == "count_mismatch":
            files = ledger.filter((pl.col("source") == row["source"]) & (pl.col("extract_date") == row["extract_date"]))
            assert set(files["status"]) == {"rejected"} and files["rows_loaded"].sum() == 0, row
        elif row["kind"] == "replay":
            assert set(mine["status"]) == {"skipped_duplicate"}, row
        else:
            assert mine.height >= 1, row


def test_second_run_changes_nothing(world):
    tables = ["audit.load_ledger", "audit.deliveries", "audit.quarantine", "audit.repairs", "audit.conflicts",
              "staging.mz_members", "staging.rs_contributions"]
    before = {t: q(world["wh"], f"SELECT count(*) AS n FROM {t}")["n"][0] for t in tables}
    again = dibao("run", "--landing", str(world["landing"]), "--warehouse", str(world["wh"]),
                  "--out", str(world["out"]))
    assert again.returncode == 0, again.stderr[-2000:]
    after = {t: q(world["wh"], f"SELECT count(*) AS n FROM {t}")["n"][0] for t in tables}
    assert after == before


def test_logs_hold_no_raw_id_or_name(world):
    """Privacy: the run's own logs (Airflow's included) never carry a 身份证号 or a name."""
    ids = set(q(world["wh"], "SELECT id_number FROM restricted.person_identity")["id_number"])
    names = {n for n in q(world["wh"], "SELECT DISTINCT name FROM staging.mz_members WHERE name IS NOT NULL")["name"]
             if len(n) >= 2}
    import re

    logs = [p for p in world["out"].rglob("*") if p.is_file() and p.suffix in (".log", ".json", ".txt")]
    assert logs
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        leaked = {m for m in re.findall(r"\d{17}[\dX]", text) if m in ids}
        assert not leaked, (path, sorted(leaked)[:3])
        named = [n for n in names if n in text]
        assert not named, (path, named[:3])
