"""What every `dibao` command shares: the one-line error, the argument parser
class and types, and rich console output with progress bars."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import date
from pathlib import Path


class CliError(Exception):
    """A bad argument or input: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + error; we print one line
        raise CliError(f"{self.prog}: {message} (see {self.prog.split()[0]} --help)")


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value!r}")
    return n


def warehouse_problem(path: Path, look_inside: bool = True) -> str | None:
    """Why `path` cannot be a dibao warehouse, or None (also when it does not exist yet).
    A DuckDB file of someone else's is refused rather than filled with the warehouse's tables.
    Readers pass `look_inside=False`: opening the live file, even read-only, takes a lock
    that would stop a night from writing it (they read the published copies only)."""
    if not path.exists():
        return None
    if path.is_dir():
        return f"{path} is a folder, expected a DuckDB file"
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:  # not ours to read (another role's file): the caller's own error says why
        return None
    if head and head[8:12] != b"DUCK":
        return f"{path} is not a DuckDB database file"
    if not look_inside:
        return None
    import duckdb

    from pipelines.warehouse import foreign

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:  # held by a running night: that one knows it is a warehouse
        return None
    try:
        if foreign(con):
            return f"{path} is a DuckDB database but not a dibao warehouse (no audit.schema_migrations): left as it is"
    finally:
        con.close()
    return None


def json_safe(value):
    """NaN and ±Infinity are not JSON: they are written as null (in lists and structs too)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def console_on(file=None):
    from rich.console import Console

    stream = file or sys.stderr
    # Piped to a file or CI log, rich would assume 80 columns and crush the tables.
    width = None if getattr(stream, "isatty", lambda: False)() else 160
    return Console(file=file, stderr=file is None, highlight=False, width=width)


class Bars:
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
