"""Test-wide settings (an isolated Airflow home, created once per session) and the shared worlds."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.worlds import digest, unchanged

# Before anything imports airflow: tests never touch a developer's Airflow home.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="dibao-test-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# Whichever test imports Airflow first fixes its configuration for the whole session:
# point it at the project's DAGs now, not at <AIRFLOW_HOME>/dags.
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[1] / "dags")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DIBAO_HASH_KEY", "test-key-not-a-secret")
os.environ["DIBAO_ALERT_LOG"] = str(_AIRFLOW_HOME / "alerts.log")
os.environ.pop("DIBAO_ALERT_WEBHOOK", None)


def pytest_sessionfinish(session, exitstatus):
    """The session's Airflow home goes when every test passed; a failure keeps it for its logs."""
    if exitstatus == 0:
        shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


# --------------------------------------------------------------------------- shared worlds
# Built once per session, on first use, and shared read-only: a test that changes one
# copies it first (tests.worlds.copy_file for a warehouse, shutil.copytree for a landing
# folder). Each fixture checks at the end of the session that its world's bytes did not
# change. docs/testing.md.

SMALL = {"scale": "town", "months": 3, "seed": 11}


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """The small world: generated town deliveries, 3 months, seed 11 (`SMALL`), and their truth.

    `landing` holds 10 complete folders (replays at rs/2024-02-01 and mz/2024-03-01, a count
    mismatch at cl/2024-02-29) and rs/2024-03-31 without `_READY`; tests that name a file
    rely on its format (mz/2024-03-31 is XLSX, cl/2024-02-29 CSV, ...). Read-only: copy the
    landing before changing it."""
    from pipelines.generate import generate

    root = tmp_path_factory.mktemp("small-world")
    generate(root / "landing", root / "truth", **SMALL)
    before = digest(root / "landing")
    yield {"root": root, "landing": root / "landing", "truth": root / "truth"}
    unchanged("small world's landing", root / "landing", before)


@pytest.fixture(scope="session")
def small_loaded(small_world, tmp_path_factory):
    """The small world's deliveries discovered, staged, validated (Great Expectations) and
    loaded, as the DAG's tasks do, into one warehouse. Read-only: `copy_file` it."""
    from tests.pipeline_run import load_all

    wh = tmp_path_factory.mktemp("small-loaded") / "loaded.duckdb"
    load_all(small_world["landing"], wh)
    before = digest(wh)
    yield wh
    unchanged("small_loaded warehouse", wh, before)


@pytest.fixture(scope="session")
def risk_world(tmp_path_factory):
    """The risk world: 12 months of town deliveries (seed 1) loaded without Great Expectations,
    core and marts built (tests/risk_world.py). Read-only: copy its `warehouse`."""
    from tests.risk_world import town_world

    world = town_world(tmp_path_factory)
    before = digest(world["warehouse"])
    yield world
    unchanged("risk world's warehouse", world["warehouse"], before)


@pytest.fixture(scope="session")
def outputs_warehouse(tmp_path_factory):
    """The hand-built outputs warehouse (tests/outputs_builder.py: May and June delivered and
    scored) for the lists, feedback, report, what-if and security tests. Read-only: each
    module `copy_file`s it before writing lists or July into it."""
    from tests.outputs_builder import build_warehouse

    wh = build_warehouse(tmp_path_factory.mktemp("outputs-world") / "w.duckdb")
    before = digest(wh)
    yield wh
    unchanged("outputs warehouse", wh, before)
