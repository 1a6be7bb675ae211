"""The process's one Great Expectations context, and the patch that lets GX keep
one DuckDB connection open. Importing GX costs ~10 s: only inside functions."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext


@functools.cache
def gx_context() -> "AbstractDataContext":
    """The process's one GX context: in memory, no analytics, no progress bars."""
    # GX must never phone home; the environment variable covers code paths that
    # read it before the context's own setting.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _register_duckdb_as_persisted_connection_dialect()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _register_duckdb_as_persisted_connection_dialect() -> None:
    """Make GX keep one open connection for DuckDB, as it does for SQLite.

    GX 1.24 as shipped runs each metric query inside `with engine.connect()` and
    fetches the rows after that block has handed the connection back; duckdb-engine's
    cursor is its connection, so the pending result is gone and every expectation
    fails with "list index out of range" (GX issues #10738, #11579). Dialects listed
    in `_PERSISTED_CONNECTION_DIALECTS` get a StaticPool and one connection held for
    the engine's life, which fixes it. Drop this when GX supports DuckDB natively.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    class DuckDBDialect(str):
        # GX compares members of that tuple with `==` to a dialect name and reads `.value`.
        value = "duckdb"

    if "duckdb" not in engine_module._PERSISTED_CONNECTION_DIALECTS:
        engine_module._PERSISTED_CONNECTION_DIALECTS += (DuckDBDialect("duckdb"),)
