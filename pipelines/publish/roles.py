"""Who may read what: one published DuckDB file per role, guarded by OS file permissions.

`publish_role_copies` builds the analyst's file and one file per township from the
administrator's copy, each swapped in whole (docs/security.md: the roles, the files, the modes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.config import duckdb_memory_limit
from pipelines.publish.analyst_copy import build_analyst_copy
from pipelines.publish.role_paths import (
    ADMIN_MODE, ANALYST_GROUP_ENV, CASEWORKER_GROUP_ENV, TOWNSHIP_DIR_MODE, RoleError, analyst_copy_path, protect,
    sql_string, township_copy_path, township_dir,
)
from pipelines.publish.township_copies import build_township_copy, list_townships, stage, stage_townships
from pipelines.warehouse import query_copy_path

log = logging.getLogger(__name__)

ROLE_WORKERS_ENV = "DIBAO_ROLE_WORKERS"


def publish_role_copies(warehouse: Path) -> dict:
    """Build the analyst file and one file per township from the administrator's copy."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    admin = query_copy_path(warehouse)
    if not admin.is_file():
        raise RoleError(f"no administrator copy {admin}: publish_query_copy first")
    protect(admin, ADMIN_MODE, None)
    if warehouse.is_file():
        protect(warehouse, ADMIN_MODE, None)  # the live file holds everything too
    shared = [v for v in (ANALYST_GROUP_ENV, CASEWORKER_GROUP_ENV) if os.environ.get(v)]
    if shared and not os.stat(warehouse.parent).st_mode & 0o011:
        log.warning("%s is set but %s is not traversable by group or others: nobody else can open the "
                    "role copies (chmod o+x or g+x the folder)", shared[0], warehouse.parent)
    folder = township_dir(warehouse)
    folder.mkdir(exist_ok=True)
    os.chmod(folder, TOWNSHIP_DIR_MODE)  # caseworkers may open their own file by name, not list the others
    with source(admin) as con:
        build_analyst_copy(con, analyst_copy_path(warehouse))
        townships = list_townships(con)
        with stage(con, warehouse):  # one pass over the warehouse, not one per township
            staged = stage_townships(con)
            _build_townships(con, warehouse, townships, staged)
    stale = [p for p in folder.glob("*.duckdb") if p.stem not in set(townships)]
    for path in stale:  # a township no longer in the data keeps no old copy of its people
        path.unlink(missing_ok=True)
    summary = {"analyst": str(analyst_copy_path(warehouse)), "township_dir": str(folder),
               "townships": len(townships), "removed": len(stale),
               "seconds": round(time.perf_counter() - started, 2)}
    log.info("role copies published: analyst + %d townships in %.1fs", len(townships), summary["seconds"])
    return summary


def role_workers() -> int:
    """Township files built at once (`DIBAO_ROLE_WORKERS`, default: the machine's cores, at most 4)."""
    raw = os.environ.get(ROLE_WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise RoleError(f"{ROLE_WORKERS_ENV} must be a whole number of at least 1, got {raw!r}")
        return int(raw)
    return max(1, min(4, os.cpu_count() or 1))


def _build_townships(con: duckdb.DuckDBPyConnection, warehouse: Path, townships: list[str],
                     staged: list[tuple[str, str, str]]) -> None:
    """Each township's file on its own cursor, `role_workers()` at a time: a file's cost
    is mostly fixed (attach, commit, checkpoint), which DuckDB runs outside the GIL,
    so threads overlap them."""
    total, done = len(townships), 0
    lock = threading.Lock()

    def one(township: str) -> None:
        nonlocal done
        cursor = con.cursor()  # its own connection to the same database: `src` and the stage attached
        try:
            build_township_copy(cursor, township_copy_path(warehouse, township), township, staged)
        finally:
            cursor.close()
        with lock:
            done += 1
            if done % 25 == 0 or done == total:
                log.info("township files: %d/%d", done, total)

    with ThreadPoolExecutor(max_workers=role_workers(), thread_name_prefix="township") as pool:
        for _ in pool.map(one, townships):  # re-raises the first failure
            pass


@contextmanager
def source(admin_copy: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection with the administrator's copy attached read-only as `src`;
    it spills past the memory limit into `<copy>.tmp`, as a file-backed one would."""
    try:
        config = {"memory_limit": duckdb_memory_limit(), "temp_directory": f"{admin_copy}.tmp"}
    except ValueError as exc:
        raise RoleError(str(exc)) from None
    con = duckdb.connect(config=config)
    try:
        con.execute(f"ATTACH '{sql_string(admin_copy)}' AS src (READ_ONLY)")
        yield con
    finally:
        con.close()
