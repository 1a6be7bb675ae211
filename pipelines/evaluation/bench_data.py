"""The bench's data: the complete deliveries, the cut before the last month, and
the read floor (every data file read once)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from pipelines.evaluation.bench_measure import BenchError


def complete_deliveries(landing: Path, until: date | None = None) -> list[Path]:
    """Delivery folders with `_READY`, up to `until`, as the pipeline would stage them."""
    folders = []
    for source in ("mz", "cl", "rs"):
        for folder in sorted((landing / source).glob("*")):
            try:
                extract = date.fromisoformat(folder.name)
            except ValueError:
                continue
            if (folder / "_READY").exists() and (until is None or extract <= until):
                folders.append(folder)
    return folders


def nightly_cut(landing: Path) -> tuple[date, int]:
    """The last day before the last delivery month, and how many deliveries that month holds."""
    dates = [date.fromisoformat(f.name) for f in complete_deliveries(landing)]
    if not dates:
        raise BenchError(f"no complete deliveries under {landing}")
    last = max(dates)
    cut = last.replace(day=1) - timedelta(days=1)
    return cut, sum(1 for d in dates if d > cut)


def read_floor(landing: Path) -> dict:
    """Read every data file of every complete delivery once; seconds and rows."""
    import duckdb
    import polars as pl

    con = duckdb.connect()
    deliveries = complete_deliveries(landing)
    files = [f for d in deliveries for f in sorted(d.iterdir()) if f.suffix.lower() in (".csv", ".xlsx")]
    totals = {"deliveries": len(deliveries), "files": 0, "bytes": 0, "rows": 0}
    parts = {"csv_utf8": 0.0, "csv_gb18030": 0.0, "xlsx": 0.0}
    started = time.perf_counter()
    for f in files:
        t = time.perf_counter()
        if f.suffix.lower() == ".xlsx":
            kind = "xlsx"
            rows = pl.read_excel(f, infer_schema_length=0).height
        elif _looks_utf8(f):
            kind = "csv_utf8"
            con.execute("CREATE OR REPLACE TEMP TABLE floor AS SELECT * FROM read_csv(?, all_varchar = true,"
                        " header = true, strict_mode = false, null_padding = true)", [str(f)])
            rows = con.execute("SELECT count(*) FROM floor").fetchall()[0][0]
        else:
            kind = "csv_gb18030"
            rows = pl.read_csv(f, encoding="gb18030", infer_schema=False, truncate_ragged_lines=True).height
        parts[kind] += time.perf_counter() - t
        totals["files"] += 1
        totals["bytes"] += f.stat().st_size
        totals["rows"] += rows
    con.close()
    return {"seconds": round(time.perf_counter() - started, 3), **totals,
            "parts_s": {k: round(v, 3) for k, v in parts.items()}}


def _looks_utf8(path: Path) -> bool:
    head = path.read_bytes()[:1 << 16]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start > len(head) - 4  # only a character cut at the end of the sample
    return True
