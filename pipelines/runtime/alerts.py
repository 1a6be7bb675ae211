"""Alerts: one line each, to a log file and optionally to a webhook.

Used by the DAGs' on-failure callback and by the load step (rejected deliveries,
stale sources). The webhook URL comes from the environment (DIBAO_ALERT_WEBHOOK)
or from the Airflow connection `dibao_alert_webhook` (e.g. set as
AIRFLOW_CONN_DIBAO_ALERT_WEBHOOK=http://host:port/path); without one, alerts only
go to the log file. Messages never carry a raw 身份证号 or a name: callers pass
masked identifiers only. Only the standard library is imported here, so DAG files
can reference the callback without slowing parsing.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

CONN_ID = "dibao_alert_webhook"
WEBHOOK_TIMEOUT_S = 5


def alert_log_path() -> Path:
    from pipelines.config import VAR

    return Path(os.environ.get("DIBAO_ALERT_LOG") or VAR / "alerts.log")


def webhook_url() -> str | None:
    url = os.environ.get("DIBAO_ALERT_WEBHOOK")
    if url:
        return url
    try:
        from airflow.sdk import Connection

        conn = Connection.get(CONN_ID)
    except Exception:  # noqa: BLE001 - no Airflow, or no such connection: alerts stay local
        return None
    return conn.get_uri() if conn else None


def send(level: str, kind: str, message: str) -> dict:
    """Append the alert to the alert log and post it to the webhook if one is set."""
    record = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "level": level,
        "kind": kind,
        "message": " ".join(message.split()),  # one line, whatever the caller passed
    }
    path = alert_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    url = webhook_url()
    if url:
        _post(url, record)
    log.warning("ALERT %s %s: %s", level, kind, record["message"])
    return record


def _post(url: str, record: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(record, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            response.read()
    except OSError as exc:  # the alert is in the log file either way
        log.error("alert webhook %s failed: %s", url.split("?")[0], exc)


def on_task_failure(context) -> None:
    """Airflow on_failure_callback: which task failed, in which run, and why, in one line."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    reason = str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__ if exc else "?"
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
    if getattr(ti, "map_index", -1) not in (-1, None):
        where += f"[{ti.map_index}]"
    task_failures.append((where, reason))  # before send: a full disk may refuse the alert log
    send("error", "task_failed", f"{where} failed in run {context.get('run_id', '?')}: {reason}")


# Failures of tasks that ran in this process (`dibao run` runs the DAG in-process), oldest
# first, as (dag.task, reason): the command's one-line error says which step failed and why.
task_failures: list[tuple[str, str]] = []
