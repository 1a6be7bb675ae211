"""The quality gate of one staged table: the compiled suite, one DuckDB query, GX's result shape.

`validate_table` checks a staged table against `expectations/<spec.key>.json` with
the SQL `compile.py` makes of it, builds the result document GX 1.x would
(`ExpectationSuiteValidationResult.to_json_dict()`: what `data_docs` saves and the
Data Docs pages read) and reads it the way the gate always has (`outcome.interpret`).
Great Expectations is not imported: the suite files stay GX suites, GX stays the
reference (`suites.py`, tests/test_validate_sql.py).
"""

from __future__ import annotations

import time
from datetime import date
from importlib.metadata import version
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.contract import FileSpec
from pipelines.sql import query
from pipelines.validate.compile import EXISTS, LINE, MAP, Compiled, compile_suite, load_suite, quote, quote_table
from pipelines.validate.data_docs import save_result
from pipelines.validate.outcome import Validation, interpret

GX_VERSION = version("great_expectations")  # the result format written is that version's
NO_EXCEPTION = {"raised_exception": False, "exception_traceback": None, "exception_message": None}


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    spec: FileSpec,
    extract_date: date,
    results_dir: Path | None = None,
) -> Validation:
    """Validate `table` (visible to a second connection of `con`'s database) against the suite of `spec`.

    `table` may be schema-qualified. With `results_dir`, the result document is also
    written there (values of ID columns masked) for `build_data_docs`.
    """
    started = time.perf_counter()
    rows = row_count(con, table)
    suite = load_suite(spec.key)
    compiled, values = evaluate(con, table, suite, extract_date)
    document = result_document(suite, compiled, values, table)
    by_id = {c.config["id"]: c for c in compiled}

    def cells(failed: list[dict]) -> pl.DataFrame:
        if LINE not in values["__columns__"]:  # rejected anyway (column_exists:_line); nothing to point at
            return pl.DataFrame(schema={"k": pl.Int64, LINE: pl.Int64, "raw_value": pl.Utf8})
        return failing_cells(con, table, [by_id[r["expectation_config"]["id"]] for r in failed])

    outcome = interpret(document, spec, suite, cells, rows)
    outcome.timing = {"validate": round(time.perf_counter() - started, 3)}
    if results_dir is not None:
        save_result(document, spec, table, extract_date, results_dir)
    return outcome


def evaluate(con, table: str, suite: dict, extract_date: date) -> tuple[list[Compiled], dict]:
    """Compile `suite` for `table` and run it: the compiled expectations and the query's one row
    (plus `__columns__`, the table's columns, and samples of what failed)."""
    with con.cursor() as cursor:  # leaves any pending result of the caller's alone
        relation = cursor.sql(f"SELECT * FROM {quote_table(table)} LIMIT 0")
        columns = dict(zip(relation.columns, map(str, relation.types)))
        compiled = compile_suite(suite, quote_table(table), columns, extract_date)
        try:
            values = _counts(cursor, table, compiled)
        except duckdb.Error:
            # Some expectation cannot run on this table (a column missing or of the wrong
            # type): run them one by one, so each failure is reported against its expectation.
            values = _counts(cursor, table, [])
            for c in compiled:
                try:
                    values |= _counts(cursor, table, [c])
                except duckdb.Error as exc:
                    c.error = str(exc).strip().splitlines()[0]
        failed = [c for c in compiled if c.kind == MAP and not c.error and values[c.prefix + "unexpected"]]
        if failed:  # sampling costs more than counting: only where something failed
            measures = "".join(f", {c.sample(LINE in columns)}" for c in failed)
            values |= _query(cursor, table, windows=_windows(failed), measures=measures)
        return compiled, values | {"__columns__": set(columns)}


def _counts(cursor, table: str, compiled: list[Compiled]) -> dict:
    measures = "".join(f", {m}" for c in compiled for m in c.measures())
    ctes = [cte for c in compiled for cte in c.ctes()]
    return _query(cursor, table, windows=_windows(compiled), measures=measures,
                  ctes="".join(f", {name} AS ({sql})" for name, sql in ctes),
                  joins="".join(f", {name}" for name, _ in ctes))


def _windows(compiled: list[Compiled]) -> str:
    return "".join(f", {c.window}" for c in compiled if c.window and not c.error)


def _query(cursor, table: str, windows: str, measures: str, ctes: str = "", joins: str = "") -> dict:
    sql = query("validate/suite_results", table=quote_table(table), windows=windows, measures=measures,
                ctes=ctes, joins=joins)
    result = cursor.execute(sql)
    names = [d[0] for d in result.description]
    return dict(zip(names, result.fetchall()[0]))


def result_document(suite: dict, compiled: list[Compiled], values: dict, table: str) -> dict:
    """GX 1.x's ExpectationSuiteValidationResult as JSON, from the query's row."""
    results = [_result(c, values) for c in compiled]
    passed = sum(r["success"] for r in results)
    return {
        "success": passed == len(results),
        "results": results,
        "suite_name": suite["name"],
        "suite_parameters": {},
        "statistics": {"evaluated_expectations": len(results), "successful_expectations": passed,
                       "unsuccessful_expectations": len(results) - passed,
                       "success_percent": 100.0 * passed / len(results) if results else None},
        "meta": {"great_expectations_version": GX_VERSION,
                 "validated_by": "pipelines/validate/run_sql.py (the suite compiled to DuckDB SQL)",
                 "batch_spec": {"type": "table", "table_name": table}},
        "id": None,
    }


def _result(c: Compiled, values: dict) -> dict:
    config = {"type": c.config["type"], "kwargs": c.config["kwargs"], "meta": c.config.get("meta") or {},
              "id": c.config["id"], "description": c.config.get("description"), "severity": "critical"}
    if c.error:
        return {"success": False, "expectation_config": config, "result": {}, "meta": {},
                "exception_info": {"raised_exception": True, "exception_traceback": None,
                                   "exception_message": c.error}}
    if c.kind == EXISTS:
        success, body = c.column in values["__columns__"], {}
    elif c.kind == MAP:
        success, body = _map_result(c, values)
    else:
        unexpected = values[c.prefix + "unexpected"]
        success, body = unexpected == 0, {"observed_value": unexpected,
                                          "details": {"unexpected_rows": values[c.prefix + "sample"] or []}}
    return {"success": success, "expectation_config": config, "result": body, "meta": {},
            "exception_info": dict(NO_EXCEPTION)}


def _map_result(c: Compiled, values: dict) -> tuple[bool, dict]:
    """GX's counts for a column map expectation: nulls are left out, except by not_null."""
    total, nonnull = values["element_count"], values[c.prefix + "nonnull"]
    # GX sums a CASE over the rows (None on an empty table), but counts duplicates with a join (0).
    empty_count = 0 if c.config["type"] == "expect_column_values_to_be_unique" else None
    unexpected = values[c.prefix + "unexpected"] if total else empty_count
    not_null = c.config["type"] == "expect_column_values_to_not_be_null"
    considered = total if not_null else nonnull
    sample = values.get(c.prefix + "sample") or []
    body = {"element_count": total, "unexpected_count": unexpected,
            "unexpected_percent": _percent(unexpected, considered),
            "partial_unexpected_list": [row[c.column] for row in sample],
            "unexpected_index_column_names": [LINE]}
    if not not_null:
        missing = total - nonnull
        body |= {"missing_count": missing, "missing_percent": _percent(missing, total),
                 "unexpected_percent_total": _percent(unexpected, total),
                 "unexpected_percent_nonmissing": _percent(unexpected, considered)}
    if sample and LINE in sample[0]:
        body["partial_unexpected_index_list"] = sample
    mostly = c.config["kwargs"].get("mostly")
    if not considered or unexpected is None:
        success = True
    elif mostly is None:
        success = unexpected == 0
    else:
        success = (considered - unexpected) / considered >= mostly
    return success, body


def _percent(part: int | None, whole: int) -> float | None:
    return None if part is None or not whole else 100.0 * part / whole


def failing_cells(con, table: str, failed: list[Compiled]) -> pl.DataFrame:
    """k, _line, raw_value of every row the `failed` expectations flagged, in one query."""
    selects, windows = [], ""
    for k, c in enumerate(failed):
        if c.kind == MAP:
            windows += f", {c.window}" if c.window else ""
            selects.append(f"SELECT {k} AS k, {quote(LINE)} AS _line, CAST({quote(c.column)} AS VARCHAR) AS raw_value "
                           f"FROM batch WHERE {c.unexpected}")
        else:  # the suite's queries select `_line` first and the checked column second
            selects.append(f"SELECT {k} AS k, #1 AS _line, CAST(#2 AS VARCHAR) AS raw_value FROM ({c.query})")
    sql = query("validate/failing_cells", table=quote_table(table), windows=windows,
                selects=" UNION ALL ".join(selects))
    with con.cursor() as cursor:
        return cursor.sql(sql).pl()


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Row count through a second connection to the same database: a TEMP or uncommitted table is refused."""
    cursor = con.cursor()
    try:
        return cursor.execute(f"SELECT count(*) FROM {quote_table(table)}").fetchall()[0][0]
    except duckdb.CatalogException as e:
        raise ValueError(
            f"table {table} is not visible to a second connection of this database "
            f"(missing, TEMP, or not committed yet): {str(e).splitlines()[0]}"
        ) from None
    finally:
        cursor.close()
