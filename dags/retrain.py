"""
### dibao monthly retraining

Trains the risk model's contenders (gradient boosting, a transparent logistic
regression, the bureau's own sort) on the warehouse's own history, compares them
on the latest held-out months, and promotes the one the promotion guard puts in
force: a challenger only when it beats the sort there (models/README.md). Every
decision, with its reason and all three models' metrics, is recorded in the model registry
(`<warehouse>.models/registry.json`, the one nightly scoring reads; the `models_dir`
param points a run at another registry, e.g. a trial one).

Both tasks run in the nightly DAG's one-slot pool `dibao_writer`: `train_candidate`
holds the DuckDB file open while it trains (a reader locks a writer out and a writer
any reader), and `promote` rewrites the registry the nightly `score` task reads and,
with no model yet, writes. So no retraining task runs while a night's writer task does;
the slot is taken task by task, so one may run between two of them.

Tasks only call `pipelines.score.train`; nothing heavy is imported while this file is
parsed.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from pipelines.runtime.dag_defaults import default_args

DEFAULT_ARGS = default_args(execution_timeout=timedelta(hours=3))
# dags/nightly.py's pool (one slot; embedded_airflow creates it): DuckDB takes one process
# per file while one writes, so training must not open it while a night writes.
WRITER_POOL = "dibao_writer"


@dag(
    dag_id="dibao_retrain",
    schedule="0 3 1 * *",  # the first of the month, after the nightly run
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["dibao", "model"],
    params={
        "warehouse": Param(os.environ.get("DIBAO_WAREHOUSE", "var/warehouse.duckdb"), type="string"),
        "models_dir": Param(None, type=["null", "string"],
                            description="registry folder; default <warehouse>.models, where nightly scoring looks"),
        "seed": Param(0, type="integer"),
    },
)
def dibao_retrain():
    def _params() -> dict:  # a conf key the DAG does not take fails the task (pipelines/runtime/run_params.py)
        from pipelines.runtime.run_params import from_context

        return from_context(get_current_context())

    @task(pool=WRITER_POOL)
    def train_candidate() -> dict:
        from pipelines.score.train import train_candidate as train

        p = _params()
        return train(p["warehouse"], p["models_dir"], seed=p["seed"])

    @task(pool=WRITER_POOL)
    def promote(candidate: dict) -> dict:
        from pipelines.score.train import promote_if_not_worse

        p = _params()
        return promote_if_not_worse(p["warehouse"], p["models_dir"], version=candidate["version"])

    promote(train_candidate())


dibao_retrain()
