"""Alerts reach the log file and a webhook (a real HTTP server on 127.0.0.1)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pipelines.runtime import airflow_hooks, alerts


@pytest.fixture
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_alert_goes_to_log_and_webhook(tmp_path, monkeypatch, webhook):
    url, received = webhook
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.setenv("DIBAO_ALERT_WEBHOOK", url)
    alerts.send("error", "delivery_rejected", "mz/2024-03-31 rejected:\n_READY count mismatch")
    lines = (tmp_path / "alerts.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["message"] == "mz/2024-03-31 rejected: _READY count mismatch"
    assert received == [record]


def test_airflow_connection_names_the_webhook(tmp_path, monkeypatch, webhook):
    url, received = webhook
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.delenv("DIBAO_ALERT_WEBHOOK", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_DIBAO_ALERT_WEBHOOK", url)
    assert alerts.webhook_url() == url
    alerts.send("warning", "source_stale", "rs: newest delivery rejected")
    assert received and received[0]["kind"] == "source_stale"


def test_unreachable_webhook_keeps_the_alert_in_the_log(tmp_path, monkeypatch):
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.setenv("DIBAO_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens")
    alerts.send("error", "task_failed", "x failed")
    assert "x failed" in (tmp_path / "alerts.log").read_text(encoding="utf-8")


def test_failure_callback_writes_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.delenv("DIBAO_ALERT_WEBHOOK", raising=False)

    class TI:
        dag_id, task_id, map_index = "dibao_nightly", "stage", 3

    airflow_hooks.on_task_failure({"task_instance": TI(), "run_id": "r1", "exception": ValueError("bad\nthing")})
    record = json.loads((tmp_path / "alerts.log").read_text(encoding="utf-8"))
    assert record["message"] == "dibao_nightly.stage[3] failed in run r1: bad"
    airflow_hooks.on_task_failure({"task_instance": TI(), "run_id": "r2", "exception": ValueError("bad"),
                                   "delivery": "mz/2024-03-31"})  # set by the task before it failed
    record = json.loads((tmp_path / "alerts.log").read_text(encoding="utf-8").splitlines()[-1])
    assert record["message"] == "dibao_nightly.stage[mz/2024-03-31] failed in run r2: bad"


def test_an_alert_log_that_cannot_be_written_does_not_stop_the_webhook(tmp_path, monkeypatch, webhook):
    """A folder where the log should be (or a full disk): the alert still reaches the webhook,
    and the step that raised it is not failed by it (a rejected delivery's alert was lost so)."""
    url, received = webhook
    (tmp_path / "alerts.log").mkdir()
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.setenv("DIBAO_ALERT_WEBHOOK", url)
    record = alerts.send("error", "delivery_rejected", "mz/2024-09-30 rejected")
    assert received == [record]
