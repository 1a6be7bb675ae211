"""Run the nightly job's steps directly (no Airflow), as the DAG's tasks do."""

from __future__ import annotations

from pathlib import Path

from pipelines.runtime import nightly


def load_all(landing: Path, wh: Path, until: str | None = None) -> dict:
    pending = nightly.discover_pending(str(landing), str(wh), until)
    staged = [nightly.validate_delivery(nightly.stage_delivery(p, str(wh)), str(wh), "test") for p in pending]
    return nightly.load_deliveries(staged, str(wh))


def run_all(landing: Path, wh: Path, until: str | None = None) -> dict:
    summary = load_all(landing, wh, until)
    summary["core"] = nightly.build_history(str(wh))
    summary["marts"] = nightly.publish_marts(str(wh))
    return summary


def run_with_outputs(landing: Path, wh: Path, out: Path, until: str | None = None) -> dict:
    """The whole nightly job, scoring and lists included."""
    summary = run_all(landing, wh, until)
    summary["score"] = nightly.score(str(wh))
    summary.update(nightly.publish_outputs(str(wh), str(out), summary))
    return summary
