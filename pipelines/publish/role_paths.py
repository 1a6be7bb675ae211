"""The roles and the file each reads: the administrator's copy, the analyst's, one per township.

docs/security.md says who reads what and why the boundary is the file itself.
"""

from __future__ import annotations

import grp
import logging
import os
import re
from pathlib import Path

from pipelines.warehouse import query_copy_path

log = logging.getLogger(__name__)

ADMIN, ANALYST, CASEWORKER = "admin", "analyst", "caseworker"
ROLES = (ADMIN, ANALYST, CASEWORKER)

ADMIN_MODE, ROLE_MODE, TOWNSHIP_DIR_MODE = 0o600, 0o640, 0o711
ANALYST_GROUP_ENV, CASEWORKER_GROUP_ENV = "DIBAO_ANALYST_GROUP", "DIBAO_CASEWORKER_GROUP"

TOWNSHIP = re.compile(r"[0-9]{9}")


class RoleError(Exception):
    """A role file cannot be named, built or published; the message is one line."""


def analyst_copy_path(warehouse: Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".analyst.duckdb")


def township_dir(warehouse: Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".township")


def township_copy_path(warehouse: Path, township: str) -> Path:
    if not isinstance(township, str) or not TOWNSHIP.fullmatch(township):
        raise RoleError(f"township code must be 9 digits, got {township!r}")
    return township_dir(warehouse) / f"{township}.duckdb"


def role_file(warehouse: Path, role: str | None, township: str | None = None) -> Path:
    """The file `role` reads: always a published copy, never the live warehouse (a
    run may be writing it, and before the first publish it is half-built)."""
    role = role or ADMIN
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if role != CASEWORKER and township:
        raise RoleError("--township goes with --role caseworker only")
    if role == ADMIN:
        return query_copy_path(warehouse)
    if role == ANALYST:
        return analyst_copy_path(warehouse)
    if not township:
        raise RoleError("--role caseworker needs --township CODE (9 digits)")
    return township_copy_path(warehouse, township)


def protect(path: Path, mode: int, group_env: str | None, township: str | None = None) -> None:
    """Give `path` its mode, and the group the environment names for its readers.

    `DIBAO_CASEWORKER_GROUP` may contain `{township}` (one group per township,
    e.g. `dibao-cw-{township}`). A group that does not exist leaves the file
    readable by its owner only (0600): a wrong setting never opens it wider.
    """
    group = os.environ.get(group_env) if group_env else None
    if group and township:
        group = group.replace("{township}", township)
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            log.warning("%s names group %r, which does not exist: %s stays readable by its owner only",
                        group_env, group, path.name)
            os.chmod(path, 0o600)
            return
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def sql_string(path: Path) -> str:
    return str(path).replace("'", "''")
