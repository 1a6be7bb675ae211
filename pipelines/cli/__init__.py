"""`dibao`: the command line of the pipeline (../shared/contracts/outputs.md).

Every command exits non-zero with one human-readable line on bad input, never
with a bare traceback. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import os
import sys
import time

from pipelines import config
from pipelines.cli.common import CliError
from pipelines.cli.parser import build_parser

__all__ = ["CliError", "build_parser", "main"]


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
    except BrokenPipeError:  # `dibao query ... | head`: the reader has what it wanted
        _quiet_stdout()
        return 141  # what a shell reports for a command ended by SIGPIPE
    except Exception as exc:  # noqa: BLE001 - the contract: one line, never a bare traceback
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    """One line on the terminal; the traceback goes to a file for the data team."""
    import traceback

    log_dir = config.VAR / "logs"
    path = log_dir / f"error-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    try:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # a traceback may quote the data it failed on: readable by its owner only, as var/ is
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(exc)))
        details = f" (details in {path})"
    except OSError as err:  # a full disk or a read-only var/: the one line still goes out
        details = f" (no details: {path} could not be written: {err.strerror or err})"
    text = str(exc).strip().splitlines()
    print(f"dibao: {type(exc).__name__}: {text[0] if text else ''}{details}", file=sys.stderr)
    return 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
