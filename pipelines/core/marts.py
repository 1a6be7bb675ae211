"""Mart build: the tables officials and caseworkers query (the `mart` layer of warehouse/lifecycle.toml).

`build_marts` rebuilds every mart model from core in one transaction, after
core is built (pipelines.core.build.build_core). Before the transaction commits,
every text column under `mart` is searched for the 身份证号 of anyone the
warehouse knows: a mart that would publish one is rolled back and the build
fails (privacy rules, outputs.md).
"""

from __future__ import annotations

import logging

import duckdb

from pipelines.core.scope import builder, plan, recorder
from pipelines.sql import query
from pipelines.warehouse import build_models

log = logging.getLogger(__name__)

MART_LAYER = "mart"

# 18 characters shaped like a 身份证号; a hit counts only when it is one the
# warehouse knows, so an 18-digit 家庭编号 or a digit run inside a person_key is
# not mistaken for one.
ID_SHAPE = "[0-9]{17}[0-9Xx]"


def raw_id_columns(con: duckdb.DuckDBPyConnection, schema: str = "mart") -> list[str]:
    """`table.column` of every text column in `schema` holding a raw 身份证号."""
    columns = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE schema_name = ? AND data_type IN ('VARCHAR', 'VARCHAR[]') ORDER BY table_name, column_name",
        [schema],
    ).fetchall()
    leaks = []
    for table, column in columns:
        hit = con.execute(query("core/raw_id_hit", id_shape=ID_SHAPE, column=column, schema=schema, table=table)
                          ).fetchall()
        if hit:
            leaks.append(f"{table}.{column}")
    return leaks


def build_marts(con: duckdb.DuckDBPyConnection, full: bool = False) -> list[dict]:
    """Rebuild the mart models, the month-grain ones from the first month tonight's deliveries
    can change (every month with `full`: pipelines/core/scope.py); refuse to publish a raw
    身份证号. Return one record per model."""
    p = plan(con, MART_LAYER, full=full)
    log.info("marts: %s (%s)%s", p.scope, p.reason, f", from {p.months_from}" if p.months_from else "")
    runs = build_models(con, MART_LAYER, check=raw_id_problems, builder=builder(p), on_commit=recorder(p))
    log.info("marts built: %d objects in %.1f s", len(runs), sum(r["seconds"] for r in runs))
    return runs


def raw_id_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The pre-commit check of the mart build: one problem per leaking column."""
    return [f"{c} holds a raw 身份证号" for c in raw_id_columns(con, "mart")]
