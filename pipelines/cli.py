"""`dibao`: the command line of the pipeline (../shared/contracts/outputs.md).

Every command exits non-zero with one human-readable line on bad input, never
with a bare traceback. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from pipelines import config


class CliError(Exception):
    """A bad argument or input: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + error; we print one line
        raise CliError(f"{self.prog}: {message} (see {self.prog.split()[0]} --help)")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value!r}")
    return n


def _console(file=None):
    from rich.console import Console

    stream = file or sys.stderr
    # Piped to a file or CI log, rich would assume 80 columns and crush the tables.
    width = None if getattr(stream, "isatty", lambda: False)() else 160
    return Console(file=file, stderr=file is None, highlight=False, width=width)


class _Bars:
    """Rich progress bars keyed by step name, for `progress(step, done, total)` callbacks."""

    def __init__(self, console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.tasks: dict[str, int] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total or None)
        self.progress.update(self.tasks[step], completed=done, total=total or None)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


# ---------------------------------------------------------------- generate
def cmd_generate(args) -> int:
    from pipelines.generate import generate
    from pipelines.generate.dynamics import resolve

    try:
        dynamics = resolve(args.dynamics, args.set or [])
    except ValueError as exc:
        raise CliError(f"dibao generate: {exc}") from None
    console = _console()
    started = time.perf_counter()
    with _Bars(console) as bars:
        try:
            summary = generate(args.landing, args.truth, scale=args.scale, months=args.months,
                               seed=args.seed, progress=bars, dynamics=dynamics, preset=args.dynamics)
        except ValueError as exc:
            raise CliError(f"dibao generate: {exc}") from None
    changed = ", ".join(f"{k}={v}" for k, v in dynamics.changed().items()) or "the default city"
    console.print(f"generated {args.scale} scale, {args.months} months, seed {args.seed}, dynamics "
                  f"{args.dynamics} ({changed}) in {time.perf_counter() - started:.1f}s: "
                  f"landing {args.landing}, truth {args.truth}")
    for source, files in summary.get("rows", {}).items():
        console.print(f"  {source}: " + ", ".join(f"{name} {n:,} rows" for name, n in files.items()))
    kinds = summary.get("deliveries", {})
    defects = summary.get("defects", {})
    console.print(f"  deliveries: {', '.join(f'{k} {v}' for k, v in kinds.items())}; "
                  f"defects planted: {sum(defects.values()):,} of {len(defects)} kinds")
    return 0


# ---------------------------------------------------------------- run
def cmd_run(args) -> int:
    import os

    from pipelines.runtime.embedded_airflow import AirflowRunError, configure, ensure_metadata_db, output_to, run_dag

    try:  # the warehouse, staged files, lists and logs hold identities: private to the pipeline's user
        os.umask(int(os.environ.get("DIBAO_UMASK", "077"), 8))
    except ValueError:
        raise CliError(f"dibao run: DIBAO_UMASK must be octal, e.g. 027, got {os.environ['DIBAO_UMASK']!r}") from None
    landing, warehouse, out = args.landing.resolve(), args.warehouse.resolve(), args.out.resolve()
    if not landing.is_dir():
        raise CliError(f"dibao run: landing folder {landing} does not exist")
    if warehouse.exists() and warehouse.is_dir():
        raise CliError(f"dibao run: --warehouse {warehouse} is a folder, expected a DuckDB file")
    out.mkdir(parents=True, exist_ok=True)
    console = _console(os.fdopen(os.dup(2), "w", buffering=1))
    home = configure()
    log_file = out / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    # Caseworkers return their lists beside the agencies' deliveries (discovery reads only mz/cl/rs).
    feedback = Path(os.environ.get("DIBAO_FEEDBACK") or landing / "feedback")
    conf = {"landing": str(landing), "warehouse": str(warehouse), "out": str(out), "feedback": str(feedback),
            "until": args.date.isoformat() if args.date else None}
    # A one-shot run should fail fast on a bug instead of sleeping through retry back-off.
    os.environ.setdefault("DIBAO_TASK_RETRIES", "1")
    os.environ.setdefault("DIBAO_RETRY_DELAY_SECONDS", "5")
    os.environ.setdefault("DIBAO_ALERT_LOG", str(out / "alerts.log"))
    console.print(f"Airflow home {home}; log {log_file}")
    started = time.perf_counter()
    from pipelines.runtime.progress import set_reporter

    with _Bars(console) as bars:
        set_reporter(bars)
        try:
            with output_to(log_file):
                ensure_metadata_db()
                state, run_id = run_dag("dibao_nightly", conf)
        except AirflowRunError as exc:
            raise CliError(f"dibao run: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Airflow itself failed (its metadata database, a full disk)
            print(f"dibao run: Airflow could not run the DAG: {_cause(exc)}; see {log_file}", file=sys.stderr)
            return 1
        finally:
            set_reporter(None)
    elapsed = time.perf_counter() - started
    if state != "success":  # run-summary.json, if any, is an earlier run's: not shown
        from pipelines.runtime.airflow_hooks import failures

        console.print(f"run {run_id}: {state} in {elapsed:.1f}s")
        where, reason = failures.first() or ("the DAG run", f"ended {state}")
        print(f"dibao run: {where.split('.', 1)[-1]} failed: {_cause(reason)}; see {log_file}", file=sys.stderr)
        return 1
    _print_run_summary(console, out / "run-summary.json", state, run_id, elapsed)
    return 0


# What an operator can do about the commonest causes of a failed run.
_HINTS = {
    "File too large": "disk full or file size limit reached",
    "No space left": "disk full",
    "Disk quota exceeded": "disk quota reached",
    "disk I/O error": "disk full or failing?",
    "database or disk is full": "disk full",
    "Permission denied": "no permission to write there",
    "Read-only file system": "the file system is read-only",
}


def _cause(exc: BaseException | str) -> str:
    """One line: the error's first line, with a hint for a full disk or a missing permission.
    Nothing already committed is lost: each step commits whole or not at all."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {text}"
    hint = next((h for k, h in _HINTS.items() if k in text), None)
    return f"{text} ({hint})" if hint else text


def _print_run_summary(console, path: Path, state: str, run_id: str, elapsed: float) -> None:
    import json

    console.print(f"run {run_id}: {state} in {elapsed:.1f}s")
    if not path.exists():
        return
    summary = json.loads(path.read_text(encoding="utf-8"))
    from rich.table import Table

    table = Table()
    for name in ("delivery", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("files", "read", "loaded", "quarantined"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("message", overflow="ellipsis", no_wrap=True, max_width=48)
    for d in summary.get("deliveries", []):
        files = d.get("files", [])
        table.add_row(f"{d['source']}/{d['extract_date']}", d["status"].replace("skipped_duplicate", "replay"),
                      str(len(files)),
                      f"{sum(f['rows_read'] for f in files):,}", f"{sum(f['rows_loaded'] for f in files):,}",
                      f"{sum(f['rows_quarantined'] for f in files):,}", (d.get("message") or "")[:80])
    if summary.get("deliveries"):
        console.print(table)
    else:
        console.print("no new deliveries")
    for s in summary.get("stale", []):
        console.print(f"[yellow]stale source[/] {s}")
    if summary.get("data_docs"):
        console.print(f"data docs: {summary['data_docs']}")


# ---------------------------------------------------------------- query
def cmd_query(args) -> int:
    from pipelines.publish.query import QueryError, run_query

    try:
        columns, rows = run_query(args.warehouse, args.sql, role=args.role, township=args.township)
    except QueryError as exc:
        raise CliError(f"dibao query: {exc}") from None
    _print_rows(columns, rows, args.format)
    return 0


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    import csv
    import json

    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    elif fmt == "json":
        print(json.dumps([dict(zip(columns, r)) for r in rows], ensure_ascii=False, default=str, indent=1))
    else:
        from rich.table import Table

        table = Table(*columns)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        _console(sys.stdout).print(table)


# ---------------------------------------------------------------- evaluate
def cmd_evaluate(args) -> int:
    from pipelines.evaluation.evaluate import EvaluationError, evaluate, format_evaluation
    from pipelines.warehouse import WarehouseError

    if not args.truth.is_dir():
        raise CliError(f"dibao evaluate: truth folder {args.truth} does not exist")
    try:
        result = evaluate(args.warehouse, args.truth, args.outcome)
    except (EvaluationError, WarehouseError) as exc:
        raise CliError(f"dibao evaluate: {exc}") from None
    if args.format == "json":
        import json

        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    else:
        print(format_evaluation(result))
    return 0


# ---------------------------------------------------------------- outputs
def cmd_whatif(args) -> int:
    from pipelines.warehouse import WarehouseError
    from pipelines.publish.whatif import StandardsError, format_whatif, parse_standards, read_standards, whatif

    if not args.standard and not args.params:
        raise CliError("dibao whatif: give --standard 城市=960 --standard 农村=780 or --params FILE")
    try:
        standards = {**(read_standards(args.params) if args.params else {}),
                     **(parse_standards(args.standard) if args.standard else {})}
        frame = whatif(args.warehouse, standards, args.as_of)
    except (StandardsError, WarehouseError) as exc:
        raise CliError(f"dibao whatif: {exc}") from None
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        print(format_whatif(frame))
    return 0


def cmd_feedback(args) -> int:
    from pipelines.ingest.feedback import FeedbackError, load_feedback
    from pipelines.warehouse import WarehouseError

    try:
        summary = load_feedback(args.warehouse, args.file)
    except (FeedbackError, WarehouseError) as exc:
        raise CliError(f"dibao feedback: {exc}") from None
    print(f"{args.file}: {summary.get('status')}, {summary.get('rows_loaded', 0)} rows loaded, "
          f"{summary.get('rows_quarantined', 0)} quarantined")
    return 0


def cmd_lists(args) -> int:
    from pipelines.publish.lists import ListError, write_lists
    from pipelines.warehouse import WarehouseError

    try:
        summary = write_lists(args.warehouse, args.out, args.date)
    except (ListError, WarehouseError) as exc:
        raise CliError(f"dibao lists: {exc}") from None
    print(f"lists {summary.get('status')} for {summary.get('as_of_date')}: {summary.get('files', 0)} files under {args.out}")
    return 0


def cmd_report(args) -> int:
    from pipelines.publish.report import write_report
    from pipelines.warehouse import WarehouseError

    try:
        path = write_report(args.warehouse, args.out)
    except WarehouseError as exc:
        raise CliError(f"dibao report: {exc}") from None
    print(path)
    return 0


# ---------------------------------------------------------------- bench
def _skip_phases(text: str) -> tuple[str, ...]:
    from pipelines.evaluation.bench import SKIPPABLE

    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in phases if p not in SKIPPABLE]
    if unknown:
        raise argparse.ArgumentTypeError(f"cannot skip {', '.join(unknown)}: only {', '.join(SKIPPABLE)}")
    return phases


def cmd_bench(args) -> int:
    from pipelines.evaluation.bench import BENCH_ROOT, DOCS, PHASES, BenchError, bench, print_result

    if args.months < 2:
        raise CliError("dibao bench: --months must be at least 2 (the nightly phase adds the last month)")
    json_path = args.json or DOCS / f"bench-{args.scale}.json"
    console = _console()
    started = time.perf_counter()
    with _Bars(console) as bars:
        step = f"bench {args.scale}"

        def progress(phase: str, done: int, total: int) -> None:
            bars(step, done, total)
            bars.progress.update(bars.tasks[step], description=f"{step}: {phase}")

        try:
            result = bench(args.scale, args.months, args.seed, args.root or BENCH_ROOT, json_path, args.keep,
                           progress=progress, skip=frozenset(args.skip))
        except BenchError as exc:
            raise CliError(f"dibao bench: {exc}") from None
    print_result(_console(sys.stdout), result)
    console.print(f"bench {args.scale} done in {time.perf_counter() - started:.0f}s; wrote {json_path}"
                  f" ({len(PHASES)} phases)")
    return 0


# ---------------------------------------------------------------- airflow
def cmd_airflow(args) -> int:
    """Airflow's own standalone server (scheduler, API/UI, triggerer) on the project's DAGs."""
    import os
    import shutil

    from pipelines.runtime.embedded_airflow import configure

    home = configure()
    os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")  # the default 32 workers need ~5.5 GB
    os.environ["AIRFLOW__API__PORT"] = str(args.port)
    exe = shutil.which("airflow")
    if exe is None:
        raise CliError("dibao airflow: the airflow command is not installed in this environment (run make env)")
    print(f"Airflow home {home}; UI on http://localhost:{args.port} once started.\n"
          f"Log in as admin; the password is generated on first start and kept in "
          f"{home / 'simple_auth_manager_passwords.json.generated'}. Stop with Ctrl-C.", file=sys.stderr)
    os.execv(exe, [exe, "standalone"])
    return 0  # not reached


# ---------------------------------------------------------------- main
def build_parser() -> Parser:
    p = Parser(prog="dibao", description="低收入人口动态监测: the nightly pipeline and its tools.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    g = sub.add_parser("generate", help="write synthetic deliveries and their hidden ground truth")
    g.add_argument("--landing", type=Path, default=config.default_landing())
    g.add_argument("--truth", type=Path, default=config.default_truth())
    g.add_argument("--scale", choices=["town", "county", "city", "province"], default="town")
    g.add_argument("--months", type=_positive, default=12)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--dynamics", default="default", metavar="NAME",
                   help="a named preset of the city's dynamics (docs/worlds.md; default: default)")
    g.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override one dynamics knob, e.g. --set check_months=6 (repeatable)")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("run", help="run the nightly DAG in-process over the landing folder")
    r.add_argument("--landing", type=Path, default=config.default_landing())
    r.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    r.add_argument("--out", type=Path, default=config.default_out())
    r.add_argument("--date", type=_date, default=None, help="load deliveries up to this extract date")
    r.set_defaults(func=cmd_run)

    q = sub.add_parser("query", help="run one read-only SQL statement against the warehouse")
    q.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    q.add_argument("--format", choices=["table", "csv", "json"], default="table")
    q.add_argument("--role", choices=["admin", "analyst", "caseworker"], default=None,
                   help="read that role's published copy (default admin; see docs/security.md)")
    q.add_argument("--township", default=None, help="the caseworker's township code (9 digits)")
    q.add_argument("sql")
    q.set_defaults(func=cmd_query)

    e = sub.add_parser("evaluate", help="score the latest risk list against the generator's ground truth")
    e.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    e.add_argument("--truth", type=Path, default=config.default_truth())
    e.add_argument("--format", choices=["table", "json"], default="table")
    e.add_argument("--outcome", choices=["monthly", "assessed"], default="monthly",
                   help="monthly: the contract's outcome (default); assessed: a diagnostic, the income an "
                        "assessment would find (models/README.md)")
    e.set_defaults(func=cmd_evaluate)

    w = sub.add_parser("whatif", help="households and cost under proposed 低保 standards, per county")
    w.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    w.add_argument("--standard", action="append", metavar="城市=960", help="a proposed standard (repeatable)")
    w.add_argument("--params", type=Path, help="a parameter file with the proposed standards")
    w.add_argument("--as-of", type=_date, default=None, help="snapshot date of the incomes (default: latest)")
    w.add_argument("--format", choices=["table", "csv", "json"], default="table")
    w.set_defaults(func=cmd_whatif)

    f = sub.add_parser("feedback", help="load a caseworker's returned list (核查结果)")
    f.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    f.add_argument("file", type=Path)
    f.set_defaults(func=cmd_feedback)

    li = sub.add_parser("lists", help="write the township risk lists for a scoring date")
    li.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    li.add_argument("--out", type=Path, default=config.default_out())
    li.add_argument("--date", type=_date, default=None)
    li.set_defaults(func=cmd_lists)

    rp = sub.add_parser("report", help="write the officials' HTML report of the latest run")
    rp.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    rp.add_argument("--out", type=Path, default=config.default_out())
    rp.set_defaults(func=cmd_report)

    a = sub.add_parser("airflow", help="start Airflow's standalone server and UI on the project's DAGs")
    a.add_argument("--port", type=_positive, default=8080)
    a.set_defaults(func=cmd_airflow)

    b = sub.add_parser("bench", help="measure the nightly job against its read floor (prints and writes JSON)")
    b.add_argument("--scale", choices=["town", "city", "province"], default="city",
                   help="population to generate (default city)")
    b.add_argument("--months", type=_positive, default=12, help="months of deliveries (default 12)")
    b.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    b.add_argument("--root", type=Path, default=None, help="cache of generated data and runs (default var/bench)")
    b.add_argument("--json", type=Path, default=None, help="result file (default docs/bench-<scale>.json)")
    b.add_argument("--keep", action="store_true", help="keep the runs' warehouses and logs under the cache")
    b.add_argument("--skip", type=_skip_phases, default=(), metavar="PHASES",
                   help="leave out phases, comma-separated: direct, nightly (e.g. a province run's backfill only)")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dibao: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: one line, never a bare traceback
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    """One line on the terminal; the traceback goes to a file for the data team."""
    import traceback

    log_dir = config.VAR / "logs"
    path = log_dir / f"error-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        details = f" (details in {path})"
    except OSError as err:  # a full disk or a read-only var/: the one line still goes out
        details = f" (no details: {path} could not be written: {err.strerror or err})"
    text = str(exc).strip().splitlines()
    print(f"dibao: {type(exc).__name__}: {text[0] if text else ''}{details}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
