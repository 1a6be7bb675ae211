"""Persisted GX results (ID values masked) and the offline Data Docs built from them."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.sources.contract import CERT, ID, FileSpec
from pipelines.validate.quality_pages import load_validations, write_pages

RESULT_SUFFIX = ".gx.json"  # persisted results; other files in results_dir are ignored
KEPT_VALUES = 20  # failing values kept per expectation in the persisted results


def build_data_docs(results_dir: Path, docs_dir: Path) -> Path:
    """Render the GX results saved in `results_dir` as static pages in `docs_dir`.

    The pages (`quality_pages`) need nothing from the internet and show a delivery whose
    only failures are warn-level as a warning, not as failed.
    """
    results_dir, docs_dir = Path(results_dir), Path(docs_dir)
    if not results_dir.is_dir():
        raise ValueError(f"{results_dir}: no such folder of saved GX results")
    validations = load_validations(sorted(results_dir.glob(f"*{RESULT_SUFFIX}")))
    shutil.rmtree(docs_dir / "validations", ignore_errors=True)  # a rebuilt run shows only its results
    return write_pages(validations, docs_dir, title=results_dir.name)


def save_result(document: dict, spec: FileSpec, table: str, extract_date: date, results_dir: Path) -> Path:
    """Write one result document (GX's `ExpectationSuiteValidationResult.to_json_dict()` shape)
    to `results_dir`, failing values sampled and IDs masked."""
    document = copy.deepcopy(document)
    masked = {c.field for c in spec.columns if c.kind in (ID, CERT)}
    for result in document["results"]:
        _shrink(result, masked)
    document["meta"]["dibao"] = {
        "suite": spec.key,
        "table": table,
        "extract_date": extract_date.isoformat(),
        "validated_at": datetime.now(timezone.utc).isoformat(),
    }
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{spec.key}_{extract_date.isoformat()}{RESULT_SUFFIX}"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return path


def _shrink(result: dict, masked: set[str]) -> None:
    """Keep a sample of failing values, with ID numbers masked (privacy rules)."""
    body = result.get("result") or {}
    body.pop("unexpected_list", None)
    body.pop("unexpected_index_list", None)
    config = result["expectation_config"]
    column = config["kwargs"].get("column") or config.get("meta", {}).get("column")
    hide = _mask if column in masked else (lambda v: v)
    if "partial_unexpected_list" in body:
        body["partial_unexpected_list"] = [hide(v) for v in body["partial_unexpected_list"]]
    for item in body.get("partial_unexpected_counts", []):
        item["value"] = hide(item["value"])
    for item in body.get("partial_unexpected_index_list", []):
        if column in item:
            item[column] = hide(item[column])
    details = body.get("details")
    if details and "unexpected_rows" in details:
        rows = details["unexpected_rows"][:KEPT_VALUES]
        details["unexpected_rows"] = [{k: hide(v) if k == column else v for k, v in row.items()} for row in rows]


def _mask(value: Any) -> Any:
    """First 6 and last 4 characters, like the warehouse's masked IDs; short values fully."""
    if value is None:
        return None
    text = str(value)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]
