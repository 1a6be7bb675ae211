"""Whether this run is CI: tests that need something a developer's machine may lack (root,
servers, desktop programs) skip there and fail under CI, so CI cannot pass by skipping."""

from __future__ import annotations

import os
from typing import NoReturn


def ci_required(*flags: str) -> bool:
    """True when `CI` or any of `flags` is set to something other than empty, 0, false or no."""
    values = [os.environ.get(name, "") for name in ("CI", *flags)]
    return any(v.strip().lower() not in ("", "0", "false", "no") for v in values)


def skip_outside_ci(reason: str, *flags: str) -> NoReturn:
    """Skip on a developer's machine that lacks what the test needs; fail under CI (or `flags`)."""
    import pytest

    if ci_required(*flags):
        pytest.fail(f"{reason} (CI must run this test)", pytrace=False)
    pytest.skip(reason)
