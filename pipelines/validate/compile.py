"""The reviewed suites (`expectations/*.json`) compiled to set-based DuckDB SQL.

Each expectation becomes a few aggregate expressions in one query over the whole
table (`run_sql.py`), so validating a file costs one scan, not one GX metric graph
per expectation. The semantics are GX 1.x's, checked against GX itself in
tests/test_validate_sql.py:

- column map expectations ignore nulls (`element_count` counts every row,
  `unexpected_count` only non-null rows that fail), except
  `expect_column_values_to_not_be_null`, whose unexpected values are the nulls;
- `mostly` compares the share of considered rows that pass; no rows considered passes;
- on an empty table the counts are None and the expectation passes;
- `unexpected_rows_expectation` counts the rows its query returns (`{batch}` is the table).

Suite constants (value sets, bounds) are written into the SQL as literals, as GX does:
they come from the reviewed suite files, never from the data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from pipelines.config import EXPECTATIONS

LEVELS = ("table", "row", "warn")
LINE = "_line"
SAMPLE = 20  # failing values kept per expectation (GX's partial_unexpected_list)
EXISTS, MAP, ROWS = "exists", "map", "rows"
DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")

# kwargs each compiled type understands; any other kwarg would be silently ignored, so it is refused.
KWARGS = {
    "expect_column_to_exist": {"column"},
    "expect_column_values_to_not_be_null": {"column", "mostly"},
    "expect_column_values_to_be_in_set": {"column", "value_set", "mostly"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max", "mostly"},
    "expect_column_values_to_be_unique": {"column", "mostly"},
    "unexpected_rows_expectation": {"unexpected_rows_query"},
}


@dataclass
class Compiled:
    """One expectation as SQL. Aliases of its measures start with `e<index>_`."""

    index: int
    config: dict  # the suite's expectation, parameters filled in
    kind: str  # EXISTS, MAP or ROWS
    column: str  # the column it reports on (kwargs.column or meta.column)
    unexpected: str | None = None  # MAP: row predicate over `batch` that marks a failing row
    window: str | None = None  # MAP: a column added to `batch` the predicate reads
    query: str | None = None  # ROWS: the suite's query with {batch} filled in
    error: str | None = None  # why it cannot run on this table (a missing column)

    @property
    def prefix(self) -> str:
        return f"e{self.index}_"

    def measures(self) -> list[str]:
        """MAP: select-list expressions over `batch`: the unexpected and the non-null count."""
        if self.error or self.kind != MAP:
            return []
        p = self.prefix
        return [f"count_if({self.unexpected}) AS {p}unexpected", f"count({quote(self.column)}) AS {p}nonnull"]

    def ctes(self) -> list[tuple[str, str]]:
        """ROWS: (name, query) of a one-row CTE: the suite query's row count and its first rows."""
        if self.error or self.kind != ROWS:
            return []
        p = self.prefix
        # The suites' queries select _line first: the sample is the first rows by line.
        return [(f"{p}n", f"SELECT count(*) AS {p}unexpected, min_by(r, struct_extract_at(r, 1), {SAMPLE}) "
                          f"AS {p}sample FROM ({self.query}) r")]

    def sample(self, has_line: bool) -> str:
        """MAP: the first failing rows ({_line, column}), by _line; asked only of failed expectations."""
        keys = [LINE, self.column] if has_line and self.column != LINE else [self.column]
        row = "struct_pack(" + ", ".join(f"{quote(k)} := {quote(k)}" for k in keys) + ")"
        # min_by skips rows whose ordering key is null: a row without _line is sampled first.
        first = f"min_by({row}, coalesce({quote(LINE)}, -1), {SAMPLE})" if has_line else f"list({row})[1:{SAMPLE}]"
        return f"{first} FILTER (WHERE {self.unexpected}) AS {self.prefix}sample"


def load_suite(key: str) -> dict:
    """The reviewed suite of a source file as plain JSON, e.g. `load_suite("mz_households")`."""
    path = EXPECTATIONS / f"{key}.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    check_suite(path.name, suite)
    return suite


def check_suite(file_name: str, suite: dict) -> None:
    """Refuse a suite the gate cannot report on or this module cannot compile."""
    names = set()
    for n, e in enumerate(suite.get("expectations", []), start=1):
        meta, kwargs = e.get("meta") or {}, e.get("kwargs") or {}
        column = kwargs.get("column") or meta.get("column")
        if meta.get("level") not in LEVELS or not meta.get("check") or not column or e.get("id") is None:
            raise ValueError(
                f"{file_name}: every expectation needs an id, meta.level in {LEVELS}, meta.check "
                f"and a column (meta.column for UnexpectedRowsExpectation): {e.get('description')}"
            )
        kind = e.get("type")
        if kind not in KWARGS:
            raise ValueError(
                f"{file_name}: expectation {n} ({meta['check']}:{column}) has type {kind!r}, which has no SQL "
                f"compilation: add it to KWARGS and compile_suite in pipelines/validate/compile.py"
            )
        extra = set(kwargs) - KWARGS[kind] - {"batch_id"}
        if extra:
            raise ValueError(f"{file_name}: expectation {n} ({meta['check']}:{column}) uses {sorted(extra)}, "
                             f"which the SQL compilation of {kind} does not implement (pipelines/validate/compile.py)")
        bounds = (kwargs.get("min_value"), kwargs.get("max_value"))
        if kind == "expect_column_values_to_be_between" and bounds == (None, None):
            raise ValueError(f"{file_name}: expectation {n} ({meta['check']}:{column}) needs min_value or max_value")
        name = f"{meta['check']}:{column}"
        if name in names:
            raise ValueError(f"{file_name}: two expectations are both {name}")
        names.add(name)


def compile_suite(suite: dict, table_sql: str, columns: dict[str, str], extract_date: date) -> list[Compiled]:
    """Compile every expectation of `suite` for a table with `columns` (name -> DuckDB type)."""
    check_suite(f"suite {suite.get('name')}", suite)
    out = []
    for i, e in enumerate(suite["expectations"]):
        config = {**e, "kwargs": _fill(e.get("kwargs") or {}, {"extract_date": extract_date.isoformat()})}
        kwargs = config["kwargs"]
        column = kwargs.get("column") or config["meta"]["column"]
        kind = e["type"]
        if kind == "expect_column_to_exist":
            out.append(Compiled(i, config, EXISTS, column))
        elif kind == "unexpected_rows_expectation":
            out.append(Compiled(i, config, ROWS, column, query=kwargs["unexpected_rows_query"].format(batch=table_sql)))
        elif column not in columns:
            out.append(Compiled(i, config, MAP, column, error=f'column "{column}" does not exist in the table'))
        else:
            out.append(_map(i, config, kind, column))
    return out


def _map(i: int, config: dict, kind: str, column: str) -> Compiled:
    col, kwargs = quote(column), config["kwargs"]
    window = None
    if kind == "expect_column_values_to_not_be_null":
        return Compiled(i, config, MAP, column, unexpected=f"{col} IS NULL")
    if kind == "expect_column_values_to_be_in_set":
        values = kwargs.get("value_set") or []
        failing = f"{col} NOT IN ({', '.join(literal(v) for v in values)})" if values else "TRUE"
    elif kind == "expect_column_values_to_be_between":
        failing = _between(col, kwargs)
    elif kind == "expect_column_values_to_be_unique":
        window = f"count(*) OVER (PARTITION BY {col}) AS __copies_{i}"
        failing = f"__copies_{i} > 1"
    else:  # check_suite lets no other type through
        raise AssertionError(kind)
    # GX's column map expectations leave nulls out of the count.
    return Compiled(i, config, MAP, column, unexpected=f"({col} IS NOT NULL AND ({failing}))", window=window)


def _between(col: str, kwargs: dict) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")  # check_suite: at least one
    parts = []
    if low is not None:
        parts.append(f"{col} {'>' if kwargs.get('strict_min') else '>='} {_bound(low)}")
    if high is not None:
        parts.append(f"{col} {'<' if kwargs.get('strict_max') else '<='} {_bound(high)}")
    return "NOT (" + " AND ".join(parts) + ")"


def _bound(value) -> str:
    """GX binds a date-shaped bound as a date: a text column compared with it is an error, not text order."""
    if isinstance(value, str) and DATE_SHAPE.fullmatch(value):
        return f"DATE {literal(value)}"
    return literal(value)


def _fill(kwargs: dict, parameters: dict) -> dict:
    """Replace {"$PARAMETER": name} values, as GX's expectation_parameters do."""
    def value(v):
        if isinstance(v, dict) and "$PARAMETER" in v:
            return parameters[v["$PARAMETER"]]
        return v
    return {k: value(v) for k, v in kwargs.items()}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(table: str) -> str:
    return ".".join(quote(part) for part in table.split("."))


def literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
