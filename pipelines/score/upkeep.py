"""Keeping a model in force night by night, without loading the training code.

`ensure_model` is the nightly score step's first call: it returns the current model's
version and retrains (pipelines.score.train, imported only then: it brings
scikit-learn and SciPy) only when none is registered or the current one has been
outgrown. A night that keeps its list (pipelines/score/inputs.py) therefore never
imports the training code.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.score.registry import Registry, default_models_dir, provisional

log = logging.getLogger(__name__)

# A judged model this many labelled month-ends behind the warehouse is retrained by the
# nightly step: a safety net for a warehouse run without the monthly retraining DAG
# (`dibao run` alone); with the DAG a model is never more than one behind.
STALE_MONTHS = 2


class TrainingError(Exception):
    """Not enough history to train, or training failed; one line."""


def month_end_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The last loaded mz snapshot date of each month, oldest first."""
    rows = con.execute("SELECT extract_date FROM core.snapshots WHERE source = 'mz' AND is_month_latest"
                       " ORDER BY extract_date").fetchall()
    return [r[0] for r in rows]


def labelled_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Month-end dates after the baseline (the first snapshot shows states, not the
    changes half the features count) with a later snapshot that may report a
    measurement."""
    dates = month_end_dates(con)
    return dates[1:-1]


def open_read_only(warehouse: str | Path) -> duckdb.DuckDBPyConnection:
    from pipelines.warehouse import open_warehouse

    return open_warehouse(Path(warehouse), read_only=True)


def ensure_model(warehouse: str, models_dir: str | None = None, seed: int = 0) -> str:
    """The current model's version; trains and promotes one when none is registered,
    when the current one is provisional (the guard had too little to judge any
    challenger, so the sort was put in force) and a month-end has been labelled
    since it was trained (a young city's model grows with its history night by
    night instead of waiting for the monthly retraining DAG), or when it is
    STALE_MONTHS labelled month-ends behind (no monthly DAG ran)."""
    registry = Registry(models_dir or default_models_dir(warehouse))
    current = registry.current()
    if current is not None and not outgrown(warehouse, current):
        return current["version"]
    from pipelines.score.train import promote_if_not_worse, train_candidate

    try:
        trained = train_candidate(warehouse, str(registry.folder), seed)
    except TrainingError:
        if current is None:
            raise
        log.warning("model %s kept: training on the newer months failed", current["version"])
        return current["version"]
    promote_if_not_worse(warehouse, str(registry.folder), trained["version"])
    return (registry.current() or trained)["version"]


def outgrown(warehouse: str, current: dict) -> bool:
    """A provisional model with a newer labelled month-end than it saw, any model
    STALE_MONTHS or more month-ends behind (the monthly DAG keeps it within one), or one
    trained on a delivery a same-date correction has since superseded."""
    if "guard" not in current:  # registered before the guard existed: left to the monthly DAG
        return False
    from pipelines.sql import query

    con = open_read_only(warehouse)
    try:
        dates = labelled_dates(con)
        created = current.get("created_at")
        corrected = created is not None and con.execute(query("score/trained_on_corrected"), {
            "created": datetime.fromisoformat(created).astimezone(timezone.utc).replace(tzinfo=None)}).fetchall()[0][0]
    finally:
        con.close()
    if corrected:
        log.info("model %s retrained: %d delivery it learned from was corrected since", current["version"], corrected)
        return True
    newer = [d for d in dates if str(d) > current.get("data_window", {}).get("last_as_of", "9999")]
    return len(newer) >= (1 if provisional(current) else STALE_MONTHS)
