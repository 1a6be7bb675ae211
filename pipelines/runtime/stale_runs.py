"""Runs of `dibao run` that were killed: mark them failed in Airflow's metadata.

`dibao run` runs its DAG in-process (`dag.test()`). A SIGKILL (OOM killer,
`kill -9`, a power cut) leaves that DAG run and its task instances `running`
in the metadata database for ever: nothing is left to finish them, and a
scheduler with `max_active_runs=1` would wait on them.

Every `dibao run` records who runs it in the run's conf (`runner`: host, pid,
and the process's start time, so that a recycled pid is not taken for the
owner). At the next start, a `running` or `queued` run of the DAG that
`dag.test()` made (triggered by `test`) whose owner is gone from this host is
set to failed with Airflow's own API (`set_dag_run_state_to_failed`: running
task instances failed, those not started skipped). Runs of a scheduler, and
runs recorded by another host, are left to Airflow. A `dag.test()` run with no
`runner` (a `dibao run` from before this change) has no owner to check and is
taken for abandoned as well.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

RUNNER_KEY = "runner"


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: fall back to the pid alone
        return _pid_only(pid)
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the name in () may hold spaces


def _pid_only(pid: int) -> int | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return -1


def runner() -> dict:
    """Who runs this DAG run: stored in its conf."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _start_ticks(pid)}


def owner_alive(marker: dict | None) -> bool:
    if not isinstance(marker, dict) or not isinstance(marker.get("pid"), int):
        return False  # a run without an owner on record
    if marker.get("host") != socket.gethostname():
        return True  # cannot tell from here
    ticks = _start_ticks(marker["pid"])
    if ticks is None:
        return False
    return ticks == -1 or marker.get("started") in (None, ticks)


def fail_abandoned_runs(dag) -> list[str]:
    """Mark the killed `dibao run` runs of `dag` failed; return their run ids."""
    from airflow.api.common.mark_tasks import set_dag_run_state_to_failed
    from airflow.models.dagrun import DagRun
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    failed: list[str] = []
    with create_session() as session:
        runs = session.scalars(select(DagRun).where(
            DagRun.dag_id == dag.dag_id, DagRun.state.in_([DagRunState.RUNNING, DagRunState.QUEUED]),
            DagRun.triggered_by == DagRunTriggeredByType.TEST)).all()
        abandoned = [r.run_id for r in runs if not owner_alive((r.conf or {}).get(RUNNER_KEY))]
        if not abandoned:
            return failed
        scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        for run_id in abandoned:
            set_dag_run_state_to_failed(dag=scheduler_dag, run_id=run_id, commit=True, session=session)
            failed.append(run_id)
        now = datetime.now(timezone.utc)
        for run in runs:
            if run.run_id in failed and run.end_date is None:
                run.end_date = now
    for run_id in failed:
        log.warning("DAG run %s of %s was left running by a killed process: marked failed", run_id, dag.dag_id)
    return failed
