"""A table patched by its changed rows holds exactly what the selection holds (row_patch.py)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publish.row_patch import PATCH_SCHEMA, finish, patch_table

OLD = [(1, "a", None), (1, "a", None), (2, "b", 2.5), (3, None, 1.0), (4, "d", 4.0), (5, "e", 5.0),
       (6, "f", 6.0), (7, "g", 7.0), (8, "h", 8.0), (9, "i", 9.0)] + [(n, "z", float(n)) for n in range(10, 30)]


def _rows(con, table):
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.t (id INTEGER, name VARCHAR, x DOUBLE)")
    con.executemany("INSERT INTO core.t VALUES (?, ?, ?)", OLD)
    con.execute("CREATE TABLE src_t AS SELECT * FROM core.t")
    yield con
    con.close()


@pytest.mark.parametrize("change", [
    "INSERT INTO src_t VALUES (10, 'j', NULL)",                     # a row added
    "DELETE FROM src_t WHERE id = 2",                                # a row gone
    "UPDATE src_t SET x = 3.5 WHERE id = 3",                         # a row changed, NULL in another column
    "DELETE FROM src_t WHERE id = 1 AND rowid = (SELECT min(rowid) FROM src_t WHERE id = 1)",  # one of two duplicates
    "INSERT INTO src_t VALUES (1, 'a', NULL), (4, 'd', 4.0)",       # one more duplicate of each
])
def test_a_patched_table_holds_what_the_selection_holds(con, change):
    con.execute(change)
    staged = patch_table(con, "core", "t", "SELECT * FROM src_t")
    assert staged == f"{PATCH_SCHEMA}.core__t"
    finish(con, {"core.t": staged})
    assert _rows(con, "core.t") == _rows(con, "src_t")
    assert not con.execute(f"SELECT * FROM duckdb_schemas() WHERE schema_name = '{PATCH_SCHEMA}'").fetchall()


def test_only_the_changed_rows_are_staged_for_the_scan(con):
    con.execute("UPDATE src_t SET name = 'B' WHERE id = 2")
    staged = patch_table(con, "core", "t", "SELECT * FROM src_t")
    assert con.execute(f"SELECT * FROM {staged}").fetchall() == [(2, "B", 2.5)]
    assert con.execute("SELECT count(*) FROM core.t").fetchall() == [(len(OLD) - 1,)]  # the old row deleted already


@pytest.mark.parametrize("change", [
    "UPDATE src_t SET x = x + 1",                                    # most rows differ
    "ALTER TABLE src_t ALTER x TYPE DECIMAL(12, 2)",                 # another type
    "ALTER TABLE src_t ADD COLUMN y INTEGER",                        # another column
])
def test_a_table_mostly_changed_or_of_another_shape_is_left_to_be_written_whole(con, change):
    con.execute(change)
    assert patch_table(con, "core", "t", "SELECT * FROM src_t") is None
    assert _rows(con, "core.t") == sorted(OLD, key=repr)  # untouched
    assert not con.execute("SELECT * FROM duckdb_tables() WHERE temporary").fetchall()
