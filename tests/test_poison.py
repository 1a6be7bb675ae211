"""Poison deliveries and corrections (issue 19): bad input that must neither stop the
nightly job nor tell officials something false. Real DuckDB, GX and generated data."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.runtime import nightly
from pipelines.generate import generate
from tests.pipeline_run import load_all, run_all


@pytest.fixture(scope="module")
def town(small_world):
    """The shared small world (tests/conftest.py): town scale, 3 months, seed 11. Read-only."""
    return small_world["root"]


@pytest.fixture
def landing(town, tmp_path):
    copy = tmp_path / "landing"
    shutil.copytree(town / "landing", copy)
    return copy


def rows(wh: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_future_dated_delivery_is_held_and_later_deliveries_score(landing, tmp_path, monkeypatch):
    shutil.copytree(landing / "mz" / "2024-01-31", landing / "mz" / "2030-01-31")  # a mistyped year
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("DIBAO_TODAY", "2024-03-15")
    run_all(landing, wh)
    held = rows(wh, "SELECT folder FROM audit.deliveries WHERE status = 'held' ORDER BY folder")
    assert held == [("cl/2024-03-31",), ("mz/2024-03-31",), ("mz/2030-01-31",)]
    assert rows(wh, "SELECT count(*) FROM audit.deliveries WHERE status = 'loaded' AND extract_date > '2024-03-15'"
                ) == [(0,)]
    assert rows(wh, "SELECT DISTINCT status FROM audit.load_ledger WHERE load_id LIKE '%-held'") == [("pending",)]
    assert rows(wh, "SELECT count(*) FROM audit.alerts WHERE kind = 'delivery_held'") == [(3,)]
    assert rows(wh, "SELECT core.scoring_date()") == [(__import__("datetime").date(2024, 2, 29),)]

    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")  # the next nights: the genuine month-end is due
    run_all(landing, wh)
    assert rows(wh, "SELECT status FROM audit.deliveries WHERE folder = 'mz/2024-03-31' ORDER BY status"
                ) == [("held",), ("loaded",)]
    assert rows(wh, "SELECT status FROM audit.deliveries WHERE folder = 'mz/2030-01-31'") == [("held",)]
    # the ledger: no `pending` row is left for a folder attempted since (outputs.md's four statuses)
    assert rows(wh, "SELECT status, count(*) FROM audit.load_ledger WHERE extract_date = '2024-03-31'"
                    " AND source = 'mz' GROUP BY ALL") == [("loaded", 2)]
    assert rows(wh, "SELECT DISTINCT status FROM audit.load_ledger WHERE extract_date = '2030-01-31'") == [("pending",)]
    assert rows(wh, "SELECT count(*) FROM audit.alerts WHERE kind = 'delivery_held'") == [(3,)]  # once each
    scored = nightly.score(str(wh))
    assert scored["status"] == "scored" and scored["as_of_date"] == "2024-03-31"

    # the operator renames the mistyped folder: it is a delivery like any other (here a replay of January)
    (landing / "mz" / "2030-01-31").rename(landing / "mz" / "2024-01-30")
    summary = load_all(landing, wh)
    assert [(d["extract_date"], d["status"]) for d in summary["deliveries"]] == [("2024-01-30", "skipped_duplicate")]
    assert rows(wh, "SELECT count(*) FROM audit.load_ledger WHERE status = 'pending'") == [(0,)]  # no folder left


def test_a_complete_folder_not_named_by_a_date_is_alerted_once_and_loads_when_renamed(landing, tmp_path,
                                                                                      monkeypatch):
    (landing / "rs" / "2024-02-29").rename(landing / "rs" / "2024-2-29")  # complete, _READY and all
    shutil.copytree(landing / "cl" / "2024-02-29", landing / "cl" / "2024-13-31")
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")
    load_all(landing, wh)
    load_all(landing, wh)  # the next night: no second alert
    assert rows(wh, "SELECT source, message FROM audit.alerts WHERE kind = 'delivery_misnamed' ORDER BY 1") == [
        ("cl", "cl/2024-13-31: holds _READY but is not named YYYY-MM-DD: not loaded until the folder is renamed"
               " to its extract date"),
        ("rs", "rs/2024-2-29: holds _READY but is not named YYYY-MM-DD (perhaps 2024-02-29?): not loaded until"
               " the folder is renamed to its extract date")]
    assert rows(wh, "SELECT count(*) FROM audit.deliveries WHERE source = 'rs' AND extract_date = '2024-02-29'"
                ) == [(0,)]  # nothing guessed
    (landing / "rs" / "2024-2-29").rename(landing / "rs" / "2024-02-29")
    load_all(landing, wh)
    assert rows(wh, "SELECT status FROM audit.deliveries WHERE folder = 'rs/2024-02-29'") == [("loaded",)]


def test_a_month_loaded_after_the_lists_went_out_re_issues_the_lists_it_changes(landing, tmp_path, monkeypatch):
    """February arrives after March's lists were issued: the lists must say what a list
    written now would say (the 急难 events and 单人保 checks February holds), not what
    March alone said."""
    from pipelines.publish.lists import write_lists
    from tests.pipeline_run import run_with_outputs

    feb = [landing / s / "2024-02-29" / "_READY" for s in ("mz", "cl", "rs")]
    kept = {r: r.read_bytes() for r in feb}
    for r in feb:
        r.unlink()  # not complete yet: the night loads January and March
    wh, out = tmp_path / "w.duckdb", tmp_path / "out"
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")
    assert run_with_outputs(landing, wh, out)["lists"]["as_of_date"] == "2024-03-31"
    for r, data in kept.items():
        r.write_bytes(data)
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-03")
    late = run_with_outputs(landing, wh, out)
    assert ("rs", "loaded") in {(d["source"], d["status"]) for d in late["deliveries"]}
    listed = "SELECT {} FROM {} WHERE as_of_date = '2024-03-31' ORDER BY ALL"
    issued = (rows(wh, listed.format("household_id, risk_level, reasons", "mart.listed_households")),
              rows(wh, listed.format("person_key, rule", "mart.listed_candidates")))
    assert late["lists"]["status"] == "corrected"  # this world's February changes what March's lists say
    alerts = rows(wh, "SELECT count(*) FROM audit.alerts WHERE kind = 'list_corrected'")[0][0]
    assert alerts == late["lists"]["rewritten"] > 0
    write_lists(wh, tmp_path / "fresh", date(2024, 3, 31))  # what a list written now says
    assert issued == (rows(wh, listed.format("household_id, risk_level, reasons", "mart.listed_households")),
                      rows(wh, listed.format("person_key, rule", "mart.listed_candidates")))


def test_a_clock_set_back_behind_the_scoring_date_skips_scoring_with_an_alert(landing, tmp_path, monkeypatch):
    import json

    wh, alerts = tmp_path / "w.duckdb", tmp_path / "alerts.log"
    monkeypatch.setenv("DIBAO_ALERT_LOG", str(alerts))
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")
    run_all(landing, wh)
    monkeypatch.setenv("DIBAO_TODAY", "2024-03-15")  # the server's clock set back
    scored = nightly.score(str(wh))
    assert scored["status"] == "skipped" and "DIBAO_TODAY" in scored["reason"]
    raised = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    assert [(a["level"], a["kind"]) for a in raised if a["kind"] == "score_skipped"] == [("error", "score_skipped")]


def test_folder_far_before_the_history_is_held(landing, tmp_path, monkeypatch):
    shutil.copytree(landing / "cl" / "2024-01-31", landing / "cl" / "2014-01-31")
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")
    load_all(landing, wh)
    assert rows(wh, "SELECT status FROM audit.deliveries WHERE folder = 'cl/2014-01-31'") == [("held",)]
    assert rows(wh, "SELECT min(extract_date)::VARCHAR FROM audit.deliveries WHERE status = 'loaded'"
                " AND source = 'cl'") == [("2024-01-31",)]


def test_years_of_backlog_on_a_first_night_are_one_history_not_held(landing, tmp_path, monkeypatch):
    """A bureau starting with two years of folders: none is held as "far before the history"
    (the first night's history is the run of dates back from the latest with no gap over a year)."""
    for old in ("2022-03-31", "2022-09-30", "2023-03-31", "2023-09-30"):
        shutil.copytree(landing / "cl" / "2024-01-31", landing / "cl" / old)
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")
    load_all(landing, wh)
    assert rows(wh, "SELECT count(*) FROM audit.deliveries WHERE status = 'held'") == [(0,)]
    assert rows(wh, "SELECT min(extract_date)::VARCHAR FROM audit.deliveries WHERE status = 'loaded'"
                " AND source = 'cl'") == [("2022-03-31",)]


def test_the_first_nights_history_is_the_run_of_dates_without_a_years_gap():
    from datetime import date

    from pipelines.sources.hold import first_night_span

    months = [date(2021 + m // 12, m % 12 + 1, 28) for m in range(36)]
    assert first_night_span(months, date(2024, 1, 1), 366) == (date(2021, 1, 28), date(2023, 12, 28))
    stray = [date(2014, 1, 31), date(2014, 2, 28)]
    assert first_night_span(stray + months, date(2024, 1, 1), 366)[0] == date(2021, 1, 28)
    future = date(2030, 1, 31)  # after today: held for that, and no part of the run
    assert first_night_span([future, *months], date(2024, 1, 1), 366)[0] == date(2021, 1, 28)
    assert first_night_span([date(2030, 1, 31)], date(2024, 1, 1), 366) is None
    typo = date(2026, 1, 31)  # a year mistyped ahead, yet before today: the history is not that folder
    assert first_night_span([*months[:3], typo], date(2026, 12, 1), 366) == (date(2021, 1, 28), date(2021, 3, 28))
    # one real folder and one mistyped: the earliest, since a folder ahead is held only until confirmed
    assert first_night_span([date(2024, 1, 31), typo], date(2026, 12, 1), 366) == (date(2024, 1, 31),) * 2


def test_a_folder_mistyped_years_ahead_on_the_first_night_is_held_and_the_real_ones_load(landing, tmp_path,
                                                                                        monkeypatch):
    """mz/2026-01-31 (meant 2024-01-31) beside the real folders on a first night used to become the
    history: every real mz folder was held as "far before" it, and the list was scored on the copy."""
    import polars as pl

    from pipelines.ingest.readers import read_file

    def copy_of_march(day: str, name: str) -> None:  # one head's name changed: not a replay
        folder = shutil.copytree(landing / "mz" / "2024-03-31", landing / "mz" / day)
        frame = read_file(folder / "households.xlsx").frame.drop("_line")
        first = frame["家庭编号"][0]
        write_xlsx(frame.with_columns(pl.when(pl.col("家庭编号") == first).then(pl.lit(name))
                                      .otherwise(pl.col("户主姓名")).alias("户主姓名")), folder / "households.xlsx")

    copy_of_march("2026-01-31", "甲")
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("DIBAO_TODAY", "2026-12-01")
    load_all(landing, wh)
    assert rows(wh, "SELECT extract_date::VARCHAR, status FROM audit.deliveries WHERE source = 'mz'"
                    " AND status <> 'skipped_duplicate' ORDER BY 1") == [("2024-01-31", "loaded"), ("2024-02-29", "loaded"), ("2024-03-31", "loaded"),
                                       ("2026-01-31", "held")]
    assert "after the mz history (to 2024-03-31)" in rows(
        wh, "SELECT message FROM audit.alerts WHERE kind = 'delivery_held'")[0][0]
    summary = json.loads(Path(nightly.write_summary({}, str(tmp_path / "out"), str(wh))).read_text(encoding="utf-8"))
    assert [h.split(" is dated")[0] for h in summary["held"]] == ["mz/2026-01-31"]  # `dibao run` prints it
    copy_of_march("2026-02-28", "乙")  # the next delivery confirms the jump
    load_all(landing, wh)
    assert rows(wh, "SELECT extract_date::VARCHAR FROM audit.deliveries WHERE source = 'mz' AND status = 'loaded'"
                    " AND extract_date > '2025-01-01' ORDER BY 1") == [("2026-01-31",), ("2026-02-28",)]


def save_like_libreoffice(csv_path: Path, share: float = 0.9) -> Path:
    """The CSV as an XLSX that LibreOffice saved with default settings: the 身份证号 of
    `share` of the rows became numbers (3.71522197909271E+017), their last digits lost."""
    import xlsxwriter

    from pipelines.ingest.readers import read_file

    frame = read_file(csv_path).frame.drop("_line")
    target = csv_path.with_suffix(".xlsx")
    book = xlsxwriter.Workbook(str(target))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, frame.columns)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, (name, value) in enumerate(zip(frame.columns, row)):
            if "身份证号" in name and value and value[:17].isdigit() and r % 10 < share * 10:
                sheet.write_number(r, c, float(value[:17] + "0"))  # 15 significant digits survive
            else:
                sheet.write_string(r, c, value or "")
    book.close()
    csv_path.unlink()
    return target


def test_mostly_quarantined_snapshot_is_rejected_whole(landing, tmp_path):
    feb = landing / "mz" / "2024-02-29"
    for name in ("households.csv", "members.csv"):
        save_like_libreoffice(feb / name)
    (feb / "_READY").write_text("")
    wh = tmp_path / "w.duckdb"
    summary = run_all(landing, wh, until="2024-02-29")
    mz_feb = [d for d in summary["deliveries"] if d["source"] == "mz" and d["extract_date"] == "2024-02-29"]
    assert [d["status"] for d in mz_feb] == ["rejected"]
    assert "quarantined" in mz_feb[0]["message"]
    ledger = rows(wh, "SELECT file_name, status, rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger"
                      " WHERE source = 'mz' AND extract_date = '2024-02-29' ORDER BY file_name")
    assert [(f, s, loaded) for f, s, _, loaded, _ in ledger] == [("households.xlsx", "rejected", 0),
                                                                 ("members.xlsx", "rejected", 0)]
    assert all(q > 0.8 * read for _, _, read, _, q in ledger)
    # every bad cell stays on record for review, under the rejected load; nothing of it is in staging
    kept = rows(wh, "SELECT count(DISTINCT (file_name, line_number)), mode(reason) FROM audit.quarantine"
                    " WHERE source = 'mz' AND extract_date = '2024-02-29'")
    assert kept == [(sum(q for *_, q in ledger), "id_lossy_float")]
    assert rows(wh, "SELECT count(*) FROM staging.mz_households WHERE extract_date = '2024-02-29'") == [(0,)]
    assert rows(wh, "SELECT count(*) FROM audit.alerts WHERE kind = 'delivery_rejected' AND source = 'mz'") == [(1,)]
    # the snapshot never happened: nobody left on 2024-02-29
    assert rows(wh, "SELECT count(*) FROM core.change_events WHERE event_date = '2024-02-29'"
                    " AND kind IN ('household_exited', 'left_dibao')") == [(0,)]


def keep_households(folder: Path, share: float) -> None:
    """Cut the delivery's households.csv to its first `share` of data lines, `_READY` counts agreeing."""
    lines = (folder / "households.csv").read_bytes().rstrip(b"\n").split(b"\n")
    kept = lines[:1 + int(share * (len(lines) - 1))]
    (folder / "households.csv").write_bytes(b"\n".join(kept) + b"\n")
    ready = (folder / "_READY").read_text(encoding="utf-8").strip()
    if ready:
        counts = json.loads(ready)
        counts["files"]["households.csv"] = len(kept) - 1
        (folder / "_READY").write_text(json.dumps(counts), encoding="utf-8")


def test_a_snapshot_size_change_two_deliveries_show_is_loaded_not_rejected_for_ever(landing, tmp_path):
    """One undersized snapshot accepted (a first delivery of 40% of the households): every later
    full one was judged against it and rejected, leaving 民政 stale for good. The second snapshot
    of the new size confirms the change."""

    keep_households(landing / "mz" / "2024-01-31", 0.4)
    wh = tmp_path / "w.duckdb"
    summary = load_all(landing, wh)
    mz = {d["extract_date"]: d for d in summary["deliveries"] if d["source"] == "mz" and d["status"] != "skipped_duplicate"}
    # this world re-sends February's bytes as mz/2024-03-01: the second snapshot of the new size
    assert {day: d["status"] for day, d in mz.items()} == {
        "2024-01-31": "loaded", "2024-02-29": "rejected", "2024-03-01": "loaded", "2024-03-31": "loaded"}
    assert "rows loadable against" in mz["2024-02-29"]["message"]
    assert "as in the snapshot of 2024-02-29 rejected for it: loaded as a real change" in mz["2024-03-01"]["message"]
    assert not mz["2024-03-31"]["message"]  # judged against 2024-03-01 now
    assert rows(wh, "SELECT count(*) FROM audit.alerts WHERE kind = 'snapshot_size_confirmed'") == [(1,)]


def corrupt_cell(csv_path: Path, key: str, column: str, value: str) -> int:
    """Replace one cell of the row starting with `key` (the generator's CSVs are GB18030,
    unquoted here); return its line number."""
    data = csv_path.read_bytes()
    encoding = "gb18030"
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    lines = text.split("\n")
    col = lines[0].lstrip("\ufeff").strip().split(",").index(column)
    for i, line in enumerate(lines):
        cells = line.split(",")
        if i and cells[0] == key and '"' not in line:
            cells[col] = value
            lines[i] = ",".join(cells)
            csv_path.write_bytes("\n".join(lines).encode(encoding))
            return i + 1
    raise AssertionError(f"no row {key} in {csv_path}")


def test_quarantined_household_row_is_not_an_exit(landing, tmp_path):
    wh = tmp_path / "w.duckdb"
    from pipelines.ingest.readers import read_file

    months = [read_file(next((landing / "mz" / d).glob("households.*"))).frame
              for d in ("2024-01-31", "2024-02-29", "2024-03-31")]
    steady = set.intersection(*[
        set(f.filter((f["保障状态"] == "在册") & (f["保障类别"] == "低保"))["家庭编号"].to_list()) for f in months])
    hid, orphaned = sorted(steady)[:2]
    feb = landing / "mz" / "2024-02-29" / "households.csv"
    corrupt_cell(feb, hid, "保障状态", "待定")
    # another household's row is missing while its members are delivered (an orphan conflict)
    line = corrupt_cell(feb, orphaned, "保障状态", "在册")
    text = feb.read_bytes().decode("gb18030").split("\n")
    feb.write_bytes("\n".join(text[:line - 1] + text[line:]).encode("gb18030"))
    (landing / "mz" / "2024-02-29" / "_READY").write_text("")
    run_all(landing, wh)
    assert rows(wh, "SELECT count(*) FROM audit.conflicts WHERE kind = 'orphan_member' AND detail LIKE ?",
                [f"household {orphaned} %"])[0][0] > 0
    assert rows(wh, "SELECT count(*) FROM core.change_events WHERE household_id = ?"
                    " AND kind IN ('household_exited', 'left_dibao', 'entered_dibao')", [orphaned]) == [(0,)]
    assert rows(wh, "SELECT reason FROM audit.quarantine WHERE source = 'mz' AND extract_date = '2024-02-29'"
                    " AND column_name = '保障状态' AND raw_value = '待定'") == [("enum_unknown",)]
    events = rows(wh, "SELECT kind, event_date::VARCHAR FROM core.change_events WHERE household_id = ?"
                      " AND kind IN ('household_exited', 'left_dibao', 'entered_dibao') ORDER BY 2", [hid])
    assert events == []
    history = rows(wh, "SELECT valid_from::VARCHAR, valid_to, unknown_on::VARCHAR[] FROM core.household_history"
                       " WHERE household_id = ? ORDER BY valid_from", [hid])
    assert len(history) >= 1 and history[-1][1] is None  # listed throughout, still listed
    assert [u for *_, u in history if u] == [["2024-02-29"]]
    # its members stay members: a household that is carried is not a household that left
    assert rows(wh, "SELECT count(*) FROM core.change_events WHERE household_id = ?"
                    " AND kind = 'member_died_or_left'", [hid]) == [(0,)]


def rewrite_line(csv_path: Path, line_number: int, edit) -> str:
    """Apply `edit` to one physical line (header = 1); the file is rewritten as UTF-8."""
    from pipelines.ingest.csv_reader import decode_csv_bytes

    lines = decode_csv_bytes(csv_path.read_bytes())[1].decode().split("\n")
    lines[line_number - 1] = edit(lines[line_number - 1])
    csv_path.write_bytes("\n".join(lines).encode("utf-8"))
    return lines[line_number - 1]


def test_unclosed_quote_quarantines_one_line(landing, tmp_path):
    members = landing / "mz" / "2024-01-31" / "members.csv"
    from pipelines.ingest.csv_reader import decode_csv_bytes

    header = decode_csv_bytes(members.read_bytes())[1].decode().split("\n")[0].split(",")
    name = header.index("姓名")

    def unclosed(line: str) -> str:
        cells = line.split(",")
        cells[name] = '"' + cells[name]
        return ",".join(cells)

    from pipelines.ingest.readers import read_file

    delivered = read_file(members).rows_read
    bad = rewrite_line(members, 500, unclosed)
    wh = tmp_path / "w.duckdb"
    summary = load_all(landing, wh, until="2024-01-31")
    assert [(d["source"], d["status"]) for d in summary["deliveries"]] == [
        ("mz", "loaded"), ("cl", "loaded"), ("rs", "loaded")]
    [(read, loaded, quarantined)] = rows(
        wh, "SELECT rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger"
            " WHERE extract_date = '2024-01-31' AND file_name = 'members.csv'")
    assert read == delivered and read == loaded + quarantined  # every line a row, the bad one among them
    assert rows(wh, "SELECT line_number, column_name, raw_value FROM audit.quarantine"
                    " WHERE reason = 'malformed_line'") == [(500, None, bad.rstrip("\r"))]
    assert rows(wh, "SELECT max(line_number) FROM staging.mz_members WHERE extract_date = '2024-01-31'"
                ) > [(1600,)]  # the lines after the bad one loaded


def test_unknown_columns_delivered_twice_load_and_a_contract_column_twice_rejects(landing, tmp_path):
    """Extra unknown columns occur (sources.md): two of one name are as unknown as one."""
    members = landing / "mz" / "2024-01-31" / "members.csv"
    households = landing / "mz" / "2024-01-31" / "households.csv"
    rewrite_line(members, 1, lambda line: line.rstrip("\r") + ",备注,备注")
    from pipelines.ingest.readers import read_file

    delivered = read_file(members).rows_read
    wh = tmp_path / "w.duckdb"
    summary = load_all(landing, wh, until="2024-01-31")
    assert [(d["source"], d["status"]) for d in summary["deliveries"]][0] == ("mz", "loaded")
    assert rows(wh, "SELECT rows_read, rows_loaded + rows_quarantined FROM audit.load_ledger"
                    " WHERE file_name = 'members.csv'") == [(delivered, delivered)]
    rewrite_line(households, 1, lambda line: line.rstrip("\r") + ",家庭编号")  # now which 家庭编号 is meant?
    (landing / "mz" / "2024-01-31" / "_READY").write_text("")  # a new attempt: the marker changed
    summary = load_all(landing, tmp_path / "w2.duckdb", until="2024-01-31")
    mz = [d for d in summary["deliveries"] if d["source"] == "mz"][0]
    assert mz["status"] == "rejected" and "duplicate header '家庭编号'" in mz["message"]


@pytest.mark.slow  # two whole nights, scoring and lists included
def test_two_10_mb_cells_are_quarantined_and_later_nights_succeed(landing, tmp_path):
    from pipelines.ingest.csv_reader import decode_csv_bytes

    from tests.pipeline_run import run_with_outputs

    disability = landing / "cl" / "2024-02-29" / "disability.csv"
    import csv
    import io

    header = next(csv.reader([decode_csv_bytes(disability.read_bytes())[1].decode().split("\n")[0]]))
    name = header.index("姓名")
    huge = "名" * (10_000_000 // 3 + 1)  # ~10 MB of UTF-8 each

    def poison(line: str) -> str:
        cells = next(csv.reader([line.rstrip("\r")]))
        cells[name] = huge
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="").writerow(cells)
        return buffer.getvalue()

    for line in (3, 7):
        rewrite_line(disability, line, poison)
    (disability.parent / "_READY").write_text("")  # its planted count mismatch is another test's business
    wh, out = tmp_path / "w.duckdb", tmp_path / "out"
    first = run_with_outputs(landing, wh, out, until="2024-02-29")
    cl = [d for d in first["deliveries"] if d["source"] == "cl" and d["extract_date"] == "2024-02-29"]
    assert [d["status"] for d in cl] == ["loaded"]
    [(read, loaded, quarantined)] = rows(
        wh, "SELECT rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger"
            " WHERE source = 'cl' AND extract_date = '2024-02-29'")
    assert read == loaded + quarantined and loaded > 0.9 * read
    kept = rows(wh, "SELECT line_number, column_name, strlen(raw_value), raw_value LIKE '%truncated: %'"
                    " FROM audit.quarantine WHERE reason = 'cell_too_long' ORDER BY 1")
    assert [(n, c, ok) for n, c, _, ok in kept] == [(3, "姓名", True), (7, "姓名", True)]
    assert all(size < 1_000 for _, _, size, _ in kept)
    assert rows(wh, "SELECT max(strlen(name)) FROM raw.cl_disability")[0][0] < 4096
    assert first["roles"]["townships"] > 0 and first["score"]["status"] == "scored"
    second = run_with_outputs(landing, wh, out)  # the night after: the next deliveries, same warehouse
    assert second["score"]["status"] == "scored" and second["roles"]["townships"] > 0
    assert second["score"]["as_of_date"] == "2024-03-31"


def write_xlsx(frame, target: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(target))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, frame.columns)
    for r, row in enumerate(frame.iter_rows(), start=1):
        sheet.write_row(r, 0, [v or "" for v in row])
    book.close()


@pytest.mark.slow  # three whole nights, scoring and lists included
def test_same_date_correction_reissues_lists_and_dates_history(landing, tmp_path, monkeypatch):
    import csv

    import polars as pl

    from pipelines.ingest.readers import read_file
    from tests.pipeline_run import run_with_outputs

    wh, out = tmp_path / "w.duckdb", tmp_path / "out"
    # The first mz/2024-03-31 lacks one household the snapshots before it showed, checked in 2023:
    # the correction adds its row back, which tells nothing new of that check.
    households = landing / "mz" / "2024-03-31" / "households.xlsx"
    frame = read_file(households).frame.drop("_line")
    checked_2023 = frame.filter(pl.col("核对日期").str.contains(r"^2023-\d\d-\d\d$"))["家庭编号"]
    back, fixed = checked_2023[0], checked_2023[1]  # and one whose income the first delivery had wrong
    write_xlsx(frame.filter(pl.col("家庭编号") != back).with_columns(
        pl.when(pl.col("家庭编号") == fixed).then(pl.lit("9999")).otherwise(pl.col("月人均收入")).alias("月人均收入")),
        households)
    ready = landing / "mz" / "2024-03-31" / "_READY"
    counts = ready.read_text(encoding="utf-8")
    ready.write_text(counts.replace(f'"households.xlsx": {frame.height}', f'"households.xlsx": {frame.height - 1}'),
                     encoding="utf-8")
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-02")
    first = run_with_outputs(landing, wh, out)
    assert first["lists"]["status"] == "written" and first["lists"]["as_of_date"] == "2024-03-31"
    [(hid, county, township)] = rows(wh, "SELECT household_id, county_code, township_code FROM mart.listed_households"
                                         " WHERE as_of_date = '2024-03-31' ORDER BY list_rank, household_id LIMIT 1")
    [(check_date, old_income)] = rows(wh, "SELECT check_date, income_per_capita FROM staging.mz_households"
                                          " WHERE extract_date = '2024-03-31' AND household_id = ?", [hid])

    # 民政 re-delivers mz/2024-03-31 on 2024-04-20 with this household's income corrected
    frame = frame.with_columns(pl.when(pl.col("家庭编号") == hid).then(pl.lit("1.00"))
                               .otherwise(pl.col("月人均收入")).alias("月人均收入"))
    write_xlsx(frame, households)
    ready.write_text(counts, encoding="utf-8")
    monkeypatch.setenv("DIBAO_TODAY", "2024-04-20")
    second = run_with_outputs(landing, wh, out)
    assert [(d["extract_date"], d["status"]) for d in second["deliveries"]] == [("2024-03-31", "loaded")]
    assert sorted(rows(wh, "SELECT household_id, changed, received_on::VARCHAR FROM audit.corrected_rows")) == sorted([
        (hid, ["income_per_capita"], "2024-04-20"), (back, [], "2024-04-20"), (fixed, ["income_per_capita"], "2024-04-20")])
    for known in (back, fixed):  # the correction shows what January and February showed: known since
        assert rows(wh, "SELECT first_seen < '2024-03-31', corrected_on FROM core.income_checks"
                        " WHERE household_id = ? AND year(check_date) = 2023", [known]) == [(True, None)], known

    # history: the corrected value is known from the day it was delivered
    assert rows(wh, "SELECT income_per_capita, first_seen::VARCHAR, corrected_on::VARCHAR FROM core.income_checks"
                    " WHERE household_id = ? AND check_date = ?", [hid, check_date]) == [(1.0, "2024-04-20",
                                                                                          "2024-04-20")]
    assert rows(wh, "SELECT seen_date::VARCHAR FROM core.change_events WHERE household_id = ?"
                    " AND kind = 'income_checked' AND event_date = ?", [hid, check_date]) == [("2024-04-20",)]

    # the list: re-issued for the affected township, the row marked 更正, the new income in the CSV
    lists = second["lists"]
    assert lists["status"] == "corrected" and township in lists["townships"]
    csv_path = Path(lists["townships"][township]["csv"])
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        shown = {r["家庭编号"]: r for r in csv.DictReader(f)}
    assert shown[hid]["变化"].startswith("更正") and float(shown[hid]["月人均收入（元）"]) == 1.0
    assert float(old_income) != 1.0
    assert rows(wh, "SELECT DISTINCT correction FROM audit.list_exports WHERE as_of_date = '2024-03-31'"
                    " AND township_code = ? AND exported_at = (SELECT max(exported_at) FROM audit.list_exports)",
                [township]) == [(True,)]
    assert rows(wh, "SELECT count(*) FROM audit.alerts WHERE kind = 'list_corrected' AND message LIKE ?",
                [f"{township}:%"]) == [(1,)]
    # the next night changes nothing more
    third = run_with_outputs(landing, wh, out)
    assert third["lists"]["status"] == "already_written"


def test_a_snapshot_cut_by_two_fifths_is_rejected_and_the_complete_one_after_it_loads(landing, tmp_path):
    """With one limit (half) both ways, a households file cut by 40% loaded without a word (every
    household it lost an exit), and the complete snapshot after it, 67% larger than the cut, was
    rejected, leaving 民政 on the cut (the second hostile audit). A fall is now judged by what
    the rise's limit undoes: a third."""
    keep_households(landing / "mz" / "2024-02-29", 0.6)
    wh = tmp_path / "w.duckdb"
    summary = load_all(landing, wh)
    mz = {d["extract_date"]: d for d in summary["deliveries"] if d["source"] == "mz"}
    assert mz["2024-02-29"]["status"] == "rejected"
    assert "fallen by 33% or more" in mz["2024-02-29"]["message"]
    assert mz["2024-03-31"]["status"] == "loaded" and not mz["2024-03-31"]["message"]
