"""Rows that no cell repair can judge, quarantined whole before repair sees the
file: `malformed_line` (a line CSV quoting could not split; csv_reader.py reads
past it), `cell_too_long` (a cell over `DIBAO_MAX_CELL_BYTES`, kept truncated
with a note), and an XLSX cell read as empty that is not: `formula_no_value` (a
formula whose result the file does not hold) and `cell_error` (`#DIV/0!`, `#N/A`;
xlsx_values.py). All are described in docs/ingest.md.
"""

from __future__ import annotations

import json

import polars as pl

from pipelines import config
from pipelines.ingest.file_table import LINE, MALFORMED, NO_VALUE

KEEP_CHARS = 200  # what a quarantined oversized value keeps, for the reviewer


def truncated(value: pl.Expr) -> pl.Expr:
    """A value cut to KEEP_CHARS characters, with a note of its full size."""
    size = value.str.len_bytes()
    return pl.when(size > config.MAX_CELL_BYTES).then(
        pl.format("{}…[truncated: {} bytes]", value.str.slice(0, KEEP_CHARS), size)
    ).otherwise(value)


def split_row_defects(frame: pl.DataFrame, headers: set[str]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(rows for repair, their quarantine rows, the frame with long cells truncated for raw).
    Only the contract's columns (`headers`) and a row's surplus fields are measured:
    an unknown column is ignored, whatever it holds."""
    from pipelines.ingest.repair import QUARANTINE_SCHEMA

    limit = config.MAX_CELL_BYTES
    cells = [c for c in frame.columns if (c in headers or c == "_extra") and frame[c].dtype == pl.String]
    parts = []
    if MALFORMED in frame.columns:
        parts.append(frame.filter(pl.col(MALFORMED).is_not_null()).select(
            pl.col(LINE), pl.lit(None, pl.String).alias("column_name"),
            truncated(pl.col(MALFORMED)).alias("raw_value"), pl.lit("malformed_line").alias("reason"),
        ))
    too_long = [c for c in cells if (frame[c].str.len_bytes() > limit).any()]
    for c in too_long:
        parts.append(frame.filter(pl.col(c).str.len_bytes() > limit).select(
            pl.col(LINE), pl.lit(c if c != "_extra" else None, pl.String).alias("column_name"),
            truncated(pl.col(c)).alias("raw_value"), pl.lit("cell_too_long").alias("reason"),
        ))
    if NO_VALUE in frame.columns:
        parts.append(_unvalued(frame, headers))
    marks = [c for c in (MALFORMED, NO_VALUE) if c in frame.columns]
    if not parts:
        return frame.drop(marks), pl.DataFrame(schema=QUARANTINE_SCHEMA), frame.drop(marks)
    quarantine = pl.concat([p.cast(QUARANTINE_SCHEMA) for p in parts]).sort(LINE, maintain_order=True)
    rest = frame.filter(~pl.col(LINE).is_in(quarantine[LINE].implode()))
    bounded = frame.with_columns([truncated(pl.col(c)) for c in too_long])
    return rest.drop(marks), quarantine, bounded.drop(marks)


def _unvalued(frame: pl.DataFrame, headers: set[str]) -> pl.DataFrame:
    """One quarantine row per contract cell read as empty that holds a formula without its
    result or an error; an unknown column is ignored, as for the other defects."""
    rows = [(line, column, raw, reason)
            for line, text in frame.select(LINE, NO_VALUE).drop_nulls().iter_rows()
            for column, raw, reason in json.loads(text) if column in headers]
    found = pl.DataFrame(rows, schema={LINE: pl.Int64, "column_name": pl.String, "raw_value": pl.String,
                                       "reason": pl.String}, orient="row")
    return found.with_columns(truncated(pl.col("raw_value")))
