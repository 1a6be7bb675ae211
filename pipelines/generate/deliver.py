"""How each delivery is packaged, and writing it to the landing folder.

`plan` decides, per delivery folder, everything about its form: CSV or XLSX,
encoding (UTF-8, UTF-8 with BOM, GB18030, mixed across deliveries), line endings,
quoting, an empty or counted `_READY`, and per file: extra unknown columns,
columns in another order, trailing blank lines, a header-only file. Each form
occurs at least once per run when there are enough deliveries. Special
deliveries (sources.md, "A delivery may arrive again ..."):

- incomplete: the 人社 folder of the last month has its data files but no
  `_READY` (still being written): a pipeline must skip it (months >= 2);
- count_mismatch: one 残联 snapshot between the first and the last month has a
  counted `_READY` and a file cut short of its count (months >= 3);
- replay: the bytes of an earlier 人社 and an earlier 民政 delivery again, in a
  new folder dated the day after the original (a folder for an already used date
  cannot exist twice in one landing; months >= 2);
- the 人社 contributions file of one month is header-only: that batch arrives
  with the next delivery (late, as the contract allows; months >= 4).

A correction (different content for a date already loaded) cannot be written in
the same pass, because a pipeline sees the landing only as it is when it runs:
`correct_delivery` rewrites an existing folder in place afterwards (the harness
runs the pipeline, corrects, runs again) and records what changed in the truth.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from pipelines.sources.contract import files_of
from pipelines.generate.timeline import Timeline

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
EXTRA_COLUMNS = ("序号", "备注", "数据来源", "导出时间")
SOURCE_SYSTEM = {"mz": "山东省社会救助信息系统", "cl": "残疾人业务管理系统", "rs": "人社一体化信息平台"}
READY = "_READY"
XLSX_MAX_ROWS = 1_048_575  # an Excel sheet's rows, less the header


@dataclass
class FilePlan:
    name: str
    columns: tuple[str, ...]  # headers as written, in order (extras included)
    extra_columns: tuple[str, ...] = ()
    reordered: bool = False
    trailing_blank_lines: int = 0
    header_only: bool = False
    truncate: int = 0  # data rows cut from the end (count_mismatch)

    def file_name(self, fmt: str) -> str:
        return f"{self.name}.{fmt}"


@dataclass
class Delivery:
    source: str
    month: int
    extract_date: date
    kind: str = "normal"  # normal, incomplete, count_mismatch
    format: str = "csv"
    encoding: str | None = "utf-8"
    line_ending: str = "\n"
    quote_all: bool = False
    has_counts: bool = False
    zero_benefit_empty: bool = False
    files: dict[str, FilePlan] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return f"{self.source}/{self.extract_date.isoformat()}"

    @property
    def loadable(self) -> bool:
        return self.kind == "normal"


@dataclass(frozen=True)
class Replay:
    source: str
    month: int
    of_date: date
    extract_date: date

    @property
    def folder(self) -> str:
        return f"{self.source}/{self.extract_date.isoformat()}"


# ------------------------------------------------------------ planning

def _columns(rng: np.random.Generator, headers: list[str], extras: tuple[str, ...],
             reorder: bool) -> tuple[str, ...]:
    cols = list(headers)
    if reorder:
        while cols == list(headers):
            cols = [cols[i] for i in rng.permutation(len(cols))]
    for name in extras:
        cols.insert(0 if name == "序号" else int(rng.integers(0, len(cols) + 1)), name)
    return tuple(cols)


def plan(rng: np.random.Generator, tl: Timeline) -> tuple[list[Delivery], list[Replay]]:
    n = tl.months
    deliveries: list[Delivery] = []
    for k in range(n):
        for source in ("mz", "cl", "rs"):
            xlsx = rng.random() < 0.12
            d = Delivery(source, k, tl.end(k))
            d.format = "xlsx" if xlsx else "csv"
            d.encoding = None if xlsx else ENCODINGS[int(rng.choice(3, p=[0.45, 0.25, 0.30]))]
            d.line_ending = "\r\n" if d.encoding == "gb18030" or rng.random() < 0.3 else "\n"
            d.quote_all = not xlsx and rng.random() < 0.1
            d.has_counts = rng.random() < 0.6
            d.zero_benefit_empty = source == "mz" and rng.random() < 0.3
            for f in files_of(source):
                fp = FilePlan(f.name, tuple(f.headers))
                if rng.random() < 0.06:
                    fp.extra_columns = tuple(rng.choice(EXTRA_COLUMNS, size=int(rng.integers(1, 3)), replace=False))
                fp.reordered = bool(rng.random() < 0.06)
                if not xlsx and rng.random() < 0.08:
                    fp.trailing_blank_lines = int(rng.integers(1, 3))
                d.files[f.name] = fp
            deliveries.append(d)

    by = {(d.source, d.month): d for d in deliveries}
    replays: list[Replay] = []
    if n >= 2:
        by[("rs", n - 1)].kind = "incomplete"
        for source in ("rs", "mz"):
            k = int(rng.integers(0, n - 1))
            replays.append(Replay(source, k, tl.end(k), tl.end(k) + timedelta(days=1)))
    if n >= 3:
        cm = by[("cl", int(rng.integers(1, n - 1)))]
        cm.kind = "count_mismatch"
        cm.has_counts = True
    if n >= 4:
        # its batch moves to the next delivery, which must not be the incomplete last one
        by[("rs", int(rng.integers(1, n - 2)))].files["contributions"].header_only = True
    _ensure_variety(rng, deliveries)
    for d in deliveries:
        for fp in d.files.values():
            fp.columns = _columns(rng, list(fp.columns), fp.extra_columns, fp.reordered)
    return deliveries, replays


def fit_rows(deliveries: list[Delivery], rows: dict[str, list[int]]) -> None:
    """A file too long for one sheet is delivered as CSV (UTF-8 with BOM, as
    spreadsheet tools export it)."""
    for d in deliveries:
        if d.format == "xlsx" and any(rows[f"{d.source}_{name}"][d.month] > 0.99 * XLSX_MAX_ROWS
                                      for name in d.files):
            d.format, d.encoding, d.line_ending = "csv", "utf-8-sig", "\r\n"


def _ensure_variety(rng: np.random.Generator, deliveries: list[Delivery]) -> None:
    """Every form at least once, so a small run still exercises each of them."""
    def force(candidates: list, apply) -> None:
        if candidates:
            apply(candidates[int(rng.integers(0, len(candidates)))])

    for source in ("mz", "cl", "rs"):
        mine = [d for d in deliveries if d.source == source]
        if len(mine) >= 3 and not any(d.format == "xlsx" for d in mine):
            def to_xlsx(d: Delivery) -> None:
                d.format, d.encoding, d.quote_all, d.line_ending = "xlsx", None, False, "\n"
                for fp in d.files.values():
                    fp.trailing_blank_lines = 0
            force([d for d in mine if d.kind == "normal"], to_xlsx)
    csvs = [d for d in deliveries if d.format == "csv"]
    for enc in ENCODINGS:
        if not any(d.encoding == enc for d in csvs):
            def set_enc(d: Delivery, enc: str = enc) -> None:
                d.encoding = enc
                d.line_ending = "\r\n" if enc == "gb18030" else d.line_ending
            force([d for d in csvs if sum(x.encoding == d.encoding for x in csvs) > 1], set_enc)
    if not any(d.quote_all for d in csvs):
        force(csvs, lambda d: setattr(d, "quote_all", True))
    if not any(d.line_ending == "\r\n" for d in csvs):
        force(csvs, lambda d: setattr(d, "line_ending", "\r\n"))
    if not any(d.has_counts for d in deliveries):
        force(deliveries, lambda d: setattr(d, "has_counts", True))
    if not any(not d.has_counts for d in deliveries):
        force([d for d in deliveries if d.kind != "count_mismatch"], lambda d: setattr(d, "has_counts", False))
    mz = [d for d in deliveries if d.source == "mz"]
    if not any(d.zero_benefit_empty for d in mz):
        force(mz, lambda d: setattr(d, "zero_benefit_empty", True))
    for source in ("mz", "cl", "rs"):
        for f in files_of(source):
            mine = [d for d in deliveries if d.source == source]
            plans = [(d, d.files[f.name]) for d in mine]
            if not any(fp.extra_columns for _, fp in plans):
                force(plans, lambda x: setattr(x[1], "extra_columns",
                                               tuple(rng.choice(EXTRA_COLUMNS, size=2, replace=False))))
            if not any(fp.reordered for _, fp in plans):
                force(plans, lambda x: setattr(x[1], "reordered", True))
            if not any(fp.trailing_blank_lines for _, fp in plans):
                force([x for x in plans if x[0].format == "csv"],
                      lambda x: setattr(x[1], "trailing_blank_lines", 1))


# ------------------------------------------------------------ extra columns

def add_extra_columns(df: pl.DataFrame, fp: FilePlan, d: Delivery, rng: np.random.Generator) -> pl.DataFrame:
    """Unknown columns a source system adds; values fixed before duplicates are
    made, so that a duplicate stays an exact copy."""
    n = df.height
    for name in fp.extra_columns:
        if name == "序号":
            values = pl.Series(np.arange(1, n + 1)).cast(pl.String)
        elif name == "备注":
            notes = np.array(["已核实", "待复核", "系统导入"], dtype=object)
            pick = notes[rng.integers(0, 3, n)]
            values = pl.Series(np.where(rng.random(n) < 0.05, pick, None).tolist(), dtype=pl.String)
        elif name == "数据来源":
            values = pl.Series([SOURCE_SYSTEM[d.source]] * n, dtype=pl.String)
        else:
            stamp = f"{d.extract_date.isoformat()} 23:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}"
            values = pl.Series([stamp] * n, dtype=pl.String)
        df = df.with_columns(values.alias(name))
    return df


# ------------------------------------------------------------ writing

def csv_bytes(df: pl.DataFrame, encoding: str, line_ending: str, quote_all: bool,
              trailing_blank_lines: int) -> bytes:
    df = df.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                         for c in df.columns)
    buf = io.BytesIO()
    df.write_csv(buf, line_terminator=line_ending, quote_style="always" if quote_all else "necessary")
    data = buf.getvalue() + line_ending.encode() * trailing_blank_lines
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    return data.decode("utf-8").encode(encoding)


def xlsx_bytes(df: pl.DataFrame, created: date) -> bytes:
    """Every cell a text string (IDs keep their 18 digits); fixed document dates
    so the same input gives the same bytes. Rows are streamed to a temporary
    file (constant_memory) rather than held as cell objects."""
    with tempfile.TemporaryDirectory(prefix="dibao-xlsx-") as tmp:
        path = Path(tmp) / "sheet.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": tmp,
                                             "strings_to_numbers": False, "strings_to_formulas": False,
                                             "strings_to_urls": False})
        wb.set_properties({"created": datetime(created.year, created.month, created.day, 23, 0, 0)})
        ws = wb.add_worksheet("Sheet1")
        ws.write_row(0, 0, df.columns)
        for r, row in enumerate(df.iter_rows(), start=1):
            for c, v in enumerate(row):
                if v:  # empty cells stay empty
                    ws.write_string(r, c, v)
        wb.close()
        return path.read_bytes()


def file_bytes(df: pl.DataFrame, d: Delivery, fp: FilePlan) -> bytes:
    if d.format == "xlsx":
        return xlsx_bytes(df, d.extract_date)
    return csv_bytes(df, d.encoding, d.line_ending, d.quote_all, fp.trailing_blank_lines)


def write(landing: Path, d: Delivery, contents: dict[str, tuple[bytes, int]]) -> None:
    """Data files first, `_READY` last (the contract's completeness signal)."""
    folder = landing / d.folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in contents.items():
        (folder / name).write_bytes(data)
    if d.kind == "incomplete":
        return
    ready = b""
    if d.has_counts:
        ready = json.dumps({"files": {name: rows for name, (_, rows) in contents.items()}},
                           ensure_ascii=False).encode("utf-8")
    (folder / READY).write_bytes(ready)


def replay(landing: Path, r: Replay) -> None:
    src = landing / r.source / r.of_date.isoformat()
    dst = landing / r.folder
    dst.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in src.iterdir() if p.name != READY)
    for name in names:
        shutil.copyfile(src / name, dst / name)
    shutil.copyfile(src / READY, dst / READY)


GENERATED = ".dibao-generated"  # in a landing folder this generator writes: it may replace it


def check_landing(landing: Path) -> None:
    """Refuse a landing folder holding deliveries this generator did not write: generating
    replaces mz/, cl/ and rs/, and must never delete an agency's real deliveries."""
    if (landing / GENERATED).exists():
        return
    held = [s for s in ("mz", "cl", "rs") if (landing / s).is_dir() and any((landing / s).iterdir())]
    if held:
        raise ValueError(f"{landing} holds deliveries dibao generate did not write ({', '.join(held)}): give a new"
                         " or empty folder (generating replaces mz/, cl/ and rs/)")


def clear(landing: Path) -> None:
    """Remove earlier generated deliveries (the three source folders only), and mark the
    folder as the generator's."""
    for source in ("mz", "cl", "rs"):
        shutil.rmtree(landing / source, ignore_errors=True)
    landing.mkdir(parents=True, exist_ok=True)
    (landing / GENERATED).write_text("written by dibao generate, which may replace mz/, cl/ and rs/ here\n",
                                     encoding="utf-8")


# ------------------------------------------------------------ reading back

def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a delivered CSV: BOM, else UTF-8, else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def read_rows(path: Path) -> list[list[str]]:
    """Header and data rows of a delivered file, every cell as text ("" = empty);
    trailing blank lines are not rows."""
    if path.suffix == ".xlsx":
        import fastexcel

        sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
        rows = [["" if v is None else v for v in row] for row in sheet.to_polars().iter_rows()]
    else:
        text, _ = decode_csv(path.read_bytes())
        rows = list(csv.reader(io.StringIO(text, newline="")))
    while rows and not any(rows[-1]):
        rows.pop()
    return rows
