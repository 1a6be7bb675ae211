"""Run the project's DAGs in-process on an embedded Airflow.

`dibao run` works on a fresh machine: with no AIRFLOW_HOME set it uses a
project-local one (`.airflow/`, SQLite metadata, created on first use). An
AIRFLOW_HOME that is already set is respected (its airflow.cfg, its database).
The dags folder is the project's `dags/` unless AIRFLOW__CORE__DAGS_FOLDER is
set: `dag.test()` only runs DAGs that live in the configured dags folder.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pipelines.config import DAGS_FOLDER, DEFAULT_AIRFLOW_HOME


# The pool of dags/nightly.py's writer tasks (load … quality_docs), and its one slot: a
# DuckDB file takes one writer process (tests/test_dags.py checks the DAG uses this name).
WRITER_POOL = "dibao_writer"
WRITER_POOL_DESCRIPTION = "dibao: tasks that hold the DuckDB warehouse, nightly and retraining (one at a time)"


class AirflowRunError(Exception):
    """The DAG run could not complete; the message is one line."""


def configure() -> Path:
    """Point Airflow at its home and our DAGs; must run before `import airflow`."""
    home = Path(os.environ.get("AIRFLOW_HOME") or DEFAULT_AIRFLOW_HOME)
    os.environ["AIRFLOW_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_FOLDER))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__COLORED_CONSOLE_LOG", "False")
    return home


def ensure_metadata_db() -> None:
    """Create or upgrade the metadata database (a no-op when it is current), with the writer pool."""
    from airflow.utils import db

    db.upgradedb()
    ensure_writer_pool()


def ensure_writer_pool() -> None:
    """Create the writer pool, or set it back to one slot (idempotent): a scheduler holds a
    task of a pool that does not exist, and two slots would let two writers at the file."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(WRITER_POOL, 1, WRITER_POOL_DESCRIPTION, include_deferred=False)


@contextlib.contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Send everything written to stdout/stderr (Airflow's own logging) to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_file, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_dag(dag_id: str, conf: dict) -> tuple[str, str]:
    """Run one DAG to completion in this process; return (state, run_id). Runs a killed
    `dibao run` left `running` are marked failed first (pipelines/runtime/stale_runs.py)."""
    from airflow.dag_processing.dagbag import DagBag

    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    bag = DagBag(dag_folder=str(folder), safe_mode=False)
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise AirflowRunError(f"DAG file {first[0]} does not import: {str(first[1]).strip().splitlines()[-1]}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise AirflowRunError(f"no DAG {dag_id!r} in {folder}")
    from pipelines.runtime.stale_runs import RUNNER_KEY, fail_abandoned_runs, runner

    fail_abandoned_runs(dag)
    dag_run = dag.test(run_conf={**conf, RUNNER_KEY: runner()})
    state = str(getattr(dag_run.state, "value", dag_run.state))
    return state, dag_run.run_id
