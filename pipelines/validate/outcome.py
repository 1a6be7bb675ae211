"""What a suite's result means for a delivery: the gate's reading of a GX result document.

A result document has GX 1.x's `ExpectationSuiteValidationResult.to_json_dict()` shape,
whether the SQL engine (`run_sql.py`) or GX itself (`suites.py`) produced it. Each
expectation's `meta.level` says what a failure means: "table" rejects the delivery,
"row" quarantines each failing cell (reason `gx:<meta.check>`), "warn" is only recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from pipelines.sources.contract import FileSpec

LINE = "_line"
ROW_FAILURE_SCHEMA = {"_line": pl.Int64, "column_name": pl.Utf8, "raw_value": pl.Utf8, "reason": pl.Utf8}
SHOWN_LINES = 5  # line numbers quoted in a warning message

# Given the failed row-level results (GX result dicts), every failing cell: k (the
# result's position in that list), _line, raw_value (text).
CellsReader = Callable[[list[dict]], pl.DataFrame]


@dataclass
class Validation:
    success: bool  # False when any "table" expectation failed
    table_failures: list[str]  # one-line messages for the gate
    row_failures: pl.DataFrame  # _line, column_name (Chinese header), raw_value (Utf8), reason
    warnings: list[str]
    results: dict  # "<check>:<field>" -> summary of that expectation (JSON-serialisable)
    timing: dict[str, float] = field(default_factory=dict)  # seconds


def interpret(document: dict, spec: FileSpec, suite: dict, failing_cells: CellsReader, row_count: int) -> Validation:
    headers = {c.field: c.header for c in spec.columns} | {LINE: LINE}
    label = f"{spec.source}/{spec.name}"
    order = {e["id"]: i for i, e in enumerate(suite["expectations"])}
    results = sorted(document["results"], key=lambda r: order.get(r["expectation_config"]["id"], len(order)))

    missing = [_field(r) for r in results if _check(r) == "column_exists" and not r["success"]]
    table_failures = [f"{label}: column {headers.get(f, f)} missing" for f in missing]
    warnings: list[str] = []
    quarantined: list[dict] = []
    summary: dict[str, dict] = {}
    for r in results:
        level, column = _level(r), _field(r)
        header = headers.get(column, column)
        error = error_message(r)
        summary[f"{_check(r)}:{column}"] = _summary(r, level, header, column, error, row_count)
        if r["success"] or _check(r) == "column_exists":
            continue
        if error:
            # A missing column breaks every check on it; that is already reported.
            if not missing:
                table_failures.append(f"{label}: could not check '{_describe(r)}': {error}")
        elif level == "table":
            table_failures.append(f"{label}: {_describe(r)}: not true for {_rows(unexpected_count(r))}")
        elif level == "row":
            quarantined.append(r)
        else:
            warnings.append(_warning(label, r, header, row_count))

    return Validation(
        success=not table_failures,
        table_failures=table_failures,
        row_failures=_row_failures(quarantined, failing_cells, headers),
        warnings=warnings,
        results=summary,
    )


def _row_failures(quarantined: list[dict], failing_cells: CellsReader, headers: dict) -> pl.DataFrame:
    if not quarantined:
        return pl.DataFrame(schema=ROW_FAILURE_SCHEMA)
    cells = failing_cells(quarantined)
    names = pl.DataFrame({"k": range(len(quarantined)),
                          "column_name": [headers.get(_field(r), _field(r)) for r in quarantined],
                          "reason": [f"gx:{_check(r)}" for r in quarantined]}, schema_overrides={"k": pl.Int64})
    # A row without _line fails the table-level check on _line, which rejects the delivery.
    frame = (cells.select(pl.col("k").cast(pl.Int64), pl.col(LINE).cast(pl.Int64), pl.col("raw_value").cast(pl.Utf8))
             .drop_nulls(LINE).join(names, on="k", how="left", maintain_order="left")
             .sort("k", maintain_order=True))
    # In suite order, so a cell failing two checks keeps the first reason.
    return frame.select(*ROW_FAILURE_SCHEMA).unique(subset=["_line", "column_name"], keep="first",
                                                    maintain_order=True).sort("_line", maintain_order=True)


def _warning(label: str, r: dict, header: str, row_count: int) -> str:
    count = unexpected_count(r) or 0
    lines = _sample_lines(r)
    shown = ", ".join(str(n) for n in lines[:SHOWN_LINES]) + (", ..." if count > SHOWN_LINES else "")
    return f"{label}: {_describe(r)}: not true for {count} of {_rows(row_count)} (lines {shown})"


def _rows(count: int | None) -> str:
    return "1 row" if count == 1 else f"{count} rows"


def _sample_lines(r: dict) -> list[int]:
    body = r["result"]
    if "partial_unexpected_index_list" in body:
        return [item[LINE] for item in body["partial_unexpected_index_list"]]
    rows = (body.get("details") or {}).get("unexpected_rows", [])
    return [row[LINE] for row in rows if LINE in row]


def _summary(r: dict, level: str, header: str, column: str, error: str | None, row_count: int) -> dict:
    summary = {
        "type": r["expectation_config"]["type"],
        "check": _check(r),
        "column": header,
        "field": column,
        "level": level,
        "success": bool(r["success"]),
        "unexpected_count": None if error else unexpected_count(r),
        "element_count": element_count(r, row_count),
    }
    if error:
        summary["error"] = error
    return summary


def element_count(r: dict, row_count: int) -> int | None:
    body = r["result"]
    if "element_count" in body:  # column map expectations
        return _int_or_none(body["element_count"])
    return row_count if "observed_value" in body else None  # UnexpectedRowsExpectation


def unexpected_count(r: dict) -> int | None:
    # GX reports None for both counts on an empty table (a header-only file).
    body = r["result"]
    if "unexpected_count" in body:  # column map expectations
        return _int_or_none(body["unexpected_count"])
    if "observed_value" in body:  # UnexpectedRowsExpectation
        return _int_or_none(body["observed_value"])
    return None  # expect_column_to_exist and other table expectations


def _int_or_none(value) -> int | None:
    return None if value is None else int(value)


def _level(r: dict) -> str:
    return r["expectation_config"]["meta"]["level"]


def _check(r: dict) -> str:
    return r["expectation_config"]["meta"]["check"]


def _field(r: dict) -> str:
    config = r["expectation_config"]
    return config["kwargs"].get("column") or config["meta"].get("column", "")


def _describe(r: dict) -> str:
    return r["expectation_config"].get("description") or r["expectation_config"]["type"]


def error_message(r: dict) -> str | None:
    """GX catches an expectation's exception into `exception_info`, flat or keyed per metric."""
    info = r.get("exception_info") or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if entry.get("raised_exception") or entry.get("exception_message"):
            message = str(entry.get("exception_message") or "error").strip()
            return message.splitlines()[0]
    return None
