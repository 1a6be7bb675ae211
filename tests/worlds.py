"""Helpers for the shared worlds of tests/conftest.py (docs/testing.md)."""

from __future__ import annotations

import hashlib
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


def digest(path: Path) -> str:
    """The bytes of a file, or of every file under a folder (names included): a shared world's
    fixture compares it before and after the session, so a test that wrote into it fails."""
    h = hashlib.sha256()
    for p in sorted([path] if path.is_file() else (q for q in path.rglob("*") if q.is_file())):
        h.update(str(p.relative_to(path.parent)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def unchanged(name: str, path: Path, before: str) -> None:
    assert digest(path) == before, (f"a test wrote into the shared {name} ({path}): copy it first "
                                    "(tests.worlds.copy_file, shutil.copytree; docs/testing.md)")
