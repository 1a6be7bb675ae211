"""Alerts: one line each, to a log file and optionally to a webhook.

Used by the DAGs' on-failure callback and by the load step (rejected deliveries,
stale sources). The webhook URL comes from the environment (DIBAO_ALERT_WEBHOOK) or from the
Airflow connection `dibao_alert_webhook` (`runtime/airflow_hooks.py`); without one, alerts only
go to the log file. Messages carry masked identifiers only. Standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 5
# The output folder of the DAG run this process is working for (pipelines/runtime/run_params.py):
# a run triggered with its own `out` logs its alerts there, unless DIBAO_ALERT_LOG names a file.
_run_out: Path | None = None


def for_run(out: str | Path | None) -> None:
    global _run_out
    _run_out = Path(out) if out else None


def alert_log_path() -> Path:
    from pipelines.config import alert_log

    return alert_log(_run_out)


def webhook_url() -> str | None:
    """DIBAO_ALERT_WEBHOOK, else the webhook the runtime names (an Airflow connection)."""
    if url := os.environ.get("DIBAO_ALERT_WEBHOOK"):
        return url
    from pipelines.runtime.airflow_hooks import connection_webhook

    return connection_webhook()


def send(level: str, kind: str, message: str) -> dict:
    """Append the alert to the alert log and post it to the webhook if one is set."""
    record = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "level": level,
        "kind": kind,
        "message": " ".join(message.split()),  # one line, whatever the caller passed
    }
    path = alert_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:  # a full disk or a folder in its place: the webhook and the task log still carry it
        log.error("alert log %s could not be written (%s); the alert goes on", path,
                  getattr(exc, "strerror", None) or exc)
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
