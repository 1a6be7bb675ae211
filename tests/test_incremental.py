"""Month-scoped marts build what a full rebuild builds (issue #17, item 1).

A generated town world of four months is loaded night by night through the nightly
job's own functions (Great Expectations skipped, as in tests/risk_world.py), each
night building history, marts (the month-grain ones from the first month its
deliveries can change: pipelines/core/scope.py) and scores. Among the nights: a
人社 delivery that arrives a night late, a same-date 民政 correction, a same-date
残联 correction, a night of nothing new and a 人社 delivery whose contributions
reach back two months. A copy of the final warehouse is then rebuilt in full
(`dibao rebuild`'s path), and every core, restricted and mart table of the two must
hold the same rows (EXCEPT ALL both ways, all columns but the build's own timestamps).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.runtime import nightly

pytestmark = pytest.mark.slow

WORLD = {"scale": "town", "months": 4, "seed": 5}
LATE = ("rs", "2024-02-29")  # held back a night: loads after mz/cl of its date
BACK = ("2024-05-06", "202402")  # an rs delivery after April paying for February
# Columns that say when something was built, not what: never compared.
VOLATILE = {("mart", "risk_list_detail", "scored_at")}
SCHEMAS = ("core", "restricted", "mart")
MONTHLY = {"mart.household_month", "mart.township_month", "mart.county_month"}  # and core.contributions


def _load(landing: Path, wh: Path, until: str) -> list[dict]:
    pending = nightly.discover_pending(str(landing), str(wh), until)
    staged = [nightly.stage_delivery(item, str(wh)) for item in pending]
    return nightly.load_deliveries(staged, str(wh))["deliveries"]


def _night(landing: Path, wh: Path, until: str) -> dict:
    loaded = _load(landing, wh, until)
    return {"loaded": [(d["source"], d["extract_date"], d["status"]) for d in loaded],
            "core": nightly.build_history(str(wh)),
            "marts": nightly.publish_marts(str(wh)),
            "score": nightly.score(str(wh))}


def tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    """`schema.table` -> compared columns, for every base table of the compared schemas."""
    rows = con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() c"
        " WHERE database_name = ? AND schema_name IN ? AND table_name <> 'hash_key'"
        " AND (SELECT count(*) FROM duckdb_tables() t WHERE t.database_name = c.database_name"
        "      AND t.schema_name = c.schema_name AND t.table_name = c.table_name) = 1"
        " ORDER BY schema_name, table_name, column_index", [catalog, list(SCHEMAS)]).fetchall()
    found: dict[str, list[str]] = {}
    for schema, table, column in rows:
        if (schema, table, column) not in VOLATILE:
            found.setdefault(f"{schema}.{table}", []).append(column)
    return found


def differences(incremental: Path, full: Path, limit: int = 5) -> list[str]:
    """One readable block per table whose rows differ between the two warehouses."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{incremental}' AS inc (READ_ONLY)")
        con.execute(f"ATTACH '{full}' AS ful (READ_ONLY)")
        left, right = tables(con, "inc"), tables(con, "ful")
        problems = [f"{t}: only in the incremental warehouse" for t in sorted(left.keys() - right.keys())]
        problems += [f"{t}: only in the full rebuild" for t in sorted(right.keys() - left.keys())]
        for table in sorted(left.keys() & right.keys()):
            if left[table] != right[table]:
                problems.append(f"{table}: columns differ: {left[table]} vs {right[table]}")
                continue
            problems += _table_diff(con, table, left[table], limit)
    finally:
        con.close()
    return problems


def _table_diff(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], limit: int) -> list[str]:
    cols = ", ".join(f'"{c}"' for c in columns)
    extra = con.execute(f"SELECT {cols} FROM inc.{table} EXCEPT ALL SELECT {cols} FROM ful.{table}").fetchall()
    missing = con.execute(f"SELECT {cols} FROM ful.{table} EXCEPT ALL SELECT {cols} FROM inc.{table}").fetchall()
    if not extra and not missing:
        return []
    differing = [c for c in columns if con.execute(
        f'SELECT count(*) FROM (SELECT "{c}" FROM inc.{table} EXCEPT ALL SELECT "{c}" FROM ful.{table}'
        f' UNION ALL (SELECT "{c}" FROM ful.{table} EXCEPT ALL SELECT "{c}" FROM inc.{table}))').fetchall()[0][0]]
    lines = [f"{table}: {len(extra)} rows only incremental, {len(missing)} only full;"
             f" columns whose values differ: {differing or '(none alone: rows combine them differently)'}"]
    lines += [f"  + {dict(zip(columns, r))}" for r in extra[:limit]]
    lines += [f"  - {dict(zip(columns, r))}" for r in missing[:limit]]
    return ["\n".join(lines)]


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """The world loaded night by night, and a full rebuild of a copy."""
    from pipelines.generate import correct_delivery, generate

    root = tmp_path_factory.mktemp("incremental")
    landing, wh = root / "landing", root / "incremental.duckdb"
    generate(landing, root / "truth", **WORLD)
    late, held = landing / LATE[0] / LATE[1], root / "held"
    shutil.move(late, held)
    runs = {"first": _night(landing, wh, "2024-01-31"),
            "without rs": _night(landing, wh, "2024-02-29")}
    shutil.move(held, late)
    correct_delivery(landing, "mz", "2024-02-29", seed=3)
    runs["late rs, mz corrected"] = _night(landing, wh, "2024-02-29")
    runs["march"] = _night(landing, wh, "2024-03-31")
    correct_delivery(landing, "cl", "2024-03-31", seed=4)
    runs["cl corrected"] = _night(landing, wh, "2024-03-31")
    runs["nothing new"] = _night(landing, wh, "2024-03-31")
    runs["april"] = _night(landing, wh, "2024-04-30")
    before = root / "before-back.duckdb"
    shutil.copyfile(wh, before)
    person = _deliver_back_pay(landing, wh)
    runs["rs reaching back"] = _night(landing, wh, BACK[0])
    full = root / "full.duckdb"
    shutil.copyfile(wh, full)
    runs["rebuild"] = {"core": nightly.build_history(str(full), full=True),
                       "marts": nightly.publish_marts(str(full), full=True),
                       "score": nightly.score(str(full), full=True)}
    with duckdb.connect(str(wh), read_only=True) as con:
        builds = con.execute("SELECT scope, reason, months_from::VARCHAR FROM audit.layer_builds"
                             " WHERE layer = 'mart' ORDER BY built_at").fetchall()
        core = con.execute("SELECT scope, reason, months_from::VARCHAR FROM audit.layer_builds"
                           " WHERE layer = 'core' ORDER BY built_at").fetchall()
    return {"landing": landing, "incremental": wh, "full": full, "before_back": before,
            "runs": runs, "builds": builds, "core_builds": core, "person": person}


def _deliver_back_pay(landing: Path, wh: Path) -> str:
    """A 人社 delivery dated after April paying one February contribution late, for a member
    of a household listed in February who paid no 企业职工 contribution that month."""
    extract, month = BACK
    with duckdb.connect(str(wh), read_only=True) as con:
        person = con.execute("""
            SELECT min(m.person_id) FROM staging.mz_members m
            JOIN staging.mz_households h USING (extract_date, household_id)
            WHERE m.extract_date = DATE '2024-02-29' AND h.status = '在册'
              AND NOT EXISTS (SELECT 1 FROM staging.rs_contributions c WHERE c.person_id = m.person_id
                              AND c.contrib_month = ? AND c.insurance = '企业职工基本养老保险')""",
                             [month]).fetchall()[0][0]
    folder = landing / "rs" / extract
    folder.mkdir(parents=True)
    (folder / "registrations.csv").write_text("身份证号,姓名,登记类型,登记日期,单位名称,行政区划代码\n",
                                              encoding="utf-8")
    (folder / "contributions.csv").write_text(
        f"身份证号,缴费年月,险种,缴费基数,单位名称\n{person},{month},企业职工基本养老保险,4321.00,聊城某公司\n",
        encoding="utf-8")
    (folder / "_READY").write_text("")
    return person


def test_the_nights_take_the_scopes_the_plan_says(nights):
    runs, builds = nights["runs"], nights["builds"]
    assert runs["nothing new"]["loaded"] == []
    assert [(s, f) for s, _, f in builds] == [
        ("full", None),              # the first build
        ("months", "2024-02-01"),    # February's mz (its cl is rejected for its _READY count)
        ("full", None),              # the late rs and the mz correction of 2024-02-29: a correction re-dates
        ("months", "2024-01-01"),    # March's deliveries: its rs pays for January too
        ("months", "2024-03-01"),    # the cl correction
        ("unchanged", None),         # nothing new
        ("months", "2024-04-01"),
        ("months", "2024-02-01"),    # the back pay: a May delivery paying for February
    ]
    assert builds[0][1] == "no earlier build is recorded"
    assert nights["core_builds"] == builds  # core.contributions: the same deliveries, the same months
    assert runs["april"]["core"]["scoped"] == {"core.contributions": "months from 2024-04-01",
                                               "restricted.certificate_states": "months from 2024-04-01",
                                               "restricted.household_states": "months from 2024-04-01",
                                               "restricted.member_states": "months from 2024-04-01",
                                               "restricted.unread_rows": "months from 2024-04-01"}
    assert runs["cl corrected"]["core"]["scoped"]["restricted.certificate_states"] == "months from 2024-03-01"
    assert runs["rebuild"]["core"]["scoped"] == {}
    for layer in ("core", "marts"):  # a quiet night keeps every model of both layers
        kept = runs["nothing new"][layer]
        assert kept["scoped"] == dict.fromkeys(kept["scoped"], "unchanged")
        models = set(runs["march"][layer]["rows"]) - {"core.policy_parameters"}  # loaded, not a model
        assert models and set(kept["scoped"]) >= models, layer
    assert runs["april"]["marts"]["scoped"] == dict.fromkeys(MONTHLY, "months from 2024-04-01")
    assert runs["rebuild"]["marts"]["scoped"] == {}
    # The same date, other features, the same model: only the changed households go through
    # the model again; a new date, or a rebuild, scores every household.
    # The same date, other data, the same model: only the households whose features changed
    # go through the model again (here few: one after the late 人社 delivery and the 民政
    # correction, none after the 残联 correction or the back pay); a new date, or a rebuild,
    # scores every household.
    # With none rescored and every row as written, the list is kept as it is.
    updated = {night: runs[night]["score"] for night in ("late rs, mz corrected", "cl corrected", "rs reaching back")}
    assert {n: s["status"] for n, s in updated.items()} == {
        "late rs, mz corrected": "updated", "cl corrected": "unchanged", "rs reaching back": "unchanged"}
    assert all(0 <= s["rescored"] < s["households"] for s in updated.values())
    assert updated["late rs, mz corrected"]["rescored"] > 0
    for night in ("first", "march", "april", "rebuild"):
        score = runs[night]["score"]
        assert (score["status"], score["rescored"]) == ("scored", score["households"]), night
    quiet = runs["nothing new"]["score"]  # the same date, nothing changed: the list is kept
    assert (quiet["status"], quiet["households"]) == ("unchanged", runs["cl corrected"]["score"]["households"])
    assert quiet["levels"] == runs["cl corrected"]["score"]["levels"]


def test_a_kept_list_is_scored_again_when_its_settings_change(nights, tmp_path):
    """The quiet night's list stays only while what decides it stays: other visits per
    township rescore it, and the same visits again keep it."""
    from pipelines.score.risk_list import score_latest

    wh = tmp_path / "w.duckdb"
    shutil.copyfile(nights["before_back"], wh)
    again = score_latest(str(wh))
    other = score_latest(str(wh), visits=3)
    same = score_latest(str(wh), visits=3)
    assert [r["status"] for r in (again, other, same)] == ["unchanged", "scored", "unchanged"]
    with duckdb.connect(str(wh), read_only=True) as con:
        runs = con.execute("SELECT status, households FROM audit.score_runs ORDER BY run_at DESC LIMIT 3").fetchall()
    assert runs == [("unchanged", other["households"]), ("scored", other["households"]),
                    ("unchanged", again["households"])]


def test_month_scoped_nights_equal_a_full_rebuild(nights):
    with duckdb.connect(str(nights["incremental"]), read_only=True) as con:  # what the month scopes kept
        for table, month in (("restricted.unread_rows", "extract_date"), ("core.contributions", "month")):
            assert con.execute(f"SELECT count(DISTINCT {month}) FROM {table}").fetchall()[0][0] >= 3, table
        for table in ("restricted.household_states", "restricted.member_states"):  # a quarantined row
            # carried over a month a night took again (core.states_since's `before`)
            assert con.execute(f"SELECT count(*) FROM {table}, unnest(carried_dates) d(d)"
                               " WHERE d.d >= DATE '2024-04-01'").fetchall()[0][0] > 0, table
    problems = differences(nights["incremental"], nights["full"])
    assert not problems, "month-scoped and full builds differ:\n" + "\n".join(problems)


def test_the_comparison_sees_a_missing_month_row(nights, tmp_path):
    """The comparison can fail: one mart row dropped from a copy is reported, with its columns."""
    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(nights["incremental"], broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("DELETE FROM mart.household_month WHERE (month, household_id) ="
                    " (SELECT (min(month), min(household_id)) FROM mart.household_month"
                    "  WHERE month = (SELECT min(month) FROM mart.household_month))")
    problems = differences(broken, nights["full"])
    assert len(problems) == 1 and problems[0].startswith("mart.household_month: 0 rows only incremental"), problems


@pytest.mark.parametrize("layer, differing", [
    ("pipelines.core.marts", ["mart.household_month"]),
    ("pipelines.core.build", ["core.contributions", "core.persons", "mart.household_month"]),
])
def test_a_month_scope_that_starts_too_late_is_caught(nights, tmp_path, monkeypatch, layer, differing):
    """The back pay night can fail: with a layer rebuilt from May (the delivery's extract
    month) instead of February, the late contribution never reaches February's rows, and
    the comparison says so."""
    import importlib
    from dataclasses import replace
    from datetime import date

    module = importlib.import_module(layer)
    wh = tmp_path / "late.duckdb"
    shutil.copyfile(nights["before_back"], wh)
    planned = module.plan
    monkeypatch.setattr(module, "plan", lambda con, name, full=False: replace(
        planned(con, name, full=full), months_from=date(2024, 5, 1)))
    _night(nights["landing"], wh, BACK[0])
    problems = differences(wh, nights["full"])
    assert [p.split(":")[0] for p in problems] == differing, problems
    assert "columns whose values differ: ['contributing_members', 'contribution_base_total'" in problems[-1]


def test_dibao_rebuild_goes_full_and_the_next_night_is_unchanged(nights, tmp_path):
    """`dibao rebuild` rebuilds history, every mart month and the scores (recorded as asked
    for); the night after it, with nothing new, keeps the monthly marts' rows."""
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(nights["incremental"], wh)
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "rebuild", "--warehouse", str(wh)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "rebuilt" in done.stdout
    marts = nightly.publish_marts(str(wh))
    with duckdb.connect(str(wh), read_only=True) as con:
        builds = con.execute("SELECT scope, reason FROM audit.layer_builds WHERE layer = 'mart'"
                             " ORDER BY built_at DESC LIMIT 2").fetchall()
    assert builds == [("unchanged", "no delivery changed since the last build"),
                      ("full", "a full rebuild was asked for")]
    assert set(marts["scoped"].values()) == {"unchanged"}
    missing = subprocess.run([sys.executable, "-m", "pipelines.cli", "rebuild", "--warehouse",
                              str(tmp_path / "none.duckdb")], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"dibao rebuild: no warehouse at {tmp_path / 'none.duckdb'}: run `dibao run` first"]


def test_a_month_whose_mz_delivery_never_loaded_carries_the_month_before_in_the_monthly_marts(tmp_path):
    """The monthly marts had no row for a month whose 民政 delivery was rejected, so a year's
    funds summed from them were a month short (found by the officials' audit), while the report
    said the month carried the month before. The month now carries the snapshot before it,
    flagged, built the same night by night as in a full rebuild."""
    import json

    from pipelines.generate import generate

    landing, wh = tmp_path / "landing", tmp_path / "w.duckdb"
    generate(landing, tmp_path / "truth", scale="town", months=3, seed=7)
    ready = landing / "mz" / "2024-02-29" / "_READY"
    ready.write_text(json.dumps({"files": {"households.csv": 1}}), encoding="utf-8")  # rejected for its count
    for until in ("2024-01-31", "2024-02-29", "2024-03-31"):
        loaded = _load(landing, wh, until)
        nightly.build_history(str(wh))
        nightly.publish_marts(str(wh))
        if until == "2024-02-29":
            assert ("mz", "rejected") in {(d["source"], d["status"]) for d in loaded}
    full = tmp_path / "full.duckdb"
    shutil.copyfile(wh, full)
    nightly.build_history(str(full), full=True)
    nightly.publish_marts(str(full), full=True)
    assert [p for p in differences(wh, full) if p.split(":")[0] in MONTHLY | {"core.mz_months"}] == []
    with duckdb.connect(str(wh), read_only=True) as con:
        months = con.execute("SELECT month::VARCHAR, mz_snapshot_date::VARCHAR, mz_snapshot_carried,"
                             " sum(households) > 0, sum(benefit_paid) FROM mart.county_month"
                             " GROUP BY ALL ORDER BY 1").fetchall()
        carried = con.execute("SELECT DISTINCT snapshot_date::VARCHAR, snapshot_carried FROM mart.household_month"
                              " WHERE month = '2024-02-01'").fetchall()
    assert [m[:4] for m in months] == [("2024-01-01", "2024-01-31", False, True),
                                       ("2024-02-01", "2024-01-31", True, True),
                                       ("2024-03-01", "2024-03-31", False, True)]
    assert months[1][4] == months[0][4]  # January's benefits, carried
    assert carried == [("2024-01-31", True)]
    from pipelines.publish.report_summary import _months_missing
    from pipelines.sql import query

    with duckdb.connect(str(wh), read_only=True) as con:  # the report's monthly table and its note
        trend = con.execute(query("publish/report_population_trend")).fetchall()
        assert [r[0] for r in trend] == ["2024-01", "2024-02 ※", "2024-03"]
        assert trend[1][6] == trend[1][1]  # every household of the carried month: not read that month
        assert "民政数据未入库：2024-02-29（" in _months_missing(con)
