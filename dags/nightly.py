"""
### dibao nightly: 低收入人口动态监测

Loads every complete delivery from the landing folder (民政 `mz`, 残联 `cl`,
人社 `rs`) that is not loaded yet, in date order:

1. **discover** complete folders (`_READY` present) not yet attempted, after
   claiming the warehouse: a run overlapping another (a backfill's runs do) waits for it;
2. **stage** each delivery (mapped): read CSV/XLSX, repair what has one correct
   reading, set aside what has none;
3. **validate** each staged delivery (mapped) with the Great Expectations suites
   in `expectations/`;
4. **load** the deliveries in date order, each in one DuckDB transaction, behind
   the quality gate (a rejected delivery loads nothing and raises an alert);
5. **feedback** loads caseworkers' returned lists (核查结果) from the feedback folder;
6. **history** rebuilds the core layer: person keys, validity-interval history,
   change events, policy parameters;
7. **marts** rebuilds the marts officials query (masked ids only);
8. **score** scores every monitored household of the latest 民政 snapshot
   (`mart.risk_list`), training a first model when none is registered;
9. **publish** writes the township risk lists and the run report, and publishes the
   copy of the warehouse that officials' queries read;
10. **quality_docs** renders the run's Data Docs and writes the run summary.

Steps 4–10 write the DuckDB file and run in the one-slot pool `dibao_writer`
(`airflow pools set dibao_writer 1 "..."`; `dibao run` creates it), which the
retraining DAG's tasks share (dags/retrain.py).

Paths come from the run's params (`dibao run` sets them) or the environment
(`DIBAO_LANDING`, `DIBAO_WAREHOUSE`, `DIBAO_OUT`). Tasks only call functions of
`pipelines.runtime.nightly`; nothing heavy is imported while this file is parsed.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from pipelines.runtime.dag_defaults import default_args

# Data-aware scheduling: downstream DAGs (retraining, reports) wait on these.
STAGING = Asset("dibao://warehouse/staging", group="dibao")
CORE = Asset("dibao://warehouse/core", group="dibao")
MARTS = Asset("dibao://warehouse/mart", group="dibao")
RISK_LIST = Asset("dibao://warehouse/mart/risk_list", group="dibao")

DEFAULT_ARGS = default_args(execution_timeout=timedelta(hours=2))
# One slot: DuckDB takes one writer process per file, and under the CeleryExecutor the
# writer tasks may land on any worker (docs/scaling.md). embedded_airflow creates it.
WRITER_POOL = "dibao_writer"


def _params() -> dict:
    """The run's params: a conf key the DAG does not take fails the task, without retries."""
    from pipelines.runtime.run_params import from_context

    return from_context(get_current_context())


# The UI and the failure alert name each mapped task by its delivery (`mz/2024-03-31`), not its index.
BY_DELIVERY = "{{ delivery }}"


def _named_by_delivery(item_or_staged) -> dict:
    """Set the mapped task's name (BY_DELIVERY reads it from the context); return the run's params."""
    from pipelines.runtime.nightly import delivery_label

    get_current_context()["delivery"] = delivery_label(item_or_staged)
    return _params()


def _this_run() -> tuple:
    """(run id, Airflow's state of another run of this DAG): what claiming the warehouse needs."""
    from pipelines.runtime.run_claim import airflow_run_state

    context = get_current_context()
    return context["run_id"], airflow_run_state(context["ti"], context["dag"].dag_id)


@dag(
    dag_id="dibao_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,  # one writer for the DuckDB warehouse
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["dibao", "nightly"],
    params={
        "landing": Param(os.environ.get("DIBAO_LANDING", "var/landing"), type="string"),
        "warehouse": Param(os.environ.get("DIBAO_WAREHOUSE", "var/warehouse.duckdb"), type="string"),
        "out": Param(os.environ.get("DIBAO_OUT", "var/out"), type="string"),
        "feedback": Param(None, type=["null", "string"],
                          description="folder of caseworkers' returned lists; empty: DIBAO_FEEDBACK, else"
                                      " feedback/ in the run's landing folder"),
        "until": Param(None, type=["null", "string"], format="date",  # refused at trigger unless YYYY-MM-DD
                       description="load deliveries up to this extract date (YYYY-MM-DD)"),
        "full_rebuild": Param(False, type="boolean",
                              description="rebuild every month of the contributions and month-grain marts, as"
                                          " `dibao rebuild` (a night rebuilds them from the first month its"
                                          " deliveries change)"),
    },
)
def dibao_nightly():
    @task
    def discover() -> list[dict]:
        from pipelines.runtime.nightly import discover_pending

        p = _params()
        return discover_pending(p["landing"], p["warehouse"], p["until"], _this_run())

    @task(max_active_tis_per_dagrun=2, map_index_template=BY_DELIVERY)
    def stage(item: dict) -> str:
        from pipelines.runtime.nightly import stage_delivery

        return stage_delivery(item, _named_by_delivery(item)["warehouse"])

    @task(max_active_tis_per_dagrun=2, map_index_template=BY_DELIVERY)
    def validate(staged_folder: str) -> str:
        from pipelines.runtime.nightly import validate_delivery

        p = _named_by_delivery(staged_folder)
        return validate_delivery(staged_folder, p["warehouse"], get_current_context()["run_id"])

    @task(trigger_rule="none_failed", outlets=[STAGING], pool=WRITER_POOL)  # also runs when there was nothing to stage
    def load(staged_folders: list[str]) -> dict:
        from pipelines.runtime.nightly import load_deliveries

        return load_deliveries(list(staged_folders or []), _params()["warehouse"])

    @task(pool=WRITER_POOL)
    def feedback(loaded: dict) -> dict:
        from pipelines.runtime.nightly import load_feedback

        p = _params()
        return load_feedback(p["warehouse"], p["feedback"])

    @task(outlets=[CORE], pool=WRITER_POOL)
    def history(feedback_loaded: dict) -> dict:
        from pipelines.runtime.nightly import build_history

        p = _params()
        return build_history(p["warehouse"], full=bool(p.get("full_rebuild")))

    @task(outlets=[MARTS], pool=WRITER_POOL)
    def marts(core: dict) -> dict:
        from pipelines.runtime.nightly import publish_marts

        p = _params()
        return publish_marts(p["warehouse"], full=bool(p.get("full_rebuild")))

    @task(outlets=[RISK_LIST], pool=WRITER_POOL)
    def score(built: dict) -> dict:
        from pipelines.runtime.nightly import score as score_households

        return score_households(_params()["warehouse"])

    @task(pool=WRITER_POOL)
    def publish(scored: dict, loaded: dict) -> dict:
        from pipelines.runtime.nightly import publish_outputs

        p = _params()
        return publish_outputs(p["warehouse"], p["out"], loaded)

    @task(pool=WRITER_POOL)
    def quality_docs(loaded: dict, returned: dict, core: dict, built: dict, scored: dict,
                     published: dict) -> str | None:
        from pipelines.runtime.nightly import build_quality_docs, write_summary

        p = _params()
        run_id = get_current_context()["run_id"]
        docs = build_quality_docs(p["warehouse"], p["out"], run_id)
        write_summary({**loaded, "feedback": returned, "core": core, "marts": built, "score": scored, **published,
                       "data_docs": docs}, p["out"], p["warehouse"], run_id)
        return docs

    loaded = load(validate.expand(staged_folder=stage.expand(item=discover())))
    returned = feedback(loaded)
    core = history(returned)
    built = marts(core)
    scored = score(built)
    published = publish(scored, loaded)
    quality_docs(loaded, returned, core, built, scored, published)


dibao_nightly()
