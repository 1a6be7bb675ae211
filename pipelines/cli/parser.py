"""The `dibao` argument parser: one sub-command per function below."""

from __future__ import annotations

from pathlib import Path

from pipelines import config
from pipelines.cli.common import Parser, iso_date, positive
from pipelines.cli.nightly import cmd_airflow, cmd_rebuild, cmd_run
from pipelines.cli.outputs import cmd_feedback, cmd_lists, cmd_params, cmd_query, cmd_report, cmd_whatif
from pipelines.cli.synthetic import cmd_bench, cmd_evaluate, cmd_generate, skip_phases


def build_parser() -> Parser:
    p = Parser(prog="dibao", description="低收入人口动态监测: the nightly pipeline and its tools.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    _add_generate(sub)
    _add_run(sub)
    _add_rebuild(sub)
    _add_query(sub)
    _add_evaluate(sub)
    _add_whatif(sub)
    _add_params(sub)
    _add_feedback(sub)
    _add_lists(sub)
    _add_report(sub)
    _add_airflow(sub)
    _add_bench(sub)
    return p


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="write synthetic deliveries and their hidden ground truth")
    p.add_argument("--landing", type=Path, default=config.default_landing())
    p.add_argument("--truth", type=Path, default=config.default_truth())
    p.add_argument("--scale", choices=["town", "county", "city", "province"], default="town")
    p.add_argument("--months", type=positive, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dynamics", default="default", metavar="NAME",
                   help="a named preset of the city's dynamics (docs/worlds.md; default: default)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override one dynamics knob, e.g. --set check_months=6 (repeatable)")
    p.set_defaults(func=cmd_generate)


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run the nightly DAG in-process over the landing folder")
    p.add_argument("--landing", type=Path, default=config.default_landing())
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("--out", type=Path, default=config.default_out())
    p.add_argument("--date", type=iso_date, default=None, help="load deliveries up to this extract date")
    p.set_defaults(func=cmd_run)


def _add_query(sub) -> None:
    p = sub.add_parser("query", help="run one read-only SQL statement against the warehouse")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--role", choices=["admin", "analyst", "caseworker"], default=None,
                   help="read that role's published copy (default admin; see docs/security.md)")
    p.add_argument("--township", default=None, help="the caseworker's township code (9 digits)")
    # unquoted words are one statement: `dibao query SELECT 1` as `dibao query "SELECT 1"`
    p.add_argument("sql", nargs="+", help="the statement; quote it when the shell would read its characters")
    p.set_defaults(func=cmd_query)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score the latest risk list against the generator's ground truth")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("--truth", type=Path, default=config.default_truth())
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--outcome", choices=["monthly", "assessed"], default="monthly",
                   help="monthly: the contract's outcome (default); assessed: a diagnostic, the income an "
                        "assessment would find (models/README.md)")
    p.set_defaults(func=cmd_evaluate)


def _add_whatif(sub) -> None:
    p = sub.add_parser("whatif", help="households and cost under proposed 低保 standards, per county")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("--standard", action="append", metavar="城市=960", help="a proposed standard (repeatable)")
    p.add_argument("--params", type=Path, help="a parameter file with the proposed standards")
    p.add_argument("--as-of", type=iso_date, default=None, help="snapshot date of the incomes (default: latest)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_whatif)


def _add_feedback(sub) -> None:
    p = sub.add_parser("feedback", help="load a caseworker's returned list (核查结果)")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_feedback)


def _add_params(sub) -> None:
    from pipelines.core.parameters import PARAMETERS

    p = sub.add_parser("params", help="check the policy parameter files as the night reads them and print the"
                                      " values in force on a day (default: today)")
    p.add_argument("--folder", type=Path, default=PARAMETERS)
    p.add_argument("--date", type=iso_date, default=None)
    p.set_defaults(func=cmd_params)


def _add_lists(sub) -> None:
    p = sub.add_parser("lists", help="write the township risk lists for a scoring date")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("--out", type=Path, default=config.default_out())
    p.add_argument("--date", type=iso_date, default=None)
    p.set_defaults(func=cmd_lists)


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="write the officials' HTML report of the latest run")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.add_argument("--out", type=Path, default=config.default_out())
    p.set_defaults(func=cmd_report)


def _add_rebuild(sub) -> None:
    p = sub.add_parser("rebuild", help="rebuild history, marts and scores, every month of them"
                                       " (a night rebuilds the monthly models from the first month that changed)")
    p.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    p.set_defaults(func=cmd_rebuild)


def _add_airflow(sub) -> None:
    p = sub.add_parser("airflow", help="start Airflow's standalone server and UI on the project's DAGs")
    p.add_argument("--port", type=positive, default=8080)
    p.set_defaults(func=cmd_airflow)


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="measure the nightly job against its read floor (prints and writes JSON)")
    p.add_argument("--scale", choices=["town", "city", "province"], default="city",
                   help="population to generate (default city)")
    p.add_argument("--months", type=positive, default=12, help="months of deliveries (default 12)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument("--root", type=Path, default=None, help="cache of generated data and runs (default var/bench)")
    p.add_argument("--json", type=Path, default=None, help="result file (default docs/bench-<scale>.json)")
    p.add_argument("--keep", action="store_true", help="keep the runs' warehouses and logs under the cache")
    p.add_argument("--skip", type=skip_phases, default=(), metavar="PHASES",
                   help="leave out phases, comma-separated: direct, nightly (e.g. a province run's backfill only)")
    p.add_argument("--night-months", type=positive, default=None, metavar="N",
                   help="also measure the night after --months and after N months of the same city (e.g. 36)")
    p.set_defaults(func=cmd_bench)
