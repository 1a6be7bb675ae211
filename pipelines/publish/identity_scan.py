"""The safety net under the role files' column rules: find and mask 身份证号 and names in any text.

What counts as an identity, and why fractions and 64-hex keys are skipped: docs/security.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import duckdb

from pipelines.publish.role_paths import RoleError

log = logging.getLogger(__name__)

# An 18-character 身份证号 inside any text: 17 digits and a digit or X. 64-hex
# keys (person_key, SHA-256) are removed before looking, since 18 digits in a
# row occur by chance inside them.
ID_PATTERN = "[0-9]{17}[0-9Xx]"
ID_LENGTH = 18
HEX_KEY_PATTERN = "[0-9a-fA-F]{64}"
# A decimal fraction is not an identity: the scored features' JSON holds floats
# like 0.033619763694951614. The digits after a point that follows a digit are
# dropped before looking; 371502199001011234.0 (an ID read as a number) still hits.
FRACTION_PATTERN, FRACTION_REPLACE = "([0-9])[.][0-9]+", "\\1"
MASK_FIND, MASK_REPLACE = "([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])", "\\1********\\2"


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


def id_hit(column: str) -> str:
    """A SQL condition: `column` holds a 身份证号 somewhere in its text.

    Three shapes are passed over before any pattern runs, since they are most of the
    cells and cannot hold one: text shorter than an ID (the patterns only remove
    characters), a whole 64-hex key, and a masked ID (6 + 8 asterisks + 4)."""
    raw = _as_text(column)
    text = f"regexp_replace({raw}, '{HEX_KEY_PATTERN}', '', 'g')"
    text = f"regexp_replace({text}, '{FRACTION_PATTERN}', '{FRACTION_REPLACE}', 'g')"
    return (f"(CASE WHEN length({raw}) < {ID_LENGTH} THEN false"
            f" WHEN length({raw}) = 64 AND regexp_full_match({raw}, '{HEX_KEY_PATTERN}') THEN false"
            f" WHEN length({raw}) = {ID_LENGTH} AND substr({raw}, 7, 8) = '********' THEN false"
            f" ELSE regexp_matches({text}, '{ID_PATTERN}') END)")


def _name_hit(column: str, names: str) -> str:
    return f"trim({_as_text(column)}) IN (SELECT name FROM {names})"


def identity_leaks(con: duckdb.DuckDBPyConnection, names: str | None = None,
                   catalog: str | None = None, only: Iterable[str] | None = None,
                   tables: Iterable[str] | None = None) -> dict[str, int]:
    """`table.column` -> cells holding an 18-character 身份证号 (or, with `names`, a
    person's name as the whole cell), over every text column of every table of
    `catalog` (default: the current database). One statement, one scan per table.

    `only` (labels as returned) limits the look to those columns: after
    `scrub_identities` only the columns it changed can hold anything, every other
    column being as it was when nothing was found in it. `tables` (schema.table) limits
    it to those tables: in a file patched from a scanned one, only those were written."""
    parts, labels = [], []
    prefix = f'"{catalog}".' if catalog else ""
    wanted = None if only is None else set(only)
    among = None if tables is None else set(tables)
    for table, columns in _text_columns(con, catalog).items():
        if among is not None and table.replace(chr(34), "") not in among:
            continue
        if wanted is not None:
            columns = [c for c in columns if f"{table.replace(chr(34), '')}.{c}" in wanted]
            if not columns:
                continue
        checks = [id_hit(c) for c in columns] + ([_name_hit(c, names) for c in columns] if names else [])
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


def scrub_identities(con: duckdb.DuckDBPyConnection, names: str | None = None,
                     tables: Iterable[str] | None = None) -> dict[str, int]:
    """The safety net under the column rules: mask every 身份证号 found in text
    (first 6 + last 4), and with `names` empty every cell that is a person's name.
    Text that is not a plain string (lists, JSON) is emptied when it hits.
    Returns what was found (`identity_leaks` before the scrub; `tables` as there)."""
    found = identity_leaks(con, names, tables=tables)
    if not found:
        return found
    types = {f"{s}.{t}.{c}": d for s, t, c, d in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()"
        " WHERE database_name = current_database()").fetchall()}
    for label in found:
        schema, table, column = label.split(".", 2)
        hit = id_hit(column) + (f" OR {_name_hit(column, names)}" if names else "")
        if types.get(label) == "VARCHAR":
            value = f"regexp_replace(\"{column}\", '{MASK_FIND}', '{MASK_REPLACE}', 'g')"
            if names:
                value = f"CASE WHEN {_name_hit(column, names)} THEN NULL ELSE {value} END"
        else:
            value = "NULL"
        con.execute(f'UPDATE "{schema}"."{table}" SET "{column}" = {value} WHERE {hit}')
    return found


def scrub_or_fail(con: duckdb.DuckDBPyConnection, what: str) -> None:
    """Mask every 身份证号 in the current database; fail if any is left."""
    scrubbed = scrub_identities(con)
    if scrubbed:
        log.warning("%s: 身份证号-looking values masked in %s", what, scrubbed)
        leaks = identity_leaks(con, only=scrubbed)
        if leaks:
            raise RoleError(f"{what} still holds 身份证号 in {leaks}")
