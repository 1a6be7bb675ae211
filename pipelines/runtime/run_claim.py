"""One run of the nightly DAG at a time on a warehouse, however the runs were started.

The DAG's `max_active_runs=1` holds for scheduled and manual runs, but an Airflow 3
backfill starts its runs under its own limit (10 unless `--max-active-runs` says
otherwise), and a scheduled night can overlap a backfill. Two runs would then stage
into the same `<warehouse>.work/` (the second's `discover` clears the first's staged
deliveries) and contend for DuckDB's one writer. So `discover` claims the warehouse: it
writes its run id into `<warehouse>.work/nightly.claim`, created exclusively. A run that
finds another run's claim waits while Airflow says that run is queued or running, and
takes the claim over once it is not (a run that failed or was killed never released
it). The run's last task releases it.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

CLAIM_FILE = "nightly.claim"
ACTIVE = frozenset({"queued", "running"})
POLL_SECONDS = 20.0


class ClaimTimeout(RuntimeError):
    """Another run held the warehouse for longer than this run may wait; the message is one line."""


def claim(work: Path, run_id: str, state_of: Callable[[str], str | None], wait_seconds: float,
          poll_seconds: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Hold the warehouse for `run_id`; return the run waited for, if any. `state_of(run_id)`
    is Airflow's state of another run of the DAG, None when Airflow does not know it."""
    path = Path(work) / CLAIM_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline, waited_for = time.monotonic() + wait_seconds, None
    while not _create(path, run_id):
        holder = _holder(path)
        if holder == run_id:  # this run's own retry
            return waited_for
        if holder is None:  # released meanwhile
            continue
        if state_of(holder) not in ACTIVE:  # ended without releasing it: taken over
            log.warning("run %s held the warehouse and is no longer running: claim taken over", holder)
            _remove_if(path, holder)
            continue
        if time.monotonic() > deadline:
            raise ClaimTimeout(f"run {holder} of the nightly DAG is still working on this warehouse after"
                               f" {wait_seconds / 60:.0f} min of waiting: runs must not overlap")
        if waited_for != holder:
            log.info("run %s is working on this warehouse: waiting for it to end", holder)
            waited_for = holder
        sleep(poll_seconds)
    return waited_for


def _create(path: Path, run_id: str) -> bool:
    """Write the claim whole under a private name, then link it in: the link fails when a claim
    exists, and no reader ever sees an empty claim (a run killed between creating and writing
    one would have left the warehouse held by nobody, for ever)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(run_id, encoding="utf-8")
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def release(work: Path, run_id: str) -> None:
    """Give the warehouse up, if `run_id` holds it."""
    _remove_if(Path(work) / CLAIM_FILE, run_id)


def airflow_run_state(ti, dag_id: str) -> Callable[[str], str | None]:
    """Airflow's state of another run of `dag_id`, asked through the task's own API client."""
    def state_of(run_id: str) -> str | None:
        try:
            state = ti.get_dagrun_state(dag_id, run_id)
        except Exception:  # noqa: BLE001 - a run Airflow no longer knows holds nothing
            return None
        # the Task SDK answers with its DagRunState, a str Enum whose str() is "DagRunState.RUNNING"
        return str(getattr(state, "value", state)).lower()
    return state_of


def _holder(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _remove_if(path: Path, run_id: str) -> None:
    if _holder(path) == run_id:
        path.unlink(missing_ok=True)
