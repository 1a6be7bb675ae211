"""How many files a publishing step builds at once: a setting per step, the cores by default."""

from __future__ import annotations

import os

MAX_DEFAULT = 4  # the default never asks for more, whatever the machine


def workers_from_env(name: str, error: type[Exception]) -> int:
    """The whole number (at least 1) in environment variable `name`, else the machine's
    cores up to MAX_DEFAULT; anything else raises `error` with a one-line message."""
    raw = os.environ.get(name, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise error(f"{name} must be a whole number of at least 1, got {raw!r}")
        return int(raw)
    return max(1, min(MAX_DEFAULT, os.cpu_count() or 1))
