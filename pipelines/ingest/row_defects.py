"""Rows that no cell repair can judge, quarantined whole before repair sees the
file: `malformed_line` (a line CSV quoting could not split; csv_reader.py reads
past it) and `cell_too_long` (a cell over `DIBAO_MAX_CELL_BYTES`, kept truncated
with a note). Both are described in docs/ingest.md.
"""

from __future__ import annotations

import polars as pl

from pipelines import config
from pipelines.ingest.file_table import LINE, MALFORMED

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
    if not parts:
        return frame, pl.DataFrame(schema=QUARANTINE_SCHEMA), frame
    quarantine = pl.concat([p.cast(QUARANTINE_SCHEMA) for p in parts]).sort(LINE, maintain_order=True)
    rest = frame.filter(~pl.col(LINE).is_in(quarantine[LINE].implode()))
    if MALFORMED in rest.columns:
        rest = rest.drop(MALFORMED)
    bounded = frame.with_columns([truncated(pl.col(c)) for c in too_long])
    return rest, quarantine, bounded.drop(MALFORMED) if MALFORMED in bounded.columns else bounded
