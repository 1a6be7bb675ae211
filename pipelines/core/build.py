"""Core build: linked persons and households with their full history.

`build_core` rebuilds the `core` layer from staging each night (a full
rebuild in set-based SQL; docs/data-dictionary.md explains the tables and how
history is kept): the policy parameters first, then every model of the
`core` layer (`warehouse/lifecycle.toml`).

Identity. One person per normalised 18-character 身份证号 across all sources:
`person_key = sha256(hash_key || 身份证号)` in hex, computed in SQL from the
session variable `hash_key` (`getvariable('hash_key')`). The key comes from the
environment variable DIBAO_HASH_KEY; when that is unset the warehouse's own key
is used: 256 random bits generated once and kept in `restricted.hash_key`. The
key must never change for a warehouse: every person_key would change with it.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid

import duckdb

from pipelines.core.parameters import load_parameters
from pipelines.core.scope import builder, plan, recorder
from pipelines.warehouse import build_models, record_model_run

log = logging.getLogger(__name__)

HASH_KEY_ENV = "DIBAO_HASH_KEY"
CORE_LAYER = "core"


def hash_key(con: duckdb.DuckDBPyConnection) -> str:
    """The key of the person_key hash: the environment's, else the warehouse's own."""
    from_env = os.environ.get(HASH_KEY_ENV, "")
    if from_env.strip():
        return from_env
    stored = con.execute("SELECT key FROM restricted.hash_key ORDER BY created_at LIMIT 1").fetchall()
    if stored:
        return stored[0][0]
    key = secrets.token_hex(32)
    con.execute("INSERT INTO restricted.hash_key VALUES (?, current_timestamp)", [key])
    log.info("no %s set: generated this warehouse's own hash key (kept in restricted.hash_key)", HASH_KEY_ENV)
    return key


def use_hash_key(con: duckdb.DuckDBPyConnection) -> None:
    """Make the key visible to SQL on this connection as getvariable('hash_key')."""
    con.execute("SET VARIABLE hash_key = ?", [hash_key(con)])


def build_core(con: duckdb.DuckDBPyConnection, full: bool = False) -> list[dict]:
    """Rebuild policy parameters and every core model, `core.contributions` from the first
    month tonight's deliveries can change (every month with `full`: pipelines/core/scope.py);
    return one record per object."""
    use_hash_key(con)
    params = load_parameters(con)
    params["run_id"] = f"{CORE_LAYER}-parameters-{uuid.uuid4().hex[:12]}"
    record_model_run(con, params)
    p = plan(con, CORE_LAYER, full=full)
    log.info("core: %s (%s)%s", p.scope, p.reason, f", from {p.months_from}" if p.months_from else "")
    runs = [params, *build_models(con, CORE_LAYER, builder=builder(p), on_commit=recorder(p))]
    log.info("core built: %d objects in %.1f s", len(runs), sum(r["seconds"] for r in runs))
    return runs
