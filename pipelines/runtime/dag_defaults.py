"""Default task arguments shared by every DAG.

Imported while Airflow parses DAG files: only the standard library and the
light config, alerts and airflow_hooks modules, nothing heavy.
"""

from __future__ import annotations

from datetime import timedelta

from pipelines.runtime.airflow_hooks import on_task_failure
from pipelines.config import env_int


def default_args(execution_timeout: timedelta) -> dict:
    """Retries with exponential back-off, a timeout and the failure alert.

    `DIBAO_TASK_RETRIES` (default 2) and `DIBAO_RETRY_DELAY_SECONDS` (default 120)
    let `dibao run` fail fast while a production deployment retries patiently.
    """
    return {
        "owner": "data-team",
        "retries": env_int("DIBAO_TASK_RETRIES", 2),
        "retry_delay": timedelta(seconds=env_int("DIBAO_RETRY_DELAY_SECONDS", 120)),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": execution_timeout,
        "on_failure_callback": on_task_failure,
    }
