"""Helpers for the shared worlds of tests/conftest.py (docs/testing.md)."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_file(source: Path, folder: Path, name: str = "w.duckdb") -> Path:
    """A private copy of a shared warehouse file, for a test or module that writes to it.

    Cheap: the shared warehouses are a few MB. Anything a run writes beside the
    warehouse (published copies, staged folders) then lands in `folder`, not in the
    shared world's."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copyfile(source, target)
    return target
