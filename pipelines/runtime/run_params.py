"""A nightly run's params as its tasks read them.

Airflow merges a triggered run's conf into the DAG's params and keeps keys the DAG never
declared: a mistyped `landng` would run silently on the default landing folder. And
the defaults computed when the DAG file was parsed (the feedback folder) must follow
the folders the run was given, as `dibao run`'s do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipelines.config import feedback_folder
from pipelines.runtime import alerts
from pipelines.runtime.stale_runs import RUNNER_KEY

RUNTIME_KEYS = frozenset({RUNNER_KEY})  # what the runtime adds to a run's conf itself


class RunParamsError(ValueError):
    """A run's conf no retry can mend."""


def resolve(params: Mapping, declared: Iterable[str]) -> dict:
    """The run's params, refused in one line when the conf names a key the DAG does not take;
    an empty `feedback` is the landing folder's `feedback/`; alerts go to the run's `out`."""
    if params.get("out"):  # first, so that the alert refusing the conf goes there too
        alerts.for_run(params["out"])
    known = set(declared)
    unknown = sorted(str(k) for k in set(params) - known - RUNTIME_KEYS)
    if unknown:
        raise RunParamsError(f"run conf key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                             f" unknown to this DAG (it takes {', '.join(sorted(known))})")
    p = dict(params)
    if "feedback" in known and not p.get("feedback"):
        p["feedback"] = str(feedback_folder(p.get("landing")))
    return p


def from_context(context: Mapping) -> dict:
    """`resolve` for a running task: a conf no retry can mend fails it at once."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return resolve(context["params"], context["dag"].params)
    except RunParamsError as exc:
        raise AirflowFailException(str(exc)) from None
