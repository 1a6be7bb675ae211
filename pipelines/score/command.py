"""The tail both score commands share (python -m pipelines.score.train / .risk_list):
log to the terminal, run, print the result as JSON, or one line of error and exit 1."""

from __future__ import annotations

import json
import logging
import sys
from typing import Callable


def run_command(call: Callable[[], dict], errors: tuple[type[BaseException], ...]) -> int:
    from pipelines.warehouse import WarehouseError  # a missing or locked warehouse is one line too

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = call()
    except (WarehouseError, *errors) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0
