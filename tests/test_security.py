"""Roles and their boundaries, tried from the outside (docs/security.md).

The warehouse is tests/outputs_builder.py's (two townships, names that look
like formulas, hand-made scores), with lists written and the role copies
published as the nightly run's last step does. Each test tries to cross one
boundary: the analyst file must hold no restricted schema, no 身份证号 and no
name; a township's file no row of another township; the query connection no
way out to other files; the files the modes the docs give; another OS user no
way into the administrator's copy; and every query must land in
audit.query_log exactly once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.publish.access_log import import_query_log, log_path, read_entries
from pipelines.cli import main
from pipelines.publish.lists import write_lists
from pipelines.publish.query import QueryError, run_query
from pipelines.publish.identity_scan import id_hit, identity_leaks
from pipelines.publish.role_paths import RoleError, analyst_copy_path, township_copy_path, township_dir
from pipelines.publish.roles import publish_role_copies, role_workers, source
from pipelines.publish.township_copies import build_township_copy, list_townships
from pipelines.warehouse import publish_query_copy, query_copy_path, warehouse
from tests.ci import skip_outside_ci
from tests.outputs_builder import ALL_IDS, JUNE, MAY, T1, T2, build_warehouse
from tests.worlds import copy_file

ROLE_SCHEMAS = {"core", "mart", "audit", "main"}


def publish(wh: Path) -> dict:
    """The nightly run's publish step after lists and report (pipelines.runtime.nightly.publish_outputs)."""
    log = import_query_log(wh)
    publish_query_copy(wh)
    return {"roles": publish_role_copies(wh), "query_log": log}


@pytest.fixture(scope="module")
def world(outputs_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    wh = copy_file(outputs_warehouse, root)  # the shared outputs world, copied: lists are written into it
    write_lists(wh, root / "out", MAY, actor="tester")
    write_lists(wh, root / "out", JUNE, actor="tester")
    summary = publish(wh)
    admin = duckdb.connect(str(query_copy_path(wh)), read_only=True)
    ids = {i for (i,) in admin.execute("SELECT id_number FROM restricted.person_identity").fetchall()}
    names = {n for (n,) in admin.execute(
        "SELECT name FROM restricted.person_identity WHERE length(name) >= 2"
        " UNION SELECT name FROM staging.mz_members WHERE length(name) >= 2"
        " UNION SELECT head_name FROM staging.mz_households WHERE length(head_name) >= 2"
        " UNION SELECT name FROM staging.cl_disability WHERE length(name) >= 2").fetchall()}
    admin.close()
    assert len(ids & set(ALL_IDS)) > 20 and names
    ids |= set(ALL_IDS)
    return SimpleNamespace(root=root, wh=wh, out=root / "out", summary=summary, ids=ids, names=names)


def text_cells(path: Path) -> dict[str, list[str]]:
    """Every value of every text-like column of every table of a DuckDB file, as text."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cells: dict[str, list[str]] = {}
        for schema, table, column, dtype in con.execute(
                "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()"
                " WHERE NOT internal").fetchall():
            if "VARCHAR" in dtype or "JSON" in dtype or "STRUCT" in dtype:
                values = con.execute(f'SELECT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}"'
                                     f' WHERE "{column}" IS NOT NULL').fetchall()
                cells[f"{schema}.{table}.{column}"] = [v for (v,) in values]
        return cells
    finally:
        con.close()


def schemas(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {s for (s,) in con.execute(
            "SELECT DISTINCT schema_name FROM duckdb_tables() UNION SELECT DISTINCT schema_name FROM duckdb_views()"
            " WHERE NOT internal").fetchall()}
    finally:
        con.close()


# ------------------------------------------------------------------ the analyst file


def test_analyst_file_has_no_restricted_schema(world):
    path = analyst_copy_path(world.wh)
    assert path.is_file()
    assert schemas(path) <= ROLE_SCHEMAS
    with pytest.raises(QueryError):
        run_query(world.wh, "SELECT * FROM restricted.person_identity", role="analyst")
    with pytest.raises(QueryError):
        run_query(world.wh, "SELECT * FROM staging.mz_members", role="analyst")
    with pytest.raises(QueryError):
        run_query(world.wh, "SELECT * FROM audit.query_log", role="analyst")  # who asked what: admins only


def test_analyst_file_holds_no_raw_id_and_no_name_in_any_column(world):
    cells = text_cells(analyst_copy_path(world.wh))
    id_shaped = re.compile(r"[0-9]{17}[0-9Xx]")
    for column, values in cells.items():
        for value in values:
            without_keys = re.sub(r"[0-9a-fA-F]{64}", "", value)
            assert not id_shaped.search(without_keys), (column, value)
            assert not [i for i in world.ids if i in value], column  # not even inside longer text
            assert not [n for n in world.names if n in value and len(n) >= 2], (column, value)
    # and the checker the publish step runs agrees
    con = duckdb.connect()
    con.execute(f"ATTACH '{analyst_copy_path(world.wh)}' AS a (READ_ONLY)")
    con.execute("CREATE TEMP TABLE names AS SELECT unnest(?) AS name", [sorted(world.names)])
    assert identity_leaks(con, names="temp.names", catalog="a") == {}
    con.close()


def test_analyst_file_keeps_what_analysts_query(world):
    admin = duckdb.connect(str(query_copy_path(world.wh)), read_only=True)
    analyst = duckdb.connect(str(analyst_copy_path(world.wh)), read_only=True)
    try:
        for schema, table in admin.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('core', 'mart', 'audit')"
                " AND NOT (schema_name = 'audit' AND table_name IN ('query_log', 'published_files'))").fetchall():
            n = admin.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall()
            assert analyst.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall() == n, (schema, table)
        # names blanked, masked ids kept, the as-of helpers work
        assert analyst.execute("SELECT count(*), count(name), count(masked_id) FROM mart.discovery_candidates"
                               ).fetchall()[0][1] == 0
        assert analyst.execute("SELECT count(*) FROM core.households_asof(DATE '2024-06-30')").fetchall()[0][0] > 0
        # quarantined and repaired identity cells are masked, never raw
        for (value,) in analyst.execute("SELECT raw_value FROM audit.quarantine WHERE column_name LIKE '%身份证号'"
                                        " AND raw_value IS NOT NULL").fetchall():
            assert "*" in value
    finally:
        admin.close()
        analyst.close()


def test_readme_questions_run_on_the_analyst_file(world):
    from pipelines.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Questions officials ask.*?```sql\n(.*?)```", readme, re.S).group(1)
    for statement in [s.strip() for s in block.split(";") if s.strip()]:
        columns, _ = run_query(world.wh, statement, role="analyst")
        assert columns, statement


# ------------------------------------------------------------------ the caseworkers' files


def test_each_township_gets_a_file_and_only_its_own_rows(world):
    admin = duckdb.connect(str(query_copy_path(world.wh)), read_only=True)
    townships = sorted({t for (t,) in admin.execute(
        "SELECT township_code FROM core.household_history UNION SELECT township_code FROM mart.risk_list"
        " UNION SELECT township_code FROM mart.discovery_candidates").fetchall() if t})
    assert {T1, T2} <= set(townships)
    assert sorted(p.stem for p in township_dir(world.wh).glob("*.duckdb")) == townships
    checked = 0
    for township in townships:
        ever = {h for (h,) in admin.execute(
            "SELECT household_id FROM core.household_history WHERE township_code = ?"
            " UNION SELECT household_id FROM mart.risk_list WHERE township_code = ?"
            " UNION SELECT household_id FROM mart.listed_households WHERE township_code = ?",
            [township] * 3).fetchall()}
        elsewhere = {h for (h,) in admin.execute(
            "SELECT household_id FROM core.household_history WHERE township_code <> ?", [township]).fetchall()}
        people = {p for (p,) in admin.execute(
            "SELECT m.person_key FROM core.member_history m JOIN core.household_history h"
            " ON h.household_id = m.household_id AND h.township_code = ?"
            " UNION SELECT head_key FROM core.household_history WHERE township_code = ?"
            " UNION SELECT person_key FROM core.persons WHERE township_code = ?"
            " UNION SELECT person_key FROM mart.discovery_candidates WHERE township_code = ?",
            [township] * 4).fetchall()}
        con = duckdb.connect(str(township_copy_path(world.wh, township)), read_only=True)
        try:
            assert {s for (s,) in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()
                    } <= ROLE_SCHEMAS
            for schema, table, column in con.execute(
                    "SELECT schema_name, table_name, column_name FROM duckdb_columns()"
                    " WHERE column_name IN ('township_code', 'household_id', 'person_key', 'head_key')"
                    " AND NOT internal").fetchall():
                values = {v for (v,) in con.execute(
                    f"SELECT DISTINCT {column} FROM {schema}.{table} WHERE {column} IS NOT NULL").fetchall()}
                if column == "township_code":
                    assert values <= {township}, (township, schema, table)
                elif column == "household_id":
                    assert values <= ever, (township, schema, table, values - ever)
                else:
                    assert values <= people, (township, schema, table)
                checked += 1
            # nothing of a household that never lived here; names are there, raw ids nowhere
            mine = {h for (h,) in con.execute("SELECT household_id FROM core.household_history").fetchall()}
            assert not mine & (elsewhere - ever)
        finally:
            con.close()
        for column, values in text_cells(township_copy_path(world.wh, township)).items():
            assert not [v for v in values if any(i in v for i in world.ids)], column
    admin.close()
    assert checked > 20


def test_a_caseworker_sees_names_and_masked_ids_of_their_own_list(world):
    cols, rows = run_query(world.wh, "SELECT household_id FROM mart.listed_households WHERE as_of_date = DATE"
                                     " '2024-06-30' ORDER BY list_rank", role="caseworker", township=T2)
    assert {r[0] for r in rows} == {"H4", "H7", "H9"}
    cols, rows = run_query(world.wh, "SELECT name, masked_id FROM core.people ORDER BY masked_id",
                           role="caseworker", township=T2)
    assert rows and all(re.fullmatch(r"[0-9]{6}\*{8}[0-9X]{4}", m) for _, m in rows)
    assert "户主九" in {n for n, _ in rows} and "户主一" not in {n for n, _ in rows}  # 户主一 lives in T1
    with pytest.raises(QueryError, match="9 digits"):
        run_query(world.wh, "SELECT 1", role="caseworker", township="../w.duckdb")
    with pytest.raises(QueryError, match="needs --township"):
        run_query(world.wh, "SELECT 1", role="caseworker")


# ------------------------------------------------------------------ the query connection


ESCAPES = [
    "ATTACH '{admin}' AS a",
    "ATTACH '{admin}' AS a (READ_ONLY)",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM read_csv_auto('{secret}')",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM read_parquet('{parquet}')",
    "SELECT * FROM read_text('{admin}')",
    "SELECT * FROM read_blob('{admin}')",
    "SELECT * FROM glob('{root}/*')",
    "SELECT * FROM sniff_csv('{secret}')",
    "COPY (SELECT 1) TO '{root}/leak.csv'",
    "COPY mart.risk_list TO '{root}/leak.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '{root}/leak'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "LOAD '{root}/evil.duckdb_extension'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET allowed_directories = ['/']",
    "PRAGMA enable_profiling",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{root}/leak2.csv'",
    "EXPLAIN ANALYZE CREATE TEMP TABLE x AS SELECT 1",
    "CREATE TEMP TABLE x AS SELECT 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "DETACH memory",
    "USE system",
    "SELECT 1; ATTACH '{admin}' AS a",
    "CALL checkpoint()",
]


@pytest.mark.parametrize("role,township", [("analyst", None), ("caseworker", T1), ("admin", None)])
def test_the_query_connection_cannot_reach_other_files(world, role, township):
    secret = world.root / "secret.csv"
    secret.write_text("id\n371502199001011234\n")
    parquet = world.root / "secret.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{parquet}' (FORMAT parquet)")
    # another role's file (DuckDB lets a connection read the bytes of the file it opened, nothing else)
    other = analyst_copy_path(world.wh) if role == "admin" else query_copy_path(world.wh)
    values = {"admin": other, "secret": secret, "parquet": parquet, "root": world.root}
    log = log_path(world.wh).name
    before = sorted(p.name for p in world.root.iterdir() if p.name != log)
    for template in ESCAPES:
        sql = template.format(**values)
        with pytest.raises(QueryError) as err:
            run_query(world.wh, sql, role=role, township=township)
        assert "\n" not in str(err.value), sql
    after = sorted(p.name for p in world.root.iterdir() if p.name != log)
    assert after == before  # nothing written: no leak file, no export folder


def test_refused_and_failed_queries_fail_with_one_line_on_the_command_line(world, capsys):
    assert main(["query", "--warehouse", str(world.wh), "--role", "analyst",
                 f"ATTACH '{query_copy_path(world.wh)}' AS a"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert main(["query", "--warehouse", str(world.wh), "--role", "caseworker", "--township", "999999999",
                 "SELECT 1"]) == 2
    assert "no caseworker copy" in capsys.readouterr().err


# ------------------------------------------------------------------ modes and groups


def test_files_have_the_documented_modes(world):
    def mode(p: Path) -> int:
        return stat.S_IMODE(os.stat(p).st_mode)

    assert mode(world.wh) == 0o600
    assert mode(query_copy_path(world.wh)) == 0o600
    assert mode(analyst_copy_path(world.wh)) == 0o640
    assert mode(township_dir(world.wh)) == 0o711
    for path in township_dir(world.wh).glob("*.duckdb"):
        assert mode(path) == 0o640
    from pipelines.publish.access_log import ensure_log

    assert mode(ensure_log(world.wh)) == 0o620
    leftovers = [p.name for p in world.wh.parent.rglob(".*tmp*")]
    assert not leftovers


def test_groups_come_from_the_environment_and_a_missing_group_closes_the_file(world, monkeypatch, tmp_path):
    import grp

    gids = {"dibao-analysts": 61003, f"dibao-cw-{T1}": 61001}

    class Group:
        def __init__(self, gid):
            self.gr_gid = gid

    def getgrnam(name):
        if name not in gids:
            raise KeyError(name)
        return Group(gids[name])

    if os.geteuid() != 0:
        skip_outside_ci("chown to another group needs root")
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(world.wh, wh)
    monkeypatch.setattr(grp, "getgrnam", getgrnam)
    monkeypatch.setenv("DIBAO_ANALYST_GROUP", "dibao-analysts")
    monkeypatch.setenv("DIBAO_CASEWORKER_GROUP", "dibao-cw-{township}")
    publish(wh)
    assert os.stat(analyst_copy_path(wh)).st_gid == 61003
    assert os.stat(township_copy_path(wh, T1)).st_gid == 61001
    assert stat.S_IMODE(os.stat(township_copy_path(wh, T1)).st_mode) == 0o640
    # T2's group does not exist: its file stays readable by the owner only
    assert stat.S_IMODE(os.stat(township_copy_path(wh, T2)).st_mode) == 0o600


# ------------------------------------------------------------------ another OS user


def _as_user_available() -> str | None:
    if os.geteuid() != 0:
        return "tests run as a normal user: another user cannot be tried (run them as root to try it)"
    if not shutil.which("setpriv"):
        return "setpriv is not installed"
    return None


def test_another_os_user_can_open_only_the_files_of_their_groups(world, monkeypatch):
    """As `nobody` in the analyst group: the analyst file opens, the admin copy and the
    other townships' files do not; in T1's caseworker group: T1 opens, T2 does not."""
    unavailable = _as_user_available()
    if unavailable:
        skip_outside_ci(unavailable)  # under CI a missing root or setpriv fails, never skips
    import grp

    groups = {"dibao-query": 61000, "dibao-analysts": 61003, f"dibao-cw-{T1}": 61001, f"dibao-cw-{T2}": 61002}

    class Group:
        def __init__(self, gid):
            self.gr_gid = gid

    def getgrnam(name):
        if name not in groups:
            raise KeyError(name)
        return Group(groups[name])

    # a folder every user can traverse (pytest's own tmp folders are 0700)
    root = Path(tempfile.mkdtemp(prefix="dibao-roles-", dir="/tmp"))
    os.chmod(root, 0o711)
    try:
        wh = root / "w.duckdb"
        shutil.copyfile(world.wh, wh)
        monkeypatch.setattr(grp, "getgrnam", getgrnam)
        monkeypatch.setenv("DIBAO_ANALYST_GROUP", "dibao-analysts")
        monkeypatch.setenv("DIBAO_CASEWORKER_GROUP", "dibao-cw-{township}")
        monkeypatch.setenv("DIBAO_QUERY_GROUP", "dibao-query")
        publish(wh)
        from pipelines.publish.access_log import ensure_log

        ensure_log(wh)

        def as_nobody(extra_groups: str, *args: str) -> subprocess.CompletedProcess:
            site = next(Path(sys.prefix).glob("lib/python*/site-packages"))
            # the project's interpreter may live under /root (0700): use the system one with the venv's packages
            python = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}",
                                  path="/usr/bin:/usr/local/bin") or sys.executable
            from pipelines.config import PROJECT_ROOT

            env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "PYTHONPATH": f"{site}:{PROJECT_ROOT}",
                   "LANG": "C.UTF-8"}
            return subprocess.run(
                ["setpriv", "--reuid=nobody", "--regid=nogroup", f"--groups={extra_groups}", python, "-m",
                 "pipelines.cli", "query", "--warehouse", str(wh), "--format", "json", *args],
                capture_output=True, text=True, env=env, timeout=120, cwd=str(root))

        analyst = as_nobody("61000,61003", "--role", "analyst", "SELECT count(*) AS n FROM mart.risk_list")
        if analyst.returncode != 0 and "No module named" in analyst.stderr:
            skip_outside_ci(f"no interpreter usable by nobody: {analyst.stderr.strip()[-200:]}")
        assert analyst.returncode == 0, analyst.stderr
        assert json.loads(analyst.stdout)[0]["n"] > 0
        admin = as_nobody("61000,61003", "SELECT count(*) FROM restricted.person_identity")
        assert admin.returncode == 2 and "Permission denied" in admin.stderr, admin.stderr
        explicit = as_nobody("61000,61003", "--role", "admin", "SELECT 1")
        assert explicit.returncode == 2 and "Permission denied" in explicit.stderr
        for township in (T1, T2):
            denied = as_nobody("61000,61003", "--role", "caseworker", "--township", township, "SELECT 1")
            assert denied.returncode == 2 and "Permission denied" in denied.stderr
        own = as_nobody("61000,61001", "--role", "caseworker", "--township", T1,
                        "SELECT count(*) AS n FROM mart.risk_list")
        assert own.returncode == 0, own.stderr
        other = as_nobody("61000,61001", "--role", "caseworker", "--township", T2, "SELECT 1")
        assert other.returncode == 2 and "Permission denied" in other.stderr
        analyst_as_caseworker = as_nobody("61000,61001", "--role", "analyst", "SELECT 1")
        assert analyst_as_caseworker.returncode == 2
        # the live warehouse and the raw access log are closed to them too
        direct = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=61000,61003",
                                 "head", "-c", "1", str(wh)], capture_output=True)
        assert direct.returncode != 0
        read_log = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=61000,61003",
                                   "head", "-c", "1", str(log_path(wh))], capture_output=True)
        assert read_log.returncode != 0  # 0620: query users append, they do not read others' SQL
        # every attempt, allowed or denied, is in the log under nobody's name
        entries, bad = read_entries(log_path(wh))
        assert bad == 0
        mine = [e for e in entries if e["os_user"] == "nobody"]
        assert [e["status"] for e in mine] == ["ok", "refused", "refused", "refused", "refused", "ok", "refused",
                                               "refused"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------ the audit of queries and exports


def test_every_query_is_in_the_query_log_exactly_once_after_a_run(world, tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(world.wh, wh)
    publish(wh)
    asked = [
        ("admin", None, "SELECT count(*) FROM mart.risk_list", "ok"),
        ("analyst", None, "SELECT county_code, count(*) FROM mart.risk_list GROUP BY ALL", "ok"),
        ("caseworker", T1, "SELECT household_id FROM mart.risk_list", "ok"),
        ("analyst", None, "DELETE FROM mart.risk_list", "refused"),
        ("analyst", None, "SELECT * FROM restricted.person_identity", "error"),
        ("admin", None, "SELEC nonsense", "error"),
    ]
    for role, township, sql, _ in asked:
        try:
            run_query(wh, sql, role=role, township=township)
        except QueryError:
            pass
    assert main(["query", "--warehouse", str(wh), "--format", "csv", "SELECT 42 AS answer"]) == 0
    assert capsys.readouterr().out.splitlines() == ["answer", "42"]
    entries, _ = read_entries(log_path(wh))
    assert [(e["role"], e["sql_text"], e["status"]) for e in entries] == \
        [(r, s, st) for r, _, s, st in asked] + [("admin", "SELECT 42 AS answer", "ok")]
    assert all(e["rows"] is None for e in entries if e["status"] != "ok")
    assert [e["rows"] for e in entries if e["status"] == "ok"][-1] == 1
    # the answer (42) is never logged; the file read is named relative to the test's folder, whose
    # pytest-<n> path may hold a 42 of its own (it did in session 142)
    assert not any("42" in json.dumps({k: (v.replace(str(tmp_path), "<tmp>") if k == "file_read" and v else v)
                                       for k, v in e.items() if k not in ("sql_text", "query_id", "sql_sha256",
                                                                          "queried_at", "pid", "uid")})
                   for e in entries)

    # before the next run, administrators see them as pending
    _, pending = run_query(wh, "SELECT query_id, status FROM pending_query_log ORDER BY queried_at")
    assert [q for q, _ in pending] == [e["query_id"] for e in entries]

    # the run imports them; a second run (or a retry) imports nothing twice
    assert publish(wh)["query_log"]["imported"] == len(entries) + 1  # + the pending query itself
    assert publish(wh)["query_log"]["imported"] == 0
    with warehouse(wh, read_only=True) as con:
        logged = con.execute("SELECT query_id, os_user, role, township_code, sql_text, status, rows, file_read"
                             " FROM audit.query_log").fetchall()
    ids = [row[0] for row in logged]
    assert len(ids) == len(set(ids))
    by_id = {row[0]: row for row in logged}
    for e in entries:
        row = by_id[e["query_id"]]
        assert row[1] and row[2:7] == (e["role"], e["township_code"], e["sql_text"], e["status"], e["rows"])
    assert by_id[entries[2]["query_id"]][7] == str(township_copy_path(wh, T1))
    _, pending = run_query(wh, "SELECT count(*) FROM pending_query_log")
    assert pending == [(0,)]  # all imported and published: nothing pending


def test_a_query_that_cannot_be_logged_is_not_answered(world, tmp_path, monkeypatch):
    monkeypatch.setenv("DIBAO_ACCESS_LOG", str(tmp_path / "no-such-folder" / "access.log"))
    with pytest.raises(QueryError, match="access log"):
        run_query(world.wh, "SELECT count(*) FROM mart.risk_list")


def test_list_exports_are_audited_with_who_when_and_the_file_hash(world):
    import hashlib

    with warehouse(world.wh, read_only=True) as con:
        exports = con.execute("SELECT xlsx_path, xlsx_sha256, actor, exported_at FROM audit.list_exports"
                              " WHERE as_of_date = DATE '2024-06-30'").fetchall()
    files = sorted((world.out / "2024-06-30").rglob("*.xlsx"))
    assert sorted(Path(p) for p, _, _, _ in exports) == [f.resolve() for f in files]
    for path, sha, actor, when in exports:
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha and actor == "tester" and when


def test_the_published_role_copies_are_swapped_in_whole(world, tmp_path):
    """A reader holding yesterday's analyst file keeps reading it while tonight's replaces it."""
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(world.wh, wh)
    publish(wh)
    reader = duckdb.connect(str(analyst_copy_path(wh)), read_only=True)
    try:
        before = reader.execute("SELECT count(*) FROM mart.risk_list").fetchall()
        with warehouse(wh) as con:
            con.execute("DELETE FROM mart.risk_list WHERE as_of_date = DATE '2024-05-31'")
        publish(wh)
        assert reader.execute("SELECT count(*) FROM mart.risk_list").fetchall() == before
    finally:
        reader.close()
    assert run_query(wh, "SELECT count(*) FROM mart.risk_list", role="analyst")[1] < before


def test_a_new_column_leaking_identities_is_caught_by_the_safety_net(world, tmp_path, caplog):
    """A model added later that copies a 身份证号 or a name into core or mart (the column
    rules do not know it) still reaches neither the analyst file nor a township's file raw."""
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(world.wh, wh)
    with warehouse(wh) as con:
        con.execute("CREATE TABLE mart.leaky AS SELECT i.id_number AS raw_id, 'id ' || i.id_number || ' here' AS note,"
                    " i.name AS who, m.township_code FROM restricted.person_identity i"
                    " JOIN core.persons m USING (person_key) WHERE i.name IS NOT NULL AND length(i.name) >= 2")
        leaked = con.execute("SELECT count(*) FROM mart.leaky").fetchall()[0][0]
    assert leaked > 5
    with caplog.at_level("WARNING", logger="pipelines.publish.analyst_copy"):
        publish(wh)
    assert "identity-looking values removed" in caplog.text
    analyst = duckdb.connect(str(analyst_copy_path(wh)), read_only=True)
    try:
        rows = analyst.execute("SELECT raw_id, note, who FROM mart.leaky").fetchall()
    finally:
        analyst.close()
    assert len(rows) == leaked
    for raw_id, note, who in rows:
        assert re.fullmatch(r"[0-9]{6}\*{8}[0-9X]{4}", raw_id) and "********" in note and who is None
    township = duckdb.connect(str(township_copy_path(wh, T1)), read_only=True)
    try:  # a township's file is built from a list of objects: an unknown table never reaches it
        assert township.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'leaky'").fetchall() == [(0,)]
    finally:
        township.close()


def test_staged_township_files_equal_the_direct_selection(world, tmp_path):
    """publish_role_copies selects every township's rows once (township_copies.stage_townships); each
    file must hold exactly what the same named queries give for that township alone, read from
    `src` and the file's own tables (build_township_copy without a stage)."""
    with source(query_copy_path(world.wh)) as con:
        townships = list_townships(con)
        for township in townships:
            build_township_copy(con, tmp_path / f"{township}.duckdb", township)  # not staged
    assert sorted(p.stem for p in township_dir(world.wh).glob("*.duckdb")) == townships
    con = duckdb.connect()
    for township in townships:
        con.execute(f"ATTACH '{tmp_path / f'{township}.duckdb'}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{township_copy_path(world.wh, township)}' AS b (READ_ONLY)")
        q = ("SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()"
             " WHERE database_name = ? ORDER BY schema_name, table_name, column_index")
        columns = con.execute(q, ["a"]).fetchall()
        assert columns and columns == con.execute(q, ["b"]).fetchall(), township
        for schema, table in sorted({(s, t) for s, t, _, _ in columns}):
            a, b = f'a."{schema}"."{table}"', f'b."{schema}"."{table}"'
            assert con.execute(f"SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b}),"
                               f" (SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})),"
                               f" (SELECT count(*) FROM (FROM {b} EXCEPT ALL FROM {a}))").fetchone()[2:] == (0, 0), \
                (township, schema, table)
        con.execute("DETACH a")
        con.execute("DETACH b")
    con.close()
    assert not list(world.wh.parent.glob(".*role-stage*"))  # the scratch file is gone


@pytest.mark.parametrize("text, hit", [
    ('{"check_trend_ratio":-0.033619763694951614}', False),  # a scored feature, not a person
    ("1.0390225563909774 and 2.5", False),
    ("371502199001011234.0", True),  # an ID read as a number still counts
    ("note: 37150219900101123X", True),
    ("a.371502199001011234", True),
    ("1.5 then 371502199001011234", True),
    # the shapes passed over before any pattern runs (id_hit), and their near misses
    ("37150219900101123", False),  # shorter than an ID
    ("0123456789abcdef" * 4, False),  # a whole person_key
    ("0123456789ABCDEF" * 4, False),
    ("371502********1234", False),  # a masked ID
    ("371502199001011234" + "x" * 46, True),  # 64 characters, not a key
    ("371502199001011234" + "0" * 46, False),  # 64 digits read as a key, as the full pattern reads them
])
def test_decimal_fractions_are_not_identities_but_ids_are(text, hit):
    con = duckdb.connect()
    assert con.execute(f"SELECT {id_hit('v')} FROM (SELECT ? AS v)", [text]).fetchone() == (hit,)


def test_township_files_are_built_side_by_side_with_the_same_result(world, tmp_path, monkeypatch):
    """DIBAO_ROLE_WORKERS builds township files on several cursors at once; one worker or
    three give the same files, and a bad value is refused with one line."""
    monkeypatch.setenv("DIBAO_ROLE_WORKERS", "x")
    with pytest.raises(RoleError, match="DIBAO_ROLE_WORKERS must be a whole number"):
        role_workers()
    contents = {}
    for workers in ("1", "3"):
        monkeypatch.setenv("DIBAO_ROLE_WORKERS", workers)
        for path in township_dir(world.wh).glob("*.duckdb"):
            path.unlink()  # else the unchanged files are left as they are: built by nobody
        assert publish_role_copies(world.wh)["files"]["township"]["rewritten"] == 2
        con = duckdb.connect()
        got = {}
        for path in sorted(township_dir(world.wh).glob("*.duckdb")):
            con.execute(f"ATTACH '{path}' AS t (READ_ONLY)")
            tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 't'"
                                 " ORDER BY 1, 2").fetchall()
            got[path.stem] = {f"{s}.{t}": sorted(map(repr, con.execute(f'FROM t."{s}"."{t}"').fetchall()))
                              for s, t in tables}
            con.execute("DETACH t")
        con.close()
        contents[workers] = got
    assert contents["1"] and contents["1"] == contents["3"]


def test_the_query_copy_is_0600_whoever_republishes_it(tmp_path):
    """`dibao feedback` republishes the administrator's query copy between nights: made with the
    umask's 0644 it was world-readable, 身份证号 and hash key included, until the next night's
    role copies set its mode (the third hostile audit)."""
    import duckdb

    from pipelines.warehouse import publish_query_copy

    live = tmp_path / "w.duckdb"
    duckdb.connect(str(live)).close()
    old = os.umask(0o022)
    try:
        copy = publish_query_copy(live)
    finally:
        os.umask(old)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
