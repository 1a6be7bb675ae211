"""The suites run by Great Expectations itself: the reference the SQL engine is held to.

The nightly gate runs the compiled SQL (`run_sql.validate_table`); this module runs
the same suite files through GX 1.x on the same DuckDB table and reads the answer
the same way (`outcome.interpret`), so tests/test_validate_sql.py can check that
both agree expectation by expectation. GX runs its SQL on a second connection (a
cursor) to the caller's database; GX itself is imported inside functions only
(gx_setup.py: the import costs ~10 s).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipelines.sources.contract import FileSpec
from pipelines.validate.compile import load_suite, quote_table
from pipelines.validate.data_docs import save_result
from pipelines.validate.gx_setup import gx_context
from pipelines.validate.outcome import LINE, Validation, interpret
from pipelines.validate.run_sql import row_count

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [LINE]}


def validate_table_with_gx(
    con: duckdb.DuckDBPyConnection,
    table: str,
    spec: FileSpec,
    extract_date: date,
    results_dir: Path | None = None,
) -> Validation:
    """`run_sql.validate_table`, with GX computing the results instead of our SQL."""
    rows = row_count(con, table)
    suite = load_suite(spec.key)
    document = run_gx(con, table, load_gx_suite(spec.key), extract_date).to_json_dict()
    outcome = interpret(document, spec, suite, lambda failed: _failing_cells(con, table, failed), rows)
    if results_dir is not None:
        save_result(document, spec, table, extract_date, results_dir)
    return outcome


def load_gx_suite(key: str) -> "ExpectationSuite":
    """The reviewed suite file as a GX ExpectationSuite, e.g. `load_gx_suite("mz_households")`."""
    import great_expectations as gx

    return gx.ExpectationSuite(**load_suite(key))


def run_gx(con: duckdb.DuckDBPyConnection, table: str, suite, extract_date: date):
    """Run `suite` on `table` through a throw-away SQL datasource sharing `con`'s database."""
    from duckdb_engine import ConnectionWrapper

    context = gx_context()
    schema, _, name = table.rpartition(".")

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


def _failing_cells(con, table: str, failed: list[dict]) -> pl.DataFrame:
    """k, _line and value (as text) of every row each failed expectation flagged."""
    frames = []
    for k, r in enumerate(failed):
        config = r["expectation_config"]
        column = config["kwargs"].get("column") or config["meta"].get("column")
        if "unexpected_index_list" in r["result"]:  # column map expectations, result_format COMPLETE
            items = r["result"]["unexpected_index_list"]
            cells = pl.DataFrame({LINE: [i[LINE] for i in items], "raw_value": [i.get(column) for i in items]},
                                 schema_overrides={LINE: pl.Int64}, strict=False)
        else:
            # UnexpectedRowsExpectation returns at most 200 rows: run its query for all of
            # them. Its queries select `_line` first and the checked column second.
            query = config["kwargs"]["unexpected_rows_query"].format(batch=quote_table(table))
            with con.cursor() as cursor:
                cells = cursor.sql(query).pl()
            cells = cells.select(pl.col(cells.columns[0]).alias(LINE), pl.col(cells.columns[1]).alias("raw_value"))
        frames.append(cells.select(pl.lit(k, dtype=pl.Int64).alias("k"), pl.col(LINE).cast(pl.Int64),
                                   pl.col("raw_value").cast(pl.Utf8)))
    return pl.concat(frames)
