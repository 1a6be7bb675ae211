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
from pipelines.publish.analyst_copy import analyst_contents, build_analyst_copy
from pipelines.publish.published import (
    ANALYST, TOWNSHIP, TOWNSHIP_INPUTS, entry, folder_entry, intact, is_current, record_in, recorded_in, tally,
)
from pipelines.publish.role_paths import (
    ADMIN_MODE, ANALYST_GROUP_ENV, CASEWORKER_GROUP_ENV, ROLE_MODE, TOWNSHIP_DIR_MODE, RoleError, analyst_copy_path,
    protect, sql_string, township_copy_path, township_dir,
)
from pipelines.publish.township_copies import (
    build_township_copy, list_townships, stage, stage_townships, township_hashes, township_inputs,
)
from pipelines.runtime.progress import report
from pipelines.runtime.workers import workers_from_env
from pipelines.warehouse import query_copy_path

log = logging.getLogger(__name__)

ROLE_WORKERS_ENV = "DIBAO_ROLE_WORKERS"


def publish_role_copies(warehouse: Path) -> dict:
    """Build the analyst file and one file per township from the administrator's copy;
    each only where its content changed since it was last written (published.py)."""
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
    records = recorded_in(warehouse, (ANALYST, TOWNSHIP, TOWNSHIP_INPUTS))
    written: list[list] = []  # recorded even when a later file fails: those are in place
    try:
        with source(admin) as con:
            analyst = _publish_analyst(con, analyst_copy_path(warehouse), records, written)
            townships = list_townships(con)
            inputs = township_inputs(con)
            todo = [] if _all_current(warehouse, folder, townships, inputs, records) else None
            if todo is None:
                with stage(con, warehouse):  # one pass over the warehouse, not one per township
                    staged = stage_townships(con)
                    hashes = township_hashes(con, staged, townships)
                    todo = [t for t in townships
                            if not _current(township_copy_path(warehouse, t), hashes[t], records, t)]
                    _build_townships(con, warehouse, todo, staged, hashes, written)
            written.append(folder_entry(TOWNSHIP_INPUTS, folder, inputs))  # every file now holds them
    finally:
        record_in(warehouse, written)
    stale = [p for p in folder.glob("*.duckdb") if p.stem not in set(townships)]
    for path in stale:  # a township no longer in the data keeps no old copy of its people
        path.unlink(missing_ok=True)
    summary = {"analyst": str(analyst_copy_path(warehouse)), "analyst_written": analyst or "unchanged",
               "township_dir": str(folder),
               "townships": len(townships), "removed": len(stale),
               "files": {ANALYST: tally(int(bool(analyst)), int(not analyst)),
                         TOWNSHIP: tally(len(todo), len(townships) - len(todo))},
               "seconds": round(time.perf_counter() - started, 2)}
    log.info("role copies published in %.1fs: analyst %s, township files %d rewritten, %d unchanged",
             summary["seconds"], f"rewritten ({analyst})" if analyst else "unchanged", len(todo),
             len(townships) - len(todo))
    return summary


def _all_current(warehouse: Path, folder: Path, townships: list[str], inputs: str, records: dict) -> bool:
    """Every township file was built from these very inputs and is still the bytes written
    then: nothing to stage or hash (a night with nothing new). They get tonight's group
    and mode all the same."""
    last = records.get(str(folder.resolve()))
    paths = {t: township_copy_path(warehouse, t) for t in townships}
    if last is None or last.content_hash != inputs or not all(intact(p, records) for p in paths.values()):
        return False
    for township, path in paths.items():
        protect(path, ROLE_MODE, CASEWORKER_GROUP_ENV, township)
    return True


def _current(path: Path, content_hash: str, records: dict, township: str | None = None) -> bool:
    """The file already holds this content; it gets tonight's group and mode all the same."""
    if not is_current(path, content_hash, records):
        return False
    protect(path, ROLE_MODE, CASEWORKER_GROUP_ENV if township else ANALYST_GROUP_ENV, township)
    return True


def _publish_analyst(con: duckdb.DuckDBPyConnection, target: Path, records: dict, written: list[list]) -> str | None:
    """Rebuild the analyst file if its content changed, or patch yesterday's where that is
    still the file written then; how it was rewritten (whole, patched), None if it was not."""
    contents = analyst_contents(con)
    if _current(target, contents.digest, records):
        return None
    how = build_analyst_copy(con, target, contents, previous=target if intact(target, records) else None)
    written.append(entry(ANALYST, target, contents.digest))
    return how


def role_workers() -> int:
    """Township files built at once (`DIBAO_ROLE_WORKERS`, default: the machine's cores, at most 4)."""
    return workers_from_env(ROLE_WORKERS_ENV, RoleError)


def _build_townships(con: duckdb.DuckDBPyConnection, warehouse: Path, townships: list[str],
                     staged: list[tuple[str, str, str]], hashes: dict[str, str], written: list[list]) -> None:
    """Each township's file on its own cursor, `role_workers()` at a time: a file's cost
    is mostly fixed (attach, commit, checkpoint), which DuckDB runs outside the GIL,
    so threads overlap them."""
    total, done = len(townships), 0
    report("township files", 0, total)
    lock = threading.Lock()

    def one(township: str) -> None:
        nonlocal done
        cursor = con.cursor()  # its own connection to the same database: `src` and the stage attached
        try:
            path = build_township_copy(cursor, township_copy_path(warehouse, township), township, staged)
        finally:
            cursor.close()
        made = entry(TOWNSHIP, path, hashes[township])  # after the rename: the bytes now in place
        with lock:
            written.append(made)
            done += 1
            report("township files", done, total)

    # One DuckDB thread per statement while the files are built: the builders already keep
    # the cores busy, and splitting each small statement over them only adds scheduling
    # (141 city files: 10.5 -> 9.5-9.7 s wall, 19.4 -> 17.7-18.2 s CPU; docs/benchmarks.md).
    workers = role_workers()
    (threads,), = con.execute("SELECT current_setting('threads')").fetchall()
    if workers > 1:
        con.execute("SET threads = 1")
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="township") as pool:
            for _ in pool.map(one, townships):  # re-raises the first failure
                pass
    finally:
        con.execute(f"SET threads = {int(threads)}")


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
