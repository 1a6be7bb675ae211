"""Hostile and broken input (docs/security.md): nothing crashes, nothing is lost, nothing runs.

- Property tests over the readers and repairers: random bytes, wrong encodings,
  NUL bytes, ragged rows, formula-looking and huge cells. A file is read or
  rejected with one line (UnreadableFile); a read file's rows are each loaded
  or quarantined.
- Property tests over the XLSX/CSV writers: any text comes back as the same
  text (cut at Excel's 32,767 characters), never as a formula.
- Through the whole pipeline: formula-looking names, household ids and a 10 MB
  name delivered in a landing folder end up in the caseworkers' lists as
  literal text cells; an HTML-looking file name reaches the run report escaped.
- Path tricks in the landing folder: symlinks out of it, named pipes, a _READY
  that is not a file, names with newlines or `../`: every one is a ledger
  entry or a clear note, the run never hangs, and nothing outside the landing
  folder is read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import zipfile
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipelines.sources.contract import FILES, spec
from pipelines.ingest.readers import LINE, UnreadableFile, read_file
from pipelines.ingest.repair import MissingColumns, match_headers, repair_frame
from pipelines.ingest.xlsx_extent import too_large
from pipelines.publish.sheets import FORMULA_START, Column, Sheet, write_csv, write_workbook
from tests.ci import skip_outside_ci
from tests.staging_builder import make_id

FORMULAS = ['=HYPERLINK("http://x","click")', "+cmd", "-1+1", "@SUM(A1)", "=1+1", '=cmd|" /C calc"!A0',
            "\t=1", "\r=1", "=HYPERLINK(\"http://example.invalid\")&\"\"", "-2", "+86 138"]
EXCEL_MAX = 32_767


@contextmanager
def deadline(seconds: int, what: str):
    """Fail instead of hanging (a named pipe read without care blocks forever)."""
    def expired(signum, frame):
        raise AssertionError(f"{what} did not finish within {seconds}s: something blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ readers and repairers

HOSTILE_CELL = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),  # any printable unicode
    st.sampled_from(FORMULAS),
    st.sampled_from(FORMULAS),
    st.text(alphabet="\x7f\u2028\u2029\ufeff\ufffe\"',\r\n\t =+-@", max_size=10),
    st.integers(1_000, 100_000).map(lambda n: "长" * n),  # huge cells
    st.sampled_from(["371502199001011234", "3.71502199001011234E+17", "1990/1/1", "931元", "一级"]),
)


def accounted(read, repaired) -> bool:
    loaded = set(repaired.clean[LINE].to_list())
    quarantined = set(repaired.quarantine[LINE].to_list())
    return not loaded & quarantined and read.rows_read == len(loaded) + len(quarantined)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.large_base_example, HealthCheck.data_too_large])
@given(
    file_spec=st.sampled_from(FILES),
    rows=st.lists(st.lists(HOSTILE_CELL, max_size=14), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-8", "utf-8-sig", "gb18030", "utf-16",
                              "latin-1", "shift_jis", "cp1252", "big5"]),
    control=st.one_of(st.none(), st.none(), st.none(),
                      st.tuples(st.integers(0, 10_000), st.sampled_from([b"\x00", b"\x01", b"\x1b", b"\x00" * 9]))),
)
def test_hostile_csv_is_read_and_accounted_or_rejected_in_one_line(tmp_path, file_spec, rows, encoding, control):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(file_spec.headers)
    writer.writerows(rows)  # ragged: rows have any length
    data = buffer.getvalue().encode(encoding, errors="replace")
    if control is not None:  # a NUL or another control byte somewhere in the file
        at, byte = control
        data = data[:at] + byte + data[at:]
    path = tmp_path / f"{file_spec.name}.csv"
    path.write_bytes(data)
    try:
        read = read_file(path)
    except UnreadableFile as err:
        assert "\n" not in str(err) and str(err)
        event(f"file rejected: {str(err).split(':')[0][:40]}")
        return
    try:
        result = repair_frame(read.frame, file_spec)
    except MissingColumns:  # a header the encoding garbled: the file is rejected as a whole
        assert match_headers(read.headers, file_spec)[1]
        event("file rejected: header unreadable in this encoding")
        return
    assert accounted(read, result)
    event(f"file read ({read.encoding}): every row loaded or quarantined")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2_000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_bytes_as_csv_or_xlsx_never_crash(tmp_path, content, suffix):
    path = tmp_path / f"members{suffix}"
    path.write_bytes(content if suffix == ".csv" else b"PK\x03\x04" + content)
    try:
        read_file(path)
    except UnreadableFile as err:
        assert "\n" not in str(err)


def test_a_10_mb_cell_is_read_whole(tmp_path):
    members = spec("mz", "members")
    huge = "名" * (10_000_000 // 3 + 1)  # ~10 MB of UTF-8
    path = tmp_path / "members.csv"
    row = ["H1", make_id(), huge, "本人", "男", "1990-01-01", "有劳动能力", "健康", "否"]
    path.write_text(",".join(members.headers) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    assert path.stat().st_size > 10_000_000
    read = read_file(path)
    result = repair_frame(read.frame, members)
    assert result.clean["name"].to_list() == [huge]


# ------------------------------------------------------------------ writers

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


def sheet_cells(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(ANY_TEXT, st.sampled_from(FORMULAS)), min_size=1, max_size=8))
def test_any_text_is_written_as_literal_text(tmp_path, values):
    path = tmp_path / "list.xlsx"
    sheet = Sheet("名单", [Column("姓名"), Column("备注")], [(v, v) for v in values])
    write_workbook(path, [sheet])
    write_csv(path.with_suffix(".csv"), sheet)
    for xml in sheet_cells(path):
        assert "<f>" not in xml and "<f " not in xml  # no formula cell
        assert not re.search(r'<c [^>]*t="(?:str|e|b)"', xml)  # no formula string, error or boolean cell
    # the sheet as a grid (empty rows kept): empty strings are written blank, the rest as the same text
    import fastexcel

    grid = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string").to_polars()
    got = [v or "" for v in grid.to_series(0).to_list()[1:]]
    assert got + [""] * (len(values) - len(got)) == values
    with path.with_suffix(".csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    for value, row in zip(values, rows):
        want = "'" + value if value.startswith(FORMULA_START) else value
        assert row[0] == want


def test_a_10_mb_text_is_cut_at_excels_limit_not_lost_silently_in_the_csv(tmp_path):
    huge = "=" + "x" * 10_000_000
    sheet = Sheet("名单", [Column("姓名")], [(huge,)])
    write_workbook(tmp_path / "l.xlsx", [sheet])
    write_csv(tmp_path / "l.csv", sheet)
    back = pl.read_excel(tmp_path / "l.xlsx", infer_schema_length=0)["姓名"].to_list()
    assert back == [huge[:EXCEL_MAX]]  # Excel cannot hold more in a cell
    assert (tmp_path / "l.csv").read_text(encoding="utf-8-sig").splitlines()[1] == "'" + huge


# ------------------------------------------------------------------ through the pipeline

# The long name stays under DIBAO_MAX_CELL_BYTES (4096): a longer cell is quarantined at
# ingest (cell_too_long, tests/test_poison.py); Excel's own cap is tested on the writer above.
HOSTILE_NAMES = FORMULAS[:6] + ["<script>alert(1)</script>", "甲\u3000乙", "名" * 1_300]


def _csv(path: Path, headers: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([headers, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from pipelines.runtime import nightly
    from tests.pipeline_run import load_all

    root = tmp_path_factory.mktemp("hostile")
    landing, wh, out = root / "landing", root / "w.duckdb", root / "out"
    day = date(2024, 6, 30)
    folder = landing / "mz" / day.isoformat()
    folder.mkdir(parents=True)
    households, members = [], []
    for n, name in enumerate(HOSTILE_NAMES):
        hid = ["=1+1", "+H2", "@H3", "-H4"][n] if n < 4 else f"H{n}"
        head = make_id("19800101", 101 + 2 * n)
        households.append([hid, head, name, "371502001001", "城市", "其他低收入", "在册", "1", "900", "2024-01-01",
                           "0", "2023-01-01"])
        members.append([hid, head, name, "本人", "男", "1980-01-01", "有劳动能力", "健康", "否"])
    _csv(folder / "households.csv", spec("mz", "households").headers, households)
    _csv(folder / "members.csv", spec("mz", "members").headers, members)
    (folder / "_READY").write_text("")
    # a rejected delivery whose reason names an HTML-looking file: it reaches the report's alerts
    bad = landing / "cl" / day.isoformat()
    bad.mkdir(parents=True)
    _csv(bad / "disability.csv", spec("cl", "disability").headers, [])
    (bad / "_READY").write_text(json.dumps({"files": {"disability.csv": 0, "<img src=x onerror=alert(1)>.csv": 1}}))
    summary = load_all(landing, wh)
    nightly.build_history(str(wh))
    nightly.publish_marts(str(wh))
    con = duckdb.connect(str(wh))
    con.execute("INSERT INTO mart.risk_list SELECT ?, household_id, county_code, township_code, 0.9, '高',"
                " ['low_income'] FROM core.households_asof(?) WHERE status = '在册'", [day, day])
    con.close()
    from pipelines.publish.lists import write_lists
    from pipelines.publish.report import write_report

    lists = write_lists(wh, out, actor="tester")
    report = write_report(wh, out, summary)
    return {"wh": wh, "out": out, "lists": lists, "report": report, "summary": summary}


def test_hostile_names_and_ids_reach_the_list_as_literal_text(hostile_run):
    xlsx = hostile_run["out"] / "2024-06-30" / "371502" / "371502001.xlsx"
    for xml in sheet_cells(xlsx):
        assert "<f>" not in xml and "<f " not in xml
        assert not re.search(r'<c [^>]*t="(?:str|e|b)"', xml)
        assert "<hyperlinks>" not in xml and "<hyperlink " not in xml  # no link, the text only
    rows = pl.read_excel(xlsx, sheet_name="风险名单", infer_schema_length=0)
    shown = dict(zip(rows["家庭编号"], rows["户主姓名"]))
    expected = {(["=1+1", "+H2", "@H3", "-H4"][n] if n < 4 else f"H{n}"): name[:EXCEL_MAX]
                for n, name in enumerate(HOSTILE_NAMES)}
    assert shown == expected
    with xlsx.with_suffix(".csv").open(encoding="utf-8-sig", newline="") as f:
        twin = list(csv.DictReader(f))
    for row in twin:
        for value in (row["家庭编号"], row["户主姓名"]):
            assert not value.startswith(FORMULA_START), value  # each got its leading apostrophe
    assert {r["家庭编号"] for r in twin} == {"'=1+1", "'+H2", "'@H3", "'-H4"} | {f"H{n}" for n in
                                                                               range(4, len(HOSTILE_NAMES))}


def test_the_report_escapes_what_came_from_the_landing_folder(hostile_run):
    html = hostile_run["report"].read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html  # and no name at all: the report shows counts only
    assert not [n for n in HOSTILE_NAMES if n in html]


# ------------------------------------------------------------------ path tricks in the landing folder

CANARY = "CANARY-OUTSIDE-THE-LANDING"


def _members_rows(name: str = "张三", n: int = 2) -> list[list[str]]:
    return [[f"H{i}", make_id("19800101", 301 + 2 * i), name, "本人", "男", "1980-01-01",
             "有劳动能力", "健康", "否"] for i in range(n)]


def _households_rows(n: int = 2) -> list[list[str]]:
    return [[f"H{i}", make_id("19800101", 301 + 2 * i), "张三", "371502001001", "城市", "其他低收入", "在册", "1",
             "900", "2024-01-01", "0", "2023-01-01"] for i in range(n)]


def _delivery(folder: Path, ready: str | None = "", name: str = "张三") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _csv(folder / "households.csv", spec("mz", "households").headers, _households_rows())
    _csv(folder / "members.csv", spec("mz", "members").headers, _members_rows(name))
    if ready is not None:
        (folder / "_READY").write_text(ready)
    return folder


@pytest.fixture(scope="module")
def tricks(tmp_path_factory):
    from pipelines.sources.landing import discover
    from tests.pipeline_run import load_all

    root = tmp_path_factory.mktemp("tricks")
    landing, outside, wh = root / "landing", root / "outside", root / "w.duckdb"
    _delivery(outside / "delivery", name=CANARY)  # a complete delivery, outside
    _delivery(outside / "cl-root" / "2024-01-31", name=CANARY)
    (outside / "ready").write_text("")
    _csv(outside / "members.csv", spec("mz", "members").headers, _members_rows(CANARY))
    os.mkfifo(outside / "pipe")

    # 01-31: members.csv is a symlink to a file outside
    d = _delivery(landing / "mz" / "2024-01-31")
    (d / "members.csv").unlink()
    (d / "members.csv").symlink_to(outside / "members.csv")
    # 02-29: households.csv is a named pipe; another file is a symlink to a pipe outside
    d = _delivery(landing / "mz" / "2024-02-29")
    (d / "households.csv").unlink()
    os.mkfifo(d / "households.csv")
    (d / "extra.xlsx").symlink_to(outside / "pipe")
    # 03-31: _READY is a symlink; 04-30: _READY is a pipe
    d = _delivery(landing / "mz" / "2024-03-31", ready=None)
    (d / "_READY").symlink_to(outside / "ready")
    d = _delivery(landing / "mz" / "2024-04-30", ready=None)
    os.mkfifo(d / "_READY")
    # 05-31: the delivery folder itself is a symlink out of the landing
    (landing / "mz" / "2024-05-31").symlink_to(outside / "delivery")
    # 06-30: _READY names files with ../ and an absolute path; a file name holds a newline; a folder named .csv
    d = _delivery(landing / "mz" / "2024-06-30", ready=json.dumps({"files": {
        "households.csv": 2, "members.csv": 2, "../../outside/members.csv": 2, "/etc/passwd": 1}}))
    (d / "house\nholds.csv").write_text("x\n")
    (d / "folder.csv").mkdir()
    # 07-31: a clean delivery with only odd extras: a newline in a name and a folder named .xlsx
    d = _delivery(landing / "mz" / "2024-07-31")
    (d / "notes\n.csv").write_text("a,b\n1,2\n")
    (d / "dir.xlsx").mkdir()
    # a whole source folder that is a symlink out of the landing
    (landing / "cl").symlink_to(outside / "cl-root")

    with deadline(300, "discovery and loading"):
        found, notes = discover(landing)
        summary = load_all(landing, wh)
    con = duckdb.connect(str(wh), read_only=True)
    yield {"landing": landing, "outside": outside, "wh": wh, "con": con, "found": found, "notes": notes,
           "summary": summary, "root": root}
    con.close()


def _status(con, folder: str) -> list[tuple]:
    return con.execute("SELECT status, message FROM audit.deliveries WHERE folder = ?", [folder]).fetchall()


def _ledger(con, folder: str) -> dict[str, tuple]:
    return {name: (status, message) for name, status, message in con.execute(
        "SELECT l.file_name, l.status, l.message FROM audit.load_ledger l JOIN audit.deliveries d USING (load_id)"
        " WHERE d.folder = ?", [folder]).fetchall()}


def test_a_symlinked_data_file_is_rejected_and_not_followed(tricks):
    con = tricks["con"]
    assert [s for s, _ in _status(con, "mz/2024-01-31")] == ["rejected"]
    ledger = _ledger(con, "mz/2024-01-31")
    assert ledger["members.csv"][0] == "rejected" and "symbolic link" in ledger["members.csv"][1]


def test_a_named_pipe_is_rejected_without_hanging(tricks):
    con = tricks["con"]
    assert [s for s, _ in _status(con, "mz/2024-02-29")] == ["rejected"]
    ledger = _ledger(con, "mz/2024-02-29")
    assert "not a regular file" in ledger["households.csv"][1]


def test_a_ready_marker_that_is_not_a_file_is_refused_with_a_note(tricks):
    notes = "\n".join(tricks["notes"])
    for day in ("2024-03-31", "2024-04-30"):
        assert _status(tricks["con"], f"mz/{day}") == []
        assert f"mz/{day}: _READY is not a regular file" in notes


def test_symlinked_folders_out_of_the_landing_are_not_followed(tricks):
    notes = "\n".join(tricks["notes"])
    assert _status(tricks["con"], "mz/2024-05-31") == [] and "mz/'2024-05-31': a symbolic link" in notes
    assert "cl: is a symbolic link" in notes
    assert not tricks["con"].execute("SELECT count(*) FROM audit.deliveries WHERE source = 'cl'").fetchall()[0][0]


def test_names_with_dot_dot_newlines_and_folders_are_recorded_not_followed(tricks):
    con = tricks["con"]
    status, message = _status(con, "mz/2024-06-30")[0]
    assert status == "rejected"
    assert "_READY lists ../../outside/members.csv, which is not in the delivery" in message
    assert "_READY lists /etc/passwd" in message
    # the clean delivery with odd extras loads; the extras are recorded as extra files
    assert [s for s, _ in _status(con, "mz/2024-07-31")] == ["loaded"]
    drift = {n for (n,) in con.execute(
        "SELECT file_name FROM audit.schema_drift WHERE drift = 'extra_file' AND extract_date = '2024-07-31'"
    ).fetchall()}
    assert drift == {"notes\n.csv", "dir.xlsx"}


def test_nothing_outside_the_landing_folder_was_read(tricks):
    """The outside files hold a canary name; no table and no staged file holds it."""
    con = tricks["con"]
    loaded = {f for (f,) in con.execute("SELECT folder FROM audit.deliveries WHERE status = 'loaded'").fetchall()}
    assert loaded == {"mz/2024-07-31"}
    for schema, table, column in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE data_type = 'VARCHAR'"
            " AND NOT internal").fetchall():
        hits = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" LIKE ?',
                           [f"%{CANARY}%"]).fetchall()[0][0]
        assert hits == 0, (schema, table, column)
    for path in Path(f"{tricks['wh']}.work").rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_an_xlsx_with_a_stray_cell_far_from_its_data_is_rejected_in_one_line_not_a_crash(tmp_path):
    """One cell at XFD1048576 in a 7 KB workbook made the XLSX reader allocate 17 billion cells and
    abort the whole process (SIGABRT, no exception) every night. Run in a child process, so that a
    regression fails this test instead of killing the suite."""
    import subprocess
    import sys

    import xlsxwriter

    landing = tmp_path / "landing"
    far = _delivery(landing / "mz" / "2024-01-31")
    (far / "households.csv").unlink()
    book = xlsxwriter.Workbook(str(far / "households.xlsx"))
    sheet = book.add_worksheet()
    for r, row in enumerate([spec("mz", "households").headers, *_households_rows()]):
        sheet.write_row(r, 0, row)
    sheet.write(1_048_575, 16_383, "x")  # XFD1048576
    book.close()
    _delivery(landing / "mz" / "2024-02-29")  # the night after must still load
    code = ("import sys, json; from pathlib import Path; from tests.pipeline_run import load_all\n"
            "s = load_all(Path(sys.argv[1]), Path(sys.argv[2]))\n"
            "print(json.dumps([(d['extract_date'], d['status'], d.get('message')) for d in s['deliveries']]))\n")
    done = subprocess.run([sys.executable, "-c", code, str(landing), str(tmp_path / "w.duckdb")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-1500:]
    statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(d, s) for d, s, _ in statuses] == [("2024-01-31", "rejected"), ("2024-02-29", "loaded")]
    assert "cells reach XFD1048576" in statuses[0][2] and "stray cell" in statuses[0][2]
    assert "over the 100,000,000 a reader can hold" in statuses[0][2]


@pytest.mark.parametrize("name, edit", [
    ("single-quoted", lambda x: re.sub(rb"<dimension[^>]*/>", b"", x).replace(b'r="XFD1048576"', b"r='XFD1048576'")),
    ("prefixed", lambda x: re.sub(rb"<(/?)(\w)", rb"<\1x:\2", x).replace(b'xmlns="http', b'xmlns:x="http')),
    # a `>` in an attribute value before the reference hid it (found by the review)
    ("gt-in-attribute", lambda x: x.replace(b'<c r="XFD1048576"', b'<c x:a="a>b" xmlns:x="urn:x" r="XFD1048576"')),
    ("spaced", lambda x: x.replace(b'<c r="XFD1048576"', b'<c r = "XFD1048576"')),
])
def test_far_cell_references_in_other_spellings_are_refused_before_the_reader(tmp_path, name, edit):
    hostile = _far_cell_variant(tmp_path, name, edit)
    assert too_large(hostile.read_bytes()) is not None


def test_text_that_reads_like_a_far_cell_reference_does_not_refuse_the_workbook(tmp_path):
    """The scan of cell references refused a workbook whose inline text held ` r="XFD1048576"`."""
    def inline(xml: bytes) -> bytes:
        text = b'<row r="2"><c r="A2" t="inlineStr"><is><t> r="XFD1048576" r=\'XFD9\'</t></is></c></row>'
        return re.sub(rb'<row r="1048576".*?</row>', text, xml)
    workbook = _far_cell_variant(tmp_path, "text", inline)
    assert too_large(workbook.read_bytes()) is None
    assert read_file(workbook).frame.height == 1


def test_a_delivery_folder_the_pipeline_may_not_enter_is_alerted_and_the_others_load(tmp_path):
    """`chmod 000` on one delivery folder stopped discovery, so no source loaded, night after night."""
    import shutil
    import subprocess
    import sys

    landing, wh = tmp_path / "landing", tmp_path / "w.duckdb"
    _delivery(landing / "mz" / "2024-01-31")
    locked = _delivery(landing / "mz" / "2024-02-29")
    locked.chmod(0)
    prefix = []
    if os.geteuid() == 0:  # root reads any folder: drop the two capabilities that let it
        if not shutil.which("setpriv"):
            skip_outside_ci("setpriv (util-linux) is needed to read as root without DAC override")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    code = ("import sys, json; from pipelines.runtime import nightly\n"
            "print(json.dumps([p['delivery']['extract_date'] for p in nightly.discover_pending(sys.argv[1], sys.argv[2])]))\n")
    try:
        done = subprocess.run([*prefix, sys.executable, "-c", code, str(landing), str(wh)],
                              capture_output=True, text=True, timeout=300)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 0, done.stderr[-1500:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["2024-01-31"]
    con = duckdb.connect(str(wh), read_only=True)
    try:
        alerts = con.execute("SELECT source, message FROM audit.alerts WHERE kind = 'delivery_refused'").fetchall()
    finally:
        con.close()
    assert alerts == [("mz", "mz/2024-02-29: cannot be read (Permission denied), delivery refused")]


def test_a_600_kb_quoted_cell_and_a_10_mb_extra_header_are_read_not_refused(tmp_path):
    """The csv module's 128 KB field limit made a long quoted name a malformed line (no column)
    and a long extra column's name a bad file: the name is now cell_too_long on its column, and
    the extra column is recorded in the drift under a name cut to 200 characters."""
    from tests.pipeline_run import load_all

    landing, wh = tmp_path / "landing", tmp_path / "w.duckdb"
    folder = landing / "mz" / "2024-01-31"
    folder.mkdir(parents=True)
    headers = spec("mz", "households").headers
    rows = _households_rows(3)
    rows[1][2] = "名" * 200_000  # 600 KB
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows([headers + ["x" * 10_000_000],
                                                                               *[r + [""] for r in rows]])
    (folder / "households.csv").write_text(buffer.getvalue(), encoding="utf-8")
    _csv(folder / "members.csv", spec("mz", "members").headers, _members_rows(n=3))
    (folder / "_READY").write_text("")
    [delivery] = load_all(landing, wh)["deliveries"]
    assert delivery["status"] == "loaded", delivery["message"]
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT line_number, column_name, reason FROM audit.quarantine").fetchall() == [
            (3, "户主姓名", "cell_too_long")]
        [(name,)] = con.execute("SELECT column_name FROM audit.schema_drift WHERE drift = 'extra_column'").fetchall()
    finally:
        con.close()
    assert name == "x" * 200 + "…[truncated: 10000000 characters]"


def _far_cell_variant(tmp_path: Path, name: str, edit) -> Path:
    """A small workbook with one cell at XFD1048576, its sheet XML then rewritten by `edit`."""
    import xlsxwriter

    plain = tmp_path / f"{name}-plain.xlsx"
    book = xlsxwriter.Workbook(str(plain))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, spec("mz", "households").headers)
    sheet.write(1_048_575, 16_383, "x")
    book.close()
    target = tmp_path / f"{name}.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            out.writestr(item.filename, edit(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return target


def _unreferenced_far_row(xml: bytes) -> bytes:
    """Row 1048576 first, out of order, its 16,384 cells without references: no reference the
    scan reads reaches far, yet the reader places the last cell at XFD1048576."""
    far = b'<row r="1048576">' + b"<c><v>1</v></c>" * 16_384 + b"</row>"
    xml = re.sub(rb'<row r="1048576".*?</row>', b"", re.sub(rb"<dimension[^>]*/>", b"", xml))
    return xml.replace(b"<sheetData>", b"<sheetData>" + far)


@pytest.mark.parametrize("name, edit", [
    # valid XML the reference scan does not read: the reader still allocates the far cell's box
    ("unreferenced", _unreferenced_far_row),
])
def test_a_workbook_the_reader_dies_on_is_one_unreadable_file_and_the_next_reads(tmp_path, name, edit):
    """The reader aborts its process on such a workbook (a review of the cell-reference scan found
    these ways past it): it runs in a worker process of its own, so the file is rejected in one line
    and the next workbook is read by a new worker."""
    hostile = _far_cell_variant(tmp_path, name, edit)
    with pytest.raises(UnreadableFile, match=r"^the XLSX reader died on this workbook \(exit -6\)"):
        read_file(hostile)
    fine = tmp_path / "fine.xlsx"
    import xlsxwriter

    book = xlsxwriter.Workbook(str(fine))
    book.add_worksheet().write_row(0, 0, ["a", "b"])
    book.close()
    assert read_file(fine).headers == ["a", "b"]


def test_the_run_report_lists_the_alerts_discovery_raised_before_the_first_load(tmp_path):
    """The report's alerts began at the run's first load, so a misnamed folder's alert, raised by
    discovery before it, was missing from the page the data team reads."""
    from pipelines.runtime import nightly
    from tests.pipeline_run import run_with_outputs

    landing, wh = tmp_path / "landing", tmp_path / "w.duckdb"
    _delivery(landing / "mz" / "2024-01-31")
    _delivery(landing / "mz" / "2024-2-29")  # misnamed: alerted by discovery, never loaded
    summary = run_with_outputs(landing, wh, tmp_path / "out")
    started = nightly._run_started(str(wh))
    con = duckdb.connect(str(wh), read_only=True)
    try:
        [(raised,)] = con.execute("SELECT raised_at FROM audit.alerts WHERE kind = 'delivery_misnamed'").fetchall()
        [(first_load,)] = con.execute("SELECT min(loaded_at) FROM audit.load_ledger").fetchall()
    finally:
        con.close()
    assert started <= raised.isoformat() and raised < first_load
    alerts = Path(summary["report"]).read_text(encoding="utf-8").split("告警")[-1]
    assert "交付目录名有误" in alerts and "mz/2024-2-29" in alerts
    # a retry of the same run's discovery keeps the first try's start (its alerts are raised once);
    # another run's discovery starts anew
    mark = nightly.work_dir(wh) / nightly.STARTED
    nightly._mark_started(mark, "run-1", datetime(2024, 7, 1, 2, 0))
    nightly._mark_started(mark, "run-1", datetime(2024, 7, 1, 2, 5))
    assert nightly._run_started(str(wh)) == "2024-07-01T02:00:00"
    nightly._mark_started(mark, "run-2", datetime(2024, 7, 2, 2, 0))
    assert nightly._run_started(str(wh)) == "2024-07-02T02:00:00"


def test_a_bad_byte_after_a_lone_cr_keeps_its_own_line_number(tmp_path):
    """Found by the hypothesis test above: a lone CR ends a line for the csv module, not for the
    salvage of bad bytes, so a NUL line after it took the number of the line before it (two
    rows on line 3) and the file's rows were no longer accounted for."""
    headers = ",".join(spec("mz", "households").headers).encode()
    path = tmp_path / "households.csv"
    path.write_bytes(headers + b"\n\r=1\n\x00")
    read = read_file(path)
    assert read.frame[LINE].to_list() == [3, 4]
    assert read.frame["_malformed"].to_list() == [None, "\\x00"]
    # the bad byte on the line of a lone CR: the line blanked keeps the lines after it in place
    path.write_bytes(headers + b"\nx\x00\ry\n=2\n")
    read = read_file(path)
    assert read.frame[LINE].to_list() == [2, 4]
    assert read.frame["家庭编号"].to_list()[1] == "=2"


def test_an_income_a_formula_left_uncomputed_is_quarantined_not_read_as_never_checked(tmp_path):
    """openpyxl and many report tools write formulas without their results: the reader
    sees an empty 月人均收入, which loaded as a household never checked. The cell is
    quarantined with its formula; a #DIV/0! likewise; the ledger still balances."""
    import openpyxl

    landing = tmp_path / "landing"
    folder = _delivery(landing / "mz" / "2024-01-31")
    (folder / "households.csv").unlink()
    book = openpyxl.Workbook()
    sheet = book.active
    headers = spec("mz", "households").headers
    sheet.append(headers)
    income = headers.index("月人均收入")
    for row in _households_rows(3):
        sheet.append(row)
    sheet.cell(row=2, column=income + 1, value="=ROUND(900*1,2)")  # no result stored
    sheet.cell(row=3, column=income + 1, value="=1/0")
    book.save(folder / "households.xlsx")
    with zipfile.ZipFile(folder / "households.xlsx") as z:  # the error as a spreadsheet saves it
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = re.sub(rb'<c r="(\w+3)"( s="\d+")?><f>1/0</f><v ?/>',
                                               rb'<c r="\1" t="e"><f>1/0</f><v>#DIV/0!</v>',
                                               parts["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(folder / "households.xlsx", "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    from tests.pipeline_run import load_all

    load_all(landing, tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        ledger = con.sql("SELECT rows_read, rows_loaded, rows_quarantined, status FROM audit.load_ledger"
                         " WHERE file_name = 'households.xlsx'").fetchall()
        bad = con.sql("SELECT line_number, column_name, raw_value, reason FROM audit.quarantine"
                      " WHERE file_name = 'households.xlsx' ORDER BY line_number").fetchall()
    assert ledger == [(3, 1, 2, "loaded")]
    assert bad == [(2, "月人均收入", "=ROUND(900*1,2)", "formula_no_value"),
                   (3, "月人均收入", "#DIV/0!", "cell_error")]


def test_a_phone_number_in_an_amount_is_quarantined_and_the_nights_go_on(tmp_path):
    """13812345678 in 月人均收入 did not fit the warehouse's DECIMAL(12,2): the load task failed
    with a cast error naming no file, and so did every night after (found by the hostile audit)."""
    from tests.pipeline_run import load_all

    landing = tmp_path / "landing"
    first = _delivery(landing / "mz" / "2024-01-31")
    rows = _households_rows()
    rows[1][spec("mz", "households").headers.index("月人均收入")] = "13812345678"
    _csv(first / "households.csv", spec("mz", "households").headers, rows)
    _delivery(landing / "mz" / "2024-02-29")
    summary = load_all(landing, tmp_path / "w.duckdb")
    assert [d["status"] for d in summary["deliveries"]] == ["loaded", "loaded"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.sql("SELECT line_number, raw_value, reason FROM audit.quarantine").fetchall() == [
            (3, "13812345678", "amount_out_of_range")]


def test_a_delivery_the_warehouse_refuses_is_rejected_alone_and_the_next_loads(tmp_path, monkeypatch):
    """Whatever a repair rule has not bounded, a row the warehouse refuses rejects its own
    delivery in one line; the deliveries after it load, and the next night has nothing to retry."""
    from pipelines.load import deliveries
    from tests.pipeline_run import load_all

    real = deliveries._insert_parts

    def refusing(con, staged):
        real(con, staged)
        if staged.delivery.extract_date.isoformat() == "2024-01-31":
            con.execute("SELECT CAST('13812345678.00' AS DECIMAL(12,2))")  # the cast the audit met

    monkeypatch.setattr(deliveries, "_insert_parts", refusing)
    landing = tmp_path / "landing"
    _delivery(landing / "mz" / "2024-01-31")
    _delivery(landing / "mz" / "2024-02-29")
    wh = tmp_path / "w.duckdb"
    summary = load_all(landing, wh)
    assert [(d["extract_date"], d["status"]) for d in summary["deliveries"]] == [
        ("2024-01-31", "rejected"), ("2024-02-29", "loaded")]
    message = summary["deliveries"][0]["message"]
    assert message.startswith("the warehouse refused its rows (ConversionException:") and "\n" not in message
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.sql("SELECT DISTINCT extract_date::VARCHAR FROM staging.mz_households").fetchall() == [
            ("2024-02-29",)]
        assert con.sql("SELECT status, rows_loaded FROM audit.load_ledger WHERE extract_date = '2024-01-31'"
                       " ORDER BY file_name").fetchall() == [("rejected", 0), ("rejected", 0)]
        assert con.sql("SELECT count(*) FROM audit.alerts WHERE kind = 'delivery_rejected'").fetchall() == [(1,)]
        assert con.sql("SELECT count(*) FROM raw.mz_households WHERE extract_date = '2024-01-31'").fetchall() == [(0,)]
    assert load_all(landing, wh)["deliveries"] == []


def test_a_month_whose_household_keys_came_as_floats_is_no_mass_exit(tmp_path):
    """A month exported through a float64 column (`3715020010010001.0` in both mz files) read as
    every household leaving and new ones arriving, silently (the hostile audit: 856 exits on a
    town instead of 4). The keys are read back, and the repair is recorded."""
    from tests.pipeline_run import run_all

    landing = tmp_path / "landing"
    for date, suffix in (("2024-01-31", ""), ("2024-02-29", ".0")):
        folder = _delivery(landing / "mz" / date)
        rows = _households_rows()
        members = _members_rows()
        for i, row in enumerate([*rows, *members]):
            row[0] = f"37150200100100{i % 2:02d}{suffix}"
        if suffix:  # a member row quarantined in the float month is carried, not a departure
            members[1][spec("mz", "members").headers.index("出生日期")] = "not a date"
        _csv(folder / "households.csv", spec("mz", "households").headers, rows)
        _csv(folder / "members.csv", spec("mz", "members").headers, members)
    wh = tmp_path / "w.duckdb"
    summary = run_all(landing, wh)
    assert [d["status"] for d in summary["deliveries"]] == ["loaded", "loaded"]
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.sql("SELECT kind, count(*) FROM core.change_events WHERE kind IN ('household_exited',"
                       " 'member_died_or_left', 'left_dibao') GROUP BY ALL").fetchall() == []
        assert con.sql("SELECT DISTINCT household_id FROM staging.mz_members ORDER BY 1").fetchall() == [
            ("3715020010010000",), ("3715020010010001",)]
        assert con.sql("SELECT count(*) FROM audit.repairs WHERE kind = 'key_float_notation'").fetchall() == [(3,)]


def test_a_certificate_whose_row_one_snapshot_quarantined_is_carried_not_new_again(tmp_path):
    """A 残联 row quarantined for one cell (享受护理补贴 `待定`) read as the certificate gone that
    month and issued again the next: a false 24-hour 急难 case for a certificate held for years,
    and a nursing subsidy recipient fewer that month (the second hostile audit)."""
    from tests.pipeline_run import run_all
    from tests.staging_builder import make_id

    holder = make_id("19700101", 901)  # 一级, in no household
    headers = spec("cl", "disability").headers
    landing = tmp_path / "landing"
    for i, date in enumerate(("2024-01-31", "2024-02-29", "2024-03-31")):
        _delivery(landing / "mz" / date, name=f"张{'一二三'[i]}")  # different bytes each month: no replay
        folder = landing / "cl" / date
        folder.mkdir(parents=True)
        nursing = "待定" if date == "2024-02-29" else "是"
        row = [holder + "41", f"持证人{i}", "肢体", "一级", "2019-05-01", "有效", "371502001001", "否", nursing]
        _csv(folder / "disability.csv", headers, [row])
        (folder / "_READY").write_text("")
    wh = tmp_path / "w.duckdb"
    summary = run_all(landing, wh)
    assert {d["status"] for d in summary["deliveries"]} == {"loaded"}
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM audit.quarantine WHERE source = 'cl'").fetchall() == [(1,)]
        # the first snapshot is the baseline; nothing of the certificate changed after it
        assert con.sql("SELECT kind, event_date::VARCHAR FROM core.change_events WHERE source = 'cl'"
                       " ORDER BY ALL").fetchall() == []
        assert con.sql("SELECT count(*) FROM core.certificates_asof(DATE '2024-02-29')").fetchall() == [(1,)]
        assert con.sql("SELECT count(*) FROM core.rule_emergency(DATE '2024-03-31')").fetchall() == [(0,)]


def test_file_names_in_gbk_bytes_are_recorded_readably_and_stop_no_night(tmp_path):
    """A zip made on Windows unpacks GBK file names, which Linux hands over as surrogate escapes:
    storing one failed discovery (an extra file in a delivery) or the feedback task (a returned
    list), and every night after, until the file was removed by hand (the third hostile audit)."""
    from pipelines.ingest.feedback import load_feedback_folder
    from tests.pipeline_run import load_all

    landing = tmp_path / "landing"
    folder = _delivery(landing / "mz" / "2024-01-31")
    (Path(os.fsdecode(bytes(folder) + b"/" + "备注.csv".encode("gbk")))).write_bytes(b"a,b\n1,2\n")
    wh = tmp_path / "w.duckdb"
    assert [d["status"] for d in load_all(landing, wh)["deliveries"]] == ["loaded"]
    returned = tmp_path / "feedback"
    returned.mkdir()
    (Path(os.fsdecode(bytes(returned) + b"/" + "洪官镇.xlsx".encode("gbk")))).write_bytes(b"not a workbook")
    summary = load_feedback_folder(wh, returned)
    assert summary["rejected"] == 1
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.sql("SELECT file_name FROM audit.schema_drift WHERE drift = 'extra_file'").fetchall() == [
            ("备注.csv",)]
        assert con.sql("SELECT file_name FROM audit.feedback_loads").fetchall() == [("洪官镇.xlsx",)]


def test_a_returned_file_that_fails_in_an_unforeseen_way_is_rejected_and_the_others_load(tmp_path, monkeypatch):
    from pipelines.ingest import feedback

    real = feedback._load_file

    def failing(con, file, *args, **kwargs):
        if file.name == "a.xlsx":
            raise RuntimeError("an unforeseen failure\nwith a second line")
        return real(con, file, *args, **kwargs)

    monkeypatch.setattr(feedback, "_load_file", failing)
    returned = tmp_path / "feedback"
    returned.mkdir()
    for name in ("a.xlsx", "b.xlsx"):
        (returned / name).write_bytes(b"not a workbook")
    summary = feedback.load_feedback_folder(tmp_path / "w.duckdb", returned)
    messages = {Path(f["file"]).name: f["message"] for f in summary["files"]}
    assert summary["rejected"] == 2 and messages["a.xlsx"].startswith(
        "could not be loaded (RuntimeError: an unforeseen failure); tried again next night")
    assert "cannot read" in messages["b.xlsx"] or "xlsx" in messages["b.xlsx"]


def test_a_source_that_stops_delivering_is_named_stale_at_the_month_mz_is_at(tmp_path):
    """人社 three months behind 民政 raised nothing: `stale` empty, no alert, while the 单人保 list
    spoke of months rs never sent (the fifth audit)."""
    from pipelines.load.deliveries import stale_sources
    from tests.pipeline_run import load_all

    landing = tmp_path / "landing"
    for i, day in enumerate(("2024-01-31", "2024-02-29", "2024-03-31")):
        _delivery(landing / "mz" / day, name=f"张{'一二三'[i]}")
    rs = landing / "rs" / "2024-01-31"
    rs.mkdir(parents=True)
    _csv(rs / "registrations.csv", spec("rs", "registrations").headers, [])
    _csv(rs / "contributions.csv", spec("rs", "contributions").headers, [])
    (rs / "_READY").write_text("")
    summary = load_all(landing, tmp_path / "w.duckdb")
    assert summary["stale"] == [
        "cl: nothing loaded for 2024-03, the month of 民政's latest snapshot (2024-03-31); using data as of never",
        "rs: nothing loaded for 2024-03, the month of 民政's latest snapshot (2024-03-31); using data as of 2024-01-31"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert len(stale_sources(con)) == 2
        assert con.sql("SELECT count(*) FROM audit.alerts WHERE kind = 'source_stale'").fetchall() == [(2,)]
