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


def test_a_scheduled_night_reads_returned_lists_and_writes_alerts_where_dibao_run_does(tmp_path, monkeypatch, dagbag):
    """Production sets DIBAO_LANDING and DIBAO_OUT only (docs/operations.md): the feedback folder and
    the alert log follow them, as under `dibao run`, never the scheduler's working directory; a run
    triggered with its own landing and out reads and writes there."""
    from airflow.dag_processing.dagbag import DagBag

    from pipelines.runtime import alerts
    from pipelines.runtime.run_params import resolve

    for name in ("DIBAO_FEEDBACK", "DIBAO_ALERT_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(alerts, "_run_out", None)
    monkeypatch.setenv("DIBAO_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("DIBAO_OUT", str(tmp_path / "out"))
    params = DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False).dags["dibao_nightly"].params
    declared = list(params)
    assert resolve({**params}, declared)["feedback"] == str(tmp_path / "landing" / "feedback")
    assert alerts.alert_log_path() == tmp_path / "out" / "alerts.log"
    triggered = {**params, "landing": str(tmp_path / "other"), "out": str(tmp_path / "other-out")}
    assert resolve(triggered, declared)["feedback"] == str(tmp_path / "other" / "feedback")
    assert alerts.alert_log_path() == tmp_path / "other-out" / "alerts.log"
    assert resolve({**triggered, "feedback": str(tmp_path / "f")}, declared)["feedback"] == str(tmp_path / "f")
    monkeypatch.setenv("DIBAO_FEEDBACK", str(tmp_path / "returned"))
    assert resolve(triggered, declared)["feedback"] == str(tmp_path / "returned")
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "named.log"))  # a deployment's own choice wins
    assert alerts.alert_log_path() == tmp_path / "named.log"


def test_a_conf_key_the_dag_does_not_take_is_refused_in_one_line(dagbag):
    from pipelines.runtime.run_params import RunParamsError, resolve

    params = dagbag.dags["dibao_nightly"].params
    with pytest.raises(RunParamsError, match=r"^run conf key 'landng' unknown to this DAG \(it takes .*landing"):
        resolve({**params, "landng": "/data/landing"}, list(params))
    assert resolve({**params, "runner": "host:1"}, list(params))["runner"] == "host:1"  # the runtime's own key


def test_a_mistyped_until_is_refused_when_the_run_is_triggered(dagbag):
    """`31/07/2024` used to pass the trigger and fail discover three times over 8 minutes."""
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags["dibao_nightly"].params
    assert params.get_param("until").resolve("2024-07-31") == "2024-07-31"
    with pytest.raises(ParamValidationError):
        params.get_param("until").resolve("31/07/2024")


def test_a_triggered_run_with_a_mistyped_conf_key_fails_at_once_and_alerts_in_its_out(tmp_path):
    """Really through Airflow (`dag.test()` in a subprocess, as `dibao run`): the run fails on its
    first task without retrying, loads nothing, and the alert goes to the run's `out`."""
    import os

    runner = ("import json, sys\n"
              "from pathlib import Path\n"
              "from pipelines.runtime.embedded_airflow import configure, ensure_metadata_db, output_to, run_dag\n"
              "configure()\n"
              "with output_to(Path(sys.argv[2])):\n"
              "    ensure_metadata_db()\n"
              "    state, _ = run_dag('dibao_nightly', json.loads(sys.argv[1]))\n"
              "Path(sys.argv[3]).write_text(state)\n")
    (tmp_path / "landing").mkdir()
    conf = {"landing": str(tmp_path / "landing"), "warehouse": str(tmp_path / "wh.duckdb"),
            "out": str(tmp_path / "out"), "until": None, "landng": "/data/landing"}
    env = {k: v for k, v in os.environ.items() if k != "DIBAO_ALERT_LOG"}
    env.update(DIBAO_OUT=str(tmp_path / "default-out"), DIBAO_TASK_RETRIES="2", DIBAO_RETRY_DELAY_SECONDS="60")
    proc = subprocess.run([sys.executable, "-c", runner, json.dumps(conf), str(tmp_path / "airflow.log"),
                           str(tmp_path / "state")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "state").read_text() == "failed"
    alerts = [json.loads(line) for line in (tmp_path / "out" / "alerts.log").read_text(encoding="utf-8").splitlines()]
    assert [a["kind"] for a in alerts] == ["task_failed"]  # once: no retry can mend a conf
    assert "'landng' unknown to this DAG" in alerts[0]["message"] and "discover" in alerts[0]["message"]
    assert not (tmp_path / "default-out").exists() and not (tmp_path / "wh.duckdb").exists()
