"""Persisted GX results (ID values masked) and the static Data Docs built from them."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.sources.contract import CERT, ID, FileSpec
from pipelines.validate.gx_setup import gx_context

RESULT_SUFFIX = ".gx.json"  # persisted results; other files in results_dir are ignored
KEPT_VALUES = 20  # failing values kept per expectation in the persisted results


def build_data_docs(results_dir: Path, docs_dir: Path) -> Path:
    """Render the GX results saved in `results_dir` as static Data Docs in `docs_dir`."""
    context = _docs_context(docs_dir)
    for path in sorted(Path(results_dir).glob(f"*{RESULT_SUFFIX}")):
        key, result = _load_result(path)
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=["local"])
    return Path(docs_dir) / "index.html"


def save_result(gx_result, spec: FileSpec, table: str, extract_date: date, results_dir: Path) -> Path:
    """Write one GX result to `results_dir`, failing values sampled and IDs masked."""
    document = gx_result.to_json_dict()
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


def _load_result(path: Path):
    from great_expectations.core.expectation_validation_result import (
        expectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    document = json.loads(path.read_text(encoding="utf-8"))
    run = document["meta"]["dibao"]
    result = expectationSuiteValidationResultSchema.load(document)
    run_id = RunIdentifier(run_name=run["extract_date"], run_time=run["validated_at"])
    result.meta["run_id"] = run_id  # the page header shows it
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=run["suite"]),
        run_id=run_id,
        batch_identifier=run["table"],
    )
    return key, result


def _docs_context(docs_dir: Path):
    """A short-lived in-memory context whose only Data Docs site is `docs_dir`."""
    gx_context()  # analytics off and the GX import paid once per process
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
        "show_how_to_buttons": False,  # GX tutorial and newsletter links mean nothing to our readers
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        data_docs_sites={"local": site},
    )
    return gx.get_context(mode="ephemeral", project_config=config)
