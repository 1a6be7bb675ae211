"""What decides a night's risk list, as one digest: a quiet night keeps the list it has.

A list for the scoring date D is a function of the features of D (the core and mart
layers, and the 人社 rows staged by D), the model in force, the level settings, and
the code and SQL that compute features, scores, reasons and levels. The layers are
summed up by the run ids of their latest builds that changed anything (a night
with no delivery keeps both layers: pipelines/core/scope.py); the code by its text.
When tonight's digest equals the one recorded with D's list, and that list is still
there, rescoring would write the same rows: it is kept (`audit.score_runs`, status
`unchanged`). When only the layers differ (the method, `method_digest`, is the same),
only the households whose features changed go through the model again (status
`updated`, pipelines/score/rescore.py).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.catalog import table_exists
from pipelines.config import MODELS, WAREHOUSE_SQL
from pipelines.fingerprint import digest, layout_version
from pipelines.sql import query

SCORED, UNCHANGED, UPDATED = "scored", "unchanged", "updated"  # updated: rescore.py


def _code() -> str:
    """The code and SQL that turn features into a list (any change rescores); read as
    files: importing the modules would bring scikit-learn into a night that keeps its list."""
    here = Path(__file__).resolve().parent
    files = [here / f"{m}.py" for m in ("features", "model", "reasons", "risk_list", "levels", "rescore", "inputs")] + \
        sorted((WAREHOUSE_SQL / "queries" / "features").glob("*.sql")) + \
        sorted((WAREHOUSE_SQL / "queries" / "score").glob("*.sql")) + [MODELS / "reason_codes.yaml"]
    return layout_version(*files)


def method_digest(as_of: date, version: str, settings: dict) -> str:
    """What decides how D's list is made, whatever the data: the date, the model, the
    level settings and the code. The same method may rescore only the households whose
    features changed (pipelines/score/rescore.py)."""
    return digest(str(as_of), version, json.dumps(settings, sort_keys=True, default=str), _code())


def inputs_digest(con: duckdb.DuckDBPyConnection, as_of: date, method: str) -> str:
    """The method and the layers the features are read from."""
    return digest(method, con.execute(query("score/latest_layer_changes")).fetchall())


def kept(con: duckdb.DuckDBPyConnection, as_of: date, inputs: str) -> int | None:
    """The households of D's list when it was written from the same inputs and is still
    whole; None when it must be scored."""
    return _whole(con, as_of, "inputs", inputs)


def reusable(con: duckdb.DuckDBPyConnection, as_of: date, method: str) -> bool:
    """D's list was last written by the same method and is still whole."""
    return _whole(con, as_of, "method", method) is not None


def _whole(con: duckdb.DuckDBPyConnection, as_of: date, column: str, value: str) -> int | None:
    """D's households when its last scoring recorded `value` as its `column` and the list
    still holds as many rows as it wrote; else None."""
    if not table_exists(con, "audit.score_runs"):
        return None
    last = con.execute(f"SELECT {column}, households FROM audit.score_runs WHERE as_of_date = ?"
                       " ORDER BY run_at DESC LIMIT 1", [as_of]).fetchall()
    if not last or last[0][0] != value:
        return None
    listed = con.execute("SELECT count(*) FROM mart.risk_list WHERE as_of_date = ?", [as_of]).fetchall()[0][0]
    return listed if listed == last[0][1] else None


def record(con: duckdb.DuckDBPyConnection, as_of: date, version: str, inputs: str, households: int,
           status: str, method: str, rescored: int | None = None) -> None:
    con.execute("INSERT INTO audit.score_runs BY NAME SELECT ? AS as_of_date, ? AS model_version, ? AS inputs,"
                " ? AS households, ? AS status, ? AS run_at, ? AS method, ? AS rescored",
                [as_of, version, inputs, households, status, datetime.now(timezone.utc).replace(tzinfo=None),
                 method, rescored])
