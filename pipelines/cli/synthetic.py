"""`dibao generate`, `dibao evaluate` and `dibao bench`: the synthetic world, the
model scored against its truth, and the nightly job measured."""

from __future__ import annotations

import argparse
import sys
import time

from pipelines.cli.common import Bars, CliError, console_on


def cmd_generate(args) -> int:
    from pipelines.generate import generate
    from pipelines.generate.dynamics import resolve

    try:
        dynamics = resolve(args.dynamics, args.set or [])
    except ValueError as exc:
        raise CliError(f"dibao generate: {exc}") from None
    console = console_on()
    started = time.perf_counter()
    with Bars(console) as bars:
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


def skip_phases(text: str) -> tuple[str, ...]:
    from pipelines.evaluation.bench import SKIPPABLE

    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in phases if p not in SKIPPABLE]
    if unknown:
        raise argparse.ArgumentTypeError(f"cannot skip {', '.join(unknown)}: only {', '.join(SKIPPABLE)}")
    return phases


def cmd_bench(args) -> int:
    from pipelines.evaluation.bench import BENCH_ROOT, PHASES, BenchError, bench
    from pipelines.evaluation.bench_report import DOCS, print_result

    if args.months < 2:
        raise CliError("dibao bench: --months must be at least 2 (the nightly phase adds the last month)")
    json_path = args.json or DOCS / f"bench-{args.scale}.json"
    console = console_on()
    started = time.perf_counter()
    with Bars(console) as bars:
        step = f"bench {args.scale}"

        def progress(phase: str, done: int, total: int) -> None:
            bars(step, done, total)
            bars.progress.update(bars.tasks[step], description=f"{step}: {phase}")

        try:
            result = bench(args.scale, args.months, args.seed, args.root or BENCH_ROOT, json_path, args.keep,
                           progress=progress, skip=frozenset(args.skip), night_months=args.night_months)
        except BenchError as exc:
            raise CliError(f"dibao bench: {exc}") from None
    print_result(console_on(sys.stdout), result)
    if result.get("nights"):
        from pipelines.evaluation.bench_nights import print_nights

        print_nights(console_on(sys.stdout), result["nights"])
    console.print(f"bench {args.scale} done in {time.perf_counter() - started:.0f}s; wrote {json_path}"
                  f" ({len(PHASES)} phases)")
    return 0
