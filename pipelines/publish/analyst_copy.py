"""The analyst's file: core, mart and audit without restricted schemas, names or raw 身份证号."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import duckdb

from pipelines.ingest.feedback import CHECK_DATE, RESULT
from pipelines.publish.identity_scan import identity_leaks, scrub_identities
from pipelines.publish.published import digest, layout_version, rows_hash
from pipelines.publish.role_files import build_file, columns, copy_macros, macro_texts, tables, views
from pipelines.publish.role_paths import ANALYST_GROUP_ENV, RoleError

log = logging.getLogger(__name__)

# Schemas holding raw 身份证号 and names (warehouse/schemas/schemas.sql): no role copy has them.
RESTRICTED_SCHEMAS = ("raw", "staging", "restricted")
# Who asked what is for administrators: the SQL text may name a person. Publishing's own
# bookkeeping is written after this file: holding it would change the file the night after
# any other file was rewritten.
ANALYST_EXCLUDED_TABLES = {"audit.query_log", "audit.published_files"}
# Columns outside the restricted schemas that hold a person's name (mart.discovery_candidates.name).
PERSON_NAME_COLUMNS = {"name", "head_name"}
# Every name any source gave a person (two characters or more): what the analyst file must not hold.
_NAME_SOURCES = [("restricted.person_identity", "name"), ("staging.mz_members", "name"),
                 ("staging.mz_households", "head_name"), ("staging.cl_disability", "name"),
                 ("staging.rs_registrations", "name")]


def build_analyst_copy(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """core, mart and audit of `src`, without restricted schemas, names or raw 身份证号."""

    def build() -> None:
        for schema, table, select in _selections(con):  # views become tables: they may read restricted schemas
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS {select}')
        copy_macros(con)
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

    return build_file(con, target, build, ANALYST_GROUP_ENV, None)


def _selections(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, the SELECT filling it) of every object the analyst file holds."""
    objects = [(s, t) for s, t in tables(con, "src") + views(con, "src")
               if s not in RESTRICTED_SCHEMAS and f"{s}.{t}" not in ANALYST_EXCLUDED_TABLES]
    return [(s, t, f'SELECT {", ".join(_analyst_column(s, t, c) for c in columns(con, "src", s, t))}'
                   f' FROM src."{s}"."{t}"') for s, t in objects]


def analyst_content_hash(con: duckdb.DuckDBPyConnection) -> str:
    """The analyst file's content hash: per object its columns, types and rows (as the file
    selects them), the names the scrub looks for, and the layout version."""
    from pipelines.publish import identity_scan, role_files
    from pipelines.sources import contract

    layout = layout_version(sys.modules[__name__], role_files, identity_scan, contract, *macro_texts())
    parts = []
    for schema, table, select in _selections(con):
        types = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'src'"
                            " AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()
        parts.append((schema, table, types, rows_hash(con, f"({select})", [c for c, _ in types])))
    names = rows_hash(con, f"({_names_sql(con)})", ["name"])
    return digest(layout, parts, names)


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
