"""A generated town-scale warehouse for the risk-scoring tests, built once per session.

12 months of deliveries from the project's generator (seed 1), loaded without
Airflow through the nightly job's own functions (Great Expectations validation
is skipped: it is tested elsewhere and costs half a minute), then core and marts
built. Tests that write get their own copy of the warehouse file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

_WORLD: dict = {}


def town_world(tmp_path_factory) -> dict:
    if not _WORLD:
        from pipelines.runtime import nightly
        from pipelines.generate import generate

        root = tmp_path_factory.mktemp("risk-world")
        landing, truth, wh = root / "landing", root / "truth", root / "clean.duckdb"
        generate(landing, truth, scale="town", months=12, seed=1)
        pending = nightly.discover_pending(str(landing), str(wh))
        staged = [nightly.stage_delivery(item, str(wh)) for item in pending]
        nightly.load_deliveries(staged, str(wh))
        nightly.build_history(str(wh))
        nightly.publish_marts(str(wh))
        _WORLD.update(root=root, landing=landing, truth=truth, warehouse=wh)
    return _WORLD


def copy_warehouse(world: dict, folder: Path, name: str = "w.duckdb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copyfile(world["warehouse"], target)
    return target
