"""The landing folder: which deliveries are complete, and what each one holds.

`<landing>/<source>/<YYYY-MM-DD>/<file>.{csv,xlsx}` plus `_READY`, written last.
A folder without `_READY` is still being written and is never touched.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import stat
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from pipelines.sources.contract import SOURCES
from pipelines.sources.digests import DigestCache, stat_key

log = logging.getLogger(__name__)

READY = "_READY"
DATA_SUFFIXES = (".csv", ".xlsx")


class LandingError(Exception):
    """The landing folder itself is unusable (missing, not a folder)."""


@dataclass
class Delivery:
    """One complete delivery folder, with content hashes taken at discovery."""

    source: str
    extract_date: date
    folder: str  # absolute path
    rel: str  # <source>/<YYYY-MM-DD>
    files: dict[str, str | None] = field(default_factory=dict)  # data file name -> sha256 (None: not a regular file)
    content_sha256: str = ""
    ready_sha256: str = ""

    @property
    def path(self) -> Path:
        return Path(self.folder)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["extract_date"] = self.extract_date.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Delivery":
        return cls(**{**d, "extract_date": date.fromisoformat(d["extract_date"])})


class NotRegularFile(OSError):
    """A landing entry that is a symlink, pipe, device or folder: never followed or read."""


def sha256_file(path: Path, cache: DigestCache | None = None) -> str:
    """SHA-256 of a regular file. The file is opened without following a symlink and
    without blocking, and must be a regular file once open: a named pipe called
    `members.csv` would otherwise hang discovery, and a symlink could read outside
    the landing folder. With `cache`, a file whose stat is unchanged is not read again."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(f"{Path(path).name} is a symbolic link") from None
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{Path(path).name} is not a regular file")
        key = stat_key(st)
        known = cache.get(str(path), key) if cache is not None else None
        if known is not None:
            return known
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if cache is not None:
        cache.put(str(path), key, h.hexdigest())
    return h.hexdigest()


def shown_name(name: str) -> str:
    """A file or folder name as text a table, a log or JSON can hold. Linux hands a name that
    is not UTF-8 over with surrogate escapes (a zip made on Windows unpacks GBK names), and
    storing one failed the night, and every night after, until the file was removed by hand.
    Such a name reads as GB18030 when it is that, else with replacement characters."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def data_files(folder: Path) -> list[Path]:
    """Data files of a delivery folder, by name, whatever they are: a symlink, pipe or
    folder named like a data file is listed too, so that its delivery is rejected
    with the reason (pipelines.ingest.readers refuses to read it), never silently passed over."""
    return sorted(
        p for p in folder.iterdir()
        if p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith((".", "~$"))
    )


def _digest_or_none(path: Path, cache: DigestCache | None = None) -> str | None:
    """The file's SHA-256, or None for an entry that is not a regular file."""
    try:
        return sha256_file(path, cache)
    except OSError:  # not a regular file, or unreadable: the reader rejects it with the reason
        return None


def describe(source: str, folder: Path, landing: Path, cache: DigestCache | None = None) -> Delivery:
    files = {shown_name(p.name): _digest_or_none(p, cache) for p in data_files(folder)}
    content = hashlib.sha256(  # names as the contract matches them: `Disability.CSV` is disability.csv
        "".join(f"{name}\0{digest}\n" for name, digest in sorted((n.lower(), d) for n, d in files.items())).encode()
    ).hexdigest()
    return Delivery(
        source=source,
        extract_date=date.fromisoformat(folder.name),
        folder=str(folder.resolve()),
        rel=folder.relative_to(landing).as_posix(),
        files=files,
        content_sha256=content,
        ready_sha256=sha256_file(folder / READY),
    )


def parse_folder_date(name: str) -> date | None:
    try:
        d = date.fromisoformat(name)
    except ValueError:
        return None
    return d if d.isoformat() == name else None


REFUSED = "delivery refused"  # ends a note on a folder the pipeline will not read: alerted


def discover(landing: Path, until: date | None = None,
             digests: Path | None = None) -> tuple[list[Delivery], list[str]]:
    """Complete deliveries with extract date <= until, in date order (mz, cl, rs within a date).

    Returns the deliveries and one-line notes about folders passed over
    (incomplete, badly named), for the run report. With `digests`, a cache file of the
    data files' digests (digests.py): only new or changed files are read.
    """
    cache = DigestCache(digests) if digests is not None else None
    landing = Path(landing)
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist or is not a folder")
    found: list[Delivery] = []
    notes: list[str] = []
    for source in SOURCES:
        root = landing / source
        try:
            if root.is_symlink():  # nothing outside the landing folder is read
                notes.append(f"{source}: is a symbolic link, not followed (deliveries must lie inside the landing"
                             f" folder), {REFUSED}")
                continue
            if not root.is_dir():
                continue
            folders = sorted(root.iterdir())
        except OSError as exc:  # a folder the pipeline may not enter: the other sources still load
            notes.append(f"{source}: cannot be read ({exc.strerror or exc}), {REFUSED}")
            continue
        for folder in folders:
            try:
                seen = _look(source, folder, until, landing, cache)
            except OSError as exc:  # one unreadable folder must not stop the others
                seen = f"{source}/{folder.name}: cannot be read ({exc.strerror or exc}), {REFUSED}"
            if isinstance(seen, Delivery):
                found.append(seen)
            elif seen:
                notes.append(seen)
    order = {s: i for i, s in enumerate(SOURCES)}
    found.sort(key=lambda x: (x.extract_date, order[x.source]))
    if cache is not None:
        cache.save()
    for n in notes:
        log.info(n)
    return found, notes


def _look(source: str, folder: Path, until: date | None, landing: Path, cache) -> Delivery | str | None:
    """The folder's delivery if it is one to load; else why not (None: nothing to say)."""
    if folder.is_symlink():
        return f"{source}/{folder.name!r}: a symbolic link, not followed, {REFUSED}"
    if not folder.is_dir():
        return None
    d = parse_folder_date(folder.name)
    if d is None:
        return f"{source}/{folder.name!r}: not a YYYY-MM-DD folder, ignored"
    if until is not None and d > until:
        return None
    ready = folder / READY
    if ready.is_symlink() or (ready.exists() and not ready.is_file()):
        return f"{source}/{folder.name}: {READY} is not a regular file (symlink, pipe or folder), {REFUSED}"
    if not ready.is_file():
        return f"{source}/{folder.name}: no {READY} yet (incomplete), skipped"
    return describe(source, folder, landing, cache)  # OSError: _READY swapped or unreadable since


def refused(notes: list[str]) -> list[str]:
    """The notes on folders that hold, or may hold, a delivery the pipeline will not read."""
    return [n for n in notes if n.endswith(REFUSED)]


def misnamed_deliveries(landing: Path) -> list[str]:
    """`source/folder` of every folder that holds a `_READY` but is not named by a date
    (`rs/2024-3-31`, `mz/2024-13-31`): a delivery nobody will load until it is renamed."""
    found = []
    for source in SOURCES:
        root = Path(landing) / source
        try:
            folders = sorted(root.iterdir()) if root.is_dir() and not root.is_symlink() else []
        except OSError:  # discovery notes an unreadable folder
            continue
        for f in folders:
            try:
                if (f.is_dir() and not f.is_symlink() and parse_folder_date(f.name) is None
                        and (f / READY).is_file()):
                    found.append(f"{source}/{shown_name(f.name)}")
            except OSError:
                continue
    return found


def read_ready_counts(folder: Path) -> dict[str, int] | None:
    """Row counts from `_READY`, or None when the marker is empty.

    Raises ValueError with a one-line reason when the marker is not the
    contract's JSON.
    """
    text = (folder / READY).read_bytes().decode("utf-8-sig", errors="replace").strip()
    if not text:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"_READY is neither empty nor JSON ({exc.msg})") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0 for k, v in files.items()
    ):
        raise ValueError('_READY JSON must be {"files": {"<file name>": <data row count>, ...}}')
    return files
