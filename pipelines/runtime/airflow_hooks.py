"""The places where running under Airflow touches our code: the failure callback and
the alert webhook named as an Airflow connection.

Imported while DAG files are parsed (through `dag_defaults`): standard library only at
import time; `airflow.sdk` is imported when a connection is looked up.
"""

from __future__ import annotations

from pipelines.runtime import alerts

CONN_ID = "dibao_alert_webhook"


class FailureLog:
    """Failures of tasks that ran in this process, oldest first, as (dag.task, reason).

    `dibao run` runs the DAG in-process; its one-line error names the first failure.
    """

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def add(self, where: str, reason: str) -> None:
        self.entries.append((where, reason))

    def first(self) -> tuple[str, str] | None:
        return self.entries[0] if self.entries else None


failures = FailureLog()


def connection_webhook() -> str | None:
    """The URI of the Airflow connection `dibao_alert_webhook`, if Airflow knows one."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get(CONN_ID)
    except Exception:  # noqa: BLE001 - no Airflow, or no such connection: alerts stay local
        return None
    return conn.get_uri() if conn else None


# When the scheduler, not the task, finds a task failed (its worker could not start it or
# reach the execution API, it was killed, its heartbeat stopped), the DAG processor runs
# the callback with no exception in the context; the cause is in the scheduler's log.
NO_EXCEPTION = ("no exception reached the failure callback: the task's code did not raise (its worker "
                "could not start it or reach Airflow's execution API, or it was killed); see the scheduler's log")


def on_task_failure(context) -> None:
    """on_failure_callback: which task failed, in which run, and why, in one line."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    reason = str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__ if exc else NO_EXCEPTION
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
    if getattr(ti, "map_index", -1) not in (-1, None):
        where += f"[{context.get('delivery') or ti.map_index}]"  # the delivery a mapped task set, if it got so far
    failures.add(where, reason)  # before the alert: a full disk may refuse the alert log
    alerts.send("error", "task_failed", f"{where} failed in run {context.get('run_id', '?')}: {reason}")
