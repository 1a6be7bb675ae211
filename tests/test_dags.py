"""The DAGs import cleanly, have the expected shape, and do nothing heavy at parse time."""

import json
import re
import subprocess
import sys

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


def test_a_full_rebuild_is_a_param_off_by_default(dagbag):
    """The data team can ask a run for every month of the marts (docs/operations.md)."""
    params = dagbag.dags["dibao_nightly"].params
    assert params["full_rebuild"] is False
    assert params.get_param("full_rebuild").schema["type"] == "boolean"


def test_writer_tasks_share_the_one_slot_pool(dagbag):
    from pipelines.runtime.embedded_airflow import WRITER_POOL

    dag = dagbag.dags["dibao_nightly"]
    writers = {"load", "feedback", "history", "marts", "score", "publish", "quality_docs"}
    assert {t.task_id for t in dag.tasks if t.pool == WRITER_POOL} == writers
    assert {dag.get_task(t).pool for t in ("discover", "stage", "validate")} == {"default_pool"}
    # retraining holds the warehouse open and rewrites the registry scoring reads: never beside a writer
    retrain = dagbag.dags["dibao_retrain"]
    assert {t.task_id: t.pool for t in retrain.tasks} == {"train_candidate": WRITER_POOL, "promote": WRITER_POOL}


def test_every_dag_has_owner_retries_tags_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        for t in dag.tasks:
            assert t.owner != "airflow", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)


# What may run while Airflow parses the DAG files: the modules' own bodies, the DAG-building
# functions, and in pipelines/ only settings and default task arguments. A task body, a
# warehouse, a model: none of it may run at parse time.
PARSE_TIME_PIPELINES = {"pipelines/config.py", "pipelines/runtime/dag_defaults.py", "pipelines/runtime/airflow_hooks.py"}


def test_dag_files_do_not_import_heavy_libraries():
    """Airflow re-parses DAG files often: they must not pull in GX, polars, duckdb or sklearn,
    nor run anything but their DAG definitions (every call into dags/ and pipelines/ is counted)."""
    code = (
        "import sys, json, runpy, pathlib, collections; root = pathlib.Path(sys.argv[1]); calls = collections.Counter()\n"
        "def profile(frame, event, arg):\n"
        "    path = pathlib.Path(frame.f_code.co_filename)\n"
        "    if event == 'call' and path.is_relative_to(root) and path.parts[len(root.parts)] in ('dags', 'pipelines'):\n"
        "        calls[f'{path.relative_to(root).as_posix()}:{frame.f_code.co_name}'] += 1\n"
        "sys.setprofile(profile)\n"
        "[runpy.run_path(str(p)) for p in sorted((root / 'dags').glob('*.py'))]\n"
        "sys.setprofile(None)\n"
        "heavy = [m for m in ('great_expectations', 'polars', 'duckdb', 'sklearn', 'pandas') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'calls': calls}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(DAGS_FOLDER.parent)], capture_output=True, text=True,
                         check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["heavy"] == [], out
    dag_functions = {f"dags/{p.name}:{name}" for p in DAGS_FOLDER.glob("*.py")
                     for name in re.findall(r"^def (\w+)\(", p.read_text(encoding="utf-8"), re.M)}
    ran = set(result["calls"])
    assert {c for c in ran if c.startswith("dags/") and not c.endswith(":<module>")} <= dag_functions, ran
    assert {c.split(":")[0] for c in ran if c.startswith("pipelines/") and not c.endswith(":<module>")} \
        <= PARSE_TIME_PIPELINES, ran
    assert {f"dags/{p.name}:<module>" for p in DAGS_FOLDER.glob("*.py")} <= ran  # the profile saw the files run


def test_retrain_shape(dagbag):
    dag = dagbag.dags["dibao_retrain"]
    assert set(dag.task_ids) == {"train_candidate", "promote"}
    assert dag.get_task("promote").upstream_task_ids == {"train_candidate"}


def test_a_scheduled_night_reads_returned_lists_and_writes_alerts_where_dibao_run_does(tmp_path, monkeypatch):
    """Production sets DIBAO_LANDING and DIBAO_OUT only (docs/operations.md): the feedback folder and
    the alert log follow them, as under `dibao run`, never the scheduler's working directory."""
    from airflow.dag_processing.dagbag import DagBag

    from pipelines.runtime.alerts import alert_log_path

    for name in ("DIBAO_FEEDBACK", "DIBAO_ALERT_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIBAO_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("DIBAO_OUT", str(tmp_path / "out"))
    params = DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False).dags["dibao_nightly"].params
    assert params["feedback"] == str(tmp_path / "landing" / "feedback")
    assert alert_log_path() == tmp_path / "out" / "alerts.log"
    monkeypatch.setenv("DIBAO_FEEDBACK", str(tmp_path / "returned"))
    params = DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False).dags["dibao_nightly"].params
    assert params["feedback"] == str(tmp_path / "returned")


def test_a_mistyped_until_is_refused_when_the_run_is_triggered(dagbag):
    """`31/07/2024` used to pass the trigger and fail discover three times over 8 minutes."""
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags["dibao_nightly"].params
    assert params.get_param("until").resolve("2024-07-31") == "2024-07-31"
    with pytest.raises(ParamValidationError):
        params.get_param("until").resolve("31/07/2024")
