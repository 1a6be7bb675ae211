"""Content fingerprints shared by publishing and scoring: a digest of values, and the
version of the code that shapes an output (what decides whether it must be made again)."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import duckdb


def digest(*parts) -> str:
    """sha256 of the parts' reprs, in order."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def layout_version(*sources) -> str:
    """What shapes a file besides its rows: the source of the given modules or files, and
    DuckDB's version (a new one may store the same rows differently)."""
    texts = [p.read_text(encoding="utf-8") if isinstance(p, Path) else p if isinstance(p, str)
             else inspect.getsource(p) for p in sources]
    return digest(duckdb.__version__, *texts)
