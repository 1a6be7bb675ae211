"""Progress reporting that works in and out of Airflow.

Long steps call `report(step, done, total)`. By default that logs a line (Airflow
shows it in the task log); the CLI installs a reporter that drives a rich
progress bar when the DAG runs in-process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("dibao")

Reporter = Callable[[str, int, int], None]


def _log_reporter(step: str, done: int, total: int) -> None:
    if total and (done == total or done == 0):
        log.info("%s: %d/%d", step, done, total)


_reporter: Reporter = _log_reporter


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter or _log_reporter


def report(step: str, done: int, total: int) -> None:
    _reporter(step, done, total)
