"""The analyst's file: core, mart and audit without restricted schemas, names or raw 身份证号;
rebuilt whole, or patched: only the tables whose content changed written again."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.ingest.feedback import CHECK_DATE, RESULT
from pipelines.publish.identity_scan import identity_leaks, scrub_identities
from pipelines.fingerprint import digest, layout_version
from pipelines.publish.published import rows_hash
from pipelines.publish.role_files import build_file, columns, copy_macros, macro_texts, tables, views
from pipelines.publish.role_paths import ANALYST_GROUP_ENV, RoleError, sql_string
from pipelines.publish.row_patch import finish, patch_table

log = logging.getLogger(__name__)

# Schemas holding raw 身份证号 and names (warehouse/schemas/schemas.sql): no role copy has them.
RESTRICTED_SCHEMAS = ("raw", "staging", "restricted")
# Who asked what is for administrators: the SQL text may name a person. Publishing's own
# bookkeeping is written after this file: holding it would change the file the night after
# any other file was rewritten.
ANALYST_EXCLUDED_TABLES = {"audit.query_log", "audit.published_files"}
# In the file itself: what it was built from (layout, names, each table's content hash),
# so that the next night writes again only the tables that changed.
CONTENTS = "audit.copy_contents"
WHOLE, PATCHED = "whole", "patched"
# At least this share of yesterday's file free (blocks its deleted rows and replaced
# tables held, which later writes reuse) and it is built whole, which gives the space back.
# A monthly night's patch leaves about a third of a 12-month city's file free (the tables
# rewritten whole): a quarter would rebuild the file whole on the quiet night after it.
FREE_SHARE = 0.5
# Columns outside the restricted schemas that hold a person's name (mart.discovery_candidates.name).
PERSON_NAME_COLUMNS = {"name", "head_name"}
# Every name any source gave a person (two characters or more): what the analyst file must not hold.
_NAME_SOURCES = [("restricted.person_identity", "name"), ("staging.mz_members", "name"),
                 ("staging.mz_households", "head_name"), ("staging.cl_disability", "name"),
                 ("staging.rs_registrations", "name")]


def build_analyst_copy(con: duckdb.DuckDBPyConnection, target: Path, contents: Contents | None = None,
                       previous: Path | None = None) -> str:
    """core, mart and audit of `src`, without restricted schemas, names or raw 身份证号.

    With the `contents` of tonight's file and `previous`, yesterday's file as written (its
    bytes checked by the caller), only the tables whose content changed are written again,
    into a copy of yesterday's file, when yesterday's was built by the same code from the
    same names and less than FREE_SHARE of it is free space; else the file is built whole
    (which compacts it). A changed table is patched by its changed rows (row_patch.py) unless
    most of them changed. Returns how: whole or patched."""
    contents = contents or analyst_contents(con)
    selections = {f"{s}.{t}": (s, t, select) for s, t, select in _selections(con)}
    changed = _changed_tables(con, contents, previous) if previous is not None else None
    how = WHOLE if changed is None else PATCHED
    written = list(selections) if changed is None else changed
    staged: dict[str, str] = {}  # table -> its rows to insert, staged to be scanned first

    def build() -> None:
        here = con.execute("SELECT current_database()").fetchall()[0][0]
        present = {f"{s}.{t}" for s, t in tables(con, here)} if changed is not None else set()
        for name in present - set(selections) - {CONTENTS}:
            schema, table = name.split(".")
            con.execute(f'DROP TABLE "{schema}"."{table}"')  # gone from the warehouse since yesterday
        for name in written:
            schema, table, select = selections[name]
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            rows = patch_table(con, schema, table, select) if name in present else None
            if rows is None:
                con.execute(f'CREATE OR REPLACE TABLE "{schema}"."{table}" AS {select}')
            else:
                staged[name] = rows
        copy_macros(con)
        con.execute("CREATE OR REPLACE TEMP TABLE known_names AS " + _names_sql(con))
        try:
            scanned = [n for n in written if n not in staged] + list(staged.values())
            scrubbed = scrub_identities(con, names="known_names", tables=scanned)
            if scrubbed:
                log.warning("analyst copy: identity-looking values removed from %s", scrubbed)
                leaks = identity_leaks(con, names="known_names", only=scrubbed)
                if leaks:
                    raise RoleError(f"analyst copy still holds identities in {leaks}")
        finally:
            con.execute("DROP TABLE IF EXISTS temp.known_names")
        finish(con, staged)
        _write_contents(con, contents)

    build_file(con, target, build, ANALYST_GROUP_ENV, None, start_from=previous if changed is not None else None)
    log.info("analyst copy %s: %d of %d tables written (%d of them by their changed rows only)",
             how, len(written), len(selections), len(staged))
    return how


def _selections(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, the SELECT filling it) of every object the analyst file holds."""
    objects = [(s, t) for s, t in tables(con, "src") + views(con, "src")
               if s not in RESTRICTED_SCHEMAS and f"{s}.{t}" not in ANALYST_EXCLUDED_TABLES]
    return [(s, t, f'SELECT {", ".join(_analyst_column(s, t, c) for c in columns(con, "src", s, t))}'
                   f' FROM src."{s}"."{t}"') for s, t in objects]


@dataclass(frozen=True)
class Contents:
    """What goes into the analyst file: the layout version (the code shaping it), each
    table's content hash (columns, types, row count and row hashes), and the hash of the
    names the scrub looks for."""
    layout: str
    tables: dict[str, str]
    names: str

    @property
    def digest(self) -> str:
        return digest(self.layout, sorted(self.tables.items()), self.names)


def analyst_contents(con: duckdb.DuckDBPyConnection) -> Contents:
    """Per object its columns, types and rows (as the file selects them), the names the
    scrub looks for, and the layout version."""
    from pipelines.publish import identity_scan, role_files, row_patch
    from pipelines.sources import contract

    layout = layout_version(sys.modules[__name__], role_files, row_patch, identity_scan, contract, *macro_texts())
    found = {}
    for schema, table, select in _selections(con):
        types = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'src'"
                            " AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()
        sums = rows_hash(con, f"({select})", [c for c, _ in types]).get(None, (0,))
        found[f"{schema}.{table}"] = digest(types, sums)
    return Contents(layout, found, digest(rows_hash(con, f"({_names_sql(con)})", ["name"])))


def _write_contents(con: duckdb.DuckDBPyConnection, contents: Contents) -> None:
    """What the file was built from, in the file itself (CONTENTS), for tomorrow's patch."""
    rows = [("layout", "", contents.layout), ("names", "", contents.names)] + [
        ("table", name, h) for name, h in sorted(contents.tables.items())]
    con.execute(f"CREATE OR REPLACE TABLE {CONTENTS} (kind VARCHAR, name VARCHAR, content_hash VARCHAR)")
    con.executemany(f"INSERT INTO {CONTENTS} VALUES (?, ?, ?)", rows)


def _changed_tables(con: duckdb.DuckDBPyConnection, contents: Contents, previous: Path) -> list[str] | None:
    """The tables to write again into a copy of `previous`; None to build the file whole
    (no record of what it was built from, other code or other names, or much of it free space)."""
    try:
        con.execute(f"ATTACH '{sql_string(previous)}' AS analyst_before (READ_ONLY)")
    except duckdb.Error:
        return None
    try:
        before = con.execute(f"SELECT kind, name, content_hash FROM analyst_before.{CONTENTS}").fetchall()
        (free, total), = con.execute("SELECT free_blocks, total_blocks FROM pragma_database_size()"
                                     " WHERE database_name = 'analyst_before'").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.execute("DETACH analyst_before")
    kept = {n: h for k, n, h in before if k == "table"}
    if {k: h for k, n, h in before if k != "table"} != {"layout": contents.layout, "names": contents.names}:
        return None
    if free >= FREE_SHARE * max(total, 1):
        return None
    return [n for n, h in contents.tables.items() if kept.get(n) != h]


def _names_sql(con: duckdb.DuckDBPyConnection) -> str:
    present = {f"{s}.{t}" for s, t in tables(con, "src")}
    parts = [f"SELECT {column} AS name FROM src.{table}" for table, column in _NAME_SOURCES if table in present]
    union = " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS name"
    return f"SELECT DISTINCT trim(name) AS name FROM ({union}) WHERE length(trim(name)) >= 2"


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
    return headers | {RESULT, CHECK_DATE}  # the caseworkers' answers (pipelines.ingest.feedback)
