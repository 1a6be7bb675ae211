"""Who may read what: one published DuckDB file per role, guarded by OS file permissions.

Three roles (docs/security.md):

| role | reads | file |
|---|---|---|
| administrator (数据组) | everything, raw identities included | `<warehouse>.query` (mode 0600) |
| analyst (科室, 局领导) | core, mart and audit without raw 身份证号 or names | `<warehouse>.analyst.duckdb` (0640) |
| caseworker (乡镇/街道) | their own township's households, people (names, masked ids) and lists | `<warehouse>.township/<township_code>.duckdb` (0640) |

The boundary is *what each role can open*, not what the caller claims: a
role's file simply does not contain what the role may not see, and the file
modes (plus the groups named by `DIBAO_ANALYST_GROUP` and
`DIBAO_CASEWORKER_GROUP`) decide who can open which file. `dibao query --role`
only picks the file; asking for a file one cannot read fails at `open()`.

`publish_role_copies` runs after the nightly run has published the
administrator's copy (`pipelines.warehouse.publish_query_copy`) and builds the
other files from it: each into a temporary file beside its target, checked
(`identity_leaks`: no 18-character 身份证号 anywhere, and for the analyst file
no name that any source gave a person), given its mode and group, then swapped
in with `os.replace`, so a reader sees the previous night's file or the new
one, never half of one.
"""

from __future__ import annotations

import functools
import glob
import grp
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.config import WAREHOUSE_SQL, duckdb_memory_limit
from pipelines.warehouse import query_copy_path, rollback

log = logging.getLogger(__name__)

ADMIN, ANALYST, CASEWORKER = "admin", "analyst", "caseworker"
ROLES = (ADMIN, ANALYST, CASEWORKER)

ADMIN_MODE, ROLE_MODE, TOWNSHIP_DIR_MODE = 0o600, 0o640, 0o711
TOWNSHIP_BLOCK_SIZE = 16_384  # DuckDB's smallest: township files are small
ANALYST_GROUP_ENV, CASEWORKER_GROUP_ENV = "DIBAO_ANALYST_GROUP", "DIBAO_CASEWORKER_GROUP"
ROLE_WORKERS_ENV = "DIBAO_ROLE_WORKERS"

# Schemas holding raw 身份证号 and names (warehouse/schemas/schemas.sql): no role copy has them.
RESTRICTED_SCHEMAS = ("raw", "staging", "restricted")
WAREHOUSE_SCHEMAS = ("raw", "staging", "restricted", "core", "mart", "audit")
# Who asked what is for administrators: the SQL text may name a person.
ANALYST_EXCLUDED_TABLES = {"audit.query_log"}
# Columns outside the restricted schemas that hold a person's name (mart.discovery_candidates.name).
PERSON_NAME_COLUMNS = {"name", "head_name"}

TOWNSHIP = re.compile(r"[0-9]{9}")
# An 18-character 身份证号 inside any text: 17 digits and a digit or X. 64-hex
# keys (person_key, SHA-256) are removed before looking, since 18 digits in a
# row occur by chance inside them.
ID_PATTERN = "[0-9]{17}[0-9Xx]"
HEX_KEY_PATTERN = "[0-9a-fA-F]{64}"
# A decimal fraction is not an identity: the scored features' JSON holds floats
# like 0.033619763694951614. The digits after a point that follows a digit are
# dropped before looking; 371502199001011234.0 (an ID read as a number) still hits.
FRACTION_PATTERN, FRACTION_REPLACE = "([0-9])[.][0-9]+", "\\1"
MASK_FIND, MASK_REPLACE = "([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])", "\\1********\\2"


class RoleError(Exception):
    """A role file cannot be named, built or published; the message is one line."""


# ------------------------------------------------------------------ where each role reads


def analyst_copy_path(warehouse: Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".analyst.duckdb")


def township_dir(warehouse: Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".township")


def township_copy_path(warehouse: Path, township: str) -> Path:
    if not isinstance(township, str) or not TOWNSHIP.fullmatch(township):
        raise RoleError(f"township code must be 9 digits, got {township!r}")
    return township_dir(warehouse) / f"{township}.duckdb"


def role_file(warehouse: Path, role: str | None, township: str | None = None) -> Path:
    """The file `role` reads: always a published copy, never the live warehouse (a
    run may be writing it, and before the first publish it is half-built)."""
    role = role or ADMIN
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if role != CASEWORKER and township:
        raise RoleError("--township goes with --role caseworker only")
    if role == ADMIN:
        return query_copy_path(warehouse)
    if role == ANALYST:
        return analyst_copy_path(warehouse)
    if not township:
        raise RoleError("--role caseworker needs --township CODE (9 digits)")
    return township_copy_path(warehouse, township)


# ------------------------------------------------------------------ publishing


def publish_role_copies(warehouse: Path) -> dict:
    """Build the analyst file and one file per township from the administrator's copy."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    admin = query_copy_path(warehouse)
    if not admin.is_file():
        raise RoleError(f"no administrator copy {admin}: publish_query_copy first")
    _protect(admin, ADMIN_MODE, None)
    if warehouse.is_file():
        _protect(warehouse, ADMIN_MODE, None)  # the live file holds everything too
    shared = [v for v in (ANALYST_GROUP_ENV, CASEWORKER_GROUP_ENV) if os.environ.get(v)]
    if shared and not os.stat(warehouse.parent).st_mode & 0o011:
        log.warning("%s is set but %s is not traversable by group or others: nobody else can open the "
                    "role copies (chmod o+x or g+x the folder)", shared[0], warehouse.parent)
    folder = township_dir(warehouse)
    folder.mkdir(exist_ok=True)
    os.chmod(folder, TOWNSHIP_DIR_MODE)  # caseworkers may open their own file by name, not list the others
    with _source(admin) as con:
        build_analyst_copy(con, analyst_copy_path(warehouse))
        townships = list_townships(con)
        with _stage(con, warehouse):  # one pass over the warehouse, not one per township
            staged = stage_townships(con)
            _build_townships(con, warehouse, townships, staged)
    stale = [p for p in folder.glob("*.duckdb") if p.stem not in set(townships)]
    for path in stale:  # a township no longer in the data keeps no old copy of its people
        path.unlink(missing_ok=True)
    summary = {"analyst": str(analyst_copy_path(warehouse)), "township_dir": str(folder),
               "townships": len(townships), "removed": len(stale),
               "seconds": round(time.perf_counter() - started, 2)}
    log.info("role copies published: analyst + %d townships in %.1fs", len(townships), summary["seconds"])
    return summary


def role_workers() -> int:
    """Township files built at once (`DIBAO_ROLE_WORKERS`, default: the machine's cores, at most 4)."""
    raw = os.environ.get(ROLE_WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise RoleError(f"{ROLE_WORKERS_ENV} must be a whole number of at least 1, got {raw!r}")
        return int(raw)
    return max(1, min(4, os.cpu_count() or 1))


def _build_townships(con: duckdb.DuckDBPyConnection, warehouse: Path, townships: list[str],
                     staged: list[tuple[str, str | None]]) -> None:
    """Each township's file on its own cursor, `role_workers()` at a time: a file's cost
    is mostly fixed (attach, commit, checkpoint), which DuckDB runs outside the GIL,
    so threads overlap them."""
    total, done = len(townships), 0
    lock = threading.Lock()

    def one(township: str) -> None:
        nonlocal done
        cursor = con.cursor()  # its own connection to the same database: `src` and the stage attached
        try:
            build_township_copy(cursor, township_copy_path(warehouse, township), township, staged)
        finally:
            cursor.close()
        with lock:
            done += 1
            if done % 25 == 0 or done == total:
                log.info("township files: %d/%d", done, total)

    with ThreadPoolExecutor(max_workers=role_workers(), thread_name_prefix="township") as pool:
        for _ in pool.map(one, townships):  # re-raises the first failure
            pass


@contextmanager
def _source(admin_copy: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection with the administrator's copy attached read-only as `src`;
    it spills past the memory limit into `<copy>.tmp`, as a file-backed one would."""
    try:
        config = {"memory_limit": duckdb_memory_limit(), "temp_directory": f"{admin_copy}.tmp"}
    except ValueError as exc:
        raise RoleError(str(exc)) from None
    con = duckdb.connect(config=config)
    try:
        con.execute(f"ATTACH '{_sql_string(admin_copy)}' AS src (READ_ONLY)")
        yield con
    finally:
        con.close()


def list_townships(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every 9-digit township some household, scored household or candidate lives in (`src`)."""
    present = {f"{s}.{t}" for s, t in _tables(con, "src")}
    found = set()
    for table in ("core.household_history", "mart.risk_list", "mart.discovery_candidates"):
        if table in present:
            found |= {t for (t,) in con.execute(f"SELECT DISTINCT township_code FROM src.{table}").fetchall()}
    return sorted(t for t in found if isinstance(t, str) and TOWNSHIP.fullmatch(t))


def build_analyst_copy(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """core, mart and audit of `src`, without restricted schemas, names or raw 身份证号."""

    def build() -> None:
        objects = [(s, t) for s, t in _tables(con, "src") + _views(con, "src")
                   if s not in RESTRICTED_SCHEMAS and f"{s}.{t}" not in ANALYST_EXCLUDED_TABLES]
        for schema, table in objects:  # views become tables: they may read restricted schemas
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            exprs = ", ".join(_analyst_column(schema, table, c) for c in _columns(con, "src", schema, table))
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT {exprs} FROM src."{schema}"."{table}"')
        _copy_macros(con)
        con.execute("CREATE OR REPLACE TEMP TABLE known_names AS " + _names_sql(con))
        try:
            scrubbed = scrub_identities(con, names="known_names")
            if scrubbed:
                log.warning("analyst copy: identity-looking values removed from %s", scrubbed)
                leaks = identity_leaks(con, names="known_names", only=scrubbed)
                if leaks:
                    raise RoleError(f"analyst copy still holds identities in {leaks}")
        finally:
            con.execute("DROP TABLE IF EXISTS temp.known_names")

    return _build(con, target, build, ANALYST_GROUP_ENV, None)


def build_township_copy(con: duckdb.DuckDBPyConnection, target: Path, township: str,
                        staged: list[tuple[str, str | None]] | None = None) -> Path:
    """Only this township's households, people and lists from `src`; names kept, ids masked.

    With `staged` (from `stage_townships`) each table is a selection of the rows
    already tagged with this township, from a stage already scanned and scrubbed
    for 身份证号 as a whole; without it, the township's rows are selected from `src`
    directly (`_TOWNSHIP_TABLES`) and the file is scanned and scrubbed on its own.
    Both give the same file."""
    if not TOWNSHIP.fullmatch(township):
        raise RoleError(f"township code must be 9 digits, got {township!r}")

    def build() -> None:
        con.execute(f"SET VARIABLE township = '{township}'")  # 9 digits, checked above
        tables = _township_tables(con) if staged is None else [
            (name, _staged_select(name, stage, township)) for name, stage in staged]
        for name, sql in tables:
            schema, table = name.split(".")
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS {sql}')
        _copy_macros(con)
        if staged is None:
            _scrub_or_fail(con, f"township {township} copy")

    return _build(con, target, build, CASEWORKER_GROUP_ENV, township, block_size=TOWNSHIP_BLOCK_SIZE)


# Every name any source gave a person (two characters or more): what the analyst file must not hold.
_NAME_SOURCES = [("restricted.person_identity", "name"), ("staging.mz_members", "name"),
                 ("staging.mz_households", "head_name"), ("staging.cl_disability", "name"),
                 ("staging.rs_registrations", "name")]


def _names_sql(con: duckdb.DuckDBPyConnection) -> str:
    present = {f"{s}.{t}" for s, t in _tables(con, "src")}
    parts = [f"SELECT {column} AS name FROM src.{table}" for table, column in _NAME_SOURCES if table in present]
    union = " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS name"
    return f"SELECT DISTINCT trim(name) AS name FROM ({union}) WHERE length(trim(name)) >= 2"


# Township file: (object, SELECT over src) in build order; `getvariable('township')` is the township.
# Households: those that lived in the township at some time (their rows of those times only);
# people: the members of those households in those times, the residents and the candidates.
_T = "getvariable('township')"
_TOWNSHIP_TABLES: list[tuple[str, str]] = [
    ("core.household_history", f"SELECT * FROM src.core.household_history WHERE township_code = {_T}"),
    ("core.member_history", """
        SELECT m.* FROM src.core.member_history m
        WHERE EXISTS (SELECT 1 FROM core.household_history h
                      WHERE h.household_id = m.household_id
                        AND m.valid_from < coalesce(h.valid_to, DATE '9999-12-31')
                        AND coalesce(m.valid_to, DATE '9999-12-31') > h.valid_from)"""),
    ("mart.discovery_candidates", f"SELECT * FROM src.mart.discovery_candidates WHERE township_code = {_T}"),
    ("core.persons", f"""
        SELECT * FROM src.core.persons
        WHERE township_code = {_T}"""),
    ("core.people", """
        SELECT i.person_key, i.masked_id, i.name, p.birth_date, p.sex
        FROM src.restricted.person_identity i
        LEFT JOIN src.core.persons p USING (person_key)
        WHERE i.person_key IN (SELECT person_key FROM core.member_history
                               UNION SELECT head_key FROM core.household_history
                               UNION SELECT person_key FROM core.persons
                               UNION SELECT person_key FROM mart.discovery_candidates)
        ORDER BY i.person_key"""),
    ("core.certificate_history", f"SELECT * FROM src.core.certificate_history WHERE township_code = {_T}"),
    ("core.change_events", """
        SELECT * FROM src.core.change_events
        WHERE household_id IN (SELECT household_id FROM core.household_history)
           OR (household_id IS NULL AND person_key IN (SELECT person_key FROM core.people))"""),
    ("core.income_checks", """
        SELECT * FROM src.core.income_checks
        WHERE household_id IN (SELECT household_id FROM core.household_history)"""),
    ("core.snapshots", "SELECT * FROM src.core.snapshots"),
    ("core.dibao_lines", "SELECT * FROM src.core.dibao_lines"),
    ("core.policy_parameters", "SELECT * FROM src.core.policy_parameters"),
    ("mart.risk_list", f"SELECT * FROM src.mart.risk_list WHERE township_code = {_T}"),
    ("mart.risk_list_detail", """
        SELECT d.* FROM src.mart.risk_list_detail d
        SEMI JOIN mart.risk_list r USING (as_of_date, household_id)"""),
    ("mart.reason_codes", "SELECT * FROM src.mart.reason_codes"),
    ("mart.listed_households", f"SELECT * FROM src.mart.listed_households WHERE township_code = {_T}"),
    ("mart.listed_candidates", f"SELECT * FROM src.mart.listed_candidates WHERE township_code = {_T}"),
    ("mart.list_departures", f"SELECT * FROM src.mart.list_departures WHERE township_code = {_T}"),
    ("mart.followup_status", f"SELECT * FROM src.mart.followup_status WHERE township_code = {_T}"),
    ("mart.household_month", f"SELECT * FROM src.mart.household_month WHERE township_code = {_T}"),
    ("mart.township_month", f"SELECT * FROM src.mart.township_month WHERE township_code = {_T}"),
    ("audit.list_exports", f"SELECT * FROM src.audit.list_exports WHERE township_code = {_T}"),
]


def _township_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The township file's objects whose sources exist in this warehouse."""
    present = {f"{s}.{t}" for s, t in _tables(con, "src")} | {f"{s}.{v}" for s, v in _views(con, "src")}
    chosen = []
    for name, sql in _TOWNSHIP_TABLES:
        sources = {f"{s}.{o}" for s, o in re.findall(r"src\.([a-z_]+)\.([a-z_]+)", sql)}
        if sources <= present:
            chosen.append((name, sql))
    return chosen


# Staged: every township's rows of each township table, selected once for all townships.
# Each staged table holds the columns of its township table plus `__township` (the
# township the row belongs to; a row belonging to several townships appears once
# for each) and `__row` (its row number in its source, so each township keeps the
# source's order), and is sorted by them: a township's rows are one run of row
# groups, which the zone maps find without reading the others. The selections
# are `_TOWNSHIP_TABLES` restated per township: the same rows for each township.
STAGE = "role_stage"  # the catalog holding the staged tables (`_stage`)


def _staged(name: str) -> str:
    return f'{STAGE}.main."{name.replace(".", "__")}"'


def _by_township(table: str, column: str = "township_code") -> str:
    return (f"SELECT {column} AS __township, rowid AS __row, * FROM src.{table} "
            f"WHERE {column} IS NOT NULL")


_OVERLAP = ("m.valid_from < coalesce(h.valid_to, DATE '9999-12-31') "
            "AND coalesce(m.valid_to, DATE '9999-12-31') > h.valid_from")
_STAGED_TABLES: dict[str, str] = {
    "core.household_history": _by_township("core.household_history"),
    "core.member_history": f"""
        SELECT t.township_code AS __township, m.rowid AS __row, m.*
        FROM src.core.member_history m
        JOIN (SELECT DISTINCT household_id, township_code FROM src.core.household_history
              WHERE township_code IS NOT NULL) t ON t.household_id = m.household_id
        WHERE EXISTS (SELECT 1 FROM src.core.household_history h
                      WHERE h.household_id = m.household_id AND h.township_code = t.township_code
                        AND {_OVERLAP})""",
    "mart.discovery_candidates": _by_township("mart.discovery_candidates"),
    "core.persons": _by_township("core.persons"),
    "core.people": f"""
        SELECT k.__township, 0 AS __row, i.person_key, i.masked_id, i.name, p.birth_date, p.sex
        FROM src.restricted.person_identity i
        LEFT JOIN src.core.persons p USING (person_key)
        JOIN (SELECT DISTINCT __township, person_key FROM (
                  SELECT __township, person_key FROM {_staged("core.member_history")}
                  UNION ALL SELECT __township, head_key FROM {_staged("core.household_history")}
                  UNION ALL SELECT __township, person_key FROM {_staged("core.persons")}
                  UNION ALL SELECT __township, person_key FROM {_staged("mart.discovery_candidates")})
              ) k ON k.person_key = i.person_key""",
    "core.certificate_history": _by_township("core.certificate_history"),
    "core.change_events": f"""
        SELECT t.__township, e.rowid AS __row, e.*
        FROM src.core.change_events e
        JOIN (SELECT DISTINCT __township, household_id FROM {_staged("core.household_history")}) t
          ON t.household_id = e.household_id
        UNION ALL
        SELECT t.__township, e.rowid AS __row, e.*
        FROM src.core.change_events e
        JOIN (SELECT DISTINCT __township, person_key FROM {_staged("core.people")}) t
          ON e.household_id IS NULL AND t.person_key = e.person_key""",
    "core.income_checks": f"""
        SELECT t.__township, c.rowid AS __row, c.*
        FROM src.core.income_checks c
        JOIN (SELECT DISTINCT __township, household_id FROM {_staged("core.household_history")}) t
          ON t.household_id = c.household_id""",
    "mart.risk_list": _by_township("mart.risk_list"),
    "mart.risk_list_detail": f"""
        SELECT r.__township, d.rowid AS __row, d.*
        FROM src.mart.risk_list_detail d
        JOIN (SELECT DISTINCT __township, as_of_date, household_id FROM {_staged("mart.risk_list")}) r
          ON r.as_of_date = d.as_of_date AND r.household_id = d.household_id""",
    "mart.listed_households": _by_township("mart.listed_households"),
    "mart.listed_candidates": _by_township("mart.listed_candidates"),
    "mart.list_departures": _by_township("mart.list_departures"),
    # a view: no rowid, evaluated once instead of once per township
    "mart.followup_status": "SELECT township_code AS __township, 0 AS __row, * FROM src.mart.followup_status "
                            "WHERE township_code IS NOT NULL",
    "mart.household_month": _by_township("mart.household_month"),
    "mart.township_month": _by_township("mart.township_month"),
    "audit.list_exports": _by_township("audit.list_exports"),
}


@contextmanager
def _stage(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Iterator[None]:
    """A scratch DuckDB file attached as `role_stage`, in a folder only the owner can
    open beside the warehouse (it holds names and masked ids), removed afterwards.
    On disk rather than in memory: compressed, a fraction of the warehouse's size,
    and the buffer pool keeps only what the township being built reads."""
    for stale in warehouse.parent.glob(f".{glob.escape(warehouse.name)}.role-stage.*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed run; the writer is alone
    folder = Path(tempfile.mkdtemp(prefix=f".{warehouse.name}.role-stage.", dir=warehouse.parent))  # 0700
    try:
        con.execute(f"ATTACH '{_sql_string(folder / 'stage.duckdb')}' AS {STAGE}")
        try:
            yield
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {STAGE}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stage_townships(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """Select every township's rows of `src` once, into the attached `role_stage`
    (see `_STAGED_TABLES`; tables the same in every file are copied whole), then
    scan and scrub the stage for 身份证号 once: every township file is a selection
    of it. Returns the township file's objects in build order, each with its
    staged table."""
    staged: list[tuple[str, str | None]] = []
    con.execute("BEGIN")
    try:
        for name, sql in _township_tables(con):
            if name not in _STAGED_TABLES:
                con.execute(f"CREATE TABLE {_staged(name)} AS {sql}")
            else:
                order = "__township, __row" + (", person_key" if name == "core.people" else "")
                con.execute(f"CREATE TABLE {_staged(name)} AS SELECT * FROM ({_STAGED_TABLES[name]}) "
                            f"ORDER BY {order}")
            staged.append((name, _staged(name)))
        con.execute(f"USE {STAGE}")
        try:
            _scrub_or_fail(con, "township files' stage")
        finally:
            con.execute("USE memory")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return staged


def _scrub_or_fail(con: duckdb.DuckDBPyConnection, what: str) -> None:
    """Mask every 身份证号 in the current database; fail if any is left."""
    scrubbed = scrub_identities(con)
    if scrubbed:
        log.warning("%s: 身份证号-looking values masked in %s", what, scrubbed)
        leaks = identity_leaks(con, only=scrubbed)
        if leaks:
            raise RoleError(f"{what} still holds 身份证号 in {leaks}")


def _staged_select(name: str, table: str | None, township: str) -> str:
    """The SELECT giving `township`'s rows of `name` (township: 9 digits, checked by the caller)."""
    if table is None:
        return dict(_TOWNSHIP_TABLES)[name]
    if name not in _STAGED_TABLES:
        return f"SELECT * FROM {table}"  # the same whole table in every file
    order = " ORDER BY person_key" if name == "core.people" else ""
    return f"SELECT * EXCLUDE (__township, __row) FROM {table} WHERE __township = '{township}'{order}"


# ------------------------------------------------------------------ identity checks


def _text_columns(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, list[str]]:
    """Table -> its columns that can hold text (VARCHAR, JSON, lists and structs of them)."""
    where = f"database_name = '{catalog}'" if catalog else "database_name = current_database()"
    found: dict[str, list[str]] = {}
    for schema, table, column, dtype in con.execute(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()"
            f" WHERE {where} AND NOT internal ORDER BY schema_name, table_name, column_index").fetchall():
        if "VARCHAR" in dtype or "JSON" in dtype:
            found.setdefault(f'"{schema}"."{table}"', []).append(column)
    return found


def _as_text(column: str) -> str:
    return f'CAST("{column}" AS VARCHAR)'


def _id_hit(column: str) -> str:
    text = f"regexp_replace({_as_text(column)}, '{HEX_KEY_PATTERN}', '', 'g')"
    text = f"regexp_replace({text}, '{FRACTION_PATTERN}', '{FRACTION_REPLACE}', 'g')"
    return f"regexp_matches({text}, '{ID_PATTERN}')"


def _name_hit(column: str, names: str) -> str:
    return f"trim({_as_text(column)}) IN (SELECT name FROM {names})"


def identity_leaks(con: duckdb.DuckDBPyConnection, names: str | None = None,
                   catalog: str | None = None, only: Iterable[str] | None = None) -> dict[str, int]:
    """`table.column` -> cells holding an 18-character 身份证号 (or, with `names`, a
    person's name as the whole cell), over every text column of every table of
    `catalog` (default: the current database). One statement, one scan per table.

    `only` (labels as returned) limits the look to those columns: after
    `scrub_identities` only the columns it changed can hold anything, every other
    column being as it was when nothing was found in it."""
    parts, labels = [], []
    prefix = f'"{catalog}".' if catalog else ""
    wanted = None if only is None else set(only)
    for table, columns in _text_columns(con, catalog).items():
        if wanted is not None:
            columns = [c for c in columns if f"{table.replace(chr(34), '')}.{c}" in wanted]
            if not columns:
                continue
        checks = [_id_hit(c) for c in columns] + ([_name_hit(c, names) for c in columns] if names else [])
        labels.append([f"{table.replace(chr(34), '')}.{c}" for c in columns + (columns if names else [])])
        counts = ", ".join(f"count(*) FILTER (WHERE {c})" for c in checks)
        parts.append(f"SELECT {len(parts)} AS i, [{counts}]::BIGINT[] AS n FROM {prefix}{table}")
    if not parts:
        return {}
    leaks: dict[str, int] = {}
    for i, counts in con.execute(" UNION ALL ".join(parts)).fetchall():
        for label, n in zip(labels[i], counts):
            if n:
                leaks[label] = leaks.get(label, 0) + n
    return leaks


def scrub_identities(con: duckdb.DuckDBPyConnection, names: str | None = None) -> dict[str, int]:
    """The safety net under the column rules: mask every 身份证号 found in text
    (first 6 + last 4), and with `names` empty every cell that is a person's name.
    Text that is not a plain string (lists, JSON) is emptied when it hits.
    Returns what was found (`identity_leaks` before the scrub)."""
    found = identity_leaks(con, names)
    if not found:
        return found
    types = {f"{s}.{t}.{c}": d for s, t, c, d in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()"
        " WHERE database_name = current_database()").fetchall()}
    for label in found:
        schema, table, column = label.split(".", 2)
        hit = _id_hit(column) + (f" OR {_name_hit(column, names)}" if names else "")
        if types.get(label) == "VARCHAR":
            value = f"regexp_replace(\"{column}\", '{MASK_FIND}', '{MASK_REPLACE}', 'g')"
            if names:
                value = f"CASE WHEN {_name_hit(column, names)} THEN NULL ELSE {value} END"
        else:
            value = "NULL"
        con.execute(f'UPDATE "{schema}"."{table}" SET "{column}" = {value} WHERE {hit}')
    return found


# ------------------------------------------------------------------ analyst column rules


def _identity_headers() -> tuple[set[str], set[str]]:
    """Delivered headers whose raw values are 身份证号 (masked) and those that are free text (dropped)."""
    from pipelines.sources.contract import CERT, FILES, ID, TEXT

    ids = {c.header for f in FILES for c in f.columns if c.kind in (ID, CERT)}
    text = {c.header for f in FILES for c in f.columns if c.kind == TEXT} - {"家庭编号"}
    return ids, text


def _analyst_column(schema: str, table: str, column: str) -> str:
    """What the analyst file holds of one column: names emptied, raw cell values of
    identity columns masked and of free-text columns emptied."""
    q = f'"{column}"'
    if column in PERSON_NAME_COLUMNS:
        return f"NULL::VARCHAR AS {q}"
    if schema == "audit" and table in ("quarantine", "repairs") and column in ("raw_value", "repaired_value"):
        ids, _ = _identity_headers()
        kept = "', '".join(sorted(_non_personal_headers()))
        masked = "', '".join(sorted(ids))
        v = f"trim({q})"
        mask = f"CASE WHEN length({v}) > 10 THEN left({v}, 6) || repeat('*', length({v}) - 10) || right({v}, 4)" \
               f" ELSE repeat('*', length({v})) END"
        return (f"CASE WHEN column_name IN ('{masked}') THEN {mask}"
                f" WHEN column_name IN ('{kept}') THEN {q} ELSE NULL END AS {q}")
    return q


def _non_personal_headers() -> set[str]:
    """Delivered headers whose raw values say nothing about who a person is."""
    from pipelines.sources.contract import FILES

    ids, text = _identity_headers()
    headers = {c.header for f in FILES for c in f.columns} - ids - text
    return headers | {"核查结果", "核查日期"}  # the caseworkers' answers (pipelines.ingest.feedback)


# ------------------------------------------------------------------ building blocks


def _build(con: duckdb.DuckDBPyConnection, target: Path, build, group_env: str, township: str | None,
           block_size: int | None = None) -> Path:
    """Run `build` on a new file attached and current beside `target`; protect it, then swap it in.
    A small `block_size` keeps small files small (a township's file: ~0.1 MB instead of ~1 MB empty)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # DuckDB creates its own file; mkstemp only reserved a unique name
    try:
        options = f" (BLOCK_SIZE {int(block_size)})" if block_size else ""
        alias = f"role_copy_{township or 'all'}"  # unique: township files are built side by side
        con.execute(f"ATTACH '{_sql_string(tmp)}' AS {alias}{options}")
        try:
            con.execute(f"USE {alias}")
            con.execute("BEGIN")  # one commit, not one per statement
            try:
                for schema in ("core", "mart", "audit"):
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                build()
                con.execute("COMMIT")
            except BaseException:
                rollback(con)
                raise
            con.execute(f"CHECKPOINT {alias}")
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {alias}")
        _protect(tmp, ROLE_MODE, group_env, township)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def _protect(path: Path, mode: int, group_env: str | None, township: str | None = None) -> None:
    """Give `path` its mode, and the group the environment names for its readers.

    `DIBAO_CASEWORKER_GROUP` may contain `{township}` (one group per township,
    e.g. `dibao-cw-{township}`). A group that does not exist leaves the file
    readable by its owner only (0600): a wrong setting never opens it wider.
    """
    group = os.environ.get(group_env) if group_env else None
    if group and township:
        group = group.replace("{township}", township)
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            log.warning("%s names group %r, which does not exist: %s stays readable by its owner only",
                        group_env, group, path.name)
            os.chmod(path, 0o600)
            return
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?"
                       " AND NOT internal ORDER BY 1, 2", [catalog]).fetchall()


def _views(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ?"
                       " AND NOT internal ORDER BY 1, 2", [catalog]).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    return [c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?"
        " ORDER BY column_index", [catalog, schema, table]).fetchall()]


_MACRO = re.compile(r"CREATE\s+OR\s+REPLACE\s+MACRO\s+([a-z_]+(?:\.[a-z_]+)?)\s*\(", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(" + "|".join(WAREHOUSE_SCHEMAS) + r")\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


@functools.cache
def _macro_files(root: Path = WAREHOUSE_SQL) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(name, SQL, the warehouse objects it reads) of every macro file; read once per process."""
    found = []
    for path in sorted(root.rglob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        macro = _MACRO.search(sql)
        if macro:
            name = macro.group(1).lower()
            needs = {f"{s}.{o}".lower() for s, o in _REFERENCE.findall(re.sub(r"--[^\n]*", "", sql))} - {name}
            found.append((name, sql, frozenset(needs)))
    return tuple(found)


def _copy_macros(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's macros whose every table exists in this file (as_of helpers and rules)."""
    macros = {name: (sql, needs) for name, sql, needs in _macro_files()}
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()}
    made: set[str] = set()
    progress = True
    while progress:
        progress = False
        for name, (sql, needs) in macros.items():
            if name in made:
                continue
            if needs <= present | made:
                con.execute(sql)
                made.add(name)
                progress = True
    return sorted(made)
