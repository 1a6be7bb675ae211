"""One nightly run at a time on a warehouse: the claim `discover` takes (pipelines/runtime/run_claim.py).

Airflow's state of the other run is what the claim asks; here it is given as a table of states,
the way the task's API client would answer."""

import threading

import pytest

from pipelines.runtime.run_claim import CLAIM_FILE, ClaimTimeout, claim, release


def states(table: dict):
    return lambda run_id: table.get(run_id)


def test_a_free_warehouse_is_claimed_and_released_by_its_run_only(tmp_path):
    assert claim(tmp_path, "backfill__a", states({}), wait_seconds=0) is None
    assert (tmp_path / CLAIM_FILE).read_text() == "backfill__a"
    assert claim(tmp_path, "backfill__a", states({}), wait_seconds=0) is None  # its own retry
    release(tmp_path, "backfill__b")  # not the holder: nothing happens
    assert (tmp_path / CLAIM_FILE).exists()
    release(tmp_path, "backfill__a")
    assert not (tmp_path / CLAIM_FILE).exists()


def test_a_run_waits_while_the_holder_runs_and_goes_on_when_it_releases(tmp_path):
    claim(tmp_path, "backfill__a", states({}), wait_seconds=0)
    slept = []

    def sleep(seconds):  # the holder finishes while the second run waits
        slept.append(seconds)
        release(tmp_path, "backfill__a")

    waited = claim(tmp_path, "backfill__b", states({"backfill__a": "running"}), wait_seconds=60, sleep=sleep)
    assert waited == "backfill__a" and len(slept) == 1
    assert (tmp_path / CLAIM_FILE).read_text() == "backfill__b"


@pytest.mark.parametrize("state", ["failed", "success", None])
def test_a_claim_left_by_a_run_that_ended_is_taken_over(tmp_path, state):
    (tmp_path / CLAIM_FILE).write_text("scheduled__killed")
    assert claim(tmp_path, "manual__next", states({"scheduled__killed": state}), wait_seconds=0) is None
    assert (tmp_path / CLAIM_FILE).read_text() == "manual__next"


def test_a_run_that_waits_too_long_fails_in_one_line(tmp_path):
    claim(tmp_path, "backfill__a", states({}), wait_seconds=0)
    with pytest.raises(ClaimTimeout, match="run backfill__a of the nightly DAG is still working"):
        claim(tmp_path, "backfill__b", states({"backfill__a": "queued"}), wait_seconds=0, sleep=lambda s: None)


def test_two_runs_starting_together_get_one_claim(tmp_path):
    won, barrier = [], threading.Barrier(8)

    def start(i):
        barrier.wait()
        try:
            claim(tmp_path, f"backfill__{i}", states({f"backfill__{j}": "running" for j in range(8)}),
                  wait_seconds=0, sleep=lambda s: None)
            won.append(i)
        except ClaimTimeout:
            pass

    threads = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and (tmp_path / CLAIM_FILE).read_text() == f"backfill__{won[0]}"


def test_airflows_own_run_states_are_read_as_states():
    """The Task SDK answers with its DagRunState enum: str() of it is 'DagRunState.RUNNING', which
    no claim took for a running run (a real backfill's three runs all took each other's claims over)."""
    from airflow.sdk.api.datamodels._generated import DagRunState

    from pipelines.runtime.run_claim import ACTIVE, airflow_run_state

    class AskedTask:  # answers as RuntimeTaskInstance.get_dagrun_state does
        @staticmethod
        def get_dagrun_state(dag_id, run_id):
            if run_id == "gone":
                raise RuntimeError("DagRun not found")
            return {"a": DagRunState.RUNNING, "b": DagRunState.QUEUED, "c": DagRunState.FAILED}[run_id]

    state_of = airflow_run_state(AskedTask(), "dibao_nightly")
    assert [state_of(r) for r in ("a", "b", "c", "gone")] == ["running", "queued", "failed", None]
    assert {state_of("a"), state_of("b")} <= ACTIVE
