"""The cold-start model: the bureau's sort, for a warehouse that cannot train its own yet.

A city's first nights (fewer than three month-end snapshots, or fewer than 10
measured examples of either class) have nothing to train or judge a model on.
They are scored with the bureau's own ranking, last assessed 月人均收入 ÷ the
standard (`contenders` kind `sort`): a ranking no learned model has beaten on
that city yet cannot be replaced by one trained elsewhere. Its probabilities
come from the generated city it was fitted on; the ranking is exactly the sort.

`fit_reference` fits it on a warehouse's measured household-months and registers
it as current in the project's reference registry (models/registry.json, which
`score_latest` falls back to); the model card says how the committed one was made:

    python -m pipelines.score.reference --warehouse W [--models-dir models]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

from pipelines.config import MODELS
from pipelines.score import contenders
from pipelines.score.command import run_command
from pipelines.score.model import RiskModel, reference_values
from pipelines.score.registry import Registry, RegistryError
from pipelines.score.train import LABEL, TrainingError, history, new_version

KIND = "sort"
REASON = ("cold start: the warehouse has too little measured history to train or judge a model, so the "
          "bureau's sort (last checked income ÷ standard) scores; its probabilities come from the generated "
          "city it was fitted on")


def fit_reference(warehouse: str | Path, models_dir: str | Path = MODELS, seed: int = 0) -> dict:
    """Fit the sort on every measured household-month of `warehouse` and make it the
    current model of `models_dir`; return its registry entry."""
    from pipelines.warehouse import open_warehouse

    started = time.perf_counter()
    con = open_warehouse(Path(warehouse), read_only=True)
    try:
        dates, rows, measured, features = history(con)
    finally:
        con.close()
    estimator, used, method = contenders.fit(KIND, measured, features, seed, LABEL)
    model = RiskModel(new_version(dates[-1], KIND), estimator, used, reference_values(measured, used))
    registry = Registry(models_dir)
    entry = registry.save(model, {
        "seed": seed, "kind": KIND, "cold_start": True, "calibration": method,
        "label": "an income measurement in the 3 months after the date found the per-capita income below "
                 "the 低保 standard (the label training uses), on the generated city named in `warehouse`",
        "guard": {"in_force": KIND, "reason": REASON},
        "data_window": {"first_as_of": str(dates[0]), "last_as_of": str(dates[-1])},
        "rows": {"examples": rows.height, "fit": measured.height, "fit_positive": int(measured[LABEL].sum())},
        "warehouse": str(warehouse), "training_seconds": round(time.perf_counter() - started, 1),
    })
    return registry.promote(entry["version"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.score.reference",
                                     description="Fit the cold-start model (the bureau's sort) and make it "
                                                 "the reference registry's current model.")
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, default=MODELS,
                        help="reference registry folder (default: the project's models/)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return run_command(lambda: fit_reference(args.warehouse, args.models_dir, args.seed),
                       (TrainingError, RegistryError, duckdb.Error, ValueError))


if __name__ == "__main__":
    sys.exit(main())
