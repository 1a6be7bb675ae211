"""Parse time per DAG file, measured the way Airflow pays it.

Each file in dags/ is parsed on its own by Airflow's DagBag in a fresh
subprocess, RUNS times. The subprocess imports `airflow.sdk` and DagBag first
(the DAG processor has them loaded already), then times DagBag processing the one
file: that is the cost the DAG processor pays on every re-parse. The test asserts
the file produced its DAG without import errors and that the parse does no work
beyond defining it: no heavy library imported, no package new to the process but
Airflow's own and the project's light modules, no file opened but Python sources
and time-zone data, no process, socket or database connection. The times are
printed (`pytest tests/test_dag_parse.py -s`), not asserted (a shared machine
measures its neighbours); docs/operations.md records them.
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
HEAVY = ("great_expectations", "polars", "duckdb", "sklearn", "pandas", "pyarrow", "skops")
# Packages a parse may import for the first time: Airflow's own (its provider checks use
# `packaging`) and the project's, whose parse-time modules import the standard library only.
PARSE_PACKAGES = {"airflow", "packaging", "pendulum", "pipelines"}
# What a parse may do through the audit hooks: read Python sources and time-zone data.
READABLE = (".py", ".pyc", ".so")

PARSE = r"""
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
loaded, events = set(sys.modules), []
def audit(event, args):
    if event == "open" and isinstance(args[0], str):
        events.append(f"open {args[0]}")
    elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "socket.connect",
                   "sqlite3.connect", "urllib.Request"):
        events.append(event)
sys.addaudithook(audit)
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
t2 = time.perf_counter()
print(json.dumps({"airflow_import": t1 - t0, "parse": t2 - t1, "dag_ids": sorted(bag.dag_ids),
                  "import_errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()},
                  "heavy": sorted(m for m in sys.argv[2].split(",") if m in sys.modules),
                  "new_packages": sorted({m.split(".")[0] for m in set(sys.modules) - loaded
                                          if m.split(".")[0] not in sys.stdlib_module_names
                                          and not m.startswith("unusual_prefix_")}),
                  "events": events}))
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
        assert set(result["new_packages"]) <= PARSE_PACKAGES, result["new_packages"]
        assert any(e.endswith(("/" + dag_file.name)) for e in result["events"]), "the audit hook saw nothing"
        did = [e for e in result["events"] if not (e.startswith("open ") and e.endswith(READABLE))
               and not e.startswith("open /usr/share/zoneinfo/")]
        assert did == [], f"{dag_file.name} does work at parse time: {did}"
    median = {k: statistics.median(r[k] for r in runs) for k in ("parse", "airflow_import", "process")}
    print(f"\n{dag_file.name}: parse " + " ".join(f"{r['parse']:.3f}" for r in runs)
          + f" s (median {median['parse']:.3f}); airflow import median {median['airflow_import']:.2f} s; "
          f"whole process median {median['process']:.2f} s")
