"""Quality gate of a staged delivery: the Great Expectations suites, compiled to SQL, on the staged rows.

Row-level failures move the row from the clean part to quarantine; table-level
failures are delivery errors, so the gate in `load` rejects the delivery.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.contract import spec as file_spec
from pipelines.ingest.stage import Staged

log = logging.getLogger(__name__)


def validate_staged(staged: Staged, results_dir: Path | None = None) -> Staged:
    from pipelines.validate.run_sql import validate_table

    # A retried task validates again from scratch: results are replaced, not appended.
    staged.dq, staged.warnings, staged.validation_errors = [], [], []
    con = duckdb.connect()
    try:
        for sf in staged.files:
            if sf.error:
                continue
            spec = file_spec(staged.delivery.source, sf.stem)
            clean_path = staged.part(sf.stem, "clean")
            # Straight from the staged file into DuckDB, where the suite's SQL runs: no frame in Python.
            con.execute(f"CREATE OR REPLACE TABLE {spec.key} AS SELECT * FROM read_parquet(?)", [str(clean_path)])
            v = validate_table(con, spec.key, spec, staged.delivery.extract_date, results_dir=results_dir)
            for name, r in v.results.items():
                staged.dq.append({"file_name": sf.file_name, "expectation": name, **r})
            staged.warnings.extend(f"{sf.file_name}: {w}" for w in v.warnings)
            if not v.success:
                staged.validation_errors.extend(f"{sf.file_name}: {m}" for m in v.table_failures)
            if v.row_failures.height:
                _quarantine_rows(staged, sf, pl.read_parquet(clean_path), v.row_failures)
    finally:
        con.close()
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / f"{staged.load_id}.json").write_text(
            json.dumps({"load_id": staged.load_id, "dq": staged.dq,
                        "errors": staged.errors + staged.validation_errors}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    staged.save()
    return staged


def _quarantine_rows(staged: Staged, sf, clean: pl.DataFrame, failures: pl.DataFrame) -> None:
    bad_lines = failures["_line"].unique()
    clean.filter(~pl.col("_line").is_in(bad_lines.implode())).write_parquet(staged.part(sf.stem, "clean"))
    q_path = staged.part(sf.stem, "quarantine")
    quarantine = pl.read_parquet(q_path)
    failures = failures.select(
        pl.col("_line").cast(quarantine.schema["_line"]),
        *[pl.col(c).cast(pl.String) for c in ("column_name", "raw_value", "reason")],
    )
    pl.concat([quarantine, failures], how="vertical_relaxed").write_parquet(q_path)
    repairs_path = staged.part(sf.stem, "repairs")
    repairs = pl.read_parquet(repairs_path)
    repairs.filter(~pl.col("_line").is_in(bad_lines.implode())).write_parquet(repairs_path)
    sf.rows_loaded -= bad_lines.len()
    sf.rows_quarantined += bad_lines.len()
    sf.rows_repaired = repairs.filter(~pl.col("_line").is_in(bad_lines.implode()))["_line"].n_unique()
