"""A returned list as LibreOffice Calc saves it: the caseworker fills in the workbook the
run wrote (results typed into 核查结果 and 核查日期, which since 2026-12-07 sit before the
on-screen-only columns), Calc saves it as XLSX, or exports its first sheet as CSV, and the
feedback loader reads what Calc wrote, not what the project's own writer wrote."""

import shutil
import subprocess
from datetime import date, datetime

import pytest

from pipelines.ingest.feedback import load_feedback
from pipelines.publish.list_writer import HOUSEHOLD_SHEET
from pipelines.publish.lists import write_lists
from tests.desktop import desktop  # noqa: F401
from tests.outputs_builder import JUNE, T1
from tests.worlds import copy_file

LOADED_ON = date(2024, 7, 10)


@pytest.fixture(scope="module")
def filled(outputs_warehouse, tmp_path_factory):
    """June's list of T1 with H1 answered (不符合条件, 2024-07-03, a note), as a caseworker types it."""
    import openpyxl

    root = tmp_path_factory.mktemp("calc")
    wh = copy_file(outputs_warehouse, root)
    write_lists(wh, root / "out", JUNE, issued_on=date(2024, 7, 1))
    listed = root / "out" / "2024-06-30" / "371502" / f"{T1}.xlsx"
    book = openpyxl.load_workbook(listed)
    ws = book[HOUSEHOLD_SHEET]
    headers = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, headers.index("家庭编号") + 1).value == "H1")
    ws.cell(row, headers.index("核查结果") + 1).value = "不符合条件"
    ws.cell(row, headers.index("核查日期") + 1).value = datetime(2024, 7, 3)  # a date typed into a date cell
    ws.cell(row, headers.index("备注") + 1).value = "家中有务工收入"
    typed = root / "typed" / f"{T1}.xlsx"
    typed.parent.mkdir()
    book.save(typed)
    return root, wh, typed


def _calc(desktop, source, target: str, outdir):  # noqa: F811
    profile = (outdir / "lo-profile").as_uri()
    subprocess.run([desktop["soffice"], f"-env:UserInstallation={profile}", "--headless", "--convert-to", target,
                    "--outdir", str(outdir), str(source)], check=True, capture_output=True, timeout=180)
    return outdir / f"{source.stem}.{target.split(':')[0]}"


@pytest.mark.parametrize("target", ["xlsx:Calc MS Excel 2007 XML", "csv:Text - txt - csv (StarCalc):44,34,76"])
def test_a_list_calc_saved_loads_its_answer_on_its_household(filled, desktop, tmp_path, target):  # noqa: F811
    root, wh, typed = filled
    returned = _calc(desktop, typed, target, tmp_path)
    wh = copy_file(wh, tmp_path)
    summary = load_feedback(wh, returned, actor="caseworker", today=LOADED_ON)
    assert summary["status"] == "loaded", summary["message"]
    assert (summary["rows_loaded"], summary["rows_quarantined"]) == (1, 0), summary["rows"]
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        rows = con.execute("SELECT household_id, result, check_date, note FROM staging.feedback").fetchall()
    finally:
        con.close()
    assert rows == [("H1", "不符合条件", date(2024, 7, 3), "家中有务工收入")]
    shutil.rmtree(tmp_path / "lo-profile", ignore_errors=True)
