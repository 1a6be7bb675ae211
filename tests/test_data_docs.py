"""The run's quality pages (Data Docs): offline, no broken links, warnings shown as warnings.

Saved results are written here in the shape `data_docs.save_result` gives them (GX 1.x
`to_json_dict()` plus `meta.dibao`); test_validate.py builds the pages from real GX results.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pipelines.validate.data_docs import RESULT_SUFFIX, build_data_docs
from pipelines.validate.quality_pages import STATUSES
from tests.desktop import desktop  # noqa: F401

LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']""", re.I)
EXTRACT = "2024-06-30"


def expectation(level: str, success: bool = True, error: str | None = None, column: str = "person_id") -> dict:
    body = {} if success else {"element_count": 40, "unexpected_count": 2, "unexpected_percent": 5.0,
                               "partial_unexpected_index_list": [{"_line": 7, column: "371502********123X"},
                                                                 {"_line": 9, column: "abc"}]}
    return {
        "success": success and not error,
        "expectation_config": {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": column},
                               "meta": {"level": level, "check": "not_null"},
                               "description": f"{column} is not empty ({level})"},
        "result": body,
        "exception_info": {"raised_exception": bool(error), "exception_message": error, "exception_traceback": None},
    }


def saved(folder: Path, suite: str, results: list[dict]) -> Path:
    document = {"success": all(r["success"] for r in results), "results": results, "suite_name": suite,
                "statistics": {}, "meta": {"dibao": {"suite": suite, "table": suite, "extract_date": EXTRACT,
                                                     "validated_at": "2024-07-01T02:00:00+00:00"}}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{suite}_{EXTRACT}{RESULT_SUFFIX}"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path) -> Path:
    results = tmp_path / "results"
    saved(results, "mz_households", [expectation("table"), expectation("row"), expectation("warn")])
    saved(results, "mz_members", [expectation("table"), expectation("warn", success=False)])
    saved(results, "cl_disability", [expectation("row", success=False), expectation("warn", success=False)])
    saved(results, "rs_registrations", [expectation("table", success=False), expectation("warn", success=False)])
    saved(results, "rs_contributions", [expectation("table", error="Catalog Error: no such column")])
    (results / "load-1.json").write_text("{}")  # the gate's own summary: not a GX result, ignored
    return build_data_docs(results, tmp_path / "docs").parent


def index_rows(index: Path) -> dict[str, str]:
    """suite -> status of each row of the index table."""
    text = index.read_text(encoding="utf-8")
    return dict((suite, status) for status, suite in
                re.findall(r'<tr class="validation (\w+)">.*?<a href="[^"]*">([^<]+)</a>', text))


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_each_validation_gets_the_status_of_its_worst_failure(site):
    assert index_rows(site / "index.html") == {
        "mz_households": "passed",
        "mz_members": "warning",  # only a warn-level expectation failed: the delivery loaded
        "cl_disability": "quarantined",
        "rs_registrations": "failed",
        "rs_contributions": "failed",  # an expectation that could not run counts as failed
    }


def test_a_warning_only_validation_reads_as_a_warning_on_its_page(site):
    page = (site / "validations" / "mz_members" / f"{EXTRACT}.html").read_text(encoding="utf-8")
    heading = re.search(r"<h1>.*?</h1>", page).group(0)
    assert STATUSES["warning"][0] in heading and STATUSES["failed"][0] not in page
    assert "2 unexpected of 40 (5.00%)" in page and "line 7: 371502********123X" in page


def test_an_error_is_shown_with_its_message(site):
    page = (site / "validations" / "rs_contributions" / f"{EXTRACT}.html").read_text(encoding="utf-8")
    assert "Catalog Error: no such column" in page


def test_every_relative_link_resolves(site):
    checked = 0
    for page in pages(site):
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            parts = urlsplit(target)
            if parts.scheme or target.startswith("#"):
                continue
            assert (page.parent / unquote(parts.path)).resolve().is_file(), f"{page.name}: broken link {target}"
            checked += 1
    assert checked >= 2 * 5, "the index links each validation and each page links back"


def test_no_page_loads_anything_from_elsewhere(site):
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        assert not [t for t in LINK.findall(text) if urlsplit(t).scheme], page
        assert "<script" not in text and "@import" not in text and "url(" not in text, page


def test_a_rebuild_drops_pages_of_results_no_longer_there(tmp_path, site):
    results = tmp_path / "results"
    (results / f"mz_members_{EXTRACT}{RESULT_SUFFIX}").unlink()
    build_data_docs(results, site)
    assert "mz_members" not in index_rows(site / "index.html")
    assert not (site / "validations" / "mz_members").exists()


def test_an_empty_run_still_has_an_index(tmp_path):
    (tmp_path / "results").mkdir()
    index = build_data_docs(tmp_path / "results", tmp_path / "docs")
    assert "No validations in this run." in index.read_text(encoding="utf-8")


def test_bad_input_gets_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="no such folder of saved GX results"):
        build_data_docs(tmp_path / "missing", tmp_path / "docs")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / f"broken{RESULT_SUFFIX}").write_text('{"results": []}')
    with pytest.raises(ValueError, match=r"broken\.gx\.json: not a saved GX result") as caught:
        build_data_docs(tmp_path / "results", tmp_path / "docs")
    assert "\n" not in str(caught.value)


def headless_dom(chromium: str, page: Path) -> str:
    """The page's DOM as headless Chromium builds it with every host name unresolvable."""
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         '--host-resolver-rules=MAP * ~NOTFOUND', "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-500:]
    return done.stdout


@pytest.mark.slow
def test_the_index_renders_offline_in_chromium(desktop, site):  # noqa: F811
    dom = headless_dom(desktop["chromium"], site / "index.html")
    assert len(re.findall(r'<tr class="validation \w+">', dom)) == 5
    assert STATUSES["warning"][0] in dom and "mz_members" in dom
