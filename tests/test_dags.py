"""The DAGs import cleanly, have the expected shape, and parse fast."""

import subprocess
import sys
import time

import pytest

from pipelines.config import DAGS_FOLDER


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False)


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "dibao_nightly" in dagbag.dag_ids


def test_nightly_shape(dagbag):
    dag = dagbag.dags["dibao_nightly"]
    assert set(dag.task_ids) == {"discover", "stage", "validate", "load", "feedback", "history", "marts", "score", "publish",
                                 "quality_docs"}
    assert dag.get_task("stage").upstream_task_ids == {"discover"}
    assert dag.get_task("load").upstream_task_ids == {"validate"}
    assert dag.get_task("history").upstream_task_ids == {"feedback"}
    assert dag.get_task("marts").upstream_task_ids == {"history"}
    assert dag.get_task("score").upstream_task_ids == {"marts"}
    assert dag.get_task("publish").upstream_task_ids == {"score", "load"}
    assert dag.max_active_runs == 1


def test_every_dag_has_owner_retries_tags_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        for t in dag.tasks:
            assert t.owner != "airflow", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)


def test_dag_files_do_not_import_heavy_libraries():
    """Airflow re-parses DAG files often: they must not pull in GX, polars, duckdb or sklearn."""
    code = (
        "import sys, runpy, time; t = time.perf_counter();"
        f"[runpy.run_path(str(p)) for p in __import__('pathlib').Path({str(DAGS_FOLDER)!r}).glob('*.py')];"
        "heavy = [m for m in ('great_expectations', 'polars', 'duckdb', 'sklearn', 'pandas') if m in sys.modules];"
        "print(heavy, time.perf_counter() - t)"
    )
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy = out.rsplit("]", 1)[0] + "]"
    assert heavy.strip().endswith("[]"), out
    assert time.perf_counter() - started < 60


def test_retrain_shape(dagbag):
    dag = dagbag.dags["dibao_retrain"]
    assert set(dag.task_ids) == {"train_candidate", "promote"}
    assert dag.get_task("promote").upstream_task_ids == {"train_candidate"}
