"""Parse time per DAG file, measured the way Airflow pays it.

Each file in dags/ is parsed on its own by Airflow's DagBag in a fresh
subprocess, RUNS times. The subprocess imports `airflow.sdk` and DagBag first
(the DAG processor has them loaded already), then times DagBag processing the one
file: that is the cost the DAG processor pays on every re-parse. The test asserts
no heavy library was imported, the file produced its DAG without import errors,
and the median parse time is under PARSE_BOUND seconds; it prints every figure
(`pytest tests/test_dag_parse.py -s`), docs/operations.md records them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import pytest

from pipelines.config import DAGS_FOLDER

pytestmark = pytest.mark.slow

RUNS = 3
PARSE_BOUND = 5.0  # seconds; generous for shared CI machines (Airflow's own import timeout is 30 s)
HEAVY = ("great_expectations", "polars", "duckdb", "sklearn", "pandas", "pyarrow", "skops")

PARSE = r"""
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
t2 = time.perf_counter()
print(json.dumps({"airflow_import": t1 - t0, "parse": t2 - t1, "dag_ids": sorted(bag.dag_ids),
                  "import_errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()},
                  "heavy": sorted(m for m in sys.argv[2].split(",") if m in sys.modules)}))
"""

DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_dag_file_parses_fast_without_heavy_imports(dag_file):
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", PARSE, str(dag_file), ",".join(HEAVY)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["process"] = time.perf_counter() - started
        runs.append(result)
        assert result["import_errors"] == {}, result["import_errors"]
        assert result["dag_ids"], f"{dag_file.name} defines no DAG"
        assert result["heavy"] == [], f"{dag_file.name} imports {result['heavy']} at parse time"
    median = {k: statistics.median(r[k] for r in runs) for k in ("parse", "airflow_import", "process")}
    print(f"\n{dag_file.name}: parse " + " ".join(f"{r['parse']:.3f}" for r in runs)
          + f" s (median {median['parse']:.3f}); airflow import median {median['airflow_import']:.2f} s; "
          f"whole process median {median['process']:.2f} s")
    assert median["parse"] < PARSE_BOUND, runs
