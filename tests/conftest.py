"""Test-wide settings: an isolated Airflow home, created once per session."""

import os
import tempfile
from pathlib import Path

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
        import shutil

        shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
