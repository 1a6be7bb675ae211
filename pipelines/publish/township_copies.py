"""A caseworker's file: only their township's households, people and lists; names kept, ids masked.

Which rows belong to a township is written once, in warehouse/queries/publish/township_*.sql,
for every township at once (each row tagged `__township` and `__row`). `stage_townships` runs
those selections once into a scratch file; `build_township_copy` copies a township's rows
out of it, or, without a stage, selects them from `src` directly (docs/security.md).
"""

from __future__ import annotations

import glob
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.publish import identity_scan, role_files
from pipelines.publish.identity_scan import scrub_or_fail
from pipelines.fingerprint import digest, layout_version
from pipelines.publish.published import rows_hash
from pipelines.publish.role_files import build_file, copy_macros, macro_texts, tables, views
from pipelines.publish.role_paths import CASEWORKER_GROUP_ENV, TOWNSHIP, RoleError, sql_string
from pipelines.sql import QUERIES, query
from pipelines.warehouse import rollback

TOWNSHIP_BLOCK_SIZE = 16_384  # DuckDB's smallest: township files are small
STAGE = "role_stage"  # the catalog holding the staged tables (`_stage`)
WHOLE, BY_CODE, BY_CODE_VIEW = "whole", "by_code", "by_code_view"

# The township file's objects in build order, and how a township's rows of each are chosen:
# WHOLE (the same table in every file), BY_CODE (rows with its township_code; BY_CODE_VIEW for
# a view, which has no rowid) or a named query over the tables before it. Households: those
# that lived in the township at some time (their rows of those times only); people: the
# members of those households in those times, the residents and the candidates.
TOWNSHIP_TABLES: list[tuple[str, str]] = [
    ("core.household_history", BY_CODE),
    ("core.member_history", "publish/township_member_history"),
    ("mart.discovery_candidates", BY_CODE),
    ("core.persons", BY_CODE),
    ("core.people", "publish/township_people"),
    ("core.certificate_history", BY_CODE),
    ("core.change_events", "publish/township_change_events"),
    ("core.income_checks", "publish/township_income_checks"),
    ("core.snapshots", WHOLE),
    ("core.dibao_lines", WHOLE),
    ("core.policy_parameters", WHOLE),
    ("mart.risk_list", BY_CODE),
    ("mart.risk_list_detail", "publish/township_risk_list_detail"),
    ("mart.reason_codes", WHOLE),
    ("mart.listed_households", BY_CODE),
    ("mart.listed_candidates", BY_CODE),
    ("mart.list_departures", BY_CODE),
    ("mart.followup_status", BY_CODE_VIEW),  # evaluated once instead of once per township
    ("mart.household_month", BY_CODE),
    ("mart.township_month", BY_CODE),
    ("audit.list_exports", BY_CODE),
]
# Columns left out of a township file's content hash: scored_at changes every night the
# same snapshot is scored again with the same result; the file keeps the scored_at of
# the night its content last changed (docs/outputs.md).
UNHASHED = {"mart.risk_list_detail": {"scored_at"}}
# Tables a named query reads by their short name, staged or the township file's own.
_READ = ("household_history", "member_history", "persons", "discovery_candidates", "people", "risk_list")


def _staged(name: str) -> str:
    return f'{STAGE}.main."{name.replace(".", "__")}"'


def _selection(name: str, how: str, read: dict[str, str]) -> str:
    """Every township's rows of `name` (`__township`, `__row`, the row), or its whole table."""
    if how == WHOLE:
        return f"SELECT * FROM src.{name}"
    if how in (BY_CODE, BY_CODE_VIEW):
        return query("publish/township_rows", table=name, row="0" if how == BY_CODE_VIEW else "rowid")
    return query(how, **read)


def _reads(table) -> dict[str, str]:
    """What the named queries read by short name: `table(object)` for each object they read."""
    names = {short: f"{schema}.{short}" for schema, short in (n.split(".") for n, _ in TOWNSHIP_TABLES)}
    return {short: table(names[short]) for short in _READ}


def _in_src(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every table and view of `src`, as schema.name."""
    return {f"{s}.{t}" for s, t in tables(con, "src")} | {f"{s}.{v}" for s, v in views(con, "src")}


def township_tables(con: duckdb.DuckDBPyConnection, read: dict[str, str]) -> list[tuple[str, str, str]]:
    """(object, how, selection) of the township file whose sources exist in this warehouse."""
    present = _in_src(con)
    chosen = []
    for name, how in TOWNSHIP_TABLES:
        sql = _selection(name, how, read)
        if {f"{s}.{o}" for s, o in re.findall(r"src\.([a-z_]+)\.([a-z_]+)", sql)} <= present:
            chosen.append((name, how, sql))
    return chosen


def _one_township(name: str, how: str, source: str, township: str, order: str = "") -> str:
    """The SELECT giving `township`'s rows of `name` from a tagged `source` (township: 9 digits)."""
    if how == WHOLE:
        return f"SELECT * FROM {source}"  # the same whole table in every file
    order = "person_key" if name == "core.people" else order
    return (f"SELECT * EXCLUDE (__township, __row) FROM {source} WHERE __township = '{township}'"
            + (f" ORDER BY {order}" if order else ""))


def _direct(con: duckdb.DuckDBPyConnection, township: str) -> list[tuple[str, str]]:
    """Each object's SELECT of `township`'s rows straight from `src`, reading the file's own tables."""
    own = _reads(lambda name: f"(SELECT '{township}' AS __township, * FROM {name})")
    return [(name, sql if how == WHOLE else _one_township(name, how, f"({sql})", township, "__row"))
            for name, how, sql in township_tables(con, own)]


def build_township_copy(con: duckdb.DuckDBPyConnection, target: Path, township: str,
                        staged: list[tuple[str, str, str]] | None = None) -> Path:
    """Only this township's households, people and lists from `src`; names kept, ids masked.

    With `staged` (from `stage_townships`) each table is a selection of the rows
    already tagged with this township, from a stage already scanned and scrubbed
    for 身份证号 as a whole; without it, the township's rows are selected from `src`
    directly and the file is scanned and scrubbed on its own. Both give the same file."""
    if not TOWNSHIP.fullmatch(township):
        raise RoleError(f"township code must be 9 digits, got {township!r}")

    def build() -> None:
        chosen = _direct(con, township) if staged is None else [
            (name, _one_township(name, how, table, township)) for name, how, table in staged]
        for name, sql in chosen:
            schema, table = name.split(".")
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS {sql}')
        copy_macros(con)
        if staged is None:
            scrub_or_fail(con, f"township {township} copy")

    return build_file(con, target, build, CASEWORKER_GROUP_ENV, township, block_size=TOWNSHIP_BLOCK_SIZE)


@contextmanager
def stage(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Iterator[None]:
    """A scratch DuckDB file attached as `role_stage`, in a folder only the owner can
    open beside the warehouse (it holds names and masked ids), removed afterwards.
    On disk rather than in memory: compressed, a fraction of the warehouse's size,
    and the buffer pool keeps only what the township being built reads."""
    for stale in warehouse.parent.glob(f".{glob.escape(warehouse.name)}.role-stage.*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed run; the writer is alone
    folder = Path(tempfile.mkdtemp(prefix=f".{warehouse.name}.role-stage.", dir=warehouse.parent))  # 0700
    try:
        con.execute(f"ATTACH '{sql_string(folder / 'stage.duckdb')}' AS {STAGE}")
        try:
            yield
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {STAGE}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stage_townships(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Stage every township's rows of `src` once into the attached `role_stage`, sorted
    by township and source row (a township's rows are one run of row groups, which the
    zone maps find without reading the others; tables the same in every file are copied
    whole), then scan and scrub the stage for 身份证号 once: every township file is a
    selection of it. Returns the township file's objects in build order: (object, how, staged table)."""
    staged: list[tuple[str, str, str]] = []
    con.execute("BEGIN")
    try:
        for name, how, sql in township_tables(con, _reads(_staged)):
            if how == WHOLE:
                con.execute(f"CREATE TABLE {_staged(name)} AS {sql}")
            else:
                order = "__township, __row" + (", person_key" if name == "core.people" else "")
                con.execute(f"CREATE TABLE {_staged(name)} AS SELECT * FROM ({sql}) ORDER BY {order}")
            staged.append((name, how, _staged(name)))
        con.execute(f"USE {STAGE}")
        try:
            scrub_or_fail(con, "township files' stage")
        finally:
            con.execute("USE memory")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return staged


def _layout() -> str:
    queries = sorted(p for p in (QUERIES / "publish").glob("township_*.sql"))
    return layout_version(sys.modules[__name__], role_files, identity_scan, *queries, *macro_texts())


def township_inputs(con: duckdb.DuckDBPyConnection) -> str:
    """One hash over everything the township files are selected from: every `src` object
    their selections read, whole (names and all), and the layout. While it holds, so do
    all the files (no stage needed to see it); the view of follow-ups is hashed as it
    reads today, since its `overdue` changes with the date."""
    read = _reads(lambda name: f"src.{name}")  # a named object read by another: its own sources count
    objects = sorted(_in_src(con) & {f"{s}.{o}" for name, how in TOWNSHIP_TABLES
                                for s, o in re.findall(r"src\.([a-z_]+)\.([a-z_]+)", _selection(name, how, read))})
    parts = []
    for name in objects:
        schema, obj = name.split(".")
        hashed = [c for c in role_files.columns(con, "src", schema, obj) if c not in UNHASHED.get(name, set())]
        parts.append((name, hashed, rows_hash(con, f"src.{name}", hashed)))
    return digest(_layout(), parts)


def township_hashes(con: duckdb.DuckDBPyConnection, staged: list[tuple[str, str, str]],
                    townships: list[str]) -> dict[str, str]:
    """Each township file's content hash, from the stage (already scrubbed): per object its
    columns and types, and its rows' count and hash sums for that township."""
    layout = _layout()
    parts: list[tuple[str, list, dict]] = []
    for name, how, table in staged:
        schema = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ?"
                             " AND table_name = ? ORDER BY column_index", [STAGE, name.replace(".", "__")]).fetchall()
        hashed = [c for c, _ in schema if c not in {"__township", "__row"} | UNHASHED.get(name, set())]
        sums = rows_hash(con, table, hashed, None if how == WHOLE else "__township")
        parts.append((name, schema, sums))
    return {t: digest(layout, [(name, schema, sums.get(None) if None in sums else sums.get(t))
                               for name, schema, sums in parts]) for t in townships}


def list_townships(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every 9-digit township some household, scored household or candidate lives in (`src`)."""
    present = {f"{s}.{t}" for s, t in tables(con, "src")}
    found = set()
    for table in ("core.household_history", "mart.risk_list", "mart.discovery_candidates"):
        if table in present:
            found |= {t for (t,) in con.execute(f"SELECT DISTINCT township_code FROM src.{table}").fetchall()}
    return sorted(t for t in found if isinstance(t, str) and TOWNSHIP.fullmatch(t))
