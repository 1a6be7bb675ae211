"""Digests of landing files kept between nights, so that discovery reads only new or changed files.

Discovery hashes every data file of every delivery folder to see a same-date correction
(pipelines/sources/landing.py). Folders stay in the landing area for years, so that read
grows with history (1.6 GB at 37 months of the bench's city). A file's digest is reused
while its identity and stat are unchanged: device, inode, size, modification and change
times (nanoseconds), the quick check git's index and rsync make. Writing to a file changes
its ctime, which no tool can set back, so a rewrite with the same size and an mtime set
back is hashed again. The cache is the pipeline's own file beside the warehouse; one that
cannot be read is ignored (every file is hashed again) and replaced.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

VERSION = 1


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class DigestCache:
    """path -> (stat key, sha256) read from `path`; `save` keeps only the files looked up since."""

    def __init__(self, path: Path | None):
        self.path = path
        self.known: dict[str, tuple[list[int], str]] = {}
        self.seen: dict[str, tuple[list[int], str]] = {}
        self.hits = 0
        if path is None or not path.is_file():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == VERSION:
                self.known = {p: (list(k), str(h)) for p, (k, h) in data["files"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("landing digest cache %s unreadable (%s): every file is hashed again", path, exc)

    def get(self, file: str, key: list[int]) -> str | None:
        found = self.known.get(file)
        if found is not None and found[0] == key:
            self.hits += 1
            self.seen[file] = found
            return found[1]
        return None

    def put(self, file: str, key: list[int], digest: str) -> None:
        self.seen[file] = (key, digest)

    def save(self) -> None:
        """Write what this discovery saw (files gone since drop out), atomically."""
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for stale in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
                stale.unlink(missing_ok=True)  # left by a killed run; the nightly writer is alone
            tmp.write_text(json.dumps({"version": VERSION, "files": self.seen}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a cache never fails a night: the next one hashes again
            log.warning("landing digest cache %s not written (%s)", self.path, exc)
            tmp.unlink(missing_ok=True)
