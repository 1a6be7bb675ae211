"""Whether this run is CI: tests that need something a developer's machine may lack (root,
servers, desktop programs) skip there and fail under CI, so CI cannot pass by skipping."""

from __future__ import annotations

import os


def ci_required(*flags: str) -> bool:
    """True when `CI` or any of `flags` is set to something other than empty, 0, false or no."""
    values = [os.environ.get(name, "") for name in ("CI", *flags)]
    return any(v.strip().lower() not in ("", "0", "false", "no") for v in values)
