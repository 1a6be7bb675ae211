"""The command-line tail both model diagnostics share (models/bias_checks.py,
models/feature_bound.py): --warehouse/--truth/--json, the truth folder checked before
any work, one line of error, the result as JSON or one text line per ranking.
Modelled on pipelines/score/command.py::run_command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import polars as pl


def run_diagnostic(description: str, call: Callable[[Path, Path], dict],
                   lines: Callable[[dict], Iterable[str]], argv: list[str] | None = None) -> int:
    """Exit 2 when the truth folder is not in the evaluator's format, 1 when the
    warehouse or the truth cannot be read, else 0 after printing the result."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--warehouse", required=True, type=Path)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.truth / "households.csv").exists():
        print(f"error: no households.csv in {args.truth} (the evaluator's truth format)", file=sys.stderr)
        return 2
    try:
        result = call(args.warehouse, args.truth)
    except (duckdb.Error, pl.exceptions.PolarsError, ValueError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for line in lines(result):
            print(line)
    return 0


def ranking_line(name: str, metrics: dict, width: int) -> str:
    return f"{name:{width}s} ROC AUC {metrics['roc_auc']:.3f}  precision@k {metrics['precision_at_k']:.3f}"
