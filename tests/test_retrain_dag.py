"""The monthly retraining DAG (`dibao_retrain`) end to end, really through Airflow.

On a warehouse built from a generated town (12 months, tests/risk_world.py), the
DAG runs twice in a subprocess (`dag.test()` on the test session's Airflow home,
as `dibao run` does): each run trains the contenders, the promotion guard picks
the kind in force, and that candidate replaces the current model (the second
retires the first). Both decisions, with their reasons, must be in the registry
the run was pointed at (the DAG's
`models_dir` param, a temporary folder): the committed models/registry.json and
the default registry beside the warehouse stay untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import MODELS
from pipelines.score.registry import Registry
from tests.risk_world import copy_warehouse, town_world

pytestmark = pytest.mark.slow

RUNS = 2
RUNNER = f"""
import json, sys
from pathlib import Path
from pipelines.runtime.embedded_airflow import configure, ensure_metadata_db, output_to, run_dag
configure()
conf, log = json.loads(sys.argv[1]), Path(sys.argv[2])
with output_to(log):
    ensure_metadata_db()
    runs = [run_dag("dibao_retrain", conf) for _ in range({RUNS})]
print(json.dumps(runs))
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def retrained(risk_world, tmp_path_factory):
    world = risk_world  # shared (tests/conftest.py): retrained on a copy
    folder = tmp_path_factory.mktemp("retrain")
    wh = copy_warehouse(world, folder)
    models = folder / "trial-registry"
    committed = _sha(MODELS / "registry.json")
    log = folder / "airflow.log"
    conf = {"warehouse": str(wh), "models_dir": str(models), "seed": 0}
    env = {**os.environ, "DIBAO_TASK_RETRIES": "0"}  # a failure shows at once, not after back-off
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(conf), str(log)], capture_output=True,
                          text=True, env=env, timeout=1200)
    tail = proc.stderr[-2000:] + (log.read_text(errors="replace")[-4000:] if log.exists() else "")
    assert proc.returncode == 0, tail
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wh": wh, "models": models, "runs": runs, "committed": committed, "tail": tail}


def test_both_runs_succeed_through_airflow(retrained):
    assert [state for state, _ in retrained["runs"]] == ["success"] * RUNS, retrained["tail"]
    assert len({run_id for _, run_id in retrained["runs"]}) == RUNS


def test_registry_records_candidates_and_promotion_decisions(retrained):
    registry = Registry(retrained["models"])
    entries = registry.entries()
    assert len(entries) == RUNS
    first, second = entries
    for e in entries:
        print(f"\n{e['version']} ({e['status']}): promoted={e['promotion']['promoted']}: {e['promotion']['reason']}")
        assert e["warehouse"] == str(retrained["wh"])
        assert (retrained["models"] / e["artifact"]).exists()
        assert e["promotion"]["reason"] and e["promotion"]["decided_at"]
        assert e["guard"]["reason"] and e["kind"] == e["guard"]["in_force"]
    assert first["promotion"]["promoted"] is True and "current" not in first["promotion"]
    decision = second["promotion"]
    assert decision["current"] == first["version"]  # it replaced the model the first run promoted
    assert decision["promoted"] is True and decision["reason"] == second["guard"]["reason"]
    current = registry.current()
    assert current["version"] == second["version"] and registry.entry(first["version"])["status"] == "retired"
    assert [e["status"] for e in entries].count("current") == 1


def test_other_registries_untouched(retrained):
    assert not Path(f"{retrained['wh']}.models").exists()  # the default registry beside the warehouse
    assert _sha(MODELS / "registry.json") == retrained["committed"]
