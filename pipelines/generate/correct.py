"""Corrections: an already delivered folder comes again with different content.

`correct_delivery` rewrites the data files of one complete delivery in place,
changing a few clean values (about 0.5% of rows, at least one per file) the way a
source agency re-delivers after fixing data entry:

| file | column | change |
|---|---|---|
| households | 月人均收入 | re-measured, ±5-15% |
| members | 健康状况 | another listed value |
| disability | 享受护理补贴 | 是 ↔ 否 |
| registrations | 单位名称 | the employer's corrected name |
| contributions | 缴费基数 | re-declared, ±10% |

Row count, row order, line numbers, encoding, format and every injected defect
stay as they were, so `defects.parquet` still holds; `_READY` is removed while
the files are rewritten and put back (same content) last. With `truth` given,
the correction is recorded: a `correction` row in deliveries.parquet, the
changed cells in corrections.parquet, new checksums in files.parquet. Nothing
else in the truth changes: none of these columns decide a category, the risk
label or the 单人保 rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate import deliver
from pipelines.generate import truth as truth_files
from pipelines.generate.codes import HEALTHS
from pipelines.generate.streams import stream

COLUMN = {
    "households": "月人均收入",
    "members": "健康状况",
    "disability": "享受护理补贴",
    "registrations": "单位名称",
    "contributions": "缴费基数",
}
SHARE = 0.005
_AMOUNT = re.compile(r"^\d+\.\d{2}$")


def _eligible(column: str, value: str) -> bool:
    if column in ("月人均收入", "缴费基数"):
        return bool(_AMOUNT.match(value))
    if column == "健康状况":
        return value in HEALTHS
    if column == "享受护理补贴":
        return value in ("是", "否")
    return bool(value) and value == value.strip()


def _change(column: str, value: str, rng: np.random.Generator) -> str:
    if column == "月人均收入":
        factor = rng.uniform(0.85, 0.95) if rng.random() < 0.5 else rng.uniform(1.05, 1.15)
        return f"{float(value) * factor:.2f}"
    if column == "缴费基数":
        return f"{float(value) * rng.uniform(0.9, 1.1):.2f}"
    if column == "健康状况":
        others = [h for h in HEALTHS if h != value]
        return others[int(rng.integers(0, len(others)))]
    if column == "享受护理补贴":
        return "否" if value == "是" else "是"
    return value.replace("有限公司", "有限责任公司") if "有限公司" in value else value + "（更正）"


def correct_delivery(landing: Path, source: str, extract_date: date | str, seed: int,
                     truth: Path | None = None) -> dict:
    """Rewrite `<landing>/<source>/<extract_date>` with a few values changed."""
    landing = Path(landing)
    if isinstance(extract_date, str):
        extract_date = date.fromisoformat(extract_date)
    if source not in COLUMN_SOURCES:
        raise ValueError(f"unknown source {source!r}: choose one of mz, cl, rs")
    folder = landing / source / extract_date.isoformat()
    ready = folder / deliver.READY
    if not ready.exists():
        raise ValueError(f"no complete delivery at {folder} (missing {deliver.READY})")
    data_files = sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".xlsx"))
    skip = _defect_lines(truth, source, extract_date)
    ready_bytes = ready.read_bytes()
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in data_files)).hexdigest()
    rng = stream(seed, f"correct/{source}/{extract_date}/{digest}")

    ready.unlink()  # incomplete while being rewritten
    changes: list[dict] = []
    form: dict = {}
    for path in data_files:
        column = COLUMN[path.stem]
        if path.suffix == ".csv":
            new, found, form = _correct_csv(path.read_bytes(), column, skip.get(path.name, set()), rng)
        else:
            new, found = _correct_xlsx(path, column, skip.get(path.name, set()), rng, extract_date)
            form = {"format": "xlsx", "encoding": None, "line_ending": "LF", "quote_all": False}
        path.write_bytes(new)
        changes += [dict(source=source, extract_date=extract_date, file_name=path.name, line_number=line,
                         column_name=column, old_value=old, new_value=value) for line, old, value in found]
    ready.write_bytes(ready_bytes)

    if truth is not None:
        _record(Path(truth), source, extract_date, folder, form, bool(ready_bytes.strip()), changes,
                {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files})
    counts = Counter(c["file_name"] for c in changes)
    return {"folder": str(folder), "changes": len(changes), "files": dict(counts)}


COLUMN_SOURCES = ("mz", "cl", "rs")


def _pick(candidates: list[int], rows: int, rng: np.random.Generator) -> list[int]:
    n = min(len(candidates), max(1, round(SHARE * rows)))
    if n == 0:
        return []
    return sorted(int(i) for i in rng.choice(candidates, size=n, replace=False))


def _correct_csv(data: bytes, column: str, skip: set[int], rng: np.random.Generator):
    text, encoding = deliver.decode_csv(data)
    le = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(le)
    quote_all = lines[0].startswith('"')
    header = next(csv.reader([lines[0]]))
    col = header.index(column)
    seen = Counter(lines)
    parsed = {i: next(csv.reader([lines[i]])) for i in range(1, len(lines)) if lines[i]}
    rows = len(parsed)
    # never touch a duplicated line or a line carrying a recorded defect
    candidates = [i for i, f in parsed.items()
                  if seen[lines[i]] == 1 and (i + 1) not in skip and _eligible(column, f[col])]
    found = []
    for i in _pick(candidates, rows, rng):
        fields = parsed[i]
        old, fields[col] = fields[col], _change(column, fields[col], rng)
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator="").writerow(fields)
        lines[i] = out.getvalue()
        found.append((i + 1, old, fields[col]))
    body = le.join(lines)
    encoded = body.encode("utf-8") if encoding != "gb18030" else body.encode("gb18030")
    if encoding == "utf-8-sig":
        encoded = b"\xef\xbb\xbf" + encoded
    form = {"format": "csv", "encoding": encoding, "line_ending": "CRLF" if le == "\r\n" else "LF",
            "quote_all": quote_all}
    return encoded, found, form


def _correct_xlsx(path: Path, column: str, skip: set[int], rng: np.random.Generator, created: date):
    rows = deliver.read_rows(path)
    header, body = rows[0], rows[1:]
    col = header.index(column)
    seen = Counter(tuple(r) for r in body)
    candidates = [i for i, r in enumerate(body)
                  if seen[tuple(r)] == 1 and (i + 2) not in skip and _eligible(column, r[col])]
    found = []
    for i in _pick(candidates, len(body), rng):
        old = body[i][col]
        body[i][col] = _change(column, old, rng)
        found.append((i + 2, old, body[i][col]))
    df = pl.DataFrame([[v if v else None for v in r] for r in body], schema=header, orient="row")
    return deliver.xlsx_bytes(df, created), found


def _defect_lines(truth: Path | None, source: str, extract_date: date) -> dict[str, set[int]]:
    if truth is None or not (Path(truth) / "defects.parquet").exists():
        return {}
    d = pl.read_parquet(Path(truth) / "defects.parquet").filter(
        pl.col("source") == source, pl.col("extract_date") == extract_date, pl.col("line_number").is_not_null())
    out: dict[str, set[int]] = {}
    for name, line in d.select("file_name", "line_number").iter_rows():
        out.setdefault(name, set()).add(line)
    return out


def _record(truth: Path, source: str, extract_date: date, folder: Path, form: dict, has_counts: bool,
            changes: list[dict], sha: dict[str, str]) -> None:
    deliveries_path = truth / "deliveries.parquet"
    row = dict(source=source, extract_date=extract_date, folder=f"{source}/{extract_date.isoformat()}",
               kind="correction", replay_of=None, loadable=True, has_counts=has_counts, **form)
    new = truth_files.frame([row], truth_files.DELIVERY_SCHEMA)
    old = pl.read_parquet(deliveries_path) if deliveries_path.exists() else new.clear()
    pl.concat([old, new]).write_parquet(deliveries_path)

    corrections_path = truth / "corrections.parquet"
    new = truth_files.frame(changes, truth_files.CORRECTION_SCHEMA)
    old = pl.read_parquet(corrections_path) if corrections_path.exists() else new.clear()
    pl.concat([old, new]).write_parquet(corrections_path)

    files_path = truth / "files.parquet"
    if files_path.exists():
        files = pl.read_parquet(files_path)
        mine = (pl.col("source") == source) & (pl.col("extract_date") == extract_date)
        files = files.with_columns(sha256=pl.when(mine).then(
            pl.col("file_name").replace_strict(sha, default=pl.col("sha256"))).otherwise(pl.col("sha256")))
        files.write_parquet(files_path)
