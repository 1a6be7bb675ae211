"""Screenshots of the outputs as people see them, for docs/outputs.md (off the production path).

    python -m pipelines.evaluation.screenshots --out docs/img            # builds a small world first
    python -m pipelines.evaluation.screenshots --out docs/img --from var/out --airflow http://localhost:8080

Needs Chromium, LibreOffice and pdftoppm (`bash .ci/desktop`). Writes report.png (the
run report's first screen), list-page.png (a township list's first printed page),
data-docs.png (the quality pages' index, opened with no network) and airflow-grid.png
(the nightly DAG's grid, when an Airflow UI answers at --airflow).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

WIDTH, HEIGHT = 1280, 900  # one laptop screen
LIST_DPI = 60  # pdftoppm resolution of the printed page: A4 landscape ≈ 700 px wide
WORLD = ["--scale", "town", "--months", "4", "--seed", "3"]
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND"  # no host name resolves: nothing can be fetched
DAG_ID = "dibao_nightly"
MARKER = ".screenshots-world"  # marks a --work folder this command may empty


class ScreenshotError(Exception):
    """A one-line reason a screenshot could not be taken."""


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ScreenshotError(f"{name} is not installed: run `bash .ci/desktop` as root")
    return found


def run(command: list[str], what: str, timeout: int = 600) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ScreenshotError(f"{what}: no answer after {timeout} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ScreenshotError(f"{what} failed ({done.returncode}): {last}")


def build_world(work: Path) -> Path:
    """A town-scale world of four months, run through the nightly job; returns its output folder."""
    marker = work / MARKER
    if work.exists() and any(work.iterdir()):
        if not marker.is_file():
            raise ScreenshotError(f"--work {work}: not empty and not made by this command; give an empty folder")
        shutil.rmtree(work)  # a fresh world each time
    work.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by python -m pipelines.evaluation.screenshots; removed on its next run\n")
    print(f"building a small world in {work} (dibao generate {' '.join(WORLD)}, dibao run): a few minutes",
          file=sys.stderr)
    dibao = [sys.executable, "-m", "pipelines.cli"]
    run([*dibao, "generate", *WORLD, "--landing", str(work / "landing"), "--truth", str(work / "truth")],
        "dibao generate", timeout=1800)
    run([*dibao, "run", "--landing", str(work / "landing"), "--warehouse", str(work / "warehouse.duckdb"),
         "--out", str(work / "out")], "dibao run", timeout=3600)
    return work / "out"


def newest(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ScreenshotError(f"no {what} in {folder} ({pattern})")
    return found[-1]


def browser_shot(url: str, png: Path, offline: bool = True, wait_ms: int = 0) -> Path:
    """One screen of `url` in headless Chromium, as a PNG of WIDTH × HEIGHT."""
    command = [tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={WIDTH},{HEIGHT}",
               f"--screenshot={png}"]
    if offline:
        command.append(OFFLINE)
    if wait_ms:
        command.append(f"--virtual-time-budget={wait_ms}")
    png.unlink(missing_ok=True)
    run([*command, url], f"chromium {url}", timeout=180)
    if not png.is_file():
        raise ScreenshotError(f"chromium wrote no screenshot of {url}")
    return png


def report_shot(out: Path, img: Path) -> Path:
    report = newest(out / "reports", "run-report-*.html", "run report")
    return browser_shot(report.resolve().as_uri(), img / "report.png")


def data_docs_shot(out: Path, img: Path) -> Path:
    index = newest(out / "data_docs", "*/index.html", "Data Docs index")
    return browser_shot(index.resolve().as_uri(), img / "data-docs.png")


def fullest_list(out: Path) -> Path:
    """The township list with the most rows (the largest file): the page shows a full sheet."""
    lists = sorted(out.glob("*/*/*.xlsx"), key=lambda p: (p.stat().st_size, p.name))
    if not lists:
        raise ScreenshotError(f"no township list in {out} (<date>/<county>/<township>.xlsx)")
    return lists[-1]


def list_page_shot(out: Path, img: Path) -> Path:
    """The first printed page of a township list: LibreOffice prints it to PDF, pdftoppm draws it."""
    workbook = fullest_list(out)
    png = img / "list-page.png"
    with tempfile.TemporaryDirectory(prefix="dibao-shot-") as tmp:
        profile = Path(tmp) / "profile"  # a fresh LibreOffice profile: no lock with a running Calc
        run([tool("soffice"), f"-env:UserInstallation={profile.as_uri()}", "--headless",
             "--convert-to", "pdf", "--outdir", tmp, str(workbook)], f"soffice {workbook.name}", timeout=300)
        pdf = Path(tmp) / (workbook.stem + ".pdf")
        if not pdf.is_file():
            raise ScreenshotError(f"LibreOffice made no PDF of {workbook}")
        run([tool("pdftoppm"), "-png", "-r", str(LIST_DPI), "-f", "1", "-l", "1", "-singlefile",
             str(pdf), str(png.with_suffix(""))], f"pdftoppm {pdf.name}")
    return png


def airflow_answers(base_url: str) -> str | None:
    """None when the UI lets a screenshot in without a password, else the reason it does not."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/auth/token", timeout=5):
            return None
    except urllib.error.HTTPError as exc:
        if exc.code == 403:
            return ("it asks for a password; start it with AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True "
                    "for screenshots")
        return f"GET /auth/token answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"nothing answers there ({getattr(exc, 'reason', exc)}); start `dibao airflow` first"


def airflow_grid_shot(base_url: str, img: Path) -> Path | None:
    """The grid of the nightly DAG in Airflow's UI at `base_url`; None (and why) when it cannot be had."""
    reason = airflow_answers(base_url)
    if reason:
        print(f"airflow-grid.png skipped: the Airflow UI at {base_url}: {reason}", file=sys.stderr)
        return None
    base = base_url.rstrip("/")
    url = f"{base}/auth/token/login?next={quote(f'/dags/{DAG_ID}', safe='')}"
    return browser_shot(url, img / "airflow-grid.png", offline=False, wait_ms=15000)


def take_all(out: Path, img: Path, airflow: str | None) -> list[Path]:
    img.mkdir(parents=True, exist_ok=True)
    shots = [report_shot(out, img), list_page_shot(out, img), data_docs_shot(out, img)]
    if airflow:
        grid = airflow_grid_shot(airflow, img)
        shots += [grid] if grid else []
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.evaluation.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="folder for the PNGs (docs/img)")
    parser.add_argument("--from", dest="source", type=Path,
                        help="a run's output folder to use (e.g. var/out after `make demo`); default: build a small world")
    parser.add_argument("--work", type=Path, default=Path("var/screenshots"), help="where the small world is built")
    parser.add_argument("--airflow", metavar="URL", help="base URL of a running Airflow UI for the grid")
    args = parser.parse_args(argv)
    try:
        if args.source is not None and not args.source.is_dir():
            raise ScreenshotError(f"--from {args.source}: no such folder")
        out = args.source if args.source is not None else build_world(args.work)
        for shot in take_all(out, args.out, args.airflow):
            print(f"{shot} ({shot.stat().st_size // 1024} KB)")
    except ScreenshotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
