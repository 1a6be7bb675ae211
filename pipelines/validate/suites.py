"""Great Expectations gate for one typed delivery table, run inside DuckDB.

`validate_table` checks a staged table against `expectations/<spec.key>.json`;
each expectation's `meta.level` says what a failure means: "table" rejects the
delivery, "row" quarantines each failing cell (reason `gx:<meta.check>`), "warn"
is only recorded. GX runs its SQL on a second connection (a cursor) to the
caller's database, so no rows are copied into Python; GX itself is imported
inside functions only (gx_setup.py). Saved results and Data Docs: data_docs.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipelines.config import EXPECTATIONS
from pipelines.sources.contract import FileSpec
from pipelines.validate.data_docs import save_result
from pipelines.validate.gx_setup import gx_context

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

LEVELS = ("table", "row", "warn")
LINE = "_line"
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [LINE]}
ROW_FAILURE_SCHEMA = {"_line": pl.Int64, "column_name": pl.Utf8, "raw_value": pl.Utf8, "reason": pl.Utf8}
SHOWN_LINES = 5  # line numbers quoted in a warning message


@dataclass
class Validation:
    success: bool  # False when any "table" expectation failed
    table_failures: list[str]  # one-line messages for the gate
    row_failures: pl.DataFrame  # _line, column_name (Chinese header), raw_value (Utf8), reason
    warnings: list[str]
    results: dict  # "<check>:<field>" -> summary of that expectation (JSON-serialisable)
    timing: dict[str, float] = field(default_factory=dict)  # seconds: gx_startup (first call only), validate


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    spec: FileSpec,
    extract_date: date,
    results_dir: Path | None = None,
) -> Validation:
    """Validate `table` (visible in `con`'s database) against the suite of `spec`.

    `table` may be schema-qualified but must be a committed, non-temporary table or
    view: GX reads it through its own connection. With `results_dir`, the GX result
    is also written there (values of ID columns masked) for `build_data_docs`.
    """
    started = time.perf_counter()
    context = gx_context()
    startup = time.perf_counter() - started
    row_count = _row_count(con, table)
    suite = load_suite(spec.key)
    gx_result = _run_suite(context, con, table, suite, extract_date)
    outcome = _interpret(con, table, spec, suite, gx_result, row_count)
    outcome.timing = {"gx_startup": round(startup, 3), "validate": round(time.perf_counter() - started - startup, 3)}
    if results_dir is not None:
        save_result(gx_result, spec, table, extract_date, results_dir)
    return outcome


def load_suite(key: str) -> "ExpectationSuite":
    """The reviewed suite for a source file, e.g. `load_suite("mz_households")`."""
    import great_expectations as gx

    path = EXPECTATIONS / f"{key}.json"
    suite = gx.ExpectationSuite(**json.loads(path.read_text(encoding="utf-8")))
    _check_suite(path.name, suite)
    return suite


def _check_suite(file_name: str, suite) -> None:
    """Refuse a suite this module cannot report on: every expectation needs an id,
    a level, a check name and a column, and "<check>:<column>" must be unique."""
    names = set()
    for expectation in suite.expectations:
        meta = expectation.meta or {}
        column = getattr(expectation, "column", None) or meta.get("column")
        if meta.get("level") not in LEVELS or not meta.get("check") or not column or expectation.id is None:
            raise ValueError(
                f"{file_name}: every expectation needs an id, meta.level in {LEVELS}, meta.check "
                f"and a column (meta.column for UnexpectedRowsExpectation): {expectation.description}"
            )
        name = f"{meta['check']}:{column}"
        if name in names:
            raise ValueError(f"{file_name}: two expectations are both {name}")
        names.add(name)


# --- GX set-up ---------------------------------------------------------------


def _run_suite(context, con: duckdb.DuckDBPyConnection, table: str, suite, extract_date: date):
    """Run `suite` on `table` through a throw-away SQL datasource sharing `con`'s database."""
    from duckdb_engine import ConnectionWrapper

    schema, name = _split_table(table)

    def connect() -> ConnectionWrapper:
        # A cursor is a second connection to the same database, in memory or on
        # disk; GX's queries then neither see nor disturb the caller's results.
        cursor = con.cursor()
        if schema:
            cursor.execute("SET search_path = '" + schema.replace("'", "''") + "'")
        return ConnectionWrapper(cursor)

    source_name = f"dibao_{name}"
    datasource = context.data_sources.add_sql(
        name=source_name, connection_string="duckdb://", kwargs={"creator": connect}
    )
    try:
        asset = datasource.add_table_asset(name=name, table_name=name)
        batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
        return batch.validate(
            suite,
            result_format=RESULT_FORMAT,
            expectation_parameters={"extract_date": extract_date.isoformat()},
        )
    finally:
        datasource.get_execution_engine().close()
        context.data_sources.delete(source_name)


# --- reading GX's answer -------------------------------------------------------


def _interpret(con, table: str, spec: FileSpec, suite, gx_result, row_count: int) -> Validation:
    headers = {c.field: c.header for c in spec.columns} | {LINE: LINE}
    label = f"{spec.source}/{spec.name}"
    order = {e.id: i for i, e in enumerate(suite.expectations)}
    results = sorted(gx_result.results, key=lambda r: order.get(r.expectation_config.id, len(order)))

    missing = [_field(r) for r in results if _check(r) == "column_exists" and not r.success]
    table_failures = [f"{label}: column {headers.get(f, f)} missing" for f in missing]
    warnings: list[str] = []
    failures: list[pl.DataFrame] = []
    summary: dict[str, dict] = {}
    for r in results:
        level, column = _level(r), _field(r)
        header = headers.get(column, column)
        error = _error_message(r)
        summary[f"{_check(r)}:{column}"] = _summary(r, level, header, column, error, row_count)
        if r.success or _check(r) == "column_exists":
            continue
        if error:
            # A missing column breaks every check on it; that is already reported.
            if not missing:
                table_failures.append(f"{label}: could not check '{_describe(r)}': {error}")
        elif level == "table":
            table_failures.append(f"{label}: {_describe(r)}: not true for {_rows(_unexpected_count(r))}")
        elif level == "row":
            cells = _failing_cells(con, table, r, column)
            failures.append(cells.with_columns(column_name=pl.lit(header), reason=pl.lit(f"gx:{_check(r)}")))
        else:
            warnings.append(_warning(label, r, header, row_count))

    return Validation(
        success=not table_failures,
        table_failures=table_failures,
        row_failures=_one_row_per_cell(failures),
        warnings=warnings,
        results=summary,
    )


def _failing_cells(con, table: str, r, column: str) -> pl.DataFrame:
    """_line and value (as text) of every row the expectation flagged."""
    if "unexpected_index_list" in r.result:  # column map expectations, result_format COMPLETE
        items = r.result["unexpected_index_list"]
        cells = pl.DataFrame(
            {LINE: [item[LINE] for item in items], "raw_value": [item.get(column) for item in items]},
            schema_overrides={LINE: pl.Int64},
            strict=False,
        )
    else:
        # UnexpectedRowsExpectation returns at most 200 rows: run its query for all of
        # them. Its queries select `_line` first and the checked column second.
        query = r.expectation_config.kwargs["unexpected_rows_query"].format(batch=_quote_table(table))
        with con.cursor() as cursor:  # leaves any pending result of the caller's alone
            cells = cursor.sql(query).pl()
        cells = cells.select(pl.col(cells.columns[0]).alias(LINE), pl.col(cells.columns[1]).alias("raw_value"))
    # A row without _line fails the table-level check on _line, which rejects the delivery.
    return cells.select(pl.col(LINE).cast(pl.Int64), pl.col("raw_value").cast(pl.Utf8)).drop_nulls(LINE)


def _one_row_per_cell(failures: list[pl.DataFrame]) -> pl.DataFrame:
    # Failures arrive in suite order, so a cell failing two checks keeps the first reason.
    frame = pl.concat([f.select(*ROW_FAILURE_SCHEMA) for f in failures]) if failures else pl.DataFrame(
        schema=ROW_FAILURE_SCHEMA
    )
    return frame.unique(subset=["_line", "column_name"], keep="first", maintain_order=True).sort(
        "_line", maintain_order=True
    )


def _warning(label: str, r, header: str, row_count: int) -> str:
    count = _unexpected_count(r) or 0
    lines = _sample_lines(r)
    shown = ", ".join(str(n) for n in lines[:SHOWN_LINES]) + (", ..." if count > SHOWN_LINES else "")
    return f"{label}: {_describe(r)}: not true for {count} of {_rows(row_count)} (lines {shown})"


def _rows(count: int | None) -> str:
    return "1 row" if count == 1 else f"{count} rows"


def _sample_lines(r) -> list[int]:
    if "partial_unexpected_index_list" in r.result:
        return [item[LINE] for item in r.result["partial_unexpected_index_list"]]
    rows = r.result.get("details", {}).get("unexpected_rows", [])
    return [row[LINE] for row in rows if LINE in row]


def _summary(r, level: str, header: str, column: str, error: str | None, row_count: int) -> dict:
    summary = {
        "type": r.expectation_config.type,
        "check": _check(r),
        "column": header,
        "field": column,
        "level": level,
        "success": bool(r.success),
        "unexpected_count": None if error else _unexpected_count(r),
        "element_count": _element_count(r, row_count),
    }
    if error:
        summary["error"] = error
    return summary


def _element_count(r, row_count: int) -> int | None:
    if "element_count" in r.result:  # column map expectations
        return _int_or_none(r.result["element_count"])
    return row_count if "observed_value" in r.result else None  # UnexpectedRowsExpectation


def _unexpected_count(r) -> int | None:
    # GX reports None for both counts on an empty table (a header-only file).
    if "unexpected_count" in r.result:  # column map expectations
        return _int_or_none(r.result["unexpected_count"])
    if "observed_value" in r.result:  # UnexpectedRowsExpectation
        return _int_or_none(r.result["observed_value"])
    return None  # expect_column_to_exist and other table expectations


def _int_or_none(value) -> int | None:
    return None if value is None else int(value)


def _level(r) -> str:
    return r.expectation_config.meta["level"]


def _check(r) -> str:
    return r.expectation_config.meta["check"]


def _field(r) -> str:
    return r.expectation_config.kwargs.get("column") or r.expectation_config.meta.get("column", "")


def _describe(r) -> str:
    return r.expectation_config.description or r.expectation_config.type


def _error_message(r) -> str | None:
    """GX catches an expectation's exception into `exception_info`, keyed per metric."""
    info = r.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if entry.get("raised_exception") or entry.get("exception_message"):
            message = str(entry.get("exception_message") or "error").strip()
            return message.splitlines()[0]
    return None


# --- DuckDB helpers ----------------------------------------------------------------


def _split_table(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return schema or None, name


def _quote_table(table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Row count as GX will see it: through a second connection to the same database."""
    cursor = con.cursor()
    try:
        return cursor.execute(f"SELECT count(*) FROM {_quote_table(table)}").fetchall()[0][0]
    except duckdb.CatalogException as e:
        raise ValueError(
            f"table {table} is not visible to a second connection of this database "
            f"(missing, TEMP, or not committed yet): {str(e).splitlines()[0]}"
        ) from None
    finally:
        cursor.close()
