"""Several Celery workers on one machine, told apart in Airflow's metadata.

A task instance records the `hostname` of the machine that ran it (Airflow's
`[core] hostname_callable`, the machine's FQDN by default). Workers on separate
machines need nothing. Workers sharing one machine (the CeleryExecutor test,
docs/scaling.md) would all record the same name, so each is started with
`DIBAO_WORKER_NAME` and

    AIRFLOW__CORE__HOSTNAME_CALLABLE=pipelines.runtime.celery_workers.worker_hostname

The name is then `<fqdn>--<worker name>`: not resolvable, so the UI cannot fetch a
running task's log from that worker's log server; the test starts its workers with
`--skip-serve-logs` and the logs are read from the shared log folder.
"""

from __future__ import annotations

import os
import re
import socket

WORKER_NAME_ENV = "DIBAO_WORKER_NAME"


def worker_hostname() -> str:
    """This machine's FQDN, suffixed with DIBAO_WORKER_NAME when that is set."""
    fqdn = socket.getfqdn()
    name = os.environ.get(WORKER_NAME_ENV, "").strip()
    if not name:
        return fqdn
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ValueError(f"{WORKER_NAME_ENV} must be 1-64 letters, digits, '.', '_' or '-', got {name!r}")
    return f"{fqdn}--{name}"
