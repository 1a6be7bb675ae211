"""Who queried what: the access log of `dibao query`, imported nightly into `audit.query_log`.

Each query appends one JSON line (one `write()`, `O_APPEND`, under `flock`) to
`<warehouse>.access.log` before its rows are returned; a query whose line cannot be
written is not answered. The fields, the file's mode and group: docs/security.md, section 3.
"""

from __future__ import annotations

import fcntl
import grp
import hashlib
import json
import logging
import os
import pwd
import re
import socket
import uuid
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

LOG_MODE = 0o620
GROUP_ENV = "DIBAO_QUERY_GROUP"
MAX_SQL_CHARS = 20_000  # longer SQL is cut in the log (its SHA-256 covers the whole text)
FIELDS = ("query_id", "queried_at", "os_user", "uid", "role", "township_code", "file_read", "sql_text",
          "sql_sha256", "status", "rows", "message", "pid", "host")


class AccessLogError(Exception):
    """The access log cannot be written or read; the message is one line."""


def log_path(warehouse: Path) -> Path:
    value = os.environ.get("DIBAO_ACCESS_LOG")
    if value:
        return Path(value).expanduser()
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".access.log")


def os_user() -> tuple[str, int]:
    """The effective user: who the kernel says runs this process."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:  # no passwd entry (some containers)
        return f"uid:{uid}", uid


# A 身份证号 anywhere in a logged text, whatever letters touch it: 18 characters (and
# the two digits a 残疾人证号 adds) or an old 15-digit number, kept as its first 6 and
# last 4 characters, as everywhere outside the restricted schemas. A 64-hex key is
# left whole: its digits are no 身份证号.
_LITERAL_ID = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])([0-9]{2})?(?![0-9])")
_OLD_ID = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{5}([0-9]{4})(?![0-9])")
_HEX_KEY = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{64}(?![0-9A-Za-z])")


# Full-width digits and Ｘ spell a 身份证号 too (sources.md repairs them): read as ASCII first.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def mask_ids(text: str) -> str:
    text = text.translate(_FULL_WIDTH)
    kept, last, out = _HEX_KEY.finditer(text), 0, []
    for key in kept:
        out += [_mask(text[last:key.start()]), key.group()]
        last = key.end()
    return "".join(out + [_mask(text[last:])])


def _mask(text: str) -> str:
    text = _LITERAL_ID.sub(lambda m: f"{m[1]}********{m[2]}{m[3] or ''}", text)
    return _OLD_ID.sub(r"\1*****\2", text)


def entry(*, role: str, township: str | None, file_read: Path | None, sql: str, status: str,
          rows: int | None = None, message: str | None = None) -> dict:
    user, uid = os_user()
    masked = mask_ids(sql)  # the hash too: a digest of an id is guessable from the id's few unknown digits
    return {
        "query_id": uuid.uuid4().hex,
        "queried_at": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds"),
        "os_user": user, "uid": uid, "role": role, "township_code": township,
        "file_read": str(file_read) if file_read else None,
        "sql_text": masked[:MAX_SQL_CHARS], "sql_sha256": hashlib.sha256(masked.encode("utf-8", "replace")).hexdigest(),
        "status": status, "rows": rows, "message": (message or None) and mask_ids(message)[:500],
        "pid": os.getpid(), "host": socket.gethostname(),
    }


def record(warehouse: Path, item: dict) -> None:
    """Append one line; raise AccessLogError when it cannot be written."""
    path = log_path(warehouse)
    line = (json.dumps(item, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), LOG_MODE)
    except OSError as exc:
        raise AccessLogError(f"cannot write the access log {path}: {exc.strerror or exc}; every query is "
                             f"recorded, so none is answered without it") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, line)
        if written != len(line):
            raise AccessLogError(f"short write to the access log {path}")
    except OSError as exc:
        raise AccessLogError(f"cannot write the access log {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)  # closing releases the lock


def ensure_log(warehouse: Path) -> Path:
    """Create the log if missing and give it its mode and group (the nightly publish calls this)."""
    path = log_path(warehouse)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), LOG_MODE)
    os.close(fd)
    group = os.environ.get(GROUP_ENV)
    if group:
        try:
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
        except KeyError:
            log.warning("%s names group %r, which does not exist: only the owner can append to %s",
                        GROUP_ENV, group, path)
    os.chmod(path, LOG_MODE)
    return path


def read_entries(path: Path) -> tuple[list[dict], int]:
    """Every complete, well-formed line of the log, and how many lines were not."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise AccessLogError(f"cannot read the access log {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)  # no line is read half-written
        data = f.read()
    entries, bad = [], 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()  # a last line without its newline is still being written
    for raw in lines:
        if not raw.strip():
            continue
        try:
            item = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            bad += 1
            continue
        if not isinstance(item, dict) or not isinstance(item.get("query_id"), str) \
                or _value(item, "queried_at") is None:
            bad += 1
            continue
        entries.append({k: item.get(k) for k in FIELDS})
    return entries, bad


def import_query_log(warehouse: Path) -> dict:
    """Copy the log's new lines into audit.query_log (the nightly run, holding the writer lock)."""
    from pipelines.warehouse import insert_rows, rollback
    from pipelines.warehouse import warehouse as open_warehouse

    path = log_path(warehouse)
    entries, bad = read_entries(path)
    with open_warehouse(Path(warehouse)) as con:
        known = {q for (q,) in con.execute("SELECT query_id FROM audit.query_log").fetchall()}
        new = [e for e in entries if e["query_id"] not in known]
        new = list({e["query_id"]: e for e in new}.values())  # a line copied twice counts once
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        con.execute("BEGIN")
        try:
            insert_rows(con, f"INSERT INTO audit.query_log VALUES ({', '.join('?' * (len(FIELDS) + 1))})",
                        [[_value(e, k) for k in FIELDS] + [now] for e in new])
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    if bad:
        log.warning("access log %s: %d malformed lines not imported", path, bad)
    log.info("access log %s: %d lines, %d new imported into audit.query_log", path, len(entries), len(new))
    return {"log": str(path), "lines": len(entries), "imported": len(new), "malformed": bad}


def _value(item: dict, key: str):
    value = item.get(key)
    if key in ("uid", "rows", "pid"):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if key == "queried_at":
        try:
            return datetime.fromisoformat(str(value)) if value else None
        except ValueError:
            return None
    return None if value is None else str(value)


def pending_entries(warehouse: Path) -> list[dict]:
    """Lines of the log not in the published copy's audit.query_log yet (for administrators)."""
    entries, _ = read_entries(log_path(warehouse))
    return entries
