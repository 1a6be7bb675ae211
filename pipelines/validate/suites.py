"""Great Expectations gate for one typed delivery table, run inside DuckDB.

Ingest writes the rows that survived repair as a table (one column per contract
field plus `_line`). `validate_table` checks that table against the reviewed suite
`expectations/<spec.key>.json`; each expectation's `meta.level` says what a failure
means:

- "table": the delivery is rejected (e.g. a column is missing);
- "row":   each failing cell is returned for quarantine, reason `gx:<meta.check>`;
- "warn":  plausibility only, recorded in the data-quality results, nothing moves.

GX runs its SQL in DuckDB through duckdb-engine on a second connection (a cursor)
to the caller's database, so no rows are copied into Python. Importing GX costs
~10 s, so it happens inside functions only (Airflow parses modules that import this
one) and one GX context is kept per process.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from pipelines.config import EXPECTATIONS
from pipelines.sources.contract import CERT, ID, FileSpec

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context import AbstractDataContext

LEVELS = ("table", "row", "warn")
LINE = "_line"
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [LINE]}
ROW_FAILURE_SCHEMA = {"_line": pl.Int64, "column_name": pl.Utf8, "raw_value": pl.Utf8, "reason": pl.Utf8}
RESULT_SUFFIX = ".gx.json"  # persisted results; other files in results_dir are ignored
KEPT_VALUES = 20  # failing values kept per expectation in the persisted results
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
    context = _gx_context()
    startup = time.perf_counter() - started
    row_count = _row_count(con, table)
    suite = load_suite(spec.key)
    gx_result = _run_suite(context, con, table, suite, extract_date)
    outcome = _interpret(con, table, spec, suite, gx_result, row_count)
    outcome.timing = {"gx_startup": round(startup, 3), "validate": round(time.perf_counter() - started - startup, 3)}
    if results_dir is not None:
        _save_result(gx_result, spec, table, extract_date, results_dir)
    return outcome


def build_data_docs(results_dir: Path, docs_dir: Path) -> Path:
    """Render the GX results saved in `results_dir` as static Data Docs in `docs_dir`."""
    context = _docs_context(docs_dir)
    for path in sorted(Path(results_dir).glob(f"*{RESULT_SUFFIX}")):
        key, result = _load_result(path)
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=["local"])
    return Path(docs_dir) / "index.html"


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


@functools.cache
def _gx_context() -> "AbstractDataContext":
    """The process's one GX context: in memory, no analytics, no progress bars."""
    # GX must never phone home; the environment variable covers code paths that
    # read it before the context's own setting.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _register_duckdb_as_persisted_connection_dialect()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _register_duckdb_as_persisted_connection_dialect() -> None:
    """Make GX keep one open connection for DuckDB, as it does for SQLite.

    GX 1.24 as shipped runs each metric query inside `with engine.connect()` and
    fetches the rows after that block has handed the connection back; duckdb-engine's
    cursor is its connection, so the pending result is gone and every expectation
    fails with "list index out of range" (GX issues #10738, #11579). Dialects listed
    in `_PERSISTED_CONNECTION_DIALECTS` get a StaticPool and one connection held for
    the engine's life, which fixes it. Drop this when GX supports DuckDB natively.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    class DuckDBDialect(str):
        # GX compares members of that tuple with `==` to a dialect name and reads `.value`.
        value = "duckdb"

    if "duckdb" not in engine_module._PERSISTED_CONNECTION_DIALECTS:
        engine_module._PERSISTED_CONNECTION_DIALECTS += (DuckDBDialect("duckdb"),)


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


# --- persisted results and Data Docs -------------------------------------------


def _save_result(gx_result, spec: FileSpec, table: str, extract_date: date, results_dir: Path) -> Path:
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
    _gx_context()  # analytics off and the GX import paid once per process
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
