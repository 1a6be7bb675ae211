"""What schema-qualified names a DuckDB database holds: tables, views and macros.

`pipelines.warehouse.build_models` asks it for every model of a layer; readers of a
half-built warehouse ask it before they read (`table_exists`).
"""

from __future__ import annotations

import duckdb

from pipelines.sql import query


class Catalog:
    """What schema-qualified names are in the database, asked for every model of a build:
    tables and views looked up each time (under a millisecond), macros listed once and again
    only for a name the last listing lacked (one listing of duckdb_functions() costs ~13 ms,
    every built-in included; 17 core models are macros)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._macros: set[tuple[str, str]] | None = None

    def kind(self, name: str) -> str | None:
        """'table', 'view' or 'macro'; None when it does not exist."""
        found = _relation_kind(self.con, name)
        if found is not None:
            return found
        schema, obj = name.split(".", 1)
        if self._macros is None or (schema, obj) not in self._macros:
            self._macros = set(self.con.execute(query("warehouse/macro_names")).fetchall())
        return "macro" if (schema, obj) in self._macros else None


def _relation_kind(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """'table' or 'view' for a schema-qualified name; None otherwise (no macro listing)."""
    schema, obj = name.split(".", 1)
    found = con.execute(query("warehouse/object_kind"), {"s": schema, "o": obj}).fetchall()
    return found[0][0] if found else None


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether `schema.name` is a table or a view (readers of a half-built warehouse ask first;
    a missing name does not list the macros)."""
    return _relation_kind(con, name) is not None
