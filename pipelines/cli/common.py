"""What every `dibao` command shares: the one-line error, the argument parser
class and types, and rich console output with progress bars."""

from __future__ import annotations

import argparse
import sys
from datetime import date


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
