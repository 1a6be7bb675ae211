"""Publishing what changed (issue #17): a published file is rewritten only where its content changed.

The warehouse is tests/outputs_builder.py's (two townships, T1 and T2, May and June
scored by hand), copied per test; lists are written and the role copies published as
the nightly run does, with the real DuckDB, xlsxwriter and openpyxl. A file left as it
was keeps its inode, mtime and bytes; a rewritten one is a new inode swapped in.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.publish import lists as lists_module
from pipelines.publish import roles as roles_module
from pipelines.publish.lists import write_lists
from pipelines.publish.published import files_summary
from pipelines.publish.role_paths import analyst_copy_path, township_copy_path
from pipelines.publish.roles import publish_role_copies
from pipelines.warehouse import publish_query_copy, warehouse
from tests.outputs_builder import JUNE, T1, T2
from tests.worlds import copy_file


def night(wh: Path, out: Path) -> dict:
    """The publish step of a night: June's lists written again, then the copies (nightly.publish_outputs)."""
    lists = write_lists(wh, out, JUNE, actor="tester")
    publish_query_copy(wh)
    roles = publish_role_copies(wh)
    return files_summary(lists, roles)


def files(wh: Path, out: Path) -> dict[str, Path]:
    found = {"analyst": analyst_copy_path(wh)}
    for t in (T1, T2):
        found[f"{t}.xlsx"] = out / JUNE.isoformat() / t[:6] / f"{t}.xlsx"
        found[f"{t}.csv"] = out / JUNE.isoformat() / t[:6] / f"{t}.csv"
        found[f"{t}.duckdb"] = township_copy_path(wh, t)
    return found


def state(wh: Path, out: Path) -> dict[str, tuple]:
    """Each published file's inode, mtime and bytes."""
    return {k: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for k, p in files(wh, out).items()}


def intact(wh: Path, out: Path) -> None:
    """Every published file opens: the workbooks in openpyxl, the DuckDB files in DuckDB."""
    for name, path in files(wh, out).items():
        if name.endswith(".xlsx"):
            assert openpyxl.load_workbook(path, read_only=True).sheetnames[0] == "风险名单"
        elif name.endswith(".csv"):
            assert path.read_text(encoding="utf-8-sig").startswith("变化,")
        else:
            duckdb.connect(str(path), read_only=True).close()


@pytest.fixture
def published(outputs_warehouse, tmp_path):
    wh = copy_file(outputs_warehouse, tmp_path)
    out = tmp_path / "out"
    first = night(wh, out)
    assert first["lists"] == {"rewritten": 2, "kept": 0}  # written for the first time
    assert first["analyst"]["rewritten"] == 1 and first["township"] == {"rewritten": 2, "kept": 0}
    return wh, out


def test_a_second_night_with_no_new_data_rewrites_nothing(published, monkeypatch):
    """Nothing new: no file is rewritten, and the township files' stage is not even built
    (the hash of everything they are selected from is the one recorded with them)."""
    wh, out = published
    before = state(wh, out)

    def no_stage(con):
        raise AssertionError("staged although nothing the township files read changed")

    monkeypatch.setattr(roles_module, "stage_townships", no_stage)
    assert night(wh, out) == {"lists": {"rewritten": 0, "kept": 2}, "analyst": {"rewritten": 0, "kept": 1},
                              "township": {"rewritten": 0, "kept": 2}, "query_copy": {"rewritten": 1, "kept": 0},
                              "report": {"rewritten": 1, "kept": 0}}
    assert state(wh, out) == before
    with warehouse(wh, read_only=True) as con:  # every file is recorded, with the bytes it holds
        rows = con.execute("SELECT kind, count(*) FROM audit.published_files GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("analyst", 1), ("list_csv", 2), ("list_xlsx", 2), ("township", 2), ("township_inputs", 1)]


def test_a_change_in_one_township_rewrites_its_files_and_the_analyst_copy_only(published):
    wh, out = published
    before = state(wh, out)
    with warehouse(wh) as con:  # T1's listed households score a little lower: its list shows it
        changed = con.execute("UPDATE mart.risk_list SET risk_score = risk_score * 0.99 WHERE as_of_date = ?"
                              " AND township_code = ? AND risk_level IN ('高', '中')", [JUNE, T1]).fetchall()[0][0]
    assert changed > 0
    again = night(wh, out)
    assert again["lists"] == {"rewritten": 1, "kept": 1}
    assert again["analyst"] == {"rewritten": 1, "kept": 0} and again["township"] == {"rewritten": 1, "kept": 1}
    after = state(wh, out)
    for name in ("analyst", f"{T1}.xlsx", f"{T1}.csv", f"{T1}.duckdb"):
        assert after[name][0] != before[name][0] and after[name][2] != before[name][2], name
    for name in (f"{T2}.xlsx", f"{T2}.csv", f"{T2}.duckdb"):
        assert after[name] == before[name], name
    intact(wh, out)
    with warehouse(wh, read_only=True) as con:  # T2's rows still point at the export that wrote its file
        exports = con.execute("SELECT township_code, count(DISTINCT export_id) FROM mart.listed_households"
                              " WHERE as_of_date = ? GROUP BY 1 ORDER BY 1", [JUNE]).fetchall()
        written = con.execute("SELECT township_code, count(*) FROM audit.list_exports WHERE as_of_date = ?"
                              " GROUP BY 1 ORDER BY 1", [JUNE]).fetchall()
    assert exports == [(T1, 1), (T2, 1)] and written == [(T1, 2), (T2, 1)]


def test_a_deleted_or_truncated_file_is_rebuilt_though_its_hash_matches(published):
    wh, out = published
    paths = files(wh, out)
    for name in (f"{T2}.duckdb", "analyst"):  # nothing else changes: their hashes still match
        os.truncate(paths[name], paths[name].stat().st_size // 2)
    t1 = state(wh, out)[f"{T1}.duckdb"]
    again = night(wh, out)
    assert again["lists"] == {"rewritten": 0, "kept": 2}
    assert again["analyst"] == {"rewritten": 1, "kept": 0} and again["township"] == {"rewritten": 1, "kept": 1}
    assert state(wh, out)[f"{T1}.duckdb"] == t1
    intact(wh, out)
    paths[f"{T1}.xlsx"].unlink()
    os.truncate(paths[f"{T2}.csv"], 10)
    assert night(wh, out)["lists"] == {"rewritten": 2, "kept": 0}  # a list is its workbook and its CSV
    intact(wh, out)


def test_a_crash_after_the_rename_leaves_a_state_the_next_night_repairs(outputs_warehouse, tmp_path, monkeypatch):
    """The files are swapped in, then the run dies before their hashes are recorded: the next
    night finds no matching record and rewrites them; the night after leaves them alone."""
    wh = copy_file(outputs_warehouse, tmp_path)
    out = tmp_path / "out"

    def crash(*args, **kwargs):
        raise RuntimeError("killed after the rename")

    real_build = roles_module.build_township_copy

    def build_then_crash(con, target, township, staged=None):
        built = real_build(con, target, township, staged)
        if township == T1:
            crash()
        return built

    monkeypatch.setattr(lists_module, "record", crash)
    with pytest.raises(RuntimeError, match="killed after the rename"):
        write_lists(wh, out, JUNE, actor="tester")
    assert files(wh, out)[f"{T1}.xlsx"].is_file()  # renamed into place, not recorded
    monkeypatch.undo()
    monkeypatch.setattr(roles_module, "build_township_copy", build_then_crash)
    write_lists(wh, out, JUNE, actor="tester")
    publish_query_copy(wh)
    with pytest.raises(RuntimeError, match="killed after the rename"):
        publish_role_copies(wh)
    with warehouse(wh, read_only=True) as con:  # the files in place are recorded, but T1's
        kinds = con.execute("SELECT kind, count(*) FROM audit.published_files GROUP BY 1 ORDER BY 1").fetchall()
        townships = con.execute("SELECT path FROM audit.published_files WHERE kind = 'township'").fetchall()
    assert kinds == [("analyst", 1), ("list_csv", 2), ("list_xlsx", 2), ("township", 1)]
    assert townships == [(str(township_copy_path(wh, T2).resolve()),)] and township_copy_path(wh, T1).is_file()
    monkeypatch.undo()
    before = state(wh, out)
    repaired = night(wh, out)
    assert repaired["township"] == {"rewritten": 1, "kept": 1} and repaired["analyst"]["kept"] == 1
    after = state(wh, out)
    assert after[f"{T1}.duckdb"][0] != before[f"{T1}.duckdb"][0] and after[f"{T2}.duckdb"] == before[f"{T2}.duckdb"]
    intact(wh, out)
    assert night(wh, out)["township"] == {"rewritten": 0, "kept": 2}


def _tables_of(path: Path) -> dict[str, list]:
    """Every table of a DuckDB file, its rows sorted (the file's own contents record aside)."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()"
                            " WHERE table_name <> 'copy_contents' ORDER BY 1").fetchall()
        macros = con.execute("SELECT schema_name, function_name FROM duckdb_functions()"
                             " WHERE function_type LIKE '%macro%' AND NOT internal ORDER BY 1, 2").fetchall()
        found = {n: sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for (n,) in names}
    return {**found, "macros": macros}


def test_a_small_change_patches_the_analyst_copy_to_what_a_whole_build_holds(published, tmp_path):
    """Tonight's alerts changed, nothing else: the analyst file is yesterday's with that one
    table written again (a new file swapped in all the same), identities scrubbed in it
    as in a whole build, and it holds what a file built whole holds."""
    from pipelines.publish.analyst_copy import PATCHED, WHOLE, build_analyst_copy

    wh, out = published
    planted = "110101199003071234"  # an ID written where none belongs
    with warehouse(wh) as con:
        con.execute("INSERT INTO audit.alerts VALUES (current_timestamp::TIMESTAMP, 'warning', 'test', 'mz', NULL, ?)",
                    [f"checked {planted} by hand"])
    before = state(wh, out)["analyst"]
    publish_query_copy(wh)
    roles = publish_role_copies(wh)
    assert roles["analyst_written"] == PATCHED and roles["files"]["analyst"] == {"rewritten": 1, "kept": 0}
    path = analyst_copy_path(wh)
    assert path.stat().st_ino != before[0]  # swapped in, never written in place
    patched = _tables_of(path)
    assert [r[-1] for r in patched["audit.alerts"] if "110101" in r[-1]] == ["checked 110101********1234 by hand"]
    with roles_module.source(publish_query_copy(wh)) as con:
        assert build_analyst_copy(con, tmp_path / "whole.duckdb") == WHOLE
    assert patched == _tables_of(tmp_path / "whole.duckdb")


def test_changed_and_deleted_rows_patch_the_analyst_copy_to_what_a_whole_build_holds(published, tmp_path, caplog):
    """A history table with one row changed (an ID planted in it) and one row deleted is
    patched by those rows alone; the file holds what a whole build holds."""
    from pipelines.publish.analyst_copy import PATCHED, WHOLE, build_analyst_copy

    wh, _ = published
    planted = "110101199003071234"
    with warehouse(wh) as con:
        (events,), = con.execute("SELECT count(*) FROM core.change_events").fetchall()
        assert events >= 4  # one changed and one deleted row stay under the table's half
        con.execute("UPDATE core.change_events SET detail = ? WHERE rowid = (SELECT min(rowid) FROM"
                    " core.change_events)", [f"see {planted}"])
        con.execute("DELETE FROM core.change_events WHERE rowid = (SELECT max(rowid) FROM core.change_events)")
    publish_query_copy(wh)
    with caplog.at_level("INFO", logger="pipelines.publish.analyst_copy"):
        roles = publish_role_copies(wh)
    assert roles["analyst_written"] == PATCHED
    assert "tables written (1 of them by their changed rows only)" in caplog.text  # not the table whole
    patched = _tables_of(analyst_copy_path(wh))
    assert len(patched["core.change_events"]) == events - 1
    assert [r for r in patched["core.change_events"] if any("110101" in str(v) for v in r)] != []
    assert not [r for r in patched["core.change_events"] if any(planted in str(v) for v in r)]
    with roles_module.source(publish_query_copy(wh)) as con:
        assert build_analyst_copy(con, tmp_path / "whole.duckdb") == WHOLE
    assert patched == _tables_of(tmp_path / "whole.duckdb")


def test_the_analyst_copy_is_built_whole_when_yesterdays_cannot_be_patched(published, monkeypatch):
    """Yesterday's file is mostly free space, or not the one written: built whole."""
    from pipelines.publish import analyst_copy
    from pipelines.publish.analyst_copy import WHOLE

    wh, out = published
    with warehouse(wh) as con:
        con.execute("INSERT INTO audit.alerts VALUES (current_timestamp::TIMESTAMP, 'warning', 'test', 'mz', NULL, 'a')")
    publish_query_copy(wh)
    monkeypatch.setattr(analyst_copy, "FREE_SHARE", 0.0)  # any file is "mostly free"
    assert publish_role_copies(wh)["analyst_written"] == WHOLE
    monkeypatch.undo()
    with warehouse(wh) as con:
        con.execute("INSERT INTO audit.alerts VALUES (current_timestamp::TIMESTAMP, 'warning', 'test', 'mz', NULL, 'b')")
    publish_query_copy(wh)
    path = analyst_copy_path(wh)
    with open(path, "r+b") as f:  # yesterday's bytes are not those recorded
        f.seek(path.stat().st_size - 1)
        f.write(b"\x01")
    assert publish_role_copies(wh)["analyst_written"] == WHOLE
    intact(wh, out)


@pytest.mark.parametrize("change", [
    # a table cut by a named query over another table (township_change_events.sql)
    "UPDATE core.change_events SET detail = coalesce(detail, '') || ' (re-dated)' WHERE household_id IN"
    " (SELECT household_id FROM core.household_history WHERE township_code = '{t}')",
    # a column no analyst sees: a person's name, in the restricted identities the township files show
    "UPDATE restricted.person_identity SET name = name || '之' WHERE person_key IN (SELECT head_key"
    " FROM core.household_history WHERE township_code = '{t}')",
])
def test_any_change_township_files_read_is_seen_without_a_stage(published, change):
    """The folder's hash covers every object the township files are cut from: a change
    in one of them stages, hashes and rewrites the files it shows in (T1's, and T2's
    where a household of T1 lived there too)."""
    wh, out = published
    before = state(wh, out)[f"{T1}.duckdb"]
    with warehouse(wh) as con:
        assert con.execute(change.format(t=T1)).fetchall()[0][0] > 0
    again = night(wh, out)
    assert again["township"]["rewritten"] >= 1 and state(wh, out)[f"{T1}.duckdb"][2] != before[2]
