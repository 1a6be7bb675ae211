"""The screenshot command for docs/outputs.md (pipelines/evaluation/screenshots.py)."""

from __future__ import annotations

import http.server
import socket
import struct
import threading
from pathlib import Path

import pytest
import xlsxwriter

from pipelines.evaluation import screenshots
from pipelines.validate.data_docs import build_data_docs
from tests.desktop import desktop  # noqa: F401
from tests.test_data_docs import expectation, saved


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ui_asking_for_a_password():
    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            self.send_response(403)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_airflow_grid_is_skipped_with_a_reason_when_nothing_listens(tmp_path, capsys):
    assert screenshots.airflow_grid_shot(f"http://127.0.0.1:{free_port()}", tmp_path) is None
    assert "nothing answers there" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_ui_that_asks_for_a_password_is_skipped(ui_asking_for_a_password, tmp_path, capsys):
    assert screenshots.airflow_grid_shot(ui_asking_for_a_password, tmp_path) is None
    assert "SIMPLE_AUTH_MANAGER_ALL_ADMINS" in capsys.readouterr().err


def test_a_missing_output_folder_gets_a_one_line_error(tmp_path, capsys):
    assert screenshots.main(["--from", str(tmp_path / "nope"), "--out", str(tmp_path / "img")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder" in err


def test_a_folder_it_did_not_make_is_never_emptied(tmp_path):
    (tmp_path / "keep.txt").write_text("someone's file")
    with pytest.raises(screenshots.ScreenshotError, match="not made by this command"):
        screenshots.build_world(tmp_path)
    assert (tmp_path / "keep.txt").is_file()


def test_an_output_folder_without_lists_says_so(tmp_path):
    with pytest.raises(screenshots.ScreenshotError, match="no township list"):
        screenshots.fullest_list(tmp_path)


def small_outputs(out: Path) -> Path:
    """What a run leaves in --out, by hand: a report, two township lists, the quality pages."""
    (out / "reports").mkdir(parents=True)
    (out / "reports" / "run-report-2024-06-30-20240701T020000.html").write_text(
        "<!DOCTYPE html><html><body><h1>运行报告 Run report</h1>" + "<p>本次接收 23,876 行</p>" * 40
        + "</body></html>", encoding="utf-8")
    folder = out / "2024-06-30" / "371502"
    folder.mkdir(parents=True)
    for township, rows in (("371502001", 3), ("371502002", 30)):
        book = xlsxwriter.Workbook(str(folder / f"{township}.xlsx"))
        sheet = book.add_worksheet("风险名单")
        sheet.write_row(0, 0, ["变化", "家庭编号", "户主姓名", "风险等级"])
        for i in range(rows):
            sheet.write_row(i + 1, 0, ["新增", f"{township}{i:04d}", "张三", "高"])
        book.close()
    results = out / "results"
    saved(results, "mz_members", [expectation("table"), expectation("warn", success=False)])
    build_data_docs(results, out / "data_docs" / "manual__2024-07-01")
    return out


@pytest.mark.slow
def test_the_command_writes_each_screenshot(desktop, tmp_path, capsys):  # noqa: F811
    out, img = small_outputs(tmp_path / "out"), tmp_path / "img"
    assert screenshots.main(["--from", str(out), "--out", str(img), "--airflow",
                             f"http://127.0.0.1:{free_port()}"]) == 0
    assert sorted(p.name for p in img.iterdir()) == ["data-docs.png", "list-page.png", "report.png"]
    assert png_size(img / "report.png") == (screenshots.WIDTH, screenshots.HEIGHT)
    assert png_size(img / "data-docs.png") == (screenshots.WIDTH, screenshots.HEIGHT)
    width, height = png_size(img / "list-page.png")
    assert 400 < width < 1000 and 400 < height < 1000, "one A4 page at 60 dpi"
    assert screenshots.fullest_list(out).stem == "371502002"
    # A page that rendered has text on it: a blank screen compresses to a few KB.
    assert (img / "data-docs.png").stat().st_size > 10_000
    assert "airflow-grid.png skipped" in capsys.readouterr().err
